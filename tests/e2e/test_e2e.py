"""`make e2e` (scripts/e2e.py) against a loopback fake of the deployed scenario (fake_cluster.py):
the good path passes every check, and each failing variant a real cluster shows fails its own
check with its own message and exit code. The render plan and the app files are the real ones:
wd-inventory | wd-render (target/debug) into a temporary out/, as `./k8s-deploy.sh config` does.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_cluster import FakeCluster  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
E2E = ROOT / "scripts" / "e2e.py"
BIN = Path(os.environ.get("WD_BIN", ROOT / "target" / "debug"))
PASSWORD = "Xq7demoPassw0rd"  # what the fake wallet accepts; must never be printed


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    """The local target's render output (render-plan.json, app/, secrets/) from the real tools."""
    d = tmp_path_factory.mktemp("out")
    inv = subprocess.run([BIN / "wd-inventory", "--scenario", "waltid", "-q"], cwd=ROOT, capture_output=True, check=True, timeout=60)
    subprocess.run([BIN / "wd-render", "--target", "local", "--out", d, "-q"], cwd=ROOT, input=inv.stdout,
                   capture_output=True, check=True, timeout=60)
    assert (d / "render-plan.json").is_file() and (d / "app" / "auth-providers.json").is_file()
    return d


def script(path: Path, body: str) -> Path:
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(0o755)
    return path


@pytest.fixture
def wd_wait_ok(tmp_path) -> Path:
    # records how it was called, reads the render plan from stdin like the real one
    return script(tmp_path / "wd-wait", f'printf "%s\\n" "$@" > {tmp_path}/wd-wait.args; cat > {tmp_path}/wd-wait.stdin; echo "all ready"\n')


@pytest.fixture
def kubeconfig(tmp_path) -> Path:
    kc = tmp_path / "kubeconfig"
    kc.write_text("apiVersion: v1\nkind: Config\n")
    return kc


def run(out: Path, cluster: FakeCluster, *extra: str, env: dict | None = None, wd_wait: Path | None = None,
        kubeconfig: Path | None = None, password: str | None = PASSWORD) -> subprocess.CompletedProcess:
    args = [sys.executable, str(E2E), "--render-plan", str(out / "render-plan.json"), "--connect", f"127.0.0.1:{cluster.port}",
            "--retries", "2", "--retry-delay", "0.05", "--timeout", "5", "--session-polls", "5"]
    if wd_wait:
        args += ["--wd-wait", str(wd_wait)]
    if kubeconfig:
        args += ["--kubeconfig", str(kubeconfig)]
    if not any(a.startswith("--translate-url") for a in extra) and "--no-translate-url" not in extra:
        args += ["--translate-url", "http://translate.localtest.me"]
    args += [a for a in extra if a != "--no-translate-url"]
    e = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "DEMO_ACCOUNT_PASSWORD", "XDG_CONFIG_HOME")}
    e["NO_COLOR"] = "1"
    if password is not None:
        e["DEMO_ACCOUNT_PASSWORD"] = password
    e.update(env or {})
    return subprocess.run(args, capture_output=True, text=True, timeout=120, env=e)


def failures(p: subprocess.CompletedProcess) -> list[str]:
    return [line for line in p.stderr.splitlines() if line.startswith("FAIL")]


def test_every_check_passes_against_a_healthy_scenario(out, wd_wait_ok, kubeconfig, tmp_path):
    with FakeCluster(password=PASSWORD) as c:
        p = run(out, c, wd_wait=wd_wait_ok, kubeconfig=kubeconfig)
    assert p.returncode == 0, p.stdout + p.stderr
    for name in ["wd-wait", "issuer /livez", "verifier /livez", "wallet /livez", "Keycloak realm discovery",
                 "LibreTranslate /languages", "app /healthz", "app /readyz", "OIDC gate 'keycloak': /auth/start",
                 "OIDC gate 'keycloak': authorize", "OIDC gate 'wso2is': /auth/start", "OIDC gate 'wso2is': authorize",
                 "wallet account", "issuance", "verification"]:
        assert re.search(rf"^ok\s+{re.escape(name)}:", p.stdout, re.M), f"{name} not reported ok:\n{p.stdout}"
    assert "all 15 checks passed, drift 0" in p.stdout
    # wd-wait ran on the scenario with the kubeconfig, namespace and release, reading the render plan
    args = (tmp_path / "wd-wait.args").read_text().split("\n")
    assert args[:7] == ["--kubeconfig", str(kubeconfig), "-n", "waltid", "--release", "waltid", "--timeout"]
    assert '"kind": "RenderPlan"' in (tmp_path / "wd-wait.stdin").read_text() or '"kind":"RenderPlan"' in (tmp_path / "wd-wait.stdin").read_text()
    # the real host names went through the "ingress" (Host routing), one issuance and one verification
    hosts = {h for _, h, _ in c.requests}
    assert {"issuer.localtest.me", "verifier.localtest.me", "wallet.localtest.me", "auth.localtest.me", "wso2.localtest.me",
            "app.localtest.me", "translate.localtest.me"} <= hosts
    assert [r for r in c.requests if r[2] == "/openid4vc/jwt/issue"] and [r for r in c.requests if r[2] == "/openid4vc/verify"]
    assert len([r for r in c.requests if r[2].startswith("/openid4vc/session/")]) >= 2  # polled until the verdict
    assert PASSWORD not in p.stdout + p.stderr


