//! Check 5, capacity: requests (per pod: max(sum of containers, largest init container) +
//! overhead, times replicas — an HPA's minReplicas when one targets the workload, the
//! operator's instance count for custom resources) per namespace and in total, against the
//! nodes' allocatable (`--node-cpu/--node-memory/--nodes`, or the cluster's nodes with
//! `--kubeconfig`). Requests that do not fit are errors; limits that do not fit are warnings.

use crate::model::{arr, str_of, Index, Obj};
use crate::{finding, Ctx, Out};
use serde_json::Value;
use std::collections::BTreeMap;
use wd_core::docs::preflight::{CapacityLine, Severity};

/// A Kubernetes quantity in base units ×1000 (millicores for cpu, milli-bytes for memory),
/// or None when it is not a quantity.
pub fn quantity_milli(q: &str) -> Option<u128> {
    let q = q.trim();
    let (num, suffix) = q.split_at(q.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(q.len()));
    let mult: f64 = match suffix {
        "" => 1.0,
        "m" => 0.001,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        s if s.starts_with('e') || s.starts_with('E') => 10f64.powi(s[1..].parse().ok()?),
        _ => return None,
    };
    let n: f64 = num.parse().ok()?;
    if n < 0.0 {
        return None;
    }
    Some((n * mult * 1000.0).round() as u128)
}

fn q(v: Option<&Value>) -> u128 {
    match v {
        Some(Value::String(s)) => quantity_milli(s).unwrap_or(0),
        Some(Value::Number(n)) => (n.as_f64().unwrap_or(0.0) * 1000.0) as u128,
        _ => 0,
    }
}

/// (cpu milli, memory bytes) of requests and limits of one pod.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Res {
    pub cpu_req: u128,
    pub mem_req: u128,
    pub cpu_lim: u128,
    pub mem_lim: u128,
}

fn container_res(c: &Value) -> Res {
    let r = c.get("resources");
    let req = r.and_then(|r| r.get("requests"));
    let lim = r.and_then(|r| r.get("limits"));
    // A limit without a request defaults the request to the limit.
    let cpu_lim = q(lim.and_then(|l| l.get("cpu")));
    let mem_lim = q(lim.and_then(|l| l.get("memory"))) / 1000;
    let cpu_req = req
        .and_then(|r| r.get("cpu"))
        .map(|v| q(Some(v)))
        .unwrap_or(cpu_lim);
    let mem_req = req
        .and_then(|r| r.get("memory"))
        .map(|v| q(Some(v)) / 1000)
        .unwrap_or(mem_lim);
    Res {
        cpu_req,
        mem_req,
        cpu_lim,
        mem_lim,
    }
}

pub fn pod_res(spec: &Value) -> Res {
    let mut sum = Res::default();
    for c in arr(spec.get("containers")) {
        let r = container_res(c);
        sum.cpu_req += r.cpu_req;
        sum.mem_req += r.mem_req;
        sum.cpu_lim += r.cpu_lim;
        sum.mem_lim += r.mem_lim;
    }
    // Sidecar init containers (restartPolicy Always) run beside the app containers.
    let mut side = Res::default();
    for c in arr(spec.get("initContainers")) {
        let r = container_res(c);
        if str_of(c.get("restartPolicy")) == "Always" {
            side.cpu_req += r.cpu_req;
            side.mem_req += r.mem_req;
            side.cpu_lim += r.cpu_lim;
            side.mem_lim += r.mem_lim;
        } else {
            sum.cpu_req = sum.cpu_req.max(r.cpu_req + side.cpu_req);
            sum.mem_req = sum.mem_req.max(r.mem_req + side.mem_req);
            sum.cpu_lim = sum.cpu_lim.max(r.cpu_lim + side.cpu_lim);
            sum.mem_lim = sum.mem_lim.max(r.mem_lim + side.mem_lim);
        }
    }
    sum.cpu_req += side.cpu_req;
    sum.mem_req += side.mem_req;
    sum.cpu_lim += side.cpu_lim;
    sum.mem_lim += side.mem_lim;
    if let Some(o) = spec.get("overhead") {
        sum.cpu_req += q(o.get("cpu"));
        sum.mem_req += q(o.get("memory")) / 1000;
    }
    sum
}

