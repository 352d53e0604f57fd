//! wd-loadtest: load-test the walt.id scenario's APIs with scenarios as data (see `--help`).
//!
//! `run SCENARIO` drives a scenario (config/loadtest/*.yaml or a path) with a closed or open
//! load model against `--target` (one URL per service) or `--replicas` (one URL per replica,
//! successive steps of a flow pinned to successive replicas) and prints a `LoadReport`: per step
//! HdrHistogram latencies, throughput, status codes, errors and drift apart.
//! `compare A B` prints a `LoadComparison`.
//!
//! Modules: [`scenario`] (the YAML), [`template`] (`${var}`), [`client`] (HTTP/1.1 connections per
//! virtual user), [`engine`] (models, flows, drift), [`metrics`], [`threshold`], [`compare`].
//! Not here: the multi-replica walt.id fake the tests run against (tools/wd-waltfake).

pub mod client;
pub mod compare;
pub mod engine;
pub mod metrics;
pub mod progress;
pub mod scenario;
pub mod template;
pub mod threshold;
pub mod units;

use clap::{Args, Parser, Subcommand};
use engine::{Model, Run, ServiceTarget};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use wd_core::cli::CommonArgs;
use wd_core::docs::loadtest::{
    DriftCount, IterationSummary, LoadModel, LoadReport, LoadStage, LoadTarget, ModelKind,
    StepReport, TargetMode,
};
use wd_core::{output, Exit, WdError, WdResult};

/// Load-test walt.id's APIs with scenarios as data, and tell "slow" from "this step landed on a
/// replica that never saw the session" (drift).
#[derive(Debug, Parser)]
#[command(
    name = "wd-loadtest",
    version,
    about,
    after_help = "Exit codes: 0 ok, 1 a threshold failed / a regression / the setup failed, 2 bad input, 3 a target is unreachable.\nExamples:\n  wd-loadtest run wallet-lifecycle --target wallet=http://127.0.0.1:7001 --vus 10 --duration 30s\n  wd-loadtest run issuance --replicas issuer=http://10.0.0.1:7002,http://10.0.0.2:7002 --target wallet=http://wallet:7001 --threshold drift==0\n  wd-loadtest run issuance ... | wd-loadtest compare baseline.json -"
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run a scenario: a built-in name (config/loadtest/NAME.yaml) or a path to a YAML file.
    Run(Box<RunArgs>),
    /// Compare two LoadReports (`-` = stdin): per-step deltas; exit 1 on a regression.
    Compare(CompareArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Built-in scenario name (wallet-lifecycle, issuance, verification) or a YAML path.
    pub scenario: String,
    /// SERVICE=URL: one URL in front of every replica (a Service, an Ingress, a port-forward).
    #[arg(long = "target", value_name = "SERVICE=URL")]
    pub targets: Vec<String>,
    /// SERVICE=URL,URL,…: one URL per replica; successive steps of a flow go to successive
    /// replicas on purpose (the deterministic cross-replica test).
    #[arg(long = "replicas", value_name = "SERVICE=URLS")]
    pub replicas: Vec<String>,
    /// Closed model: virtual users (the start when there are stages).
    #[arg(long, default_value_t = 1)]
    pub vus: u32,
    /// Open model: iterations started per second (`50`, `50/s`, `600/m`); the start with stages.
    #[arg(long, value_name = "RATE")]
    pub rate: Option<String>,
    /// Open model: the most virtual users running at once (default: 10 × --vus, at least 100).
    #[arg(long)]
    pub max_vus: Option<u32>,
    /// A ramp DURATION:TARGET (repeatable): to TARGET VUs (closed) or iterations/s (open, with --rate).
    #[arg(long = "stage", value_name = "DURATION:TARGET")]
    pub stages: Vec<String>,
    /// Stop after this many iterations (default when nothing else bounds the run: one per VU).
    #[arg(long)]
    pub max_iterations: Option<u64>,
    /// Stop starting iterations after this long (`30s`, `5m`).
    #[arg(long)]
    pub duration: Option<String>,
    /// k6-style pass/fail (repeatable): `issuance.p95<500ms`, `errors<1%`, `drift==0`.
    #[arg(long = "threshold", value_name = "EXPR")]
    pub thresholds: Vec<String>,
    /// NAME=VALUE (repeatable): a scenario variable; VALUE is JSON when it parses as JSON,
    /// else text; `@FILE` reads a JSON file.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// A JSON file with the issuer key and DID (`{"issuerKey": …, "issuerDid": …}`, what
    /// POST /onboard/issuer answers): the issuance scenarios then skip onboarding.
    #[arg(long, value_name = "FILE")]
    pub issuer_key: Option<PathBuf>,
    /// Per-request timeout.
    #[arg(long, default_value = "30s")]
    pub timeout: String,
    /// How long running iterations may finish after the end or Ctrl-C.
    #[arg(long, default_value = "10s")]
    pub grace: String,
    /// Worker threads (default: the CPUs this process may use, e.g. 1 under `taskset -c 0`).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Where loadtest/ scenarios live (default: $WD_CONFIG_DIR, ./config, or the checkout's).
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline LoadReport (`-` = stdin).
    pub baseline: String,
    /// The current LoadReport (`-` = stdin).
    pub current: String,
    /// Relative tolerance for latency percentiles and throughput (`10%`).
    #[arg(long, default_value = "10%")]
    pub tolerance: String,
    /// Tolerance for error and drift rates, in percentage points.
    #[arg(long, default_value_t = 1.0)]
    pub rate_tolerance: f64,
}

