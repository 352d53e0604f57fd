//! `wd-loadtest compare BASELINE CURRENT`: per-step deltas of two LoadReports; a regression
//! beyond the tolerance exits 1.
//!
//! A step regresses when its p50, p95 or p99 grows by more than `--tolerance` percent, its
//! throughput drops by more than that, or its error or drift rate grows by more than
//! `--rate-tolerance` percentage points. Steps match by name; whole iterations are `iteration`.

use wd_core::docs::loadtest::{Latency, LoadComparison, LoadReport, MetricDelta};

struct Row {
    latency: Latency,
    per_second: f64,
    count: u64,
    errors: u64,
    drift: u64,
}

fn rows(r: &LoadReport) -> Vec<(String, Row)> {
    let mut v: Vec<(String, Row)> = r
        .steps
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                Row {
                    latency: s.latency,
                    per_second: s.per_second,
                    count: s.count,
                    errors: s.errors,
                    drift: s.drift,
                },
            )
        })
        .collect();
    let it = &r.iterations;
    v.push((
        "iteration".into(),
        Row {
            latency: it.latency,
            per_second: it.per_second,
            count: it.completed + it.failed + it.drifted,
            errors: it.failed,
            drift: it.drifted,
        },
    ));
    v
}

pub fn compare(
    a: &LoadReport,
    a_name: &str,
    b: &LoadReport,
    b_name: &str,
    tolerance_pct: f64,
    rate_tolerance_pts: f64,
) -> LoadComparison {
    let (ra, rb) = (rows(a), rows(b));
    let mut deltas = Vec::new();
    let mut unmatched = Vec::new();
    let pct = |n: u64, d: u64| {
        if d == 0 {
            0.0
        } else {
            n as f64 * 100.0 / d as f64
        }
    };
    for (name, x) in &ra {
        let Some((_, y)) = rb.iter().find(|(n, _)| n == name) else {
            unmatched.push(format!("{name} (only in {a_name})"));
            continue;
        };
        if x.latency.count > 0 && y.latency.count > 0 {
            for (metric, p, q) in [
                ("p50Ms", x.latency.p50_ms, y.latency.p50_ms),
                ("p95Ms", x.latency.p95_ms, y.latency.p95_ms),
                ("p99Ms", x.latency.p99_ms, y.latency.p99_ms),
            ] {
                let delta = rel(p, q);
                deltas.push(MetricDelta {
                    step: name.clone(),
                    metric: metric.into(),
                    baseline: p,
                    current: q,
                    delta,
                    regression: delta > tolerance_pct,
                });
            }
            let delta = rel(x.per_second, y.per_second);
            deltas.push(MetricDelta {
                step: name.clone(),
                metric: "perSecond".into(),
                baseline: x.per_second,
                current: y.per_second,
                delta,
                regression: -delta > tolerance_pct,
            });
        }
        for (metric, p, q) in [
            ("errorPct", pct(x.errors, x.count), pct(y.errors, y.count)),
            ("driftPct", pct(x.drift, x.count), pct(y.drift, y.count)),
        ] {
            deltas.push(MetricDelta {
                step: name.clone(),
                metric: metric.into(),
                baseline: p,
                current: q,
                delta: q - p,
                regression: q - p > rate_tolerance_pts,
            });
        }
    }
    for (name, _) in &rb {
        if !ra.iter().any(|(n, _)| n == name) {
            unmatched.push(format!("{name} (only in {b_name})"));
        }
    }
    let regressions = deltas.iter().filter(|d| d.regression).count() as u64;
    LoadComparison {
        baseline: a_name.into(),
        current: b_name.into(),
        tolerance_pct,
        rate_tolerance_pts,
        deltas,
        unmatched,
        regressions,
        ..Default::default()
    }
}

/// Relative change in percent (0 when the baseline is 0 and so is the current value).
fn rel(base: f64, cur: f64) -> f64 {
    if base == 0.0 {
        if cur == 0.0 {
            0.0
        } else {
            100.0
        }
    } else {
        (cur - base) / base * 100.0
    }
}
