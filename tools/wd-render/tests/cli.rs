//! wd-render as users run it: `wd-inventory --scenario waltid | wd-render`, on the real binaries.

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// wd-inventory is built by the same `cargo test` run (workspace member) in the same target dir.
fn inventory_bin() -> PathBuf {
    let me = PathBuf::from(env!("CARGO_BIN_EXE_wd-render"));
    me.with_file_name("wd-inventory")
}

fn inventory(args: &[&str], env: &[(&str, &str)]) -> Vec<u8> {
    let mut c = Command::new(inventory_bin());
    c.current_dir(root()).args(args).arg("-q").env_clear();
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c
        .output()
        .expect("wd-inventory is built (cargo test --workspace builds every binary)");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// The binary under test: this crate's, or $WD_RENDER_BIN (to run these tests against another
/// build, e.g. to show a regression test fails on the code before a fix).
fn bin() -> PathBuf {
    std::env::var_os("WD_RENDER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_wd-render")))
}

fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(bin());
    c.current_dir(root())
        .args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

fn render(stdin: &[u8], args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = command(args, env).spawn().unwrap();
    // A refused input may be closed before it is read in full.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn ok(o: &Output) -> Value {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn ref_inventory() -> Vec<u8> {
    inventory(&["--scenario", "waltid"], &[])
}

