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
