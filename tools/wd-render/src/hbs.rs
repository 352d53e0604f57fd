//! A linear-time compiler for the handlebars subset config/templates use, producing exactly the
//! [`Template`] handlebars' own compiler produces (the same elements, whitespace handling and
//! `line:column` mapping), so rendering, helpers and render errors stay handlebars' own.
//!
//! Why: handlebars parses with pest and maps every element to its line with pest's
//! `Position::line_col`, which scans from the start of the template each time; for our 16
//! templates (15 KB) that was 19.6M of wd-render's 70M instructions (docs/benchmarks-notes/pipe.md).
//!
//! The subset: text; `{{path}}`, `{{helper arg…}}` with arguments that are dotted paths (with
//! `this`, `../`, `@`), `"strings"` without backslashes or control characters, and
//! `(helper arg…)` subexpressions; `{{#helper arg…}}`, `{{else}}`, `{{/helper}}`; `~` on either
//! side. Anything else (comments, partials, `{{{…}}}`, `\{{`, hash arguments, `as |x|`, numbers,
//! `else if`, whitespace inside the braces other than single spaces between arguments, …) and
//! anything malformed is not judged here: [`compile`] returns `None` and the caller uses
//! handlebars' compiler, which renders or refuses it as it always did. tests/hbs_agrees.rs checks
//! that every template the repository ships, and a generated corpus, compiles to a `Template`
//! equal to handlebars'.

use handlebars::template::{
    ExpressionSpecBuilder, HelperTemplate, Parameter, Subexpression, TemplateElement,
    TemplateMapping,
};
use handlebars::{Path, PathSeg, Template};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Compiles `source` as `Template::compile_with_name(source, name)` would, or `None` when it is
/// outside the subset (the caller then compiles it with handlebars).
pub fn compile(source: &str, name: &str) -> Option<Template> {
    let mut c = Compiler {
        src: source,
        lc: LineCol {
            at: 0,
            line: 1,
            col: 1,
        },
        stack: vec![Template::default()],
        helpers: Vec::new(),
    };
    let mut t = c.run()?;
    t.name = Some(name.to_string());
    Some(t)
}

/// pest's `Position::line_col`, computed incrementally (positions only grow).
struct LineCol {
    at: usize,
    line: usize,
    col: usize,
}

impl LineCol {
    fn at(&mut self, src: &str, pos: usize) -> TemplateMapping {
        debug_assert!(pos >= self.at);
        let bytes = src.as_bytes();
        for (i, c) in src[self.at..pos].char_indices() {
            match c {
                '\n' => {
                    self.line += 1;
                    self.col = 1;
                }
                // `\r\n` is one line break (the `\n` resets the column); a lone `\r` is a column.
                '\r' if bytes.get(self.at + i + 1) == Some(&b'\n') => {}
                _ => self.col += 1,
            }
        }
        self.at = pos;
        mapping(self.line, self.col)
    }
}

/// A [`TemplateMapping`] (its constructor is private to handlebars; its fields are public).
fn mapping(line: usize, col: usize) -> TemplateMapping {
    static PROTO: OnceLock<Option<TemplateMapping>> = OnceLock::new();
    let mut m = PROTO
        .get_or_init(|| {
            Template::compile("{{a}}")
                .ok()
                .and_then(|t| t.mapping.first().cloned())
        })
        .clone()
        .expect("handlebars maps an expression");
    m.0 = line;
    m.1 = col;
    m
}

/// pest's WHITESPACE in the handlebars grammar.
fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

// handlebars' support::str helpers.
fn hb_space(c: char) -> bool {
    c == ' ' || c == '\t'
}
fn ends_with_empty_line(text: &str) -> bool {
    let s = text.trim_end_matches(hb_space);
    s.ends_with(['\n', '\r']) || s.is_empty()
}
fn starts_with_empty_line(text: &str) -> bool {
    text.trim_start_matches(hb_space).starts_with(['\n', '\r'])
}
fn strip_first_newline(s: &str) -> &str {
    s.strip_prefix("\r\n")
        .or_else(|| s.strip_prefix('\n'))
        .unwrap_or(s)
}
/// handlebars' `Template::raw_string` for text without escapes.
fn raw_string(s: &str, trim_start: bool, trim_start_line: bool) -> TemplateElement {
    let s = if trim_start {
        s.trim_start()
    } else if trim_start_line {
        strip_first_newline(s.trim_start_matches(hb_space))
    } else {
        s
    };
    TemplateElement::RawString(s.to_owned())
}

