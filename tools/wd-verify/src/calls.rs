//! Check 1, call paths: the calls each workload makes (from env values and the files of the
//! ConfigMaps it mounts, by the scenario's `urlEnv` / `urlKeys` / `fileUrlKeys` /
//! `publishedUrls` / `hostPortKeys`), the ingress controller's calls to Ingress backends,
//! Prometheus's scrapes and the blackbox exporter's probes, and the scenario's platform
//! Services' calls (`platformServices[].calls`: their own pods into the manifests while a kind
//! exists; `secretCallers`: calls to them whose URL is inside a mounted Secret's value); for
//! each, name resolution, Service port, selector and targetPort, TLS trust and NetworkPolicies
//! on both sides (plus DNS egress). Allowed flows no call uses are reported as warnings.

use crate::model::{arr, str_of, Index, IntOrStr, Pod};
use crate::netpol::{End, Policies};
use crate::{finding, Ctx, Out};
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::net::IpAddr;
use wd_core::docs::preflight::{CallPath, ObjectRef, Severity};

/// Where a call goes.
#[derive(Debug, Clone)]
pub enum Target {
    Url {
        scheme: String,
        host: String,
        port: Option<u16>,
    },
    /// A Service port an object routes to: an Ingress backend, or a Service a ServiceMonitor
    /// selects (`via`: that object).
    Backend {
        namespace: String,
        service: String,
        port: IntOrStr,
        via: usize,
    },
    /// A pod the platform starts that has no Service (cert-manager's HTTP-01 solver).
    Pod { pod: usize, port: u16 },
}

#[derive(Debug, Clone)]
pub struct Call {
    pub pod: usize,
    pub container: Option<String>,
    pub raw: String,
    pub source: String,
    pub target: Target,
}

/// `*` at either end globs a prefix or suffix.
pub fn glob(pat: &str, s: &str) -> bool {
    if let Some(p) = pat.strip_prefix('*') {
        s.ends_with(p)
    } else if let Some(p) = pat.strip_suffix('*') {
        s.starts_with(p)
    } else {
        pat == s
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    Some(match scheme {
        "http" | "ws" => 80,
        "https" | "wss" => 443,
        "postgresql" | "postgres" => 5432,
        "redis" | "rediss" => 6379,
        "mysql" => 3306,
        "amqp" => 5672,
        _ => return None,
    })
}

/// Parses a URL (`scheme://user@host:port/path`, `jdbc:postgresql://…`) or `host:port`.
/// Hand-written: JDBC URLs and bare host:port are not URLs the `url` crate accepts as such,
/// and only scheme/host/port are needed. Values whose scheme, host or port is an unexpanded
/// `${…}`/`$(…)` are skipped; in the userinfo it is fine (`redis://:$(REDIS_PASSWORD)@redis:6379`,
/// Kubernetes expands it from another env var at start).
pub fn parse_target(raw: &str, default_scheme: &str) -> Option<(String, String, Option<u16>)> {
    let s = raw.trim();
    if s.is_empty() || s.contains(char::is_whitespace) {
        return None;
    }
    let unexpanded = |t: &str| t.contains("${") || t.contains("$(");
    let s = s.strip_prefix("jdbc:").unwrap_or(s);
    let (scheme, rest) = match s.split_once("://") {
        Some((sc, r)) => (sc.to_ascii_lowercase(), r),
        None => {
            if s.contains('/') || !s.contains(':') {
                return None;
            }
            (default_scheme.to_string(), s)
        }
    };
    // RFC 3986: the authority ends at the first '/', '?' or '#'; userinfo ends at its last '@'.
    let auth = rest.split(['/', '?', '#']).next().unwrap_or("");
    let auth = auth.rsplit('@').next().unwrap_or(auth);
    let auth = auth.split(',').next().unwrap_or(auth);
    if unexpanded(&scheme) || unexpanded(auth) {
        return None;
    }
    let (host, port) = if let Some(r) = auth.strip_prefix('[') {
        let (h, p) = r.split_once(']')?;
        (
            h.to_string(),
            p.strip_prefix(':').and_then(|p| p.parse().ok()),
        )
    } else {
        match auth.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p.parse::<u16>().ok()?)),
            None => (auth.to_string(), None),
        }
    };
    if host.is_empty() {
        return None;
    }
    Some((scheme, host.to_ascii_lowercase(), port))
}

/// `key = value` / `"key": value` pairs of a HOCON, JSON, TOML or properties text, in order.
/// Hand-written: one scanner for the four formats; the `hocon` crate resolves `${…}` and
/// fails on unset variables, and no offsets or raw values survive it.
pub fn scan_pairs(text: &str) -> Vec<(String, String)> {
    let b = text.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    let n = b.len();
    let is_key = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.';
    while i < n {
        let c = b[i];
        if c == b'#' || (c == b'/' && i + 1 < n && b[i + 1] == b'/') {
            while i < n && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        // a key: quoted or bare
        let (key, mut j) = if c == b'"' {
            let mut j = i + 1;
            while j < n && b[j] != b'"' {
                if b[j] == b'\\' {
                    j += 1;
                }
                j += 1;
            }
            if j >= n {
                break;
            }
            (text[i + 1..j].to_string(), j + 1)
        } else if is_key(c) {
            let mut j = i;
            while j < n && is_key(b[j]) {
                j += 1;
            }
            (text[i..j].to_string(), j)
        } else {
            i += 1;
            continue;
        };
        while j < n && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        if j >= n
            || !(b[j] == b'=' || b[j] == b':')
            || (b[j] == b':' && j + 1 < n && b[j + 1] == b'/')
        {
            i = j.max(i + 1);
            continue;
        }
        j += 1;
        while j < n && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        if j < n && b[j] == b'"' {
            let mut k = j + 1;
            let mut val = String::new();
            while k < n && b[k] != b'"' {
                if b[k] == b'\\' && k + 1 < n {
                    k += 1;
                }
                val.push(b[k] as char);
                k += 1;
            }
            // Keep non-ASCII intact: take the slice when there were no escapes.
            let slice = &text[j + 1..k.min(n)];
            let val = if slice.contains('\\') {
                val
            } else {
                slice.to_string()
            };
            out.push((key, val));
            i = k + 1;
        } else {
            let mut k = j;
            while k < n
                && !matches!(
                    b[k],
                    b',' | b'}' | b']' | b'\n' | b'#' | b' ' | b'\t' | b'{' | b'['
                )
            {
                k += 1;
            }
            if k > j {
                out.push((key, text[j..k].to_string()));
            }
            i = k.max(j);
        }
    }
    out
}

/// Env of a container as (name, Some(value) when known): direct values, ConfigMap
/// references resolved from the manifests; `None` for Secrets and unresolvable references.
pub fn container_env(ix: &Index, ns: &str, c: &Value) -> Vec<(String, Option<String>)> {
    let mut out = vec![];
    for f in arr(c.get("envFrom")) {
        let prefix = str_of(f.get("prefix"));
        if let Some(r) = f.get("configMapRef") {
            if let Some(cm) = ix.get("ConfigMap", ns, str_of(r.get("name"))) {
                for (k, v) in
                    cm.v.get("data")
                        .and_then(|d| d.as_object())
                        .into_iter()
                        .flatten()
                {
                    out.push((format!("{prefix}{k}"), v.as_str().map(str::to_string)));
                }
            }
        }
        if let Some(r) = f.get("secretRef") {
            for k in
                crate::refs::secret_keys(ix, ns, str_of(r.get("name")), None).unwrap_or_default()
            {
                out.push((format!("{prefix}{k}"), None));
            }
        }
    }
    for e in arr(c.get("env")) {
        let name = str_of(e.get("name")).to_string();
        if let Some(v) = e.get("value") {
            out.push((
                name,
                Some(
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()),
                ),
            ));
        } else if let Some(r) = e.get("valueFrom").and_then(|v| v.get("configMapKeyRef")) {
            let v = ix
                .get("ConfigMap", ns, str_of(r.get("name")))
                .and_then(|cm| {
                    cm.v.get("data")?
                        .get(str_of(r.get("key")))?
                        .as_str()
                        .map(str::to_string)
                });
            out.push((name, v));
        } else {
            out.push((name, None));
        }
    }
    out
}

