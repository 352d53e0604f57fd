"""The External Secrets objects the umbrella renders (ExternalSecret v1beta1, the database
credentials' VaultDynamicSecret generators v1alpha1) against the CRDs of the ESO release the
platform pins (terraform/platform: external-secrets 0.10.4).

The CRDs are upstream files, not committed: what was verified against them is kept here as
facts (eso_facts.yaml: every field path our renders use, each found in the CRD's schema at the
pinned tag, objects closed as the API server prunes them). This test renders every profile with
every option that adds ESO objects and fails on a field path the facts do not hold — a new field
must be verified against the CRDs first. Re-verify with the CRDs at hand:

  git --git-dir=<external-secrets mirror> show helm-chart-0.10.4:config/crds/bases/<file>.yaml > <dir>/<file>.yaml
  WD_ESO_CRDS=<dir> .venv/bin/python -m pytest -q tests/charts/test_eso_crds.py   # validates, then
  WD_ESO_CRDS=<dir> WD_WRITE_FACTS=1 .venv/bin/python -m pytest -q tests/charts/test_eso_crds.py
"""

import glob
import os
import pathlib

import jsonschema
import pytest
import yaml

from test_charts import UMBRELLA, ESO, field_paths, build_dependencies, deep_merge, load_docs, render_chart, values_file, wd_render

FACTS = pathlib.Path(__file__).with_name("eso_facts.yaml")
GENERATORS = "generators.external-secrets.io/v1alpha1"
DYNAMIC = {"postgres": {"dynamicCredentials": {"enabled": True}},
           "walt-wallet": {"database": {"usernameFromSecret": True}},
           "keycloak": {"database": {"usernameFromSecret": True}}}
CASES = {
    "local": lambda: [wd_render(), values_file("values-local.yaml")],
    "prod": lambda: [wd_render(target="onprem"), values_file("values-prod.yaml")],
    "local+dynamic-db": lambda: [wd_render(), values_file("values-local.yaml"), DYNAMIC],
    "prod+dynamic-db": lambda: [wd_render(target="onprem"), values_file("values-prod.yaml"), DYNAMIC],
}


def eso_objects():
    build_dependencies()
    out = []
    for case, layers in CASES.items():
        values = {}
        for layer in layers():
            values = deep_merge(values, layer)
        for _, d in load_docs(render_chart(UMBRELLA, values, api_versions=(ESO, GENERATORS))):
            if d["apiVersion"].split("/")[0].endswith("external-secrets.io"):
                out.append((case, d))
    return out


def closed(schema):
    """A structural schema as the API server applies it: unknown fields of an object with
    properties are pruned, i.e. not part of the object; here they are errors."""
    if isinstance(schema, dict):
        schema = dict(schema)
        if (schema.get("type") == "object" and "properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
        for k, v in list(schema.items()):
            if k == "properties":
                schema[k] = {name: closed(s) for name, s in v.items()}
            elif isinstance(v, (dict, list)):
                schema[k] = closed(v)
    elif isinstance(schema, list):
        schema = [closed(s) for s in schema]
    return schema


def test_every_field_we_render_was_verified_against_the_pinned_crds():
    facts = yaml.safe_load(FACTS.read_text())
    objects = eso_objects()
    kinds = {(d["apiVersion"], d["kind"]) for _, d in objects}
    assert ("external-secrets.io/v1beta1", "ExternalSecret") in kinds
    assert (GENERATORS, "VaultDynamicSecret") in kinds, "the dynamic-db cases render no generator"
    unverified = sorted({f"{d['apiVersion']} {d['kind']}: {p} ({case})"
                         for case, d in objects
                         for p in field_paths(d)
                         if p not in facts["verified"].get(f"{d['apiVersion']} {d['kind']}", [])})
    assert not unverified, "field paths not verified against the ESO CRDs (see this file's docstring):\n" + "\n".join(unverified[:20])


@pytest.mark.skipif(not os.environ.get("WD_ESO_CRDS"), reason="re-verification only: WD_ESO_CRDS=<dir of the pinned CRDs>")
def test_reverify_against_the_crds():
    crds = {}
    for f in glob.glob(os.path.join(os.environ["WD_ESO_CRDS"], "*.yaml")):
        c = yaml.safe_load(pathlib.Path(f).read_text())
        for v in c["spec"]["versions"]:
            crds[(f"{c['spec']['group']}/{v['name']}", c["spec"]["names"]["kind"])] = v["schema"]["openAPIV3Schema"]
    verified = {}
    for case, d in eso_objects():
        key = (d["apiVersion"], d["kind"])
        assert key in crds, f"no CRD for {key} in WD_ESO_CRDS"
        schema = closed(crds[key])
        schema["properties"]["metadata"] = {"type": "object"}
        errors = [f"{case} {d['metadata']['name']}: {list(e.absolute_path)}: {e.message[:200]}"
                  for e in jsonschema.Draft7Validator(schema).iter_errors(d)]
        assert not errors, "\n".join(errors)
        verified.setdefault(f"{key[0]} {key[1]}", set()).update(field_paths(d))
    if os.environ.get("WD_WRITE_FACTS"):
        head = FACTS.read_text().split("verified:")[0]
        body = yaml.safe_dump({"verified": {k: sorted(v) for k, v in sorted(verified.items())}}, sort_keys=False)
        FACTS.write_text(head + body)
