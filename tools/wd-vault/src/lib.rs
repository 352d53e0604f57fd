//! wd-vault: the Vault / OpenBao client that wd-secrets and wd-transit share.
//!
//! Connection settings come the way the `vault`/`bao` CLIs take them (`VAULT_ADDR`,
//! `VAULT_TOKEN` or `~/.vault-token`, `VAULT_CACERT`, `VAULT_NAMESPACE`, `VAULT_SKIP_VERIFY`)
//! or from flags, plus Kubernetes auth from inside a pod (`--k8s-role`). Every failure is a
//! [`WdError`]: unreachable, sealed or refused → exit 3, with a message that never contains a
//! token or secret value.
//!
//! Most calls go through vaultrs. Direct HTTP calls (see [`Vault::raw`]) are used where vaultrs
//! cannot serve: `sys/seal-status`, `sys/health` and `sys/unseal` (their responses from OpenBao
//! omit fields vaultrs requires), `sys/storage/raft/join` and `sys/init` status (not in vaultrs),
//! and the transit key read (to get `latest_version`, which vaultrs' response type drops).

pub mod kv;
pub mod sys;
pub mod token;
pub mod transit;

use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};
use vaultrs::error::ClientError;
use wd_core::{WdError, WdResult};

/// Connection flags, the same in every tool that talks to Vault.
#[derive(Debug, Clone, clap::Args)]
pub struct VaultArgs {
    /// Vault/OpenBao address.
    #[arg(
        id = "vault_addr",
        long = "vault-addr",
        env = "VAULT_ADDR",
        default_value = "http://127.0.0.1:8200",
        hide_env_values = true
    )]
    pub addr: String,
    /// Token (default: $VAULT_TOKEN, else ~/.vault-token). Never printed.
    #[arg(
        id = "vault_token",
        long = "vault-token",
        env = "VAULT_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// PEM file of the CA that signed Vault's certificate.
    #[arg(
        id = "vault_cacert",
        long = "vault-cacert",
        env = "VAULT_CACERT",
        hide_env_values = true
    )]
    pub cacert: Option<PathBuf>,
    /// Vault Enterprise / OpenBao namespace.
    #[arg(
        id = "vault_namespace",
        long = "vault-namespace",
        env = "VAULT_NAMESPACE",
        hide_env_values = true
    )]
    pub namespace: Option<String>,
    /// Skip TLS verification (tests only).
    #[arg(id = "vault_skip_verify", long = "vault-skip-verify", env = "VAULT_SKIP_VERIFY", hide_env_values = true, value_parser = clap::builder::BoolishValueParser::new(), default_value = "false")]
    pub skip_verify: bool,
    /// Log in with Kubernetes auth as this role (inside a pod), instead of a token.
    #[arg(
        id = "k8s_role",
        long = "k8s-role",
        env = "VAULT_K8S_ROLE",
        hide_env_values = true
    )]
    pub k8s_role: Option<String>,
    /// Mount of the Kubernetes auth method.
    #[arg(id = "k8s_mount", long = "k8s-mount", default_value = "kubernetes")]
    pub k8s_mount: String,
    /// Service account token used for Kubernetes auth.
    #[arg(
        id = "k8s_jwt",
        long = "k8s-jwt",
        default_value = "/var/run/secrets/kubernetes.io/serviceaccount/token"
    )]
    pub k8s_jwt: PathBuf,
}

/// A connected client.
pub struct Vault {
    rt: tokio::runtime::Runtime,
    pub client: VaultClient,
    http: reqwest::Client,
    pub addr: String,
    token: String,
    namespace: Option<String>,
}

const TIMEOUT: Duration = Duration::from_secs(10);

