//! wd-render's own validator of config/values.schema.json (src/schema.rs) against boon, a
//! spec-complete JSON Schema 2020-12 validator: both must accept and refuse the same values.
//!
//! The corpus starts from the real layers (config/values/*.yaml, alone and merged) and mutates
//! every leaf and every object of them (wrong types, empty and over-long strings, spaces,
//! Unicode, host names, IP addresses, e-mail forms, out-of-range numbers, duplicates, unknown
//! and missing keys), deterministically; each value is checked as a layer and as complete.

use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use wd_render::schema::ValuesSchema;

fn config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

struct Boon {
    schemas: boon::Schemas,
    layer: boon::SchemaIndex,
    complete: boon::SchemaIndex,
}

fn boon_schema(raw: &Value) -> Boon {
    let url = "urn:wd:values.schema.json";
    let mut c = boon::Compiler::new();
    c.enable_format_assertions();
    c.add_resource(url, raw.clone()).unwrap();
    let mut schemas = boon::Schemas::new();
    let layer = c.compile(url, &mut schemas).unwrap();
    let complete = c
        .compile(&format!("{url}#/$defs/complete"), &mut schemas)
        .unwrap();
    Boon {
        schemas,
        layer,
        complete,
    }
}

fn yaml(path: &Path) -> Value {
    let v: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::to_value(v).unwrap()
}

fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(x) if x.is_object() && v.is_object() => merge(x, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// Replacement values tried at every leaf.
fn leaves() -> Vec<Value> {
    let long = "a".repeat(300);
    let label64 = format!("{}.example.org", "b".repeat(64));
    vec![
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(1),
        json!(-1),
        json!(1.0),
        json!(1.5),
        json!(65535),
        json!(65536),
        json!(3650),
        json!(3651),
        json!(""),
        json!(" "),
        json!("a b"),
        json!("x"),
        json!("X"),
        json!("-x"),
        json!("x-"),
        json!("example.org"),
        json!("example.org."),
        json!("EXAMPLE.org"),
        json!("a..b"),
        json!("a_b.org"),
        json!(long),
        json!(label64),
        json!("127.0.0.1"),
        json!("256.1.1.1"),
        json!("01.2.3.4"),
        json!("::1"),
        json!("fe80::1%eth0"),
        json!("2001:db8::/32"),
        json!("10.0.0.0/8"),
        json!("10.0.0.0/8,192.168.0.0/16"),
        json!("10.0.0.0/8,"),
        json!("a@b.org"),
        json!("a@b"),
        json!("@b.org"),
        json!("a@"),
        json!("\"q\"@b.org"),
        json!(".a@b.org"),
        json!("a..b@c.org"),
        json!("a@[127.0.0.1]"),
        json!("a@[IPv6:::1]"),
        json!("a@[999.1.1.1]"),
        json!("en,de"),
        json!("en,"),
        json!("EN"),
        json!("5s"),
        json!("1.5m"),
        json!("10"),
        json!("1h30m"),
        json!("nbsp\u{a0}here"),
        // White space in ECMA-262 (\s) but not in Unicode's White_Space, and the other way round:
        // the regex crate's Unicode \s read both wrongly (src/pattern.rs).
        json!("bom\u{feff}here"),
        json!("nel\u{85}here"),
        json!("tab\there"),
        json!("ü"),
        json!("1.2.3"),
        json!("v1.2"),
        json!("sha256:0123456789abcdef0123456789abcdef"),
        json!("sha256:0123"),
        json!("latest"),
        json!("registry.example.org:5000/team/app"),
        json!("Registry/App"),
        json!("a/b/c"),
        json!("a//b"),
        json!("local"),
        json!("prod"),
        json!("issuer"),
        json!("holder"),
        json!([]),
        json!(["issuer"]),
        json!(["issuer", "issuer"]),
        json!(["issuer", "verifier"]),
        json!(["nope"]),
        json!([1, 1.0]),
        json!({}),
        json!({"repository": "r", "tag": "t"}),
        json!({"tag": "1"}),
    ]
}

/// Every mutation of `v`: each leaf replaced by each of `leaves()`, each object given an
/// unknown key, each key removed, each object replaced by a scalar.
fn mutations(v: &Value, out: &mut Vec<Value>) {
    fn walk(root: &Value, path: &mut Vec<Value>, cur: &Value, out: &mut Vec<Value>) {
        let set = |new: Value| {
            let mut r = root.clone();
            let mut slot = &mut r;
            for p in path.iter() {
                slot = match p {
                    Value::String(k) => slot.get_mut(k.as_str()).unwrap(),
                    Value::Number(i) => slot.get_mut(i.as_u64().unwrap() as usize).unwrap(),
                    _ => unreachable!(),
                };
            }
            *slot = new;
            r
        };
        match cur {
            Value::Object(o) => {
                let mut extra = o.clone();
                extra.insert("bogusKey".into(), json!(1));
                out.push(set(Value::Object(extra)));
                for k in o.keys() {
                    let mut less: Map<String, Value> = o.clone();
                    less.remove(k);
                    out.push(set(Value::Object(less)));
                }
                out.push(set(json!("scalar")));
                for (k, x) in o {
                    path.push(json!(k));
                    walk(root, path, x, out);
                    path.pop();
                }
            }
            Value::Array(a) => {
                for l in leaves() {
                    out.push(set(l));
                }
                for (i, x) in a.iter().enumerate() {
                    path.push(json!(i));
                    walk(root, path, x, out);
                    path.pop();
                }
            }
            _ => {
                for l in leaves() {
                    out.push(set(l));
                }
            }
        }
    }
    walk(v, &mut Vec::new(), v, out);
}

#[test]
fn agrees_with_boon_on_the_layers_and_their_mutations() {
    let dir = config();
    let raw: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("values.schema.json")).unwrap())
            .unwrap();
    let ours = ValuesSchema::compile(&dir).unwrap();
    let theirs = boon_schema(&raw);

    let mut seeds = Vec::new();
    let default = yaml(&dir.join("values/default.yaml"));
    seeds.push(default.clone());
    for t in ["local", "onprem", "aws"] {
        let layer = yaml(&dir.join(format!("values/target-{t}.yaml")));
        let mut merged = default.clone();
        merge(&mut merged, &layer);
        seeds.push(layer);
        seeds.push(merged);
    }
    // the flavor sections and the sub-objects the layers leave out
    seeds.push(json!({"flavor": {"k8s": {"tls": true, "domain": "example.org"}, "compose": {"publicHost": "10.0.0.1"}}}));
    seeds.push(json!({"slugs": {"issuer": "issuer"}, "images": {"issuer": {"repository": "r", "tag": "1", "digest": "sha256:0123456789abcdef0123456789abcdef"}}}));

    let mut corpus = Vec::new();
    for s in &seeds {
        corpus.push(s.clone());
        mutations(s, &mut corpus);
    }
    assert!(corpus.len() > 5_000, "corpus too small: {}", corpus.len());
    let (mut valid, mut disagree) = (0usize, Vec::new());
    for v in &corpus {
        for complete in [false, true] {
            let idx = if complete {
                theirs.complete
            } else {
                theirs.layer
            };
            let b = theirs.schemas.validate(v, idx).is_ok();
            let o = ours.is_valid(v, complete);
            valid += usize::from(b);
            if b != o && disagree.len() < 5 {
                disagree.push(format!("complete={complete} boon={b} ours={o}: {v}"));
            }
        }
    }
    assert!(
        disagree.is_empty(),
        "src/schema.rs and boon disagree:\n{}",
        disagree.join("\n")
    );
    // both outcomes are exercised
    assert!(
        valid > 100 && valid < corpus.len() * 2 - 100,
        "valid {valid} of {}",
        corpus.len() * 2
    );
}

#[test]
fn refuses_a_keyword_it_does_not_implement() {
    let schema = json!({"$defs": {"complete": {}}, "properties": {"a": {"multipleOf": 2}}});
    let e = match ValuesSchema::from_value(schema, PathBuf::from("s.json")) {
        Err(e) => e,
        Ok(_) => panic!("an unknown keyword must not be ignored"),
    };
    assert_eq!(e.exit as i32, 2);
    assert!(
        e.message
            .starts_with("s.json: #/properties/a: keyword \"multipleOf\""),
        "{e}"
    );
    let e = match ValuesSchema::from_value(
        json!({"$defs": {"complete": {"format": "uri"}}}),
        PathBuf::from("s.json"),
    ) {
        Err(e) => e,
        Ok(_) => panic!("an unknown format must not be ignored"),
    };
    assert!(
        e.message.contains("\"uri\" is not one wd-render checks"),
        "{e}"
    );
}
