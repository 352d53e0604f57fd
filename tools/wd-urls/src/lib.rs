//! wd-urls: every public URL with what it is and how to log in (see `--help`).
//!
//! From the cluster (Ingresses and LoadBalancer Services) or offline from a RenderPlan.
//! What a host is and how to log in come from the scenario's components (wd-core's
//! [`Scenario`]) and the Secret names of config/secrets.yaml; the platform's own consoles
//! (Grafana, Argo CD, Vault) from [`PLATFORM`]. Passwords are read from their Secrets only with
//! --show-secrets; otherwise the command that reads them is printed.
//!
//! `--component NAME` answers the script's question "which chart is this name?" from the same
//! scenario (`k8s-deploy.sh logs issuer-api`).

use clap::Parser;
use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams};
use std::io::IsTerminal;
use std::path::PathBuf;
use wd_core::cli::CommonArgs;
use wd_core::docs::cluster::{UrlItem, UrlList};
use wd_core::docs::render_plan::RenderPlan;
use wd_core::scenario::Scenario;
use wd_core::{output, Exit, WdError, WdResult};

/// Print every public URL (walt.id APIs, the app, Keycloak and WSO2 consoles, Grafana, Argo CD,
/// Vault UI) and how to log in. Table on a terminal, JSON when piped.
#[derive(Debug, Parser)]
#[command(
    name = "wd-urls",
    version,
    about,
    after_help = "Exit codes: 0 ok, 2 bad input, 3 the cluster is unreachable or refuses.\nExamples: wd-urls | jq -r '.urls[].url'    wd-urls --render-plan out/render-plan.json    wd-urls --component issuer-api"
)]
struct Cli {
    /// Work offline from a RenderPlan (wd-render's out/render-plan.json) instead of the cluster.
    #[arg(long, value_name = "FILE")]
    render_plan: Option<PathBuf>,
    /// Namespace of the walt.id scenario (its Secrets).
    #[arg(long, short = 'n', default_value = "waltid")]
    namespace: String,
    /// Scenario whose components name the hosts (default: the RenderPlan's, else waltid).
    #[arg(long, value_name = "NAME")]
    scenario: Option<String>,
    /// Where scenarios and secrets.yaml live (default: $WD_CONFIG_DIR, ./config, or the checkout's).
    #[arg(long, value_name = "DIR")]
    config_dir: Option<PathBuf>,
    /// Print the umbrella chart of a component, by name or alias (e.g. issuer-api → walt-issuer),
    /// and exit; an unknown name is exit 2 listing the known ones.
    #[arg(long, value_name = "NAME", conflicts_with = "render_plan")]
    component: Option<String>,
    /// Read the passwords and print them.
    #[arg(long)]
    show_secrets: bool,
    #[command(flatten)]
    kube: wd_kube::KubeArgs,
    #[command(flatten)]
    common: CommonArgs,
}

/// What a host is and how to log in to it.
struct Known {
    what: String,
    path: String,
    login: Option<LoginRef>,
}

/// Where a login's password is: namespace ("" for the scenario's), Secret, user (or `=key` for a
/// user read from the Secret), password key.
struct LoginRef {
    namespace: &'static str,
    secret: String,
    user: String,
    key: String,
}

/// The platform's consoles (terraform/platform installs them; not components of a scenario):
/// host label, what, path, login (namespace, Secret, user or `=key`, password key).
type PlatformEntry = (
    &'static str,
    &'static str,
    &'static str,
    Option<(&'static str, &'static str, &'static str, &'static str)>,
);
const PLATFORM: &[PlatformEntry] = &[
    (
        "grafana",
        "Grafana",
        "",
        Some((
            "monitoring",
            "kube-prometheus-stack-grafana",
            "=admin-user",
            "admin-password",
        )),
    ),
    (
        "argocd",
        "Argo CD",
        "",
        Some(("argocd", "argocd-initial-admin-secret", "admin", "password")),
    ),
    ("vault", "Vault UI", "/ui", None),
];

/// The scenario's components and the platform's consoles, by host label.
struct Catalog {
    by_label: std::collections::BTreeMap<String, Known>,
    /// Component key → host label (RenderPlan URL roles are component keys).
    label_of: std::collections::BTreeMap<String, String>,
}

