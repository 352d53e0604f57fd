"""Issue 16 options 2 (OpenTelemetry) and 4 (KEDA) in the charts, on the real Helm v4 engine with
test_charts.py's helpers: every profile (default, rendered, local, prod) with each option off and
on; kubernetes-validate strict (custom resources: ScaledObject checked against KEDA 2.17.2's CRD
schema when the upstream chart is on disk, WD_UPSTREAM_CHARTS, as platform_facts.yaml describes;
offline, against the field paths verified that way, keda_facts.yaml);
checkov 0 failed; wd-verify 0 errors with both options on; the scale refusals hold for KEDA."""

import json
import os
import pathlib

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml

import test_charts as tc

KEDA_API = "keda.sh/v1alpha1"
APIS = (tc.ESO, "monitoring.coreos.com/v1", KEDA_API)
PROFILES = ["umbrella/default", "umbrella/rendered", "umbrella/local", "umbrella/prod"]
# the app and the wallet may scale in these (docs/scaling.md): KEDA for both where the HPA is allowed
KEDA_ON = {c: {"autoscaling": {"enabled": True, "keda": {"enabled": True}}} for c in ("walt-wallet", "verifiably-go")}
# the app's HPA needs Redis and shared stores (its chart refuses otherwise): as values-prod.yaml
APP_SHARED = {"verifiably-go": {"redis": {"enabled": True}, "database": {"enabled": True}}, "redis": {"enabled": True}}
OTEL_ON = {"global": {"otel": {"enabled": True}}}
JVMS = ["walt-issuer", "walt-verifier", "walt-wallet"]
SENDERS = ["verifiably-go", *JVMS]


def render(case, *layers, apis=APIS):
    values, _, _, _ = tc.render_case(case)
    for layer in layers:
        values = tc.deep_merge(values, layer)
    rendered = tc.render_chart(tc.CASES[case][1], values, api_versions=apis)
    return values, [d for _, d in tc.load_docs(rendered)]


def both_on(case):
    """OTel and KEDA on (KEDA for the app needs its Redis and Postgres: prod has them)."""
    layers = [OTEL_ON, {"walt-wallet": KEDA_ON["walt-wallet"]}]
    layers.append(tc.deep_merge(APP_SHARED, {"verifiably-go": KEDA_ON["verifiably-go"]}))
    return render(case, *layers)


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def env_of(deploy):
    c = deploy["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value") for e in c.get("env", [])}


def crd_schema(kind):
    """openAPIV3Schema (v1alpha1) of a KEDA CRD, from the pinned upstream chart rendered on the Helm
    engine (its CRDs are templates), or None offline (no WD_UPSTREAM_CHARTS/keda)."""
    chart = pathlib.Path(os.environ.get("WD_UPSTREAM_CHARTS") or "/nonexistent") / "keda"
    if not (chart / "Chart.yaml").exists():
        return None
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["version"] == "2.17.2"  # terraform/platform's pin
    with helm.Chart.load(str(chart)) as ch:
        out = ch.render({}, name="keda", namespace="keda", is_install=True)
    for tpl, text in out.items():
        if tpl.endswith("NOTES.txt"):
            continue
        for d in yaml.safe_load_all(text):
            if d and d.get("kind") == "CustomResourceDefinition" and d["spec"]["names"]["kind"] == kind:
                return next(v for v in d["spec"]["versions"] if v["name"] == "v1alpha1")["schema"]["openAPIV3Schema"]
    raise AssertionError(f"keda chart renders no CRD of kind {kind}")


def unknown_fields(obj, schema, path=""):
    """Fields the CRD's structural schema does not declare (the API server would prune them
    silently): strict, as kubernetes-validate is for built-in kinds."""
    out = []
    if isinstance(obj, dict) and "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        for k, v in obj.items():
            if k in schema["properties"]:
                out += unknown_fields(v, schema["properties"][k], f"{path}.{k}")
            elif not schema.get("additionalProperties"):
                out.append(f"{path}.{k}")
    elif isinstance(obj, dict) and isinstance(schema.get("additionalProperties"), dict):
        for k, v in obj.items():
            out += unknown_fields(v, schema["additionalProperties"], f"{path}.{k}")
    elif isinstance(obj, list) and "items" in schema:
        for i, v in enumerate(obj):
            out += unknown_fields(v, schema["items"], f"{path}[{i}]")
    return out


