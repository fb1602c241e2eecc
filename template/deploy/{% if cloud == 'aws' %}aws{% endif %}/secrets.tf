resource "random_password" "secret_key" {
  length  = 64
  special = false
}

# Each secret reaches the tasks as the environment variable of the same name.
locals {
  secrets = {
    DJANGO_SECRET_KEY = random_password.secret_key.result
    DATABASE_URL      = "postgres://app:${random_password.database.result}@${aws_db_instance.postgres.endpoint}/app?sslmode=require"
    REDIS_URL         = "rediss://:${random_password.redis.result}@${aws_elasticache_replication_group.redis.primary_endpoint_address}:6379/0?ssl_cert_reqs=required"
  }
}

resource "aws_secretsmanager_secret" "app" {
  # checkov:skip=CKV2_AWS_57:Rotating these means redeploying with new URLs; rotate by changing the random_password and applying.
  for_each = toset(keys(local.secrets))

  name_prefix = "${local.name}/${each.key}-"
  kms_key_id  = aws_kms_key.app.arn
}

resource "aws_secretsmanager_secret_version" "app" {
  for_each = toset(keys(local.secrets))

  secret_id     = aws_secretsmanager_secret.app[each.key].id
  secret_string = local.secrets[each.key]
}
