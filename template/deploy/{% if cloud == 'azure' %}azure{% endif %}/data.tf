# --- PostgreSQL ---------------------------------------------------------------------------

resource "random_password" "database" {
  length  = 40
  special = false
}

resource "azurerm_postgresql_flexible_server" "app" {
  # checkov:skip=CKV2_AZURE_57:The server lives in a delegated subnet of the app's network (VNet integration), which has no public endpoint at all.
  name                          = local.name
  location                      = azurerm_resource_group.app.location
  resource_group_name           = azurerm_resource_group.app.name
  version                       = "17"
  sku_name                      = "GP_Standard_D2ds_v5"
  storage_mb                    = 32768
  auto_grow_enabled             = true
  zone                          = "1"
  delegated_subnet_id           = azurerm_subnet.postgres.id
  private_dns_zone_id           = azurerm_private_dns_zone.postgres.id
  public_network_access_enabled = false
  administrator_login           = "app"
  administrator_password        = random_password.database.result
  backup_retention_days         = 14
  geo_redundant_backup_enabled  = true
  depends_on                    = [azurerm_private_dns_zone_virtual_network_link.app]

  high_availability {
    mode                      = "ZoneRedundant"
    standby_availability_zone = "2"
  }
}

resource "azurerm_postgresql_flexible_server_database" "app" {
  name      = "app"
  server_id = azurerm_postgresql_flexible_server.app.id
}

# --- Redis: the cache, throttling counters and any task queues -----------------------------

resource "azurerm_redis_cache" "app" {
  name                          = local.name
  location                      = azurerm_resource_group.app.location
  resource_group_name           = azurerm_resource_group.app.name
  sku_name                      = "Standard"
  family                        = "C"
  capacity                      = 1
  non_ssl_port_enabled          = false
  minimum_tls_version           = "1.2"
  public_network_access_enabled = false
  redis_version                 = "6"
}

resource "azurerm_private_endpoint" "redis" {
  name                = "${local.name}-redis"
  location            = azurerm_resource_group.app.location
  resource_group_name = azurerm_resource_group.app.name
  subnet_id           = azurerm_subnet.endpoints.id

  private_service_connection {
    name                           = "redis"
    private_connection_resource_id = azurerm_redis_cache.app.id
    subresource_names              = ["redisCache"]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "redis"
    private_dns_zone_ids = [azurerm_private_dns_zone.redis.id]
  }
}

# --- Uploads ----------------------------------------------------------------------------------

resource "azurerm_storage_account" "media" {
  # checkov:skip=CKV_AZURE_43:The name is built from var.name as lowercase letters and digits, at most 23 characters (local.compact_name).
  # checkov:skip=CKV2_AZURE_1:Microsoft-managed keys; a customer-managed key is a compliance choice per project.
  # checkov:skip=CKV2_AZURE_33:The app reaches Blob Storage with its managed identity; shared keys are off and no blob is public.
  # checkov:skip=CKV_AZURE_59:Browsers download uploads through SAS URLs, so the blob endpoint must be reachable.
  # checkov:skip=CKV_AZURE_33:No queues are used.
  name                            = "${local.compact_name}media"
  location                        = azurerm_resource_group.app.location
  resource_group_name             = azurerm_resource_group.app.name
  account_tier                    = "Standard"
  account_replication_type        = "GRS"
  min_tls_version                 = "TLS1_2"
  allow_nested_items_to_be_public = false
  shared_access_key_enabled       = false

  blob_properties {
    versioning_enabled = true
    delete_retention_policy {
      days = 30
    }
    container_delete_retention_policy {
      days = 30
    }
  }

  sas_policy {
    expiration_period = "01.00:00:00"
  }
}

resource "azurerm_storage_container" "media" {
  # checkov:skip=CKV2_AZURE_21:Read logging is a diagnostic setting sent to a workspace chosen per project.
  name                  = "media"
  storage_account_id    = azurerm_storage_account.media.id
  container_access_type = "private"
}
