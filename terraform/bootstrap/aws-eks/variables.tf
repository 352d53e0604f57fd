variable "cluster_name" {
  description = "Name of the EKS cluster."
  type        = string
  default     = "waltid"
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-central-1"
}

variable "availability_zones" {
  description = "Availability zones of the VPC's subnets (named explicitly, so the set never changes by itself)."
  type        = list(string)
  default     = ["eu-central-1a", "eu-central-1b", "eu-central-1c"]
  validation {
    condition     = length(var.availability_zones) >= 2
    error_message = "At least two zones: EKS needs subnets in two."
  }
}

variable "kubernetes_version" {
  description = "EKS control-plane version."
  type        = string
  default     = "1.30"
}

variable "vpc_cidr" {
  description = "CIDR of the cluster's VPC."
  type        = string
  default     = "10.42.0.0/16"
}

variable "node_instance_type" {
  description = "Instance type of the self-managed node group."
  type        = string
  default     = "m6i.large"
}

variable "node_count" {
  description = "Nodes of the self-managed node group (min = desired; max = twice that)."
  type        = number
  default     = 3
}

variable "public_access_cidrs" {
  description = "CIDRs allowed to reach the EKS API endpoint."
  type        = list(string)
}

variable "kubeconfig_path" {
  description = "Where `aws eks update-kubeconfig` writes the kubeconfig."
  type        = string
  default     = "~/.kube/wd-eks.yaml"
}
