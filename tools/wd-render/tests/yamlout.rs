//! `render::yamlout::to_yaml` against `serde_norway::to_string`, which it stands in for: on the
//! umbrella values of real renders (there it must also take the fast path) and on a generated
//! corpus of tricky documents (there it may decline, but what it writes must be the same bytes).

use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use wd_render::render::yamlout::to_yaml;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn reference(v: &Value) -> String {
    serde_norway::to_string(v).unwrap()
}

/// The fast path writes serde_norway's bytes whenever it writes; returns whether it did.
fn agrees(v: &Value) -> bool {
    match to_yaml(v) {
        Some(s) => {
            let want = reference(v);
            assert_eq!(s, want, "to_yaml differs from serde_norway for {v:?}");
            true
        }
        None => false,
    }
}

fn run(bin: &Path, args: &[&str]) -> Vec<u8> {
    let o = Command::new(bin)
        .current_dir(root())
        .args(args)
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{} {args:?}: {}",
        bin.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// Every scenario × target × flavor, rendered by the real binaries: the umbrella values body
/// read back is the Value the renderer serialised (serde_norway writes the file's bytes from
/// it), and to_yaml takes the fast path on it with the same bytes.
#[test]
fn real_umbrella_values_take_the_fast_path() {
    let render_bin = PathBuf::from(env!("CARGO_BIN_EXE_wd-render"));
    let inventory_bin = render_bin.with_file_name("wd-inventory");
    let tmp = tempfile::tempdir().unwrap();
    let mut inventories: Vec<(String, PathBuf)> = Vec::new();
    let mut scenarios: Vec<String> = std::fs::read_dir(root().join("config/scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
        .collect();
    scenarios.sort();
    assert!(!scenarios.is_empty());
    for s in &scenarios {
        let inv = run(&inventory_bin, &["--scenario", s, "-q"]);
        let p = tmp.path().join(format!("{s}.inventory.json"));
        std::fs::write(&p, inv).unwrap();
        inventories.push((s.clone(), p));
    }
    // The compose file of issue 11's measurement, with every service.
    let inv = run(
        &inventory_bin,
        &[
            "-f",
            "tests/fixtures/compose/users-33/compose.yaml",
            "--all",
            "-q",
        ],
    );
    let p = tmp.path().join("users-33.inventory.json");
    std::fs::write(&p, inv).unwrap();
    inventories.push(("waltid".into(), p));

    let mut checked = 0;
    for (n, (scenario, inv)) in inventories.iter().enumerate() {
        for target in ["local", "onprem", "aws"] {
            for flavor in ["k8s", "compose"] {
                let out = tmp.path().join(format!("out-{n}-{target}-{flavor}"));
                run(
                    &render_bin,
                    &[
                        "--scenario",
                        scenario,
                        "--target",
                        target,
                        "--flavor",
                        flavor,
                        "--inventory",
                        inv.to_str().unwrap(),
                        "--out",
                        out.to_str().unwrap(),
                        "-q",
                    ],
                );
                let Ok(dir) = std::fs::read_dir(out.join("helm")) else {
                    continue;
                };
                for f in dir {
                    let path = f.unwrap().path();
                    let name = path.file_name().unwrap().to_string_lossy().to_string();
                    if !(name.starts_with("values-") && name.ends_with(".yaml")) {
                        continue;
                    }
                    let text = std::fs::read_to_string(&path).unwrap();
                    let header: usize = text
                        .split_inclusive('\n')
                        .take_while(|l| l.starts_with('#'))
                        .map(str::len)
                        .sum();
                    let body = &text[header..];
                    let y: serde_norway::Value = serde_norway::from_str(body).unwrap();
                    let v: Value = serde_json::to_value(y).unwrap();
                    assert_eq!(reference(&v), body, "{scenario} {target} {flavor} {name}");
                    assert_eq!(
                        to_yaml(&v).as_deref(),
                        Some(body),
                        "{scenario} {target} {flavor} {name}: the fast path declined or differs"
                    );
                    checked += 1;
                }
            }
        }
    }
    // k8s renders the umbrella values for each target, for every inventory.
    assert!(checked >= 3 * inventories.len(), "checked {checked}");
}

/// Strings that each exercise one rule of serde_norway's or libyaml's.
fn tricky_strings() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        " ",
        "  ",
        "a",
        "word",
        " lead",
        "trail ",
        " both ",
        "a: b",
        "a:b",
        "a :b",
        "a #b",
        "a#b",
        "#a",
        "a:",
        "a: ",
        ":",
        "?",
        "-",
        "--",
        "---",
        "---a",
        "...",
        "...a",
        "- a",
        "-a",
        "? a",
        "?a",
        ": a",
        ":a",
        "a,b",
        "a[b",
        "a]b",
        "a{b",
        "a}b",
        "a?b",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "Y",
        "N",
        "null",
        "Null",
        "NULL",
        "nULL",
        "~",
        "~a",
        "true",
        "True",
        "TRUE",
        "tRUE",
        "false",
        "False",
        "FALSE",
        "1",
        "-1",
        "+1",
        "++1",
        "+-1",
        "01",
        "-01",
        "+01",
        "00",
        "0",
        "-0",
        "+0",
        "0.",
        ".5",
        "1.0",
        "-1.5",
        "1e3",
        "1E3",
        "1e+3",
        "1e-3",
        "1e400",
        "-1e400",
        "0x1F",
        "0x1f",
        "-0x1F",
        "+0x1F",
        "0x",
        "0x+1",
        "0x-1",
        "-0x-1",
        "0o7",
        "0o8",
        "-0o7",
        "0b101",
        "0b2",
        "-0b1",
        ".inf",
        ".Inf",
        ".INF",
        "-.inf",
        "+.inf",
        "-.Inf",
        ".nan",
        ".NaN",
        ".NAN",
        "-.nan",
        "+.nan",
        "inf",
        "-inf",
        "infinity",
        "nan",
        "NaN",
        "1_000",
        "1,000",
        "12:30",
        "1:2:3",
        "340282366920938463463374607431768211455",
        "340282366920938463463374607431768211456",
        "-170141183460469231731687303715884105728",
        "-170141183460469231731687303715884105729",
        "18446744073709551616",
        "http://example.com/a?b=c#d",
        "https://issuer.localtest.me:8443/x",
        "${VAR}",
        "{{ .Values.x }}",
        "[a, b]",
        "{a: b}",
        "é",
        "née",
        "日本語",
        "😀",
        "a😀b",
        "مرحبا",
        "\u{200F}rtl",
        "tab\there",
        "\t",
        "bell\u{7}",
        "nel\u{85}x",
        "ls\u{2028}x",
        "ps\u{2029}",
        "\u{FEFF}bom",
        "\u{FFFE}",
        "\u{FFFF}",
        "\u{A0}nbsp",
        "\u{7F}",
        "\u{1B}esc",
        "\0nul",
        "cr\rx",
        "\r",
        "crlf\r\n",
        "quote'd",
        "'",
        "''",
        "\"",
        "a\"b",
        "back\\slash",
        "\\",
        "a  b",
        "a   ",
        "%x",
        "@x",
        "`x",
        "!x",
        "&x",
        "*x",
        "|x",
        ">x",
        "'x",
        "\"x",
        ",x",
        "[x",
        "]x",
        "{x",
        "}x",
        "#x",
        "a'b'c",
        "<<",
        "=",
        "a=b",
        "a !b",
        "a &b",
        "a *b",
        "a | b",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Multi-line strings: literal blocks, their chomping and indentation indicators.
    v.extend(
        [
            "a\nb",
            "a\nb\n",
            "a\nb\n\n",
            "a\nb\n\n\n",
            "\n",
            "\n\n",
            "\na",
            "\na\n",
            " a\nb",
            "  a\n  b\n",
            "a\n\nb\n",
            "a \nb",
            "a\n b",
            "a\n\tb",
            "a\nb ",
            "a\nb\n ",
            "a\r\nb\n",
            "a\u{2028}b\n",
            "-\u{85}",
            ":\u{85}x",
            "?\u{2029}a\n",
            "a:\u{2028}b\n",
            "a #\u{85}\n",
            "x\0:",
            "a:\0",
            "-\t",
            "#\t",
            "a\u{85}b\n",
            "é\nü\n",
            "😀\n",
            "a: b\nc: d\n",
            "# c\nx = 1\n",
            "- a\n- b\n",
            "'\n'",
            "\"\n\"",
            "{\n}\n",
            "[\n]",
            "---\n",
            "...\n",
            "a\n...\n",
            "a\n---\nb\n",
            "line\n\n\n\nend",
            "\n\nlead",
            "x\n \n",
            "x\n  \ny\n",
            "true\n",
            "1\n",
            "",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let long_word = "x".repeat(200);
    let long_spaced = "word ".repeat(40).trim_end().to_string();
    v.push(long_word.clone());
    v.push(long_spaced.clone());
    v.push(format!(
        "{long_spaced}\n{long_word}\n{long_spaced} and more\n"
    ));
    v.push(format!("'{long_spaced}'"));
    v.push(format!("{long_spaced}\t"));
    v.push("k".repeat(128));
    v.push("k".repeat(129));
    v
}

/// The common cases must take the fast path, or it would not pay.
#[test]
fn common_values_take_the_fast_path() {
    let config =
        "webHost = \"0.0.0.0\"\nwebPort = 7002\n\n# comment\nfeatures {\n    a = [\"x\"]\n}\n";
    let doc = json!({
        "global": {"domain": "localtest.me", "tls": false, "port": 8080, "ratio": 0.5, "none": null},
        "image": {"repository": "waltid/issuer-api", "tag": "0.15.0", "digest": "sha256:abc"},
        "urls": ["http://issuer.localtest.me", "https://auth.example.com/realms/x?y=z"],
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "two words"}],
        "empty": {}, "none": [], "nested": {"list": [[1, 2], [], {}], "deep": {"a": {"b": "c"}}},
        "config": {"files": {"web.conf": config, "empty.conf": "", "no-newline.conf": "a\nb"}},
        "quoted": ["true", "8080", "0123", "", "a: b", "*x", "yes"],
    });
    assert!(agrees(&doc), "declined: {}", reference(&doc));
    for s in [
        "word",
        "two words",
        "http://example.com/a?b=c",
        "a\nb\n",
        "  indented\nblock\n",
    ] {
        for v in [json!(s), json!({ "k": s }), json!([s]), json!({ "k": [s] })] {
            assert!(agrees(&v), "declined: {v:?}");
        }
    }
}

#[test]
fn numbers_agree() {
    let numbers = [
        json!(0),
        json!(-1),
        json!(i64::MIN),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(0.1),
        json!(1e300),
        json!(-0.0),
        json!(1.0),
        json!(1e-7),
        json!(123456789.0),
        json!(1e16),
        json!(f64::MAX),
        json!(f64::MIN_POSITIVE),
        json!(5e-324),
        json!(-2.5e-10),
    ];
    for n in numbers {
        for v in [n.clone(), json!({ "n": n }), json!([n])] {
            assert!(agrees(&v), "declined: {v:?}");
        }
    }
}

#[test]
fn each_tricky_string_agrees_as_value_key_item_and_root() {
    for s in &tricky_strings() {
        // Declined on purpose: line separators outside a literal block or double quotes (single
        // quotes would fold them), and keys that are not simple (multi-line or over 128 bytes).
        let separators = s.contains(['\u{2028}', '\u{2029}']) && !s.contains('\n');
        let complex_key = s.len() > 128 || s.contains(['\n', '\r', '\u{85}']);
        for v in [json!(s), json!({ "k": s }), json!([s, [s], { "k": [s] }])] {
            assert!(agrees(&v) || separators, "declined: {v:?}");
        }
        for v in [
            json!({ s: "v" }),
            json!({ s: { s: s } }),
            json!({ "a": [s, { s: s }], "b": s }),
        ] {
            assert!(agrees(&v) || separators || complex_key, "declined: {v:?}");
        }
    }
}

/// The corpus generator (SplitMix64, shared by the tests' corpora).
use wd_testsupport::Rng;

const PIECES: &[&str] = &[
    "a",
    "word",
    " ",
    "  ",
    "\n",
    "\n\n",
    ": ",
    ":",
    " #",
    "#",
    "-",
    "- ",
    "?",
    "'",
    "\"",
    ",",
    "[",
    "]",
    "{",
    "}",
    "&",
    "*",
    "!",
    "|",
    ">",
    "%",
    "@",
    "`",
    "\\",
    "\t",
    "\r",
    "\u{7}",
    "\u{85}",
    "\u{2028}",
    "\u{FEFF}",
    "é",
    "😀",
    "مرحبا",
    "1",
    "0",
    "0x1F",
    ".",
    "e3",
    "true",
    "null",
    "~",
    "http://h.example/p?q=1",
    "key = \"value\"\n",
    "    indented\n",
    "trailing \n",
];

fn gen_string(r: &mut Rng, tricky: &[String]) -> String {
    match r.below(10) {
        0..=2 => tricky[r.below(tricky.len())].clone(),
        3 => {
            // A config file: several lines, sometimes indented, blank or without a final newline.
            let mut s = String::new();
            for _ in 0..r.below(8) {
                s.push_str(&" ".repeat(r.pick(&[0usize, 0, 2, 4])));
                s.push_str(r.pick(&["x = 1", "name: v", "[section]", "{", "}", "", "a b"]));
                s.push('\n');
            }
            if r.below(3) == 0 {
                s.push_str("last");
            }
            s
        }
        4 => {
            let long = r.below(2) == 0;
            let unit = if long { "abcdefghij " } else { "abcdefghij" };
            unit.repeat(9 + r.below(3))
        }
        _ => {
            let mut s = String::new();
            for _ in 0..r.below(6) {
                s.push_str(r.pick(PIECES));
            }
            s
        }
    }
}

fn gen_value(r: &mut Rng, tricky: &[String], depth: usize) -> Value {
    let leaf = depth >= 4 || r.below(3) == 0;
    if leaf {
        return match r.below(12) {
            0 => Value::Null,
            1 => Value::Bool(r.below(2) == 0),
            2 => json!(r.pick(&[0, 1, -1, i64::MIN, i64::MAX, 8080, -42])),
            3 => json!(r.pick(&[u64::MAX, 1 << 63, 7])),
            4 => json!(r.pick(&[0.1, 1e300, -0.0, 1.0, 2.5e-8, 123.456])),
            _ => Value::String(gen_string(r, tricky)),
        };
    }
    if r.below(2) == 0 {
        Value::Array(
            (0..r.below(4))
                .map(|_| gen_value(r, tricky, depth + 1))
                .collect(),
        )
    } else {
        let mut m = Map::new();
        for _ in 0..r.below(4) {
            let k = if r.below(2) == 0 {
                r.pick(&["name", "image", "port", "config", "a.b", "files"])
                    .to_string()
            } else {
                gen_string(r, tricky)
            };
            m.insert(k, gen_value(r, tricky, depth + 1));
        }
        Value::Object(m)
    }
}

#[test]
fn generated_corpus_agrees() {
    let tricky = tricky_strings();
    let mut r = Rng(0x5EED_0031);
    let (mut fast, total) = (0, 3000);
    // Each style the fast path writes, seen in its output at least once.
    let marks = [
        "': ", ": '", "\"\\", ": |\n", "|-", "|+", "|2", "- - ", ": {}", ": []",
    ];
    let mut seen = [false; 10];
    for _ in 0..total {
        let v = gen_value(&mut r, &tricky, 0);
        if agrees(&v) {
            fast += 1;
            let s = to_yaml(&v).unwrap();
            for (m, seen) in marks.iter().zip(seen.iter_mut()) {
                *seen |= s.contains(m);
            }
        }
    }
    // Non-vacuous: most documents are written by the fast path (a few hold a declined key).
    assert!(fast * 2 >= total, "fast path on {fast} of {total}");
    for (m, seen) in marks.iter().zip(seen) {
        assert!(seen, "no fast output holds {m:?}");
    }
}
