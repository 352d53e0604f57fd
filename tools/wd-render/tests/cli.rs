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

fn render(stdin: &[u8], args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wd-render"));
    c.current_dir(root())
        .args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
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
        "issTokenClaim = \"https://wallet.localtest.me\"",
    ] {
        assert!(auth.contains(k), "{k}");
    }
    assert!(conf("issuer-api/config/issuer-service.conf")
        .contains("baseUrl = \"https://issuer.localtest.me\""));
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
        "https://auth.localtest.me/realms/vcplatform"
    );
    assert_eq!(arr[0]["clientId"], "vcplatform");
    assert_eq!(
        arr[1]["issuerUrl"],
        "https://wso2.localtest.me/oauth2/token"
    );
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
    assert_eq!(st["verifier_url"], "https://verifier.localtest.me");
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
    assert_eq!(cfg["issuerBaseUrl"], "https://issuer.localtest.me");
    assert_eq!(cfg["verifierBaseUrl"], "https://verifier.localtest.me");
    assert_eq!(cfg["walletBaseUrl"], "https://wallet.localtest.me");
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
