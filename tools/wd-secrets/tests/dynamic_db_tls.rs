//! Vault's own logins to PostgreSQL verified (`--db-sslmode verify-full --db-sslrootcert`), on a
//! REAL OpenBao (its built-in PostgreSQL plugin, pgx) against REAL PostgreSQL servers serving
//! certificates of a throw-away CA made with openssl. In the cluster the root is the internal
//! CA's, mounted in Vault's pods at /vault/userconfig/wd-vault-ca/ca.crt, and the name is
//! `waltid-pg-rw.<ns>.svc` (tests/pki_postgres.rs checks those names); here the leaf carries
//! 127.0.0.1 so that verify-full can be checked on the only address the tests may use.

use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};
use wd_testsupport::cli::{json_ok, vault_json_run};
use wd_testsupport::openbao::{dev, http, kv_data};
use wd_testsupport::pki::{leaf, self_signed_ca};
use wd_testsupport::postgres::Pg;

const SSL_OF_THIS_SESSION: &str = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

fn wd_secrets(addr: &str, args: &[&str]) -> Output {
    vault_json_run(env!("CARGO_BIN_EXE_wd-secrets"), addr, "root", args)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim().to_string()
}

/// What the engine needs of the umbrella's CloudNativePG bootstrap for the wallet's credentials
/// (charts/umbrella/waltid/templates/postgres.yaml postInitSQL; tests/dynamic_db.rs runs all of
/// it): the Vault-owned admin with the plan's password, the wallet's group role and database.
fn bootstrap(pg: &Pg, admin_password: &str) {
    for sql in [
        "CREATE ROLE waltid NOLOGIN",
        "CREATE DATABASE waltid OWNER waltid",
        "CREATE ROLE vault_admin LOGIN CREATEROLE",
        "GRANT waltid TO vault_admin WITH ADMIN OPTION",
        &format!("ALTER ROLE vault_admin PASSWORD '{admin_password}'"),
    ] {
        pg.admin_sql("postgres", sql);
    }
}

/// `policies --apply --dynamic-db --db-verify` against `pg` by the name `host`, these TLS flags.
fn apply(addr: &str, plan: &str, host: &str, pg: &Pg, tls: &[&str]) -> Output {
    let port = pg.port.to_string();
    let mut args = vec![
        "policies",
        "--plan",
        plan,
        "--apply",
        "--dynamic-db",
        "--db-host",
        host,
        "--db-port",
        &port,
        "--db-verify",
    ];
    args.extend(tls);
    wd_secrets(addr, &args)
}

