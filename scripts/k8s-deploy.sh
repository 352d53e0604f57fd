#!/usr/bin/env bash
# k8s-deploy.sh: the walt.id scenario on Kubernetes, with deploy.sh's look and options.
# It only parses options, prints progress and pipes the wd tools and terraform/helm/kubectl;
# everything worth testing lives in the tools (tools/wd-*).
set -euo pipefail

# The checkout this script belongs to (also when called through the top-level symlink).
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
# Options live in lower-case names: the env file is sourced with allexport and must not be able
# to override a command-line option (a TARGET= or VALUES= line in .env is the user's, not ours).
opt_target=""
opt_values=""
opt_domain=""
opt_app_image=""
dry_run=0
assume_yes=0
follow=0
force=0
target=""

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

  up <scenario> [--target=local|onprem|aws] [--values FILE] [--domain D] [--app-image REF]
                [--dry-run] [--force]
                    audit + render, verify (wd-verify), then terraform bootstrap -> platform ->
                    secrets -> workloads, wait until ready, print the URLs.
                    --dry-run: render + helm template + wd-verify only, no cluster command.
                    --force: go on although wd-verify found errors.
  config <scenario> render only and say where the files went
  run <scenario>    rebuild the verifiably-go image from $VERIFIABLY_SRC, load it (kind) or push it
                    ($REGISTRY), roll the deployment and wait for it
  down [scenario]   remove the workloads (keep the platform and the cluster); --dry-run: plan only
  reset [--yes]     destroy everything (asks first unless --yes); archives the Vault keys
  status            pods, ingresses, certificates, ExternalSecrets and Vault seal state
  logs <service> [-f]
  help

Every command but `up` acts on the cluster the last `up` of its target created (--target, else
the last target used); the kubeconfig is remembered in ~/.config/wd/clusters/<target>.env.
The app image: VERIFIABLY_SRC (the verifiably-go checkout: built, then loaded into kind or pushed
to $REGISTRY), or --app-image REF / WD_APP_IMAGE (an image the cluster can pull).
Environment: VERIFIABLY_ENV_FILE (else ./.env, else ./.env.example), VERIFIABLY_SRC, REGISTRY,
WD_APP_IMAGE, WD_OUT (default out/), WD_NAMESPACE (waltid), WD_RELEASE (waltid), WD_KUBECONFIG.
For onprem/aws: --domain (your DNS domain), TF_VAR_cluster_issuer_email (ACME contact); onprem also
TF_VAR_server_ip, TF_VAR_ssh_user, TF_VAR_metallb_address_pool (bootstrap/onprem-k3s); aws also
TF_VAR_public_access_cidrs (who may reach the EKS API, bootstrap/aws-eks).
Options (docs/platform.md): TF_VAR_dynamic_db_credentials=true (Vault-issued DB credentials for the
wallet and Keycloak); WD_EXTERNAL_VAULT_ADDR (+ WD_EXTERNAL_VAULT_TOKEN, WD_EXTERNAL_VAULT_CACERT,
WD_EXTERNAL_VAULT_K8S_MOUNT): keep the static secrets in a Vault outside the cluster (survive reset).
TF_VAR_opentelemetry_enabled=true (OTel Collector + Tempo; the scenario sends traces/metrics to it),
TF_VAR_keda_enabled=true (KEDA; the app and the wallet scale by ScaledObjects where they autoscale).
TF_VAR_internal_ca=true (internal CA on Vault PKI, docs/runbooks/internal-ca.md): every public URL
is https with certificates from the platform's Vault-backed ClusterIssuer, also on local (which is
plain HTTP without it); up writes the CA's root to $WD_OUT/pki/internal-ca.pem and every pod trusts it.
TF_VAR_istio_ambient=true (Istio ambient mode; the namespace is enrolled, NetworkPolicies stay) and
TF_VAR_istio_mtls_strict=true (STRICT mTLS in the scenario's namespace). wd-verify judges the umbrella with the options
as the workloads apply installs it.
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
  case "$target" in
    local) echo local-kind ;;
    onprem) echo onprem-k3s ;;
    aws) echo aws-eks ;;
  esac
}

env_file() { if [ "$target" = local ]; then echo dev; else echo prod; fi; }
profile_values() { if [ "$target" = local ]; then echo "$ROOT/charts/umbrella/waltid/values-local.yaml"; else echo "$ROOT/charts/umbrella/waltid/values-prod.yaml"; fi; }
umbrella_dir() { echo "$ROOT/charts/umbrella/waltid"; }

tf() { terraform -chdir="$ROOT/terraform/$1" "${@:2}"; }

# One Terraform state per target for the shared modules (bootstrap modules are one per target
# already): kind and onprem must never share the platform/workloads state.
tf_workspace() { tf "$1" workspace select -or-create=true "$target" >/dev/null; }

# What `up` remembers per target, so that every later subcommand talks to the same cluster:
# ${XDG_CONFIG_HOME:-~/.config}/wd/clusters/<target>.env (KUBECONFIG=…, CLUSTER=…) and last-target.
state_dir() { echo "${XDG_CONFIG_HOME:-$HOME/.config}/wd"; }
cluster_file() { echo "$(state_dir)/clusters/$target.env"; }
keys_file() { echo "$(state_dir)/vault-init-$target.json"; }

remember_cluster() {
  mkdir -p "$(state_dir)/clusters"
  printf 'KUBECONFIG_PATH=%q\nCLUSTER=%q\n' "$1" "$2" > "$(cluster_file)"
  printf '%s\n' "$target" > "$(state_dir)/last-target"
}

# The kubeconfig of the target's cluster as `up` recorded it (WD_KUBECONFIG overrides).
# One field (KUBECONFIG_PATH or CLUSTER) of the target's record; dies naming the `up` to run.
recorded() {
  local f; f="$(cluster_file)"
  [ -f "$f" ] || die "no cluster recorded for target=$target: run ./k8s-deploy.sh up <scenario> --target=$target first (or set WD_KUBECONFIG)"
  local KUBECONFIG_PATH="" CLUSTER=""
  # shellcheck disable=SC1090
  . "$f"
  case "$1" in KUBECONFIG_PATH) echo "$KUBECONFIG_PATH" ;; CLUSTER) echo "$CLUSTER" ;; esac
}

