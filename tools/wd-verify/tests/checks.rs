//! Each check on a small fixture named after its case (tests/fixtures/<case>/manifests.yaml),
//! with the real waltid scenario rules, through the library; the CLI contract (exit codes,
//! one-line errors, size limit) through the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use wd_core::docs::preflight::{PreflightReport, Severity};
use wd_verify::{model, Options};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rules() -> wd_core::scenario::VerifyRules {
    wd_core::scenario::read_verify_rules(&root().join("config/scenarios/waltid.yaml")).unwrap()
}

fn run_text(text: &str, opts: &Options) -> PreflightReport {
    let objs = model::parse_manifests(text, "fixture", "default").unwrap();
    wd_verify::verify(objs, "waltid", &rules(), opts, None, None)
}

fn fixture(case: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{case}/manifests.yaml")),
    )
    .unwrap()
}

fn run(case: &str, opts: &Options) -> PreflightReport {
    run_text(&fixture(case), opts)
}

fn errors<'a>(r: &'a PreflightReport, check: &str) -> Vec<&'a str> {
    r.findings
        .iter()
        .filter(|f| f.severity == Severity::Error && f.check == check)
        .map(|f| f.message.as_str())
        .collect()
}

#[test]
fn call_to_an_undeployed_service_does_not_resolve() {
    let r = run("call-unresolved-host", &Options::default());
    let e = errors(&r, "call-path/dns");
    assert_eq!(e.len(), 1, "{:#?}", r.findings);
    assert!(
        e[0].contains("no Service \"translate\" in namespace \"demo\"")
            && e[0].contains("env LIBRETRANSLATE_URL"),
        "{}",
        e[0]
    );
    assert!(!r.ok);
    assert_eq!(r.calls.len(), 1);
    assert!(!r.calls[0].ok);
}

#[test]
fn target_port_must_be_a_container_port() {
    let r = run("call-target-port-mismatch", &Options::default());
    let e = errors(&r, "call-path/target-port");
    assert_eq!(e.len(), 1, "{:#?}", r.findings);
    assert!(
        e[0].contains("targetPort 8080") && e[0].contains("declares no containerPort 8080"),
        "{}",
        e[0]
    );
    assert!(errors(&r, "call-path/dns").is_empty());
}

#[test]
fn network_policies_are_judged_on_both_sides_and_dns() {
    let r = run("call-netpol-one-sided", &Options::default());
    // egress app→translate is allowed by the named port `http`; translate's ingress is not.
    assert!(
        errors(&r, "call-path/egress").is_empty(),
        "{:#?}",
        r.findings
    );
    let ing = errors(&r, "call-path/ingress");
    assert_eq!(ing.len(), 1, "{:#?}", r.findings);
    assert!(
        ing[0].contains("default-deny") && ing[0].contains("5000/TCP"),
        "{}",
        ing[0]
    );
    let dns = errors(&r, "call-path/dns-egress");
    assert_eq!(dns.len(), 1);
    assert!(
        dns[0].contains("kube-system") || dns[0].contains("ClusterDNS"),
        "{}",
        dns[0]
    );
    // the egress rule app→translate is used by the call: no unused-flow warning for it
    assert!(!r
        .findings
        .iter()
        .any(|f| f.check == "call-path/unused-flow" && f.message.contains("app-to-translate")));
}

#[test]
fn unused_allowed_flows_are_warnings_or_errors_with_strict() {
    let text = fixture("call-netpol-one-sided").replace("LIBRETRANSLATE_URL", "UNRELATED");
    let r = run_text(&text, &Options::default());
    let w: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.check == "call-path/unused-flow")
        .collect();
    // app -> translate is allowed and unused; so is monitoring -> translate (no ServiceMonitor
    // or Probe selects translate, yet Prometheus and the blackbox exporter may reach it).
    assert_eq!(w.len(), 2, "{:#?}", r.findings);
    assert!(w.iter().all(|f| f.severity == Severity::Warning));
    assert!(w[0].message.contains("app-to-translate"));
    assert!(
        w[1].message.contains("translate-from-monitoring")
            && w[1].message.contains("Prometheus/monitoring/prometheus")
    );
    let strict = run_text(
        &text,
        &Options {
            strict: true,
            ..Default::default()
        },
    );
    assert!(!errors(&strict, "call-path/unused-flow").is_empty());
}

