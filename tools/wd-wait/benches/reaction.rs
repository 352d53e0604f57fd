//! `make bench`: how fast wd-wait notices an object turning ready, what a wait costs the client,
//! and what it costs the API. N Deployments start unready; the fake API server flips them ready
//! one by one at a fixed rate; the reaction time of each is when wd-wait judged it ready minus
//! when the server sent the event. Server and wait run in this process, so both instants come
//! from one monotonic clock (`Instant`, nanoseconds): no truncation to milliseconds, no clamping.
//! Prints a Markdown section for docs/benchmarks.md.

use serde_json::json;
use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use wd_testsupport::fakekube::FakeKube;
use wd_wait::engine::{self, Options, Target};

fn deployment(i: usize, available: i64) -> serde_json::Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": format!("d{i:04}"), "namespace": "waltid", "generation": 1},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": format!("d{i:04}")}}},
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": available, "availableReplicas": available}})
}

/// CPU time of the calling thread (the wait runs on one thread: a current-thread runtime).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_THREAD_CPUTIME_ID always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

struct Row {
    n: usize,
    every: Duration,
    reactions_ms: Vec<f64>,
    cpu: Duration,
    lists: usize,
    watches: usize,
}

fn run(n: usize, every: Duration) -> Row {
    let k = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let kc = k.kubeconfig(dir.path());
    for i in 0..n {
        k.apply(deployment(i, 0));
    }
    let targets: Vec<Target> = (0..n)
        .map(|i| Target {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "waltid".into(),
            name: Some(format!("d{i:04}")),
            selector: None,
        })
        .collect();
    let (tx, rx) = mpsc::channel::<(String, Instant)>();
    let waiter = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let cpu0 = thread_cpu();
        let report = rt
            .block_on(async {
                let c = wd_kube::client(&wd_kube::KubeArgs {
                    kubeconfig: Some(kc),
                })
                .await?;
                let mut opts = Options::new(Duration::from_secs(120));
                opts.on_ready = Some(Box::new(move |_t: &Target, name: &str, at: Instant| {
                    let _ = tx.send((name.to_string(), at));
                }));
                engine::wait(c, targets, opts).await
            })
            .unwrap();
        (report, thread_cpu() - cpu0)
    });
    // flip only once the list is done and the watch is open
    let t0 = Instant::now();
    while !k.requests().iter().any(|r| r.contains("watch=true")) {
        assert!(t0.elapsed() < Duration::from_secs(60), "no watch started");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(200));
    let mut flipped = Vec::with_capacity(n);
    let mut next = Instant::now();
    for i in 0..n {
        flipped.push(k.apply_at(deployment(i, 1)));
        next += every;
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
    let (report, cpu) = waiter.join().unwrap();
    assert!(report.ready, "every object became ready");
    let seen: HashMap<String, Instant> = rx.into_iter().collect();
    let mut reactions_ms: Vec<f64> = (0..n)
        .map(|i| {
            let at = seen[&format!("d{i:04}")];
            at.checked_duration_since(flipped[i])
                .expect("judged ready after the server sent the event")
                .as_secs_f64()
                * 1000.0
        })
        .collect();
    reactions_ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let reqs = k.requests();
    Row {
        n,
        every,
        reactions_ms,
        cpu,
        lists: reqs.iter().filter(|r| !r.contains("watch=")).count(),
        watches: reqs.iter().filter(|r| r.contains("watch=true")).count(),
    }
}

fn main() {
    let rows = [
        run(200, Duration::from_millis(2)),
        run(1000, Duration::from_millis(2)),
    ];
    println!("## wd-wait: reaction time and cost\n");
    println!("N Deployments turned ready one by one, one condition flip every 2 ms, on the in-process fake API");
    println!("server (tools/wd-testsupport); wd-wait's engine runs in the same process on one thread. Reaction =");
    println!("the instant wd-wait judged an object ready minus the instant the server sent its event, both from");
    println!("one monotonic clock (nanoseconds; nothing truncated or clamped). Goal: 1,000 objects, p99 ≤ 100 ms.");
    println!(
        "Client CPU is the wait thread's CPU time for the whole wait (list, 2N events, report)."
    );
    println!("Reproduce: `make bench` (tools/wd-wait/benches/reaction.rs).\n");
    println!("| objects | flip every | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | client CPU (ms) | CPU per object (µs) | list requests | watch requests |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let pct =
            |p: f64| r.reactions_ms[(((p / 100.0) * r.n as f64).ceil() as usize).clamp(1, r.n) - 1];
        println!(
            "| {} | {} ms | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} | {:.1} | {} | {} |",
            r.n,
            r.every.as_millis(),
            pct(50.0),
            pct(90.0),
            pct(99.0),
            r.reactions_ms[r.n - 1],
            r.cpu.as_secs_f64() * 1000.0,
            r.cpu.as_secs_f64() * 1e6 / r.n as f64,
            r.lists,
            r.watches
        );
    }
    println!("\nPercentiles are nearest-rank. Per event wd-wait judges only the object the event touched (the");
    println!("objects live in kube-runtime's reflector store), so CPU per object stays flat from 200 to 1,000");
    println!("objects; one list and one watch for the one kind waited on, not one per object.");
    println!("\nBefore (issue 11): wd-wait re-judged and deep-copied every target on every event; at 800");
    println!("objects a wait cost 1.4–4.1 s CPU and its reaction p99 reached 260+ ms (measured then at 1 ms");
    println!("resolution, so sub-millisecond reactions read as 0).");
}
