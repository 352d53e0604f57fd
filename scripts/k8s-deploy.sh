#!/usr/bin/env bash
# k8s-deploy.sh: the walt.id scenario on Kubernetes, with deploy.sh's look and options.
# It only parses options, prints progress and pipes the wd tools and terraform/helm/kubectl;
# everything worth testing lives in the tools (tools/wd-*).
set -euo pipefail

# The checkout this script belongs to (also when called through the top-level symlink).
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
TARGET="local"
VALUES=""
DRY_RUN=0
YES=0
FOLLOW=0

# deploy.sh's colour helpers (waltid-facts §5); no colour when NO_COLOR is set or not a terminal.
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then C=1; else C=0; fi
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then CE=1; else CE=0; fi
red()    { if [ "$CE" = 1 ]; then printf '\033[31m%s\033[0m\n' "$*" >&2; else printf '%s\n' "$*" >&2; fi; }
green()  { if [ "$C" = 1 ]; then printf '\033[32m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }
yellow() { if [ "$C" = 1 ]; then printf '\033[33m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }
bold()   { if [ "$C" = 1 ]; then printf '\033[1m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }
step()   { bold "▶ $*"; }
die()    { red "k8s-deploy: $*"; exit 1; }
usage_error() { red "k8s-deploy: $*"; red "run: k8s-deploy.sh help"; exit 2; }

usage() {
  cat <<'USAGE'
Usage: k8s-deploy.sh <command> [options]

  up <scenario> [--target=local|onprem|aws] [--values FILE] [--dry-run]
                    audit + render, then terraform bootstrap -> platform -> secrets -> workloads,
                    wait until ready, print the URLs (--dry-run: render + helm template only)
  config <scenario> render only and say where the files went
  run <scenario>    build the verifiably-go image from $VERIFIABLY_SRC, load it (kind) or push it
                    ($REGISTRY), roll the deployment and wait for it
  down [scenario]   remove the workloads (keep the platform and the cluster)
  reset [--yes]     destroy everything (asks first unless --yes)
  status            pods, ingresses, certificates, ExternalSecrets and Vault seal state
  logs <service> [-f]
  help

Environment: VERIFIABLY_ENV_FILE (else ./.env, else ./.env.example), VERIFIABLY_SRC, REGISTRY,
WD_OUT (default out/), WD_NAMESPACE (waltid), WD_RELEASE (waltid). For onprem/aws: TF_VAR_domain and
TF_VAR_cluster_issuer_email (ACME), and --values FILE with the same `domain:` for the rendered hosts.
Exit codes: 0 ok, 1 failure, 2 usage error.
USAGE
}

# Env precedence as deploy.sh: VERIFIABLY_ENV_FILE, else ./.env, else ./.env.example (allexport).
load_env() {
  local f=""
  if [ -n "${VERIFIABLY_ENV_FILE:-}" ]; then f="$VERIFIABLY_ENV_FILE"
  elif [ -f ./.env ]; then f=./.env
  elif [ -f ./.env.example ]; then f=./.env.example
  fi
  if [ -n "$f" ]; then
    [ -f "$f" ] || usage_error "VERIFIABLY_ENV_FILE=$f does not exist"
    set -a
    # shellcheck disable=SC1090
    . "$f"
    set +a
  fi
}

install_hint() {
  case "$1" in
    terraform) echo "https://developer.hashicorp.com/terraform/install (or your package manager)" ;;
    helm) echo "https://helm.sh/docs/intro/install/" ;;
    kubectl) echo "https://kubernetes.io/docs/tasks/tools/" ;;
    kind) echo "go install sigs.k8s.io/kind@latest, or https://kind.sigs.k8s.io/docs/user/quick-start/#installation" ;;
    docker) echo "https://docs.docker.com/engine/install/" ;;
    k3sup) echo "curl -sLS https://get.k3sup.dev | sh" ;;
    aws) echo "https://aws.amazon.com/cli/" ;;
    cargo) echo "https://rustup.rs (builds the wd tools)" ;;
    *) echo "your package manager" ;;
  esac
}

# Names every missing tool with how to install it, then fails once.
require() {
  local missing=0 t
  for t in "$@"; do
    if ! command -v "$t" >/dev/null 2>&1; then
      red "k8s-deploy: missing prerequisite: $t — install: $(install_hint "$t")"
      missing=1
    fi
  done
  [ "$missing" = 0 ] || exit 1
}

