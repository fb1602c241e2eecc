resource "random_password" "secret_key" {
  length  = 64
  special = false
}

# Each secret reaches the processes as the environment variable of the same name. The
# database is reached over the Cloud SQL connector's unix socket, mounted at /cloudsql.
locals {
  secrets = {
    DJANGO_SECRET_KEY = random_password.secret_key.result
    DATABASE_URL      = "postgres://app:${random_password.database.result}@${urlencode("/cloudsql/${google_sql_database_instance.postgres.connection_name}")}/app"
    REDIS_URL         = "rediss://:${google_redis_instance.redis.auth_string}@${google_redis_instance.redis.host}:${google_redis_instance.redis.port}/0?ssl_cert_reqs=required&ssl_ca_certs=${local.redis_ca_dir}/ca.pem"
  }
}

resource "google_secret_manager_secret" "app" {
  for_each = toset(keys(local.secrets))

  secret_id = "${local.name}-${lower(replace(each.key, "_", "-"))}"
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "app" {
  for_each = toset(keys(local.secrets))

  secret      = google_secret_manager_secret.app[each.key].id
  secret_data = local.secrets[each.key]
}

resource "google_secret_manager_secret" "redis_ca" {
  secret_id = "${local.name}-redis-ca"
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "redis_ca" {
  secret      = google_secret_manager_secret.redis_ca.id
  secret_data = join("\n", google_redis_instance.redis.server_ca_certs[*].cert)
}

resource "google_secret_manager_secret_iam_member" "runtime" {
  for_each = merge(google_secret_manager_secret.app, { redis_ca = google_secret_manager_secret.redis_ca })

  secret_id = each.value.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.runtime.member
}
