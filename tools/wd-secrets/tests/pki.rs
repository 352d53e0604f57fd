//! The internal CA (issue 16 option 1) on a REAL OpenBao: `policies --apply --pki` mounts the
//! root and the intermediate, the role signs a CSR for a name under the deployment's domain or a
//! service name with the sign-only policy cert-manager gets, and refuses everything else; the
//! chain verifies against the root written by --pki-ca-out (openssl); re-applying keeps the CAs.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use wd_testsupport::openbao::{dev, http};
use wd_testsupport::render_scenario;

/// The secret plan wd-render writes for the scenario (the real pipe).
fn secret_plan(out: &Path) -> std::path::PathBuf {
    render_scenario(Path::new(env!("CARGO_BIN_EXE_wd-secrets")), "waltid", out);
    out.join("secrets/secret-plan.json")
}

fn wd_secrets(addr: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wd-secrets"))
        .args(args)
        .args(["--format", "json"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("VAULT_ADDR", addr)
        .env("VAULT_TOKEN", "root")
        .output()
        .unwrap()
}

fn ok(o: &Output) -> Value {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or(Value::Null)
}

/// A CSR (EC P-256, key kept in `dir`) for `name`, as cert-manager sends it.
fn csr(dir: &Path, name: &str) -> String {
    let key = dir.join(format!("{name}.key"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args(["-keyout", key.to_str().unwrap(), "-subj", "/O=wd"])
        .args(["-addext", &format!("subjectAltName=DNS:{name}")])
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The request cert-manager v1.16.1 sends (internal/vault/vault.go `Sign`): every value a
/// string, the SANs from the CSR, no common name in our CSRs, `exclude_cn_from_sans`.
fn sign(addr: &str, token: &str, dir: &Path, name: &str) -> (u16, Value) {
    let body = serde_json::json!({
        "common_name": "",
        "alt_names": name,
        "ip_sans": "",
        "uri_sans": "",
        "ttl": "1h0m0s",
        "csr": csr(dir, name),
        "exclude_cn_from_sans": "true",
    })
    .to_string();
    http("POST", addr, "pki/sign/wd-internal", token, Some(&body))
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
    let pol = ok(&wd_secrets(&bao.addr, &args));
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
        let (code, cert) = sign(&bao.addr, &cm, tmp.path(), name);
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
        let (code, body) = sign(&bao.addr, &cm, tmp.path(), name);
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
    ok(&o);
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
