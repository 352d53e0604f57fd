"""Observability on the real engines (docs/observability.md): the charts' ServiceMonitors, Probes,
PrometheusRules and dashboard, rendered by the Helm v4 engine for a cluster that serves
monitoring.coreos.com/v1, checked with
  - prometheus-operator's CRD models (cloudcoil-models-prometheus-operator), kubernetes-validate
    strict for the rest and checkov (0 failed),
  - `promtool check rules` on every PrometheusRule's .spec and `promtool test rules`: every alert
    fires in one case and stays silent in another (tests/observability/rules/*.test.yaml, plus the
    generic per-chart alerts built here from the rendered labels),
  - an end-to-end scrape: the real `prometheus` and `prometheus-blackbox-exporter` (Debian
    packages) on 127.0.0.1, a scrape config translated from the rendered objects, a fake walt.id
    /livez and a fake app /metrics (Bearer key); the alert for the stopped fake fires and clears,
  - every dashboard panel's PromQL parses (promql-parser) and names only metrics that the scrape
    test or the exporter fixtures expose.
"""

import copy
import http.server
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

import pytest
import yaml

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests/charts"))
sys.path.insert(0, str(HERE))
import test_charts as tc  # noqa: E402  (the chart harness: renders, values, checkov)
import translate  # noqa: E402

MON = "monitoring.coreos.com/v1"
PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
BLACKBOX = shutil.which("prometheus-blackbox-exporter")
need_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: .ci/run installs the Debian package prometheus")

# The cases a cluster with the platform renders (what `k8s-deploy.sh up` passes).
CASES = {
    "local": lambda: [tc.wd_render(), tc.values_file("values-local.yaml")],
    "prod": lambda: [tc.wd_render(target="onprem"), tc.values_file("values-prod.yaml")],
}
_RENDERED = {}


def render(case):
    if case not in _RENDERED:
        tc.build_dependencies()
        values = {}
        for layer in CASES[case]():
            values = tc.deep_merge(values, layer)
        _RENDERED[case] = (values, tc.load_docs(tc.render_chart(tc.UMBRELLA, values, api_versions=(tc.ESO, MON))))
    return _RENDERED[case]


def docs_of(case, kind=None):
    return [d for _, d in render(case)[1] if kind is None or d["kind"] == kind]


def rules_of(case):
    return {d["metadata"]["name"]: d for d in docs_of(case, "PrometheusRule")}


# ------------------------------------------------------------------------ what the charts render


def test_without_the_crds_nothing_of_monitoring_coreos_com_renders():
    """`helm template` with no --api-versions (and a cluster without kube-prometheus-stack):
    no ServiceMonitor/Probe/PrometheusRule, so the install cannot fail on a missing CRD."""
    tc.build_dependencies()
    values = tc.deep_merge(tc.wd_render(), tc.values_file("values-local.yaml"))
    docs = tc.load_docs(tc.render_chart(tc.UMBRELLA, values, api_versions=(tc.ESO,)))
    assert not [d for _, d in docs if d["apiVersion"].startswith("monitoring.coreos.com")]
    cluster = next(d for _, d in docs if d["kind"] == "Cluster")
    assert cluster["spec"]["monitoring"]["enablePodMonitor"] is False


@pytest.mark.parametrize("case", list(CASES))
def test_scrape_and_probe_what_exists(case):
    values, _ = render(case)
    sms = {d["metadata"]["name"]: d for d in docs_of(case, "ServiceMonitor")}
    assert set(sms) == {"waltid-keycloak", "waltid-verifiably-go"}, sms.keys()
    assert sms["waltid-keycloak"]["spec"]["endpoints"][0]["port"] == "management"  # 9000 (waltid-facts §3)
    probes = {(d["spec"]["targets"]["staticConfig"]["labels"]["service"], d["spec"]["targets"]["staticConfig"]["labels"]["probe"]): d["spec"]["targets"]["staticConfig"]["static"][0]
              for d in docs_of(case, "Probe")}
    scheme = "https" if values["global"]["tls"] else "http"
    for svc in ["walt-issuer", "walt-verifier", "walt-wallet"]:
        assert probes[(svc, "internal")].endswith("/livez") and ".svc:" in probes[(svc, "internal")]
        assert probes[(svc, "external")] == f"{scheme}://{values[svc]['host']}/livez"
    assert probes[("libretranslate", "internal")].endswith(":5000/languages")
    assert ("libretranslate", "external") not in probes
    assert probes[("wso2is", "internal")].startswith("https://")
    cluster = next(d for d in docs_of(case) if d["kind"] == "Cluster")
    assert cluster["spec"]["monitoring"]["enablePodMonitor"] is True
    # every object carries the label kube-prometheus-stack's default selectors match
    for d in docs_of(case):
        if d["apiVersion"] == MON:
            assert d["metadata"]["labels"].get("release") == "kube-prometheus-stack", d["metadata"]["name"]


