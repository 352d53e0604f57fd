"""The GitHub workflows, checked offline with the real linters: actionlint (with shellcheck on the
run: blocks), zizmor --offline (nothing above low), check-jsonschema's vendored workflow schema;
then what a reviewer checks by hand: actions pinned by commit SHA with their version, least
privilege, and the e2e workflow doing what the users' plan asks (kind through `up`, make e2e,
artifacts on failure, reset always).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
VENV_BIN = ROOT / ".venv" / "bin"
UNSAFE = Path(__file__).parent / "fixtures" / "unsafe-workflow.yml"
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+?)@(\S+)(.*)$")


def tool(name: str) -> str:
    p = VENV_BIN / name
    assert p.exists(), f"{p} missing: make venv (tests/requirements.txt pins it)"
    return str(p)


def run(*cmd: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=cwd)


def load(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def test_the_three_workflows_exist():
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "e2e.yml", "image.yml"]


@pytest.mark.parametrize("wf", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_with_shellcheck(wf):
    assert shutil.which("shellcheck"), "shellcheck must be on PATH: actionlint runs it on every run: block"
    p = run(tool("actionlint"), str(wf))
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("wf", WORKFLOWS, ids=lambda p: p.name)
def test_github_workflow_schema(wf):
    p = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(wf))
    assert p.returncode == 0, p.stdout + p.stderr


def test_zizmor_offline_finds_nothing_above_low():
    p = run(tool("zizmor"), "--offline", "--min-severity", "medium", ".github/workflows")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "No findings to report" in p.stdout + p.stderr


def test_the_linters_refuse_an_unsafe_workflow(tmp_path):
    # not a blind pass: the same commands fail on what they exist to catch
    wf = tmp_path / ".github" / "workflows" / "unsafe.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text(UNSAFE.read_text())
    z = run(tool("zizmor"), "--offline", "--min-severity", "medium", ".github/workflows", cwd=tmp_path)
    assert z.returncode != 0
    for audit in ("dangerous-triggers", "template-injection", "unpinned-uses", "artipacked"):
        assert f"[{audit}]" in z.stdout, z.stdout
    a = run(tool("actionlint"), str(wf))
    assert a.returncode != 0 and "SC2086" in a.stdout, a.stdout


def test_every_action_is_pinned_by_commit_sha_with_its_version():
    pins: dict[str, set[tuple[str, str]]] = {}
    for wf in WORKFLOWS:
        for n, line in enumerate(wf.read_text().splitlines(), 1):
            m = USES.match(line)
            if not m:
                continue
            action, ref, comment = m.groups()
            where = f"{wf.name}:{n}"
            if action.startswith("./"):
                continue
            assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{where}: {action}@{ref} is not a full commit SHA"
            v = re.fullmatch(r"\s*#\s*(v\d+\.\d+\.\d+)\s*", comment)
            assert v, f"{where}: {action}@{ref} needs its version as a comment (# vX.Y.Z)"
            pins.setdefault(action, set()).add((ref, v.group(1)))
    # one version of each action across the workflows
    assert all(len(v) == 1 for v in pins.values()), {a: v for a, v in pins.items() if len(v) > 1}
    assert {"actions/checkout", "actions/cache", "actions/upload-artifact", "docker/build-push-action",
            "sigstore/cosign-installer", "aquasecurity/trivy-action", "anchore/sbom-action"} <= set(pins)


@pytest.mark.parametrize("wf", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege(wf):
    doc = load(wf)
    top = doc.get("permissions")
    assert top is not None, f"{wf.name}: no top-level permissions (the default token can write)"
    assert top in ({}, {"contents": "read"}), f"{wf.name}: top-level permissions {top}"
    for name, job in doc["jobs"].items():
        perms = job.get("permissions", {})
        writes = {k for k, v in perms.items() if v == "write"}
        if wf.name == "image.yml":
            # pushing to the registry and the keyless signature, nothing else
            assert perms == {"contents": "read", "packages": "write", "id-token": "write"}, perms
        else:
            assert not writes, f"{wf.name}:{name} asks for {writes}"
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, f"{wf.name}:{name}: checkout keeps the token"


def test_ci_runs_make_test_the_way_ci_does():
    doc = load(ROOT / ".github" / "workflows" / "ci.yml")
    steps = doc["jobs"]["test"]["steps"]
    assert any(s.get("run") == "bash .ci/run" for s in steps)
    cached = [s["with"]["path"] for s in steps if str(s.get("uses", "")).startswith("actions/cache@")]
    assert any("target" in p and "~/.cargo/registry" in p for p in cached) and ".venv" in cached
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    # the online zizmor job installs the venv's pin of zizmor
    audit = "\n".join(s.get("run", "") for s in doc["jobs"]["workflow-audit"]["steps"])
    assert "grep '^zizmor==' tests/requirements.txt" in audit and "--offline" not in audit
    assert re.search(r"^zizmor==\S+$", (ROOT / "tests" / "requirements.txt").read_text(), re.M)


def test_image_workflow_scans_signs_and_outputs_the_digest():
    doc = load(ROOT / ".github" / "workflows" / "image.yml")
    for trigger in ("workflow_dispatch", "workflow_call"):
        assert {"repository", "ref", "context", "push"} <= set(doc["on"][trigger]["inputs"])
    assert set(doc["on"]["workflow_call"]["outputs"]) == {"image", "digest"}
    steps = doc["jobs"]["image"]["steps"]
    trivy = next(s for s in steps if "trivy-action" in s.get("uses", ""))["with"]
    assert trivy["severity"] == "HIGH,CRITICAL" and trivy["exit-code"] == "1"
    assert (ROOT / trivy["trivyignores"]).is_file()
    sbom = next(s for s in steps if "sbom-action" in s.get("uses", ""))["with"]
    assert sbom["format"] == "spdx-json"
    script = "\n".join(s.get("run", "") for s in steps)
    assert "cosign sign --yes" in script and "cosign attest --yes --type spdxjson --predicate sbom.spdx.json" in script
    assert "cosign verify " in script and "token.actions.githubusercontent.com" in script
    # the scan runs before anything is pushed
    names = [s.get("name", "") for s in steps]
    assert names.index("Trivy scan (HIGH/CRITICAL fail)") < names.index("Push")
    assert "ghcr.io/{0}" in doc["jobs"]["image"]["env"]["REGISTRY"]


def test_e2e_workflow_follows_the_plan():
    doc = load(ROOT / ".github" / "workflows" / "e2e.yml")
    paths = doc["on"]["pull_request"]["paths"]
    assert {"charts/**", "terraform/**", "config/**", "scripts/**", "tools/**"} <= set(paths)
    job = doc["jobs"]["kind"]
    steps = {s["name"]: s for s in job["steps"]}
    # kind only installed: the cluster is the project's own bootstrap, created by `up`
    kind = next(s for s in job["steps"] if "kind-action" in s.get("uses", ""))
    assert kind["with"]["install_only"] is True
    assert "./k8s-deploy.sh up waltid --target=local $APP_ARGS" in steps["./k8s-deploy.sh up waltid --target=local"]["run"]
    assert steps["make e2e"]["run"] == "make e2e"
    assert steps["Diagnostics"]["if"] == "failure()" and "./k8s-deploy.sh status" in steps["Diagnostics"]["run"]
    assert steps["Upload diagnostics"]["if"] == "failure()"
    reset = steps["./k8s-deploy.sh reset --yes"]
    assert reset["if"] == "always()" and "./k8s-deploy.sh reset --yes --target=local" in reset["run"]
    # the budget the workflow states: the cluster part (up + make e2e) within the plan's 20
    # minutes, every step's cap within the job's (so reset still runs after a hung step)
    assert steps["./k8s-deploy.sh up waltid --target=local"]["timeout-minutes"] + steps["make e2e"]["timeout-minutes"] <= 20
    limits = sum(s.get("timeout-minutes", 0) for s in job["steps"])
    assert limits <= job["timeout-minutes"] - 2, (limits, job["timeout-minutes"])
    assert "16 GB" in (ROOT / ".github" / "workflows" / "e2e.yml").read_text()
    # the "Memory budget" step prints the profile's total from docs/platform.md: the row exists
    assert "docs/platform.md" in steps["Memory budget"]["run"]
    assert re.search(r"^\| \*\*total on the node", (ROOT / "docs" / "platform.md").read_text(), re.M)
    # kind pinned to the release of the node image the bootstrap module pins
    assert "kindest/node:v1.30.6" in (ROOT / "terraform" / "bootstrap" / "local-kind" / "variables.tf").read_text()
    assert "kindest/node:v1.30.6" in (ROOT / ".github" / "workflows" / "e2e.yml").read_text()


def test_make_e2e_runs_the_script():
    p = run("make", "-n", "e2e", "E2E_ARGS=--connect 127.0.0.1:80")
    assert p.returncode == 0 and "python3 scripts/e2e.py --connect 127.0.0.1:80" in p.stdout, p.stdout + p.stderr