/// Autoscalers by target (kind, namespace, name): HPAs, and KEDA ScaledObjects (KEDA drives its
/// own HPA from them; the charts render one or the other, never both).
pub fn hpas(ix: &Index) -> BTreeMap<(String, String, String), &Obj> {
    ix.of_kind("HorizontalPodAutoscaler")
        .chain(ix.of_kind("ScaledObject"))
        .filter_map(|(_, h)| {
            let t = h.v.get("spec")?.get("scaleTargetRef")?;
            // KEDA's scaleTargetRef.kind defaults to Deployment
            let kind = match str_of(t.get("kind")) {
                "" if h.kind == "ScaledObject" => "Deployment",
                k => k,
            };
            Some((
                (
                    kind.to_string(),
                    h.namespace.clone(),
                    str_of(t.get("name")).to_string(),
                ),
                h,
            ))
        })
        .collect()
}

/// An autoscaler's lower bound: HPA minReplicas (default 1), ScaledObject minReplicaCount
/// (KEDA's default 0, i.e. scale to zero).
pub fn scaler_min(h: &Obj) -> u64 {
    match h.kind.as_str() {
        "ScaledObject" => {
            h.v.pointer("/spec/minReplicaCount")
                .and_then(|m| m.as_u64())
                .unwrap_or(0)
        }
        _ => {
            h.v.pointer("/spec/minReplicas")
                .and_then(|m| m.as_u64())
                .unwrap_or(1)
        }
    }
}

/// An autoscaler's upper bound: HPA maxReplicas, ScaledObject maxReplicaCount (KEDA's default 100).
pub fn scaler_max(h: &Obj) -> Option<u64> {
    match h.kind.as_str() {
        "ScaledObject" => Some(
            h.v.pointer("/spec/maxReplicaCount")
                .and_then(|m| m.as_u64())
                .unwrap_or(100),
        ),
        _ => h.v.pointer("/spec/maxReplicas").and_then(|m| m.as_u64()),
    }
}

/// Pods a workload runs: an autoscaler's lower bound when one targets it, else spec.replicas (1).
pub fn replicas(ix: &Index, o: &Obj, nodes: u64) -> u64 {
    let h = hpas(ix);
    if let Some(h) = h.get(&(o.kind.clone(), o.namespace.clone(), o.name.clone())) {
        return scaler_min(h);
    }
    match o.kind.as_str() {
        "DaemonSet" => nodes,
        "Job" => {
            o.v.pointer("/spec/parallelism")
                .and_then(|m| m.as_u64())
                .unwrap_or(1)
        }
        "CronJob" => {
            o.v.pointer("/spec/jobTemplate/spec/parallelism")
                .and_then(|m| m.as_u64())
                .unwrap_or(1)
        }
        "Pod" => 1,
        _ => {
            o.v.pointer("/spec/replicas")
                .and_then(|m| m.as_u64())
                .unwrap_or(1)
        }
    }
}

pub fn gib(b: u128) -> String {
    format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64)
}

