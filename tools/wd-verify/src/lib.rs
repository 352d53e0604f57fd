//! wd-verify: proves that a rendered deployment works as a whole before anything is applied.
//!
//! Input: rendered manifests (`helm template` output), optionally wd-render's RenderPlan and
//! SecretPlan, and the scenario's `verify:` rules (`config/scenarios/<name>.yaml`). Output: a
//! `PreflightReport` (wd/v1) with one finding per broken thing. Six checks, one module each:
//! [`calls`] (call paths, incl. [`netpol`] semantics), [`refs`], [`images`], [`pss`],
//! [`capacity`], [`rollout`] (with the scenario's required env). [`model`] indexes the objects.
//!
//! The platform around the manifests is pods the index adds from the rules: the ingress
//! controller, DNS, Prometheus, the blackbox exporter, ACME solvers and the scenario's
//! `platformServices` (the OTel Collector, Vault). A platform service may also call into the
//! manifests while a kind exists there (Vault's database engine → Postgres while
//! VaultDynamicSecrets exist), and be called through a URL no manifest shows, inside a mounted
//! Secret (`secretCallers`, named by their config/secrets.yaml name: [`secret_refs`]), so the
//! NetworkPolicies that open those paths are judged like any other.
//!
//! Not for: linting single objects (kubeconform, checkov do that), or talking to a cluster
//! except to read node allocatable with `--kubeconfig`.
//!
//! Manifests are read as `serde_json::Value` trees, not k8s-openapi types: the checks read a
//! few fields of many kinds incl. custom resources without Rust types (ExternalSecret, CNPG
//! Cluster), and an unknown field must not make a valid manifest unreadable.

pub mod calls;
pub mod capacity;
pub mod images;
pub mod model;
pub mod netpol;
pub mod pss;
pub mod refs;
pub mod rollout;

use std::collections::BTreeMap;
use wd_core::docs::preflight::{
    CallPath, CapacityLine, Finding, ObjectRef, PreflightReport, PreflightSummary, Severity,
};
use wd_core::docs::render_plan::RenderPlan;
use wd_core::docs::secret_plan::SecretPlan;
use wd_core::scenario::VerifyRules;

/// Everything the orchestrator tells wd-verify about the platform around the manifests.
#[derive(Debug, Clone)]
pub struct Options {
    /// Domains the platform resolves in-cluster to the ingress controller (CoreDNS rewrite).
    pub resolve_public: Vec<String>,
    /// Extra self-signed/CA ClusterIssuers (besides the scenario's).
    pub self_signed_issuers: Vec<String>,
    /// `KIND/NAME` (or `KIND/NAMESPACE/NAME`) created outside the manifests.
    pub external: Vec<String>,
    pub local_images: Vec<String>,
    pub built_images: Vec<String>,
    pub pss_level: pss::Level,
    pub node_cpu_millis: u64,
    pub node_memory_bytes: u64,
    pub nodes: u64,
    pub strict: bool,
    /// Namespace of objects without one (helm's release namespace).
    pub namespace: String,
    pub cluster_domain: String,
    /// The Kubernetes Secret and key of each planned secret the rules name
    /// (`platformServices[].secretCallers`), from config/secrets.yaml: [`secret_refs`].
    pub secret_refs: Vec<wd_core::scenario::SecretRef>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            resolve_public: vec![],
            self_signed_issuers: vec![],
            external: vec![],
            local_images: vec![],
            built_images: vec![],
            pss_level: pss::Level::Restricted,
            node_cpu_millis: 4000,
            node_memory_bytes: 8 << 30,
            nodes: 1,
            strict: false,
            namespace: "default".into(),
            cluster_domain: "cluster.local".into(),
            secret_refs: vec![],
        }
    }
}

pub struct Ctx<'a> {
    pub ix: &'a model::Index,
    pub rules: &'a VerifyRules,
    pub opts: &'a Options,
    pub secret_plan: Option<&'a SecretPlan>,
    pub render_plan: Option<&'a RenderPlan>,
}

impl Ctx<'_> {
    pub fn self_signed(&self) -> impl Iterator<Item = &String> {
        self.rules
            .self_signed_issuers
            .iter()
            .chain(self.opts.self_signed_issuers.iter())
    }
}

#[derive(Default)]
pub struct Out {
    pub findings: Vec<Finding>,
    pub calls: Vec<CallPath>,
    pub capacity: Vec<CapacityLine>,
}

