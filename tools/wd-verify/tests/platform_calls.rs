//! The scenario's platform Services beyond a call target (config/scenarios/waltid.yaml
//! `verify.platformServices`, Vault): the calls their own pods make into the manifests while a
//! kind exists (`calls`), the calls to them whose URL is inside a mounted Secret's value
//! (`secretCallers`), and a URL key that counts in one file only (`fileUrlKeys`). One fixture
//! (tests/fixtures/vault-platform-calls) holds the three Vault calls, each allowed by one
//! NetworkPolicy behind default-deny; each test takes one piece away.

use std::path::{Path, PathBuf};
use std::process::Command;
use wd_core::docs::preflight::{CallPath, PreflightReport, Severity};
use wd_core::scenario::{PlatformService, VerifyRules};
use wd_verify::{model, Options};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rules() -> VerifyRules {
    wd_core::scenario::read_verify_rules(&root().join("config/scenarios/waltid.yaml")).unwrap()
}

/// Options as the CLI builds them: the rules' planned secrets resolved from config/secrets.yaml.
fn opts(strict: bool) -> Options {
    Options {
        secret_refs: wd_verify::secret_refs(&rules(), &root().join("config")).unwrap(),
        strict,
        ..Default::default()
    }
}

fn fixture() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/vault-platform-calls/manifests.yaml"),
    )
    .unwrap()
}

/// The fixture without the documents whose metadata names `name`.
fn without(text: &str, name: &str) -> String {
    let needle = format!("metadata: {{name: {name}, ");
    let docs: Vec<&str> = text
        .split("\n---\n")
        .filter(|d| !d.contains(&needle))
        .collect();
    assert_eq!(
        docs.len() + 1,
        text.split("\n---\n").count(),
        "{name} is one document"
    );
    docs.join("\n---\n")
}

fn run(text: &str, rules: &VerifyRules, opts: &Options) -> PreflightReport {
    let objs = model::parse_manifests(text, "fixture", "default").unwrap();
    wd_verify::verify(objs, "waltid", rules, opts, None, None)
}

/// Call-path findings (references, images, Pod Security of the small fixture are not the point).
fn call_findings(r: &PreflightReport, sev: Severity) -> Vec<String> {
    r.findings
        .iter()
        .filter(|f| f.severity == sev && f.check.starts_with("call-path/"))
        .map(|f| format!("{}: {}", f.check, f.message))
        .collect()
}

/// No derived call starts at an object whose reference begins with `from`.
fn assert_no_call_from(r: &PreflightReport, from: &str) {
    assert!(
        !r.calls.iter().any(|c| c.from.starts_with(from)),
        "{:#?}",
        r.calls
    );
}

/// Exactly one call-path warning, containing every one of `words`.
fn assert_one_warning(r: &PreflightReport, words: &[&str]) {
    let w = call_findings(r, Severity::Warning);
    assert!(
        w.len() == 1 && words.iter().all(|x| w[0].contains(x)),
        "{w:#?}"
    );
}

/// The scenario's platform-service rule for Vault, to take a piece of it away.
fn vault_rule(rules: &mut VerifyRules) -> &mut PlatformService {
    rules
        .platform_services
        .iter_mut()
        .find(|p| p.service == "vault")
        .expect("config/scenarios/waltid.yaml verify.platformServices has vault")
}

fn vault_calls(r: &PreflightReport) -> Vec<&CallPath> {
    r.calls
        .iter()
        .filter(|c| {
            c.from.starts_with("PlatformService/vault/") || c.resolves_to == "Service vault/vault"
        })
        .collect()
}