# The wd tools: on PATH, else this checkout's release build (built when missing).
wd() {
  local t="$1"; shift
  if command -v "$t" >/dev/null 2>&1; then "$t" "$@"; return; fi
  if [ ! -x "$ROOT/target/release/$t" ]; then
    require cargo
    (cd "$ROOT" && cargo build --release --quiet --locked)
  fi
  "$ROOT/target/release/$t" "$@"
}

bootstrap_module() {
  case "$TARGET" in
    local) echo local-kind ;;
    onprem) echo onprem-k3s ;;
    aws) echo aws-eks ;;
  esac
}

env_file() { if [ "$TARGET" = local ]; then echo dev; else echo prod; fi; }
profile_values() { if [ "$TARGET" = local ]; then echo "$ROOT/charts/umbrella/waltid/values-local.yaml"; else echo "$ROOT/charts/umbrella/waltid/values-prod.yaml"; fi; }

tf() { terraform -chdir="$ROOT/terraform/$1" "${@:2}"; }

render() {
  local scenario="$1"
  step "Preparing config for scenario=$scenario target=$TARGET"
  local args=(--target "$TARGET" --out "$OUT" -q)
  [ -n "$VALUES" ] && args+=(--values "$VALUES")
  wd wd-inventory --scenario "$scenario" --check -q | wd wd-render "${args[@]}" >/dev/null
  green "  wrote $OUT/ (render plan: $OUT/render-plan.json, secret plan: $OUT/secrets/secret-plan.json)"
}

# A release left failed/pending-* by an interrupted run is rolled back (or uninstalled when it
# has no good revision), instead of failing every later run.
recover_release() {
  local kc="$1" st rev
  st=$(helm --kubeconfig "$kc" -n "$NAMESPACE" status "$RELEASE" -o json 2>/dev/null | sed -n 's/.*"status":"\([a-z-]*\)".*/\1/p' | head -n1) || true
  case "$st" in
    failed|pending-install|pending-upgrade|pending-rollback)
      rev=$(helm --kubeconfig "$kc" -n "$NAMESPACE" history "$RELEASE" -o json 2>/dev/null | grep -c '"status":"deployed"\|"status":"superseded"' || true)
      if [ "${rev:-0}" -gt 0 ]; then
        yellow "  release $RELEASE is $st: rolling back to its last good revision"
        helm --kubeconfig "$kc" -n "$NAMESPACE" rollback "$RELEASE" --wait
      else
        confirm "release $RELEASE is $st and has no good revision: uninstall it?" || die "release $RELEASE is $st; uninstall it or run again with --yes"
        helm --kubeconfig "$kc" -n "$NAMESPACE" uninstall "$RELEASE" --wait
      fi
      ;;
  esac
}

confirm() {
  [ "$YES" = 1 ] && return 0
  [ -t 0 ] || return 1
  local a
  read -r -p "$1 [y/N] " a
  [ "$a" = y ] || [ "$a" = Y ]
}

cmd_up() {
  local scenario="$1"
  if [ "$DRY_RUN" = 1 ]; then
    require helm
    render "$scenario"
    step "Rendering the umbrella chart (helm template) into $OUT/manifests.yaml"
    helm dependency build "$ROOT/charts/umbrella/waltid" >/dev/null
    helm template "$RELEASE" "$ROOT/charts/umbrella/waltid" -n "$NAMESPACE" -f "$OUT/helm/values-waltid.yaml" -f "$(profile_values)" > "$OUT/manifests.yaml"
    green "  wrote $OUT/manifests.yaml (dry run: no cluster command ran)"
    return
  fi
  local tools=(terraform helm kubectl)
  case "$TARGET" in
    local) tools+=(kind docker) ;;
    onprem) tools+=(k3sup) ;;
    aws) tools+=(aws) ;;
  esac
  require "${tools[@]}"
  render "$scenario"
  local mod kc lb pool envf
  mod=$(bootstrap_module); envf="../environments/$(env_file).tfvars"
  step "Cluster: terraform/bootstrap/$mod"
  tf "bootstrap/$mod" init -input=false >/dev/null
  tf "bootstrap/$mod" apply -input=false -auto-approve
  kc=$(tf "bootstrap/$mod" output -raw kubeconfig_path)
  lb=$(tf "bootstrap/$mod" output -raw lb_mode)
  pool=$(tf "bootstrap/$mod" output -raw metallb_address_pool)
  step "Platform: terraform/platform"
  tf platform init -input=false >/dev/null
  tf platform apply -input=false -auto-approve -var-file="$envf" -var "kubeconfig_path=$kc" -var "lb_mode=$lb" -var "metallb_address_pool=$pool"
  step "Secrets: Vault init/unseal, policies, seed, transit keys"
  secrets "$kc"
  step "Workloads: terraform/workloads"
  recover_release "$kc"
  tf workloads init -input=false >/dev/null
  tf workloads apply -input=false -auto-approve -var-file="$envf" -var "kubeconfig_path=$kc" \
    -var "values_file=$OUT/helm/values-waltid.yaml" -var "secret_plan_path=$OUT/secrets/secret-plan.json" \
    -var "extra_values_files=[\"$(profile_values)\"]" -var "chart_path=$ROOT/charts/umbrella/waltid"
  step "Waiting until everything is ready"
  wd wd-wait --kubeconfig "$kc" -n "$NAMESPACE" --release "$RELEASE" --timeout 15m -q < "$OUT/render-plan.json" >/dev/null
  step "URLs"
  wd wd-urls --kubeconfig "$kc" -n "$NAMESPACE" --format table
}

