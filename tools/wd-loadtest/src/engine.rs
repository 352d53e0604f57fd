//! The engine: virtual users running a scenario's flows under a load model, each request timed,
//! each failure judged error or drift.
//!
//! Drift (issue 12): a step fails the way a request fails on a replica that never saw the flow's
//! state — a status of the scenario's `drift.status` (401/403/404), or an error body matching
//! `drift.body` ("session not found", "no active issuance session", …) — AFTER an earlier step of
//! the same flow succeeded on another replica. Attribution:
//! - a step that declares `state: [issuer]` (the wallet calling the issuer server-side with the
//!   offer) and fails with a body matching `drift.body` after an earlier step of the flow
//!   succeeded on the issuer: drift of the **issuer**, seen through the called service (the
//!   wallet's error body carries the issuer's error; we cannot see which issuer replica the
//!   wallet reached, only that the flow's issuer state was missing);
//! - otherwise a drift-like answer of the called service itself, after an earlier success of the
//!   flow on another replica of it (pinned targets: a different replica index; a balanced
//!   target: any earlier success, since the replica behind one URL is unknown): drift of the
//!   **called** service;
//! - anything else is an error.
//!
//! A flow is a virtual user's per-user setup plus one iteration: what the setup created (the
//! login token) is state the iteration's steps depend on.

use crate::client::{Answer, Conns, Endpoint, Method};
use crate::metrics::Metrics;
use crate::scenario::{Body, Extract, JsonCheck, Scenario, Step};
use crate::template::Vars;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use wd_core::docs::loadtest::{StepPhase, TargetMode};

/// Where a service's requests go.
#[derive(Debug, Clone)]
pub struct ServiceTarget {
    pub name: String,
    pub mode: TargetMode,
    /// Endpoint ids, in replica order.
    pub endpoints: Vec<usize>,
}

/// A load model, already checked.
#[derive(Debug, Clone)]
pub struct Model {
    pub open: bool,
    /// Closed: VUs at the start. Open: the VU pool's bound.
    pub vus: u32,
    pub max_vus: u32,
    /// Open: iterations/s at the start.
    pub rate: f64,
    /// (duration, target): VUs (closed) or iterations/s (open).
    pub stages: Vec<(Duration, f64)>,
    pub max_iterations: Option<u64>,
    pub duration: Option<Duration>,
}

impl Model {
    /// How long the load lasts at most: `--duration`, else the stages' sum, else unbounded.
    pub fn span(&self) -> Option<Duration> {
        let stages: Duration = self.stages.iter().map(|s| s.0).sum();
        match (self.duration, self.stages.is_empty()) {
            (Some(d), true) => Some(d),
            (Some(d), false) => Some(d.min(stages)),
            (None, false) => Some(stages),
            (None, true) => None,
        }
    }

    /// The stage-interpolated target (VUs or rate) at `t` from the start.
    fn target_at(&self, start: f64, t: Duration) -> f64 {
        let mut from = start;
        let mut at = Duration::ZERO;
        for &(d, to) in &self.stages {
            if t < at + d {
                let f = (t - at).as_secs_f64() / d.as_secs_f64().max(1e-9);
                return from + (to - from) * f;
            }
            at += d;
            from = to;
        }
        from
    }

    /// Open model: when the k-th iteration (from 0) is due, from the start; None past the end.
    pub fn due(&self, k: u64) -> Option<Duration> {
        let k = k as f64;
        if self.stages.is_empty() {
            if self.rate <= 0.0 {
                return None;
            }
            return Some(Duration::from_secs_f64(k / self.rate));
        }
        // Piecewise-linear rate: the cumulative count over a stage is r0·τ + (r1−r0)·τ²/(2D).
        let mut from = self.rate;
        let mut at = 0.0;
        let mut done = 0.0;
        for &(d, to) in &self.stages {
            let ds = d.as_secs_f64();
            let n = (from + to) / 2.0 * ds;
            if k < done + n {
                let m = k - done;
                let a = (to - from) / (2.0 * ds);
                let tau = if a.abs() < 1e-12 {
                    m / from
                } else {
                    (-from + (from * from + 4.0 * a * m).max(0.0).sqrt()) / (2.0 * a)
                };
                return Some(Duration::from_secs_f64(at + tau.clamp(0.0, ds)));
            }
            done += n;
            at += ds;
            from = to;
        }
        None
    }
}

