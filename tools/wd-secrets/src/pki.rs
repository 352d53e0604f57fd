//! The internal CA (issue 16 option 1; docs/runbooks/internal-ca.md): Vault's PKI engine behind
//! cert-manager's `vault-internal` ClusterIssuer (terraform/platform/pki.tf). `policies --apply
//! --pki --pki-domain <domain>` mounts a root (`pki-root/`, 10 years, key generated inside Vault,
//! used only to sign the intermediate) and an issuing intermediate (`pki/`, 5 years), creates the
//! role cert-manager signs with — subdomains of the deployment's domains and of the in-cluster
//! service domains only, no bare domain, no IP, no localhost, no wildcard glob — a sign-only
//! policy, and binds cert-manager's service account to it through Kubernetes auth with the
//! audience cert-manager puts in its tokens. Re-running changes the role and the policy, never
//! the CAs. `--pki-ca-out` writes the root (public) that the pods trust.
//!
//! Why sign and not issue: cert-manager sends a CSR, the private keys of the cluster's
//! certificates never leave the cluster and Vault stores none of them.

use serde_json::{json, Value};
use std::path::PathBuf;
use wd_core::docs::vault::{K8sRole, PolicyDoc};
use wd_core::{WdError, WdResult};
use wd_vault::Vault;

#[derive(Debug, Clone, clap::Args)]
pub struct PkiArgs {
    /// Set up the internal CA for cert-manager (PKI mounts, role, policy, Kubernetes auth role).
    #[arg(long)]
    pub pki: bool,
    /// A domain whose subdomains the CA may certify: the deployment's domain (terraform/platform
    /// `domain`); repeat for several. Required with --pki.
    #[arg(long = "pki-domain", value_name = "DOMAIN")]
    pub pki_domains: Vec<String>,
    /// The cluster's DNS domain: certificates for <svc>.<ns>.svc and <svc>.<ns>.svc.<this>.
    #[arg(long, default_value = "cluster.local")]
    pub pki_cluster_domain: String,
    /// Mount of the root CA (signs only the intermediate).
    #[arg(long, default_value = "pki-root")]
    pub pki_root_mount: String,
    /// Mount of the issuing intermediate CA (cert-manager signs at <mount>/sign/<role>).
    #[arg(long, default_value = "pki")]
    pub pki_mount: String,
    #[arg(long, default_value = "wd-internal")]
    pub pki_role: String,
    /// Longest life of a certificate (cert-manager renews at 2/3 of it by default).
    #[arg(long, default_value = "2160h")]
    pub pki_max_ttl: String,
    /// cert-manager's ClusterIssuer (its tokens carry audience vault://<name>, cert-manager
    /// v1.16 internal/vault) and the service account it requests them for (terraform/platform pki.tf).
    #[arg(long, default_value = "vault-internal")]
    pub pki_cluster_issuer: String,
    #[arg(long, default_value = "wd-vault-issuer")]
    pub pki_service_account: String,
    #[arg(long, default_value = "cert-manager")]
    pub pki_namespace: String,
    /// Write the root CA certificate (PEM, public) here: terraform/workloads `internal_ca_pem_path`
    /// turns it into the ConfigMap the charts mount.
    #[arg(long, value_name = "FILE")]
    pub pki_ca_out: Option<PathBuf>,
}

/// Root 10 y, intermediate 5 y: both outlive every leaf by far; rotation in the runbook.
const ROOT_TTL: &str = "87600h";
const INTERMEDIATE_TTL: &str = "43800h";

/// The names the role allows (subdomains of each): the deployment's domains, then the
/// in-cluster service names in their short (`.svc`) and full forms.
pub fn allowed_domains(a: &PkiArgs) -> Vec<String> {
    let mut out: Vec<String> = a
        .pki_domains
        .iter()
        .map(|d| d.to_ascii_lowercase())
        .collect();
    out.push("svc".into());
    out.push(format!("svc.{}", a.pki_cluster_domain));
    out.dedup();
    out
}