cluster_kubeconfig() {
  if [ -n "${WD_KUBECONFIG:-}" ]; then echo "$WD_KUBECONFIG"; return; fi
  local kc; kc=$(recorded KUBECONFIG_PATH) || exit 1
  [ -f "$kc" ] || die "the kubeconfig of target=$target ($kc) is gone: run up --target=$target again"
  echo "$kc"
}

require_scenario() {
  [ -f "$ROOT/config/scenarios/$1.yaml" ] && return 0
  local known=() f
  for f in "$ROOT"/config/scenarios/*.yaml; do f="${f##*/}"; known+=("${f%.yaml}"); done
  usage_error "unknown scenario $1 (known: ${known[*]})"
}

# Runs one step of `up`; on failure says which step, why (the tool's own error is above) and
# that re-running resumes (every step is idempotent). Exit 1, as the usage promises.
# The step runs in a condition, where `set -e` is off: every step function returns on failure.
run_step() {
  local name="$1" rc=0; shift
  "$@" || rc=$?
  if [ "$rc" != 0 ]; then
    red "k8s-deploy: step \"$name\" failed (exit $rc): see the error above; fix it and re-run \`./k8s-deploy.sh up $SCENARIO --target=$target\` (it resumes)."
    red "  state of the cluster: ./k8s-deploy.sh status --target=$target"
    exit 1
  fi
}

render() {
  local scenario="$1"
  step "Preparing config for scenario=$scenario target=$target"
  local args=(--target "$target" --out "$OUT" -q)
  [ -n "$opt_values" ] && args+=(--values "$opt_values")
  [ -n "$opt_domain" ] && args+=(--set "domain=$opt_domain")
  if internal_ca_on; then
    local issuer; issuer=$(internal_ca_issuer) || return
    # The Ingresses and the shared Postgres get their certificates from it; Postgres's clients
    # verify theirs (sslmode=verify-full, config/values/default.yaml db.tls).
    args+=(--set tls=true --set "ingress.clusterIssuer=$issuer" --set "db.tls.clusterIssuer=$issuer")
    if grep -q '^tls: false' "$ROOT/config/values/target-$target.yaml"; then
      yellow "  internal CA: TLS on although target=$target serves plain HTTP without it (every pod trusts the CA); certificates from ClusterIssuer $issuer (Ingresses, Postgres)"
    else
      yellow "  internal CA: certificates from ClusterIssuer $issuer (Ingresses, Postgres)"
    fi
  fi
  if [ -n "$APP_IMAGE" ]; then
    args+=(--set-string "images.app.repository=$(image_repo "$APP_IMAGE")" --set-string "images.app.tag=$(image_tag "$APP_IMAGE")")
  fi
  # `|| return`: run_step calls this in a condition, where `set -e` does not apply.
  wd wd-inventory --scenario "$scenario" --check -q | wd wd-render "${args[@]}" >/dev/null || return
  green "  wrote $OUT/ (render plan: $OUT/render-plan.json, secret plan: $OUT/secrets/secret-plan.json)"
}

# repo[:tag] split at the last ':' after the last '/' (a registry port is not a tag).
image_repo() { local r="$1" last="${1##*/}"; case "$last" in *:*) echo "${r%:*}" ;; *) echo "$r" ;; esac; }
image_tag() { local last="${1##*/}"; case "$last" in *:*) echo "${last##*:}" ;; *) echo "" ;; esac; }

# The domain of the rendered public hosts (global.domain in the umbrella values wd-render wrote):
# the platform's CoreDNS rewrite and ACME issuer take it from here, so they cannot disagree.
rendered_domain() { sed -n 's/^  domain: "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$OUT/helm/values-waltid.yaml" | head -n1; }

# The app image must exist before the workloads step (the release waits for its pods; deploy.sh
# builds it in `up` too). Decided before anything is applied:
#   --app-image / WD_APP_IMAGE  an image the cluster can pull (onprem/aws) or already loaded (kind)
#   VERIFIABLY_SRC              built here; kind: loaded into the nodes; onprem/aws: pushed to $REGISTRY
resolve_app_image() {
  APP_IMAGE="${opt_app_image:-${WD_APP_IMAGE:-}}"
  APP_BUILD=0
  if [ -n "$APP_IMAGE" ]; then
    case "$APP_IMAGE" in *@*) usage_error "--app-image $APP_IMAGE: give repo:tag (the charts pin by tag; tag a digest first, e.g. docker tag … repo:e2e)" ;; esac
    [ -n "$(image_tag "$APP_IMAGE")" ] || usage_error "--app-image $APP_IMAGE has no tag; give repo:tag"
    return
  fi
  if [ -n "${VERIFIABLY_SRC:-}" ]; then
    [ -f "$VERIFIABLY_SRC/Dockerfile" ] || usage_error "VERIFIABLY_SRC=$VERIFIABLY_SRC has no Dockerfile (the verifiably-go checkout)"
    APP_BUILD=1
    if [ "$target" = local ]; then
      APP_IMAGE="verifiably-go:local"
    else
      [ -n "${REGISTRY:-}" ] || [ "${1:-}" = lenient ] || usage_error "target=$target: set REGISTRY (e.g. registry.example.org/team) to push the app image to, or pass --app-image REF"
      local rev
      rev=$(git -C "$VERIFIABLY_SRC" rev-parse --short HEAD 2>/dev/null) || rev=$(date +%Y%m%d%H%M%S)
      APP_IMAGE="$REGISTRY/verifiably-go:$rev"
    fi
    return
  fi
  [ "${1:-}" = lenient ] && return 0
  usage_error "the app image: set VERIFIABLY_SRC to the verifiably-go checkout (built and $( [ "$target" = local ] && echo "loaded into kind" || echo "pushed to \$REGISTRY")), or pass --app-image REF of an image the cluster can pull"
}

build_app_image() {
  [ "$APP_BUILD" = 1 ] || return 0
  step "Building $APP_IMAGE from $VERIFIABLY_SRC"
  docker build -t "$APP_IMAGE" "$VERIFIABLY_SRC" || return
  if [ "$target" != local ]; then docker push "$APP_IMAGE" || return; fi
}

