"""wd-verify on the real umbrella chart: rendered on the Helm v4 engine exactly as
test_charts.py renders it (its helpers, its profiles), verified with the plans wd-render writes
for the same target, with the flags k8s-deploy.sh passes once the platform is installed."""

import functools
import json
import pathlib
import re
import subprocess
import tempfile

import jsonschema
import pytest
import yaml

import test_charts as tc

# profile → wd-render --target whose plans go with it (None: pure chart defaults, no plans)
PROFILES = {"default": None, "rendered": "local", "local": "local", "prod": "onprem"}
# Node sizes the profiles are meant for: local = one 8 GiB / 4 CPU kind node
# (terraform/bootstrap/local-kind worker_nodes=0); prod = three m6i.large (2 vCPU, 8 GiB;
# ~1.9 CPU / 7 GiB allocatable), terraform/bootstrap/aws-eks node_count=3.
NODES = {
    "default": ["--nodes", "1", "--node-memory", "8Gi", "--node-cpu", "4"],
    "rendered": ["--nodes", "1", "--node-memory", "8Gi", "--node-cpu", "4"],
    "local": ["--nodes", "1", "--node-memory", "8Gi", "--node-cpu", "4"],
    "prod": ["--nodes", "3", "--node-memory", "7Gi", "--node-cpu", "1900m"],
}
BEFORE = pathlib.Path("/tmp/wd-verify-before.json")
SCHEMA = json.loads((tc.ROOT / "docs/schemas/PreflightReport.schema.json").read_text())
_TMP = tempfile.TemporaryDirectory(prefix="wd-verify-plans-")


@functools.lru_cache(maxsize=None)
def plans(target):
    """out/ of `wd-inventory --scenario waltid | wd-render --target T` (render + secret plan)."""
    out = pathlib.Path(_TMP.name) / target
    inv = subprocess.run([str(tc.BIN / "wd-inventory"), "--scenario", "waltid", "-q"], cwd=tc.ROOT, check=True, capture_output=True).stdout
    subprocess.run([str(tc.BIN / "wd-render"), "--target", target, "--out", str(out), "-q"], cwd=tc.ROOT, input=inv, check=True, capture_output=True)
    return out


@functools.lru_cache(maxsize=None)
def manifests(profile):
    """`helm template` output of the profile as it is installed: after the platform, so the
    cluster serves ESO's and prometheus-operator's CRDs (ServiceMonitors, Probes and the
    NetworkPolicies that admit their scrapers render together). One YAML stream, and the values."""
    values, _, _, _ = tc.render_case(f"umbrella/{profile}")
    rendered = tc.render_chart(tc.CASES[f"umbrella/{profile}"][1], values, api_versions=(tc.ESO, "monitoring.coreos.com/v1"))
    text = "".join(f"---\n# Source: {p}\n{t}\n" for p, t in sorted(rendered.items()) if not p.endswith("NOTES.txt"))
    return text, values


def orchestrator_flags(values):
    """What k8s-deploy.sh knows after terraform/platform and `run`: the CoreDNS rewrite of the
    domain to the ingress controller, the ClusterIssuers it installs, the app image it built."""
    domain = values.get("global", {}).get("domain") or "localtest.me"
    return [
        "--resolve-public", domain,
        "--external", "ClusterIssuer/selfsigned-ca",
        "--external", "ClusterIssuer/letsencrypt",
        "--built-image", "verifiably-go:local",
    ]


def wd_verify(text, *args):
    p = subprocess.run([str(tc.BIN / "wd-verify"), "-n", tc.NAMESPACE, "--format", "json", *args],
                       cwd=tc.ROOT, input=text.encode(), capture_output=True)
    assert p.returncode in (0, 1), p.stderr.decode()
    report = json.loads(p.stdout)
    assert report["apiVersion"] == "wd/v1" and report["kind"] == "PreflightReport"
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert (p.returncode == 0) == report["ok"]
    return report