#[test]
fn the_three_vault_calls_are_derived_allowed_and_use_every_vault_rule() {
    let r = run(&fixture(), &rules(), &opts(true));
    // --strict: an allowed flow no call uses would be an error here
    assert!(
        call_findings(&r, Severity::Error).is_empty(),
        "{:#?}",
        r.findings
    );
    assert!(
        call_findings(&r, Severity::Warning).is_empty(),
        "{:#?}",
        r.findings
    );
    let calls: Vec<(&str, &str, &str, bool)> = vault_calls(&r)
        .iter()
        .map(|c| (c.from.as_str(), c.to.as_str(), c.resolves_to.as_str(), c.ok))
        .collect();
    assert_eq!(
        calls,
        vec![
            (
                "Deployment/demo/wallet [wallet]",
                "http://vault.vault.svc:8200/v1/transit",
                "Service vault/vault",
                true
            ),
            (
                "PlatformService/vault/vault",
                "pg-rw.demo.svc:5432",
                "Service demo/pg-rw",
                true
            ),
            (
                "Deployment/demo/issuer [issuer]",
                "vault.vault.svc:8200",
                "Service vault/vault",
                true
            ),
        ],
        "{:#?}",
        r.calls
    );
    let sources: Vec<&str> = vault_calls(&r).iter().map(|c| c.source.as_str()).collect();
    assert_eq!(
        sources[0],
        "ConfigMap wallet-config: registration-defaults.conf server"
    );
    assert!(
        sources[1].starts_with("VaultDynamicSecret wallet-db (Vault's database engine"),
        "{}",
        sources[1]
    );
    assert!(
        sources[2].starts_with("Secret waltid-issuer-transit key issuerKey (issuer-transit-key), volume issuer-transit of Deployment/demo/app"),
        "{}",
        sources[2]
    );
    // the condition's kind is read, not counted as ignored
    assert!(
        r.summary.ignored_kinds.is_empty(),
        "{:?}",
        r.summary.ignored_kinds
    );
}

#[test]
fn removing_each_network_policy_blocks_exactly_its_call() {
    for (policy, check, words) in [
        (
            "pg-from-vault",
            "call-path/ingress",
            [
                "PlatformService/vault/vault calls pg-rw.demo.svc:5432",
                "Cluster/demo/pg",
            ],
        ),
        (
            "wallet-to-vault",
            "call-path/egress",
            [
                "Deployment/demo/wallet calls http://vault.vault.svc:8200/v1/transit",
                "PlatformService/vault/vault:8200",
            ],
        ),
        (
            "issuer-to-vault",
            "call-path/egress",
            [
                "Deployment/demo/issuer calls vault.vault.svc:8200",
                "PlatformService/vault/vault:8200",
            ],
        ),
    ] {
        let r = run(&without(&fixture(), policy), &rules(), &opts(true));
        let errs = call_findings(&r, Severity::Error);
        assert_eq!(errs.len(), 1, "without {policy}: {errs:#?}");
        assert!(
            errs[0].starts_with(&format!("{check}: ")) && words.iter().all(|w| errs[0].contains(w)),
            "without {policy}: {}",
            errs[0]
        );
        assert!(!r.ok);
    }
}

#[test]
fn without_its_condition_a_vault_call_is_not_made_and_its_rule_is_unused() {
    // 1. no VaultDynamicSecret: the engine is not in use, so pg-from-vault opens a flow for nothing
    let r = run(&without(&fixture(), "wallet-db"), &rules(), &opts(false));
    assert_no_call_from(&r, "PlatformService/");
    assert_one_warning(
        &r,
        &[
            "NetworkPolicy pg-from-vault",
            "PlatformService/vault/vault → Cluster/demo/pg",
        ],
    );
    // 2. `server` counts in registration-defaults.conf only
    let r = run(
        &fixture().replace("  registration-defaults.conf: |", "  other.conf: |"),
        &rules(),
        &opts(false),
    );
    assert_no_call_from(&r, "Deployment/demo/wallet");
    assert_one_warning(&r, &["NetworkPolicy wallet-to-vault"]);
    // 3. the app mounts only issuerDid, or declares the volume without mounting it: no TSE key,
    // no issuer call
    for text in [
        fixture().replace("items: [{key: issuerKey, path: issuerKey}, ", "items: ["),
        fixture().replace(
            "          volumeMounts: [{name: issuer-transit, mountPath: /issuer-transit}]\n",
            "",
        ),
    ] {
        let r = run(&text, &rules(), &opts(false));
        assert_no_call_from(&r, "Deployment/demo/issuer");
        assert_one_warning(&r, &["NetworkPolicy issuer-to-vault"]);
    }
}