@pytest.mark.parametrize("case", list(CASES))
def test_only_prometheus_reaches_the_metrics_ports_and_only_blackbox_the_probed_ones(case):
    pols = docs_of(case, "NetworkPolicy")
    peers = {}
    for p in pols:
        for rule in p["spec"].get("ingress", []):
            for f in rule.get("from", []):
                labels = f.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name")
                ns = f.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                if ns == "monitoring":
                    target = p["spec"]["podSelector"].get("matchLabels", {})
                    key = target.get("app.kubernetes.io/name") or ("postgres" if "cnpg.io/cluster" in target else "?")
                    assert labels in {"prometheus", "prometheus-blackbox-exporter"}, f"{p['metadata']['name']}: the whole monitoring namespace"
                    peers.setdefault((key, labels), set()).update(x["port"] for x in rule["ports"])
    assert peers[("keycloak", "prometheus")] == {9000}
    assert peers[("verifiably-go", "prometheus")] == {8080}
    assert peers[("postgres", "prometheus")] == {9187}
    for svc, port in {"walt-issuer": 7002, "walt-verifier": 7003, "walt-wallet": 7001, "libretranslate": 5000, "wso2is": 9443}.items():
        assert peers[(svc, "prometheus-blackbox-exporter")] == {port}, svc


def test_app_metrics_use_the_api_key_from_a_secret():
    tc.build_dependencies()
    docs = tc.load_docs(tc.render_chart(tc.CHARTS / "verifiably-go", {"apiKeys": {"secretName": "waltid-app-api"}}, api_versions=(MON,)))
    sm = next(d for _, d in docs if d["kind"] == "ServiceMonitor")
    assert sm["spec"]["endpoints"][0]["authorization"] == {"type": "Bearer", "credentials": {"name": "waltid-app-api", "key": "metricsKey"}}
    env = {e["name"]: e for e in tc.containers(next(d for _, d in docs if d["kind"] == "Deployment"))[1][0]["env"]}
    assert env["VERIFIABLY_API_KEYS"]["valueFrom"]["secretKeyRef"] == {"name": "waltid-app-api", "key": "apiKeys"}
    # without keys /metrics is open and no credential is referenced
    docs = tc.load_docs(tc.render_chart(tc.CHARTS / "verifiably-go", {}, api_versions=(MON,)))
    assert "authorization" not in next(d for _, d in docs if d["kind"] == "ServiceMonitor")["spec"]["endpoints"][0]


@pytest.mark.parametrize("case", list(CASES))
def test_crd_objects_match_the_prometheus_operator_models(case):
    from cloudcoil.models.prometheus_operator import v1
    models = {"ServiceMonitor": v1.ServiceMonitor, "Probe": v1.Probe, "PrometheusRule": v1.PrometheusRule, "PodMonitor": v1.PodMonitor}
    seen = set()
    for d in docs_of(case):
        if d["apiVersion"] != MON:
            continue
        m = models[d["kind"]].model_validate(d)
        assert m.metadata.name == d["metadata"]["name"]
        # nothing was dropped: every key we wrote is a field of the model
        assert _keys(m.model_dump(by_alias=True, exclude_none=True)["spec"]) >= _keys(d["spec"]), d["metadata"]["name"]
        seen.add(d["kind"])
    assert seen == {"ServiceMonitor", "Probe", "PrometheusRule"}


def _keys(x, p=""):
    out = set()
    if isinstance(x, dict):
        for k, v in x.items():
            out |= {f"{p}.{k}"} | _keys(v, f"{p}.{k}")
    elif isinstance(x, list):
        for v in x:
            out |= _keys(v, p + "[]")
    return out