fn token_file() -> Option<String> {
    let home = std::env::var_os("HOME")?;
    std::fs::read_to_string(PathBuf::from(home).join(".vault-token"))
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

impl Vault {
    /// Connects (no request is made unless Kubernetes auth is used).
    pub fn connect(args: &VaultArgs) -> WdResult<Vault> {
        Self::connect_with(args, true)
    }

    /// `need_token = false` for the unauthenticated calls of `init` (sys/init, unseal, join).
    pub fn connect_with(args: &VaultArgs, need_token: bool) -> WdResult<Vault> {
        let addr = args.addr.trim_end_matches('/').to_string();
        if !(addr.starts_with("http://") || addr.starts_with("https://")) {
            return Err(WdError::input(format!("--vault-addr/VAULT_ADDR: {addr:?} is not an http(s) URL; e.g. https://vault.example.org:8200")));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| WdError::unreachable(format!("cannot start the I/O runtime ({e})")))?;
        let mut token = args
            .token
            .clone()
            .filter(|t| !t.is_empty())
            .or_else(token_file)
            .unwrap_or_default();
        let make = |token: &str| -> WdResult<(VaultClient, reqwest::Client)> {
            let mut b = VaultClientSettingsBuilder::default();
            b.address(&addr)
                .token(token)
                .timeout(Some(TIMEOUT))
                .verify(!args.skip_verify);
            if let Some(ns) = &args.namespace {
                b.namespace(Some(ns.clone()));
            }
            let mut http = reqwest::Client::builder()
                .timeout(TIMEOUT)
                .danger_accept_invalid_certs(args.skip_verify);
            if let Some(ca) = &args.cacert {
                let cert = read_ca(ca)?;
                b.ca_certs(vec![ca.display().to_string()]);
                http = http.add_root_certificate(cert);
            }
            let settings = b
                .build()
                .map_err(|e| WdError::input(format!("Vault settings: {e}")))?;
            // With a CA given, a client that cannot be built is the CA's fault (bad input).
            let setup = |what: &str, e: &dyn std::fmt::Display| {
                match &args.cacert {
                Some(ca) => WdError::input(format!(
                    "--vault-cacert/VAULT_CACERT {}: cannot be used ({e}); pass the PEM CA of Vault's certificate",
                    ca.display()
                )),
                None => WdError::unreachable(format!("cannot set up the {what} ({e})")),
            }
            };
            let client = VaultClient::new(settings).map_err(|e| setup("Vault client", &e))?;
            let http = http.build().map_err(|e| setup("HTTP client", &e))?;
            Ok((client, http))
        };
        let (mut client, mut http) = make(&token)?;
        if let Some(role) = &args.k8s_role {
            let jwt = std::fs::read_to_string(&args.k8s_jwt)
                .map_err(|e| wd_core::fsio::io_input_error(&args.k8s_jwt, &e))?;
            let auth = rt
                .block_on(vaultrs::auth::kubernetes::login(
                    &client,
                    &args.k8s_mount,
                    role,
                    jwt.trim(),
                ))
                .map_err(|e| map_err(&addr, &format!("Kubernetes login as role {role}"), e))?;
            token = auth.client_token;
            (client, http) = make(&token)?;
        }
        if need_token && token.is_empty() {
            return Err(WdError::input("no Vault token: set VAULT_TOKEN, pass --vault-token, write ~/.vault-token, or use --k8s-role"));
        }
        Ok(Vault {
            rt,
            client,
            http,
            addr,
            token,
            namespace: args.namespace.clone(),
        })
    }

    pub fn block<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The token in use (for `wd-transit ref --show-secrets` only).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A direct HTTP call: `(status, JSON body or Null)`. Connection failures are exit 3.
    pub fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> WdResult<(u16, Value)> {
        let url = format!("{}/v1/{}", self.addr, path.trim_start_matches('/'));
        let mut req = self.http.request(method, &url);
        if !self.token.is_empty() {
            req = req.header("X-Vault-Token", &self.token);
        }
        if let Some(ns) = &self.namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        self.block(async {
            let resp = req
                .send()
                .await
                .map_err(|e| unreachable(&self.addr, &e.to_string()))?;
            let status = resp.status().as_u16();
            let text = resp
                .text()
                .await
                .map_err(|e| unreachable(&self.addr, &e.to_string()))?;
            let v = if text.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::Null)
            };
            Ok((status, v))
        })
    }

    /// The error of a non-2xx answer to a direct call, mapped like vaultrs' errors.
    pub(crate) fn status_error(&self, what: &str, status: u16, body: &Value) -> WdError {
        let errors = errors_of(body);
        map_err(
            &self.addr,
            what,
            ClientError::APIError {
                code: status,
                errors,
            },
        )
    }

    /// The secrets engine mounted at `mount/`, if any.
    pub(crate) fn mount(
        &self,
        mount: &str,
    ) -> WdResult<Option<vaultrs::api::sys::responses::MountResponse>> {
        let mut mounts = self
            .block(vaultrs::sys::mount::list(&self.client))
            .map_err(|e| map_err(&self.addr, "list secret engines", e))?;
        Ok(mounts.remove(&format!("{mount}/")))
    }

    /// A direct call that must succeed (2xx); other statuses are mapped like vaultrs errors.
    pub fn raw_ok(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> WdResult<Value> {
        let (status, v) = self.raw(method, path, body)?;
        if (200..300).contains(&status) {
            return Ok(v);
        }
        Err(self.status_error(what, status, &v))
    }
}

