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
# The scenario's components and addons by chart: config/scenarios/waltid.yaml, the one home.
SCENARIO = yaml.safe_load((ROOT / "config/scenarios/waltid.yaml").read_text())["render"]
COMPONENTS = {c["chart"]: c for c in [*SCENARIO["components"].values(), *SCENARIO["addons"].values()]}
SUBCHARTS = list(COMPONENTS)
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
    out.append(("verifiably-go/hpa", CHARTS / "verifiably-go", lambda: [{"autoscaling": {"enabled": True}, "redis": {"enabled": True}, "database": {"enabled": True}}], "toggle"))
    out.append(("verifiably-go/hpa-rwx", CHARTS / "verifiably-go", lambda: [{"autoscaling": {"enabled": True}, "redis": {"enabled": True}, "state": {"accessMode": "ReadWriteMany"}}], "toggle"))
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


# API groups of the custom resources the charts render with every option: kubernetes-validate
# has no schema for them offline (their own tests check them: CRD facts, cloudcoil models).
CR_GROUPS = {"postgresql.cnpg.io", "external-secrets.io", "generators.external-secrets.io", "monitoring.coreos.com", "cert-manager.io", "keda.sh"}


def assert_lint_clean(chart, values, namespace=None):
    """helm lint --strict: no warning or error (a failed `required` only warns in lint)."""
    lint = helm.lint(str(chart), values, strict=True, namespace=namespace or NAMESPACE, kube_version=KUBE_VERSION)
    bad = [m for m in lint["messages"] if m["severity"] >= 2] + lint.get("errors", [])
    assert not bad, bad


