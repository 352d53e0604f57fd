//! wd-inventory as users run it: real binaries on fixtures, walt.id's own compose files and the
//! reference stack. Every test clears the environment so results do not depend on the caller.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use wd_testsupport::cli::{tty_command, tty_output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/compose").join(name)
}

/// walt.id's own docker-compose folder at v0.18.2 (read-only test data beside the repo).
fn waltid_testdata() -> Option<PathBuf> {
    let candidates = [
        root().join("../shared/testdata/waltid-identity-v0.18.2"),
        PathBuf::from("/work/shared/testdata/waltid-identity-v0.18.2"),
    ];
    candidates
        .into_iter()
        .find(|p| p.join("docker-compose.yaml").is_file())
}

/// The binary under test; `WD_INVENTORY_BIN` runs the tests against another build (how the
/// regression tests were shown to fail on the code before their fix).
fn bin() -> String {
    std::env::var("WD_INVENTORY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_wd-inventory").into())
}

fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(bin());
    c.current_dir(dir).args(args).env_clear();
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn run(args: &[&str]) -> Output {
    run_in(&root(), args, &[])
}

fn json(o: &Output) -> Value {
    assert!(o.status.code().is_some(), "killed");
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// Exit 0 and JSON on stdout.
fn ok_json(o: &Output) -> Value {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    json(o)
}

fn service<'a>(inv: &'a Value, name: &str) -> &'a Value {
    inv["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no service {name}"))
}

fn env<'a>(svc: &'a Value, name: &str) -> &'a Value {
    svc["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no env {name}"))
}