/// One `{{…}}` of the subset.
enum Tag {
    Expr(Vec<Param>),
    Open(String, Vec<Param>),
    Else,
    Close(String),
}

enum Param {
    Path(String),
    Str(String),
    Sub(String, Vec<Param>),
}

struct Mustache {
    tag: Tag,
    omit_pre: bool,
    omit_pro: bool,
    /// Just after the closing `}}`.
    end: usize,
}

struct Compiler<'a> {
    src: &'a str,
    lc: LineCol,
    /// Innermost template last (handlebars' template_stack, front = last).
    stack: Vec<Template>,
    /// Open blocks, innermost last, with whether `{{else}}` was seen.
    helpers: Vec<(HelperTemplate, bool)>,
}

impl Compiler<'_> {
    fn front(&mut self) -> &mut Template {
        self.stack.last_mut().expect("the root template")
    }

    fn push(&mut self, e: TemplateElement, at: usize) {
        let m = self.lc.at(self.src, at);
        let t = self.front();
        t.elements.push(e);
        t.mapping.push(m);
    }

    /// handlebars' `remove_previous_whitespace`.
    fn remove_previous_whitespace(&mut self) {
        if let Some(TemplateElement::RawString(text)) = self.front().elements.last_mut() {
            *text = text.trim_end().to_owned();
        }
    }

    /// handlebars' `process_standalone_statement` (prevent_indent, not a partial).
    fn standalone(&mut self, start: usize, end: usize) -> bool {
        let continuation = &self.src[end..];
        if !(starts_with_empty_line(continuation) || continuation.is_empty()) {
            return false;
        }
        let leading = ends_with_empty_line(&self.src[..start]);
        if leading {
            if let Some(TemplateElement::RawString(text)) = self.front().elements.last_mut() {
                *text = text.trim_end_matches(hb_space).to_owned();
            }
        }
        start == 0 || leading
    }

    /// The text between the previous tag (ending at `prev_end`) and the tag at `tag` (or the
    /// end); true if it became an element (which resets the standalone-line flag).
    fn text_before(
        &mut self,
        text: &str,
        prev_end: usize,
        tag: usize,
        omit_pro_ws: bool,
        trim_line_required: bool,
    ) -> bool {
        if text.is_empty() {
            return false;
        }
        if prev_end == 0 {
            // the template's first element: raw text from the start, whitespace or not
            self.push(TemplateElement::RawString(text.to_owned()), 0);
            return true;
        }
        match text.find(|c| !is_ws(c)) {
            // raw text; pest skipped the whitespace before it, handlebars keeps it
            Some(lead) => {
                let e = raw_string(text, omit_pro_ws, trim_line_required);
                self.push(e, prev_end + lead);
                true
            }
            // whitespace only, which pest skipped: handlebars keeps it as text at the tag's
            // position, unless the previous tag ended with `~`
            None if !omit_pro_ws => {
                let e = raw_string(text, false, trim_line_required);
                self.push(e, tag);
                true
            }
            None => false,
        }
    }

    fn run(&mut self) -> Option<Template> {
        let src = self.src;
        let mut omit_pro_ws = false;
        let mut trim_line_required = false;
        let mut prev_end = 0;
        loop {
            let next = src[prev_end..].find("{{").map(|i| prev_end + i);
            let text_end = next.unwrap_or(src.len());
            let text = &src[prev_end..text_end];
            // `\{{` and `\\{{` are escapes: not in the subset.
            if next.is_some() && text.ends_with('\\') {
                return None;
            }
            let Some(m) = next else {
                if !self.helpers.is_empty() {
                    return None; // an unclosed block: handlebars says where
                }
                // The end (pest's EOI) is handled as a tag at the end of the source.
                self.text_before(text, prev_end, src.len(), omit_pro_ws, trim_line_required);
                let root = self.stack.pop()?;
                return self.stack.is_empty().then_some(root);
            };
            let must = parse_mustache(src, m)?;
            if self.text_before(text, prev_end, m, omit_pro_ws, trim_line_required) {
                trim_line_required = false;
            }
            if must.omit_pre {
                self.remove_previous_whitespace();
            }
            omit_pro_ws = must.omit_pro;
            match must.tag {
                Tag::Expr(mut params) => {
                    let name = if params.len() == 1 {
                        match params.pop()? {
                            Param::Path(p) => Parameter::Path(path(&p)?),
                            _ => return None,
                        }
                    } else {
                        let Param::Path(id) = params.remove(0) else {
                            return None;
                        };
                        if !is_identifier(&id) {
                            return None;
                        }
                        Parameter::Name(id)
                    };
                    let exp = spec(name, params, must.omit_pre, must.omit_pro)?;
                    let h = HelperTemplate::new(exp, false, false);
                    self.push(TemplateElement::Expression(Box::new(h)), m);
                }
                Tag::Open(name, params) => {
                    trim_line_required = self.standalone(m, must.end);
                    let exp = spec(Parameter::Name(name), params, must.omit_pre, must.omit_pro)?;
                    let h = HelperTemplate::new(exp, true, trim_line_required && !must.omit_pre);
                    let at = self.lc.at(src, m);
                    self.front().mapping.push(at);
                    self.helpers.push((h, false));
                    self.stack.push(Template::default());
                }
                Tag::Else => {
                    trim_line_required = self.standalone(m, must.end);
                    let then = self.stack.pop()?;
                    let (h, had_else) = self.helpers.last_mut()?;
                    if *had_else {
                        return None;
                    }
                    *had_else = true;
                    h.template = Some(then);
                    self.stack.push(Template::default());
                }
                Tag::Close(name) => {
                    trim_line_required = self.standalone(m, must.end);
                    let (mut h, _) = self.helpers.pop()?;
                    if h.name.as_name() != Some(name.as_str()) {
                        return None; // handlebars reports the mismatch
                    }
                    let body = self.stack.pop()?;
                    if h.template.is_some() {
                        h.inverse = Some(body);
                    } else {
                        h.template = Some(body);
                    }
                    // no mapping: handlebars maps a block where it opens
                    self.front()
                        .elements
                        .push(TemplateElement::HelperBlock(Box::new(h)));
                }
            }
            prev_end = must.end;
        }
    }
}

