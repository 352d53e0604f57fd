//! Differential tests of wd_core::yaml_fast against serde_norway: whenever the fast path accepts
//! a text, serde_norway must accept it too and give the same value with the same scalar kinds.
//! `None` from the fast path is always allowed (serde_norway then reads the text).

use serde_norway::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use wd_core::yaml_fast;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Equality that also tells scalar kinds apart (Number 1 vs String "1", u64 vs i64 vs f64, the
/// sign of a zero float) and mapping order; `None` when equal, else where they differ.
fn strict_diff(a: &Value, b: &Value, at: &str) -> Option<String> {
    let num = |n: &serde_norway::Number| {
        if n.is_f64() {
            let f = n.as_f64().unwrap();
            if f.is_nan() {
                "f:nan".to_string()
            } else {
                format!("f:{:x}", f.to_bits())
            }
        } else if let Some(u) = n.as_u64() {
            format!("u:{u}")
        } else {
            format!("i:{}", n.as_i64().unwrap())
        }
    };
    match (a, b) {
        (Value::Null, Value::Null) => None,
        (Value::Bool(x), Value::Bool(y)) if x == y => None,
        (Value::Number(x), Value::Number(y)) if num(x) == num(y) => None,
        (Value::String(x), Value::String(y)) if x == y => None,
        (Value::Sequence(x), Value::Sequence(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| strict_diff(p, q, &format!("{at}[{i}]"))),
        (Value::Mapping(x), Value::Mapping(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, ((k1, v1), (k2, v2)))| {
                strict_diff(k1, k2, &format!("{at}.key#{i}"))
                    .or_else(|| strict_diff(v1, v2, &format!("{at}.{k1:?}")))
            }),
        (Value::Tagged(x), Value::Tagged(y)) if x.tag == y.tag => {
            strict_diff(&x.value, &y.value, at)
        }
        _ => Some(format!("{at}: fast {a:?} != serde_norway {b:?}")),
    }
}

fn has_merge_key(v: &Value) -> bool {
    match v {
        Value::Sequence(s) => s.iter().any(has_merge_key),
        Value::Mapping(m) => m
            .iter()
            .any(|(k, v)| k.as_str() == Some("<<") || has_merge_key(k) || has_merge_key(v)),
        Value::Tagged(t) => has_merge_key(&t.value),
        _ => false,
    }
}

/// The property: `Some(v)` from the fast path implies serde_norway gives exactly `v`, and the
/// merge flag is right. Returns whether the fast path accepted the text.
fn check(text: &str, label: &str) -> bool {
    let Some((fast, merge)) = yaml_fast::parse_with_merge_flag(text) else {
        return false;
    };
    let slow = match serde_norway::from_str::<Value>(text) {
        Ok(v) => v,
        Err(e) => panic!("{label}: fast path accepted what serde_norway rejects ({e}):\n{text}"),
    };
    if let Some(d) = strict_diff(&fast, &slow, "") {
        panic!("{label}: {d}\n--- text ---\n{text}");
    }
    assert_eq!(merge, has_merge_key(&slow), "{label}: merge flag\n{text}");
    true
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
}

/// Every YAML file of the repository and of ../shared/testdata (CI has it beside the repo).
fn corpus_files() -> Vec<(PathBuf, String)> {
    let root = repo_root();
    let mut paths = Vec::new();
    for d in [
        "config",
        "charts",
        "tests",
        ".github",
        "terraform",
        "../shared/testdata",
    ] {
        yaml_files(&root.join(d), &mut paths);
    }
    paths
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
        .collect()
}

#[test]
fn repository_files_match_serde_norway() {
    let files = corpus_files();
    assert!(files.len() > 50, "only {} YAML files found", files.len());
    let accepted = files
        .iter()
        .filter(|(p, t)| check(t, &p.display().to_string()))
        .count();
    let valid = files
        .iter()
        .filter(|(_, t)| !t.contains("{{") && serde_norway::from_str::<Value>(t).is_ok())
        .count();
    // Most of the YAML that is not a Helm template is inside the subset.
    assert!(
        accepted * 3 > valid * 2,
        "only {accepted} of {valid} valid files accepted"
    );
}

/// The files every `wd-inventory | wd-render` run reads: the fast path must take them (issue 11).
#[test]
fn the_pipeline_inputs_take_the_fast_path() {
    let root = repo_root();
    let mut paths = vec![
        root.join("config/scenarios/waltid.yaml"),
        root.join("config/secrets.yaml"),
        root.join("config/templates/manifest.yaml"),
        root.join("tests/fixtures/compose/users-33/compose.yaml"),
        // The reference stack the scenario names (config/scenarios/waltid.yaml `compose:`).
        root.join("config/reference/waltid/docker-compose.yaml"),
    ];
    for d in ["config/scenarios", "config/values"] {
        yaml_files(&root.join(d), &mut paths);
    }
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            check(&text, &p.display().to_string()),
            "{}: the fast path declined it",
            p.display()
        );
    }
}

