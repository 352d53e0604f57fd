//! The internal CA (issue 16 option 1) on a REAL OpenBao: `policies --apply --pki` mounts the
//! root and the intermediate, the role signs a CSR for a name under the deployment's domain or a
//! service name with the sign-only policy cert-manager gets, and refuses everything else; the
//! chain verifies against the root written by --pki-ca-out (openssl); re-applying keeps the CAs;
//! cert-manager logs in through Kubernetes auth (a fake API server answers TokenReview) only with
//! its service account and the audience vault://vault-internal.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use wd_testsupport::cli::{json_ok, vault_json_run};
use wd_testsupport::openbao::{dev, http};
use wd_testsupport::pki::{sign, SIGN};
use wd_testsupport::render_scenario;

/// The secret plan wd-render writes for the scenario (the real pipe).
fn secret_plan(out: &Path) -> std::path::PathBuf {
    render_scenario(Path::new(env!("CARGO_BIN_EXE_wd-secrets")), "waltid", out);
    out.join("secrets/secret-plan.json")
}

fn wd_secrets(addr: &str, args: &[&str]) -> Output {
    vault_json_run(env!("CARGO_BIN_EXE_wd-secrets"), addr, "root", args)
}

#[test]
fn the_internal_ca_signs_the_clusters_names_and_nothing_else() {
    let bao = dev();
    let tmp = tempfile::tempdir().unwrap();
    let plan = secret_plan(tmp.path());
    let plan = plan.to_str().unwrap();
    let ca_out = tmp.path().join("internal-ca.pem");
    // Kubernetes auth as on a cluster (its config needs the pod's service-account CA; not here)
    http(
        "POST",
        &bao.addr,
        "sys/auth/kubernetes",
        "root",
        Some(r#"{"type":"kubernetes"}"#),
    );
    let args = [
        "policies",
        "--plan",
        plan,
        "--apply",
        "--pki",
        "--pki-domain",
        "localtest.me",
        "--pki-ca-out",
        ca_out.to_str().unwrap(),
    ];
    let pol = json_ok(&wd_secrets(&bao.addr, &args));
    let policy = pol["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "waltid-pki-issuer")
        .expect("cert-manager's policy");
    assert!(policy["hcl"]
        .as_str()
        .unwrap()
        .contains("pki/sign/wd-internal"));
    let role = pol["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "waltid-cert-manager")
        .expect("cert-manager's Kubernetes auth role");
    assert_eq!(role["status"], "applied");
    assert_eq!(role["serviceAccounts"][0], "wd-vault-issuer");
    assert_eq!(role["namespaces"][0], "cert-manager");

    // the auth role carries the audience cert-manager v1.16 puts in its tokens
    let (code, r) = http(
        "GET",
        &bao.addr,
        "auth/kubernetes/role/waltid-cert-manager",
        "root",
        None,
    );
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["data"]["audience"], "vault://vault-internal", "{r}");
    assert_eq!(r["data"]["token_policies"][0], "waltid-pki-issuer");

    // the token cert-manager gets: sign-only
    let (_, tok) = http(
        "POST",
        &bao.addr,
        "auth/token/create",
        "root",
        Some(r#"{"policies":["waltid-pki-issuer"],"no_default_policy":true,"ttl":"5m"}"#),
    );
    let cm = tok["auth"]["client_token"].as_str().unwrap().to_string();

    let root_pem = std::fs::read_to_string(&ca_out).unwrap();
    assert!(root_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    for name in [
        "wallet.localtest.me",
        "vault.vault.svc",
        "waltid-pg-rw.waltid.svc.cluster.local",
    ] {
        let (code, cert) = sign(&bao.addr, &cm, SIGN, tmp.path(), &[name]);
        assert_eq!(code, 200, "{name}: {cert}");
        // leaf + the chain up to the root verify against the root alone
        let leaf = tmp.path().join("leaf.pem");
        let chain = tmp.path().join("chain.pem");
        std::fs::write(&leaf, cert["data"]["certificate"].as_str().unwrap()).unwrap();
        let ca_chain: Vec<&str> = cert["data"]["ca_chain"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(ca_chain.len(), 2, "intermediate + root: {ca_chain:?}");
        assert_eq!(ca_chain[1].trim(), root_pem.trim());
        std::fs::write(&chain, ca_chain[0]).unwrap();
        let v = Command::new("openssl")
            .args(["verify", "-CAfile", ca_out.to_str().unwrap()])
            .args([
                "-untrusted",
                chain.to_str().unwrap(),
                leaf.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            v.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&v.stdout)
        );
    }
    // outside the domains, the bare domain, localhost, a wildcard: refused
    for name in [
        "wallet.example.org",
        "localtest.me",
        "localhost",
        "*.localtest.me",
        "evil.localtest.me.example.org",
    ] {
        let (code, body) = sign(&bao.addr, &cm, SIGN, tmp.path(), &[name]);
        assert_eq!(code, 400, "{name} must be refused: {body}");
    }
    // the issuer's token can neither issue keys nor touch the CAs or the role
    for (method, path) in [
        ("POST", "pki/issue/wd-internal"),
        ("POST", "pki/roles/wd-internal"),
        ("POST", "pki-root/root/sign-intermediate"),
        ("DELETE", "pki/root"),
    ] {
        let (code, _) = http(
            method,
            &bao.addr,
            path,
            &cm,
            Some(r#"{"common_name":"x.localtest.me"}"#),
        );
        assert_eq!(code, 403, "{method} {path}");
    }

    // re-applying keeps both CAs (same root, same intermediate) and reports nothing new
    let (_, before) = http("GET", &bao.addr, "pki/cert/ca", "root", None);
    let o = wd_secrets(&bao.addr, &args);
    json_ok(&o);
    let (_, after) = http("GET", &bao.addr, "pki/cert/ca", "root", None);
    assert_eq!(before["data"]["certificate"], after["data"]["certificate"]);
    assert_eq!(std::fs::read_to_string(&ca_out).unwrap(), root_pem);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("generated the internal CA"));
}

#[test]
fn pki_without_a_domain_is_bad_input_before_vault() {
    // no server: bad input must be found before any connection (exit 2, not 3)
    let tmp = tempfile::tempdir().unwrap();
    let plan = secret_plan(tmp.path());
    for extra in [vec![], vec!["--pki-domain", "*.localtest.me"]] {
        let mut args = vec![
            "policies",
            "--plan",
            plan.to_str().unwrap(),
            "--apply",
            "--pki",
        ];
        args.extend(extra);
        let o = wd_secrets("http://127.0.0.1:9", &args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(String::from_utf8_lossy(&o.stderr).contains("--pki-domain"));
    }
}

// ------------------------------------------------------------------ Kubernetes auth, end to end

/// base64url without padding (JWT segments); by hand: one helper is not worth a dependency.
fn b64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..=c.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A service-account token as the API server issues it (claims only; the fake API server below
/// is what "verifies" it, as TokenReview does for Vault).
fn sa_token(namespace: &str, name: &str, aud: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "iss": "https://kubernetes.default.svc.cluster.local",
        "aud": [aud],
        "sub": format!("system:serviceaccount:{namespace}:{name}"),
        "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": format!("uid-{name}")}},
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + 600,
    });
    format!(
        "{}.{}.{}",
        b64url(br#"{"alg":"RS256","kid":"test"}"#),
        b64url(claims.to_string().as_bytes()),
        b64url(b"not-a-real-signature")
    )
}

/// The API server's TokenReview for the tokens of `known` (token -> (namespace, name, audiences
/// the token was requested with)): authenticated only if one of the review's audiences is one of
/// the token's, as kube-apiserver does; answers with that intersection.
fn fake_token_review(known: Vec<(String, String, String, Vec<String>)>) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(32) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let review: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let token = review["spec"]["token"].as_str().unwrap_or_default();
            let asked: Vec<String> = review["spec"]["audiences"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let status = match known.iter().find(|k| k.0 == token) {
                Some((_, ns, name, auds)) => {
                    let both: Vec<&String> = auds
                        .iter()
                        .filter(|a| asked.is_empty() || asked.contains(a))
                        .collect();
                    if both.is_empty() {
                        serde_json::json!({"authenticated": false, "error": "token audiences do not match"})
                    } else {
                        serde_json::json!({"authenticated": true, "audiences": both,
                            "user": {"username": format!("system:serviceaccount:{ns}:{name}"), "uid": format!("uid-{name}"),
                                     "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{ns}")]}})
                    }
                }
                None => serde_json::json!({"authenticated": false}),
            };
            let out = serde_json::json!({"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1", "status": status}).to_string();
            let _ = write!(stream, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}", out.len());
        }
    });
    addr
}

