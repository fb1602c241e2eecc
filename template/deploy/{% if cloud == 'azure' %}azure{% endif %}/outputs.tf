output "web_fqdn" {
  description = "Point the domain's CNAME here, then add it as a custom domain of the web app."
  value       = azurerm_container_app.web.ingress[0].fqdn
}

output "deploy_client_id" {
  description = "Set as the AZURE_CLIENT_ID variable of the GitHub production environment."
  value       = azurerm_user_assigned_identity.deploy.client_id
}

output "tenant_id" {
  description = "Set as the AZURE_TENANT_ID variable of the GitHub production environment."
  value       = data.azurerm_client_config.current.tenant_id
}

output "registry" {
  description = "Set as the AZURE_REGISTRY variable: where the deploy workflow pushes images."
  value       = azurerm_container_registry.app.login_server
}

output "media_container" {
  description = "Blob container of uploaded files."
  value       = "${azurerm_storage_account.media.name}/${azurerm_storage_container.media.name}"
}
