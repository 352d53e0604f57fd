//! Check 6, rollout safety, and the scenario's required environment:
//! - more than one replica (or an HPA) on a workload whose sessions are per process (the
//!   scenario's `sessions`), unless the env var or config setting that shares them is present;
//! - a PodDisruptionBudget whose minAvailable reaches the replicas (or maxUnavailable 0) blocks
//!   every node drain;
//! - `requiredEnv`: a container of an image that needs env it lacks.

use crate::calls::{container_env, scan_pairs};
use crate::capacity::{hpas, replicas};
use crate::images::{repo_matches, split};
use crate::model::{arr, str_of, Index, Pod, Selector};
use crate::{finding, Ctx, Out};
use wd_core::docs::preflight::{ObjectRef, Severity};

fn containers_of<'a>(p: &'a Pod, image: &str) -> Vec<&'a serde_json::Value> {
    let Some(spec) = &p.spec else { return vec![] };
    arr(spec.get("containers"))
        .iter()
        .filter(|c| repo_matches(image, &split(str_of(c.get("image"))).0))
        .collect()
}

/// Files of the ConfigMaps a pod mounts: (file name, text).
fn mounted_files(ix: &Index, p: &Pod) -> Vec<(String, String)> {
    let Some(spec) = &p.spec else { return vec![] };
    let mut out = vec![];
    for v in arr(spec.get("volumes")) {
        let mut names = vec![];
        if let Some(cm) = v.get("configMap") {
            names.push(str_of(cm.get("name")));
        }
        for s in arr(v.get("projected").and_then(|p| p.get("sources"))) {
            if let Some(cm) = s.get("configMap") {
                names.push(str_of(cm.get("name")));
            }
        }
        for n in names {
            if let Some(cm) = ix.get("ConfigMap", &p.namespace, n) {
                for (f, t) in
                    cm.v.get("data")
                        .and_then(|d| d.as_object())
                        .into_iter()
                        .flatten()
                {
                    out.push((f.clone(), t.as_str().unwrap_or("").to_string()));
                }
            }
        }
    }
    out
}