#[test]
fn renders_the_waltid_scenario_for_kubernetes() {
    let out = tempfile::tempdir().unwrap();
    let plan = ok(&render(
        &ref_inventory(),
        &["--out", out.path().to_str().unwrap()],
        &[],
    ));
    assert_eq!(
        (
            plan["kind"].as_str(),
            plan["flavor"].as_str(),
            plan["target"].as_str()
        ),
        (Some("RenderPlan"), Some("k8s"), Some("local"))
    );
    // every file listed exists with the listed checksum and size
    let files = plan["files"].as_array().unwrap();
    assert!(files.len() >= 18);
    for f in files {
        let bytes = std::fs::read(out.path().join(f["path"].as_str().unwrap())).unwrap();
        assert_eq!(
            wd_core::fsio::sha256_hex(&bytes),
            f["sha256"].as_str().unwrap(),
            "{}",
            f["path"]
        );
        assert_eq!(bytes.len() as u64, f["bytes"].as_u64().unwrap());
        assert!(!f["inputs"].as_array().unwrap().is_empty());
    }
    let saved: wd_core::docs::render_plan::RenderPlan = wd_core::docs::parse(
        &std::fs::read_to_string(out.path().join("render-plan.json")).unwrap(),
        "render-plan.json",
    )
    .unwrap();
    assert_eq!(saved.files.len(), files.len());

    // walt.id facts: ports, recreateDatabaseOnStart=false, secrets only as env references
    let conf = |p: &str| std::fs::read_to_string(out.path().join("waltid").join(p)).unwrap();
    for (svc, port) in [
        ("issuer-api", 7002),
        ("verifier-api", 7003),
        ("wallet-api", 7001),
    ] {
        assert!(conf(&format!("{svc}/config/web.conf")).contains(&format!("webPort = {port}\n")));
    }
    let db = conf("wallet-api/config/db.conf");
    assert!(db.contains("recreateDatabaseOnStart = false"));
    assert!(db.contains("jdbc:postgresql://waltid-pg-rw:5432/waltid"));
    assert!(db.contains("password = \"${DB_PASSWORD}\""));
    let auth = conf("wallet-api/config/auth.conf");
    for k in [
        "encryptionKey = \"${WALLET_ENCRYPTION_KEY}\"",
        "signKey = \"${WALLET_SIGN_KEY}\"",
        "tokenKey = \"${WALLET_TOKEN_KEY}\"",
        "issTokenClaim = \"http://wallet.localtest.me\"",
    ] {
        assert!(auth.contains(k), "{k}");
    }
    assert!(conf("issuer-api/config/issuer-service.conf")
        .contains("baseUrl = \"http://issuer.localtest.me\""));
    assert!(conf("verifier-api/config/verifier-service.conf").contains(
        "requestSigningKeyFile = \"/waltid-verifier-api/secrets/request-signing.key.pem\""
    ));
    assert!(
        !out.path()
            .join("waltid/issuer-api/config/persistence.conf")
            .exists(),
        "persistence is off by default"
    );
    assert!(
        !out.path()
            .join("waltid/wallet-api/config/dev-mode.conf")
            .exists(),
        "no dev-mode on Kubernetes"
    );

    // every rendered HOCON file parses with a HOCON parser
    for f in files
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .filter(|p| p.ends_with(".conf"))
    {
        let text = std::fs::read_to_string(out.path().join(f)).unwrap();
        hocon::HoconLoader::new()
            .load_str(&text)
            .and_then(|l| l.hocon())
            .unwrap_or_else(|e| panic!("{f} is not HOCON: {e}"));
    }

    // auth-providers.json is an ARRAY (an object crashes the app): keycloak then wso2is
    let ap = read_json(&out.path().join("app/auth-providers.json"));
    let arr = ap.as_array().expect("auth-providers.json is a JSON array");
    assert_eq!(arr.len(), 2);
    assert_eq!(
        arr[0]["issuerUrl"],
        "http://auth.localtest.me/realms/vcplatform"
    );
    assert_eq!(arr[0]["clientId"], "vcplatform");
    assert_eq!(arr[1]["issuerUrl"], "http://wso2.localtest.me/oauth2/token");
    assert_eq!(arr[1]["clientId"], "verifiably_go_client");
    for p in arr {
        for k in [
            "id",
            "type",
            "displayName",
            "kind",
            "issuerUrl",
            "clientId",
            "scopes",
        ] {
            assert!(p.get(k).is_some(), "{k}");
        }
        assert_eq!(
            (p["type"].as_str(), p["kind"].as_str()),
            (Some("oidc"), Some("OIDC"))
        );
        assert_eq!(
            p["scopes"],
            serde_json::json!(["openid", "profile", "email"])
        );
    }

    // backends.json: every field of waltid-facts §6, in order, with the right types
    let b = read_json(&out.path().join("app/backends.json"));
    let st = &b["backends"][0];
    let keys: Vec<&String> = st.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["verifier_url", "vendor", "type", "roles", "dpg", "config"]
    );
    assert_eq!(st["verifier_url"], "http://verifier.localtest.me");
    assert!(st["vendor"].is_string());
    assert_eq!(st["type"], "walt_community");
    assert_eq!(
        st["roles"],
        serde_json::json!(["issuer", "holder", "verifier"])
    );
    let dpg = &st["dpg"];
    for (k, t) in [
        ("Vendor", "s"),
        ("Version", "s"),
        ("Tag", "s"),
        ("Tagline", "s"),
        ("FlowPreAuth", "b"),
        ("FlowAuthCode", "b"),
        ("FlowPlain", "s"),
        ("Formats", "a"),
        ("FormatsPlain", "s"),
        ("DirectPDF", "b"),
        ("DirectPDFPlain", "s"),
        ("Caveats", "s"),
        ("Capabilities", "a"),
    ] {
        let v = &dpg[k];
        assert!(
            match t {
                "s" => v.is_string(),
                "b" => v.is_boolean(),
                _ => v.is_array(),
            },
            "dpg.{k} has the wrong type: {v}"
        );
    }
    assert_eq!(dpg["Version"], "v0.18.2");
    assert_eq!(
        (
            dpg["FlowPreAuth"].as_bool(),
            dpg["FlowAuthCode"].as_bool(),
            dpg["DirectPDF"].as_bool()
        ),
        (Some(true), Some(true), Some(false))
    );
    for c in dpg["Capabilities"].as_array().unwrap() {
        for k in ["Kind", "Key", "Title", "Body"] {
            assert!(c[k].is_string());
        }
    }
    let cfg = &st["config"];
    assert_eq!(cfg["issuerBaseUrl"], "http://issuer.localtest.me");
    assert_eq!(cfg["verifierBaseUrl"], "http://verifier.localtest.me");
    assert_eq!(cfg["walletBaseUrl"], "http://wallet.localtest.me");
    assert_eq!(cfg["standardVersion"], "draft13");
    for k in ["name", "email", "password"] {
        assert!(cfg["demoAccount"][k].is_string());
    }
    assert_eq!(
        plan["pendingSecrets"][0]["field"],
        "/backends/0/config/demoAccount/password"
    );

    // the umbrella values: images from the inventory, secret names from the plan, config files embedded
    let v: Value = serde_norway::from_str(
        &std::fs::read_to_string(out.path().join("helm/values-waltid.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        v["walt-wallet"]["image"],
        serde_json::json!({"repository": "waltid/wallet-api", "tag": "0.18.2"})
    );
    assert_eq!(v["libretranslate"]["image"]["tag"], "v1.6.5");
    assert_eq!(
        v["walt-wallet"]["database"]["existingSecret"],
        "waltid-postgres-app"
    );
    assert_eq!(
        v["walt-wallet"]["config"]["files"]["auth.conf"],
        std::fs::read_to_string(out.path().join("waltid/wallet-api/config/auth.conf")).unwrap()
    );
    assert!(v["verifiably-go"]["config"]["files"]["auth-providers.json"]
        .as_str()
        .unwrap()
        .starts_with('['));
    assert!(v["keycloak"]["config"]["files"]["realm-vcplatform.json"].is_string());

    // the secret plan: every secret the templates reference, and nothing else needed
    let sp: wd_core::docs::secret_plan::SecretPlan = wd_core::docs::parse(
        &std::fs::read_to_string(out.path().join("secrets/secret-plan.json")).unwrap(),
        "plan",
    )
    .unwrap();
    let k = |n: &str| {
        sp.secrets
            .iter()
            .find(|s| s.name == n)
            .unwrap_or_else(|| panic!("{n}"))
            .clone()
    };
    assert_eq!(k("wallet-encryption-key").policy.length, Some(16));
    assert_eq!(k("wallet-sign-key").policy.length, Some(16));
    assert!(k("wallet-token-key").policy.length.unwrap() >= 32);
    assert_eq!(
        k("verifier-request-signing-key").policy.format,
        "ec-p256-pem"
    );
    assert_eq!(k("issuer-ci-token-key").policy.format, "waltid-key");
    assert_eq!(k("postgres-app-password").vault_path, "waltid/postgres/app");
    assert_eq!(sp.kv_mount, "secret");

    // no credential in any rendered file: the realm has no users with passwords
    let realm = read_json(&out.path().join("keycloak/realm-vcplatform.json"));
    assert_eq!(realm["users"], serde_json::json!([]));
    assert_eq!(realm["clients"][0]["publicClient"], true);
    let toml = std::fs::read_to_string(out.path().join("wso2is/deployment.toml")).unwrap();
    assert!(
        toml.contains("password = \"$env{WSO2_ADMIN_PASSWORD}\"")
            && !toml.contains("\"admin\"\ncreate")
            && !toml.contains("= \"wso2carbon\"\n[")
            && !toml.contains("password = \"wso2carbon\"")
    );
}

#[test]
fn compose_flavor_uses_the_same_templates_and_deploy_sh_url_rules() {
    let out = tempfile::tempdir().unwrap();
    let o = |args: &[&str], env: &[(&str, &str)]| {
        ok(&render(
            &ref_inventory(),
            &[
                &["--flavor", "compose", "--out", out.path().to_str().unwrap()],
                args,
            ]
            .concat(),
            env,
        ))
    };
    let plan = o(&[], &[]);
    let paths: Vec<&str> = plan["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"compose/waltid.env") && !paths.contains(&"helm/values-waltid.yaml"));
    assert!(paths.contains(&"waltid/wallet-api/config/dev-mode.conf"));
    let b = read_json(&out.path().join("app/backends.json"));
    assert_eq!(
        b["backends"][0]["config"]["issuerBaseUrl"],
        "http://localhost:7002"
    );
    assert_eq!(
        b["backends"][0]["config"]["walletBaseUrl"],
        "http://localhost:7001"
    );
    let ap = read_json(&out.path().join("app/auth-providers.json"));
    assert_eq!(
        ap[0]["issuerUrl"],
        "http://localhost:8180/realms/vcplatform"
    );
    assert_eq!(ap[1]["issuerUrl"], "https://localhost:9443/oauth2/token");
    assert_eq!(ap[1]["insecureSkipVerify"], true);
    let db = std::fs::read_to_string(out.path().join("waltid/wallet-api/config/db.conf")).unwrap();
    assert!(db.contains("jdbc:postgresql://postgres:5432/waltid"));
    let env = std::fs::read_to_string(out.path().join("compose/waltid.env")).unwrap();
    assert!(env.contains("WALLET_BACKEND_PORT=7001\n") && env.contains("# DB_PASSWORD"));
    assert!(
        !env.lines().any(|l| l.starts_with("DB_PASSWORD=")),
        "no secret values in the env file"
    );
    // VERIFIABLY_PUBLIC_HOST, then the hosts pattern with slugs, then a slug override
    let p = o(&[], &[("VERIFIABLY_PUBLIC_HOST", "demo.lan")]);
    assert!(p["urls"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["url"] == "http://demo.lan:7003"));
    o(
        &[],
        &[
            ("VERIFIABLY_HOSTS_PATTERN", "https://%s.example.org"),
            ("VERIFIABLY_SLUG_WALT_ISSUER", "iss"),
        ],
    );
    let b = read_json(&out.path().join("app/backends.json"));
    assert_eq!(
        b["backends"][0]["config"]["issuerBaseUrl"],
        "https://iss.example.org"
    );
    assert_eq!(
        b["backends"][0]["verifier_url"],
        "https://walt-verifier.example.org"
    );
    // verifier_url is "" when the roles do not include verifier
    o(&["--set", "roles=[issuer, holder]"], &[]);
    let b = read_json(&out.path().join("app/backends.json"));
    assert_eq!(b["backends"][0]["verifier_url"], "");
    assert_eq!(
        b["backends"][0]["roles"],
        serde_json::json!(["issuer", "holder"])
    );
    // --secrets-from-env writes the demo password, mode 0600, only when asked
    let p = o(
        &["--secrets-from-env"],
        &[("DEMO_ACCOUNT_PASSWORD", "demo-pw-123")],
    );
    assert_eq!(p["pendingSecrets"], serde_json::json!([]));
    let b = read_json(&out.path().join("app/backends.json"));
    assert_eq!(
        b["backends"][0]["config"]["demoAccount"]["password"],
        "demo-pw-123"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(out.path().join("app/backends.json"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
}

#[test]
fn values_and_targets_change_the_output() {
    let out = tempfile::tempdir().unwrap();
    let extra = out.path().join("extra.yaml");
    std::fs::write(
        &extra,
        "domain: example.org\npersistence:\n  redis:\n    enabled: true\n",
    )
    .unwrap();
    let dir = out.path().join("o");
    let plan = ok(&render(
        &ref_inventory(),
        &[
            "--target",
            "onprem",
            "--values",
            extra.to_str().unwrap(),
            "--set",
            "wallet.tokenLifetimeDays=7",
            "--out",
            dir.to_str().unwrap(),
        ],
        &[],
    ));
    assert_eq!(plan["target"], "onprem");
    let f = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap();
    assert!(
        f("waltid/issuer-api/config/issuer-service.conf").contains("https://issuer.example.org")
    );
    assert!(
        f("waltid/issuer-api/config/persistence.conf").contains("password = \"${REDIS_PASSWORD}\"")
    );
    assert!(f("waltid/verifier-api/config/persistence.conf").contains("type = \"redis\""));
    assert!(f("waltid/issuer-api/config/_features.conf").contains("persistence"));
    assert!(f("waltid/wallet-api/config/auth.conf").contains("tokenLifetime = \"7\""));
    let v: Value = serde_norway::from_str(&f("helm/values-waltid.yaml")).unwrap();
    assert_eq!(v["global"]["ingress"]["clusterIssuer"], "letsencrypt");
    assert_eq!(v["global"]["profile"], "prod");
    assert_eq!(v["walt-issuer"]["persistence"]["redis"]["enabled"], true);
}

#[test]
fn images_come_from_the_inventory() {
    // walt.id's own compose names waltid/*:stable (its .env): the rendered values follow the audit
    let data = root().join("../shared/testdata/waltid-identity-v0.18.2");
    let data = if data.is_dir() {
        data
    } else {
        PathBuf::from("/work/shared/testdata/waltid-identity-v0.18.2")
    };
    let f = data.join("docker-compose.yaml");
    let inv = inventory(
        &[
            "-f",
            f.to_str().unwrap(),
            "--service",
            "wallet-api",
            "--service",
            "issuer-api",
        ],
        &[],
    );
    let out = tempfile::tempdir().unwrap();
    ok(&render(
        &inv,
        &[
            "--scenario",
            "waltid",
            "--out",
            out.path().to_str().unwrap(),
        ],
        &[],
    ));
    let v: Value = serde_norway::from_str(
        &std::fs::read_to_string(out.path().join("helm/values-waltid.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(v["walt-wallet"]["image"]["tag"], "stable");
    assert_eq!(
        v["walt-verifier"]["image"]["tag"], "0.18.2",
        "not in the inventory: the default"
    );
}

#[test]
fn documents_round_trip() {
    let text = String::from_utf8(ref_inventory()).unwrap();
    let inv: wd_core::docs::inventory::Inventory = wd_core::docs::parse(&text, "inv").unwrap();
    assert_eq!(wd_core::docs::to_json(&inv), text);
    let out = tempfile::tempdir().unwrap();
    let o = render(
        text.as_bytes(),
        &["--out", out.path().to_str().unwrap()],
        &[],
    );
    let plan_text = String::from_utf8(o.stdout).unwrap();
    let plan: wd_core::docs::render_plan::RenderPlan =
        wd_core::docs::parse(&plan_text, "plan").unwrap();
    assert_eq!(wd_core::docs::to_json(&plan), plan_text);
}

/// A copy of config/ to break on purpose.
fn config_copy() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                copy(&p, &to.join(e.file_name()));
            } else {
                std::fs::copy(&p, to.join(e.file_name())).unwrap();
            }
        }
    }
    copy(&root().join("config"), &d.path().join("config"));
    d
}

fn listing(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(d: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push((p.clone(), std::fs::read(&p).unwrap()));
                }
            }
        }
    }
    walk(dir, &mut out);
    out.sort();
    out
}

/// exit 2, one line naming the place, nothing on stdout, the output directory untouched.
fn fails(stdin: &[u8], args: &[&str], expect: &[&str]) {
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("keep.txt"), "previous run").unwrap();
    let before = listing(out.path());
    let o = render(
        stdin,
        &[args, &["--out", out.path().to_str().unwrap()]].concat(),
        &[],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(o.stdout.is_empty());
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    for e in expect {
        assert!(err.contains(e), "expected {e:?} in {err}");
    }
    assert_eq!(listing(out.path()), before, "nothing written");
}

#[test]
fn bad_input_writes_nothing() {
    let inv = ref_inventory();
    fails(b"{not json", &[], &["<stdin>:1:2: invalid JSON"]);
    fails(
        b"{\"apiVersion\":\"wd/v1\",\"kind\":\"RenderPlan\"}",
        &[],
        &["kind is \"RenderPlan\", expected \"Inventory\""],
    );
    fails(
        b"{\"apiVersion\":\"v0\",\"kind\":\"Inventory\"}",
        &[],
        &["apiVersion is \"v0\", expected \"wd/v1\""],
    );
    fails(
        &inv,
        &["--scenario", "nope"],
        &["unknown scenario \"nope\""],
    );
    fails(
        &inv,
        &["--set", "novalue"],
        &["--set novalue: expected key.path=value"],
    );
    fails(
        &inv,
        &["--set", "hostsPattern=https://x.org"],
        &["hostsPattern \"https://x.org\" must contain %s"],
    );
    fails(
        &inv,
        &["--secrets-from-env"],
        &["only with --flavor compose"],
    );
    fails(
        &inv,
        &["--values", "no/such.yaml"],
        &["no/such.yaml: no such file"],
    );
    fails(
        &inv,
        &["--flavor", "compose", "--secrets-from-env"],
        &["DEMO_ACCOUNT_PASSWORD is not set"],
    );

    // a template that names an unknown variable: template:line:col and the variable
    let cfg = config_copy();
    let dir = cfg.path().join("config");
    let tpl = dir.join("templates/waltid/auth.conf.hbs");
    let text = std::fs::read_to_string(&tpl).unwrap();
    std::fs::write(
        &tpl,
        format!("{text}extra = \"{{{{values.wallet.noSuchKey}}}}\"\n"),
    )
    .unwrap();
    fails(
        &inv,
        &["--config-dir", dir.to_str().unwrap()],
        &[
            "config/templates/waltid/auth.conf.hbs:8:",
            "unknown variable",
            "noSuchKey",
        ],
    );
    // a template that renders broken JSON
    std::fs::write(&tpl, text).unwrap();
    std::fs::write(
        dir.join("templates/app/auth-providers.json.hbs"),
        "[{\"id\": {{values.keycloak.realm}}}]",
    )
    .unwrap();
    fails(
        &inv,
        &["--config-dir", dir.to_str().unwrap()],
        &["config/templates/app/auth-providers.json.hbs: renders invalid JSON"],
    );
    // a secret the plan does not define
    std::fs::write(
        dir.join("templates/app/auth-providers.json.hbs"),
        "[{\"x\": \"{{envref \"nope\"}}\"}]",
    )
    .unwrap();
    fails(
        &inv,
        &["--config-dir", dir.to_str().unwrap()],
        &["unknown secret \"nope\""],
    );
    // a Vault path that leaves the planned tree
    let secrets = std::fs::read_to_string(dir.join("secrets.yaml")).unwrap();
    std::fs::write(
        dir.join("secrets.yaml"),
        secrets.replacen("vaultPath: ", "vaultPath: ../", 1),
    )
    .unwrap();
    fails(
        &inv,
        &["--config-dir", dir.to_str().unwrap()],
        &["secrets.yaml: secrets[", "].vaultPath: \"../"],
    );
    // a bad secrets.yaml field
    std::fs::write(dir.join("secrets.yaml"), "secrets:\n  - name: x\n").unwrap();
    fails(
        &inv,
        &["--config-dir", dir.to_str().unwrap()],
        &["secrets.yaml", "missing field"],
    );
}

#[test]
fn every_planned_secret_has_a_runbook() {
    let out = tempfile::tempdir().unwrap();
    ok(&render(
        &ref_inventory(),
        &["--out", out.path().to_str().unwrap()],
        &[],
    ));
    let sp: wd_core::docs::secret_plan::SecretPlan = wd_core::docs::parse(
        &std::fs::read_to_string(out.path().join("secrets/secret-plan.json")).unwrap(),
        "plan",
    )
    .unwrap();
    for s in &sp.secrets {
        let rb = root().join(&s.runbook);
        let text = std::fs::read_to_string(&rb)
            .unwrap_or_else(|_| panic!("{}: runbook {} is missing", s.name, s.runbook));
        assert!(
            text.contains(&s.name)
                || std::fs::read_to_string(root().join("docs/runbooks/README.md"))
                    .unwrap()
                    .contains(&s.name),
            "{} is not mentioned in {}",
            s.name,
            s.runbook
        );
        assert!(!s.restart_on_rotate.is_empty() && !s.consumers.is_empty());
    }
}

/// Every regular file below `dir` (following the output set's links), relative, except the
/// generations in `.wd-render/` and the files in `foreign`.
fn visible_files(dir: &Path, foreign: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.file_name().is_some_and(|n| n == ".wd-render") && d == base {
                    continue;
                }
                if p.is_dir() {
                    walk(base, &p, out);
                } else {
                    out.push(p.strip_prefix(base).unwrap().display().to_string());
                }
            }
        }
    }
    walk(dir, dir, &mut out);
    out.retain(|p| !foreign.contains(&p.as_str()));
    out.sort();
    out
}

