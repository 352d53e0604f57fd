//! wd-vault: the Vault / OpenBao client that wd-secrets and wd-transit share.
//!
//! Connection settings come the way the `vault`/`bao` CLIs take them (`VAULT_ADDR`,
//! `VAULT_TOKEN` or `~/.vault-token`, `VAULT_CACERT`, `VAULT_TLS_SERVER_NAME`,
//! `VAULT_NAMESPACE`, `VAULT_SKIP_VERIFY`) or from flags, plus Kubernetes auth from inside a pod
//! (`--k8s-role`). `VAULT_CACERT` is the only trust (as for the CLI); `VAULT_TLS_SERVER_NAME`
//! verifies the certificate against a name other than the address's host, e.g. a pod's DNS name
//! reached through `kubectl port-forward` on 127.0.0.1: the URL's host becomes the name and the
//! client resolves it to the address's host, so rustls' normal checks apply to the name. Every failure is a
//! [`WdError`]: unreachable, sealed or refused → exit 3, with a message that never contains a
//! token or secret value.
//!
//! Most calls go through vaultrs. Direct HTTP calls (see [`Vault::raw`]) are used where vaultrs
//! cannot serve: `sys/seal-status`, `sys/health` and `sys/unseal` (their responses from OpenBao
//! omit fields vaultrs requires), `sys/storage/raft/join` and `sys/init` status (not in vaultrs),
//! `sys/init` itself (it needs a longer timeout than the client's: [`sys::INIT_TIMEOUT`]),
//! and the transit key read (to get `latest_version`, which vaultrs' response type drops).

pub mod kv;
pub mod sys;
pub mod token;
pub mod transit;

use serde_json::Value;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
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
    /// Verify Vault's certificate against NAME (and send it as SNI) while the TCP connection
    /// goes to the address's host:port, e.g. `https://127.0.0.1:43121` through `kubectl
    /// port-forward` with NAME `vault-0.vault-internal.vault.svc`. A DNS name (not an IP, no
    /// port); used for https addresses only. Verification is never relaxed by it.
    #[arg(
        id = "vault_tls_server_name",
        long = "vault-tls-server-name",
        env = "VAULT_TLS_SERVER_NAME",
        value_name = "NAME",
        hide_env_values = true
    )]
    pub tls_server_name: Option<String>,
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
    /// The address as given (shown in messages).
    pub addr: String,
    /// The URL requests go to: `addr`, or with `--vault-tls-server-name` its host replaced by
    /// that name (which the client resolves to the address's host).
    base: String,
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

/// Where requests go with `--vault-tls-server-name`: the URL with the name as its host (what
/// rustls verifies the certificate against and sends as SNI) and the socket addresses of the
/// address's own host, which the client resolves the name to.
struct Pinned {
    base: String,
    name: String,
    to: Vec<SocketAddr>,
}

/// The server name of `--vault-tls-server-name`: a DNS name (RFC 1123 labels, at most 253
/// characters); anything else is bad input (exit 2) before any connection is tried. An IP is
/// refused: the client connects to an IP directly, so there is nothing to redirect.
pub fn check_server_name(name: &str) -> WdResult<()> {
    let flag = "--vault-tls-server-name/VAULT_TLS_SERVER_NAME";
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Err(WdError::input(format!("{flag} {name:?}: an IP address; put it in the address instead (--vault-addr https://{name}:8200)")));
    }
    let labels_ok = name.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if name.is_empty() || name.len() > 253 || !labels_ok {
        return Err(WdError::input(format!("{flag} {name:?}: not a DNS name (letters, digits, '-' and dots; no scheme, port or '*'); pass one of the names in Vault's certificate, e.g. vault.vault.svc")));
    }
    Ok(())
}

