//! k6-style thresholds: `[SCOPE.]METRIC OP VALUE[UNIT]`, checked after the run; one that fails
//! makes the run exit 1, one that cannot be parsed is exit 2 before anything is sent.
//!
//! SCOPE is a step name, or the scenario's name / `iteration` for whole iterations; no scope
//! means the whole run. METRIC: `p50 p90 p95 p99 max mean` (durations; `ms` when no unit),
//! `errors` and `drift` (a count, or a rate with `%`), `success` (iterations, `%`), `rps`
//! (executions per second), `count`.

use wd_core::docs::loadtest::{LoadReport, ThresholdResult};
use wd_core::{WdError, WdResult};

#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub expression: String,
    scope: Option<String>,
    metric: Metric,
    op: Op,
    /// In ms for durations, percent for rates, else as written.
    value: f64,
    percent: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Metric {
    Quantile(Q),
    Errors,
    Drift,
    Success,
    Rps,
    Count,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Q {
    P50,
    P90,
    P95,
    P99,
    Max,
    Mean,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

const EXAMPLES: &str = "write e.g. 'issuance.p95<500ms', 'errors<1%', 'drift==0'";

pub fn parse(expr: &str) -> WdResult<Threshold> {
    let bad = |why: &str| WdError::input(format!("--threshold {expr:?}: {why}; {EXAMPLES}"));
    let s: String = expr.chars().filter(|c| !c.is_whitespace()).collect();
    let (pos, op, len) = ["<=", ">=", "==", "!=", "<", ">"]
        .iter()
        .filter_map(|o| s.find(o).map(|p| (p, *o, o.len())))
        .min_by_key(|(p, o, _)| (*p, std::cmp::Reverse(o.len())))
        .ok_or_else(|| bad("no comparison (<, <=, >, >=, ==, !=)"))?;
    let op = match op {
        "<=" => Op::Le,
        ">=" => Op::Ge,
        "==" => Op::Eq,
        "!=" => Op::Ne,
        "<" => Op::Lt,
        _ => Op::Gt,
    };
    let (lhs, rhs) = (&s[..pos], &s[pos + len..]);
    let (scope, metric_s) = match lhs.rsplit_once('.') {
        Some((sc, m)) => (Some(sc.to_string()), m),
        None => (None, lhs),
    };
    let metric = match metric_s {
        "p50" | "med" => Metric::Quantile(Q::P50),
        "p90" => Metric::Quantile(Q::P90),
        "p95" => Metric::Quantile(Q::P95),
        "p99" => Metric::Quantile(Q::P99),
        "max" => Metric::Quantile(Q::Max),
        "mean" | "avg" => Metric::Quantile(Q::Mean),
        "errors" => Metric::Errors,
        "drift" => Metric::Drift,
        "success" => Metric::Success,
        "rps" => Metric::Rps,
        "count" => Metric::Count,
        "" => return Err(bad("no metric before the comparison")),
        other => {
            return Err(bad(&format!(
                "unknown metric {other:?} (p50 p90 p95 p99 max mean errors drift success rps count)"
            )))
        }
    };
    let split = rhs
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(rhs.len());
    let (num, unit) = rhs.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| bad(&format!("{rhs:?} is not a number")))?;
    let (value, percent) = match (metric, unit) {
        (Metric::Quantile(_), "ms" | "") => (n, false),
        (Metric::Quantile(_), "s") => (n * 1000.0, false),
        (Metric::Quantile(_), "us" | "µs") => (n / 1000.0, false),
        (Metric::Errors | Metric::Drift, "%") => (n, true),
        (Metric::Errors | Metric::Drift | Metric::Count | Metric::Rps, "") => (n, false),
        (Metric::Success, "%" | "") => (n, true),
        (_, u) => return Err(bad(&format!("unit {u:?} does not fit {metric_s}"))),
    };
    Ok(Threshold {
        expression: expr.to_string(),
        scope,
        metric,
        op,
        value,
        percent,
    })
}

/// Checks that every scope names a step or the scenario (before the run).
pub fn check_scopes(ts: &[Threshold], scenario: &str, steps: &[&str]) -> WdResult<()> {
    for t in ts {
        if let Some(sc) = &t.scope {
            if sc != scenario && sc != "iteration" && !steps.contains(&sc.as_str()) {
                return Err(WdError::input(format!(
                    "--threshold {:?}: {sc:?} is neither a step of {scenario} ({}) nor the scenario; {EXAMPLES}",
                    t.expression,
                    steps.join(", ")
                )));
            }
        }
    }
    Ok(())
}

pub fn evaluate(t: &Threshold, r: &LoadReport) -> ThresholdResult {
    let secs = (r.elapsed_ms as f64 / 1000.0).max(1e-9);
    let step = t
        .scope
        .as_ref()
        .and_then(|sc| r.steps.iter().find(|s| &s.name == sc));
    let it = &r.iterations;
    let pct = |n: u64, d: u64| {
        if d == 0 {
            0.0
        } else {
            n as f64 * 100.0 / d as f64
        }
    };
    // (latency, errors, drift, executions, per second)
    let (lat, errors, drift, count, rps) = match step {
        Some(s) => (s.latency, s.errors, s.drift, s.count, s.per_second),
        None if t.scope.is_some() => (
            it.latency,
            it.failed,
            it.drifted,
            it.completed + it.failed + it.drifted,
            it.per_second,
        ),
        None => {
            let (e, d, c, rq) = r.steps.iter().fold((0, 0, 0, 0), |a, s| {
                (
                    a.0 + s.errors,
                    a.1 + s.drift,
                    a.2 + s.count,
                    a.3 + s.requests,
                )
            });
            (it.latency, e, d, c, rq as f64 / secs)
        }
    };
    let actual = match t.metric {
        Metric::Quantile(q) => match q {
            Q::P50 => lat.p50_ms,
            Q::P90 => lat.p90_ms,
            Q::P95 => lat.p95_ms,
            Q::P99 => lat.p99_ms,
            Q::Max => lat.max_ms,
            Q::Mean => lat.mean_ms,
        },
        Metric::Errors if t.percent => pct(errors, count),
        Metric::Errors => errors as f64,
        Metric::Drift if t.percent => pct(drift, count),
        Metric::Drift => drift as f64,
        Metric::Success => match step {
            Some(s) => pct(s.ok, s.count),
            None => it.success_pct,
        },
        Metric::Rps => rps,
        Metric::Count => count as f64,
    };
    let passed = match t.op {
        Op::Lt => actual < t.value,
        Op::Le => actual <= t.value,
        Op::Gt => actual > t.value,
        Op::Ge => actual >= t.value,
        Op::Eq => (actual - t.value).abs() < 1e-9,
        Op::Ne => (actual - t.value).abs() >= 1e-9,
    };
    ThresholdResult {
        expression: t.expression.clone(),
        actual,
        passed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax() {
        let t = parse("issuance.p95 < 500ms").unwrap();
        assert_eq!(
            (t.scope.as_deref(), t.op, t.value),
            (Some("issuance"), Op::Lt, 500.0)
        );
        assert!(parse("errors<1%").unwrap().percent);
        assert_eq!(parse("drift==0").unwrap().op, Op::Eq);
        assert_eq!(parse("p99<=2s").unwrap().value, 2000.0);
        for bad in ["p95", "p96<5", "errors<1ms", "p95<fast", "<5", "drift=0"] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.exit, wd_core::Exit::Usage, "{bad}");
            assert!(e.message.contains("--threshold"), "{}", e.message);
        }
    }

    #[test]
    fn evaluation_scopes() {
        use wd_core::docs::loadtest::{IterationSummary, Latency, StepReport};
        let r = LoadReport {
            scenario: "issuance".into(),
            elapsed_ms: 10_000,
            iterations: IterationSummary {
                completed: 97,
                drifted: 3,
                success_pct: 97.0,
                latency: Latency {
                    p95_ms: 800.0,
                    ..Default::default()
                },
                ..Default::default()
            },
            steps: vec![
                StepReport {
                    name: "issue".into(),
                    count: 100,
                    ok: 100,
                    requests: 100,
                    latency: Latency {
                        p95_ms: 40.0,
                        ..Default::default()
                    },
                    ..Default::default()
                },
                StepReport {
                    name: "use-offer".into(),
                    count: 100,
                    ok: 97,
                    drift: 3,
                    requests: 100,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let ev = |e: &str| evaluate(&parse(e).unwrap(), &r);
        // The scenario's name is the whole iteration; a step name is that step.
        assert!(!ev("issuance.p95<500ms").passed);
        assert_eq!(ev("issuance.p95<500ms").actual, 800.0);
        assert!(ev("issue.p95<500ms").passed);
        assert_eq!(ev("drift==0").actual, 3.0);
        assert!(!ev("drift==0").passed && ev("errors==0").passed);
        assert_eq!(ev("use-offer.drift<5%").actual, 3.0);
        assert_eq!(ev("rps>=20").actual, 20.0); // 200 requests in 10 s
        assert!(!ev("success>=99%").passed);
        let t = [parse("nostep.p95<1").unwrap()];
        assert!(check_scopes(&t, "issuance", &["issue"]).is_err());
    }
}