def test_kubernetes_validate_strict_and_checkov_with_monitoring(tmp_path):
    import kubernetes_validate
    for case in CASES:
        d_ = tmp_path / case
        d_.mkdir()
        docs = docs_of(case)
        for d in docs:
            try:
                kubernetes_validate.validate(d, tc.KUBE_VERSION, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                assert d["apiVersion"].split("/")[0] in {"postgresql.cnpg.io", "external-secrets.io", "monitoring.coreos.com"}
        (d_ / "all.yaml").write_text("\n---\n".join(yaml.safe_dump(x) for x in docs))
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CKV_SKIP_PACKAGE_UPDATE_CHECK="TRUE")
    p = subprocess.run([str(ROOT / ".venv/bin/checkov"), "-d", str(tmp_path), "--framework", "kubernetes", "--skip-download", "--quiet", "--compact", "-o", "json"], capture_output=True, text=True, env=env)
    out = json.loads(p.stdout)
    reports = out if isinstance(out, list) else [out]
    failed = [(c["check_id"], c["resource"]) for r in reports for c in r["results"].get("failed_checks", [])]
    assert reports[0]["summary"]["resource_count"] > 0 and not failed, failed


# ---------------------------------------------------------------------------------------- alerts


def test_every_alert_has_severity_summary_description_and_a_runbook():
    for case in CASES:
        for name, rule in rules_of(case).items():
            for g in rule["spec"]["groups"]:
                for r in g["rules"]:
                    a = r["annotations"]
                    assert r["labels"]["severity"] in {"critical", "warning"}, (name, r["alert"])
                    assert a.get("summary") and a.get("description"), (name, r["alert"])
                    assert (ROOT / a["runbook_url"]).is_file(), f"{name}/{r['alert']}: {a['runbook_url']} does not exist"


