# The internal CA's root (issue 16 option 1; docs/runbooks/internal-ca.md) in the scenario's
# namespace: `wd-secrets policies --apply --pki --pki-ca-out <file>` writes it (public), this
# module makes it the ConfigMap every chart mounts (charts/wd-lib _internalca.tpl: SSL_CERT_DIR
# for the app) and walt-issuer/walt-wallet import into their JVM truststore (vaultCA.configMap).
# It replaces the "callers must trust the local CA" gap (waltid-facts §2) for certificates that
# the platform's ClusterIssuer vault-internal signs.
locals {
  internal_ca           = var.internal_ca_pem_path != ""
  internal_ca_configmap = "wd-internal-ca"
  internal_ca_values = local.internal_ca ? [yamlencode({
    global        = { internalCA = { configMap = local.internal_ca_configmap } }
    "walt-issuer" = { vaultCA = { configMap = local.internal_ca_configmap } }
    # Vault on TLS (external_store.tf vault_tls): the wallet's Transit URL is the platform's https one
    "walt-wallet" = merge({ vaultCA = { configMap = local.internal_ca_configmap } }, local.vault_tls ? { transit = { server = "${var.vault_address}/v1/transit" } } : {})
  })] : []
}

resource "kubernetes_config_map_v1" "internal_ca" {
  count = local.internal_ca ? 1 : 0
  metadata {
    name      = local.internal_ca_configmap
    namespace = kubernetes_namespace_v1.workloads.metadata[0].name
    labels    = { "app.kubernetes.io/managed-by" = "terraform" }
  }
  data = { "ca.crt" = file(var.internal_ca_pem_path) }
}