impl Catalog {
    fn new(config_dir: &std::path::Path, sc: &Scenario) -> WdResult<Catalog> {
        let mut by_label = std::collections::BTreeMap::new();
        let mut label_of = std::collections::BTreeMap::new();
        for (key, c) in &sc.render.components {
            let login = match &c.login {
                Some(l) => {
                    let r = wd_core::scenario::secret_ref(config_dir, &l.secret)?;
                    Some(LoginRef {
                        namespace: "",
                        secret: r.k8s_secret,
                        user: l.user.clone(),
                        key: r.k8s_key,
                    })
                }
                None => None,
            };
            label_of.insert(key.clone(), c.host.clone());
            by_label.insert(
                c.host.clone(),
                Known {
                    what: c.title.clone().unwrap_or_else(|| key.clone()),
                    path: c.path.clone(),
                    login,
                },
            );
        }
        for (label, what, path, login) in PLATFORM {
            by_label.insert(
                label.to_string(),
                Known {
                    what: what.to_string(),
                    path: path.to_string(),
                    login: login.map(|(namespace, secret, user, key)| LoginRef {
                        namespace,
                        secret: secret.into(),
                        user: user.into(),
                        key: key.into(),
                    }),
                },
            );
        }
        Ok(Catalog { by_label, label_of })
    }

    fn by_host(&self, host: &str) -> Option<(&str, &Known)> {
        let first = host.split('.').next().unwrap_or("");
        self.by_label
            .get_key_value(first)
            .map(|(k, v)| (k.as_str(), v))
    }
}

fn hint(ns: &str, secret: &str, key: &str) -> String {
    format!(
        "kubectl -n {ns} get secret {secret} -o jsonpath='{{.data.{}}}' | base64 -d",
        key.replace('.', "\\.")
    )
}

async fn login(
    cli: &Cli,
    client: Option<&kube::Client>,
    label: &str,
    k: &Known,
) -> WdResult<Option<String>> {
    if label == "vault" {
        return Ok(Some(
            "root token: in the keys file of `wd-secrets init` (~/.config/wd/vault-init.json)"
                .into(),
        ));
    }
    let Some(l) = &k.login else {
        return Ok(None);
    };
    let (secret, key, user) = (l.secret.as_str(), l.key.as_str(), l.user.as_str());
    let ns = if l.namespace.is_empty() {
        cli.namespace.as_str()
    } else {
        l.namespace
    };
    let user_text =
        |data: Option<&std::collections::BTreeMap<String, k8s_openapi::ByteString>>| -> String {
            match user.strip_prefix('=') {
                Some(ukey) => data
                    .and_then(|d| d.get(ukey))
                    .map(|b| String::from_utf8_lossy(&b.0).to_string())
                    .unwrap_or_else(|| "admin".into()),
                None => user.to_string(),
            }
        };
    match (cli.show_secrets, client) {
        (true, Some(c)) => {
            let api: Api<Secret> = Api::namespaced(c.clone(), ns);
            match api
                .get_opt(secret)
                .await
                .map_err(|e| wd_kube::api_error(&format!("read Secret {ns}/{secret}"), &e))?
            {
                Some(s) => {
                    let pw = s
                        .data
                        .as_ref()
                        .and_then(|d| d.get(key))
                        .map(|b| String::from_utf8_lossy(&b.0).to_string())
                        .unwrap_or_else(|| format!("(no key {key})"));
                    Ok(Some(format!("{} / {pw}", user_text(s.data.as_ref()))))
                }
                None => Ok(Some(format!(
                    "{} / (Secret {ns}/{secret} not found)",
                    user_text(None)
                ))),
            }
        }
        _ => Ok(Some(format!(
            "{}; password: {}",
            user_text(None),
            hint(ns, secret, key)
        ))),
    }
}