pub fn finding(
    check: &str,
    severity: Severity,
    objects: Vec<ObjectRef>,
    message: String,
    fix: String,
) -> Finding {
    Finding {
        check: check.into(),
        severity,
        objects,
        message,
        fix,
    }
}

/// RenderPlan URLs whose host no Ingress serves (the users would get 404s).
fn render_plan_urls(ctx: &Ctx, out: &mut Out) {
    let Some(plan) = ctx.render_plan else { return };
    let hosts: std::collections::HashSet<&str> = ctx
        .ix
        .of_kind("Ingress")
        .flat_map(|(_, o)| {
            model::arr(o.v.get("spec").and_then(|s| s.get("rules")))
                .iter()
                .map(|r| model::str_of(r.get("host")))
        })
        .collect();
    if hosts.is_empty() {
        return;
    }
    for u in &plan.urls {
        if let Some((_, host, _)) = calls::parse_target(&u.url, "https") {
            if !hosts.contains(host.as_str()) {
                out.findings.push(finding(
                    "call-path/public-url",
                    Severity::Warning,
                    vec![],
                    format!(
                        "the RenderPlan publishes {} ({}) but no Ingress serves host {host}",
                        u.url, u.role
                    ),
                    "enable the component's Ingress, or render with the host the Ingress uses"
                        .into(),
                ));
            }
        }
    }
}

/// Runs every check on parsed manifests.
pub fn verify(
    objs: Vec<model::Obj>,
    scenario: &str,
    rules: &VerifyRules,
    opts: &Options,
    secret_plan: Option<&SecretPlan>,
    render_plan: Option<&RenderPlan>,
) -> PreflightReport {
    let n = objs.len();
    let ix = model::Index::build(
        objs,
        &rules.operators,
        rules.ingress_controller.as_ref(),
        rules.dns.as_ref(),
        [rules.prometheus.as_ref(), rules.blackbox.as_ref()],
        rules.acme_solver.as_ref(),
        &rules.platform_services,
    );
    let ctx = Ctx {
        ix: &ix,
        rules,
        opts,
        secret_plan,
        render_plan,
    };
    let mut out = Out::default();
    calls::check(&ctx, &mut out);
    render_plan_urls(&ctx, &mut out);
    refs::check(&ctx, &mut out);
    images::check(&ctx, &mut out);
    pss::check(&ctx, &mut out);
    capacity::check(&ctx, &mut out);
    rollout::check(&ctx, &mut out);
    out.findings
        .sort_by(|a, b| (a.severity, &a.check).cmp(&(b.severity, &b.check)));
    let errors = out
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count() as u32;
    let mut by_check = BTreeMap::new();
    for f in &out.findings {
        *by_check.entry(f.check.clone()).or_insert(0u32) += 1;
    }
    PreflightReport {
        scenario: scenario.into(),
        ok: errors == 0,
        summary: PreflightSummary {
            objects: n as u32,
            ignored_kinds: ix.ignored.clone(),
            errors,
            warnings: out.findings.len() as u32 - errors,
            by_check,
        },
        findings: out.findings,
        calls: out.calls,
        capacity: out.capacity,
        ..Default::default()
    }
}

/// The Kubernetes Secret and key of every planned secret the rules name, from
/// `<config_dir>/secrets.yaml` (the one home of those names); a name it lacks is bad input.
pub fn secret_refs(
    rules: &VerifyRules,
    config_dir: &std::path::Path,
) -> wd_core::WdResult<Vec<wd_core::scenario::SecretRef>> {
    let mut out: Vec<wd_core::scenario::SecretRef> = vec![];
    for sc in rules
        .platform_services
        .iter()
        .flat_map(|p| p.secret_callers.iter())
    {
        if !out.iter().any(|r| r.name == sc.secret) {
            out.push(wd_core::scenario::secret_ref(config_dir, &sc.secret)?);
        }
    }
    Ok(out)
}

/// Parses `8Gi` / `4` / `500m` for the node flags.
pub fn parse_quantity(flag: &str, s: &str, memory: bool) -> wd_core::WdResult<u64> {
    capacity::quantity_milli(s)
        .map(|m| if memory { (m / 1000) as u64 } else { m as u64 })
        .ok_or_else(|| {
            wd_core::WdError::input(format!(
                "{flag}: {s:?} is not a Kubernetes quantity; write e.g. 8Gi or 4"
            ))
        })
}
