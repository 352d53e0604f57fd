"""Grafana's Tempo datasource (issue 16 option 2; terraform/platform main.tf grafana_tempo_datasource,
file terraform/platform/grafana/tempo-datasource.yaml): it exists exactly when Tempo does, carries
the label kube-prometheus-stack's Grafana watches (our values, a platform_facts.yaml rule), points
at the Tempo release's Service and links to datasource uids that exist. With the upstream charts
at hand (WD_UPSTREAM_CHARTS) the same is checked on their renders: the sidecar that loads it, the
Prometheus datasource's uid, Tempo's query port."""

import os
import pathlib
import sys
import urllib.parse

import pytest
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from test_platform_values import PROFILE_VARS, VALUES, facts, tf_texts  # noqa: E402
from test_terraform import TF, load_module, resources, unq  # noqa: E402

UPSTREAM = os.environ.get("WD_UPSTREAM_CHARTS")
DATASOURCE = TF / "platform/grafana/tempo-datasource.yaml"


def platform():
    return {(t, n): b for t, n, b in resources(load_module(TF / "platform"))}


def kps_values(profile):
    rel = facts()["releases"]["kube-prometheus-stack"]
    (text,) = tf_texts([(VALUES / rel["values_file"], {k: PROFILE_VARS[profile][k] for k in rel["variables"]})])
    return yaml.safe_load(text)


def datasource():
    (ds,) = yaml.safe_load(DATASOURCE.read_text())["datasources"]
    return ds


def test_the_configmap_exists_with_tempo_and_carries_the_label_grafana_watches():
    res = platform()
    cm = res[("kubernetes_config_map_v1", "grafana_tempo_datasource")]
    tempo = res[("helm_release", "tempo")]
    # the same switch as the Tempo release
    assert unq(cm["count"]) == unq(tempo["count"]) == "${local.otel ? 1 : 0}"
    meta = cm["metadata"][0] if isinstance(cm["metadata"], list) else cm["metadata"]
    assert "monitoring" in str(meta["namespace"])
    assert 'grafana/tempo-datasource.yaml' in str(cm["data"])
    for profile in PROFILE_VARS:
        sc = kps_values(profile)["grafana"]["sidecar"]["datasources"]
        assert sc["enabled"] is True
        labels = meta["labels"][0] if isinstance(meta["labels"], list) else meta["labels"]
        assert {unq(k): unq(v) for k, v in labels.items()} == {sc["label"]: sc["labelValue"]}


def test_the_datasource_points_at_tempo_and_links_to_existing_uids():
    ds = datasource()
    assert (ds["type"], ds["uid"]) == ("tempo", "tempo")
    u = urllib.parse.urlsplit(ds["url"])
    tempo = platform()[("helm_release", "tempo")]
    # Service <release name> in the release's namespace (tempo chart: fullname = release name)
    assert u.hostname == f"{unq(tempo['name'])}.monitoring.svc.cluster.local" and u.port == 3200
    assert 'kubernetes_namespace_v1.ns["monitoring"]' in str(tempo["namespace"])
    loki_uids = {d["uid"] for d in kps_values("local")["grafana"]["additionalDataSources"] if d["type"] == "loki"}
    assert ds["jsonData"]["tracesToLogsV2"]["datasourceUid"] in loki_uids
    assert ds["jsonData"]["serviceMap"]["datasourceUid"] == "prometheus"  # checked on the chart below


@pytest.mark.skipif(not UPSTREAM, reason="needs the upstream charts (WD_UPSTREAM_CHARTS, tests/terraform/platform_facts.yaml)")
def test_upstream_grafana_loads_it_and_tempo_serves_the_port():  # pragma: no cover - needs the charts
    import helm_python as helm

    with helm.Chart.load(pathlib.Path(UPSTREAM) / "kube-prometheus-stack") as ch:
        out = ch.render(kps_values("local"), name="kube-prometheus-stack", namespace="monitoring", is_install=True)
    docs = [d for k, t in out.items() if not k.endswith("NOTES.txt") for d in yaml.safe_load_all(t) if d]
    (grafana,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("grafana")]
    (sc,) = [c for c in grafana["spec"]["template"]["spec"]["containers"] if c["name"].endswith("sc-datasources")]
    env = {e["name"]: e.get("value") for e in sc["env"]}
    assert (env["LABEL"], env["LABEL_VALUE"]) == ("grafana_datasource", "1") and "NAMESPACE" not in env, env
    provisioned = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"].get("labels", {}).get("grafana_datasource") == "1"]
    text = "".join(v for d in provisioned for v in d["data"].values())
    assert "uid: prometheus" in text, text
    rel = facts()["releases"]["tempo"]
    (tv,) = tf_texts([(VALUES / rel["values_file"], {k: PROFILE_VARS["local"][k] for k in rel["variables"]})])
    with helm.Chart.load(pathlib.Path(UPSTREAM) / "tempo") as ch:
        out = ch.render(yaml.safe_load(tv), name="tempo", namespace="monitoring", is_install=True)
    svcs = [d for k, t in out.items() for d in yaml.safe_load_all(t) if d and d["kind"] == "Service" and d["metadata"]["name"] == "tempo"]
    assert 3200 in {p["port"] for p in svcs[0]["spec"]["ports"]}
