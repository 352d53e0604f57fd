"""Chart tests on the real Helm v4 engine (helm-python-sdk): lint, render every chart and the
umbrella for default / wd-render / local / prod values and toggles, validate every object with
kubernetes-validate (strict, Kubernetes 1.30), scan with checkov, and assert what a reviewer
would check. Writes the summary to docs/charts.md."""

import copy
import functools
import json
import os
import pathlib
import re
import subprocess
import tempfile

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

import chartfiles
import schemagen

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = (ROOT / os.environ.get("WD_BIN", "target/debug")).resolve()
CHARTS = ROOT / "charts"
SUBCHARTS = ["walt-issuer", "walt-verifier", "walt-wallet", "verifiably-go", "keycloak", "wso2is", "libretranslate", "redis"]
WALTID = {"walt-issuer", "walt-verifier", "walt-wallet"}
UMBRELLA = CHARTS / "umbrella" / "waltid"
KUBE_VERSION = "1.30.0"
RELEASE, NAMESPACE = "waltid", "waltid"
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|_KEY$|PASSPHRASE)")


def deep_merge(base, over):
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


@functools.lru_cache(maxsize=None)
def build_dependencies():
    # update, not build: a Chart.lock left from an older Chart.yaml (git-ignored) must not stop
    # the tests; every dependency is file:// (offline).
    for c in SUBCHARTS:
        helm.dependency_update(str(CHARTS / c), skip_refresh=True)
    helm.dependency_update(str(UMBRELLA), skip_refresh=True)
    return True


# ESO's CRD, as a cluster with the platform installed serves it (`helm template --api-versions`).
ESO = "external-secrets.io/v1beta1"


def render_chart(chart, values, api_versions=(ESO,)):
    """Render like `helm install` against a cluster that serves `api_versions` (Capabilities).
    helm-python's Chart.render has no api_versions argument; its native call takes the option."""
    from helm_python import _native
    with helm.Chart.load(str(chart)) as ch:
        opts = {"name": RELEASE, "namespace": NAMESPACE, "api_versions": list(api_versions), "kube_version": KUBE_VERSION}
        return json.loads(_native.call_string("helm_render", ch._raw(), json.dumps(values), json.dumps(opts)))


@functools.lru_cache(maxsize=None)
def wd_render(*sets, target="local"):
    """The umbrella values wd-render writes for the reference stack (--target, --set flags)."""
    inv = subprocess.run([str(BIN / "wd-inventory"), "--scenario", "waltid", "-q"], cwd=ROOT, check=True, capture_output=True).stdout
    with tempfile.TemporaryDirectory() as d:
        args = [str(BIN / "wd-render"), "--target", target, "--out", d, "-q"]
        for s in sets:
            args += ["--set", s]
        subprocess.run(args, cwd=ROOT, input=inv, check=True, capture_output=True)
        return yaml.safe_load((pathlib.Path(d) / "helm/values-waltid.yaml").read_text())


def values_file(name):
    return yaml.safe_load((UMBRELLA / name).read_text())


