//! Check 4, Pod Security Standards v1.30 (<https://kubernetes.io/docs/concepts/security/pod-security-standards/>):
//! every baseline and restricted control, on containers, init containers and ephemeral
//! containers, against the level of the pod's namespace (its Namespace object's
//! `pod-security.kubernetes.io/enforce` label, else `--pss-level`): errors; and against a
//! stricter `audit`/`warn` label of the namespace: warnings (the pod is admitted, then reported).

use crate::model::{arr, str_of};
use crate::{finding, Ctx, Out};
use serde_json::Value;
use wd_core::docs::preflight::{ObjectRef, Severity};

const BASELINE_CAPS: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
const SELINUX_TYPES: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];
const RESTRICTED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "privileged" => Some(Level::Privileged),
            "baseline" => Some(Level::Baseline),
            "restricted" => Some(Level::Restricted),
            _ => None,
        }
    }
}

/// A violation: rule id, the container (None: pod level), detail.
type V = (&'static str, Option<String>, String);

fn b(v: Option<&Value>) -> Option<bool> {
    v.and_then(|v| v.as_bool())
}

pub fn violations(pod: &Value, annotations: &crate::model::Labels, level: Level) -> Vec<V> {
    let mut out: Vec<V> = vec![];
    if level == Level::Privileged {
        return out;
    }
    let psc = pod.get("securityContext");
    let windows = str_of(pod.get("os").and_then(|o| o.get("name"))) == "windows";
    let containers: Vec<&Value> = arr(pod.get("initContainers"))
        .iter()
        .chain(arr(pod.get("containers")))
        .chain(arr(pod.get("ephemeralContainers")))
        .collect();
    // --- baseline ---
    let host_process = |sc: Option<&Value>| {
        b(sc.and_then(|s| s.get("windowsOptions"))
            .and_then(|w| w.get("hostProcess")))
            == Some(true)
    };
    if host_process(psc) {
        out.push((
            "baseline/host-process",
            None,
            "securityContext.windowsOptions.hostProcess is true".into(),
        ));
    }
    for f in ["hostNetwork", "hostPID", "hostIPC"] {
        if b(pod.get(f)) == Some(true) {
            out.push(("baseline/host-namespaces", None, format!("{f} is true")));
        }
    }
    for v in arr(pod.get("volumes")) {
        if v.get("hostPath").is_some() {
            out.push((
                "baseline/host-path",
                None,
                format!("volume {} is a hostPath", str_of(v.get("name"))),
            ));
        }
    }
    for s in arr(psc.and_then(|s| s.get("sysctls"))) {
        let n = str_of(s.get("name"));
        if !SAFE_SYSCTLS.contains(&n) {
            out.push((
                "baseline/sysctls",
                None,
                format!("sysctl {n} is not in the safe set"),
            ));
        }
    }
    let selinux = |sc: Option<&Value>, who: Option<String>, out: &mut Vec<V>| {
        if let Some(o) = sc.and_then(|s| s.get("seLinuxOptions")) {
            let t = str_of(o.get("type"));
            if !SELINUX_TYPES.contains(&t) {
                out.push((
                    "baseline/selinux",
                    who.clone(),
                    format!("seLinuxOptions.type {t} is not allowed"),
                ));
            }
            if !str_of(o.get("user")).is_empty() || !str_of(o.get("role")).is_empty() {
                out.push((
                    "baseline/selinux",
                    who,
                    "seLinuxOptions.user/role must not be set".into(),
                ));
            }
        }
    };
    selinux(psc, None, &mut out);
    let seccomp_type = |sc: Option<&Value>| {
        sc.and_then(|s| s.get("seccompProfile"))
            .map(|p| str_of(p.get("type")).to_string())
    };
    if seccomp_type(psc).as_deref() == Some("Unconfined") {
        out.push((
            "baseline/seccomp",
            None,
            "seccompProfile.type is Unconfined".into(),
        ));
    }
    let apparmor = |sc: Option<&Value>| {
        sc.and_then(|s| s.get("appArmorProfile"))
            .map(|p| str_of(p.get("type")).to_string())
    };
    if let Some(t) = apparmor(psc) {
        if t != "RuntimeDefault" && t != "Localhost" {
            out.push((
                "baseline/apparmor",
                None,
                format!("appArmorProfile.type {t} is not allowed"),
            ));
        }
    }
    for (k, v) in annotations {
        if let Some(c) = k.strip_prefix("container.apparmor.security.beta.kubernetes.io/") {
            if v != "runtime/default" && !v.starts_with("localhost/") {
                out.push((
                    "baseline/apparmor",
                    Some(c.to_string()),
                    format!("AppArmor annotation {v} is not allowed"),
                ));
            }
        }
    }
    let pod_non_root = b(psc.and_then(|s| s.get("runAsNonRoot")));
    let pod_user = psc
        .and_then(|s| s.get("runAsUser"))
        .and_then(|u| u.as_i64());
    let pod_seccomp = seccomp_type(psc);
    for c in &containers {
        let name = Some(str_of(c.get("name")).to_string());
        let sc = c.get("securityContext");
        if host_process(sc) {
            out.push((
                "baseline/host-process",
                name.clone(),
                "windowsOptions.hostProcess is true".into(),
            ));
        }
        if b(sc.and_then(|s| s.get("privileged"))) == Some(true) {
            out.push((
                "baseline/privileged",
                name.clone(),
                "privileged is true".into(),
            ));
        }
        let caps = sc.and_then(|s| s.get("capabilities"));
        for cap in arr(caps.and_then(|c| c.get("add"))) {
            let cap = cap.as_str().unwrap_or("");
            if !BASELINE_CAPS.contains(&cap) {
                out.push((
                    "baseline/capabilities",
                    name.clone(),
                    format!("adds capability {cap}"),
                ));
            }
        }
        for p in arr(c.get("ports")) {
            if p.get("hostPort").and_then(|h| h.as_i64()).unwrap_or(0) != 0 {
                out.push((
                    "baseline/host-ports",
                    name.clone(),
                    format!("hostPort {}", p["hostPort"]),
                ));
            }
        }
        selinux(sc, name.clone(), &mut out);
        match str_of(sc.and_then(|s| s.get("procMount"))) {
            "" | "Default" => {}
            m => out.push((
                "baseline/proc-mount",
                name.clone(),
                format!("procMount {m}"),
            )),
        }
        let cs = seccomp_type(sc);
        if cs.as_deref() == Some("Unconfined") {
            out.push((
                "baseline/seccomp",
                name.clone(),
                "seccompProfile.type is Unconfined".into(),
            ));
        }
        if let Some(t) = apparmor(sc) {
            if t != "RuntimeDefault" && t != "Localhost" {
                out.push((
                    "baseline/apparmor",
                    name.clone(),
                    format!("appArmorProfile.type {t} is not allowed"),
                ));
            }
        }
        if level < Level::Restricted {
            continue;
        }
        // --- restricted ---
        if b(sc.and_then(|s| s.get("allowPrivilegeEscalation"))) != Some(false) && !windows {
            out.push((
                "restricted/privilege-escalation",
                name.clone(),
                "allowPrivilegeEscalation is not false".into(),
            ));
        }
        let non_root = b(sc.and_then(|s| s.get("runAsNonRoot"))).or(pod_non_root);
        if non_root != Some(true) {
            out.push((
                "restricted/run-as-non-root",
                name.clone(),
                "runAsNonRoot is not true (pod or container)".into(),
            ));
        }
        if sc.and_then(|s| s.get("runAsUser")).and_then(|u| u.as_i64()) == Some(0) {
            out.push((
                "restricted/run-as-user",
                name.clone(),
                "runAsUser is 0".into(),
            ));
        }
        let eff = cs.or_else(|| pod_seccomp.clone());
        if !windows && !matches!(eff.as_deref(), Some("RuntimeDefault") | Some("Localhost")) {
            out.push((
                "restricted/seccomp",
                name.clone(),
                "seccompProfile.type must be RuntimeDefault or Localhost (pod or container)".into(),
            ));
        }
        if !windows {
            let drops_all = arr(caps.and_then(|c| c.get("drop")))
                .iter()
                .any(|d| d.as_str() == Some("ALL"));
            if !drops_all {
                out.push((
                    "restricted/capabilities",
                    name.clone(),
                    "capabilities.drop does not include ALL".into(),
                ));
            }
            for cap in arr(caps.and_then(|c| c.get("add"))) {
                if cap.as_str() != Some("NET_BIND_SERVICE") {
                    out.push((
                        "restricted/capabilities",
                        name.clone(),
                        format!(
                            "adds capability {} (only NET_BIND_SERVICE)",
                            cap.as_str().unwrap_or("")
                        ),
                    ));
                }
            }
        }
    }
    if level == Level::Restricted {
        if pod_user == Some(0) {
            out.push((
                "restricted/run-as-user",
                None,
                "securityContext.runAsUser is 0".into(),
            ));
        }
        for v in arr(pod.get("volumes")) {
            if let Some(o) = v.as_object() {
                if let Some(t) = o
                    .keys()
                    .find(|k| *k != "name" && !RESTRICTED_VOLUMES.contains(&k.as_str()))
                {
                    out.push((
                        "restricted/volume-types",
                        None,
                        format!("volume {} is of type {t}", str_of(v.get("name"))),
                    ));
                }
            }
        }
    }
    out
}

pub fn check(ctx: &Ctx, out: &mut Out) {
    let ix = ctx.ix;
    for p in &ix.pods {
        let (Some(spec), Some(oi)) = (&p.spec, p.obj) else {
            continue;
        };
        let ns = ix.get("Namespace", "", &p.namespace);
        let label = |mode: &str| {
            ns.and_then(|n| n.labels.get(&format!("pod-security.kubernetes.io/{mode}")))
                .and_then(|l| Level::parse(l))
        };
        let level = label("enforce").unwrap_or(ctx.opts.pss_level);
        // audit/warn above enforce: the API server admits the pod, then audits and warns.
        let reported: Vec<&str> = ["audit", "warn"]
            .into_iter()
            .filter(|m| label(m).is_some_and(|l| l > level))
            .collect();
        let report_level = reported.iter().filter_map(|m| label(m)).max();
        let o = &ix.objs[oi];
        let tmpl_ann = match o.kind.as_str() {
            "Pod" => o.annotations.clone(),
            "CronJob" => crate::model::labels_of(
                o.v.pointer("/spec/jobTemplate/spec/template/metadata/annotations"),
            ),
            _ => crate::model::labels_of(o.v.pointer("/spec/template/metadata/annotations")),
        };
        let enforced = violations(spec, &tmpl_ann, level);
        emit(out, p, level, &enforced, None);
        if let Some(r) = report_level {
            let only: Vec<V> = violations(spec, &tmpl_ann, r)
                .into_iter()
                .filter(|v| !enforced.contains(v))
                .collect();
            emit(out, p, r, &only, Some(&reported.join("/")));
        }
    }
}

/// One finding per rule: an error at the enforced level, a warning at an audit/warn level.
fn emit(out: &mut Out, p: &crate::model::Pod, level: Level, vs: &[V], modes: Option<&str>) {
    let mut by_rule: std::collections::BTreeMap<&str, Vec<(Option<String>, String)>> =
        Default::default();
    for (rule, c, d) in vs {
        by_rule
            .entry(rule)
            .or_default()
            .push((c.clone(), d.clone()));
    }
    let lvl = format!("{level:?}").to_lowercase();
    for (rule, vs) in by_rule {
        let mut objs: Vec<ObjectRef> = vs
            .iter()
            .map(|(c, _)| ObjectRef {
                container: c.clone(),
                ..p.owner.clone()
            })
            .collect();
        objs.dedup();
        let detail = vs
            .iter()
            .map(|(c, d)| match c {
                Some(c) => format!("{c}: {d}"),
                None => format!("pod: {d}"),
            })
            .collect::<Vec<_>>()
            .join("; ");
        let (severity, message) = match modes {
            None => (
                Severity::Error,
                format!(
                    "{} violates Pod Security {lvl} of namespace {} ({detail}): the API server rejects its pods",
                    p.label(),
                    p.namespace
                ),
            ),
            Some(m) => (
                Severity::Warning,
                format!(
                    "{} violates Pod Security {lvl} ({m} label) of namespace {} ({detail}): admitted, but the API server will {}",
                    p.label(),
                    p.namespace,
                    if m.contains("warn") { "warn on every apply" } else { "audit it" }
                ),
            ),
        };
        out.findings.push(finding(
            &format!("pod-security/{rule}"),
            severity,
            objs,
            message,
            "set the securityContext the rule asks for (see the Pod Security Standards v1.30), or label the namespace with a lower level".into(),
        ));
    }
}
