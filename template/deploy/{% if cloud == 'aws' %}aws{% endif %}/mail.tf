# Account mail goes out through Amazon SES as the domain, over its SMTP interface: the app's
# mail settings (EMAIL_URL) are the same on every cloud. SES signs as the domain once the
# records of the mail_dkim_records output are in its DNS; a new account sends only to
# verified addresses until AWS grants production access (asked for in SES's console).
resource "aws_sesv2_email_identity" "domain" {
  email_identity = var.domain_name
}

# SES's SMTP interface signs in with an IAM access key: a user that may send as the domain
# and do nothing else. Replace the key (terraform apply -replace=aws_iam_access_key.mail)
# to rotate the password; the next deployment reads the new one.
resource "aws_iam_user" "mail" {
  # checkov:skip=CKV_AWS_273:SES's SMTP interface signs in with an IAM user's access key; the user can send as the domain and nothing else.
  name = "${local.name}-mail"
}

resource "aws_iam_user_policy" "mail" {
  # checkov:skip=CKV_AWS_40:The SMTP user's one permission; a group for one user adds nothing.
  user = aws_iam_user.mail.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["ses:SendRawEmail"]
      Resource = [aws_sesv2_email_identity.domain.arn]
    }]
  })
}

resource "aws_iam_access_key" "mail" {
  user = aws_iam_user.mail.name
}