# Vault runs in the cluster: reach each pod through kubectl port-forward for the duration.
secrets() {
  local kc="$1" pids=() nodes=() i port
  local replicas
  replicas=$(kubectl --kubeconfig "$kc" -n vault get statefulset vault -o jsonpath='{.spec.replicas}')
  for ((i = 0; i < replicas; i++)); do
    port=$((18200 + i))
    kubectl --kubeconfig "$kc" -n vault port-forward "pod/vault-$i" "$port:8200" >/dev/null 2>&1 &
    pids+=($!)
    nodes+=(--node "http://127.0.0.1:$port")
  done
  # shellcheck disable=SC2064
  trap "kill ${pids[*]} 2>/dev/null || true" RETURN
  sleep 2
  wd wd-secrets init "${nodes[@]}" --leader-api-addr http://vault-0.vault-internal:8200 -q >/dev/null
  (
    # The root token reaches the tools through their environment only (never argv, never output).
    VAULT_ADDR=http://127.0.0.1:18200
    VAULT_TOKEN="$(sed -n 's/.*"root_token": *"\([^"]*\)".*/\1/p' "${XDG_CONFIG_HOME:-$HOME/.config}/wd/vault-init.json")"
    export VAULT_ADDR VAULT_TOKEN
    wd wd-secrets policies --plan "$OUT/secrets/secret-plan.json" --apply --enable-k8s-auth -q >/dev/null
    wd wd-secrets seed --plan "$OUT/secrets/secret-plan.json" -q >/dev/null
    wd wd-transit init -q >/dev/null
  )
  green "  Vault unsealed, policies applied, secrets seeded, transit keys ready"
}

cmd_config() {
  render "$1"
  green "  config files: $OUT/waltid/*/config, app: $OUT/app/, umbrella values: $OUT/helm/values-waltid.yaml"
}

cmd_run() {
  local scenario="$1" image
  [ -n "${VERIFIABLY_SRC:-}" ] || usage_error "run: set VERIFIABLY_SRC to the verifiably-go checkout"
  [ -d "$VERIFIABLY_SRC" ] || die "VERIFIABLY_SRC=$VERIFIABLY_SRC is not a directory"
  require docker kubectl
  if [ "$TARGET" = local ]; then
    require kind
    image="verifiably-go:local"
  else
    [ -n "${REGISTRY:-}" ] || usage_error "run: set REGISTRY (e.g. registry.example.org/team) to push the image to"
    image="$REGISTRY/verifiably-go:$(date +%Y%m%d%H%M%S)"
  fi
  step "Building $image from $VERIFIABLY_SRC (scenario=$scenario)"
  docker build -t "$image" "$VERIFIABLY_SRC"
  if [ "$TARGET" = local ]; then
    kind load docker-image "$image" --name "${WD_CLUSTER:-waltid}"
  else
    docker push "$image"
    kubectl -n "$NAMESPACE" set image "deployment/$RELEASE-verifiably-go" "verifiably-go=$image"
  fi
  kubectl -n "$NAMESPACE" rollout restart "deployment/$RELEASE-verifiably-go"
  printf '[{"kind":"Deployment","name":"%s-verifiably-go"}]' "$RELEASE" | wd wd-wait -n "$NAMESPACE" --timeout 5m -q >/dev/null
  green "  $RELEASE-verifiably-go rolled out with $image"
}

cmd_down() {
  require terraform
  step "Removing the workloads (platform and cluster stay)"
  tf workloads init -input=false >/dev/null
  tf workloads destroy -input=false -auto-approve -var-file="../environments/$(env_file).tfvars" \
    -var "values_file=$OUT/helm/values-waltid.yaml" -var "secret_plan_path=$OUT/secrets/secret-plan.json"
  green "  workloads removed"
}

cmd_reset() {
  require terraform
  confirm "Destroy the workloads, the platform and the $TARGET cluster?" || die "not confirmed (run with --yes to skip the question)"
  local mod
  mod=$(bootstrap_module)
  step "Destroying everything (target=$TARGET)"
  tf workloads destroy -input=false -auto-approve -var-file="../environments/$(env_file).tfvars" \
    -var "values_file=$OUT/helm/values-waltid.yaml" -var "secret_plan_path=$OUT/secrets/secret-plan.json"
  tf platform destroy -input=false -auto-approve -var-file="../environments/$(env_file).tfvars"
  tf "bootstrap/$mod" destroy -input=false -auto-approve
  green "  everything destroyed"
}

cmd_status() {
  require kubectl
  step "Pods, ingresses, certificates, ExternalSecrets ($NAMESPACE)"
  kubectl -n "$NAMESPACE" get pods,ingresses,certificates,externalsecrets -o wide
  step "Vault seal state"
  kubectl -n vault get pods -l app.kubernetes.io/name=vault -L vault-initialized,vault-sealed
}

cmd_logs() {
  local svc="$1" args=()
  require kubectl
  [ "$FOLLOW" = 1 ] && args+=(-f)
  case "$svc" in
    issuer|walt-issuer|issuer-api) svc=walt-issuer ;;
    verifier|walt-verifier|verifier-api) svc=walt-verifier ;;
    wallet|walt-wallet|wallet-api) svc=walt-wallet ;;
    app|verifiably-go) svc=verifiably-go ;;
    keycloak|wso2is|libretranslate) ;;
    *) usage_error "logs: unknown service $svc; use issuer, verifier, wallet, app, keycloak, wso2is or libretranslate" ;;
  esac
  kubectl -n "$NAMESPACE" logs "deployment/$RELEASE-$svc" --all-containers "${args[@]}"
}

