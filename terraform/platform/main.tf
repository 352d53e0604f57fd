# The platform every target shares: monitoring, ingress, certificates, load balancing (MetalLB
# only where there is no cloud), Postgres and object-storage operators, External Secrets, Vault,
# logs, Argo CD, Kyverno. No cloud-specific resource: the same module applies to kind, k3s, EKS.
# Every dependency is explicit; each comment names the failure it prevents.

locals {
  metallb = var.lb_mode == "metallb"
  local   = var.profile == "local"
  values  = "${path.module}/values"
  # Raft needs 3 voters for HA, and the chart's required hostname anti-affinity puts each on its
  # own node: with fewer than 3 nodes, vault-1/2 would stay Pending forever. One voter then.
  vault_ha  = !local.local && var.node_count >= 3 ? 3 : 1
  vault_ids = [for i in range(local.vault_ha) : "vault-${i}"]
  # vault-helm 0.28.1's default server image (values.yaml server.image), written out once: the
  # chart and the TLS reload sidecar run it
  vault_image = { repository = "hashicorp/vault", tag = "1.17.2" }
  # kind maps the host's 80/443 to the node labelled ingress-ready (bootstrap/local-kind):
  # ingress-nginx must listen there with hostPorts to be reached from the host.
  host_ports = var.cluster_type == "kind"
  # Self-managed EKS nodes have no storage driver: the EBS CSI chart + a default gp3 class.
  ebs_csi = var.cluster_type == "eks"
  # Public hosts (<label>.<domain>) resolve INSIDE the cluster to the ingress controller, so the
  # wallet's and the app's server-side calls to public URLs work (waltid-facts §2 "Subdomain mode";
  # *.localtest.me would be 127.0.0.1 in a pod).
  domain_regex   = replace(var.domain, ".", "\\.")
  ingress_fqdn   = "ingress-nginx-controller.ingress-nginx.svc.cluster.local"
  public_rewrite = "rewrite stop name regex (^|.*\\.)${local.domain_regex}\\.?$ ${local.ingress_fqdn} answer auto"
  # Admission policies (charts/wd-policies): Audit on the local profile (a kind-loaded app image
  # is never signed; report, never block), Enforce in prod. The scenario's namespace and the app
  # image's name come from wd-render's defaults (config/values/default.yaml), their one home.
  app_defaults      = yamldecode(file("${path.module}/../../config/values/default.yaml"))
  app_image_name    = reverse(split("/", local.app_defaults.images.app.repository))[0]
  policy_action     = var.admission_policy_action != "" ? var.admission_policy_action : (local.local ? "Audit" : "Enforce")
  policy_namespaces = length(var.policy_namespaces) > 0 ? var.policy_namespaces : [local.app_defaults.namespace]
  # Any registry: Kyverno matches <registry>/<path>:<tag> or @<digest>, docker.io/ added to a bare name.
  app_image_references = length(var.app_image_references) > 0 ? var.app_image_references : ["*/${local.app_image_name}:*", "*/${local.app_image_name}@*"]
  app_image_signed     = var.app_image_signature.keyless_subject != "" || var.app_image_signature.public_key != "" || var.app_image_signature.public_key_secret != ""
  app_image_key_secret = var.app_image_signature.public_key_secret == "" ? { namespace = "", name = "" } : zipmap(["namespace", "name"], split("/", var.app_image_signature.public_key_secret))
}

resource "kubernetes_namespace_v1" "ns" {
  for_each = toset(["monitoring", "ingress-nginx", "cert-manager", "metallb-system", "cnpg-system", "minio-operator", "external-secrets", "vault", "argocd", "kyverno"])
  metadata {
    name = each.key
    labels = {
      "app.kubernetes.io/managed-by" = "terraform"
    }
  }
}

