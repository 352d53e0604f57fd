//! wd-inventory as a library: `inventory::build` on fixtures, no process in between.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wd_inventory::inventory::{build, Request};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/compose")
        .join(rel)
}

fn request(compose: PathBuf) -> Request {
    Request {
        compose: vec![compose],
        all: true,
        config_dir: PathBuf::from("config"),
        process_env: BTreeMap::new(),
        ..Default::default()
    }
}

#[test]
fn the_users_33_fixture_is_clean_and_complete() {
    let inv = build(&request(fixture("users-33/compose.yaml")))
        .unwrap()
        .inventory;
    assert_eq!(inv.services.len(), 33);
    assert!(inv.findings.is_empty(), "{:?}", inv.findings);
    let api = inv.services.iter().find(|s| s.name == "api").unwrap();
    let url = api.env.iter().find(|e| e.name == "PUBLIC_URL").unwrap();
    assert_eq!(url.value.as_deref(), Some("https://example.org:8006/api"));
    assert_eq!(
        api.env
            .iter()
            .find(|e| e.name == "TZ")
            .unwrap()
            .value
            .as_deref(),
        Some("Europe/Berlin")
    );
    let pw = api.env.iter().find(|e| e.name == "DB_PASSWORD").unwrap();
    assert!(pw.redacted && pw.value.is_none());
    assert_eq!(inv.volumes.len(), 33);
    assert!(inv.variables.unset.is_empty() && inv.variables.missing_from_env_example.is_empty());
}

/// Variables are scoped by the service that references them, not by a text prefix of the field
/// (`web` selected must not count what `web.v2` references).
#[test]
fn variables_belong_to_their_service_even_with_dotted_names() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("compose.yaml"),
        "services:\n  web:\n    image: x:${WEB_TAG:-1}\n  web.v2:\n    image: x:${V2_TAG}\n",
    )
    .unwrap();
    let mut req = request(d.path().join("compose.yaml"));
    req.all = false;
    req.services = vec!["web".into()];
    let inv = build(&req).unwrap().inventory;
    assert_eq!(inv.variables.referenced, ["WEB_TAG"]);
    assert!(inv.variables.unset.is_empty());
}

/// 2,000 services with shared binds, volumes and depends_on: every one is there, each shared
/// bind source is summarised once, and the dependency chain is intact. (Cost is measured in
/// `make bench`, not here.)
#[test]
fn a_large_project_is_complete() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("cfg")).unwrap();
    std::fs::write(d.path().join("cfg/app.conf"), "webPort = 1\n").unwrap();
    let n = 2000;
    let mut y = String::from("services:\n");
    for i in 1..=n {
        y.push_str(&format!(
            "  s{i}:\n    image: r/s{i}:${{T{i}:-1}}\n    environment:\n      U: \"${{H:-h}}:{i}\"\n    volumes:\n      - ./cfg:/etc/s:ro\n      - d{i}:/data\n    depends_on: [s{}]\n",
            i % n + 1
        ));
    }
    y.push_str("volumes:\n");
    for i in 1..=n {
        y.push_str(&format!("  d{i}:\n"));
    }
    std::fs::write(d.path().join("compose.yaml"), y).unwrap();
    let inv = build(&request(d.path().join("compose.yaml")))
        .unwrap()
        .inventory;
    assert_eq!(inv.services.len(), n);
    assert_eq!(inv.volumes.len(), n);
    assert!(inv.volumes.iter().all(|v| v.used_by.len() == 1));
    assert_eq!(inv.variables.referenced.len(), n + 1);
    assert!(inv.services.iter().all(|s| s.mounts[0]
        .bind
        .as_ref()
        .is_some_and(|b| b.files.len() == 1)));
    assert!(inv.findings.is_empty(), "{:?}", &inv.findings[..1]);
}
