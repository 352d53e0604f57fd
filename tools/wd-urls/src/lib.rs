//! wd-urls: every public URL with what it is and how to log in (see `--help`).
//!
//! From the cluster (Ingresses and LoadBalancer Services) or offline from a RenderPlan.
//! Passwords are read from their Secrets only with --show-secrets; otherwise the command that
//! reads them is printed.

use clap::Parser;
use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams};
use std::io::IsTerminal;
use std::path::PathBuf;
use wd_core::cli::CommonArgs;
use wd_core::docs::cluster::{UrlItem, UrlList};
use wd_core::docs::render_plan::RenderPlan;
use wd_core::{output, Exit, WdError, WdResult};

/// Print every public URL (walt.id APIs, the app, Keycloak and WSO2 consoles, Grafana, Argo CD,
/// Vault UI) and how to log in. Table on a terminal, JSON when piped.
#[derive(Debug, Parser)]
#[command(
    name = "wd-urls",
    version,
    about,
    after_help = "Exit codes: 0 ok, 2 bad input, 3 the cluster is unreachable or refuses.\nExamples: wd-urls | jq -r '.urls[].url'    wd-urls --render-plan out/render-plan.json"
)]
struct Cli {
    /// Work offline from a RenderPlan (wd-render's out/render-plan.json) instead of the cluster.
    #[arg(long, value_name = "FILE")]
    render_plan: Option<PathBuf>,
    /// Namespace of the walt.id scenario (its Secrets).
    #[arg(long, short = 'n', default_value = "waltid")]
    namespace: String,
    /// Read the passwords and print them.
    #[arg(long)]
    show_secrets: bool,
    #[command(flatten)]
    kube: wd_kube::KubeArgs,
    #[command(flatten)]
    common: CommonArgs,
}

/// What a host is, by its first label (the umbrella's and the platform's hosts).
struct Known {
    label: &'static str,
    what: &'static str,
    path: &'static str,
    /// (namespace or "" for the scenario's, Secret, user key or literal user, password key)
    login: Option<(&'static str, &'static str, &'static str, &'static str)>,
}

const KNOWN: &[Known] = &[
    Known {
        label: "issuer",
        what: "walt.id issuer API (swagger)",
        path: "/swagger",
        login: None,
    },
    Known {
        label: "verifier",
        what: "walt.id verifier API (swagger)",
        path: "/swagger",
        login: None,
    },
    Known {
        label: "wallet",
        what: "walt.id wallet API (swagger)",
        path: "/swagger",
        login: None,
    },
    Known {
        label: "app",
        what: "verifiably-go app",
        path: "",
        login: Some((
            "",
            "waltid-app-demo",
            "demo account (backends.json demoAccount.email)",
            "password",
        )),
    },
    Known {
        label: "auth",
        what: "Keycloak admin console",
        path: "/admin",
        login: Some(("", "waltid-keycloak-admin", "admin", "password")),
    },
    Known {
        label: "wso2",
        what: "WSO2 IS console",
        path: "/console",
        login: Some(("", "waltid-wso2is", "admin", "adminPassword")),
    },
    Known {
        label: "grafana",
        what: "Grafana",
        path: "",
        login: Some((
            "monitoring",
            "kube-prometheus-stack-grafana",
            "=admin-user",
            "admin-password",
        )),
    },
    Known {
        label: "argocd",
        what: "Argo CD",
        path: "",
        login: Some(("argocd", "argocd-initial-admin-secret", "admin", "password")),
    },
    Known {
        label: "vault",
        what: "Vault UI",
        path: "/ui",
        login: None,
    },
];

fn known(host: &str) -> Option<&'static Known> {
    let first = host.split('.').next().unwrap_or("");
    KNOWN.iter().find(|k| k.label == first)
}

fn hint(ns: &str, secret: &str, key: &str) -> String {
    format!(
        "kubectl -n {ns} get secret {secret} -o jsonpath='{{.data.{}}}' | base64 -d",
        key.replace('.', "\\.")
    )
}

async fn login(cli: &Cli, client: Option<&kube::Client>, k: &Known) -> WdResult<Option<String>> {
    if k.label == "vault" {
        return Ok(Some(
            "root token: in the keys file of `wd-secrets init` (~/.config/wd/vault-init.json)"
                .into(),
        ));
    }
    let Some((ns, secret, user, key)) = k.login else {
        return Ok(None);
    };
    let ns = if ns.is_empty() {
        cli.namespace.as_str()
    } else {
        ns
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

async fn from_cluster(cli: &Cli) -> WdResult<UrlList> {
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
            let (what, path, lg) = match known(&host) {
                Some(k) => (k.what.to_string(), k.path, login(cli, Some(&c), k).await?),
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

async fn from_plan(cli: &Cli, path: &std::path::Path) -> WdResult<UrlList> {
    let plan: RenderPlan = wd_core::docs::parse(
        &wd_core::fsio::read_text(path)?,
        &path.display().to_string(),
    )?;
    let mut out = UrlList {
        source: "render-plan".into(),
        ..Default::default()
    };
    let role_label = |role: &str| match role {
        "keycloak" => "auth",
        "wso2is" => "wso2",
        other => KNOWN
            .iter()
            .find(|k| k.label == other)
            .map(|k| k.label)
            .unwrap_or("?"),
    };
    for u in &plan.urls {
        match KNOWN.iter().find(|k| k.label == role_label(&u.role)) {
            Some(k) => out.urls.push(UrlItem {
                what: k.what.into(),
                url: format!("{}{}", u.url, k.path),
                login: login(cli, None, k).await?,
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
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| WdError::unreachable(format!("cannot start the I/O runtime ({e})")))?;
    let list = rt.block_on(async {
        match &cli.render_plan {
            Some(p) => from_plan(&cli, p).await,
            None => from_cluster(&cli).await,
        }
    })?;
    if list.urls.is_empty() && std::io::stdout().is_terminal() {
        wd_core::term::warn("wd-urls: no Ingress or LoadBalancer Service found");
    }
    output::emit(&list, format)?;
    Ok(Exit::Ok)
}
