//! The wait: one kube-rs watcher per (kind, namespace[, selector]) feeding a kube-runtime
//! reflector store, so a wait over 1,000 objects costs one list and one watch per kind. The
//! watchers relist after 410 Gone and reconnect after dropped streams (kube-runtime), so no
//! transition is missed.
//!
//! Per event only the object the event touched is judged (no copy, no pass over the other
//! objects): the cost of an event does not grow with the number of objects waited for. The
//! store keeps the objects for the diagnosis at the end.

use crate::policy::{evaluate, State};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, LogParams};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::Client;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};
use wd_core::docs::cluster::{WaitObject, WaitReport, WaitState};
use wd_core::{WdError, WdResult};

/// One object (or every object of a kind matching a selector) to wait for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    /// None: every object of the kind in the namespace (matching `selector`).
    pub name: Option<String>,
    pub selector: Option<String>,
}

/// Where a kind lives when the input gives no apiVersion.
pub fn default_api_version(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" => "apps/v1",
        "Job" => "batch/v1",
        "Pod" | "PersistentVolumeClaim" | "Service" => "v1",
        "Cluster" => "postgresql.cnpg.io/v1",
        "ExternalSecret" => "external-secrets.io/v1beta1",
        "Certificate" => "cert-manager.io/v1",
        _ => return None,
    })
}

fn api_resource(api_version: &str, kind: &str) -> ApiResource {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
}

/// Called once per object when it is first judged ready, with the monotonic instant of that
/// judgement (benchmarks measure reaction times with it).
pub type OnReady = Box<dyn FnMut(&Target, &str, Instant) + Send>;

/// How to wait.
pub struct Options {
    pub timeout: Duration,
    /// Spinners on stderr.
    pub progress: bool,
    /// The API server's URL, for the message when it does not answer.
    pub server: String,
    /// How long the API server may leave the first list unanswered before the wait gives up
    /// (exit 3); capped by `timeout`.
    pub answer_timeout: Duration,
    pub on_ready: Option<OnReady>,
}

impl Options {
    pub fn new(timeout: Duration) -> Self {
        Options {
            timeout,
            progress: false,
            server: String::new(),
            answer_timeout: Duration::from_secs(30),
            on_ready: None,
        }
    }
}

type GroupKey = (String, String, String, Option<String>);

/// One watcher: a kind in a namespace (with a selector), the targets that read it.
struct Group {
    kind: String,
    namespace: String,
    ar: ApiResource,
    store: Store<DynamicObject>,
    /// Names a target asks for; `all`: some target asks for every object of the group.
    named: HashSet<String>,
    all: bool,
    /// A representative target (for the on_ready callback).
    target: Target,
    synced: bool,
    /// The API answered this group's list at least once.
    answered: bool,
    /// Names seen since the last `Init` (a relist), to find objects deleted meanwhile.
    relist_seen: Option<HashSet<String>>,
    /// Names judged in this group.
    judged: HashSet<String>,
}

struct Judgement {
    state: State,
    ready_after: Option<Duration>,
}

/// The mutable state of a wait; every method touches one object.
struct Board {
    start: Instant,
    groups: Vec<Group>,
    judged: HashMap<(usize, String), Judgement>,
    /// Objects that are neither ready nor failed (missing named ones included).
    unsettled: HashSet<(usize, String)>,
    bars: Option<indicatif::MultiProgress>,
    bar_of: HashMap<(usize, String), indicatif::ProgressBar>,
    on_ready: Option<OnReady>,
}

impl Board {
    fn settled(&self) -> bool {
        self.unsettled.is_empty() && self.groups.iter().all(|g| g.synced)
    }

