# --- PostgreSQL ---------------------------------------------------------------------------

resource "random_password" "database" {
  length  = 40
  special = false
}

resource "google_sql_database_instance" "postgres" {
  # checkov:skip=CKV_GCP_6:ssl_mode ENCRYPTED_ONLY refuses unencrypted connections; the Cloud SQL connector authenticates clients with IAM, not certificates.
  # checkov:skip=CKV_GCP_79:PostgreSQL 17 everywhere (compose.yaml, CI, every cloud); upgrade them together.
  # checkov:skip=CKV_GCP_108:log_hostname does a reverse DNS lookup per connection; clients are Cloud Run's private addresses.
  # checkov:skip=CKV2_GCP_13:log_duration logs every statement; Query Insights keeps the slow ones.
  name                = local.name
  database_version    = "POSTGRES_17"
  deletion_protection = true
  depends_on          = [google_service_networking_connection.services]

  settings {
    tier              = var.db_tier
    edition           = "ENTERPRISE"
    availability_type = "REGIONAL"
    disk_autoresize   = true

    # No public address: Cloud Run connects through the VPC, over the Cloud SQL connector.
    ip_configuration {
      ipv4_enabled    = false
      private_network = google_compute_network.app.id
      ssl_mode        = "ENCRYPTED_ONLY"
    }

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
      start_time                     = "03:00"
      backup_retention_settings {
        retained_backups = 14
      }
    }

    insights_config {
      query_insights_enabled = true
    }

    # Audit trail: connections, schema changes and errors; statement durations stay out of
    # the logs (they may hold personal data): Query Insights shows slow queries instead.
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_min_messages"
      value = "warning"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
  }
}

resource "google_sql_database" "app" {
  name     = "app"
  instance = google_sql_database_instance.postgres.name
}

resource "google_sql_user" "app" {
  name     = "app"
  instance = google_sql_database_instance.postgres.name
  password = random_password.database.result
}

# --- Redis: the cache, throttling counters and any task queues -----------------------------

resource "google_redis_instance" "redis" {
  name                    = local.name
  tier                    = "STANDARD_HA"
  memory_size_gb          = 1
  redis_version           = "REDIS_7_2"
  region                  = var.region
  authorized_network      = google_compute_network.app.id
  connect_mode            = "PRIVATE_SERVICE_ACCESS"
  auth_enabled            = true
  transit_encryption_mode = "SERVER_AUTHENTICATION"
  depends_on              = [google_service_networking_connection.services]
}

# --- Uploads ----------------------------------------------------------------------------------

resource "google_storage_bucket" "media" {
  # checkov:skip=CKV_GCP_62:Usage logs need a second bucket; Cloud Audit Logs data access is the better trail when required.
  name                        = "${var.project_id}-${local.name}-media"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
    }
    action {
      type = "Delete"
    }
  }
}
