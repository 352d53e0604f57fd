#!/usr/bin/env bats
# k8s-deploy.sh with stub terraform/helm/kubectl/kind/docker/k3sup/aws and stub cluster-side wd
# tools on PATH that record their arguments; wd-inventory and wd-render are the real binaries.
# shellcheck disable=SC2030,SC2031  # each @test runs in its own subshell: exports stay local on purpose

bats_require_minimum_version 1.5.0

setup() {
  ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
  BIN="$BATS_TEST_TMPDIR/bin"
  CALLS="$BATS_TEST_TMPDIR/calls"
  export CALLS WD_OUT="$BATS_TEST_TMPDIR/out" XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" NO_COLOR=1
  mkdir -p "$BIN" "$XDG_CONFIG_HOME/wd"
  printf '{"keys_base64":["k"],"root_token":"root-token-value","threshold":1}' > "$XDG_CONFIG_HOME/wd/vault-init.json"
  : > "$CALLS"
  for t in terraform helm kubectl kind docker k3sup aws wd-secrets wd-transit wd-wait wd-urls; do
    cat > "$BIN/$t" <<STUB
#!/usr/bin/env bash
echo "$t \$*" >> "\$CALLS"
case "$t \$*" in
  "terraform "*"output -raw kubeconfig_path") echo /tmp/kubeconfig ;;
  "terraform "*"output -raw lb_mode") echo metallb ;;
  "terraform "*"output -raw metallb_address_pool") echo 172.18.255.240-172.18.255.254 ;;
  "helm "*" status "*) [ -n "\${HELM_STATUS_JSON:-}" ] && echo "\$HELM_STATUS_JSON" || { echo "Error: release: not found" >&2; exit 1; } ;;
  "helm "*" history "*) echo "\${HELM_HISTORY_JSON:-[]}" ;;
  "helm template "*) echo "kind: ConfigMap" ;;
  "kubectl "*"get statefulset vault"*) echo 1 ;;
  "wd-secrets "*|"wd-transit "*) [ "\$VAULT_TOKEN" = root-token-value ] || [ "\$1" = init ] || { echo "no token" >&2; exit 3; } ;;
esac
exit 0
STUB
    chmod +x "$BIN/$t"
  done
  ln -s "$ROOT/target/debug/wd-inventory" "$BIN/wd-inventory"
  ln -s "$ROOT/target/debug/wd-render" "$BIN/wd-render"
  export PATH="$BIN:/usr/bin:/bin"
  cd "$BATS_TEST_TMPDIR" || exit 1
}

# The calls, reduced to "tool first-words" for readable sequences.
calls() { sed -E 's#-chdir=[^ ]*/terraform/#-chdir=#; s# (-var|-var-file)[= ][^ ]*##g; s# --kubeconfig [^ ]*##g' "$CALLS"; }

@test "up --target=local: bootstrap, platform, secrets, workloads, wait, urls, in this order" {
  run "$ROOT/k8s-deploy.sh" up waltid --target=local
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  expected="terraform -chdir=bootstrap/local-kind init -input=false
terraform -chdir=bootstrap/local-kind apply -input=false -auto-approve
terraform -chdir=bootstrap/local-kind output -raw kubeconfig_path
terraform -chdir=bootstrap/local-kind output -raw lb_mode
terraform -chdir=bootstrap/local-kind output -raw metallb_address_pool
terraform -chdir=platform init -input=false
terraform -chdir=platform apply -input=false -auto-approve
kubectl -n vault get statefulset vault -o jsonpath={.spec.replicas}
kubectl -n vault port-forward pod/vault-0 18200:8200
wd-secrets init --node http://127.0.0.1:18200 --leader-api-addr http://vault-0.vault-internal:8200 -q
wd-secrets policies --plan $WD_OUT/secrets/secret-plan.json --apply --enable-k8s-auth -q
wd-secrets seed --plan $WD_OUT/secrets/secret-plan.json -q
wd-transit init -q
helm -n waltid status waltid -o json
terraform -chdir=workloads init -input=false
terraform -chdir=workloads apply -input=false -auto-approve
wd-wait -n waltid --release waltid --timeout 15m -q
wd-urls -n waltid --format table"
  diff <(calls) <(echo "$expected")
  [ -f "$WD_OUT/render-plan.json" ] && [ -f "$WD_OUT/helm/values-waltid.yaml" ]
  # the root token never reached an argument list
  run ! grep -q root-token-value "$CALLS"
}

