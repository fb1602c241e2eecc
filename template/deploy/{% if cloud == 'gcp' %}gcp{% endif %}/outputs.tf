output "web_url" {
  description = "The web service's URL; map the domain to it (Cloud Run domain mapping or a load balancer)."
  value       = google_cloud_run_v2_service.web.uri
}

output "workload_identity_provider" {
  description = "Set as the GCP_WORKLOAD_IDENTITY_PROVIDER variable of the GitHub production environment."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "deploy_service_account" {
  description = "Set as the GCP_DEPLOY_SERVICE_ACCOUNT variable of the GitHub production environment."
  value       = google_service_account.deploy.email
}

output "image_repository" {
  description = "Set as the GCP_IMAGE_REPOSITORY variable: where the deploy workflow pushes images."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.app.repository_id}/app"
}

output "media_bucket" {
  description = "Bucket of uploaded files."
  value       = google_storage_bucket.media.name
}