# 1. Prometheus operator and its CRDs FIRST: every release below that creates a
#    ServiceMonitor/PodMonitor fails to install without them (waltid-facts §4).
resource "helm_release" "kube_prometheus_stack" {
  name       = "kube-prometheus-stack"
  repository = "https://prometheus-community.github.io/helm-charts"
  chart      = "kube-prometheus-stack"
  version    = "65.5.1"
  namespace  = kubernetes_namespace_v1.ns["monitoring"].metadata[0].name
  timeout    = 900
  values     = [templatefile("${local.values}/kube-prometheus-stack.yaml", { profile = var.profile, domain = var.domain })]
}

# 1b. Blackbox exporter: probes what serves no metrics (walt.id /livez, LibreTranslate, WSO2) for
#     the charts' Probe objects (docs/observability.md). Its self-ServiceMonitor needs the CRDs.
resource "helm_release" "prometheus_blackbox_exporter" {
  name       = "prometheus-blackbox-exporter"
  repository = "https://prometheus-community.github.io/helm-charts"
  chart      = "prometheus-blackbox-exporter"
  version    = "11.17.2"
  namespace  = kubernetes_namespace_v1.ns["monitoring"].metadata[0].name
  values     = [templatefile("${local.values}/prometheus-blackbox-exporter.yaml", { profile = var.profile })]
  depends_on = [helm_release.kube_prometheus_stack]
}

# 2. MetalLB only without a cloud load balancer; its address pool needs its CRDs.
resource "helm_release" "metallb" {
  count      = local.metallb ? 1 : 0
  name       = "metallb"
  repository = "https://metallb.github.io/metallb"
  chart      = "metallb"
  version    = "0.14.8"
  namespace  = kubernetes_namespace_v1.ns["metallb-system"].metadata[0].name
  values     = [templatefile("${local.values}/metallb.yaml", { profile = var.profile })]
  # ServiceMonitor (prometheus.serviceMonitor) needs the CRDs.
  depends_on = [helm_release.kube_prometheus_stack]
}

resource "kubectl_manifest" "metallb_pool" {
  count = local.metallb ? 1 : 0
  yaml_body = yamlencode({
    apiVersion = "metallb.io/v1beta1"
    kind       = "IPAddressPool"
    metadata   = { name = "default", namespace = "metallb-system" }
    spec       = { addresses = [var.metallb_address_pool] }
  })
  # IPAddressPool is a MetalLB CRD: apply after the release installed it.
  depends_on = [helm_release.metallb]
}

resource "kubectl_manifest" "metallb_l2" {
  count = local.metallb ? 1 : 0
  yaml_body = yamlencode({
    apiVersion = "metallb.io/v1beta1"
    kind       = "L2Advertisement"
    metadata   = { name = "default", namespace = "metallb-system" }
    spec       = { ipAddressPools = ["default"] }
  })
  depends_on = [kubectl_manifest.metallb_pool]
}

# 3. Ingress: its LoadBalancer Service needs an address (MetalLB pool, or the cloud's).
resource "helm_release" "ingress_nginx" {
  name       = "ingress-nginx"
  repository = "https://kubernetes.github.io/ingress-nginx"
  chart      = "ingress-nginx"
  version    = "4.11.3"
  namespace  = kubernetes_namespace_v1.ns["ingress-nginx"].metadata[0].name
  values     = [templatefile("${local.values}/ingress-nginx.yaml", { profile = var.profile, host_ports = local.host_ports })]
  # ServiceMonitor needs the CRDs; without the pool the Service stays <pending> and --wait times out.
  depends_on = [helm_release.kube_prometheus_stack, kubectl_manifest.metallb_l2]
}

# 4. Certificates: ClusterIssuers are cert-manager CRDs served through its webhook.
resource "helm_release" "cert_manager" {
  name       = "cert-manager"
  repository = "https://charts.jetstack.io"
  chart      = "cert-manager"
  version    = "v1.16.1"
  namespace  = kubernetes_namespace_v1.ns["cert-manager"].metadata[0].name
  values     = [templatefile("${local.values}/cert-manager.yaml", { profile = var.profile })]
  # ServiceMonitor needs the CRDs.
  depends_on = [helm_release.kube_prometheus_stack]
}

