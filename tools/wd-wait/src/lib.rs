//! wd-wait: wait until Kubernetes objects are ready (see `--help`).
//!
//! [`run`] reads what to wait for and connects; the policy is in [`policy`], the watching in
//! [`engine`].

pub mod engine;
pub mod policy;

use clap::Parser;
use engine::Target;
use serde_json::Value;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use wd_core::cli::CommonArgs;
use wd_core::{output, Exit, WdError, WdResult};

/// Wait until the objects named on stdin (a JSON list of {kind, name, namespace?, apiVersion?}
/// or a RenderPlan), or every workload of a namespace, are ready; on timeout or failure say
/// why, per object (CrashLoopBackOff with its last logs, image pulls, scheduling, failed Jobs,
/// unsynced ExternalSecrets).
#[derive(Debug, Parser)]
#[command(
    name = "wd-wait",
    version,
    about,
    after_help = "Exit codes: 0 ready, 1 timed out or failed (with a diagnosis), 2 bad input, 3 the cluster is unreachable or refuses.\nExample: wd-render --out out/ | wd-wait --timeout 15m"
)]
struct Cli {
    #[command(flatten)]
    kube: wd_kube::KubeArgs,
    /// Namespace of objects without one, and of --selector / --all-in-namespace.
    #[arg(long, short = 'n', default_value = "waltid")]
    namespace: String,
    /// Wait for every Deployment, StatefulSet, DaemonSet, Job and PVC matching this label selector.
    #[arg(long, short = 'l', conflicts_with = "all_in_namespace")]
    selector: Option<String>,
    /// Wait for every Deployment, StatefulSet, DaemonSet, Job and PVC of the namespace.
    #[arg(long)]
    all_in_namespace: bool,
    /// Helm release of the umbrella (objects named from a RenderPlan are <release>-<chart>).
    #[arg(long, default_value = "waltid")]
    release: String,
    /// How long to wait, e.g. 90s, 15m.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    timeout: Duration,
    /// Where scenarios live (to read a RenderPlan's components).
    #[arg(long, value_name = "DIR")]
    config_dir: Option<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?}: use a number with s, m or h (e.g. 90s, 15m)"))?;
    Ok(Duration::from_secs(match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("{s:?}: use s, m or h")),
    }))
}

const WORKLOAD_KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "PersistentVolumeClaim",
];

fn targets_from_stdin(cli: &Cli) -> WdResult<Vec<Target>> {
    let text = wd_core::fsio::read_stdin()?;
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        WdError::input(format!(
            "<stdin>:{}:{}: invalid JSON; pipe a JSON list of objects or a RenderPlan",
            e.line(),
            e.column()
        ))
    })?;
    if v["kind"] == "RenderPlan" {
        let plan: wd_core::docs::render_plan::RenderPlan = wd_core::docs::parse(&text, "<stdin>")?;
        return targets_from_plan(cli, &plan);
    }
    let items = v.as_array().ok_or_else(|| WdError::input("<stdin>: expected a JSON list of {kind, name, namespace?, apiVersion?} or a RenderPlan"))?;
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let kind = it["kind"]
            .as_str()
            .ok_or_else(|| WdError::input(format!("<stdin>: [{i}].kind is missing")))?;
        let name = it["name"]
            .as_str()
            .ok_or_else(|| WdError::input(format!("<stdin>: [{i}].name is missing")))?;
        let api_version = match it["apiVersion"].as_str() {
            Some(a) => a.to_string(),
            None => engine::default_api_version(kind)
                .ok_or_else(|| {
                    WdError::input(format!(
                        "<stdin>: [{i}]: kind {kind} needs an apiVersion (e.g. \"example.io/v1\")"
                    ))
                })?
                .to_string(),
        };
        out.push(Target {
            api_version,
            kind: kind.into(),
            namespace: it["namespace"].as_str().unwrap_or(&cli.namespace).into(),
            name: Some(name.into()),
            selector: None,
        });
    }
    Ok(out)
}

