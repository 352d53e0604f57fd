//! An in-process fake Kubernetes API server (axum) for the cluster tools' tests. No real
//! kube-apiserver can run here; this one follows the parts of the protocol the tools use:
//! list with `metadata.resourceVersion`, `?watch=true&resourceVersion=N` streams of
//! ADDED/MODIFIED/DELETED events (JSON lines), BOOKMARK events when asked, an ERROR event with
//! 410 Gone for a resourceVersion older than the compacted history, watches dropped mid-stream,
//! label/field selectors, single-object GET and pod logs. Every request is counted.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

#[derive(Clone, Debug)]
struct Ev {
    rv: u64,
    resource: String,
    ns: String,
    kind: &'static str,
    obj: Value,
}

#[derive(Default)]
struct Inner {
    rv: u64,
    objects: BTreeMap<(String, String, String), Value>,
    history: Vec<Ev>,
    compacted_before: u64,
    logs: HashMap<(String, String, String), String>,
    drop_watch_after: Option<usize>,
}

pub struct Shared {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Ev>,
    requests: Mutex<Vec<String>>,
}

/// A running fake; dropping it stops the server.
pub struct FakeKube {
    pub url: String,
    shared: Arc<Shared>,
    _rt: Option<tokio::runtime::Runtime>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// `group/version/plural` of a kind (what the URL paths name).
pub fn resource_of(api_version: &str, kind: &str) -> String {
    let plural = match kind {
        "Ingress" => "ingresses".to_string(),
        "PersistentVolumeClaim" => "persistentvolumeclaims".to_string(),
        k => format!("{}s", k.to_lowercase()),
    };
    format!("{api_version}/{plural}")
}

fn matches_selector(obj: &Value, labels: Option<&str>, fields: Option<&str>) -> bool {
    if let Some(sel) = labels.filter(|s| !s.is_empty()) {
        for term in sel.split(',') {
            let (k, v) = term.split_once('=').unwrap_or((term, ""));
            let v = v.trim_start_matches('=');
            if obj["metadata"]["labels"][k].as_str() != Some(v) {
                return false;
            }
        }
    }
    if let Some(sel) = fields.filter(|s| !s.is_empty()) {
        for term in sel.split(',') {
            if let Some(name) = term.strip_prefix("metadata.name=") {
                if obj["metadata"]["name"].as_str() != Some(name) {
                    return false;
                }
            }
        }
    }
    true
}

impl FakeKube {
    /// Starts on 127.0.0.1 with its own runtime thread.
    pub fn start() -> FakeKube {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (tx, _) = broadcast::channel(4096);
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                rv: 100,
                ..Default::default()
            }),
            tx,
            requests: Mutex::new(vec![]),
        });
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        rt.spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        FakeKube {
            url,
            shared,
            _rt: Some(rt),
            stop: Some(stop),
        }
    }

    /// A kubeconfig file pointing at this server (plain http, no auth).
    pub fn kubeconfig(&self, dir: &std::path::Path) -> std::path::PathBuf {
        kubeconfig_for(&self.url, dir)
    }

    /// Creates or replaces an object (ADDED / MODIFIED to watchers).
    pub fn apply(&self, obj: Value) {
        self.apply_at(obj);
    }

    /// [`apply`](Self::apply), returning the monotonic instant the event went to the watchers
    /// (for reaction-time measurements against an in-process client).
    pub fn apply_at(&self, mut obj: Value) -> std::time::Instant {
        let mut inner = self.shared.inner.lock().unwrap();
        inner.rv += 1;
        let rv = inner.rv;
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("waltid")
            .to_string();
        let name = obj["metadata"]["name"].as_str().unwrap().to_string();
        let resource = resource_of(
            obj["apiVersion"].as_str().unwrap(),
            obj["kind"].as_str().unwrap(),
        );
        obj["metadata"]["namespace"] = json!(ns);
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        obj["metadata"]["uid"] = json!(format!("uid-{name}"));
        let key = (resource.clone(), ns.clone(), name);
        let kind = if inner.objects.contains_key(&key) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        inner.objects.insert(key, obj.clone());
        let ev = Ev {
            rv,
            resource,
            ns,
            kind,
            obj,
        };
        inner.history.push(ev.clone());
        // taken before the send: no watcher can see the event earlier
        let sent = std::time::Instant::now();
        let _ = self.shared.tx.send(ev);
        sent
    }

    pub fn delete(&self, api_version: &str, kind: &str, ns: &str, name: &str) {
        let mut inner = self.shared.inner.lock().unwrap();
        let resource = resource_of(api_version, kind);
        if let Some(mut obj) =
            inner
                .objects
                .remove(&(resource.clone(), ns.to_string(), name.to_string()))
        {
            inner.rv += 1;
            let rv = inner.rv;
            obj["metadata"]["resourceVersion"] = json!(rv.to_string());
            let ev = Ev {
                rv,
                resource,
                ns: ns.into(),
                kind: "DELETED",
                obj,
            };
            inner.history.push(ev.clone());
            let _ = self.shared.tx.send(ev);
        }
    }

    /// Forgets history: resuming a watch from an older resourceVersion now gets 410 Gone.
    pub fn compact(&self) {
        let mut inner = self.shared.inner.lock().unwrap();
        inner.compacted_before = inner.rv + 1;
        inner.history.clear();
    }

    /// The next watch streams close (without a final event) after `n` events.
    pub fn drop_watches_after(&self, n: Option<usize>) {
        self.shared.inner.lock().unwrap().drop_watch_after = n;
    }

    pub fn set_log(&self, ns: &str, pod: &str, container: &str, text: &str) {
        self.shared
            .inner
            .lock()
            .unwrap()
            .logs
            .insert((ns.into(), pod.into(), container.into()), text.into());
    }

    /// Requests seen so far: "GET /path?query".
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(rt) = self._rt.take() {
            rt.shutdown_timeout(Duration::from_millis(200));
        }
    }
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code})
}

