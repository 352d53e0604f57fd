//! wd-wait against the in-process fake API server (wd-testsupport).

use wd_testsupport::fakekube;

use fakekube::FakeKube;
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

fn spawn(kubeconfig: &std::path::Path, stdin: &str, args: &[&str]) -> Child {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wd-wait"))
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    c
}

fn report(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn deployment(name: &str, generation: i64, available: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "waltid", "generation": generation},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}},
        "status": {"observedGeneration": generation, "replicas": 1, "updatedReplicas": available, "availableReplicas": available}
    })
}

fn job(name: &str, condition: Option<(&str, &str)>) -> Value {
    let conditions: Vec<Value> = condition.map(|(t, r)| json!({"type": t, "status": "True", "reason": r, "message": format!("{r} happened")})).into_iter().collect();
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "waltid"}, "status": {"conditions": conditions}})
}

fn pod(name: &str, app: &str, status: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "waltid", "labels": {"app.kubernetes.io/name": app}}, "spec": {"containers": [{"name": app, "image": "x"}]}, "status": status})
}

fn wait_a_bit() {
    std::thread::sleep(Duration::from_millis(600));
}

#[test]
fn a_deployment_becomes_available_and_jobs_complete() {
    let k = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let kc = k.kubeconfig(dir.path());
    k.apply(deployment("waltid-walt-wallet", 2, 0));
    k.apply(job("migrate", None));
    let child = spawn(
        &kc,
        r#"[{"kind":"Deployment","name":"waltid-walt-wallet"},{"kind":"Job","name":"migrate"}]"#,
        &["--timeout", "20s"],
    );
    wait_a_bit();
    k.apply(deployment("waltid-walt-wallet", 2, 1));
    k.apply(job("migrate", Some(("Complete", "Done"))));
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = report(&o);
    assert_eq!(r["kind"], "WaitReport");
    assert_eq!(r["ready"], true);
    for obj in r["objects"].as_array().unwrap() {
        assert_eq!(obj["state"], "ready");
        assert!(
            obj["readyAfterMs"].as_u64().unwrap() >= 300,
            "became ready after the update, not at once: {obj}"
        );
    }
    // one list and one watch per kind, not per object
    let reqs = k.requests();
    let lists = reqs.iter().filter(|r| !r.contains("watch=")).count();
    let watches = reqs.iter().filter(|r| r.contains("watch=true")).count();
    assert_eq!((lists, watches), (2, 2), "{reqs:#?}");
}

