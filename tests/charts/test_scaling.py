"""The replica verdict (docs/scaling.md) is what the charts enforce: every chart the verdict keeps
at one pod refuses replicaCount > 1 and an HPA, every chart that may scale only with shared state
refuses to scale without it, and the wallet scales on its defaults (shared Postgres, one auth
Secret). Rendered on the real Helm v4 engine."""

import pathlib
import re

import helm_python as helm
import pytest

from test_charts import CHARTS, NAMESPACE, RELEASE, build_dependencies

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCALING = ROOT / "docs" / "scaling.md"

# Values a chart needs to render at all (the umbrella or wd-render passes them).
BASE = {"keycloak": {"host": "auth.example.org"}, "wso2is": {"host": "wso2.example.org"}}


def verdicts():
    """(chart, verdict) from the summary table of docs/scaling.md: rows `| service | chart | 1 |`,
    `| … | N |` or `| … | N with … |`."""
    rows = re.findall(r"^\|[^|\n]+\|\s*`([a-z0-9-]+)`\s*\|\s*\*\*(1|N)\*\*([^|\n]*)\|", SCALING.read_text(), re.M)
    assert rows, "docs/scaling.md has no summary table rows"
    return [(chart, "N with" if n == "N" and rest.strip().startswith("with") else n) for chart, n, rest in rows]


def render(chart, values):
    build_dependencies()
    with helm.Chart.load(str(CHARTS / chart)) as ch:
        return ch.render({**BASE.get(chart, {}), **values}, name=RELEASE, namespace=NAMESPACE)


def test_the_summary_names_every_service_chart():
    assert {c for c, _ in verdicts()} == {
        "walt-issuer", "walt-verifier", "walt-wallet", "verifiably-go", "keycloak", "wso2is", "libretranslate"}


@pytest.mark.parametrize("chart,verdict", verdicts())
@pytest.mark.parametrize("scale", [{"replicaCount": 2}, {"autoscaling": {"enabled": True}}], ids=["replicas", "hpa"])
def test_charts_refuse_what_the_verdict_forbids(chart, verdict, scale):
    if verdict == "N":
        rendered = render(chart, scale)
        deployment = next(m for p, m in rendered.items() if p.endswith("deployment.yaml"))
        if "replicaCount" in scale:
            assert re.search(r"^\s*replicas: 2$", deployment, re.M), deployment[:400]
        else:
            assert any(p.endswith("hpa.yaml") and "HorizontalPodAutoscaler" in m for p, m in rendered.items())
        return
    with pytest.raises(helm.HelmError) as e:
        render(chart, scale)
    message = str(e.value)
    if verdict == "1":
        assert f"{chart}: one replica only" in message and "docs/scaling.md" in message, message
    else:
        assert f"{chart}: replicaCount > 1 or autoscaling needs" in message, message


@pytest.mark.parametrize("db_conf", [
    'dataSource { jdbcUrl = "jdbc:sqlite:data/data.db" }\nrecreateDatabaseOnStart = false\n',
    "recreateDatabaseOnStart = false\n",
], ids=["sqlite", "no-jdbcUrl"])
def test_the_wallet_scales_only_on_the_shared_postgres(db_conf):
    files = {"db.conf": db_conf, "web.conf": "webPort = 7001\n"}
    render("walt-wallet", {"config": {"files": files}})  # one replica: any database
    with pytest.raises(helm.HelmError) as e:
        render("walt-wallet", {"replicaCount": 3, "config": {"files": files}})
    assert "walt-wallet: replicaCount > 1 or autoscaling needs db.conf on the shared Postgres" in str(e.value)
