"""Issue 16 options 1 (internal CA on Vault PKI) and 5 (Istio ambient), as the scenario consumes them:
the umbrella with the layers terraform/workloads adds (internal_ca_pem_path -> global.internalCA +
walt-issuer/walt-wallet vaultCA; istio_ambient -> global.mesh.ambient), each on and off, for the
local and prod profiles, on the Helm engine: lint strict, kubernetes-validate strict (CRDs only
warn), checkov 0 failed, wd-verify 0 errors; what a reviewer checks (the CA reaches every pod, the
JVMs import it with an init step that meets Pod Security restricted, NetworkPolicies keep their peers
and admit HBONE 15008 and the kubelet's probes). Terraform: the ClusterIssuer names what wd-secrets
creates (one home each), the k3s CNI paths, the namespace label. The upstream Istio charts are
rendered with our values where they are on disk (WD_UPSTREAM_CHARTS, platform_facts.yaml)."""

import os
import pathlib
import re
import subprocess
import sys

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

import test_charts as tc
import test_verify as tv

sys.path.insert(0, str(tc.ROOT / "tests/terraform"))
from test_terraform import TF, load_module, resources, unq  # noqa: E402
from test_platform_values import PROFILE_VARS, VALUES, facts, tf_texts  # noqa: E402

CM = "wd-internal-ca"
# exactly what terraform/workloads internal_ca.tf and mesh.tf add (parsed below, not restated)
def workload_layers():
    text = (tc.ROOT / "terraform/workloads/internal_ca.tf").read_text() + (tc.ROOT / "terraform/workloads/mesh.tf").read_text()
    assert f'internal_ca_configmap = "{CM}"' in text
    ca = {"global": {"internalCA": {"configMap": CM}}, "walt-issuer": {"vaultCA": {"configMap": CM}}, "walt-wallet": {"vaultCA": {"configMap": CM}}}
    for chart in ("walt-issuer", "walt-wallet"):
        # (the wallet's layer also carries the https Transit URL when Vault is on TLS: test_vault_tls.py)
        assert re.search(rf'"{chart}" = (merge\()?\{{ vaultCA = \{{ configMap = local.internal_ca_configmap \}} \}}', text), chart
    assert "global = { mesh = { ambient = true } }" in text
    return ca, {"global": {"mesh": {"ambient": True}}}


CA, MESH = workload_layers()
PROFILES = ["local", "prod"]
OPTIONS = {"off": [], "ca": [CA], "mesh": [MESH], "both": [CA, MESH]}


def render(profile, option, api_versions=(tc.ESO, "monitoring.coreos.com/v1")):
    values, _, _, _ = tc.render_case(f"umbrella/{profile}")
    for layer in OPTIONS[option]:
        values = tc.deep_merge(values, layer)
    chart = tc.CASES[f"umbrella/{profile}"][1]
    rendered = tc.render_chart(chart, values, api_versions=api_versions)
    return values, chart, rendered, tc.load_docs(rendered)


def kinds(docs, k):
    return [d for _, d in docs if d["kind"] == k]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("option", list(OPTIONS))
