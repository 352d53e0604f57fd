//! Dynamic database credentials (issue 16 option 3) on a REAL OpenBao against a REAL
//! PostgreSQL (the Debian package's binaries, a throw-away cluster on a free 127.0.0.1 port and a
//! socket in a temp dir): `policies --apply --dynamic-db` configures the engine, a credential
//! logs in and acts as its group role, revoking its lease ends its sessions and its login.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use wd_testsupport::cli::{json_ok, vault_json_run};
use wd_testsupport::openbao::{dev, http, kv_data};
use wd_testsupport::postgres::Pg;

fn rendered_plan(dir: &Path) -> PathBuf {
    wd_testsupport::render_scenario(Path::new(env!("CARGO_BIN_EXE_wd-secrets")), "waltid", dir);
    dir.join("secrets/secret-plan.json")
}

fn wd_secrets(addr: &str, token: &str, args: &[&str]) -> Output {
    vault_json_run(env!("CARGO_BIN_EXE_wd-secrets"), addr, token, args)
}

/// The roles and grants the umbrella's CloudNativePG bootstrap creates with
/// postgres.dynamicCredentials.enabled (charts/umbrella/waltid/templates/postgres.yaml
/// postInitSQL; tests/charts/test_dynamic_db.py checks the chart renders these statements).
fn bootstrap_like_the_chart(pg: &Pg, admin_password: &str) {
    for sql in [
        "CREATE ROLE waltid NOLOGIN",
        "CREATE DATABASE waltid OWNER waltid",
        "CREATE ROLE keycloak NOLOGIN",
        "CREATE DATABASE keycloak OWNER keycloak",
        "CREATE ROLE vault_admin LOGIN CREATEROLE",
        "GRANT waltid TO vault_admin WITH ADMIN OPTION",
        "GRANT keycloak TO vault_admin WITH ADMIN OPTION",
        "GRANT pg_signal_backend TO vault_admin",
    ] {
        pg.admin_sql("postgres", sql);
    }
    // CloudNativePG's managed role sets the password from the Secret ESO syncs.
    pg.admin_sql(
        "postgres",
        &format!("ALTER ROLE vault_admin PASSWORD '{admin_password}'"),
    );
}

