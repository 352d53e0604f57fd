# Option: external secret store (issue 16 option 6; docs/platform.md "External secret store").
# The static secrets live in a Vault/OpenBao OUTSIDE the cluster, so `k8s-deploy.sh reset` + `up`
# finds them as they were; the cluster's own Vault keeps only what it issues (Transit tokens,
# dynamic DB credentials, its own DB admin password). Seed and check the external one with
# `wd-secrets seed|check --store external --vault-addr <address> --vault-cacert <ca>`.

locals {
  external = var.external_vault != null
  # wd-secrets placement.rs `home`: issued or used by the cluster's Vault -> in-cluster.
  in_cluster_secret = {
    for s in local.plan.secrets : s.name => local.external && (s.policy.format == "external" || contains(s.consumers, "vault"))
  }
  in_cluster_store_name = "${var.store_name}-in-cluster"
  # Vault's listener on the internal CA (terraform/platform vault_tls): https, verified against the root
  vault_tls      = startswith(var.vault_address, "https://")
  in_cluster_tls = local.vault_tls ? { caBundle = base64encode(file(var.internal_ca_pem_path)) } : {}
  in_cluster_vault_auth = {
    server  = var.vault_address
    path    = local.plan.kvMount
    version = "v2"
    auth = {
      kubernetes = {
        mountPath         = "kubernetes"
        role              = var.vault_eso_role
        serviceAccountRef = { name = "external-secrets", namespace = "external-secrets" }
      }
    }
  }
  in_cluster_vault = merge(local.in_cluster_vault_auth, local.in_cluster_tls)
  static_store_vault = merge(
    local.external ? {
      server  = var.external_vault.address
      path    = local.plan.kvMount
      version = "v2"
      auth = {
        kubernetes = {
          mountPath         = var.external_vault.kubernetes_auth_mount
          role              = var.external_vault.role
          serviceAccountRef = { name = "external-secrets", namespace = "external-secrets" }
        }
      }
    } : local.in_cluster_vault_auth,
    local.external ? {} : local.in_cluster_tls,
    # the external Vault's CA (PEM, base64 as ESO's caBundle wants it); none: a public CA
    { for k, pem in { caBundle = try(var.external_vault.ca_pem, "") } : k => base64encode(pem) if pem != "" },
  )
}

# Beside an external store: the cluster's own Vault, for the secrets it issues.
resource "kubectl_manifest" "in_cluster_store" {
  count = local.external ? 1 : 0
  yaml_body = yamlencode({
    apiVersion = "external-secrets.io/v1beta1"
    kind       = "ClusterSecretStore"
    metadata   = { name = local.in_cluster_store_name }
    spec       = { provider = { vault = local.in_cluster_vault } }
  })
  depends_on = [terraform_data.vault_unsealed]
}

output "secret_stores" {
  description = "Which ClusterSecretStore each ExternalSecret reads (external_vault set: static secrets from the external Vault)."
  value       = { for name, es in local.external_secrets : name => es.store }
}