fn spec(
    name: Parameter,
    params: Vec<Param>,
    omit_pre: bool,
    omit_pro: bool,
) -> Option<handlebars::template::ExpressionSpec> {
    let params = params
        .into_iter()
        .map(param)
        .collect::<Option<Vec<Parameter>>>()?;
    ExpressionSpecBuilder::default()
        .name(name)
        .params(params)
        .hash(HashMap::new())
        .omit_pre_ws(omit_pre)
        .omit_pro_ws(omit_pro)
        .build()
        .ok()
}

fn param(p: Param) -> Option<Parameter> {
    Some(match p {
        Param::Path(p) => Parameter::Path(path(&p)?),
        Param::Str(s) => Parameter::Literal(Value::String(s)),
        Param::Sub(name, params) => {
            let params = params
                .into_iter()
                .map(param)
                .collect::<Option<Vec<Parameter>>>()?;
            Parameter::Subexpression(Subexpression::new(
                Parameter::Name(name),
                params,
                HashMap::new(),
            ))
        }
    })
}

/// A path as handlebars parses it: plain dotted names directly, the rest (`this`, `../`, `@`)
/// with handlebars' own path parser.
fn path(raw: &str) -> Option<Path> {
    if raw.starts_with(['.', '@']) || raw.split('.').any(|s| s == "this") {
        return Path::parse(raw).ok();
    }
    let segs = raw
        .split('.')
        .map(|s| PathSeg::Named(s.to_string()))
        .collect();
    Some(Path::Relative((segs, raw.to_string())))
}

