//! Check 2, references: every Secret/ConfigMap (and key) a pod uses through env, envFrom,
//! volumes (secret, configMap, projected) or imagePullSecrets exists in the manifests, is
//! created by an ExternalSecret there, or is planned in the SecretPlan; every PVC,
//! ServiceAccount, PriorityClass and cert-manager (Cluster)Issuer exists or is declared
//! external (`--external KIND/NAME`).

use crate::model::{arr, str_of, Index};
use crate::{finding, Ctx, Out};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use wd_core::docs::preflight::{ObjectRef, Severity};

/// Keys a Secret will have: `Some(keys)` (None inside when any key is possible, e.g. an
/// ExternalSecret's dataFrom), or `None` when nothing creates it. `plan` adds the SecretPlan.
pub fn secret_keys(
    ix: &Index,
    ns: &str,
    name: &str,
    plan: Option<&wd_core::docs::secret_plan::SecretPlan>,
) -> Option<Vec<String>> {
    secret_source(ix, ns, name, plan).map(|(keys, _)| keys.unwrap_or_default())
}

/// (keys or None for "any", what creates it)
fn secret_source(
    ix: &Index,
    ns: &str,
    name: &str,
    plan: Option<&wd_core::docs::secret_plan::SecretPlan>,
) -> Option<(Option<Vec<String>>, String)> {
    if let Some(s) = ix.get("Secret", ns, name) {
        let mut keys: Vec<String> = vec![];
        for f in ["data", "stringData"] {
            if let Some(o) = s.v.get(f).and_then(|d| d.as_object()) {
                keys.extend(o.keys().cloned());
            }
        }
        // A Secret without data in rendered output is filled elsewhere (e.g. a TLS Secret).
        let any = s.v.get("data").is_none() && s.v.get("stringData").is_none();
        return Some(((!any).then_some(keys), format!("Secret {name}")));
    }
    for (_, es) in ix.of_kind("ExternalSecret") {
        if es.namespace != ns {
            continue;
        }
        let spec = es.v.get("spec");
        let target = spec.and_then(|s| s.get("target"));
        let tname = match str_of(target.and_then(|t| t.get("name"))) {
            "" => es.name.as_str(),
            n => n,
        };
        if tname != name {
            continue;
        }
        if spec.and_then(|s| s.get("dataFrom")).is_some() {
            return Some((None, format!("ExternalSecret {}", es.name)));
        }
        let mut keys: Vec<String> = arr(spec.and_then(|s| s.get("data")))
            .iter()
            .map(|d| str_of(d.get("secretKey")).to_string())
            .collect();
        if let Some(t) = target
            .and_then(|t| t.get("template"))
            .and_then(|t| t.get("data"))
            .and_then(|d| d.as_object())
        {
            keys.extend(t.keys().cloned());
        }
        return Some((Some(keys), format!("ExternalSecret {}", es.name)));
    }
    if let Some(p) = plan {
        let keys: Vec<String> = p
            .secrets
            .iter()
            .filter(|s| s.k8s_secret == name)
            .flat_map(|s| std::iter::once(s.k8s_key.clone()).chain(s.k8s_static.keys().cloned()))
            .collect();
        if !keys.is_empty() {
            return Some((Some(keys), "the SecretPlan".into()));
        }
    }
    None
}

fn configmap_keys(ix: &Index, ns: &str, name: &str) -> Option<Vec<String>> {
    let cm = ix.get("ConfigMap", ns, name)?;
    let mut keys = vec![];
    for f in ["data", "binaryData"] {
        if let Some(o) = cm.v.get(f).and_then(|d| d.as_object()) {
            keys.extend(o.keys().cloned());
        }
    }
    Some(keys)
}

/// (key or None for the whole object, optional, who uses it)
type Use = (Option<String>, bool, ObjectRef);

