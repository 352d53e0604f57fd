//! wd-verify: thin CLI over the library (see `--help` and the crate docs).

use clap::Parser;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use wd_core::cli::CommonArgs;
use wd_core::docs::render_plan::RenderPlan;
use wd_core::docs::secret_plan::SecretPlan;
use wd_core::{output, Exit, WdError, WdResult};
use wd_verify::{model, parse_quantity, pss, Options};

/// Prove that a rendered deployment works as a whole before anything is applied: call paths
/// (DNS, Service ports, selectors, TLS trust, NetworkPolicies on both sides), references
/// (Secrets/ConfigMaps and keys, PVCs, ServiceAccounts, issuers), images, Pod Security,
/// capacity, rollout safety. Reads multi-document YAML (`helm template` output) on stdin.
#[derive(Debug, Parser)]
#[command(
    name = "wd-verify",
    version,
    about,
    after_help = "Exit codes: 0 no errors, 1 errors found, 2 bad input or usage, 3 the cluster (--kubeconfig) is unreachable.\nInput limit: 16 MiB / 20000 objects.\nExample: helm template waltid charts/umbrella/waltid -n waltid -f out/helm/values-waltid.yaml | wd-verify --render-plan out/render-plan.json --secret-plan out/secrets/secret-plan.json --resolve-public localtest.me --external ClusterIssuer/selfsigned-ca"
)]
struct Cli {
    /// Rendered manifests (default: stdin).
    #[arg(long, value_name = "FILE")]
    manifests: Option<PathBuf>,
    /// wd-render's RenderPlan (out/render-plan.json): its public URLs must be served.
    #[arg(long, value_name = "FILE")]
    render_plan: Option<PathBuf>,
    /// wd-render's SecretPlan (out/secrets/secret-plan.json): Secrets/keys it plans count as created.
    #[arg(long, value_name = "FILE")]
    secret_plan: Option<PathBuf>,
    /// Scenario whose `verify:` rules apply: a name in config/scenarios/ or a file
    /// (default: the RenderPlan's scenario, else waltid).
    #[arg(long, value_name = "FILE|NAME")]
    scenario: Option<String>,
    /// Config directory (default: $WD_CONFIG_DIR, ./config, or the checkout's).
    #[arg(long, value_name = "DIR")]
    config_dir: Option<PathBuf>,
    /// A domain the platform resolves in-cluster to the ingress controller (repeatable).
    #[arg(long, value_name = "DOMAIN")]
    resolve_public: Vec<String>,
    /// A cert-manager issuer signing with a private CA (repeatable; adds to the scenario's).
    #[arg(long, value_name = "NAME")]
    self_signed_issuer: Vec<String>,
    /// An object created outside the manifests, KIND/NAME or KIND/NAMESPACE/NAME (repeatable).
    #[arg(long, value_name = "KIND/NAME")]
    external: Vec<String>,
    /// An image built from source, REPO[:TAG] (repeatable; adds to the scenario's).
    #[arg(long, value_name = "REPO[:TAG]")]
    local_image: Vec<String>,
    /// An image the orchestrator has built and loaded (repeatable).
    #[arg(long, value_name = "REF")]
    built_image: Vec<String>,
    /// Pod Security level of namespaces without an enforce label.
    #[arg(long, value_name = "LEVEL", default_value = "restricted", value_parser = ["privileged", "baseline", "restricted"])]
    pss_level: String,
    /// Allocatable memory per node.
    #[arg(long, value_name = "QUANTITY", default_value = "8Gi")]
    node_memory: String,
    /// Allocatable CPU per node.
    #[arg(long, value_name = "QUANTITY", default_value = "4")]
    node_cpu: String,
    /// Number of nodes.
    #[arg(long, value_name = "N", default_value_t = 1)]
    nodes: u64,
    /// Read node allocatable from the cluster instead of --node-*.
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// Allowed flows no call uses are errors, not warnings.
    #[arg(long)]
    strict: bool,
    /// Namespace of objects without one (helm's -n).
    #[arg(long, short = 'n', default_value = "default")]
    namespace: String,
    #[command(flatten)]
    common: CommonArgs,
}

fn read_doc<T: wd_core::docs::Document>(p: &Path) -> WdResult<T> {
    wd_core::docs::parse(&wd_core::fsio::read_text(p)?, &p.display().to_string())
}

/// Node count and summed allocatable (cpu millis, memory bytes) from the cluster.
fn cluster_capacity(kubeconfig: &Path) -> WdResult<(u64, u64, u64)> {
    use k8s_openapi::api::core::v1::Node;
    use kube::api::{Api, ListParams};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| WdError::unreachable(format!("cannot start the I/O runtime ({e})")))?;
    rt.block_on(async {
        let c = wd_kube::client(&wd_kube::KubeArgs {
            kubeconfig: Some(kubeconfig.to_path_buf()),
        })
        .await?;
        let nodes: Api<Node> = Api::all(c);
        let list = nodes
            .list(&ListParams::default())
            .await
            .map_err(|e| wd_kube::api_error("list Nodes", &e))?;
        let (mut cpu, mut mem) = (0u64, 0u64);
        for n in &list.items {
            let a = n.status.as_ref().and_then(|s| s.allocatable.as_ref());
            if let Some(a) = a {
                cpu += a
                    .get("cpu")
                    .and_then(|q| wd_verify::capacity::quantity_milli(&q.0))
                    .unwrap_or(0) as u64;
                mem += a
                    .get("memory")
                    .and_then(|q| wd_verify::capacity::quantity_milli(&q.0))
                    .map(|m| m / 1000)
                    .unwrap_or(0) as u64;
            }
        }
        Ok((list.items.len() as u64, cpu, mem))
    })
}