/// An identifier of the subset: `[A-Za-z_][A-Za-z0-9_-]*` (pest: symbol characters).
fn is_identifier(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// A path of the subset: `(../)*@?seg(.seg)*` with identifier segments, `this` allowed; not a
/// literal or keyword of the grammar (`true`, `false`, `null`, `as`, `else` as first segment).
fn is_path(s: &str) -> bool {
    let mut rest = s;
    while let Some(r) = rest.strip_prefix("../") {
        rest = r;
    }
    let rest = rest.strip_prefix('@').unwrap_or(rest);
    let first = rest.split('.').next().unwrap_or("");
    !matches!(first, "true" | "false" | "null" | "as" | "else")
        && rest.split('.').all(is_identifier)
}

/// Parses the tag at `start` (`{{`), or `None` when it is outside the subset.
fn parse_mustache(src: &str, start: usize) -> Option<Mustache> {
    let b = src.as_bytes();
    let mut i = start + 2;
    let omit_pre = b.get(i) == Some(&b'~');
    if omit_pre {
        i += 1;
    }
    let sigil = match b.get(i) {
        Some(b'#') => {
            i += 1;
            Some(b'#')
        }
        Some(b'/') => {
            i += 1;
            Some(b'/')
        }
        _ => None,
    };
    // `{{else}}` (the keyword is not an argument)
    if sigil.is_none() {
        if let Some(rest) = src[i..].strip_prefix("else") {
            let omit_pro = rest.starts_with('~');
            let close = if omit_pro { &rest[1..] } else { rest };
            if !close.starts_with("}}") {
                return None; // `{{else if …}}` chains and names like `elsewhere`
            }
            return Some(Mustache {
                tag: Tag::Else,
                omit_pre,
                omit_pro,
                end: i + 4 + usize::from(omit_pro) + 2,
            });
        }
    }
    let (params, mut i) = params(src, i, b'}')?;
    let omit_pro = b.get(i) == Some(&b'~');
    if omit_pro {
        i += 1;
    }
    if b.get(i) != Some(&b'}') || b.get(i + 1) != Some(&b'}') {
        return None;
    }
    // `}}}` could be a triple-brace close; text starting with `}` is fine only after a plain tag.
    let end = i + 2;
    let tag = match sigil {
        Some(b'#') => {
            let mut it = params.into_iter();
            let Some(Param::Path(name)) = it.next() else {
                return None;
            };
            if !is_identifier(&name) || name == "else" || name == "as" {
                return None;
            }
            Tag::Open(name, it.collect())
        }
        Some(_) => {
            let mut it = params.into_iter();
            let (Some(Param::Path(name)), None) = (it.next(), it.next()) else {
                return None;
            };
            if !is_identifier(&name) {
                return None;
            }
            Tag::Close(name)
        }
        None => Tag::Expr(params),
    };
    Some(Mustache {
        tag,
        omit_pre,
        omit_pro,
        end,
    })
}

/// Space-separated arguments from `i` up to (not including) `~}}`/`}}` (`close` `}`) or `)`
/// (`close` `)`); returns them and the index of the closing character (or `~`).
fn params(src: &str, mut i: usize, close: u8) -> Option<(Vec<Param>, usize)> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    loop {
        match b.get(i)? {
            b'"' => {
                let body_start = i + 1;
                let len = src[body_start..].find('"')?;
                let body = &src[body_start..body_start + len];
                if body.contains('\\') || body.chars().any(|c| (c as u32) < 0x20) {
                    return None;
                }
                out.push(Param::Str(body.to_string()));
                i = body_start + len + 1;
            }
            b'(' => {
                let (mut inner, j) = params(src, i + 1, b')')?;
                if b.get(j) != Some(&b')') || inner.len() < 2 {
                    return None; // `(path)` alone: not in the subset
                }
                let Param::Path(name) = inner.remove(0) else {
                    return None;
                };
                if !is_identifier(&name) || name == "else" || name == "as" {
                    return None;
                }
                out.push(Param::Sub(name, inner));
                i = j + 1;
            }
            _ => {
                let len = src[i..]
                    .bytes()
                    .position(|c| !(c.is_ascii_alphanumeric() || b"_-./@".contains(&c)))?;
                let tok = &src[i..i + len];
                if !is_path(tok) {
                    return None;
                }
                out.push(Param::Path(tok.to_string()));
                i += len;
            }
        }
        // after an argument: one space and another argument, or the end
        match b.get(i)? {
            b' ' if b
                .get(i + 1)
                .is_some_and(|c| *c != b' ' && *c != b'~' && *c != close) =>
            {
                i += 1
            }
            b'~' if close == b'}' => return Some((out, i)),
            c if *c == close => return Some((out, i)),
            _ => return None,
        }
    }
}
