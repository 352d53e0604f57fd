//! The shared Postgres behind the internal CA (issue 16 option 1), on a REAL OpenBao and a REAL
//! PostgreSQL: `policies --apply --pki` sets the CA up, a CSR for the six names of the
//! CloudNativePG Cluster's Services (what cert-manager sends for the Certificate behind
//! `spec.certificates.serverTLSSecret`) is signed through `pki/sign/wd-internal` with
//! cert-manager's sign-only token, the server serves tls.crt as cert-manager stores it (leaf +
//! intermediate, no root), and libpq with `sslmode=verify-full` and the root from --pki-ca-out
//! (the file mounted at /etc/wd-internal-ca/ca.crt) logs in by the `.svc` name only.
//!
//! libpq stands in for the clients: walt.id and Keycloak connect through pgjdbc, the Go app
//! through pgx; all three check the host name against the certificate's DNS names in
//! verify-full. `hostaddr=127.0.0.1` makes libpq connect here while checking `host`.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use wd_testsupport::cli::{json_ok, vault_json_run};
use wd_testsupport::openbao::{dev, http};
use wd_testsupport::pki::{cert_manager_secret, key_path, self_signed_ca, sign, SIGN};
use wd_testsupport::postgres::Pg;
use wd_testsupport::render_scenario;

/// The Certificate's dnsNames: the Cluster `waltid-pg` in namespace `waltid` has the Services
/// `-rw`, `-r` and `-ro` (CloudNativePG), each in its short and full in-cluster form.
const DNS_NAMES: [&str; 6] = [
    "waltid-pg-rw.waltid.svc",
    "waltid-pg-rw.waltid.svc.cluster.local",
    "waltid-pg-r.waltid.svc",
    "waltid-pg-r.waltid.svc.cluster.local",
    "waltid-pg-ro.waltid.svc",
    "waltid-pg-ro.waltid.svc.cluster.local",
];

/// The host the clients connect to.
const HOST: &str = "waltid-pg-rw.waltid.svc";

const SSL_OF_THIS_SESSION: &str = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

fn wd_secrets(addr: &str, args: &[&str]) -> Output {
    vault_json_run(env!("CARGO_BIN_EXE_wd-secrets"), addr, "root", args)
}

/// The clients' connection parameters: verify-full against `rootcert`, the name `host` checked,
/// the connection made to 127.0.0.1.
fn verify_full(host: &str, rootcert: &Path) -> String {
    format!(
        "host={host} hostaddr=127.0.0.1 sslmode=verify-full sslrootcert={}",
        rootcert.display()
    )
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim().to_string()
}