/// Everything a run needs, shared by its virtual users.
pub struct Run {
    pub scenario: Scenario,
    pub targets: Vec<ServiceTarget>,
    pub endpoints: Vec<Endpoint>,
    pub model: Model,
    pub timeout: Duration,
    pub grace: Duration,
    pub run_id: String,
    pub metrics: Metrics,
    stop: AtomicBool,
    stopped: Notify,
    budget: AtomicU64,
    pub requests: AtomicU64,
    /// Per step without variables in its path, headers and body: its request's bytes for every
    /// endpoint, built once.
    static_reqs: Vec<Option<Vec<Vec<u8>>>>,
}

/// Writes step's request for `ep` into `out`: request line, Host, the step's headers, the body.
fn write_request(step: &Step, ep: &Endpoint, vars: &Vars, out: &mut Vec<u8>) -> Result<(), String> {
    use std::io::Write;
    out.clear();
    let path = step.path.render(vars)?;
    let target_ok = |s: &str| s.bytes().all(|b| (0x21..0x7f).contains(&b));
    if !target_ok(&path) {
        return Err(format!(
            "invalid path {path:?} (spaces and control characters must be percent-encoded)"
        ));
    }
    let _ = write!(
        out,
        "{} {}{path} HTTP/1.1\r\nHost: {}\r\n",
        step.method, ep.prefix, ep.authority
    );
    let mut has_type = false;
    for (k, v) in &step.headers {
        let v = v.render(vars)?;
        if !v.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f)) {
            return Err(format!("invalid value for header {k}: {v:?}"));
        }
        has_type |= k == http::header::CONTENT_TYPE;
        let _ = write!(out, "{k}: {v}\r\n");
    }
    let (body, kind) = match &step.body {
        Body::None => (None, ""),
        Body::Json(t) => (Some(t.render(vars)?.to_vec()), "application/json"),
        Body::Text(t) => (Some(t.render(vars)?.into_bytes()), "text/plain"),
    };
    if body.is_some() && !has_type {
        let _ = write!(out, "Content-Type: {kind}\r\n");
    }
    let len = body.as_ref().map_or(0, |b| b.len());
    // A length for every body and for the methods that expect one (RFC 9110 §8.6).
    let wants_length = matches!(
        step.method,
        http::Method::POST | http::Method::PUT | http::Method::PATCH
    );
    if body.is_some() || wants_length {
        let _ = write!(out, "Content-Length: {len}\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if let Some(b) = body {
        out.extend_from_slice(&b);
    }
    Ok(())
}

/// Whether a step's request is the same bytes every time.
fn is_static(step: &Step) -> bool {
    step.path.as_static().is_some()
        && step.headers.iter().all(|(_, v)| v.as_static().is_some())
        && match &step.body {
            Body::None => true,
            Body::Json(t) => matches!(t, crate::template::ValueTemplate::Static(_)),
            Body::Text(t) => t.as_static().is_some(),
        }
}

/// How a run ended.
pub struct Ended {
    pub elapsed: Duration,
    pub interrupted: bool,
    /// The per-run setup failed: no load was generated.
    pub setup_failed: Option<String>,
}

const BALANCED: u64 = 1 << 63;

/// What a virtual user keeps between iterations.
pub struct Vu {
    conns: Conns,
    /// The request being sent, when its step's is not prebuilt.
    req: Vec<u8>,
    vars: Vars,
    setup_done: bool,
    /// Per service: the next replica offset (pinned targets rotate through replicas).
    rot: Vec<usize>,
    /// Per service: replicas (bits) where the per-user setup succeeded.
    vu_seen: Vec<u64>,
}

enum Outcome {
    Ok,
    Skipped,
    Error,
    Drift,
}