pub fn run(cli: Cli) -> WdResult<Exit> {
    let format = cli.common.init();
    match cli.cmd {
        Cmd::Run(a) => run_cmd(*a, format, cli.common.quiet),
        Cmd::Compare(a) => compare_cmd(a, format),
    }
}

fn compare_cmd(a: CompareArgs, format: output::Format) -> WdResult<Exit> {
    if a.baseline == "-" && a.current == "-" {
        return Err(WdError::input(
            "compare: only one of the two reports can be stdin (-)",
        ));
    }
    let read = |p: &str| -> WdResult<(LoadReport, String)> {
        let path = (p != "-").then(|| PathBuf::from(p));
        let (doc, _, name) = wd_core::docs::read_input::<LoadReport>(
            path.as_deref(),
            "pipe wd-loadtest run's output or pass a file",
        )?;
        Ok((doc, name))
    };
    let (x, xn) = read(&a.baseline)?;
    let (y, yn) = read(&a.current)?;
    let tol = a
        .tolerance
        .trim()
        .trim_end_matches('%')
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t >= 0.0)
        .ok_or_else(|| {
            WdError::input(format!(
                "--tolerance {:?}: write a percentage such as 10%",
                a.tolerance
            ))
        })?;
    let c = compare::compare(&x, &xn, &y, &yn, tol, a.rate_tolerance);
    output::emit(&c, format)?;
    Ok(if c.regressions > 0 {
        Exit::Problems
    } else {
        Exit::Ok
    })
}

/// Parses `SERVICE=URL[,URL…]`.
fn split_target(flag: &str, s: &str) -> WdResult<(String, Vec<String>)> {
    let (svc, urls) = s.split_once('=').ok_or_else(|| {
        WdError::input(format!(
            "{flag} {s:?}: write SERVICE=URL (e.g. wallet=http://127.0.0.1:7001)"
        ))
    })?;
    let urls: Vec<String> = urls
        .split(',')
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .collect();
    if svc.is_empty() || urls.is_empty() {
        return Err(WdError::input(format!(
            "{flag} {s:?}: write SERVICE=URL (e.g. wallet=http://127.0.0.1:7001)"
        )));
    }
    Ok((svc.to_string(), urls))
}

fn duration_arg(flag: &str, s: &str) -> WdResult<Duration> {
    units::parse_duration(s).map_err(|e| WdError::input(format!("{flag}: {e}")))
}

