"""A loopback fake of the deployed walt.id scenario as the ingress serves it: one HTTP server on
127.0.0.1 that routes by Host like ingress-nginx (issuer., verifier., wallet., auth., wso2., app.,
translate.localtest.me; any other host is LibreTranslate, as a port-forward reaches it).

It answers what scripts/e2e.py calls with the shapes walt.id 0.18.2, Keycloak 25, WSO2 IS 7,
LibreTranslate and verifiably-go answer (waltid-facts §2, §3, the users' deploy.sh discovery gate),
and keeps the state a real flow needs: accounts and tokens, the issuer's offers, the wallet's
credentials, the verifier's sessions (null until the wallet presents, then a verdict). A named
`failure` turns one behaviour into the failing variant a real cluster shows.
"""

from __future__ import annotations

import json
import secrets
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DOMAIN = "localtest.me"
REALM = "vcplatform"

# Every failing variant, named after what a user would see.
FAILURES = {
    "issuer-livez",          # issuer /livez 503 (the 2 s after start, or a crash loop)
    "verifier-livez",
    "wallet-livez",
    "keycloak-wrong-issuer",  # the realm advertises an internal URL (KC_HOSTNAME not the public one)
    "translate-no-models",   # /languages is an empty list (models never downloaded)
    "app-healthz",
    "app-readyz",            # the app is alive but not ready (an upstream down)
    "authstart-no-redirect",  # the app's server-side discovery failed (hairpin): an error page, no redirect
    "authorize-error",       # the IdP bounces back with error=invalid_scope
    "login-refused",         # the wallet refuses the demo password (a rotated Secret)
    "offer-internal-url",    # issuer baseUrl is not the public URL: the offer points at localhost
    "issuance-drift",        # the wallet's useOfferRequest lands on a replica without the session
    "verification-false",    # the verifier's policies fail
    "verification-drift",    # the session poll lands on a verifier replica that never saw it
}


