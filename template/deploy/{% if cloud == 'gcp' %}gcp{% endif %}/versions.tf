terraform {
  required_version = ">= 1.10"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # Keep the state remote: it holds the generated database and Redis passwords.
  # terraform init -backend-config="bucket=..." -backend-config="prefix=production"
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = {
    application = var.name
    managed-by  = "terraform"
  }
}