#[test]
fn public_loopback_host_needs_in_cluster_resolution_then_ca_trust() {
    let r = run("call-public-host-tls", &Options::default());
    let e = errors(&r, "call-path/public-host");
    assert_eq!(e.len(), 1, "{:#?}", r.findings);
    assert!(
        e[0].contains("127.0.0.1 inside a pod") && e[0].contains("backends.json issuerBaseUrl"),
        "{}",
        e[0]
    );
    let r = run(
        "call-public-host-tls",
        &Options {
            resolve_public: vec!["localtest.me".into()],
            ..Default::default()
        },
    );
    assert!(errors(&r, "call-path/public-host").is_empty());
    let tls = errors(&r, "call-path/tls");
    assert_eq!(tls.len(), 1, "{:#?}", r.findings);
    assert!(tls[0].contains("selfsigned-ca"), "{}", tls[0]);
    // with the CA mounted where Go looks for it, the call is trusted
    let text = fixture("call-public-host-tls").replace(
        "volumeMounts: [{name: cfg, mountPath: /app/config}]",
        "volumeMounts: [{name: cfg, mountPath: /app/config}]\n          env: [{name: SSL_CERT_FILE, value: /ca/ca.crt}]",
    );
    let r = run_text(
        &text,
        &Options {
            resolve_public: vec!["localtest.me".into()],
            ..Default::default()
        },
    );
    assert!(errors(&r, "call-path/tls").is_empty(), "{:#?}", r.findings);
    // the ingress controller's call to the backend resolves through the named port
    assert!(r
        .calls
        .iter()
        .any(|c| c.from.starts_with("IngressController/") && c.ok));
}

#[test]
fn references_name_missing_secrets_keys_pvcs_and_service_accounts() {
    let r = run("refs-missing-secret-and-key", &Options::default());
    let keys = errors(&r, "references/missing-key");
    assert_eq!(keys.len(), 1, "{:#?}", r.findings);
    assert!(keys[0].contains("no key \"tokenKey\""), "{}", keys[0]);
    let missing = errors(&r, "references/missing");
    assert!(
        missing
            .iter()
            .any(|m| m.starts_with("Secret demo/postgres-app")),
        "{missing:?}"
    );
    assert!(
        missing
            .iter()
            .any(|m| m.starts_with("PersistentVolumeClaim demo/wallet-data")),
        "{missing:?}"
    );
    assert!(
        missing
            .iter()
            .any(|m| m.starts_with("ServiceAccount demo/wallet")),
        "{missing:?}"
    );
    let r = run(
        "refs-missing-secret-and-key",
        &Options {
            external: vec![
                "Secret/postgres-app".into(),
                "PersistentVolumeClaim/wallet-data".into(),
                "ServiceAccount/demo/wallet".into(),
            ],
            ..Default::default()
        },
    );
    assert!(
        errors(&r, "references/missing").is_empty(),
        "{:#?}",
        r.findings
    );
}

#[test]
fn secret_plan_keys_count_as_created() {
    let plan: wd_core::docs::secret_plan::SecretPlan = serde_json::from_value(serde_json::json!({
        "apiVersion": "wd/v1", "kind": "SecretPlan", "scenario": "waltid", "kvMount": "secret",
        "secrets": [{"name": "pg", "description": "", "vaultPath": "p", "vaultKey": "password",
            "k8sSecret": "postgres-app", "k8sKey": "password", "k8sStatic": {"username": "waltid"}, "env": null,
            "consumers": [], "policy": {"format": "random", "length": 32, "charset": "alphanumeric", "why": ""},
            "restartOnRotate": [], "runbook": ""}]
    }))
    .unwrap();
    let objs =
        model::parse_manifests(&fixture("refs-missing-secret-and-key"), "f", "default").unwrap();
    let r = wd_verify::verify(
        objs,
        "waltid",
        &rules(),
        &Options::default(),
        Some(&plan),
        None,
    );
    assert!(
        !errors(&r, "references/missing")
            .iter()
            .any(|m| m.contains("postgres-app")),
        "{:#?}",
        r.findings
    );
}

#[test]
fn images_without_tag_latest_and_unbuilt_local() {
    let r = run("images-latest-and-local", &Options::default());
    assert_eq!(errors(&r, "images/latest").len(), 1);
    assert!(errors(&r, "images/untagged")[0].contains("busybox"));
    let nb = errors(&r, "images/not-built");
    assert_eq!(nb.len(), 1);
    assert!(
        nb[0].contains("image verifiably-go:local is built locally and nothing builds/loads it")
    );
    let r = run(
        "images-latest-and-local",
        &Options {
            built_images: vec!["verifiably-go:local".into()],
            ..Default::default()
        },
    );
    assert!(errors(&r, "images/not-built").is_empty());
}