#[test]
fn a_secret_key_in_env_or_a_whole_secret_counts_as_mounted() {
    let volume = "      volumes:\n        - {name: issuer-transit, secret: {secretName: waltid-issuer-transit, items: [{key: issuerKey, path: issuerKey}, {key: issuerDid, path: issuerDid}]}}\n";
    let mount = "          volumeMounts: [{name: issuer-transit, mountPath: /issuer-transit}]\n";
    for (how, env) in [
        ("env ISSUER_KEY", "          env: [{name: ISSUER_KEY, valueFrom: {secretKeyRef: {name: waltid-issuer-transit, key: issuerKey}}}]\n"),
        ("envFrom of container config", "          envFrom: [{secretRef: {name: waltid-issuer-transit}}]\n"),
    ] {
        let text = fixture().replace(volume, "").replace(mount, env);
        let r = run(&text, &rules(), &opts(true));
        let issuer: Vec<_> = r.calls.iter().filter(|c| c.from.starts_with("Deployment/demo/issuer")).collect();
        assert!(
            issuer.len() == 1 && issuer[0].ok && issuer[0].source.contains(&format!("{how} of Deployment/demo/app")),
            "{how}: {issuer:#?}"
        );
        assert!(call_findings(&r, Severity::Error).is_empty(), "{how}: {:#?}", r.findings);
    }
    // a volume of the whole Secret (no items) carries every key
    let text = fixture().replace(
        "secret: {secretName: waltid-issuer-transit, items: [{key: issuerKey, path: issuerKey}, {key: issuerDid, path: issuerDid}]}",
        "secret: {secretName: waltid-issuer-transit}",
    );
    let r = run(&text, &rules(), &opts(true));
    assert!(
        r.calls
            .iter()
            .any(|c| c.from.starts_with("Deployment/demo/issuer") && c.ok),
        "{:#?}",
        r.calls
    );
}

#[test]
fn without_callers_the_pod_that_mounts_the_secret_makes_the_call() {
    let mut rules = rules();
    let vault = vault_rule(&mut rules);
    vault.secret_callers[0].callers.clear();
    let r = run(&fixture(), &rules, &opts(false));
    let app: Vec<_> = vault_calls(&r)
        .into_iter()
        .filter(|c| c.source.starts_with("Secret "))
        .collect();
    assert!(
        app.len() == 1
            && app[0].from == "Deployment/demo/app"
            && app[0].to == "vault.vault.svc:8200",
        "{app:#?}"
    );
    // default-deny blocks the app; the issuer's rule is now unused
    let e = call_findings(&r, Severity::Error);
    assert!(
        e.len() == 1
            && e[0].starts_with("call-path/egress: Deployment/demo/app calls vault.vault.svc:8200"),
        "{e:#?}"
    );
    assert!(call_findings(&r, Severity::Warning)
        .iter()
        .any(|m| m.contains("NetworkPolicy issuer-to-vault")));
}