impl Run {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        scenario: Scenario,
        targets: Vec<ServiceTarget>,
        endpoints: Vec<Endpoint>,
        model: Model,
        timeout: Duration,
        grace: Duration,
        run_id: String,
    ) -> Run {
        let metrics = Metrics::new(scenario.steps.len(), scenario.services.len());
        let budget = model.max_iterations.unwrap_or(u64::MAX);
        let none = Vars::default();
        let static_reqs = scenario
            .steps
            .iter()
            .map(|s| {
                if !is_static(s) {
                    return None;
                }
                endpoints
                    .iter()
                    .map(|ep| {
                        let mut b = Vec::new();
                        write_request(s, ep, &none, &mut b).ok().map(|_| b)
                    })
                    .collect()
            })
            .collect();
        Run {
            static_reqs,
            scenario,
            targets,
            endpoints,
            model,
            timeout,
            grace,
            run_id,
            metrics,
            stop: AtomicBool::new(false),
            stopped: Notify::new(),
            budget: AtomicU64::new(budget),
            requests: AtomicU64::new(0),
        }
    }

    pub fn stop(&self) {
        self.stop.store(true, Relaxed);
        self.stopped.notify_waiters();
    }

    fn stopping(&self) -> bool {
        self.stop.load(Relaxed)
    }

    fn take_budget(&self) -> bool {
        self.budget
            .fetch_update(Relaxed, Relaxed, |b| b.checked_sub(1))
            .is_ok()
    }

    fn new_vu(&self, id: u64, run_vars: &Arc<HashMap<String, serde_json::Value>>) -> Vu {
        Vu {
            conns: Conns::new(self.endpoints.len()),
            req: Vec::new(),
            vars: Vars {
                run: run_vars.clone(),
                vu_id: id,
                run_id: self.run_id.clone(),
                uuid_seed: std::sync::atomic::AtomicU64::new(
                    id.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ hash(&self.run_id),
                ),
                ..Vars::default()
            },
            setup_done: false,
            rot: vec![id as usize; self.targets.len()],
            vu_seen: vec![0; self.targets.len()],
        }
    }

    /// Runs the per-run setup steps; their extracted variables join `vars`.
    pub async fn setup(&self, vars: &mut HashMap<String, serde_json::Value>) -> Result<(), String> {
        let mut vu = self.new_vu(0, &Arc::new(vars.clone()));
        let mut seen = vec![0; self.targets.len()];
        let mut hint = None;
        for (i, step) in self.scenario.steps.iter().enumerate() {
            if step.phase != StepPhase::Setup {
                continue;
            }
            match self.step(&mut vu, i, &mut seen, &mut hint).await {
                Outcome::Ok | Outcome::Skipped => {}
                Outcome::Error | Outcome::Drift => {
                    let m = &self.metrics.steps[i];
                    let sample = m
                        .errors_samples()
                        .into_iter()
                        .chain((0..self.targets.len()).flat_map(|s| m.drift_samples(s)))
                        .next()
                        .unwrap_or_default();
                    return Err(format!("setup step {} failed: {sample}", step.name));
                }
            }
        }
        *vars = (*vu.vars.run).clone();
        Ok(())
    }

    /// One iteration (with the per-user setup first when it has not succeeded yet).
    async fn iteration(&self, vu: &mut Vu, scheduled: Option<Instant>) {
        let t0 = scheduled.unwrap_or_else(Instant::now);
        let mut hint = scheduled;
        self.metrics.started.fetch_add(1, Relaxed);
        let mut result = Outcome::Ok;
        if !vu.setup_done {
            let mut seen = vec![0; self.targets.len()];
            for (i, step) in self.scenario.steps.iter().enumerate() {
                if step.phase != StepPhase::VuSetup {
                    continue;
                }
                let o = self.step(vu, i, &mut seen, &mut hint).await;
                if matches!(o, Outcome::Error | Outcome::Drift) {
                    result = o;
                    break;
                }
            }
            if matches!(result, Outcome::Ok) {
                vu.setup_done = true;
                vu.vu_seen = seen;
            }
        }
        if matches!(result, Outcome::Ok) {
            if !vu.vars.iter.is_empty() {
                vu.vars.iter.clear();
            }
            let mut seen = vu.vu_seen.clone();
            for (i, step) in self.scenario.steps.iter().enumerate() {
                if step.phase != StepPhase::Iteration {
                    continue;
                }
                let o = self.step(vu, i, &mut seen, &mut hint).await;
                if matches!(o, Outcome::Error | Outcome::Drift) {
                    result = o;
                    break;
                }
            }
        }
        vu.vars.iteration += 1;
        self.metrics.iteration.record(t0.elapsed());
        match result {
            Outcome::Ok | Outcome::Skipped => &self.metrics.completed,
            Outcome::Error => &self.metrics.failed,
            Outcome::Drift => &self.metrics.drifted,
        }
        .fetch_add(1, Relaxed);
    }

    /// Step `i`'s request for endpoint `ep_id`: prebuilt, or written into `buf`.
    fn request<'a>(
        &'a self,
        i: usize,
        ep_id: usize,
        vars: &Vars,
        buf: &'a mut Vec<u8>,
    ) -> Result<&'a [u8], String> {
        if let Some(per_ep) = &self.static_reqs[i] {
            return Ok(&per_ep[ep_id]);
        }
        write_request(&self.scenario.steps[i], &self.endpoints[ep_id], vars, buf)?;
        Ok(buf)
    }

    /// Runs step `i`: picks the replica, sends (polling when asked), records, judges; what it
    /// extracts joins the variables of its phase (run, user, iteration).
    async fn step(
        &self,
        vu: &mut Vu,
        i: usize,
        seen: &mut [u64],
        hint: &mut Option<Instant>,
    ) -> Outcome {
        let step = &self.scenario.steps[i];
        let m = &self.metrics.steps[i];
        let vars = &vu.vars;
        if let Some(u) = &step.unless {
            if vars.is_set(u) {
                return Outcome::Skipped;
            }
        }
        let target = &self.targets[step.service];
        let n = target.endpoints.len();
        let (replica, bit) = match target.mode {
            TargetMode::Balanced => (0, BALANCED),
            TargetMode::Pinned => {
                let r = vu.rot[step.service] % n;
                vu.rot[step.service] = vu.rot[step.service].wrapping_add(1);
                (r, 1u64 << (r % 63))
            }
        };
        let ep_id = target.endpoints[replica];
        let ep = &self.endpoints[ep_id];
        m.count.fetch_add(1, Relaxed);
        let t0 = hint.take().unwrap_or_else(Instant::now);
        let attempts = step.poll.as_ref().map(|p| p.attempts).unwrap_or(1);
        let mut answer: Option<Answer> = None;
        for attempt in 0..attempts {
            let req = match self.request(i, ep_id, vars, &mut vu.req) {
                Ok(r) => r,
                Err(e) => {
                    m.errors.fetch_add(1, Relaxed);
                    m.error_sample(|| e);
                    m.hist.record(t0.elapsed());
                    return Outcome::Error;
                }
            };
            m.requests.fetch_add(1, Relaxed);
            self.requests.fetch_add(1, Relaxed);
            let a = match vu
                .conns
                .send(ep_id, ep, req, Method::of(&step.method), self.timeout)
                .await
            {
                Ok(a) => a,
                Err((f, e)) => {
                    m.failure(f);
                    m.hist.record(t0.elapsed());
                    m.errors.fetch_add(1, Relaxed);
                    m.error_sample(|| format!("{} {}: {e}", f.as_str(), ep.url));
                    return Outcome::Error;
                }
            };
            m.status(a.status);
            let status_ok = match &step.expect_status {
                Some(list) => list.contains(&a.status),
                None => (200..300).contains(&a.status),
            };
            if !status_ok {
                m.hist.record(t0.elapsed());
                return self.judge(step, i, &a, replica, bit, seen);
            }
            if let Some(p) = &step.poll {
                if !check(&p.until, &a.body) && attempt + 1 < attempts {
                    tokio::time::sleep(p.interval).await;
                    continue;
                }
            }
            answer = Some(a);
            break;
        }
        m.hist.record(t0.elapsed());
        let a = answer.expect("the loop ends with an answer or returns");
        let mut out = HashMap::new();
        if let Err(e) = self.verify(step, &a, &mut out) {
            m.errors.fetch_add(1, Relaxed);
            m.error_sample(|| format!("{} {}: {e}", a.status, ep.url));
            return Outcome::Error;
        }
        if !out.is_empty() {
            match step.phase {
                StepPhase::Setup => Arc::make_mut(&mut vu.vars.run).extend(out),
                StepPhase::VuSetup => vu.vars.vu.extend(out),
                StepPhase::Iteration => vu.vars.iter.extend(out),
            }
        }
        m.ok.fetch_add(1, Relaxed);
        seen[step.service] |= bit;
        Outcome::Ok
    }

    /// Body checks, the poll's condition, extraction.
    fn verify(
        &self,
        step: &Step,
        a: &Answer,
        out: &mut HashMap<String, serde_json::Value>,
    ) -> Result<(), String> {
        if !step.reads_body {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&a.body);
        if let Some(re) = &step.expect_body {
            if !re.is_match(&text) {
                return Err(format!(
                    "body does not match {:?}: {}",
                    re.as_str(),
                    short(&text)
                ));
            }
        }
        let json: Option<serde_json::Value> = serde_json::from_slice(&a.body).ok();
        if let Some(c) = &step.expect_json {
            if !json.as_ref().is_some_and(|j| holds(c, j)) {
                return Err(format!(
                    "expect.json {} does not hold: {}",
                    c.path.text,
                    short(&text)
                ));
            }
        }
        if let Some(p) = &step.poll {
            if !json.as_ref().is_some_and(|j| holds(&p.until, j)) {
                return Err(format!(
                    "poll: {} did not hold after {} attempts: {}",
                    p.until.path.text,
                    p.attempts,
                    short(&text)
                ));
            }
        }
        for (var, x) in &step.extract {
            let v = match x {
                Extract::Json(p) => {
                    json.as_ref()
                        .and_then(|j| p.first(j))
                        .cloned()
                        .ok_or_else(|| {
                            format!(
                                "extract {var}: {} selected nothing in {}",
                                p.text,
                                short(&text)
                            )
                        })?
                }
                Extract::Header(h) => a
                    .header(h.as_str())
                    .map(|s| serde_json::Value::String(s.to_string()))
                    .ok_or_else(|| format!("extract {var}: no {h} header"))?,
                Extract::Text => serde_json::Value::String(text.trim().to_string()),
                Extract::Regex(re) => re
                    .captures(&text)
                    .map(|c| {
                        serde_json::Value::String(
                            c.get(1)
                                .or_else(|| c.get(0))
                                .map(|m| m.as_str())
                                .unwrap_or("")
                                .to_string(),
                        )
                    })
                    .ok_or_else(|| {
                        format!(
                            "extract {var}: {:?} does not match {}",
                            re.as_str(),
                            short(&text)
                        )
                    })?,
            };
            out.insert(var.clone(), v);
        }
        Ok(())
    }

    /// A failed answer: drift (and of which service) or error.
    fn judge(
        &self,
        step: &Step,
        i: usize,
        a: &Answer,
        replica: usize,
        bit: u64,
        seen: &[u64],
    ) -> Outcome {
        let m = &self.metrics.steps[i];
        let text = String::from_utf8_lossy(&a.body[..a.body.len().min(4096)]);
        let body_says = self.scenario.drift_body.is_match(&text);
        let svc = |s: usize| &self.scenario.services[s];
        let where_ = |s: usize, bits: u64| -> String {
            let t = &self.targets[s];
            if t.mode == TargetMode::Balanced {
                format!("{} (balanced)", svc(s))
            } else {
                let rs: Vec<String> = (0..t.endpoints.len())
                    .filter(|r| bits & (1 << (r % 63)) != 0)
                    .map(|r| format!("{}#{r}", svc(s)))
                    .collect();
                rs.join(",")
            }
        };
        let here = if self.targets[step.service].mode == TargetMode::Balanced {
            format!("{} (balanced)", svc(step.service))
        } else {
            format!("{}#{replica}", svc(step.service))
        };
        if body_says {
            if let Some(&s) = step
                .state
                .iter()
                .find(|&&s| s != step.service && seen[s] != 0)
            {
                m.drift.fetch_add(1, Relaxed);
                m.drift_sample(s, || {
                    format!(
                        "{} state from {} missing when {here} called it: {} {}",
                        svc(s),
                        where_(s, seen[s]),
                        a.status,
                        short(&text)
                    )
                });
                return Outcome::Drift;
            }
        }
        let drift_like =
            self.scenario.drift_status.contains(&a.status) || (body_says && a.status >= 400);
        let other = if bit == BALANCED {
            seen[step.service]
        } else {
            seen[step.service] & !bit
        };
        if drift_like && other != 0 {
            m.drift.fetch_add(1, Relaxed);
            m.drift_sample(step.service, || {
                format!(
                    "earlier step on {}, this one on {here}: {} {}",
                    where_(step.service, other),
                    a.status,
                    short(&text)
                )
            });
            return Outcome::Drift;
        }
        m.errors.fetch_add(1, Relaxed);
        m.error_sample(|| format!("{} from {here}: {}", a.status, short(&text)));
        Outcome::Error
    }

    /// Runs the load; returns when it ended, was interrupted, or the grace period ran out.
    pub async fn load(
        self: &Arc<Self>,
        run_vars: HashMap<String, serde_json::Value>,
        progress: bool,
    ) -> Ended {
        let run_vars = Arc::new(run_vars);
        let start = Instant::now();
        let bar = progress.then(|| crate::progress::Bar::start(self.clone(), start));
        let mut tasks = tokio::task::JoinSet::new();
        if self.model.open {
            let me = self.clone();
            let rv = run_vars.clone();
            tasks.spawn(async move { me.open_scheduler(start, rv).await });
        } else {
            for id in 0..self.vus_bound() {
                let me = self.clone();
                let mut vu = self.new_vu(id as u64, &run_vars);
                tasks.spawn(async move {
                    loop {
                        if me.stopping() {
                            break;
                        }
                        let want = me.model.target_at(me.model.vus as f64, start.elapsed());
                        if (id as f64) >= want.round() {
                            tokio::select! {
                                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                                _ = me.stopped.notified() => {}
                            }
                            continue;
                        }
                        if !me.take_budget() {
                            break;
                        }
                        me.iteration(&mut vu, None).await;
                    }
                });
            }
        }
        let end = self
            .model
            .span()
            .map(|d| tokio::time::Instant::from_std(start + d));
        let mut interrupted = false;
        let drained = async { while tasks.join_next().await.is_some() {} };
        tokio::pin!(drained);
        let stop_reason = tokio::select! {
            _ = &mut drained => None,
            _ = async { match end { Some(e) => tokio::time::sleep_until(e).await, None => std::future::pending().await } } => Some(false),
            _ = tokio::signal::ctrl_c() => Some(true),
        };
        if let Some(ctrl_c) = stop_reason {
            interrupted = ctrl_c;
            self.stop();
            if ctrl_c {
                crate::progress::note(&format!(
                    "stopping: waiting up to {:?} for running iterations (Ctrl-C again: stop now)",
                    self.grace
                ));
            }
            tokio::select! {
                _ = &mut drained => {}
                _ = tokio::time::sleep(self.grace) => {}
                _ = tokio::signal::ctrl_c() => { interrupted = true; }
            }
        }
        let elapsed = start.elapsed();
        if let Some(b) = bar {
            b.finish();
        }
        Ended {
            elapsed,
            interrupted,
            setup_failed: None,
        }
    }

    /// Open model: starts iteration k at its due time on a free VU (a new one while fewer than
    /// max-vus exist); when every VU is busy the start waits, and that wait is part of the
    /// measured latency (timed from the due time).
    async fn open_scheduler(
        self: Arc<Self>,
        start: Instant,
        run_vars: Arc<HashMap<String, serde_json::Value>>,
    ) {
        let (idle_tx, mut idle_rx) = tokio::sync::mpsc::unbounded_channel::<Vu>();
        let mut created = 0u32;
        let mut running = tokio::task::JoinSet::new();
        let span = self.model.span();
        let mut k = 0u64;
        while let Some(due) = self.model.due(k) {
            if span.is_some_and(|s| due >= s) || !self.take_budget() {
                break;
            }
            let at = start + due;
            tokio::select! {
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(at)) => {}
                _ = self.stopped.notified() => {}
            }
            if self.stopping() {
                break;
            }
            let vu = match idle_rx.try_recv() {
                Ok(vu) => vu,
                Err(_) if created < self.model.max_vus => {
                    created += 1;
                    self.new_vu(created as u64 - 1, &run_vars)
                }
                Err(_) => {
                    tokio::select! {
                        v = idle_rx.recv() => match v { Some(v) => v, None => break },
                        _ = self.stopped.notified() => break,
                    }
                }
            };
            let me = self.clone();
            let tx = idle_tx.clone();
            running.spawn(async move {
                let mut vu = vu;
                me.iteration(&mut vu, Some(at)).await;
                let _ = tx.send(vu);
            });
            // Reap finished tasks so the set does not grow with the run.
            while running.try_join_next().is_some() {}
            k += 1;
        }
        while running.join_next().await.is_some() {}
    }

    pub fn vus_bound(&self) -> u32 {
        if self.model.open {
            self.model.max_vus
        } else {
            self.model
                .stages
                .iter()
                .map(|s| s.1.ceil() as u32)
                .chain([self.model.vus])
                .max()
                .unwrap_or(1)
        }
    }
}

