output "ingress_lb_address" {
  description = "Address of ingress-nginx's LoadBalancer Service (IP or hostname)."
  value       = try(data.kubernetes_service_v1.ingress.status[0].load_balancer[0].ingress[0].ip, data.kubernetes_service_v1.ingress.status[0].load_balancer[0].ingress[0].hostname, "")
}

output "vault_address" {
  description = "In-cluster address of Vault's API: https (verified against the internal CA's root) once vault_tls is on (pki.tf)."
  value       = local.vault_address
}

output "argocd_admin_secret_name" {
  description = "Secret (namespace argocd) holding Argo CD's initial admin password (key `password`)."
  value       = "argocd-initial-admin-secret"
}

data "kubernetes_service_v1" "ingress" {
  metadata {
    name      = "ingress-nginx-controller"
    namespace = "ingress-nginx"
  }
  depends_on = [helm_release.ingress_nginx]
}

output "admission_policies" {
  description = "What the Kyverno policies (charts/wd-policies) do: action, namespaces, and the app image patterns whose signature is verified (empty: no signer set)."
  value = {
    action           = local.policy_action
    namespaces       = local.policy_namespaces
    verified_images  = local.app_image_signed ? local.app_image_references : []
    kyverno_policies = concat(local.app_image_signed ? ["wd-verify-app-image"] : [], ["wd-disallow-latest-tag", "wd-require-restricted-fields"])
  }
}

output "options" {
  description = "Platform options that are on (issue 16): opentelemetry (the OTLP endpoint the umbrella's global.otel names), keda (the charts' autoscaling.keda may be used), internal_ca (ClusterIssuer vault-internal), istio_ambient (the mesh is installed)."
  value = {
    opentelemetry = local.otel ? { grpc = "opentelemetry-collector.monitoring.svc:4317", http = "http://opentelemetry-collector.monitoring.svc:4318" } : null
    keda          = local.keda
    # internal CA: the ClusterIssuer that signs with Vault PKI (docs/runbooks/internal-ca.md)
    internal_ca = local.internal_ca ? { cluster_issuer = local.internal_ca_issuer } : null
    # Istio ambient: terraform/workloads istio_ambient may enroll the namespace
    istio_ambient = local.istio
  }
}