# (case id, chart dir, list of value layers as callables, which values profile it represents)
def cases():
    out = []
    for c in SUBCHARTS:
        out.append((f"{c}/default", CHARTS / c, lambda: [], "default"))
    out.append(("walt-wallet/hpa", CHARTS / "walt-wallet", lambda: [{"autoscaling": {"enabled": True}, "pdb": {"enabled": True}}], "toggle"))
    out.append(("verifiably-go/hpa", CHARTS / "verifiably-go", lambda: [{"autoscaling": {"enabled": True}, "redis": {"enabled": True}, "state": {"accessMode": "ReadWriteMany"}}], "toggle"))
    out.append(("redis/persistence", CHARTS / "redis", lambda: [{"persistence": {"enabled": True}}], "toggle"))
    for c in ["walt-issuer", "walt-verifier"]:
        out.append((f"{c}/redis+hpa", CHARTS / c, (lambda c=c: [wd_render("persistence.redis.enabled=true")[c], {"autoscaling": {"enabled": True}, "pdb": {"enabled": True}}]), "toggle"))
    u = UMBRELLA
    out += [
        ("umbrella/default", u, lambda: [], "default"),
        ("umbrella/rendered", u, lambda: [wd_render()], "rendered"),
        # what `k8s-deploy.sh up --target=local|onprem|aws` passes: wd-render --target T, then the profile
        ("umbrella/local", u, lambda: [wd_render(), values_file("values-local.yaml")], "local"),
        ("umbrella/prod-alone", u, lambda: [values_file("values-prod.yaml")], "prod"),
        ("umbrella/prod", u, lambda: [wd_render(target="onprem"), values_file("values-prod.yaml")], "prod"),
        ("umbrella/prod-aws", u, lambda: [wd_render(target="aws"), values_file("values-prod.yaml")], "prod"),
        ("umbrella/prod-terraform", u, lambda: [wd_render(target="onprem"), values_file("values-prod.yaml"), {"externalSecrets": {"enabled": False}}], "prod"),
        ("umbrella/backups", u, lambda: [wd_render(), {"postgres": {"backup": {"enabled": True}}}], "toggle"),
        ("umbrella/no-ingress", u, lambda: [wd_render(), {"ingress": {"enabled": False}}], "toggle"),
        ("umbrella/redis-off-hpa-on", u, lambda: [wd_render(), {"walt-wallet": {"autoscaling": {"enabled": True}}}], "toggle"),
        ("umbrella/redis-on-hpa-off", u, lambda: [wd_render("persistence.redis.enabled=true"), {"walt-issuer": {"persistence": {"redis": {"enabled": True}}}}], "toggle"),
    ]
    return out


CASES = {c[0]: c for c in cases()}


def load_docs(rendered):
    docs = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        for d in yaml.safe_load_all(text):
            if d:
                docs.append((path, d))
    return docs


@functools.lru_cache(maxsize=None)
def render_case(case_id):
    build_dependencies()
    _, chart, layers, _ = CASES[case_id]
    values = {}
    for layer in layers():
        values = deep_merge(values, layer)
    lint = helm.lint(str(chart), values, strict=True, namespace=NAMESPACE, kube_version=KUBE_VERSION)
    # Load the chart fresh for every render: a false subchart condition mutates a loaded chart.
    rendered = render_chart(chart, values)
    return values, lint, rendered, load_docs(rendered)


def containers(doc):
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    return spec, spec.get("containers", []), spec.get("initContainers", [])