/// The corpus generator (SplitMix64, shared by the tests' corpora).
use wd_testsupport::Rng;

/// Plain scalars whose resolution is easy to get wrong.
const PLAIN: &[&str] = &[
    "a",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "~",
    "null",
    "Null",
    "NULL",
    "nULL",
    "true",
    "True",
    "TRUE",
    "tRUE",
    "false",
    "FALSE",
    "0",
    "-0",
    "+0",
    "00",
    "08",
    "012",
    "-012",
    "+012",
    "0o17",
    "0o8",
    "-0o17",
    "+0o17",
    "0x1F",
    "0x1f",
    "0X1F",
    "-0x1F",
    "+0x1F",
    "0x-1",
    "0x+1",
    "0b101",
    "-0b101",
    "0b2",
    "+1",
    "-1",
    "++1",
    "+-1",
    "--1",
    "1",
    "42",
    "1_000",
    "1e3",
    "1E3",
    "1e-3",
    "-1e3",
    "+1e3",
    "1e400",
    "-1e400",
    "1.",
    ".5",
    "-.5",
    "+.5",
    "0.0",
    "-0.0",
    "1.5e+10",
    ".",
    "..",
    "-",
    "+",
    ".inf",
    ".Inf",
    ".INF",
    "-.inf",
    "+.inf",
    ".iNf",
    "inf",
    "-inf",
    "infinity",
    "nan",
    "NaN",
    ".nan",
    ".NaN",
    ".NAN",
    "-.nan",
    "+.nan",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "-18446744073709551616",
    "340282366920938463463374607431768211455",
    "340282366920938463463374607431768211456",
    "99999999999999999999999999999999999999999",
    "0x10000000000000000",
    "-0x8000000000000000",
    "-0x8000000000000001",
    "1.2.3",
    "v1.2",
    "12:30",
    "1:2:3",
    "a:b",
    "http://x:80/y",
    "a#b",
    "a # b",
    "a: b",
    "a :b",
    "a , b",
    "[a]",
    "{a}",
    "a]",
    "a}",
    "a,b",
    "-a",
    "-1a",
    "?a",
    ":a",
    "%a",
    "@a",
    "`a",
    "!a",
    "&a",
    "*a",
    "|",
    ">",
    "a|b",
    "<<",
    "<",
    "é",
    "ünïcödé ✓",
    "日本語",
    "a  b",
    "a b c",
    "${X:-1}",
    "$X",
    "1 2",
    "key with spaces",
    "0 ",
    "a\\n",
    "'",
    "''",
    "\"",
    "a'b",
    "a\"b",
    "---",
    "...",
    "a---",
    "#",
    "=",
    "1.0.0-rc.1",
];

const QUOTED: &[&str] = &[
    "''",
    "'a'",
    "'it''s'",
    "''''",
    "'a: b'",
    "'# x'",
    "' lead'",
    "'trail '",
    "'\\n'",
    "'é'",
    "'1'",
    "'null'",
    "'<<'",
    "\"\"",
    "\"a\"",
    "\"\\n\"",
    "\"\\t\"",
    "\"\\\"\"",
    "\"\\\\\"",
    "\"\\u00e9\"",
    "\"\\U0001F600\"",
    "\"\\x41\"",
    "\"\\xe9\"",
    "\"\\0\"",
    "\"\\a\\b\\e\\f\\v\\r\"",
    "\"\\ \"",
    "\"\\/\"",
    "\"\\N\\_\\L\\P\"",
    "\"\\q\"",
    "\"\\ud800\"",
    "\"\\u12\"",
    "\"\\x4\"",
    "\"a # b\"",
    "\"a: b\"",
    "\"1\"",
    "\"true\"",
    "\"~\"",
    "\"<<\"",
    "\"' '\"",
    "'\" \"'",
    "\"unterminated",
    "'unterminated",
    "\"a\"b",
    "'a'b",
    "\"a\" # c",
    "'a' #c",
    "\"a\"#c",
];