pub fn check(ctx: &Ctx, out: &mut Out) {
    let ix = ctx.ix;
    let hpa = hpas(ix);
    for p in &ix.pods {
        let Some(oi) = p.obj else { continue };
        let o = &ix.objs[oi];
        if p.spec.is_none() {
            continue;
        }
        let h = hpa.get(&(o.kind.clone(), o.namespace.clone(), o.name.clone()));
        let n = replicas(ix, o, ctx.opts.nodes);
        let max = h.and_then(|h| crate::capacity::scaler_max(h)).unwrap_or(n);
        for rule in &ctx.rules.sessions {
            let cs = containers_of(p, &rule.image);
            if cs.is_empty() || (n <= 1 && max <= 1) {
                continue;
            }
            let env_shared = cs.iter().any(|c| {
                container_env(ix, &p.namespace, c)
                    .iter()
                    .any(|(k, v)| rule.shared_when_env.contains(k) && v.as_deref() != Some(""))
            });
            let files = mounted_files(ix, p);
            let cfg_shared = rule.shared_when_config.iter().any(|s| {
                files.iter().any(|(f, t)| {
                    f == &s.file
                        && scan_pairs(t)
                            .iter()
                            .any(|(k, v)| k == &s.key && v == &s.value)
                })
            });
            if env_shared || cfg_shared {
                continue;
            }
            let mut objs = vec![o.r()];
            if let Some(h) = h {
                objs.push(h.r());
            }
            out.findings.push(finding(
                "rollout/per-process-sessions",
                Severity::Error,
                objs,
                format!(
                    "{} runs {} replicas{} but {}: requests that land on another pod lose the session",
                    p.label(),
                    n,
                    h.map(|_| format!(" (HPA up to {max})")).unwrap_or_default(),
                    rule.why
                ),
                rule.fix.clone(),
            ));
        }
        for rule in &ctx.rules.required_env {
            for c in containers_of(p, &rule.image) {
                let env = container_env(ix, &p.namespace, c);
                let opaque_env_from = arr(c.get("envFrom")).iter().any(|f| {
                    f.get("secretRef").is_some_and(|r| {
                        crate::refs::secret_keys(ix, &p.namespace, str_of(r.get("name")), None)
                            .is_none()
                    })
                });
                for (k, want) in &rule.env {
                    let have = env.iter().rev().find(|(n, _)| n == k);
                    let problem = match (have, want) {
                        (None, _) if opaque_env_from => None,
                        (None, _) => Some(format!("{k} is not set")),
                        (Some((_, Some(v))), Some(w)) if v != w => {
                            Some(format!("{k} is {v:?}, needs {w:?}"))
                        }
                        (Some((_, Some(v))), None) if v.is_empty() => Some(format!("{k} is empty")),
                        _ => None,
                    };
                    if let Some(pr) = problem {
                        out.findings.push(finding(
                            "config/missing-env",
                            Severity::Error,
                            vec![ObjectRef {
                                container: Some(str_of(c.get("name")).to_string()),
                                ..p.owner.clone()
                            }],
                            format!("{}: {pr}; {}", p.label(), rule.why),
                            match want {
                                Some(w) => format!("set env {k}={w} on the container"),
                                None => format!("set env {k} on the container"),
                            },
                        ));
                    }
                }
            }
        }
    }
    for (_, pdb) in ix.of_kind("PodDisruptionBudget") {
        let spec = pdb.v.get("spec");
        let sel = spec
            .and_then(|s| s.get("selector"))
            .map(Selector::parse)
            .unwrap_or_default();
        let pods = ix.select(&pdb.namespace, &sel);
        let total: u64 = pods
            .iter()
            .filter_map(|&i| ix.pods[i].obj)
            .filter(|&oi| {
                ix.pods
                    .iter()
                    .any(|p| p.obj == Some(oi) && p.spec.is_some())
            })
            .map(|oi| replicas(ix, &ix.objs[oi], ctx.opts.nodes))
            .sum();
        if pods.is_empty() {
            continue;
        }
        let owners: Vec<ObjectRef> = std::iter::once(pdb.r())
            .chain(pods.iter().map(|&i| ix.pods[i].owner.clone()))
            .collect();
        let min = spec.and_then(|s| s.get("minAvailable")).map(|v| match v {
            serde_json::Value::String(s) if s.ends_with('%') => {
                let pct: u64 = s.trim_end_matches('%').parse().unwrap_or(0);
                (pct * total).div_ceil(100)
            }
            v => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .unwrap_or(0),
        });
        let max_unavail = spec.and_then(|s| s.get("maxUnavailable")).map(|v| match v {
            serde_json::Value::String(s) if s.ends_with('%') => {
                let pct: u64 = s.trim_end_matches('%').parse().unwrap_or(0);
                pct * total / 100
            }
            v => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .unwrap_or(1),
        });
        if let Some(m) = min.filter(|m| *m >= total && total > 0) {
            out.findings.push(finding(
                "rollout/pdb-blocks-drain",
                Severity::Error,
                owners,
                format!("PodDisruptionBudget {} requires minAvailable {m} of {total} pod(s): no pod may ever be evicted, so node drains and upgrades hang", pdb.name),
                "set minAvailable below the replica count (or run more replicas), or use maxUnavailable: 1".into(),
            ));
        } else if max_unavail == Some(0) {
            out.findings.push(finding(
                "rollout/pdb-blocks-drain",
                Severity::Error,
                owners,
                format!("PodDisruptionBudget {} has maxUnavailable 0: no pod may ever be evicted, so node drains hang", pdb.name),
                "use maxUnavailable: 1".into(),
            ));
        }
    }
}
