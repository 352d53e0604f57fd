variable "cluster_name" {
  description = "Name of the kind cluster."
  type        = string
  default     = "waltid"
  validation {
    condition     = can(regex("^[a-z0-9-]{1,32}$", var.cluster_name))
    error_message = "Use lowercase letters, digits and dashes (kind cluster names)."
  }
}

variable "worker_nodes" {
  description = "Worker nodes beside the control plane. 0 = one node; the local profile fits one 8 GiB node (docs/charts.md, docs/platform.md)."
  type        = number
  default     = 0
  validation {
    condition     = var.worker_nodes >= 0 && var.worker_nodes <= 5
    error_message = "Between 0 and 5 workers."
  }
}

variable "node_image" {
  description = "kindest/node image (Kubernetes version of the nodes)."
  type        = string
  default     = "kindest/node:v1.30.6"
}

variable "kubeconfig_path" {
  description = "Where kind writes the cluster's kubeconfig."
  type        = string
  default     = "~/.kube/wd-kind.yaml"
}