#[test]
fn postgres_serves_the_internal_cas_certificate_and_clients_verify_it_by_its_svc_name() {
    let t0 = Instant::now();
    let bao = dev();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    render_scenario(Path::new(env!("CARGO_BIN_EXE_wd-secrets")), "waltid", dir);
    let plan = dir.join("secrets/secret-plan.json");
    let root = dir.join("internal-ca.pem");
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
            "--pki-ca-out",
            root.to_str().unwrap(),
        ],
    ));
    let root_pem = std::fs::read_to_string(&root).unwrap();

    // cert-manager's token: the sign-only policy wd-secrets applied
    let (_, tok) = http(
        "POST",
        &bao.addr,
        "auth/token/create",
        "root",
        Some(r#"{"policies":["waltid-pki-issuer"],"no_default_policy":true,"ttl":"5m"}"#),
    );
    let cm = tok["auth"]["client_token"].as_str().unwrap().to_string();

    // the Certificate's request: one P-256 key, one CSR for the six names
    let certs = dir.join("certs");
    std::fs::create_dir(&certs).unwrap();
    let (code, signed) = sign(&bao.addr, &cm, SIGN, &certs, &DNS_NAMES);
    assert_eq!(code, 200, "{signed}");
    let (tls_crt, ca_crt) = cert_manager_secret(&signed);
    assert_eq!(
        tls_crt.matches("BEGIN CERTIFICATE").count(),
        2,
        "tls.crt: leaf + intermediate"
    );
    // serverCASecret's ca.crt is the same root the clients mount
    assert_eq!(ca_crt.trim(), root_pem.trim());
    let tls_crt_file = dir.join("tls.crt");
    std::fs::write(&tls_crt_file, &tls_crt).unwrap();
    // tls.key as cert-manager writes an ECDSA key by default (privateKey.encoding PKCS1: SEC 1)
    let tls_key_file = dir.join("tls.key");
    let o = Command::new("openssl")
        .args(["ec", "-in", key_path(&certs, &DNS_NAMES).to_str().unwrap()])
        .args(["-out", tls_key_file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(std::fs::read_to_string(&tls_key_file)
        .unwrap()
        .starts_with("-----BEGIN EC PRIVATE KEY-----"));

    let pg = Pg::start_tls(&tls_crt_file, &tls_key_file);
    let (user, password) = ("app", "app-password-for-this-test");
    pg.admin_sql(
        "postgres",
        &format!("CREATE ROLE {user} LOGIN PASSWORD '{password}'"),
    );
    let connect =
        |params: &str| pg.login_with(params, user, password, "postgres", SSL_OF_THIS_SESSION);

    // (a) by each of the Certificate's names (first the one the clients use), verify-full with
    // the internal root logs in, and the session is TLS
    for host in std::iter::once(HOST).chain(DNS_NAMES) {
        let o = connect(&verify_full(host, &root));
        assert!(o.status.success(), "{host}: {}", text(&o.stderr));
        assert_eq!(text(&o.stdout), "t", "{host}: the session is not TLS");
    }

    // (b) the short Service name (and the namespace-qualified one) are not in the certificate:
    // verify-full refuses on the name, which is why the clients must use the `.svc` name
    for host in ["waltid-pg-rw", "waltid-pg-rw.waltid"] {
        let o = connect(&verify_full(host, &root));
        assert!(!o.status.success(), "{host} was accepted");
        let err = text(&o.stderr);
        assert!(
            err.contains(&format!("does not match host name \"{host}\"")),
            "{host}: {err}"
        );
    }

    // (c) a root that is not the internal CA's: the chain does not verify
    let stranger = self_signed_ca(dir, "not-the-internal-ca");
    let o = connect(&verify_full(HOST, &stranger));
    assert!(!o.status.success(), "a stranger's root was accepted");
    let err = text(&o.stderr);
    assert!(err.contains("certificate verify failed"), "{err}");

    // (d) the role does not sign the short name: not alone, and not along with the six (one
    // short name in the Certificate's dnsNames fails the whole issuance)
    let refused_dir = dir.join("refused");
    std::fs::create_dir(&refused_dir).unwrap();
    let (code, body) = sign(&bao.addr, &cm, SIGN, &refused_dir, &["waltid-pg-rw"]);
    assert_eq!(code, 400, "the short name was signed: {body}");
    let refused = "subject alternate name waltid-pg-rw not allowed by this role";
    assert!(body.to_string().contains(refused), "{body}");
    let mut seven = DNS_NAMES.to_vec();
    seven.push("waltid-pg-rw");
    let (code, body) = sign(&bao.addr, &cm, SIGN, &refused_dir, &seven);
    assert_eq!(code, 400, "the short name was signed among others: {body}");
    assert!(body.to_string().contains(refused), "{body}");

    // (e) tls.crt without the intermediate (a leaf alone) does not verify against the root:
    // the server must send the chain cert-manager stores
    let leaf_only = dir.join("leaf-only.crt");
    std::fs::write(&leaf_only, signed["data"]["certificate"].as_str().unwrap()).unwrap();
    let pg_leaf = Pg::start_tls(&leaf_only, &tls_key_file);
    pg_leaf.admin_sql(
        "postgres",
        &format!("CREATE ROLE {user} LOGIN PASSWORD '{password}'"),
    );
    let o = pg_leaf.login_with(
        &verify_full(HOST, &root),
        user,
        password,
        "postgres",
        SSL_OF_THIS_SESSION,
    );
    assert!(
        !o.status.success(),
        "a leaf without its intermediate verified"
    );
    let err = text(&o.stderr);
    assert!(err.contains("certificate verify failed"), "{err}");

    assert!(
        t0.elapsed() < Duration::from_secs(60),
        "took {:?}",
        t0.elapsed()
    );
}