async fn handle(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let query: HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| {
            q.split('&')
                .filter_map(|kv| {
                    kv.split_once('=')
                        .map(|(k, v)| (k.to_string(), percent_decode(v)))
                })
                .collect()
        })
        .unwrap_or_default();
    s.requests
        .lock()
        .unwrap()
        .push(format!("{} {}", req.method(), req.uri()));
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // /api/v1/... or /apis/<group>/<version>/...
    let (gv, rest) = match parts.as_slice() {
        ["api", v, rest @ ..] => (v.to_string(), rest.to_vec()),
        ["apis", g, v, rest @ ..] => (format!("{g}/{v}"), rest.to_vec()),
        _ => {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(status(404, "NotFound", "no such path")),
            )
                .into_response()
        }
    };
    let (ns, plural, name, sub) = match rest.as_slice() {
        ["namespaces", ns, plural] => (Some(ns.to_string()), plural.to_string(), None, None),
        ["namespaces", ns, plural, name] => (
            Some(ns.to_string()),
            plural.to_string(),
            Some(name.to_string()),
            None,
        ),
        ["namespaces", ns, plural, name, sub] => (
            Some(ns.to_string()),
            plural.to_string(),
            Some(name.to_string()),
            Some(sub.to_string()),
        ),
        [plural] => (None, plural.to_string(), None, None),
        _ => {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(status(404, "NotFound", "no such path")),
            )
                .into_response()
        }
    };
    let resource = format!("{gv}/{plural}");
    if sub.as_deref() == Some("log") {
        let inner = s.inner.lock().unwrap();
        let container = query.get("container").cloned().unwrap_or_default();
        let text = inner
            .logs
            .get(&(
                ns.clone().unwrap_or_default(),
                name.clone().unwrap_or_default(),
                container,
            ))
            .cloned()
            .unwrap_or_default();
        let tail: usize = query
            .get("tailLines")
            .and_then(|t| t.parse().ok())
            .unwrap_or(usize::MAX);
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(tail);
        return lines[start..].join("\n").into_response();
    }
    if let Some(name) = name {
        let inner = s.inner.lock().unwrap();
        return match inner
            .objects
            .get(&(resource, ns.unwrap_or_default(), name.clone()))
        {
            Some(o) => axum::Json(o.clone()).into_response(),
            None => (
                StatusCode::NOT_FOUND,
                axum::Json(status(404, "NotFound", &format!("\"{name}\" not found"))),
            )
                .into_response(),
        };
    }
    let labels = query.get("labelSelector").cloned();
    let fields = query.get("fieldSelector").cloned();
    let in_scope = move |r: &str, n: &str, o: &Value| {
        r == resource
            && ns.as_deref().is_none_or(|x| x == n)
            && matches_selector(o, labels.as_deref(), fields.as_deref())
    };
    if query.get("watch").map(String::as_str) != Some("true")
        && query.get("watch").map(String::as_str) != Some("1")
    {
        let inner = s.inner.lock().unwrap();
        let items: Vec<Value> = inner
            .objects
            .iter()
            .filter(|((r, n, _), o)| in_scope(r, n, o))
            .map(|(_, o)| o.clone())
            .collect();
        return axum::Json(json!({"kind": "List", "apiVersion": gv, "metadata": {"resourceVersion": inner.rv.to_string()}, "items": items})).into_response();
    }
    // watch
    let since: u64 = query
        .get("resourceVersion")
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let bookmarks = query.get("allowWatchBookmarks").map(String::as_str) == Some("true");
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .unwrap_or(290u64);
    let (replay, mut rx, gone, drop_after, current) = {
        let inner = s.inner.lock().unwrap();
        let gone = since != 0 && since < inner.compacted_before;
        let replay: Vec<Ev> = inner
            .history
            .iter()
            .filter(|e| e.rv > since && in_scope(&e.resource, &e.ns, &e.obj))
            .cloned()
            .collect();
        (
            replay,
            s.tx.subscribe(),
            gone,
            inner.drop_watch_after,
            inner.rv,
        )
    };
    let (tx, body_rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(256);
    tokio::spawn(async move {
        let line = |t: &str, o: &Value| format!("{}\n", json!({"type": t, "object": o}));
        if gone {
            let _ = tx
                .send(Ok(line(
                    "ERROR",
                    &status(
                        410,
                        "Expired",
                        &format!("too old resource version: {since}"),
                    ),
                )))
                .await;
            return;
        }
        let mut sent = 0usize;
        let mut last = since.max(current);
        for e in replay {
            if drop_after.is_some_and(|n| sent >= n) {
                let _ = tx.send(Err(std::io::Error::other("dropped"))).await;
                return;
            }
            last = last.max(e.rv);
            if tx.send(Ok(line(e.kind, &e.obj))).await.is_err() {
                return;
            }
            sent += 1;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                _ = tick.tick(), if bookmarks => {
                    let o = json!({"kind": "Bookmark", "apiVersion": "v1", "metadata": {"resourceVersion": last.to_string()}});
                    if tx.send(Ok(line("BOOKMARK", &o))).await.is_err() { return; }
                }
                ev = rx.recv() => {
                    let Ok(e) = ev else { return };
                    if e.rv <= since || !in_scope(&e.resource, &e.ns, &e.obj) { continue; }
                    if drop_after.is_some_and(|n| sent >= n) {
                        let _ = tx.send(Err(std::io::Error::other("dropped"))).await;
                        return;
                    }
                    last = last.max(e.rv);
                    if tx.send(Ok(line(e.kind, &e.obj))).await.is_err() { return; }
                    sent += 1;
                }
            }
        }
    });
    let stream =
        futures::stream::unfold(
            body_rx,
            |mut rx| async move { rx.recv().await.map(|x| (x, rx)) },
        );
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(x) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

/// An API server that completes the TCP handshake and never answers a request (a hung
/// kube-apiserver, a black-holed load balancer). Connections stay open until it is dropped.
pub struct SilentServer {
    pub url: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SilentServer {
    pub fn start() -> SilentServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut open = Vec::new();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => open.push(conn),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        SilentServer {
            url,
            stop,
            thread: Some(thread),
        }
    }

    /// A kubeconfig file pointing at this server.
    pub fn kubeconfig(&self, dir: &std::path::Path) -> std::path::PathBuf {
        kubeconfig_for(&self.url, dir)
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn kubeconfig_for(url: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("kubeconfig");
    std::fs::write(
        &p,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {url}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: waltid\ncurrent-context: fake\nusers:\n- name: fake\n  user: {{}}\n"),
    )
    .unwrap();
    p
}
