# k3s on existing machines, installed over SSH with k3sup. k3s's own ServiceLB and Traefik are
# disabled: MetalLB and ingress-nginx come from the platform module, as on every target.

locals {
  kubeconfig_path      = pathexpand(var.kubeconfig_path)
  lb_mode              = "metallb"
  metallb_address_pool = var.metallb_address_pool
  k3s_args             = "--disable servicelb --disable traefik"
}

resource "terraform_data" "server" {
  input = { ip = var.server_ip, user = var.ssh_user, key = pathexpand(var.ssh_key_path), version = var.k3s_version, kubeconfig = local.kubeconfig_path, context = var.cluster_name }

  provisioner "local-exec" {
    interpreter = ["bash", "-c"]
    command     = <<-EOT
      set -euo pipefail
      k3sup install --ip "${self.input.ip}" --user "${self.input.user}" --ssh-key "${self.input.key}" \
        --k3s-version "${self.input.version}" --k3s-extra-args '${local.k3s_args}' \
        --local-path "${self.input.kubeconfig}" --context "${self.input.context}"
    EOT
  }
}

resource "terraform_data" "agent" {
  for_each   = toset(var.agent_ips)
  input      = { ip = each.value, server = var.server_ip, user = var.ssh_user, key = pathexpand(var.ssh_key_path), version = var.k3s_version }
  depends_on = [terraform_data.server]

  provisioner "local-exec" {
    interpreter = ["bash", "-c"]
    command     = <<-EOT
      set -euo pipefail
      k3sup join --ip "${self.input.ip}" --server-ip "${self.input.server}" --user "${self.input.user}" \
        --ssh-key "${self.input.key}" --k3s-version "${self.input.version}"
    EOT
  }
}