const KEYS: &[&str] = &[
    "a",
    "b",
    "c",
    "name",
    "key with spaces",
    "k",
    "1",
    "0x1F",
    "-1",
    "1.5",
    "null",
    "~",
    "true",
    "\"a\"",
    "'b'",
    "\"1\"",
    "\"key: x\"",
    "'k''s'",
    "é",
    "<<",
    "a#b",
    "a:b",
    "-a",
    "a b ",
];

const COMMENTS: &[&str] = &[
    " # c",
    "  #c",
    " #",
    " # a: b",
    "#no-space",
    " # - x",
    " # 'q",
];

struct Gen {
    rng: Rng,
    anchors: Vec<String>,
}

impl Gen {
    fn scalar(&mut self) -> String {
        match self.rng.below(10) {
            0..=5 => self.rng.pick(PLAIN).to_string(),
            6..=8 => self.rng.pick(QUOTED).to_string(),
            _ => format!("{} {}", self.rng.pick(PLAIN), self.rng.pick(PLAIN)),
        }
    }

    fn eol(&mut self, out: &mut String) {
        if self.rng.chance(15) {
            out.push_str(self.rng.pick(COMMENTS));
        } else if self.rng.chance(8) {
            out.push_str(self.rng.pick(&[" ", "  ", "   "]));
        }
        out.push('\n');
        if self.rng.chance(10) {
            out.push('\n');
        }
        if self.rng.chance(8) {
            let spaces = self.rng.below(8);
            let _ = writeln!(out, "{}# comment", " ".repeat(spaces));
        }
    }

    fn flow(&mut self, depth: usize, out: &mut String, indent: usize) {
        let map = self.rng.chance(50);
        out.push(if map { '{' } else { '[' });
        let n = self.rng.below(4);
        for i in 0..n {
            if i > 0 {
                out.push_str(self.rng.pick(&[", ", ",", " , ", ",  "]));
                if self.rng.chance(15) {
                    let _ = write!(out, "\n{}", " ".repeat(indent + self.rng.below(4)));
                }
            }
            if map {
                out.push_str(self.rng.pick(KEYS));
                out.push_str(self.rng.pick(&[": ", ":", " : ", ":  "]));
            }
            if depth < 3 && self.rng.chance(20) {
                self.flow(depth + 1, out, indent);
            } else if !(map && self.rng.chance(10)) {
                out.push_str(&self.scalar());
            }
        }
        if self.rng.chance(5) {
            out.push(',');
        }
        out.push(if map { '}' } else { ']' });
    }

    fn block_scalar(&mut self, out: &mut String, indent: usize) {
        out.push_str(
            self.rng
                .pick(&["|", "|-", "|+", ">", ">-", ">+", "|2", "| # c", ">1"]),
        );
        out.push('\n');
        let body = indent + 1 + self.rng.below(3);
        for _ in 0..1 + self.rng.below(4) {
            match self.rng.below(8) {
                0 => out.push('\n'),
                1 => {
                    let _ = writeln!(out, "{}", " ".repeat(self.rng.below(body + 2)));
                }
                2 => {
                    let _ = writeln!(out, "{}  more {}", " ".repeat(body), self.scalar());
                }
                _ => {
                    let _ = writeln!(out, "{}{}", " ".repeat(body), self.scalar());
                }
            }
        }
        if self.rng.chance(20) {
            out.push('\n');
        }
    }

