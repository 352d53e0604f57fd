//! The manifests as an index: objects by kind/namespace/name, pod templates (including the
//! pods an operator will create and the platform's pods outside the manifests: ingress
//! controller, DNS, Prometheus, blackbox exporter, ACME solvers, and the scenario's platform
//! Services such as the OTel Collector and Vault), Services, NetworkPolicies, and label indexes
//! so every lookup is a hash probe, not a scan.
//!
//! Objects stay `serde_json::Value`s: the checks read a few fields of many kinds, custom
//! resources (ExternalSecret, CNPG Cluster, cert-manager) have no k8s-openapi types, and an
//! unknown field or kind must never make a valid manifest unreadable.

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use wd_core::docs::preflight::ObjectRef;
use wd_core::scenario::{AcmeSolver, KindRef, OperatorRule, PeerPods, PlatformService};
use wd_core::{WdError, WdResult};

pub type Labels = BTreeMap<String, String>;

/// Largest manifest set read (bytes); a bigger input is refused with exit 2 before parsing.
pub const MAX_BYTES: usize = 16 << 20;
/// Largest number of objects read.
pub const MAX_OBJECTS: usize = 20_000;

#[derive(Debug, Clone)]
pub struct Obj {
    pub kind: String,
    pub api_version: String,
    pub namespace: String,
    pub name: String,
    pub labels: Labels,
    pub annotations: Labels,
    pub v: Value,
}