def write_rules(case, d, strip=False):
    """Each PrometheusRule's .spec as <name>.yaml; strip: annotations reduced to runbook_url."""
    out = {}
    for name, rule in rules_of(case).items():
        spec = copy.deepcopy(rule["spec"])
        if strip:
            for g in spec["groups"]:
                for r in g["rules"]:
                    r["annotations"] = {"runbook_url": r["annotations"]["runbook_url"]}
        (d / f"{name}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        out[name] = spec
    return out


@need_promtool
@pytest.mark.parametrize("case", list(CASES))
def test_promtool_check_rules(case, tmp_path):
    files = write_rules(case, tmp_path)
    values = render(case)[0]
    # one per installed chart (Redis only with prod's sessions) plus the platform rules
    assert set(files) == {f"waltid-{c}" for c in tc.SUBCHARTS if (values.get(c) or {}).get("enabled", True)} | {"waltid-platform"}, files.keys()
    p = subprocess.run([PROMTOOL, "check", "rules", *[str(tmp_path / f"{n}.yaml") for n in files]], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("SUCCESS") == len(files), p.stdout


def generic_tests(rules):
    """promtool tests of the alerts every chart shares (wd-lib _monitoring.tpl), from the rendered
    labels: each fires on a failing series and stays silent on a healthy one."""
    tests = {}
    for name, spec in rules.items():
        cases = []
        for r in spec["groups"][0]["rules"]:
            if r["alert"] not in {"ProbeFailed", "PublicUrlDown", "MetricsTargetDown", "PodCrashLooping"}:
                continue  # chart- and platform-specific alerts: tests/observability/rules/*.test.yaml
            svc = r["labels"]["service"]
            want = {"severity": r["labels"]["severity"], "service": svc}
            ann = {"runbook_url": r["annotations"]["runbook_url"]}
            inst = f"http://{svc}.test/health"
            if r["alert"] == "ProbeFailed":
                s = f'probe_success{{job="probe-internal", service="{svc}", instance="{inst}", probe="internal"}}'
                cases.append(([(s, "1 1 0x10")], [("6m", [dict(want, job="probe-internal", instance=inst, probe="internal")]), ("3m", [])], r["alert"], ann))
            elif r["alert"] == "PublicUrlDown":
                ext = f'probe_success{{job="probe-external", service="{svc}", instance="https://{svc}.example/", probe="external"}}'
                internal = f'probe_success{{job="probe-internal", service="{svc}", instance="{inst}", probe="internal"}}'
                # external fails while internal is fine -> fires; both fail (the service is down: ProbeFailed's case) -> silent
                cases.append(([(ext, "0x10"), (internal, "1x10")], [("6m", [dict(want, job="probe-external", instance=f"https://{svc}.example/", probe="external")])], r["alert"], ann))
                cases.append(([(ext, "0x10"), (internal, "0x10")], [("6m", [])], r["alert"], ann))
            elif r["alert"] == "MetricsTargetDown":
                ns, fq = re.search(r'namespace="([^"]+)", service="([^"]+)"', r["expr"]).groups()
                s = f'up{{namespace="{ns}", service="{fq}", job="{fq}", instance="10.0.0.1:80"}}'
                cases.append(([(s, "1 1 0x10")], [("8m", [dict(want, namespace=ns, job=fq, instance="10.0.0.1:80")]), ("4m", [])], r["alert"], ann))
            elif r["alert"] == "PodCrashLooping":
                ns, c = re.search(r'namespace="([^"]+)", container="([^"]+)"', r["expr"]).groups()
                s = f'kube_pod_container_status_restarts_total{{namespace="{ns}", container="{c}", pod="{c}-abc"}}'
                quiet = f'kube_pod_container_status_restarts_total{{namespace="{ns}", container="{c}", pod="{c}-def"}}'
                cases.append(([(s, "0+1x30"), (quiet, "2x30")], [("20m", [dict(want, namespace=ns, container=c, pod=f"{c}-abc")]), ("3m", [])], r["alert"], ann))
        if not cases:
            continue
        body = {"rule_files": [f"{name}.yaml"], "evaluation_interval": "1m", "tests": []}
        for series, evals, alert, ann in cases:
            body["tests"].append({
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in series],
                "alert_rule_test": [{"eval_time": t, "alertname": alert, "exp_alerts": [{"exp_labels": lab, "exp_annotations": ann} for lab in exp]} for t, exp in evals],
            })
        tests[name] = body
    return tests


@need_promtool
@pytest.mark.parametrize("case", list(CASES))
def test_promtool_unit_tests_every_alert_fires_and_stays_silent(case, tmp_path):
    rules = write_rules(case, tmp_path, strip=True)
    files = []
    for name, body in generic_tests(rules).items():
        f = tmp_path / f"{name}.generic.test.yaml"
        f.write_text(yaml.safe_dump(body, sort_keys=False))
        files.append(f)
    for f in sorted((HERE / "rules").glob("*.test.yaml")):
        shutil.copy(f, tmp_path / f.name)
        files.append(tmp_path / f.name)
    # coverage: every (rule file, alert) has a case where it fires and one where it is silent
    fires, silent = set(), set()
    for f in files:
        body = yaml.safe_load(f.read_text())
        for t in body["tests"]:
            for a in t["alert_rule_test"]:
                key = (body["rule_files"][0][:-5], a["alertname"])
                (fires if a.get("exp_alerts") else silent).add(key)
    want = {(n, r["alert"]) for n, spec in rules.items() for g in spec["groups"] for r in g["rules"]}
    assert want <= fires, f"alerts never shown firing: {sorted(want - fires)}"
    assert want <= silent, f"alerts never shown silent: {sorted(want - silent)}"
    p = subprocess.run([PROMTOOL, "test", "rules", *[f.name for f in files]], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("SUCCESS") == len(files), p.stdout


# ------------------------------------------------------------------------------------ dashboards

# Metrics the exporters serve that the loopback scrape test cannot (fixtures: real metric names of
# ingress-nginx 1.11, kube-state-metrics 2.13, cAdvisor/kubelet, CloudNativePG 1.24).
FIXTURES = HERE / "fixtures" / "exporter-metrics.prom"


def exposed_metric_names(text):
    return {m.group(1) for m in re.finditer(r"^# TYPE (\S+) (\w+)", text, re.M) for _ in [0]} | {
        n + s for m in re.finditer(r"^# TYPE (\S+) histogram", text, re.M) for n in [m.group(1)] for s in ("_bucket", "_sum", "_count")}


def selectors(expr):
    import promql_parser as pp
    out = []

    def walk(e):
        if isinstance(e, pp.VectorSelector):
            out.append(e.name)
        for attr in ("expr", "lhs", "rhs", "param"):
            sub = getattr(e, attr, None)
            if isinstance(sub, pp.Expr):
                walk(sub)
        for a in getattr(e, "args", None) or []:
            walk(a)
        if isinstance(e, pp.MatrixSelector):
            walk(e.vector_selector)
    walk(pp.parse(expr))
    return out


def dashboards(case):
    out = []
    for d in docs_of(case, "ConfigMap"):
        if d["metadata"].get("labels", {}).get("grafana_dashboard") == "1":
            out += [json.loads(v) for v in d["data"].values()]
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_dashboard_panels_parse_and_use_exposed_metrics(case, scrape_result):
    dash = dashboards(case)
    assert len(dash) == 1 and dash[0]["uid"] == "waltid-overview"
    known = exposed_metric_names(FIXTURES.read_text()) | scrape_result["metrics"]
    kinds = set()
    for p in dash[0]["panels"]:
        if p["type"] == "row":
            continue
        kinds.add(p["datasource"]["type"])
        for t in p["targets"]:
            if p["datasource"]["type"] == "loki":
                assert re.fullmatch(r'\{namespace="waltid", container=~?"[a-z0-9|-]+"\}', t["expr"]), t["expr"]
                continue
            names = selectors(t["expr"])
            assert names, t["expr"]
            unknown = [n for n in names if n not in known]
            assert not unknown, f"{p['title']}: {unknown} is exposed by no exporter fixture or scraped target"
    assert kinds == {"prometheus", "loki"}
    # the sidecar reads any *.json key; panels fit the 24-unit grid
    assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in dash[0]["panels"])


# ------------------------------------------------------------------------ end-to-end scrape test


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Fake:
    """A loopback HTTP server that can be stopped and started again on the same port."""

    def __init__(self, routes, token=None):
        self.port, self.routes, self.token, self.srv = free_port(), routes, token, None

    def start(self):
        routes, token = self.routes, self.token

        class H(http.server.BaseHTTPRequestHandler):
            # HTTP/1.1 like walt.id's Ktor: the blackbox module's valid_http_versions refuses 1.0
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                body = routes.get(self.path)
                code = 200 if body is not None else 404
                if token and self.headers.get("Authorization") != f"Bearer {token}":
                    code, body = 401, ""
                data = (body or "").encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


APP_METRICS = """# TYPE credential_issued_total counter
credential_issued_total{dpg="waltid",schema="pid",status="ok"} 7
credential_issued_total{dpg="waltid",schema="pid",status="error"} 1
# TYPE verification_requested_total counter
verification_requested_total{dpg="waltid"} 3
# TYPE verification_completed_total counter
verification_completed_total{dpg="waltid"} 2
# TYPE adapter_duration_seconds histogram
adapter_duration_seconds_bucket{dpg="waltid",op="issue",le="0.5"} 6
adapter_duration_seconds_bucket{dpg="waltid",op="issue",le="+Inf"} 8
adapter_duration_seconds_sum{dpg="waltid",op="issue"} 3.1
adapter_duration_seconds_count{dpg="waltid",op="issue"} 8
"""


def api(port, path, **params):
    url = f"http://127.0.0.1:{port}{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())["data"]


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout}s: {what}")


