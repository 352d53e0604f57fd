"""Every document the tools print validates against its published JSON Schema (docs/schemas/),
so a script in another repository can rely on the schema, not on our Rust types."""

import json
import os
import pathlib
import subprocess

import jsonschema
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = (ROOT / os.environ.get("WD_BIN", "target/debug")).resolve()
WALTID = next(
    (p for p in [ROOT.parent / "shared/testdata/waltid-identity-v0.18.2", pathlib.Path("/work/shared/testdata/waltid-identity-v0.18.2")] if p.is_dir()),
    None,
)


def schema(kind):
    return json.loads((ROOT / "docs/schemas" / f"{kind}.schema.json").read_text())


def run(tool, *args, stdin=None, cwd=ROOT):
    p = subprocess.run([str(BIN / tool), *args], input=stdin, capture_output=True, cwd=cwd, env={"PATH": os.environ.get("PATH", "")})
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout


def check(kind, raw):
    doc = json.loads(raw)
    assert doc["apiVersion"] == "wd/v1" and doc["kind"] == kind
    jsonschema.Draft202012Validator(schema(kind)).validate(doc)
    return doc


def test_inventory_of_the_reference_stack():
    check("Inventory", run("wd-inventory", "--scenario", "waltid", "-q"))


def test_inventory_of_every_fixture_form():
    check("Inventory", run("wd-inventory", "-f", "tests/fixtures/compose/every-form/compose.yaml", "--all", "-q"))


@pytest.mark.skipif(WALTID is None, reason="walt.id test data not beside the repository")
def test_inventory_and_config_audit_of_waltids_compose():
    check("Inventory", run("wd-inventory", "--all", "-q", cwd=WALTID))
    check("ConfigAudit", run("wd-inventory", "--configs", "--all", "-q", cwd=WALTID))


def test_render_plan_and_secret_plan(tmp_path):
    inv = run("wd-inventory", "--scenario", "waltid", "-q")
    plan = check("RenderPlan", run("wd-render", "--out", str(tmp_path), stdin=inv))
    check("SecretPlan", (tmp_path / plan["secretPlan"]).read_bytes())
    check("RenderPlan", (tmp_path / "render-plan.json").read_bytes())


def test_schemas_reject_a_wrong_kind():
    doc = json.loads(run("wd-inventory", "--scenario", "waltid", "-q"))
    doc["kind"] = "RenderPlan"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema("Inventory")).validate(doc)