#[test]
fn pod_security_follows_the_namespace_level_init_containers_included() {
    let r = run("pss-privileged-in-restricted", &Options::default());
    let ids: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.check.starts_with("pod-security/"))
        .map(|f| f.check.as_str())
        .collect();
    for want in [
        "pod-security/baseline/privileged",
        "pod-security/baseline/host-namespaces",
        "pod-security/baseline/host-path",
        "pod-security/baseline/capabilities",
        "pod-security/restricted/run-as-non-root",
        "pod-security/restricted/seccomp",
        "pod-security/restricted/capabilities",
        "pod-security/restricted/privilege-escalation",
        "pod-security/restricted/volume-types",
    ] {
        assert!(ids.contains(&want), "{want} missing in {ids:?}");
    }
    let priv_ = r
        .findings
        .iter()
        .find(|f| f.check == "pod-security/baseline/privileged")
        .unwrap();
    assert_eq!(priv_.objects[0].container.as_deref(), Some("setup"));
    // nothing about the DaemonSet in the privileged namespace
    assert!(!r
        .findings
        .iter()
        .any(|f| f.objects.iter().any(|o| o.namespace == "ops")));
    // baseline level: only baseline rules
    let r = run(
        "pss-privileged-in-restricted",
        &Options {
            pss_level: wd_verify::pss::Level::Baseline,
            ..Default::default()
        },
    );
    assert!(r
        .findings
        .iter()
        .all(|f| !f.check.starts_with("pod-security/restricted")));
}

#[test]
fn capacity_names_what_is_needed_and_what_the_cluster_has() {
    let r = run("capacity-too-big", &Options::default());
    let e = errors(&r, "capacity/memory");
    assert_eq!(e, vec!["the workloads request memory: needs 9.00 GiB, cluster has 8.00 GiB (demo 1500m/9.00 GiB)"]);
    assert!(r
        .findings
        .iter()
        .any(|f| f.check == "capacity/memory-limits" && f.severity == Severity::Warning));
    let r = run(
        "capacity-too-big",
        &Options {
            nodes: 2,
            ..Default::default()
        },
    );
    assert!(errors(&r, "capacity/memory").is_empty());
    let total = r.capacity.iter().find(|c| c.scope == "total").unwrap();
    assert_eq!(total.memory_requests_bytes, 9 << 30);
}

#[test]
fn per_process_sessions_and_blocking_pdbs() {
    let r = run("rollout-sessions-and-pdb", &Options::default());
    let s = errors(&r, "rollout/per-process-sessions");
    assert_eq!(s.len(), 1, "{:#?}", r.findings);
    assert!(
        s[0].contains("2 replicas") && s[0].contains("process memory"),
        "{}",
        s[0]
    );
    assert_eq!(errors(&r, "rollout/pdb-blocks-drain").len(), 1);
    // Redis persistence in a mounted persistence.conf makes sessions shared.
    let text = fixture("rollout-sessions-and-pdb")
        .replace(
            "          image: waltid/issuer-api:0.18.2\n",
            "          image: waltid/issuer-api:0.18.2\n          volumeMounts: [{name: c, mountPath: /waltid-issuer-api/config}]\n",
        )
        .replace("      containers:\n", "      volumes: [{name: c, configMap: {name: issuer-config}}]\n      containers:\n")
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: issuer-config, namespace: demo}\ndata:\n  persistence.conf: |\n    type = \"redis\"\n    nodes = [{host = \"redis\", port = 6379}]\n";
    let r = run_text(&text, &Options::default());
    assert!(
        errors(&r, "rollout/per-process-sessions").is_empty(),
        "{:#?}",
        r.findings
    );
    // ...and the Redis node it names is a call that must resolve
    assert!(
        errors(&r, "call-path/dns")
            .iter()
            .any(|m| m.contains("redis://redis:6379")),
        "{:#?}",
        r.findings
    );
}

#[test]
fn unknown_kinds_are_counted_not_checked() {
    let r = run_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\napiVersion: v1\nkind: List\nitems:\n  - {apiVersion: example.com/v1, kind: Widget, metadata: {name: x}}\n", &Options::default());
    assert_eq!(r.summary.ignored_kinds.get("Widget"), Some(&2));
    assert!(r.ok);
}