impl Obj {
    pub fn r(&self) -> ObjectRef {
        ObjectRef {
            object_kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            container: None,
        }
    }
    pub fn group(&self) -> &str {
        match self.api_version.rsplit_once('/') {
            Some((g, _)) => g,
            None => "",
        }
    }
    /// Is it of this kind and API group?
    pub fn is(&self, k: &KindRef) -> bool {
        self.kind == k.kind && self.group() == k.api_group
    }
    pub fn id(&self) -> String {
        format!("{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

/// A container port: name, number, protocol.
#[derive(Debug, Clone)]
pub struct CPort {
    pub name: Option<String>,
    pub port: u16,
    pub protocol: String,
}

/// A pod template of a workload, a pod an operator creates, or a platform pod (ingress
/// controller, DNS) that is not in the manifests.
#[derive(Debug, Clone)]
pub struct Pod {
    /// The workload (or custom resource) that owns the template; for platform pods a
    /// descriptive ref (`IngressController/ingress-nginx/…`).
    pub owner: ObjectRef,
    /// Index into `Index::objs`, `None` for platform pods.
    pub obj: Option<usize>,
    pub namespace: String,
    pub labels: Labels,
    /// The pod spec (None for operator and platform pods).
    pub spec: Option<Value>,
    pub ports: Vec<CPort>,
    /// Outside the manifests (its own NetworkPolicies are unknown: allow).
    pub platform: bool,
}

impl Pod {
    pub fn port_by_name(&self, name: &str) -> Option<&CPort> {
        self.ports.iter().find(|p| p.name.as_deref() == Some(name))
    }
    pub fn label(&self) -> String {
        format!(
            "{}/{}/{}",
            self.owner.object_kind, self.owner.namespace, self.owner.name
        )
    }
}

#[derive(Debug, Clone)]
pub enum IntOrStr {
    Int(i64),
    Str(String),
}

impl IntOrStr {
    pub fn from(v: &Value) -> Option<IntOrStr> {
        match v {
            Value::Number(n) => n.as_i64().map(IntOrStr::Int),
            Value::String(s) => match s.parse::<i64>() {
                Ok(n) => Some(IntOrStr::Int(n)),
                Err(_) => Some(IntOrStr::Str(s.clone())),
            },
            _ => None,
        }
    }
}

impl std::fmt::Display for IntOrStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IntOrStr::Int(n) => write!(f, "{n}"),
            IntOrStr::Str(s) => f.write_str(s),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SvcPort {
    pub name: Option<String>,
    pub port: u16,
    pub target: IntOrStr,
    pub protocol: String,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub namespace: String,
    pub name: String,
    pub ports: Vec<SvcPort>,
    /// None: no selector (endpoints managed elsewhere) or ExternalName.
    pub selector: Option<Labels>,
    pub external_name: Option<String>,
    /// Index into `objs`; None for Services an operator creates.
    pub obj: Option<usize>,
}

/// A label selector (`matchLabels` + `matchExpressions`); an empty one selects everything.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub labels: Labels,
    pub exprs: Vec<(String, String, Vec<String>)>,
}

impl Selector {
    pub fn from_map(m: &Labels) -> Selector {
        Selector {
            labels: m.clone(),
            exprs: vec![],
        }
    }
    pub fn parse(v: &Value) -> Selector {
        let mut s = Selector {
            labels: labels_of(v.get("matchLabels")),
            exprs: vec![],
        };
        for e in arr(v.get("matchExpressions")) {
            s.exprs.push((
                str_of(e.get("key")).to_string(),
                str_of(e.get("operator")).to_string(),
                arr(e.get("values"))
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
            ));
        }
        s
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.exprs.is_empty()
    }
    pub fn matches(&self, l: &Labels) -> bool {
        self.labels.iter().all(|(k, v)| l.get(k) == Some(v))
            && self.exprs.iter().all(|(k, op, vals)| match op.as_str() {
                "In" => l.get(k).is_some_and(|v| vals.contains(v)),
                "NotIn" => l.get(k).is_none_or(|v| !vals.contains(v)),
                "Exists" => l.contains_key(k),
                "DoesNotExist" => !l.contains_key(k),
                _ => false,
            })
    }
}

pub fn str_of(v: Option<&Value>) -> &str {
    v.and_then(|v| v.as_str()).unwrap_or("")
}

pub fn arr(v: Option<&Value>) -> &[Value] {
    v.and_then(|v| v.as_array())
        .map(|a| a.as_slice())
        .unwrap_or(&[])
}

pub fn labels_of(v: Option<&Value>) -> Labels {
    v.and_then(|v| v.as_object())
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let s = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), s)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Kinds whose objects carry a pod template, and where it is.
pub fn pod_template(o: &Obj) -> Option<(&Value, Labels)> {
    let t = match o.kind.as_str() {
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => o.v.get("spec")?.get("template")?,
        "CronJob" => {
            o.v.get("spec")?
                .get("jobTemplate")?
                .get("spec")?
                .get("template")?
        }
        "Pod" => {
            return Some((o.v.get("spec")?, o.labels.clone()));
        }
        _ => return None,
    };
    Some((
        t.get("spec")?,
        labels_of(t.get("metadata").and_then(|m| m.get("labels"))),
    ))
}

/// Kinds a check reads; everything else is counted as ignored.
pub const KNOWN_KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "Pod",
    "Service",
    "ConfigMap",
    "Secret",
    "ExternalSecret",
    "Ingress",
    "NetworkPolicy",
    "Namespace",
    "HorizontalPodAutoscaler",
    "ScaledObject",
    "PodDisruptionBudget",
    "PersistentVolumeClaim",
    "ServiceAccount",
    "PriorityClass",
    "Issuer",
    "ClusterIssuer",
    "ServiceMonitor",
    "Probe",
];

pub struct Index {
    pub objs: Vec<Obj>,
    pub pods: Vec<Pod>,
    pub by_id: HashMap<(String, String, String), usize>,
    pub services: HashMap<(String, String), Service>,
    /// (namespace, "key=value") → pods carrying that label.
    pods_by_label: HashMap<(String, String), Vec<usize>>,
    pods_by_ns: HashMap<String, Vec<usize>>,
    /// Labels of namespaces (a Namespace object's, else the automatic `kubernetes.io/metadata.name`).
    ns_labels: HashMap<String, Labels>,
    pub ignored: BTreeMap<String, u32>,
    pub ingress_controller: Option<usize>,
    pub dns: Option<usize>,
    /// Prometheus's and the blackbox exporter's pods (callers of ServiceMonitors and Probes).
    pub prometheus: Option<usize>,
    pub blackbox: Option<usize>,
    /// cert-manager HTTP-01 solver pods (one per namespace with an ACME-issued Ingress).
    pub acme_solvers: Vec<usize>,
    /// The pod of each of the scenario's platform Services, in the rules' order.
    pub platform_services: Vec<usize>,
}

