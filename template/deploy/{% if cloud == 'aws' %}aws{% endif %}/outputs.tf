output "load_balancer_dns_name" {
  description = "Point the domain's DNS (an alias or CNAME record) here."
  value       = aws_lb.app.dns_name
}

output "certificate_validation_records" {
  description = "DNS records that prove the domain to ACM; create them once."
  value       = aws_acm_certificate.app.domain_validation_options
}

output "deploy_role_arn" {
  description = "Set as the AWS_DEPLOY_ROLE_ARN variable of the GitHub production environment."
  value       = aws_iam_role.deploy.arn
}

output "ecr_repository_url" {
  description = "Set as the AWS_ECR_REPOSITORY_URL variable: where the deploy workflow pushes images."
  value       = aws_ecr_repository.app.repository_url
}

output "media_bucket" {
  description = "Bucket of uploaded files."
  value       = aws_s3_bucket.media.bucket
}

output "mail_dkim_records" {
  description = "CNAME records that let SES sign mail as the domain; create them once."
  value = {
    for token in aws_sesv2_email_identity.domain.dkim_signing_attributes[0].tokens :
    "${token}._domainkey.${var.domain_name}" => "${token}.dkim.amazonses.com"
  }
}
