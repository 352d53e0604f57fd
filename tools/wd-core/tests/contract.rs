//! The wd/v1 reading rule: unknown fields are accepted and ignored (v1 may gain optional
//! fields); another apiVersion or kind is refused with exit 2 and one line.

use serde_json::json;
use wd_core::docs::{parse, render_plan::RenderPlan, secret_plan::SecretPlan};
use wd_core::Exit;

fn plan() -> serde_json::Value {
    json!({"apiVersion": "wd/v1", "kind": "SecretPlan", "scenario": "waltid", "kvMount": "secret",
        "secrets": [{"name": "a", "description": "d", "vaultPath": "waltid/a", "vaultKey": "k",
            "k8sSecret": "s", "k8sKey": "k", "env": null, "consumers": [],
            "policy": {"format": "random", "length": 16, "charset": "hex", "why": "w"},
            "restartOnRotate": [], "runbook": "r"}]})
}

#[test]
fn a_v1_document_with_fields_this_release_does_not_know_is_read() {
    let mut v = plan();
    v["addedLater"] = json!({"any": "thing"});
    v["secrets"][0]["rotationHint"] = json!("monthly");
    v["secrets"][0]["policy"]["entropyBits"] = json!(64);
    let p: SecretPlan = parse(&v.to_string(), "plan.json").unwrap();
    assert_eq!(p.secrets[0].name, "a");
}

#[test]
fn another_api_version_is_refused_with_exit_2_in_one_line() {
    let mut v = plan();
    v["apiVersion"] = json!("wd/v2");
    let e = parse::<SecretPlan>(&v.to_string(), "plan.json").unwrap_err();
    assert_eq!(e.exit, Exit::Usage);
    assert_eq!(
        e.message,
        "plan.json: apiVersion is \"wd/v2\", expected \"wd/v1\"; pipe a SecretPlan document from a wd tool of this release"
    );
    let e = parse::<RenderPlan>(&plan().to_string(), "plan.json").unwrap_err();
    assert_eq!(e.exit, Exit::Usage);
    assert!(e
        .message
        .contains("kind is \"SecretPlan\", expected \"RenderPlan\""));
}

#[test]
fn no_published_schema_forbids_additional_properties() {
    for (kind, schema) in wd_core::docs::all_schemas() {
        assert!(
            !schema
                .to_string()
                .contains("\"additionalProperties\":false"),
            "{kind}: v1 readers must accept new optional fields"
        );
    }
}

#[test]
fn enumerated_fields_refuse_values_outside_their_enum() {
    let rp = json!({"apiVersion": "wd/v1", "kind": "RenderPlan", "scenario": "waltid", "flavor": "k8s",
        "target": "local", "outDir": "out", "inputs": [], "files": [], "urls": [], "secretPlan": "s",
        "pendingSecrets": []});
    let ok: RenderPlan = parse(&rp.to_string(), "rp.json").unwrap();
    assert_eq!(
        (ok.flavor, ok.target),
        (
            wd_core::docs::render_plan::Flavor::K8s,
            wd_core::docs::render_plan::DeployTarget::Local
        )
    );
    for (field, bad) in [("flavor", "helm"), ("target", "dev")] {
        let mut v = rp.clone();
        v[field] = json!(bad);
        let e = parse::<RenderPlan>(&v.to_string(), "rp.json").unwrap_err();
        assert_eq!(e.exit, Exit::Usage);
        assert!(
            e.message.contains(&format!("unknown variant `{bad}`")),
            "{}",
            e.message
        );
    }
    let origin = |o: &str| {
        serde_json::from_value::<wd_core::docs::inventory::EnvVar>(json!({"name": "X", "raw": null,
            "origin": o, "references": [], "value": null, "redacted": false, "secret": null,
            "inlineSecretDefault": false}))
    };
    assert!(origin("environment").is_ok() && origin("env_file:.env").is_ok());
    assert!(origin("env_file:").is_err() && origin("shell").is_err());
    let finding = |s: &str| {
        serde_json::from_value::<wd_core::docs::inventory::Finding>(
            json!({"code": "c", "severity": s, "service": null, "message": "m"}),
        )
    };
    assert!(finding("warning").is_ok() && finding("fatal").is_err());
}