load_app_image() {
  [ "$target" = local ] || return 0
  local cluster="$1"
  step "Loading $APP_IMAGE into kind cluster $cluster"
  kind load docker-image "$APP_IMAGE" --name "$cluster"
}

# The subcharts are file:// dependencies: package them from the working tree every time (a fresh
# clone has none; a stale .tgz would install an old subchart).
build_chart_deps() {
  local u; u="$(umbrella_dir)"
  rm -f "$u"/charts/*.tgz || return
  helm dependency build "$u" >/dev/null
}

# helm template of the umbrella as the workloads step installs it: the same values (terraform/
# workloads creates the ExternalSecrets itself from the secret plan, so it turns the umbrella's
# off; wd-verify reads the secret plan for them), on a cluster that serves prometheus-operator's
# CRDs (the platform installs kube-prometheus-stack first): ServiceMonitors and Probes render.
template_umbrella() {
  # With the internal CA the pods trust its root as terraform/workloads internal_ca.tf makes them
  # (internal_ca_values: the umbrella's global.internalCA and the walt.id charts' vaultCA).
  CA_SETS=()
  if internal_ca_on; then
    local cm; cm=$(internal_ca_configmap) || return
    CA_SETS=(--set "global.internalCA.configMap=$cm" --set "walt-issuer.vaultCA.configMap=$cm" --set "walt-wallet.vaultCA.configMap=$cm"
      --set "walt-wallet.transit.server=$(vault_url)/v1/transit")
  fi
  option_layers
  helm template "$RELEASE" "$(umbrella_dir)" -n "$NAMESPACE" -f "$OUT/helm/values-waltid.yaml" -f "$(profile_values)" \
    --set externalSecrets.enabled=false "${CA_SETS[@]}" "${OPT_SETS[@]}" --api-versions monitoring.coreos.com/v1 > "$OUT/manifests.yaml"
}

# The other options' layers as terraform/workloads adds them to the umbrella (dynamic_db.tf,
# mesh.tf, telemetry.tf), so wd-verify judges what the workloads apply installs; the fresh-clone
# suite checks that both give the same objects. Their CRDs' APIs as the platform serves them.
option_layers() {
  OPT_SETS=()
  if [ "${TF_VAR_dynamic_db_credentials:-false}" = true ]; then
    OPT_SETS+=(--set postgres.dynamicCredentials.enabled=true
      --set "postgres.dynamicCredentials.vault.server=$(vault_url)"
      --set "postgres.dynamicCredentials.vault.role=$RELEASE-db-credentials"
      --set "postgres.dynamicCredentials.vault.serviceAccount=$RELEASE-db-credentials"
      --set walt-wallet.database.usernameFromSecret=true --set keycloak.database.usernameFromSecret=true
      --api-versions external-secrets.io/v1beta1 --api-versions generators.external-secrets.io/v1alpha1)
  fi
  [ "${TF_VAR_istio_ambient:-false}" != true ] || OPT_SETS+=(--set global.mesh.ambient=true)
  [ "${TF_VAR_opentelemetry_enabled:-false}" != true ] || OPT_SETS+=(--set global.otel.enabled=true)
  if [ "${TF_VAR_keda_enabled:-false}" = true ]; then
    OPT_SETS+=(--set verifiably-go.autoscaling.keda.enabled=true --set walt-wallet.autoscaling.keda.enabled=true
      --api-versions keda.sh/v1alpha1)
  fi
}

# wd-verify: the deployment as a whole (call paths, references, images, pod security, capacity,
# rollout safety) before anything is applied; --force proceeds despite its errors.
verify_manifests() {
  # The platform creates the ClusterIssuers (terraform/platform) and, on every target, the CoreDNS
  # rewrite of the rendered domain to the ingress controller.
  local args=(--manifests "$OUT/manifests.yaml" --render-plan "$OUT/render-plan.json" --secret-plan "$OUT/secrets/secret-plan.json"
    -n "$NAMESPACE" --resolve-public "$(rendered_domain)" --external ClusterIssuer/selfsigned-ca --external ClusterIssuer/letsencrypt
    --nodes "$( [ "$target" = local ] && echo 1 || echo "${WD_NODES:-3}")" -q --format table)
  if [ "$APP_BUILD" = 1 ] || [ -n "$APP_IMAGE" ]; then args+=(--built-image "$APP_IMAGE"); fi
  # The internal CA's ConfigMap (terraform/workloads) and ClusterIssuer (terraform/platform).
  if internal_ca_on; then
    local cm issuer; cm=$(internal_ca_configmap) || return; issuer=$(internal_ca_issuer) || return
    args+=(--external "ConfigMap/$cm" --external "ClusterIssuer/$issuer")
  fi
  local rc=0
  wd wd-verify "${args[@]}" >&2 || rc=$?
  if [ "$rc" = 1 ]; then
    if [ "$force" = 1 ]; then yellow "  wd-verify found errors; going on because of --force"; return 0; fi
    red "k8s-deploy: wd-verify found errors in the rendered deployment (above); fix them, or run again with --force"
    return 1
  fi
  return "$rc"
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
  [ "$assume_yes" = 1 ] && return 0
  [ -t 0 ] || return 1
  local a
  read -r -p "$1 [y/N] " a
  [ "$a" = y ] || [ "$a" = Y ]
}

# Absolute paths for the workloads module (its var file's relative paths are for manual runs).
workloads_vars() {
  WL_VARS=(-var-file="../environments/$(env_file).tfvars" -var "kubeconfig_path=$1"
    -var "values_file=$OUT/helm/values-waltid.yaml" -var "secret_plan_path=$OUT/secrets/secret-plan.json"
    -var "extra_values_files=[\"$(profile_values)\"]" -var "chart_path=$(umbrella_dir)")
  # Option 6: the static secrets' store outside the cluster (terraform/workloads external_store.tf).
  if [ -n "${WD_EXTERNAL_VAULT_ADDR:-}" ]; then
    local ca=""
    [ -z "${WD_EXTERNAL_VAULT_CACERT:-}" ] || ca=$(awk '{printf "%s\\n", $0}' "$WD_EXTERNAL_VAULT_CACERT")
    WL_VARS+=(-var "external_vault={\"address\":\"$WD_EXTERNAL_VAULT_ADDR\",\"ca_pem\":\"$ca\",\"kubernetes_auth_mount\":\"${WD_EXTERNAL_VAULT_K8S_MOUNT:-kubernetes}\"}")
  fi
  # Option internal CA: the root wd-secrets wrote (terraform/workloads internal_ca_pem_path). `up`
  # ($2 = up) always passes it (the module refuses a missing file); down/reset only when it is
  # still there (destroy removes the ConfigMap from the state either way).
  if internal_ca_on && { [ "${2:-}" = up ] || [ -f "$(internal_ca_pem)" ]; }; then
    WL_VARS+=(-var "internal_ca_pem_path=$(internal_ca_pem)")
    # Vault on TLS: ESO, the generators and the wallet verify it against that root
    WL_VARS+=(-var "vault_address=$(vault_url)")
  fi
}

# wd-secrets flags of the options (docs/platform.md): which Vault holds what, dynamic DB credentials.
secret_flags() {
  SECRET_FLAGS=()
  [ -z "${WD_EXTERNAL_VAULT_ADDR:-}" ] || SECRET_FLAGS+=(--store in-cluster)
  [ "${TF_VAR_dynamic_db_credentials:-false}" != true ] || SECRET_FLAGS+=(--dynamic-db)
}

# Option internal CA (TF_VAR_internal_ca=true, docs/runbooks/internal-ca.md). Its names live in the
# Terraform that creates the objects: the ClusterIssuer in terraform/platform/pki.tf, the ConfigMap
# in terraform/workloads/internal_ca.tf (read from there, not restated here).
internal_ca_on() { [ "${TF_VAR_internal_ca:-false}" = true ]; }
tf_local() {
  local v; v=$(sed -n "s/^ *$2 *= *\"\([^\"]*\)\".*/\1/p" "$ROOT/terraform/$1" | head -n1)
  [ -n "$v" ] || { red "k8s-deploy: no local $2 in terraform/$1"; return 1; }
  echo "$v"
}
internal_ca_issuer() { tf_local platform/pki.tf internal_ca_issuer; }
internal_ca_configmap() { tf_local workloads/internal_ca.tf internal_ca_configmap; }
# Where wd-secrets writes the CA's root; absolute (terraform runs in the module's directory).
internal_ca_pem() { case "$OUT" in /*) echo "$OUT/pki/internal-ca.pem" ;; *) echo "$PWD/$OUT/pki/internal-ca.pem" ;; esac; }

# Vault's own listener (terraform/platform vault_tls, pki.tf; docs/runbooks/internal-ca.md "Vault's
# listener"): with the internal CA on, `up` ends with Vault serving https from that CA, and every
# client of it verifies the CA's root. Its Service address lives in pki.tf (local vault_service).
vault_service() { tf_local platform/pki.tf vault_service; }
vault_url() {
  local svc; svc=$(vault_service) || return
  if internal_ca_on; then echo "https://$svc"; else echo "http://$svc"; fi
}
# What the platform module last applied in this workspace (after init/workspace select): "on" when
# its output vault_address is https, else "off" (no state yet: off).
vault_tls_applied() {
  local a; a=$(tf platform output -raw vault_address 2>/dev/null) || a=""
  case "$a" in https://*) echo on ;; *) echo off ;; esac
}
# What Vault's existing pods serve, from each pod's own spec (the chart's VAULT_ADDR is https with
# TLS; pods keep the spec they were created with): on, off, mixed, or nothing when none exists yet.
vault_pods_tls() {
  local addrs a on=0 off=0
  addrs=$(kubectl --kubeconfig "$1" -n vault get pods -l app.kubernetes.io/name=vault,component=server \
    -o jsonpath='{.items[*].spec.containers[?(@.name=="vault")].env[?(@.name=="VAULT_ADDR")].value}') || return 1
  for a in $addrs; do case "$a" in https://*) on=1 ;; *) off=1 ;; esac; done
  if [ "$on" = 1 ] && [ "$off" = 1 ]; then echo mixed; elif [ "$on" = 1 ]; then echo on; elif [ "$off" = 1 ]; then echo off; fi
}
# The CA's root Vault's clients verify it with, from the cluster (ConfigMap of pki.tf, public):
# the record of what Vault serves, also when $OUT was cleaned since the last up.
fetch_vault_ca() {
  local kc="$1" cm pem; cm=$(tf_local platform/pki.tf vault_ca_configmap) || return
  pem=$(kubectl --kubeconfig "$kc" -n vault get configmap "$cm" -o jsonpath='{.data.ca\.crt}') || return
  case "$pem" in *"-----BEGIN CERTIFICATE-----"*) ;; *) red "k8s-deploy: ConfigMap vault/$cm holds no certificate: Vault serves https but its root is unknown"; return 1 ;; esac
  mkdir -p "$(dirname "$(internal_ca_pem)")" && printf '%s\n' "$pem" > "$(internal_ca_pem)"
}

# wd-secrets policies flags of the internal CA: Vault's PKI for the deployment's domain, the
# platform's issuer name (its Kubernetes-auth audience), the root written for the workloads.
pki_flags() {
  PKI_FLAGS=()
  internal_ca_on || return 0
  local issuer; issuer=$(internal_ca_issuer) || return
  PKI_FLAGS=(--pki --pki-domain "$(rendered_domain)" --pki-cluster-issuer "$issuer" --pki-ca-out "$(internal_ca_pem)")
  # Vault's database engine verifies Postgres's certificate (the CA's, db.tls) against the root
  # its pods mount once Vault is on TLS; it logs in only when ESO first asks, after that restart.
  if [ "${TF_VAR_dynamic_db_credentials:-false}" = true ]; then
    local cm; cm=$(tf_local platform/pki.tf vault_ca_configmap) || return
    # vault-helm mounts our volumes where values/vault.yaml says: /vault/userconfig/<ConfigMap>
    PKI_FLAGS+=(--db-sslmode verify-full --db-sslrootcert "/vault/userconfig/$cm/ca.crt")
  fi
}

# Option external store (WD_EXTERNAL_VAULT_*): refuse what would fail only after the cluster and
# the platform exist. The https:// rule is terraform/workloads/variables.tf's external_vault
# validation (enforced there at the workloads apply; tests/deploy/fresh-clone.bats runs both).
external_vault_preflight() {
  [ -n "${WD_EXTERNAL_VAULT_ADDR:-}" ] || return 0
  case "$WD_EXTERNAL_VAULT_ADDR" in
    https://?*) ;;
    *) usage_error "WD_EXTERNAL_VAULT_ADDR=$WD_EXTERNAL_VAULT_ADDR: the external Vault must be an https:// address (the secrets leave the cluster's network)" ;;
  esac
  [ -n "${WD_EXTERNAL_VAULT_TOKEN:-}" ] || usage_error "WD_EXTERNAL_VAULT_ADDR is set but WD_EXTERNAL_VAULT_TOKEN is empty: up seeds the static secrets into that Vault with it (docs/platform.md)"
  [ -z "${WD_EXTERNAL_VAULT_CACERT:-}" ] || [ -f "$WD_EXTERNAL_VAULT_CACERT" ] || usage_error "WD_EXTERNAL_VAULT_CACERT=$WD_EXTERNAL_VAULT_CACERT does not exist (the PEM of the CA that signed the external Vault's certificate)"
}

cmd_up() {
  local scenario="$1"
  SCENARIO="$scenario"
  require_scenario "$scenario"
  if [ "$dry_run" = 1 ]; then
    require helm
    # The same image decision as `up` (VERIFIABLY_SRC would be built): wd-verify then judges the
    # deployment `up` would apply; without any source it reports the image nobody builds.
    resolve_app_image lenient
    run_step render render "$scenario"
    step "Rendering the umbrella chart (helm template) into $OUT/manifests.yaml"
    run_step "chart dependencies" build_chart_deps
    run_step "helm template" template_umbrella
    step "Verifying the deployment as a whole (wd-verify)"
    run_step verify verify_manifests
    green "  wrote $OUT/manifests.yaml (dry run: no cluster command ran)"
    return
  fi
  local tools=(terraform helm kubectl)
  case "$target" in
    local) tools+=(kind docker) ;;
    onprem) tools+=(k3sup) ;;
    aws) tools+=(aws) ;;
  esac
  require "${tools[@]}"
  resolve_app_image
  [ "$APP_BUILD" = 0 ] || require docker
  run_step render render "$scenario"
  if [ "$target" != local ]; then
    # ACME certificates for real hosts: refuse before anything is created (the platform would
    # refuse later, after the cluster exists).
    case "$(rendered_domain)" in ""|localtest.me) usage_error "target=$target serves your own DNS domain: pass --domain example.org (or domain: in --values)" ;; esac
    [ -n "${TF_VAR_cluster_issuer_email:-}" ] || usage_error "target=$target: set TF_VAR_cluster_issuer_email (the ACME account's contact)"
  fi
  external_vault_preflight
  step "Verifying the deployment as a whole (wd-verify)"
  run_step "chart dependencies" build_chart_deps
  run_step "helm template" template_umbrella
  run_step verify verify_manifests
  run_step "app image" build_app_image
  local mod kc lb pool envf cluster nodes ctype ebs domain
  mod=$(bootstrap_module); envf="../environments/$(env_file).tfvars"
  step "Cluster: terraform/bootstrap/$mod"
  run_step "bootstrap init" tf "bootstrap/$mod" init -input=false >/dev/null
  run_step "bootstrap apply" tf "bootstrap/$mod" apply -input=false -auto-approve
  kc=$(tf "bootstrap/$mod" output -raw kubeconfig_path)
  lb=$(tf "bootstrap/$mod" output -raw lb_mode)
  pool=$(tf "bootstrap/$mod" output -raw metallb_address_pool)
  cluster=$(tf "bootstrap/$mod" output -raw cluster_name)
  nodes=$(tf "bootstrap/$mod" output -raw node_count)
  ctype=$(tf "bootstrap/$mod" output -raw cluster_type)
  ebs=$(tf "bootstrap/$mod" output -raw ebs_csi_role_arn)
  remember_cluster "$kc" "$cluster"
  green "  cluster $cluster ($ctype, $nodes node(s)); kubeconfig $kc"
  run_step "app image" load_app_image "$cluster"
  domain=$(rendered_domain)
  step "Platform: terraform/platform (workspace $target)"
  PLATFORM_VARS=(-var-file="$envf" -var "kubeconfig_path=$kc" -var "lb_mode=$lb" -var "metallb_address_pool=$pool"
    -var "cluster_type=$ctype" -var "node_count=$nodes" -var "ebs_csi_role_arn=$ebs" -var "domain=$domain")
  run_step "platform init" tf platform init -input=false >/dev/null
  run_step "platform workspace" tf_workspace platform
  # Vault's listener as the last up left it: kept on https while the internal CA is on.
  local keep_tls=off running
  if internal_ca_on && [ "$(vault_tls_applied)" = on ]; then
    keep_tls=on
    run_step "vault CA" fetch_vault_ca "$kc"
  fi
  run_step "platform apply" platform_apply "$keep_tls"
  VAULT_TLS=$keep_tls
  running=$(vault_pods_tls "$kc") || { red "k8s-deploy: step \"vault listener\" failed: kubectl could not list Vault's pods (above); re-run \`./k8s-deploy.sh up $SCENARIO --target=$target\` (it resumes)."; exit 1; }
  if [ -n "$running" ] && [ "$running" != "$keep_tls" ]; then
    # Pods that serve another listener than the one applied (the internal CA turned off, or an up
    # stopped between the https apply and the restart): Vault re-reads it only when it starts.
    run_step "vault restart" vault_restart "$kc"
  fi
  step "Secrets: Vault init/unseal, policies, seed, transit keys"
  run_step secrets secrets "$kc"
  if internal_ca_on && [ "$VAULT_TLS" = off ]; then
    # Vault cannot sign its own certificate before the CA exists (the step above): issued while it
    # still serves plain HTTP, then served (docs/runbooks/internal-ca.md "Vault's listener").
    step "Vault's listener on the internal CA: certificate, https, restart and unseal"
    run_step "vault certificate" platform_apply certificate
    run_step "vault certificate ready" vault_certificate_ready "$kc"
    run_step "vault https" platform_apply on
    VAULT_TLS=on
    run_step "vault restart" vault_restart "$kc"
    green "  Vault serves https from the internal CA ($(vault_url)); its clients verify $(internal_ca_pem)"
  fi
  step "Workloads: terraform/workloads (workspace $target)"
  run_step "release recovery" recover_release "$kc"
  run_step "workloads init" tf workloads init -input=false >/dev/null
  run_step "workloads workspace" tf_workspace workloads
  workloads_vars "$kc" up
  run_step "workloads apply" tf workloads apply -input=false -auto-approve "${WL_VARS[@]}"
  step "Waiting until everything is ready"
  run_step wait wd wd-wait --kubeconfig "$kc" -n "$NAMESPACE" --release "$RELEASE" --timeout 15m -q < "$OUT/render-plan.json" >/dev/null
  step "URLs"
  run_step urls wd wd-urls --kubeconfig "$kc" -n "$NAMESPACE" --format table
}

# Port-forwards to the Vault pods, killed on every exit (an EXIT trap: a RETURN trap does not
# fire when `set -e` ends the script).
PF_PIDS=()
# Vault's listener as the tools reach it (on: https, vault_tls_env), and its pods' --node flags.
VAULT_TLS=off
NODES=()
stop_forwards() {
  local p
  for p in "${PF_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  PF_PIDS=()
}
trap stop_forwards EXIT

# kubectl port-forward to pod/$1 on a port the kernel picks (never a busy one); sets FWD_PORT
# once kubectl says it is forwarding, or fails with kubectl's own words.
start_forward() {
  local kc="$1" pod="$2" log pid i
  log="$(mktemp "${TMPDIR:-/tmp}/wd-pf-$pod.XXXXXX")"
  kubectl --kubeconfig "$kc" -n vault port-forward "pod/$pod" :8200 >"$log" 2>&1 &
  pid=$!
  PF_PIDS+=("$pid")
  FWD_PORT=""
  for ((i = 0; i < 150; i++)); do
    FWD_PORT=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9][0-9]*\) .*/\1/p' "$log" | head -n1)
    [ -n "$FWD_PORT" ] && { rm -f "$log"; return 0; }
    if ! kill -0 "$pid" 2>/dev/null; then
      red "k8s-deploy: port-forward to vault/$pod failed: $(tail -n 3 "$log" | tr '\n' ' ')"
      rm -f "$log"; return 1
    fi
    sleep 0.2
  done
  red "k8s-deploy: port-forward to vault/$pod did not start within 30 s: $(tail -n 3 "$log" | tr '\n' ' ')"
  rm -f "$log"; return 1
}