class FakeCluster:
    def __init__(self, failure: str | None = None, password: str = "demo-password"):
        if failure is not None and failure not in FAILURES:
            raise ValueError(f"unknown failure {failure}")
        self.failure = failure
        self.password = password
        self.accounts: dict[str, dict] = {}
        self.tokens: dict[str, str] = {}
        self.offers: dict[str, dict] = {}
        self.credentials: dict[str, list[dict]] = {}
        self.sessions: dict[str, dict] = {}
        self.requests: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        cluster = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                cluster.dispatch(self, "GET")

            def do_POST(self):
                cluster.dispatch(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def url(self, host: str) -> str:
        return f"http://{host}.{DOMAIN}"

    # ------------------------------------------------------------------ plumbing

    def dispatch(self, h: BaseHTTPRequestHandler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        u = urllib.parse.urlsplit(h.path)
        host = (h.headers.get("Host") or "").split(":")[0]
        label = host[: -len(DOMAIN) - 1] if host.endswith("." + DOMAIN) else "translate"
        with self.lock:
            self.requests.append((method, host, u.path))
        route = getattr(self, f"on_{label}", None)
        if route is None:
            return self.send(h, 404, f"no Ingress rule for host {host}")
        with self.lock:
            status, payload, headers = route(method, u.path, urllib.parse.parse_qs(u.query), body, h.headers)
        self.send(h, status, payload, headers)

    @staticmethod
    def send(h, status: int, payload, headers: dict | None = None) -> None:
        if isinstance(payload, (dict, list)) or payload is None:
            data, ctype = json.dumps(payload).encode(), "application/json"
        else:
            data, ctype = str(payload).encode(), "text/plain; charset=utf-8"
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def livez(self, name: str):
        return (503, "starting", {}) if self.failure == f"{name}-livez" else (200, "", {})

    # ------------------------------------------------------------------ walt.id issuer

    def on_issuer(self, method, path, query, body, headers):
        if path == "/livez":
            return self.livez("issuer")
        if method == "POST" and path == "/onboard/issuer":
            req = json.loads(body or b"{}")
            if req.get("key", {}).get("backend") != "jwk" or req.get("did", {}).get("method") not in ("jwk", "key", "web"):
                return 400, {"message": "bad onboarding request"}, {}
            return 200, {"issuerKey": {"type": "jwk", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "fake"}}, "issuerDid": "did:jwk:eyJmYWtlIjoiaXNzdWVyIn0"}, {}
        if method == "POST" and path == "/openid4vc/jwt/issue":
            req = json.loads(body or b"{}")
            missing = [k for k in ("issuerKey", "issuerDid", "credentialConfigurationId", "credentialData") if not req.get(k)]
            if missing or not isinstance(req["issuerKey"], dict):
                return 400, {"message": f"IssuanceRequest: missing {missing or 'issuerKey object'}"}, {}
            oid = secrets.token_hex(8)
            self.offers[oid] = req
            base = "http://localhost:7002" if self.failure == "offer-internal-url" else self.url("issuer")
            offer_uri = f"{base}/openid4vc/credentialOffer?id={oid}"
            return 200, "openid-credential-offer://?credential_offer_uri=" + urllib.parse.quote(offer_uri, safe=""), {}
        return 404, "not found", {}

    # ------------------------------------------------------------------ walt.id verifier

    def on_verifier(self, method, path, query, body, headers):
        if path == "/livez":
            return self.livez("verifier")
        if method == "POST" and path == "/openid4vc/verify":
            req = json.loads(body or b"{}")
            if not req.get("request_credentials"):
                return 400, {"message": "request_credentials missing"}, {}
            state = secrets.token_hex(8)
            self.sessions[state] = {"id": state, "verificationResult": None, "polls": 0}
            pd = urllib.parse.quote(f"{self.url('verifier')}/openid4vc/pd/{state}", safe="")
            return 200, f"openid4vp://authorize?response_type=vp_token&client_id=verifier&state={state}&presentation_definition_uri={pd}", {}
        if method == "GET" and path.startswith("/openid4vc/session/"):
            state = path.rsplit("/", 1)[1]
            s = self.sessions.get(state)
            if s is None or self.failure == "verification-drift":
                return 404, {"message": f"Unknown session id {state}"}, {}
            s["polls"] += 1
            verdict = s["verificationResult"]
            if verdict is not None and not s.get("held"):
                # the verdict lands a moment after the presentation: one poll still sees null
                s["held"] = True
                verdict = None
            return 200, {"id": state, "verificationResult": verdict, "policyResults": s.get("policyResults")}, {}
        return 404, "not found", {}

    # ------------------------------------------------------------------ walt.id wallet

    def account_of(self, headers) -> str | None:
        auth = headers.get("Authorization", "")
        return self.tokens.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None

    def on_wallet(self, method, path, query, body, headers):
        if path == "/livez":
            return self.livez("wallet")
        p = path.removeprefix("/wallet-api/")
        if method == "POST" and p == "auth/register":
            req = json.loads(body or b"{}")
            if req.get("type") != "email" or not all(req.get(k) for k in ("name", "email", "password")):
                return 400, {"message": "register: type email, name, email, password"}, {}
            if req["email"] in self.accounts:
                return 409, {"message": "Account already exists"}, {}
            # a real wallet stores a hash; this fake only compares
            self.accounts[req["email"]] = {"password": req["password"], "wallet": secrets.token_hex(4)}
            return 201, "Registration succeeded", {}
        if method == "POST" and p == "auth/login":
            req = json.loads(body or b"{}")
            acct = self.accounts.get(req.get("email"))
            if req.get("type") != "email" or acct is None or req.get("password") != acct["password"] or self.failure == "login-refused":
                return 401, {"message": "Unknown user or wrong password"}, {}
            token = secrets.token_urlsafe(24)
            self.tokens[token] = req["email"]
            return 200, {"id": "account-1", "token": token, "username": req["email"]}, {}
        email = self.account_of(headers)
        if email is None:
            return 401, {"message": "Unauthorized"}, {}
        wid = self.accounts[email]["wallet"]
        if method == "GET" and p == "wallet/accounts/wallets":
            return 200, {"account": "account-1", "wallets": [{"id": wid, "name": "wallet"}]}, {}
        if not p.startswith(f"wallet/{wid}/"):
            return 403, {"message": "not your wallet"}, {}
        rest = p.removeprefix(f"wallet/{wid}/")
        if method == "GET" and rest == "dids":
            return 200, [{"did": "did:key:z6MkHolder", "alias": "holder", "default": True}], {}
        if method == "GET" and rest == "credentials":
            return 200, self.credentials.get(wid, []), {}
        if method == "POST" and rest == "exchange/useOfferRequest":
            offer = body.decode()
            uri = urllib.parse.parse_qs(urllib.parse.urlsplit(offer).query).get("credential_offer_uri", [""])[0]
            u = urllib.parse.urlsplit(uri)
            if u.netloc != f"issuer.{DOMAIN}":
                return 500, {"message": f"Could not resolve credential offer: connection refused: {u.netloc}"}, {}
            oid = urllib.parse.parse_qs(u.query).get("id", [""])[0]
            if oid not in self.offers or self.failure == "issuance-drift":
                return 400, {"message": "No active issuance session found by the given id"}, {}
            if query.get("did", [""])[0] != "did:key:z6MkHolder":
                return 400, {"message": "unknown did"}, {}
            cred = {"id": f"urn:uuid:{secrets.token_hex(8)}", "wallet": wid, "document": "eyJ.fake.jwt"}
            self.credentials.setdefault(wid, []).append(cred)
            return 200, [cred], {}
        if method == "POST" and rest == "exchange/usePresentationRequest":
            req = json.loads(body or b"{}")
            held = {c["id"] for c in self.credentials.get(wid, [])}
            if not req.get("selectedCredentials") or not set(req["selectedCredentials"]) <= held or req.get("did") != "did:key:z6MkHolder":
                return 400, {"message": "selected credentials not in this wallet"}, {}
            state = urllib.parse.parse_qs(urllib.parse.urlsplit(req.get("presentationRequest", "")).query).get("state", [""])[0]
            s = self.sessions.get(state)
            if s is None:
                return 400, {"message": "presentation request: unknown session"}, {}
            ok = self.failure != "verification-false"
            s["verificationResult"] = ok
            s["policyResults"] = {"results": [{"policy": "signature", "is_success": ok}]}
            return 200, {"redirectUri": None}, {}
        return 404, "not found", {}

    # ------------------------------------------------------------------ Keycloak, WSO2

    def discovery(self, issuer: str, authorize: str):
        return 200, {"issuer": issuer, "authorization_endpoint": authorize, "token_endpoint": issuer + "/token"}, {}

    def authorize(self, query):
        redirect = query.get("redirect_uri", [""])[0]
        if self.failure == "authorize-error":
            return 302, "", {"Location": f"{redirect}?error=invalid_scope&error_description=Invalid+scopes"}
        if not redirect.startswith(self.url("app")) or query.get("response_type") != ["code"]:
            return 400, "Invalid parameter: redirect_uri", {}
        return 200, "<html>Sign in</html>", {}

    def on_auth(self, method, path, query, body, headers):
        realm = f"/realms/{REALM}"
        if path == f"{realm}/.well-known/openid-configuration":
            issuer = f"http://localhost:8080{realm}" if self.failure == "keycloak-wrong-issuer" else self.url("auth") + realm
            return self.discovery(issuer, self.url("auth") + f"{realm}/protocol/openid-connect/auth")
        if path == f"{realm}/protocol/openid-connect/auth":
            return self.authorize(query)
        return 404, "not found", {}

    def on_wso2(self, method, path, query, body, headers):
        if path == "/oauth2/token/.well-known/openid-configuration":
            return self.discovery(self.url("wso2") + "/oauth2/token", self.url("wso2") + "/oauth2/authorize")
        if path == "/oauth2/authorize":
            return self.authorize(query)
        return 404, "not found", {}

    # ------------------------------------------------------------------ LibreTranslate, the app

    def on_translate(self, method, path, query, body, headers):
        if path == "/languages":
            if self.failure == "translate-no-models":
                return 200, [], {}
            return 200, [{"code": c, "name": n} for c, n in (("en", "English"), ("es", "Spanish"), ("fr", "French"))], {}
        return 404, "not found", {}

    def on_app(self, method, path, query, body, headers):
        if path == "/healthz":
            return (500, "down", {}) if self.failure == "app-healthz" else (200, "ok", {})
        if path == "/readyz":
            return (503, "upstream http://waltid-libretranslate:5000 not ready", {}) if self.failure == "app-readyz" else (200, "ready", {})
        cookie = headers.get("Cookie", "")
        if method == "GET" and path == "/":
            return 200, "<html>verifiably</html>", {"Set-Cookie": "vf_session=s3ss10n; Path=/; HttpOnly"}
        if "vf_session=s3ss10n" not in cookie:
            return 403, "no session", {}
        if method == "POST" and path == "/role":
            return (200, "", {}) if urllib.parse.parse_qs(body.decode()).get("role") == ["issuer"] else (400, "role?", {})
        if method == "POST" and path == "/auth/start":
            provider = urllib.parse.parse_qs(body.decode()).get("provider", [""])[0]
            if headers.get("HX-Request") != "true":
                return 400, "htmx only", {}
            if self.failure == "authstart-no-redirect":
                return 200, '<div class="error">discover http://auth.localtest.me/realms/vcplatform: context deadline exceeded</div>', {}
            authorize = {"keycloak": self.url("auth") + f"/realms/{REALM}/protocol/openid-connect/auth",
                         "wso2is": self.url("wso2") + "/oauth2/authorize"}.get(provider)
            if authorize is None:
                return 400, f"unknown provider {provider}", {}
            q = urllib.parse.urlencode({"response_type": "code", "client_id": provider, "scope": "openid profile email",
                                        "redirect_uri": self.url("app") + "/auth/callback", "state": "st"})
            return 200, "", {"HX-Redirect": f"{authorize}?{q}"}
        return 404, "not found", {}