#[test]
fn dynamic_credentials_log_in_act_as_the_group_and_die_with_their_lease() {
    let t0 = Instant::now();
    let pg = Pg::start();
    let bao = dev();
    let dir = tempfile::tempdir().unwrap();
    let plan = rendered_plan(dir.path());
    let plan = plan.to_str().unwrap();

    // the plan says where each secret lives: the two consumers' DB passwords are dynamic
    let placed = json_ok(&wd_secrets(
        &bao.addr,
        "root",
        &["plan", "--plan", plan, "--dynamic-db"],
    ));
    assert_eq!(placed["kind"], "SecretPlacement");
    let home = |name: &str| {
        placed["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} not placed"))["home"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(home("postgres-app-password"), "dynamic");
    assert_eq!(home("keycloak-db-password"), "dynamic");
    assert_eq!(home("app-db-password"), "single");

    // seed writes everything but the dynamic ones (values issued by wd-transit are reported
    // missing: that tool is not part of this test)
    let o = wd_secrets(&bao.addr, "root", &["seed", "--plan", plan, "--dynamic-db"]);
    let seeded: Value = serde_json::from_slice(&o.stdout).unwrap();
    for p in seeded["problems"].as_array().unwrap() {
        assert!(
            p["message"].as_str().unwrap().contains("policy external"),
            "{p}"
        );
    }
    let seeded: Vec<&str> = seeded["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["secret"].as_str().unwrap())
        .collect();
    assert!(seeded.contains(&"postgres-vault-password"), "{seeded:?}");
    assert!(
        !seeded.contains(&"postgres-app-password") && !seeded.contains(&"keycloak-db-password")
    );
    let pw = kv_data(&bao.addr, "root", "secret/data/waltid/postgres/app");
    assert!(pw["password"].is_null(), "a dynamic password was seeded");
    let admin = kv_data(&bao.addr, "root", "secret/data/waltid/postgres/vault");
    let admin_password = admin["password"].as_str().unwrap().to_string();
    bootstrap_like_the_chart(&pg, &admin_password);

    // policies --apply configures the engine against the real server (Vault verifies the login)
    let port = pg.port.to_string();
    let engine = [
        "--dynamic-db",
        "--db-host",
        "127.0.0.1",
        "--db-port",
        &port,
        "--db-sslmode",
        "disable",
        "--db-verify",
    ];
    let mut args = vec!["policies", "--plan", plan, "--apply"];
    args.extend(engine);
    let pol = json_ok(&wd_secrets(&bao.addr, "root", &args));
    let eso_db = pol["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "waltid-eso-db")
        .expect("the ESO database policy");
    let role = pol["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "waltid-db-credentials")
        .expect("the generator's Kubernetes auth role");
    assert_eq!(role["serviceAccounts"][0], "waltid-db-credentials");
    assert_eq!(role["namespaces"][0], "waltid");
    assert_eq!(role["policies"][0], "waltid-eso-db");
    assert!(eso_db["hcl"]
        .as_str()
        .unwrap()
        .contains("path \"database/creds/walt-wallet\""));
    // applying twice is a no-op
    json_ok(&wd_secrets(&bao.addr, "root", &args));

    // ESO's policy issues credentials and reads nothing else
    let (_, tok) = http(
        "POST",
        &bao.addr,
        "auth/token/create",
        "root",
        Some(r#"{"policies":["waltid-eso-db"],"no_default_policy":true,"ttl":"5m"}"#),
    );
    let eso = tok["auth"]["client_token"].as_str().unwrap().to_string();
    let (code, cred) = http("GET", &bao.addr, "database/creds/walt-wallet", &eso, None);
    assert_eq!(code, 200, "{cred}");
    for denied in [
        "database/config/waltid-pg",
        "database/roles/walt-wallet",
        "secret/data/waltid/postgres/vault",
    ] {
        assert_eq!(
            http("GET", &bao.addr, denied, &eso, None).0,
            403,
            "{denied}"
        );
    }
    let user = cred["data"]["username"].as_str().unwrap().to_string();
    let password = cred["data"]["password"].as_str().unwrap().to_string();
    let lease = cred["lease_id"].as_str().unwrap().to_string();
    assert_eq!(cred["lease_duration"], 24 * 3600, "default_ttl 24h");

    // the credential logs in, acts as the group, and what it creates belongs to the group
    let o = pg.login(
        &user,
        &password,
        "waltid",
        "CREATE TABLE accounts (id int); SELECT current_user || ' ' || session_user",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.lines().last(), Some(format!("waltid {user}").as_str()));
    assert_eq!(
        pg.admin_sql(
            "waltid",
            "SELECT tableowner FROM pg_tables WHERE tablename = 'accounts'"
        ),
        "waltid"
    );
    assert_ne!(
        pg.admin_sql(
            "postgres",
            &format!("SELECT rolvaliduntil IS NOT NULL FROM pg_roles WHERE rolname = '{user}'")
        ),
        "f"
    );

    // a second credential of the same consumer works at the same time (rollouts overlap)
    let (_, cred2) = http("GET", &bao.addr, "database/creds/walt-wallet", &eso, None);
    let (user2, pw2) = (
        cred2["data"]["username"].as_str().unwrap(),
        cred2["data"]["password"].as_str().unwrap(),
    );
    assert_ne!(user2, user);
    let o = pg.login(
        user2,
        pw2,
        "waltid",
        "INSERT INTO accounts VALUES (1); SELECT count(*) FROM accounts",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // keycloak's credential is a member of keycloak only
    let (_, kc) = http("GET", &bao.addr, "database/creds/keycloak", &eso, None);
    let (kcu, kcp) = (
        kc["data"]["username"].as_str().unwrap(),
        kc["data"]["password"].as_str().unwrap(),
    );
    let o = pg.login(
        kcu,
        kcp,
        "keycloak",
        "CREATE TABLE realm (id int); SELECT current_user",
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        out.lines().last(),
        Some("keycloak"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = pg.login(kcu, kcp, "waltid", "SELECT count(*) FROM accounts");
    assert!(
        !o.status.success(),
        "keycloak's credential read the wallet's table"
    );

    // an open session of the first credential ...
    let mut session = Command::new(pg.bin.join("psql"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            &user,
            "-d",
            "waltid",
            "-w",
            "-tAc",
            "SELECT pg_sleep(60)",
        ])
        .env("PGPASSWORD", &password)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while pg.admin_sql(
        "postgres",
        &format!("SELECT count(*) FROM pg_stat_activity WHERE usename = '{user}'"),
    ) == "0"
    {
        assert!(Instant::now() < deadline, "the session did not start");
        std::thread::sleep(Duration::from_millis(100));
    }

    // ... ends when the lease is revoked; the role is gone, its login fails, the table stays
    let body = format!(r#"{{"lease_id":"{lease}"}}"#);
    let (code, v) = http("PUT", &bao.addr, "sys/leases/revoke", "root", Some(&body));
    assert!(code == 204 || code == 200, "{code} {v}");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = session.try_wait().unwrap() {
            assert!(!status.success(), "the revoked session ended normally");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "revocation did not end the open session"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let o = pg.login(&user, &password, "waltid", "SELECT 1");
    assert!(!o.status.success(), "a revoked credential still logs in");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("password authentication failed"), "{err}");
    assert_eq!(
        pg.admin_sql(
            "postgres",
            &format!("SELECT count(*) FROM pg_roles WHERE rolname = '{user}'")
        ),
        "0"
    );
    assert_eq!(pg.admin_sql("waltid", "SELECT count(*) FROM accounts"), "1");
    // the other credential is untouched
    assert!(pg.login(user2, pw2, "waltid", "SELECT 1").status.success());

    // the connection's admin password never reaches the output
    for args in [vec!["plan", "--plan", plan, "--dynamic-db"], args.clone()] {
        let o = wd_secrets(&bao.addr, "root", &args);
        assert!(!String::from_utf8_lossy(&o.stdout).contains(&admin_password));
        assert!(!String::from_utf8_lossy(&o.stderr).contains(&admin_password));
    }
    assert!(
        t0.elapsed() < Duration::from_secs(90),
        "took {:?}",
        t0.elapsed()
    );
}

#[test]
fn a_consumer_without_a_database_password_is_bad_input() {
    let bao = dev();
    let dir = tempfile::tempdir().unwrap();
    let plan = rendered_plan(dir.path());
    let o = wd_secrets(
        &bao.addr,
        "root",
        &[
            "policies",
            "--plan",
            plan.to_str().unwrap(),
            "--apply",
            "--dynamic-db",
            "--db-consumer",
            "walt-issuer",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--db-consumer walt-issuer"));
    // nothing was written
    assert_eq!(
        http("GET", &bao.addr, "sys/mounts/database", "root", None).0 / 100,
        4
    );
}

#[test]
fn policies_before_seed_as_up_runs_them_seed_the_admin_password_once() {
    let bao = dev();
    let dir = tempfile::tempdir().unwrap();
    let plan = rendered_plan(dir.path());
    let plan = plan.to_str().unwrap();
    // before the engine exists, check says so (and names the fix)
    let o = wd_secrets(
        &bao.addr,
        "root",
        &["check", "--plan", plan, "--cluster", "off", "--dynamic-db"],
    );
    assert_eq!(o.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let engine: Vec<&Value> = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["message"]
                .as_str()
                .unwrap()
                .starts_with("database/roles/")
        })
        .collect();
    assert_eq!(engine.len(), 2, "{r}");
    assert!(engine[0]["fix"].as_str().unwrap().contains("--dynamic-db"));
    // `k8s-deploy.sh up` order: policies (the database does not exist yet: no --db-verify), seed
    json_ok(&wd_secrets(
        &bao.addr,
        "root",
        &["policies", "--plan", plan, "--apply", "--dynamic-db"],
    ));
    let admin = kv_data(&bao.addr, "root", "secret/data/waltid/postgres/vault");
    let first = admin["password"].as_str().unwrap().to_string();
    assert_eq!(first.len(), 32);
    let (code, role) = http("GET", &bao.addr, "database/roles/keycloak", "root", None);
    assert_eq!(code, 200, "{role}");
    assert_eq!(role["data"]["default_ttl"], 24 * 3600);
    assert_eq!(role["data"]["max_ttl"], 48 * 3600);
    let (_, conn) = http("GET", &bao.addr, "database/config/waltid-pg", "root", None);
    assert_eq!(
        conn["data"]["connection_details"]["connection_url"],
        "postgresql://{{username}}:{{password}}@waltid-pg-rw.waltid.svc:5432/waltid?sslmode=require"
    );
    assert_eq!(
        conn["data"]["connection_details"]["username"],
        "vault_admin"
    );
    let o = wd_secrets(&bao.addr, "root", &["seed", "--plan", plan, "--dynamic-db"]);
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let admin_item = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["secret"] == "postgres-vault-password")
        .unwrap();
    assert_eq!(admin_item["status"], "kept");
    json_ok(&wd_secrets(
        &bao.addr,
        "root",
        &["policies", "--plan", plan, "--apply", "--dynamic-db"],
    ));
    let admin = kv_data(&bao.addr, "root", "secret/data/waltid/postgres/vault");
    assert_eq!(admin["password"].as_str().unwrap(), first);
    // the engine is there now: no engine problem left
    let o = wd_secrets(
        &bao.addr,
        "root",
        &["check", "--plan", plan, "--cluster", "off", "--dynamic-db"],
    );
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        r["problems"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| !p["message"].as_str().unwrap().starts_with("database/")),
        "{r}"
    );
    // a dynamic credential is never rotated by hand
    let o = wd_secrets(
        &bao.addr,
        "root",
        &[
            "rotate",
            "postgres-app-password",
            "--plan",
            plan,
            "--dynamic-db",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("force-sync"));
}