    /// A value after `key:` or `- ` (the indicator is already written).
    fn value(&mut self, depth: usize, out: &mut String, indent: usize, in_map: bool) {
        let r = self.rng.below(100);
        if depth < 4 && r < 35 {
            if self.rng.chance(20) {
                let name = format!("a{}", self.rng.below(3));
                let _ = write!(out, " &{name}");
                self.anchors.push(name);
            }
            out.push('\n');
            let child = if in_map && self.rng.chance(30) {
                indent
            } else {
                indent + 1 + self.rng.below(3)
            };
            if in_map && child == indent {
                self.seq(depth + 1, out, child);
            } else {
                self.block(depth + 1, out, child);
            }
        } else if r < 45 {
            out.push(' ');
            self.flow(depth, out, indent + 1);
            self.eol(out);
        } else if r < 52 {
            out.push(' ');
            self.block_scalar(out, indent);
        } else if r < 60 && !self.anchors.is_empty() {
            let a = self.anchors[self.rng.below(self.anchors.len())].clone();
            let _ = write!(out, " *{a}");
            self.eol(out);
        } else if r < 62 {
            self.eol(out);
        } else {
            out.push_str(self.rng.pick(&[" ", " ", " ", "  "]));
            out.push_str(&self.scalar());
            self.eol(out);
            if self.rng.chance(5) {
                // A continuation line: multi-line plain scalar, or an error.
                let deeper = " ".repeat(indent + self.rng.below(4));
                let _ = writeln!(out, "{deeper}{}", self.scalar());
            }
        }
    }

    fn seq(&mut self, depth: usize, out: &mut String, indent: usize) {
        for _ in 0..1 + self.rng.below(4) {
            let _ = write!(out, "{}-", " ".repeat(indent));
            if depth < 4 && self.rng.chance(20) {
                // Compact mapping: `- k: v`.
                let _ = write!(out, " {}:", self.rng.pick(KEYS));
                self.value(depth + 1, out, indent + 2, true);
                for _ in 0..self.rng.below(3) {
                    let _ = write!(out, "{}{}:", " ".repeat(indent + 2), self.rng.pick(KEYS));
                    self.value(depth + 1, out, indent + 2, true);
                }
            } else {
                self.value(depth, out, indent, false);
            }
        }
    }

    fn map(&mut self, depth: usize, out: &mut String, indent: usize) {
        for _ in 0..1 + self.rng.below(5) {
            let _ = write!(out, "{}{}:", " ".repeat(indent), self.rng.pick(KEYS));
            self.value(depth, out, indent, true);
        }
    }

    fn block(&mut self, depth: usize, out: &mut String, indent: usize) {
        if self.rng.chance(35) {
            self.seq(depth, out, indent);
        } else {
            self.map(depth, out, indent);
        }
    }

    fn document(&mut self) -> String {
        self.anchors.clear();
        let mut out = String::new();
        if self.rng.chance(10) {
            out.push_str("# head\n");
        }
        if self.rng.chance(15) {
            out.push_str(self.rng.pick(&["---\n", "--- # c\n", "---\n\n"]));
        }
        self.block(0, &mut out, 0);
        if self.rng.chance(5) {
            out.pop();
        }
        if self.rng.chance(15) {
            out = out.replace('\n', "\r\n");
        }
        out
    }
}

#[test]
fn generated_corpus_matches_serde_norway() {
    let mut g = Gen {
        rng: Rng(0x5eed_0011),
        anchors: Vec::new(),
    };
    let total = 3000;
    let mut accepted = 0;
    for i in 0..total {
        let doc = g.document();
        if check(&doc, &format!("generated #{i}")) {
            accepted += 1;
        }
        // And one random edit of it (what a generator does not write on purpose).
        if let Some(m) = mutate(&mut g.rng, &doc) {
            check(&m, &format!("generated #{i}, edited"));
        }
    }
    // The grammar makes many invalid or declined documents on purpose; a good part must still be
    // accepted or the comparison would prove little.
    assert!(accepted * 5 > total, "only {accepted}/{total} accepted");
}

/// Scalars one by one as a mapping value and a key: every resolution rule, in both places.
#[test]
fn every_scalar_alone_matches_serde_norway() {
    let mut accepted = 0;
    for s in PLAIN.iter().chain(QUOTED) {
        for doc in [
            format!("k: {s}\n"),
            format!("{s}: v\n"),
            format!("- {s}\n"),
            format!("x: [{s}]\n"),
        ] {
            if check(&doc, "scalar") {
                accepted += 1;
            }
        }
    }
    assert!(accepted > PLAIN.len(), "{accepted}");
}

const EDIT_BYTES: &[u8] = b" \n:-#'\"\\[]{},&*!|>01.a\t\r?%@<";

