# Internal CA (option internal_ca; issue 16 option 1; docs/runbooks/internal-ca.md): cert-manager
# signs certificates with Vault's PKI engine through the ClusterIssuer `vault-internal`. Terraform
# cannot reach Vault at plan time (it starts sealed): `wd-secrets policies --apply --pki
# --pki-domain <domain>` creates the CAs, the role and the Kubernetes auth role this issuer uses
# (tools/wd-secrets/src/pki.rs: names below are its defaults). No pod: Vault and cert-manager
# already run; the issuer is NotReady until wd-secrets has run.
locals {
  internal_ca        = var.internal_ca
  internal_ca_issuer = "vault-internal"       # tokens carry audience vault://vault-internal (cert-manager v1.16 internal/vault)
  internal_ca_sa     = "wd-vault-issuer"      # wd-secrets --pki-service-account
  internal_ca_role   = "waltid-cert-manager"  # wd-secrets: <--release>-cert-manager
  internal_ca_path   = "pki/sign/wd-internal" # wd-secrets --pki-mount / --pki-role

  # Vault's own listener on this CA (variable vault_tls; docs/runbooks/internal-ca.md "Vault's
  # listener"). Vault cannot sign its own certificate before it is unsealed and the CA exists, so
  # `k8s-deploy.sh up` walks off -> certificate (issued while Vault still serves plain HTTP) ->
  # on (the listener serves it, every client verifies it against the root; Vault's pods restart,
  # updateStrategy OnDelete, and are unsealed again).
  vault_tls_cert     = contains(["certificate", "on"], var.vault_tls)
  vault_tls          = var.vault_tls == "on"
  vault_tls_secret   = "vault-server-tls"
  vault_ca_configmap = "wd-vault-ca"
  # the Service (vault-helm 0.28.1: vault, vault-active, vault-internal headless) and each pod by
  # its headless name; .svc and .svc.cluster.local only: the role signs no short name
  vault_dns_names = flatten([
    for n in concat(["vault", "vault-active", "vault-internal"], [for id in local.vault_ids : "${id}.vault-internal"]) :
    ["${n}.vault.svc", "${n}.vault.svc.cluster.local"]
  ])
  vault_service = "vault.vault.svc:8200" # k8s-deploy.sh reads it (the https server name, the Transit URL)
  vault_address = "${local.vault_tls ? "https" : "http"}://${local.vault_service}"
  vault_ca_pem  = local.vault_tls ? file(var.vault_ca_pem_path) : ""
}

# The identity the issuer logs in to Vault with: cert-manager requests a 10-minute token for it
# (TokenRequest), no token is mounted anywhere.
resource "kubectl_manifest" "internal_ca_sa" {
  count = local.internal_ca ? 1 : 0
  yaml_body = yamlencode({
    apiVersion                   = "v1"
    kind                         = "ServiceAccount"
    metadata                     = { name = local.internal_ca_sa, namespace = "cert-manager" }
    automountServiceAccountToken = false
  })
  depends_on = [helm_release.cert_manager]
}

# cert-manager's controller (service account cert-manager of the release) may create tokens for
# that one service account, nothing else.
resource "kubectl_manifest" "internal_ca_token_role" {
  count = local.internal_ca ? 1 : 0
  yaml_body = yamlencode({
    apiVersion = "rbac.authorization.k8s.io/v1"
    kind       = "Role"
    metadata   = { name = "${local.internal_ca_sa}-token", namespace = "cert-manager" }
    rules      = [{ apiGroups = [""], resources = ["serviceaccounts/token"], resourceNames = [local.internal_ca_sa], verbs = ["create"] }]
  })
  depends_on = [helm_release.cert_manager]
}

resource "kubectl_manifest" "internal_ca_token_binding" {
  count = local.internal_ca ? 1 : 0
  yaml_body = yamlencode({
    apiVersion = "rbac.authorization.k8s.io/v1"
    kind       = "RoleBinding"
    metadata   = { name = "${local.internal_ca_sa}-token", namespace = "cert-manager" }
    roleRef    = { apiGroup = "rbac.authorization.k8s.io", kind = "Role", name = "${local.internal_ca_sa}-token" }
    subjects   = [{ kind = "ServiceAccount", name = "cert-manager", namespace = "cert-manager" }]
  })
  depends_on = [kubectl_manifest.internal_ca_token_role]
}

# cert-manager v1.16.1 VaultIssuer: server, path (<mount>/sign/<role>), caBundle (base64 PEM),
# auth.kubernetes {mountPath, role, serviceAccountRef.name}. Plain HTTP until Vault's listener is
# on TLS (vault_tls = "on"), then https verified against the CA's root.
resource "kubectl_manifest" "internal_ca_issuer" {
  count = local.internal_ca ? 1 : 0
  yaml_body = yamlencode({
    apiVersion = "cert-manager.io/v1"
    kind       = "ClusterIssuer"
    # The phase in an annotation: each phase's apply updates the object, and cert-manager checks an
    # updated issuer at once (after failed checks, e.g. before wd-secrets --pki, its retries back
    # off up to 5 min: cert-manager pkg/controller DefaultItemBasedRateLimiter)
    metadata = { name = local.internal_ca_issuer, annotations = { "wd.waltid/vault-tls" = var.vault_tls } }
    spec = {
      vault = merge(local.vault_tls ? { caBundle = base64encode(local.vault_ca_pem) } : {}, {
        server = local.vault_address
        path   = local.internal_ca_path
        auth = {
          kubernetes = {
            mountPath         = "/v1/auth/kubernetes"
            role              = local.internal_ca_role
            serviceAccountRef = { name = local.internal_ca_sa }
          }
        }
      })
    }
  })
  # The CRD and its webhook come with the release; the token needs the RBAC above.
  depends_on = [helm_release.cert_manager, helm_release.vault, kubectl_manifest.internal_ca_sa, kubectl_manifest.internal_ca_token_binding]
}

# Vault's listener certificate (vault_tls "certificate" or "on"): every name a client dials.
# ECDSA P-256, 90 days renewed at 30 (the internal CA's other certificates; runbook); the
# reload sidecar makes Vault serve a renewed one (values/vault.yaml).
resource "kubectl_manifest" "vault_server_certificate" {
  count = local.vault_tls_cert ? 1 : 0
  yaml_body = yamlencode({
    apiVersion = "cert-manager.io/v1"
    kind       = "Certificate"
    metadata   = { name = local.vault_tls_secret, namespace = "vault" }
    spec = {
      secretName  = local.vault_tls_secret
      issuerRef   = { group = "cert-manager.io", kind = "ClusterIssuer", name = local.internal_ca_issuer }
      commonName  = local.vault_dns_names[0]
      dnsNames    = local.vault_dns_names
      duration    = "2160h"
      renewBefore = "720h"
      privateKey  = { algorithm = "ECDSA", size = 256, rotationPolicy = "Always" }
      usages      = ["server auth", "digital signature", "key encipherment"]
    }
  })
  depends_on = [kubectl_manifest.internal_ca_issuer, kubernetes_namespace_v1.ns]
}

# The CA's root where Vault's pods (raft retry_join, the CLI) and Prometheus's ServiceMonitor
# (same namespace) read it; public.
resource "kubernetes_config_map_v1" "vault_ca" {
  count = local.vault_tls ? 1 : 0
  metadata {
    name      = local.vault_ca_configmap
    namespace = kubernetes_namespace_v1.ns["vault"].metadata[0].name
    labels    = { "app.kubernetes.io/managed-by" = "terraform" }
  }
  data = { "ca.crt" = local.vault_ca_pem }
}