/// Splits multi-document YAML at `---` lines and parses each document; returns the objects.
/// Hand-split (not serde_norway's document iterator) so an error names the document's line.
pub fn parse_manifests(text: &str, source: &str, default_ns: &str) -> WdResult<Vec<Obj>> {
    if text.len() > MAX_BYTES {
        return Err(WdError::input(format!(
            "{source}: {} bytes is more than wd-verify reads ({} MiB); verify one release at a time",
            text.len(),
            MAX_BYTES >> 20
        )));
    }
    let mut docs: Vec<(usize, String)> = vec![];
    let mut cur = String::new();
    let mut start = 1usize;
    for (i, line) in text.lines().enumerate() {
        if line == "---" || line.starts_with("--- ") || line.starts_with("---\t") {
            docs.push((start, std::mem::take(&mut cur)));
            start = i + 2;
            let rest = line[3..].trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                cur.push_str(rest);
                cur.push('\n');
                start = i + 1;
            }
            continue;
        }
        if line == "..." {
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
    }
    docs.push((start, cur));
    let mut out = vec![];
    for (line0, doc) in docs {
        if doc.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#')
        }) {
            continue;
        }
        let v: Value = match serde_norway::from_str::<serde_norway::Value>(&doc) {
            Ok(mut y) => {
                y.apply_merge()
                    .map_err(|e| wd_core::yaml::error(source, &e, "invalid merge key"))?;
                serde_norway::from_value(y).map_err(|e| {
                    WdError::input(format!(
                        "{source}:{line0}: document is not representable as JSON ({e}); pass rendered Kubernetes manifests"
                    ))
                })?
            }
            Err(e) => {
                let msg = e.to_string();
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                let line = e.location().map(|l| l.line() + line0 - 1).unwrap_or(line0);
                return Err(WdError::input(format!(
                    "{source}:{line}: invalid YAML ({msg}); pass the output of `helm template`"
                )));
            }
        };
        if v.is_null() {
            continue;
        }
        push_object(v, source, line0, default_ns, &mut out)?;
        if out.len() > MAX_OBJECTS {
            return Err(WdError::input(format!(
                "{source}: more than {MAX_OBJECTS} objects; verify one release at a time"
            )));
        }
    }
    Ok(out)
}

fn push_object(
    v: Value,
    source: &str,
    line: usize,
    default_ns: &str,
    out: &mut Vec<Obj>,
) -> WdResult<()> {
    let (Some(api), Some(kind)) = (
        v.get("apiVersion").and_then(|a| a.as_str()),
        v.get("kind").and_then(|k| k.as_str()),
    ) else {
        return Err(WdError::input(format!(
            "{source}:{line}: document without apiVersion and kind is not a Kubernetes object; pass rendered manifests (`helm template …`)"
        )));
    };
    if kind.ends_with("List") && v.get("items").is_some_and(|i| i.is_array()) {
        for it in arr(v.get("items")).to_vec() {
            push_object(it, source, line, default_ns, out)?;
        }
        return Ok(());
    }
    let md = v.get("metadata");
    let name = str_of(md.and_then(|m| m.get("name")));
    if name.is_empty() {
        return Err(WdError::input(format!(
            "{source}:{line}: {kind} without metadata.name; pass rendered manifests, not templates"
        )));
    }
    let ns = match str_of(md.and_then(|m| m.get("namespace"))) {
        "" if cluster_scoped(kind) => "",
        "" => default_ns,
        n => n,
    };
    out.push(Obj {
        kind: kind.to_string(),
        api_version: api.to_string(),
        namespace: ns.to_string(),
        name: name.to_string(),
        labels: labels_of(md.and_then(|m| m.get("labels"))),
        annotations: labels_of(md.and_then(|m| m.get("annotations"))),
        v,
    });
    Ok(())
}