resource "kubectl_manifest" "selfsigned_root" {
  yaml_body = yamlencode({
    apiVersion = "cert-manager.io/v1"
    kind       = "ClusterIssuer"
    metadata   = { name = "selfsigned-root" }
    spec       = { selfSigned = {} }
  })
  # The CRD and its webhook come with the release (installing earlier fails validation).
  depends_on = [helm_release.cert_manager]
}

resource "kubectl_manifest" "local_ca_cert" {
  yaml_body = yamlencode({
    apiVersion = "cert-manager.io/v1"
    kind       = "Certificate"
    metadata   = { name = "wd-local-ca", namespace = "cert-manager" }
    spec = {
      isCA       = true
      commonName = "wd local CA (${var.domain})"
      secretName = "wd-local-ca"
      privateKey = { algorithm = "ECDSA", size = 256 }
      issuerRef  = { name = "selfsigned-root", kind = "ClusterIssuer", group = "cert-manager.io" }
    }
  })
  depends_on = [kubectl_manifest.selfsigned_root]
}

resource "kubectl_manifest" "selfsigned_ca" {
  yaml_body = yamlencode({
    apiVersion = "cert-manager.io/v1"
    kind       = "ClusterIssuer"
    metadata   = { name = "selfsigned-ca" }
    spec       = { ca = { secretName = "wd-local-ca" } }
  })
  # Issues from the CA certificate above.
  depends_on = [kubectl_manifest.local_ca_cert]
}

resource "kubectl_manifest" "acme" {
  count = var.issuer == "acme" ? 1 : 0
  yaml_body = yamlencode({
    apiVersion = "cert-manager.io/v1"
    kind       = "ClusterIssuer"
    metadata   = { name = "letsencrypt" }
    spec = {
      acme = {
        email               = var.cluster_issuer_email
        server              = var.acme_server
        privateKeySecretRef = { name = "letsencrypt-account" }
        solvers             = [{ http01 = { ingress = { ingressClassName = "nginx" } } }]
      }
    }
  })
  # HTTP-01 answers through ingress-nginx; the CRD comes with cert-manager.
  depends_on = [helm_release.cert_manager, helm_release.ingress_nginx]

  lifecycle {
    precondition {
      condition     = var.cluster_issuer_email != "" && var.domain != "localtest.me"
      error_message = "issuer = acme needs your own domain and cluster_issuer_email (localtest.me cannot get public certificates): set TF_VAR_domain and TF_VAR_cluster_issuer_email."
    }
  }
}

# 5. Operators.
resource "helm_release" "cloudnative_pg" {
  name       = "cloudnative-pg"
  repository = "https://cloudnative-pg.github.io/charts"
  chart      = "cloudnative-pg"
  version    = "0.22.1"
  namespace  = kubernetes_namespace_v1.ns["cnpg-system"].metadata[0].name
  values     = [templatefile("${local.values}/cloudnative-pg.yaml", { profile = var.profile })]
  # PodMonitor needs the CRDs.
  depends_on = [helm_release.kube_prometheus_stack]
}

resource "helm_release" "minio_operator" {
  name       = "minio-operator"
  repository = "https://operator.min.io"
  chart      = "operator"
  version    = "5.0.15"
  namespace  = kubernetes_namespace_v1.ns["minio-operator"].metadata[0].name
  values     = [templatefile("${local.values}/minio-operator.yaml", { profile = var.profile })]
}