fn valid_domain(d: &str) -> bool {
    let labels: Vec<&str> = d.split('.').collect();
    !d.is_empty()
        && d.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Bad input before Vault is asked (exit 2).
pub fn check(a: &PkiArgs) -> WdResult<()> {
    if !a.pki {
        return Ok(());
    }
    if a.pki_domains.is_empty() {
        return Err(WdError::input(
            "--pki needs --pki-domain: the deployment's domain (terraform/platform `domain`, e.g. localtest.me)",
        ));
    }
    for d in a.pki_domains.iter().chain([&a.pki_cluster_domain]) {
        if !valid_domain(d) {
            return Err(WdError::input(format!(
                "--pki-domain/--pki-cluster-domain {d:?}: not a DNS domain (labels of letters, digits and '-', no '*'); pass e.g. localtest.me"
            )));
        }
    }
    if a.pki_root_mount == a.pki_mount {
        return Err(WdError::input(
            "--pki-root-mount and --pki-mount are the same: the root and the intermediate need their own mounts",
        ));
    }
    Ok(())
}

/// The sign-only policy and the Kubernetes auth role of cert-manager's issuer.
pub fn documents(a: &PkiArgs, prefix: &str, k8s_mount: &str) -> (PolicyDoc, K8sRole) {
    let (m, r) = (&a.pki_mount, &a.pki_role);
    let name = format!("{prefix}-pki-issuer");
    let hcl = format!(
        "# Generated by wd-secrets: cert-manager's ClusterIssuer {} signs CSRs with role {r}; it cannot issue keys, change the role or touch the CAs.\npath \"{m}/sign/{r}\" {{\n  capabilities = [\"update\"]\n}}\n",
        a.pki_cluster_issuer
    );
    let role = K8sRole {
        name: format!("{prefix}-cert-manager"),
        mount: k8s_mount.to_string(),
        service_accounts: vec![a.pki_service_account.clone()],
        namespaces: vec![a.pki_namespace.clone()],
        policies: vec![name.clone()],
        status: "not applied".into(),
    };
    let policy = PolicyDoc {
        name,
        consumer: format!("cert-manager (ClusterIssuer {})", a.pki_cluster_issuer),
        hcl,
    };
    (policy, role)
}

/// What `apply` did.
#[derive(Debug, Default)]
pub struct Applied {
    pub mounts_enabled: Vec<String>,
    pub root_generated: bool,
    pub intermediate_generated: bool,
    pub root_pem: String,
}

/// wd-vault's raw calls take reqwest's Method (not a dependency of this crate).
fn http<M: std::str::FromStr>(m: &str) -> M
where
    M::Err: std::fmt::Debug,
{
    m.parse().expect("an HTTP method")
}

fn mounted(v: &Vault, mount: &str) -> WdResult<Option<String>> {
    let (status, body) = v.raw(http("GET"), &format!("sys/mounts/{mount}"), None)?;
    match status {
        200 => Ok(Some(
            body.pointer("/data/type")
                .or_else(|| body.get("type"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        )),
        400 | 404 => Ok(None),
        _ => Err(WdError::unreachable(format!(
            "{}: read mount {mount}/: HTTP {status} {}",
            v.addr,
            wd_vault::errors_of(&body).join("; ")
        ))),
    }
}

fn ensure_pki(v: &Vault, mount: &str, max_ttl: &str, done: &mut Applied) -> WdResult<()> {
    match mounted(v, mount)? {
        Some(t) if t == "pki" => Ok(()),
        Some(t) => Err(WdError::input(format!(
            "{mount}/ is a {t} engine, not pki: pass another --pki-mount/--pki-root-mount"
        ))),
        None => {
            v.raw_ok(
                http("POST"),
                &format!("sys/mounts/{mount}"),
                Some(&json!({"type": "pki", "config": {"max_lease_ttl": max_ttl}})),
                &format!("enable the PKI engine at {mount}/"),
            )?;
            done.mounts_enabled.push(mount.to_string());
            Ok(())
        }
    }
}

/// Whether the mount already holds a CA (an issuer).
fn has_issuer(v: &Vault, mount: &str) -> WdResult<bool> {
    let (status, body) = v.raw(http("GET"), &format!("{mount}/issuers?list=true"), None)?;
    Ok(status == 200
        && body
            .pointer("/data/keys")
            .and_then(Value::as_array)
            .is_some_and(|k| !k.is_empty()))
}

fn data_str(body: &Value, key: &str, what: &str) -> WdResult<String> {
    body.pointer(&format!("/data/{key}"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| WdError::unreachable(format!("{what}: the answer has no data.{key}")))
}

/// Mounts, CAs (only if absent), the role, the audience of cert-manager's auth role.
pub fn apply(v: &Vault, a: &PkiArgs, k8s_role: Option<&K8sRole>) -> WdResult<Applied> {
    let mut done = Applied::default();
    let domain = &a.pki_domains[0];
    ensure_pki(v, &a.pki_root_mount, ROOT_TTL, &mut done)?;
    ensure_pki(v, &a.pki_mount, INTERMEDIATE_TTL, &mut done)?;
    let root = &a.pki_root_mount;
    if !has_issuer(v, root)? {
        v.raw_ok(
            http("POST"),
            &format!("{root}/root/generate/internal"),
            Some(&json!({
                "common_name": format!("wd internal root CA ({domain})"),
                "issuer_name": "wd-root",
                "ttl": ROOT_TTL,
                "key_type": "ec",
                "key_bits": 256,
            })),
            &format!("generate the root CA in {root}/"),
        )?;
        done.root_generated = true;
    }
    let m = &a.pki_mount;
    if !has_issuer(v, m)? {
        let what = format!("generate the intermediate CA in {m}/");
        let csr = v.raw_ok(
            http("POST"),
            &format!("{m}/intermediate/generate/internal"),
            Some(&json!({
                "common_name": format!("wd internal issuing CA ({domain})"),
                "key_type": "ec",
                "key_bits": 256,
            })),
            &what,
        )?;
        let csr = data_str(&csr, "csr", &what)?;
        let signed = v.raw_ok(
            http("POST"),
            &format!("{root}/root/sign-intermediate"),
            Some(&json!({
                "csr": csr,
                "common_name": format!("wd internal issuing CA ({domain})"),
                "ttl": INTERMEDIATE_TTL,
                "format": "pem_bundle",
            })),
            &format!("sign the intermediate with {root}/"),
        )?;
        let cert = data_str(&signed, "certificate", "sign the intermediate")?;
        let issuing = data_str(&signed, "issuing_ca", "sign the intermediate")?;
        // The chain up to the root, so `ca_chain` of every signed certificate ends at the root.
        v.raw_ok(
            http("POST"),
            &format!("{m}/intermediate/set-signed"),
            Some(&json!({"certificate": format!("{}\n{}", cert.trim(), issuing.trim())})),
            &format!("import the signed intermediate into {m}/"),
        )?;
        done.intermediate_generated = true;
    }
    v.raw_ok(
        http("POST"),
        &format!("{m}/roles/{}", a.pki_role),
        Some(&json!({
            "allowed_domains": allowed_domains(a),
            "allow_subdomains": true,
            "allow_bare_domains": false,
            "allow_glob_domains": false,
            "allow_wildcard_certificates": false,
            "allow_localhost": false,
            "allow_ip_sans": false,
            "allow_any_name": false,
            "enforce_hostnames": true,
            "server_flag": true,
            "client_flag": true,
            "key_type": "any",
            "require_cn": false,
            "max_ttl": a.pki_max_ttl,
        })),
        &format!("write PKI role {}", a.pki_role),
    )?;
    if let Some(r) = k8s_role {
        // cert-manager v1.16 requests the token with audience vault://<ClusterIssuer name>; the
        // role must name it or the API server's TokenReview rejects the token.
        v.raw_ok(
            http("POST"),
            &format!("auth/{}/role/{}", r.mount, r.name),
            Some(&json!({"audience": format!("vault://{}", a.pki_cluster_issuer)})),
            &format!("set the audience of Kubernetes auth role {}", r.name),
        )?;
    }
    let ca = v.raw_ok(
        http("GET"),
        &format!("{root}/cert/ca"),
        None,
        &format!("read the root CA of {root}/"),
    )?;
    done.root_pem = data_str(&ca, "certificate", "read the root CA")?;
    if let Some(p) = &a.pki_ca_out {
        let pem = format!("{}\n", done.root_pem.trim());
        wd_core::fsio::write_atomic(p, pem.as_bytes(), 0o644)?;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: PkiArgs,
    }

    fn args(v: &[&str]) -> PkiArgs {
        T::try_parse_from(std::iter::once("t").chain(v.iter().copied()))
            .unwrap()
            .a
    }

    #[test]
    fn the_role_allows_the_domain_and_the_service_names_only() {
        let a = args(&["--pki", "--pki-domain", "LocalTest.me"]);
        assert_eq!(
            allowed_domains(&a),
            ["localtest.me", "svc", "svc.cluster.local"]
        );
        let (p, r) = documents(&a, "waltid", "kubernetes");
        assert!(p.hcl.contains("path \"pki/sign/wd-internal\""));
        assert!(!p.hcl.contains("/issue/"));
        assert_eq!(r.service_accounts, ["wd-vault-issuer"]);
        assert_eq!(r.namespaces, ["cert-manager"]);
    }

    #[test]
    fn bad_domains_are_refused_before_vault() {
        assert!(check(&args(&["--pki"])).is_err());
        assert!(check(&args(&["--pki", "--pki-domain", "*.example.org"])).is_err());
        let same = args(&["--pki", "--pki-domain", "a.b", "--pki-root-mount", "pki"]);
        assert!(check(&same).is_err());
        assert!(check(&args(&[])).is_ok());
    }
}
