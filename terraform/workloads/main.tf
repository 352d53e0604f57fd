# The walt.id workloads. Order (each step prevents a known deadlock, waltid-facts §4):
#   Vault unsealed -> ClusterSecretStore -> ExternalSecrets synced -> umbrella release (wait).
# The ExternalSecrets are created here, from the secret plan, so the release never waits on pods
# whose Secrets do not exist yet; the umbrella's own ExternalSecrets are therefore turned off.

locals {
  kubeconfig = pathexpand(var.kubeconfig_path)
  plan       = jsondecode(file(var.secret_plan_path))
  # Dynamic DB credentials (dynamic_db.tf) are not in any KV: the umbrella's generators write them.
  by_secret = { for s in local.plan.secrets : s.k8sSecret => s... if !local.dynamic_secret[s.name] }
  external_secrets = {
    for name, group in local.by_secret : name => {
      type   = try(group[0].k8sSecretType, null)
      static = merge([for s in group : try(s.k8sStatic, {})]...)
      data   = [for s in group : { secretKey = s.k8sKey, remoteRef = { key = s.vaultPath, property = s.vaultKey } }]
      # external_store.tf: the static secrets' store, or the cluster's own for what it issues
      store = local.in_cluster_secret[group[0].name] ? local.in_cluster_store_name : var.store_name
    }
  }
  # Pod Security admission (https://kubernetes.io/docs/concepts/security/pod-security-admission/):
  # the API server rejects pods below `enforce`; audit and warn stay at restricted, so a namespace
  # lowered to baseline still reports what restricted would reject. Versions pinned to the nodes'
  # Kubernetes (bootstrap modules: 1.30), not `latest`, so an upgrade cannot tighten them unseen.
  # wd-verify's pod-security check judges the rendered pods against these labels.
  pod_security_levels = { enforce = var.pod_security_level, audit = "restricted", warn = "restricted" }
  pod_security_labels = merge([
    for mode, level in local.pod_security_levels : {
      "pod-security.kubernetes.io/${mode}"         = level
      "pod-security.kubernetes.io/${mode}-version" = var.pod_security_version
    }
  ]...)
}

resource "kubernetes_namespace_v1" "workloads" {
  metadata {
    name = var.namespace
    labels = merge(
      { "app.kubernetes.io/managed-by" = "terraform" },
      local.pod_security_labels,
      # Istio ambient (terraform/platform istio_ambient): the namespace's pods join the mesh.
      var.istio_ambient ? { "istio.io/dataplane-mode" = "ambient" } : {},
    )
  }
}

# ESO's store fails until Vault is initialised and unsealed (`wd-secrets init`): wait for every
# Vault pod's vault-sealed=false label (set by Vault's kubernetes service registration).
resource "terraform_data" "vault_unsealed" {
  input = { kubeconfig = local.kubeconfig }

  provisioner "local-exec" {
    interpreter = ["bash", "-c"]
    command     = <<-EOT
      set -euo pipefail
      for _ in $(seq 1 60); do
        sealed=$(kubectl --kubeconfig "${self.input.kubeconfig}" -n vault get pods -l app.kubernetes.io/name=vault -o jsonpath='{.items[*].metadata.labels.vault-sealed}')
        if [ -n "$sealed" ] && ! grep -q true <<<"$sealed"; then exit 0; fi
        sleep 5
      done
      echo "Vault is still sealed (vault-sealed: $sealed): run wd-secrets init, then apply again" >&2
      exit 1
    EOT
  }
}

resource "kubectl_manifest" "store" {
  yaml_body = yamlencode({
    apiVersion = "external-secrets.io/v1beta1"
    kind       = "ClusterSecretStore"
    metadata   = { name = var.store_name }
    spec = {
      # With external_vault (option 6, external_store.tf) the static secrets' Vault outside the
      # cluster; else the cluster's own.
      provider = { vault = local.static_store_vault }
    }
  })
  depends_on = [terraform_data.vault_unsealed]
}

resource "kubectl_manifest" "external_secret" {
  for_each = local.external_secrets
  yaml_body = yamlencode({
    apiVersion = "external-secrets.io/v1beta1"
    kind       = "ExternalSecret"
    metadata   = { name = each.key, namespace = var.namespace }
    spec = {
      refreshInterval = "1h"
      secretStoreRef  = { name = each.value.store, kind = "ClusterSecretStore" }
      target = merge(
        { name = each.key, creationPolicy = "Owner" },
        each.value.type == null && length(each.value.static) == 0 ? {} : {
          template = merge(
            { engineVersion = "v2", mergePolicy = "Merge" },
            each.value.type == null ? {} : { type = each.value.type },
            length(each.value.static) == 0 ? {} : { data = each.value.static },
          )
        },
      )
      data = each.value.data
    }
  })
  depends_on = [kubectl_manifest.store, kubectl_manifest.in_cluster_store, kubernetes_namespace_v1.workloads]
}

# Synced, not just created: the release below waits for pods that mount these Secrets.
resource "terraform_data" "secrets_synced" {
  input = { kubeconfig = local.kubeconfig, namespace = var.namespace, names = keys(local.external_secrets) }

  provisioner "local-exec" {
    interpreter = ["bash", "-c"]
    command     = "set -euo pipefail; kubectl --kubeconfig '${self.input.kubeconfig}' -n '${self.input.namespace}' wait --for=condition=Ready --timeout=300s ${join(" ", [for n in self.input.names : "externalsecret/${n}"])}"
  }
  depends_on = [kubectl_manifest.external_secret]
}

resource "helm_release" "umbrella" {
  name      = var.release
  chart     = var.chart_path
  namespace = kubernetes_namespace_v1.workloads.metadata[0].name
  # the option layers last: dynamic DB credentials (dynamic_db.tf)
  values = concat([file(var.values_file)], [for f in var.extra_values_files : file(f)], local.dynamic_db_values, local.internal_ca_values, local.mesh_values, local.telemetry_values)
  # The subcharts are file:// dependencies: package them from the working tree on every apply
  # (a fresh clone has no charts/ directory; stale .tgz would install old subcharts).
  dependency_update = true

  # This module owns the ExternalSecrets (created and synced above).
  set {
    name  = "externalSecrets.enabled"
    value = "false"
  }

  wait    = true
  timeout = var.timeout_seconds
  # A failed or interrupted upgrade rolls back instead of leaving the release failed/pending.
  atomic          = true
  cleanup_on_fail = true

  # Reloader first: the dynamic credentials' Secrets must roll the consumers from the start.
  depends_on = [terraform_data.secrets_synced, helm_release.reloader]
}
