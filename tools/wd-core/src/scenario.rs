//! Scenario definitions (`config/scenarios/<name>.yaml`) and where `config/` is.
//!
//! Read by wd-inventory (which services, which compose files) and wd-render (display data).

use crate::error::{WdError, WdResult};
use std::path::{Path, PathBuf};

/// The config directory: `--config-dir`, else `$WD_CONFIG_DIR`, else `./config`, else the
/// `config/` of the checkout the binary was built in (`<repo>/target/<profile>/wd-*`).
pub fn config_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("WD_CONFIG_DIR").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let local = PathBuf::from("config");
    if local.join("scenarios").is_dir() {
        return local;
    }
    if let Ok(exe) = std::env::current_exe() {
        for anc in exe.ancestors().skip(1).take(4) {
            let c = anc.join("config");
            if c.join("scenarios").is_dir() {
                return c;
            }
        }
    }
    local
}

/// Path of a scenario file, or an error listing the scenarios that exist.
pub fn scenario_path(config_dir: &Path, name: &str) -> WdResult<PathBuf> {
    let dir = config_dir.join("scenarios");
    let p = dir.join(format!("{name}.yaml"));
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && p.is_file()
    {
        return Ok(p);
    }
    let mut known: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".yaml"))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    known.sort();
    Err(WdError::input(format!(
        "--scenario: unknown scenario {name:?} (no {}); known: {}",
        p.display(),
        if known.is_empty() {
            format!("none in {}; pass --config-dir", dir.display())
        } else {
            known.join(", ")
        }
    )))
}

/// The `verify:` section of a scenario file: the facts wd-verify's rules depend on, so the tool
/// judges another stack when given another file. Every field is optional; an absent list means
/// "no such rule" and the peers default to ingress-nginx / kube-dns as installed by wd's platform.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyRules {
    /// Environment variables whose value is a URL or `host:port` the container calls
    /// (a trailing `*` matches a prefix, a leading `*` a suffix).
    #[serde(default)]
    pub url_env: Vec<String>,
    /// Keys in mounted ConfigMap files (HOCON, JSON, TOML, properties) whose value is a URL the
    /// workload calls (same `*` globbing).
    #[serde(default)]
    pub url_keys: Vec<String>,
    /// URLs a component publishes in its own config that OTHER components call (walt.id's
    /// issuer `baseUrl` goes into credential offers the wallet resolves server-side).
    #[serde(default)]
    pub published_urls: Vec<PublishedUrl>,
    /// Pairs of keys that together name `host` and `port` of a call (walt.id persistence.conf
    /// `nodes = [{host, port}]`), with the scheme the call uses.
    #[serde(default)]
    pub host_port_keys: Vec<HostPortKeys>,
    /// Environment a container of an image needs; a value of `null` means "set to anything".
    #[serde(default)]
    pub required_env: Vec<RequiredEnv>,
    /// Components that keep sessions in process memory unless configured otherwise.
    #[serde(default)]
    pub sessions: Vec<SessionRule>,
    /// Image repositories built from source by the orchestrator (never pulled).
    #[serde(default)]
    pub local_images: Vec<String>,
    /// cert-manager (Cluster)Issuers that sign with a private CA callers do not trust by default.
    #[serde(default)]
    pub self_signed_issuers: Vec<String>,
    /// What makes a container trust a private CA.
    #[serde(default)]
    pub ca_trust: CaTrust,
    /// The ingress controller's pods (outside the manifests).
    #[serde(default)]
    pub ingress_controller: Option<PeerPods>,
    /// The cluster DNS pods (outside the manifests).
    #[serde(default)]
    pub dns: Option<PeerPods>,
    /// Custom resources an operator turns into pods and Services (CloudNativePG `Cluster`).
    #[serde(default)]
    pub operators: Vec<OperatorRule>,
    /// cert-manager's HTTP-01 solver: for an Ingress whose issuer is an ACME issuer, cert-manager
    /// starts a solver pod in the Ingress's namespace that the ingress controller must reach.
    #[serde(default)]
    pub acme_solver: Option<AcmeSolver>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcmeSolver {
    /// (Cluster)Issuer names that solve HTTP-01 challenges.
    pub issuers: Vec<String>,
    pub pod_labels: std::collections::BTreeMap<String, String>,
    pub port: u16,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishedUrl {
    /// Config file (in a mounted ConfigMap) and key holding the URL.
    pub file: String,
    pub key: String,
    /// Image repositories of the pods that call it.
    pub called_by: Vec<String>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostPortKeys {
    pub host: String,
    pub port: String,
    /// Scheme of the call (`redis`, `tcp`).
    pub scheme: String,
    /// Only in files of this name (e.g. `persistence.conf`); empty: every file.
    #[serde(default)]
    pub file: Option<String>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequiredEnv {
    /// Image repository (without tag), e.g. `verifiably-go`.
    pub image: String,
    /// Variable → required value (`null`: any non-empty value).
    pub env: std::collections::BTreeMap<String, Option<String>>,
    /// What happens without it (shown in the finding).
    pub why: String,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionRule {
    /// Image repository (without tag).
    pub image: String,
    /// Why sessions are per process (shown in the finding).
    pub why: String,
    /// Any of these env vars set makes sessions shared.
    #[serde(default)]
    pub shared_when_env: Vec<String>,
    /// Any of these config-file settings makes sessions shared.
    #[serde(default)]
    pub shared_when_config: Vec<ConfigSetting>,
    /// How to make them shared (the finding's fix).
    pub fix: String,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigSetting {
    pub file: String,
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaTrust {
    /// Env vars that point a runtime at a CA bundle (`SSL_CERT_FILE`).
    #[serde(default)]
    pub env: Vec<String>,
    /// Text inside any env value that configures a trust store (`javax.net.ssl.trustStore`).
    #[serde(default)]
    pub env_contains: Vec<String>,
    /// Mount paths that replace the system trust store (`/etc/ssl/certs`).
    #[serde(default)]
    pub mount_paths: Vec<String>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PeerPods {
    pub namespace: String,
    pub pod_labels: std::collections::BTreeMap<String, String>,
    /// Ports the pods listen on (`name: number`), e.g. `{http: 80, https: 443}` or `{dns: 53}`.
    #[serde(default)]
    pub ports: std::collections::BTreeMap<String, u16>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperatorRule {
    /// Kind and API group of the custom resource (`Cluster`, `postgresql.cnpg.io`).
    pub kind: String,
    pub api_group: String,
    /// Services the operator creates; `{name}` is the resource's name.
    pub services: Vec<String>,
    /// Port of those Services and of the pods (`name: number`).
    pub ports: std::collections::BTreeMap<String, u16>,
    /// Labels of the operator's pods; `{name}` is the resource's name.
    pub pod_labels: std::collections::BTreeMap<String, String>,
    /// Field of `spec` holding the pod count (`instances`).
    pub replicas_field: String,
    /// Field of `spec` holding the pods' resources (`resources`).
    pub resources_field: String,
}

/// Reads the `verify:` section of a scenario file (absent: no rules).
pub fn read_verify_rules(path: &Path) -> WdResult<VerifyRules> {
    #[derive(serde::Deserialize)]
    struct File {
        #[serde(default)]
        verify: Option<VerifyRules>,
    }
    let f: File = crate::yaml::read(
        path,
        "the `verify:` section of a scenario file (see config/scenarios/waltid.yaml)",
    )?;
    Ok(f.verify.unwrap_or_default())
}