fn names(inv: &Value) -> Vec<String> {
    inv["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_form_is_normalised() {
    let f = fixture("every-form/compose.yaml");
    let o = run(&["-f", f.to_str().unwrap(), "--all"]);
    let inv = ok_json(&o);
    assert_eq!(inv["apiVersion"], "wd/v1");
    assert_eq!(inv["kind"], "Inventory");
    assert_eq!(inv["project"], "formtest");
    let app = service(&inv, "app");
    assert_eq!(
        app["image"]["reference"],
        "registry.example.org:5000/team/app:1.2.3"
    );
    assert_eq!(
        app["image"]["repository"],
        "registry.example.org:5000/team/app"
    );
    assert_eq!(app["image"]["pinned"], true);
    assert_eq!(app["build"]["dockerfile"], "Dockerfile.prod");
    assert_eq!(app["restart"], "unless-stopped", "merge key <<: *common");
    assert_eq!(app["profiles"], serde_json::json!(["web", "all"]));
    // interpolation: nesting, $$, empty/dash defaults, alternative, non-string values
    assert_eq!(env(app, "URL")["value"], "http://example.test:8080/path");
    assert_eq!(env(app, "NESTED")["value"], "http://keycloak:8180");
    assert_eq!(
        env(app, "NESTED")["raw"],
        "${KC_URL:-http://${KC_HOST:-keycloak}:${KC_PORT:-8180}}"
    );
    let nested_refs: Vec<&str> = env(app, "NESTED")["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(nested_refs, ["KC_URL", "KC_HOST", "KC_PORT"]);
    assert_eq!(env(app, "DOLLAR")["value"], "cost $5 and ${NOT_EXPANDED}");
    assert_eq!(env(app, "EMPTY_DEFAULT")["value"], "");
    assert_eq!(
        env(app, "DASH_DEFAULT")["value"],
        "",
        "${{V-d}} keeps a set-but-empty V"
    );
    assert_eq!(env(app, "ALT")["value"], "host-is-set");
    assert_eq!(env(app, "PORT_INT")["value"], "5432");
    assert_eq!(env(app, "ENABLED")["value"], "true");
    assert_eq!(env(app, "RATIO")["value"], "0.75");
    assert_eq!(env(app, "COMMON")["value"], "from-anchor");
    assert_eq!(env(app, "FROM_FILE")["origin"], "env_file:./app.env");
    assert_eq!(env(app, "FROM_SHELL")["raw"], Value::Null);
    let host_ref = &env(app, "URL")["references"][1];
    assert_eq!(
        (
            host_ref["name"].as_str(),
            host_ref["inEnvFile"].as_bool(),
            host_ref["inEnvExample"].as_bool(),
            host_ref["hasDefault"].as_bool()
        ),
        (Some("HOST"), Some(true), Some(true), Some(true))
    );
    // command: folded block scalar split like a shell; entrypoint list interpolated
    assert_eq!(
        app["command"],
        serde_json::json!(["serve", "--listen", "0.0.0.0:8080", "--label", "two words"])
    );
    assert_eq!(
        app["entrypoint"],
        serde_json::json!(["/bin/entry", "--flag=example.test"])
    );
    // ports: short, IP, IPv6, range, container-only, long
    let ports = app["ports"].as_array().unwrap();
    assert_eq!(ports.len(), 6);
    assert_eq!(
        (
            ports[1]["hostIp"].as_str(),
            ports[1]["published"].as_str(),
            ports[1]["protocol"].as_str()
        ),
        (Some("127.0.0.1"), Some("9090"), Some("udp"))
    );
    assert_eq!(ports[2]["hostIp"], "::1");
    assert_eq!(ports[3]["published"], "7000-7002");
    assert_eq!(ports[4]["published"], Value::Null);
    assert_eq!(
        (
            ports[5]["target"].as_str(),
            ports[5]["published"].as_str(),
            ports[5]["mode"].as_str()
        ),
        (Some("443"), Some("8443"), Some("host"))
    );
    // mounts: bind dir with contents, bind file via ../.., named, anonymous, missing, tmpfs x2
    let mounts = app["mounts"].as_array().unwrap();
    let types: Vec<&str> = mounts.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["bind", "bind", "volume", "volume", "bind", "tmpfs", "tmpfs"]
    );
    assert_eq!(mounts[0]["bind"]["pathKind"], "dir");
    let files = mounts[0]["bind"]["files"].as_array().unwrap();
    assert_eq!(files[0]["path"], "app.conf");
    assert_eq!(files[0]["kind"], "hocon");
    assert_eq!(files[0]["secretFields"], serde_json::json!(["password"]));
    assert_eq!(
        files[1]["carriesSecrets"], false,
        "an env reference is not a secret"
    );
    assert_eq!(mounts[1]["bind"]["pathKind"], "file");
    assert_eq!(mounts[4]["bind"]["pathKind"], "missing");
    assert_eq!(mounts[3]["source"], Value::Null);
    assert!(mounts[0]["readOnly"].as_bool().unwrap() && !mounts[2]["readOnly"].as_bool().unwrap());
    // depends_on long form, healthcheck string form, extra_hosts map, networks with aliases
    let deps = app["dependsOn"].as_array().unwrap();
    assert_eq!(
        (
            deps[1]["condition"].as_str(),
            deps[1]["required"].as_bool(),
            deps[1]["restart"].as_bool()
        ),
        (
            Some("service_completed_successfully"),
            Some(false),
            Some(true)
        )
    );
    assert_eq!(
        app["healthcheck"]["test"],
        serde_json::json!([
            "CMD-SHELL",
            "curl -fsS http://localhost:8080/healthz || exit 1"
        ])
    );
    assert_eq!(app["healthcheck"]["retries"], 3);
    assert_eq!(
        app["extraHosts"],
        serde_json::json!(["host.docker.internal:host-gateway"])
    );
    assert_eq!(
        app["networks"][0]["aliases"],
        serde_json::json!(["app.internal", "api"])
    );
    // state: named + anonymous volumes
    let state: Vec<&str> = app["state"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["target"].as_str().unwrap())
        .collect();
    assert_eq!(state, ["/var/lib/app", "/var/cache/anon"]);
    let db = service(&inv, "db");
    assert_eq!(
        env(db, "OPTIONS")["value"],
        "a=b:c=d",
        "list values keep = and :"
    );
    assert_eq!(
        db["command"],
        serde_json::json!(["postgres", "-c", "max_connections=200"]),
        "literal block scalar"
    );
    assert_eq!(db["state"][0]["holds"], "PostgreSQL data directory");
    let migrate = service(&inv, "migrate");
    assert_eq!(migrate["image"]["pinned"], true, "digest");
    assert_eq!(migrate["healthcheck"]["disabled"], true);
    assert_eq!(
        service(&inv, "cache")["image"]["unpinnedReason"],
        "moving tag \"latest\""
    );
    assert_eq!(
        service(&inv, "cache")["extraHosts"],
        serde_json::json!(["cache.local:127.0.0.1"])
    );
    // top level
    let vols: Vec<&str> = inv["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(vols, ["data", "pgdata"], "only used volumes");
    assert_eq!(
        inv["variables"]["definedButUnused"],
        serde_json::json!(["DEFINED_NOT_USED", "DOCUMENTED_ONLY"])
    );
    assert_eq!(
        inv["variables"]["missingFromEnvExample"],
        serde_json::json!(["FROM_SHELL"])
    );
    assert_eq!(inv["variables"]["unset"], serde_json::json!(["FROM_SHELL"]));
}

#[test]
fn profiles_select_services_like_compose() {
    let f = fixture("every-form/compose.yaml");
    let f = f.to_str().unwrap();
    // COMPOSE_PROFILES=web comes from .env: services without profiles + "web" ones
    assert_eq!(names(&json(&run(&["-f", f]))), ["app", "migrate", "cache"]);
    assert_eq!(
        names(&json(&run(&["-f", f, "--profile", "all"]))),
        ["app", "db", "migrate", "cache"]
    );
    // the process environment overrides the env file
    let o = run_in(&root(), &["-f", f], &[("COMPOSE_PROFILES", "none")]);
    assert_eq!(names(&json(&o)), ["migrate", "cache"]);
    assert_eq!(names(&json(&run(&["-f", f, "--service", "db"]))), ["db"]);
}

#[test]
fn several_files_merge_in_order() {
    // no -f: compose.yaml + compose.override.yaml are discovered, as docker compose does
    let o = run_in(&fixture("merge"), &[], &[]);
    let inv = ok_json(&o);
    assert_eq!(
        inv["sources"]["composeFiles"],
        serde_json::json!(["compose.yaml", "compose.override.yaml"])
    );
    assert_eq!(inv["project"], "merge");
    let web = service(&inv, "web");
    assert_eq!(web["image"]["reference"], "nginx:1.27.3");
    assert_eq!(env(web, "A")["value"], "base");
    assert_eq!(env(web, "B")["value"], "override");
    assert_eq!(env(web, "C")["value"], "added");
    assert_eq!(web["ports"].as_array().unwrap().len(), 2);
    assert_eq!(
        web["mounts"].as_array().unwrap().len(),
        1,
        "same target replaced"
    );
    assert_eq!(web["mounts"][0]["source"], "./cfg2");
    assert_eq!(web["mounts"][0]["readOnly"], false);
    assert_eq!(web["dependsOn"][0]["condition"], "service_healthy");
    assert_eq!(
        web["command"],
        serde_json::json!(["nginx", "-g", "daemon off;"]),
        "kept from the base file"
    );
    assert_eq!(names(&inv), ["web", "api", "extra"]);
}

#[test]
fn waltid_own_compose_with_its_env() {
    let Some(dir) = waltid_testdata() else {
        panic!("walt.id test data not found beside the repository")
    };
    // default: COMPOSE_PROFILES=identity from its .env
    let inv = json(&run_in(&dir, &[], &[]));
    assert_eq!(
        names(&inv),
        [
            "wallet-api",
            "issuer-api",
            "verifier-api",
            "verifier-api2",
            "waltid-demo-wallet",
            "waltid-dev-wallet",
            "web-portal",
            "vc-repo",
            "postgres",
            "caddy"
        ]
    );
    let wallet = service(&inv, "wallet-api");
    assert_eq!(wallet["image"]["reference"], "waltid/wallet-api:stable");
    assert_eq!(wallet["image"]["pinned"], false);
    assert_eq!(
        service(&inv, "postgres")["image"]["unpinnedReason"],
        "no tag (means latest)"
    );
    assert_eq!(env(wallet, "DB_PASSWORD")["redacted"], true);
    assert_eq!(env(wallet, "DB_PASSWORD")["value"], Value::Null);
    assert_eq!(
        wallet["dependsOn"][0],
        serde_json::json!({"service": "postgres", "condition": "service_healthy", "required": true, "restart": false})
    );
    let auth = wallet["mounts"][0]["bind"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "auth.conf")
        .unwrap()
        .clone();
    assert_eq!(
        auth["carriesSecrets"], true,
        "walt.id's demo keys are secrets"
    );
    assert!(auth["secretFields"]
        .as_array()
        .unwrap()
        .contains(&Value::from("encryptionKey")));
    // caddy's long-syntax ports interpolate `published: $WALLET_BACKEND_PORT`
    let caddy_ports: Vec<&str> = service(&inv, "caddy")["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["published"].as_str().unwrap())
        .collect();
    assert_eq!(&caddy_ports[..3], ["7001", "7002", "7003"]);
    // profiles from the command line, and --all
    assert_eq!(
        names(&json(&run_in(&dir, &["--profile", "tse"], &[]))),
        ["postgres", "vault", "vault-init", "caddy"]
    );
    assert_eq!(
        json(&run_in(&dir, &["--all"], &[]))["services"]
            .as_array()
            .unwrap()
            .len(),
        14
    );
    // the process environment overrides .env: VERSION_TAG=0.18.2 pins the walt.id images
    let pinned = json(&run_in(
        &dir,
        &["--service", "wallet-api"],
        &[("VERSION_TAG", "0.18.2")],
    ));
    assert_eq!(service(&pinned, "wallet-api")["image"]["pinned"], true);
    // --check fails on the unpinned images, one line each
    let o = run_in(&dir, &["--check", "-q"], &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.lines()
            .filter(|l| l.contains("[unpinned-image]"))
            .count(),
        9,
        "{err}"
    );
    assert!(err.contains("wd-inventory: check: postgres: image postgres is not pinned"));
}

#[test]
fn show_secrets_is_the_only_way_to_see_values() {
    let f = fixture("every-form/compose.yaml");
    let f = f.to_str().unwrap();
    for format in ["json", "table", "csv", "markdown"] {
        let o = run(&["-f", f, "--all", "--format", format]);
        assert_eq!(o.status.code(), Some(0));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        for secret in ["s3cr3t-from-dotenv", "tok-in-env-file", "literal-in-config"] {
            assert!(
                !all.contains(secret),
                "{secret} leaked in --format {format}"
            );
        }
    }
    let inv = json(&run(&["-f", f, "--all", "--show-secrets"]));
    assert_eq!(inv["redacted"], false);
    assert_eq!(
        env(service(&inv, "app"), "DB_PASSWORD")["value"],
        "s3cr3t-from-dotenv"
    );
    assert_eq!(
        env(service(&inv, "app"), "API_TOKEN")["value"],
        "tok-in-env-file"
    );
}

#[test]
fn check_flags_inline_secret_defaults_and_literals() {
    let f = fixture("inline-secret/compose.yaml");
    let o = run(&["-f", f.to_str().unwrap(), "--check"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("db: secret POSTGRES_PASSWORD has a non-empty inline default")
            && err.contains("[inline-secret-default]"),
        "{err}"
    );
    assert!(
        err.contains("kc: secret KEYCLOAK_ADMIN_PASSWORD is written literally")
            && err.contains("[inline-secret]"),
        "{err}"
    );
    let inv = json(&o);
    let pw = env(service(&inv, "db"), "POSTGRES_PASSWORD");
    assert_eq!(
        (
            pw["raw"].clone(),
            pw["value"].clone(),
            pw["inlineSecretDefault"].clone()
        ),
        (Value::Null, Value::Null, Value::Bool(true)),
        "the inline default is redacted too"
    );
    // without --check the same problems do not fail the run
    assert_eq!(
        run(&["-f", f.to_str().unwrap(), "-q"]).status.code(),
        Some(0)
    );
}

#[test]
fn reference_stack_is_clean_and_its_report_is_current() {
    let o = run(&["--scenario", "waltid", "--check", "-q"]);
    let inv = ok_json(&o);
    assert_eq!(
        names(&inv),
        [
            "postgres",
            "caddy",
            "issuer-api",
            "verifier-api",
            "wallet-api",
            "keycloak",
            "wso2is",
            "libretranslate"
        ]
    );
    assert!(inv["services"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["image"]["pinned"] == true));
    let md = run(&["--scenario", "waltid", "--format", "markdown", "-q"]);
    let text = String::from_utf8(md.stdout).unwrap();
    assert!(text.lines().count() < 400, "{} lines", text.lines().count());
    for s in names(&inv) {
        assert!(text.contains(&format!("\n## {s}\n")), "section for {s}");
    }
    let committed = std::fs::read_to_string(root().join("docs/k8s/inventory.md"))
        .expect("docs/k8s/inventory.md exists");
    assert_eq!(
        committed, text,
        "docs/k8s/inventory.md is stale: run `make docs`"
    );
}

#[test]
fn config_deep_read_classifies_walt_id_fields() {
    let Some(dir) = waltid_testdata() else {
        panic!("walt.id test data not found")
    };
    let o = run_in(
        &dir,
        &[
            "--configs",
            "--service",
            "wallet-api",
            "--service",
            "issuer-api",
        ],
        &[],
    );
    let a = ok_json(&o);
    assert_eq!(a["kind"], "ConfigAudit");
    let field = |svc: &str, file: &str, path: &str| -> Value {
        let s = a["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["service"] == svc)
            .unwrap();
        let f = s["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["file"] == file)
            .unwrap_or_else(|| panic!("{file}"));
        f["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["path"] == path)
            .unwrap_or_else(|| panic!("{path}"))
            .clone()
    };
    let jdbc = field("wallet-api", "db.conf", "dataSource.jdbcUrl");
    assert_eq!(jdbc["class"], "dsn");
    assert_eq!(
        jdbc["envVars"],
        serde_json::json!(["POSTGRES_DB_HOST", "POSTGRES_DB_PORT", "DB_NAME"])
    );
    assert_eq!(jdbc["substitution"], "env-in-string");
    let pw = field("wallet-api", "db.conf", "dataSource.password");
    assert_eq!(
        (pw["class"].as_str(), pw["literalSecret"].as_bool()),
        (Some("secret"), Some(false))
    );
    let ek = field("wallet-api", "auth.conf", "encryptionKey");
    assert_eq!(
        (
            ek["class"].as_str(),
            ek["literalSecret"].as_bool(),
            ek["raw"].clone()
        ),
        (Some("secret"), Some(true), Value::Null)
    );
    let port = field("wallet-api", "web.conf", "webPort");
    assert_eq!(
        (port["class"].as_str(), port["substitution"].as_str()),
        (Some("environment"), Some("hocon")),
        "unquoted ${{X}} is HOCON's"
    );
    assert_eq!(
        field("wallet-api", "auth.conf", "issTokenClaim")["class"],
        "url"
    );
    assert_eq!(
        field("issuer-api", "issuer-service.conf", "baseUrl")["class"],
        "url"
    );
    assert_eq!(
        field("wallet-api", "db.conf", "recreateDatabaseOnStart")["class"],
        "static"
    );
    let jwks = field("wallet-api", "oidc.conf", "oidcJwks");
    assert_eq!(
        jwks["envVars"],
        serde_json::json!([]),
        "${{oidcRealm}} is a field of the same file"
    );
    let s = a["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "wallet-api")
        .unwrap();
    let reads = |f: &str| {
        s["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["file"] == f)
            .unwrap()["reads"]
            .clone()
    };
    assert_eq!(reads("db.conf"), "always");
    assert_eq!(reads("dev-mode.conf"), "feature-enabled");
    assert_eq!(reads("trust.conf"), "feature-disabled");
    // no literal secret value in the output
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("dncygwnvivxzlohc"));
}

/// Bad input: exit 2, ONE line on stderr naming the place and the fix, nothing on stdout.
fn bad(args: &[&str], dir: &Path, expect: &[&str]) {
    let o = run_in(dir, args, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(o.stdout.is_empty(), "{args:?} printed to stdout");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: one line, got: {err}"
    );
    for e in expect {
        assert!(err.contains(e), "{args:?}: expected {e:?} in {err}");
    }
}

#[test]
fn bad_input_fails_with_one_precise_line() {
    let r = root();
    let fx = |n: &str| fixture(n).join("compose.yaml").display().to_string();
    bad(
        &["-f", &fx("bad-yaml")],
        &r,
        &["bad-yaml/compose.yaml:6:", "invalid YAML"],
    );
    bad(
        &["-f", &fx("unterminated")],
        &r,
        &[
            "unterminated/compose.yaml:3:19:",
            "services.a.image",
            "unterminated ${; close it with }",
        ],
    );
    bad(
        &["-f", &fx("required-unset")],
        &r,
        &[
            "required-unset/compose.yaml:5:14:",
            "required variable API_TOKEN is not set: set API_TOKEN in .env",
        ],
    );
    bad(
        &["-f", &fx("bad-port")],
        &r,
        &["bad-port/compose.yaml:5:", "invalid port"],
    );
    bad(
        &["--scenario", "nope"],
        &r,
        &["unknown scenario \"nope\"", "known: waltid"],
    );
    bad(
        &["-f", &fx("merge"), "--service", "ghost"],
        &r,
        &["unknown service \"ghost\"", "known: web, api"],
    );
    bad(
        &["-f", "does/not/exist.yaml"],
        &r,
        &["does/not/exist.yaml: no such file; check the path"],
    );
    bad(
        &["-f", &fixture("merge").display().to_string()],
        &r,
        &["merge: "],
    );
    bad(&["--no-such-flag"], &r, &["--no-such-flag"]);
    let empty = tempfile::tempdir().unwrap();
    bad(
        &[],
        empty.path(),
        &["no compose file", "pass --compose FILE or --scenario NAME"],
    );
    std::fs::write(
        empty.path().join("compose.yaml"),
        "services:\n  a:\n    image: x:1\n",
    )
    .unwrap();
    std::fs::write(empty.path().join(".env"), "GOOD=1\nBAD KEY=2\n").unwrap();
    bad(
        &[],
        empty.path(),
        &[".env:2:1: invalid variable name \"BAD KEY\""],
    );
}

#[test]
fn json_by_default_when_piped_and_csv_on_request() {
    let f = fixture("merge/compose.yaml");
    let o = run(&["-f", f.to_str().unwrap()]);
    json(&o);
    let o = run(&["-f", f.to_str().unwrap(), "--format", "csv"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(
        text.lines().next(),
        Some("service,image,pinned,ports,depends on,healthcheck,state")
    );
    assert_eq!(text.lines().count(), 3, "header + web + api");
    // not a terminal: no colour codes, even on stderr
    let o = run(&["-f", "missing.yaml"]);
    assert!(!String::from_utf8_lossy(&o.stderr).contains('\x1b'));
}

/// Runs under a pseudo-terminal (util-linux `script`), as a person at a terminal would.
fn on_tty(cmd: &str, no_color: bool) -> String {
    let mut c = tty_command(cmd);
    c.current_dir(root());
    if no_color {
        c.env("NO_COLOR", "1");
    }
    tty_output(c)
}

#[test]
fn a_terminal_gets_a_table_and_deploy_sh_colours_unless_no_color() {
    let bin = bin();
    let f = fixture("merge/compose.yaml");
    let table = on_tty(&format!("{bin} -f {}", f.display()), false);
    assert!(table.contains("┌") && table.contains("Services"), "{table}");
    assert!(
        table.contains("\x1b[1mServices\x1b[0m"),
        "bold title on a terminal"
    );
    let err = on_tty(&format!("{bin} -f missing.yaml"), false);
    assert!(
        err.contains("\x1b[31mwd-inventory: missing.yaml: no such file"),
        "red error: {err:?}"
    );
    let plain = on_tty(&format!("{bin} -f missing.yaml"), true);
    assert!(
        !plain.contains('\x1b') && plain.contains("wd-inventory: missing.yaml"),
        "NO_COLOR: {plain:?}"
    );
}

/// Every value in tests/fixtures/compose/secret-corpus/cases.txt (40 common secret names, URL
/// userinfo, JDBC `password=`, Bearer, `-p…`/`-storepass`/`--password=` in commands and health
/// checks, HOCON fields) is hidden in every format, at `-vv` (stderr too) and in `--configs`;
/// `--show-secrets` prints them all, so the cases are real.
#[test]
fn secret_corpus_is_redacted_in_every_format() {
    let dir = fixture("secret-corpus");
    let cases: Vec<(String, String)> = std::fs::read_to_string(dir.join("cases.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (v, what) = l.split_once('\t').expect("VALUE<TAB>where");
            (v.to_string(), what.to_string())
        })
        .collect();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut leaks = Vec::new();
    for configs in [false, true] {
        for format in ["json", "table", "csv", "markdown"] {
            for verbose in [false, true] {
                let mut args = vec!["-f", "compose.yaml", "--all", "--format", format];
                if configs {
                    args.push("--configs");
                }
                if verbose {
                    args.push("-vv");
                }
                let o = run_in(&dir, &args, &[]);
                assert_eq!(
                    o.status.code(),
                    Some(0),
                    "{args:?}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                let out = format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
                for (v, what) in &cases {
                    if out.contains(v.as_str()) {
                        leaks.push(format!("{what} ({v}) with {}", args[3..].join(" ")));
                    }
                }
            }
        }
    }
    leaks.dedup();
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
    // Only the secret part is hidden, and the reason does not invoke walt.id.
    let inv = ok_json(&run_in(&dir, &["-f", "compose.yaml", "--all"], &[]));
    let values = service(&inv, "values");
    assert_eq!(
        env(values, "METADATA_DB")["value"],
        "postgresql+psycopg2://airflow:***@postgres/airflow"
    );
    assert_eq!(env(values, "CACHE")["raw"], "redis://:***@redis:6379/0");
    assert_eq!(env(values, "METADATA_DB")["redacted"], true);
    let shell = service(&inv, "shell");
    assert_eq!(
        shell["command"],
        serde_json::json!([
            "keytool",
            "-list",
            "-keystore",
            "/k.jks",
            "-storepass",
            "***",
            "-keypass",
            "***"
        ])
    );
    let text = inv.to_string();
    assert!(
        !text.contains("walt.id"),
        "a non-walt.id stack names walt.id: {text}"
    );
    // --show-secrets: every case is there.
    let mut shown = String::new();
    for extra in [&[][..], &["--configs"][..]] {
        let mut args = vec!["-f", "compose.yaml", "--all", "--show-secrets"];
        args.extend_from_slice(extra);
        shown.push_str(&String::from_utf8_lossy(&run_in(&dir, &args, &[]).stdout));
    }
    let missing: Vec<_> = cases
        .iter()
        .filter(|(v, _)| !shown.contains(v.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "not in the --show-secrets output: {missing:?}"
    );
}

/// A compose project in a fresh directory: `files` are (relative path, content).
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (p, body) in files {
        let path = d.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    d
}

/// Runs with a deadline: a run that blocks (a FIFO opened for reading) is killed and fails.
fn run_with_deadline(dir: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(bin());
    c.current_dir(dir)
        .args(args)
        .env_clear()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(10) {
            child.kill().unwrap();
            panic!("{args:?} blocked for 10 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn errors_point_at_the_offending_node_not_the_first_matching_text() {
    // service b's port and ${ are wrong; service a has the same text, earlier in the file.
    let d = project(&[(
        "compose.yaml",
        "services:\n  a:\n    image: x:1\n    ports:\n      - \"80:80\"\n  b:\n    image: y:1\n    ports:\n      - \"80:80\"\n      - \"80:80:80:80\"\n",
    )]);
    bad(
        &["-f", "compose.yaml"],
        d.path(),
        &["compose.yaml:10:10:", "services.b.ports[1]", "invalid port"],
    );
    let d = project(&[(
        "compose.yaml",
        "services:\n  a:\n    image: x:1\n    environment:\n      A: \"${TAG}\"\n  b:\n    image: y:1\n    environment:\n      A: \"${TAG\"\n",
    )]);
    bad(
        &["-f", "compose.yaml"],
        d.path(),
        &[
            "compose.yaml:9:11:",
            "services.b.environment.A",
            "unterminated ${",
        ],
    );
    // a type error names the node's own line, not the first `ports:` in the file
    let d = project(&[(
        "compose.yaml",
        "services:\n  a:\n    image: x:1\n    ports: [\"80\"]\n  b:\n    image: y:1\n    ports: 80\n",
    )]);
    bad(
        &["-f", "compose.yaml"],
        d.path(),
        &["compose.yaml:7:12:", "services.b.ports", "expected a list"],
    );
}

#[test]
fn what_docker_compose_config_refuses_is_refused() {
    let cases: &[(&str, &[&str])] = &[
        ("", &["compose.yaml:1:1:", "empty compose file"]),
        ("~\n", &["compose.yaml:1:1:", "empty compose file"]),
        ("# only a comment\n", &["empty compose file"]),
        (
            "volumes:\n  data: {}\n",
            &["compose.yaml:1:1:", "no services"],
        ),
        (
            "services:\n  a:\n    image: x:1\n  b:\n    restart: always\n",
            &[
                "compose.yaml:5:5:",
                "services.b",
                "neither an image nor a build context",
            ],
        ),
        (
            "services:\n  a:\n    image: x:1\n    healthcheck:\n      test: 5\n",
            &[
                "compose.yaml:5:13:",
                "services.a.healthcheck.test",
                "expected a string",
            ],
        ),
        (
            "services:\n  a:\n    image: x:1\n    env_file: ./missing.env\n",
            &[
                "compose.yaml:4:15:",
                "services.a.env_file",
                "./missing.env does not exist",
            ],
        ),
        (
            "services:\n  a:\n    image: x:1\n  b:\n    image: x:1\n    depends_on:\n      - a\n      - ghost\n",
            &["compose.yaml:8:9:", "services.b.depends_on", "undefined service \"ghost\""],
        ),
        (
            "services:\n  a:\n    image: x:1\n    env_file: ./envdir\n",
            &["compose.yaml:4:15:", "./envdir is a directory"],
        ),
    ];
    for (body, expect) in cases {
        let d = project(&[("compose.yaml", body), ("envdir/x", "")]);
        bad(&["-f", "compose.yaml"], d.path(), expect);
        bad(&["-f", "compose.yaml", "--check"], d.path(), expect);
    }
    // an optional env_file that is missing is a warning, not silence
    let d = project(&[(
        "compose.yaml",
        "services:\n  a:\n    image: x:1\n    env_file:\n      - path: ./opt.env\n        required: false\n",
    )]);
    let o = run_in(d.path(), &["-f", "compose.yaml"], &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("warning: a: env_file ./opt.env does not exist"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn mkfifo(p: &Path) {
    let ok = Command::new("mkfifo").arg(p).status().unwrap().success();
    assert!(ok, "mkfifo {}", p.display());
}

#[test]
fn fifos_devices_and_unreadable_files_are_named_never_read() {
    let d = project(&[
        ("compose.yaml", "services:\n  a:\n    image: x:1\n    volumes:\n      - ./pipe:/in\n      - /dev/zero:/zero\n      - /proc/self/mem:/mem.conf\n"),
    ]);
    mkfifo(&d.path().join("pipe"));
    mkfifo(&d.path().join("compose-fifo.yaml"));
    mkfifo(&d.path().join("env-fifo"));
    // -f / --env-file given a FIFO: exit 2 at once, not blocked waiting for a writer
    let o = run_with_deadline(d.path(), &["-f", "compose-fifo.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("compose-fifo.yaml: is a FIFO, not a compose file"));
    let o = run_with_deadline(d.path(), &["-f", "compose.yaml", "--env-file", "env-fifo"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("env-fifo: is a FIFO, not an env file"));
    // bind sources: a FIFO and a device are not directories, an unreadable file is not "no secrets"
    let o = run_with_deadline(d.path(), &["-f", "compose.yaml"]);
    let inv = ok_json(&o);
    let mounts = service(&inv, "a")["mounts"].as_array().unwrap().clone();
    for m in &mounts[..2] {
        assert_eq!(m["bind"]["pathKind"], "file", "{m}");
    }
    let codes: Vec<String> = inv["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["code"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            )
        })
        .collect();
    let has = |s: &str| codes.iter().any(|c| c.contains(s));
    assert!(
        has("special-bind-source bind source ./pipe: is a FIFO"),
        "{codes:?}"
    );
    assert!(
        has("special-bind-source bind source /dev/zero: is a character device"),
        "{codes:?}"
    );
    assert!(
        has("unreadable-mounted-file bind source /proc/self/mem: cannot read mem"),
        "{codes:?}"
    );
}

#[test]
fn a_missing_bind_source_is_reported_once_with_its_services() {
    let mut body = String::from("services:\n");
    for s in ["webserver", "scheduler", "worker", "triggerer", "init"] {
        body.push_str(&format!(
            "  {s}:\n    image: apache/airflow:2.10.3\n    volumes:\n      - ./dags:/opt/airflow/dags\n      - ./logs:/opt/airflow/logs\n"
        ));
    }
    let d = project(&[("compose.yaml", &body)]);
    let o = run_in(d.path(), &["-f", "compose.yaml"], &[]);
    let inv = ok_json(&o);
    let missing: Vec<&str> = inv["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "missing-bind-source")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        missing,
        [
            "bind source ./dags does not exist yet (generated at deploy time?); mounted by webserver, scheduler, worker, triggerer, init",
            "bind source ./logs does not exist yet (generated at deploy time?); mounted by webserver, scheduler, worker, triggerer, init",
        ]
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("./dags").count(), 1, "{err}");
}

/// Reads are bounded: a compose file over 16 MiB is refused at once (exit 2), a mounted file over
/// 1 MiB is classified by name and reported as not checked, never read whole.
#[test]
fn large_inputs_are_bounded_with_a_clear_error() {
    let d = project(&[(
        "compose.yaml",
        "services:\n  a:\n    image: x:1\n    volumes:\n      - ./cfg:/etc/a:ro\n",
    )]);
    let mut big = String::from("password = \"literal\"\n");
    while big.len() < (3 << 20) {
        big.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    std::fs::create_dir(d.path().join("cfg")).unwrap();
    std::fs::write(d.path().join("cfg/app.conf"), &big).unwrap();
    let inv = ok_json(&run_in(d.path(), &["-f", "compose.yaml"], &[]));
    let f = &inv["findings"][0];
    assert_eq!(f["code"], "unscanned-mounted-file", "{inv}");
    assert!(
        f["message"].as_str().unwrap().contains("app.conf is 3"),
        "{f}"
    );
    let mut huge = String::from("services:\n  a:\n    image: x:1\n");
    while huge.len() <= (16 << 20) {
        huge.push_str("# a comment line that pads the compose file beyond its size limit....\n");
    }
    std::fs::write(d.path().join("huge.yaml"), huge).unwrap();
    bad(
        &["-f", "huge.yaml"],
        d.path(),
        &[
            "huge.yaml: ",
            "more than the 16 MiB limit for a compose file",
        ],
    );
}
