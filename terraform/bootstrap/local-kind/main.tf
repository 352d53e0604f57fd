# A kind cluster for the local target: one control-plane node (plus optional workers), ports
# 80/443 mapped to the host for ingress-nginx, and MetalLB's pool inside the kind network.

locals {
  kubeconfig_path = pathexpand(var.kubeconfig_path)
  lb_mode         = "metallb"
  kind_config = yamlencode({
    kind       = "Cluster"
    apiVersion = "kind.x-k8s.io/v1alpha4"
    name       = var.cluster_name
    nodes = concat(
      [{
        role  = "control-plane"
        image = var.node_image
        # ingress-nginx runs here and is reached on the host's 80/443.
        labels = { "ingress-ready" = "true" }
        extraPortMappings = [
          { containerPort = 80, hostPort = 80, protocol = "TCP" },
          { containerPort = 443, hostPort = 443, protocol = "TCP" },
        ]
      }],
      [for i in range(var.worker_nodes) : { role = "worker", image = var.node_image }],
    )
  })
  # The last /28 of the kind docker network (the nodes take addresses from its start).
  kind_subnet          = data.external.kind_network.result.subnet
  metallb_address_pool = "${cidrhost(local.kind_subnet, -16)}-${cidrhost(local.kind_subnet, -2)}"
}

resource "terraform_data" "cluster" {
  input = { name = var.cluster_name, config = local.kind_config, kubeconfig = local.kubeconfig_path }

  provisioner "local-exec" {
    # bash, not /bin/sh: dash has no pipefail (waltid-facts §4).
    interpreter = ["bash", "-c"]
    command     = <<-EOT
      set -euo pipefail
      if kind get clusters | grep -qx "${self.input.name}"; then
        kind export kubeconfig --name "${self.input.name}" --kubeconfig "${self.input.kubeconfig}"
      else
        printf '%s' "$KIND_CONFIG" | kind create cluster --config - --kubeconfig "${self.input.kubeconfig}" --wait 120s
      fi
    EOT
    environment = { KIND_CONFIG = self.input.config }
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["bash", "-c"]
    command     = "set -euo pipefail; kind delete cluster --name '${self.input.name}'"
  }
}

# The docker network kind creates (IPv4 subnet), read after the cluster exists.
data "external" "kind_network" {
  program    = ["bash", "-c", "set -euo pipefail; docker network inspect kind --format '{{range .IPAM.Config}}{{.Subnet}} {{end}}' | tr ' ' '\\n' | grep -m1 '\\.' | sed 's/.*/{\"subnet\":\"&\"}/'"]
  depends_on = [terraform_data.cluster]
}