    fn judge(&mut self, gi: usize, obj: &DynamicObject) {
        let g = &mut self.groups[gi];
        let Some(name) = obj.metadata.name.as_deref() else {
            return;
        };
        if let Some(seen) = &mut g.relist_seen {
            seen.insert(name.to_string());
        }
        if !g.all && !g.named.contains(name) {
            return;
        }
        let state = evaluate(&g.kind, obj.metadata.generation, &obj.data);
        g.judged.insert(name.to_string());
        let key = (gi, name.to_string());
        let now = Instant::now();
        let j = self.judged.entry(key.clone()).or_insert(Judgement {
            state: State::Pending(String::new()),
            ready_after: None,
        });
        if matches!(state, State::Ready(_)) && j.ready_after.is_none() {
            j.ready_after = Some(now - self.start);
            if let Some(cb) = &mut self.on_ready {
                cb(&g.target, name, now);
            }
        }
        match &state {
            State::Ready(_) | State::Failed(_) => self.unsettled.remove(&key),
            State::Pending(_) => self.unsettled.insert(key.clone()),
        };
        if let Some(b) = &self.bars {
            let id = format!("{}/{}/{}", g.kind, g.namespace, name);
            let bar = self
                .bar_of
                .entry(key)
                .or_insert_with(|| b.add(indicatif::ProgressBar::new_spinner()));
            match &state {
                State::Ready(m) => bar.finish_with_message(format!("✔ {id}: {m}")),
                State::Failed(m) => bar.finish_with_message(format!("✘ {id}: {m}")),
                State::Pending(m) => {
                    bar.set_message(format!("… {id}: {m}"));
                    bar.tick();
                }
            }
        }
        j.state = state;
    }

    fn forget(&mut self, gi: usize, name: &str) {
        let g = &mut self.groups[gi];
        g.judged.remove(name);
        let key = (gi, name.to_string());
        self.judged.remove(&key);
        if g.named.contains(name) {
            // a named object that disappeared is missing again
            self.unsettled.insert(key);
        } else {
            self.unsettled.remove(&key);
        }
    }

    fn apply(&mut self, gi: usize, ev: Event<DynamicObject>) {
        if !matches!(ev, Event::Init) {
            self.groups[gi].answered = true;
        }
        match ev {
            Event::Init => self.groups[gi].relist_seen = Some(HashSet::new()),
            Event::InitApply(o) | Event::Apply(o) => self.judge(gi, &o),
            Event::Delete(o) => {
                if let Some(n) = o.metadata.name.as_deref() {
                    self.forget(gi, n);
                }
            }
            Event::InitDone => {
                let g = &mut self.groups[gi];
                g.synced = true;
                // objects deleted while the watch was down: not in the relist (one pass per relist)
                if let Some(seen) = g.relist_seen.take() {
                    let gone: Vec<String> = g.judged.difference(&seen).cloned().collect();
                    for n in gone {
                        self.forget(gi, &n);
                    }
                }
            }
        }
    }
}

/// A watcher error as one line; the typed API status decides between "refused" and "unreachable".
fn watch_error(what: &str, e: &watcher::Error) -> WdError {
    match e {
        watcher::Error::InitialListFailed(k)
        | watcher::Error::WatchStartFailed(k)
        | watcher::Error::WatchFailed(k) => wd_kube::api_error(what, k),
        watcher::Error::WatchError(status) => {
            wd_kube::api_error(what, &kube::Error::Api(status.clone()))
        }
        watcher::Error::NoResourceVersion => WdError::unreachable(format!(
            "{what}: the Kubernetes API gave no resourceVersion (does the resource support watch?)"
        )),
    }
}