#[test]
fn a_failed_job_a_crash_loop_and_an_unschedulable_pod_are_diagnosed() {
    let k = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let kc = k.kubeconfig(dir.path());
    k.apply(job("seed", Some(("Failed", "BackoffLimitExceeded"))));
    k.apply(deployment("waltid-walt-issuer", 1, 0));
    k.apply(pod("issuer-abc", "waltid-walt-issuer", json!({"phase": "Running", "containerStatuses": [{"name": "walt-issuer", "image": "waltid/issuer-api:0.18.2", "restartCount": 7, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]})));
    let lines: Vec<String> = (1..=30).map(|i| format!("log line {i}")).collect();
    k.set_log("waltid", "issuer-abc", "walt-issuer", &lines.join("\n"));
    k.apply(deployment("waltid-wso2is", 1, 0));
    k.apply(pod("wso2-xyz", "waltid-wso2is", json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes are available: 1 Insufficient memory."}]})));
    k.apply(deployment("waltid-verifiably-go", 1, 0));
    k.apply(pod("app-1", "waltid-verifiably-go", json!({"phase": "Pending", "containerStatuses": [{"name": "verifiably-go", "image": "verifiably-go:local", "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"verifiably-go:local\""}}}]})));
    let input = r#"[{"kind":"Job","name":"seed"},{"kind":"Deployment","name":"waltid-walt-issuer"},{"kind":"Deployment","name":"waltid-wso2is"},{"kind":"Deployment","name":"waltid-verifiably-go"},{"kind":"Deployment","name":"waltid-never-installed"}]"#;
    let o = spawn(&kc, input, &["--timeout", "2s"])
        .wait_with_output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let r = report(&o);
    assert_eq!(
        (r["ready"].as_bool(), r["timedOut"].as_bool()),
        (Some(false), Some(true))
    );
    let by = |name: &str| {
        r["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .unwrap()
            .clone()
    };
    let seed = by("seed");
    assert_eq!(seed["state"], "failed");
    assert!(seed["diagnosis"][0]
        .as_str()
        .unwrap()
        .contains("Job seed failed: BackoffLimitExceeded"));
    let issuer = by("waltid-walt-issuer");
    assert!(issuer["diagnosis"][0]
        .as_str()
        .unwrap()
        .contains("container walt-issuer of pod issuer-abc is in CrashLoopBackOff (7 restarts)"));
    let logs: Vec<&str> = issuer["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(logs.len(), 20);
    assert_eq!(
        (logs[0], logs[19]),
        ("log line 11", "log line 30"),
        "the last 20 lines"
    );
    assert!(by("waltid-wso2is")["diagnosis"][0]
        .as_str()
        .unwrap()
        .contains("Insufficient memory"));
    assert!(by("waltid-verifiably-go")["diagnosis"][0]
        .as_str()
        .unwrap()
        .contains("cannot pull image verifiably-go:local"));
    assert_eq!(by("waltid-never-installed")["state"], "missing");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("wd-wait: Deployment waltid/waltid-wso2is: pending"));
}

#[test]
fn custom_resources_use_their_ready_condition() {
    let k = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let kc = k.kubeconfig(dir.path());
    let es = |name: &str, status: &str, msg: &str| json!({"apiVersion": "external-secrets.io/v1beta1", "kind": "ExternalSecret", "metadata": {"name": name, "namespace": "waltid"}, "status": {"conditions": [{"type": "Ready", "status": status, "reason": "SecretSynced", "message": msg}]}});
    k.apply(es(
        "waltid-wallet-auth",
        "False",
        "could not get secret data from provider",
    ));
    k.apply(json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "waltid-pg", "namespace": "waltid"}, "status": {"phase": "Setting up primary"}}));
    let child = spawn(
        &kc,
        r#"[{"kind":"ExternalSecret","name":"waltid-wallet-auth"},{"kind":"Cluster","name":"waltid-pg"}]"#,
        &["--timeout", "20s"],
    );
    wait_a_bit();
    k.apply(es("waltid-wallet-auth", "True", "secret synced"));
    k.apply(json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "waltid-pg", "namespace": "waltid"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}));
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // and one that never syncs says why
    k.apply(es("waltid-app-demo", "False", "key password not found"));
    let o = spawn(
        &kc,
        r#"[{"kind":"ExternalSecret","name":"waltid-app-demo"}]"#,
        &["--timeout", "1s"],
    )
    .wait_with_output()
    .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(report(&o)["objects"][0]["diagnosis"][0]
        .as_str()
        .unwrap()
        .contains("key password not found"));
}

#[test]
fn watches_survive_410_gone_and_dropped_connections() {
    let k = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let kc = k.kubeconfig(dir.path());
    k.apply(deployment("a", 1, 0));
    k.apply(deployment("b", 1, 0));
    // every watch stream breaks after one event: the watcher must resume from its last resourceVersion
    k.drop_watches_after(Some(1));
    let child = spawn(
        &kc,
        r#"[{"kind":"Deployment","name":"a"},{"kind":"Deployment","name":"b"}]"#,
        &["--timeout", "30s"],
    );
    wait_a_bit();
    k.apply(deployment("a", 1, 1));
    wait_a_bit();
    // history compacted: resuming gets 410 Gone; the watcher relists and still sees b turn ready
    k.compact();
    k.drop_watches_after(None);
    k.apply(deployment("b", 1, 1));
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let reqs = k.requests();
    assert!(
        reqs.iter().filter(|r| r.contains("watch=true")).count() >= 2,
        "the watch was re-established: {reqs:#?}"
    );
    assert!(
        reqs.iter().filter(|r| !r.contains("watch=")).count() >= 2,
        "and relisted after 410: {reqs:#?}"
    );
}

