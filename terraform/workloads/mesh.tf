# Istio ambient (issue 16 option 5; terraform/platform istio_ambient): the namespace label in
# main.tf enrolls the pods; the umbrella's NetworkPolicies then also allow HBONE (15008) on every
# edge and the kubelet's probes from 169.254.7.127 (charts/wd-lib _networkpolicy.tpl).
locals {
  mesh_values = var.istio_ambient ? [yamlencode({ global = { mesh = { ambient = true } } })] : []
}