fn cli(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wd-verify"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut i = c.stdin.take().unwrap();
        let _ = i.write_all(stdin);
    }
    let o = c.wait_with_output().unwrap();
    (
        o.status.code().unwrap(),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

#[test]
fn bad_input_is_exit_2_with_one_line_and_nothing_written() {
    for (input, want) in [
        ("a: [\n", "invalid YAML"),
        (
            "---\nfoo: bar\n",
            "<stdin>:2: document without apiVersion and kind",
        ),
        ("", "no Kubernetes objects"),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {}\n",
            "Service without metadata.name",
        ),
    ] {
        let (code, out, err) = cli(&[], input.as_bytes());
        assert_eq!(code, 2, "{input:?}: {err}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("wd-verify: ") && err.contains(want),
            "{input:?}: {err}"
        );
    }
    let (code, _, err) = cli(&["--node-memory", "lots"], b"");
    assert_eq!(code, 2);
    assert!(err.contains("--node-memory"), "{err}");
}

#[test]
fn a_50_mb_manifest_is_refused_in_bounded_time() {
    let big = "# padding\n".repeat(5 * 1024 * 1024);
    let t = std::time::Instant::now();
    let (code, out, err) = cli(&[], big.as_bytes());
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("MiB"), "{err}");
    assert!(t.elapsed().as_secs() < 10);
}

#[test]
fn exit_codes_and_formats() {
    let (code, out, _) = cli(
        &[
            "--manifests",
            "tools/wd-verify/tests/fixtures/call-unresolved-host/manifests.yaml",
        ],
        b"",
    );
    assert_eq!(code, 1);
    let doc: PreflightReport = wd_core::docs::parse(&out, "stdout").unwrap();
    assert!(!doc.ok);
    let (code, out, _) = cli(
        &["--format", "csv"],
        fixture("capacity-too-big")
            .replace("3Gi", "1Gi")
            .replace("4Gi", "1Gi")
            .as_bytes(),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("severity,check,objects,message,fix\n"));
    let (_, md, _) = cli(
        &["--format", "markdown"],
        fixture("call-unresolved-host").as_bytes(),
    );
    assert!(md.starts_with("# PreflightReport"));
}

#[test]
fn acme_http01_solver_must_be_reachable_from_the_ingress_controller() {
    let r = run("call-acme-solver-blocked", &Options::default());
    let e = errors(&r, "call-path/ingress");
    // the solver and the web backend are both blocked by default-deny
    assert!(
        e.iter()
            .any(|m| m.contains("AcmeSolver/demo/cm-acme-http-solver") && m.contains("8089")),
        "{:#?}",
        r.findings
    );
    assert!(
        e.iter()
            .any(|m| m.contains("Deployment/demo/web") && m.contains("8080")),
        "{e:?}"
    );
    let allow = fixture("call-acme-solver-blocked")
        + "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: to-solver, namespace: demo}\nspec:\n  podSelector: {matchLabels: {acme.cert-manager.io/http01-solver: \"true\"}}\n  ingress:\n    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}}]\n      ports: [{port: 8089}]\n";
    let r = run_text(&allow, &Options::default());
    assert!(
        !errors(&r, "call-path/ingress")
            .iter()
            .any(|m| m.contains("AcmeSolver")),
        "{:#?}",
        r.findings
    );
}

