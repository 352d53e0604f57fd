"""Issue 14: the issuer's signing key in Vault Transit, as the charts wire it. The app's init step
fills backends.json's issuerKey (walt.id's TSE key reference, the limited token inside) and
issuerDid from the mounted Secret — run here on a fixture with /bin/sh, as in the pod — and no
rendered manifest carries a token; the issuer (and, opted in, the wallet) may call Vault, and
wd-verify still reports no error with those paths; the wallet's opt-in writes walt.id's
defaultKeyConfig with the TSE backend and takes the token from the environment only."""

import json
import pathlib
import re
import subprocess

import pytest
import yaml

import test_charts as tc
import test_verify as tv

APP = tc.CHARTS / "verifiably-go"
# A fixture token with the characters sed and JSON treat specially (& | / \ "): the real ones
# are [A-Za-z0-9.] but the step must not depend on it.
TOKEN = 's.fixture&to|ken/\\"x'
DID = "did:jwk:eyJrdHkiOiJPS1AiLCJjcnYiOiJFZDI1NTE5IiwieCI6IjExcVlBWUt4Q3JmVlNfN1R5V1FIT2c3aGN2UGFwaU1scndJYWFQY0hVUm8ifQ"
REFERENCE = {"_keyType": "Ed25519", "auth": {"accessKey": TOKEN}, "id": "issuer",
             "server": "http://vault.vault.svc:8200/v1/transit", "type": "tse"}


def app_docs(values):
    return tc.load_docs(tc.render_chart(APP, values))


def init_step(docs):
    d = tc.deployment(docs, "verifiably-go")
    spec, _, inits = tc.containers(d)
    [init] = [c for c in inits if c["name"] == "config"]
    return spec, init


def run_init(tmp_path, docs, key_text, did_text, password="p&ss|w\\rd\"1"):
    """The init step's script with its mount paths moved under tmp_path; returns (rc, stderr,
    backends.json text)."""
    spec, init = init_step(docs)
    cm = next(d for _, d in docs if d["kind"] == "ConfigMap" and "backends.json" in d.get("data", {}))
    script = init["args"][0]
    mounts = {m["mountPath"]: m["name"] for m in init["volumeMounts"]}
    dirs = {}
    for path, name in mounts.items():
        dirs[path] = tmp_path / name
        dirs[path].mkdir()
    # one pass, so a replaced path is not replaced again
    alt = "|".join(re.escape(p) for p in sorted(mounts, key=len, reverse=True))
    script = re.sub(rf"(?<![\w/.-])({alt})(?=[/\s\"']|$)", lambda m: str(dirs[m.group(1)]), script, flags=re.M)
    rendered = dirs[next(p for p, n in mounts.items() if n == "config")]
    for name, text in cm["data"].items():
        (rendered / name).write_text(text)
    (dirs["/demo-account"] / "password").write_text(password)
    if "/issuer-transit" in dirs:
        (dirs["/issuer-transit"] / "issuerKey").write_text(key_text)
        (dirs["/issuer-transit"] / "issuerDid").write_text(did_text)
    p = subprocess.run(["/bin/sh", "-ec", script], capture_output=True, text=True, timeout=30)
    out = dirs["/config"] / "backends.json"
    return p.returncode, p.stderr, out.read_text() if out.exists() else ""


