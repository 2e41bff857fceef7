output "bucket" {
  description = "Evidence bucket: PROMPTSTAMP_STORAGE=s3://<bucket>"
  value       = aws_s3_bucket.evidence.bucket
}

output "kms_key_arn" {
  value = aws_kms_key.evidence.arn
}

output "service_policy_arn" {
  value = aws_iam_policy.service.arn
}

output "account_id" {
  value = data.aws_caller_identity.current.account_id
}