def show(report):
    for f in report["findings"]:
        objs = ", ".join(f"{o['objectKind']}/{o['name']}" + (f"[{o['container']}]" if o.get("container") else "") for o in f["objects"])
        print(f"{f['severity']:7} {f['check']:32} {objs}: {f['message']}  -> {f['fix']}")


def errors(report, check=None):
    return [f for f in report["findings"] if f["severity"] == "error" and (check is None or f["check"] == check)]


def run_profile(profile):
    text, values = manifests(profile)
    args = orchestrator_flags(values) + NODES[profile]
    if PROFILES[profile]:
        out = plans(PROFILES[profile])
        args += ["--render-plan", str(out / "render-plan.json"), "--secret-plan", str(out / "secrets" / "secret-plan.json")]
    return wd_verify(text, *args)


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_profile_reads_and_every_call_is_derived(profile):
    """Independent of the chart fixes: the report covers every object and every Ingress backend."""
    report = run_profile(profile)
    text, _ = manifests(profile)
    docs = [d for d in yaml.safe_load_all(text) if d]
    assert report["summary"]["objects"] == len(docs)
    backends = sum(len(r["http"]["paths"]) for d in docs if d["kind"] == "Ingress" for r in d["spec"]["rules"])
    ingress_calls = [c for c in report["calls"] if c["from"].startswith("IngressController/") and c["source"].startswith("Ingress ")]
    assert len(ingress_calls) == backends
    # capacity: a line per namespace and the total, with the cluster's allocatable
    total = [c for c in report["capacity"] if c["scope"] == "total"][0]
    assert total["memoryAllocatableBytes"] > 0 and total["memoryRequestsBytes"] > 0


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_scrape_and_probe_is_a_call_that_works(profile):
    """Prometheus -> each ServiceMonitor's Services and the blackbox exporter -> each Probe URL
    are derived and allowed (NetworkPolicies on both sides, names resolve)."""
    report = run_profile(profile)
    text, _ = manifests(profile)
    docs = [d for d in yaml.safe_load_all(text) if d]
    probes = sum(len(d["spec"]["targets"]["staticConfig"]["static"]) for d in docs if d["kind"] == "Probe")
    scrape = [c for c in report["calls"] if c["from"].startswith("Prometheus/")]
    probe = [c for c in report["calls"] if c["from"].startswith("BlackboxExporter/")]
    assert scrape and len(probe) == probes, report["calls"]
    assert all(c["ok"] for c in scrape + probe), [c for c in scrape + probe if not c["ok"]]


@pytest.mark.parametrize("profile", list(PROFILES))
def test_no_errors_on_any_profile(profile):
    report = run_profile(profile)
    show(report)
    assert report["summary"]["errors"] == 0, [f["message"] for f in errors(report)]