fn cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "PriorityClass"
            | "ClusterIssuer"
            | "CustomResourceDefinition"
            | "StorageClass"
            | "PersistentVolume"
            | "ClusterSecretStore"
            | "IngressClass"
            | "ValidatingWebhookConfiguration"
            | "MutatingWebhookConfiguration"
    )
}

fn cports(spec: &Value) -> Vec<CPort> {
    let mut out = vec![];
    for c in arr(spec.get("containers")) {
        for p in arr(c.get("ports")) {
            if let Some(n) = p.get("containerPort").and_then(|n| n.as_u64()) {
                out.push(CPort {
                    name: p.get("name").and_then(|x| x.as_str()).map(str::to_string),
                    port: n as u16,
                    protocol: proto(p.get("protocol")),
                });
            }
        }
    }
    out
}

pub fn proto(v: Option<&Value>) -> String {
    match str_of(v) {
        "" => "TCP".into(),
        p => p.to_string(),
    }
}

/// A name → number port map of the scenario's rules as TCP container ports.
fn tcp_ports(ports: &BTreeMap<String, u16>) -> Vec<CPort> {
    ports
        .iter()
        .map(|(n, p)| CPort {
            name: Some(n.clone()),
            port: *p,
            protocol: "TCP".into(),
        })
        .collect()
}

/// A Service no manifest holds (an operator's or the platform's) selecting `selector`, one
/// port per container port, each targeting the same number.
fn synthetic_service(namespace: &str, name: String, ports: &[CPort], selector: Labels) -> Service {
    Service {
        namespace: namespace.to_string(),
        name,
        ports: ports
            .iter()
            .map(|p| SvcPort {
                name: p.name.clone(),
                port: p.port,
                target: IntOrStr::Int(p.port as i64),
                protocol: "TCP".into(),
            })
            .collect(),
        selector: Some(selector),
        external_name: None,
        obj: None,
    }
}

fn subst(s: &str, name: &str) -> String {
    s.replace("{name}", name)
}

