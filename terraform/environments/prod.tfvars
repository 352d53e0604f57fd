# Production: on-prem k3s (MetalLB) or EKS (lb_mode = "cloud"); ACME certificates.
# Your domain and ACME contact are not in this file: pass them as TF_VAR_domain and
# TF_VAR_cluster_issuer_email (the platform refuses issuer = "acme" without them).
kubeconfig_path    = "~/.kube/wd-k3s.yaml"
lb_mode            = "metallb"
issuer             = "acme"
profile            = "prod"
values_file        = "../out/helm/values-waltid.yaml"
extra_values_files = ["../charts/umbrella/waltid/values-prod.yaml"]
secret_plan_path   = "../out/secrets/secret-plan.json"