def test_init_step_fills_the_tse_reference_and_did_from_the_secret(tmp_path):
    docs = app_docs({"transit": {"enabled": True}})
    spec, init = init_step(docs)
    # the Secret is mounted into the init step only, never into the app container or its env
    vol = next(v for v in spec["volumes"] if v["name"] == "issuer-transit")
    assert vol["secret"]["secretName"] == "waltid-issuer-transit"
    assert {i["key"] for i in vol["secret"]["items"]} == {"issuerKey", "issuerDid"}
    app = tc.containers(tc.deployment(docs, "verifiably-go"))[1][0]
    assert "issuer-transit" not in {m["name"] for m in app["volumeMounts"]}
    rc, err, text = run_init(tmp_path, docs, json.dumps(REFERENCE, separators=(",", ":")) + "\n", DID + "\n")
    assert rc == 0, err
    cfg = json.loads(text)["backends"][0]["config"]
    assert cfg["issuerKey"] == REFERENCE
    assert cfg["issuerDid"] == DID
    assert cfg["demoAccount"]["password"] == "p&ss|w\\rd\"1"
    # the rest of the stanza is the rendered file's
    rendered = json.loads(next(d for _, d in docs if d["kind"] == "ConfigMap")["data"]["backends.json"])["backends"][0]["config"]
    assert {k: v for k, v in cfg.items() if k not in ("issuerKey", "issuerDid", "demoAccount")} == \
        {k: v for k, v in rendered.items() if k not in ("issuerDid", "demoAccount")}


@pytest.mark.parametrize("key,did,message", [
    ('{"type":"jwk","jwk":{}}', DID, "not a walt.id TSE key"),
    ("", DID, "not a walt.id TSE key"),
    (json.dumps(REFERENCE, separators=(",", ":")), "did:web:issuer.example", "not a did:jwk"),
    (json.dumps(REFERENCE, indent=1), DID, "not a walt.id TSE key"),
])
def test_init_step_refuses_what_wd_transit_does_not_write(tmp_path, key, did, message):
    rc, err, _ = run_init(tmp_path, app_docs({"transit": {"enabled": True}}), key, did)
    assert rc != 0 and message in err, err


def test_without_transit_the_init_step_leaves_the_rendered_did(tmp_path):
    docs = app_docs({})
    spec, init = init_step(docs)
    assert "issuer-transit" not in {v["name"] for v in spec["volumes"]}
    rc, err, text = run_init(tmp_path, docs, "", "")
    assert rc == 0, err
    cfg = json.loads(text)["backends"][0]["config"]
    assert "issuerKey" not in cfg and cfg["issuerDid"].startswith("did:web:")


def transit_values(profile="local", wallet=True):
    values, _, _, _ = tc.render_case(f"umbrella/{profile}")
    on = {"verifiably-go": {"transit": {"enabled": True}}}
    if wallet:
        on["walt-wallet"] = {"transit": {"enabled": True, "secretName": "waltid-wallet-transit"}}
    return tc.deep_merge(values, on)