/// A RenderPlan names the scenario: its charts' Deployments, the Postgres cluster and the
/// ExternalSecrets of its secret plan.
fn targets_from_plan(
    cli: &Cli,
    plan: &wd_core::docs::render_plan::RenderPlan,
) -> WdResult<Vec<Target>> {
    let config_dir = wd_core::scenario::config_dir(cli.config_dir.as_deref());
    let (sc, _) = wd_core::scenario::Scenario::load(&config_dir, &plan.scenario)?;
    let ns = cli.namespace.clone();
    let mut out = Vec::new();
    let rendered: Vec<&str> = plan.files.iter().map(|f| f.component.as_str()).collect();
    for (name, c) in &sc.render.components {
        if rendered.contains(&name.as_str()) || !c.public {
            out.push(Target {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: ns.clone(),
                name: Some(format!("{}-{}", cli.release, c.chart)),
                selector: None,
            });
        }
    }
    out.push(Target {
        api_version: "postgresql.cnpg.io/v1".into(),
        kind: "Cluster".into(),
        namespace: ns.clone(),
        name: Some(format!("{}-pg", cli.release)),
        selector: None,
    });
    let sp_path = PathBuf::from(&plan.out_dir).join(&plan.secret_plan);
    if let Ok(text) = std::fs::read_to_string(&sp_path) {
        let sp: wd_core::docs::secret_plan::SecretPlan =
            wd_core::docs::parse(&text, &sp_path.display().to_string())?;
        let mut names: Vec<String> = sp.secrets.iter().map(|s| s.k8s_secret.clone()).collect();
        names.sort();
        names.dedup();
        for n in names {
            out.push(Target {
                api_version: "external-secrets.io/v1beta1".into(),
                kind: "ExternalSecret".into(),
                namespace: ns.clone(),
                name: Some(n),
                selector: None,
            });
        }
    }
    Ok(out)
}

/// The whole tool: parse the command line, do the work, return the exit code.
pub fn run() -> WdResult<Exit> {
    let cli = wd_core::cli::parse::<Cli>();
    let format = cli.common.init();
    let targets = if cli.all_in_namespace || cli.selector.is_some() {
        WORKLOAD_KINDS
            .iter()
            .map(|k| Target {
                api_version: engine::default_api_version(k).unwrap().into(),
                kind: (*k).into(),
                namespace: cli.namespace.clone(),
                name: None,
                selector: cli.selector.clone(),
            })
            .collect()
    } else {
        if std::io::stdin().is_terminal() {
            return Err(WdError::input("nothing to wait for: pipe a JSON list or a RenderPlan, or pass --selector / --all-in-namespace"));
        }
        targets_from_stdin(&cli)?
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| WdError::unreachable(format!("cannot start the I/O runtime ({e})")))?;
    let report = rt.block_on(async {
        let config = wd_kube::config(&cli.kube).await?;
        let mut opts = engine::Options::new(cli.timeout);
        opts.server = config.cluster_url.to_string();
        opts.progress = std::io::stderr().is_terminal() && !cli.common.quiet;
        let c = wd_kube::client_for(config)?;
        engine::wait(c, targets, opts).await
    })?;
    for o in report
        .objects
        .iter()
        .filter(|o| o.state != wd_core::docs::cluster::WaitState::Ready)
    {
        wd_core::term::eprint_error(&format!(
            "wd-wait: {} {}/{}: {}: {}",
            o.object_kind, o.namespace, o.name, o.state, o.message
        ));
        for d in &o.diagnosis {
            wd_core::term::eprint_error(&format!("wd-wait:   {d}"));
        }
    }
    if report.timed_out {
        wd_core::term::eprint_error(&format!(
            "wd-wait: timed out after {}s; the objects above are not ready",
            cli.timeout.as_secs()
        ));
    }
    output::emit(&report, format)?;
    Ok(if report.ready {
        Exit::Ok
    } else {
        Exit::Problems
    })
}