#[test]
fn cert_manager_logs_in_only_with_its_audience_and_service_account() {
    let bao = dev();
    let tmp = tempfile::tempdir().unwrap();
    let plan = secret_plan(tmp.path());
    let issuer_aud = "vault://vault-internal".to_string();
    let api_aud = "https://kubernetes.default.svc.cluster.local".to_string();
    let good = sa_token("cert-manager", "wd-vault-issuer", &issuer_aud);
    // the same identity, a token for the API server's audience (what a mounted token carries)
    let wrong_aud = sa_token("cert-manager", "wd-vault-issuer", &api_aud);
    let other_sa = sa_token("cert-manager", "cert-manager", &issuer_aud);
    let api = fake_token_review(vec![
        (
            good.clone(),
            "cert-manager".into(),
            "wd-vault-issuer".into(),
            vec![issuer_aud.clone()],
        ),
        (
            wrong_aud.clone(),
            "cert-manager".into(),
            "wd-vault-issuer".into(),
            vec![api_aud.clone()],
        ),
        (
            other_sa.clone(),
            "cert-manager".into(),
            "cert-manager".into(),
            vec![issuer_aud.clone()],
        ),
    ]);
    http(
        "POST",
        &bao.addr,
        "sys/auth/kubernetes",
        "root",
        Some(r#"{"type":"kubernetes"}"#),
    );
    // the API server's CA (required by the config; unused: the fake serves plain HTTP)
    let ca =
        std::fs::read_to_string(wd_testsupport::pki::self_signed_ca(tmp.path(), "api")).unwrap();
    let cfg = serde_json::json!({"kubernetes_host": api, "token_reviewer_jwt": "reviewer",
        "kubernetes_ca_cert": ca, "disable_local_ca_jwt": true})
    .to_string();
    let (code, body) = http(
        "POST",
        &bao.addr,
        "auth/kubernetes/config",
        "root",
        Some(&cfg),
    );
    assert!(code == 204 || code == 200, "{code} {body}");
    json_ok(&wd_secrets(
        &bao.addr,
        &[
            "policies",
            "--plan",
            plan.to_str().unwrap(),
            "--apply",
            "--pki",
            "--pki-domain",
            "localtest.me",
        ],
    ));
    let login = |jwt: &str| {
        let body = serde_json::json!({"role": "waltid-cert-manager", "jwt": jwt}).to_string();
        http("POST", &bao.addr, "auth/kubernetes/login", "", Some(&body))
    };
    // cert-manager's token (audience vault://vault-internal, its service account): a sign-only token
    let (code, auth) = login(&good);
    assert_eq!(code, 200, "{auth}");
    assert_eq!(
        auth["auth"]["policies"],
        serde_json::json!(["default", "waltid-pki-issuer"])
    );
    let token = auth["auth"]["client_token"].as_str().unwrap().to_string();
    let (code, cert) = sign(
        &bao.addr,
        &token,
        SIGN,
        tmp.path(),
        &["wallet.localtest.me"],
    );
    assert_eq!(code, 200, "{cert}");
    // a token of the right account for another audience, or another account: refused
    let (code, body) = login(&wrong_aud);
    assert_eq!(code, 403, "{body}");
    assert!(body.to_string().contains("audience"), "{body}");
    let (code, body) = login(&other_sa);
    assert_eq!(code, 403, "{body}");
    assert!(
        body.to_string()
            .contains("service account name not authorized"),
        "{body}"
    );
}
