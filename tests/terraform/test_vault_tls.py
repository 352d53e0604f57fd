"""Vault's own listener on the internal CA (terraform/platform vault_tls; pki.tf, values/vault.yaml;
docs/runbooks/internal-ca.md "Vault's listener").

Offline (CI): the platform and workloads modules are evaluated by the REAL terraform on a shadow
module (the deploy suite's terraform fake: locals, outputs and every file-reading or manifest
attribute), with the variables k8s-deploy.sh passes in each phase (off, certificate, on), and what
every client of Vault is given is checked against what Vault serves: the names it dials are names
of the certificate, the root it verifies with is the root the pods and the issuer get.
With the pinned upstream vault-helm chart on disk (WD_UPSTREAM_CHARTS, platform_facts.yaml) the
chart is rendered by the Helm engine with exactly those values and the StatefulSet, its config,
Services and ServiceMonitor are checked: the files the listener and retry_join name are mounted,
the sidecar watches the mounted Secret and can signal Vault.
"""

import base64
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
TF = ROOT / "terraform"
sys.path.insert(0, str(ROOT / "tests/deploy/stubs"))
os.environ.setdefault("WD_REAL_TERRAFORM", subprocess.run(["sh", "-c", "command -v terraform"], capture_output=True, text=True).stdout.strip())
import terraform as tffake  # noqa: E402  (the deploy suite's shadow evaluation with the real terraform)

sys.path.insert(0, str(ROOT / "tests/charts"))
from test_charts import BIN  # noqa: E402

UPSTREAM = os.environ.get("WD_UPSTREAM_CHARTS")
SCRIPT = (ROOT / "scripts/k8s-deploy.sh").read_text()


def self_signed(cn="wd internal root"):
    return subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "/dev/null",
                           "-subj", f"/CN={cn}", "-days", "30"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def pem(tmp_path_factory):
    p = tmp_path_factory.mktemp("pki") / "internal-ca.pem"
    p.write_text(self_signed())
    return p


def platform(tls, pem=None, internal_ca=True, node_count=1, profile_file="dev"):
    args = [f"-var-file=../environments/{profile_file}.tfvars", "-var", "kubeconfig_path=/nonexistent", "-var", "lb_mode=metallb",
            "-var", f"node_count={node_count}", "-var", f"internal_ca={str(internal_ca).lower()}", "-var", f"vault_tls={tls}"]
    if pem:
        args += ["-var", f"vault_ca_pem_path={pem}"]
    return tffake.evaluate(TF / "platform", args)


def refused(module, args):
    """The real terraform's refusal of these variables (stderr), via the same shadow evaluation."""
    shadow = tffake.shadow_module(TF / module)
    try:
        assert tffake.real_tf(shadow, ["init", "-input=false", "-no-color"]).returncode == 0
        r = tffake.real_tf(shadow, ["plan", "-input=false", "-no-color"] + args)
        assert r.returncode != 0, r.stdout[-2000:]
        return " ".join(r.stderr.split())
    finally:
        import shutil
        shutil.rmtree(shadow, ignore_errors=True)


def manifests(outs):
    """{kind/name: object} of the module's kubectl manifests (names are unique per kind here)."""
    return {f'{d["kind"]}/{d["metadata"]["name"]}': d for d in tffake.kubectl_objects(outs).values()}


def vault_values(outs):
    (text,) = outs["res__helm_release__vault__values"]
    return yaml.safe_load(text)


def host(url):
    return re.match(r"https?://([^:/]+)", url).group(1)


def script_names():
    """The names k8s-deploy.sh makes the tools verify: VAULT_TLS_SERVER_NAME (the host of pki.tf's
    vault_service) and the https leader it gives `wd-secrets init`."""
    leader = re.search(r"leader=(https://[^ ;]+)", SCRIPT).group(1)
    svc = re.search(r'vault_service *= *"([^"]+)"', (TF / "platform/pki.tf").read_text()).group(1)
    return {svc.rsplit(":", 1)[0], host(leader)}