def test_default_profile_shows_the_known_defects():
    """Pure chart defaults, nothing from the orchestrator (no resolution rule, no built image,
    no plans): each known defect that is still in the rendered manifests must be reported.
    The findings go to /tmp/wd-verify-before.json. A defect the charts no longer have (fixed
    concurrently by issue 9) is printed as fixed, not asserted."""
    text, _ = manifests("default")
    report = wd_verify(text)
    BEFORE.write_text(json.dumps(report, indent=2) + "\n")
    show(report)
    docs = [d for d in yaml.safe_load_all(text) if d]
    by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    status = {}

    # 1. the app without the registry adapter / backends file env
    app = [d for d in docs if d["kind"] == "Deployment" and any("verifiably-go" in c["image"] for c in d["spec"]["template"]["spec"]["containers"])]
    assert app, "the umbrella deploys the app"
    env = {e["name"]: e.get("value") for c in app[0]["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}
    lacking = [k for k in ("VERIFIABLY_BACKENDS_FILE", "VERIFIABLY_AUTH_PROVIDERS_FILE") if k not in env]
    if env.get("VERIFIABLY_ADAPTER", "registry") != "registry" or "VERIFIABLY_ADAPTER" not in env:
        lacking.append("VERIFIABLY_ADAPTER")
    found = " ".join(f["message"] for f in errors(report, "config/missing-env"))
    for k in lacking:
        assert k in found, f"{k} missing on the app but not reported"
    status["app env"] = f"present: {lacking}" if lacking else "fixed"

    # 2. *.localtest.me called from pods, served by an Ingress: unresolvable in-cluster
    # URLs under the keys the scenario says carry calls (config/scenarios/waltid.yaml verify:)
    rules = yaml.safe_load((tc.ROOT / "config/scenarios/waltid.yaml").read_text())["verify"]
    keys = [k.replace("*", "[A-Za-z_]*") for k in rules["urlKeys"]] + [u["key"] for u in rules["publishedUrls"]]
    key_re = re.compile(r'"?\b(?:' + "|".join(keys) + r')"?\s*[:=]\s*"?https?://([^/"\s:]+)')
    hosts = {r["host"] for d in docs if d["kind"] == "Ingress" for r in d["spec"]["rules"]}
    cm_text = " ".join(v for d in docs if d["kind"] == "ConfigMap" for v in (d.get("data") or {}).values())
    env_hosts = {m.group(1) for d in docs if d["kind"] == "Deployment"
                 for c in d["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])
                 if e["name"] in rules["urlEnv"] for m in [re.match(r"https?://([^/:]+)", str(e.get("value", "")))] if m}
    called = sorted(h for h in hosts if h.endswith("localtest.me") and (h in set(key_re.findall(cm_text)) | env_hosts))
    reported = " ".join(f["message"] for f in errors(report, "call-path/public-host"))
    for h in called:
        assert h in reported, f"{h} is called in-cluster but not reported"
    status["*.localtest.me in-cluster"] = f"present: {called}" if called else "fixed"

    # 3. Secrets nobody creates on pure defaults
    created = {d["metadata"]["name"] for d in docs if d["kind"] == "Secret"}
    created |= {(d["spec"].get("target") or {}).get("name") or d["metadata"]["name"] for d in docs if d["kind"] == "ExternalSecret"}
    used = set()
    for d in docs:
        spec = d.get("spec", {}).get("template", {}).get("spec", {})
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            for e in c.get("env", []):
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    used.add(ref["name"])
        for v in spec.get("volumes", []):
            if "secret" in v and not v["secret"].get("optional"):
                used.add(v["secret"]["secretName"])
    uncreated = sorted(used - created)
    reported = " ".join(f["message"] for f in errors(report, "references/missing"))
    for s in uncreated:
        assert f"Secret {tc.NAMESPACE}/{s} " in reported, f"Secret {s} is used, not created, not reported"
    status["uncreated Secrets"] = f"present: {uncreated}" if uncreated else "fixed"

    # 4. the app image verifiably-go:local is built by nothing the manifests know of
    images = {c["image"] for d in app for c in d["spec"]["template"]["spec"]["containers"]}
    local = sorted(i for i in images if i.endswith(":local"))
    for i in local:
        assert any(i in f["message"] for f in errors(report, "images/not-built")), i
    status["app image not built"] = f"present: {local}" if local else "fixed"

    # 5. Redis: issuer/verifier persistence.conf naming a Redis that has no Service (prod)
    prod_text, prod_values = manifests("prod")
    prod = wd_verify(prod_text, *orchestrator_flags(prod_values))
    redis_calls = [c for c in prod["calls"] if c["to"].startswith("redis://")]
    for c in redis_calls:
        authority = c["to"].split("://", 1)[1].split("/")[0]
        host = authority.rsplit("@", 1)[-1].split(":")[0]  # after the userinfo (redis://:$(PW)@host:port)
        has_service = ("Service", host) in {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(prod_text) if d}
        if not has_service:
            assert not c["ok"] and any(host in f["message"] for f in errors(prod, "call-path/dns")), c
    broken = sorted({c["to"] for c in redis_calls if not c["ok"]})
    status["Redis reachable (prod)"] = f"present: {broken}" if broken else ("fixed" if redis_calls else "no Redis calls")

    print("\nknown defects on the default profile:", json.dumps(status, indent=2))
    assert by, "rendered something"