@test "up --target=onprem and --target=aws use their bootstrap module and prod profile" {
  run "$ROOT/k8s-deploy.sh" up waltid --target=onprem
  [ "$status" -eq 0 ]
  grep -q "^terraform -chdir=$ROOT/terraform/bootstrap/onprem-k3s apply" "$CALLS"
  grep -q "environments/prod.tfvars" "$CALLS"
  grep -q "values-prod.yaml" "$CALLS"
  : > "$CALLS"
  run "$ROOT/k8s-deploy.sh" up waltid --target aws
  [ "$status" -eq 0 ]
  grep -q "^terraform -chdir=$ROOT/terraform/bootstrap/aws-eks apply" "$CALLS"
  run ! grep -q "^kind \|^k3sup " "$CALLS"
}

@test "up twice: the same calls, nothing destructive" {
  "$ROOT/k8s-deploy.sh" up waltid
  first="$(calls)"
  : > "$CALLS"
  "$ROOT/k8s-deploy.sh" up waltid
  [ "$(calls)" = "$first" ]
  run ! grep -q "destroy\|uninstall\|rollback" "$CALLS"
}

@test "a failed release is rolled back before the workloads apply" {
  export HELM_STATUS_JSON='{"name":"waltid","info":{"status":"failed"}}'
  export HELM_HISTORY_JSON='[{"revision":1,"status":"superseded"},{"revision":2,"status":"failed"}]'
  run "$ROOT/k8s-deploy.sh" up waltid
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$(grep -n "rollback waltid" "$CALLS" | cut -d: -f1)" -lt "$(grep -n "chdir=$ROOT/terraform/workloads apply" "$CALLS" | cut -d: -f1)" ]
}

@test "a pending-install release without a good revision: uninstall with --yes, refuse without" {
  export HELM_STATUS_JSON='{"name":"waltid","info":{"status":"pending-install"}}'
  export HELM_HISTORY_JSON='[{"revision":1,"status":"pending-install"}]'
  run "$ROOT/k8s-deploy.sh" up waltid < /dev/null
  [ "$status" -eq 1 ]
  [[ "$output" == *"release waltid is pending-install; uninstall it or run again with --yes"* ]]
  run ! grep -q "workloads apply" "$CALLS"
  run "$ROOT/k8s-deploy.sh" up waltid --yes
  [ "$status" -eq 0 ]
  grep -q "helm --kubeconfig /tmp/kubeconfig -n waltid uninstall waltid --wait" "$CALLS"
}

@test "missing prerequisites are named with how to install them" {
  rm "$BIN/terraform" "$BIN/kind"
  run "$ROOT/k8s-deploy.sh" up waltid
  [ "$status" -eq 1 ]
  [[ "$output" == *"missing prerequisite: terraform — install: https://developer.hashicorp.com/terraform/install"* ]]
  [[ "$output" == *"missing prerequisite: kind — install:"* ]]
  [ ! -s "$CALLS" ]
}

@test "unknown command, target or option: exit 2" {
  run "$ROOT/k8s-deploy.sh" deploy waltid
  [ "$status" -eq 2 ] && [[ "$output" == *"unknown command deploy"* ]]
  run "$ROOT/k8s-deploy.sh" up waltid --target=gcp
  [ "$status" -eq 2 ] && [[ "$output" == *"unknown target gcp; use local, onprem or aws"* ]]
  run "$ROOT/k8s-deploy.sh" up waltid --frobnicate
  [ "$status" -eq 2 ]
  run "$ROOT/k8s-deploy.sh" up
  [ "$status" -eq 2 ] && [[ "$output" == *"up needs a scenario"* ]]
  run "$ROOT/k8s-deploy.sh"
  [ "$status" -eq 2 ]
  run "$ROOT/k8s-deploy.sh" help
  [ "$status" -eq 0 ] && [[ "$output" == *"Usage: k8s-deploy.sh"* ]]
}

