# OpenTelemetry and KEDA (issue 16 options 2 and 4). The same variable names as terraform/platform,
# so one TF_VAR_opentelemetry_enabled / TF_VAR_keda_enabled installs the platform part and makes
# the scenario use it: the umbrella's global.otel.enabled (the app's VERIFIABLY_OTEL_*, the
# wallet's Java agent, the NetworkPolicy to the collector), and autoscaling.keda for the app and
# the wallet (a ScaledObject instead of the HPA where the profile's values autoscale them, i.e.
# prod; on local they run one replica and nothing changes).

locals {
  telemetry_values = concat(
    var.opentelemetry_enabled ? [yamlencode({ global = { otel = { enabled = true } } })] : [],
    var.keda_enabled ? [yamlencode({ for c in ["verifiably-go", "walt-wallet"] : c => { autoscaling = { keda = { enabled = true } } } })] : [],
  )
}