fn check(c: &JsonCheck, body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .is_some_and(|j| holds(c, &j))
}

fn holds(c: &JsonCheck, j: &serde_json::Value) -> bool {
    match (c.path.first(j), &c.equals) {
        (None, _) => false,
        (Some(serde_json::Value::Null), None) => false,
        (Some(_), None) => true,
        (Some(v), Some(want)) => v == want,
    }
}

fn short(s: &str) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 160 {
        format!("{}…", flat.chars().take(159).collect::<String>())
    } else {
        flat
    }
}

fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(rate: f64, stages: Vec<(u64, f64)>) -> Model {
        Model {
            open: true,
            vus: 1,
            max_vus: 1,
            rate,
            stages: stages
                .into_iter()
                .map(|(s, t)| (Duration::from_secs(s), t))
                .collect(),
            max_iterations: None,
            duration: None,
        }
    }

    #[test]
    fn request_bytes() {
        let sc = crate::scenario::parse(
            "name: r\nsteps:\n\
             - {name: a, service: w, path: /x}\n\
             - {name: b, service: w, method: POST, path: '/u/${id}', headers: {Authorization: 'Bearer ${id}'}, json: {k: v}}\n\
             - {name: c, service: w, method: POST, path: /p}\n\
             - {name: d, service: w, path: /q, headers: {Content-Type: text/csv}, body: \"a,b\"}\n\
             - {name: e, service: w, path: /h, headers: {X-A: '${id}'}}\n",
            "r.yaml",
        )
        .unwrap();
        let ep = Endpoint::parse("http://h:8/api").unwrap();
        let mut vars = Vars::default();
        vars.iter.insert("id".into(), serde_json::json!("7"));
        let text = |i: usize, vars: &Vars| {
            let mut b = Vec::new();
            write_request(&sc.steps[i], &ep, vars, &mut b).map(|_| String::from_utf8(b).unwrap())
        };
        assert_eq!(
            text(0, &vars).unwrap(),
            "GET /api/x HTTP/1.1\r\nHost: h:8\r\n\r\n"
        );
        assert!(is_static(&sc.steps[0]) && !is_static(&sc.steps[1]));
        assert_eq!(
            text(1, &vars).unwrap(),
            "POST /api/u/7 HTTP/1.1\r\nHost: h:8\r\nauthorization: Bearer 7\r\n\
             Content-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"k\":\"v\"}"
        );
        assert_eq!(
            text(2, &vars).unwrap(),
            "POST /api/p HTTP/1.1\r\nHost: h:8\r\nContent-Length: 0\r\n\r\n"
        );
        assert_eq!(
            text(3, &vars).unwrap(),
            "GET /api/q HTTP/1.1\r\nHost: h:8\r\ncontent-type: text/csv\r\n\
             Content-Length: 3\r\n\r\na,b"
        );
        // A variable must not smuggle a header or a second request in.
        vars.iter
            .insert("id".into(), serde_json::json!("7\r\nX: y"));
        assert!(text(1, &vars).unwrap_err().contains("invalid path"));
        assert!(text(4, &vars)
            .unwrap_err()
            .contains("invalid value for header x-a"));
        vars.iter.insert("id".into(), serde_json::json!("7"));
        assert!(text(1, &Vars::default()).unwrap_err().contains("not set"));
    }

    #[test]
    fn arrival_schedule_constant_and_ramping() {
        let m = model(10.0, vec![]);
        assert_eq!(m.due(0), Some(Duration::ZERO));
        assert_eq!(m.due(25), Some(Duration::from_millis(2500)));
        // 0 → 10/s over 10 s: 50 iterations; the 50th (k = 49) is due just before 10 s, then
        // 10/s for 2 s: 20 more.
        let m = model(0.0, vec![(10, 10.0), (2, 10.0)]);
        let t = m.due(12).unwrap().as_secs_f64();
        assert!(
            (t - (2.0f64 * 12.0 * 10.0 / 10.0).sqrt()).abs() < 1e-6,
            "{t}"
        );
        assert!(m.due(49).unwrap() < Duration::from_secs(10));
        assert!(m.due(69).unwrap() < Duration::from_secs(12));
        assert_eq!(m.due(70), None);
        // The VU target in the closed model.
        let c = Model {
            open: false,
            ..model(0.0, vec![(10, 20.0)])
        };
        assert_eq!(c.target_at(0.0, Duration::from_secs(5)), 10.0);
        assert_eq!(c.target_at(0.0, Duration::from_secs(11)), 20.0);
    }
}