# (failure in the fake, or a wd-wait exit code) -> (exit code, the failing check, words of its message)
CASES = [
    ("issuer-livez", 11, "issuer /livez", "answered 503"),
    ("verifier-livez", 12, "verifier /livez", "answered 503"),
    ("wallet-livez", 13, "wallet /livez", "answered 503"),
    ("keycloak-wrong-issuer", 14, "Keycloak realm discovery", "issuer is 'http://localhost:8080/realms/vcplatform'"),
    ("translate-no-models", 15, "LibreTranslate /languages", "no languages"),
    ("app-healthz", 16, "app /healthz", "answered 500"),
    ("app-readyz", 17, "app /readyz", "upstream http://waltid-libretranslate:5000 not ready"),
    ("authstart-no-redirect", 18, "OIDC gate 'keycloak': /auth/start", "without a redirect to the IdP"),
    ("authorize-error", 19, "OIDC gate 'keycloak': authorize", "error=invalid_scope"),
    ("login-refused", 20, "wallet account", "auth/login answered 401"),
    ("offer-internal-url", 21, "issuance", "does not point at the issuer's public URL"),
    ("issuance-drift", 21, "issuance", "No active issuance session"),
    ("verification-false", 22, "verification", "verificationResult false"),
    ("verification-drift", 22, "verification", "Unknown session id"),
]


@pytest.mark.parametrize("failure,code,check,words", CASES, ids=[c[0] for c in CASES])
def test_each_failing_check_has_its_own_message_and_exit_code(out, wd_wait_ok, kubeconfig, failure, code, check, words):
    with FakeCluster(failure=failure, password=PASSWORD) as c:
        t0 = time.monotonic()
        p = run(out, c, wd_wait=wd_wait_ok, kubeconfig=kubeconfig)
    assert p.returncode == code, p.stdout + p.stderr
    first = failures(p)[0]
    assert first.startswith(f"FAIL {check} (exit {code}):"), p.stderr
    assert words in first, first
    assert f"exit {code} ({check})" in p.stderr  # the summary names the first failing check
    assert time.monotonic() - t0 < 60
    if failure.endswith("-drift"):
        assert "drift: an earlier step of this flow succeeded" in first and "drift 1" in p.stderr
    # one fault, one failing check; the flows that need its result say they were skipped, and the
    # OIDC gate fails for each provider (keycloak and wso2is share the app's discovery path)
    rest = failures(p)[1:]
    if failure.startswith(("authstart", "authorize")):
        assert [f.split(" (exit")[0] for f in rest] == [first.split(" (exit")[0].replace("keycloak", "wso2is")], p.stderr
    else:
        assert all(f.endswith(("skipped: no wallet account", "skipped: no issued credential to present")) for f in rest), p.stderr
        assert len(rest) == {"wallet account": 2, "issuance": 1}.get(check, 0), p.stderr
    assert PASSWORD not in p.stdout + p.stderr


@pytest.mark.parametrize("rc,code,words", [(1, 10, "the scenario is not ready (wd-wait exit 1"), (3, 3, "is unreachable (wd-wait exit 3")])
def test_wd_wait_not_ready_or_cluster_unreachable(out, kubeconfig, tmp_path, rc, code, words):
    wd_wait = script(tmp_path / "wd-wait", f'cat >/dev/null; echo "Deployment waltid-walt-wallet: CrashLoopBackOff"; exit {rc}\n')
    with FakeCluster(password=PASSWORD) as c:
        p = run(out, c, wd_wait=wd_wait, kubeconfig=kubeconfig)
    assert p.returncode == code, p.stdout + p.stderr
    assert words in p.stderr and "CrashLoopBackOff" in p.stderr  # wd-wait's own diagnosis is shown


def test_kubeconfig_is_the_one_up_recorded(out, wd_wait_ok, kubeconfig, tmp_path):
    # ./k8s-deploy.sh up writes ~/.config/wd/clusters/<target>.env with printf %q and last-target
    home = tmp_path / "home"
    (home / ".config" / "wd" / "clusters").mkdir(parents=True)
    recorded = tmp_path / "my kube" / "wd-kind.yaml"
    recorded.parent.mkdir()
    recorded.write_text("apiVersion: v1\n")
    q = subprocess.run(["bash", "-c", 'printf "KUBECONFIG_PATH=%q\\nCLUSTER=%q\\n" "$1" waltid', "_", str(recorded)],
                       capture_output=True, text=True, check=True).stdout
    (home / ".config" / "wd" / "clusters" / "local.env").write_text(q)
    (home / ".config" / "wd" / "last-target").write_text("local\n")
    with FakeCluster(password=PASSWORD) as c:
        p = run(out, c, wd_wait=wd_wait_ok, env={"HOME": str(home)})
    assert p.returncode == 0, p.stdout + p.stderr
    assert (tmp_path / "wd-wait.args").read_text().split("\n")[1] == str(recorded)
    # nothing recorded and no KUBECONFIG: a usage error that says how to get one
    with FakeCluster(password=PASSWORD) as c:
        p = run(out, c, wd_wait=wd_wait_ok, env={"HOME": str(tmp_path / "empty")})
    assert p.returncode == 2 and "no kubeconfig: set KUBECONFIG" in p.stderr and "k8s-deploy.sh up waltid --target=local" in p.stderr


