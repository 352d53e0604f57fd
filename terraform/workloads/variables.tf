variable "kubeconfig_path" {
  description = "Kubeconfig of the cluster (output of a bootstrap module)."
  type        = string
}

variable "values_file" {
  description = "Umbrella values written by wd-render (out/helm/values-waltid.yaml)."
  type        = string
}

variable "extra_values_files" {
  description = "Values layered over values_file, e.g. charts/umbrella/waltid/values-local.yaml."
  type        = list(string)
  default     = []
}

variable "secret_plan_path" {
  description = "SecretPlan written by wd-render (out/secrets/secret-plan.json): the ExternalSecrets' one source."
  type        = string
}

variable "chart_path" {
  description = "Path of the umbrella chart (relative paths are relative to terraform/workloads)."
  type        = string
  default     = "../../charts/umbrella/waltid"
}

variable "namespace" {
  description = "Namespace of the walt.id scenario."
  type        = string
  default     = "waltid"
}

variable "release" {
  description = "Helm release name of the umbrella."
  type        = string
  default     = "waltid"
}

variable "vault_address" {
  description = "The cluster Vault's address (platform output vault_address): ESO's store, the dynamic-credential generators, the wallet's Transit URL. https (terraform/platform vault_tls on) needs internal_ca_pem_path: its clients verify Vault's certificate against that root."
  type        = string
  default     = "http://vault.vault.svc:8200"
  validation {
    condition     = can(regex("^https?://[^/]+$", var.vault_address))
    error_message = "vault_address must be http(s)://host:port, as terraform/platform's output vault_address gives it."
  }
  validation {
    condition     = !startswith(var.vault_address, "https://") || var.internal_ca_pem_path != ""
    error_message = "vault_address is https: set internal_ca_pem_path, the internal CA's root that signs Vault's certificate."
  }
}

variable "vault_eso_role" {
  description = "Kubernetes auth role of ESO in Vault (wd-secrets policies creates <release>-eso)."
  type        = string
  default     = "waltid-eso"
}

variable "store_name" {
  description = "Name of the ClusterSecretStore (the umbrella's global.externalSecrets.storeName)."
  type        = string
  default     = "vault"
}

variable "timeout_seconds" {
  description = "How long the umbrella release may take to become ready."
  type        = number
  default     = 900
}

variable "pod_security_level" {
  description = "Pod Security level the namespace enforces (label pod-security.kubernetes.io/enforce); every pod the charts render meets restricted (wd-verify checks it)."
  type        = string
  default     = "restricted"
  validation {
    condition     = contains(["baseline", "restricted"], var.pod_security_level)
    error_message = "pod_security_level is restricted or baseline (privileged would turn Pod Security off)."
  }
}

variable "pod_security_version" {
  description = "Pod Security Standards version of the namespace labels (*-version): the nodes' Kubernetes minor."
  type        = string
  default     = "v1.30"
  validation {
    condition     = can(regex("^v1\\.[0-9]+$", var.pod_security_version))
    error_message = "pod_security_version is a Kubernetes minor version like v1.30 (not latest: pinned on purpose)."
  }
}

# Issue 16 options: dynamic DB credentials (dynamic_db.tf), external secret store (external_store.tf).
variable "dynamic_db_credentials" {
  description = "Dynamic DB credentials for the wallet and Keycloak (Vault database engine + ESO generators + Reloader). Off on the local profile by default: Reloader costs ~30 MiB and every refresh rolls the two consumers."
  type        = bool
  default     = false
}

variable "dynamic_db_consumers" {
  description = "Consumers whose DB credentials are dynamic (wd-secrets --db-consumer; the umbrella's postgres.dynamicCredentials.consumers[].vaultRole)."
  type        = list(string)
  default     = ["walt-wallet", "keycloak"]
}

variable "external_vault" {
  description = "The Vault/OpenBao outside the cluster that keeps the static secrets: address, PEM CA (empty: a public CA signs it), Kubernetes auth mount configured for THIS cluster and the ESO role there (`wd-secrets policies --store external`). null: the cluster's Vault keeps everything."
  type = object({
    address               = string
    ca_pem                = optional(string, "")
    kubernetes_auth_mount = optional(string, "kubernetes")
    role                  = optional(string, "waltid-eso")
  })
  default = null
  validation {
    condition     = var.external_vault == null || can(regex("^https://", var.external_vault.address))
    error_message = "external_vault.address must be https:// (the secrets leave the cluster's network)."
  }
}

variable "internal_ca_pem_path" {
  description = "Root certificate (PEM) of the internal CA, written by `wd-secrets policies --apply --pki --pki-ca-out <file>` (terraform/platform internal_ca). Set: ConfigMap wd-internal-ca in the namespace and every chart trusts it (docs/runbooks/internal-ca.md). Empty: off."
  type        = string
  default     = ""
  validation {
    # can(): Terraform evaluates both sides of ||, and fileexists("") fails (a directory)
    condition     = var.internal_ca_pem_path == "" || can(regex("-----BEGIN CERTIFICATE-----", file(var.internal_ca_pem_path)))
    error_message = "internal_ca_pem_path must be a PEM certificate file (wd-secrets policies --apply --pki --pki-ca-out <file>)."
  }
}

variable "istio_ambient" {
  description = "Label the namespace istio.io/dataplane-mode=ambient: its pods join Istio's ambient mesh (terraform/platform istio_ambient must be on; docs/platform.md)."
  type        = bool
  default     = false
}

variable "istio_mtls_strict" {
  description = "With istio_ambient: a PeerAuthentication STRICT in the namespace, its pods accept only mTLS from the mesh (the same variable in terraform/platform enrolls the platform callers; docs/platform.md)."
  type        = bool
  default     = false
  validation {
    condition     = !var.istio_mtls_strict || var.istio_ambient
    error_message = "istio_mtls_strict needs istio_ambient = true: outside the mesh the namespace's pods have no mTLS to require."
  }
}

# Issue 16 options 2 and 4 (telemetry.tf): the same names as terraform/platform's toggles.
variable "opentelemetry_enabled" {
  description = "Send the scenario's telemetry to the platform's OpenTelemetry Collector (terraform/platform opentelemetry_enabled must be on; docs/platform.md)."
  type        = bool
  default     = false
}

variable "keda_enabled" {
  description = "Scale the app and the wallet with KEDA ScaledObjects instead of HPAs where they autoscale (terraform/platform keda_enabled must be on: the charts refuse a ScaledObject without KEDA's CRDs)."
  type        = bool
  default     = false
}