/// The CA file of `--vault-cacert`: readable, and PEM with at least one certificate; anything
/// else is bad input (exit 2) naming the file, before any connection is tried.
fn read_ca(ca: &std::path::Path) -> WdResult<reqwest::Certificate> {
    let pem = std::fs::read(ca).map_err(|e| {
        WdError::input(format!(
            "--vault-cacert/VAULT_CACERT {}: cannot read it ({e}); pass the PEM CA of Vault's certificate",
            ca.display()
        ))
    })?;
    let not_pem = || {
        WdError::input(format!(
            "--vault-cacert/VAULT_CACERT {}: not a PEM certificate (no -----BEGIN CERTIFICATE----- block); pass the PEM CA of Vault's certificate",
            ca.display()
        ))
    };
    if !pem
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(not_pem());
    }
    let mut certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| not_pem())?;
    if certs.is_empty() {
        return Err(not_pem());
    }
    Ok(certs.remove(0))
}

/// Whether an answer is a KV v2 mount still upgrading its storage right after it was enabled.
/// Vault/OpenBao answer 400 (`logical.ErrInvalidRequest`) with "Upgrading from non-versioned to
/// versioned data…" (older releases spell it "Uprading"): the status alone does not tell it from
/// a bad request, so the status AND the text decide. It passes within moments: callers retry
/// with [`backoff`].
pub fn is_kv_upgrading(code: u16, errors: &[String]) -> bool {
    code == 400
        && errors
            .iter()
            .any(|e| e.contains("non-versioned to versioned data"))
}

/// Bounded backoff for transient answers: 25 ms doubling to 800 ms, about 10 s in all.
pub fn backoff() -> impl Iterator<Item = Duration> {
    (0..16u32).map(|i| Duration::from_millis(25u64 << i.min(5)))
}

/// The `errors` strings of a Vault JSON error body.
pub fn errors_of(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn unreachable(addr: &str, detail: &str) -> WdError {
    // reqwest's message may carry the URL, never a header value.
    let detail = detail.split(" for url").next().unwrap_or(detail);
    WdError::unreachable(format!(
        "cannot reach Vault at {addr} ({detail}); check VAULT_ADDR and that the server runs"
    ))
}

/// Maps a vaultrs error to a one-line WdError naming what was attempted and the fix.
pub fn map_err(addr: &str, what: &str, e: ClientError) -> WdError {
    match e {
        ClientError::APIError { code, errors } => {
            let detail = errors.join("; ");
            let lower = detail.to_lowercase();
            if code == 503 || lower.contains("sealed") {
                WdError::unreachable(format!(
                    "{what}: Vault at {addr} is sealed; unseal it with `wd-secrets init`"
                ))
            } else if code == 403 || lower.contains("permission denied") {
                WdError::unreachable(format!("{what}: Vault at {addr} refused the token (permission denied); check VAULT_TOKEN and its policies"))
            } else if code == 404 {
                WdError::unreachable(format!(
                    "{what}: not found at {addr} (404){}",
                    if detail.is_empty() {
                        String::new()
                    } else {
                        format!(": {detail}")
                    }
                ))
            } else {
                WdError::unreachable(format!(
                    "{what}: Vault at {addr} answered {code}{}",
                    if detail.is_empty() {
                        String::new()
                    } else {
                        format!(": {detail}")
                    }
                ))
            }
        }
        ClientError::RestClientError { source } => unreachable(addr, &source.to_string()),
        other => WdError::unreachable(format!("{what}: {other}")),
    }
}

/// Whether a vaultrs error is a 404.
pub fn is_not_found(e: &ClientError) -> bool {
    matches!(e, ClientError::APIError { code: 404, .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_kv_upgrade_answer_is_waited_out_and_not_for_ever() {
        let up = vec!["Upgrading from non-versioned to versioned data. This backend will be unavailable for a brief period and will resume service shortly.".to_string()];
        let old_spelling = vec![up[0].replace("Upgrading", "Uprading")];
        assert!(is_kv_upgrading(400, &up) && is_kv_upgrading(400, &old_spelling));
        assert!(!is_kv_upgrading(500, &up), "the status decides too");
        assert!(!is_kv_upgrading(
            400,
            &["check-and-set parameter did not match".into()]
        ));
        let total: Duration = backoff().sum();
        assert!(
            total >= Duration::from_secs(5) && total <= Duration::from_secs(12),
            "{total:?}"
        );
    }

    #[test]
    fn a_ca_that_is_not_pem_is_bad_input() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("ca.pem");
        std::fs::write(&f, "garbage").unwrap();
        let e = read_ca(&f).unwrap_err();
        assert_eq!(e.exit, wd_core::Exit::Usage);
        assert!(e.message.contains("ca.pem: not a PEM certificate"), "{e}");
        let e = read_ca(&d.path().join("missing.pem")).unwrap_err();
        assert_eq!(e.exit, wd_core::Exit::Usage);
    }
}