pub async fn wait(client: Client, targets: Vec<Target>, opts: Options) -> WdResult<WaitReport> {
    let start = Instant::now();
    let started_at_unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let deadline = tokio::time::Instant::now() + opts.timeout;
    let answer_by = tokio::time::Instant::now() + opts.answer_timeout.min(opts.timeout);
    let mut index: BTreeMap<GroupKey, usize> = BTreeMap::new();
    let mut board = Board {
        start,
        groups: Vec::new(),
        judged: HashMap::new(),
        unsettled: HashSet::new(),
        bars: opts.progress.then(indicatif::MultiProgress::new),
        bar_of: HashMap::new(),
        on_ready: opts.on_ready,
    };
    let mut streams = Vec::new();
    for t in &targets {
        let key = (
            t.api_version.clone(),
            t.kind.clone(),
            t.namespace.clone(),
            t.selector.clone(),
        );
        let gi = match index.get(&key) {
            Some(gi) => *gi,
            None => {
                let ar = api_resource(&t.api_version, &t.kind);
                let writer = reflector::store::Writer::new(ar.clone());
                let store = writer.as_reader();
                let api: Api<DynamicObject> =
                    Api::namespaced_with(client.clone(), &t.namespace, &ar);
                let mut cfg = watcher::Config::default();
                if let Some(s) = &t.selector {
                    cfg = cfg.labels(s);
                }
                let gi = board.groups.len();
                streams.push(
                    reflector::reflector(writer, watcher::watcher(api, cfg).default_backoff())
                        .map(move |e| (gi, e))
                        .boxed(),
                );
                board.groups.push(Group {
                    kind: t.kind.clone(),
                    namespace: t.namespace.clone(),
                    ar,
                    store,
                    named: HashSet::new(),
                    all: false,
                    target: t.clone(),
                    synced: false,
                    answered: false,
                    relist_seen: None,
                    judged: HashSet::new(),
                });
                index.insert(key, gi);
                gi
            }
        };
        match &t.name {
            Some(n) => {
                board.groups[gi].named.insert(n.clone());
                board.unsettled.insert((gi, n.clone()));
            }
            None => board.groups[gi].all = true,
        }
    }
    let mut events = futures::stream::select_all(streams);
    let silent = |board: &Board| -> Option<WdError> {
        let g = board.groups.iter().find(|g| !g.answered)?;
        Some(WdError::unreachable(format!(
            "the Kubernetes API{} did not answer (list {} in {}) within {}s; check the kubeconfig's server and that the cluster runs",
            if opts.server.is_empty() { String::new() } else { format!(" at {}", opts.server) },
            g.kind,
            g.namespace,
            opts.answer_timeout.min(opts.timeout).as_secs()
        )))
    };
    let mut timed_out = false;
    while !board.settled() {
        let all_answered = board.groups.iter().all(|g| g.answered);
        let next = tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                if let Some(e) = silent(&board) { return Err(e); }
                timed_out = true;
                break;
            }
            _ = tokio::time::sleep_until(answer_by), if !all_answered => {
                if let Some(e) = silent(&board) { return Err(e); }
                continue;
            }
            e = events.next() => e,
        };
        let Some((gi, ev)) = next else { break };
        match ev {
            Ok(ev) => board.apply(gi, ev),
            Err(e) => {
                let g = &board.groups[gi];
                if !g.answered {
                    return Err(watch_error(&format!("watch {}", g.kind), &e));
                }
                wd_core::term::debug(&format!("wd-wait: watch restarts after: {e}"));
            }
        }
    }
    if let Some(b) = &board.bars {
        let _ = b.clear();
    }
    let mut report = WaitReport {
        started_at_unix_ms,
        timed_out,
        elapsed_ms: start.elapsed().as_millis() as u64,
        ..Default::default()
    };
    let pods_api = |ns: &str| -> Api<Pod> { Api::namespaced(client.clone(), ns) };
    for t in &targets {
        let key = (
            t.api_version.clone(),
            t.kind.clone(),
            t.namespace.clone(),
            t.selector.clone(),
        );
        let gi = index[&key];
        let g = &board.groups[gi];
        let names: Vec<String> = match &t.name {
            Some(n) => vec![n.clone()],
            None => {
                let mut v: Vec<String> = g.judged.iter().cloned().collect();
                v.sort();
                v
            }
        };
        for name in names {
            let Some(j) = board.judged.get(&(gi, name.clone())) else {
                report.objects.push(WaitObject {
                    object_kind: t.kind.clone(),
                    namespace: t.namespace.clone(),
                    name: name.clone(),
                    state: WaitState::Missing,
                    message: "not found".into(),
                    diagnosis: vec![format!(
                        "{} {name} does not exist in namespace {}; did the release install it?",
                        t.kind, t.namespace
                    )],
                    ..Default::default()
                });
                continue;
            };
            let (state, message) = match &j.state {
                State::Ready(m) => (WaitState::Ready, m.clone()),
                State::Failed(m) => (WaitState::Failed, m.clone()),
                State::Pending(m) => (WaitState::Pending, m.clone()),
            };
            let mut o = WaitObject {
                object_kind: t.kind.clone(),
                namespace: t.namespace.clone(),
                name: name.clone(),
                state,
                message,
                ready_after_ms: j.ready_after.map(|d| d.as_millis() as u64),
                ..Default::default()
            };
            if state != WaitState::Ready {
                let r = ObjectRef::new_with(&name, g.ar.clone()).within(&t.namespace);
                if let Some(obj) = g.store.get(&r) {
                    diagnose(&pods_api(&t.namespace), &t.kind, &name, &obj, &mut o).await;
                }
            }
            report.objects.push(o);
        }
    }
    report.ready = !timed_out && report.objects.iter().all(|o| o.state == WaitState::Ready);
    Ok(report)
}