impl Index {
    pub fn build(
        objs: Vec<Obj>,
        operators: &[OperatorRule],
        ingress: Option<&PeerPods>,
        dns: Option<&PeerPods>,
        monitoring: [Option<&PeerPods>; 2],
        acme: Option<&AcmeSolver>,
        platform: &[PlatformService],
    ) -> Index {
        let mut ix = Index {
            objs,
            pods: vec![],
            by_id: HashMap::new(),
            services: HashMap::new(),
            pods_by_label: HashMap::new(),
            pods_by_ns: HashMap::new(),
            ns_labels: HashMap::new(),
            ignored: BTreeMap::new(),
            ingress_controller: None,
            dns: None,
            prometheus: None,
            blackbox: None,
            acme_solvers: vec![],
            platform_services: vec![],
        };
        // Kinds whose existence is the condition of a platform service's call are read, too.
        let conditions: Vec<&KindRef> = platform
            .iter()
            .flat_map(|p| p.calls.iter().map(|c| &c.when))
            .collect();
        for (i, o) in ix.objs.iter().enumerate() {
            ix.by_id
                .insert((o.kind.clone(), o.namespace.clone(), o.name.clone()), i);
            let op = operators
                .iter()
                .find(|r| r.kind == o.kind && r.api_group == o.group());
            if !KNOWN_KINDS.contains(&o.kind.as_str())
                && op.is_none()
                && !conditions.iter().any(|k| o.is(k))
            {
                *ix.ignored.entry(o.kind.clone()).or_default() += 1;
            }
            if o.kind == "Namespace" {
                let mut l = o.labels.clone();
                l.insert("kubernetes.io/metadata.name".into(), o.name.clone());
                ix.ns_labels.insert(o.name.clone(), l);
            }
            if let Some((spec, labels)) = pod_template(o) {
                ix.pods.push(Pod {
                    owner: o.r(),
                    obj: Some(i),
                    namespace: o.namespace.clone(),
                    labels,
                    ports: cports(spec),
                    spec: Some(spec.clone()),
                    platform: false,
                });
            }
            if o.kind == "Service" {
                let spec = o.v.get("spec");
                let sel = spec
                    .and_then(|s| s.get("selector"))
                    .map(|s| labels_of(Some(s)));
                let ports = arr(spec.and_then(|s| s.get("ports")))
                    .iter()
                    .filter_map(|p| {
                        let port = p.get("port")?.as_u64()? as u16;
                        Some(SvcPort {
                            name: p.get("name").and_then(|x| x.as_str()).map(str::to_string),
                            port,
                            target: p
                                .get("targetPort")
                                .and_then(IntOrStr::from)
                                .unwrap_or(IntOrStr::Int(port as i64)),
                            protocol: proto(p.get("protocol")),
                        })
                    })
                    .collect();
                let ext = spec
                    .and_then(|s| s.get("externalName"))
                    .and_then(|x| x.as_str())
                    .map(str::to_string);
                ix.services.insert(
                    (o.namespace.clone(), o.name.clone()),
                    Service {
                        namespace: o.namespace.clone(),
                        name: o.name.clone(),
                        ports,
                        selector: sel.filter(|s| !s.is_empty()),
                        external_name: ext,
                        obj: Some(i),
                    },
                );
            }
            if let Some(rule) = op {
                let labels: Labels = rule
                    .pod_labels
                    .iter()
                    .map(|(k, v)| (k.clone(), subst(v, &o.name)))
                    .collect();
                let ports = tcp_ports(&rule.ports);
                for s in &rule.services {
                    let name = subst(s, &o.name);
                    ix.services.insert(
                        (o.namespace.clone(), name.clone()),
                        synthetic_service(&o.namespace, name, &ports, labels.clone()),
                    );
                }
                ix.pods.push(Pod {
                    owner: o.r(),
                    obj: Some(i),
                    namespace: o.namespace.clone(),
                    labels,
                    spec: None,
                    ports,
                    platform: false,
                });
            }
        }
        let [prometheus, blackbox] = monitoring;
        for (which, peer) in [
            ("IngressController", ingress),
            ("ClusterDNS", dns),
            ("Prometheus", prometheus),
            ("BlackboxExporter", blackbox),
        ] {
            if let Some(p) = peer {
                ix.pods.push(Pod {
                    owner: ObjectRef {
                        object_kind: which.into(),
                        namespace: p.namespace.clone(),
                        name: p
                            .pod_labels
                            .values()
                            .next()
                            .cloned()
                            .unwrap_or_else(|| which.to_lowercase()),
                        container: None,
                    },
                    obj: None,
                    namespace: p.namespace.clone(),
                    labels: p.pod_labels.clone(),
                    spec: None,
                    ports: p
                        .ports
                        .iter()
                        .flat_map(|(n, port)| {
                            let mut v = vec![CPort {
                                name: Some(n.clone()),
                                port: *port,
                                protocol: "TCP".into(),
                            }];
                            if which == "ClusterDNS" {
                                v.push(CPort {
                                    name: Some(n.clone()),
                                    port: *port,
                                    protocol: "UDP".into(),
                                });
                            }
                            v
                        })
                        .collect(),
                    platform: true,
                });
                let i = ix.pods.len() - 1;
                match which {
                    "IngressController" => ix.ingress_controller = Some(i),
                    "ClusterDNS" => ix.dns = Some(i),
                    "Prometheus" => ix.prometheus = Some(i),
                    _ => ix.blackbox = Some(i),
                }
            }
        }
        // Platform Services around the manifests (the OTel Collector, Vault): a pod and its Service.
        for ps in platform {
            let ports = tcp_ports(&ps.ports);
            ix.services.insert(
                (ps.namespace.clone(), ps.service.clone()),
                synthetic_service(
                    &ps.namespace,
                    ps.service.clone(),
                    &ports,
                    ps.pod_labels.clone(),
                ),
            );
            ix.pods.push(Pod {
                owner: ObjectRef {
                    object_kind: "PlatformService".into(),
                    namespace: ps.namespace.clone(),
                    name: ps.service.clone(),
                    container: None,
                },
                obj: None,
                namespace: ps.namespace.clone(),
                labels: ps.pod_labels.clone(),
                spec: None,
                ports,
                platform: true,
            });
            ix.platform_services.push(ix.pods.len() - 1);
        }
        if let Some(a) = acme {
            let mut done = std::collections::BTreeSet::new();
            for o in &ix.objs {
                let issuer = o
                    .annotations
                    .get("cert-manager.io/cluster-issuer")
                    .or_else(|| o.annotations.get("cert-manager.io/issuer"));
                if o.kind != "Ingress"
                    || !issuer.is_some_and(|i| a.issuers.contains(i))
                    || !done.insert(o.namespace.clone())
                {
                    continue;
                }
                ix.pods.push(Pod {
                    owner: ObjectRef {
                        object_kind: "AcmeSolver".into(),
                        namespace: o.namespace.clone(),
                        name: "cm-acme-http-solver".into(),
                        container: None,
                    },
                    obj: None,
                    namespace: o.namespace.clone(),
                    labels: a.pod_labels.clone(),
                    spec: None,
                    ports: vec![CPort {
                        name: Some("http".into()),
                        port: a.port,
                        protocol: "TCP".into(),
                    }],
                    platform: false,
                });
                ix.acme_solvers.push(ix.pods.len() - 1);
            }
        }
        for (i, p) in ix.pods.iter().enumerate() {
            ix.pods_by_ns
                .entry(p.namespace.clone())
                .or_default()
                .push(i);
            for (k, v) in &p.labels {
                ix.pods_by_label
                    .entry((p.namespace.clone(), format!("{k}={v}")))
                    .or_default()
                    .push(i);
            }
        }
        ix
    }

