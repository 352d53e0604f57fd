"""values.schema.json of every chart, generated from its values.yaml: every key the chart
documents is allowed with the type of its default; anything else is rejected. A few keys are
free-form on purpose (FREE). `make chart-schemas` writes them; the chart tests fail when stale."""

import json
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]

STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
ANY_OBJECT = {"type": "object"}
# Keys whose content is not ours to fix (Kubernetes structures, file contents, label maps).
FREE = {
    "global": {"type": "object", "additionalProperties": True},
    "config.files": STRINGS,
    "podAnnotations": STRINGS,
    "resources": ANY_OBJECT,
    "configInit.resources": ANY_OBJECT,
    "postgres.resources": ANY_OBJECT,
    "strategy": ANY_OBJECT,
    "topologySpreadConstraints": {"type": "array"},
    "externalSecrets.secrets": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["name", "data"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string"},
                "type": {"type": "string"},
                "static": STRINGS,
                "data": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["secretKey", "remoteKey", "property"],
                        "additionalProperties": False,
                        "properties": {k: {"type": "string"} for k in ["secretKey", "remoteKey", "property"]},
                    },
                },
            },
        },
    },
    # The umbrella's component table (wd-render's values; default files/components.yaml).
    "components": {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "required": ["component", "port", "public"],
            "additionalProperties": False,
            "properties": {
                "component": {"type": "string"},
                "service": {"type": "string"},
                "host": {"type": "string"},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "scheme": {"enum": ["http", "https"]},
                "public": {"type": "boolean"},
            },
        },
    },
    "pdb.minAvailable": {"type": ["integer", "string"]},
    "postgres.backup.schedule": {"type": "string"},
}
# The umbrella's subcharts: the charts of the scenario's components and addons (the one home).
_RENDER = yaml.safe_load((ROOT / "config/scenarios/waltid.yaml").read_text())["render"]
SUBCHARTS = [c["chart"] for c in [*_RENDER["components"].values(), *_RENDER["addons"].values()]]


def infer(value, path):
    if path in FREE:
        return FREE[path]
    if path.endswith("podLabels"):
        return STRINGS
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        if not value:
            return {"type": "array"}
        if all(isinstance(x, dict) for x in value):
            merged = {}
            for x in value:
                merged.update(x)
            return {"type": "array", "items": infer(merged, path + "[]")}
        return {"type": "array", "items": infer(value[0], path + "[]")}
    if isinstance(value, dict):
        props = {}
        for k, v in value.items():
            p = f"{path}.{k}" if path else k
            if path == "" and k in SUBCHARTS:
                # The subchart validates its own values; here only `enabled` and the host are ours.
                props[k] = {"type": "object"}
            else:
                props[k] = infer(v, p)
        return {"type": "object", "properties": props, "additionalProperties": False}
    return {}


def schema_for(chart_dir: pathlib.Path):
    values = yaml.safe_load((chart_dir / "values.yaml").read_text()) or {}
    s = infer(values, "")
    # Helm adds a key per dependency (also the library chart) to the values it validates.
    deps = yaml.safe_load((chart_dir / "Chart.yaml").read_text()).get("dependencies") or []
    for d in deps:
        s["properties"].setdefault(d["name"], {"type": "object"})
    s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    s["title"] = f"values of the {chart_dir.name} chart (generated from values.yaml by tests/charts/schemagen.py)"
    return json.dumps(s, indent=2, sort_keys=False) + "\n"


def charts():
    return [p.parent for p in sorted(ROOT.glob("charts/**/values.yaml")) if (p.parent / "Chart.yaml").is_file() and "/charts/" not in str(p.relative_to(ROOT / "charts"))]


if __name__ == "__main__":
    for c in charts():
        (c / "values.schema.json").write_text(schema_for(c))
        print(f"  wrote {c.relative_to(ROOT)}/values.schema.json")
