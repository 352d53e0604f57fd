"""Prints the umbrella chart rendered as tests/charts/test_charts.py renders its `umbrella/local`
profile (Helm v4 engine), as one multi-document YAML stream for wd-verify's benchmark."""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "charts"))
import test_charts as tc  # noqa: E402

_, _, rendered, _ = tc.render_case("umbrella/local")
sys.stdout.write("".join(f"---\n# Source: {p}\n{t}\n" for p, t in sorted(rendered.items()) if not p.endswith("NOTES.txt")))