fn all_containers(spec: &Value) -> impl Iterator<Item = &Value> {
    arr(spec.get("initContainers"))
        .iter()
        .chain(arr(spec.get("containers")).iter())
}

/// ConfigMap files mounted into a pod: (ConfigMap, its index, container that mounts it).
fn mounted_configmaps<'a>(
    ix: &'a Index,
    pod: &Pod,
    spec: &'a Value,
) -> Vec<(usize, Option<String>)> {
    let mut out = vec![];
    for vol in arr(spec.get("volumes")) {
        let vname = str_of(vol.get("name"));
        let mut cms: Vec<&str> = vec![];
        if let Some(cm) = vol.get("configMap") {
            cms.push(str_of(cm.get("name")));
        }
        for s in arr(vol.get("projected").and_then(|p| p.get("sources"))) {
            if let Some(cm) = s.get("configMap") {
                cms.push(str_of(cm.get("name")));
            }
        }
        // the main container that mounts it, else an init container
        let mounter = arr(spec.get("containers"))
            .iter()
            .chain(arr(spec.get("initContainers")))
            .find(|c| {
                arr(c.get("volumeMounts"))
                    .iter()
                    .any(|m| str_of(m.get("name")) == vname)
            })
            .map(|c| str_of(c.get("name")).to_string());
        for name in cms {
            if let Some(&i) = ix.by_id.get(&(
                "ConfigMap".to_string(),
                pod.namespace.clone(),
                name.to_string(),
            )) {
                out.push((i, mounter.clone()));
            }
        }
    }
    out
}

/// Every call of every workload and of the ingress controller.
pub fn derive(ctx: &Ctx) -> Vec<Call> {
    let ix = ctx.ix;
    let r = ctx.rules;
    let mut calls = vec![];
    // (calling pod, container, URL, source) of URLs other pods publish
    let mut published: Vec<(usize, String, String, String)> = vec![];
    let mut push =
        |pod: usize, container: Option<String>, raw: &str, source: String, default_scheme: &str| {
            if let Some((scheme, host, port)) = parse_target(raw, default_scheme) {
                calls.push(Call {
                    pod,
                    container,
                    raw: raw.to_string(),
                    source,
                    target: Target::Url { scheme, host, port },
                });
            }
        };
    for (pi, pod) in ix.pods.iter().enumerate() {
        let Some(spec) = &pod.spec else { continue };
        for c in all_containers(spec) {
            let cname = str_of(c.get("name")).to_string();
            for (name, val) in container_env(ix, &pod.namespace, c) {
                if let Some(v) = val {
                    if r.url_env.iter().any(|g| glob(g, &name)) {
                        push(pi, Some(cname.clone()), &v, format!("env {name}"), "tcp");
                    }
                }
            }
        }
        for (cm, container) in mounted_configmaps(ix, pod, spec) {
            let o = &ix.objs[cm];
            for (file, text) in
                o.v.get("data")
                    .and_then(|d| d.as_object())
                    .into_iter()
                    .flatten()
            {
                let Some(text) = text.as_str() else { continue };
                let pairs = scan_pairs(text);
                for (k, v) in &pairs {
                    if r.url_keys.iter().any(|g| glob(g, k))
                        || r.file_url_keys
                            .iter()
                            .any(|fk| &fk.file == file && glob(&fk.key, k))
                    {
                        push(
                            pi,
                            container.clone(),
                            v,
                            format!("ConfigMap {}: {file} {k}", o.name),
                            "tcp",
                        );
                    }
                }
                for pu in r.published_urls.iter().filter(|pu| &pu.file == file) {
                    for (k, v) in pairs.iter().filter(|(k, _)| k == &pu.key) {
                        for (ci, callee) in ix.pods.iter().enumerate() {
                            let Some(cspec) = &callee.spec else { continue };
                            for c in arr(cspec.get("containers")) {
                                let repo = crate::images::split(str_of(c.get("image"))).0;
                                if pu
                                    .called_by
                                    .iter()
                                    .any(|cb| crate::images::repo_matches(cb, &repo))
                                {
                                    published.push((
                                        ci,
                                        str_of(c.get("name")).to_string(),
                                        v.clone(),
                                        format!(
                                            "{}: {file} {k} (published by {})",
                                            o.name, pod.owner.name
                                        ),
                                    ));
                                }
                            }
                        }
                    }
                }
                for hp in &r.host_port_keys {
                    if hp.file.as_deref().is_some_and(|f| f != file) {
                        continue;
                    }
                    for (i, (k, v)) in pairs.iter().enumerate() {
                        if k != &hp.host {
                            continue;
                        }
                        let port = pairs[i + 1..]
                            .iter()
                            .take_while(|(k2, _)| k2 != &hp.host)
                            .find(|(k2, _)| k2 == &hp.port)
                            .map(|(_, p)| p.clone());
                        let raw = match port {
                            Some(p) => format!("{}://{v}:{p}", hp.scheme),
                            None => format!("{}://{v}", hp.scheme),
                        };
                        push(
                            pi,
                            container.clone(),
                            &raw,
                            format!("ConfigMap {}: {file} {k}", o.name),
                            &hp.scheme,
                        );
                    }
                }
            }
        }
    }
    for (pi, c, url, source) in published {
        push(pi, Some(c), &url, format!("ConfigMap {source}"), "tcp");
    }
    if let Some(ic) = ix.ingress_controller {
        for &s in &ix.acme_solvers {
            let port = ix.pods[s].ports.first().map(|p| p.port).unwrap_or(8089);
            calls.push(Call {
                pod: ic,
                container: None,
                raw: format!("http://cm-acme-http-solver.{}:{port}", ix.pods[s].namespace),
                source: "cert-manager HTTP-01 challenge (ACME issuer on an Ingress)".into(),
                target: Target::Pod { pod: s, port },
            });
        }
        for (i, o) in ix.of_kind("Ingress") {
            let spec = o.v.get("spec");
            let mut backends: Vec<(String, &Value)> = vec![];
            if let Some(b) = spec.and_then(|s| s.get("defaultBackend")) {
                backends.push(("default backend".into(), b));
            }
            for rule in arr(spec.and_then(|s| s.get("rules"))) {
                let host = str_of(rule.get("host"));
                for p in arr(rule.get("http").and_then(|h| h.get("paths"))) {
                    if let Some(b) = p.get("backend") {
                        backends.push((format!("{host}{}", str_of(p.get("path"))), b));
                    }
                }
            }
            for (what, b) in backends {
                let Some(svc) = b.get("service") else {
                    continue;
                };
                let name = str_of(svc.get("name")).to_string();
                let port = svc
                    .get("port")
                    .and_then(|p| p.get("number").or_else(|| p.get("name")))
                    .and_then(IntOrStr::from)
                    .unwrap_or(IntOrStr::Int(80));
                calls.push(Call {
                    pod: ic,
                    container: None,
                    raw: format!("{name}:{port}"),
                    source: format!("Ingress {} ({what})", o.name),
                    target: Target::Backend {
                        namespace: o.namespace.clone(),
                        service: name,
                        port,
                        via: i,
                    },
                });
            }
        }
    }
    monitoring_calls(ix, &mut calls);
    platform_calls(ctx, &mut calls);
    calls
}