/// (path, sha256) of a RenderPlan's files.
fn plan_files(plan: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = plan["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The output set in `dir` is exactly one of `plans`: its render-plan.json is one of them, every
/// file it lists has the listed sha256, and no other file (no temporary file) is visible.
fn assert_whole_set(dir: &Path, plans: &[&Value], foreign: &[&str], when: &str) {
    let text = std::fs::read_to_string(dir.join("render-plan.json"))
        .unwrap_or_else(|e| panic!("{when}: render-plan.json unreadable: {e}"));
    let plan: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{when}: render-plan.json is not JSON: {e}"));
    let files = plan_files(&plan);
    assert!(
        plans.iter().any(|p| plan_files(p) == files),
        "{when}: render-plan.json is neither the old nor the new plan"
    );
    for (path, sha) in &files {
        let bytes = std::fs::read(dir.join(path))
            .unwrap_or_else(|e| panic!("{when}: {path} listed but unreadable: {e}"));
        assert_eq!(
            &wd_core::fsio::sha256_hex(&bytes),
            sha,
            "{when}: {path} does not match render-plan.json (a mixed set)"
        );
    }
    let mut expected: Vec<String> = files.into_iter().map(|(p, _)| p).collect();
    expected.push("render-plan.json".into());
    expected.sort();
    assert_eq!(
        visible_files(dir, foreign),
        expected,
        "{when}: files beside the set (stale temporary files or an earlier render's files)"
    );
}

#[test]
fn a_killed_render_leaves_the_old_set_or_the_new_one_whole() {
    let inv = ref_inventory();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // k8s-deploy.sh writes out/manifests.yaml beside the render: it must survive every render
    std::fs::write(out.join("manifests.yaml"), "kind: List\n").unwrap();
    let foreign = ["manifests.yaml"];
    let o = out.to_str().unwrap();
    let a: Vec<&str> = vec!["--out", o];
    // b: different bytes in most files, and files a does not have (persistence.conf)
    let b: Vec<&str> = vec![
        "--out",
        o,
        "--set",
        "persistence.redis.enabled=true",
        "--set",
        "wallet.tokenLifetimeDays=7",
        "--set",
        "domain=example.org",
    ];
    let plan_a = ok(&render(&inv, &a, &[]));
    assert_whole_set(&out, &[&plan_a], &foreign, "after render a");
    let started = std::time::Instant::now();
    let plan_b = ok(&render(&inv, &b, &[]));
    let full = started.elapsed();
    assert_whole_set(&out, &[&plan_b], &foreign, "after render b");
    assert_ne!(plan_files(&plan_a), plan_files(&plan_b));

    // 30 kills spread over a render's run time, densest where it writes (the end)
    for i in 0..30u32 {
        let args = if i % 2 == 0 { &a } else { &b };
        let mut child = command(args, &[]).spawn().unwrap();
        let _ = child.stdin.take().unwrap().write_all(&inv);
        let frac = 0.3 + 0.9 * f64::from((i * 7) % 30) / 30.0;
        std::thread::sleep(full.mul_f64(frac));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        assert_whole_set(
            &out,
            &[&plan_a, &plan_b],
            &foreign,
            &format!("kill {i} at {frac:.2} of a render"),
        );
    }

    // the next render removes what killed ones left, and the files the new plan does not list
    ok(&render(&inv, &b, &[]));
    ok(&render(&inv, &a, &[]));
    assert_whole_set(&out, &[&plan_a], &foreign, "after the kills");
    assert!(!out
        .join("waltid/issuer-api/config/persistence.conf")
        .exists());
    let mut state: Vec<String> = std::fs::read_dir(out.join(".wd-render"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    state.sort();
    assert_eq!(
        state.len(),
        3,
        "lock, current and one generation: {state:?}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("manifests.yaml")).unwrap(),
        "kind: List\n"
    );
}

#[test]
fn unchanged_files_are_not_rewritten() {
    use std::os::unix::fs::MetadataExt;
    let inv = ref_inventory();
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let first = ok(&render(&inv, &["--out", o], &[]));
    let inode = |p: &str| std::fs::metadata(out.path().join(p)).unwrap().ino();
    let before: Vec<(String, u64)> = plan_files(&first)
        .into_iter()
        .map(|(p, _)| (p.clone(), inode(&p)))
        .collect();
    let second = ok(&render(
        &inv,
        &["--out", o, "--set", "wallet.tokenLifetimeDays=9"],
        &[],
    ));
    let changed: Vec<&String> = before
        .iter()
        .filter(|(p, i)| inode(p) != *i)
        .map(|(p, _)| p)
        .collect();
    let differ: Vec<String> = plan_files(&first)
        .into_iter()
        .zip(plan_files(&second))
        .filter(|(x, y)| x != y)
        .map(|(x, _)| x.0)
        .collect();
    assert!(!differ.is_empty());
    let changed: Vec<String> = changed.into_iter().cloned().collect();
    assert_eq!(
        changed, differ,
        "exactly the files whose bytes changed are new files"
    );
}

#[test]
fn values_are_checked_against_the_schema_and_the_culprit_is_named() {
    let inv = ref_inventory();
    let schema_hint = "values.schema.json";
    for (args, expect) in [
        (
            vec!["--set", "domain="],
            vec!["--set domain=: domain:", "is not a hostname"],
        ),
        (
            vec!["--set", "domain=a b/c"],
            vec!["--set domain=a b/c: domain:", "is not a hostname"],
        ),
        (
            vec!["--set", "persistence.redis.enabled=maybe"],
            vec![
                "--set persistence.redis.enabled=maybe: persistence.redis.enabled: want boolean",
                schema_hint,
            ],
        ),
        (
            vec!["--set", "roles=[unclosed"],
            vec!["--set roles=[unclosed: ", "not a valid YAML list"],
        ),
        (
            vec!["--set", "images.issuer=[1,2]"],
            vec!["--set images.issuer=[1,2]: images.issuer: want object"],
        ),
        (
            vec!["--set", "wallet.tokenLifetimeDayz=7"],
            vec!["wallet.tokenLifetimeDayz: unknown key"],
        ),
        (
            vec!["--set", "images.isuer.tag=1"],
            vec!["images.isuer: not a component of the scenario"],
        ),
        (
            vec!["--set-string", "images..tag=1"],
            vec!["--set-string images..tag=1: empty key segment"],
        ),
        (
            vec!["--set", "images=1"],
            vec!["--set images=1: images: want object"],
        ),
        (
            vec!["--set", "roles=[issuer, judge]"],
            vec!["--set roles=[issuer, judge]: roles.1:"],
        ),
        (
            vec!["--set-string", "tls=true"],
            vec!["--set-string tls=true: tls: want boolean"],
        ),
    ] {
        fails(&inv, &args, &expect);
    }
    // a values file and the deploy.sh environment are named the same way
    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("bad.yaml");
    std::fs::write(&bad, "persistence:\n  redis:\n    enabled: maybe\n").unwrap();
    fails(
        &inv,
        &["--values", bad.to_str().unwrap()],
        &["bad.yaml: persistence.redis.enabled: want boolean"],
    );
    let o = render(
        &inv,
        &[
            "--flavor",
            "compose",
            "--out",
            d.path().join("o").to_str().unwrap(),
        ],
        &[("VERIFIABLY_PUBLIC_HOST", "two words")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the environment (VERIFIABLY_PUBLIC_HOST"));
    assert!(!d.path().join("o").exists(), "nothing written");
    // what is valid still renders: a tag that looks like a number, as text
    ok(&render(
        &inv,
        &[
            "--out",
            d.path().join("p").to_str().unwrap(),
            "--set-string",
            "images.issuer.tag=1.10",
        ],
        &[],
    ));
}

#[test]
fn the_schema_accepts_every_values_file_and_every_target_renders() {
    let config = root().join("config");
    let sc: Value = serde_norway::from_str(
        &std::fs::read_to_string(config.join("scenarios/waltid.yaml")).unwrap(),
    )
    .unwrap();
    let components: Vec<String> = sc["render"]["components"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let schema = wd_render::schema::ValuesSchema::load(&config, components).unwrap();
    for e in std::fs::read_dir(config.join("values")).unwrap().flatten() {
        let v = wd_render::values::load(&e.path()).unwrap();
        schema
            .check_layer(&v, &e.path().display().to_string())
            .unwrap_or_else(|err| panic!("{err}"));
    }
    let inv = ref_inventory();
    for target in ["local", "onprem", "aws"] {
        for flavor in ["k8s", "compose"] {
            let out = tempfile::tempdir().unwrap();
            ok(&render(
                &inv,
                &[
                    "--target",
                    target,
                    "--flavor",
                    flavor,
                    "--out",
                    out.path().to_str().unwrap(),
                ],
                &[],
            ));
        }
    }
}

fn children_peak_rss_mib() -> i64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    ru.ru_maxrss / 1024
}

#[test]
fn oversized_or_non_object_input_is_refused_before_it_is_parsed() {
    // a 52 MB JSON array: refused from its first byte
    let mut arr = Vec::with_capacity(52 << 20);
    arr.push(b'[');
    while arr.len() < 52 << 20 {
        arr.extend_from_slice(b"{\"a\":[1,2,3,4,5,6,7,8,9]},");
    }
    arr.extend_from_slice(b"{}]");
    fails(&arr, &[], &["<stdin>: not a JSON object"]);
    // an object above the limit: refused with the limit named
    let mut big = b"{\"apiVersion\":\"wd/v1\",\"kind\":\"Inventory\",\"x\":\"".to_vec();
    big.resize(33 << 20, b'a');
    big.extend_from_slice(b"\"}");
    fails(&big, &[], &["<stdin>: more than 32 MiB"]);
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), &arr).unwrap();
    fails(
        b"",
        &["--inventory", f.path().to_str().unwrap()],
        &["not a JSON object"],
    );
    let peak = children_peak_rss_mib();
    assert!(peak < 400, "a refused input cost {peak} MiB of memory");
}

#[test]
fn concurrent_renders_into_one_directory_take_turns() {
    let inv = ref_inventory();
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let a = ok(&render(&inv, &["--out", o], &[]));
    let b_args = ["--out", o, "--set", "persistence.redis.enabled=true"];
    let children: Vec<std::process::Child> = (0..4)
        .map(|i| {
            let args: &[&str] = if i % 2 == 0 { &["--out", o] } else { &b_args };
            let mut c = command(args, &[]).spawn().unwrap();
            c.stdin.take().unwrap().write_all(&inv).unwrap();
            c
        })
        .collect();
    let mut plans = vec![a];
    for c in children {
        plans.push(ok(&c.wait_with_output().unwrap()));
    }
    let refs: Vec<&Value> = plans.iter().collect();
    assert_whole_set(out.path(), &refs, &[], "after four concurrent renders");
}