# terraform/platform applied with vault_tls = $1 (off, certificate, on: pki.tf) and the cluster's
# variables of this up (PLATFORM_VARS).
platform_apply() {
  local tls=(-var "vault_tls=$1")
  [ "$1" != on ] || tls+=(-var "vault_ca_pem_path=$(internal_ca_pem)")
  tf platform apply -input=false -auto-approve "${PLATFORM_VARS[@]}" "${tls[@]}"
}

# The tools' TLS settings for Vault's listener (VAULT_TLS=on): its root, and a name of its
# certificate (the port-forward's address is 127.0.0.1). Called in the subshell of a tool run.
vault_tls_env() {
  unset VAULT_CACERT VAULT_TLS_SERVER_NAME
  [ "$VAULT_TLS" = on ] || return 0
  local svc; svc=$(vault_service) || return
  VAULT_CACERT="$(internal_ca_pem)" VAULT_TLS_SERVER_NAME="${svc%:*}"
  export VAULT_CACERT VAULT_TLS_SERVER_NAME
}

# Waits until pod vault/$2 runs; a pod the StatefulSet has not recreated yet (after a delete) is
# waited for too (bounded: 60 x 2 s).
wait_vault_pod() {
  local kc="$1" pod="$2" i phase
  for ((i = 0; i < 60; i++)); do
    kubectl --kubeconfig "$kc" -n vault get pod "$pod" -o name >/dev/null 2>&1 && break
    sleep 2
  done
  if ! kubectl --kubeconfig "$kc" -n vault wait --for=jsonpath='{.status.phase}'=Running "pod/$pod" --timeout=300s >/dev/null; then
    phase=$(kubectl --kubeconfig "$kc" -n vault get pod "$pod" -o jsonpath='{.status.phase}: {.status.conditions[?(@.type=="PodScheduled")].message}' 2>/dev/null || echo "not found")
    red "k8s-deploy: Vault pod $pod is not Running ($phase): a Pending pod usually means no StorageClass/PVC or too few nodes for the anti-affinity"
    return 1
  fi
}

