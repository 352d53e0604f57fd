//! The binary as a user meets it: exit codes (2 bad input, 3 unreachable, 1 a failed threshold or
//! a regression), one-line errors naming the file and line, JSON when piped, the open model's
//! schedule, Ctrl-C's partial report, `compare` from stdin. A small axum server on loopback.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use wd_core::docs::loadtest::{LoadComparison, LoadReport, ModelKind};

const BIN: &str = env!("CARGO_BIN_EXE_wd-loadtest");

fn config_dir() -> String {
    format!("{}/../../config", env!("CARGO_MANIFEST_DIR"))
}

/// A server on a free loopback port: `/` answers 200 at once, `/slow` after 20 ms, `/big` 100 kB.
fn server() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new()
                .route("/", axum::routing::get(|| async { "ok" }))
                .route("/big", axum::routing::get(|| async { "x".repeat(100_000) }))
                .route(
                    "/slow",
                    axum::routing::get(|| async {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        "ok"
                    }),
                );
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(format!("http://{}", l.local_addr().unwrap()))
                .unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

fn scenario(dir: &tempfile::TempDir, text: &str) -> String {
    let p = dir.path().join("s.yaml");
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

const GET: &str = "name: get\nsteps:\n  - name: get\n    service: web\n    path: /\n  - name: slow\n    service: web\n    path: /slow\n  - name: big\n    service: web\n    path: /big\n    expect: {body: '^x{100000}$'}\n";

fn wd(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("WD_CONFIG_DIR", config_dir())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bad_input_is_exit_2_in_one_line_and_nothing_is_printed() {
    let d = tempfile::tempdir().unwrap();
    let get = scenario(&d, GET);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["run".into(), "no-such".into()],
            "unknown scenario \"no-such\"",
        ),
        (
            vec![
                "run".into(),
                get.clone(),
                "--target".into(),
                "web=http://127.0.0.1:1".into(),
                "--threshold".into(),
                "p95<fast".into(),
            ],
            "--threshold \"p95<fast\"",
        ),
        (
            vec![
                "run".into(),
                get.clone(),
                "--target".into(),
                "web=http://127.0.0.1:1".into(),
                "--threshold".into(),
                "nostep.p95<5ms".into(),
            ],
            "\"nostep\" is neither a step",
        ),
        (vec!["run".into(), get.clone()], "give --target web=URL"),
        (
            vec![
                "run".into(),
                get.clone(),
                "--target".into(),
                "wallet=http://127.0.0.1:1".into(),
            ],
            "calls no service \"wallet\"",
        ),
        (
            vec![
                "run".into(),
                get.clone(),
                "--target".into(),
                "web=127.0.0.1:1".into(),
            ],
            "http://",
        ),
        (
            vec![
                "run".into(),
                get.clone(),
                "--target".into(),
                "web=http://x".into(),
                "--rate".into(),
                "10".into(),
            ],
            "needs --duration",
        ),
    ];
    for (args, want) in cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = wd(&a);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{args:?}");
        let e = stderr(&o);
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.contains(want), "{args:?}: {e}");
    }
    // The built-in names are listed for an unknown one.
    let e = stderr(&wd(&["run", "no-such"]));
    assert!(
        e.contains("issuance, verification, wallet-lifecycle"),
        "{e}"
    );
}