def validate_strict(docs, groups=CR_GROUPS):
    """kubernetes-validate strict on every (path, doc); a custom resource only warns there, and
    its API group must be one of `groups`."""
    for _, d in docs:
        try:
            kubernetes_validate.validate(d, KUBE_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            assert d["apiVersion"].split("/")[0] in groups, d["apiVersion"]


def field_paths(obj, prefix=""):
    """Field paths of an object below metadata (list items as []), e.g. `spec.triggers[].type`:
    what the CRD facts files record as verified against a pinned CRD."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = f"{prefix}.{k}" if prefix else k
            if p != "metadata":
                yield p
                yield from field_paths(v, p)
    elif isinstance(obj, list):
        for v in obj:
            yield from field_paths(v, prefix + "[]")


def checkov(directory):
    """checkov --framework kubernetes on every file under `directory` (offline, as CI runs it):
    (the first report's summary, the failed checks as (check id, resource, file))."""
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CKV_SKIP_PACKAGE_UPDATE_CHECK="TRUE")
    binary = pathlib.Path(os.environ.get("CHECKOV", ROOT / ".venv/bin/checkov"))
    p = subprocess.run([str(binary), "-d", str(directory), "--framework", "kubernetes", "--skip-download", "--quiet", "--compact", "-o", "json"], capture_output=True, text=True, env=env)
    assert p.stdout.strip(), p.stderr[-2000:]
    out = json.loads(p.stdout)
    reports = out if isinstance(out, list) else [out]
    failed = [(c["check_id"], c["resource"], c["file_path"]) for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    # with nothing to scan checkov prints its bare summary instead of a report
    return reports[0].get("summary", reports[0]), failed


def assert_checkov_clean(directory):
    """Some resources scanned and no check failed."""
    summary, failed = checkov(directory)
    assert summary["resource_count"] > 0, summary
    assert not failed, "\n".join(map(str, failed))


def test_checkov_finds_nothing(tmp_path):
    """checkov --framework kubernetes on every rendered case: 0 failed checks."""
    for case_id in CASES:
        _, _, _, docs = render_case(case_id)
        d = tmp_path / case_id.replace("/", "__")
        d.mkdir()
        (d / "all.yaml").write_text("\n---\n".join(yaml.safe_dump(x) for _, x in docs))
    assert_checkov_clean(tmp_path)


@pytest.mark.parametrize("chart,values,message", [
    ("walt-issuer", {"replicaCount": 2}, "walt-issuer: replicaCount > 1 or autoscaling needs persistence.redis.enabled=true"),
    ("walt-verifier", {"replicaCount": 2}, "walt-verifier: replicaCount > 1 or autoscaling needs persistence.redis.enabled=true"),
    ("walt-issuer", {"autoscaling": {"enabled": True}}, "a second replica breaks flows started on the first"),
    ("walt-verifier", {"replicaCount": 3, "persistence": {"redis": {"enabled": True}}, "config": {"files": {"web.conf": "webPort = 7003\n"}}}, "the config files have no persistence.conf"),
    ("verifiably-go", {"autoscaling": {"enabled": True}}, "verifiably-go: replicaCount > 1 or autoscaling needs redis.enabled=true"),
    ("verifiably-go", {"replicaCount": 2, "redis": {"enabled": True}}, "database.enabled=true (VERIFIABLY_DATABASE_URL, Postgres) or a state dir on state.accessMode=ReadWriteMany"),
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


def test_umbrella_templates_do_not_restate_the_scenarios_components():
    """The scenario is the one home of a component's chart and port (STYLE "One home per fact",
    issue 11): the umbrella's templates range over the `components` table (wd-render's values, or
    files/components.yaml on pure defaults). No template states a port the scenario holds or lists
    charts; _helpers.tpl names no chart at all (a template names a chart only for an edge of its own)."""
    ports = {str(c[k]) for c in COMPONENTS.values() for k in ("port", "k8sPort") if k in c}
    name = {c: re.compile(rf"(?<![\w.-]){re.escape(c)}(?![\w-])") for c in COMPONENTS}
    found = []
    for tpl in sorted((UMBRELLA / "templates").iterdir()):
        for n, line in enumerate(tpl.read_text().splitlines(), 1):
            where = f"{tpl.relative_to(ROOT)}:{n}"
            found += [f"{where}: port {p}" for p in ports if re.search(rf"(?<![\w.]){p}(?![\w.])", line)]
            named = [c for c in COMPONENTS if name[c].search(line)]
            if tpl.name == "_helpers.tpl" and named:
                found.append(f"{where}: names {named}")
            for lst in re.findall(r'\blist((?:\s+"[^"]*")+)', line):
                listed = [c for c in COMPONENTS if f'"{c}"' in lst]
                if listed:
                    found.append(f"{where}: lists {listed}")
    assert not found, "the umbrella restates config/scenarios/waltid.yaml (use the components table):\n" + "\n".join(found)


def test_umbrella_ports_and_public_hosts_come_from_the_components_table():
    """Pure defaults read files/components.yaml (Keycloak's Kubernetes port 8080, not its compose
    8180); a `components` value (wd-render's) is what the Ingresses and NetworkPolicies follow."""
    def ingress_port(docs, chart):
        np = next(d for _, d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == f"{RELEASE}-ingress-to-{chart}")
        return np["spec"]["ingress"][0]["ports"][0]["port"]
    build_dependencies()
    defaults = load_docs(render_chart(UMBRELLA, {}))
    for chart, c in COMPONENTS.items():
        if c.get("public"):
            assert ingress_port(defaults, chart) == c.get("k8sPort", c["port"]), chart
    assert ingress_port(defaults, "keycloak") == 8080
    ingresses = {d["metadata"]["name"] for _, d in defaults if d["kind"] == "Ingress"}
    assert ingresses == {f"{RELEASE}-{ch}" for ch, c in COMPONENTS.items() if c.get("public")}
    values = copy.deepcopy(wd_render())
    values["components"]["keycloak"]["port"] = 8081
    values["components"]["wso2is"]["public"] = False
    docs = load_docs(render_chart(UMBRELLA, values))
    assert ingress_port(docs, "keycloak") == 8081
    assert f"{RELEASE}-wso2is" not in {d["metadata"]["name"] for _, d in docs if d["kind"] == "Ingress"}


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


def pod_resources(spec):
    """What the scheduler reserves for one pod: per resource, max(sum of containers, largest init
    container) (init containers run one at a time, before the others)."""
    out = {}
    for kind in ["requests", "limits"]:
        for res in ["cpu", "memory"]:
            run = sum(quantity(c["resources"][kind][res]) for c in spec.get("containers", []))
            init = max([quantity(c["resources"][kind][res]) for c in spec.get("initContainers", [])] or [0])
            out[(kind, res)] = max(run, init)
    return out


def totals(docs):
    """(object kinds, CPU requests, memory requests, CPU limits, memory limits) of a rendering:
    Deployments x replicas (HPA: minReplicas), init containers included, CNPG instances."""
    kinds, sums = {}, {("requests", "cpu"): 0.0, ("requests", "memory"): 0.0, ("limits", "cpu"): 0.0, ("limits", "memory"): 0.0}
    hpa_min = {d["spec"]["scaleTargetRef"]["name"]: d["spec"]["minReplicas"] for _, d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    for _, d in docs:
        kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
        if d["kind"] == "Deployment":
            n = hpa_min.get(d["metadata"]["name"], d["spec"].get("replicas", 1))
            for k, v in pod_resources(d["spec"]["template"]["spec"]).items():
                sums[k] += n * v
        if d["kind"] == "Cluster":
            n = d["spec"]["instances"]
            for k in sums:
                sums[k] += n * quantity(d["spec"]["resources"][k[0]][k[1]])
    return kinds, sums[("requests", "cpu")], sums[("requests", "memory")], sums[("limits", "cpu")], sums[("limits", "memory")]


# Issue 9 item 20: one 8 GiB kind node holds kube-system (~0.28 GiB), the platform's local profile
# and this scenario within 6 GiB of requests; the scenario's share is 2.9 GiB. Limits: the sum may
# overcommit the node, but not by more than the node itself holds for workloads.
LOCAL_REQUESTS_GIB, LOCAL_LIMITS_GIB = 2.9, 6.0


def test_local_profile_fits_its_memory_budget():
    """Every container, init containers included, has memory requests and limits, and the local
    profile's sums stay within the budget (issue 9 item 20)."""
    for case_id in ["umbrella/local", "umbrella/prod"]:
        for _, d in render_case(case_id)[3]:
            if d["kind"] == "Deployment":
                spec, cs, inits = containers(d)
                for c in cs + inits:
                    r = c.get("resources", {})
                    assert r.get("requests", {}).get("memory") and r.get("limits", {}).get("memory"), f"{case_id}: {d['metadata']['name']}/{c['name']} has no memory request/limit"
    _, _, req, _, lim = totals(render_case("umbrella/local")[3])
    assert req / 2**30 <= LOCAL_REQUESTS_GIB, f"local memory requests {req / 2**30:.2f} GiB > {LOCAL_REQUESTS_GIB} GiB"
    assert lim / 2**30 <= LOCAL_LIMITS_GIB, f"local memory limits {lim / 2**30:.2f} GiB > {LOCAL_LIMITS_GIB} GiB"


def test_summary_is_written_to_docs():
    rows = []
    for case_id in ["umbrella/default", "umbrella/rendered", "umbrella/local", "umbrella/prod", "umbrella/prod-aws"] + [f"{c}/default" for c in SUBCHARTS]:
        _, _, _, docs = render_case(case_id)
        kinds, rc, rm, lc, lm = totals(docs)
        rows.append((case_id, ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())), rc, rm / 2**30, lc, lm / 2**30))
    local = next(r for r in rows if r[0] == "umbrella/local")
    lines = [
        "# Charts: what they render",
        "",
        "Written by the chart tests (`make test`, tests/charts/test_charts.py) from the Helm v4 engine's",
        "rendering; CPU in cores, memory in GiB; per pod max(sum of containers, largest init container) x replicas",
        "(HPA: minReplicas); Postgres = CNPG instances. umbrella/prod = `wd-render --target onprem` + values-prod.yaml.",
        "",
        "| values | objects | CPU requests | memory requests | CPU limits | memory limits |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for case_id, kinds, rc, rm, lc, lm in rows:
        lines.append(f"| {case_id} | {kinds} | {rc:.2f} | {rm:.2f} | {lc:.2f} | {lm:.2f} |")
    lines += ["", f"Local profile (`values-local.yaml` over `wd-render --target local`): {local[3]:.2f} GiB of memory requests",
              f"(budget {LOCAL_REQUESTS_GIB} GiB: kube-system and the platform's local profile take the rest of 6 GiB) and",
              f"{local[5]:.2f} GiB of limits (budget {LOCAL_LIMITS_GIB} GiB on the 8 GiB node).", ""]
    skips = []
    for c in SUBCHARTS:
        for s in yaml.safe_load((CHARTS / c / "values.yaml").read_text()).get("checkovSkips", []):
            skips.append(f"- `{c}`: {s.split('=', 1)[0]} — {s.split('=', 1)[1]}")
    lines += ["## Checkov skips (each an annotation on the Deployment, with its reason)", ""] + skips + [""]
    (ROOT / "docs" / "charts.md").write_text("\n".join(lines))


# ---- issue 9: one test per deterministic failure of `up` (each fails on the charts before the fix)

def deployment(docs, name):
    return next(d for _, d in docs if d["kind"] == "Deployment" and d["metadata"]["labels"]["app.kubernetes.io/name"] == name)


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def service_names(docs):
    return {d["metadata"]["name"]: d for _, d in docs if d["kind"] == "Service"}


def secret_plan():
    return yaml.safe_load((ROOT / "config/secrets.yaml").read_text())["secrets"]


@pytest.mark.parametrize("case_id,scheme,production", [("umbrella/local", "http", False), ("umbrella/prod", "https", True), ("umbrella/default", "http", False)])
def test_app_runs_the_registry_adapter_with_its_container_contract(case_id, scheme, production):
    """Item 11: without VERIFIABLY_ADAPTER=registry the image serves mock data and ignores
    backends.json; the rest of the contract is what the users' deploy.sh `run` passes."""
    values, _, _, docs = render_case(case_id)
    d = deployment(docs, "verifiably-go")
    spec, cs, _ = containers(d)
    c = cs[0]
    env = env_of(c)
    val = {k: e.get("value") for k, e in env.items()}
    assert val.get("VERIFIABLY_ADAPTER") == "registry"
    assert val.get("VERIFIABLY_ADDR") == ":8080" and c["ports"][0]["containerPort"] == 8080
    assert val.get("VERIFIABLY_LOG_JSON") == "1"
    assert val.get("VERIFIABLY_ROLES") == "issuer,holder,verifier,trust,schemas"
    host = values.get("verifiably-go", {}).get("host", "app.localtest.me")
    assert val.get("VERIFIABLY_PUBLIC_URL") == f"{scheme}://{host}"
    # the files the chart mounts
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    vols = {v["name"]: v for v in spec["volumes"]}
    for var, name in [("VERIFIABLY_BACKENDS_FILE", "backends.json"), ("VERIFIABLY_AUTH_PROVIDERS_FILE", "auth-providers.json")]:
        path = val.get(var) or ""
        assert path.endswith("/" + name) and path.rsplit("/", 1)[0] in mounts, f"{var}={path!r} is not a mounted file"
    # state: a PVC of the release (file stores); with the stores in Postgres an emptyDir per pod
    assert val.get("VERIFIABLY_STATE_DIR") == "/app/state"
    state = vols[mounts["/app/state"]["name"]]
    pvcs = {x["metadata"]["name"] for _, x in docs if x["kind"] == "PersistentVolumeClaim"}
    if "VERIFIABLY_DATABASE_URL" in env:
        assert "emptyDir" in state
    else:
        assert state.get("persistentVolumeClaim", {}).get("claimName") in pvcs
    assert "emptyDir" in vols[mounts["/app/locales"]["name"]]
    # LibreTranslate: the release's Service and port
    lt = re.match(r"http://([^.:/]+)(?:\.[^:/]+)?:(\d+)$", val.get("LIBRETRANSLATE_URL") or "")
    assert lt, val.get("LIBRETRANSLATE_URL")
    svc = service_names(docs).get(lt.group(1))
    assert svc and int(lt.group(2)) in [p["port"] for p in svc["spec"]["ports"]], "LIBRETRANSLATE_URL names no Service of the release"
    # secrets from Secrets of config/secrets.yaml
    plan = {(s["k8sSecret"], s["k8sKey"]): s for s in secret_plan()}
    for var in ["VERIFIABLY_ADMIN_PASSWORD", "VERIFIABLY_SESSION_SECRET"]:
        ref = env[var]["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["key"]) in plan and plan[(ref["name"], ref["key"])]["env"] == var
    assert val.get("VERIFIABLY_ADMIN_USER")
    assert val.get("VERIFIABLY_TRUSTED_PROXIES")
    assert (val.get("VERIFIABLY_ENV") == "production") is production
    for var in ["WALTID_CATALOG_PATH", "WALTID_ISSUER_SERVICE"]:
        assert var not in env, f"{var} serves a compose-only feature (docker.sock)"


def test_app_uses_redis_and_postgres_when_it_scales():
    """Items 11/15: more than one app replica needs VERIFIABLY_REDIS_URL (sessions), with the
    password from the Redis Secret, and shared stores: VERIFIABLY_DATABASE_URL on the umbrella's
    Postgres (a ReadWriteMany volume would need a StorageClass neither k3s's local-path nor EBS
    has); the chart refuses an HPA without them."""
    _, _, _, docs = render_case("umbrella/prod")
    assert any(d["kind"] == "HorizontalPodAutoscaler" and d["spec"]["scaleTargetRef"]["name"].endswith("verifiably-go") for _, d in docs)
    c = containers(deployment(docs, "verifiably-go"))[1][0]
    env = env_of(c)
    url = env["VERIFIABLY_REDIS_URL"]["value"]
    m = re.match(r"redis://:\$\((\w+)\)@([^:/]+):(\d+)/\d+$", url)
    assert m, url
    assert env[m.group(1)]["valueFrom"]["secretKeyRef"]["name"] == "waltid-redis"
    assert m.group(2) in service_names(docs) and m.group(3) == "6379"
    db = re.match(r"postgres://(\w+):\$\((\w+)\)@([^:/]+):(\d+)/(\w+)\?sslmode=require$", env["VERIFIABLY_DATABASE_URL"]["value"])
    assert db, env["VERIFIABLY_DATABASE_URL"]["value"]
    cluster = next(d for _, d in docs if d["kind"] == "Cluster")
    role = next(r for r in cluster["spec"]["managed"]["roles"] if r["name"] == db.group(1))
    assert env[db.group(2)]["valueFrom"]["secretKeyRef"]["name"] == role["passwordSecret"]["name"]
    assert db.group(3) == cluster["metadata"]["name"] + "-rw" and db.group(4) == "5432"
    assert f"CREATE DATABASE {db.group(5)} OWNER {db.group(1)}" in cluster["spec"]["bootstrap"]["initdb"]["postInitSQL"]
    assert not [x for _, x in docs if x["kind"] == "PersistentVolumeClaim" and x["spec"]["accessModes"] != ["ReadWriteOnce"]], "prod needs no ReadWriteMany volume"
    pols = [x for _, x in docs if x["kind"] == "NetworkPolicy"]
    assert any(p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") == "verifiably-go" and any(t.get("podSelector", {}).get("matchLabels", {}).get("cnpg.io/cluster") for r in p["spec"].get("egress", []) for t in r["to"]) for p in pols)
    # the store is write-through with a 5 s local cache: sticky routing like the users' Caddyfile
    ing = next(d for _, d in docs if d["kind"] == "Ingress" and d["metadata"]["name"].endswith("verifiably-go"))
    assert ing["metadata"]["annotations"].get("nginx.ingress.kubernetes.io/affinity") == "cookie"
    with pytest.raises(helm.HelmError, match="needs redis.enabled=true"):
        render_chart(CHARTS / "verifiably-go", {"autoscaling": {"enabled": True}})


def public_urls(files):
    """Every URL in the rendered config files (JSON and HOCON)."""
    return re.findall(r'"(https?://[^"]+)"', "\n".join(files.values()))


def test_local_profile_is_plain_http_everywhere():
    """Item 13: the local target serves http://<host>.localtest.me: every public URL in the
    rendered files, the app's public URL, and Ingresses without TLS or redirect."""
    values = wd_render()
    assert values["global"]["tls"] is False
    for chart in ["walt-issuer", "walt-verifier", "walt-wallet", "verifiably-go", "keycloak", "wso2is"]:
        files = values[chart]["config"]["files"]
        urls = [u for u in public_urls(files) if ".localtest.me" in u]
        assert urls or chart in {"walt-verifier", "walt-wallet"}, chart
        assert all(u.startswith("http://") for u in urls), f"{chart}: {[u for u in urls if not u.startswith('http://')]}"
    issuer = values["walt-issuer"]["config"]["files"]["issuer-service.conf"]
    assert 'baseUrl = "http://issuer.localtest.me"' in issuer
    ap = json.loads(values["verifiably-go"]["config"]["files"]["auth-providers.json"])
    assert all(p["issuerUrl"].startswith("http://") for p in ap)
    # WSO2 builds its OIDC URLs from base_path: the public URL, not https://<host>:<proxy port>
    assert 'base_path = "http://wso2.localtest.me"' in values["wso2is"]["config"]["files"]["deployment.toml"]
    _, _, _, docs = render_case("umbrella/local")
    env = {e["name"]: e.get("value") for e in containers(deployment(docs, "verifiably-go"))[1][0]["env"]}
    assert env["VERIFIABLY_PUBLIC_URL"] == "http://app.localtest.me"
    kc = {e["name"]: e.get("value") for e in containers(deployment(docs, "keycloak"))[1][0]["env"]}
    assert kc["KC_HOSTNAME"] == "http://auth.localtest.me"
    for _, d in docs:
        if d["kind"] == "Ingress":
            ann = d["metadata"].get("annotations", {})
            assert not d["spec"].get("tls") and not any(k.startswith("cert-manager.io/") for k in ann)
            assert ann.get("nginx.ingress.kubernetes.io/ssl-redirect") == "false"


@pytest.mark.parametrize("case_id", ["umbrella/prod", "umbrella/prod-aws"])
def test_prod_keeps_tls_with_the_acme_issuer(case_id):
    values, _, _, docs = render_case(case_id)
    assert values["global"]["tls"] is True
    assert 'baseUrl = "https://issuer.' in values["walt-issuer"]["config"]["files"]["issuer-service.conf"]
    for _, d in docs:
        if d["kind"] == "Ingress":
            assert d["spec"]["tls"] and d["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt"


@pytest.mark.parametrize("case_id", ["umbrella/prod", "umbrella/prod-aws", "umbrella/prod-alone"])
def test_prod_runs_redis_for_the_sessions(case_id):
    """Item 15: values-prod.yaml renders through `up --target=onprem|aws` (and alone): 2 issuer and
    verifier replicas with persistence.conf pointing at the umbrella's Redis, which runs on the
    official image with its password from a Secret, restricted, read-only."""
    _, _, _, docs = render_case(case_id)
    svcs = service_names(docs)
    cms = {d["metadata"]["name"]: d for _, d in docs if d["kind"] == "ConfigMap"}
    for name in ["walt-issuer", "walt-verifier"]:
        d = deployment(docs, name)
        assert d["spec"]["replicas"] == 2
        conf = cms[d["metadata"]["name"] + "-config"]["data"]
        assert "persistence" in conf["_features.conf"]
        m = re.search(r'nodes = \[\{host = "([^"]+)", port = (\d+)\}\]', conf["persistence.conf"])
        assert m and m.group(1) in svcs, f"{name}: persistence.conf names {m and m.group(1)}, no Service of the release"
        assert int(m.group(2)) in [p["port"] for p in svcs[m.group(1)]["spec"]["ports"]]
    r = deployment(docs, "redis")
    spec, cs, _ = containers(r)
    c = cs[0]
    assert c["image"].startswith("redis:7.4") and c["image"].endswith("-alpine")
    assert c["securityContext"]["readOnlyRootFilesystem"] is True and spec["securityContext"]["runAsNonRoot"] is True
    assert not any("value" in e and "PASS" in e["name"] for e in c.get("env", []))
    secret_vols = [v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v]
    assert secret_vols == ["waltid-redis"]
    assert "requirepass" in " ".join(c["args"])
    assert all(k in c["resources"]["requests"] and k in c["resources"]["limits"] for k in ["cpu", "memory"])


def test_redis_accepts_only_issuer_verifier_and_app():
    """Items 15/17: Redis has ingress rules (the old rule was egress-only, so default-deny dropped
    every connection) from exactly issuer, verifier and app."""
    _, _, _, docs = render_case("umbrella/prod")
    pols = [d for _, d in docs if d["kind"] == "NetworkPolicy"]
    sources = set()
    for p in pols:
        if p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") == "redis":
            for rule in p["spec"].get("ingress", []):
                assert [x["port"] for x in rule["ports"]] == [6379]
                sources |= {f["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for f in rule["from"]}
    assert sources == {"walt-issuer", "walt-verifier", "verifiably-go"}


def referenced_secrets(docs):
    out = set()
    for _, d in docs:
        if d["kind"] == "Deployment":
            spec, cs, inits = containers(d)
            out |= {e["valueFrom"]["secretKeyRef"]["name"] for c in cs + inits for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}
            out |= {v["secret"]["secretName"] for v in spec.get("volumes", []) if "secret" in v}
        if d["kind"] == "Cluster":
            out.add(d["spec"]["bootstrap"]["initdb"]["secret"]["name"])
            out |= {r["passwordSecret"]["name"] for r in d["spec"].get("managed", {}).get("roles", [])}
    return out


def test_pure_defaults_create_every_secret_or_fail_naming_them():
    """Item 16: `helm install waltid ./charts/umbrella/waltid` on pure defaults creates every
    Secret a pod needs (ExternalSecrets, when ESO's CRD is served) or fails naming wd-secrets and
    the missing Secrets; externalSecrets.enabled=false (terraform/workloads) renders none."""
    _, _, _, docs = render_case("umbrella/default")
    created = {d["spec"]["target"]["name"] for _, d in docs if d["kind"] == "ExternalSecret"}
    missing = referenced_secrets(docs) - created
    assert not missing, f"nothing creates {sorted(missing)}"
    with pytest.raises(helm.HelmError) as e:
        render_chart(UMBRELLA, {}, api_versions=())
    assert "wd-secrets" in str(e.value) and all(n in str(e.value) for n in referenced_secrets(docs))
    off = load_docs(render_chart(UMBRELLA, {"externalSecrets": {"enabled": False}}, api_versions=()))
    assert not [d for _, d in off if d["kind"] == "ExternalSecret"]
    # the default list is config/secrets.yaml's (through wd-render), not a second table
    assert yaml.safe_load((UMBRELLA / "files/externalsecrets.yaml").read_text())["secrets"] == wd_render()["externalSecrets"]["secrets"]


def egress_rules(docs):
    for _, d in docs:
        if d["kind"] == "NetworkPolicy":
            for rule in d["spec"].get("egress", []):
                yield d, rule


def test_network_policies_allow_what_is_needed_and_nothing_broad():
    """Item 17."""
    for case_id in ["umbrella/local", "umbrella/backups", "umbrella/prod"]:
        _, _, _, docs = render_case(case_id)
        for p, rule in egress_rules(docs):
            ports = [x.get("port") for x in rule.get("ports", [])]
            assert 8443 not in ports, f"{case_id}: {p['metadata']['name']} reaches the ingress-nginx admission webhook"
            for t in rule.get("to", []):
                if t.get("ipBlock", {}).get("cidr") == "0.0.0.0/0":
                    assert p["metadata"]["name"].endswith("libretranslate-model-download") and ports == [443], f"{case_id}: {p['metadata']['name']} -> 0.0.0.0/0"
        # the app calls walt.id and the IdPs through their public URLs, LibreTranslate in-cluster
        for p, rule in egress_rules(docs):
            if p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") == "verifiably-go":
                for t in rule.get("to", []):
                    if "namespaceSelector" in t:
                        continue  # the ingress controller / DNS
                    name = t.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name")
                    assert name in {None, "libretranslate", "redis"}, f"unused direct edge verifiably-go -> {name}"
    _, _, _, prod = render_case("umbrella/prod")
    pols = [d for _, d in prod if d["kind"] == "NetworkPolicy"]
    # cert-manager's HTTP-01 solver answers the ingress controller on 8089
    assert any(p["spec"]["podSelector"].get("matchLabels") == {"acme.cert-manager.io/http01-solver": "true"}
               and any(8089 in [x["port"] for x in r["ports"]] and any("namespaceSelector" in f for f in r["from"]) for r in p["spec"].get("ingress", []))
               for p in pols), "no rule for the ACME HTTP-01 solver"
    # LibreTranslate's internet egress is a switch (first start only)
    off = load_docs(render_chart(UMBRELLA, deep_merge(wd_render(), {"networkPolicy": {"libretranslateModelDownload": False}})))
    assert not any(t.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for _, r in egress_rules(off) for t in r.get("to", []))
    # Postgres -> MinIO only with backups on
    def pg_to_minio(docs):
        return any("cnpg.io/cluster" in p["spec"]["podSelector"].get("matchLabels", {}) and any(t.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") == "minio-tenant" for t in r.get("to", []))
                   for p, r in egress_rules(docs))
    assert pg_to_minio(render_case("umbrella/backups")[3]) and not pg_to_minio(render_case("umbrella/local")[3])
    # Postgres -> the API server only: EKS the VPC range (target-aws), offline renders private ranges
    def api_cidrs(docs):
        return sorted(t["ipBlock"]["cidr"] for p, r in egress_rules(docs) if p["metadata"]["name"].endswith("postgres-to-apiserver") for t in r["to"])
    assert api_cidrs(render_case("umbrella/prod-aws")[3]) == ["10.42.0.0/16"]
    assert api_cidrs(render_case("umbrella/local")[3]) == ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


@pytest.mark.parametrize("name,paths", [
    ("keycloak", ["/opt/keycloak/lib/quarkus", "/opt/keycloak/data", "/tmp"]),
    ("libretranslate", ["/app/db", "/home/libretranslate/.config", "/home/libretranslate/.local", "/tmp"]),
])
def test_keycloak_and_libretranslate_run_on_a_read_only_root(name, paths):
    """Item 18: each image's written paths are volumes and the root is read-only; a remaining
    CKV_K8S_22 skip (WSO2) states a verified reason."""
    _, _, _, docs = render_case("umbrella/local")
    spec, cs, _ = containers(deployment(docs, name))
    c = cs[0]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert set(paths) <= mounts, set(paths) - mounts
    for _, d in docs:
        for k, v in (d["metadata"].get("annotations") or {}).items():
            if k.startswith("checkov.io/skip") and v.startswith("CKV_K8S_22="):
                assert v.split("=", 1)[1].startswith("verified:"), f"{d['metadata']['name']}: {v}"


def test_wso2_h2_password_matches_the_shipped_databases():
    """Item 19: the pack's H2 databases are created with wso2carbon/wso2carbon and H2 refuses any
    other password; deployment.toml names the Secret's password, so an init step must re-key
    both databases to it and mount them in place of the pack's."""
    values, _, _, docs = render_case("umbrella/local")
    toml = values["wso2is"]["config"]["files"]["deployment.toml"]
    dbs = re.findall(r'\[database\.(\w+)\]\ntype = "h2"\nurl = "jdbc:h2:\./repository/database/(\w+);[^"]*"\nusername = "(\w+)"\npassword = "([^"]+)"', toml)
    assert {d[1] for d in dbs} == {"WSO2IDENTITY_DB", "WSO2SHARED_DB"}, dbs
    if all(d[3] == "wso2carbon" for d in dbs):
        return
    spec, cs, inits = containers(deployment(docs, "wso2is"))
    main_env = env_of(cs[0])
    var = re.match(r"\$env\{(\w+)\}", dbs[0][3]).group(1)
    secret = main_env[var]["valueFrom"]["secretKeyRef"]
    rekey = [c for c in inits if "ALTER USER" in " ".join(c.get("args", []))]
    assert rekey, "deployment.toml changes the H2 password but nothing re-keys the shipped databases"
    script = " ".join(rekey[0]["args"])
    assert all(db in script for _, db, _, _ in dbs) and "-password wso2carbon" in script
    ref = next(e for e in rekey[0]["env"] if "$" + e["name"] in script and "valueFrom" in e)["valueFrom"]["secretKeyRef"]
    assert ref == secret, "the init step re-keys to another Secret key than deployment.toml reads"
    vol = next(m["name"] for m in rekey[0]["volumeMounts"])
    assert any(m["name"] == vol and m["mountPath"].endswith("/repository/database") for m in cs[0]["volumeMounts"])


def test_init_copies_into_volumes_do_not_preserve_attributes():
    """A non-root `cp -a src/. /volume/` exits 1 (EPERM preserving the times of the emptyDir's
    root, owned by root), which stops the pod before it starts: found in the WSO2 keystore step
    while adding the H2 and Keycloak steps (checked with GNU cp as uid 65534)."""
    for case_id in ["umbrella/local", "umbrella/prod"]:
        for _, d in render_case(case_id)[3]:
            if d["kind"] == "Deployment":
                for c in containers(d)[2]:
                    script = " ".join(c.get("command", []) + c.get("args", []))
                    assert not re.search(r"\bcp\s+-[a-zA-Z]*[ap]", script), f"{d['metadata']['name']}/{c['name']}: {script[:80]}"