# 6. Vault (raft; 3 replicas with retry_join, 1 locally) and External Secrets. Vault starts
#    sealed: `wd-secrets init` unseals it before the workloads module creates ESO's store.
resource "helm_release" "vault" {
  name       = "vault"
  repository = "https://helm.releases.hashicorp.com"
  chart      = "vault"
  version    = "0.28.1"
  namespace  = kubernetes_namespace_v1.ns["vault"].metadata[0].name
  # Pods stay unready (sealed) until initialised: waiting here would time out by design.
  wait = false
  values = [templatefile("${local.values}/vault.yaml", {
    profile          = var.profile
    replicas         = local.vault_ha
    peers            = local.vault_ids
    image_repository = local.vault_image.repository
    image_tag        = local.vault_image.tag
    # Vault's listener on the internal CA (pki.tf, vault_tls = "on")
    tls           = local.vault_tls
    tls_secret    = local.vault_tls_secret
    ca_configmap  = local.vault_ca_configmap
    reload_script = file("${path.module}/vault/tls-reload.sh")
  })]
  # ServiceMonitor (serverTelemetry) needs the CRDs; its PVCs need a StorageClass (EBS on eks);
  # with TLS the pods mount the CA's root (pki.tf; the certificate is issued a step before).
  depends_on = [helm_release.kube_prometheus_stack, helm_release.aws_ebs_csi_driver, kubernetes_config_map_v1.vault_ca]
}

resource "helm_release" "external_secrets" {
  name       = "external-secrets"
  repository = "https://charts.external-secrets.io"
  chart      = "external-secrets"
  version    = "0.10.4"
  namespace  = kubernetes_namespace_v1.ns["external-secrets"].metadata[0].name
  values     = [templatefile("${local.values}/external-secrets.yaml", { profile = var.profile })]
  # ServiceMonitor needs the CRDs; the store that points at Vault is created later (workloads).
  depends_on = [helm_release.kube_prometheus_stack, helm_release.vault]
}

# 7. Logs: Loki single binary (+ Promtail shipping to it).
resource "helm_release" "loki" {
  name       = "loki"
  repository = "https://grafana.github.io/helm-charts"
  chart      = "loki"
  version    = "6.16.0"
  namespace  = kubernetes_namespace_v1.ns["monitoring"].metadata[0].name
  # SingleBinary refuses to render unless read/write/backend replicas are 0 (waltid-facts §4).
  values = [templatefile("${local.values}/loki.yaml", { profile = var.profile })]
  # ServiceMonitor needs the CRDs; its PVC needs a StorageClass (EBS on eks).
  depends_on = [helm_release.kube_prometheus_stack, helm_release.aws_ebs_csi_driver]
}

resource "helm_release" "promtail" {
  name       = "promtail"
  repository = "https://grafana.github.io/helm-charts"
  chart      = "promtail"
  version    = "6.16.6"
  namespace  = kubernetes_namespace_v1.ns["monitoring"].metadata[0].name
  values     = [templatefile("${local.values}/promtail.yaml", { profile = var.profile })]
  # Pushes to Loki's gateway; ServiceMonitor needs the CRDs.
  depends_on = [helm_release.kube_prometheus_stack, helm_release.loki]
}

# 7b. OpenTelemetry (option opentelemetry_enabled; issue 16 option 2): the scenario's one OTLP
#     endpoint, the collector (chart, not the operator: no webhook mutating pods, docs/platform.md),
#     exporting traces to Tempo, logs to Loki, metrics to a port Prometheus scrapes.
locals {
  otel = var.opentelemetry_enabled
  keda = var.keda_enabled
}

resource "helm_release" "tempo" {
  count      = local.otel ? 1 : 0
  name       = "tempo"
  repository = "https://grafana.github.io/helm-charts"
  chart      = "tempo"
  version    = "1.24.0"
  namespace  = kubernetes_namespace_v1.ns["monitoring"].metadata[0].name
  values     = [templatefile("${local.values}/tempo.yaml", { profile = var.profile })]
  # ServiceMonitor needs the CRDs; its PVC (prod) needs a StorageClass (EBS on eks).
  depends_on = [helm_release.kube_prometheus_stack, helm_release.aws_ebs_csi_driver]
}

