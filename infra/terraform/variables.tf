variable "region" {
  description = "AWS region of the evidence bucket"
  type        = string
  default     = "eu-central-1"
}

variable "bucket_name" {
  description = "Name of the evidence bucket (globally unique)"
  type        = string
}

variable "retention_days" {
  description = "Default Object Lock retention, in days, applied to every evidence object (compliance mode: nobody, root included, can shorten or delete it)"
  type        = number
  default     = 3650

  validation {
    condition     = var.retention_days >= 1
    error_message = "Evidence needs a retention of at least one day."
  }
}

variable "service_role_name" {
  description = "Name of the IAM role the service runs as (for example an EKS IRSA role); the policy is attached to it"
  type        = string
}
