"""charts/<chart>/files/config/ hold the config files wd-render renders for the k8s flavor and
the default values, so every chart renders correct files with its defaults. They are generated,
never edited: `make chart-files` writes them, the chart tests fail when they are stale."""

import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def chart_of_component():
    sc = yaml.safe_load((ROOT / "config/scenarios/waltid.yaml").read_text())
    return {name: c["chart"] for name, c in sc["render"]["components"].items()}


def render_default(out: pathlib.Path, bin_dir: pathlib.Path):
    """wd-inventory --scenario waltid | wd-render --out OUT; returns the RenderPlan."""
    inv = subprocess.run([str(bin_dir / "wd-inventory"), "--scenario", "waltid", "-q"], cwd=ROOT, check=True, capture_output=True).stdout
    plan = subprocess.run([str(bin_dir / "wd-render"), "--out", str(out), "-q"], cwd=ROOT, input=inv, check=True, capture_output=True).stdout
    return json.loads(plan)


def expected(bin_dir: pathlib.Path):
    """{chart: {file name: content}} as wd-render renders them now."""
    charts = chart_of_component()
    with tempfile.TemporaryDirectory() as d:
        out = pathlib.Path(d)
        plan = render_default(out, bin_dir)
        result = {}
        for f in plan["files"]:
            chart = charts.get(f["component"])
            if chart:
                result.setdefault(chart, {})[pathlib.Path(f["path"]).name] = (out / f["path"]).read_text()
        return result


def current():
    result = {}
    for d in sorted((ROOT / "charts").glob("*/files/config")):
        result[d.parent.parent.name] = {p.name: p.read_text() for p in sorted(d.iterdir()) if p.is_file()}
    return result


def write(bin_dir: pathlib.Path):
    for chart, files in expected(bin_dir).items():
        d = ROOT / "charts" / chart / "files" / "config"
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        for name, text in files.items():
            (d / name).write_text(text)
        print(f"  wrote charts/{chart}/files/config/ ({len(files)} files)")


if __name__ == "__main__":
    write(ROOT / (sys.argv[1] if len(sys.argv) > 1 else "target/debug"))