def test_renders_validates_and_wires(profile, option):
    values, chart, _, docs = render(profile, option)
    tc.assert_lint_clean(chart, values)
    tc.validate_strict(docs)
    ca = option in ("ca", "both")
    for dep in kinds(docs, "Deployment"):
        spec, cs, ics = tc.containers(dep)
        vols = {v["name"]: v for v in spec.get("volumes", [])}
        main = cs[0]
        env = {e["name"]: e.get("value") for e in main.get("env", [])}
        mounts = {m["name"]: m for m in main.get("volumeMounts", [])}
        name = dep["metadata"]["labels"]["app.kubernetes.io/name"]
        if not ca:
            assert "wd-internal-ca" not in vols and "SSL_CERT_DIR" not in env, name
            continue
        # every pod: the ConfigMap, read-only, SSL_CERT_DIR (Go adds it to the system roots)
        assert vols["wd-internal-ca"]["configMap"] == {"name": CM, "items": [{"key": "ca.crt", "path": "ca.crt"}]}, name
        assert mounts["wd-internal-ca"] == {"name": "wd-internal-ca", "mountPath": "/etc/wd-internal-ca", "readOnly": True}, name
        assert env["SSL_CERT_DIR"] == "/etc/wd-internal-ca:/etc/ssl/certs", name
        if name in ("walt-issuer", "walt-wallet"):
            # the JVM: a truststore built at start from the same ConfigMap, by the same image
            init = next(c for c in ics if c["name"] == "vault-ca")
            assert init["image"] == main["image"]
            assert "keytool -importcert" in init["args"][0] and "/vault-ca/ca.crt" in init["args"][0]
            assert vols["vault-ca"]["configMap"]["name"] == CM
            sc = init["securityContext"]
            assert sc["runAsNonRoot"] is True and sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"] and sc["readOnlyRootFilesystem"] is True
            assert "-Djavax.net.ssl.trustStore=/truststore/cacerts" in env["JAVA_TOOL_OPTIONS"]
    # NetworkPolicies: the same peers, HBONE and the probes added only with the mesh
    _, _, _, base = render(profile, "off")
    mesh = option in ("mesh", "both")
    before = {d["metadata"]["name"]: d["spec"] for d in kinds(base, "NetworkPolicy")}
    after = {d["metadata"]["name"]: d["spec"] for d in kinds(docs, "NetworkPolicy")}
    assert set(before) == set(after)
    probe = {"from": [{"ipBlock": {"cidr": "169.254.7.127/32"}}]}
    for n, spec in after.items():
        b = before[n]
        if not mesh:
            assert spec == b, n
            continue
        for direction in ("ingress", "egress"):
            rules = spec.get(direction, [])
            if direction == "ingress" and "Ingress" in spec["policyTypes"]:
                assert rules[-1] == probe, n
                rules = rules[:-1]
            assert len(rules) == len(b.get(direction, [])), n
            for r, r0 in zip(rules, b.get(direction, [])):
                assert r.get("from") == r0.get("from") and r.get("to") == r0.get("to"), n
                if "ports" in r0:
                    assert r["ports"] == r0["ports"] + [{"protocol": "TCP", "port": 15008}], n
                else:
                    assert "ports" not in r, n


def test_checkov_finds_nothing_with_the_options_on(tmp_path):
    for profile in PROFILES:
        _, _, _, docs = render(profile, "both")
        d = tmp_path / profile
        d.mkdir()
        (d / "all.yaml").write_text("\n---\n".join(yaml.safe_dump(x) for _, x in docs))
    tc.assert_checkov_clean(tmp_path)


@pytest.mark.parametrize("profile", PROFILES)
def test_wd_verify_finds_no_error_with_the_options_on(profile):
    """The ConfigMap comes from terraform/workloads (like the ClusterIssuers from the platform):
    the orchestrator names it as external."""
    values, _, rendered, _ = render(profile, "both")
    text = "".join(f"---\n# Source: {p}\n{t}\n" for p, t in sorted(rendered.items()) if not p.endswith("NOTES.txt"))
    args = tv.orchestrator_flags(values) + ["--external", f"ConfigMap/{CM}", "--external", "ClusterIssuer/vault-internal"] + tv.NODES[profile]
    out = tv.plans(tv.PROFILES[profile])
    args += ["--render-plan", str(out / "render-plan.json"), "--secret-plan", str(out / "secrets" / "secret-plan.json")]
    report = tv.wd_verify(text, *args)
    tv.show(report)
    assert not tv.errors(report), [f["message"] for f in tv.errors(report)]


# ---------------------------------------------------------------------------------- Terraform


def platform():
    return {(t, n): b for t, n, b in resources(load_module(TF / "platform"))}


def test_the_cluster_issuer_names_what_wd_secrets_creates():
    """pki.tf and tools/wd-secrets/src/pki.rs (defaults) must agree: mount/role, auth role, service
    account, issuer name (= the audience Vault's role requires)."""
    rs = (tc.ROOT / "tools/wd-secrets/src/pki.rs").read_text()
    pol = (tc.ROOT / "tools/wd-secrets/src/policies.rs").read_text()

    def default(field):
        m = re.search(r'#\[arg\(long[^\]]*default_value = "([^"]+)"\)\]\s*pub ' + field + r":", rs)
        assert m, field
        return m.group(1)

    release = re.search(r'#\[arg\(long, default_value = "([^"]+)"\)\]\s*pub release:', pol).group(1)
    tf = (TF / "platform/pki.tf").read_text()
    local = dict(re.findall(r'^\s*(internal_ca_\w+)\s*=\s*"([^"]+)"', tf, re.M))
    assert local["internal_ca_issuer"] == default("pki_cluster_issuer")
    assert local["internal_ca_sa"] == default("pki_service_account")
    assert local["internal_ca_role"] == f"{release}-cert-manager"
    assert local["internal_ca_path"] == f"{default('pki_mount')}/sign/{default('pki_role')}"
    assert default("pki_namespace") == "cert-manager" and 'namespace = "cert-manager"' in tf
    res = platform()
    for name in ("internal_ca_sa", "internal_ca_token_role", "internal_ca_token_binding", "internal_ca_issuer"):
        assert unq(res[("kubectl_manifest", name)]["count"]) == "${local.internal_ca ? 1 : 0}"
    body = str(res[("kubectl_manifest", "internal_ca_issuer")]["yaml_body"])
    for want in ("serviceAccountRef", "mountPath", "/v1/auth/kubernetes", "local.vault_address"):
        assert want in body, want
    # the Vault address is the platform's output (http, or https with vault_tls: tests/terraform/test_vault_tls.py)
    assert "value       = local.vault_address" in (TF / "platform/outputs.tf").read_text()


