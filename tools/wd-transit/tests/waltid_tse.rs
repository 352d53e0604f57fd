//! walt.id's TSE key end to end on a REAL OpenBao dev server: the limited token wd-transit
//! issues signs a walt.id-shaped JWS exactly as walt.id 0.18.2's TSEKey asks Transit to, the
//! signature verifies in pure Rust with the public key in the DID (no Vault), the token can do
//! nothing else, and rotation keeps old signatures verifiable.

use base64::Engine;
use serde_json::{json, Value};
use std::process::{Command, Output};
use wd_testsupport::cli::{json_ok, vault_command};
use wd_testsupport::openbao::{dev, http};

fn run(addr: &str, token: &str, args: &[&str]) -> Output {
    vault_command(env!("CARGO_BIN_EXE_wd-transit"), addr, token)
        .args(args)
        .output()
        .unwrap()
}

fn b64url(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A SecretPlan with the two secrets `wd-transit token issuer --plan` stores into.
fn plan(dir: &std::path::Path) -> std::path::PathBuf {
    let s = |name: &str, key: &str| {
        json!({"name": name, "description": "test", "vaultPath": "waltid/issuer/transit",
               "vaultKey": key, "k8sSecret": "waltid-issuer-transit", "k8sKey": key,
               "consumers": ["verifiably-go"], "policy": {"format": "external", "why": "wd-transit token"},
               "restartOnRotate": ["verifiably-go"], "runbook": "docs/runbooks/signing-keys.md"})
    };
    let p = dir.join("secret-plan.json");
    std::fs::write(
        &p,
        json!({"apiVersion": "wd/v1", "kind": "SecretPlan", "scenario": "waltid", "kvMount": "secret",
               "secrets": [s("issuer-transit-key", "issuerKey"), s("issuer-transit-did", "issuerDid")]})
        .to_string(),
    )
    .unwrap();
    p
}

/// What walt.id 0.18.2's TSEKey does to sign a JWS (TSEKey.signJws/signRaw): header
/// {"typ":"JWT","alg":"EdDSA",…headers}, signing input `b64url(header).b64url(payload)`,
/// `POST <server>/sign/<id>` with only `{"input": base64(signing input)}`, strip `vault:v1:`.
/// Returns (signing input, raw signature, Transit's signature string).
fn sign_like_waltid(server: &str, id: &str, token: &str, kid: &str) -> (String, Vec<u8>, String) {
    let header = format!(r#"{{"typ":"JWT","alg":"EdDSA","kid":"{kid}"}}"#);
    let payload = json!({"vc": {"type": ["VerifiableCredential", "OpenBadgeCredential"]}, "iss": kid.split('#').next().unwrap()});
    let signable = format!(
        "{}.{}",
        b64url(header.as_bytes()),
        b64url(payload.to_string().as_bytes())
    );
    let (addr, mount) = server.split_once("/v1/").unwrap();
    // init(): the key type (GET keys/<id>)
    let (code, key) = http("GET", addr, &format!("{mount}/keys/{id}"), token, None);
    assert_eq!(
        (code, key["data"]["type"].as_str()),
        (200, Some("ed25519")),
        "{key}"
    );
    let input = base64::engine::general_purpose::STANDARD.encode(signable.as_bytes());
    let (code, body) = http(
        "POST",
        addr,
        &format!("{mount}/sign/{id}"),
        token,
        Some(&json!({"input": input}).to_string()),
    );
    assert_eq!(code, 200, "{body}");
    let s = body["data"]["signature"].as_str().unwrap().to_string();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(s.strip_prefix("vault:v1:").unwrap_or(&s))
        .unwrap_or_default();
    (signable, raw, s)
}

/// Verifies with the public key the DID carries (did:jwk → JWK → x), in pure Rust.
fn verify_with_did(did: &str, signable: &str, sig: &[u8]) -> bool {
    let jwk: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(did.strip_prefix("did:jwk:").unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (jwk["kty"].as_str(), jwk["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(jwk["x"].as_str().unwrap())
        .unwrap();
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, x)
        .verify(signable.as_bytes(), sig)
        .is_ok()
}

#[test]
fn the_pure_rust_verifier_agrees_with_rfc_8037() {
    // RFC 8037 A.4: the JWS of "Example of Ed25519 signing" with the A.1 key; its DID is ours.
    let raw = hex32("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    let did = wd_transit::waltid::did_jwk_ed25519(&raw);
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode("hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")
        .unwrap();
    let signable = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    assert!(verify_with_did(&did, signable, &sig));
    assert!(!verify_with_did(&did, &signable.replace("RX", "Rx"), &sig));
}

fn hex32(h: &str) -> [u8; 32] {
    let v: Vec<u8> = (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

#[test]
fn the_limited_token_signs_like_waltid_and_does_nothing_else() {
    let bao = dev();
    let a = bao.addr.as_str();
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path());
    let plan = plan.to_str().unwrap();
    let server = format!("{a}/v1/transit");
    json_ok(&run(a, "root", &["init", "issuer", "wallet"]));

    // bad input first: exit 2, nothing issued
    for args in [
        vec!["token", "issuer"],
        vec![
            "token",
            "issuer",
            "--plan",
            plan,
            "--server",
            "http://vault:8200/transit",
        ],
    ] {
        assert_eq!(run(a, "root", &args).status.code(), Some(2), "{args:?}");
    }
    let o = run(
        a,
        "root",
        &["token", "verifier", "--plan", plan, "--show-secrets"],
    );
    assert_eq!(o.status.code(), Some(2));

    // issue: the stored reference carries the token; the output does not
    let o = run(
        a,
        "root",
        &["token", "issuer", "--plan", plan, "--server", &server],
    );
    let doc = json_ok(&o);
    let t = &doc["token"];
    assert_eq!(t["action"], "issued");
    assert_eq!(t["policy"], "wd-transit-transit-issuer");
    assert_eq!(t["period"], 768 * 3600);
    assert_eq!(t["storedAt"], "secret/waltid/issuer/transit");
    assert_eq!(doc["reference"]["auth"]["accessKey"], "<redacted>");
    let (_, kv) = http("GET", a, "secret/data/waltid/issuer/transit", "root", None);
    let reference: Value =
        serde_json::from_str(kv["data"]["data"]["issuerKey"].as_str().unwrap()).unwrap();
    let did = kv["data"]["data"]["issuerDid"]
        .as_str()
        .unwrap()
        .to_string();
    let token = reference["auth"]["accessKey"].as_str().unwrap().to_string();
    assert!(!String::from_utf8_lossy(&o.stdout).contains(&token));
    assert!(!String::from_utf8_lossy(&o.stderr).contains(&token));
    assert_eq!(
        reference,
        json!({"type": "tse", "server": server, "auth": {"accessKey": token}, "id": "issuer", "_keyType": "Ed25519"})
    );
    assert_eq!(did, doc["did"].as_str().unwrap());
    // `did` prints the same DID; it is the key's version-1 public key, as walt.id reads it
    let printed = run(a, "root", &["did", "issuer", "--format", "table"]);
    assert_eq!(String::from_utf8_lossy(&printed.stdout).trim(), did);
    let (_, key) = http("GET", a, "transit/keys/issuer", "root", None);
    let raw = base64::engine::general_purpose::STANDARD
        .decode(key["data"]["keys"]["1"]["public_key"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        did,
        wd_transit::waltid::did_jwk_ed25519(&raw.try_into().unwrap())
    );

    // the token: periodic, renewable, orphan, only its policy
    let (_, me) = http("GET", a, "auth/token/lookup-self", &token, None);
    let d = &me["data"];
    assert_eq!(d["policies"], json!(["wd-transit-transit-issuer"]), "{me}");
    assert_eq!(
        (
            d["period"].as_u64(),
            d["renewable"].as_bool(),
            d["orphan"].as_bool()
        ),
        (Some(768 * 3600), Some(true), Some(true))
    );

    // sign as walt.id does through the token; verify with the DID's key in pure Rust
    let kid = format!("{did}#0");
    let (signable, sig, s) = sign_like_waltid(&server, "issuer", &token, &kid);
    assert!(s.starts_with("vault:v1:"), "{s}");
    assert_eq!(sig.len(), 64);
    assert!(verify_with_did(&did, &signable, &sig));
    let mut tampered = sig.clone();
    tampered[0] ^= 1;
    assert!(!verify_with_did(&did, &signable, &tampered));

    // everything else is refused (403): export, other keys, rotate/config/delete, KV, tokens
    let refused: [(&str, &str, Option<Value>); 11] = [
        ("GET", "transit/export/signing-key/issuer", None),
        ("GET", "transit/keys/wallet", None),
        (
            "POST",
            "transit/sign/wallet",
            Some(json!({"input": "aGk="})),
        ),
        (
            "POST",
            "transit/verify/issuer",
            Some(json!({"input": "aGk=", "signature": s})),
        ),
        ("POST", "transit/keys/issuer/rotate", None),
        (
            "POST",
            "transit/keys/issuer/config",
            Some(json!({"exportable": true})),
        ),
        ("DELETE", "transit/keys/issuer", None),
        (
            "POST",
            "transit/keys/other",
            Some(json!({"type": "ed25519"})),
        ),
        (
            "POST",
            "secret/data/waltid/issuer/transit",
            Some(json!({"data": {"x": "y"}})),
        ),
        ("GET", "secret/data/waltid/issuer/transit", None),
        (
            "POST",
            "auth/token/create",
            Some(json!({"policies": ["root"]})),
        ),
    ];
    for (method, path, body) in refused {
        let (code, b) = http(
            method,
            a,
            path,
            &token,
            body.map(|b| b.to_string()).as_deref(),
        );
        assert_eq!(code, 403, "{method} {path}: {b}");
    }

    // again: the live stored token is renewed, not replaced
    let again = json_ok(&run(
        a,
        "root",
        &["token", "issuer", "--plan", plan, "--server", &server],
    ));
    assert_eq!(again["token"]["action"], "renewed");
    assert_eq!(again["token"]["accessor"], t["accessor"]);
    // --new: a new token in the store; the old one's accessor reported, then revoked by it
    let new = json_ok(&run(
        a,
        "root",
        &[
            "token", "issuer", "--plan", plan, "--server", &server, "--new",
        ],
    ));
    assert_eq!(new["token"]["action"], "issued");
    assert_eq!(new["token"]["previousAccessor"], t["accessor"]);
    let (_, kv) = http("GET", a, "secret/data/waltid/issuer/transit", "root", None);
    let r2: Value =
        serde_json::from_str(kv["data"]["data"]["issuerKey"].as_str().unwrap()).unwrap();
    let token2 = r2["auth"]["accessKey"].as_str().unwrap().to_string();
    assert_ne!(token2, token);
    let (code, _) = http(
        "POST",
        a,
        "auth/token/revoke-accessor",
        "root",
        Some(&json!({"accessor": t["accessor"]}).to_string()),
    );
    assert_eq!(code, 204);
    assert_eq!(http("GET", a, "transit/keys/issuer", &token, None).0, 403);
    let (signable2, sig2, _) = sign_like_waltid(&server, "issuer", &token2, &kid);
    assert!(verify_with_did(&did, &signable2, &sig2));
    // another Transit URL: a new token, the live old one reported for revocation
    let moved = json_ok(&run(
        a,
        "root",
        &[
            "token",
            "issuer",
            "--plan",
            plan,
            "--server",
            "http://vault.vault.svc:8200/v1/transit",
        ],
    ));
    assert_eq!(moved["token"]["action"], "issued");
    assert_eq!(moved["token"]["previousAccessor"], new["token"]["accessor"]);
    // a stored token Vault no longer knows (expired, revoked): replaced
    let back = json_ok(&run(
        a,
        "root",
        &["token", "issuer", "--plan", plan, "--server", &server],
    ));
    assert_eq!(
        back["token"]["previousAccessor"],
        moved["token"]["accessor"]
    );
    let (code, _) = http(
        "POST",
        a,
        "auth/token/revoke-accessor",
        "root",
        Some(&json!({"accessor": back["token"]["accessor"]}).to_string()),
    );
    assert_eq!(code, 204);
    let re = json_ok(&run(
        a,
        "root",
        &["token", "issuer", "--plan", plan, "--server", &server],
    ));
    assert_eq!(
        (
            re["token"]["action"].as_str(),
            re["token"]["previousAccessor"].as_str()
        ),
        (Some("reissued"), Some(""))
    );
    let (_, kv) = http("GET", a, "secret/data/waltid/issuer/transit", "root", None);
    let r3: Value =
        serde_json::from_str(kv["data"]["data"]["issuerKey"].as_str().unwrap()).unwrap();
    let token2 = r3["auth"]["accessKey"].as_str().unwrap().to_string();
    assert_eq!(
        http("GET", a, "auth/token/lookup-self", &token2, None).0,
        200
    );

    // rotate: the old signature still verifies (pure Rust with the DID, and in Transit); the
    // next signature is vault:v2:, which walt.id 0.18.2 cannot decode, so ref/token refuse
    json_ok(&run(a, "root", &["rotate", "issuer"]));
    assert!(verify_with_did(&did, &signable, &sig));
    let (code, v) = http(
        "POST",
        a,
        "transit/verify/issuer",
        "root",
        Some(&json!({"input": base64::engine::general_purpose::STANDARD.encode(signable.as_bytes()), "signature": s}).to_string()),
    );
    assert_eq!(
        (code, v["data"]["valid"].as_bool()),
        (200, Some(true)),
        "{v}"
    );
    let (_, _, s2) = sign_like_waltid(&server, "issuer", &token2, &kid);
    assert!(s2.starts_with("vault:v2:"), "{s2}");
    let o = run(
        a,
        "root",
        &["token", "issuer", "--plan", plan, "--server", &server],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("rotated key"));
    // the DID stays version 1's (it verifies what was signed before)
    let printed = run(a, "root", &["did", "issuer", "--format", "table"]);
    assert_eq!(String::from_utf8_lossy(&printed.stdout).trim(), did);

    // walt.id's rotation: a new key in the issuer's store, a new DID; the old DID still verifies
    // the old credentials, the old token is reported for revocation
    json_ok(&run(a, "root", &["init", "issuer-2"]));
    let moved = json_ok(&run(
        a,
        "root",
        &[
            "token", "issuer", "--plan", plan, "--server", &server, "--key", "issuer-2",
        ],
    ));
    assert_eq!(moved["token"]["action"], "issued");
    assert_eq!(moved["token"]["previousAccessor"], re["token"]["accessor"]);
    let (_, kv) = http("GET", a, "secret/data/waltid/issuer/transit", "root", None);
    let r4: Value =
        serde_json::from_str(kv["data"]["data"]["issuerKey"].as_str().unwrap()).unwrap();
    let did2 = kv["data"]["data"]["issuerDid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(r4["id"], "issuer-2");
    assert_ne!(did2, did);
    let token4 = r4["auth"]["accessKey"].as_str().unwrap();
    let (signable4, sig4, s4) = sign_like_waltid(&server, "issuer-2", token4, &format!("{did2}#0"));
    assert!(s4.starts_with("vault:v1:"));
    assert!(verify_with_did(&did2, &signable4, &sig4) && !verify_with_did(&did, &signable4, &sig4));
    assert!(verify_with_did(&did, &signable, &sig));
    // the new token signs with issuer-2 only
    assert_eq!(
        http(
            "POST",
            a,
            "transit/sign/issuer",
            token4,
            Some(r#"{"input":"aGk="}"#)
        )
        .0,
        403
    );
    // the next plain run (k8s-deploy.sh up) renews the moved signer; it does not move it back
    let again = json_ok(&run(
        a,
        "root",
        &["token", "issuer", "--plan", plan, "--server", &server],
    ));
    assert_eq!(
        (again["key"].as_str(), again["token"]["action"].as_str()),
        (Some("issuer-2"), Some("renewed"))
    );
    assert_eq!(again["token"]["accessor"], moved["token"]["accessor"]);
}

#[test]
fn the_wallet_token_creates_and_signs_with_its_own_keys_only() {
    let bao = dev();
    let a = bao.addr.as_str();
    json_ok(&run(a, "root", &["init", "issuer"]));
    // without --show-secrets the token would be lost
    let o = run(a, "root", &["token", "wallet", "--key-prefix", "k"]);
    assert_eq!(o.status.code(), Some(2));
    let doc = json_ok(&run(
        a,
        "root",
        &["token", "wallet", "--key-prefix", "k", "--show-secrets"],
    ));
    // walt.id's KeyGenerationRequest for registration-defaults.conf defaultKeyConfig
    let cfg = &doc["reference"];
    assert_eq!(
        (cfg["backend"].as_str(), cfg["keyType"].as_str()),
        (Some("tse"), Some("Ed25519"))
    );
    assert_eq!(cfg["config"]["server"], format!("{a}/v1/transit"));
    let token = cfg["config"]["auth"]["accessKey"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(doc["token"]["policy"], "wd-transit-transit-wallet-keys");
    // what TSEKey.generate does: POST keys/k<random int> {"type": "ed25519"}; then sign
    let (code, b) = http(
        "POST",
        a,
        "transit/keys/k-307668075",
        &token,
        Some(r#"{"type":"ed25519"}"#),
    );
    assert!(code == 200 || code == 204, "{code} {b}");
    let (code, _) = http("GET", a, "transit/keys/k-307668075", &token, None);
    assert_eq!(code, 200);
    let (code, b) = http(
        "POST",
        a,
        "transit/sign/k-307668075",
        &token,
        Some(r#"{"input":"aGk="}"#),
    );
    assert_eq!(code, 200, "{b}");
    // the glob cannot exclude keys/k*/config: the token may mark its keys exportable, but it
    // still cannot export (or back up, or delete) them
    let (code, _) = http(
        "POST",
        a,
        "transit/keys/k-307668075/config",
        &token,
        Some(r#"{"exportable":true,"allow_plaintext_backup":true,"deletion_allowed":true}"#),
    );
    assert_eq!(code, 200);
    let refused: [(&str, &str, Option<&str>); 8] = [
        ("GET", "transit/backup/k-307668075", None),
        ("POST", "transit/restore/k-new", Some(r#"{"backup":"x"}"#)),
        ("POST", "transit/keys/other", Some(r#"{"type":"ed25519"}"#)),
        ("DELETE", "transit/keys/k-307668075", None),
        ("GET", "transit/export/signing-key/k-307668075", None),
        ("POST", "transit/sign/issuer", Some(r#"{"input":"aGk="}"#)),
        ("GET", "transit/keys/issuer", None),
        ("POST", "secret/data/x", Some(r#"{"data":{"x":"y"}}"#)),
    ];
    for (method, path, body) in refused {
        let (code, b) = http(method, a, path, &token, body);
        assert_eq!(code, 403, "{method} {path}: {b}");
    }
}

/// A dev server whose config declares a file audit device (OpenBao enables audit devices only
/// from its configuration, not through the API).
struct Audited {
    addr: String,
    log: std::path::PathBuf,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Drop for Audited {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn audited() -> Audited {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let cfg = dir.path().join("audit.hcl");
    std::fs::write(
        &cfg,
        format!(
            "audit \"file\" \"file\" {{\n  options {{\n    file_path = \"{}\"\n  }}\n}}\n",
            log.display()
        ),
    )
    .unwrap();
    let port = loop {
        let p = wd_testsupport::openbao::free_port();
        if std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            break p;
        }
    };
    let child = Command::new(wd_testsupport::openbao::bao())
        .args([
            "server",
            "-dev",
            "-dev-root-token-id=root",
            &format!("-dev-listen-address=127.0.0.1:{port}"),
            &format!("-config={}", cfg.display()),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let addr = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while http("GET", &addr, "sys/health", "", None).0 != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "OpenBao with an audit device did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Audited {
        addr,
        log,
        child,
        _dir: dir,
    }
}

#[test]
fn the_audit_log_shows_each_signature_under_the_limited_policy_without_secrets() {
    // what docs/runbooks/signing-keys.md "What the Vault audit log shows" says
    let bao = audited();
    let a = bao.addr.as_str();
    json_ok(&run(a, "root", &["init", "issuer"]));
    let doc = json_ok(&run(a, "root", &["token", "issuer", "--show-secrets"]));
    let token = doc["reference"]["auth"]["accessKey"]
        .as_str()
        .unwrap()
        .to_string();
    let accessor = doc["token"]["accessor"].as_str().unwrap().to_string();
    let server = format!("{a}/v1/transit");
    let (signable, _, _) = sign_like_waltid(&server, "issuer", &token, "did:jwk:x#0");
    assert_eq!(http("GET", a, "secret/data/x", &token, None).0, 403);
    let text = std::fs::read_to_string(&bao.log).unwrap();
    let entries: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sign: Vec<&Value> = entries
        .iter()
        .filter(|e| e["type"] == "response" && e["request"]["path"] == "transit/sign/issuer")
        .collect();
    assert_eq!(sign.len(), 1);
    let (req, auth) = (&sign[0]["request"], &sign[0]["auth"]);
    assert_eq!(req["operation"], "update");
    assert_eq!(auth["policies"], json!(["wd-transit-transit-issuer"]));
    assert_eq!(auth["display_name"], "token-wd-transit-issuer");
    // token, accessor and the signed input are HMACs; the accessor's HMAC is what audit-hash gives
    for v in [
        &auth["client_token"],
        &auth["accessor"],
        &req["data"]["input"],
    ] {
        assert!(v.as_str().unwrap().starts_with("hmac-sha256:"), "{v}");
    }
    let (_, h) = http(
        "POST",
        a,
        "sys/audit-hash/file",
        "root",
        Some(&json!({"input": accessor}).to_string()),
    );
    assert_eq!(auth["accessor"], h["data"]["hash"]);
    // the read of the key walt.id makes first, and the refused KV read, are there too
    assert!(entries
        .iter()
        .any(|e| e["request"]["path"] == "transit/keys/issuer"
            && e["request"]["operation"] == "read"
            && e["auth"]["display_name"] == "token-wd-transit-issuer"));
    assert!(entries
        .iter()
        .any(|e| e["request"]["path"] == "secret/data/x"
            && e["error"]
                .as_str()
                .is_some_and(|x| x.contains("permission denied"))));
    // nothing in the log is the token, its accessor or the signed input in clear
    let input = base64::engine::general_purpose::STANDARD.encode(signable.as_bytes());
    assert!(!text.contains(&token) && !text.contains(&accessor) && !text.contains(&input));
}
