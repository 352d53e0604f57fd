# Istio ambient (issue 16 option 5; terraform/platform istio_ambient): the namespace label in
# main.tf enrolls the pods; the umbrella's NetworkPolicies then also allow HBONE (15008) on every
# edge and the kubelet's probes from 169.254.7.127 (charts/wd-lib _networkpolicy.tpl).
locals {
  mesh_values = var.istio_ambient ? [yamlencode({ global = { mesh = { ambient = true } } })] : []
}

# mTLS STRICT in this namespace only (istio_mtls_strict): its pods accept only HBONE from the
# mesh. Namespace-scoped, not mesh-wide, because an enrolled ingress-nginx must still accept the
# outside world's plaintext; terraform/platform istio.tf (same variable) enrolls the platform
# namespaces whose pods call in here. Istio's PeerAuthentication security.istio.io/v1 (1.28).
resource "kubectl_manifest" "strict_mtls" {
  count = var.istio_mtls_strict ? 1 : 0
  yaml_body = yamlencode({
    apiVersion = "security.istio.io/v1"
    kind       = "PeerAuthentication"
    metadata   = { name = "default", namespace = kubernetes_namespace_v1.workloads.metadata[0].name }
    spec       = { mtls = { mode = "STRICT" } }
  })
}