    pub fn get(&self, kind: &str, ns: &str, name: &str) -> Option<&Obj> {
        self.by_id
            .get(&(kind.to_string(), ns.to_string(), name.to_string()))
            .map(|&i| &self.objs[i])
    }

    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (usize, &'a Obj)> + 'a {
        self.objs
            .iter()
            .enumerate()
            .filter(move |(_, o)| o.kind == kind)
    }

    pub fn ns_labels(&self, ns: &str) -> Labels {
        self.ns_labels.get(ns).cloned().unwrap_or_else(|| {
            let mut l = Labels::new();
            l.insert("kubernetes.io/metadata.name".into(), ns.to_string());
            l
        })
    }

    /// Pods of a namespace a selector matches, through the label index.
    pub fn select(&self, ns: &str, sel: &Selector) -> Vec<usize> {
        let cands: &[usize] = match sel.labels.iter().next() {
            Some((k, v)) => self
                .pods_by_label
                .get(&(ns.to_string(), format!("{k}={v}")))
                .map(|v| v.as_slice())
                .unwrap_or(&[]),
            None => self.pods_by_ns.get(ns).map(|v| v.as_slice()).unwrap_or(&[]),
        };
        cands
            .iter()
            .copied()
            .filter(|&i| sel.matches(&self.pods[i].labels))
            .collect()
    }

    /// Namespaces that have pods (for namespaceSelector peers).
    pub fn pod_namespaces(&self) -> impl Iterator<Item = &String> {
        self.pods_by_ns.keys()
    }
}
