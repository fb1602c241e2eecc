resource "azurerm_resource_group" "app" {
  name     = local.name
  location = var.location
}

resource "azurerm_virtual_network" "app" {
  name                = local.name
  location            = azurerm_resource_group.app.location
  resource_group_name = azurerm_resource_group.app.name
  address_space       = ["10.0.0.0/16"]
}

# The Container Apps environment runs its replicas in this subnet.
resource "azurerm_subnet" "apps" {
  name                 = "apps"
  resource_group_name  = azurerm_resource_group.app.name
  virtual_network_name = azurerm_virtual_network.app.name
  address_prefixes     = ["10.0.0.0/23"]

  delegation {
    name = "container-apps"
    service_delegation {
      name    = "Microsoft.App/environments"
      actions = ["Microsoft.Network/virtualNetworks/subnets/join/action"]
    }
  }
}

resource "azurerm_subnet" "postgres" {
  name                 = "postgres"
  resource_group_name  = azurerm_resource_group.app.name
  virtual_network_name = azurerm_virtual_network.app.name
  address_prefixes     = ["10.0.2.0/24"]

  delegation {
    name = "postgres"
    service_delegation {
      name    = "Microsoft.DBforPostgreSQL/flexibleServers"
      actions = ["Microsoft.Network/virtualNetworks/subnets/join/action"]
    }
  }
}

# Private endpoints: Redis is reachable from inside the network only.
resource "azurerm_subnet" "endpoints" {
  name                 = "endpoints"
  resource_group_name  = azurerm_resource_group.app.name
  virtual_network_name = azurerm_virtual_network.app.name
  address_prefixes     = ["10.0.3.0/24"]
}

# Azure's default rules: traffic within the network flows, nothing from the internet comes in.
resource "azurerm_network_security_group" "app" {
  name                = local.name
  location            = azurerm_resource_group.app.location
  resource_group_name = azurerm_resource_group.app.name
}

resource "azurerm_subnet_network_security_group_association" "app" {
  for_each = {
    apps      = azurerm_subnet.apps.id
    postgres  = azurerm_subnet.postgres.id
    endpoints = azurerm_subnet.endpoints.id
  }

  subnet_id                 = each.value
  network_security_group_id = azurerm_network_security_group.app.id
}

resource "azurerm_private_dns_zone" "postgres" {
  name                = "${local.name}.postgres.database.azure.com"
  resource_group_name = azurerm_resource_group.app.name
}

resource "azurerm_private_dns_zone" "redis" {
  name                = "privatelink.redis.cache.windows.net"
  resource_group_name = azurerm_resource_group.app.name
}

resource "azurerm_private_dns_zone_virtual_network_link" "app" {
  for_each = {
    postgres = azurerm_private_dns_zone.postgres.name
    redis    = azurerm_private_dns_zone.redis.name
  }

  name                  = "${local.name}-${each.key}"
  resource_group_name   = azurerm_resource_group.app.name
  private_dns_zone_name = each.value
  virtual_network_id    = azurerm_virtual_network.app.id
}

resource "azurerm_log_analytics_workspace" "app" {
  name                = local.name
  location            = azurerm_resource_group.app.location
  resource_group_name = azurerm_resource_group.app.name
  sku                 = "PerGB2018"
  retention_in_days   = 90
}
