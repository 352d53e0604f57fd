# Production: on-prem k3s (MetalLB) or EKS (lb_mode = "cloud", passed by k8s-deploy.sh from the
# bootstrap output); ACME certificates.
# Your domain and ACME contact are not in this file: pass them as TF_VAR_domain and
# TF_VAR_cluster_issuer_email (the platform refuses issuer = "acme" without them).
# Relative paths are relative to terraform/<module>/ (hence ../../). kubeconfig_path is the
# bootstrap module's output, never a file default (onprem and aws have different clusters).
lb_mode            = "metallb"
issuer             = "acme"
profile            = "prod"
values_file        = "../../out/helm/values-waltid.yaml"
extra_values_files = ["../../charts/umbrella/waltid/values-prod.yaml"]
secret_plan_path   = "../../out/secrets/secret-plan.json"