# Vault runs in the cluster: wait for its pods to run, reach each through a port-forward (NODES),
# initialise a new Vault or unseal it with the keys of its init. The leader as the other nodes
# reach it: its headless-Service name (over https: a name of its certificate, values/vault.yaml).
vault_unseal() {
  local kc="$1" i replicas scheme=http leader=http://vault-0.vault-internal:8200
  if [ "$VAULT_TLS" = on ]; then scheme=https leader=https://vault-0.vault-internal.vault.svc:8200; fi
  NODES=()
  replicas=$(kubectl --kubeconfig "$kc" -n vault get statefulset vault -o jsonpath='{.spec.replicas}') || return 1
  for ((i = 0; i < replicas; i++)); do
    wait_vault_pod "$kc" "vault-$i" || return 1
    start_forward "$kc" "vault-$i" || return 1
    NODES+=(--node "$scheme://127.0.0.1:$FWD_PORT")
  done
  (
    vault_tls_env || exit 1
    wd wd-secrets init "${NODES[@]}" --keys-file "$(keys_file)" --leader-api-addr "$leader" -q >/dev/null
  )
}

# Vault re-reads its listener's configuration only when it starts, and vault-helm updates its
# pods only when they are deleted (updateStrategy OnDelete): they are deleted, come back sealed,
# and are unsealed with the keys of init.
vault_restart() {
  local kc="$1"
  kubectl --kubeconfig "$kc" -n vault delete pod -l app.kubernetes.io/name=vault,component=server --wait=true >/dev/null || return 1
  vault_unseal "$kc" || return 1
  stop_forwards
}