async fn from_cluster(cli: &Cli, cat: &Catalog) -> WdResult<UrlList> {
    let c = wd_kube::client(&cli.kube).await?;
    let ingresses: Api<Ingress> = Api::all(c.clone());
    let list = ingresses
        .list(&ListParams::default())
        .await
        .map_err(|e| wd_kube::api_error("list Ingresses", &e))?;
    let mut out = UrlList {
        source: "cluster".into(),
        ..Default::default()
    };
    let mut seen = std::collections::BTreeSet::new();
    for ing in &list.items {
        let spec = ing.spec.clone().unwrap_or_default();
        let tls_hosts: Vec<String> = spec
            .tls
            .iter()
            .flatten()
            .flat_map(|t| t.hosts.clone().unwrap_or_default())
            .collect();
        for rule in spec.rules.iter().flatten() {
            let Some(host) = rule.host.clone() else {
                continue;
            };
            if !seen.insert(host.clone()) {
                continue;
            }
            let scheme = if tls_hosts.contains(&host) {
                "https"
            } else {
                "http"
            };
            let (what, path, lg) = match cat.by_host(&host) {
                Some((label, k)) => (
                    k.what.clone(),
                    k.path.as_str(),
                    login(cli, Some(&c), label, k).await?,
                ),
                None => (
                    format!(
                        "Ingress {}/{}",
                        ing.metadata.namespace.clone().unwrap_or_default(),
                        ing.metadata.name.clone().unwrap_or_default()
                    ),
                    "",
                    None,
                ),
            };
            out.urls.push(UrlItem {
                what,
                url: format!("{scheme}://{host}{path}"),
                login: lg,
            });
        }
    }
    let services: Api<Service> = Api::all(c.clone());
    let svcs = services
        .list(&ListParams::default())
        .await
        .map_err(|e| wd_kube::api_error("list Services", &e))?;
    for s in &svcs.items {
        let spec = s.spec.clone().unwrap_or_default();
        if spec.type_.as_deref() != Some("LoadBalancer") {
            continue;
        }
        let addr = s
            .status
            .as_ref()
            .and_then(|st| st.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .and_then(|i| i.first())
            .and_then(|i| i.ip.clone().or_else(|| i.hostname.clone()));
        let port = spec
            .ports
            .iter()
            .flatten()
            .next()
            .map(|p| p.port)
            .unwrap_or(80);
        let name = format!(
            "{}/{}",
            s.metadata.namespace.clone().unwrap_or_default(),
            s.metadata.name.clone().unwrap_or_default()
        );
        out.urls.push(UrlItem {
            what: format!("LoadBalancer Service {name}"),
            url: addr
                .map(|a| {
                    format!(
                        "{}://{a}:{port}",
                        if port == 443 { "https" } else { "http" }
                    )
                })
                .unwrap_or_else(|| "(address pending)".into()),
            login: None,
        });
    }
    Ok(out)
}

async fn from_plan(cli: &Cli, plan: &RenderPlan, cat: &Catalog) -> WdResult<UrlList> {
    let mut out = UrlList {
        source: "render-plan".into(),
        ..Default::default()
    };
    for u in &plan.urls {
        let known = cat
            .label_of
            .get(&u.role)
            .and_then(|label| cat.by_label.get_key_value(label));
        match known {
            Some((label, k)) => out.urls.push(UrlItem {
                what: k.what.clone(),
                url: format!("{}{}", u.url, k.path),
                login: login(cli, None, label, k).await?,
            }),
            None => out.urls.push(UrlItem {
                what: u.role.clone(),
                url: u.url.clone(),
                login: None,
            }),
        }
    }
    Ok(out)
}

/// The whole tool: parse the command line, do the work, return the exit code.
pub fn run() -> WdResult<Exit> {
    let cli = wd_core::cli::parse::<Cli>();
    let format = cli.common.init();
    let config_dir = wd_core::scenario::config_dir(cli.config_dir.as_deref());
    let plan: Option<RenderPlan> = match &cli.render_plan {
        Some(path) => Some(wd_core::docs::parse(
            &wd_core::fsio::read_text(path)?,
            &path.display().to_string(),
        )?),
        None => None,
    };
    let name = cli
        .scenario
        .clone()
        .or_else(|| plan.as_ref().map(|p| p.scenario.clone()))
        .unwrap_or_else(|| "waltid".into());
    let (sc, _) = Scenario::load(&config_dir, &name)?;
    if let Some(c) = &cli.component {
        let chart = sc.chart_of(c).ok_or_else(|| {
            WdError::input(format!("unknown component {c}; use {}", sc.known_names()))
        })?;
        println!("{chart}");
        return Ok(Exit::Ok);
    }
    let cat = Catalog::new(&config_dir, &sc)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| WdError::unreachable(format!("cannot start the I/O runtime ({e})")))?;
    let list = rt.block_on(async {
        match &plan {
            Some(p) => from_plan(&cli, p, &cat).await,
            None => from_cluster(&cli, &cat).await,
        }
    })?;
    if list.urls.is_empty() && std::io::stdout().is_terminal() {
        wd_core::term::warn("wd-urls: no Ingress or LoadBalancer Service found");
    }
    output::emit(&list, format)?;
    Ok(Exit::Ok)
}