/// Why a workload is not ready: its pods' container states, scheduling, the crash logs.
async fn diagnose(
    pods: &Api<Pod>,
    kind: &str,
    name: &str,
    obj: &DynamicObject,
    out: &mut WaitObject,
) {
    let data = &obj.data;
    let selector = match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" => data["spec"]["selector"]["matchLabels"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(",")
            }),
        "Job" => Some(format!("job-name={name}")),
        "Pod" => None,
        _ => {
            if let Some(c) = data["status"]["conditions"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
            {
                out.diagnosis.push(format!(
                    "{kind} {name}: {}: {}",
                    c["reason"].as_str().unwrap_or("not ready"),
                    c["message"].as_str().unwrap_or("")
                ));
            }
            return;
        }
    };
    if kind == "Job" {
        if let Some(c) = data["status"]["conditions"].as_array().and_then(|c| {
            c.iter()
                .find(|c| c["type"] == "Failed" && c["status"] == "True")
        }) {
            out.diagnosis.push(format!(
                "Job {name} failed: {}: {}",
                c["reason"].as_str().unwrap_or(""),
                c["message"].as_str().unwrap_or("")
            ));
        }
    }
    let pod_list: Vec<Value> = match selector {
        Some(sel) => match pods.list(&ListParams::default().labels(&sel)).await {
            Ok(l) => l
                .items
                .iter()
                .filter_map(|p| serde_json::to_value(p).ok())
                .collect(),
            Err(e) => {
                out.diagnosis.push(format!("cannot list its pods: {e}"));
                return;
            }
        },
        None => serde_json::to_value(obj).into_iter().collect(),
    };
    if pod_list.is_empty() && kind != "Job" {
        out.diagnosis.push(format!(
            "{kind} {name} has no pods (check its events: kubectl describe {} {name})",
            kind.to_lowercase()
        ));
    }
    for p in &pod_list {
        let pod = p["metadata"]["name"].as_str().unwrap_or("");
        if let Some(c) = p["status"]["conditions"].as_array().and_then(|c| {
            c.iter()
                .find(|c| c["type"] == "PodScheduled" && c["status"] == "False")
        }) {
            out.diagnosis.push(format!(
                "pod {pod} is Pending: {}: {}",
                c["reason"].as_str().unwrap_or(""),
                c["message"].as_str().unwrap_or("")
            ));
        }
        let statuses = p["status"]["initContainerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(
                p["status"]["containerStatuses"]
                    .as_array()
                    .into_iter()
                    .flatten(),
            );
        for cs in statuses {
            let container = cs["name"].as_str().unwrap_or("");
            let waiting = &cs["state"]["waiting"];
            let reason = waiting["reason"].as_str().unwrap_or("");
            match reason {
                "CrashLoopBackOff" => {
                    out.diagnosis.push(format!(
                        "container {container} of pod {pod} is in CrashLoopBackOff ({} restarts)",
                        cs["restartCount"].as_i64().unwrap_or(0)
                    ));
                    let lp = LogParams {
                        container: Some(container.to_string()),
                        tail_lines: Some(20),
                        previous: true,
                        ..Default::default()
                    };
                    let text = match pods.logs(pod, &lp).await {
                        Ok(t) => t,
                        Err(_) => pods
                            .logs(
                                pod,
                                &LogParams {
                                    previous: false,
                                    ..lp
                                },
                            )
                            .await
                            .unwrap_or_default(),
                    };
                    out.logs = text.lines().map(str::to_string).collect();
                }
                "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" => {
                    out.diagnosis.push(format!(
                        "container {container} of pod {pod} cannot pull image {}: {}",
                        cs["image"].as_str().unwrap_or(""),
                        waiting["message"].as_str().unwrap_or(reason)
                    ))
                }
                "" => {}
                other => out.diagnosis.push(format!(
                    "container {container} of pod {pod}: {other}: {}",
                    waiting["message"].as_str().unwrap_or("")
                )),
            }
        }
    }
}