def test_off_is_plain_http_with_no_certificate_and_no_tls_value():
    outs = platform("off")
    m = manifests(outs)
    assert outs["out__vault_address"] == "http://vault.vault.svc:8200"
    assert "Certificate/vault-server-tls" not in m
    issuer = m["ClusterIssuer/vault-internal"]["spec"]["vault"]
    assert issuer["server"] == "http://vault.vault.svc:8200" and "caBundle" not in issuer
    v = vault_values(outs)
    assert "global" not in v and "extraContainers" not in v["server"]
    assert "tls_disable" in v["server"]["ha"]["raft"]["config"]


def test_certificate_phase_issues_every_name_a_client_dials_while_vault_stays_plain():
    outs = platform("certificate", node_count=3, profile_file="prod")
    m = manifests(outs)
    cert = m["Certificate/vault-server-tls"]
    names = set(cert["spec"]["dnsNames"])
    # the issuer still speaks plain HTTP: Vault serves plain HTTP until the next phase
    assert m["ClusterIssuer/vault-internal"]["spec"]["vault"]["server"] == "http://vault.vault.svc:8200"
    # ...but the apply updates it (cert-manager checks an updated issuer at once; it failed before the PKI existed)
    assert m["ClusterIssuer/vault-internal"]["metadata"]["annotations"] != manifests(platform("off"))["ClusterIssuer/vault-internal"]["metadata"]["annotations"]
    assert cert["spec"]["issuerRef"]["name"] == "vault-internal" and cert["metadata"]["namespace"] == "vault"
    assert outs["out__vault_address"] == "http://vault.vault.svc:8200"
    # every name dialled once Vault is on TLS: the platform's address, each follower's leader
    # (retry_join), Prometheus's serverName, and what k8s-deploy.sh verifies
    on = platform_on_prod()
    v = vault_values(on)
    dialled = {host(on["out__vault_address"]), v["serverTelemetry"]["serviceMonitor"]["tlsConfig"]["serverName"]} | script_names()
    dialled |= {host(a) for a in re.findall(r'leader_api_addr\s*=\s*"([^"]+)"', v["server"]["ha"]["raft"]["config"])}
    assert len(dialled) >= 5 and dialled <= names, sorted(dialled - names)
    # .svc names only (the internal CA's role signs no short name; tools/wd-secrets pki.rs)
    assert all(n.endswith((".svc", ".svc.cluster.local")) for n in names), names


_ON = {}


def platform_on_prod():
    if "prod" not in _ON:
        with tempfile.TemporaryDirectory() as d:
            p = pathlib.Path(d) / "root.pem"
            p.write_text(self_signed())
            _ON["prod"] = (platform("on", pem=p, node_count=3, profile_file="prod"), p.read_text())
    return _ON["prod"][0]


def test_on_every_client_verifies_vault_against_the_one_root(pem):
    outs = platform("on", pem=pem)
    m, root = manifests(outs), pem.read_text()
    assert outs["out__vault_address"] == "https://vault.vault.svc:8200"
    issuer = m["ClusterIssuer/vault-internal"]["spec"]["vault"]
    assert issuer["server"] == outs["out__vault_address"] and base64.b64decode(issuer["caBundle"]).decode() == root
    # the pods and the ServiceMonitor read the same root from the ConfigMap the module writes
    (name,) = outs["res__kubernetes_config_map_v1__vault_ca__metadata_name"]
    (data,) = outs["res__kubernetes_config_map_v1__vault_ca__data"]
    assert data == {"ca.crt": root}
    v = vault_values(outs)
    assert v["global"]["tlsDisable"] is False
    assert {"name": "ca", "configMap": {"name": name}} in v["server"]["volumes"]
    assert v["serverTelemetry"]["serviceMonitor"]["tlsConfig"]["ca"]["configMap"] == {"name": name, "key": "ca.crt"}
    # the listener serves the Secret the Certificate writes
    cert = m["Certificate/vault-server-tls"]
    assert {"name": "tls", "secret": {"secretName": cert["spec"]["secretName"], "defaultMode": 0o440}} in v["server"]["volumes"]
    conf = v["server"]["ha"]["raft"]["config"]
    assert "tls_disable" not in conf and 'tls_cert_file   = "/vault/tls/tls.crt"' in conf
    assert f'leader_ca_cert_file = "/vault/userconfig/{name}/ca.crt"' in conf
    # the reload sidecar is the script in the repository, watching the mounted Secret
    (side,) = v["server"]["extraContainers"]
    assert side["command"][:2] == ["/bin/sh", "-c"] and side["command"][2] == (TF / "platform/vault/tls-reload.sh").read_text()
    assert {"name": "TLS_RELOAD_DIR", "value": "/vault/tls"} in side["env"] and {"name": "tls", "mountPath": "/vault/tls", "readOnly": True} in side["volumeMounts"]
    assert side["image"] == f'{v["server"]["image"]["repository"]}:{v["server"]["image"]["tag"]}'