/// One seeded single-byte replacement, deletion or insertion; `None` if it breaks UTF-8.
fn mutate(rng: &mut Rng, text: &str) -> Option<String> {
    let mut m = text.as_bytes().to_vec();
    if m.is_empty() {
        return None;
    }
    let at = rng.below(m.len());
    let c = EDIT_BYTES[rng.below(EDIT_BYTES.len())];
    match rng.below(3) {
        0 => m[at] = c,
        1 => {
            m.remove(at);
        }
        _ => m.insert(at, c),
    }
    String::from_utf8(m).ok()
}

#[test]
fn mutated_repository_files_match_serde_norway() {
    let mut rng = Rng(0x00c0_ffee);
    // Bounded: at most 200 edits per file and about 3 MB of mutated text in all.
    let files = corpus_files();
    let budget = 3_000_000 / files.len().max(1);
    for (p, text) in &files {
        let label = p.display().to_string();
        let edits = (budget / text.len().max(1)).clamp(5, 200);
        for n in 0..edits {
            if let Some(m) = mutate(&mut rng, text) {
                check(&m, &format!("{label} (edit #{n})"));
            }
        }
    }
}

/// What the subset is for: each of these must take the fast path (and match serde_norway).
#[test]
fn subset_features_are_accepted() {
    let docs = [
        "  a: 1\n  b: 2\n",
        "a:\n- x\n- y\nb: 1\n",
        "a:\n  - x\n  -\n  - - y\n    - z\n",
        "- - a\n  - b\n- c: 1\n  d: 2\n-\n  e: 3\n",
        "a: |\n  x\n\n  y\n\nb: 1\n",
        "a: |-\n  x\n",
        "a: |+\n  x\n\n\nb: 1\n",
        "a: >\n  x\n  y\n\n  z\n",
        "a: >-\n  x\n  y\n",
        "- |\n   x\n    y\n",
        "a: {b: [1, 2], c: 'd', e: }\n",
        "a: {b: 1,\n  c: [x,\n    y]} # c\n",
        "a:\n  {b: 1,\n   c: 2}\n",
        "x: &x\n  k: 1\ny:\n  <<: *x\n  j: 2\n",
        "x: &x\n  - 1\ny: *x\nz:\n  - *x\n",
        "a: 1\r\nb: [x, y]\r\nc: |\r\n  l1\r\n  l2\r\n",
        "--- # doc\na: 1\n",
        "---\n\n# c\na: 1\n",
        "a: b # c\n# d\n    # e\n",
        "a:   # c\n    # d\n  b: 1\n",
        "key with spaces: v\n'q': \"w\"\n1: 2\n~: n\ntrue: t\n",
        "a: \"\\u00e9\\t\\\"\\x41\"\nb: 'it''s'\n",
        "a: http://x:80/y\nb: [file://../x]\nc: a#b\nd: ${X:-1}\n",
        "a  : b\n\"c\" : d\n",
        "a: -1\nb: -x\n-c: 1\n",
        "a: 0x1F\nb: 0o17\nc: 1e3\nd: .inf\ne: -.inf\nf: .nan\ng: 08\nh: 1_000\ni: 18446744073709551615\n",
        "a: []\nb: {}\nc: ''\nd: \"\"\ne:\n",
        // JSON-like keys: the value right after the `:` (what `{{json …}}` writes).
        "a: {\"b\":1,\"c\":\"d\",\"e\":[1,\"x\",null,true],\"f\":{\"g\":{}},\"h\":null}\n",
        "a: {'b':x, \"c\":  y, \"d\":}\n",
        "- {\"k\":\"v:w\",\"n\":1.5}\n",
    ];
    for d in docs {
        assert!(check(d, "feature"), "declined:\n{d}");
    }
}