def test_demo_password_comes_from_the_cluster_secret(out, wd_wait_ok, kubeconfig, tmp_path):
    # the secret plan names the Secret (waltid-app-demo, key password); kubectl reads it
    b64 = base64.b64encode(PASSWORD.encode()).decode()
    kubectl = script(tmp_path / "kubectl", f'printf "%s " "$@" > {tmp_path}/kubectl.args\n'
                     f'[ "$6 $7" = "secret waltid-app-demo" ] && [ "$9" = "jsonpath={{.data.password}}" ] || exit 1\nprintf %s {b64}\n')
    with FakeCluster(password=PASSWORD) as c:
        p = run(out, c, "--kubectl", str(kubectl), wd_wait=wd_wait_ok, kubeconfig=kubeconfig, password=None)
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"--kubeconfig {kubeconfig} -n waltid get secret waltid-app-demo" in (tmp_path / "kubectl.args").read_text()
    assert PASSWORD not in p.stdout + p.stderr and b64 not in p.stdout + p.stderr


def test_libretranslate_through_a_port_forward_that_does_not_outlive_the_run(out, wd_wait_ok, kubeconfig, tmp_path):
    # LibreTranslate is not public: kubectl port-forward to its Service on a kernel-chosen port
    with FakeCluster(password=PASSWORD) as c:
        kubectl = script(tmp_path / "kubectl", f'echo $$ > {tmp_path}/pf.pid; printf "%s " "$@" > {tmp_path}/pf.args\n'
                         f'echo "Forwarding from 127.0.0.1:{c.port} -> 5000"\nexec sleep 30\n')
        p = run(out, c, "--no-translate-url", "--kubectl", str(kubectl), wd_wait=wd_wait_ok, kubeconfig=kubeconfig)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "port-forward svc/waltid-libretranslate :5000" in (tmp_path / "pf.args").read_text()
    assert "(port-forward svc/waltid-libretranslate) 200, languages en,es,fr" in p.stdout
    pid = int((tmp_path / "pf.pid").read_text())
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


def test_bad_input_is_exit_2(out, tmp_path):
    with FakeCluster(password=PASSWORD) as c:
        p = run(out, c, "--connect", "nowhere", "--skip-wait")
        assert p.returncode == 2 and "--connect nowhere: use ADDR:PORT" in p.stderr
        p = run(out, c, "--url", "wallet", "--skip-wait")
        assert p.returncode == 2 and "--url wallet: use ROLE=URL" in p.stderr
    p = subprocess.run([sys.executable, str(E2E), "--render-plan", str(tmp_path / "none.json"), "--skip-wait"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "no render plan; run `./k8s-deploy.sh config waltid`" in p.stderr


def test_help_documents_every_exit_code():
    p = subprocess.run([sys.executable, str(E2E), "--help"], capture_output=True, text=True, timeout=30)
    codes = re.findall(r"^\s+(\d+)\s{2}", p.stdout.split("EXIT CODES", 1)[1], re.M)
    assert codes == ["0", "2", "3"] + [str(c) for c in range(10, 23)]


def test_a_port_forward_that_fails_fails_its_check_and_the_run_goes_on(out, wd_wait_ok, kubeconfig, tmp_path):
    kubectl = script(tmp_path / "kubectl", 'echo \'error: services "waltid-libretranslate" not found\' >&2; exit 1\n')
    with FakeCluster(password=PASSWORD) as c:
        p = run(out, c, "--no-translate-url", "--kubectl", str(kubectl), wd_wait=wd_wait_ok, kubeconfig=kubeconfig)
    assert p.returncode == 15, p.stdout + p.stderr
    assert failures(p) == [f for f in failures(p) if f.startswith("FAIL LibreTranslate /languages (exit 15)")] and len(failures(p)) == 1
    assert 'services "waltid-libretranslate" not found' in p.stderr
    assert re.search(r"^ok\s+verification:", p.stdout, re.M)  # the later checks still ran
    # kubectl that cannot run at all: the cluster is unreachable from here (3), the rest still runs
    with FakeCluster(password=PASSWORD) as c:
        p = run(out, c, "--no-translate-url", "--kubectl", str(tmp_path / "no-such-kubectl"), wd_wait=wd_wait_ok, kubeconfig=kubeconfig)
    assert p.returncode == 3 and "FAIL LibreTranslate /languages (exit 3)" in p.stderr
    assert re.search(r"^ok\s+verification:", p.stdout, re.M)