#[test]
fn an_unresolved_planned_secret_is_a_warning_not_a_silent_pass_and_the_plan_resolves_it() {
    // a library caller that resolved nothing: the rule says it was not applied
    let r = run(&fixture(), &rules(), &Options::default());
    let w: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.check == "call-path/rule")
        .collect();
    assert!(
        w.len() == 1
            && w[0].severity == Severity::Warning
            && w[0].message.contains("\"issuer-transit-key\""),
        "{w:#?}"
    );
    // ...and the issuer's rule is then unused, as it would be in the cluster if nothing called it
    assert!(call_findings(&r, Severity::Warning)
        .iter()
        .any(|m| m.contains("issuer-to-vault")));
    // the SecretPlan (wd-render's) names the same Secret and key
    let plan: wd_core::docs::secret_plan::SecretPlan = serde_json::from_value(serde_json::json!({
        "apiVersion": "wd/v1", "kind": "SecretPlan", "scenario": "waltid", "kvMount": "secret",
        "secrets": [{"name": "issuer-transit-key", "description": "", "vaultPath": "issuer/transit", "vaultKey": "issuerKey",
            "k8sSecret": "waltid-issuer-transit", "k8sKey": "issuerKey", "env": null, "consumers": ["verifiably-go"],
            "policy": {"format": "external", "why": ""}, "restartOnRotate": [], "runbook": ""}]
    }))
    .unwrap();
    let objs = model::parse_manifests(&fixture(), "fixture", "default").unwrap();
    let r = wd_verify::verify(
        objs,
        "waltid",
        &rules(),
        &Options::default(),
        Some(&plan),
        None,
    );
    assert!(
        !r.findings.iter().any(|f| f.check == "call-path/rule"),
        "{:#?}",
        r.findings
    );
    assert!(r
        .calls
        .iter()
        .any(|c| c.from.starts_with("Deployment/demo/issuer") && c.ok));
}

#[test]
fn a_platform_call_to_a_service_the_manifests_lack_is_an_error_naming_the_rule() {
    // a rule without `of`: one Service by name, here absent
    let mut rules = rules();
    let vault = vault_rule(&mut rules);
    vault.calls = serde_norway::from_str(
        "- when: {kind: VaultDynamicSecret, apiGroup: generators.external-secrets.io}\n  to: {service: vault-db, port: 5432}\n  why: the engine's own database\n",
    )
    .unwrap();
    let r = run(&fixture(), &rules, &opts(false));
    let e = call_findings(&r, Severity::Error);
    assert!(
        e.len() == 1
            && e[0].starts_with("call-path/ingress-backend: VaultDynamicSecret wallet-db (the engine's own database) routes to Service demo/vault-db"),
        "{e:#?}"
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.check == "call-path/ingress-backend")
        .unwrap();
    assert!(f.fix.contains("scenario's verify rule"), "{}", f.fix);
}

#[test]
fn the_cli_refuses_a_rule_naming_a_secret_config_secrets_yaml_lacks() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("scenarios")).unwrap();
    std::fs::copy(
        root().join("config/secrets.yaml"),
        dir.path().join("secrets.yaml"),
    )
    .unwrap();
    let scenario = std::fs::read_to_string(root().join("config/scenarios/waltid.yaml"))
        .unwrap()
        .replace("secret: issuer-transit-key", "secret: issuer-transit-typo");
    std::fs::write(dir.path().join("scenarios/waltid.yaml"), scenario).unwrap();
    let manifests = dir.path().join("m.yaml");
    std::fs::write(&manifests, fixture()).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_wd-verify"))
        .arg("--config-dir")
        .arg(dir.path())
        .arg("--manifests")
        .arg(&manifests)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(o.stdout.is_empty());
    assert!(
        err.lines().count() == 1
            && err.contains("waltid.yaml: verify.platformServices secretCallers")
            && err.contains("no secret named \"issuer-transit-typo\""),
        "{err}"
    );
    // the real scenario passes: the fixture's calls all work
    let o = Command::new(env!("CARGO_BIN_EXE_wd-verify"))
        .current_dir(root())
        .args(["--strict", "--format", "json", "--manifests"])
        .arg(&manifests)
        .output()
        .unwrap();
    let report: PreflightReport =
        wd_core::docs::parse(&String::from_utf8_lossy(&o.stdout), "stdout").unwrap();
    assert!(
        call_findings(&report, Severity::Error).is_empty(),
        "{:#?}",
        report.findings
    );
    assert_eq!(vault_calls(&report).len(), 3);
}