#[test]
fn an_unreachable_cluster_for_node_capacity_is_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    )
    .unwrap();
    let (code, out, err) = cli(
        &["--kubeconfig", kc.to_str().unwrap()],
        fixture("call-unresolved-host").as_bytes(),
    );
    assert_eq!(code, 3, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("list Nodes") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn prometheus_scrapes_and_blackbox_probes_are_calls_judged_like_any_other() {
    let r = run("call-scrape-blocked", &Options::default());
    let from = |who: &str| {
        r.calls
            .iter()
            .filter(|c| c.from.starts_with(who))
            .collect::<Vec<_>>()
    };
    // ServiceMonitor: Prometheus -> Service web, port named "metrics" -> container port 9100
    let scrape = from("Prometheus/");
    assert_eq!(scrape.len(), 1, "{:#?}", r.calls);
    assert!(scrape[0].source == "ServiceMonitor web" && !scrape[0].ok);
    let blocked = errors(&r, "call-path/ingress");
    assert!(
        blocked
            .iter()
            .any(|m| m.contains("Prometheus") && m.contains("9100")),
        "{blocked:#?}"
    );
    // Probe: blackbox exporter -> http://web.demo.svc:80/healthz, allowed by app-from-blackbox
    let probe = from("BlackboxExporter/");
    assert_eq!(probe.len(), 1, "{:#?}", r.calls);
    assert!(
        probe[0].ok && probe[0].resolves_to == "Service demo/web",
        "{:#?}",
        probe[0]
    );
    assert!(
        r.summary.ignored_kinds.is_empty(),
        "{:?}",
        r.summary.ignored_kinds
    );
}

#[test]
fn pod_security_warns_at_a_stricter_audit_or_warn_label_and_errs_at_enforce() {
    let r = run("pss-baseline-warn-restricted", &Options::default());
    let pss: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.check.starts_with("pod-security/"))
        .collect();
    // enforce=baseline: the privileged container is rejected
    let e = errors(&r, "pod-security/baseline/privileged");
    assert_eq!(e.len(), 1, "{pss:#?}");
    assert!(e[0].contains("baseline of namespace demo") && e[0].contains("rejects"));
    // audit/warn=restricted: what restricted adds is a warning naming the labels, once
    let w: Vec<_> = pss
        .iter()
        .filter(|f| f.check == "pod-security/restricted/run-as-non-root")
        .collect();
    assert_eq!(w.len(), 1, "{pss:#?}");
    assert_eq!(w[0].severity, Severity::Warning);
    assert!(
        w[0].message.contains("restricted (audit/warn label)") && w[0].message.contains("admitted")
    );
    assert_eq!(w[0].objects[0].container.as_deref(), Some("web"));
    // every restricted-only finding is a warning; no baseline finding is repeated as one
    assert!(pss
        .iter()
        .filter(|f| f.check.starts_with("pod-security/restricted/"))
        .all(|f| f.severity == Severity::Warning));
    assert_eq!(
        pss.iter()
            .filter(|f| f.check == "pod-security/baseline/privileged")
            .count(),
        1
    );
}

#[test]
fn a_keda_scaled_object_counts_like_an_hpa() {
    // the issuer Deployment leaves replicas to its autoscaler: KEDA's minReplicaCount 2
    let text = fixture("rollout-sessions-and-pdb").replace("  replicas: 2\n", "")
        + "---\napiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: issuer, namespace: demo}\nspec:\n  scaleTargetRef: {name: issuer}\n  minReplicaCount: 2\n  maxReplicaCount: 4\n  triggers: [{type: cpu, metricType: Utilization, metadata: {value: \"70\"}}]\n";
    let r = run_text(&text, &Options::default());
    assert!(!r.summary.ignored_kinds.contains_key("ScaledObject"));
    let s = errors(&r, "rollout/per-process-sessions");
    assert!(
        s.len() == 1 && s[0].contains("2 replicas") && s[0].contains("up to 4"),
        "{:#?}",
        r.findings
    );
    assert_eq!(errors(&r, "rollout/pdb-blocks-drain").len(), 1); // minAvailable 2 of 2
}

#[test]
fn a_platform_service_of_the_scenario_resolves_and_its_egress_is_judged() {
    // the OpenTelemetry Collector (verify.platformServices): resolves, then default-deny blocks it
    let app = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app, namespace: demo}\nspec:\n  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: a}}\n    spec:\n      containers:\n        - name: a\n          image: r.example/a:1\n          env: [{name: OTEL_EXPORTER_OTLP_ENDPOINT, value: \"http://opentelemetry-collector.monitoring.svc:4318\"}]\n";
    let deny = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: demo}\nspec: {podSelector: {}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}], ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]}]}\n";
    let r = run_text(app, &Options::default());
    let call = r
        .calls
        .iter()
        .find(|c| c.source == "env OTEL_EXPORTER_OTLP_ENDPOINT")
        .expect("the call is derived");
    assert!(
        call.ok && call.resolves_to == "Service monitoring/opentelemetry-collector",
        "{call:#?}"
    );
    let r = run_text(&format!("{app}{deny}"), &Options::default());
    assert!(
        errors(&r, "call-path/egress")
            .iter()
            .any(|m| m.contains("opentelemetry-collector")),
        "{:#?}",
        r.findings
    );
    let allow = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: otel, namespace: demo}\nspec: {podSelector: {matchLabels: {app: a}}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}, podSelector: {matchLabels: {app.kubernetes.io/name: opentelemetry-collector}}}], ports: [{protocol: TCP, port: 4318}]}]}\n";
    let r = run_text(&format!("{app}{deny}{allow}"), &Options::default());
    assert!(
        errors(&r, "call-path/egress").is_empty(),
        "{:#?}",
        r.findings
    );
}