@pytest.fixture(scope="module")
def scrape_result(tmp_path_factory):
    if not (PROMETHEUS and BLACKBOX):
        pytest.skip("prometheus / prometheus-blackbox-exporter missing: .ci/run installs the Debian packages")
    return run_scrape(tmp_path_factory.mktemp("scrape"))


def run_scrape(d):
    """The local case's objects, translated, against fakes on loopback. Bounded: ~60 s at most."""
    docs = docs_of("local")
    wallet = Fake({"/livez": ""})
    issuer = Fake({"/livez": ""})
    key = "k-" + os.urandom(8).hex()
    app = Fake({"/metrics": APP_METRICS}, token=key)
    keycloak = Fake({"/metrics": "# TYPE keycloak_up gauge\nkeycloak_up 1\n"})
    for f in (wallet, issuer, app, keycloak):
        f.start()
    fakes = {"waltid-walt-wallet": wallet, "waltid-walt-issuer": issuer, "waltid-verifiably-go": app, "waltid-keycloak": keycloak}
    # the modules the platform deploys (terraform/platform/values/prometheus-blackbox-exporter.yaml)
    bb_values = yaml.safe_load(re.sub(r"%\{[^}]*\}", "", (ROOT / "terraform/platform/values/prometheus-blackbox-exporter.yaml").read_text().replace('%{ if profile == "local" }1%{ else }2%{ endif }', "1")))
    (d / "blackbox.yml").write_text(yaml.safe_dump(bb_values["config"]))
    bb_port, prom_port = free_port(), free_port()
    secret = d / "metrics-key"
    secret.write_text(key)

    def rewrite(url):
        u = urllib.parse.urlsplit(url)
        host = u.hostname.split(".")[0]
        name = host if host.startswith("waltid-") else {"wallet": "waltid-walt-wallet", "issuer": "waltid-walt-issuer"}.get(host)
        f = fakes.get(name)
        # probes of services without a fake here point at a closed loopback port (they fail; not asserted)
        return f"http://127.0.0.1:{f.port if f else 9}{u.path}"

    # the app's key comes from a Secret: render the chart with keys on for the same ServiceMonitor
    app_docs = [x for _, x in tc.load_docs(tc.render_chart(tc.CHARTS / "verifiably-go", {"fullnameOverride": "waltid-verifiably-go", "apiKeys": {"secretName": "waltid-app-api"}}, api_versions=(MON,)))]
    objs = [x for x in docs if not (x["kind"] == "ServiceMonitor" and x["metadata"]["name"] == "waltid-verifiably-go")]
    objs += [x for x in app_docs if x["kind"] == "ServiceMonitor"]
    jobs = translate.scrape_configs(
        objs,
        service_addr=lambda svc, port: f"127.0.0.1:{fakes[svc].port}",
        rewrite_url=rewrite,
        prober_addr=lambda url: f"127.0.0.1:{bb_port}",
        secret_file=lambda name, k: str(secret),
    )
    # the rendered rules, with `for` shortened so a bounded test sees them fire (unit tests cover `for`)
    rule_files = []
    for name, rule in rules_of("local").items():
        spec = copy.deepcopy(rule["spec"])
        for g in spec["groups"]:
            g["interval"] = "1s"
            for r in g["rules"]:
                r["for"] = "2s"
        (d / f"{name}.yaml").write_text(yaml.safe_dump(spec))
        rule_files.append(str(d / f"{name}.yaml"))
    (d / "prometheus.yml").write_text(yaml.safe_dump({"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "rule_files": rule_files, "scrape_configs": jobs}))
    procs = []
    try:
        procs.append(subprocess.Popen([BLACKBOX, f"--config.file={d / 'blackbox.yml'}", f"--web.listen-address=127.0.0.1:{bb_port}"], stdout=subprocess.DEVNULL, stderr=open(d / "blackbox.log", "w")))
        procs.append(subprocess.Popen([PROMETHEUS, f"--config.file={d / 'prometheus.yml'}", f"--storage.tsdb.path={d / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}"], stdout=subprocess.DEVNULL, stderr=open(d / "prometheus.log", "w")))

        def q(expr):
            try:
                return api(prom_port, "/api/v1/query", query=expr)["result"]
            except OSError:
                return None

        def firing(alert, **labels):
            try:
                alerts = api(prom_port, "/api/v1/alerts")["alerts"]
            except OSError:
                return []
            return [a for a in alerts if a["labels"]["alertname"] == alert and a["state"] == "firing" and all(a["labels"].get(k) == v for k, v in labels.items())]

        wallet_ok = 'probe_success{job="probe-internal", service="walt-wallet"}'
        wait_for(lambda: (r := q(wallet_ok)) and r[0]["value"][1] == "1", 30, f"{wallet_ok} == 1 (blackbox -> fake /livez)")
        wait_for(lambda: (r := q('up{service="waltid-verifiably-go"}')) and r[0]["value"][1] == "1", 20, "the app's /metrics scraped with its Bearer key")
        # the external Probe (public URL, here rewritten to the fake) is scraped through the same prober
        wait_for(lambda: (r := q('probe_success{job="probe-external", service="walt-wallet"}')) and r[0]["value"][1] == "1", 20, "external probe of the wallet")
        assert not firing("ProbeFailed", service="walt-wallet")
        metrics = {m for m in api(prom_port, "/api/v1/label/__name__/values")}
        t0 = time.monotonic()
        wallet.stop()
        wait_for(lambda: firing("ProbeFailed", service="walt-wallet"), 30, "ProbeFailed{service=walt-wallet} fires after the fake stopped")
        fired_after = time.monotonic() - t0
        assert not firing("ProbeFailed", service="walt-issuer")
        wallet.start()
        t1 = time.monotonic()
        wait_for(lambda: not firing("ProbeFailed", service="walt-wallet"), 30, "ProbeFailed{service=walt-wallet} clears when the fake is back")
        cleared_after = time.monotonic() - t1
        (d / "result.json").write_text(json.dumps({"fired_after_s": fired_after, "cleared_after_s": cleared_after}))
        return {"metrics": metrics, "fired_after_s": fired_after, "cleared_after_s": cleared_after}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        for f in (issuer, app, keycloak, wallet):
            try:
                f.stop()
            except Exception:  # noqa: BLE001 - already stopped
                pass


def test_end_to_end_scrape_alert_fires_and_clears(scrape_result):
    """A stopped fake /livez makes ProbeFailed fire (Prometheus API) and its return clears it."""
    assert scrape_result["fired_after_s"] < 30 and scrape_result["cleared_after_s"] < 30
    for m in ["probe_success", "probe_duration_seconds", "up", "credential_issued_total", "adapter_duration_seconds_bucket"]:
        assert m in scrape_result["metrics"], m
    print(f"\nscrape test: ProbeFailed fired {scrape_result['fired_after_s']:.1f}s after the fake stopped, cleared {scrape_result['cleared_after_s']:.1f}s after it came back")


@need_promtool
def test_exporter_fixture_is_valid_exposition_format():
    """promtool check metrics: exit 1 on a parse error; 3 only for lint remarks about upstream's
    own names (ingress-nginx's counter has no _total suffix: that is its real name)."""
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=FIXTURES.read_text(), capture_output=True, text=True)
    assert p.returncode in (0, 3) and "parsing error" not in p.stdout + p.stderr, p.stdout + p.stderr
    assert len(exposed_metric_names(FIXTURES.read_text())) >= 12


# ------------------------------------------------------------------------------------------- logs


def test_wallet_logs_no_request_bodies():
    """The wallet logs request/response bodies at INFO (waltid-facts §2): the chart points klogging
    at a config that sends WARN and above to stdout (walt.id's LoggingManager then skips its own
    INFO setup), so Promtail never reads them."""
    for case in CASES:
        docs = docs_of(case)
        dep = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "waltid-walt-wallet")
        c = tc.containers(dep)[1][0]
        env = {e["name"]: e.get("value") for e in c["env"]}
        path = env["KLOGGING_CONFIG_PATH"]
        mount = next(m for m in c["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
        vol = next(v for v in tc.containers(dep)[0]["volumes"] if v["name"] == mount["name"])
        cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == vol["configMap"]["name"])
        cfg = json.loads(cm["data"][path.rsplit("/", 1)[1]])
        ranges = [r for rule in cfg["logging"] for r in rule["levelRanges"]]
        assert [r["fromMinLevel"] for r in ranges] == ["WARN"] and cfg["sinks"]["stdout"]["sendTo"] == "STDOUT"


def test_promtail_masks_wallet_secrets_before_loki():
    """Defence in depth (terraform/platform/values/promtail.yaml): a wallet line with a body keeps
    its shape, its secret values do not survive. The expression is RE2; this pattern uses only
    syntax Python's `re` reads the same way."""
    values = yaml.safe_load((ROOT / "terraform/platform/values/promtail.yaml").read_text())
    stage = values["config"]["snippets"]["pipelineStages"][1]["match"]
    assert stage["selector"] == '{container="walt-wallet"}'
    rep = stage["stages"][0]["replace"]
    line = ('2026-12-02T01:00:00Z INFO Request body: {"type":"email","email":"a@b.c","password":"hunter2"} '
            'Response: {"id":"1","token":"eyJhbGciOi.x.y","username":"a"}')

    def mask(m):  # promtail's replace stage substitutes each capture group
        return m.group(0).replace(m.group(1), rep["replace"]) if m.group(1) else m.group(0)
    out = re.sub(rep["expression"], mask, line)
    assert "hunter2" not in out and "eyJhbGciOi" not in out
    assert '"email":"a@b.c"' in out and '"password":"*****"' in out
