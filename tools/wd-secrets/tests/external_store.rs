//! External secret store (issue 16 option 6) on TWO real OpenBao servers: one plays the Vault
//! outside the cluster (static secrets, survives `reset`), the other the cluster's own (only
//! what it issues). Seed and check each with --store; the cluster's one holds no static secret;
//! a "reset" (a brand-new cluster Vault) finds every static secret as it was.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wd_testsupport::cli::{json, vault_command, vault_json_run};
use wd_testsupport::openbao::{dev, http, kv_values};

fn rendered_plan(dir: &Path) -> PathBuf {
    wd_testsupport::render_scenario(Path::new(env!("CARGO_BIN_EXE_wd-secrets")), "waltid", dir);
    dir.join("secrets/secret-plan.json")
}

fn run(addr: &str, args: &[&str]) -> (Option<i32>, Value) {
    let o = vault_json_run(env!("CARGO_BIN_EXE_wd-secrets"), addr, "root", args);
    (o.status.code(), json(&o))
}

fn items(report: &Value) -> BTreeMap<String, String> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["secret"].as_str().unwrap().to_string(),
                i["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// What `wd-transit token issuer --plan` writes into the cluster's Vault (not under test here).
fn issue_transit_values(addr: &str) {
    let (code, v) = http(
        "POST",
        addr,
        "secret/data/waltid/issuer/transit",
        "root",
        Some(r#"{"data":{"issuerKey":"{\"type\":\"tse\"}","issuerDid":"did:jwk:test"}}"#),
    );
    assert_eq!(code, 200, "{v}");
}

#[test]
fn static_secrets_live_outside_and_survive_a_new_cluster_vault() {
    let external = dev();
    let mut in_cluster = dev();
    let dir = tempfile::tempdir().unwrap();
    let plan_path = rendered_plan(dir.path());
    let plan_file = plan_path.to_str().unwrap();
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    let ext = ["--store", "external"];
    let inc = ["--store", "in-cluster"];

    // the plan says where each secret lives and which survive a reset
    let (code, placed) = run(
        &external.addr,
        &[&["plan", "--plan", plan_file][..], &ext].concat(),
    );
    assert_eq!(code, Some(0));
    let homes: BTreeMap<String, (String, bool)> = placed["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                (
                    s["home"].as_str().unwrap().to_string(),
                    s["survivesReset"].as_bool().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(homes.len(), plan["secrets"].as_array().unwrap().len());
    assert_eq!(homes["wallet-token-key"], ("external".into(), true));
    assert_eq!(homes["postgres-app-password"], ("external".into(), true));
    assert_eq!(homes["issuer-transit-key"], ("in-cluster".into(), false));
    assert_eq!(
        homes["postgres-vault-password"],
        ("in-cluster".into(), false)
    );
    let statics: Vec<&String> = homes
        .iter()
        .filter(|(_, (h, _))| h == "external")
        .map(|(n, _)| n)
        .collect();
    let issued: Vec<&String> = homes
        .iter()
        .filter(|(_, (h, _))| h == "in-cluster")
        .map(|(n, _)| n)
        .collect();
    assert!(
        statics.len() >= 10 && issued.len() >= 3,
        "{statics:?} {issued:?}"
    );

    // seed: the external store gets every static secret, the cluster's Vault only its own
    let (code, r) = run(
        &external.addr,
        &[&["seed", "--plan", plan_file][..], &ext].concat(),
    );
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(items(&r).keys().collect::<Vec<_>>(), statics);
    assert!(items(&r).values().all(|s| s == "created"));
    issue_transit_values(&in_cluster.addr);
    let (code, r) = run(
        &in_cluster.addr,
        &[&["seed", "--plan", plan_file][..], &inc].concat(),
    );
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(items(&r).keys().collect::<Vec<_>>(), issued);

    // check finds each where it lives; the cluster's Vault holds none of the static secrets
    let check = |addr: &str, store: &[&str]| {
        run(
            addr,
            &[
                &["check", "--plan", plan_file, "--cluster", "off"][..],
                store,
            ]
            .concat(),
        )
    };
    let (code, r) = check(&external.addr, &ext);
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(items(&r).len(), statics.len());
    let (code, r) = check(&in_cluster.addr, &inc);
    assert_eq!(code, Some(0), "{r}");
    let ext_values = kv_values(&external.addr, "root", &plan);
    let inc_values = kv_values(&in_cluster.addr, "root", &plan);
    assert_eq!(ext_values.keys().collect::<Vec<_>>(), statics);
    assert!(
        inc_values.keys().all(|k| issued.contains(&k)),
        "{:?}",
        inc_values.keys()
    );
    // each Vault alone is incomplete: the one-Vault check of either reports the other's secrets
    let (code, _) = check(&external.addr, &[]);
    assert_eq!(code, Some(1));

    // a static secret left in the cluster's Vault is reported (a stale second copy)
    let (c, _) = http(
        "POST",
        &in_cluster.addr,
        "secret/data/waltid/wallet/auth",
        "root",
        Some(r#"{"data":{"tokenKey":"stale"}}"#),
    );
    assert_eq!(c, 200);
    let (code, r) = check(&in_cluster.addr, &inc);
    assert_eq!(code, Some(1));
    let problems: Vec<&str> = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["secret"].as_str().unwrap())
        .collect();
    assert_eq!(problems, ["wallet-token-key"]);

    // reset: the cluster (and its Vault) is destroyed; `up` starts a new one and seeds again
    drop(std::mem::replace(&mut in_cluster, dev()));
    issue_transit_values(&in_cluster.addr);
    let (code, r) = run(
        &external.addr,
        &[&["seed", "--plan", plan_file][..], &ext].concat(),
    );
    assert_eq!(code, Some(0));
    assert!(items(&r).values().all(|s| s == "kept"), "{r}");
    let (code, _) = run(
        &in_cluster.addr,
        &[&["seed", "--plan", plan_file][..], &inc].concat(),
    );
    assert_eq!(code, Some(0));
    assert_eq!(
        kv_values(&external.addr, "root", &plan),
        ext_values,
        "every static secret as it was"
    );
    assert_ne!(
        kv_values(&in_cluster.addr, "root", &plan)["postgres-vault-password"],
        inc_values["postgres-vault-password"],
        "the cluster's own secrets are new"
    );

    // rotate acts only where the secret lives
    let o = vault_command(env!("CARGO_BIN_EXE_wd-secrets"), &in_cluster.addr, "root")
        .args([
            "rotate",
            "wallet-token-key",
            "--plan",
            plan_file,
            "--store",
            "in-cluster",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("home is the external store"));
    let (code, r) = run(
        &external.addr,
        &[
            &["rotate", "wallet-token-key", "--plan", plan_file][..],
            &ext,
        ]
        .concat(),
    );
    assert_eq!(code, Some(0), "{r}");

    // policies: on the external store ESO reads only the static paths, no transit signer there
    let (code, pol) = run(
        &external.addr,
        &[&["policies", "--plan", plan_file][..], &ext].concat(),
    );
    assert_eq!(code, Some(0));
    let names: Vec<&str> = pol["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["waltid-eso-read", "waltid-secrets-seed"]);
    let eso = pol["policies"][0]["hcl"].as_str().unwrap();
    assert!(
        eso.contains("secret/data/waltid/wallet/auth")
            && !eso.contains("issuer/transit")
            && !eso.contains("postgres/vault")
    );
    let (_, pol) = run(
        &in_cluster.addr,
        &[&["policies", "--plan", plan_file][..], &inc].concat(),
    );
    let eso = pol["policies"][0]["hcl"].as_str().unwrap();
    assert!(eso.contains("issuer/transit") && !eso.contains("wallet/auth"));
}