def test_the_module_refuses_what_cannot_work(pem):
    msg = refused("platform", ["-var", "kubeconfig_path=/x", "-var", "lb_mode=metallb", "-var", "vault_tls=on", "-var", "internal_ca=false", "-var", f"vault_ca_pem_path={pem}"])
    assert "vault_tls needs internal_ca = true" in msg, msg
    msg = refused("platform", ["-var", "kubeconfig_path=/x", "-var", "lb_mode=metallb", "-var", "vault_tls=on", "-var", "internal_ca=true"])
    assert "vault_tls = \"on\" needs vault_ca_pem_path" in msg, msg
    msg = refused("platform", ["-var", "kubeconfig_path=/x", "-var", "lb_mode=metallb", "-var", "vault_tls=yes", "-var", "internal_ca=true"])
    assert "vault_tls must be off, certificate or on" in msg, msg
    msg = refused("workloads", ["-var", "kubeconfig_path=/x", "-var", "values_file=/x", "-var", "secret_plan_path=/x", "-var", "vault_address=https://vault.vault.svc:8200"])
    assert "vault_address is https: set internal_ca_pem_path" in msg, msg


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """wd-render's output for the local target with the internal CA (as k8s-deploy.sh up renders)."""
    d = tmp_path_factory.mktemp("out")
    inv = subprocess.run([str(BIN / "wd-inventory"), "--scenario", "waltid", "-q"], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run([str(BIN / "wd-render"), "--target", "local", "--out", str(d), "-q", "--set", "tls=true", "--set", "ingress.clusterIssuer=vault-internal",
                    "--set", "db.tls.clusterIssuer=vault-internal"], cwd=ROOT, input=inv, check=True, capture_output=True)
    return d


def test_workloads_give_eso_and_the_wallet_the_https_vault_and_its_root(pem, rendered):
    args = ["-var-file=../environments/dev.tfvars", "-var", "kubeconfig_path=/x", "-var", f"values_file={rendered}/helm/values-waltid.yaml",
            "-var", f"secret_plan_path={rendered}/secrets/secret-plan.json", "-var", f"internal_ca_pem_path={pem}", "-var", "vault_address=https://vault.vault.svc:8200"]
    outs = tffake.evaluate(TF / "workloads", args)
    stores = {n: d for n, d in manifests(outs).items() if n.startswith("ClusterSecretStore/")}
    assert stores, sorted(manifests(outs))
    for n, d in stores.items():
        vault = d["spec"]["provider"]["vault"]
        assert vault["server"] == "https://vault.vault.svc:8200" and base64.b64decode(vault["caBundle"]).decode() == pem.read_text(), (n, vault)
    layers = [yaml.safe_load(t) for t in outs["res__helm_release__umbrella__values"]] if "res__helm_release__umbrella__values" in outs else []
    wallet = [l_["walt-wallet"] for l_ in layers if isinstance(l_, dict) and "walt-wallet" in l_ and "transit" in l_["walt-wallet"]]
    assert wallet and wallet[-1]["transit"]["server"] == "https://vault.vault.svc:8200/v1/transit", wallet
    # plain Vault: no caBundle, the chart's http Transit URL stays
    outs = tffake.evaluate(TF / "workloads", args[:-2] + ["-var", f"internal_ca_pem_path={pem}"])
    for d in (d for n, d in manifests(outs).items() if n.startswith("ClusterSecretStore/")):
        assert d["spec"]["provider"]["vault"]["server"] == "http://vault.vault.svc:8200" and "caBundle" not in d["spec"]["provider"]["vault"]


# ------------------------------------------------------------- the pinned upstream chart, rendered

@pytest.mark.skipif(not UPSTREAM, reason="needs the upstream vault-helm chart (WD_UPSTREAM_CHARTS, tests/terraform/platform_facts.yaml)")
def test_vault_helm_renders_a_pod_that_serves_the_certificate_and_can_reload_it(pem):
    import helm_python as helm

    for profile, nodes in (("dev", 1), ("prod", 3)):
        outs = platform("on", pem=pem, node_count=nodes, profile_file=profile)
        values = vault_values(outs)
        with helm.Chart.load(str(pathlib.Path(UPSTREAM) / "vault")) as ch:
            out = ch.render(values, name="vault", namespace="vault", is_install=True)
        docs = [d for tpl, text in out.items() if not tpl.endswith("NOTES.txt") for d in yaml.safe_load_all(text) if isinstance(d, dict) and d.get("kind")]
        (sts,) = [d for d in docs if d["kind"] == "StatefulSet"]
        spec = sts["spec"]["template"]["spec"]
        assert sts["spec"]["updateStrategy"]["type"] == "OnDelete"  # why k8s-deploy.sh deletes the pods
        assert spec["shareProcessNamespace"] is True
        vols = {v["name"]: v for v in spec["volumes"]}
        vault = next(c for c in spec["containers"] if c["name"] == "vault")
        side = next(c for c in spec["containers"] if c["name"] == "tls-reload")
        mounts = {m["mountPath"]: m["name"] for m in vault["volumeMounts"]}
        env = {e["name"]: e.get("value") for e in vault["env"]}
        assert env["VAULT_ADDR"] == "https://127.0.0.1:8200" and env["VAULT_API_ADDR"].startswith("https://")
        # every file the configuration names is in a mounted volume of the right source
        (cm,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "vault-config"]
        conf = cm["data"]["extraconfig-from-values.hcl"]
        files = re.findall(r'(?:tls_cert_file|tls_key_file|leader_ca_cert_file)\s*=\s*"([^"]+)"', conf)
        assert len(files) == 2 + nodes, conf
        for f in files:
            vol = mounts[os.path.dirname(f)]
            src = vols[vol]
            assert ("secret" in src and src["secret"]["secretName"] == "vault-server-tls" and os.path.basename(f) in ("tls.crt", "tls.key")) or \
                   ("configMap" in src and src["configMap"]["name"] == "wd-vault-ca" and os.path.basename(f) == "ca.crt"), (f, src)
        assert env["VAULT_CACERT"] in [os.path.join(p, "ca.crt") for p, n in mounts.items() if "configMap" in vols.get(n, {})]
        assert env["VAULT_TLS_SERVER_NAME"] in manifests(outs)["Certificate/vault-server-tls"]["spec"]["dnsNames"]
        # the root k8s-deploy.sh gives Vault's database engine (sslrootcert, a path in this container)
        rootcert = re.search(r'--db-sslrootcert "(/vault/userconfig/\$cm/ca\.crt)"', SCRIPT).group(1).replace("$cm", "wd-vault-ca")
        assert rootcert == env["VAULT_CACERT"], rootcert
        # the sidecar: the same uid as Vault's process (a signal needs it), the Secret it watches
        # mounted where TLS_RELOAD_DIR says, nothing writable, no capability
        pod_sc = spec["securityContext"]
        assert side["securityContext"]["runAsUser"] == pod_sc["runAsUser"] and side["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert side["securityContext"]["readOnlyRootFilesystem"] is True and side["resources"]["requests"]["memory"]
        side_env = {e["name"]: e["value"] for e in side["env"]}
        assert {m["mountPath"]: m["name"] for m in side["volumeMounts"]}[side_env["TLS_RELOAD_DIR"]] == "tls"
        assert side["image"] == vault["image"]
        # Services speak https by name; Prometheus scrapes https verified against the ConfigMap
        for svc in (d for d in docs if d["kind"] == "Service"):
            assert {p["name"] for p in svc["spec"]["ports"]} & {"https", "http"} == {"https"}, svc["metadata"]["name"]
        (sm,) = [d for d in docs if d["kind"] == "ServiceMonitor"]
        ep = sm["spec"]["endpoints"][0]
        assert ep["scheme"] == "https" and ep["tlsConfig"]["ca"]["configMap"]["name"] == "wd-vault-ca" and "insecureSkipVerify" not in ep["tlsConfig"]
        assert ep["tlsConfig"]["serverName"] in manifests(outs)["Certificate/vault-server-tls"]["spec"]["dnsNames"]
