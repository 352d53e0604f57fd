variable "cluster_name" {
  description = "Name of the cluster (k3sup context name)."
  type        = string
  default     = "waltid"
}

variable "server_ip" {
  description = "IP address of the k3s server node."
  type        = string
  validation {
    condition     = can(cidrhost("${var.server_ip}/32", 0))
    error_message = "An IPv4 address, e.g. 192.0.2.10."
  }
}

variable "agent_ips" {
  description = "IP addresses of the k3s agent nodes."
  type        = list(string)
  default     = []
}

variable "ssh_user" {
  description = "SSH user on every node (with sudo)."
  type        = string
}

variable "ssh_key_path" {
  description = "SSH private key for the nodes."
  type        = string
  default     = "~/.ssh/id_ed25519"
}

variable "k3s_version" {
  description = "k3s release installed by k3sup."
  type        = string
  default     = "v1.30.6+k3s1"
}

variable "metallb_address_pool" {
  description = "Addresses MetalLB may hand out on the nodes' network, e.g. 192.0.2.240-192.0.2.250."
  type        = string
  validation {
    condition     = can(regex("^[0-9.]+-[0-9.]+$|^[0-9.]+/[0-9]+$", var.metallb_address_pool))
    error_message = "A range a.b.c.d-a.b.c.e or a CIDR."
  }
}

variable "kubeconfig_path" {
  description = "Where k3sup writes the cluster's kubeconfig."
  type        = string
  default     = "~/.kube/wd-k3s.yaml"
}