# cert-manager issues Vault's certificate from the internal CA (pki.tf); the phase's apply updates
# the ClusterIssuer (an annotation), which cert-manager checks again at once.
vault_certificate_ready() {
  local kc="$1" name; name=$(tf_local platform/pki.tf vault_tls_secret) || return
  kubectl --kubeconfig "$kc" -n vault wait --for=condition=Ready "certificate/$name" --timeout=600s >/dev/null && return 0
  red "k8s-deploy: certificate vault/$name is not Ready after 10 min: kubectl -n vault describe certificate $name; is ClusterIssuer $(internal_ca_issuer) Ready (kubectl describe clusterissuer)?"
  return 1
}

secrets() {
  local kc="$1" kf transit_url
  vault_unseal "$kc" || return 1
  kf="$(keys_file)"
  # The Transit URL walt.id calls from inside the cluster: the platform's Vault Service, https
  # with the internal CA (this up ends with Vault on it).
  transit_url="$(vault_url)/v1/transit" || return 1
  (
    vault_tls_env || exit 1
    # The root token reaches the tools through their environment only (never argv, never output).
    VAULT_ADDR="${NODES[1]}"
    VAULT_TOKEN="$(sed -n 's/.*"root_token": *"\([^"]*\)".*/\1/p' "$kf")"
    export VAULT_ADDR VAULT_TOKEN
    # chained: this subshell runs inside run_step's condition, where `set -e` does not apply.
    # The issuer's Transit key and its limited token come before the seed: the token's key
    # reference is a planned secret nothing else writes (issued, or renewed when live; its
    # value stays in Vault; docs/runbooks/signing-keys.md).
    secret_flags
    # the internal CA (its root is written for the workloads step)
    pki_flags || exit 1
    wd wd-secrets policies --plan "$OUT/secrets/secret-plan.json" --apply --enable-k8s-auth "${SECRET_FLAGS[@]}" "${PKI_FLAGS[@]}" -q >/dev/null &&
      wd wd-transit init -q >/dev/null &&
      wd wd-transit token issuer --plan "$OUT/secrets/secret-plan.json" --server "$transit_url" -q >/dev/null &&
      wd wd-secrets seed --plan "$OUT/secrets/secret-plan.json" "${SECRET_FLAGS[@]}" -q >/dev/null
  ) || return 1
  if [ -n "${WD_EXTERNAL_VAULT_ADDR:-}" ]; then
    # The static secrets: seeded once into the external store, kept (never overwritten) after.
    (
      unset VAULT_TLS_SERVER_NAME
      VAULT_ADDR="$WD_EXTERNAL_VAULT_ADDR" VAULT_TOKEN="${WD_EXTERNAL_VAULT_TOKEN:-}" VAULT_CACERT="${WD_EXTERNAL_VAULT_CACERT:-}"
      export VAULT_ADDR VAULT_TOKEN VAULT_CACERT
      dyn=()
      [ "${TF_VAR_dynamic_db_credentials:-false}" != true ] || dyn=(--dynamic-db)
      wd wd-secrets seed --plan "$OUT/secrets/secret-plan.json" --store external "${dyn[@]}" -q >/dev/null
    ) || { red "k8s-deploy: seeding the external Vault at $WD_EXTERNAL_VAULT_ADDR failed (WD_EXTERNAL_VAULT_TOKEN/CACERT?)"; return 1; }
  fi
  stop_forwards
  green "  Vault unsealed, policies applied, transit keys and the issuer's signing token ready, secrets seeded (keys: $kf)"
  if internal_ca_on; then green "  internal CA on Vault PKI ready; its root: $(internal_ca_pem)"; fi
}

cmd_config() {
  require_scenario "$1"
  APP_IMAGE="${opt_app_image:-${WD_APP_IMAGE:-}}"
  render "$1"
  green "  config files: $OUT/waltid/*/config, app: $OUT/app/, umbrella values: $OUT/helm/values-waltid.yaml"
}

cmd_run() {
  local scenario="$1" kc
  require_scenario "$scenario"
  [ -n "${VERIFIABLY_SRC:-}" ] || usage_error "run: set VERIFIABLY_SRC to the verifiably-go checkout"
  [ -d "$VERIFIABLY_SRC" ] || die "VERIFIABLY_SRC=$VERIFIABLY_SRC is not a directory"
  require docker kubectl
  [ "$target" = local ] && require kind
  kc=$(cluster_kubeconfig)
  # `run` always rebuilds from VERIFIABLY_SRC: the image decision of `up` without --app-image.
  opt_app_image="" WD_APP_IMAGE="" resolve_app_image
  build_app_image
  if [ "$target" = local ]; then
    local cluster; cluster=$(recorded CLUSTER) || exit 1
    load_app_image "$cluster"
  else
    kubectl --kubeconfig "$kc" -n "$NAMESPACE" set image "deployment/$RELEASE-verifiably-go" "verifiably-go=$APP_IMAGE"
  fi
  kubectl --kubeconfig "$kc" -n "$NAMESPACE" rollout restart "deployment/$RELEASE-verifiably-go"
  printf '[{"kind":"Deployment","name":"%s-verifiably-go"}]' "$RELEASE" | wd wd-wait --kubeconfig "$kc" -n "$NAMESPACE" --timeout 5m -q >/dev/null
  green "  $RELEASE-verifiably-go rolled out with $APP_IMAGE"
}

cmd_down() {
  require terraform
  local kc; kc=$(cluster_kubeconfig)
  workloads_vars "$kc"
  if [ "$dry_run" = 1 ]; then
    step "Would remove the workloads of target=$target (dry run: terraform plan -destroy, nothing changes)"
    tf workloads init -input=false >/dev/null
    tf_workspace workloads
    tf workloads plan -destroy -input=false "${WL_VARS[@]}"
    return
  fi
  step "Removing the workloads of target=$target (platform and cluster stay)"
  tf workloads init -input=false >/dev/null
  tf_workspace workloads
  tf workloads destroy -input=false -auto-approve "${WL_VARS[@]}"
  green "  workloads removed"
}

cmd_reset() {
  require terraform
  local mod kc="" envf
  mod=$(bootstrap_module); envf="../environments/$(env_file).tfvars"
  if [ -n "${WD_KUBECONFIG:-}" ] || [ -f "$(cluster_file)" ]; then kc=$(cluster_kubeconfig); fi
  # Which secrets survive (wd-secrets plan --store external lists each secret's home).
  if [ -n "${WD_EXTERNAL_VAULT_ADDR:-}" ]; then
    yellow "  secrets: the static ones stay in the external Vault at $WD_EXTERNAL_VAULT_ADDR and the next up finds them as they were; the cluster Vault's own (Transit keys and tokens, the database admin password, dynamic DB credentials) go with the cluster and up issues new ones"
  else
    yellow "  secrets: all of them are in the cluster's Vault and go with it; the next up generates new ones (to keep the static ones across resets set WD_EXTERNAL_VAULT_ADDR: docs/platform.md)"
  fi
  if [ "$dry_run" = 1 ]; then
    step "Would destroy the workloads, the platform and the $target cluster (dry run: nothing changes)"
    return
  fi
  confirm "Destroy the workloads, the platform and the $target cluster?" || die "not confirmed (run with --yes to skip the question)"
  step "Destroying everything (target=$target)"
  if [ -n "$kc" ]; then
    workloads_vars "$kc"
    tf workloads init -input=false >/dev/null
    tf_workspace workloads
    tf workloads destroy -input=false -auto-approve "${WL_VARS[@]}"
    tf platform init -input=false >/dev/null
    tf_workspace platform
    tf platform destroy -input=false -auto-approve -var-file="$envf" -var "kubeconfig_path=$kc"
  else
    # An `up` that failed before the cluster was recorded (or a lost record): the cluster itself
    # goes with the bootstrap module, and with it everything in it.
    yellow "  no cluster recorded for target=$target: destroying the bootstrap module only"
  fi
  tf "bootstrap/$mod" init -input=false >/dev/null
  tf "bootstrap/$mod" destroy -input=false -auto-approve
  # The old cluster's unseal keys are archived, never deleted silently: the next `up` creates a
  # new Vault that needs new keys.
  local kf; kf="$(keys_file)"
  if [ -f "$kf" ]; then
    mkdir -p "$(state_dir)/archive"
    mv "$kf" "$(state_dir)/archive/$(basename "$kf" .json)-$(date +%Y%m%dT%H%M%S).json"
    yellow "  Vault keys of the destroyed cluster archived in $(state_dir)/archive/"
  fi
  rm -f "$(cluster_file)"
  green "  everything destroyed"
}

cmd_status() {
  require kubectl
  local kc; kc=$(cluster_kubeconfig)
  step "Pods, ingresses, certificates, ExternalSecrets ($NAMESPACE, target=$target)"
  kubectl --kubeconfig "$kc" -n "$NAMESPACE" get pods,ingresses,certificates,externalsecrets -o wide
  step "Vault seal state"
  kubectl --kubeconfig "$kc" -n vault get pods -l app.kubernetes.io/name=vault -L vault-initialized,vault-sealed
}

cmd_logs() {
  local svc="$1" args=() kc chart
  require kubectl
  [ "$follow" = 1 ] && args+=(-f)
  # Names and aliases of a component live in the scenario (render.components); wd-urls answers
  # with the chart, or fails with "unknown component X; use <the known names>".
  if ! chart=$(wd wd-urls --config-dir "$ROOT/config" --component "$svc" 2>&1); then
    usage_error "logs: unknown service $svc; ${chart#*; }"
  fi
  kc=$(cluster_kubeconfig)
  kubectl --kubeconfig "$kc" -n "$NAMESPACE" logs "deployment/$RELEASE-$chart" --all-containers "${args[@]}"
}

main() {
  [ $# -gt 0 ] || { usage; exit 2; }
  local cmd="$1"; shift
  local pos=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --target=*) opt_target="${1#--target=}" ;;
      --target) [ $# -ge 2 ] || usage_error "--target needs a value"; opt_target="$2"; shift ;;
      --values=*) opt_values="${1#--values=}" ;;
      --values) [ $# -ge 2 ] || usage_error "--values needs a file"; opt_values="$2"; shift ;;
      --domain=*) opt_domain="${1#--domain=}" ;;
      --domain) [ $# -ge 2 ] || usage_error "--domain needs a value"; opt_domain="$2"; shift ;;
      --app-image=*) opt_app_image="${1#--app-image=}" ;;
      --app-image) [ $# -ge 2 ] || usage_error "--app-image needs an image reference"; opt_app_image="$2"; shift ;;
      --dry-run) dry_run=1 ;;
      --force) force=1 ;;
      --yes|-y) assume_yes=1 ;;
      -f|--follow) follow=1 ;;
      -*) usage_error "unknown option $1" ;;
      *) pos+=("$1") ;;
    esac
    shift
  done
  case "$opt_target" in ""|local|onprem|aws) ;; *) usage_error "unknown target $opt_target; use local, onprem or aws" ;; esac
  if [ -n "$opt_values" ] && [ ! -f "$opt_values" ]; then usage_error "--values $opt_values does not exist"; fi
  load_env
  # The target: the option; else, for commands that act on an existing cluster, the one the last
  # `up` used; else local.
  target="$opt_target"
  if [ -z "$target" ] && [ "$cmd" != up ] && [ -f "$(state_dir)/last-target" ]; then target="$(cat "$(state_dir)/last-target")"; fi
  target="${target:-local}"
  # after the env file, which may set them
  OUT="${WD_OUT:-$ROOT/out}"
  NAMESPACE="${WD_NAMESPACE:-waltid}"
  RELEASE="${WD_RELEASE:-waltid}"
  SCENARIO="waltid"
  case "$cmd" in
    help|-h|--help) usage ;;
    up|config|run) [ ${#pos[@]} -ge 1 ] || usage_error "$cmd needs a scenario (e.g. waltid)"; "cmd_$cmd" "${pos[0]}" ;;
    down) [ ${#pos[@]} -eq 0 ] || require_scenario "${pos[0]}"; cmd_down ;;
    reset) cmd_reset ;;
    status) cmd_status ;;
    logs) [ ${#pos[@]} -ge 1 ] || usage_error "logs needs a service"; cmd_logs "${pos[0]}" ;;
    *) usage_error "unknown command $cmd" ;;
  esac
}

main "$@"
