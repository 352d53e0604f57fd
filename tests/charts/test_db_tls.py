"""Issue 16 option 1, the shared Postgres on the internal CA: with wd-render's db.tls.clusterIssuer
(k8s-deploy.sh sets it with TF_VAR_internal_ca=true) cert-manager issues Postgres's server
certificate from vault-internal, CloudNativePG serves it, and every client verifies it
(sslmode=verify-full against the root). Rendered on the Helm engine for the local and prod
profiles with the layers k8s-deploy passes; each client's URL is followed to what consumes it:
its host is a name of the certificate, its sslrootcert a file mounted in that very container from
the CA's ConfigMap, the names are ones the CA's role signs. The real handshake (OpenBao PKI +
PostgreSQL + libpq verify-full) is tools/wd-secrets/tests/pki_postgres.rs."""

import functools
import re
import urllib.parse

import pytest
import yaml

import test_charts as tc
import test_pki_istio as pi
import test_verify as tv

ISSUER = "vault-internal"
CASES = {"local": (dict(), "values-local.yaml"), "prod": (dict(target="onprem"), "values-prod.yaml")}


@functools.lru_cache(maxsize=None)
def deps():
    return tc.build_dependencies()


def render(profile, tls=True, ca=True):
    deps()
    kw, profile_file = CASES[profile]
    sets = (f"db.tls.clusterIssuer={ISSUER}",) if tls else ()
    values = {}
    for layer in [tc.wd_render(*sets, **kw), tc.values_file(profile_file)] + ([pi.CA] if ca else []):
        values = tc.deep_merge(values, layer)
    rendered = tc.render_chart(tc.CASES[f"umbrella/{profile}"][1], values, api_versions=(tc.ESO, "monitoring.coreos.com/v1"))
    return values, rendered, tc.load_docs(rendered)


def db_clients(docs):
    """(workload, container, URL) of every database URL the scenario's pods get: env values and
    the walt.id db.conf each mounts (jdbcUrl)."""
    cms = {d["metadata"]["name"]: d.get("data", {}) for _, d in docs if d["kind"] == "ConfigMap"}
    out = []
    for _, d in docs:
        if d["kind"] not in ("Deployment", "StatefulSet"):
            continue
        spec = d["spec"]["template"]["spec"]
        vols = {v["name"]: v for v in spec.get("volumes", [])}
        for c in spec["containers"]:
            for e in c.get("env", []):
                if re.match(r"(jdbc:postgresql|postgres(ql)?)://", str(e.get("value", ""))):
                    out.append((d, c, e["value"]))
            for m in c.get("volumeMounts", []):
                cm = vols[m["name"]].get("configMap", {}).get("name")
                for text in cms.get(cm, {}).values():
                    out += [(d, c, u) for u in re.findall(r'jdbcUrl = "([^"]+)"', text)]
    return out


def parse(url):
    u = urllib.parse.urlsplit(url.removeprefix("jdbc:"))
    return u.hostname, dict(urllib.parse.parse_qsl(u.query))


def mounted_from(doc, container, path):
    """The ConfigMap (name, key) that provides `path` in this container, or None."""
    vols = {v["name"]: v for v in doc["spec"]["template"]["spec"].get("volumes", [])}
    for m in container.get("volumeMounts", []):
        if path.startswith(m["mountPath"].rstrip("/") + "/"):
            cm = vols[m["name"]].get("configMap")
            rel = path[len(m["mountPath"].rstrip("/")) + 1:]
            if cm:
                keys = {i["path"]: i["key"] for i in cm.get("items", [])} or {rel: rel}
                return cm["name"], keys.get(rel)
    return None


@pytest.mark.parametrize("profile", list(CASES))
def test_the_clients_verify_the_certificate_the_internal_ca_issues(profile):
    values, _, docs = render(profile)
    (cert,) = [d for _, d in docs if d["kind"] == "Certificate"]
    (cluster,) = [d for _, d in docs if d["kind"] == "Cluster"]
    assert cert["spec"]["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": ISSUER}
    secret = cert["spec"]["secretName"]
    assert cluster["spec"]["certificates"] == {"serverTLSSecret": secret, "serverCASecret": secret}
    # CloudNativePG reloads the renewed Secret only with this label (its certificates.md)
    assert "cnpg.io/reload" in cert["spec"]["secretTemplate"]["labels"]
    names = set(cert["spec"]["dnsNames"])
    clients = db_clients(docs)
    who = {d["metadata"]["name"] for d, _, _ in clients}
    # the wallet (db.conf), Keycloak (KC_DB_URL) and, where it has a database, the app
    want = {"waltid-walt-wallet", "waltid-keycloak"} | ({"waltid-verifiably-go"} if values["verifiably-go"]["database"].get("enabled", False) else set())
    assert want <= who, who
    for d, c, url in clients:
        host, q = parse(url)
        where = f'{d["metadata"]["name"]}/{c["name"]}: {url}'
        assert host in names, where
        assert q.get("sslmode") == "verify-full", where
        assert mounted_from(d, c, q["sslrootcert"]) == (pi.CM, "ca.crt"), where
    # every name is one the CA's role signs: under svc / svc.<cluster domain>, never a bare one
    domain = tc.deep_merge(tc.values_file("values.yaml"), values)["postgres"]["tls"]["clusterDomain"]
    pki = (tc.ROOT / "tools/wd-secrets/src/pki.rs").read_text()
    assert re.search(r'pki_cluster_domain: String', pki) and f'default_value = "{domain}"' in pki
    assert all(n.endswith((".svc", f".svc.{domain}")) and n.count(".") >= 2 for n in names), names