@pytest.mark.parametrize("profile", ["local", "prod"])
def test_only_issuer_and_wallet_may_call_vault_and_only_when_transit_is_on(profile):
    def vault_rules(values):
        docs = tc.load_docs(tc.render_chart(tc.UMBRELLA, values))
        out = {}
        for _, d in docs:
            if d["kind"] != "NetworkPolicy":
                continue
            for r in d["spec"].get("egress", []):
                for peer in r.get("to", []):
                    if peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") == "vault":
                        out[d["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]] = (peer["podSelector"]["matchLabels"], r["ports"])
        return out, docs
    base = tc.render_case(f"umbrella/{profile}")[0]
    default, _ = vault_rules(base)
    assert set(default) == {"walt-issuer"}, default  # the umbrella signs through Transit by default; wallet keys opt in
    off, _ = vault_rules(tc.deep_merge(base, {"verifiably-go": {"transit": {"enabled": False}}}))
    assert off == {}
    on, docs = vault_rules(transit_values(profile))
    assert set(on) == {"walt-issuer", "walt-wallet"}, on  # the app only passes the key on
    for labels, ports in on.values():
        assert labels == {"app.kubernetes.io/name": "vault", "component": "server"}
        assert ports == [{"protocol": "TCP", "port": 8200}]
    issuer_only, _ = vault_rules(transit_values(profile, wallet=False))
    assert set(issuer_only) == {"walt-issuer"}
    # nothing rendered carries a token or a key reference: it arrives at pod start
    # (the wallet's only accessKey is the environment reference walt.id substitutes)
    text = json.dumps([d for _, d in docs])
    assert TOKEN not in text
    cms = json.dumps([d for _, d in docs if d["kind"] == "ConfigMap"])
    assert "issuerKey" not in cms and '"type":"tse"' not in cms.replace('\\"', '"').replace(" ", "")
    assert text.count("accessKey") == 1 and 'accessKey: \\"${WALLET_TRANSIT_TOKEN}\\"' in text


@pytest.mark.parametrize("profile", ["local", "prod"])
def test_wd_verify_reports_no_error_with_transit_on(profile):
    values = transit_values(profile)
    rendered = tc.render_chart(tc.UMBRELLA, values, api_versions=(tc.ESO, "monitoring.coreos.com/v1"))
    text = "".join(f"---\n# Source: {p}\n{t}\n" for p, t in sorted(rendered.items()) if not p.endswith("NOTES.txt"))
    out = tv.plans(tv.PROFILES[profile])
    report = tv.wd_verify(text, *tv.orchestrator_flags(values), *tv.NODES[profile],
                          "--render-plan", str(out / "render-plan.json"), "--secret-plan", str(out / "secrets" / "secret-plan.json"),
                          "--external", "Secret/waltid-wallet-transit")
    tv.show(report)
    assert tv.errors(report) == []


def test_wallet_opt_in_writes_a_tse_default_key_config_without_the_token():
    docs = tc.load_docs(tc.render_chart(tc.CHARTS / "walt-wallet", {"transit": {"enabled": True, "secretName": "waltid-wallet-transit"}}))
    cm = next(d for _, d in docs if d["kind"] == "ConfigMap" and "registration-defaults.conf" in d.get("data", {}))
    conf = cm["data"]["registration-defaults.conf"]
    assert "backend: tse" in conf and "keyType: Ed25519" in conf
    assert 'server: "http://vault.vault.svc:8200/v1/transit"' in conf
    assert 'accessKey: "${WALLET_TRANSIT_TOKEN}"' in conf  # walt.id substitutes it from the env
    assert "method: jwk" in conf  # the rendered DID method stays
    # the other rendered files are unchanged
    default = tc.load_docs(tc.render_chart(tc.CHARTS / "walt-wallet", {}))
    plain = next(d for _, d in default if d["kind"] == "ConfigMap" and "registration-defaults.conf" in d.get("data", {}))
    assert {k: v for k, v in cm["data"].items() if k != "registration-defaults.conf"} == \
        {k: v for k, v in plain["data"].items() if k != "registration-defaults.conf"}
    assert "backend: jwk" in plain["data"]["registration-defaults.conf"]
    env = tc.env_of(tc.containers(tc.deployment(docs, "walt-wallet"))[1][0])
    assert env["WALLET_TRANSIT_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "waltid-wallet-transit", "key": "token"}
    with pytest.raises(Exception, match="transit.secretName"):
        tc.render_chart(tc.CHARTS / "walt-wallet", {"transit": {"enabled": True}})


def test_issuer_logs_above_info_so_the_vault_token_stays_out_of_loki():
    """walt.id's TSE client logs request headers (X-Vault-Token) at INFO (TSEKey.kt, Ktor
    Logging ALL): the issuer chart sends only WARN and above to stdout by default."""
    docs = tc.load_docs(tc.render_chart(tc.CHARTS / "walt-issuer", {}))
    cm = next(d for _, d in docs if d["kind"] == "ConfigMap" and "klogging.json" in d.get("data", {}))
    cfg = json.loads(cm["data"]["klogging.json"])
    assert cfg["logging"][0]["levelRanges"][0]["fromMinLevel"] == "WARN"
    c = tc.containers(tc.deployment(docs, "walt-issuer"))[1][0]
    env = tc.env_of(c)
    mount = next(m for m in c["volumeMounts"] if m["name"] == "logging")
    assert env["KLOGGING_CONFIG_PATH"]["value"] == mount["mountPath"] + "/klogging.json"


def test_the_token_secret_is_planned_and_synced_by_one_external_secret():
    plan = {s["name"]: s for s in tc.secret_plan()}
    k, d = plan["issuer-transit-key"], plan["issuer-transit-did"]
    assert (k["vaultPath"], k["k8sSecret"]) == (d["vaultPath"], d["k8sSecret"]) == ("issuer/transit", "waltid-issuer-transit")
    assert (k["k8sKey"], d["k8sKey"]) == ("issuerKey", "issuerDid")
    assert k["policy"]["format"] == d["policy"]["format"] == "external"
    es = yaml.safe_load((tc.UMBRELLA / "files/externalsecrets.yaml").read_text())["secrets"]
    [entry] = [e for e in es if e["name"] == "waltid-issuer-transit"]
    assert {x["secretKey"] for x in entry["data"]} == {"issuerKey", "issuerDid"}
    # k8s-deploy.sh up issues the token before the seed (the seed cannot generate it)
    script = (tc.ROOT / "scripts/k8s-deploy.sh").read_text()
    assert script.index("wd-transit token issuer --plan") < script.index("wd-secrets seed --plan")


@pytest.mark.parametrize("chart", ["walt-issuer", "walt-wallet"])
def test_vault_ca_init_step_builds_a_trust_store_the_jvm_is_pointed_at(chart, tmp_path):
    """TLS to Vault with a private CA: the init step (run here with this machine's keytool, as
    the image's would) adds the CA to a copy of the JVM's cacerts; JAVA_TOOL_OPTIONS names it."""
    import shutil
    keytool = shutil.which("keytool")
    assert keytool, "keytool is missing (.ci/run installs default-jre-headless)"
    java_home = pathlib.Path(keytool).resolve().parent.parent
    docs = tc.load_docs(tc.render_chart(tc.CHARTS / chart, {"vaultCA": {"configMap": "vault-ca"}}))
    spec, cs, inits = tc.containers(tc.deployment(docs, chart))
    [init] = [c for c in inits if c["name"] == "vault-ca"]
    vols = {v["name"]: v for v in spec["volumes"]}
    assert vols["vault-ca"]["configMap"] == {"name": "vault-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}
    opts = tc.env_of(cs[0])["JAVA_TOOL_OPTIONS"]["value"]
    store = re.search(r"-Djavax\.net\.ssl\.trustStore=(\S+)", opts).group(1)
    assert any(store.startswith(m["mountPath"] + "/") and m.get("readOnly") for m in cs[0]["volumeMounts"] if m["name"] == "truststore")
    # a CA as the platform would make one
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(tmp_path / "ca.key"), "-out", str(tmp_path / "ca.crt"), "-days", "1", "-subj", "/CN=vault-ca"],
                   check=True, capture_output=True, timeout=30)
    (tmp_path / "vault-ca").mkdir()
    (tmp_path / "truststore").mkdir()
    shutil.copy(tmp_path / "ca.crt", tmp_path / "vault-ca" / "ca.crt")
    script = init["args"][0].replace("/vault-ca/", f"{tmp_path}/vault-ca/").replace("/truststore/", f"{tmp_path}/truststore/")
    p = subprocess.run(["/bin/sh", "-ec", script], capture_output=True, text=True, timeout=120,
                       env={"PATH": f"{java_home}/bin:/usr/bin:/bin", "JAVA_HOME": str(java_home)})
    assert p.returncode == 0, p.stderr
    cacerts = tmp_path / "truststore" / "cacerts"
    listed = subprocess.run([keytool, "-list", "-keystore", str(cacerts), "-storepass", "changeit"], capture_output=True, text=True, timeout=60).stdout
    assert "vault-ca" in listed
    # the public CAs stay trusted (a copy of cacerts, not a store with one entry)
    assert int(re.search(r"contains (\d+) entr", listed).group(1)) > 10
    # without vaultCA: no init step, the JVM's own store
    plain = tc.load_docs(tc.render_chart(tc.CHARTS / chart, {}))
    spec, cs, inits = tc.containers(tc.deployment(plain, chart))
    assert not any(c["name"] == "vault-ca" for c in inits)
    assert "trustStore" not in tc.env_of(cs[0])["JAVA_TOOL_OPTIONS"]["value"]
