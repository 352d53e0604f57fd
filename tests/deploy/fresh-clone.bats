#!/usr/bin/env bats
# The whole path a user runs, from a fresh clone, in the order they run it: up, status, logs,
# run, down, reset, up again; local, onprem and aws. Cluster tools are fakes that refuse what
# the real ones refuse and answer from recorded state (tests/deploy/stubs/): terraform evaluates
# every module's var files, paths and templatefiles with the REAL terraform, helm renders with the
# REAL Helm engine and refuses missing chart dependencies, kubectl reaches only the cluster a
# bootstrap created. wd-inventory, wd-render and wd-verify are the real binaries.
# shellcheck disable=SC2030,SC2031  # each @test runs in its own subshell: exports stay local on purpose

bats_require_minimum_version 1.5.0

setup() {
  SRC="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
  ROOT="$BATS_TEST_TMPDIR/clone"
  # A fresh clone of the working tree: tracked and new files, nothing git ignores (no charts/*.tgz,
  # no out/, no target/, no .terraform/).
  mkdir -p "$ROOT"
  (cd "$SRC" && git ls-files -co --exclude-standard -z | xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$ROOT"
  BIN="$BATS_TEST_TMPDIR/bin"
  STUBS="$SRC/tests/deploy/stubs"
  PY="$SRC/.venv/bin/python"
  mkdir -p "$BIN"
  for t in terraform helm kubectl; do
    printf '#!/usr/bin/env bash\nexec %q %q "$@"\n' "$PY" "$STUBS/$t.py" > "$BIN/$t"
  done
  for t in kind docker; do
    printf '#!/usr/bin/env bash\nexec %q %q %q "$@"\n' "$PY" "$STUBS/kind_docker.py" "$t" > "$BIN/$t"
  done
  for t in wd-secrets wd-transit wd-wait wd-urls; do
    printf '#!/usr/bin/env bash\nexec %q %q %q "$@"\n' "$PY" "$STUBS/wdtools.py" "$t" > "$BIN/$t"
  done
  for t in k3sup aws; do
    printf '#!/usr/bin/env bash\necho "%s is run by terraform local-exec, never by k8s-deploy.sh" >&2; exit 1\n' "$t" > "$BIN/$t"
  done
  chmod +x "$BIN"/*
  for t in wd-inventory wd-render wd-verify; do ln -s "$SRC/target/debug/$t" "$BIN/$t"; done
  export WD_REAL_BIN="$SRC/target/debug" WD_REAL_TERRAFORM
  WD_REAL_TERRAFORM="$(command -v terraform)"
  export HOME="$BATS_TEST_TMPDIR/home" NO_COLOR=1
  unset XDG_CONFIG_HOME KUBECONFIG WD_OUT VERIFIABLY_ENV_FILE
  export WD_STUB_STATE="$BATS_TEST_TMPDIR/state/state.json"
  # What data sources would return (the only answers not computed by real terraform).
  export WD_STUB_OUTPUTS='{"local-kind":{"metallb_address_pool":"172.18.255.240-172.18.255.254"},"aws-eks":{"ebs_csi_role_arn":"arn:aws:iam::123456789012:role/waltid-ebs-csi"}}'
  mkdir -p "$HOME" "$BATS_TEST_TMPDIR/verifiably-go"
  echo 'FROM scratch' > "$BATS_TEST_TMPDIR/verifiably-go/Dockerfile"
  export VERIFIABLY_SRC="$BATS_TEST_TMPDIR/verifiably-go"
  export PATH="$BIN:/usr/bin:/bin"
  cd "$ROOT" || exit 1
}

calls() { "$PY" -c 'import json,sys; [print(" ".join(c)) for c in json.load(open(sys.argv[1]))["calls"]]' "$WD_STUB_STATE"; }

up_local() {
  run "$ROOT/k8s-deploy.sh" up waltid --target=local
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "fresh clone: up --target=local goes through every step and leaves a ready deployment" {
  up_local
  # the subcharts were packaged from the working tree (none existed in the clone)
  for c in walt-issuer walt-verifier walt-wallet verifiably-go keycloak wso2is libretranslate; do
    ls "$ROOT"/charts/umbrella/waltid/charts/"$c"-*.tgz
  done
  # the app image was built and loaded into the kind cluster before the workloads
  calls > "$BATS_TEST_TMPDIR/calls"
  built=$(grep -n -m1 "^docker build -t verifiably-go:local " "$BATS_TEST_TMPDIR/calls" | cut -d: -f1)
  boot=$(grep -n -m1 "^terraform -chdir=$ROOT/terraform/bootstrap/local-kind apply" "$BATS_TEST_TMPDIR/calls" | cut -d: -f1)
  loaded=$(grep -n -m1 "^kind load docker-image verifiably-go:local --name waltid" "$BATS_TEST_TMPDIR/calls" | cut -d: -f1)
  workloads=$(grep -n -m1 "^terraform -chdir=$ROOT/terraform/workloads apply" "$BATS_TEST_TMPDIR/calls" | cut -d: -f1)
  [ -n "$built" ] && [ -n "$boot" ] && [ -n "$loaded" ] && [ -n "$workloads" ]
  [ "$built" -lt "$boot" ] && [ "$boot" -lt "$loaded" ] && [ "$loaded" -lt "$workloads" ]
  # one port-forward per Vault replica on kernel-chosen ports, keys per target
  calls | grep -q "^kubectl --kubeconfig $HOME/.kube/wd-kind.yaml -n vault port-forward pod/vault-0 :8200"
  [ -f "$HOME/.config/wd/vault-init-local.json" ]
  # the cluster is remembered for the other subcommands
  grep -q "wd-kind.yaml" "$HOME/.config/wd/clusters/local.env"
  [ "$(cat "$HOME/.config/wd/last-target")" = local ]
  # platform and workloads state per target
  calls | grep -q "^terraform -chdir=$ROOT/terraform/platform workspace select -or-create=true local"
  calls | grep -q "^terraform -chdir=$ROOT/terraform/workloads workspace select -or-create=true local"
  # wd-verify ran on the rendered manifests before anything was applied, as they install: after
  # the platform, so the monitoring objects (and the scrapes wd-verify checks) are there
  [ -s "$ROOT/out/manifests.yaml" ]
  grep -q "^kind: ServiceMonitor" "$ROOT/out/manifests.yaml"
  # no port-forward outlives the run
  run ! pgrep -f "kubectl.py.*port-forward"
}

@test "fresh clone: up --target=local with TF_VAR_internal_ca=true serves https from the Vault CA every pod trusts" {
  export TF_VAR_internal_ca=true
  # wd-verify is the real binary: log its arguments on the way through
  rm "$BIN/wd-verify"
  printf '#!/usr/bin/env bash\nprintf "%%s\\n" "$*" >> %q\nexec %q "$@"\n' "$BATS_TEST_TMPDIR/wd-verify.args" "$SRC/target/debug/wd-verify" > "$BIN/wd-verify"
  chmod +x "$BIN/wd-verify"
  up_local
  [[ "$output" == *"internal CA: TLS on although target=local serves plain HTTP"* ]]
  pem="$ROOT/out/pki/internal-ca.pem"
  calls > "$BATS_TEST_TMPDIR/calls"
  # the order: platform apply, then Vault's PKI (writes the root), then the workloads apply
  platform=$(grep -n -m1 "^terraform -chdir=$ROOT/terraform/platform apply" "$BATS_TEST_TMPDIR/calls" | cut -d: -f1)
  pki=$(grep -n -m1 "^wd-secrets policies .* --pki --pki-domain localtest.me --pki-cluster-issuer vault-internal --pki-ca-out $pem " "$BATS_TEST_TMPDIR/calls" | cut -d: -f1)
  workloads=$(grep -n -m1 "^terraform -chdir=$ROOT/terraform/workloads apply .* -var internal_ca_pem_path=$pem -var vault_address=https://vault.vault.svc:8200\$" "$BATS_TEST_TMPDIR/calls" | cut -d: -f1)
  [ -n "$platform" ] && [ -n "$pki" ] && [ -n "$workloads" ]
  [ "$platform" -lt "$pki" ] && [ "$pki" -lt "$workloads" ]
  # the platform apply saw internal_ca = true (its options output names the ClusterIssuer), the
  # workloads apply made the ConfigMap from the PEM wd-secrets wrote
  "$PY" - "$WD_STUB_STATE" "$ROOT" "$pem" <<'PYEOF'
import json, sys
s, root, pem = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
opts = s["tf"][root + "/terraform/platform"]["states"]["local"]["outputs"]["options"]
assert opts["internal_ca"] == {"cluster_issuer": "vault-internal"}, opts
(c,) = s["clusters"].values()
text = open(pem).read()
assert text.startswith("-----BEGIN CERTIFICATE-----") and text == c["objects"]["vault"]["pki_root"] + "\n"
assert c["objects"]["configMaps"] == {"kubernetes_config_map_v1.internal_ca": {"ca.crt": text}}, c["objects"]["configMaps"]
PYEOF
  # wd-verify judged the https deployment with the two objects Terraform creates
  grep -q -- "--external ConfigMap/wd-internal-ca --external ClusterIssuer/vault-internal" "$BATS_TEST_TMPDIR/wd-verify.args"
  grep -q '^  tls: true' "$ROOT/out/helm/values-waltid.yaml"
  grep -q "cert-manager.io/cluster-issuer: \"\{0,1\}vault-internal" "$ROOT/out/manifests.yaml"
  run ! grep -q "cluster-issuer: \"\{0,1\}selfsigned-ca" "$ROOT/out/manifests.yaml"
  # what wd-verify judged mounts the CA in the same Deployments as what the workloads installed
  "$PY" - "$WD_STUB_STATE" "$ROOT/out/manifests.yaml" <<'PYEOF'
import json, sys, yaml
s = json.load(open(sys.argv[1]))
(c,) = s["clusters"].values()
installed = {n for n, d in c["objects"]["deployments"].items() if "wd-internal-ca" in d["configMaps"]}
judged = {d["metadata"]["name"] for d in yaml.safe_load_all(open(sys.argv[2])) if d and d["kind"] in ("Deployment", "StatefulSet")
          and "wd-internal-ca" in {v.get("configMap", {}).get("name") for v in d["spec"]["template"]["spec"].get("volumes", [])}}
assert installed and installed == judged, (installed, judged)
assert {"waltid-walt-issuer", "waltid-walt-wallet", "waltid-verifiably-go"} <= installed, installed
PYEOF
  # the shared Postgres serves a certificate from the same CA, and its clients verify it
  grep -q 'jdbcUrl = "jdbc:postgresql://waltid-pg-rw.waltid.svc:5432/waltid?sslmode=verify-full&sslrootcert=/etc/wd-internal-ca/ca.crt"' "$ROOT/out/waltid/wallet-api/config/db.conf"
  "$PY" - "$ROOT/out/manifests.yaml" <<'PYEOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
(cert,) = [d for d in docs if d["kind"] == "Certificate" and d["metadata"]["name"] == "waltid-pg-server"]
(cluster,) = [d for d in docs if d["kind"] == "Cluster"]
assert cert["spec"]["issuerRef"]["name"] == "vault-internal", cert
assert cluster["spec"]["certificates"] == {"serverTLSSecret": cert["spec"]["secretName"], "serverCASecret": cert["spec"]["secretName"]}
assert "waltid-pg-rw.waltid.svc" in cert["spec"]["dnsNames"]
kc = [e["value"] for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "waltid-keycloak"
      for e in d["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"] == "KC_DB_URL"]
assert kc == ["jdbc:postgresql://waltid-pg-rw.waltid.svc:5432/keycloak?sslmode=verify-full&sslrootcert=/etc/wd-internal-ca/ca.crt"], kc
PYEOF
  # down without the PEM (out/ wiped): the workloads go, the module is not asked for the file
  rm -r "$ROOT/out/pki"
  run "$ROOT/k8s-deploy.sh" down waltid
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  calls | grep "^terraform -chdir=$ROOT/terraform/workloads destroy" | grep -vq internal_ca_pem_path
}

@test "fresh clone: with the internal CA, Vault ends up serving https from it and every step after reaches it verified" {
  export TF_VAR_internal_ca=true
  up_local
  pem="$ROOT/out/pki/internal-ca.pem"
  calls > "$BATS_TEST_TMPDIR/calls"
  at() { grep -n -m1 -- "$1" "$BATS_TEST_TMPDIR/calls" | cut -d: -f1; }
  # Vault cannot sign its own certificate before its CA exists: plain platform, PKI, certificate
  # issued while Vault is plain, then https, Vault restarted and unsealed over https, workloads
  first=$(at "^terraform -chdir=$ROOT/terraform/platform apply .* -var vault_tls=off\$")
  pki=$(at "^wd-secrets policies .* --pki ")
  cert=$(at "^terraform -chdir=$ROOT/terraform/platform apply .* -var vault_tls=certificate\$")
  ready=$(at "^kubectl --kubeconfig .* -n vault wait --for=condition=Ready certificate/vault-server-tls")
  on=$(at "^terraform -chdir=$ROOT/terraform/platform apply .* -var vault_tls=on -var vault_ca_pem_path=$pem\$")
  restart=$(at "^kubectl --kubeconfig .* -n vault delete pod -l app.kubernetes.io/name=vault,component=server")
  unseal=$(at "^wd-secrets init --node https://127.0.0.1:[0-9]* --keys-file .* --leader-api-addr https://vault-0.vault-internal.vault.svc:8200")
  workloads=$(at "^terraform -chdir=$ROOT/terraform/workloads apply .* -var vault_address=https://vault.vault.svc:8200\$")
  for n in "$first" "$pki" "$cert" "$ready" "$on" "$restart" "$unseal" "$workloads"; do [ -n "$n" ] || { cat "$BATS_TEST_TMPDIR/calls"; false; }; done
  [ "$first" -lt "$pki" ] && [ "$pki" -lt "$cert" ] && [ "$cert" -lt "$ready" ] && [ "$ready" -lt "$on" ] && [ "$on" -lt "$restart" ] && [ "$restart" -lt "$unseal" ] && [ "$unseal" -lt "$workloads" ]
  # the issuer's Transit key reference names the https URL walt.id will call
  grep -q "^wd-transit token issuer .* --server https://vault.vault.svc:8200/v1/transit" "$BATS_TEST_TMPDIR/calls"
  "$PY" - "$WD_STUB_STATE" "$ROOT" "$pem" <<'PYEOF'
import base64, json, sys
s, root, pem = json.load(open(sys.argv[1])), sys.argv[2], open(sys.argv[3]).read()
(c,) = s["clusters"].values()
v = c["objects"]["vault"]
assert v["pods_tls"] == [True] and v["sealed"] == [False], v
assert "vault.vault.svc" in v["issued"]["names"] and "vault-0.vault-internal.vault.svc" in v["issued"]["names"], v["issued"]
m = c["objects"]["platform_manifests"]
issuer = m["ClusterIssuer//vault-internal"]["spec"]["vault"]
assert issuer["server"] == "https://vault.vault.svc:8200" and base64.b64decode(issuer["caBundle"]).decode() == pem, issuer
assert c["objects"]["platformConfigMaps"]["wd-vault-ca"] == {"ca.crt": pem}
assert s["tf"][root + "/terraform/platform"]["states"]["local"]["outputs"]["vault_address"] == "https://vault.vault.svc:8200"
PYEOF
  # a second up finds Vault on https (the platform's output) and keeps it: no restart, https from the start,
  # also with out/ wiped (the root comes from the cluster's ConfigMap)
  rm -r "$ROOT/out"
  up_local
  calls > "$BATS_TEST_TMPDIR/calls2"
  tail -n +"$(($(wc -l < "$BATS_TEST_TMPDIR/calls") + 1))" "$BATS_TEST_TMPDIR/calls2" > "$BATS_TEST_TMPDIR/second"
  grep -q "^terraform -chdir=$ROOT/terraform/platform apply .* -var vault_tls=on -var vault_ca_pem_path=$pem\$" "$BATS_TEST_TMPDIR/second"
  grep -q "^wd-secrets init --node https://127.0.0.1" "$BATS_TEST_TMPDIR/second"
  run ! grep -q "delete pod\|vault_tls=off\|vault_tls=certificate" "$BATS_TEST_TMPDIR/second"
  # the internal CA turned off: Vault goes back to plain HTTP (restarted, unsealed over http)
  export TF_VAR_internal_ca=false
  up_local
  calls > "$BATS_TEST_TMPDIR/calls3"
  tail -n +"$(($(wc -l < "$BATS_TEST_TMPDIR/calls2") + 1))" "$BATS_TEST_TMPDIR/calls3" > "$BATS_TEST_TMPDIR/third"
  grep -q "^terraform -chdir=$ROOT/terraform/platform apply .* -var vault_tls=off\$" "$BATS_TEST_TMPDIR/third"
  grep -q "delete pod -l app.kubernetes.io/name=vault,component=server" "$BATS_TEST_TMPDIR/third"
  grep -q "^wd-secrets init --node http://127.0.0.1" "$BATS_TEST_TMPDIR/third"
}

@test "an up stopped between Vault's https apply and its restart resumes: the next up restarts the pods still serving http" {
  export TF_VAR_internal_ca=true
  # kubectl fails once on the restart (the machine went away at that moment)
  mv "$BIN/kubectl" "$BIN/kubectl.real"
  # shellcheck disable=SC2016  # $5 $6 are the wrapper's own arguments, expanded when it runs
  printf '#!/usr/bin/env bash\nif [ "$5 $6" = "delete pod" ] && [ ! -e %q ]; then touch %q; echo "connection lost" >&2; exit 1; fi\nexec %q "$@"\n' \
    "$BATS_TEST_TMPDIR/failed-once" "$BATS_TEST_TMPDIR/failed-once" "$BIN/kubectl.real" > "$BIN/kubectl"
  chmod +x "$BIN/kubectl"
  run "$ROOT/k8s-deploy.sh" up waltid --target=local
  [ "$status" -eq 1 ] && [[ "$output" == *'step "vault restart" failed'* ]] || { echo "$output"; false; }
  up_local
  "$PY" - "$WD_STUB_STATE" <<'PYEOF'
import json, sys
(c,) = json.load(open(sys.argv[1]))["clusters"].values()
assert c["objects"]["vault"]["pods_tls"] == [True] and c["objects"]["vault"]["sealed"] == [False], c["objects"]["vault"]
PYEOF
}

@test "the Vault fakes refuse what a TLS Vault refuses: plain HTTP to it, an unknown root, a name not in its certificate" {
  export TF_VAR_internal_ca=true
  up_local
  kf="$HOME/.config/wd/vault-init-local.json"
  kubectl --kubeconfig "$HOME/.kube/wd-kind.yaml" -n vault port-forward pod/vault-0 :8200 > "$BATS_TEST_TMPDIR/pf.log" 2>&1 3>&- &
  pfpid=$!
  port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$BATS_TEST_TMPDIR/pf.log")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ]
  leader=(--leader-api-addr https://vault-0.vault-internal.vault.svc:8200)
  run -3 env VAULT_CACERT="$ROOT/out/pki/internal-ca.pem" VAULT_TLS_SERVER_NAME=vault.vault.svc wd-secrets init --node "http://127.0.0.1:$port" --keys-file "$kf" "${leader[@]}"
  [[ "$output" == *"HTTP request to an HTTPS server"* ]] || { echo "$output"; false; }
  echo "not the root" > "$BATS_TEST_TMPDIR/other.pem"
  run -3 env VAULT_CACERT="$BATS_TEST_TMPDIR/other.pem" VAULT_TLS_SERVER_NAME=vault.vault.svc wd-secrets init --node "https://127.0.0.1:$port" --keys-file "$kf" "${leader[@]}"
  [[ "$output" == *"unknown authority"* ]]
  run -3 env VAULT_CACERT="$ROOT/out/pki/internal-ca.pem" wd-secrets init --node "https://127.0.0.1:$port" --keys-file "$kf" "${leader[@]}"
  [[ "$output" == *"not 127.0.0.1"* ]]
  run -0 env VAULT_CACERT="$ROOT/out/pki/internal-ca.pem" VAULT_TLS_SERVER_NAME=vault.vault.svc wd-secrets init --node "https://127.0.0.1:$port" --keys-file "$kf" "${leader[@]}"
  kill "$pfpid"
}

@test "fresh clone: with every workloads option on, what wd-verify judged is what the workloads apply installed" {
  # issue 16's options that change the umbrella's values (terraform/workloads dynamic_db.tf,
  # mesh.tf, telemetry.tf): k8s-deploy.sh's template must layer them as Terraform does
  # (onprem: the prod profile autoscales the app and the wallet, so KEDA's ScaledObjects render)
  export TF_VAR_dynamic_db_credentials=true TF_VAR_istio_ambient=true TF_VAR_istio_mtls_strict=true TF_VAR_opentelemetry_enabled=true TF_VAR_keda_enabled=true
  # and the internal CA: Vault on https, the generators verify it against the CA's root
  export TF_VAR_internal_ca=true
  export TF_VAR_server_ip=192.0.2.10 TF_VAR_ssh_user=ops TF_VAR_metallb_address_pool=192.0.2.240-192.0.2.250
  export TF_VAR_cluster_issuer_email=ops@example.org
  run "$ROOT/k8s-deploy.sh" up waltid --target=onprem --domain example.org --app-image registry.example.org/team/verifiably-go:1.0.0
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  "$PY" - "$WD_STUB_STATE" "$ROOT/out/manifests.yaml" <<'PYEOF'
import json, sys, yaml
s = json.load(open(sys.argv[1]))
(c,) = s["clusters"].values()
installed = c["objects"]["umbrella"]
judged = {f'{d["kind"]}/{d["metadata"]["name"]}': d for d in yaml.safe_load_all(open(sys.argv[2])) if d}
# the options are in both: generators, the mesh's HBONE port, the collector egress, ScaledObjects
for kind in ("VaultDynamicSecret", "ScaledObject"):
    assert any(k.startswith(kind + "/") for k in installed), (kind, sorted(k for k in installed if not k.startswith("NetworkPolicy")))
assert "15008" in json.dumps(installed), "no HBONE port"
assert any(k.endswith("-to-otel-collector") for k in installed), "no collector egress"
assert "15008" in json.dumps(judged) and any(k.endswith("-to-otel-collector") for k in judged), "template without the options"
assert sorted(judged) == sorted(installed), (sorted(set(judged) ^ set(installed)))
diff = [k for k in judged if judged[k] != installed[k]]
assert not diff, diff
# Vault's database engine verifies Postgres against the root its pods mount
(pol,) = [c for c in s["calls"] if c[:2] == ["wd-secrets", "policies"] and "--apply" in c]
i = pol.index("--db-sslrootcert")
assert pol[i + 1] == "/vault/userconfig/wd-vault-ca/ca.crt" and pol[pol.index("--db-sslmode") + 1] == "verify-full", pol
gens = [d for k, d in installed.items() if k.startswith("VaultDynamicSecret/")]
assert gens and all(g["spec"]["provider"]["server"] == "https://vault.vault.svc:8200"
                    and g["spec"]["provider"]["caProvider"] == {"type": "ConfigMap", "name": "wd-internal-ca", "key": "ca.crt"} for g in gens), gens
PYEOF
}

@test "fresh clone: with WD_EXTERNAL_VAULT_ADDR the static secrets go to the outside Vault, which reset leaves alone" {
  # an outside Vault: a listener on a kernel-chosen port, known to the wd-secrets fake with its token
  "$PY" -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(16); print(s.getsockname()[1], flush=True); time.sleep(300)' > "$BATS_TEST_TMPDIR/ext.port" &
  ext_pid=$!
  for _ in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/ext.port" ] && break; sleep 0.1; done
  addr="https://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/ext.port")"  # the workloads module refuses http:// for it
  export WD_EXTERNAL_VAULT_ADDR="$addr" WD_EXTERNAL_VAULT_TOKEN=ext-token WD_STUB_EXTERNAL_VAULTS="{\"$addr\": \"ext-token\"}"
  up_local
  calls > "$BATS_TEST_TMPDIR/calls"
  # the cluster's Vault gets only its own secrets, the outside one the static ones, before the workloads
  grep -q "^wd-secrets seed --plan .* --store in-cluster" "$BATS_TEST_TMPDIR/calls"
  ext=$(grep -n -m1 "^wd-secrets seed --plan .* --store external" "$BATS_TEST_TMPDIR/calls" | cut -d: -f1)
  workloads=$(grep -n -m1 "^terraform -chdir=$ROOT/terraform/workloads apply .*external_vault={\"address\":\"$addr\"" "$BATS_TEST_TMPDIR/calls" | cut -d: -f1)
  [ -n "$ext" ] && [ -n "$workloads" ] && [ "$ext" -lt "$workloads" ]
  "$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); seeds=s["external_vaults"][sys.argv[2]]["seeds"]; assert len(seeds)==1 and "external" in seeds[0], seeds' "$WD_STUB_STATE" "$addr"
  # reset says the static secrets stay; the next up finds the outside Vault and seeds it again (a no-op there: never overwrites)
  run "$ROOT/k8s-deploy.sh" reset --yes --target=local
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [[ "$output" == *"the static ones stay in the external Vault at $addr"* ]]
  up_local
  # a wrong token for the outside Vault stops up at the secrets step, naming it
  export WD_EXTERNAL_VAULT_TOKEN=wrong
  run "$ROOT/k8s-deploy.sh" up waltid --target=local
  [ "$status" -ne 0 ]
  [[ "$output" == *"seeding the external Vault at $addr failed"* ]]
  kill "$ext_pid"
}

@test "a bad external Vault setting stops up before anything is created (exit 2), as the workloads module would after it" {
  export WD_EXTERNAL_VAULT_ADDR=http://vault.corp.example:8200 WD_EXTERNAL_VAULT_TOKEN=t
  run "$ROOT/k8s-deploy.sh" up waltid --target=local
  [ "$status" -eq 2 ]
  [[ "$output" == *"WD_EXTERNAL_VAULT_ADDR=http://vault.corp.example:8200: the external Vault must be an https:// address"* ]]
  run ! grep -q '"apply"' "$WD_STUB_STATE"
  # the same rule as the module's own validation, which real terraform enforces
  grep -q 'can(regex("^https://", var.external_vault.address))' "$ROOT/terraform/workloads/variables.tf"
  export WD_EXTERNAL_VAULT_ADDR=https://vault.corp.example:8200 WD_EXTERNAL_VAULT_TOKEN=
  run "$ROOT/k8s-deploy.sh" up waltid --target=local
  [ "$status" -eq 2 ] && [[ "$output" == *"WD_EXTERNAL_VAULT_TOKEN is empty"* ]]
  export WD_EXTERNAL_VAULT_TOKEN=t WD_EXTERNAL_VAULT_CACERT="$BATS_TEST_TMPDIR/missing.pem"
  run "$ROOT/k8s-deploy.sh" up waltid --target=local
  [ "$status" -eq 2 ] && [[ "$output" == *"WD_EXTERNAL_VAULT_CACERT=$BATS_TEST_TMPDIR/missing.pem does not exist"* ]]
  run ! grep -q '"apply"' "$WD_STUB_STATE"
}

@test "fresh clone: status, logs, run and down use the cluster up created, not ~/.kube/config" {
  up_local
  run "$ROOT/k8s-deploy.sh" status
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run "$ROOT/k8s-deploy.sh" logs wallet
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [[ "$output" == *"deployment/waltid-walt-wallet"* ]]
  # aliases come from the scenario (render.components.*.aliases), through wd-urls --component
  run "$ROOT/k8s-deploy.sh" logs issuer-api
  [ "$status" -eq 0 ] && [[ "$output" == *"deployment/waltid-walt-issuer"* ]]
  run "$ROOT/k8s-deploy.sh" run waltid
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  calls | grep -q "^kubectl --kubeconfig $HOME/.kube/wd-kind.yaml -n waltid rollout restart deployment/waltid-verifiably-go"
  # down --dry-run destroys nothing
  run "$ROOT/k8s-deploy.sh" down --dry-run
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run ! grep -q '"destroy"' "$WD_STUB_STATE"
  # down evaluates the same var files and paths as up (Terraform reads file() on destroy too)
  run "$ROOT/k8s-deploy.sh" down waltid
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  calls | grep -q "^terraform -chdir=$ROOT/terraform/workloads destroy"
}

@test "fresh clone: reset archives the Vault keys and a second up works on the new cluster" {
  up_local
  run "$ROOT/k8s-deploy.sh" reset --yes
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ ! -f "$HOME/.config/wd/vault-init-local.json" ]
  ls "$HOME"/.config/wd/archive/vault-init-local-*.json
  [ ! -f "$HOME/.kube/wd-kind.yaml" ]
  up_local
  [ -f "$HOME/.config/wd/vault-init-local.json" ]
}

@test "fresh clone: up --target=onprem renders and applies the prod path with a pushed image" {
  export TF_VAR_server_ip=192.0.2.10 TF_VAR_ssh_user=ops TF_VAR_metallb_address_pool=192.0.2.240-192.0.2.250
  export TF_VAR_cluster_issuer_email=ops@example.org
  run "$ROOT/k8s-deploy.sh" up waltid --target=onprem --domain example.org --app-image registry.example.org/team/verifiably-go:1.0.0
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  grep -q '^  domain: "\{0,1\}example.org' "$ROOT/out/helm/values-waltid.yaml"
  # one node: one Vault voter (3 would leave vault-1/2 Pending under the chart's anti-affinity)
  [ "$(calls | grep -c 'port-forward pod/vault-')" -eq 1 ]
  grep -q "wd-k3s.yaml" "$HOME/.config/wd/clusters/onprem.env"
  # three nodes: three voters
  export TF_VAR_agent_ips='["192.0.2.11","192.0.2.12"]'
  run "$ROOT/k8s-deploy.sh" reset --yes --target=onprem
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run "$ROOT/k8s-deploy.sh" up waltid --target=onprem --domain example.org --app-image registry.example.org/team/verifiably-go:1.0.0
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$(calls | grep -c 'port-forward pod/vault-')" -eq 4 ]
}

@test "fresh clone: up --target=aws builds and pushes the app image, EBS CSI gets its role" {
  export TF_VAR_cluster_issuer_email=ops@example.org REGISTRY=registry.example.org/team TF_VAR_public_access_cidrs='["198.51.100.0/24"]'
  run "$ROOT/k8s-deploy.sh" up waltid --target aws --domain example.org
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  calls | grep -q "^docker push registry.example.org/team/verifiably-go:"
  calls | grep -q "ebs_csi_role_arn=arn:aws:iam::123456789012:role/waltid-ebs-csi"
  grep -q "wd-eks.yaml" "$HOME/.config/wd/clusters/aws.env"
  # the local cluster's state was not touched: one platform workspace per target
  calls | grep -q "workspace select -or-create=true aws"
  # down acts on the EKS cluster's kubeconfig (not onprem's from a shared var file)
  run "$ROOT/k8s-deploy.sh" down
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  calls | grep "terraform/workloads destroy" | grep -q "kubeconfig_path=$HOME/.kube/wd-eks.yaml"
}

@test "a Vault pod that cannot run is named with the reason, and no port-forward is left behind" {
  export TF_VAR_cluster_issuer_email=ops@example.org TF_VAR_public_access_cidrs='["198.51.100.0/24"]'
  # EKS without the EBS CSI release (what the platform did before it installed one): no
  # StorageClass, Vault's PVC never binds.
  sed -i 's/count      = local.ebs_csi ? 1 : 0/count      = 0/' "$ROOT/terraform/platform/main.tf"
  run "$ROOT/k8s-deploy.sh" up waltid --target=aws --domain example.org --app-image r.example.org/app:1
  [ "$status" -eq 1 ]
  [[ "$output" == *"Vault pod vault-0 is not Running (Pending: 0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims)"* ]]
  [[ "$output" == *'step "secrets" failed'* ]]
  run ! pgrep -f "kubectl.py.*port-forward"
}

@test "up without an app image stops before anything is applied (exit 2)" {
  unset VERIFIABLY_SRC
  run "$ROOT/k8s-deploy.sh" up waltid --target=local
  [ "$status" -eq 2 ]
  [[ "$output" == *"VERIFIABLY_SRC"* ]]
  run ! grep -q terraform "$WD_STUB_STATE"
}

@test "prod targets without a domain or ACME contact stop before anything is applied" {
  run "$ROOT/k8s-deploy.sh" up waltid --target=onprem --app-image r.example.org/app:1
  [ "$status" -eq 2 ]
  [[ "$output" == *"--domain"* ]]
  run ! grep -q '"apply"' "$WD_STUB_STATE"
}

@test "a failing step names the step and how to resume; exit 1" {
  export TF_VAR_worker_nodes=9
  run "$ROOT/k8s-deploy.sh" up waltid --target=local
  [ "$status" -eq 1 ]
  [[ "$output" == *'step "bootstrap apply" failed'* ]]
  [[ "$output" == *"Between 0 and 5 workers"* ]]
  [[ "$output" == *"(it resumes)"* ]]
}

@test "a failed render stops up at the render step (the step runs where set -e does not apply)" {
  printf 'domain: [not, a, domain]\nimages: 1\n' > "$BATS_TEST_TMPDIR/bad.yaml"
  run "$ROOT/k8s-deploy.sh" up waltid --target=local --values "$BATS_TEST_TMPDIR/bad.yaml"
  [ "$status" -eq 1 ]
  [[ "$output" == *'step "render" failed'* ]]
  [ ! -e "$WD_STUB_STATE" ] || run ! grep -q '"terraform"' "$WD_STUB_STATE"
}

@test "TARGET= and VALUES= in .env do not override the command line; unknown scenarios are refused" {
  printf 'TARGET=aws\nVALUES=/nonexistent.yaml\n' > "$ROOT/.env"
  run "$ROOT/k8s-deploy.sh" config waltid --target=local
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [[ "$output" == *"target=local"* ]]
  run "$ROOT/k8s-deploy.sh" down foo
  [ "$status" -eq 2 ]
  [[ "$output" == *"unknown scenario foo"* ]]
  run "$ROOT/k8s-deploy.sh" run foo
  [ "$status" -eq 2 ]
}

@test "status without a recorded cluster says which up to run; reset still destroys the bootstrap" {
  run "$ROOT/k8s-deploy.sh" status --target=onprem
  [ "$status" -eq 1 ]
  [[ "$output" == *"no cluster recorded for target=onprem"* ]]
  run "$ROOT/k8s-deploy.sh" reset --yes --target=local
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [[ "$output" == *"destroying the bootstrap module only"* ]]
  calls | grep -q "terraform/bootstrap/local-kind destroy"
  run "$ROOT/k8s-deploy.sh" up waltid --app-image registry.example.org/app@sha256:0123456789abcdef0123456789abcdef
  [ "$status" -eq 2 ] && [[ "$output" == *"give repo:tag"* ]]
}

# Sets the recorded release of the local cluster (what an interrupted helm upgrade leaves).
set_release() {
  "$PY" - "$WD_STUB_STATE" "$1" "$2" <<'PYEOF'
import json, sys
p, status, hist = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
s = json.load(open(p))
for c in s["clusters"].values():
    c["releases"]["waltid"] = {"status": status, "revision": len(hist), "history": hist}
json.dump(s, open(p, "w"))
PYEOF
}

@test "up twice: the second run changes nothing destructive" {
  up_local
  up_local
  run ! grep -q '"destroy"\|"uninstall"\|"rollback"' "$WD_STUB_STATE"
}

@test "a failed release is rolled back before the workloads apply" {
  up_local
  set_release failed superseded,failed
  up_local
  rb=$(calls | grep -n " rollback waltid" | cut -d: -f1)
  wl=$(calls | grep -n "terraform/workloads apply" | tail -n1 | cut -d: -f1)
  [ -n "$rb" ] && [ "$rb" -lt "$wl" ]
}

@test "a pending-install release without a good revision: uninstall with --yes, refuse without" {
  up_local
  set_release pending-install pending-install
  run "$ROOT/k8s-deploy.sh" up waltid --target=local < /dev/null
  [ "$status" -eq 1 ]
  [[ "$output" == *"release waltid is pending-install; uninstall it or run again with --yes"* ]]
  run "$ROOT/k8s-deploy.sh" up waltid --target=local --yes
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  calls | grep -q "^helm --kubeconfig $HOME/.kube/wd-kind.yaml -n waltid uninstall waltid --wait"
}

@test "missing prerequisites are named with how to install them, before anything runs" {
  rm "$BIN/terraform" "$BIN/kind"
  run "$ROOT/k8s-deploy.sh" up waltid
  [ "$status" -eq 1 ]
  [[ "$output" == *"missing prerequisite: terraform — install: https://developer.hashicorp.com/terraform/install"* ]]
  [[ "$output" == *"missing prerequisite: kind — install:"* ]]
  [ ! -e "$WD_STUB_STATE" ]
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
  run "$ROOT/k8s-deploy.sh" up nosuch
  [ "$status" -eq 2 ] && [[ "$output" == *"unknown scenario nosuch (known: waltid)"* ]]
  run "$ROOT/k8s-deploy.sh" logs postgres
  [ "$status" -eq 2 ] && [[ "$output" == *"logs: unknown service postgres; use app, issuer, keycloak, libretranslate, verifier, wallet, wso2is or redis"* ]]
  run "$ROOT/k8s-deploy.sh"
  [ "$status" -eq 2 ]
  run "$ROOT/k8s-deploy.sh" help
  [ "$status" -eq 0 ] && [[ "$output" == *"Usage: k8s-deploy.sh"* ]]
}

@test "--dry-run renders, templates and verifies, and runs no cluster command" {
  run "$ROOT/k8s-deploy.sh" up waltid --dry-run
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ -s "$ROOT/out/manifests.yaml" ]
  calls > "$BATS_TEST_TMPDIR/calls"
  run ! grep -q "^terraform \|^kubectl \|^kind \|^docker \|^wd-secrets \|^wd-wait " "$BATS_TEST_TMPDIR/calls"
  calls | grep -q "^helm template waltid"
  # without a source for the app image, wd-verify stops the dry run: that `up` could not work
  unset VERIFIABLY_SRC
  run "$ROOT/k8s-deploy.sh" up waltid --dry-run
  [ "$status" -eq 1 ]
  [[ "$output" == *"verifiably-go:local"* ]] && [[ "$output" == *'step "verify" failed'* ]]
  run "$ROOT/k8s-deploy.sh" up waltid --dry-run --force
  [ "$status" -eq 0 ]
}

@test "reset asks unless --yes" {
  up_local
  run "$ROOT/k8s-deploy.sh" reset < /dev/null
  [ "$status" -eq 1 ] && [[ "$output" == *"not confirmed"* ]]
  run ! grep -q '"destroy"' "$WD_STUB_STATE"
  run "$ROOT/k8s-deploy.sh" reset --yes
  [ "$status" -eq 0 ]
  diff <(calls | grep -o "terraform/[a-z/-]* destroy") <(printf 'terraform/workloads destroy\nterraform/platform destroy\nterraform/bootstrap/local-kind destroy\n')
}

@test "the env file: VERIFIABLY_ENV_FILE, else ./.env, else ./.env.example" {
  VERIFIABLY_ENV_FILE=/nonexistent run "$ROOT/k8s-deploy.sh" config waltid
  [ "$status" -eq 2 ] && [[ "$output" == *"VERIFIABLY_ENV_FILE=/nonexistent does not exist"* ]]
  echo "VERIFIABLY_PUBLIC_HOST=from-example" > .env.example
  echo "WD_OUT=$BATS_TEST_TMPDIR/out-dotenv" > .env
  run "$ROOT/k8s-deploy.sh" config waltid
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  # ./.env wins over ./.env.example
  [ -f "$BATS_TEST_TMPDIR/out-dotenv/render-plan.json" ]
}
