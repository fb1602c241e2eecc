terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # Keep the state remote and locked: it holds the generated database and Redis passwords.
  # terraform init -backend-config="bucket=..." -backend-config="key=production.tfstate"
  backend "s3" {
    use_lockfile = true
    encrypt      = true
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Application = var.name
      ManagedBy   = "terraform"
    }
  }
}