#[derive(Default)]
struct Uses {
    /// (kind, name) → (key or None for the whole object, optional, who uses it)
    by: BTreeMap<(String, String), Vec<Use>>,
}

impl Uses {
    fn add(&mut self, kind: &str, name: &str, key: Option<&str>, optional: bool, who: ObjectRef) {
        if name.is_empty() {
            return;
        }
        self.by
            .entry((kind.into(), name.into()))
            .or_default()
            .push((key.map(str::to_string), optional, who));
    }
}

fn pod_uses(spec: &Value, owner: &ObjectRef, u: &mut Uses) {
    let who = |c: Option<&Value>| {
        let mut r = owner.clone();
        r.container = c.map(|c| str_of(c.get("name")).to_string());
        r
    };
    for c in arr(spec.get("initContainers"))
        .iter()
        .chain(arr(spec.get("containers")))
    {
        for e in arr(c.get("env")) {
            let vf = e.get("valueFrom");
            for (field, kind) in [("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")] {
                if let Some(r) = vf.and_then(|v| v.get(field)) {
                    u.add(
                        kind,
                        str_of(r.get("name")),
                        Some(str_of(r.get("key"))),
                        r.get("optional") == Some(&Value::Bool(true)),
                        who(Some(c)),
                    );
                }
            }
        }
        for f in arr(c.get("envFrom")) {
            for (field, kind) in [("secretRef", "Secret"), ("configMapRef", "ConfigMap")] {
                if let Some(r) = f.get(field) {
                    u.add(
                        kind,
                        str_of(r.get("name")),
                        None,
                        r.get("optional") == Some(&Value::Bool(true)),
                        who(Some(c)),
                    );
                }
            }
        }
    }
    for v in arr(spec.get("volumes")) {
        let mut one = |kind: &str, src: &Value, name_field: &str| {
            let name = str_of(src.get(name_field));
            let opt = src.get("optional") == Some(&Value::Bool(true));
            let items = arr(src.get("items"));
            if items.is_empty() {
                u.add(kind, name, None, opt, who(None));
            }
            for it in items {
                u.add(kind, name, Some(str_of(it.get("key"))), opt, who(None));
            }
        };
        if let Some(s) = v.get("secret") {
            one("Secret", s, "secretName");
        }
        if let Some(s) = v.get("configMap") {
            one("ConfigMap", s, "name");
        }
        for s in arr(v.get("projected").and_then(|p| p.get("sources"))) {
            if let Some(x) = s.get("secret") {
                one("Secret", x, "name");
            }
            if let Some(x) = s.get("configMap") {
                one("ConfigMap", x, "name");
            }
        }
        if let Some(p) = v.get("persistentVolumeClaim") {
            u.add(
                "PersistentVolumeClaim",
                str_of(p.get("claimName")),
                None,
                false,
                who(None),
            );
        }
    }
    for s in arr(spec.get("imagePullSecrets")) {
        u.add("Secret", str_of(s.get("name")), None, false, who(None));
    }
    match str_of(spec.get("serviceAccountName")) {
        "" | "default" => {}
        n => u.add("ServiceAccount", n, None, false, who(None)),
    }
    match str_of(spec.get("priorityClassName")) {
        "" | "system-cluster-critical" | "system-node-critical" => {}
        n => u.add("PriorityClass", n, None, false, who(None)),
    }
}

