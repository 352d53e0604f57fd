#!/usr/bin/env python3
"""e2e.py: smoke test of a deployed walt.id scenario, through its public URLs (`make e2e`).

What a user would click through, checked in the order a user meets it:
  1. wd-wait on the scenario (every Deployment, the Postgres cluster, the ExternalSecrets);
  2. HTTP through the ingress with the real host names: issuer/verifier/wallet GET /livez,
     Keycloak realm discovery, LibreTranslate GET /languages (not public: a kubectl
     port-forward), the app's GET /healthz and GET /readyz;
  3. the users' OIDC discovery gate (their deploy.sh `verify_oidc_discovery`): for every OIDC
     provider in auth-providers.json, POST /auth/start must redirect to the IdP's authorize
     endpoint, and following that URL one hop must not bounce back with an error;
  4. one issuance (wallet register/login, issuer onboard + POST /openid4vc/jwt/issue, wallet
     useOfferRequest, the credential listed) and one verification (verifier
     POST /openid4vc/verify, wallet usePresentationRequest, GET /openid4vc/session/{id} until a
     verdict) through the walt.id APIs (waltid-facts §2 "Load-test API").
A step that fails after an earlier step of the same flow succeeded with a "session not found"
kind of answer is reported as drift (sessions not shared between replicas, issue 12).

Python standard library only, so it runs on any CI runner without the venv. wd-loadtest will
replace step 4 once it lands (issue 12). Every check runs, each failing check prints its own
line; the exit code is the first failing check's (see EXIT CODES in --help). Secrets (the demo
account's password, the wallet token) are never printed: they are masked in every message.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import shutil
import select
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (code, check) — the exit codes, one per check, in the order the checks run.
EXIT_CODES = [
    (0, "every check passed"),
    (2, "bad input or usage (no render plan, no kubeconfig, a malformed --url or --connect, no demo password source)"),
    (3, "the cluster was unreachable (wd-wait exit 3, kubectl port-forward or Secret read failed)"),
    (10, "wd-wait: the scenario did not become ready"),
    (11, "issuer GET /livez"),
    (12, "verifier GET /livez"),
    (13, "wallet GET /livez"),
    (14, "Keycloak realm discovery (/.well-known/openid-configuration)"),
    (15, "LibreTranslate GET /languages"),
    (16, "app GET /healthz"),
    (17, "app GET /readyz"),
    (18, "OIDC gate: /auth/start did not redirect to the IdP's authorize endpoint"),
    (19, "OIDC gate: the IdP's authorize endpoint answered with an error"),
    (20, "wallet account: register / login / wallets / DIDs"),
    (21, "issuance: issuer onboard / jwt/issue / wallet useOfferRequest / credential listed"),
    (22, "verification: verifier verify / wallet usePresentationRequest / session verdict"),
]
CODE = {name: code for code, name in [
    (10, "wait"), (11, "issuer-livez"), (12, "verifier-livez"), (13, "wallet-livez"),
    (14, "keycloak-discovery"), (15, "translate-languages"), (16, "app-healthz"), (17, "app-readyz"),
    (18, "oidc-redirect"), (19, "oidc-authorize"), (20, "wallet-account"), (21, "issuance"),
    (22, "verification"),
]}

# deploy.sh's verify_oidc_discovery: an authorize answer that bounces back with one of these.
AUTHORIZE_ERRORS = re.compile(r"error=(invalid_scope|invalid_request|invalid_client|unauthorized_client|access_denied)", re.I)
# What walt.id answers when a session lives on another replica (issue 12's drift).
DRIFT_HINT = re.compile(r"session|no active issuance|not found|unknown|expired", re.I)

NO_COLOR = bool(os.environ.get("NO_COLOR")) or not sys.stdout.isatty()


def paint(code: str, text: str) -> str:
    return text if NO_COLOR else f"\033[{code}m{text}\033[0m"


class Usage(Exception):
    """Bad input: exit 2 with one line that names the fix."""


class Unreachable(Exception):
    """An external system (the cluster) refused: exit 3."""


class CheckFailed(Exception):
    def __init__(self, message: str, drift: bool = False):
        super().__init__(message)
        self.drift = drift


# --------------------------------------------------------------------------- HTTP

@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise CheckFailed(f"{self.url} answered {self.status} with a body that is not JSON: {short(self.text())}") from e


def short(text: str, n: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n] + "…"


@dataclass
class Http:
    """One request at a time over http.client: the URL's host goes into Host (and SNI), the TCP
    connection goes to --connect when set (like curl --connect-to), redirects are never followed
    (the gate looks at them; the wallet's own client does not follow them either, §2)."""

    connect: tuple[str, int] | None
    timeout: float
    insecure: bool
    secrets: list[str] = field(default_factory=list)

    def mask(self, text: str) -> str:
        for s in self.secrets:
            if s:
                text = text.replace(s, "***")
        return text

    def request(self, method: str, url: str, body: bytes | str | dict | list | None = None,
                headers: dict[str, str] | None = None) -> Response:
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise CheckFailed(f"not an http(s) URL: {url}")
        port = u.port or (443 if u.scheme == "https" else 80)
        hdrs = {"Host": u.netloc, "User-Agent": "wd-e2e", "Accept": "*/*"}
        hdrs.update(headers or {})
        data: bytes | None
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            data = body.encode()
            hdrs.setdefault("Content-Type", "text/plain")
        else:
            data = body
        addr = self.connect or (u.hostname, port)
        if u.scheme == "https":
            ctx = ssl._create_unverified_context() if self.insecure else ssl.create_default_context()
            conn: http.client.HTTPConnection = _TLSConnection(u.hostname, port, addr, ctx, self.timeout)
        else:
            conn = http.client.HTTPConnection(addr[0], addr[1], timeout=self.timeout)
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        try:
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            payload = r.read()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, payload, url)
        except (OSError, http.client.HTTPException) as e:
            where = f" (connecting to {addr[0]}:{addr[1]})" if self.connect else ""
            raise CheckFailed(f"{method} {url}{where}: {e.__class__.__name__}: {e}") from e
        finally:
            conn.close()


