//! wd-secrets against a REAL OpenBao (dev server and a 3-node raft cluster), as users run it.

use wd_testsupport::openbao;

use openbao::{dev, http, kv_data, kv_values, raft_node};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use wd_testsupport::cli::{self, clean_command, vault_command};

/// The binary under test: this crate's, or $WD_SECRETS_BIN (to run these tests against another
/// build, e.g. to show a regression test fails on the code before a fix).
fn bin() -> PathBuf {
    std::env::var_os("WD_SECRETS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_wd-secrets")))
}

/// out/secrets/secret-plan.json of the reference stack, rendered by the real pipe.
fn rendered_plan(dir: &Path) -> PathBuf {
    wd_testsupport::render_scenario(Path::new(env!("CARGO_BIN_EXE_wd-secrets")), "waltid", dir);
    // Without the secrets of policy `external`: seed never generates them (another tool or a
    // person writes them first: the issuer's Transit key reference comes from `wd-transit token
    // issuer --plan`, which k8s-deploy.sh runs before the seed); these tests are about the
    // generated ones.
    let path = dir.join("secrets/secret-plan.json");
    let mut plan: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    plan["secrets"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["policy"]["format"] != "external");
    std::fs::write(&path, plan.to_string()).unwrap();
    path
}

/// A dev OpenBao with every secret of the rendered plan seeded: (server, work dir, plan, transcript).
fn seeded() -> (openbao::Server, tempfile::TempDir, PathBuf, Transcript) {
    let bao = dev();
    let dir = tempfile::tempdir().unwrap();
    let plan = rendered_plan(dir.path());
    let mut t = Transcript::default();
    let o = t.run(
        &bao.addr,
        "root",
        &["seed", "--plan", plan.to_str().unwrap()],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    (bao, dir, plan, t)
}

/// Every output a test captured, to prove no secret value leaks.
#[derive(Default)]
struct Transcript(String);

impl Transcript {
    fn run(&mut self, addr: &str, token: &str, args: &[&str]) -> Output {
        self.run_env(args, &[("VAULT_ADDR", addr), ("VAULT_TOKEN", token)])
    }
    fn run_env(&mut self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = clean_command(bin());
        c.args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        self.0.push_str(&String::from_utf8_lossy(&o.stdout));
        self.0.push_str(&String::from_utf8_lossy(&o.stderr));
        o
    }
}

fn json(o: &Output) -> Value {
    assert!(o.status.code().is_some());
    cli::json(o)
}

fn statuses(report: &Value) -> Vec<(String, String, u64)> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["secret"].as_str().unwrap().to_string(),
                i["status"].as_str().unwrap().to_string(),
                i["version"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn plan_seed_check_rotate_on_a_real_openbao() {
    let bao = dev();
    let dir = tempfile::tempdir().unwrap();
    let plan_path = rendered_plan(dir.path());
    let plan_file = plan_path.to_str().unwrap();
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    let mut t = Transcript::default();

    // plan: the SecretPlan as wd-render wrote it
    let p = json(&t.run(&bao.addr, "root", &["plan", "--plan", plan_file]));
    assert_eq!(p["kind"], "SecretPlan");
    assert_eq!(
        p["secrets"].as_array().unwrap().len(),
        plan["secrets"].as_array().unwrap().len()
    );

    // seed creates every key ...
    let o = t.run(&bao.addr, "root", &["seed", "--plan", plan_file]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let first = statuses(&json(&o));
    assert_eq!(first.len(), plan["secrets"].as_array().unwrap().len());
    assert!(
        first.iter().all(|(_, s, v)| s == "created" && *v == 1),
        "{first:?}"
    );
    // ... with the policy's shape
    let d = kv_data(&bao.addr, "root", "secret/data/waltid/wallet/auth");
    assert_eq!(d["encryptionKey"].as_str().unwrap().len(), 16);
    assert_eq!(d["signKey"].as_str().unwrap().len(), 16);
    assert!(d["tokenKey"].as_str().unwrap().len() >= 32);
    let keys = kv_data(&bao.addr, "root", "secret/data/waltid/verifier/keys");
    assert!(keys["requestSigningKey"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    let ci = kv_data(&bao.addr, "root", "secret/data/waltid/issuer/keys");
    let ci: Value = serde_json::from_str(ci["ciTokenKey"].as_str().unwrap()).unwrap();
    assert_eq!(ci["type"], "jwk");

    // a second seed changes nothing: same versions, same values
    let before = kv_values(&bao.addr, "root", &plan);
    let second = statuses(&json(&t.run(
        &bao.addr,
        "root",
        &["seed", "--plan", plan_file],
    )));
    assert!(
        second.iter().all(|(_, s, v)| s == "kept" && *v == 1),
        "{second:?}"
    );
    assert_eq!(kv_values(&bao.addr, "root", &plan), before);

    // check passes, then fails naming the key after it is deleted
    let o = t.run(
        &bao.addr,
        "root",
        &["check", "--plan", plan_file, "--cluster", "off"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (code, _) = http(
        "DELETE",
        &bao.addr,
        "secret/data/waltid/app/demo",
        "root",
        None,
    );
    assert_eq!(code, 204);
    let o = t.run(
        &bao.addr,
        "root",
        &["check", "--plan", plan_file, "--cluster", "off"],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(err.lines().count(), 1, "one line per problem: {err}");
    assert!(err.contains("wd-secrets: check: demo-account-password password: secret/waltid/app/demo has no value for password in Vault; fix: wd-secrets seed"), "{err}");
    let r = json(&o);
    assert_eq!(r["problems"][0]["secret"], "demo-account-password");
    // seed repairs it (a deleted latest version is written again with check-and-set)
    let o = t.run(&bao.addr, "root", &["seed", "--plan", plan_file]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        t.run(
            &bao.addr,
            "root",
            &["check", "--plan", plan_file, "--cluster", "off"]
        )
        .status
        .code(),
        Some(0)
    );

    // rotate writes version 2 and keeps version 1 readable
    let v1 = kv_data(&bao.addr, "root", "secret/data/waltid/wallet/auth");
    let old = v1["tokenKey"].as_str().unwrap().to_string();
    let r = json(&t.run(
        &bao.addr,
        "root",
        &["rotate", "wallet-token-key", "--plan", plan_file],
    ));
    assert_eq!(r["items"][0]["status"], "rotated");
    assert_eq!(r["items"][0]["version"], 2);
    assert_eq!(r["items"][0]["restart"], serde_json::json!(["walt-wallet"]));
    let v2 = kv_data(&bao.addr, "root", "secret/data/waltid/wallet/auth");
    assert_ne!(v2["tokenKey"].as_str().unwrap(), old);
    assert_eq!(
        v2["signKey"], v1["signKey"],
        "other keys of the path are kept"
    );
    let again = kv_data(
        &bao.addr,
        "root",
        "secret/data/waltid/wallet/auth?version=1",
    );
    assert_eq!(again["tokenKey"].as_str().unwrap(), old);
    let o = t.run(
        &bao.addr,
        "root",
        &["rotate", "no-such-secret", "--plan", plan_file],
    );
    assert_eq!(o.status.code(), Some(2));

    // a wrong token and a sealed server: exit 3, one clear line
    let o = t.run(&bao.addr, "not-the-token", &["check", "--plan", plan_file]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("refused the token (permission denied); check VAULT_TOKEN"));
    let (code, _) = http("PUT", &bao.addr, "sys/seal", "root", None);
    assert_eq!(code, 204);
    let o = t.run(&bao.addr, "root", &["seed", "--plan", plan_file]);
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        err.contains("is sealed; unseal it with `wd-secrets init`"),
        "{err}"
    );
    let o = t.run(
        &format!("http://127.0.0.1:{}", openbao::free_port()),
        "root",
        &["check", "--plan", plan_file],
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot reach Vault at"));

    // no secret value ever appeared in stdout or stderr
    let mut values: Vec<String> = before.into_values().collect();
    values.push(old);
    for v in values.iter().filter(|v| v.len() >= 8) {
        let probe = v.lines().nth(1).unwrap_or(v);
        assert!(
            !t.0.contains(probe),
            "a secret value leaked into the output"
        );
    }
}

#[test]
fn two_concurrent_seeds_write_each_key_once() {
    let bao = dev();
    let dir = tempfile::tempdir().unwrap();
    let plan_path = rendered_plan(dir.path());
    let spawn = || {
        vault_command(bin(), &bao.addr, "root")
            .args(["seed", "--plan", plan_path.to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(
        a.status.success() && b.status.success(),
        "{}{}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    let (ra, rb) = (statuses(&json(&a)), statuses(&json(&b)));
    for ((name, sa, _), (_, sb, _)) in ra.iter().zip(rb.iter()) {
        let created = [sa, sb].iter().filter(|s| s.as_str() == "created").count();
        assert_eq!(
            created, 1,
            "{name}: created by exactly one seed ({sa} / {sb})"
        );
    }
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    for s in plan["secrets"].as_array().unwrap() {
        let (_, m) = http(
            "GET",
            &bao.addr,
            &format!("secret/metadata/{}", s["vaultPath"].as_str().unwrap()),
            "root",
            None,
        );
        assert_eq!(
            m["data"]["current_version"], 1,
            "{} written once",
            s["vaultPath"]
        );
    }
}

#[test]
fn policies_limit_each_consumer() {
    let (bao, dir, plan_path, mut t) = seeded();
    let plan_file = plan_path.to_str().unwrap();
    http(
        "POST",
        &bao.addr,
        "sys/auth/kubernetes",
        "root",
        Some(r#"{"type":"kubernetes"}"#),
    );
    let hcl = dir.path().join("hcl");
    let o = t.run(
        &bao.addr,
        "root",
        &[
            "policies",
            "--plan",
            plan_file,
            "--apply",
            "--out",
            hcl.to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = json(&o);
    assert!(r["roles"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["status"] == "applied"));
    assert!(hcl.join("waltid-eso-read.hcl").is_file());
    let (_, role) = http(
        "GET",
        &bao.addr,
        "auth/kubernetes/role/waltid-issuer",
        "root",
        None,
    );
    assert_eq!(
        role["data"]["bound_service_account_names"],
        serde_json::json!(["waltid-walt-issuer"])
    );
    // transit keys for the signer policies
    http(
        "POST",
        &bao.addr,
        "sys/mounts/transit",
        "root",
        Some(r#"{"type":"transit"}"#),
    );
    for k in ["issuer", "wallet"] {
        http(
            "POST",
            &bao.addr,
            &format!("transit/keys/{k}"),
            "root",
            Some(r#"{"type":"ed25519"}"#),
        );
    }
    let token = |policy: &str| -> String {
        let (_, v) = http(
            "POST",
            &bao.addr,
            "auth/token/create",
            "root",
            Some(&format!(
                r#"{{"policies":["{policy}"],"no_default_policy":true}}"#
            )),
        );
        v["auth"]["client_token"].as_str().unwrap().to_string()
    };
    let eso = token("waltid-eso-read");
    assert_eq!(
        http(
            "GET",
            &bao.addr,
            "secret/data/waltid/wallet/auth",
            &eso,
            None
        )
        .0,
        200,
        "ESO reads a planned path"
    );
    assert_eq!(
        http(
            "POST",
            &bao.addr,
            "secret/data/waltid/wallet/auth",
            &eso,
            Some(r#"{"data":{"x":"y"}}"#)
        )
        .0,
        403,
        "ESO cannot write"
    );
    assert_eq!(
        http("GET", &bao.addr, "secret/data/other/path", &eso, None).0,
        403,
        "ESO reads nothing else"
    );
    let issuer = token("waltid-transit-issuer");
    let input = r#"{"input":"aGVsbG8="}"#;
    assert_eq!(
        http(
            "POST",
            &bao.addr,
            "transit/sign/issuer",
            &issuer,
            Some(input)
        )
        .0,
        200,
        "issuer signs with its key"
    );
    assert_eq!(
        http(
            "POST",
            &bao.addr,
            "transit/sign/wallet",
            &issuer,
            Some(input)
        )
        .0,
        403,
        "not with the wallet's"
    );
    assert_eq!(
        http(
            "POST",
            &bao.addr,
            "transit/keys/issuer/rotate",
            &issuer,
            None
        )
        .0,
        403,
        "cannot rotate"
    );
    assert_eq!(
        http(
            "GET",
            &bao.addr,
            "transit/export/signing-key/issuer",
            &issuer,
            None
        )
        .0,
        403,
        "cannot export"
    );
}

#[test]
fn init_unseals_and_joins_a_three_node_raft_cluster() {
    let nodes = [raft_node("n1"), raft_node("n2"), raft_node("n3")];
    let home = tempfile::tempdir().unwrap();
    let keys = home.path().join("wd/vault-init.json");
    let mut t = Transcript::default();
    let mut args = vec![
        "init".to_string(),
        "--key-shares".into(),
        "3".into(),
        "--key-threshold".into(),
        "2".into(),
        "--keys-file".into(),
        keys.display().to_string(),
    ];
    for n in &nodes {
        args.push("--node".into());
        args.push(n.addr.clone());
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = t.run_env(&argv, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = json(&o);
    assert_eq!(r["initializedNow"], true);
    assert!(
        r["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["sealed"] == false && n["initialized"] == true),
        "{r}"
    );
    assert_eq!(
        r["raftPeers"].as_array().unwrap().len(),
        3,
        "all three nodes are raft peers: {r}"
    );
    assert_eq!(r["secrets"], Value::Null, "no keys without --show-secrets");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&keys).unwrap()).unwrap();
    let root = saved["root_token"].as_str().unwrap().to_string();
    for k in saved["keys_base64"].as_array().unwrap() {
        assert!(!t.0.contains(k.as_str().unwrap()), "an unseal key leaked");
    }
    assert!(!t.0.contains(&root), "the root token leaked");
    // a restarted (sealed) node: re-running init only unseals
    assert_eq!(http("PUT", &nodes[2].addr, "sys/seal", &root, None).0, 204);
    let o = t.run_env(&argv, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = json(&o);
    assert_eq!(r["initializedNow"], false);
    assert_eq!(r["nodes"][0]["action"], "already unsealed");
    assert_eq!(r["nodes"][2]["action"], "unsealed");
    assert_eq!(r["nodes"][2]["sealed"], false);
    // --show-secrets is the only way to print them
    let o = t.run_env(&[&argv[..], &["--show-secrets"]].concat(), &[]);
    assert_eq!(json(&o)["secrets"]["rootToken"], root.as_str());
}

#[test]
fn check_reads_the_cluster_through_kubectl() {
    let (bao, dir, plan_path, mut t) = seeded();
    let plan_file = plan_path.to_str().unwrap();
    // a kubectl stand-in: the namespace exists; every ExternalSecret is Ready except
    // waltid-wallet-auth; every Secret has its keys except waltid-app-demo.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    let mut keys: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for s in plan["secrets"].as_array().unwrap() {
        let e = keys
            .entry(s["k8sSecret"].as_str().unwrap().to_string())
            .or_default();
        e.push(s["k8sKey"].as_str().unwrap().to_string());
        if let Some(st) = s["k8sStatic"].as_object() {
            e.extend(st.keys().cloned());
        }
    }
    let mut script = String::from("#!/bin/sh\nif [ \"$1\" = get ] && [ \"$2\" = namespace ]; then echo namespace/waltid; exit 0; fi\nkind=$4; name=$5\n");
    for (name, ks) in &keys {
        let ready = if name == "waltid-wallet-auth" {
            r#"{"type":"Ready","status":"False","message":"could not get secret data from provider"}"#
        } else {
            r#"{"type":"Ready","status":"True"}"#
        };
        let data: Vec<String> = ks
            .iter()
            .filter(|_| name != "waltid-app-demo")
            .map(|k| format!("\"{k}\":\"eA==\""))
            .collect();
        script.push_str(&format!(
            "if [ \"$kind\" = externalsecret ] && [ \"$name\" = {name} ]; then echo '{{\"status\":{{\"conditions\":[{ready}]}}}}'; exit 0; fi\nif [ \"$kind\" = secret ] && [ \"$name\" = {name} ]; then echo '{{\"data\":{{{}}}}}'; exit 0; fi\n",
            data.join(",")
        ));
    }
    script.push_str("echo 'Error from server (NotFound)' >&2; exit 1\n");
    std::fs::write(bin.join("kubectl"), script).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join("kubectl"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = t.run_env(
        &["check", "--plan", plan_file, "--cluster", "on"],
        &[
            ("VAULT_ADDR", &bao.addr),
            ("VAULT_TOKEN", "root"),
            ("PATH", &path),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let r = json(&o);
    assert_eq!(r["cluster"], "checked");
    let msgs: Vec<String> = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["message"].as_str().unwrap().to_string())
        .collect();
    assert!(msgs.iter().any(|m| m == "ExternalSecret waltid-wallet-auth is not synced: could not get secret data from provider"), "{msgs:?}");
    assert!(
        msgs.iter()
            .any(|m| m == "Secret waltid-app-demo has no key password"),
        "{msgs:?}"
    );
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    // no kubectl at all: auto skips the cluster half, on fails with exit 3
    let o = t.run_env(
        &["check", "--plan", plan_file],
        &[
            ("VAULT_ADDR", &bao.addr),
            ("VAULT_TOKEN", "root"),
            ("PATH", "/nonexistent"),
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(json(&o)["cluster"].as_str().unwrap().starts_with("skipped"));
    let o = t.run_env(
        &["check", "--plan", plan_file, "--cluster", "on"],
        &[
            ("VAULT_ADDR", &bao.addr),
            ("VAULT_TOKEN", "root"),
            ("PATH", "/nonexistent"),
        ],
    );
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn concurrent_first_seeds_on_fresh_servers_all_succeed_and_write_each_key_once() {
    // A KV mount nobody enabled yet (the dev server's secret/ exists from the start): the seeds
    // race to enable it, then write while the new KV v2 mount may still be upgrading.
    let dir = tempfile::tempdir().unwrap();
    let rendered = rendered_plan(dir.path());
    let mut plan: Value =
        serde_json::from_str(&std::fs::read_to_string(&rendered).unwrap()).unwrap();
    plan["kvMount"] = "kv".into();
    let plan_path = dir.path().join("plan-fresh-mount.json");
    std::fs::write(&plan_path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    let paths: std::collections::BTreeSet<String> = plan["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["vaultPath"].as_str().unwrap().to_string())
        .collect();
    for round in 0..5 {
        let bao = dev();
        let seeds: Vec<std::process::Child> = (0..3)
            .map(|_| {
                vault_command(bin(), &bao.addr, "root")
                    .args(["seed", "--plan", plan_path.to_str().unwrap()])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outs: Vec<Output> = seeds
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        for o in &outs {
            assert_eq!(
                o.status.code(),
                Some(0),
                "round {round}: a first-time seed failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let reports: Vec<Vec<(String, String, u64)>> =
            outs.iter().map(|o| statuses(&json(o))).collect();
        for (i, (name, _, _)) in reports[0].iter().enumerate() {
            let created = reports.iter().filter(|r| r[i].1 == "created").count();
            assert_eq!(
                created, 1,
                "round {round}: {name} created by exactly one seed"
            );
        }
        for p in &paths {
            let (_, m) = http("GET", &bao.addr, &format!("kv/metadata/{p}"), "root", None);
            assert_eq!(
                m["data"]["current_version"], 1,
                "round {round}: kv/{p} written once"
            );
        }
    }
}

#[test]
fn a_bad_plan_or_ca_is_exit_2_and_vault_is_not_touched() {
    let bao = dev();
    let dir = tempfile::tempdir().unwrap();
    let rendered = rendered_plan(dir.path());
    let good: Value = serde_json::from_str(&std::fs::read_to_string(&rendered).unwrap()).unwrap();
    let mut t = Transcript::default();
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit, &str); 6] = [
        (
            "empty kvMount",
            |p| p["kvMount"] = "".into(),
            "kvMount \"\" is empty",
        ),
        (
            "empty vaultPath",
            |p| p["secrets"][0]["vaultPath"] = "".into(),
            ".vaultPath: \"\" is empty",
        ),
        (
            "vaultPath with ../",
            |p| p["secrets"][0]["vaultPath"] = "waltid/../../../sys/policy/x".into(),
            ".vaultPath: \"waltid/../../../sys/policy/x\" has an empty, . or .. segment",
        ),
        (
            "empty vaultKey",
            |p| p["secrets"][0]["vaultKey"] = "".into(),
            ".vaultKey: is empty",
        ),
        (
            "length 0",
            |p| {
                let i = p["secrets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .position(|s| s["policy"]["format"] == "random")
                    .unwrap();
                p["secrets"][i]["policy"]["length"] = 0.into();
            },
            ".policy.length: 0 for a random value",
        ),
        (
            "unknown charset",
            |p| {
                let i = p["secrets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .position(|s| s["policy"]["format"] == "random")
                    .unwrap();
                p["secrets"][i]["policy"]["charset"] = "klingon".into();
            },
            ".policy.charset",
        ),
    ];
    for (what, edit, expect) in cases {
        let mut p = good.clone();
        edit(&mut p);
        let f = dir.path().join("bad-plan.json");
        std::fs::write(&f, serde_json::to_string_pretty(&p).unwrap()).unwrap();
        let plan_arg = ["--plan", f.to_str().unwrap()];
        for args in [vec!["seed"], vec!["check", "--cluster", "off"]] {
            let cmd = args[0];
            let o = t.run(&bao.addr, "root", &[&args[..], &plan_arg[..]].concat());
            let err = String::from_utf8_lossy(&o.stderr).to_string();
            assert_eq!(o.status.code(), Some(2), "{what} ({cmd}): {err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{what}: one line: {err}");
            assert!(
                err.contains("bad-plan.json") && err.contains(expect),
                "{what}: {expect:?} not in {err}"
            );
        }
    }
    // nothing was written: no path of the plan exists (the dev server's secret/ is empty)
    let (code, _) = http("LIST", &bao.addr, "secret/metadata/waltid", "root", None);
    assert_eq!(code, 404, "a refused plan wrote nothing");

    // a CA file that is not a PEM certificate: exit 2 naming it, not 3
    let ca = dir.path().join("garbage-ca.pem");
    std::fs::write(&ca, "this is not a certificate\n").unwrap();
    for addr in [bao.addr.clone(), bao.addr.replace("http://", "https://")] {
        let o = t.run_env(
            &[
                "check",
                "--plan",
                rendered.to_str().unwrap(),
                "--cluster",
                "off",
            ],
            &[
                ("VAULT_ADDR", &addr),
                ("VAULT_TOKEN", "root"),
                ("VAULT_CACERT", ca.to_str().unwrap()),
            ],
        );
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{addr}: {err}");
        assert!(
            err.contains("garbage-ca.pem: not a PEM certificate"),
            "{err}"
        );
    }
}

#[test]
fn seeds_into_fresh_kv_mounts_wait_out_the_kv_v2_upgrade() {
    // On raft storage a new KV v2 mount answers 400 "Upgrading from non-versioned to versioned
    // data" for a moment after it is enabled (1 in 10 to 1 in 40 mounts here): each seed below
    // enables its own mount and reads and writes it at once.
    let node = raft_node("upgrade-1");
    let home = tempfile::tempdir().unwrap();
    let keys = home.path().join("vault-init.json");
    let mut t = Transcript::default();
    let o = t.run_env(
        &[
            "init",
            "--key-shares",
            "1",
            "--key-threshold",
            "1",
            "--keys-file",
            keys.to_str().unwrap(),
            "--node",
            &node.addr,
        ],
        &[],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&keys).unwrap()).unwrap();
    let root = saved["root_token"].as_str().unwrap().to_string();
    // the node is unsealed; wait until it is the active node (it answers writes)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while http("GET", &node.addr, "sys/leader", &root, None).1["is_self"] != true {
        assert!(
            std::time::Instant::now() < deadline,
            "the raft node never became active"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let dir = tempfile::tempdir().unwrap();
    let rendered = rendered_plan(dir.path());
    let mut plan: Value =
        serde_json::from_str(&std::fs::read_to_string(&rendered).unwrap()).unwrap();
    let first = plan["secrets"][0].clone();
    plan["secrets"] = serde_json::json!([first]);
    for i in 0..40 {
        plan["kvMount"] = format!("fresh{i}").into();
        let f = dir.path().join(format!("plan-{i}.json"));
        std::fs::write(&f, serde_json::to_string(&plan).unwrap()).unwrap();
        let o = t.run(&node.addr, &root, &["seed", "--plan", f.to_str().unwrap()]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "seed into the new mount fresh{i}/: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(statuses(&json(&o))[0].1, "created");
    }
}