@pytest.mark.parametrize("profile", list(CASES))
def test_renders_and_validates_and_wd_verify_finds_no_error(profile):
    values, rendered, docs = render(profile)
    chart = tc.CASES[f"umbrella/{profile}"][1]
    tc.assert_lint_clean(chart, values)
    tc.validate_strict(docs)
    text = "".join(f"---\n# Source: {p}\n{t}\n" for p, t in sorted(rendered.items()) if not p.endswith("NOTES.txt"))
    args = tv.orchestrator_flags(values) + ["--external", f"ConfigMap/{pi.CM}", "--external", f"ClusterIssuer/{ISSUER}"] + tv.NODES[profile]
    report = tv.wd_verify(text, *args)
    tv.show(report)
    assert not tv.errors(report), [f["message"] for f in tv.errors(report)]


def test_off_by_default_the_clients_keep_the_short_name_and_no_certificate_is_issued():
    _, _, docs = render("local", tls=False, ca=False)
    assert not [d for _, d in docs if d["kind"] == "Certificate"]
    (cluster,) = [d for _, d in docs if d["kind"] == "Cluster"]
    assert "certificates" not in cluster["spec"]
    for d, _, url in db_clients(docs):
        host, q = parse(url)
        assert host == "waltid-pg-rw" and "sslrootcert" not in q, url


def test_without_the_ca_mounted_the_clients_charts_refuse():
    """A client told to verify against a root it does not mount would fail at its first
    connection; the chart refuses the render instead, naming the value."""
    with pytest.raises(Exception, match=r"database\.sslrootcert=/etc/wd-internal-ca/ca\.crt is the internal CA's root"):
        render("local", ca=False)


def test_compose_refuses_the_option():
    import subprocess
    inv = subprocess.run([str(tc.BIN / "wd-inventory"), "--scenario", "waltid", "-q"], cwd=tc.ROOT, check=True, capture_output=True).stdout
    p = subprocess.run([str(tc.BIN / "wd-render"), "--flavor", "compose", "--out", "/nonexistent/out", "-q", "--set", f"db.tls.clusterIssuer={ISSUER}"],
                       cwd=tc.ROOT, input=inv, capture_output=True)
    assert p.returncode == 2 and b"db.tls.clusterIssuer" in p.stderr and b"--flavor k8s" in p.stderr, p.stderr


def test_checkov_finds_nothing_with_the_option_on(tmp_path):
    for profile in CASES:
        _, _, docs = render(profile)
        (tmp_path / f"{profile}.yaml").write_text("\n---\n".join(yaml.safe_dump(d) for _, d in docs))
    tc.assert_checkov_clean(tmp_path)


def test_the_real_engine_test_proves_these_names():
    """tools/wd-secrets/tests/pki_postgres.rs runs the handshake on a real OpenBao and PostgreSQL
    with the Certificate's names and the clients' host written out: they must be the ones the
    chart and wd-render produce, or that proof is about another certificate."""
    rust = (tc.ROOT / "tools/wd-secrets/tests/pki_postgres.rs").read_text()
    names = re.findall(r'"([a-z0-9.-]+)"', rust.split("const DNS_NAMES", 1)[1].split("];", 1)[0])
    host = re.search(r'const HOST: &str = "([^"]+)";', rust).group(1)
    _, _, docs = render("local")
    (cert,) = [d for _, d in docs if d["kind"] == "Certificate"]
    assert sorted(names) == sorted(cert["spec"]["dnsNames"]), (names, cert["spec"]["dnsNames"])
    hosts = {parse(url)[0] for _, _, url in db_clients(docs)}
    assert hosts == {host}, hosts
