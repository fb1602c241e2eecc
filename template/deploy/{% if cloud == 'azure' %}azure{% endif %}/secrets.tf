data "azurerm_client_config" "current" {}

resource "random_password" "secret_key" {
  length  = 64
  special = false
}

resource "azurerm_key_vault" "app" {
  # checkov:skip=CKV_AZURE_109:Container Apps reads secrets over the public endpoint with its managed identity; access is by RBAC role only.
  # checkov:skip=CKV_AZURE_189:See CKV_AZURE_109.
  # checkov:skip=CKV2_AZURE_32:See CKV_AZURE_109; add a private endpoint for network isolation.
  name                       = "${local.compact_name}kv"
  location                   = azurerm_resource_group.app.location
  resource_group_name        = azurerm_resource_group.app.name
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  enable_rbac_authorization  = true
  purge_protection_enabled   = true
  soft_delete_retention_days = 30
}

# Whoever runs Terraform writes the secrets; the app only reads them.
resource "azurerm_role_assignment" "terraform_writes_secrets" {
  scope                = azurerm_key_vault.app.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

# Each secret reaches the processes as the environment variable of the same name.
locals {
  secrets = {
    DJANGO_SECRET_KEY = random_password.secret_key.result
    DATABASE_URL      = "postgres://app:${random_password.database.result}@${azurerm_postgresql_flexible_server.app.fqdn}:5432/app?sslmode=require"
    REDIS_URL         = "rediss://:${azurerm_redis_cache.app.primary_access_key}@${azurerm_redis_cache.app.hostname}:${azurerm_redis_cache.app.ssl_port}/0?ssl_cert_reqs=required"
  }
}

resource "azurerm_key_vault_secret" "app" {
  # checkov:skip=CKV_AZURE_41:These secrets live as long as the resources they open; rotate them by replacing the random_password and applying.
  for_each = toset(keys(local.secrets))

  name         = lower(replace(each.key, "_", "-"))
  key_vault_id = azurerm_key_vault.app.id
  value        = local.secrets[each.key]
  content_type = "text/plain"
  depends_on   = [azurerm_role_assignment.terraform_writes_secrets]
}
