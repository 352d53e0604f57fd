# The same outputs in every bootstrap module: the platform module does not care which one ran.
output "kubeconfig_path" {
  description = "Path of the kubeconfig that reaches the new cluster."
  value       = local.kubeconfig_path
}

output "lb_mode" {
  description = "How LoadBalancer Services get addresses: metallb (kind, k3s) or cloud (AWS)."
  value       = local.lb_mode
}

output "cluster_name" {
  description = "Name of the cluster."
  value       = var.cluster_name
}

output "metallb_address_pool" {
  description = "Address range MetalLB hands out (empty when lb_mode is cloud)."
  value       = local.metallb_address_pool
}

output "node_count" {
  description = "Number of nodes that run workloads (the platform sizes Vault's raft cluster from it)."
  value       = var.node_count
}

output "cluster_type" {
  description = "kind, k3s or eks: what the platform adapts to (ingress host ports, CoreDNS, storage)."
  value       = "eks"
}

output "ebs_csi_role_arn" {
  description = "IAM role of the EBS CSI controller (IRSA; eks only, empty elsewhere)."
  value       = module.ebs_csi_irsa.iam_role_arn
}
