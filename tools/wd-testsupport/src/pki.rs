//! cert-manager's side of a Vault PKI issuer, done with openssl and curl for the tests of the
//! internal CA: the key and CSR a Certificate makes, the sign request cert-manager's Vault issuer
//! sends, the tls.crt/ca.crt it stores from the answer; and a stranger's self-signed CA.

use crate::openbao::http;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn openssl(args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl (.ci/run installs it)");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Where cert-manager's ClusterIssuer signs: wd-secrets' default PKI mount and role
/// (tools/wd-secrets/src/pki.rs `--pki-mount`/`--pki-role`), `<mount>/sign/<role>`.
pub const SIGN: &str = "pki/sign/wd-internal";

/// A new ECDSA P-256 key written to `key` and a CSR (PEM) for the DNS names `names`, as
/// cert-manager makes them for a Certificate with `privateKey: {algorithm: ECDSA, size: 256}`,
/// those `dnsNames` and no `commonName`.
pub fn csr(key: &Path, names: &[&str]) -> String {
    let sans: Vec<String> = names.iter().map(|n| format!("DNS:{n}")).collect();
    let san = format!("subjectAltName={}", sans.join(","));
    let mut args = vec!["req", "-new"];
    args.extend(NEW_P256_KEY);
    args.extend([
        "-keyout",
        key.to_str().unwrap(),
        "-subj",
        "/O=wd",
        "-addext",
        &san,
    ]);
    openssl(&args, None)
}

/// `openssl req` arguments for a new unencrypted ECDSA P-256 key (cert-manager's
/// `privateKey: {algorithm: ECDSA, size: 256}`).
const NEW_P256_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
];

/// A key (kept in `dir`, named after the first name) and a CSR for `names`, signed at
/// `sign_path` (`<mount>/sign/<role>`) with `token`, as cert-manager v1.16.1 asks
/// (internal/vault/vault.go `Sign`): every value a string, the CSR's SANs comma-joined, no common
/// name in our CSRs, `exclude_cn_from_sans`. Returns the HTTP status and Vault's answer.
pub fn sign(addr: &str, token: &str, sign_path: &str, dir: &Path, names: &[&str]) -> (u16, Value) {
    let key = key_path(dir, names);
    let body = serde_json::json!({
        "common_name": "",
        "alt_names": names.join(","),
        "ip_sans": "",
        "uri_sans": "",
        "ttl": "1h0m0s",
        "csr": csr(&key, names),
        "exclude_cn_from_sans": "true",
    })
    .to_string();
    http("POST", addr, sign_path, token, Some(&body))
}

/// Where [`sign`] keeps the private key of a request for `names`.
pub fn key_path(dir: &Path, names: &[&str]) -> PathBuf {
    dir.join(format!("{}.key", names.first().expect("at least one name")))
}

/// Whether a PEM certificate is self-signed (issuer = subject, and its signature verifies with its
/// own key).
pub fn is_self_signed(pem: &str) -> bool {
    let names = openssl(
        &[
            "x509", "-noout", "-subject", "-issuer", "-nameopt", "RFC2253",
        ],
        Some(pem),
    );
    let mut lines = names.lines();
    let subject = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches("subject=");
    let issuer = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches("issuer=");
    if subject != issuer {
        return false;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.pem");
    std::fs::write(&f, pem).unwrap();
    let f = f.to_str().unwrap();
    Command::new("openssl")
        .args(["verify", "-check_ss_sig", "-CAfile", f, f])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The Secret's `tls.crt` and `ca.crt` cert-manager's Vault issuer stores from a sign answer
/// (v1.16.1 `extractCertificatesFromVaultCertificateSecret` → pki.ParseSingleCertificateChainPEM):
/// tls.crt is the leaf followed by its issuers up the chain without the self-signed root (RFC 5246
/// §7.4.2 lets a server omit it); ca.crt is that root. Panics unless `ca_chain` ends in a root.
pub fn cert_manager_secret(signed: &Value) -> (String, String) {
    let leaf = signed["data"]["certificate"]
        .as_str()
        .expect("data.certificate");
    let chain: Vec<&str> = signed["data"]["ca_chain"]
        .as_array()
        .expect("data.ca_chain")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let (root, issuers) = chain.split_last().expect("a non-empty ca_chain");
    assert!(is_self_signed(root), "ca_chain does not end in a root");
    let mut tls = format!("{}\n", leaf.trim());
    for c in issuers {
        tls.push_str(&format!("{}\n", c.trim()));
    }
    (tls, format!("{}\n", root.trim()))
}

/// A fresh self-signed CA certificate (P-256, one day, CN `cn`) written to `dir/<cn>.pem`; its
/// key stays beside it. A root no wd component trusts.
pub fn self_signed_ca(dir: &Path, cn: &str) -> PathBuf {
    let pem = dir.join(format!("{cn}.pem"));
    let (key, subj) = (dir.join(format!("{cn}.key")), format!("/CN={cn}"));
    let mut args = vec!["req", "-x509"];
    args.extend(NEW_P256_KEY);
    args.extend([
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        pem.to_str().unwrap(),
    ]);
    args.extend(["-subj", &subj, "-days", "1"]);
    openssl(&args, None);
    pem
}

/// A server key (P-256) and certificate signed by the CA `ca` (made by [`self_signed_ca`], its
/// key beside it) for `sans` (openssl subjectAltName syntax, e.g. `IP:127.0.0.1,DNS:localhost`),
/// usable for server and client auth, one day; written to `dir/<name>.crt|.key`, returned as
/// (certificate, key).
pub fn leaf(dir: &Path, ca: &Path, name: &str, sans: &str) -> (PathBuf, PathBuf) {
    let (crt, key, csr, ext) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.csr")),
        dir.join(format!("{name}.ext")),
    );
    let subj = format!("/CN={name}");
    let mut args = vec!["req", "-new"];
    args.extend(NEW_P256_KEY);
    args.extend([
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        csr.to_str().unwrap(),
        "-subj",
        &subj,
    ]);
    openssl(&args, None);
    std::fs::write(
        &ext,
        format!("subjectAltName={sans}\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n"),
    )
    .unwrap();
    let ca_key = ca.with_extension("key");
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            csr.to_str().unwrap(),
            "-CA",
            ca.to_str().unwrap(),
            "-CAkey",
            ca_key.to_str().unwrap(),
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            ext.to_str().unwrap(),
            "-out",
            crt.to_str().unwrap(),
        ],
        None,
    );
    (crt, key)
}

/// The names of Vault's listener certificate with `pods` server pods, in the order of
/// terraform/platform/pki.tf `vault_dns_names` (tests/terraform/test_vault_tls.py holds that list
/// to what the clients dial): the Services `vault`, `vault-active`, `vault-internal` and each
/// pod `vault-<i>.vault-internal`, each as `.vault.svc` and `.vault.svc.cluster.local`.
pub fn vault_dns_names(pods: usize) -> Vec<String> {
    let mut bases: Vec<String> = ["vault", "vault-active", "vault-internal"]
        .map(String::from)
        .to_vec();
    bases.extend((0..pods).map(|i| format!("vault-{i}.vault-internal")));
    bases
        .iter()
        .flat_map(|n| {
            [
                format!("{n}.vault.svc"),
                format!("{n}.vault.svc.cluster.local"),
            ]
        })
        .collect()
}