# Grafana's Tempo datasource (uid tempo), so the traces can be browsed next to the logs (Loki,
# uid loki) and metrics (uid prometheus, kube-prometheus-stack's own): kube-prometheus-stack's
# Grafana loads datasources from ConfigMaps carrying its sidecar label in `monitoring`
# (values/kube-prometheus-stack.yaml grafana.sidecar.datasources). Tempo serves its query API on
# 3200 (tempo chart 1.24.0 default tempo.server.http_listen_port) behind Service `tempo`.
resource "kubernetes_config_map_v1" "grafana_tempo_datasource" {
  count = local.otel ? 1 : 0
  metadata {
    name      = "grafana-datasource-tempo"
    namespace = kubernetes_namespace_v1.ns["monitoring"].metadata[0].name
    labels    = { grafana_datasource = "1" }
  }
  # Grafana datasource provisioning format (apiVersion 1)
  data       = { "tempo.yaml" = file("${path.module}/grafana/tempo-datasource.yaml") }
  depends_on = [helm_release.kube_prometheus_stack, helm_release.tempo]
}

resource "helm_release" "opentelemetry_collector" {
  count      = local.otel ? 1 : 0
  name       = "opentelemetry-collector"
  repository = "https://open-telemetry.github.io/opentelemetry-helm-charts"
  chart      = "opentelemetry-collector"
  version    = "0.170.0"
  namespace  = kubernetes_namespace_v1.ns["monitoring"].metadata[0].name
  values     = [templatefile("${local.values}/opentelemetry-collector.yaml", { profile = var.profile })]
  # ServiceMonitor needs the CRDs; it exports to Tempo and Loki (refused connections until they run).
  depends_on = [helm_release.kube_prometheus_stack, helm_release.tempo, helm_release.loki]
}

# 7c. KEDA (option keda_enabled; issue 16 option 4): the charts' ScaledObjects (keda.sh/v1alpha1,
#     CRDs from this release) scale the app and the wallet on Prometheus request rates.
resource "kubernetes_namespace_v1" "keda" {
  count = local.keda ? 1 : 0
  metadata {
    name   = "keda"
    labels = { "app.kubernetes.io/managed-by" = "terraform" }
  }
}

resource "helm_release" "keda" {
  count      = local.keda ? 1 : 0
  name       = "keda"
  repository = "https://kedacore.github.io/charts"
  chart      = "keda"
  version    = "2.17.2"
  namespace  = kubernetes_namespace_v1.keda[0].metadata[0].name
  values     = [templatefile("${local.values}/keda.yaml", { profile = var.profile })]
  # ServiceMonitor needs the CRDs; its Prometheus triggers query kube-prometheus-stack.
  depends_on = [helm_release.kube_prometheus_stack]
}

# 8. GitOps and policy.
resource "helm_release" "argo_cd" {
  name       = "argo-cd"
  repository = "https://argoproj.github.io/argo-helm"
  chart      = "argo-cd"
  version    = "7.6.10"
  namespace  = kubernetes_namespace_v1.ns["argocd"].metadata[0].name
  values     = [templatefile("${local.values}/argo-cd.yaml", { profile = var.profile, domain = var.domain })]
  # ServiceMonitors need the CRDs; its Ingress needs the controller and a ClusterIssuer.
  depends_on = [helm_release.kube_prometheus_stack, helm_release.ingress_nginx, kubectl_manifest.selfsigned_ca]
}

resource "helm_release" "kyverno" {
  name       = "kyverno"
  repository = "https://kyverno.github.io/kyverno"
  chart      = "kyverno"
  version    = "3.2.7"
  namespace  = kubernetes_namespace_v1.ns["kyverno"].metadata[0].name
  values     = [templatefile("${local.values}/kyverno.yaml", { profile = var.profile })]
  # ServiceMonitors need the CRDs. Installed last: its admission webhooks would otherwise
  # judge (and can block) the other releases' pods while they install.
  depends_on = [helm_release.kube_prometheus_stack, helm_release.ingress_nginx, helm_release.cert_manager, helm_release.cloudnative_pg, helm_release.external_secrets, helm_release.loki, helm_release.promtail, helm_release.argo_cd, helm_release.minio_operator, helm_release.tempo, helm_release.opentelemetry_collector, helm_release.keda]
}

