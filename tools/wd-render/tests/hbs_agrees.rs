//! src/hbs.rs compiles a template to exactly the `Template` handlebars' compiler makes (elements,
//! whitespace, line:column mapping), or declines: every shipped template, and a generated corpus
//! of the subset with whitespace, `~`, standalone lines, blocks and near-misses.

use handlebars::Template;
use std::path::{Path, PathBuf};

fn agree(src: &str) -> Option<bool> {
    let fast = wd_render::hbs::compile(src, "t")?;
    let slow = Template::compile_with_name(src, "t".to_string());
    match slow {
        Ok(slow) => {
            assert_eq!(fast, slow, "template {src:?}");
            Some(true)
        }
        Err(e) => panic!("src/hbs.rs accepted {src:?}, handlebars refuses it: {e}"),
    }
}

fn hbs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("templates dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            hbs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "hbs") {
            out.push(p);
        }
    }
}

#[test]
fn every_shipped_template_compiles_fast_and_the_same() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/templates");
    let mut files = Vec::new();
    hbs_files(&root, &mut files);
    assert!(files.len() >= 16, "found {} templates", files.len());
    for f in files {
        let src = std::fs::read_to_string(&f).expect("read");
        assert_eq!(
            agree(&src),
            Some(true),
            "{} is outside src/hbs.rs's subset",
            f.display()
        );
    }
}

/// xorshift: the corpus is the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
    fn chance(&mut self, n: u64) -> bool {
        self.next() % n == 0
    }
}

const TEXT: &[&str] = &[
    "", "a", " ", "  ", "\t", "\n", "\r\n", "\r", "x: ", "  key: ", "}", "{", "\n\n", " \n ", "é",
    "\u{a0}", "}}", "\n  - ", "\"", "{ ", " }\n", "\n  ", "  \n", "\t\n",
];
/// Text that makes a tag an escape or breaks it.
const ODD_TEXT: &[&str] = &["\\", "\\\\", "{{", "{"];

fn text(r: &mut Rng) -> &'static str {
    if r.chance(40) {
        r.pick(ODD_TEXT)
    } else {
        r.pick(TEXT)
    }
}
const PATHS: &[&str] = &[
    "a",
    "a.b",
    "values.x-y",
    "this",
    "this.env",
    "@key",
    "@first",
    "../a.b",
    "../../a",
    "_x",
    "elsewhere",
    "a.this",
    "@root.a",
    "this.this",
    "assets",
    "nullable",
];
/// Near-misses: literals, keywords and paths outside the subset.
const ODD_PATHS: &[&str] = &[
    "true", "null", "as", "else", "1", "a.1", "a..b", "a/b", "-1", "x$",
];
const STRS: &[&str] = &["\"k8s\"", "\"/*\"", "\"\"", "\"a b\"", "\"}}\"", "\"é{{\""];
const ODD_STRS: &[&str] = &["'s'", "\"a\\\"b\"", "\"a\tb\""];
const HELPERS: &[&str] = &["json", "lookup", "concat", "env", "eq", "x-y", "if", "each"];
const BLOCKS: &[&str] = &["if", "each", "unless", "with"];

fn param(r: &mut Rng, depth: u32) -> String {
    match r.next() % 40 {
        0 => format!("({})", path(r)),
        1 => r.pick(ODD_STRS).to_string(),
        2..=7 => r.pick(STRS).to_string(),
        8..=13 if depth < 2 => format!("({} {})", r.pick(HELPERS), params(r, depth + 1)),
        _ => path(r).to_string(),
    }
}

fn path(r: &mut Rng) -> &'static str {
    if r.chance(40) {
        r.pick(ODD_PATHS)
    } else {
        r.pick(PATHS)
    }
}

fn params(r: &mut Rng, depth: u32) -> String {
    let n = 1 + r.next() % 3;
    (0..n)
        .map(|_| param(r, depth))
        .collect::<Vec<_>>()
        .join(if r.chance(40) { "  " } else { " " })
}

fn tilde(r: &mut Rng) -> &'static str {
    if r.chance(4) {
        "~"
    } else {
        ""
    }
}

fn body(r: &mut Rng, depth: u32, out: &mut String) {
    let n = r.next() % 6;
    for _ in 0..n {
        out.push_str(text(r));
        match r.next() % 9 {
            0 | 1 => out.push_str(&format!("{{{{{}{}{}}}}}", tilde(r), path(r), tilde(r))),
            2 | 3 => out.push_str(&format!(
                "{{{{{}{} {}{}}}}}",
                tilde(r),
                r.pick(HELPERS),
                params(r, 0),
                tilde(r)
            )),
            4 | 5 if depth < 3 => {
                let name = r.pick(BLOCKS);
                out.push_str(&format!(
                    "{{{{{}#{name} {}{}}}}}",
                    tilde(r),
                    params(r, 0),
                    tilde(r)
                ));
                out.push_str(text(r));
                body(r, depth + 1, out);
                if r.chance(3) {
                    out.push_str(text(r));
                    out.push_str(&format!("{{{{{}else{}}}}}", tilde(r), tilde(r)));
                    body(r, depth + 1, out);
                }
                out.push_str(text(r));
                let close = if r.chance(30) { "other" } else { name };
                out.push_str(&format!("{{{{{}/{close}{}}}}}", tilde(r), tilde(r)));
            }
            6 if r.chance(4) => out.push_str(r.pick(&[
                "{{! c }}",
                "{{{a}}}",
                "{{ a }}",
                "{{a b=c}}",
                "{{> p}}",
                "{{else}}",
                "{{/if}}",
                "{{#if a as |x|}}{{/if}}",
                "{{a 1}}",
                "{{#if}}{{/if}}",
                "\\{{a}}",
                "{{^}}",
            ])),
            _ => {}
        }
        out.push_str(text(r));
    }
}

#[test]
fn a_generated_corpus_compiles_the_same_or_is_left_to_handlebars() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut fast, mut total) = (0, 0);
    // WD_HBS_CORPUS=N runs a larger corpus (e.g. after changing src/hbs.rs).
    let n: u64 = std::env::var("WD_HBS_CORPUS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    for _ in 0..n {
        let mut src = String::new();
        body(&mut r, 0, &mut src);
        total += 1;
        if agree(&src).is_some() {
            fast += 1;
        } else if std::env::var("WD_HBS_SHOW").is_ok() && Template::compile(&src).is_ok() {
            eprintln!("left to handlebars: {src:?}");
        }
    }
    eprintln!("{fast} of {total} generated templates compiled by src/hbs.rs");
    // Most of the corpus is in the subset; the rest exercises the fallback.
    assert!(
        fast * 4 > total,
        "only {fast} of {total} compiled by src/hbs.rs"
    );
}