pub fn check(ctx: &Ctx, out: &mut Out) {
    let ix = ctx.ix;
    let nodes = ctx.opts.nodes.max(1);
    let mut per_ns: BTreeMap<String, Res> = BTreeMap::new();
    let mut total = Res::default();
    let node_cpu = ctx.opts.node_cpu_millis as u128;
    let node_mem = ctx.opts.node_memory_bytes as u128;
    let hpa = hpas(ix);
    for p in &ix.pods {
        let Some(oi) = p.obj else { continue };
        let o = &ix.objs[oi];
        let (res, n) = match &p.spec {
            Some(spec) => {
                let n = match hpa.get(&(o.kind.clone(), o.namespace.clone(), o.name.clone())) {
                    Some(h) => scaler_min(h),
                    None => replicas(ix, o, nodes),
                };
                (pod_res(spec), n)
            }
            None => {
                // operator pods: resources and count from the custom resource's spec
                let Some(rule) = ctx
                    .rules
                    .operators
                    .iter()
                    .find(|r| r.kind == o.kind && r.api_group == o.group())
                else {
                    continue;
                };
                let spec = o.v.get("spec");
                let n = spec
                    .and_then(|s| s.get(&rule.replicas_field))
                    .and_then(|m| m.as_u64())
                    .unwrap_or(1);
                let fake = serde_json::json!({"containers": [{"resources": spec.and_then(|s| s.get(&rule.resources_field)).cloned().unwrap_or(Value::Null)}]});
                (pod_res(&fake), n)
            }
        };
        if res.cpu_req > node_cpu || res.mem_req > node_mem {
            out.findings.push(finding(
                "capacity/pod-too-big",
                Severity::Error,
                vec![p.owner.clone()],
                format!(
                    "one pod of {} requests {}m CPU and {}, more than a node has ({}m, {}): it never schedules",
                    p.label(),
                    res.cpu_req,
                    gib(res.mem_req),
                    node_cpu,
                    gib(node_mem)
                ),
                "lower the pod's requests or use bigger nodes".into(),
            ));
        }
        let e = per_ns.entry(p.namespace.clone()).or_default();
        let n = n as u128;
        for r in [&mut *e, &mut total] {
            r.cpu_req += res.cpu_req * n;
            r.mem_req += res.mem_req * n;
            r.cpu_lim += res.cpu_lim * n;
            r.mem_lim += res.mem_lim * n;
        }
    }
    let cap_cpu = node_cpu * nodes as u128;
    let cap_mem = node_mem * nodes as u128;
    for (ns, r) in &per_ns {
        out.capacity.push(line(ns, r, 0, 0));
    }
    out.capacity.push(line("total", &total, cap_cpu, cap_mem));
    let ns_list = per_ns
        .iter()
        .map(|(n, r)| format!("{n} {}m/{}", r.cpu_req, gib(r.mem_req)))
        .collect::<Vec<_>>()
        .join(", ");
    // (check, severity, over capacity, what, fix)
    let (mem, cpu) = (gib(cap_mem), cap_cpu);
    let rules = [
        ("capacity/memory", Severity::Error, total.mem_req > cap_mem,
         format!("the workloads request memory: needs {}, cluster has {mem} ({ns_list})", gib(total.mem_req)),
         "lower requests/replicas (a lighter profile) or add nodes/memory"),
        ("capacity/cpu", Severity::Error, total.cpu_req > cap_cpu,
         format!("the workloads request CPU: needs {}m, cluster has {cpu}m ({ns_list})", total.cpu_req),
         "lower requests/replicas (a lighter profile) or add nodes/CPU"),
        ("capacity/memory-limits", Severity::Warning, total.mem_lim > cap_mem,
         format!("memory limits add up to {}, the cluster has {mem}: under load pods are OOM-killed or evicted", gib(total.mem_lim)),
         "lower limits or add memory"),
        ("capacity/cpu-limits", Severity::Warning, total.cpu_lim > cap_cpu,
         format!("CPU limits add up to {}m, the cluster has {cpu}m: under load pods are throttled", total.cpu_lim),
         "lower limits or add CPU"),
    ];
    for (check, severity, over, message, fix) in rules {
        if over {
            out.findings
                .push(finding(check, severity, vec![], message, fix.into()));
        }
    }
}

fn line(scope: &str, r: &Res, cpu: u128, mem: u128) -> CapacityLine {
    CapacityLine {
        scope: scope.into(),
        cpu_requests_millis: r.cpu_req as u64,
        memory_requests_bytes: r.mem_req as u64,
        cpu_limits_millis: r.cpu_lim as u64,
        memory_limits_bytes: r.mem_lim as u64,
        cpu_allocatable_millis: cpu as u64,
        memory_allocatable_bytes: mem as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(quantity_milli("100m"), Some(100));
        assert_eq!(quantity_milli("2"), Some(2000));
        assert_eq!(quantity_milli("1Gi").map(|m| m / 1000), Some(1 << 30));
        assert_eq!(quantity_milli("1e3"), Some(1_000_000));
        assert_eq!(quantity_milli("x"), None);
    }

    #[test]
    fn init_containers_count_as_the_max() {
        let spec = serde_json::json!({
            "containers": [{"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}],
            "initContainers": [{"resources": {"requests": {"cpu": "500m", "memory": "16Mi"}}}]
        });
        let r = pod_res(&spec);
        assert_eq!((r.cpu_req, r.mem_req), (500, 64 << 20));
    }
}