# 8b. Admission policies for the walt.id namespace (charts/wd-policies, this repository): Kyverno
#     ClusterPolicies are Kyverno CRDs served through its webhook, so they install after Kyverno's
#     release (before it: "no matches for kind ClusterPolicy"). No pod: nothing beyond Kyverno's memory.
resource "helm_release" "wd_policies" {
  name      = "wd-policies"
  chart     = "${path.module}/../../charts/wd-policies"
  namespace = kubernetes_namespace_v1.ns["kyverno"].metadata[0].name
  values = [templatefile("${local.values}/wd-policies.yaml", {
    action     = local.policy_action
    namespaces = local.policy_namespaces
    references = local.app_image_references
    signed     = local.app_image_signed
    signature  = var.app_image_signature
    key_secret = local.app_image_key_secret
  })]
  depends_on = [helm_release.kyverno]
}

# Enforce without a signer still rejects latest/untagged images and pods without the restricted
# fields, but cannot check the app image's signature: say so on every plan.
check "app_image_signature" {
  assert {
    condition     = local.policy_action != "Enforce" || local.app_image_signed
    error_message = "Admission policies enforce, but no signer is set for the app image: unsigned verifiably-go images are admitted. Set app_image_signature.keyless_subject (image.yml: https://github.com/<owner>/<repo>/.github/workflows/image.yml@refs/heads/main), .public_key or .public_key_secret."
  }
}

# 9. In-cluster resolution of the public hosts (issue: the "hairpin" of the users' deploy.sh).
#    kind and EKS run kubeadm's CoreDNS whose Corefile has no import: this module owns the
#    Corefile (kubeadm's default, coredns/Corefile.tftpl, plus the rewrite). k3s's Corefile
#    imports /etc/coredns/custom/*.override from the optional ConfigMap coredns-custom.
resource "kubernetes_config_map_v1_data" "coredns" {
  count = var.cluster_type == "k3s" ? 0 : 1
  metadata {
    name      = "coredns"
    namespace = "kube-system"
  }
  data  = { Corefile = templatefile("${path.module}/coredns/Corefile.tftpl", { rewrite = local.public_rewrite }) }
  force = true
}

resource "kubernetes_config_map_v1" "coredns_custom" {
  count = var.cluster_type == "k3s" ? 1 : 0
  metadata {
    name      = "coredns-custom"
    namespace = "kube-system"
  }
  data = { "wd-public-hosts.override" = local.public_rewrite }
}

# CoreDNS's reload plugin notices the change only after the kubelet refreshed the mounted
# ConfigMap (up to a minute): restart it so the workloads' first calls already resolve.
resource "terraform_data" "coredns_restart" {
  triggers_replace = [local.public_rewrite]
  input            = { kubeconfig = pathexpand(var.kubeconfig_path) }

  provisioner "local-exec" {
    interpreter = ["bash", "-c"]
    command     = "set -euo pipefail; kubectl --kubeconfig '${self.input.kubeconfig}' -n kube-system rollout restart deployment/coredns && kubectl --kubeconfig '${self.input.kubeconfig}' -n kube-system rollout status deployment/coredns --timeout=180s"
  }
  depends_on = [kubernetes_config_map_v1_data.coredns, kubernetes_config_map_v1.coredns_custom, helm_release.ingress_nginx]
}

# 10. Storage on self-managed EKS: the in-cluster EBS CSI driver (not the managed add-on) and a
#     default gp3 StorageClass; Vault's and Loki's PVCs wait for it.
resource "helm_release" "aws_ebs_csi_driver" {
  count      = local.ebs_csi ? 1 : 0
  name       = "aws-ebs-csi-driver"
  repository = "https://kubernetes-sigs.github.io/aws-ebs-csi-driver"
  chart      = "aws-ebs-csi-driver"
  version    = "2.64.0"
  namespace  = "kube-system"
  values     = [templatefile("${local.values}/aws-ebs-csi-driver.yaml", { profile = var.profile, role_arn = var.ebs_csi_role_arn })]

  lifecycle {
    precondition {
      condition     = var.ebs_csi_role_arn != ""
      error_message = "cluster_type = eks needs ebs_csi_role_arn (output of bootstrap/aws-eks)."
    }
  }
}