fn pin(addr: &str, name: &str) -> WdResult<Pinned> {
    let url = reqwest::Url::parse(addr).map_err(|e| {
        WdError::input(format!(
            "--vault-addr/VAULT_ADDR: {addr:?} is not a URL ({e})"
        ))
    })?;
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
    let port = url.port_or_known_default().unwrap_or(443);
    // The address's host is looked up here (once), the name never is.
    let to: Vec<SocketAddr> = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => (host, port)
            .to_socket_addrs()
            .map_err(|e| unreachable(addr, &format!("cannot resolve {host}: {e}")))?
            .collect(),
    };
    let mut base = url.clone();
    let bad = |why: &dyn std::fmt::Display| {
        WdError::input(format!(
            "--vault-tls-server-name/VAULT_TLS_SERVER_NAME {name:?}: cannot be the host of {addr} ({why})"
        ))
    };
    base.set_host(Some(name)).map_err(|e| bad(&e))?;
    base.set_port(Some(port)).map_err(|()| bad(&"no port"))?;
    Ok(Pinned {
        base: base.as_str().trim_end_matches('/').to_string(),
        name: name.to_ascii_lowercase(),
        to,
    })
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
        if let Some(name) = &args.tls_server_name {
            check_server_name(name)?;
        }
        let cas = match &args.cacert {
            Some(ca) => Some(read_ca(ca)?),
            None => None,
        };
        // The Vault CLI uses VAULT_TLS_SERVER_NAME for https only; so do we.
        let pinned = match &args.tls_server_name {
            Some(name) if addr.starts_with("https://") => Some(pin(&addr, name)?),
            _ => None,
        };
        let base = pinned
            .as_ref()
            .map_or_else(|| addr.clone(), |p| p.base.clone());
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
        // One reqwest client serves the direct calls and vaultrs (its `http` is swapped in
        // below): vaultrs builds its own from file paths and knows no server name.
        let mut http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .tls_danger_accept_invalid_certs(args.skip_verify);
        if addr.starts_with("http://") {
            // as vaultrs does for http (reqwest#2988): no platform roots needed, none loaded
            http = http.tls_certs_only(Vec::new());
        } else if let Some(cas) = &cas {
            // VAULT_CACERT means "trust these", as for the Vault CLI (Go's RootCAs): only these.
            http = http.tls_certs_only(cas.clone());
        }
        if let Some(p) = &pinned {
            http = http.resolve_to_addrs(&p.name, &p.to);
        }
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
        let http = http.build().map_err(|e| setup("HTTP client", &e))?;
        let make = |token: &str| -> WdResult<VaultClient> {
            let mut b = VaultClientSettingsBuilder::default();
            // no CA paths: vaultrs' own client is replaced by `http`, which has them
            b.address(&base)
                .token(token)
                .timeout(Some(TIMEOUT))
                .ca_certs(Vec::new())
                .verify(!args.skip_verify);
            if let Some(ns) = &args.namespace {
                b.namespace(Some(ns.clone()));
            }
            let settings = b
                .build()
                .map_err(|e| WdError::input(format!("Vault settings: {e}")))?;
            let mut client = VaultClient::new(settings).map_err(|e| setup("Vault client", &e))?;
            client.http.http = http.clone();
            Ok(client)
        };
        let mut client = make(&token)?;
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
            client = make(&token)?;
        }
        if need_token && token.is_empty() {
            return Err(WdError::input("no Vault token: set VAULT_TOKEN, pass --vault-token, write ~/.vault-token, or use --k8s-role"));
        }
        Ok(Vault {
            rt,
            client,
            http,
            addr,
            base,
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
        self.raw_timeout(method, path, body, TIMEOUT)
    }

    /// [`Vault::raw`] with its own timeout (for calls known to take longer, e.g. `sys/init`).
    pub fn raw_timeout(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        timeout: Duration,
    ) -> WdResult<(u16, Value)> {
        let url = format!("{}/v1/{}", self.base, path.trim_start_matches('/'));
        let mut req = self.http.request(method, &url).timeout(timeout);
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
                .map_err(|e| unreachable(&self.addr, &describe(&e)))?;
            let status = resp.status().as_u16();
            let text = resp
                .text()
                .await
                .map_err(|e| unreachable(&self.addr, &describe(&e)))?;
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
fn read_ca(ca: &Path) -> WdResult<Vec<reqwest::Certificate>> {
    let pem = read_pem_certs(
        ca,
        "--vault-cacert/VAULT_CACERT",
        "the PEM CA of Vault's certificate",
    )?;
    reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
        WdError::input(format!(
            "--vault-cacert/VAULT_CACERT {}: not a PEM certificate ({e}); pass the PEM CA of Vault's certificate",
            ca.display()
        ))
    })
}

