//! Documents of wd-loadtest: `LoadReport` (one run) and `LoadComparison` (two runs compared).
//!
//! A run is a scenario (setup steps once, per-user steps once per virtual user, then the
//! iteration's steps) driven by a load model against targets. Every step reports its latency
//! percentiles, throughput, status codes, errors and — apart from errors — **drift**: a step
//! that failed the way a request fails on a replica that never saw the flow's session, after an
//! earlier step of the same flow succeeded on another replica (issue 12, waltid-facts §2
//! "Replicas").

use super::{ApiVersion, Document};
use crate::output::{markdown_table, Table, View};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

crate::doc_kind!(LoadReportKind, "LoadReport");
crate::doc_kind!(LoadComparisonKind, "LoadComparison");

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct LoadReport {
    pub api_version: ApiVersion,
    pub kind: LoadReportKind,
    /// The scenario's name.
    pub scenario: String,
    /// Where it was read from (`config/loadtest/issuance.yaml`, or the path given).
    pub source: String,
    pub model: LoadModel,
    pub targets: Vec<LoadTarget>,
    /// When the load started (Unix epoch, ms).
    pub started_at_unix_ms: u64,
    /// From the start of the load to the last answer (setup excluded).
    pub elapsed_ms: u64,
    /// The run was stopped early (Ctrl-C): this is a partial report.
    pub interrupted: bool,
    pub iterations: IterationSummary,
    /// Every step, in scenario order (setup, per-user setup, iteration).
    pub steps: Vec<StepReport>,
    /// Drift by step and by the service whose state was missing.
    pub drift: Vec<DriftCount>,
    /// The `--threshold` expressions and their outcome (a failed one makes the run exit 1).
    pub thresholds: Vec<ThresholdResult>,
}

impl Document for LoadReport {
    const KIND: &'static str = "LoadReport";
}

/// How load was generated.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LoadModel {
    pub kind: ModelKind,
    /// Closed model: the virtual users (the starting number when there are stages).
    pub vus: u32,
    /// The most virtual users that ever run at once (open model: the pool's bound).
    pub max_vus: u32,
    /// Open model: iterations started per second (the starting rate when there are stages).
    pub rate: Option<f64>,
    /// Ramps: over `durationMs`, go linearly to `target` (VUs when closed, iterations/s when open).
    pub stages: Vec<LoadStage>,
    pub max_iterations: Option<u64>,
    pub duration_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// N virtual users each start the next iteration when the last one ended.
    #[default]
    Closed,
    /// Iterations start on a schedule whatever the answers (arrival rate); latency is timed
    /// from the scheduled start, so a slow server cannot hide its queue (no coordinated omission).
    Open,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LoadStage {
    pub duration_ms: u64,
    pub target: f64,
}

/// Where a service's requests went.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LoadTarget {
    pub service: String,
    pub mode: TargetMode,
    /// One URL (balanced) or one per replica (pinned), in replica order.
    pub urls: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TargetMode {
    /// One URL in front of every replica (a Service, an Ingress): the balancer picks.
    #[default]
    Balanced,
    /// One URL per replica: successive steps of a flow go to successive replicas on purpose.
    Pinned,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IterationSummary {
    pub started: u64,
    /// Every step succeeded.
    pub completed: u64,
    /// Ended by an error (not drift).
    pub failed: u64,
    /// Ended by drift.
    pub drifted: u64,
    /// Still running when the run was interrupted or the grace period ran out.
    pub unfinished: u64,
    /// completed / (completed + failed + drifted), in percent.
    pub success_pct: f64,
    /// Iterations ended per second of the run.
    pub per_second: f64,
    /// Whole-iteration latency (open model: from the scheduled start).
    pub latency: Latency,
}

/// Which part of a scenario a step belongs to.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum StepPhase {
    /// Once per run, before the load.
    Setup,
    /// Once per virtual user, before its first iteration.
    VuSetup,
    #[default]
    Iteration,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    pub name: String,
    pub phase: StepPhase,
    /// The service the step calls.
    pub service: String,
    /// Executions of the step (a polling step counts once however many requests it sent).
    pub count: u64,
    /// HTTP requests sent (polls included).
    pub requests: u64,
    pub ok: u64,
    /// Failed and not drift.
    pub errors: u64,
    pub drift: u64,
    /// Executions per second of the run.
    pub per_second: f64,
    /// Latency of the step's executions (a polling step: until its condition held).
    pub latency: Latency,
    /// Answers by status code; `connect`, `timeout`, `io` for requests that got none.
    pub statuses: BTreeMap<String, u64>,
    /// Up to three examples of errors (status and the start of the body).
    pub error_samples: Vec<String>,
}

