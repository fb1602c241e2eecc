# GitHub Actions signs in with OpenID Connect as this identity: no client secret exists.
resource "azurerm_user_assigned_identity" "deploy" {
  name                = "${local.name}-deploy"
  location            = azurerm_resource_group.app.location
  resource_group_name = azurerm_resource_group.app.name
}

# Only workflow runs of the production environment of this repository.
resource "azurerm_federated_identity_credential" "github" {
  name                = "github-production"
  resource_group_name = azurerm_resource_group.app.name
  parent_id           = azurerm_user_assigned_identity.deploy.id
  issuer              = "https://token.actions.githubusercontent.com"
  audience            = ["api://AzureADTokenExchange"]
  subject             = "repo:${var.github_repository}:environment:production"
}

resource "azurerm_role_assignment" "deploy" {
  for_each = {
    push_images = { scope = azurerm_container_registry.app.id, role = "AcrPush" }
    update_apps = { scope = azurerm_resource_group.app.id, role = "Container Apps Contributor" }
    # Updating an app that runs as the app identity needs permission to assign it.
    assign_identity = { scope = azurerm_user_assigned_identity.app.id, role = "Managed Identity Operator" }
  }

  scope                = each.value.scope
  role_definition_name = each.value.role
  principal_id         = azurerm_user_assigned_identity.deploy.principal_id
}
