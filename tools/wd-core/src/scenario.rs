//! Scenario definitions (`config/scenarios/<name>.yaml`), typed once, and where `config/` is.
//!
//! A scenario names its compose files and services (wd-inventory), its components — the one
//! home of a component's compose service, chart, public host label, port, aliases and the
//! Secret its login comes from (wd-render, wd-wait, wd-urls, and `k8s-deploy.sh logs` through
//! `wd-urls --component`) — and the `verify:` rules (wd-verify).
//!
//! Not here: how a tool uses these facts (URL rules, templates, readiness).

use crate::error::{WdError, WdResult};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Compose files, relative to the scenario file.
    pub compose: Vec<String>,
    /// The compose services the scenario runs.
    pub services: Vec<String>,
    pub render: ScenarioRender,
    #[serde(default)]
    pub verify: VerifyRules,
}

/// `render:`: the components and the display data wd-render needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioRender {
    /// Component name (the values key, the RenderPlan's URL role) → component.
    pub components: BTreeMap<String, Component>,
    /// Umbrella charts that are not a compose service of the scenario (optional dependencies
    /// such as Redis), so tools and the script know them without a table of their own.
    #[serde(default)]
    pub addons: BTreeMap<String, Addon>,
    /// backends.json display metadata (verifiably-go's shape), passed through as is.
    pub dpg: serde_json::Value,
}

/// How a component is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

impl std::fmt::Display for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One component of a scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Component {
    /// The compose service it comes from.
    pub service: String,
    /// Its chart in the umbrella (the Deployment is `<release>-<chart>`).
    pub chart: String,
    /// Its compose slug (deploy.sh's VERIFIABLY_HOSTS_PATTERN / VERIFIABLY_SLUG_*).
    pub slug: String,
    /// Its public host label (`<host>.<domain>`).
    pub host: String,
    /// Its container port in compose.
    pub port: u16,
    /// Its container port in Kubernetes where it differs from `port` (Keycloak: 8180 in compose,
    /// 8080 in its chart); see [`Component::cluster_port`].
    #[serde(default)]
    pub k8s_port: Option<u16>,
    pub scheme: Scheme,
    /// Served through an Ingress.
    pub public: bool,
    /// The other names it answers to besides its key (`k8s-deploy.sh logs issuer-api`,
    /// `wd-urls --component walt-issuer`); each name means one component.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// What its public URL is, for people (`walt.id issuer API (swagger)`).
    #[serde(default)]
    pub title: Option<String>,
    /// Path appended to its public URL for people (`/swagger`, `/admin`).
    #[serde(default)]
    pub path: String,
    /// How to log in to it.
    #[serde(default)]
    pub login: Option<Login>,
}

impl Component {
    /// Its container port in Kubernetes: `k8sPort`, else `port`.
    pub fn cluster_port(&self) -> u16 {
        self.k8s_port.unwrap_or(self.port)
    }
}

/// A login: the user, and the secret (a `name` in config/secrets.yaml) holding its password.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Login {
    pub user: String,
    pub secret: String,
}

/// An umbrella chart that is not a compose service of the scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Addon {
    pub chart: String,
    pub port: u16,
    #[serde(default)]
    pub aliases: Vec<String>,
}

impl Scenario {
    /// Reads and checks a scenario file: every name and alias resolves to one component.
    pub fn read(path: &Path) -> WdResult<Scenario> {
        let sc: Scenario = crate::yaml::read(
            path,
            "a scenario needs name, compose, services and render.components (see config/scenarios/waltid.yaml)",
        )?;
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (key, names) in sc.names() {
            for n in names {
                if let Some(other) = seen.insert(n, key) {
                    if other != key {
                        return Err(WdError::input(format!(
                            "{}: render: {n:?} names both {other} and {key}; give each alias to one component",
                            path.display()
                        )));
                    }
                }
            }
        }
        Ok(sc)
    }

    /// The scenario `name` of `config_dir`, and its path.
    pub fn load(config_dir: &Path, name: &str) -> WdResult<(Scenario, PathBuf)> {
        let path = scenario_path(config_dir, name)?;
        Ok((Self::read(&path)?, path))
    }

    /// Every component and addon with the names it answers to: its key and its aliases.
    fn names(&self) -> Vec<(&str, Vec<&str>)> {
        let comps = self
            .render
            .components
            .iter()
            .map(|(k, c)| (k.as_str(), &c.aliases));
        let addons = self
            .render
            .addons
            .iter()
            .map(|(k, a)| (k.as_str(), &a.aliases));
        comps
            .chain(addons)
            .map(|(k, aliases)| {
                let mut v = vec![k];
                v.extend(aliases.iter().map(String::as_str));
                (k, v)
            })
            .collect()
    }

    /// The component a name or alias means.
    pub fn component(&self, name: &str) -> Option<(&str, &Component)> {
        self.render
            .components
            .iter()
            .find(|(k, c)| *k == name || c.aliases.iter().any(|a| a == name))
            .map(|(k, c)| (k.as_str(), c))
    }