def test_istio_releases_are_one_release_and_off_by_default():
    res = platform()
    versions = {n: unq(b["version"]) for (t, n), b in res.items() if t == "helm_release" and n in ("istio_base", "istiod", "istio_cni", "ztunnel")}
    assert set(versions.values()) == {"1.28.10"}, versions
    assert len(versions) == 4
    text = (TF / "platform/variables.tf").read_text()
    for v in ("internal_ca", "istio_ambient", "istio_mtls_strict"):
        block = text[text.index(f'variable "{v}"'):]
        block = block[: block.index("\n}\n")]
        assert "default     = false" in block, v
    wl = (TF / "workloads/main.tf").read_text()
    assert 'var.istio_ambient ? { "istio.io/dataplane-mode" = "ambient" } : {}' in wl
    concat = re.search(r"^\s*values = concat\((.*)\)$", wl, re.M).group(1)
    assert "local.internal_ca_values" in concat and "local.mesh_values" in concat, concat


def test_istio_cni_uses_the_k3s_paths_only_on_k3s():
    rel = facts()["releases"]["istio-cni"]
    texts = tf_texts([(VALUES / rel["values_file"], {"cluster_type": t}) for t in ("kind", "k3s", "eks")])
    kind, k3s, eks = (yaml.safe_load(t) for t in texts)
    assert kind == eks and "global" not in kind
    assert k3s["global"] == {"platform": "k3s"} and k3s["profile"] == "ambient"


UPSTREAM = os.environ.get("WD_UPSTREAM_CHARTS")