#[test]
fn selectors_and_unreachable_clusters() {
    let k = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let kc = k.kubeconfig(dir.path());
    let mut d = deployment("x", 1, 1);
    d["metadata"]["labels"] = json!({"app.kubernetes.io/part-of": "waltid"});
    k.apply(d);
    k.apply(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "models", "namespace": "waltid", "labels": {"app.kubernetes.io/part-of": "waltid"}}, "status": {"phase": "Bound"}}));
    let o = spawn(
        &kc,
        "",
        &[
            "--selector",
            "app.kubernetes.io/part-of=waltid",
            "--timeout",
            "10s",
        ],
    )
    .wait_with_output()
    .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(report(&o)["objects"].as_array().unwrap().len(), 2);
    drop(k);
    let o = spawn(
        &kc,
        r#"[{"kind":"Deployment","name":"x"}]"#,
        &["--timeout", "10s"],
    )
    .wait_with_output()
    .unwrap();
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot reach the Kubernetes API"));
    let o = spawn(&kc, "[{\"kind\":\"Widget\",\"name\":\"w\"}]", &[])
        .wait_with_output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("kind Widget needs an apiVersion"));
}

#[test]
fn an_api_server_that_never_answers_is_exit_3_not_a_timeout() {
    let silent = fakekube::SilentServer::start();
    let dir = tempfile::tempdir().unwrap();
    let kc = silent.kubeconfig(dir.path());
    let t0 = std::time::Instant::now();
    let o = spawn(
        &kc,
        r#"[{"kind":"Deployment","name":"waltid-walt-wallet"}]"#,
        &["--timeout", "2s"],
    )
    .wait_with_output()
    .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("the Kubernetes API at")
            && err.contains(&silent.url)
            && err.contains("did not answer (list Deployment in waltid) within 2s"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(o.stdout.is_empty(), "no report: nothing was observed");
    assert!(t0.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_timeout_says_so_on_stderr() {
    let k = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let kc = k.kubeconfig(dir.path());
    k.apply(deployment("slow", 1, 0));
    let o = spawn(
        &kc,
        r#"[{"kind":"Deployment","name":"slow"}]"#,
        &["--timeout", "1s"],
    )
    .wait_with_output()
    .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("wd-wait: Deployment waltid/slow: pending: 0/1 replicas available")
            && err.contains("wd-wait: timed out after 1s"),
        "{err}"
    );
    assert_eq!(report(&o)["objects"][0]["state"], "pending");
}

#[test]
fn a_render_plan_names_the_scenarios_components_from_the_typed_scenario() {
    let out = tempfile::tempdir().unwrap();
    let plan = wd_testsupport::render_scenario(
        std::path::Path::new(env!("CARGO_BIN_EXE_wd-wait")),
        "waltid",
        out.path(),
    );
    let plan = std::fs::read_to_string(plan).unwrap();
    let k = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let kc = k.kubeconfig(dir.path());
    let o = spawn(&kc, &plan, &["--timeout", "1s"])
        .wait_with_output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let r = report(&o);
    let names: Vec<(String, String)> = r["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            assert_eq!(x["state"], "missing");
            (
                x["objectKind"].as_str().unwrap().to_string(),
                x["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for want in [
        ("Deployment", "waltid-walt-issuer"),
        ("Deployment", "waltid-walt-wallet"),
        ("Deployment", "waltid-keycloak"),
        ("Deployment", "waltid-libretranslate"),
        ("Deployment", "waltid-verifiably-go"),
        ("Cluster", "waltid-pg"),
        ("ExternalSecret", "waltid-keycloak-admin"),
    ] {
        assert!(
            names.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} in {names:?}"
        );
    }
}