class _TLSConnection(http.client.HTTPSConnection):
    """HTTPS to `addr` with SNI and certificate checks for the URL's host name."""

    def __init__(self, host: str, port: int, addr: tuple[str, int], ctx: ssl.SSLContext, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ctx)
        self._addr = addr
        self._ctx = ctx

    def connect(self) -> None:
        sock = socket.create_connection(self._addr, self.timeout)
        self.sock = self._ctx.wrap_socket(sock, server_hostname=self.host)


# --------------------------------------------------------------------------- inputs

@dataclass
class Plan:
    urls: dict[str, str]
    providers: list[dict]
    demo: dict
    demo_secret: dict | None


def load_plan(render_plan: Path, overrides: list[str]) -> Plan:
    """Public URLs from the RenderPlan (`urls`), the OIDC providers and the demo account from
    the files wd-render wrote beside it (app/auth-providers.json, app/backends.json), the demo
    password's Secret from the secret plan: one home per fact."""
    if not render_plan.is_file():
        raise Usage(f"{render_plan}: no render plan; run `./k8s-deploy.sh config waltid` (or up) first, or pass --render-plan")
    try:
        plan = json.loads(render_plan.read_text())
    except ValueError as e:
        raise Usage(f"{render_plan}: not JSON ({e})") from e
    urls = {u["role"]: u["url"].rstrip("/") for u in plan.get("urls", [])}
    for o in overrides:
        role, sep, url = o.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise Usage(f"--url {o}: use ROLE=URL, e.g. --url wallet=http://wallet.localtest.me")
        urls[role] = url.rstrip("/")
    for role in ("issuer", "verifier", "wallet", "keycloak", "app"):
        if role not in urls:
            raise Usage(f"{render_plan}: no URL for role '{role}' in `urls`; pass --url {role}=URL")
    out = render_plan.parent
    providers: list[dict] = []
    demo: dict = {}
    auth = out / "app" / "auth-providers.json"
    if auth.is_file():
        data = json.loads(auth.read_text())
        providers = [p for p in data if isinstance(p, dict) and p.get("type") == "oidc"]
    backends = out / "app" / "backends.json"
    if backends.is_file():
        for b in json.loads(backends.read_text()).get("backends", []):
            demo = b.get("config", {}).get("demoAccount") or demo
    demo_secret = None
    sp = out / plan.get("secretPlan", "secrets/secret-plan.json")
    if sp.is_file():
        for s in json.loads(sp.read_text()).get("secrets", []):
            if s.get("name") == "demo-account-password":
                demo_secret = s
    return Plan(urls, providers, demo, demo_secret)