/// A PEM file of CA certificates given with `flag`: readable, and at least one certificate that
/// parses; its text. Anything else is bad input (exit 2) naming the flag, the file and `want`.
pub fn read_pem_certs(path: &Path, flag: &str, want: &str) -> WdResult<String> {
    let bad = |why: &str| WdError::input(format!("{flag} {}: {why}; pass {want}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| bad(&format!("cannot read it ({e})")))?;
    let text = String::from_utf8(bytes).map_err(|_| bad("not a PEM certificate (not text)"))?;
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(bad(
            "not a PEM certificate (no -----BEGIN CERTIFICATE----- block)",
        ));
    }
    match reqwest::Certificate::from_pem_bundle(text.as_bytes()) {
        Ok(certs) if !certs.is_empty() => Ok(text),
        _ => Err(bad(
            "not a PEM certificate (its certificate block does not parse)",
        )),
    }
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
    let fix = if detail.contains("certificate") {
        "check --vault-cacert/VAULT_CACERT and --vault-tls-server-name/VAULT_TLS_SERVER_NAME"
    } else {
        "check VAULT_ADDR and that the server runs"
    };
    WdError::unreachable(format!("cannot reach Vault at {addr} ({detail}); {fix}"))
}

/// An HTTP client error with its cause: reqwest's and rustify's own messages say only "error
/// sending request"; the innermost error says why (connection refused, reset, …), and a rustls
/// error (found by type, not text) which TLS check failed.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    // reqwest's messages may carry the URL ("… for url (…)"), never a header value
    let text = |err: &dyn std::error::Error| {
        let t = err.to_string();
        t.split(" for url").next().unwrap_or_default().to_string()
    };
    let top = text(e);
    let mut innermost = None;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(tls) = rustls_error(err) {
            return format!("TLS: {}", tls_verdict(tls));
        }
        innermost = Some(err);
        cur = err.source();
    }
    match innermost.map(text) {
        Some(cause) if !cause.is_empty() && !top.contains(&cause) => format!("{top}: {cause}"),
        _ => top,
    }
}

/// The rustls error in `e`: itself, or inside (nested) io::Errors, where hyper and tokio-rustls
/// put it (io::Error::source skips the wrapped error, so the chain alone does not reach it).
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = e.downcast_ref::<std::io::Error>()?.get_ref()?;
    rustls_error(inner)
}

/// rustls' verdict in words; a name mismatch names the expected name and, briefly, the names
/// the certificate has.
fn tls_verdict(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::NotValidForNameContext {
            expected,
            presented,
        }) => {
            // webpki spells them DnsName("…") / IpAddress(…): the names alone
            let names: Vec<&str> = presented
                .iter()
                .take(4)
                .map(|p| {
                    p.strip_prefix("DnsName(\"")
                        .and_then(|n| n.strip_suffix("\")"))
                        .unwrap_or(p)
                })
                .collect();
            let more = presented.len().saturating_sub(names.len());
            format!(
                "certificate name mismatch: it is not for {:?}, it is for {}{}",
                expected.to_str(),
                names.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            )
        }
        rustls::Error::InvalidCertificate(C::NotValidForName) => {
            "certificate name mismatch: it is not for the name connected to".into()
        }
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "the certificate was not issued by a trusted CA (unknown issuer)".into()
        }
        other => other.to_string(),
    }
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
        ClientError::RestClientError { source } => unreachable(addr, &describe(&source)),
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
    fn a_server_name_is_a_dns_name_and_nothing_else() {
        for ok in [
            "vault.vault.svc",
            "vault-0.vault-internal.vault.svc.cluster.local",
            "localhost",
        ] {
            assert!(check_server_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "vault_0",
            "*.vault.svc",
            "https://vault.vault.svc",
            "vault.vault.svc:8200",
            "a..b",
            "-a.b",
            "127.0.0.1",
            "::1",
        ] {
            let e = check_server_name(bad).unwrap_err();
            assert_eq!(e.exit, wd_core::Exit::Usage, "{bad}");
            assert!(
                e.message
                    .starts_with("--vault-tls-server-name/VAULT_TLS_SERVER_NAME"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_pinned_address_keeps_its_port_and_connects_to_its_own_host() {
        let p = pin(
            "https://127.0.0.1:43121",
            "vault-0.vault-internal.vault.svc",
        )
        .unwrap();
        assert_eq!(p.base, "https://vault-0.vault-internal.vault.svc:43121");
        assert_eq!(p.to, ["127.0.0.1:43121".parse::<SocketAddr>().unwrap()]);
        let p = pin("https://[::1]", "Vault.Vault.svc").unwrap();
        assert_eq!(
            p.base, "https://vault.vault.svc",
            "lower-cased; 443 is https' own port"
        );
        assert_eq!(p.name, "vault.vault.svc");
        assert_eq!(p.to, ["[::1]:443".parse::<SocketAddr>().unwrap()]);
        let p = pin("https://localhost:8200", "vault.vault.svc").unwrap();
        assert!(
            !p.to.is_empty()
                && p.to
                    .iter()
                    .all(|a| a.ip().is_loopback() && a.port() == 8200),
            "{:?}",
            p.to
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
