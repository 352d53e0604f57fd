variable "kubeconfig_path" {
  description = "Kubeconfig of the cluster (output of a bootstrap module)."
  type        = string
}

variable "domain" {
  description = "DNS domain of the public hosts (<service>.<domain>)."
  type        = string
  default     = "localtest.me"
}

variable "cluster_issuer_email" {
  description = "Contact e-mail for the ACME account (issuer = acme)."
  type        = string
  default     = ""
}

variable "lb_mode" {
  description = "metallb (kind, k3s: MetalLB gives LoadBalancer addresses) or cloud (the provider does)."
  type        = string
  validation {
    condition     = contains(["metallb", "cloud"], var.lb_mode)
    error_message = "lb_mode is metallb or cloud."
  }
}

variable "metallb_address_pool" {
  description = "Address range for MetalLB (lb_mode = metallb), from the bootstrap module."
  type        = string
  default     = ""
}

variable "issuer" {
  description = "Certificates for the public hosts: selfsigned (a local CA) or acme (Let's Encrypt)."
  type        = string
  default     = "selfsigned"
  validation {
    condition     = contains(["selfsigned", "acme"], var.issuer)
    error_message = "issuer is selfsigned or acme."
  }
}

variable "acme_server" {
  description = "ACME directory URL (issuer = acme)."
  type        = string
  default     = "https://acme-v02.api.letsencrypt.org/directory"
}

variable "profile" {
  description = "local (one replica each, small requests: fits one 8 GiB kind node with the walt.id stack) or prod (HA)."
  type        = string
  default     = "local"
  validation {
    condition     = contains(["local", "prod"], var.profile)
    error_message = "profile is local or prod."
  }
}

variable "cluster_type" {
  description = "kind, k3s or eks (bootstrap output cluster_type): ingress host ports on kind, CoreDNS wiring, EBS CSI on eks."
  type        = string
  default     = "kind"
  validation {
    condition     = contains(["kind", "k3s", "eks"], var.cluster_type)
    error_message = "cluster_type is kind, k3s or eks."
  }
}

variable "node_count" {
  description = "Nodes that run workloads (bootstrap output node_count): Vault runs 3 raft voters only with 3 or more."
  type        = number
  default     = 1
  validation {
    condition     = var.node_count >= 1
    error_message = "node_count is at least 1."
  }
}

variable "ebs_csi_role_arn" {
  description = "IAM role (IRSA) of the EBS CSI controller (bootstrap/aws-eks output ebs_csi_role_arn); eks only."
  type        = string
  default     = ""
}

variable "admission_policy_action" {
  description = "Kyverno policies (charts/wd-policies) on the scenario's namespace: Audit (admit, report) or Enforce (reject); empty = Audit on profile local, Enforce on prod."
  type        = string
  default     = ""
  validation {
    condition     = contains(["", "Audit", "Enforce"], var.admission_policy_action)
    error_message = "admission_policy_action is Audit, Enforce or empty (by profile)."
  }
}

variable "policy_namespaces" {
  description = "Namespaces the admission policies judge; empty = the scenario's (config/values/default.yaml namespace)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for n in var.policy_namespaces : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", n))])
    error_message = "policy_namespaces: each entry is a namespace name (lower-case letters, digits, '-', at most 63)."
  }
}

variable "app_image_references" {
  description = "Kyverno image patterns of the app image whose signature is verified; empty = */<app image name>:* and @* (name from config/values/default.yaml images.app)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for r in var.app_image_references : can(regex("^[^\\s]+$", r)) && r != "*"])
    error_message = "app_image_references: each entry is one image pattern without spaces, e.g. registry.example.org/team/verifiably-go:*; a bare * would demand our signature on every third-party image."
  }
}