KEDA_FACTS = pathlib.Path(__file__).with_name("keda_facts.yaml")
VERIFIED_HERE = set()


def validate(docs):
    so = crd_schema("ScaledObject")
    for d in docs:
        try:
            kubernetes_validate.validate(d, tc.KUBE_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            group = d["apiVersion"].split("/")[0]
            assert group in {"postgresql.cnpg.io", "external-secrets.io", "monitoring.coreos.com", "keda.sh"}, d["apiVersion"]
            if d["kind"] == "ScaledObject" and so is not None:
                jsonschema.Draft7Validator(so).validate(d)
                assert not unknown_fields(d["spec"], so["properties"]["spec"], "spec"), unknown_fields(d["spec"], so["properties"]["spec"], "spec")
                VERIFIED_HERE.update(tc.field_paths(d))
            elif d["kind"] == "ScaledObject":
                # offline: every field path must be one verified against the CRD (keda_facts.yaml)
                verified = set(yaml.safe_load(KEDA_FACTS.read_text())["verified"])
                unverified = sorted(set(tc.field_paths(d)) - verified)
                assert not unverified, f"ScaledObject fields never verified against KEDA 2.17.2's CRD (re-verify: keda_facts.yaml): {unverified}"
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{d['kind']} {d['metadata']['name']}: {str(e).splitlines()[0]}")


@pytest.mark.parametrize("case", PROFILES)
def test_options_off_render_nothing_new(case):
    _, docs = render(case)
    assert not by_kind(docs, "ScaledObject")
    assert not [n for n in by_kind(docs, "NetworkPolicy") if "otel" in n]
    for d in by_kind(docs, "Deployment").values():
        assert not [k for k in env_of(d) if "OTEL" in k], d["metadata"]["name"]
        assert "otel-agent" not in json.dumps(d)


@pytest.mark.parametrize("case", PROFILES)
def test_options_on_every_profile(case):
    values, docs = both_on(case)
    values = tc.deep_merge(tc.values_file("values.yaml"), values)  # the umbrella's defaults under the layers
    validate(docs)
    deps = by_kind(docs, "Deployment")
    app, wallet = deps["waltid-verifiably-go"], deps["waltid-walt-wallet"]
    g = values["global"]["otel"]["collector"]
    url = f"http://{g['service']}.{g['namespace']}.svc:{g['httpPort']}"
    # the app: its own OTLP/HTTP exporter, service name and sample rate from values
    e = env_of(app)
    assert e["VERIFIABLY_OTEL_ENDPOINT"] == url and e["VERIFIABLY_OTEL_SERVICE_NAME"] == "waltid-verifiably-go"
    assert e["VERIFIABLY_OTEL_SAMPLE_RATE"] == str(values["global"]["otel"]["sampleRate"])
    # the walt.id JVMs: the Java agent from an init container, through JAVA_TOOL_OPTIONS
    for chart in JVMS:
        d = deps[f"waltid-{chart}"]
        e = env_of(d)
        assert e["JAVA_TOOL_OPTIONS"].endswith(" -javaagent:/otel-agent/javaagent.jar") and e["OTEL_EXPORTER_OTLP_ENDPOINT"] == url
        assert e["OTEL_SERVICE_NAME"] == f"waltid-{chart}"
        assert e["OTEL_LOGS_EXPORTER"] == "none"  # logs keep the stdout -> Promtail path (the secret mask)
        spec = d["spec"]["template"]["spec"]
        init = next(c for c in spec["initContainers"] if c["name"] == "otel-agent")
        assert init["image"].startswith(values["global"]["otel"]["javaAgent"]["image"]["repository"] + ":")
        sc = init["securityContext"]  # restricted Pod Security (the waltid namespace enforces it)
        assert sc["runAsNonRoot"] and sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
        assert sc["seccompProfile"]["type"] == "RuntimeDefault" and init["resources"]["requests"]["memory"]
        assert {"name": "otel-agent", "mountPath": "/otel-agent", "readOnly": True} in spec["containers"][0]["volumeMounts"]
        assert any(v["name"] == "otel-agent" and "emptyDir" in v for v in spec["volumes"])
    # egress to the collector's HTTP port only, from exactly the senders
    nps = {n: d for n, d in by_kind(docs, "NetworkPolicy").items() if "otel" in n}
    assert set(nps) == {f"waltid-{c}-to-otel-collector" for c in SENDERS}
    for d in nps.values():
        (rule,) = d["spec"]["egress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": g["httpPort"]}]
        assert rule["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": g["namespace"]}
        assert rule["to"][0]["podSelector"]["matchLabels"] == g["podLabels"]
    # KEDA replaces the HPA: a ScaledObject per chart, never both
    assert not by_kind(docs, "HorizontalPodAutoscaler")
    so = by_kind(docs, "ScaledObject")
    assert set(so) == {"waltid-verifiably-go", "waltid-walt-wallet"}
    prom = values["global"]["prometheus"]["url"]
    for name, d in so.items():
        trig = {t["type"]: t for t in d["spec"]["triggers"]}
        assert trig["prometheus"]["metadata"]["serverAddress"] == prom and d["spec"]["scaleTargetRef"]["name"] == name
    assert "credential_issued_total" in so["waltid-verifiably-go"]["spec"]["triggers"][0]["metadata"]["query"]
    wallet_host = values["walt-wallet"]["host"]
    assert f'nginx_ingress_controller_requests{{host="{wallet_host}"}}' in so["waltid-walt-wallet"]["spec"]["triggers"][0]["metadata"]["query"]