/// The scenario's platform Services: the calls their own pods make into the manifests while
/// their condition holds (`calls`: Vault's database engine → the shared Postgres while
/// VaultDynamicSecret generators exist), and the calls to them whose URL travels inside a
/// mounted Secret's value (`secretCallers`: the issuer → Vault Transit with the TSE key
/// reference the app mounts).
fn platform_calls(ctx: &Ctx, calls: &mut Vec<Call>) {
    let ix = ctx.ix;
    for (ps, &pod) in ctx
        .rules
        .platform_services
        .iter()
        .zip(&ix.platform_services)
    {
        for pc in &ps.calls {
            // namespace → the condition's objects there, in manifest order
            let mut when: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
            for (i, o) in ix.objs.iter().enumerate() {
                if o.is(&pc.when) {
                    when.entry(o.namespace.as_str()).or_default().push(i);
                }
            }
            for (ns, objs) in when {
                let names: Vec<&str> = objs.iter().map(|&i| ix.objs[i].name.as_str()).collect();
                let source = format!("{} {} ({})", pc.when.kind, names.join(", "), pc.why);
                let services: Vec<String> = match &pc.to.of {
                    Some(of) => ix
                        .objs
                        .iter()
                        .filter(|o| o.namespace == ns && o.is(of))
                        .map(|o| pc.to.service.replace("{name}", &o.name))
                        .collect(),
                    None => vec![pc.to.service.clone()],
                };
                for service in services {
                    // a port name shown as the Service's number where the Service names it
                    let port = match port_ref(&pc.to.port) {
                        IntOrStr::Str(n) => ix
                            .services
                            .get(&(ns.to_string(), service.clone()))
                            .and_then(|s| s.ports.iter().find(|p| p.name.as_deref() == Some(&n)))
                            .map(|p| IntOrStr::Int(p.port as i64))
                            .unwrap_or(IntOrStr::Str(n)),
                        p => p,
                    };
                    calls.push(Call {
                        pod,
                        container: None,
                        raw: format!("{service}.{ns}.svc:{port}"),
                        source: source.clone(),
                        target: Target::Backend {
                            namespace: ns.to_string(),
                            service,
                            port,
                            via: objs[0],
                        },
                    });
                }
            }
        }
        for sc in &ps.secret_callers {
            let Some((secret, key)) = secret_location(ctx, &sc.secret) else {
                continue;
            };
            let port = match &sc.port {
                wd_core::scenario::PortRef::Name(n) if ps.ports.contains_key(n) => {
                    IntOrStr::Int(ps.ports[n] as i64)
                }
                p => port_ref(p),
            };
            for (mi, mounter) in ix.pods.iter().enumerate() {
                let Some(spec) = &mounter.spec else { continue };
                let Some(how) = mounts_secret_key(spec, &secret, &key) else {
                    continue;
                };
                let source = format!(
                    "Secret {secret} key {key} ({}), {how} of {}: {}",
                    sc.secret,
                    mounter.label(),
                    sc.why
                );
                let raw = format!("{}.{}.svc:{port}", ps.service, ps.namespace);
                let mut push = |ci: usize, container: Option<String>| {
                    calls.push(Call {
                        pod: ci,
                        container,
                        raw: raw.clone(),
                        source: source.clone(),
                        target: Target::Backend {
                            namespace: ps.namespace.clone(),
                            service: ps.service.clone(),
                            port: port.clone(),
                            via: mounter.obj.unwrap_or(0),
                        },
                    })
                };
                if sc.callers.is_empty() {
                    push(mi, None);
                    continue;
                }
                for (ci, callee) in ix.pods.iter().enumerate() {
                    let Some(cspec) = &callee.spec else { continue };
                    if callee.namespace != mounter.namespace {
                        continue;
                    }
                    for c in arr(cspec.get("containers")) {
                        let repo = crate::images::split(str_of(c.get("image"))).0;
                        if sc
                            .callers
                            .iter()
                            .any(|cb| crate::images::repo_matches(cb, &repo))
                        {
                            push(ci, Some(str_of(c.get("name")).to_string()));
                        }
                    }
                }
            }
        }
    }
}