/// Edges of the subset: whatever the fast path says about these must agree with serde_norway
/// (most are declined: errors stay serde_norway's).
#[test]
fn edge_cases_match_serde_norway() {
    let deep_flow = |n: usize| format!("a: {}{}\n", "[".repeat(n), "]".repeat(n));
    let deep_block = |n: usize| {
        let mut s = String::new();
        for i in 0..n {
            let _ = writeln!(s, "{}k:", " ".repeat(i));
        }
        s
    };
    // 10 aliases per level, 8 levels: 10^8 alias jumps ("repetition limit exceeded").
    let mut bomb = String::from("a0: &a0\n  - x\n");
    for i in 1..8 {
        let _ = writeln!(bomb, "a{i}: &a{i}");
        for _ in 0..10 {
            let _ = writeln!(bomb, "  - *a{}", i - 1);
        }
    }
    let long_key = |n: usize| format!("{}: v\n", "k".repeat(n));
    let generated = [
        deep_flow(60),
        deep_flow(150),
        deep_block(60),
        deep_block(140),
        bomb,
        long_key(1000),
        long_key(1030),
        format!("a: {}\n", "v".repeat(5000)),
        format!("\"{}\": v\n", "k".repeat(1030)),
    ];
    let fixed = [
        "",
        "# only\n",
        "---\n",
        "a: 1\n...\n",
        "a: 1\n---\nb: 2\n",
        "%YAML 1.1\n---\na: 1\n",
        "a: 'multi\n  line'\n",
        "a: \"multi\n  line\"\n",
        "a: \"x\\\n  y\"\n",
        "a:\tb\n",
        "\u{feff}a: 1\n",
        "a: b\rc: d\n",
        "a: \u{85}\n",
        "a: x\u{2028}y\n",
        "a: x\n  y\n",
        "a: x\n\n  y\n",
        "a: b\n  # c\n  d\n",
        "- a\n -b\n",
        "a: [1, 2,]\n",
        "a: {b, c: 1}\n",
        "a: [b: c]\n",
        "a: {? b : c}\n",
        "a: {b:c}\n",
        "a: {\"b\":c}\n",
        "a: [b:, c]\n",
        "a: [b\n  c]\n",
        "a: [\n]\n",
        "a: [b,#c\n  d]\n",
        "a: |2\n  x\n",
        "a: |\n    \n  x\n",
        "a: |\n  x\n   \n",
        "a: >\n  x\n   y\n  z\n",
        "a: |\nb: 1\n",
        "a: |",
        "a: |+\n  x\n  ",
        "a: >\n\n  x\n  y\n\n\n",
        "? a\n: b\n",
        "!t a: b\n",
        "a: !t b\n",
        "a: &x b\n",
        "[a]: b\n",
        "a: [a]: b\n",
        "{a: 1}\n",
        "[1, 2]\n",
        "just a scalar\n",
        "a: &x\n  b: *x\n",
        "a: *x\n",
        "a: &x\n- 1\n",
        "a: &x\n  k: 1\nb: &x\n  k: 2\nc: *x\n",
        "a: &x\n  b: &x\n    - 1\n  c: 2\nd: *x\n",
        "a: &x\n  - 1\nb: &x\n  - 2\nc: &y\n  - 3\nd: *x\n",
        "a: 1\na: 2\n",
        "1: a\n'1': b\n",
        "~: a\nnull: b\n",
        ".nan: 1\n.NaN: 2\n",
        "1: a\n01: b\n",
        "1: a\n+1: b\n",
        "1.0: a\n1: b\n",
        "<<: {a: 1}\n",
        "<<: [1]\n",
        "\"\\x3c<\": {a: 1}\nb: 2\n",
        "a:\n  - b\n  c: d\n",
        "a: -\n",
        "- -\n",
        "a: - b\n",
        "a: b: c\n",
        "- a: b: c\n",
        "a: \"x\" y\n",
        "a: 'x'#c\n",
        "a: \"x\"#c\n",
        "a:b\n",
        "a: @x\n",
        "a: `x\n",
        "a: %x\n",
        "-#: 1\n",
        "a: [1, 2]x\n",
        "a:\n  - 1\n - 2\n",
        "a:\n    b: 1\n  c: 2\n",
        "a: \"\\ud800\"\n",
        "a: \"\\U00110000\"\n",
        "a: \"\\q\"\n",
        "a: \"\\0\\x00\"\n",
        "a: 340282366920938463463374607431768211456\n",
        "a: -170141183460469231731687303715884105729\n",
        "a: 0x\n",
        "a: 0o\n",
        "a: +\n",
    ];
    for (i, d) in generated
        .iter()
        .map(String::as_str)
        .chain(fixed)
        .enumerate()
    {
        check(d, &format!("edge #{i}"));
    }
}
