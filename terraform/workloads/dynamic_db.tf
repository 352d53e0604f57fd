# Option: dynamic database credentials (issue 16 option 3; docs/runbooks/database-password.md).
# The consumers' database passwords are issued by the cluster Vault's database engine
# (`wd-secrets policies --apply --dynamic-db` configures it) through the umbrella's ESO
# VaultDynamicSecret generators, so this module creates no ExternalSecret for them, and
# Reloader rolls the consumers when ESO writes a new credential (they read it only at start).

locals {
  # wd-secrets placement.rs `dynamic_consumer`: a secret of a listed consumer AND postgres.
  dynamic_secret = {
    for s in local.plan.secrets : s.name => (
      var.dynamic_db_credentials && contains(s.consumers, "postgres") &&
      length(setintersection(s.consumers, var.dynamic_db_consumers)) > 0
    )
  }
  dynamic_db_values = var.dynamic_db_credentials ? [yamlencode(merge(
    {
      postgres = {
        dynamicCredentials = {
          enabled = true
          # the generators reach the cluster's own Vault even when static secrets are external
          vault = { server = var.vault_address, role = "${var.release}-db-credentials", serviceAccount = "${var.release}-db-credentials" }
        }
      }
    },
    { for c in var.dynamic_db_consumers : c => { database = { usernameFromSecret = true } } },
  ))] : []
}

resource "kubernetes_namespace_v1" "reloader" {
  count = var.dynamic_db_credentials ? 1 : 0
  metadata {
    name   = "reloader"
    labels = { "app.kubernetes.io/managed-by" = "terraform" }
  }
}

# Stakater Reloader (pinned): rolls every Deployment of the scenario's namespace that uses a
# Secret carrying the umbrella's rolloutLabel, as soon as ESO rewrites it. Nothing else: it
# watches one namespace, ignores ConfigMaps (their changes roll pods through checksums already).
resource "helm_release" "reloader" {
  count      = var.dynamic_db_credentials ? 1 : 0
  name       = "reloader"
  repository = "https://stakater.github.io/stakater-charts"
  chart      = "reloader"
  version    = "1.0.97"
  namespace  = kubernetes_namespace_v1.reloader[0].metadata[0].name
  values = [yamlencode({
    reloader = {
      autoReloadAll         = true
      ignoreConfigMaps      = true
      namespaceSelector     = "kubernetes.io/metadata.name=${var.namespace}"
      resourceLabelSelector = "waltid/rollout-on-change=true"
      # rolling update: patch the pod template (not the env), so a rollback restores it too
      reloadStrategy = "annotations"
      deployment = {
        resources                = { requests = { cpu = "10m", memory = "32Mi" }, limits = { memory = "64Mi" } }
        containerSecurityContext = { allowPrivilegeEscalation = false, readOnlyRootFilesystem = true, capabilities = { drop = ["ALL"] } }
      }
    }
  })]
}