@pytest.mark.parametrize("case_id", list(CASES))
def test_lint_render_validate_and_assert(case_id):
    values, lint, rendered, docs = render_case(case_id)
    # lint: errors and warnings fail (a failed `required` only warns in lint; render raised above)
    bad = [m for m in lint["messages"] if m["severity"] >= 2] + lint.get("errors", [])
    assert not bad, bad
    assert docs, "renders objects"
    for path, d in docs:
        try:
            kubernetes_validate.validate(d, KUBE_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            # custom resources (Cluster, ExternalSecret, ServiceMonitor): no schema offline
            assert d["apiVersion"].split("/")[0] in {"postgresql.cnpg.io", "external-secrets.io", "monitoring.coreos.com"}, d["apiVersion"]
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{path}: {d['kind']} {d['metadata']['name']}: {str(e).splitlines()[0]}")
        assert d["metadata"].get("namespace") == NAMESPACE or d["kind"] in {"ClusterRole"}, f"{d['kind']} {d['metadata']['name']} has no namespace"
        if d["kind"] == "Secret":
            assert not d.get("data") and not d.get("stringData"), f"Secret {d['metadata']['name']} carries data"
        if d["kind"] == "Ingress":
            hosts = [r.get("host") for r in d["spec"]["rules"]]
            assert all(hosts), f"Ingress {d['metadata']['name']} without a host"
            ann = d["metadata"].get("annotations", {})
            cm = [k for k in ann if k.startswith("cert-manager.io/")]
            if values.get("global", {}).get("tls") is True:
                assert len(cm) == 1 and d["spec"].get("tls"), cm
            else:
                # plain HTTP (local profile): no certificate, no redirect to https (the wallet does not follow it)
                assert not cm and not d["spec"].get("tls"), f"{d['metadata']['name']}: TLS without global.tls"
                assert ann.get("nginx.ingress.kubernetes.io/ssl-redirect") == "false"
        if d["kind"] != "Deployment":
            continue
        name = d["metadata"]["labels"]["app.kubernetes.io/name"]
        spec, cs, inits = containers(d)
        assert spec["automountServiceAccountToken"] is False
        psc = spec["securityContext"]
        assert psc["runAsNonRoot"] is True and psc["seccompProfile"]["type"] == "RuntimeDefault"
        for c in cs + inits:
            r = c["resources"]
            for k in ["cpu", "memory"]:
                assert k in r["requests"] and k in r["limits"], f"{name}/{c['name']}: resources.{k}"
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"], f"{name}/{c['name']}"
            for e in c.get("env", []):
                assert e["name"] != "JAVA_OPTS", f"{name}: JAVA_OPTS is ignored by the images; use JAVA_TOOL_OPTIONS"
                if SECRET_NAME.search(e["name"]):
                    assert "valueFrom" in e and "value" not in e, f"{name}: {e['name']} is a literal credential"
        for c in cs:
            for p in ["startupProbe", "readinessProbe", "livenessProbe"]:
                assert p in c, f"{name}: no {p}"
        if name in WALTID:
            c = cs[0]
            assert spec["securityContext"]["runAsUser"] == 10001
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert any(m["mountPath"] == "/tmp" for m in c["volumeMounts"])
            for p in ["startupProbe", "readinessProbe", "livenessProbe"]:
                assert c[p]["httpGet"]["path"] == "/livez", f"{name}: {p} must probe /livez (/ answers 302)"
            assert c["startupProbe"]["failureThreshold"] * c["startupProbe"]["periodSeconds"] >= 120
            assert any(e["name"] == "JAVA_TOOL_OPTIONS" for e in c["env"])
            # the port is the rendered web.conf's webPort
            cm = next(x for _, x in docs if x["kind"] == "ConfigMap" and x["metadata"]["name"] == d["metadata"]["name"] + "-config")
            port = int(re.search(r"webPort\s*=\s*\"?(\d+)", cm["data"]["web.conf"]).group(1))
            assert c["ports"][0]["containerPort"] == port
            if name == "walt-wallet":
                assert "recreateDatabaseOnStart = false" in cm["data"]["db.conf"]


def test_checkov_finds_nothing(tmp_path):
    """checkov --framework kubernetes on every rendered case: 0 failed checks."""
    for case_id in CASES:
        _, _, _, docs = render_case(case_id)
        d = tmp_path / case_id.replace("/", "__")
        d.mkdir()
        (d / "all.yaml").write_text("\n---\n".join(yaml.safe_dump(x) for _, x in docs))
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CKV_SKIP_PACKAGE_UPDATE_CHECK="TRUE")
    checkov = pathlib.Path(os.environ.get("CHECKOV", ROOT / ".venv/bin/checkov"))
    p = subprocess.run([str(checkov), "-d", str(tmp_path), "--framework", "kubernetes", "--skip-download", "--quiet", "--compact", "-o", "json"], capture_output=True, text=True, env=env)
    out = json.loads(p.stdout)
    reports = out if isinstance(out, list) else [out]
    failed = [(c["check_id"], c["resource"], c["file_path"]) for r in reports for c in r["results"].get("failed_checks", [])]
    assert reports[0]["summary"]["resource_count"] > 0
    assert not failed, "\n".join(map(str, failed))