main() {
  [ $# -gt 0 ] || { usage; exit 2; }
  local cmd="$1"; shift
  local pos=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --target=*) TARGET="${1#--target=}" ;;
      --target) [ $# -ge 2 ] || usage_error "--target needs a value"; TARGET="$2"; shift ;;
      --values=*) VALUES="${1#--values=}" ;;
      --values) [ $# -ge 2 ] || usage_error "--values needs a file"; VALUES="$2"; shift ;;
      --dry-run) DRY_RUN=1 ;;
      --yes|-y) YES=1 ;;
      -f|--follow) FOLLOW=1 ;;
      -*) usage_error "unknown option $1" ;;
      *) pos+=("$1") ;;
    esac
    shift
  done
  case "$TARGET" in local|onprem|aws) ;; *) usage_error "unknown target $TARGET; use local, onprem or aws" ;; esac
  if [ -n "$VALUES" ] && [ ! -f "$VALUES" ]; then usage_error "--values $VALUES does not exist"; fi
  load_env
  # after the env file, which may set them
  OUT="${WD_OUT:-$ROOT/out}"
  NAMESPACE="${WD_NAMESPACE:-waltid}"
  RELEASE="${WD_RELEASE:-waltid}"
  case "$cmd" in
    help|-h|--help) usage ;;
    up|config|run) [ ${#pos[@]} -ge 1 ] || usage_error "$cmd needs a scenario (e.g. waltid)"; "cmd_$cmd" "${pos[0]}" ;;
    down) cmd_down ;;
    reset) cmd_reset ;;
    status) cmd_status ;;
    logs) [ ${#pos[@]} -ge 1 ] || usage_error "logs needs a service"; cmd_logs "${pos[0]}" ;;
    *) usage_error "unknown command $cmd" ;;
  esac
}

main "$@"
