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

# mTLS STRICT (istio_mtls_strict): terraform/workloads mesh.tf puts a PeerAuthentication STRICT in
# the scenario's namespace (not mesh-wide: an enrolled ingress-nginx must still accept the
# outside world's plaintext). Its pods then accept only HBONE from the mesh, so every platform
# namespace whose pods call INTO them joins the mesh (PERMISSIVE there, so their own plaintext
# callers still get in): ingress-nginx (the Ingresses' backends), monitoring (Prometheus scrapes,
# the blackbox exporter), vault (the database engine's logins to Postgres, dynamic credentials)
# and cnpg-system (the operator polls each Postgres instance's status on 8000). kubelet probes
# are exempt (Istio SNATs them from 169.254.7.127).
resource "kubernetes_labels" "istio_enrolled" {
  for_each    = local.istio && var.istio_mtls_strict ? toset(["ingress-nginx", "monitoring", "vault", "cnpg-system"]) : toset([])
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
    error_message = "istio_mtls_strict is set but istio_ambient is off: no namespace joins the mesh. Set istio_ambient = true (or drop istio_mtls_strict)."
  }
}