@pytest.mark.parametrize("chart,values,message", [
    ("walt-issuer", {"replicaCount": 2}, "walt-issuer: replicaCount > 1 or autoscaling needs persistence.redis.enabled=true"),
    ("walt-verifier", {"replicaCount": 2}, "walt-verifier: replicaCount > 1 or autoscaling needs persistence.redis.enabled=true"),
    ("walt-issuer", {"autoscaling": {"enabled": True}}, "a second replica breaks flows started on the first"),
    ("walt-verifier", {"replicaCount": 3, "persistence": {"redis": {"enabled": True}}, "config": {"files": {"web.conf": "webPort = 7003\n"}}}, "the config files have no persistence.conf"),
    ("verifiably-go", {"autoscaling": {"enabled": True}}, "verifiably-go: replicaCount > 1 or autoscaling needs redis.enabled=true"),
    ("verifiably-go", {"replicaCount": 2, "redis": {"enabled": True}}, "set state.accessMode=ReadWriteMany"),
    ("redis", {"replicaCount": 2}, "redis: one instance only"),
    ("redis", {"existingSecret": ""}, "redis: set existingSecret to the name of an existing Secret"),
    ("walt-wallet", {"config": {"files": {"db.conf": "recreateDatabaseOnStart = true\n"}}}, "recreateDatabaseOnStart = true"),
    ("walt-wallet", {"existingSecret": ""}, "walt-wallet: set existingSecret to the name of an existing Secret"),
    ("walt-wallet", {"database": {"existingSecret": ""}}, "set database.existingSecret"),
    ("walt-wallet", {"image": {"tag": ""}}, "walt-wallet: set image.tag"),
    ("verifiably-go", {"config": {"files": {"auth-providers.json": "{}", "backends.json": "{}"}}}, "auth-providers.json must be a JSON array"),
    ("keycloak", {"host": ""}, "keycloak: set host"),
])
def test_wrong_values_fail_with_a_clear_message(chart, values, message):
    build_dependencies()
    with helm.Chart.load(str(CHARTS / chart)) as ch:
        with pytest.raises(helm.HelmError) as e:
            ch.render(values, name=RELEASE, namespace=NAMESPACE)
    assert message in str(e.value)


@pytest.mark.parametrize("values", [{"walt-wallet": {"replicas": 2}}, {"walt-wallet": {"replicaCount": "two"}}, {"ingres": {}}, {"postgres": {"instances": "3"}}])
def test_schemas_reject_typos_and_wrong_types(values):
    build_dependencies()
    with helm.Chart.load(str(UMBRELLA)) as ch:
        with pytest.raises(helm.HelmError) as e:
            ch.render(values, name=RELEASE, namespace=NAMESPACE)
    assert "don't meet the specifications of the schema" in str(e.value)


def test_wd_render_values_validate_against_the_umbrella_schema():
    import jsonschema
    schema = json.loads((UMBRELLA / "values.schema.json").read_text())
    for sets in [(), ("persistence.redis.enabled=true",)]:
        v = wd_render(*sets)
        jsonschema.Draft202012Validator(schema).validate(v)
        for c in SUBCHARTS:
            sub = json.loads((CHARTS / c / "values.schema.json").read_text())
            jsonschema.Draft202012Validator(sub).validate(v[c])


def test_generated_files_are_current():
    assert chartfiles.current() == chartfiles.expected(BIN), "charts/*/files/config is stale: run `make chart-files`"
    for c in schemagen.charts():
        assert (c / "values.schema.json").read_text() == schemagen.schema_for(c), f"{c}/values.schema.json is stale: run `make chart-schemas`"