pub fn check(ctx: &Ctx, out: &mut Out) {
    let ix = ctx.ix;
    // per namespace
    let mut per_ns: BTreeMap<String, Uses> = BTreeMap::new();
    for p in &ix.pods {
        if let Some(spec) = &p.spec {
            pod_uses(
                spec,
                &p.owner,
                per_ns.entry(p.namespace.clone()).or_default(),
            );
        }
    }
    // cert-manager issuers named by Ingresses and Certificates; TLS Secrets cert-manager creates
    let mut cm_created: BTreeSet<(String, String)> = BTreeSet::new();
    for (_, o) in ix
        .objs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.kind == "Ingress")
    {
        let u = per_ns.entry(o.namespace.clone()).or_default();
        let ci = o.annotations.get("cert-manager.io/cluster-issuer");
        let is = o.annotations.get("cert-manager.io/issuer");
        if let Some(n) = ci {
            u.add("ClusterIssuer", n, None, false, o.r());
        }
        if let Some(n) = is {
            u.add("Issuer", n, None, false, o.r());
        }
        for t in arr(o.v.get("spec").and_then(|s| s.get("tls"))) {
            let sn = str_of(t.get("secretName"));
            if ci.is_some() || is.is_some() {
                cm_created.insert((o.namespace.clone(), sn.to_string()));
            } else {
                u.add("Secret", sn, None, false, o.r());
            }
        }
    }
    for (ns, uses) in per_ns {
        for ((kind, name), list) in uses.by {
            let external = ctx.opts.external.iter().any(|e| {
                e.eq_ignore_ascii_case(&format!("{kind}/{name}"))
                    || e.eq_ignore_ascii_case(&format!("{kind}/{ns}/{name}"))
            });
            if external || list.iter().all(|(_, opt, _)| *opt) {
                continue;
            }
            let who: Vec<ObjectRef> = {
                let mut v: Vec<ObjectRef> = list.iter().map(|(_, _, w)| w.clone()).collect();
                v.sort();
                v.dedup();
                v
            };
            let users = who
                .iter()
                .map(|w| {
                    format!(
                        "{}/{}{}",
                        w.object_kind,
                        w.name,
                        w.container
                            .as_ref()
                            .map(|c| format!(" [{c}]"))
                            .unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let keys: Option<Option<Vec<String>>> = match kind.as_str() {
                "Secret" => {
                    if cm_created.contains(&(ns.clone(), name.clone())) {
                        continue;
                    }
                    secret_source(ix, &ns, &name, ctx.secret_plan).map(|(k, _)| k)
                }
                "ConfigMap" => configmap_keys(ix, &ns, &name).map(Some),
                "ClusterIssuer" | "PriorityClass" => ix.get(&kind, "", &name).map(|_| None),
                k => ix.get(k, &ns, &name).map(|_| None),
            };
            match keys {
                None => out.findings.push(finding(
                    "references/missing",
                    Severity::Error,
                    who.clone(),
                    format!(
                        "{kind} {}{name} is used by {users} but nothing in the manifests creates it{}",
                        if kind == "ClusterIssuer" || kind == "PriorityClass" { String::new() } else { format!("{ns}/") },
                        if kind == "Secret" { " (no Secret, no ExternalSecret, not in the SecretPlan)" } else { "" }
                    ),
                    match kind.as_str() {
                        "Secret" => format!("create it with an ExternalSecret (enable externalSecrets with the SecretPlan's secrets), or pass --external Secret/{name} if the platform creates it"),
                        "ClusterIssuer" | "Issuer" => format!("install the issuer with the platform and pass --external {kind}/{name}"),
                        _ => format!("add the {kind} to the manifests, or pass --external {kind}/{name}"),
                    },
                )),
                Some(Some(have)) => {
                    let mut missing: BTreeMap<String, Vec<ObjectRef>> = BTreeMap::new();
                    for (key, opt, w) in &list {
                        if let Some(k) = key {
                            if !opt && !have.contains(k) {
                                missing.entry(k.clone()).or_default().push(w.clone());
                            }
                        }
                    }
                    for (k, ws) in missing {
                        out.findings.push(finding(
                            "references/missing-key",
                            Severity::Error,
                            ws,
                            format!("{kind} {ns}/{name} has no key {k:?} (it has: {}), but a pod reads it", have.join(", ")),
                            format!("add key {k} where the {kind} is created, or read an existing key"),
                        ));
                    }
                }
                Some(None) => {}
            }
        }
    }
}