def state_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "wd"


def resolve_kubeconfig(explicit: str | None, target: str | None) -> str:
    """--kubeconfig, else $KUBECONFIG, else the one `./k8s-deploy.sh up` recorded for the target
    (~/.config/wd/clusters/<target>.env; the target: --target, else the last one used)."""
    if explicit:
        return explicit
    if os.environ.get("KUBECONFIG"):
        return os.environ["KUBECONFIG"]
    sd = state_dir()
    if not target:
        lt = sd / "last-target"
        target = lt.read_text().strip() if lt.is_file() else "local"
    f = sd / "clusters" / f"{target}.env"
    if not f.is_file():
        raise Usage(f"no kubeconfig: set KUBECONFIG, pass --kubeconfig, or run `./k8s-deploy.sh up waltid --target={target}` (it records {f})")
    for line in f.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "KUBECONFIG_PATH":
            # k8s-deploy.sh writes it with printf %q: a plain path, or one with backslash escapes.
            path = re.sub(r"\\(.)", r"\1", value.strip().strip("'"))
            if not Path(path).is_file():
                raise Usage(f"{f}: the kubeconfig {path} is gone; run `./k8s-deploy.sh up waltid --target={target}` again")
            return path
    raise Usage(f"{f}: no KUBECONFIG_PATH= line")


def find_tool(name: str, explicit: str | None) -> str:
    """A wd tool: --flag/env, else PATH, else this checkout's release or debug build."""
    if explicit:
        return explicit
    on_path = shutil.which(name)
    if on_path:
        return on_path
    for d in ("release", "debug"):
        p = ROOT / "target" / d / name
        if p.is_file():
            return str(p)
    raise Usage(f"{name} not found: build the tools (`make release`) or put {name} on PATH")


# --------------------------------------------------------------------------- the run