fn port_ref(p: &wd_core::scenario::PortRef) -> IntOrStr {
    match p {
        wd_core::scenario::PortRef::Number(n) => IntOrStr::Int(*n as i64),
        wd_core::scenario::PortRef::Name(s) => {
            IntOrStr::from(&Value::String(s.clone())).unwrap_or_else(|| IntOrStr::Str(s.clone()))
        }
    }
}

/// The Kubernetes Secret and key of a planned secret (config/secrets.yaml `name`): from the
/// resolved references the caller passed (`Options::secret_refs`), else the SecretPlan.
fn secret_location(ctx: &Ctx, name: &str) -> Option<(String, String)> {
    ctx.opts
        .secret_refs
        .iter()
        .find(|r| r.name == name)
        .map(|r| (r.k8s_secret.clone(), r.k8s_key.clone()))
        .or_else(|| {
            ctx.secret_plan?
                .secrets
                .iter()
                .find(|s| s.name == name)
                .map(|s| (s.k8s_secret.clone(), s.k8s_key.clone()))
        })
}

/// How a pod spec gives its containers key `key` of Secret `secret`: a mounted volume (all keys,
/// or an item naming it; projected too), an env `secretKeyRef`, or `envFrom` the whole Secret.
/// None when no container sees it.
pub fn mounts_secret_key(spec: &Value, secret: &str, key: &str) -> Option<String> {
    let has_key = |items: Option<&Value>| {
        items.is_none_or(|i| arr(Some(i)).iter().any(|it| str_of(it.get("key")) == key))
    };
    let mounted = |vname: &str| {
        all_containers(spec).any(|c| {
            arr(c.get("volumeMounts"))
                .iter()
                .any(|m| str_of(m.get("name")) == vname)
        })
    };
    for vol in arr(spec.get("volumes")) {
        let vname = str_of(vol.get("name"));
        let direct = vol
            .get("secret")
            .filter(|s| str_of(s.get("secretName")) == secret && has_key(s.get("items")));
        let projected = arr(vol.get("projected").and_then(|p| p.get("sources")))
            .iter()
            .filter_map(|src| src.get("secret"))
            .any(|s| str_of(s.get("name")) == secret && has_key(s.get("items")));
        if (direct.is_some() || projected) && mounted(vname) {
            return Some(format!("volume {vname}"));
        }
    }
    for c in all_containers(spec) {
        for e in arr(c.get("env")) {
            let r = e.get("valueFrom").and_then(|v| v.get("secretKeyRef"));
            if r.is_some_and(|r| str_of(r.get("name")) == secret && str_of(r.get("key")) == key) {
                return Some(format!("env {}", str_of(e.get("name"))));
            }
        }
        for f in arr(c.get("envFrom")) {
            if f.get("secretRef")
                .is_some_and(|r| str_of(r.get("name")) == secret)
            {
                return Some(format!("envFrom of container {}", str_of(c.get("name"))));
            }
        }
    }
    None
}

/// Prometheus → every Service port a ServiceMonitor selects, and the blackbox exporter → every
/// URL a Probe lists (prometheus-operator semantics: `selector.matchLabels`, `namespaceSelector`
/// `matchNames`/`any`, else the monitor's own namespace; endpoints name a Service port).
fn monitoring_calls(ix: &Index, calls: &mut Vec<Call>) {
    if let Some(prom) = ix.prometheus {
        for (i, o) in ix.of_kind("ServiceMonitor") {
            let spec = o.v.get("spec");
            let want: Vec<(String, String)> = spec
                .and_then(|s| s.get("selector"))
                .and_then(|s| s.get("matchLabels"))
                .and_then(|m| m.as_object())
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), str_of(Some(v)).to_string()))
                .collect();
            let nsel = spec.and_then(|s| s.get("namespaceSelector"));
            let any_ns = nsel
                .and_then(|n| n.get("any"))
                .and_then(|a| a.as_bool())
                .unwrap_or(false);
            let names: Vec<String> = arr(nsel.and_then(|n| n.get("matchNames")))
                .iter()
                .map(|n| str_of(Some(n)).to_string())
                .collect();
            let endpoints = arr(spec.and_then(|s| s.get("endpoints")));
            for (_, svc) in ix.of_kind("Service") {
                let in_ns = any_ns
                    || (names.is_empty() && svc.namespace == o.namespace)
                    || names.contains(&svc.namespace);
                let labels = svc.v.get("metadata").and_then(|m| m.get("labels"));
                let matches = want.iter().all(|(k, v)| {
                    labels.and_then(|l| l.get(k)).and_then(|x| x.as_str()) == Some(v.as_str())
                });
                if !in_ns || !matches {
                    continue;
                }
                for ep in endpoints {
                    let port = ep
                        .get("port")
                        .or_else(|| ep.get("targetPort"))
                        .and_then(IntOrStr::from)
                        .unwrap_or(IntOrStr::Int(80));
                    calls.push(Call {
                        pod: prom,
                        container: None,
                        raw: format!("{}:{port}{}", svc.name, str_of(ep.get("path"))),
                        source: format!("ServiceMonitor {}", o.name),
                        target: Target::Backend {
                            namespace: svc.namespace.clone(),
                            service: svc.name.clone(),
                            port,
                            via: i,
                        },
                    });
                }
            }
        }
    }
    if let Some(bb) = ix.blackbox {
        for (_, o) in ix.of_kind("Probe") {
            let targets =
                o.v.get("spec")
                    .and_then(|s| s.get("targets"))
                    .and_then(|t| t.get("staticConfig"))
                    .and_then(|s| s.get("static"));
            for url in arr(targets) {
                let raw = str_of(Some(url));
                if let Some((scheme, host, port)) = parse_target(raw, "http") {
                    calls.push(Call {
                        pod: bb,
                        container: None,
                        raw: raw.to_string(),
                        source: format!("Probe {}", o.name),
                        target: Target::Url { scheme, host, port },
                    });
                }
            }
        }
    }
}