    /// The umbrella chart a component or addon name or alias means.
    pub fn chart_of(&self, name: &str) -> Option<&str> {
        if let Some((_, c)) = self.component(name) {
            return Some(&c.chart);
        }
        self.render
            .addons
            .iter()
            .find(|(k, a)| *k == name || a.aliases.iter().any(|x| x == name))
            .map(|(_, a)| a.chart.as_str())
    }

    /// The component and addon names, for "use …" messages: `a, b or c`.
    pub fn known_names(&self) -> String {
        let names: Vec<&str> = self
            .render
            .components
            .keys()
            .chain(self.render.addons.keys())
            .map(String::as_str)
            .collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            Some((last, _)) => last.to_string(),
            None => "none".into(),
        }
    }

    /// The component whose public host label is `label`.
    pub fn by_host(&self, label: &str) -> Option<(&str, &Component)> {
        self.render
            .components
            .iter()
            .find(|(_, c)| c.host == label)
            .map(|(k, c)| (k.as_str(), c))
    }
}

/// Where a planned secret lands in Kubernetes (from config/secrets.yaml, the one source).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    pub name: String,
    pub k8s_secret: String,
    pub k8s_key: String,
}

/// The Kubernetes Secret and key of the secret `name` in `<config_dir>/secrets.yaml` (only
/// these fields are read; wd-render owns the rest of that file's meaning).
pub fn secret_ref(config_dir: &Path, name: &str) -> WdResult<SecretRef> {
    #[derive(Deserialize)]
    struct File {
        secrets: Vec<SecretRef>,
    }
    let path = config_dir.join("secrets.yaml");
    let f: File = crate::yaml::read(
        &path,
        "secrets.yaml lists secrets with name, k8sSecret, k8sKey",
    )?;
    f.secrets.into_iter().find(|s| s.name == name).ok_or_else(|| {
        WdError::input(format!(
            "{}: no secret named {name:?} (the scenario refers to it: a login or a verify rule); add it or fix the scenario's reference",
            path.display()
        ))
    })
}

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
    if let Some(p) = crate::fsio::named_yaml(&dir, name) {
        return Ok(p);
    }
    let p = dir.join(format!("{name}.yaml"));
    let known = crate::fsio::yaml_names(&dir);
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
    /// Keys holding a URL the workload calls in files of one name only, where the key alone is
    /// too common to look for in every file (walt.id registration-defaults.conf `server`: the
    /// Vault of the TSE key backend). Same `*` globbing of the key.
    #[serde(default)]
    pub file_url_keys: Vec<FileUrlKey>,
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
    /// Prometheus's pods (outside the manifests): they scrape what ServiceMonitors select.
    #[serde(default)]
    pub prometheus: Option<PeerPods>,
    /// The blackbox exporter's pods (outside the manifests): they call the URLs Probes list.
    #[serde(default)]
    pub blackbox: Option<PeerPods>,
    /// Custom resources an operator turns into pods and Services (CloudNativePG `Cluster`).
    #[serde(default)]
    pub operators: Vec<OperatorRule>,
    /// cert-manager's HTTP-01 solver: for an Ingress whose issuer is an ACME issuer, cert-manager
    /// starts a solver pod in the Ingress's namespace that the ingress controller must reach.
    #[serde(default)]
    pub acme_solver: Option<AcmeSolver>,
    /// Services of the platform outside the manifests that workloads call (the OpenTelemetry
    /// Collector in `monitoring`, Vault): a Service `service` in `namespace` selecting pods with
    /// `podLabels` on `ports`, so calls to it resolve and NetworkPolicies are checked both ways;
    /// with the calls its own pods make into the manifests (`calls`) and the calls to it whose
    /// URL travels in a Secret no manifest shows (`secretCallers`).
    #[serde(default)]
    pub platform_services: Vec<PlatformService>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileUrlKey {
    /// The config file's name (a key of a mounted ConfigMap), e.g. `registration-defaults.conf`.
    pub file: String,
    pub key: String,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlatformService {
    pub namespace: String,
    pub service: String,
    pub pod_labels: std::collections::BTreeMap<String, String>,
    /// Ports of the Service and its pods (`name: number`).
    pub ports: std::collections::BTreeMap<String, u16>,
    /// Calls the service's own pods make into the manifests, each while its condition holds
    /// (Vault's database engine logs in to the shared Postgres while generators ask it for
    /// credentials).
    #[serde(default)]
    pub calls: Vec<PlatformCall>,
    /// Calls to this service whose URL is inside a Secret's value, so no manifest shows it:
    /// when a pod mounts the Secret key, the `callers` of its namespace call the service.
    #[serde(default)]
    pub secret_callers: Vec<SecretCaller>,
}

/// A call a platform service's pods make into the manifests: in every namespace holding an
/// object of kind `when`, to the Service `to.service` on `to.port` (of each object of kind
/// `to.of` there when given, `{name}` being that object's name).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlatformCall {
    pub when: KindRef,
    pub to: CallTo,
    /// What the call is for (shown as the call's source).
    pub why: String,
}

