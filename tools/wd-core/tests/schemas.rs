//! docs/schemas/ is generated from the document types; this test fails when it is stale.
//! Regenerate with `make schemas` (WD_UPDATE_SCHEMAS=1).

use std::path::Path;

#[test]
fn schemas_in_docs_match_the_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schemas");
    let update = std::env::var_os("WD_UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for (kind, schema) in wd_core::docs::all_schemas() {
        let path = dir.join(format!("{kind}.schema.json"));
        let text = format!("{}\n", serde_json::to_string_pretty(&schema).unwrap());
        if update {
            wd_core::fsio::write_atomic(&path, text.as_bytes(), 0o644).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale schemas (run `make schemas`): {stale:?}"
    );
}

#[test]
fn every_schema_pins_api_version_and_kind() {
    for (kind, schema) in wd_core::docs::all_schemas() {
        let text = schema.to_string();
        assert!(text.contains("\"wd/v1\""), "{kind}");
        assert!(text.contains(&format!("\"{kind}\"")), "{kind}");
        let required = schema["required"].as_array().unwrap();
        assert!(
            required.contains(&"apiVersion".into()) && required.contains(&"kind".into()),
            "{kind}"
        );
    }
}