variable "app_image_signature" {
  description = "Signer of the app image (Kyverno verifyImages, cosign). One of: keyless_subject (+ keyless_issuer; .github/workflows/image.yml signs keyless as https://github.com/<owner>/<repo>/.github/workflows/image.yml@<ref>), public_key (PEM), public_key_secret (namespace/name of a Secret with key cosign.pub). None: the signature policy is off. registry_secrets: pull Secrets in namespace kyverno for a private registry."
  type = object({
    keyless_issuer    = optional(string, "https://token.actions.githubusercontent.com")
    keyless_subject   = optional(string, "")
    public_key        = optional(string, "")
    public_key_secret = optional(string, "")
    rekor_url         = optional(string, "https://rekor.sigstore.dev")
    registry_secrets  = optional(list(string), [])
  })
  default = {}
  validation {
    condition     = length([for v in [var.app_image_signature.keyless_subject, var.app_image_signature.public_key, var.app_image_signature.public_key_secret] : v if v != ""]) <= 1
    error_message = "app_image_signature: set one of keyless_subject, public_key or public_key_secret, not several."
  }
  validation {
    condition     = var.app_image_signature.public_key == "" || startswith(trimspace(var.app_image_signature.public_key), "-----BEGIN PUBLIC KEY-----")
    error_message = "app_image_signature.public_key is a PEM public key (-----BEGIN PUBLIC KEY-----, e.g. cosign.pub)."
  }
  validation {
    condition     = var.app_image_signature.public_key_secret == "" || can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$", var.app_image_signature.public_key_secret))
    error_message = "app_image_signature.public_key_secret is NAMESPACE/NAME of a Secret holding the key cosign.pub."
  }
  validation {
    condition     = alltrue([for s in var.app_image_signature.registry_secrets : can(regex("^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$", s))])
    error_message = "app_image_signature.registry_secrets are names of Secrets in namespace kyverno."
  }
  validation {
    condition     = startswith(var.app_image_signature.keyless_issuer, "https://") && startswith(var.app_image_signature.rekor_url, "https://")
    error_message = "app_image_signature.keyless_issuer and .rekor_url are https:// URLs."
  }
}

variable "opentelemetry_enabled" {
  description = "OpenTelemetry Collector + Tempo in monitoring (issue 16 option 2; OTLP 4317/4318; traces -> Tempo, logs -> Loki, metrics -> Prometheus). Off by default on every profile (+192 MiB requests on local); terraform/workloads reads the same variable, so TF_VAR_opentelemetry_enabled=true installs it and points the scenario at it (docs/platform.md)."
  type        = bool
  default     = false
}

variable "keda_enabled" {
  description = "KEDA in namespace keda (issue 16 option 4). Off by default on every profile (+160 MiB requests on local); terraform/workloads reads the same variable: with it the app and the wallet scale by KEDA ScaledObjects instead of HPAs where the profile autoscales them (docs/platform.md)."
  type        = bool
  default     = false
}

variable "internal_ca" {
  description = "Internal CA on Vault PKI (issue 16 option 1, terraform/platform/pki.tf): ClusterIssuer vault-internal signing with Vault's pki/ (set up by `wd-secrets policies --apply --pki --pki-domain <domain>`). No pod (0 MiB): off by default on every profile because the issuer stays NotReady until that step has run (docs/runbooks/internal-ca.md)."
  type        = bool
  default     = false
}

variable "vault_tls" {
  description = "Vault's own listener on the internal CA (issue 16 option 1; pki.tf, docs/runbooks/internal-ca.md \"Vault's listener\"): off; certificate (cert-manager issues Certificate vault-server-tls from vault-internal while Vault still serves plain HTTP); on (Vault serves it on 8200, every client uses https with the CA's root; needs vault_ca_pem_path). `k8s-deploy.sh up` walks off -> certificate -> on with internal_ca once `wd-secrets --pki` has run. Cost: one sidecar per Vault pod (8 MiB requested)."
  type        = string
  default     = "off"
  validation {
    condition     = contains(["off", "certificate", "on"], var.vault_tls)
    error_message = "vault_tls must be off, certificate or on."
  }
  validation {
    condition     = var.vault_tls == "off" || var.internal_ca
    error_message = "vault_tls needs internal_ca = true (the certificate is signed by the internal CA)."
  }
  validation {
    # can(): Terraform evaluates both sides of ||, and file("") fails (a directory)
    condition     = var.vault_tls != "on" || can(regex("-----BEGIN CERTIFICATE-----", file(var.vault_ca_pem_path)))
    error_message = "vault_tls = \"on\" needs vault_ca_pem_path: the internal CA's root (PEM) that `wd-secrets policies --apply --pki --pki-ca-out FILE` wrote."
  }
}

variable "vault_ca_pem_path" {
  description = "With vault_tls = \"on\": the internal CA's root (PEM; public) that Vault's clients verify its certificate against (`wd-secrets policies --apply --pki --pki-ca-out FILE`)."
  type        = string
  default     = ""
}

variable "istio_ambient" {
  description = "Istio 1.28 ambient mode (issue 16 option 5, terraform/platform/istio.tf): base, istiod, istio-cni, ztunnel in istio-system; the scenario's namespace joins by label (terraform/workloads istio_ambient). Off by default on every profile: it rewires every node's pod networking (CNI chaining) and adds 320 MiB of requests on local (docs/platform.md)."
  type        = bool
  default     = false
}

variable "istio_mtls_strict" {
  description = "With istio_ambient: the platform namespaces that call into the scenario (ingress-nginx, monitoring, vault, cnpg-system) join the mesh, so that terraform/workloads' PeerAuthentication STRICT in the scenario's namespace (the same variable there) still admits them."
  type        = bool
  default     = false
}
