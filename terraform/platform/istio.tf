# Istio ambient mode (option istio_ambient; issue 16 option 5; docs/platform.md "Istio ambient"):
# base (CRDs), istiod, the istio-cni node agent and ztunnel, all from Istio 1.28.10 (needs
# Kubernetes >= 1.30). Namespaces join the mesh by label: terraform/workloads labels the scenario's
# namespace istio.io/dataplane-mode=ambient (its istio_ambient). ztunnel then carries every pod's
# TCP as mTLS (HBONE, port 15008); NetworkPolicies stay in force (docs/platform.md).
locals {
  istio = var.istio_ambient
}

resource "kubernetes_namespace_v1" "istio_system" {
  count = local.istio ? 1 : 0
  metadata {
    name   = "istio-system"
    labels = { "app.kubernetes.io/managed-by" = "terraform" }
  }
}

resource "helm_release" "istio_base" {
  count      = local.istio ? 1 : 0
  name       = "istio-base"
  repository = "https://istio-release.storage.googleapis.com/charts"
  chart      = "base"
  version    = "1.28.10"
  namespace  = kubernetes_namespace_v1.istio_system[0].metadata[0].name
  values     = [templatefile("${local.values}/istio-base.yaml", {})]
}

# istiod validates Istio's CRDs (from base) and serves ztunnel's certificates and configuration.
resource "helm_release" "istiod" {
  count      = local.istio ? 1 : 0
  name       = "istiod"
  repository = "https://istio-release.storage.googleapis.com/charts"
  chart      = "istiod"
  version    = "1.28.10"
  namespace  = kubernetes_namespace_v1.istio_system[0].metadata[0].name
  values     = [templatefile("${local.values}/istiod.yaml", { profile = var.profile })]
  depends_on = [helm_release.istio_base]
}

# The node agent must chain into the node's CNI before ztunnel gets pods: k3s keeps its CNI
# configuration elsewhere (values/istio-cni.yaml), EKS's aws-vpc-cni and kind's kindnet at the
# chart's paths.
resource "helm_release" "istio_cni" {
  count      = local.istio ? 1 : 0
  name       = "istio-cni"
  repository = "https://istio-release.storage.googleapis.com/charts"
  chart      = "cni"
  version    = "1.28.10"
  namespace  = kubernetes_namespace_v1.istio_system[0].metadata[0].name
  values     = [templatefile("${local.values}/istio-cni.yaml", { cluster_type = var.cluster_type })]
  depends_on = [helm_release.istiod]
}

resource "helm_release" "ztunnel" {
  count      = local.istio ? 1 : 0
  name       = "ztunnel"
  repository = "https://istio-release.storage.googleapis.com/charts"
  chart      = "ztunnel"
  version    = "1.28.10"
  namespace  = kubernetes_namespace_v1.istio_system[0].metadata[0].name
  values     = [templatefile("${local.values}/ztunnel.yaml", { profile = var.profile })]
  depends_on = [helm_release.istio_cni]
}

# Mesh-wide mTLS STRICT (istio_mtls_strict): enrolled pods accept only HBONE from the mesh.
# Callers outside it (ingress-nginx, Prometheus in monitoring) are then refused unless their
# namespaces are enrolled too (istio_enrolled_platform_namespaces); kubelet probes are exempt.
resource "kubectl_manifest" "istio_strict" {
  count = local.istio && var.istio_mtls_strict ? 1 : 0
  yaml_body = yamlencode({
    apiVersion = "security.istio.io/v1"
    kind       = "PeerAuthentication"
    metadata   = { name = "default", namespace = "istio-system" }
    spec       = { mtls = { mode = "STRICT" } }
  })
  depends_on = [helm_release.istiod]
}

# With STRICT, the platform namespaces that call the scenario join the mesh too.
resource "kubernetes_labels" "istio_enrolled" {
  for_each    = local.istio && var.istio_mtls_strict ? toset(["ingress-nginx", "monitoring"]) : toset([])
  api_version = "v1"
  kind        = "Namespace"
  metadata { name = each.key }
  labels     = { "istio.io/dataplane-mode" = "ambient" }
  depends_on = [helm_release.ztunnel, kubernetes_namespace_v1.ns]
}

# STRICT without the mesh would do nothing: say so on every plan.
check "istio_mtls_strict" {
  assert {
    condition     = !var.istio_mtls_strict || var.istio_ambient
    error_message = "istio_mtls_strict is set but istio_ambient is off: no PeerAuthentication is created. Set istio_ambient = true (or drop istio_mtls_strict)."
  }
}