fn model_from(a: &RunArgs) -> WdResult<Model> {
    let rate = a
        .rate
        .as_deref()
        .map(|r| units::parse_rate(r).map_err(|e| WdError::input(format!("--rate: {e}"))))
        .transpose()?;
    let mut stages = Vec::new();
    for s in &a.stages {
        let (d, t) = s.split_once(':').ok_or_else(|| {
            WdError::input(format!(
                "--stage {s:?}: write DURATION:TARGET (e.g. 30s:50)"
            ))
        })?;
        let d = duration_arg("--stage", d)?;
        let t: f64 = match rate {
            Some(_) => units::parse_rate(t).map_err(|e| WdError::input(format!("--stage: {e}")))?,
            None => t.parse::<u32>().map(f64::from).map_err(|_| {
                WdError::input(format!(
                    "--stage {s:?}: the target of a closed-model stage is a number of VUs"
                ))
            })?,
        };
        if d.is_zero() {
            return Err(WdError::input(format!(
                "--stage {s:?}: a stage needs a duration > 0"
            )));
        }
        stages.push((d, t));
    }
    let duration = a
        .duration
        .as_deref()
        .map(|d| duration_arg("--duration", d))
        .transpose()?;
    if a.vus == 0 && rate.is_none() {
        return Err(WdError::input("--vus must be at least 1"));
    }
    let open = rate.is_some();
    let mut max_iterations = a.max_iterations;
    if open && duration.is_none() && stages.is_empty() && max_iterations.is_none() {
        return Err(WdError::input(
            "an open model (--rate) needs --duration, --stage or --max-iterations to end",
        ));
    }
    if !open && duration.is_none() && stages.is_empty() && max_iterations.is_none() {
        // k6's default: one iteration per virtual user.
        max_iterations = Some(a.vus as u64);
    }
    let max_vus = if open {
        a.max_vus.unwrap_or((a.vus * 10).max(100))
    } else {
        a.vus
    };
    Ok(Model {
        open,
        vus: a.vus,
        max_vus,
        rate: rate.unwrap_or(0.0),
        stages,
        max_iterations,
        duration,
    })
}

fn var_arg(s: &str) -> WdResult<(String, serde_json::Value)> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| WdError::input(format!("--var {s:?}: write NAME=VALUE")))?;
    let value = if let Some(path) = v.strip_prefix('@') {
        let text = wd_core::fsio::read_text(std::path::Path::new(path))?;
        serde_json::from_str(&text)
            .map_err(|e| WdError::input(format!("{path}: invalid JSON ({e}) for --var {k}")))?
    } else {
        serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_string()))
    };
    Ok((k.to_string(), value))
}

/// What a run produced: the report (thresholds evaluated) and how it ended.
pub struct RunOutcome {
    pub report: LoadReport,
    /// The per-run setup failed (no load was generated): why.
    pub setup_failed: Option<String>,
}

impl RunOutcome {
    /// The exit code: 1 when the setup or a threshold failed.
    pub fn exit(&self) -> Exit {
        if self.setup_failed.is_some() || self.report.thresholds.iter().any(|t| !t.passed) {
            Exit::Problems
        } else {
            Exit::Ok
        }
    }
}

fn run_cmd(a: RunArgs, format: output::Format, quiet: bool) -> WdResult<Exit> {
    let out = execute(&a, progress::wanted(quiet))?;
    output::emit(&out.report, format)?;
    if let Some(e) = &out.setup_failed {
        wd_core::term::eprint_error(&format!("wd-loadtest: {e}"));
    }
    if out.report.interrupted {
        progress::note("interrupted: the report is partial");
    }
    let failed: Vec<&str> = out
        .report
        .thresholds
        .iter()
        .filter(|t| !t.passed)
        .map(|t| t.expression.as_str())
        .collect();
    if !failed.is_empty() {
        wd_core::term::eprint_error(&format!(
            "wd-loadtest: threshold(s) failed: {}",
            failed.join(", ")
        ));
    }
    Ok(out.exit())
}

