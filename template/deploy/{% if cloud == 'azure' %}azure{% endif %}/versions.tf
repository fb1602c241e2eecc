terraform {
  required_version = ">= 1.10"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # Keep the state remote: it holds the generated database password and the Redis key.
  # terraform init -backend-config="storage_account_name=..." -backend-config="container_name=tfstate" -backend-config="key=production.tfstate"
  backend "azurerm" {
    use_azuread_auth = true
  }
}

# The subscription comes from ARM_SUBSCRIPTION_ID.
provider "azurerm" {
  storage_use_azuread = true
  features {}
}