@dataclass
class Run:
    args: argparse.Namespace
    http: Http
    plan: Plan
    failures: list[tuple[int, str]] = field(default_factory=list)
    passed: int = 0
    drift: int = 0
    credential: str = ""

    def ok(self, name: str, detail: str) -> None:
        self.passed += 1
        print(f"{paint('32', 'ok  ')} {name}: {detail}", flush=True)

    def fail(self, key: str | int, name: str, message: str, drift: bool = False) -> None:
        """One failing check: its line on stderr and its exit code (a key of CODE, or 2/3)."""
        code = CODE[key] if isinstance(key, str) else key
        if drift:
            self.drift += 1
            message += " — drift: an earlier step of this flow succeeded; the session lives on another replica (issue 12)"
        self.failures.append((code, name))
        print(f"{paint('31', 'FAIL')} {name} (exit {code}): {self.http.mask(message)}", file=sys.stderr, flush=True)

    def check(self, key: str, name: str, fn) -> bool:
        """Runs one check; its failure is recorded and the run goes on with the next check. A
        check that cannot reach the cluster (kubectl) fails with 3, one missing its input with 2."""
        try:
            detail = fn()
        except CheckFailed as e:
            self.fail(key, name, str(e), e.drift)
            return False
        except Unreachable as e:
            self.fail(3, name, str(e))
            return False
        except Usage as e:
            self.fail(2, name, str(e))
            return False
        self.ok(name, detail)
        return True

    # ---- 1. wd-wait

    def wait(self) -> None:
        a = self.args
        if a.skip_wait:
            print(f"{paint('33', 'skip')} wd-wait (--skip-wait)", flush=True)
            return
        kc = resolve_kubeconfig(a.kubeconfig, a.target)
        tool = find_tool("wd-wait", a.wd_wait)
        cmd = [tool, "--kubeconfig", kc, "-n", a.namespace, "--release", a.release, "--timeout", a.wait_timeout, "--format", "table"]
        with open(a.render_plan, "rb") as stdin:
            try:
                p = subprocess.run(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=a.wait_deadline)
            except subprocess.TimeoutExpired:
                self.fail("wait", "wd-wait", f"did not finish within {a.wait_deadline} s")
                return
        out = p.stdout.decode("utf-8", "replace").strip()
        if p.returncode == 0:
            self.ok("wd-wait", f"scenario ready (namespace {a.namespace}, release {a.release})")
        elif p.returncode == 3:
            print(out, file=sys.stderr)
            self.fail(3, "wd-wait", f"the cluster of {kc} is unreachable (wd-wait exit 3, above)")
        else:
            print(out, file=sys.stderr)
            self.fail("wait", "wd-wait", f"the scenario is not ready (wd-wait exit {p.returncode}; its diagnosis is above)")

    # ---- 2. HTTP through the ingress

    def get_ok(self, url: str, http: Http | None = None, via: str = "") -> Response:
        """GET until 200 (bounded: --retries attempts, --retry-delay apart): right after wd-wait an
        Ingress can still take a second to route to a new endpoint."""
        n = max(1, self.args.retries)
        for i in range(n):
            last_try = i + 1 == n
            try:
                r = (http or self.http).request("GET", url)
            except CheckFailed:
                if last_try:
                    raise
                time.sleep(self.args.retry_delay)
                continue
            if r.status == 200:
                return r
            if last_try:
                raise CheckFailed(f"GET {url}{via} answered {r.status}, want 200: {short(r.text())}")
            time.sleep(self.args.retry_delay)
        raise AssertionError("unreachable")

    def livez(self, role: str) -> str:
        url = f"{self.plan.urls[role]}/livez"
        r = self.get_ok(url)
        return f"GET {url} {r.status}"

    def keycloak_discovery(self) -> str:
        issuer = self.keycloak_issuer()
        url = f"{issuer}/.well-known/openid-configuration"
        doc = self.get_ok(url).json()
        if doc.get("issuer") != issuer:
            raise CheckFailed(f"GET {url}: issuer is {doc.get('issuer')!r}, want {issuer!r} (KC_HOSTNAME / the public URL the realm advertises)")
        if not str(doc.get("authorization_endpoint", "")).startswith(self.plan.urls["keycloak"]):
            raise CheckFailed(f"GET {url}: authorization_endpoint {doc.get('authorization_endpoint')!r} is not under {self.plan.urls['keycloak']}")
        return f"GET {url} 200, issuer {issuer}"

    def keycloak_issuer(self) -> str:
        for p in self.plan.providers:
            if p.get("id") == "keycloak" and p.get("issuerUrl"):
                return p["issuerUrl"].rstrip("/")
        return f"{self.plan.urls['keycloak']}/realms/{self.args.realm}"

    def translate(self) -> str:
        if self.args.translate_url:
            return self._languages(self.args.translate_url.rstrip("/"))
        # Not public (config/scenarios/waltid.yaml: public: false): a port-forward to its Service
        # reaches the pod directly, as k8s-deploy.sh reaches Vault.
        kc = resolve_kubeconfig(self.args.kubeconfig, self.args.target)
        svc = f"svc/{self.args.release}-libretranslate"
        cmd = [self.args.kubectl, "--kubeconfig", kc, "-n", self.args.namespace, "port-forward", svc, ":5000"]
        try:
            pf = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        except OSError as e:
            raise Unreachable(f"kubectl port-forward {svc}: {e}") from e
        try:
            port, said = _forwarded_port(pf, self.args.port_forward_timeout)
            if port is None:
                try:  # EOF on its output: kubectl is exiting; let it be reaped for its status
                    pf.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
                exited = pf.poll() is not None
                when = f"exited ({pf.returncode})" if exited else f"did not forward within {self.args.port_forward_timeout} s"
                raise CheckFailed(f"kubectl port-forward {svc} {when}: {short(said)}")
            return self._languages(f"http://127.0.0.1:{port}", via=f" (port-forward {svc})", direct=True)
        finally:
            if pf.poll() is None:
                pf.terminate()
                try:
                    pf.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pf.kill()
                    pf.wait(timeout=5)

    def _languages(self, base: str, via: str = "", direct: bool = False) -> str:
        url = f"{base}/languages"
        # Through a port-forward the URL is the forward itself: no --connect override.
        r = self.get_ok(url, Http(None, self.http.timeout, self.http.insecure) if direct else None, via)
        langs = r.json()
        codes = sorted(str(x.get("code", "?")) for x in langs if isinstance(x, dict)) if isinstance(langs, list) else []
        if not codes:
            raise CheckFailed(f"GET {url}{via}: no languages (models not downloaded? LT_LOAD_ONLY)")
        return f"GET {url}{via} 200, languages {','.join(codes)}"

    def app(self, path: str) -> str:
        url = f"{self.plan.urls['app']}{path}"
        r = self.get_ok(url)
        return f"GET {url} {r.status}"

    # ---- 3. the OIDC discovery gate (deploy.sh verify_oidc_discovery)

    def oidc_gate(self) -> None:
        if not self.plan.providers:
            self.fail("oidc-redirect", "OIDC gate", "no OIDC provider in app/auth-providers.json beside the render plan")
            return
        for p in self.plan.providers:
            pid = p.get("id", "?")
            try:
                authz = self.auth_start(p)
            except CheckFailed as e:
                self.fail("oidc-redirect", f"OIDC gate '{pid}': /auth/start", str(e))
                continue
            self.ok(f"OIDC gate '{pid}': /auth/start", f"redirects to {authz.split('?')[0]}")
            self.check("oidc-authorize", f"OIDC gate '{pid}': authorize", lambda: self.authorize_hop(authz))

    def auth_start(self, provider: dict) -> str:
        base = self.plan.urls["app"]
        jar: dict[str, str] = {}

        def call(method: str, path: str, form: dict | None = None, extra: dict | None = None) -> Response:
            h = dict(extra or {})
            if jar:
                h["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
            data = None
            if form is not None:
                data = urllib.parse.urlencode(form).encode()
                h["Content-Type"] = "application/x-www-form-urlencoded"
            r = self.http.request(method, f"{base}{path}", data, h)
            for k, v in _set_cookies(r):
                jar[k] = v
            return r

        # The users' sequence: the landing page (session cookie), pick a role, then /auth/start as htmx.
        call("GET", "/")
        call("POST", "/role", {"role": "issuer"})
        r = call("POST", "/auth/start", {"provider": provider["id"]}, {"HX-Request": "true"})
        target = r.headers.get("hx-redirect") or r.headers.get("location") or ""
        if "://" not in target:
            raise CheckFailed(f"POST {base}/auth/start provider={provider['id']} answered {r.status} without a redirect to the IdP "
                              f"(server-side discovery failed: the public host does not resolve to the ingress inside the cluster? IdP down?): {short(r.text())}")
        want = self.authorization_endpoint(provider)
        if want and not target.startswith(want):
            raise CheckFailed(f"/auth/start redirects to {target.split('?')[0]}, not to the IdP's authorization_endpoint {want}")
        return target

    def authorization_endpoint(self, provider: dict) -> str | None:
        issuer = str(provider.get("issuerUrl", "")).rstrip("/")
        if not issuer:
            return None
        url = f"{issuer}/.well-known/openid-configuration"
        r = self.http.request("GET", url)
        if r.status != 200:
            raise CheckFailed(f"the IdP's discovery document GET {url} answered {r.status}")
        return r.json().get("authorization_endpoint")

    def authorize_hop(self, authz: str) -> str:
        r = self.http.request("GET", authz)
        loc = r.headers.get("location", "")
        m = AUTHORIZE_ERRORS.search(loc)
        if m:
            raise CheckFailed(f"the authorize endpoint bounced back with {m.group(0)} ({loc.split('?')[0]}): scope/client misconfigured at the IdP")
        if r.status >= 400:
            raise CheckFailed(f"GET {authz.split('?')[0]} answered {r.status}: {short(r.text())}")
        return f"GET {authz.split('?')[0]} {r.status}{' -> ' + loc.split('?')[0] if loc else ''}"

    # ---- 4. one issuance and one verification

    def demo_password(self) -> str:
        sec = self.plan.demo_secret or {}
        env = sec.get("env", "DEMO_ACCOUNT_PASSWORD")
        if os.environ.get(env):
            return os.environ[env]
        name, key = sec.get("k8sSecret"), sec.get("k8sKey")
        if not name or not key:
            raise Usage(f"no demo account password: set {env}, or render the secret plan (it names the Secret)")
        kc = resolve_kubeconfig(self.args.kubeconfig, self.args.target)
        cmd = [self.args.kubectl, "--kubeconfig", kc, "-n", self.args.namespace, "get", "secret", name, "-o", f"jsonpath={{.data.{key}}}"]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise Unreachable(f"kubectl get secret {name}: {e}") from e
        if p.returncode != 0 or not p.stdout.strip():
            raise Unreachable(f"kubectl get secret {name} -n {self.args.namespace} (key {key}) failed: {short(p.stderr)}; or set {env}")
        return base64.b64decode(p.stdout.strip()).decode()

    def wallet(self, method: str, path: str, token: str | None, body=None, want=(200,)) -> Response:
        url = f"{self.plan.urls['wallet']}/wallet-api/{path}"
        r = self.http.request(method, url, body, {"Authorization": f"Bearer {token}"} if token else None)
        if r.status not in want:
            raise CheckFailed(f"{method} {url} answered {r.status}, want {'/'.join(map(str, want))}: {short(r.text())}")
        return r

    def account(self) -> tuple[str, str, str]:
        """Register the demo holder (409: it exists), log in, the first wallet and its DID."""
        demo = self.plan.demo
        email = self.args.email or demo.get("email")
        name = demo.get("name") or "e2e holder"
        if not email:
            raise CheckFailed("no demo account e-mail in app/backends.json (config.demoAccount); pass --email")
        password = self.demo_password()
        self.http.secrets.append(password)
        self.wallet("POST", "auth/register", None, {"type": "email", "name": name, "email": email, "password": password}, want=(200, 201, 409))
        login = self.wallet("POST", "auth/login", None, {"type": "email", "email": email, "password": password}).json()
        token = login.get("token")
        if not token:
            raise CheckFailed("POST auth/login answered 200 without a token")
        self.http.secrets.append(token)
        wallets = self.wallet("GET", "wallet/accounts/wallets", token).json().get("wallets") or []
        if not wallets:
            raise CheckFailed("GET wallet/accounts/wallets: the account has no wallet")
        wid = wallets[0]["id"]
        dids = self.wallet("GET", f"wallet/{wid}/dids", token).json()
        if not dids:
            raise CheckFailed(f"GET wallet/{wid}/dids: the wallet has no DID")
        did = next((d["did"] for d in dids if d.get("default")), dids[0]["did"])
        return token, wid, did

    def issue(self, token: str, wid: str, did: str) -> str:
        issuer = self.plan.urls["issuer"]
        r = self.http.request("POST", f"{issuer}/onboard/issuer", {"key": {"backend": "jwk", "keyType": "Ed25519"}, "did": {"method": "jwk"}})
        if r.status not in (200, 201):
            raise CheckFailed(f"POST {issuer}/onboard/issuer answered {r.status}: {short(r.text())}")
        onboard = r.json()
        req = json.loads(Path(self.args.issuance_request).read_text())
        req["issuerKey"], req["issuerDid"] = onboard["issuerKey"], onboard["issuerDid"]
        r = self.http.request("POST", f"{issuer}/openid4vc/jwt/issue", req)
        offer = r.text().strip()
        if r.status != 200 or not offer.startswith("openid-credential-offer://"):
            raise CheckFailed(f"POST {issuer}/openid4vc/jwt/issue answered {r.status}: {short(offer)}")
        # The wallet fetches the offer from the issuer's baseUrl, server-side (§2): it must be public.
        if urllib.parse.urlsplit(issuer).hostname not in urllib.parse.unquote(offer):
            raise CheckFailed(f"the credential offer does not point at the issuer's public URL {issuer} (issuer-service.conf baseUrl): {short(urllib.parse.unquote(offer))}")
        try:
            creds = self.wallet("POST", f"wallet/{wid}/exchange/useOfferRequest?did={urllib.parse.quote(did)}", token, offer).json()
        except CheckFailed as e:
            raise CheckFailed(f"{e}", drift=bool(DRIFT_HINT.search(str(e)))) from e
        if not isinstance(creds, list) or not creds:
            raise CheckFailed("wallet useOfferRequest answered 200 without a credential")
        cid = creds[0]["id"]
        listed = self.wallet("GET", f"wallet/{wid}/credentials", token).json()
        if cid not in [c.get("id") for c in listed]:
            raise CheckFailed(f"credential {cid} is not in GET wallet/{wid}/credentials after useOfferRequest")
        self.credential = cid
        return f"OpenBadgeCredential {cid} issued by {onboard['issuerDid'][:24]}… and stored in wallet {wid}"

    def verify(self, token: str, wid: str, did: str) -> str:
        verifier = self.plan.urls["verifier"]
        body = {"request_credentials": [{"type": "OpenBadgeCredential", "format": "jwt_vc_json"}]}
        r = self.http.request("POST", f"{verifier}/openid4vc/verify", body)
        url = r.text().strip()
        if r.status != 200 or not url.startswith("openid4vp://"):
            raise CheckFailed(f"POST {verifier}/openid4vc/verify answered {r.status}: {short(url)}")
        state = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("state", [""])[0]
        if not state:
            raise CheckFailed(f"the presentation request has no state (session id): {short(url)}")
        try:
            self.wallet("POST", f"wallet/{wid}/exchange/usePresentationRequest", token,
                        {"did": did, "presentationRequest": url, "selectedCredentials": [self.credential]})
        except CheckFailed as e:
            raise CheckFailed(f"{e}", drift=bool(DRIFT_HINT.search(str(e)))) from e
        for _ in range(max(1, self.args.session_polls)):
            r = self.http.request("GET", f"{verifier}/openid4vc/session/{state}")
            if r.status != 200:
                raise CheckFailed(f"GET {verifier}/openid4vc/session/{state} answered {r.status}: {short(r.text())}",
                                  drift=r.status in (400, 401, 403, 404))
            verdict = r.json().get("verificationResult")
            if verdict is True:
                return f"session {state}: verificationResult true"
            if verdict is False:
                raise CheckFailed(f"session {state}: verificationResult false (policyResults: {short(json.dumps(r.json().get('policyResults')))})")
            time.sleep(self.args.retry_delay)
        raise CheckFailed(f"session {state}: no verdict after {self.args.session_polls} polls")

    def flows(self) -> None:
        acct: list = []

        def account() -> str:
            acct[:] = self.account()
            return f"demo holder logged in, wallet {acct[1]}, DID {acct[2][:24]}…"

        if not self.check("wallet-account", "wallet account", account):
            self.fail("issuance", "issuance", "skipped: no wallet account")
            self.fail("verification", "verification", "skipped: no wallet account")
            return
        if not self.check("issuance", "issuance", lambda: self.issue(*acct)):
            self.fail("verification", "verification", "skipped: no issued credential to present")
            return
        self.check("verification", "verification", lambda: self.verify(*acct))

    def all(self) -> int:
        self.wait()
        for role, key in (("issuer", "issuer-livez"), ("verifier", "verifier-livez"), ("wallet", "wallet-livez")):
            self.check(key, f"{role} /livez", lambda role=role: self.livez(role))
        self.check("keycloak-discovery", "Keycloak realm discovery", self.keycloak_discovery)
        self.check("translate-languages", "LibreTranslate /languages", self.translate)
        self.check("app-healthz", "app /healthz", lambda: self.app("/healthz"))
        self.check("app-readyz", "app /readyz", lambda: self.app("/readyz"))
        self.oidc_gate()
        self.flows()
        total = self.passed + len(self.failures)
        if not self.failures:
            print(paint("32", f"e2e: all {total} checks passed, drift {self.drift}"))
            return 0
        code, name = self.failures[0]
        print(paint("31", f"e2e: {len(self.failures)} of {total} checks failed, drift {self.drift}; exit {code} ({name})"), file=sys.stderr)
        return code


def _set_cookies(r: Response) -> list[tuple[str, str]]:
    # http.client joins repeated Set-Cookie headers with ", "; cookie values here have no commas.
    raw = r.headers.get("set-cookie", "")
    out = []
    for part in re.split(r",\s*(?=[A-Za-z0-9_.-]+=)", raw) if raw else []:
        name, _, rest = part.partition("=")
        out.append((name.strip(), rest.split(";", 1)[0]))
    return out


def _forwarded_port(pf: subprocess.Popen, timeout: float) -> tuple[int | None, str]:
    """The port kubectl picked, from its "Forwarding from 127.0.0.1:PORT -> 5000" line, and what
    kubectl said (its error when it exits first or never forwards)."""
    assert pf.stdout is not None
    fd = pf.stdout.fileno()
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:  # kubectl exited
                break
            buf += chunk
            m = re.search(rb"Forwarding from 127\.0\.0\.1:(\d+)", buf)
            if m:
                return int(m.group(1)), buf.decode("utf-8", "replace")
        elif pf.poll() is not None:
            break
    return None, buf.decode("utf-8", "replace")


def parse_args(argv: list[str]) -> argparse.Namespace:
    codes = "\n".join(f"  {c:>2}  {what}" for c, what in EXIT_CODES)
    p = argparse.ArgumentParser(
        prog="e2e.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Smoke test of the deployed walt.id scenario through its public URLs (make e2e).",
        epilog=f"EXIT CODES (several failures: the first one's code)\n{codes}\n\n"
               "Example: make e2e   |   scripts/e2e.py --kubeconfig ~/.kube/wd-kind.yaml --render-plan out/render-plan.json")
    env = os.environ.get
    p.add_argument("--render-plan", type=Path, default=Path(env("WD_OUT", str(ROOT / "out"))) / "render-plan.json",
                   help="RenderPlan of the deployment (its `urls`; app/ and secrets/ beside it) [default: $WD_OUT/render-plan.json]")
    p.add_argument("--url", action="append", default=[], metavar="ROLE=URL", help="override a public URL (roles: app issuer verifier wallet keycloak)")
    p.add_argument("--kubeconfig", help="default: $KUBECONFIG, else the one `./k8s-deploy.sh up` recorded for --target")
    p.add_argument("--target", help="whose recorded kubeconfig (local, onprem, aws) [default: the last target used]")
    p.add_argument("-n", "--namespace", default=env("WD_NAMESPACE", "waltid"))
    p.add_argument("--release", default=env("WD_RELEASE", "waltid"))
    p.add_argument("--connect", metavar="ADDR:PORT", help="send every request to this address, keeping the URL's host name (like curl --connect-to)")
    p.add_argument("--insecure", action="store_true", help="do not verify TLS certificates (a private CA)")
    p.add_argument("--translate-url", help="LibreTranslate base URL instead of a kubectl port-forward to its Service")
    p.add_argument("--email", help="wallet account e-mail [default: config.demoAccount.email of app/backends.json]")
    p.add_argument("--issuance-request", default=str(ROOT / "scripts" / "e2e-openbadge.json"), help="IssuanceRequest body (issuerKey/issuerDid are filled in)")
    p.add_argument("--realm", default="vcplatform", help="Keycloak realm when auth-providers.json has no keycloak provider")
    p.add_argument("--skip-wait", action="store_true", help="do not run wd-wait (the HTTP checks only)")
    p.add_argument("--wd-wait", default=env("WD_WAIT"), help="the wd-wait binary [default: PATH, else target/release, target/debug]")
    p.add_argument("--kubectl", default=env("KUBECTL", "kubectl"))
    p.add_argument("--wait-timeout", default="10m", help="wd-wait --timeout")
    p.add_argument("--wait-deadline", type=float, default=900, help="kill wd-wait after this many seconds")
    p.add_argument("--timeout", type=float, default=20, help="seconds per HTTP request")
    p.add_argument("--retries", type=int, default=5, help="attempts of each GET check")
    p.add_argument("--retry-delay", type=float, default=2, help="seconds between attempts and session polls")
    p.add_argument("--session-polls", type=int, default=15, help="verifier session polls before giving up")
    p.add_argument("--port-forward-timeout", type=float, default=30)
    a = p.parse_args(argv)
    return a


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    try:
        connect = None
        if a.connect:
            host, sep, port = a.connect.rpartition(":")
            if not sep or not port.isdigit():
                raise Usage(f"--connect {a.connect}: use ADDR:PORT, e.g. 127.0.0.1:80")
            connect = (host, int(port))
        plan = load_plan(a.render_plan, a.url)
        return Run(a, Http(connect, a.timeout, a.insecure), plan).all()
    except Usage as e:
        print(f"e2e: {e}", file=sys.stderr)
        return 2
    except Unreachable as e:
        print(f"e2e: {e}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