/// Runs a scenario and returns its report; bad input is refused (exit 2) and an unreachable
/// target reported (exit 3) before any load. `progress`: the indicatif line on stderr.
pub fn execute(a: &RunArgs, progress: bool) -> WdResult<RunOutcome> {
    // Everything that can be refused is checked before a request is sent.
    let config_dir = wd_core::scenario::config_dir(a.config_dir.as_deref());
    let path = scenario::resolve(&config_dir, &a.scenario)?;
    let sc = scenario::load(&path)?;
    let model = model_from(a)?;
    let thresholds = a
        .thresholds
        .iter()
        .map(|t| threshold::parse(t))
        .collect::<WdResult<Vec<_>>>()?;
    let step_names: Vec<&str> = sc.steps.iter().map(|s| s.name.as_str()).collect();
    threshold::check_scopes(&thresholds, &sc.name, &step_names)?;
    let timeout = duration_arg("--timeout", &a.timeout)?;
    let grace = duration_arg("--grace", &a.grace)?;

    let mut given: HashMap<String, (TargetMode, Vec<String>)> = HashMap::new();
    for (flag, mode, list) in [
        ("--target", TargetMode::Balanced, &a.targets),
        ("--replicas", TargetMode::Pinned, &a.replicas),
    ] {
        let list: &Vec<String> = list;
        for t in list {
            let (svc, urls) = split_target(flag, t)?;
            if mode == TargetMode::Balanced && urls.len() > 1 {
                return Err(WdError::input(format!(
                    "--target {t:?}: one URL per service; for one URL per replica use --replicas"
                )));
            }
            if !sc.services.contains(&svc) {
                return Err(WdError::input(format!(
                    "{flag} {t:?}: {} calls no service {svc:?} (it calls {})",
                    sc.name,
                    sc.services.join(", ")
                )));
            }
            if given.insert(svc.clone(), (mode, urls)).is_some() {
                return Err(WdError::input(format!(
                    "{svc}: given twice; one --target or --replicas per service"
                )));
            }
        }
    }
    let mut endpoints = Vec::new();
    let mut targets = Vec::new();
    for svc in &sc.services {
        let (mode, urls) = given.remove(svc).ok_or_else(|| {
            WdError::input(format!(
                "{} calls {svc}: give --target {svc}=URL or --replicas {svc}=URL,URL,…",
                sc.name
            ))
        })?;
        let mut ids = Vec::new();
        for u in &urls {
            let ep =
                client::Endpoint::parse(u).map_err(|e| WdError::input(format!("{svc}: {e}")))?;
            ids.push(endpoints.len());
            endpoints.push(ep);
        }
        targets.push(ServiceTarget {
            name: svc.clone(),
            mode,
            endpoints: ids,
        });
    }
    let mut run_vars: HashMap<String, serde_json::Value> = sc.vars.clone().into_iter().collect();
    if let Some(p) = &a.issuer_key {
        let text = wd_core::fsio::read_text(p)?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| WdError::input(format!("{}: invalid JSON ({e})", p.display())))?;
        for k in ["issuerKey", "issuerDid"] {
            let x = v.get(k).ok_or_else(|| {
                WdError::input(format!(
                    "{}: no {k}; give what POST /onboard/issuer answers ({{\"issuerKey\": …, \"issuerDid\": …}})",
                    p.display()
                ))
            })?;
            run_vars.insert(k.to_string(), x.clone());
        }
    }
    for v in &a.vars {
        let (k, x) = var_arg(v)?;
        run_vars.insert(k, x);
    }

    let threads = a
        .threads
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
        .max(1);
    let rt = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .map_err(|e| WdError::unreachable(format!("cannot start the runtime ({e})")))?;

    let started_at_unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let run_id = format!(
        "{:x}",
        started_at_unix_ms ^ ((std::process::id() as u64) << 40)
    );
    let source = path.display().to_string();
    let run = Arc::new(Run::new(
        sc, targets, endpoints, model, timeout, grace, run_id,
    ));
    let ended = rt.block_on(async {
        preflight(&run).await?;
        let mut vars = run_vars;
        if let Err(e) = run.setup(&mut vars).await {
            return Ok::<_, WdError>(engine::Ended {
                elapsed: Duration::ZERO,
                interrupted: false,
                setup_failed: Some(e),
            });
        }
        Ok(run.load(vars, progress).await)
    })?;
    // Virtual users still in flight after the grace period (and their sockets) must not outlive the run.
    rt.shutdown_timeout(Duration::from_millis(100));
    let mut report = report(&run, &source, started_at_unix_ms, &ended);
    report.thresholds = thresholds
        .iter()
        .map(|t| threshold::evaluate(t, &report))
        .collect();
    Ok(RunOutcome {
        report,
        setup_failed: ended.setup_failed,
    })
}