def test_secret_names_are_the_secret_plans():
    """Chart defaults name the Secrets of config/secrets.yaml, and every Secret a pod of the
    rendered umbrella references is created by an ExternalSecret."""
    plan = {s["k8sSecret"]: s for s in yaml.safe_load((ROOT / "config/secrets.yaml").read_text())["secrets"]}
    for c in SUBCHARTS:
        text = (CHARTS / c / "values.yaml").read_text()
        for name in re.findall(r"existingSecret: (\S+)", text):
            assert name in plan, f"{c}: {name} is not in config/secrets.yaml"
    _, _, _, docs = render_case("umbrella/prod")
    created = {d["spec"]["target"]["name"]: {x["secretKey"] for x in d["spec"]["data"]} | set((d["spec"]["target"].get("template") or {}).get("data", {})) for _, d in docs if d["kind"] == "ExternalSecret"}
    for _, d in docs:
        if d["kind"] != "Deployment":
            continue
        spec, cs, inits = containers(d)
        refs = [(e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"]) for c in cs + inits for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})]
        refs += [(v["secret"]["secretName"], i["key"]) for v in spec.get("volumes", []) if "secret" in v for i in v["secret"].get("items", [])]
        for secret, key in refs:
            assert secret in created, f"{d['metadata']['name']} needs Secret {secret}, which no ExternalSecret creates"
            assert key in created[secret], f"{d['metadata']['name']} needs {secret}/{key}, which its ExternalSecret does not write"


def test_every_dependency_edge_has_a_network_policy():
    """Each depends_on of the reference compose stack maps to an allow rule (caddy is the ingress).
    The app reaches walt.id and the IdPs through their PUBLIC URLs (backends.json,
    auth-providers.json): those edges are app -> ingress controller -> service, and no direct
    pod-to-pod rule may exist for them (issue 9 item 17: unused direct edges)."""
    inv = json.loads(subprocess.run([str(BIN / "wd-inventory"), "-f", "config/reference/waltid/docker-compose.yaml", "--all", "-q"], cwd=ROOT, check=True, capture_output=True).stdout)
    chart = {"issuer-api": "walt-issuer", "verifier-api": "walt-verifier", "wallet-api": "walt-wallet", "keycloak": "keycloak", "wso2is": "wso2is", "libretranslate": "libretranslate", "verifiably-go": "verifiably-go", "postgres": "postgres"}
    _, _, _, docs = render_case("umbrella/rendered")
    pols = [d for _, d in docs if d["kind"] == "NetworkPolicy"]

    def selects(p, c):
        labels = p["spec"]["podSelector"].get("matchLabels", {})
        return labels.get("app.kubernetes.io/name") == c or (c == "postgres" and "cnpg.io/cluster" in labels)

    def peer_is(peer, c):
        labels = peer.get("podSelector", {}).get("matchLabels", {})
        return labels.get("app.kubernetes.io/name") == c or (c == "postgres" and "cnpg.io/cluster" in labels)

    edges = [(s["name"], d["service"]) for s in inv["services"] for d in s["dependsOn"]]
    assert edges, "the reference stack has dependencies"
    values = render_case("umbrella/rendered")[0]
    app_files = values["verifiably-go"]["config"]["files"]
    public_hosts = {values[c]["host"]: c for c in chart.values() if c in values and values[c].get("host")}
    called_by_app = {public_hosts[h] for h in re.findall(r'"https?://([^/"]+)', app_files["backends.json"] + app_files["auth-providers.json"]) if h in public_hosts}
    assert called_by_app >= {"walt-issuer", "walt-verifier", "walt-wallet", "keycloak"}, called_by_app

    def via_ingress(src, dst):
        out = any(selects(p, src) and any("namespaceSelector" in t for r in p["spec"].get("egress", []) for t in r["to"]) for p in pols)
        into = any(selects(p, dst) and any("namespaceSelector" in f for r in p["spec"].get("ingress", []) for f in r["from"]) for p in pols)
        return out and into

    for src, dst in edges:
        if src == "verifiably-go" and chart[dst] in called_by_app:
            assert via_ingress("verifiably-go", chart[dst]), f"verifiably-go -> ingress controller -> {dst}"
            assert not any(selects(p, "verifiably-go") and any(peer_is(t, chart[dst]) for r in p["spec"].get("egress", []) for t in r["to"]) for p in pols), f"unused direct edge verifiably-go -> {dst}"
            continue
        if dst == "caddy":
            assert any(selects(p, chart[src]) and any("namespaceSelector" in f for r in p["spec"].get("ingress", []) for f in r["from"]) for p in pols), f"ingress controller -> {src}"
            continue
        a, b = chart[src], chart[dst]
        assert any(selects(p, a) and any(peer_is(t, b) for r in p["spec"].get("egress", []) for t in r["to"]) for p in pols), f"egress {a} -> {b}"
        assert any(selects(p, b) and any(peer_is(f, a) for r in p["spec"].get("ingress", []) for f in r["from"]) for p in pols), f"ingress {a} -> {b}"
    assert any(p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"} and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in pols), "default deny"


def quantity(q):
    q = str(q)
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "m": 1e-3}
    for u, f in units.items():
        if q.endswith(u):
            return float(q[: -len(u)]) * f
    return float(q)


def totals(docs):
    kinds, req_cpu, req_mem, lim_cpu, lim_mem = {}, 0.0, 0.0, 0.0, 0.0
    hpa_min = {d["spec"]["scaleTargetRef"]["name"]: d["spec"]["minReplicas"] for _, d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    for _, d in docs:
        kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
        if d["kind"] == "Deployment":
            n = hpa_min.get(d["metadata"]["name"], d["spec"].get("replicas", 1))
            for c in d["spec"]["template"]["spec"]["containers"]:
                r = c["resources"]
                req_cpu += n * quantity(r["requests"]["cpu"])
                req_mem += n * quantity(r["requests"]["memory"])
                lim_cpu += n * quantity(r["limits"]["cpu"])
                lim_mem += n * quantity(r["limits"]["memory"])
        if d["kind"] == "Cluster":
            n = d["spec"]["instances"]
            r = d["spec"]["resources"]
            req_cpu += n * quantity(r["requests"]["cpu"])
            req_mem += n * quantity(r["requests"]["memory"])
            lim_cpu += n * quantity(r["limits"]["cpu"])
            lim_mem += n * quantity(r["limits"]["memory"])
    return kinds, req_cpu, req_mem, lim_cpu, lim_mem


def test_summary_is_written_to_docs():
    rows = []
    for case_id in ["umbrella/default", "umbrella/rendered", "umbrella/local", "umbrella/prod"] + [f"{c}/default" for c in SUBCHARTS]:
        _, _, _, docs = render_case(case_id)
        kinds, rc, rm, lc, lm = totals(docs)
        rows.append((case_id, ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())), rc, rm / 2**30, lc, lm / 2**30))
    local = next(r for r in rows if r[0] == "umbrella/local")
    assert local[3] <= 4.0, f"local profile requests {local[3]:.2f} GiB: too much for one 8 GiB kind node with the platform"
    lines = [
        "# Charts: what they render",
        "",
        "Written by the chart tests (`make test`, tests/charts/test_charts.py) from the Helm v4 engine's",
        "rendering; CPU in cores, memory in GiB; requests × replicas (HPA: minReplicas); Postgres = CNPG instances.",
        "",
        "| values | objects | CPU requests | memory requests | CPU limits | memory limits |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for case_id, kinds, rc, rm, lc, lm in rows:
        lines.append(f"| {case_id} | {kinds} | {rc:.2f} | {rm:.2f} | {lc:.2f} | {lm:.2f} |")
    lines += ["", f"Local profile (`values-local.yaml` over wd-render's values): {local[3]:.2f} GiB of memory requests for the walt.id",
              "scenario; the platform's share of the 6 GiB goal is budgeted by the Terraform platform module.", ""]
    skips = []
    for c in SUBCHARTS:
        for s in yaml.safe_load((CHARTS / c / "values.yaml").read_text()).get("checkovSkips", []):
            skips.append(f"- `{c}`: {s.split('=', 1)[0]} — {s.split('=', 1)[1]}")
    lines += ["## Checkov skips (each an annotation on the Deployment, with its reason)", ""] + skips + [""]
    (ROOT / "docs" / "charts.md").write_text("\n".join(lines))