/// A kind and its API group (`""` for the core group).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KindRef {
    pub kind: String,
    pub api_group: String,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallTo {
    /// The objects whose Service is called (a CloudNativePG `Cluster`); absent: `service` is
    /// one Service's name.
    #[serde(default)]
    pub of: Option<KindRef>,
    /// The Service's name; `{name}` is the `of` object's name (`{name}-rw`).
    pub service: String,
    /// The Service port, by name or number.
    pub port: PortRef,
}

/// A port by name (`postgresql`) or number (`5432`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
pub enum PortRef {
    Number(u16),
    Name(String),
}

impl std::fmt::Display for PortRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortRef::Number(n) => write!(f, "{n}"),
            PortRef::Name(s) => f.write_str(s),
        }
    }
}

/// Pods that call a platform service through a URL inside a Secret's value: when a pod mounts
/// (volume, projected volume or env) the key of the planned secret `secret`, the pods of its
/// namespace running an image of `callers` call the service on `port` (empty `callers`: the
/// mounting pod itself).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretCaller {
    /// The secret's `name` in config/secrets.yaml (its k8sSecret and k8sKey come from there).
    pub secret: String,
    /// Image repositories of the pods that make the call.
    #[serde(default)]
    pub callers: Vec<String>,
    /// A port of the service (a key of `ports`) or a number.
    pub port: PortRef,
    /// Why the callers call it (shown as the call's source).
    pub why: String,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_config() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
    }

    #[test]
    fn the_waltid_scenario_is_one_typed_home_for_its_components() {
        let (sc, _) = Scenario::load(&repo_config(), "waltid").unwrap();
        assert_eq!(sc.chart_of("issuer-api"), Some("walt-issuer"));
        assert_eq!(sc.chart_of("walt-wallet"), Some("walt-wallet"));
        assert_eq!(sc.chart_of("auth"), Some("keycloak"));
        assert_eq!(sc.chart_of("redis"), Some("redis"));
        assert_eq!(sc.chart_of("postgres"), None);
        assert_eq!(sc.by_host("auth").map(|(k, _)| k), Some("keycloak"));
        let kc = &sc.render.components["keycloak"];
        assert_eq!((kc.port, kc.cluster_port()), (8180, 8080));
        let issuer = &sc.render.components["issuer"];
        assert_eq!((issuer.port, issuer.cluster_port()), (7002, 7002));
        assert_eq!(
            sc.known_names(),
            "app, issuer, keycloak, libretranslate, verifier, wallet, wso2is or redis"
        );
        assert!(
            !sc.verify.url_env.is_empty(),
            "the verify: section is read too"
        );
        for (name, c) in &sc.render.components {
            if let Some(l) = &c.login {
                let r = secret_ref(&repo_config(), &l.secret).unwrap();
                assert!(!r.k8s_secret.is_empty() && !r.k8s_key.is_empty(), "{name}");
            }
        }
    }

    #[test]
    fn a_platform_service_names_its_ports_by_name_or_number_and_its_secrets_by_plan_name() {
        let rules = read_verify_rules(&repo_config().join("scenarios/waltid.yaml")).unwrap();
        let vault = rules
            .platform_services
            .iter()
            .find(|p| p.service == "vault")
            .expect("Vault is a platform service of the scenario");
        let call = &vault.calls[0];
        assert_eq!(call.to.port, PortRef::Name("postgresql".into()));
        assert!(call.to.of.is_some() && call.to.service.contains("{name}"));
        let sc = &vault.secret_callers[0];
        assert_eq!(sc.port, PortRef::Name("http".into()));
        assert!(
            vault.ports.contains_key("http"),
            "the port names one of the service's own"
        );
        let r = secret_ref(&repo_config(), &sc.secret).unwrap();
        assert!(!r.k8s_secret.is_empty() && !r.k8s_key.is_empty());
        let to: CallTo = serde_norway::from_str("{service: db, port: 5432}").unwrap();
        assert_eq!((to.of, to.port), (None, PortRef::Number(5432)));
        let e = serde_norway::from_str::<CallTo>("{service: db, port: 5432, kind: Cluster}");
        assert!(e.unwrap_err().to_string().contains("unknown field `kind`"));
    }

    #[test]
    fn an_alias_of_two_components_and_a_typo_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::read_to_string(repo_config().join("scenarios/waltid.yaml")).unwrap();
        let p = dir.path().join("s.yaml");
        std::fs::write(
            &p,
            base.replace("aliases: [auth]", "aliases: [auth, walt-issuer]"),
        )
        .unwrap();
        let e = Scenario::read(&p).unwrap_err();
        assert!(
            e.message
                .contains("\"walt-issuer\" names both issuer and keycloak"),
            "{}",
            e.message
        );
        std::fs::write(&p, base.replace("aliases: [auth]", "alias: [auth]")).unwrap();
        let e = Scenario::read(&p).unwrap_err();
        assert!(e.message.contains("unknown field `alias`"), "{}", e.message);
    }
}
