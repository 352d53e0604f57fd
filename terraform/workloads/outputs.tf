output "release" {
  description = "Name and status of the umbrella release."
  value       = { name = helm_release.umbrella.name, status = helm_release.umbrella.status, version = helm_release.umbrella.version }
}

output "external_secrets" {
  description = "The ExternalSecrets created from the secret plan."
  value       = keys(local.external_secrets)
}

output "pod_security_labels" {
  description = "The Pod Security labels of the scenario's namespace (enforce/audit/warn and their pinned versions)."
  value       = local.pod_security_labels
}