@test "--dry-run and config run no cluster command" {
  run "$ROOT/k8s-deploy.sh" up waltid --dry-run
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ -s "$WD_OUT/manifests.yaml" ]
  run ! grep -q "^terraform \|^kubectl \|^kind \|^docker \|^wd-secrets \|^wd-wait " "$CALLS"
  grep -q "^helm template waltid" "$CALLS"
  : > "$CALLS"
  run "$ROOT/k8s-deploy.sh" config waltid
  [ "$status" -eq 0 ] && [[ "$output" == *"umbrella values: $WD_OUT/helm/values-waltid.yaml"* ]]
  [ ! -s "$CALLS" ]
}

@test "down removes only the workloads; reset asks unless --yes" {
  run "$ROOT/k8s-deploy.sh" down waltid
  [ "$status" -eq 0 ]
  [ "$(grep -c destroy "$CALLS")" -eq 1 ] && grep -q "terraform/workloads destroy" "$CALLS"
  : > "$CALLS"
  run "$ROOT/k8s-deploy.sh" reset < /dev/null
  [ "$status" -eq 1 ] && [[ "$output" == *"not confirmed"* ]]
  run ! grep -q destroy "$CALLS"
  run "$ROOT/k8s-deploy.sh" reset --yes
  [ "$status" -eq 0 ]
  diff <(grep -o "terraform/[a-z/-]* destroy" "$CALLS") <(printf 'terraform/workloads destroy\nterraform/platform destroy\nterraform/bootstrap/local-kind destroy\n')
}

@test "status, logs and run" {
  run "$ROOT/k8s-deploy.sh" status
  [ "$status" -eq 0 ]
  grep -q "kubectl -n waltid get pods,ingresses,certificates,externalsecrets -o wide" "$CALLS"
  grep -q "kubectl -n vault get pods -l app.kubernetes.io/name=vault -L vault-initialized,vault-sealed" "$CALLS"
  run "$ROOT/k8s-deploy.sh" logs wallet -f
  [ "$status" -eq 0 ] && grep -q "kubectl -n waltid logs deployment/waltid-walt-wallet --all-containers -f" "$CALLS"
  run "$ROOT/k8s-deploy.sh" logs postgres
  [ "$status" -eq 2 ]
  run "$ROOT/k8s-deploy.sh" run waltid
  [ "$status" -eq 2 ] && [[ "$output" == *"set VERIFIABLY_SRC"* ]]
  mkdir -p "$BATS_TEST_TMPDIR/src"
  : > "$CALLS"
  VERIFIABLY_SRC="$BATS_TEST_TMPDIR/src" run "$ROOT/k8s-deploy.sh" run waltid
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  diff <(cut -d' ' -f1-4 "$CALLS") <(printf 'docker build -t verifiably-go:local\nkind load docker-image verifiably-go:local\nkubectl -n waltid rollout\nwd-wait -n waltid --timeout\n')
  VERIFIABLY_SRC="$BATS_TEST_TMPDIR/src" run "$ROOT/k8s-deploy.sh" run waltid --target=onprem
  [ "$status" -eq 2 ] && [[ "$output" == *"set REGISTRY"* ]]
}

@test "the env file: VERIFIABLY_ENV_FILE, else ./.env, else ./.env.example" {
  VERIFIABLY_ENV_FILE=/nonexistent run "$ROOT/k8s-deploy.sh" config waltid
  [ "$status" -eq 2 ] && [[ "$output" == *"VERIFIABLY_ENV_FILE=/nonexistent does not exist"* ]]
  echo "WD_NAMESPACE=from-example" > .env.example
  run "$ROOT/k8s-deploy.sh" status
  grep -q "kubectl -n from-example get pods" "$CALLS"
  # ./.env wins over ./.env.example, and its variables reach the tools' environment
  echo 'VERIFIABLY_PUBLIC_HOST=from-dotenv' > .env
  cat > "$BIN/wd-urls" <<'STUB'
#!/usr/bin/env bash
echo "wd-urls host=$VERIFIABLY_PUBLIC_HOST" >> "$CALLS"
STUB
  chmod +x "$BIN/wd-urls"
  run "$ROOT/k8s-deploy.sh" up waltid
  grep -q "wd-urls host=from-dotenv" "$CALLS"
}
