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

# cert-manager v1.16.1 VaultIssuer: server, path (<mount>/sign/<role>), auth.kubernetes
# {mountPath, role, serviceAccountRef.name}. Vault's API is plain HTTP on the pod network
# (README "Not set up here"), so no caBundle.
resource "kubectl_manifest" "internal_ca_issuer" {
  count = local.internal_ca ? 1 : 0
  yaml_body = yamlencode({
    apiVersion = "cert-manager.io/v1"
    kind       = "ClusterIssuer"
    metadata   = { name = local.internal_ca_issuer }
    spec = {
      vault = {
        server = "http://vault.vault.svc:8200"
        path   = local.internal_ca_path
        auth = {
          kubernetes = {
            mountPath         = "/v1/auth/kubernetes"
            role              = local.internal_ca_role
            serviceAccountRef = { name = local.internal_ca_sa }
          }
        }
      }
    }
  })
  # The CRD and its webhook come with the release; the token needs the RBAC above.
  depends_on = [helm_release.cert_manager, helm_release.vault, kubectl_manifest.internal_ca_sa, kubectl_manifest.internal_ca_token_binding]
}
