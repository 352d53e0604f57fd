//! The wait: one kube-rs watcher per (kind, namespace[, selector]), so a wait over 200 objects
//! costs one list and one watch per kind, not per object. The watchers relist after 410 Gone and
//! reconnect after dropped streams (kube-runtime), so no transition is missed.

use crate::policy::{evaluate, State};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, LogParams};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::Client;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use wd_core::docs::cluster::{WaitObject, WaitReport};
use wd_core::WdResult;

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

type GroupKey = (String, String, String, Option<String>);

struct Group {
    objects: HashMap<String, Value>,
    synced: bool,
    healthy_once: bool,
}

fn state_of(
    t: &Target,
    groups: &BTreeMap<GroupKey, Group>,
) -> Vec<(String, Option<Value>, Option<State>)> {
    let key = (
        t.api_version.clone(),
        t.kind.clone(),
        t.namespace.clone(),
        t.selector.clone(),
    );
    let g = &groups[&key];
    match &t.name {
        Some(n) => {
            let obj = g.objects.get(n).cloned();
            let st = obj.as_ref().map(|o| evaluate(&t.kind, o));
            vec![(n.clone(), obj, st)]
        }
        None => {
            let mut names: Vec<&String> = g.objects.keys().collect();
            names.sort();
            names
                .into_iter()
                .map(|n| {
                    (
                        n.clone(),
                        Some(g.objects[n].clone()),
                        Some(evaluate(&t.kind, &g.objects[n])),
                    )
                })
                .collect()
        }
    }
}

pub async fn wait(
    client: Client,
    targets: Vec<Target>,
    timeout: Duration,
    progress: bool,
) -> WdResult<WaitReport> {
    let start = Instant::now();
    let started_at_unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut groups: BTreeMap<GroupKey, Group> = BTreeMap::new();
    let mut streams = Vec::new();
    for t in &targets {
        let key = (
            t.api_version.clone(),
            t.kind.clone(),
            t.namespace.clone(),
            t.selector.clone(),
        );
        if groups.contains_key(&key) {
            continue;
        }
        groups.insert(
            key.clone(),
            Group {
                objects: HashMap::new(),
                synced: false,
                healthy_once: false,
            },
        );
        let ar = api_resource(&t.api_version, &t.kind);
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &t.namespace, &ar);
        let mut cfg = watcher::Config::default();
        if let Some(s) = &t.selector {
            cfg = cfg.labels(s);
        }
        let k = key.clone();
        streams.push(
            watcher::watcher(api, cfg)
                .default_backoff()
                .map(move |e| (k.clone(), e))
                .boxed(),
        );
    }
    let mut events = futures::stream::select_all(streams);
    let bars = progress.then(indicatif::MultiProgress::new);
    let mut bar_of: HashMap<String, indicatif::ProgressBar> = HashMap::new();
    let mut ready_at: HashMap<String, u64> = HashMap::new();
    let mut timed_out = false;
    loop {
        // settled: every group listed, every target ready or failed
        let mut settled = groups.values().all(|g| g.synced);
        for t in &targets {
            let states = state_of(t, &groups);
            if t.name.is_some() && states[0].2.is_none() {
                settled = false;
            }
            for (name, _, st) in &states {
                let id = format!("{}/{}/{}", t.kind, t.namespace, name);
                match st {
                    Some(State::Ready(m)) => {
                        ready_at
                            .entry(id.clone())
                            .or_insert_with(|| start.elapsed().as_millis() as u64);
                        if let Some(b) = &bars {
                            let bar = bar_of
                                .entry(id.clone())
                                .or_insert_with(|| b.add(indicatif::ProgressBar::new_spinner()));
                            bar.finish_with_message(format!("✔ {id}: {m}"));
                        }
                    }
                    Some(State::Failed(_)) => {}
                    Some(State::Pending(m)) => {
                        settled = false;
                        if let Some(b) = &bars {
                            let bar = bar_of
                                .entry(id.clone())
                                .or_insert_with(|| b.add(indicatif::ProgressBar::new_spinner()));
                            bar.set_message(format!("… {id}: {m}"));
                            bar.tick();
                        }
                    }
                    None => settled = false,
                }
            }
        }
        if settled {
            break;
        }
        let next = tokio::select! {
            _ = tokio::time::sleep_until(deadline) => { timed_out = true; break; }
            e = events.next() => e,
        };
        let Some((key, ev)) = next else { break };
        let g = groups.get_mut(&key).expect("group exists");
        match ev {
            Ok(ev) => {
                // `Init` comes before the list request: only what follows proves the API answered.
                if !matches!(ev, Event::Init) {
                    g.healthy_once = true;
                }
                match ev {
                    Event::Init => g.objects.clear(),
                    Event::InitApply(o) | Event::Apply(o) => {
                        let name = o.metadata.name.clone().unwrap_or_default();
                        g.objects
                            .insert(name, serde_json::to_value(&o).unwrap_or(Value::Null));
                    }
                    Event::InitDone => g.synced = true,
                    Event::Delete(o) => {
                        g.objects.remove(o.metadata.name.as_deref().unwrap_or(""));
                    }
                }
            }
            Err(e) => {
                if !g.healthy_once {
                    return Err(wd_kube::api_error(&format!("watch {}", key.1), &e));
                }
                wd_core::term::debug(&format!("wd-wait: watch restarts after: {e}"));
            }
        }
    }
    if let Some(b) = &bars {
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
        let states = state_of(t, &groups);
        if t.name.is_some() && states[0].1.is_none() {
            report.objects.push(WaitObject {
                object_kind: t.kind.clone(),
                namespace: t.namespace.clone(),
                name: t.name.clone().unwrap_or_default(),
                state: "missing".into(),
                message: "not found".into(),
                diagnosis: vec![format!(
                    "{} {} does not exist in namespace {}; did the release install it?",
                    t.kind,
                    t.name.as_deref().unwrap_or(""),
                    t.namespace
                )],
                ..Default::default()
            });
            continue;
        }
        for (name, obj, st) in states {
            let id = format!("{}/{}/{}", t.kind, t.namespace, name);
            let (state, message) = match st {
                Some(State::Ready(m)) => ("ready", m),
                Some(State::Failed(m)) => ("failed", m),
                Some(State::Pending(m)) => ("pending", m),
                None => ("missing", "not found".into()),
            };
            let mut o = WaitObject {
                object_kind: t.kind.clone(),
                namespace: t.namespace.clone(),
                name: name.clone(),
                state: state.into(),
                message,
                ready_after_ms: ready_at.get(&id).copied(),
                ..Default::default()
            };
            if state != "ready" {
                if let Some(obj) = &obj {
                    diagnose(&pods_api(&t.namespace), &t.kind, &name, obj, &mut o).await;
                }
            }
            report.objects.push(o);
        }
    }
    report.ready = !timed_out && report.objects.iter().all(|o| o.state == "ready");
    Ok(report)
}

/// Why a workload is not ready: its pods' container states, scheduling, the crash logs.
async fn diagnose(pods: &Api<Pod>, kind: &str, name: &str, obj: &Value, out: &mut WaitObject) {
    let selector = match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" => {
            obj["spec"]["selector"]["matchLabels"].as_object().map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(",")
            })
        }
        "Job" => Some(format!("job-name={name}")),
        "Pod" => None,
        _ => {
            if let Some(c) = obj["status"]["conditions"]
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
        if let Some(c) = obj["status"]["conditions"].as_array().and_then(|c| {
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
        None => vec![obj.clone()],
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