/// Latency percentiles in milliseconds (HdrHistogram, 3 significant digits).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Drift of one step, attributed to the service whose state was missing.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DriftCount {
    pub step: String,
    /// The service whose session/key was missing (the called service, or the one it called
    /// server-side when the step declares `state:` and the error body carries that service's error).
    pub service: String,
    /// The service the step called.
    pub called: String,
    pub count: u64,
    /// Up to three examples: where the flow's earlier success was, where this one failed, the answer.
    pub samples: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ThresholdResult {
    /// As given: `issuance.p95<500ms`, `errors<1%`, `drift==0`.
    pub expression: String,
    /// The measured value in the expression's unit (ms, %, count, per second).
    pub actual: f64,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct LoadComparison {
    pub api_version: ApiVersion,
    pub kind: LoadComparisonKind,
    pub baseline: String,
    pub current: String,
    /// Relative tolerance for latency and throughput, in percent.
    pub tolerance_pct: f64,
    /// Tolerance for error and drift rates, in percentage points.
    pub rate_tolerance_pts: f64,
    /// One row per step and metric present in both reports.
    pub deltas: Vec<MetricDelta>,
    /// Steps in only one of the reports.
    pub unmatched: Vec<String>,
    pub regressions: u64,
}

impl Document for LoadComparison {
    const KIND: &'static str = "LoadComparison";
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MetricDelta {
    /// A step name, or `iteration` for whole iterations.
    pub step: String,
    /// `p50Ms`, `p95Ms`, `p99Ms`, `perSecond`, `errorPct`, `driftPct`.
    pub metric: String,
    pub baseline: f64,
    pub current: f64,
    /// Relative change in percent (latency, throughput) or difference in points (rates).
    pub delta: f64,
    pub regression: bool,
}

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn statuses(m: &BTreeMap<String, u64>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl View for LoadReport {
    fn tables(&self) -> Vec<Table> {
        let mut steps = Table::new(
            &format!(
                "{} — {} iterations, {:.1}% succeeded, {:.1}/s over {:.1}s{}",
                self.scenario,
                self.iterations.started,
                self.iterations.success_pct,
                self.iterations.per_second,
                self.elapsed_ms as f64 / 1000.0,
                if self.interrupted {
                    " (interrupted: partial)"
                } else {
                    ""
                }
            ),
            &[
                "step", "service", "count", "ok", "errors", "drift", "/s", "p50 ms", "p90 ms",
                "p95 ms", "p99 ms", "max ms", "statuses",
            ],
        );
        let row = |name: &str, service: &str, s: &StepReportLike| {
            vec![
                name.to_string(),
                service.to_string(),
                s.count.to_string(),
                s.ok.to_string(),
                s.errors.to_string(),
                s.drift.to_string(),
                format!("{:.1}", s.per_second),
                ms(s.latency.p50_ms),
                ms(s.latency.p90_ms),
                ms(s.latency.p95_ms),
                ms(s.latency.p99_ms),
                ms(s.latency.max_ms),
                s.statuses.clone(),
            ]
        };
        for s in &self.steps {
            let name = match s.phase {
                StepPhase::Setup => format!("{} (setup)", s.name),
                StepPhase::VuSetup => format!("{} (per user)", s.name),
                StepPhase::Iteration => s.name.clone(),
            };
            steps.row(row(
                &name,
                &s.service,
                &StepReportLike {
                    count: s.count,
                    ok: s.ok,
                    errors: s.errors,
                    drift: s.drift,
                    per_second: s.per_second,
                    latency: s.latency,
                    statuses: statuses(&s.statuses),
                },
            ));
        }
        let it = &self.iterations;
        steps.row(row(
            "(iteration)",
            "",
            &StepReportLike {
                count: it.completed + it.failed + it.drifted,
                ok: it.completed,
                errors: it.failed,
                drift: it.drifted,
                per_second: it.per_second,
                latency: it.latency,
                statuses: String::new(),
            },
        ));
        let mut drift = Table::new(
            "Drift (a step failed on a replica that never saw the flow's state)",
            &["step", "state of", "called", "count", "example"],
        );
        for d in &self.drift {
            drift.row(vec![
                d.step.clone(),
                d.service.clone(),
                d.called.clone(),
                d.count.to_string(),
                d.samples.first().cloned().unwrap_or_default(),
            ]);
        }
        let mut thresholds = Table::new("Thresholds", &["threshold", "actual", "result"]);
        for t in &self.thresholds {
            thresholds.row(vec![
                t.expression.clone(),
                format!("{:.3}", t.actual),
                if t.passed { "pass" } else { "FAIL" }.into(),
            ]);
        }
        let mut errors = Table::new("Errors", &["step", "example"]);
        for s in &self.steps {
            for e in &s.error_samples {
                errors.row(vec![s.name.clone(), e.clone()]);
            }
        }
        let mut targets = Table::new("Targets", &["service", "mode", "urls"]);
        for t in &self.targets {
            targets.row(vec![
                t.service.clone(),
                match t.mode {
                    TargetMode::Balanced => "balanced",
                    TargetMode::Pinned => "pinned",
                }
                .into(),
                t.urls.join(" "),
            ]);
        }
        vec![steps, drift, thresholds, errors, targets]
    }

    fn markdown(&self) -> String {
        let mut s = format!("# LoadReport: {}\n", self.scenario);
        for t in self.tables() {
            if t.rows.is_empty() {
                continue;
            }
            s.push_str(&format!("\n## {}\n\n", t.title));
            s.push_str(&markdown_table(&t));
        }
        s
    }
}

/// The cells a step and the whole-iteration row share.
struct StepReportLike {
    count: u64,
    ok: u64,
    errors: u64,
    drift: u64,
    per_second: f64,
    latency: Latency,
    statuses: String,
}

impl View for LoadComparison {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            &format!(
                "{} → {}: {} regression(s) (tolerance {}%, rates {} points)",
                self.baseline,
                self.current,
                self.regressions,
                self.tolerance_pct,
                self.rate_tolerance_pts
            ),
            &["step", "metric", "baseline", "current", "delta", "result"],
        );
        for d in &self.deltas {
            let unit = if d.metric.ends_with("Pct") {
                " pts"
            } else {
                "%"
            };
            t.row(vec![
                d.step.clone(),
                d.metric.clone(),
                format!("{:.3}", d.baseline),
                format!("{:.3}", d.current),
                format!("{:+.1}{unit}", d.delta),
                if d.regression { "REGRESSION" } else { "ok" }.into(),
            ]);
        }
        let mut u = Table::new("Steps in only one report", &["step"]);
        for s in &self.unmatched {
            u.row(vec![s.clone()]);
        }
        vec![t, u]
    }
}
