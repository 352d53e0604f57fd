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
