# Local development on kind (bootstrap/local-kind); values shared by platform and workloads.
kubeconfig_path    = "~/.kube/wd-kind.yaml"
domain             = "localtest.me"
lb_mode            = "metallb"
issuer             = "selfsigned"
profile            = "local"
values_file        = "../out/helm/values-waltid.yaml"
extra_values_files = ["../charts/umbrella/waltid/values-local.yaml"]
secret_plan_path   = "../out/secrets/secret-plan.json"