def test_keda_without_its_api_is_refused():
    with pytest.raises(Exception, match="autoscaling.keda.enabled needs KEDA's CRDs"):
        render("umbrella/rendered", {"walt-wallet": KEDA_ON["walt-wallet"]}, apis=(tc.ESO,))


@pytest.mark.parametrize("chart,values,message", [
    # the same guards that refuse replicas > 1 refuse a ScaledObject (it needs autoscaling.enabled)
    ("verifiably-go", KEDA_ON["verifiably-go"], "verifiably-go: replicaCount > 1 or autoscaling needs redis.enabled=true"),
    ("walt-wallet", tc.deep_merge(KEDA_ON["walt-wallet"], {"config": {"files": {"db.conf": 'dataSource { jdbcUrl = "jdbc:sqlite:data/data.db" }\nrecreateDatabaseOnStart = false\n'}}}),
     "walt-wallet: replicaCount > 1 or autoscaling needs db.conf on the shared Postgres"),
])
def test_keda_is_refused_where_replicas_are(chart, values, message):
    with pytest.raises(Exception, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        tc.render_chart(tc.CHARTS / chart, tc.deep_merge({"host": "x.localtest.me", "global": {"prometheus": {"url": "http://p:9090"}}}, values), api_versions=APIS)


def test_keda_flag_without_autoscaling_is_the_plain_deployment():
    _, docs = render("umbrella/rendered", {"walt-wallet": {"autoscaling": {"keda": {"enabled": True}}}})
    assert not by_kind(docs, "ScaledObject") and not by_kind(docs, "HorizontalPodAutoscaler")


def test_checkov_with_the_options_on(tmp_path):
    for case in PROFILES:
        _, docs = both_on(case)
        (tmp_path / (case.replace("/", "__") + ".yaml")).write_text("\n---\n".join(yaml.safe_dump(d) for d in docs))
    tc.assert_checkov_clean(tmp_path)


def verify(case, docs_filter=None, on=True):
    """wd-verify on the profile's render (as test_verify.py runs it), options on or off."""
    import test_verify as tv

    prof = case.split("/")[1]
    values, _ = both_on(case) if on else render(case)
    rendered = tc.render_chart(tc.CASES[case][1], values, api_versions=APIS)
    docs = [d for t, x in sorted(rendered.items()) if not t.endswith("NOTES.txt") for d in yaml.safe_load_all(x) if d]
    if docs_filter:
        docs = [d for d in docs if docs_filter(d)]
    text = "".join("---\n" + yaml.safe_dump(d) for d in docs)
    args = tv.orchestrator_flags(values) + tv.NODES[prof]
    out = tv.plans(tv.PROFILES[prof])
    args += ["--render-plan", str(out / "render-plan.json"), "--secret-plan", str(out / "secrets" / "secret-plan.json")]
    return tv.wd_verify(text, *args)


def unused(report):
    return sorted(f["message"] for f in report["findings"] if f["check"] == "call-path/unused-flow")


@pytest.mark.parametrize("case", ["umbrella/local", "umbrella/prod"])
def test_wd_verify_finds_the_collector_calls_allowed_and_nothing_else_opened(case):
    on, off = verify(case), verify(case, on=False)
    assert on["summary"]["errors"] == 0, [f["message"] for f in on["findings"] if f["severity"] == "error"]
    otel = [c for c in on["calls"] if c["resolvesTo"] == "Service monitoring/opentelemetry-collector"]
    assert sorted((c["from"], c["source"]) for c in otel) == sorted(
        [("Deployment/waltid/waltid-verifiably-go [verifiably-go]", "env VERIFIABLY_OTEL_ENDPOINT")]
        + [(f"Deployment/waltid/waltid-{c} [{c}]", "env OTEL_EXPORTER_OTLP_ENDPOINT") for c in JVMS]
    ) and all(c["ok"] for c in otel)
    # the new egress rules are used by exactly these calls: no new allowed-but-unused flow
    assert unused(on) == unused(off)
    # ScaledObjects are read (their minReplicaCount counts as the HPA's minReplicas did)
    assert "ScaledObject" not in on["summary"].get("ignoredKinds", {})


def test_wd_verify_catches_the_collector_call_without_its_network_policy():
    report = verify("umbrella/local", docs_filter=lambda d: not (d["kind"] == "NetworkPolicy" and "otel" in d["metadata"]["name"]))
    errs = [f for f in report["findings"] if f["severity"] == "error"]
    assert len(errs) == len(SENDERS) and all(f["check"] == "call-path/egress" and "opentelemetry-collector" in f["message"] for f in errs), errs


def test_the_workloads_toggles_switch_the_scenario():
    """terraform/workloads opentelemetry_enabled / keda_enabled (the platform's names), evaluated by
    the real terraform, layered over the prod profile as k8s-deploy.sh installs it."""
    import test_external_store as es

    assert es.evaluate()["local__telemetry_values"] == []
    layers = [yaml.safe_load(x) for x in es.evaluate(opentelemetry_enabled=True, keda_enabled=True)["local__telemetry_values"]]
    _, docs = render("umbrella/prod", *layers)
    assert set(by_kind(docs, "ScaledObject")) == {"waltid-verifiably-go", "waltid-walt-wallet"}
    assert not {"waltid-verifiably-go", "waltid-walt-wallet"} & set(by_kind(docs, "HorizontalPodAutoscaler"))
    assert "VERIFIABLY_OTEL_ENDPOINT" in env_of(by_kind(docs, "Deployment")["waltid-verifiably-go"])
    # local: one replica each, so KEDA changes nothing there; OTel still applies
    _, docs = render("umbrella/local", *layers)
    assert not by_kind(docs, "ScaledObject") and "OTEL_EXPORTER_OTLP_ENDPOINT" in env_of(by_kind(docs, "Deployment")["waltid-walt-wallet"])


@pytest.mark.skipif(not os.environ.get("WD_WRITE_FACTS") or not os.environ.get("WD_UPSTREAM_CHARTS"),
                    reason="re-verification only: WD_UPSTREAM_CHARTS=<charts> WD_WRITE_FACTS=1 after the CRD checks above ran")
def test_write_the_verified_scaledobject_fields():
    assert VERIFIED_HERE, "run the whole file: the CRD checks collect the verified paths"
    head = KEDA_FACTS.read_text().split("verified:")[0]
    KEDA_FACTS.write_text(head + yaml.safe_dump({"verified": sorted(VERIFIED_HERE)}, sort_keys=False))