@pytest.mark.skipif(not UPSTREAM, reason="needs the upstream Istio charts (WD_UPSTREAM_CHARTS, tests/terraform/platform_facts.yaml)")
@pytest.mark.parametrize("cluster_type", ["kind", "k3s", "eks"])
def test_upstream_istio_charts_render_and_validate(cluster_type):  # pragma: no cover - needs the charts
    f = facts()["releases"]
    prof = "local" if cluster_type != "eks" else "prod"
    daemonsets = {}
    for name in ("istio-base", "istiod", "istio-cni", "ztunnel"):
        rel = f[name]
        vars_ = {k: (cluster_type if k == "cluster_type" else PROFILE_VARS[prof][k]) for k in rel["variables"]}
        (text,) = tf_texts([(VALUES / rel["values_file"], vars_)])
        with helm.Chart.load(pathlib.Path(UPSTREAM) / name) as ch:
            out = ch.render(yaml.safe_load(text) or {}, name=name, namespace="istio-system", is_install=True)
        for _, d in tc.load_docs({k: v for k, v in out.items() if not k.endswith("NOTES.txt")}):
            try:
                kubernetes_validate.validate(d, tc.KUBE_VERSION, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                assert d["kind"] in ("CustomResourceDefinition",) or "istio.io" in d["apiVersion"], d["apiVersion"]
            if d["kind"] == "DaemonSet":
                daemonsets[d["metadata"]["name"]] = d
            if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "istio-cni-config":
                assert d["data"]["AMBIENT_ENABLED"] == "true"
    cni = daemonsets["istio-cni-node"]["spec"]["template"]["spec"]
    paths = {v["name"]: v.get("hostPath", {}).get("path") for v in cni["volumes"]}
    want = ("/var/lib/rancher/k3s/data/cni", "/var/lib/rancher/k3s/agent/etc/cni/net.d") if cluster_type == "k3s" else ("/opt/cni/bin", "/etc/cni/net.d")
    assert paths["cni-bin-dir"] == want[0] and paths["cni-net-dir"] == want[1], paths
    assert "ztunnel" in daemonsets


def test_wd_verify_requires_the_callers_to_trust_the_internal_ca():
    """With the Ingresses' certificates from vault-internal (a private CA: the scenario's
    verify.selfSignedIssuers), the server-side callers of public https URLs (the app, the wallet)
    must trust it: wd-verify's call-path/tls finds them without the CA layer, nothing with it."""
    issuer = {"global": {"ingress": {"clusterIssuer": "vault-internal"}}}
    found = {}
    for option in ("off", "ca"):
        values, _, _, _ = tc.render_case("umbrella/prod")
        for layer in [issuer] + OPTIONS[option]:
            values = tc.deep_merge(values, layer)
        assert values["global"]["tls"] is True
        rendered = tc.render_chart(tc.CASES["umbrella/prod"][1], values, api_versions=(tc.ESO, "monitoring.coreos.com/v1"))
        text = "".join(f"---\n# Source: {p}\n{t}\n" for p, t in sorted(rendered.items()) if not p.endswith("NOTES.txt"))
        args = tv.orchestrator_flags(values) + ["--external", f"ConfigMap/{CM}", "--external", "ClusterIssuer/vault-internal"] + tv.NODES["prod"]
        out = tv.plans(tv.PROFILES["prod"])
        args += ["--render-plan", str(out / "render-plan.json"), "--secret-plan", str(out / "secrets" / "secret-plan.json")]
        found[option] = tv.errors(tv.wd_verify(text, *args), "call-path/tls")
    assert found["off"] and all("vault-internal" in f["message"] for f in found["off"]), found["off"]
    assert not found["ca"], [f["message"] for f in found["ca"]]


def test_the_local_profile_can_serve_https_with_the_internal_ca():
    """The local profile serves plain HTTP because the callers trust no self-signed CA
    (config/values/target-local.yaml, waltid-facts §2). With the internal CA: wd-render --set
    tls=true --set ingress.clusterIssuer=vault-internal and terraform/workloads' CA layer give
    https public URLs whose certificates every caller trusts (wd-verify: no error at all)."""
    layers = [tc.wd_render("tls=true", "ingress.clusterIssuer=vault-internal"), tc.values_file("values-local.yaml")]
    found = {}
    for option in ("off", "ca"):
        values = {}
        for layer in layers + OPTIONS[option]:
            values = tc.deep_merge(values, layer)
        assert values["global"]["tls"] is True and values["global"]["ingress"]["clusterIssuer"] == "vault-internal"
        rendered = tc.render_chart(tc.CASES["umbrella/local"][1], values, api_versions=(tc.ESO, "monitoring.coreos.com/v1"))
        docs = tc.load_docs(rendered)
        tls = [d for _, d in docs if d["kind"] == "Ingress" and d["spec"].get("tls")]
        assert tls and all(d["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "vault-internal" for d in tls)
        text = "".join(f"---\n# Source: {p}\n{t}\n" for p, t in sorted(rendered.items()) if not p.endswith("NOTES.txt"))
        args = tv.orchestrator_flags(values) + ["--external", f"ConfigMap/{CM}", "--external", "ClusterIssuer/vault-internal"] + tv.NODES["local"]
        found[option] = tv.errors(tv.wd_verify(text, *args))
    assert {f["check"] for f in found["off"]} == {"call-path/tls"}, [f["message"] for f in found["off"]]
    assert not found["ca"], [f["message"] for f in found["ca"]]


def test_strict_mtls_is_the_scenario_namespaces_and_every_caller_into_it_is_enrolled():
    """STRICT lives in the scenario's namespace only (terraform/workloads mesh.tf): a mesh-wide one
    would make an enrolled ingress-nginx refuse the outside world's plaintext. Every platform
    namespace whose pods call INTO that namespace joins the mesh (terraform/platform istio.tf),
    or STRICT refuses it: the callers wd-verify knows (config/scenarios/waltid.yaml verify: the
    ingress controller, Prometheus, the blackbox exporter, platform services that call in) and
    the CloudNativePG operator (it polls every instance's status port)."""
    wl = {(t, n): b for t, n, b in resources(load_module(TF / "workloads"))}
    pa = wl[("kubectl_manifest", "strict_mtls")]
    assert unq(pa["count"]) == "${var.istio_mtls_strict ? 1 : 0}"
    body = str(pa["yaml_body"])
    for want in ("security.istio.io/v1", "PeerAuthentication", "kubernetes_namespace_v1.workloads", "STRICT"):
        assert want in body, want
    res = platform()
    assert ("kubectl_manifest", "istio_strict") not in res, "no mesh-wide STRICT"
    labels = res[("kubernetes_labels", "istio_enrolled")]
    assert "var.istio_mtls_strict" in str(labels["for_each"]) and "istio.io/dataplane-mode" in str(labels["labels"])
    enrolled = set(re.findall(r"""['"]([a-z0-9-]+)['"]""", str(labels["for_each"]).split("toset(", 1)[1]))
    rules = yaml.safe_load((tc.ROOT / "config/scenarios/waltid.yaml").read_text())["verify"]
    callers = {rules[k]["namespace"] for k in ("ingressController", "prometheus", "blackbox")}
    callers |= {ps["namespace"] for ps in rules.get("platformServices", []) if ps.get("calls") or ps.get("secretCallers")}
    cnpg = res[("helm_release", "cloudnative_pg")]
    callers |= set(re.findall(r'ns\["([a-z-]+)"\]', str(cnpg["namespace"])))
    assert callers <= enrolled, (sorted(callers - enrolled), sorted(enrolled))
    assert "vault" in callers and "cnpg-system" in callers


def test_strict_mtls_without_the_mesh_is_refused_by_terraform(tmp_path):
    """The workloads variables with real terraform: STRICT needs istio_ambient."""
    from test_terraform import terraform

    text = (TF / "workloads/variables.tf").read_text()
    blocks = []
    for var in ("istio_ambient", "istio_mtls_strict"):
        start = text.index(f'variable "{var}"')
        blocks.append(text[start:text.index("\n}\n", start) + 3])
    mod = tmp_path / "mod"
    mod.mkdir()
    (mod / "main.tf").write_text("".join(blocks) + 'output "s" {\n  value = var.istio_mtls_strict\n}\n')
    env = dict(os.environ, TF_IN_AUTOMATION="1", TF_CLI_CONFIG_FILE="/dev/null")
    assert subprocess.run([terraform(), f"-chdir={mod}", "init", "-input=false"], capture_output=True, env=env).returncode == 0

    def plan(ambient, strict):
        return subprocess.run([terraform(), f"-chdir={mod}", "plan", "-input=false", "-no-color", "-var", f"istio_ambient={ambient}", "-var", f"istio_mtls_strict={strict}"], capture_output=True, text=True, env=env)

    for ok in (("false", "false"), ("true", "false"), ("true", "true")):
        assert plan(*ok).returncode == 0, ok
    p = plan("false", "true")
    assert p.returncode != 0 and "istio_mtls_strict needs istio_ambient = true" in p.stderr, p.stderr


def test_internal_ca_pem_path_is_validated_by_terraform(tmp_path):
    """The workloads variable with real terraform: empty (off) and a PEM pass; a missing file or
    one that is no certificate fail with the variable's message."""
    from test_terraform import terraform

    text = (TF / "workloads/variables.tf").read_text()
    start = text.index('variable "internal_ca_pem_path"')
    end = text.index("\n}\n", start) + 3
    mod = tmp_path / "mod"
    mod.mkdir()
    (mod / "main.tf").write_text(text[start:end] + 'output "p" {\n  value = var.internal_ca_pem_path\n}\n')
    pem = tmp_path / "ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    junk = tmp_path / "junk.txt"
    junk.write_text("not a certificate\n")
    env = dict(os.environ, TF_IN_AUTOMATION="1", TF_CLI_CONFIG_FILE="/dev/null")
    assert subprocess.run([terraform(), f"-chdir={mod}", "init", "-input=false"], capture_output=True, env=env).returncode == 0

    def plan(value):
        return subprocess.run([terraform(), f"-chdir={mod}", "plan", "-input=false", "-no-color", "-var", f"internal_ca_pem_path={value}"], capture_output=True, text=True, env=env)

    for ok in ("", str(pem)):
        p = plan(ok)
        assert p.returncode == 0, (ok, p.stderr)
    for bad in (str(junk), str(tmp_path / "missing.pem")):
        p = plan(bad)
        assert p.returncode != 0 and "internal_ca_pem_path must be a PEM certificate file" in p.stderr, (bad, p.stderr)