fn stored_url(addr: &str) -> String {
    let (code, conn) = http("GET", addr, "database/config/waltid-pg", "root", None);
    assert_eq!(code, 200, "{conn}");
    conn["data"]["connection_details"]["connection_url"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn vault_verifies_the_databases_certificate_and_refuses_a_strangers_root_or_another_name() {
    let t0 = Instant::now();
    let bao = dev();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    wd_testsupport::render_scenario(Path::new(env!("CARGO_BIN_EXE_wd-secrets")), "waltid", dir);
    let plan = dir.join("secrets/secret-plan.json");
    let plan = plan.to_str().unwrap();

    let root = self_signed_ca(dir, "wd-test-root");
    let rootp = root.to_str().unwrap();
    let (crt, key) = leaf(dir, &root, "pg-here", "IP:127.0.0.1,DNS:localhost");
    let (named_crt, named_key) = leaf(
        dir,
        &root,
        "pg-svc-only",
        "DNS:waltid-pg-rw.waltid.svc,DNS:waltid-pg-rw.waltid.svc.cluster.local",
    );
    let stranger = self_signed_ca(dir, "not-the-root");
    let pg = Pg::start_tls(&crt, &key);
    let pg_named = Pg::start_tls(&named_crt, &named_key);

    // the admin password as `k8s-deploy.sh up` leaves it: seeded in Vault, synced into Postgres
    wd_secrets(&bao.addr, &["seed", "--plan", plan, "--dynamic-db"]);
    let admin = kv_data(&bao.addr, "root", "secret/data/waltid/postgres/vault");
    let admin_password = admin["password"].as_str().unwrap().to_string();
    bootstrap(&pg, &admin_password);
    bootstrap(&pg_named, &admin_password);

    // (a) verify-full with the root: OpenBao's plugin logs in verifying chain and name
    let full = ["--db-sslmode", "verify-full", "--db-sslrootcert", rootp];
    json_ok(&apply(&bao.addr, plan, "127.0.0.1", &pg, &full));
    assert_eq!(
        stored_url(&bao.addr),
        format!(
            "postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{}/waltid?sslmode=verify-full&sslrootcert={rootp}",
            pg.port
        )
    );
    // Vault's own session (kept in its pool) is TLS
    assert_eq!(
        pg.admin_sql(
            "postgres",
            "SELECT string_agg(DISTINCT ssl::text, ',') FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE usename = 'vault_admin'"
        ),
        "true"
    );
    // a credential issued over that connection logs in (verifying the server too)
    let (code, cred) = http("GET", &bao.addr, "database/creds/walt-wallet", "root", None);
    assert_eq!(code, 200, "{cred}");
    let o = pg.login_with(
        &format!("host=127.0.0.1 sslmode=verify-full sslrootcert={rootp}"),
        cred["data"]["username"].as_str().unwrap(),
        cred["data"]["password"].as_str().unwrap(),
        "waltid",
        // as itself (RESET would return to the group its sessions start as): the group may not see the row
        &format!("SET ROLE NONE; {SSL_OF_THIS_SESSION}"),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout).lines().last(),
        Some("t"),
        "the credential's session is not TLS"
    );

    // (b) a stranger's root: Vault refuses the connection, exit 3, the good one stays
    let o = apply(
        &bao.addr,
        plan,
        "127.0.0.1",
        &pg,
        &[
            "--db-sslmode",
            "verify-full",
            "--db-sslrootcert",
            stranger.to_str().unwrap(),
        ],
    );
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    eprintln!("stranger: {err}");
    assert!(
        err.contains(
            "tls: failed to verify certificate: x509: certificate signed by unknown authority"
        ),
        "{err}"
    );
    assert!(stored_url(&bao.addr).ends_with(&format!("sslrootcert={rootp}")));

    // (c) the right root, a certificate for other names: verify-full refuses on the address
    // and on a DNS name (localhost: pgx tries each address it resolves to) ...
    for (host, refused) in [
        (
            "127.0.0.1",
            "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs",
        ),
        (
            "localhost",
            "x509: certificate is valid for waltid-pg-rw.waltid.svc, waltid-pg-rw.waltid.svc.cluster.local, not localhost",
        ),
    ] {
        let o = apply(&bao.addr, plan, host, &pg_named, &full);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{err}");
        eprintln!("name: {err}");
        assert!(err.contains(refused), "{err}");
    }
    // ... which verify-ca does not check (the chain alone)
    json_ok(&apply(
        &bao.addr,
        plan,
        "127.0.0.1",
        &pg_named,
        &["--db-sslmode", "verify-ca", "--db-sslrootcert", rootp],
    ));

    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "took {:?}",
        t0.elapsed()
    );
}

#[test]
fn tls_flags_that_do_not_verify_or_name_a_relative_root_are_refused_before_anything_is_written() {
    let bao = dev();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    wd_testsupport::render_scenario(Path::new(env!("CARGO_BIN_EXE_wd-secrets")), "waltid", dir);
    let plan = dir.join("secrets/secret-plan.json");
    let plan = plan.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--db-sslrootcert", "/vault/userconfig/wd-vault-ca/ca.crt"],
            "--db-sslrootcert needs --db-sslmode verify-full (or verify-ca), not require",
        ),
        (
            &["--db-sslmode", "prefer", "--db-sslrootcert", "/ca.crt"],
            "--db-sslrootcert needs --db-sslmode verify-full (or verify-ca), not prefer",
        ),
        (
            &["--db-sslmode", "disable", "--db-sslrootcert", "/ca.crt"],
            "--db-sslrootcert needs --db-sslmode verify-full (or verify-ca), not disable",
        ),
        (
            &["--db-sslmode", "verify-full", "--db-sslrootcert", "ca.crt"],
            "invalid value 'ca.crt' for '--db-sslrootcert <PATH>': not an absolute path",
        ),
        (
            &["--db-sslmode", "verify_full"],
            "invalid value 'verify_full' for '--db-sslmode <DB_SSLMODE>': not a libpq sslmode",
        ),
    ];
    for (flags, want) in cases {
        let mut args = vec!["policies", "--plan", plan, "--apply", "--dynamic-db"];
        args.extend(flags);
        let o = wd_secrets(&bao.addr, &args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(want), "{flags:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // nothing was written: no engine, no policy
    assert_eq!(
        http("GET", &bao.addr, "sys/mounts/database", "root", None).0 / 100,
        4
    );
    let (code, _): (u16, Value) =
        http("GET", &bao.addr, "sys/policy/waltid-eso-read", "root", None);
    assert_eq!(code, 404);
}
