# Local development on kind (bootstrap/local-kind); values shared by platform and workloads.
# Relative paths are relative to the module directory Terraform runs in (terraform/<module>/,
# `terraform -chdir=terraform/workloads`), hence ../../ to reach the checkout's root.
# kubeconfig_path is not here: it is the bootstrap module's output (k8s-deploy.sh passes it).
domain             = "localtest.me"
lb_mode            = "metallb"
issuer             = "selfsigned"
profile            = "local"
values_file        = "../../out/helm/values-waltid.yaml"
extra_values_files = ["../../charts/umbrella/waltid/values-local.yaml"]
secret_plan_path   = "../../out/secrets/secret-plan.json"
