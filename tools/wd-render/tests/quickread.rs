//! src/quickread.rs against serde: whenever the scanner answers, serde's typed read of the same
//! text succeeds with the same [`InventoryUse`]; and it does answer for real Inventories (else
//! the fast path would be dead code and the render as slow as before).

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use wd_render::context::InventoryUse;
use wd_render::quickread::scan;

fn root() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Real Inventories: wd-inventory (built by the same `cargo test --workspace`) on the reference
/// scenario and on every compose fixture it accepts.
fn real_inventories() -> Vec<(String, String)> {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_wd-render")).with_file_name("wd-inventory");
    let mut runs: Vec<(String, Vec<String>)> = vec![(
        "--scenario waltid".into(),
        vec!["--scenario".into(), "waltid".into()],
    )];
    let dir = root().join("tests/fixtures/compose");
    let mut fixtures: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("compose.yaml").is_file())
        .collect();
    fixtures.sort();
    for f in fixtures {
        let file = f.join("compose.yaml").display().to_string();
        runs.push((file.clone(), vec!["-f".into(), file, "--all".into()]));
    }
    let mut out = vec![];
    for (name, args) in runs {
        let o = Command::new(&bin)
            .current_dir(root())
            .args(&args)
            .arg("-q")
            .output()
            .expect("wd-inventory is built (cargo test --workspace builds every binary)");
        // Fixtures that wd-inventory refuses (bad YAML, bad ports) print no Inventory.
        if o.stdout.first() == Some(&b'{') {
            out.push((name, String::from_utf8(o.stdout).unwrap()));
        }
    }
    assert!(out.len() >= 5, "too few real Inventories: {}", out.len());
    out
}

/// The scanner agrees with serde on `text`: where both answer, the same; where serde refuses
/// and the scanner answers, the text is not JSON at all (the scanner does not check what it
/// skips; the full typed parse on the other thread reports it before anything is written).
/// Returns whether the scanner answered.
fn agrees(text: &str, what: &str) -> bool {
    let serde = serde_json::from_str::<InventoryUse>(text);
    match scan(text) {
        None => false,
        Some(fast) => {
            match serde {
                Ok(s) => assert_eq!(fast, s, "{what}: the scanner read something else"),
                Err(e) => assert!(
                    serde_json::from_str::<serde::de::IgnoredAny>(text).is_err(),
                    "{what}: the scanner answered where serde refuses valid JSON ({e})"
                ),
            }
            true
        }
    }
}

#[test]
fn real_inventories_are_read_fast_and_the_same() {
    for (name, text) in real_inventories() {
        assert!(agrees(&text, &name), "{name}: the fast path declined");
        let used = scan(&text).unwrap();
        assert!(!used.services.is_empty(), "{name}: no services read");
        // Compact JSON (another writer's formatting) reads the same.
        let v: Value = serde_json::from_str(&text).unwrap();
        let compact = serde_json::to_string(&v).unwrap();
        assert!(agrees(&compact, &name), "{name} (compact): declined");
        assert_eq!(scan(&compact), Some(used));
    }
}