#[test]
fn malformed_scenario_yaml_names_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let bad = scenario(
        &d,
        "name: x\nsteps:\n  - name: a\n    service: web\n    path: /\n    expect: {status: [ok]}\n",
    );
    let o = wd(&["run", &bad, "--target", "web=http://127.0.0.1:1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with(&format!("wd-loadtest: {bad}:6:")),
        "{}",
        stderr(&o)
    );
    let bad = scenario(&d, "name: x\nsteps: [\n");
    let o = wd(&["run", &bad, "--target", "web=http://127.0.0.1:1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(&format!("{bad}:")), "{}", stderr(&o));
}

#[test]
fn an_unreachable_target_is_exit_3_naming_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let o = wd(&[
        "run",
        "wallet-lifecycle",
        "--target",
        &format!("wallet={url}"),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("wallet at {url}: cannot connect")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_closed_run_reports_every_step_and_a_failed_threshold_is_exit_1_after_the_report() {
    let d = tempfile::tempdir().unwrap();
    let get = scenario(&d, GET);
    let url = server();
    let o = wd(&[
        "run",
        &get,
        "--target",
        &format!("web={url}"),
        "--vus",
        "4",
        "--max-iterations",
        "40",
        "--threshold",
        "slow.p50>=20ms",
        "--threshold",
        "slow.p99<1ms",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r: LoadReport = wd_core::docs::parse(&String::from_utf8_lossy(&o.stdout), "out").unwrap();
    assert_eq!(
        (r.iterations.completed, r.model.kind),
        (40, ModelKind::Closed)
    );
    let slow = r.steps.iter().find(|s| s.name == "slow").unwrap();
    assert_eq!((slow.count, slow.statuses.get("200")), (40, Some(&40)));
    // A 100 kB answer arrives whole through the 4 kB reads.
    assert_eq!(r.steps.iter().find(|s| s.name == "big").unwrap().ok, 40);
    assert!(
        slow.latency.p50_ms >= 20.0 && slow.latency.p50_ms < 500.0,
        "{:?}",
        slow.latency
    );
    assert!(
        r.thresholds[0].passed && !r.thresholds[1].passed,
        "{:?}",
        r.thresholds
    );
    assert!(
        stderr(&o).contains("threshold(s) failed: slow.p99<1ms"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_open_model_starts_iterations_on_schedule() {
    let d = tempfile::tempdir().unwrap();
    let one = scenario(
        &d,
        "name: one\nsteps:\n  - {name: slow, service: web, path: /slow}\n",
    );
    let url = server();
    // 100/s for 1 s, each iteration 20 ms: ~2 running at once; the pool of 10 is never exhausted.
    let o = wd(&[
        "run",
        &one,
        "--target",
        &format!("web={url}"),
        "--rate",
        "100/s",
        "--duration",
        "1s",
        "--max-vus",
        "10",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r: LoadReport = wd_core::docs::parse(&String::from_utf8_lossy(&o.stdout), "out").unwrap();
    assert_eq!(r.model.kind, ModelKind::Open);
    // 100 are due before the end (the last at 0.99 s); a loaded machine may start the last late.
    assert!(
        (95..=100).contains(&r.iterations.completed),
        "{:?}",
        r.iterations
    );
    // One VU at most: the schedule is met and latency (from the due time) stays near 20 ms.
    let d2 = tempfile::tempdir().unwrap();
    let one = scenario(
        &d2,
        "name: one\nsteps:\n  - {name: slow, service: web, path: /slow}\n",
    );
    let o = wd(&[
        "run",
        &one,
        "--target",
        &format!("web={url}"),
        "--rate",
        "100/s",
        "--duration",
        "1s",
        "--max-vus",
        "1",
    ]);
    let r: LoadReport = wd_core::docs::parse(&String::from_utf8_lossy(&o.stdout), "out").unwrap();
    // 50/s is all one VU can do at 20 ms: the backlog grows, and the latency timed from the
    // scheduled start shows it (no coordinated omission) — the p99 is far above 20 ms.
    assert!(
        r.steps[0].latency.p99_ms > 200.0,
        "{:?}",
        r.steps[0].latency
    );
}

#[test]
fn ctrl_c_stops_gracefully_with_a_partial_report() {
    let d = tempfile::tempdir().unwrap();
    let get = scenario(&d, GET);
    let url = server();
    let child = Command::new(BIN)
        .args([
            "run",
            &get,
            "--target",
            &format!("web={url}"),
            "--vus",
            "2",
            "--duration",
            "60s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r: LoadReport = wd_core::docs::parse(&String::from_utf8_lossy(&o.stdout), "out").unwrap();
    assert!(r.interrupted);
    assert!(
        r.iterations.completed > 0 && r.elapsed_ms < 10_000,
        "{:?}",
        r.iterations
    );
    assert!(stderr(&o).contains("partial"), "{}", stderr(&o));
}

#[test]
fn compare_reads_stdin_and_a_regression_is_exit_1() {
    let d = tempfile::tempdir().unwrap();
    let get = scenario(&d, GET);
    let url = server();
    let o = wd(&[
        "run",
        &get,
        "--target",
        &format!("web={url}"),
        "--max-iterations",
        "20",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let base = d.path().join("base.json");
    std::fs::write(&base, &o.stdout).unwrap();
    // The same run made slower and with errors: a regression on `slow` and on errorPct.
    let mut worse: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    worse["steps"][1]["latency"]["p95Ms"] = serde_json::json!(500.0);
    worse["steps"][1]["errors"] = serde_json::json!(10);
    let mut child = Command::new(BIN)
        .args(["compare", base.to_str().unwrap(), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(worse.to_string().as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let c: LoadComparison =
        wd_core::docs::parse(&String::from_utf8_lossy(&o.stdout), "out").unwrap();
    let bad: Vec<(&str, &str)> = c
        .deltas
        .iter()
        .filter(|d| d.regression)
        .map(|d| (d.step.as_str(), d.metric.as_str()))
        .collect();
    assert_eq!(bad, vec![("slow", "p95Ms"), ("slow", "errorPct")]);
    // A report compared with itself has no regression.
    let o = wd(&["compare", base.to_str().unwrap(), base.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
}

/// Runs `cmd` under a pseudo-terminal (util-linux `script`) and returns what the terminal got.
fn on_tty(cmd: &str, no_color: bool) -> String {
    let mut c = Command::new("script");
    c.args(["-qec", cmd, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .env("WD_CONFIG_DIR", config_dir());
    if no_color {
        c.env("NO_COLOR", "1");
    }
    let o = c.output().expect("script (util-linux) is installed");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn progress_on_a_terminal_only_and_a_table_there() {
    let d = tempfile::tempdir().unwrap();
    let get = scenario(&d, GET);
    let url = server();
    let out = d.path().join("out.json");
    // stderr a terminal, stdout a file: progress on the terminal, JSON in the file.
    let tty = on_tty(
        &format!(
            "{BIN} run {get} --target web={url} --vus 2 --duration 1200ms > {}",
            out.display()
        ),
        false,
    );
    assert!(
        tty.contains("req/s") && tty.contains("iterations"),
        "{tty:?}"
    );
    let r: LoadReport =
        wd_core::docs::parse(&std::fs::read_to_string(&out).unwrap(), "out").unwrap();
    assert!(r.iterations.completed > 0);
    // stdout a terminal too: a table, the title bold; NO_COLOR: no colour codes at all.
    let tty = on_tty(
        &format!("{BIN} run {get} --target web={url} --max-iterations 3"),
        false,
    );
    assert!(
        tty.contains("┌") && tty.contains("\x1b[1mget — 3 iterations"),
        "{tty:?}"
    );
    let plain = on_tty(
        &format!("{BIN} run {get} --target web={url} --max-iterations 3"),
        true,
    );
    assert!(plain.contains("get — 3 iterations"), "{plain:?}");
    for code in ["\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[33m"] {
        assert!(!plain.contains(code), "NO_COLOR: {plain:?}");
    }
    // Piped: nothing on stderr but errors.
    let o = wd(&[
        "run",
        &get,
        "--target",
        &format!("web={url}"),
        "--max-iterations",
        "3",
    ]);
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
}

#[test]
fn a_ramping_arrival_rate_starts_the_integral_of_its_rate() {
    let d = tempfile::tempdir().unwrap();
    let one = scenario(
        &d,
        "name: one\nsteps:\n  - {name: get, service: web, path: /}\n",
    );
    let url = server();
    // 0 → 100/s over 1 s: 50 iterations, then 100/s for 0.5 s: 50 more.
    let o = wd(&[
        "run",
        &one,
        "--target",
        &format!("web={url}"),
        "--rate",
        "0",
        "--stage",
        "1s:100",
        "--stage",
        "500ms:100",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r: LoadReport = wd_core::docs::parse(&String::from_utf8_lossy(&o.stdout), "out").unwrap();
    assert!(
        (95..=100).contains(&r.iterations.completed),
        "{:?}",
        r.iterations
    );
    assert_eq!(r.model.stages.len(), 2);
}