/// Hosts that resolve to the loopback address wherever they are looked up.
fn loopback_domain(host: &str) -> bool {
    ["localtest.me", "localhost", "lvh.me", "vcap.me"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

enum Resolved {
    Service(String, String),
    /// A cluster DNS form that names no Service.
    Missing(String, String),
    Public,
    Ip(IpAddr),
}

fn resolve(ctx: &Ctx, host: &str, caller_ns: &str, known_ns: &HashSet<&str>) -> Resolved {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Resolved::Ip(ip);
    }
    let cd = format!(".svc.{}", ctx.opts.cluster_domain);
    let h = host
        .strip_suffix(&cd)
        .or_else(|| host.strip_suffix(".svc"))
        .map(|h| (h, true))
        .unwrap_or((host, false));
    let parts: Vec<&str> = h.0.split('.').collect();
    let (ns, name) = match (parts.as_slice(), h.1) {
        ([name], false) => (caller_ns, *name),
        ([name, ns], _) if h.1 || known_ns.contains(ns) => (*ns, *name),
        _ => return Resolved::Public,
    };
    if ctx
        .ix
        .services
        .contains_key(&(ns.to_string(), name.to_string()))
    {
        Resolved::Service(ns.into(), name.into())
    } else {
        Resolved::Missing(ns.into(), name.into())
    }
}

struct Checker<'a, 'c> {
    ctx: &'a Ctx<'c>,
    pols: &'a Policies,
    out: &'a mut Out,
    flows: HashSet<(usize, usize)>,
    dns_checked: HashSet<usize>,
    errors_before: usize,
    /// Ingresses (indexes into objs), scanned for public hosts without rescanning every object.
    ingresses: Vec<usize>,
}

impl Checker<'_, '_> {
    fn caller_ref(&self, call: &Call) -> ObjectRef {
        let mut r = self.ctx.ix.pods[call.pod].owner.clone();
        r.container = call.container.clone();
        r
    }

    fn err(&mut self, check: &str, objs: Vec<ObjectRef>, msg: String, fix: String) {
        self.out
            .findings
            .push(finding(check, Severity::Error, objs, msg, fix));
    }

    /// Service port + selector + targetPort + both NetworkPolicy sides, for a call to a Service.
    fn call_service(&mut self, call: &Call, ns: &str, name: &str, port: &IntOrStr) {
        let ix = self.ctx.ix;
        let svc = ix.services[&(ns.to_string(), name.to_string())].clone();
        let caller = self.caller_ref(call);
        let svc_ref = ObjectRef {
            object_kind: "Service".into(),
            namespace: ns.into(),
            name: name.into(),
            container: None,
        };
        if svc.external_name.is_some() {
            return;
        }
        let Some(sp) = svc.ports.iter().find(|p| match port {
            IntOrStr::Int(n) => p.port as i64 == *n,
            IntOrStr::Str(s) => p.name.as_deref() == Some(s),
        }) else {
            let have: Vec<String> = svc
                .ports
                .iter()
                .map(|p| {
                    format!(
                        "{}{}",
                        p.port,
                        p.name
                            .as_ref()
                            .map(|n| format!(" ({n})"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            self.err(
                "call-path/port",
                vec![caller, svc_ref],
                format!(
                    "{} calls {} (from {}), but Service {ns}/{name} has no port {port} (it has: {})",
                    ix.pods[call.pod].label(),
                    call.raw,
                    call.source,
                    if have.is_empty() { "none".into() } else { have.join(", ") }
                ),
                format!("use one of the Service's ports in the URL, or add port {port} to Service {name}"),
            );
            return;
        };
        let Some(sel) = &svc.selector else { return };
        let backends = ix.select(ns, &crate::model::Selector::from_map(sel));
        if backends.is_empty() {
            self.err(
                "call-path/selector",
                vec![caller, svc_ref],
                format!(
                    "Service {ns}/{name} selects no pod template ({}): calls to {} (from {}) have no endpoint",
                    sel.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
                    call.raw,
                    call.source
                ),
                "make the Service's selector match the workload's pod template labels (or deploy the workload)".into(),
            );
            return;
        }
        for b in backends {
            let pod = &ix.pods[b];
            let target = match &sp.target {
                IntOrStr::Int(n) => {
                    if pod.spec.is_some() && !pod.ports.iter().any(|p| p.port as i64 == *n) {
                        self.err(
                            "call-path/target-port",
                            vec![svc_ref.clone(), pod.owner.clone()],
                            format!(
                                "Service {ns}/{name} port {} sends to targetPort {n}, but {} declares no containerPort {n} (it has: {})",
                                sp.port,
                                pod.label(),
                                pod.ports.iter().map(|p| p.port.to_string()).collect::<Vec<_>>().join(", ")
                            ),
                            format!("set targetPort to the port the container listens on, or declare containerPort {n}"),
                        );
                        continue;
                    }
                    *n as u16
                }
                IntOrStr::Str(pn) => match pod.port_by_name(pn) {
                    Some(p) => p.port,
                    None => {
                        self.err(
                            "call-path/target-port",
                            vec![svc_ref.clone(), pod.owner.clone()],
                            format!(
                                "Service {ns}/{name} port {} sends to targetPort {pn:?}, but {} has no container port named {pn:?}",
                                sp.port,
                                pod.label()
                            ),
                            format!("name the container port {pn:?} or change the Service's targetPort"),
                        );
                        continue;
                    }
                },
            };
            self.flow(call, b, target, &sp.protocol);
        }
    }

    /// Both NetworkPolicy sides of caller → pod `b` on `port`.
    fn flow(&mut self, call: &Call, b: usize, port: u16, protocol: &str) {
        let ix = self.ctx.ix;
        self.flows.insert((call.pod, b));
        let caller = self.caller_ref(call);
        if let Err(pols) = self.pols.egress(ix, call.pod, End::Pod(b), port, protocol) {
            self.err(
                "call-path/egress",
                vec![caller.clone(), ix.pods[b].owner.clone()],
                format!(
                    "{} calls {} (from {}), but its egress is limited by NetworkPolicy {} and no rule allows {}:{port}/{protocol}",
                    ix.pods[call.pod].label(),
                    call.raw,
                    call.source,
                    pols.join(", "),
                    ix.pods[b].label()
                ),
                format!("add an egress rule to {} on port {port}", ix.pods[b].label()),
            );
        }
        if let Err(pols) = self.pols.ingress(ix, End::Pod(call.pod), b, port, protocol) {
            self.err(
                "call-path/ingress",
                vec![caller, ix.pods[b].owner.clone()],
                format!(
                    "{} calls {} (from {}), but {} only accepts traffic allowed by NetworkPolicy {} and none allows it on {port}/{protocol}",
                    ix.pods[call.pod].label(),
                    call.raw,
                    call.source,
                    ix.pods[b].label(),
                    pols.join(", ")
                ),
                format!("add an ingress rule from {} on port {port}", ix.pods[call.pod].label()),
            );
        }
    }

    fn dns(&mut self, call: &Call) {
        let ix = self.ctx.ix;
        let (Some(d), false) = (ix.dns, ix.pods[call.pod].platform) else {
            return;
        };
        if !self.dns_checked.insert(call.pod) {
            return;
        }
        self.flows.insert((call.pod, d));
        let port = ix.pods[d].ports.first().map(|p| p.port).unwrap_or(53);
        if let Err(pols) = self.pols.egress(ix, call.pod, End::Pod(d), port, "UDP") {
            let caller = self.caller_ref(call);
            self.err(
                "call-path/dns-egress",
                vec![caller, ix.pods[d].owner.clone()],
                format!(
                    "{} resolves host names (e.g. for {}), but NetworkPolicy {} allows no egress to the cluster DNS ({}:{port}/UDP)",
                    ix.pods[call.pod].label(),
                    call.raw,
                    pols.join(", "),
                    ix.pods[d].label()
                ),
                format!("allow egress to namespace {} pods of the DNS on port {port} UDP and TCP", ix.pods[d].namespace),
            );
        }
    }

    fn url(
        &mut self,
        call: &Call,
        scheme: &str,
        host: &str,
        port: Option<u16>,
        known_ns: &HashSet<&str>,
    ) -> String {
        let ix = self.ctx.ix;
        let caller_pod = &ix.pods[call.pod];
        let caller = self.caller_ref(call);
        let resolved = resolve(self.ctx, host, &caller_pod.namespace, known_ns);
        if !matches!(resolved, Resolved::Ip(_)) {
            self.dns(call);
        }
        let port = port.or_else(|| default_port(scheme));
        match resolved {
            Resolved::Service(ns, name) => {
                let Some(p) = port else {
                    self.err(
                        "call-path/port",
                        vec![caller],
                        format!("{} calls {} (from {}) without a port and scheme {scheme:?} has no default port", caller_pod.label(), call.raw, call.source),
                        "write the port into the URL".into(),
                    );
                    return format!("Service {ns}/{name}");
                };
                self.call_service(call, &ns, &name, &IntOrStr::Int(p as i64));
                format!("Service {ns}/{name}")
            }
            Resolved::Missing(ns, name) => {
                self.err(
                    "call-path/dns",
                    vec![caller],
                    format!(
                        "{} calls {} (from {}), but host {host:?} does not resolve in the cluster: no Service {name:?} in namespace {ns:?} in the manifests",
                        caller_pod.label(),
                        call.raw,
                        call.source
                    ),
                    format!("deploy Service {name} in namespace {ns} (enable the component), or point the setting at an existing Service"),
                );
                "unresolved".into()
            }
            Resolved::Ip(ip) => {
                if let Some(p) = port {
                    if let Err(pols) =
                        self.pols
                            .egress(ix, call.pod, End::External(Some(ip)), p, "TCP")
                    {
                        self.err(
                            "call-path/egress",
                            vec![caller],
                            format!("{} calls {} (from {}), but NetworkPolicy {} allows no egress to {ip}:{p}", caller_pod.label(), call.raw, call.source, pols.join(", ")),
                            format!("add an egress ipBlock rule for {ip} on port {p}"),
                        );
                    }
                }
                "external address".into()
            }
            Resolved::Public => self.public(call, scheme, host, port),
        }
    }

    fn public(&mut self, call: &Call, scheme: &str, host: &str, port: Option<u16>) -> String {
        let ix = self.ctx.ix;
        let caller_pod = &ix.pods[call.pod];
        let caller = self.caller_ref(call);
        let ing = self
            .ingresses
            .iter()
            .map(|&i| (i, &ix.objs[i]))
            .find(|(_, o)| {
                arr(o.v.get("spec").and_then(|s| s.get("rules")))
                    .iter()
                    .any(|r| {
                        let h = str_of(r.get("host"));
                        h == host
                            || h.strip_prefix("*.").is_some_and(|d| {
                                host.ends_with(&format!(".{d}"))
                                    && host.matches('.').count() == d.matches('.').count() + 1
                            })
                    })
            });
        let rule = self
            .ctx
            .opts
            .resolve_public
            .iter()
            .any(|d| host == d || host.ends_with(&format!(".{}", d.trim_start_matches("*."))));
        let Some((ii, ing)) = ing else {
            if loopback_domain(host) {
                self.err(
                    "call-path/public-host",
                    vec![caller],
                    format!("{} calls {} (from {}): {host} resolves to 127.0.0.1 inside a pod and no Ingress serves it", caller_pod.label(), call.raw, call.source),
                    "point the setting at the in-cluster Service, or serve the host with an Ingress and resolve it in-cluster (--resolve-public)".into(),
                );
                return "loopback".into();
            }
            if let Some(p) = port {
                if let Err(pols) = self
                    .pols
                    .egress(ix, call.pod, End::External(None), p, "TCP")
                {
                    self.err(
                        "call-path/egress",
                        vec![caller],
                        format!("{} calls external {} (from {}), but NetworkPolicy {} allows no egress to external addresses on port {p}", caller_pod.label(), call.raw, call.source, pols.join(", ")),
                        format!("add an egress ipBlock rule (e.g. 0.0.0.0/0 except the cluster ranges) on port {p}"),
                    );
                }
            }
            return "external".into();
        };
        let ing_ref = ing.r();
        if !rule {
            let why = if loopback_domain(host) {
                format!("{host} resolves to 127.0.0.1 inside a pod (public DNS of a loopback domain), so the call reaches the caller itself, not the ingress")
            } else {
                format!("{host} resolves to the ingress's public address, which pods often cannot reach (no hairpin)")
            };
            self.err(
                "call-path/public-host",
                vec![caller, ing_ref],
                format!("{} calls {} (from {}): {why}", caller_pod.label(), call.raw, call.source),
                format!(
                    "install an in-cluster resolution of {} to the ingress controller (CoreDNS rewrite; then pass --resolve-public {}) or call the Service directly",
                    host,
                    host.split_once('.').map(|(_, d)| d).unwrap_or(host)
                ),
            );
            return "unresolved in-cluster".into();
        }
        // TLS trust: a private CA's certificate needs the CA in the caller.
        let tls_hosts: BTreeSet<&str> = arr(ing.v.get("spec").and_then(|s| s.get("tls")))
            .iter()
            .flat_map(|t| arr(t.get("hosts")).iter().filter_map(|h| h.as_str()))
            .collect();
        let issuer = ing
            .annotations
            .get("cert-manager.io/cluster-issuer")
            .or_else(|| ing.annotations.get("cert-manager.io/issuer"));
        if scheme == "https" && tls_hosts.contains(host) {
            if let Some(iss) = issuer.filter(|i| self.ctx.self_signed().any(|s| s == i.as_str())) {
                if !self.trusts_ca(call) {
                    self.err(
                        "call-path/tls",
                        vec![caller.clone(), ing_ref.clone()],
                        format!(
                            "{} calls {} (from {}): the Ingress's certificate is signed by the private CA of issuer {iss}, which the caller does not trust (no CA bundle mounted or configured)",
                            caller_pod.label(),
                            call.raw,
                            call.source
                        ),
                        format!(
                            "mount the CA of {iss} into the caller and point it at it ({}), or use a publicly trusted issuer",
                            self.ctx.rules.ca_trust.env.iter().chain(self.ctx.rules.ca_trust.env_contains.iter()).cloned().collect::<Vec<_>>().join(" / ")
                        ),
                    );
                }
            }
        }
        let _ = ii;
        if let Some(ic) = ix.ingress_controller {
            let want = if scheme == "https" { "https" } else { "http" };
            let p = ix.pods[ic]
                .port_by_name(want)
                .map(|p| p.port)
                .or(port)
                .unwrap_or(if want == "https" { 443 } else { 80 });
            self.flow(call, ic, p, "TCP");
        }
        "ingress controller".into()
    }

    fn trusts_ca(&self, call: &Call) -> bool {
        let ix = self.ctx.ix;
        let t = &self.ctx.rules.ca_trust;
        let Some(spec) = &ix.pods[call.pod].spec else {
            return true;
        };
        arr(spec.get("containers"))
            .iter()
            .filter(|c| {
                call.container
                    .as_deref()
                    .is_none_or(|n| str_of(c.get("name")) == n)
                    || call.container.is_none()
            })
            .any(|c| {
                container_env(ix, &ix.pods[call.pod].namespace, c)
                    .iter()
                    .any(|(n, v)| {
                        t.env.contains(n)
                            || v.as_deref().is_some_and(|v| {
                                t.env_contains.iter().any(|s| v.contains(s.as_str()))
                            })
                    })
                    || arr(c.get("volumeMounts")).iter().any(|m| {
                        t.mount_paths
                            .iter()
                            .any(|p| str_of(m.get("mountPath")).starts_with(p.as_str()))
                    })
            })
    }
}

pub fn check(ctx: &Ctx, out: &mut Out) {
    let ix = ctx.ix;
    let pols = Policies::build(ix);
    let calls = derive(ctx);
    for ps in &ctx.rules.platform_services {
        for sc in &ps.secret_callers {
            if secret_location(ctx, &sc.secret).is_none() {
                out.findings.push(finding(
                    "call-path/rule",
                    Severity::Warning,
                    vec![],
                    format!(
                        "the scenario's rule that {:?} carries calls to {}/{} was not applied: the secret's Kubernetes Secret and key are unknown",
                        sc.secret, ps.namespace, ps.service
                    ),
                    "run wd-verify with the scenario's config directory (config/secrets.yaml) or pass --secret-plan".into(),
                ));
            }
        }
    }
    let known_ns: HashSet<&str> = ix
        .objs
        .iter()
        .map(|o| o.namespace.as_str())
        .filter(|n| !n.is_empty())
        .collect();
    let mut ck = Checker {
        ctx,
        pols: &pols,
        out,
        flows: HashSet::new(),
        dns_checked: HashSet::new(),
        errors_before: 0,
        ingresses: ix.of_kind("Ingress").map(|(i, _)| i).collect(),
    };
    for call in &calls {
        ck.errors_before = ck.out.findings.len();
        let resolves_to = match &call.target {
            Target::Url { scheme, host, port } => ck.url(call, scheme, host, *port, &known_ns),
            Target::Pod { pod, port } => {
                ck.flow(call, *pod, *port, "TCP");
                ix.pods[*pod].label()
            }
            Target::Backend {
                namespace,
                service,
                port,
                via,
            } => {
                // the platform's own pods (ingress controller, Prometheus) resolve nothing here
                ck.dns(call);
                if ix
                    .services
                    .contains_key(&(namespace.clone(), service.clone()))
                {
                    ck.call_service(call, namespace, service, port);
                    format!("Service {namespace}/{service}")
                } else {
                    let via_ref = ix.objs[*via].r();
                    let fix = if via_ref.object_kind == "Ingress" {
                        format!("deploy Service {service} or fix the Ingress backend")
                    } else {
                        format!("deploy Service {service} in namespace {namespace}, or fix the scenario's verify rule that derives this call")
                    };
                    ck.err(
                        "call-path/ingress-backend",
                        vec![via_ref],
                        format!("{} routes to Service {namespace}/{service}, which is not in the manifests", call.source),
                        fix,
                    );
                    "unresolved".into()
                }
            }
        };
        let ok = !ck.out.findings[ck.errors_before..]
            .iter()
            .any(|f| f.severity == Severity::Error);
        ck.out.calls.push(CallPath {
            from: ix.pods[call.pod].label()
                + &call
                    .container
                    .as_ref()
                    .map(|c| format!(" [{c}]"))
                    .unwrap_or_default(),
            to: call.raw.clone(),
            source: call.source.clone(),
            resolves_to,
            ok,
        });
    }
    let flows = std::mem::take(&mut ck.flows);
    unused_flows(ctx, &pols, &flows, out);
}

/// NetworkPolicy rules that allow pod → pod flows no derived call uses: one finding per rule
/// (not per pair, so a rule allowing every namespace stays one line). Counting is linear in
/// the rule's peers plus the flows: used pairs are counted from the flow set, not by
/// enumerating every (source, target) pair.
fn unused_flows(ctx: &Ctx, pols: &Policies, flows: &HashSet<(usize, usize)>, out: &mut Out) {
    use std::collections::HashMap;
    use std::rc::Rc;
    let ix = ctx.ix;
    let sev = if ctx.opts.strict {
        Severity::Error
    } else {
        Severity::Warning
    };
    let mut by_src: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut by_dst: HashMap<usize, Vec<usize>> = HashMap::new();
    for &(s, t) in flows {
        by_src.entry(s).or_default().push(t);
        by_dst.entry(t).or_default().push(s);
    }
    // Peer lists are shared by many policies (`every namespace, tier=x`): resolve each once.
    type Peers = Rc<(Vec<usize>, HashSet<usize>)>;
    let mut cache: HashMap<String, Peers> = HashMap::new();
    let same_owner = |s: usize, t: usize| ix.pods[s].owner == ix.pods[t].owner;
    for pol in &pols.all {
        let selected = pols.selected(ix, pol);
        if selected.is_empty() {
            continue;
        }
        let selected_set: HashSet<usize> = selected.iter().copied().collect();
        let rules = pol
            .ingress
            .iter()
            .flatten()
            .map(|r| ("ingress", r))
            .chain(pol.egress.iter().flatten().map(|r| ("egress", r)));
        for (n, (dir, r)) in rules.enumerate() {
            let key = format!("{}|{:?}", pol.namespace, r.peers);
            let peers = cache
                .entry(key)
                .or_insert_with(|| {
                    let v: Vec<usize> = Policies::peer_pods(ix, pol, r)
                        .into_iter()
                        .filter(|&p| Some(p) != ix.dns)
                        .collect();
                    let set = v.iter().copied().collect();
                    Rc::new((v, set))
                })
                .clone();
            if peers.0.is_empty() {
                continue;
            }
            // used pairs, counted from the flows of the policy's own pods (linear)
            let (srcs, src_set, dsts, dst_set) = if dir == "ingress" {
                (&peers.0, &peers.1, &selected, &selected_set)
            } else {
                (&selected, &selected_set, &peers.0, &peers.1)
            };
            let used = if dir == "ingress" {
                dsts.iter()
                    .flat_map(|t| by_dst.get(t).into_iter().flatten().map(move |s| (*s, *t)))
                    .filter(|(s, t)| src_set.contains(s) && !same_owner(*s, *t))
                    .count()
            } else {
                srcs.iter()
                    .flat_map(|s| by_src.get(s).into_iter().flatten().map(move |t| (*s, *t)))
                    .filter(|(s, t)| dst_set.contains(t) && !same_owner(*s, *t))
                    .count()
            };
            let (small, big) = if srcs.len() <= dsts.len() {
                (srcs, dst_set)
            } else {
                (dsts, src_set)
            };
            let overlap = small.iter().filter(|p| big.contains(p)).count();
            let allowed = srcs.len() * dsts.len() - overlap;
            if used >= allowed {
                continue;
            }
            let mut examples = vec![];
            'outer: for &s in srcs.iter() {
                for &t in dsts.iter() {
                    if !same_owner(s, t) && !flows.contains(&(s, t)) {
                        examples.push(format!("{} → {}", ix.pods[s].label(), ix.pods[t].label()));
                        if examples.len() == 3 {
                            break 'outer;
                        }
                    }
                }
            }
            let what = if allowed == 1 {
                format!(
                    "allows {}, but no configured call uses that flow",
                    examples.join("")
                )
            } else {
                format!(
                    "allows {allowed} workload pairs; {} are used by no configured call (e.g. {})",
                    allowed - used,
                    examples.join(", ")
                )
            };
            out.findings.push(finding(
                "call-path/unused-flow",
                sev,
                vec![ix.objs[pol.obj].r()],
                format!("NetworkPolicy {} ({dir} rule {}) {what}", pol.name, n + 1),
                "remove the rule (least privilege), or configure the call it is meant for".into(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_jdbc_and_host_port() {
        assert_eq!(
            parse_target("jdbc:postgresql://waltid-pg-rw:5432/waltid", "tcp"),
            Some(("postgresql".into(), "waltid-pg-rw".into(), Some(5432)))
        );
        assert_eq!(
            parse_target("https://issuer.localtest.me", "tcp"),
            Some(("https".into(), "issuer.localtest.me".into(), None))
        );
        assert_eq!(
            parse_target("redis://:pw@redis:6379/0", "tcp"),
            Some(("redis".into(), "redis".into(), Some(6379)))
        );
        assert_eq!(
            parse_target("redis://:$(REDIS_PASSWORD)@waltid-redis:6379/0", "tcp"),
            Some(("redis".into(), "waltid-redis".into(), Some(6379)))
        );
        assert_eq!(parse_target("http://${HOST}:8080/x", "tcp"), None);
        assert_eq!(
            parse_target("redis:6379", "redis"),
            Some(("redis".into(), "redis".into(), Some(6379)))
        );
        assert_eq!(parse_target("${X}", "tcp"), None);
        assert_eq!(parse_target("plain text", "tcp"), None);
    }

    #[test]
    fn scans_hocon_json_and_inline_objects() {
        let p = scan_pairs(
            "baseUrl = \"https://a.b\"\nnodes = [{host = \"r\", port = 6379}]\n# x = \"y\"\n",
        );
        assert_eq!(
            p,
            vec![
                ("baseUrl".into(), "https://a.b".into()),
                ("host".into(), "r".into()),
                ("port".into(), "6379".into())
            ]
        );
        let p = scan_pairs("{\"verifier_url\": \"https://v\", \"n\": 1}");
        assert_eq!(p[0], ("verifier_url".into(), "https://v".into()));
        let p = scan_pairs("baseUrl = https://x.y/z\n");
        assert_eq!(p, vec![("baseUrl".into(), "https://x.y/z".into())]);
    }

    #[test]
    fn globs() {
        assert!(glob("*BaseUrl", "issuerBaseUrl"));
        assert!(glob("KC_*", "KC_DB_URL"));
        assert!(!glob("baseUrl", "issuerBaseUrl"));
    }
}