/// Every endpoint accepts a TCP connection (within 5 s) before any load: exit 3 naming it.
async fn preflight(run: &Run) -> WdResult<()> {
    for t in &run.targets {
        for &id in &t.endpoints {
            let ep = &run.endpoints[id];
            let addr = ep.addr();
            match tokio::time::timeout(
                Duration::from_secs(5),
                tokio::net::TcpStream::connect(&addr),
            )
            .await
            {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    return Err(WdError::unreachable(format!(
                        "{} at {}: cannot connect ({e}); is it running (or port-forwarded)?",
                        t.name, ep.url
                    )))
                }
                Err(_) => {
                    return Err(WdError::unreachable(format!(
                        "{} at {}: no connection within 5s",
                        t.name, ep.url
                    )))
                }
            }
        }
    }
    Ok(())
}

fn report(run: &Run, source: &str, started_at_unix_ms: u64, ended: &engine::Ended) -> LoadReport {
    let m = &run.metrics;
    let secs = ended.elapsed.as_secs_f64().max(1e-9);
    let sc = &run.scenario;
    let mut steps = Vec::new();
    let mut drift = Vec::new();
    for (i, s) in sc.steps.iter().enumerate() {
        let x = &m.steps[i];
        let count = x.count.load(Relaxed);
        steps.push(StepReport {
            name: s.name.clone(),
            phase: s.phase,
            service: sc.services[s.service].clone(),
            count,
            requests: x.requests.load(Relaxed),
            ok: x.ok.load(Relaxed),
            errors: x.errors.load(Relaxed),
            drift: x.drift.load(Relaxed),
            per_second: if s.phase == wd_core::docs::loadtest::StepPhase::Setup {
                0.0
            } else {
                count as f64 / secs
            },
            latency: x.hist.summary(),
            statuses: x.statuses(),
            error_samples: x.errors_samples(),
        });
        for (svc, n) in x.drift_by.iter().enumerate() {
            let n = n.load(Relaxed);
            if n > 0 {
                drift.push(DriftCount {
                    step: s.name.clone(),
                    service: sc.services[svc].clone(),
                    called: sc.services[s.service].clone(),
                    count: n,
                    samples: x.drift_samples(svc),
                });
            }
        }
    }
    let (completed, failed, drifted) = (
        m.completed.load(Relaxed),
        m.failed.load(Relaxed),
        m.drifted.load(Relaxed),
    );
    let ended_n = completed + failed + drifted;
    let started = m.started.load(Relaxed);
    let model = &run.model;
    LoadReport {
        scenario: sc.name.clone(),
        source: source.to_string(),
        model: LoadModel {
            kind: if model.open {
                ModelKind::Open
            } else {
                ModelKind::Closed
            },
            vus: model.vus,
            max_vus: run.vus_bound(),
            rate: model.open.then_some(model.rate),
            stages: model
                .stages
                .iter()
                .map(|(d, t)| LoadStage {
                    duration_ms: d.as_millis() as u64,
                    target: *t,
                })
                .collect(),
            max_iterations: model.max_iterations,
            duration_ms: model.duration.map(|d| d.as_millis() as u64),
        },
        targets: run
            .targets
            .iter()
            .map(|t| LoadTarget {
                service: t.name.clone(),
                mode: t.mode,
                urls: t
                    .endpoints
                    .iter()
                    .map(|&i| run.endpoints[i].url.clone())
                    .collect(),
            })
            .collect(),
        started_at_unix_ms,
        elapsed_ms: ended.elapsed.as_millis() as u64,
        interrupted: ended.interrupted,
        iterations: IterationSummary {
            started,
            completed,
            failed,
            drifted,
            unfinished: started.saturating_sub(ended_n),
            success_pct: if ended_n == 0 {
                0.0
            } else {
                completed as f64 * 100.0 / ended_n as f64
            },
            per_second: ended_n as f64 / secs,
            latency: m.iteration.summary(),
        },
        steps,
        drift,
        thresholds: vec![],
        ..Default::default()
    }
}