fn run() -> WdResult<Exit> {
    let cli = wd_core::cli::parse::<Cli>();
    let format = cli.common.init();
    let render_plan: Option<RenderPlan> = cli.render_plan.as_deref().map(read_doc).transpose()?;
    let secret_plan: Option<SecretPlan> = cli.secret_plan.as_deref().map(read_doc).transpose()?;
    let config_dir = wd_core::scenario::config_dir(cli.config_dir.as_deref());
    let scenario = cli
        .scenario
        .clone()
        .or_else(|| render_plan.as_ref().map(|p| p.scenario.clone()))
        .unwrap_or_else(|| "waltid".into());
    let scenario_file =
        if scenario.ends_with(".yaml") || scenario.ends_with(".yml") || scenario.contains('/') {
            PathBuf::from(&scenario)
        } else {
            wd_core::scenario::scenario_path(&config_dir, &scenario)?
        };
    let rules = wd_core::scenario::read_verify_rules(&scenario_file)?;
    let secret_refs = wd_verify::secret_refs(&rules, &config_dir).map_err(|e| {
        WdError::input(format!(
            "{}: verify.platformServices secretCallers: {}",
            scenario_file.display(),
            e.message
        ))
    })?;
    let mut opts = Options {
        resolve_public: cli.resolve_public.clone(),
        self_signed_issuers: cli.self_signed_issuer.clone(),
        external: cli.external.clone(),
        local_images: cli.local_image.clone(),
        built_images: cli.built_image.clone(),
        pss_level: pss::Level::parse(&cli.pss_level).unwrap_or(pss::Level::Restricted),
        node_cpu_millis: parse_quantity("--node-cpu", &cli.node_cpu, false)?,
        node_memory_bytes: parse_quantity("--node-memory", &cli.node_memory, true)?,
        nodes: cli.nodes.max(1),
        strict: cli.strict,
        namespace: cli.namespace.clone(),
        secret_refs,
        ..Default::default()
    };
    let (text, source) = match &cli.manifests {
        Some(p) => {
            let meta = std::fs::metadata(p).map_err(|e| {
                WdError::input(format!(
                    "{}: cannot read ({e}); pass the rendered manifests",
                    p.display()
                ))
            })?;
            if meta.len() > model::MAX_BYTES as u64 {
                return Err(WdError::input(format!(
                    "{}: {} bytes is more than wd-verify reads ({} MiB); verify one release at a time",
                    p.display(),
                    meta.len(),
                    model::MAX_BYTES >> 20
                )));
            }
            (wd_core::fsio::read_text(p)?, p.display().to_string())
        }
        None => {
            if std::io::stdin().is_terminal() {
                return Err(WdError::input(
                    "no manifests on stdin; pipe `helm template …` or pass --manifests FILE",
                ));
            }
            use std::io::Read;
            let mut buf = Vec::new();
            std::io::stdin()
                .take(model::MAX_BYTES as u64 + 1)
                .read_to_end(&mut buf)
                .map_err(|e| WdError::input(format!("<stdin>: cannot read ({e})")))?;
            if buf.len() > model::MAX_BYTES {
                return Err(WdError::input(format!(
                    "<stdin>: more than {} MiB of manifests; verify one release at a time",
                    model::MAX_BYTES >> 20
                )));
            }
            let t = String::from_utf8(buf).map_err(|_| {
                WdError::input("<stdin>: not UTF-8 text; pass rendered YAML manifests")
            })?;
            (t, "<stdin>".to_string())
        }
    };
    let objs = model::parse_manifests(&text, &source, &opts.namespace)?;
    if objs.is_empty() {
        return Err(WdError::input(format!(
            "{source}: no Kubernetes objects; pass the output of `helm template`"
        )));
    }
    if let Some(kc) = &cli.kubeconfig {
        let (n, cpu, mem) = cluster_capacity(kc)?;
        if n == 0 {
            return Err(WdError::unreachable(format!(
                "{}: the cluster lists no nodes",
                kc.display()
            )));
        }
        opts.nodes = 1;
        opts.node_cpu_millis = cpu;
        opts.node_memory_bytes = mem;
    }
    let report = wd_verify::verify(
        objs,
        &scenario,
        &rules,
        &opts,
        secret_plan.as_ref(),
        render_plan.as_ref(),
    );
    output::emit(&report, format)?;
    Ok(if report.ok { Exit::Ok } else { Exit::Problems })
}

fn main() -> std::process::ExitCode {
    wd_core::error::run_main("wd-verify", run)
}