/// Hand-written cases: escapes, nulls, other shapes, duplicates, truncation.
#[test]
fn edge_cases_answer_as_serde_or_decline() {
    let ok = |t: &str| assert!(agrees(t, t), "declined: {t}");
    let declines = |t: &str| assert!(scan(t).is_none(), "answered: {t}");
    ok(r#"{}"#);
    ok(r#" { "services" : [ ] , "sources" : { } } "#);
    ok(r#"{"services":[{"name":"a","image":null}]}"#);
    ok(r#"{"services":[{"image":{"repository":"r","tag":null,"digest":"sha256:x"},"name":"a"}]}"#);
    ok(r#"{"sources":{"scenario":null,"files":["x"]},"services":[{"name":"a"}]}"#);
    ok(r#"{"sources":{"scenario":"waltid"},"x":{"services":[1,{"name":2}],"y":"}\"]"}}"#);
    // Escapes in keys and values are decoded as serde does.
    ok(r#"{"services":[{"na\u006de":"\u00e9\"\\/\n","image":{"repository":"r\/s"}}]}"#);
    ok(r#"{"services":[{"name":"a","extra":[{"name":"b"}],"image":{"repository":"r","x":[]}}]}"#);
    ok(r#"{"services":[{"name":"a","n":-1.5e3,"t":true,"f":false,"z":null}]}"#);
    // Shapes serde refuses or reads another way: the scanner leaves them to serde.
    declines(r#"{"services":[{"name":"a","name":"b"}]}"#);
    declines(r#"{"services":[],"services":[]}"#);
    declines(r#"{"sources":null}"#);
    declines(r#"{"services":null}"#);
    declines(r#"{"services":[["a",null]]}"#);
    declines(r#"{"services":[{"image":null}]}"#);
    declines(r#"{"services":[{"name":1}]}"#);
    declines(r#"{"services":[{"name":"a","image":{"tag":"1"}}]}"#);
    declines(r#"{"services":[{"name":"a"}"#);
    declines(r#"{"services":[{"name":"a"}]} x"#);
    declines(r#"["services"]"#);
    declines("");
}

/// The corpus generator (SplitMix64, shared by the tests' corpora).
use wd_testsupport::Rng;

/// Byte edits of real Inventories (and of one small one, so that edits often hit the fields
/// the scanner reads): delete, duplicate, replace with a JSON-significant byte. Whatever the
/// scanner answers, serde answers the same.
#[test]
fn mutated_inventories_never_read_differently() {
    let small = serde_json::to_string_pretty(&json!({
        "apiVersion": "wd/v1", "kind": "Inventory",
        "sources": {"scenario": "waltid", "files": ["compose.yaml"]},
        "services": [
            {"name": "a", "image": {"repository": "r/a", "tag": "1", "digest": null}},
            {"name": "b\u{e9}", "image": null, "env": [{"name": "X", "value": "}]\"{["}]},
        ],
    }))
    .unwrap();
    let mut texts = vec![small];
    texts.extend(real_inventories().into_iter().map(|(_, t)| t).take(3));
    let significant = b"{}[]\",:\\ n0";
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut answered, mut total) = (0, 0);
    for text in &texts {
        for _ in 0..400 {
            let mut b = text.as_bytes().to_vec();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(b.len());
                match rng.below(3) {
                    0 => {
                        b.remove(at);
                    }
                    1 => {
                        let c = b[at];
                        b.insert(at, c);
                    }
                    _ => b[at] = significant[rng.below(significant.len())],
                }
            }
            let Ok(t) = String::from_utf8(b) else {
                continue;
            };
            total += 1;
            if agrees(&t, "a mutated Inventory") {
                answered += 1;
            }
        }
    }
    // Most edits land in skipped text (the scanner still answers); the corpus is not vacuous.
    assert!(answered * 4 > total, "answered {answered} of {total}");
}

/// The text in pieces (as it comes down the pipe): the same answer as all at once, wherever
/// the pieces end (inside a string, an escape, a number, a UTF-8 character, a key).
#[test]
fn pieces_read_as_the_whole() {
    use wd_render::quickread::Incremental;
    let mut texts: Vec<String> = real_inventories()
        .into_iter()
        .map(|(_, t)| t)
        .take(4)
        .collect();
    texts.push(
        r#"{"sources":{"scenario":"w\u00e9"},"n":12345,"services":[{"name":"é\"x","image":{"repository":"r","tag":"1"}},{"name":"b","image":null}],"z":-1.5e3}"#
            .into(),
    );
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for text in &texts {
        let whole = scan(text);
        assert!(whole.is_some(), "the whole text is read");
        let b = text.as_bytes();
        // Every cut point of the small text; random pieces of the large ones.
        let rounds = if b.len() < 400 { b.len() } else { 60 };
        for round in 0..rounds {
            let mut read = Incremental::default();
            let mut end = 0;
            if b.len() < 400 {
                read.feed(&b[..round], false);
            } else {
                while end < b.len() {
                    end = (end + 1 + rng.below(9000)).min(b.len());
                    read.feed(&b[..end], false);
                }
            }
            read.feed(b, true);
            assert_eq!(read.finish(), whole, "pieces ending at {round}/{end}");
        }
    }
    // A text that stops early is never answered.
    let mut read = Incremental::default();
    read.feed(&texts[4].as_bytes()[..40], true);
    assert_eq!(read.finish(), None);
}
