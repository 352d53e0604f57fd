"""Issue 16 option 6, the external secret store, as terraform/workloads builds it (evaluated by
the real terraform through the provider-free shadow module of tests/deploy/stubs): the static
secrets' ClusterSecretStore points at the Vault outside the cluster (address, CA, Kubernetes
auth mount), a second store serves what the cluster's Vault issues, each ExternalSecret reads
the store `wd-secrets plan --store external` names as its home; with dynamic DB credentials on
too, their ExternalSecrets are the umbrella's generators and the release gets the option layer."""

import base64
import functools
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

import yaml

from test_charts import BIN, ROOT, UMBRELLA, render_chart, build_dependencies, load_docs

sys.path.insert(0, str(ROOT / "tests/deploy/stubs"))
import terraform as tfake  # noqa: E402

CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
EXTERNAL = {"address": "https://vault.corp.internal:8200", "ca_pem": CA, "kubernetes_auth_mount": "kubernetes-waltid-local", "role": "waltid-eso"}


@functools.lru_cache(maxsize=None)
def rendered():
    d = pathlib.Path(tempfile.mkdtemp(prefix="wd-extstore-"))
    inv = subprocess.run([str(BIN / "wd-inventory"), "--scenario", "waltid", "-q"], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run([str(BIN / "wd-render"), "--out", str(d), "-q"], cwd=ROOT, input=inv, check=True, capture_output=True)
    return d


def evaluate(**vars_):
    """Every local of terraform/workloads (none reads a resource) and the `secret_stores` output,
    applied by the real terraform in a provider-free module next to the real one."""
    d = rendered()
    mod = ROOT / "terraform/workloads"
    texts = [p.read_text() for p in sorted(mod.glob("*.tf"))]
    locals_ = [a for t in texts for kind, _, body in tfake.blocks(t) if kind == "locals" for a in tfake.attributes(body)]
    out = next(body for t in texts for kind, label, body in tfake.blocks(t) if kind == "output" and '"secret_stores"' in label)
    body = ["locals {"] + [f"  {n} = {e}" for n, e in locals_] + ["}"]
    body += [f'output "local__{n}" {{\n  value = local.{n}\n}}' for n, _ in locals_]
    body += [f'output "out__secret_stores" {{\n  value = {dict(tfake.attributes(out))["value"]}\n}}']
    shadow = pathlib.Path(tempfile.mkdtemp(prefix=".tfshadow-test-", dir=mod.parent))
    try:
        (shadow / "variables.tf").write_text((mod / "variables.tf").read_text())
        (shadow / "shadow.tf").write_text("\n".join(body) + "\n")
        args = ["-var", "kubeconfig_path=~/.kube/x.yaml", "-var", f"values_file={d / 'helm/values-waltid.yaml'}", "-var", f"secret_plan_path={d / 'secrets/secret-plan.json'}"]
        for k, v in vars_.items():
            args += ["-var", f"{k}={json.dumps(v) if not isinstance(v, str) else v}"]
        r = tfake.real_tf(shadow, ["apply", "-input=false", "-auto-approve", "-no-color"] + args)
        if r.returncode:
            raise SystemExit(r.stderr)
        r = tfake.real_tf(shadow, ["output", "-json", "-no-color"])
        return {k: v["value"] for k, v in json.loads(r.stdout).items()}
    finally:
        shutil.rmtree(shadow, ignore_errors=True)


def homes(*flags):
    d = rendered()
    out = subprocess.run([str(BIN / "wd-secrets"), "plan", "--plan", str(d / "secrets/secret-plan.json"), "--format", "json", *flags], check=True, capture_output=True, text=True).stdout
    return {s["k8sSecret"]: s["home"] for s in json.loads(out)["secrets"]}


def test_without_an_external_vault_one_store_serves_everything():
    out = evaluate()
    assert set(out["out__secret_stores"].values()) == {"vault"}
    assert out["local__static_store_vault"]["server"] == "http://vault.vault.svc:8200"
    assert "caBundle" not in out["local__static_store_vault"]


def test_static_secrets_come_from_the_external_vault_and_issued_ones_from_the_cluster():
    out = evaluate(external_vault=EXTERNAL)
    ext = out["local__static_store_vault"]
    assert ext["server"] == EXTERNAL["address"]
    assert base64.b64decode(ext["caBundle"]).decode() == CA
    assert ext["auth"]["kubernetes"]["mountPath"] == "kubernetes-waltid-local"
    assert out["local__in_cluster_vault"]["server"] == "http://vault.vault.svc:8200"
    stores = out["out__secret_stores"]
    # the same homes wd-secrets seeds and checks (placement.rs)
    expected = {k: ("vault-in-cluster" if h == "in-cluster" else "vault") for k, h in homes("--store", "external").items()}
    assert stores == expected
    assert stores["waltid-wallet-auth"] == "vault" and stores["waltid-issuer-transit"] == "vault-in-cluster"
    assert stores["waltid-postgres-vault"] == "vault-in-cluster"


def test_plain_http_external_vault_is_refused():
    import pytest
    with pytest.raises(SystemExit) as e:
        evaluate(external_vault=dict(EXTERNAL, address="http://vault.corp.internal:8200"))
    assert "must be https://" in str(e.value)


def test_with_dynamic_db_credentials_too():
    out = evaluate(external_vault=EXTERNAL, dynamic_db_credentials=True)
    stores = out["out__secret_stores"]
    dynamic = {k for k, h in homes("--store", "external", "--dynamic-db").items() if h == "dynamic"}
    assert dynamic == {"waltid-postgres-app", "waltid-postgres-keycloak"}
    assert not dynamic & set(stores), "no KV ExternalSecret for a dynamic credential"
    # the release gets the option layer (last); the umbrella then renders the generators
    values = yaml.safe_load(out["local__dynamic_db_values"][0])
    build_dependencies()
    docs = load_docs(render_chart(UMBRELLA, {**values, "externalSecrets": {"enabled": False}}, api_versions=("external-secrets.io/v1beta1", "generators.external-secrets.io/v1alpha1")))
    gens = {d["metadata"]["name"] for _, d in docs if d["kind"] == "VaultDynamicSecret"}
    assert gens == dynamic
    assert {d["metadata"]["name"] for _, d in docs if d["kind"] == "ExternalSecret"} == dynamic
