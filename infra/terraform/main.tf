# The evidence bucket: versioned, Object Lock in compliance mode with a default retention,
# encrypted with a customer-managed KMS key, never public, and a service policy that can write
# and read evidence but never delete it, change its retention, or reconfigure the bucket.

data "aws_caller_identity" "current" {}

resource "aws_kms_key" "evidence" {
  description             = "PromptStamp evidence bucket (SSE-KMS)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
}

resource "aws_kms_alias" "evidence" {
  name          = "alias/promptstamp-evidence"
  target_key_id = aws_kms_key.evidence.key_id
}

resource "aws_s3_bucket" "evidence" {
  bucket = var.bucket_name
  # Object Lock can only be turned on when the bucket is created.
  object_lock_enabled = true
  force_destroy       = false

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_versioning" "evidence" {
  bucket = aws_s3_bucket.evidence.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_object_lock_configuration" "evidence" {
  bucket = aws_s3_bucket.evidence.id
  rule {
    default_retention {
      mode = "COMPLIANCE"
      days = var.retention_days
    }
  }
  depends_on = [aws_s3_bucket_versioning.evidence]
}

resource "aws_s3_bucket_server_side_encryption_configuration" "evidence" {
  bucket = aws_s3_bucket.evidence.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.evidence.arn
    }
    # One KMS data key per bucket rather than per object: far fewer KMS requests at ingest rates.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "evidence" {
  bucket                  = aws_s3_bucket.evidence.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "evidence" {
  bucket = aws_s3_bucket.evidence.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# Refuse plain HTTP for everyone.
data "aws_iam_policy_document" "bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.evidence.arn,
      "${aws_s3_bucket.evidence.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "evidence" {
  bucket     = aws_s3_bucket.evidence.id
  policy     = data.aws_iam_policy_document.bucket.json
  depends_on = [aws_s3_bucket_public_access_block.evidence]
}

# Exactly the calls the service makes (storage/s3.py): conditional PutObject with retention,
# GetObject/HeadObject, ListObjectsV2, and reading the bucket's versioning and lock settings.
data "aws_iam_policy_document" "service" {
  statement {
    sid       = "ListEvidence"
    actions   = ["s3:ListBucket", "s3:GetBucketVersioning", "s3:GetBucketObjectLockConfiguration"]
    resources = [aws_s3_bucket.evidence.arn]
  }
  statement {
    sid       = "WriteOnceReadEvidence"
    actions   = ["s3:PutObject", "s3:PutObjectRetention", "s3:GetObject"]
    resources = ["${aws_s3_bucket.evidence.arn}/*"]
  }
  statement {
    sid       = "UseEvidenceKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.evidence.arn]
  }
}

resource "aws_iam_policy" "service" {
  name        = "promptstamp-evidence-service"
  description = "PromptStamp service: write-once and read evidence; no delete, no retention bypass, no bucket changes"
  policy      = data.aws_iam_policy_document.service.json
}

resource "aws_iam_role_policy_attachment" "service" {
  role       = var.service_role_name
  policy_arn = aws_iam_policy.service.arn
}
