//! A fast reader for the plain YAML the tools read most (issue 11: serde_norway's libyaml port
//! costs ~360 instructions per byte; compose files and config/ are parsed on every pipe).
//!
//! [`parse`] accepts a conservative subset and returns `None` at the first thing outside it or in
//! doubt; the caller then uses serde_norway unchanged, so its errors, messages and positions stay
//! exactly as they were. Whenever it returns `Some(v)`, `serde_norway::from_str::<Value>` gives the
//! same `v` (before `apply_merge`), scalar kinds included: tests/yaml_fast.rs checks that on every
//! YAML file of the repository, a generated corpus and random mutations.
//!
//! The subset: block mappings and sequences (also compact `- k: v` / `- - x` and the indentless
//! `key:\n- x`), plain / single- / double-quoted single-line scalars, single-line scalar keys,
//! comments, blank lines, one leading `---`, flow sequences and mappings of scalars and flow
//! collections (possibly over several lines), block scalars `|` `>` with `-`/`+` and no
//! indentation indicator, anchors on block collections (`key: &a` + nested block, each name
//! defined once) and aliases as whole values (`<<: *a`). Declined: tags, directives, `?` keys, multi-line plain or quoted
//! scalars, tabs, BOM, control characters, other line breaks than LF/CRLF, duplicate keys, root
//! scalars, more than one document, integers beyond u64/i64 (serde_norway's `Value` rejects them
//! with an error that must stay its own).

use serde_norway::mapping::Entry;
use serde_norway::{Mapping, Number, Value};
use std::collections::HashMap;

/// Nesting deeper than this is declined: serde_norway stops at 128 (`remaining_depth`, de.rs).
const MAX_DEPTH: usize = 100;
/// libyaml drops a possible simple key after 1024 characters (scanner.rs); keys longer than this
/// many bytes (>= characters) are declined.
const MAX_KEY_BYTES: usize = 1000;

/// Parses `text` when it is inside the subset; `None` means "use serde_norway".
pub fn parse(text: &str) -> Option<Value> {
    parse_with_merge_flag(text).map(|(v, _)| v)
}

/// [`parse`], and whether some mapping has the key `"<<"` (then `Value::apply_merge` still has
/// to run; without one it would change nothing).
pub fn parse_with_merge_flag(text: &str) -> Option<(Value, bool)> {
    if !chars_ok(text) {
        return None;
    }
    let mut p = Parser::new(text);
    let v = p.document()?;
    // serde_norway fails with "repetition limit exceeded" past 100 alias jumps per event (de.rs
    // `jump`); `events` is a lower bound of its event count.
    if p.jumps > p.events.saturating_mul(100) {
        return None;
    }
    Some((v, p.merge))
}

/// True when `text` holds only characters libyaml reads as printable in the places this reader
/// handles: LF, CRLF, space, printable ASCII and non-ASCII outside C1 controls, NEL/LS/PS line
/// breaks, BOM and U+FFFE/U+FFFF (yaml_parser_update_buffer's check, reader.rs). Tabs are
/// declined everywhere: they matter for indentation.
fn chars_ok(text: &str) -> bool {
    let b = text.as_bytes();
    // Most texts are printable ASCII and LF only: checked 64 bytes at a time without branches.
    let plain = |c: &u8| *c == b'\n' || (0x20..0x7f).contains(c);
    if b.chunks(64)
        .all(|chunk| chunk.iter().fold(true, |ok, c| ok & plain(c)))
    {
        return true;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c < 0x80 {
            let ok = match c {
                b'\n' => true,
                b'\r' => b.get(i + 1) == Some(&b'\n'),
                0x20..=0x7e => true,
                _ => false,
            };
            if !ok {
                return false;
            }
            i += 1;
        } else {
            let ch = text[i..].chars().next().unwrap_or('\0');
            let u = ch as u32;
            if (0x80..=0x9f).contains(&u)
                || u == 0x2028
                || u == 0x2029
                || u == 0xfeff
                || u == 0xfffe
                || u == 0xffff
            {
                return false;
            }
            i += ch.len_utf8();
        }
    }
    true
}

struct Line<'a> {
    s: &'a str,
    /// Leading spaces.
    ind: usize,
    /// Only spaces (or nothing).
    blank: bool,
    /// First non-space is `#`.
    comment: bool,
    /// Ends with a line break (the last line may not).
    nl: bool,
}

impl Line<'_> {
    fn significant(&self) -> bool {
        !self.blank && !self.comment
    }
}

struct Anchor {
    value: Value,
    /// Alias jumps serde_norway makes to replay this node.
    jumps: usize,
    /// Collection nesting inside the node.
    height: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// After `key:`.
    Map,
    /// After `- `.
    Seq,
}

/// Where a plain scalar stopped.
enum Stop {
    /// End of line (trailing spaces excluded).
    Eol,
    /// ` #`: a comment follows.
    Comment,
    /// `:` followed by a space or the end of line, at this byte.
    Colon(usize),
    /// A flow indicator `,[]{}` (flow context only).
    Flow,
}

struct Parser<'a> {
    lines: Vec<Line<'a>>,
    ln: usize,
    col: usize,
    anchors: HashMap<&'a str, Anchor>,
    /// Anchors whose node is still being read (an alias to one would recurse).
    open: Vec<&'a str>,
    jumps: usize,
    events: usize,
    depth: usize,
    /// A key `"<<"` was read.
    merge: bool,
}

fn is_indicator(c: u8) -> bool {
    matches!(
        c,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}

fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }
    i
}

/// True when `b[i..]` is a line end or a comment preceded by at least one space (from `start`).
fn rest_empty(b: &[u8], start: usize) -> bool {
    let i = skip_spaces(b, start);
    i == b.len() || (b[i] == b'#' && i > start)
}

fn anchor_name(b: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b'_') {
        i += 1;
    }
    i
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        let mut lines = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let (raw, nl, next) = match rest.find('\n') {
                Some(i) => (&rest[..i], true, &rest[i + 1..]),
                None => (rest, false, ""),
            };
            let s = raw.strip_suffix('\r').unwrap_or(raw);
            let b = s.as_bytes();
            let ind = skip_spaces(b, 0);
            lines.push(Line {
                s,
                ind,
                blank: ind == b.len(),
                comment: ind < b.len() && b[ind] == b'#',
                nl,
            });
            rest = next;
        }
        Parser {
            lines,
            ln: 0,
            col: 0,
            anchors: HashMap::new(),
            open: Vec::new(),
            jumps: 0,
            events: 0,
            depth: 0,
            merge: false,
        }
    }

    fn bytes(&self, ln: usize) -> &'a [u8] {
        self.lines[ln].s.as_bytes()
    }

    fn next_sig(&self, from: usize) -> Option<usize> {
        (from..self.lines.len()).find(|&l| self.lines[l].significant())
    }

    /// `-` followed by a space or the line end at `(ln, c)`: a block sequence entry.
    fn dash_at(&self, ln: usize, c: usize) -> bool {
        let b = self.bytes(ln);
        b.get(c) == Some(&b'-') && (c + 1 == b.len() || b[c + 1] == b' ')
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        self.events += 2;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn document(&mut self) -> Option<Value> {
        let mut first = self.next_sig(0)?;
        // Document markers and directives at column 0 (outside the one leading `---`).
        for (i, l) in self.lines.iter().enumerate() {
            let s = l.s;
            if s.starts_with("---") || s.starts_with("...") || s.starts_with('%') {
                let leading = i == first
                    && (s == "---" || (s.starts_with("--- ") && rest_empty(s.as_bytes(), 3)));
                if !leading {
                    return None;
                }
            }
        }
        if self.lines[first].s.starts_with("---") {
            first = self.next_sig(first + 1)?;
        }
        let r = self.lines[first].ind;
        self.ln = first;
        self.col = r;
        let b = self.bytes(first)[r];
        if matches!(b, b'[' | b'{' | b'|' | b'>' | b'&' | b'*' | b'!') {
            return None;
        }
        let v = self.block(r)?;
        if self.next_sig(self.ln).is_some() {
            return None;
        }
        Some(v)
    }

    /// A block mapping or sequence whose first entry is at `(self.ln, c)`.
    fn block(&mut self, c: usize) -> Option<Value> {
        self.col = c;
        if self.dash_at(self.ln, c) {
            self.seq(c)
        } else {
            self.map(c)
        }
    }

    fn seq(&mut self, n: usize) -> Option<Value> {
        self.enter()?;
        let mut items = Vec::new();
        loop {
            self.col = n + 1;
            items.push(self.inline_value(n, Ctx::Seq)?);
            match self.next_sig(self.ln) {
                Some(l) if self.lines[l].ind == n && self.dash_at(l, n) => self.ln = l,
                Some(l) if self.lines[l].ind > n => return None,
                _ => break,
            }
        }
        self.depth -= 1;
        Some(Value::Sequence(items))
    }

    fn map(&mut self, n: usize) -> Option<Value> {
        self.enter()?;
        let mut m = Mapping::new();
        loop {
            let key = self.block_key()?;
            // One hash per key; a duplicate is serde_norway's error to report.
            let Entry::Vacant(slot) = m.entry(key) else {
                return None;
            };
            slot.insert(self.inline_value(n, Ctx::Map)?);
            match self.next_sig(self.ln) {
                Some(l) if self.lines[l].ind == n => {
                    self.ln = l;
                    self.col = n;
                }
                Some(l) if self.lines[l].ind > n => return None,
                _ => break,
            }
        }
        self.depth -= 1;
        Some(Value::Mapping(m))
    }

    /// A single-line scalar key at `(self.ln, self.col)` and its `:`; leaves `col` after the `:`.
    fn block_key(&mut self) -> Option<Value> {
        let b = self.bytes(self.ln);
        let s = self.lines[self.ln].s;
        let i = self.col;
        let (key, colon) = match b[i] {
            b'"' | b'\'' => {
                let (v, j) = quoted(s, i)?;
                let j = skip_spaces(b, j);
                if b.get(j) != Some(&b':') || !(j + 1 == b.len() || b[j + 1] == b' ') {
                    return None;
                }
                (Value::String(v), j)
            }
            _ => {
                if !plain_start(b, i, false) {
                    return None;
                }
                match scan_plain(b, i, false)? {
                    (end, Stop::Colon(j)) => (resolve_plain(&s[i..end])?, j),
                    _ => return None,
                }
            }
        };
        if colon - i > MAX_KEY_BYTES {
            return None;
        }
        self.merge |= key.as_str() == Some("<<");
        self.events += 1;
        self.col = colon + 1;
        Some(key)
    }

    /// The node after an indicator (`key:` or `- `) at `(self.ln, self.col)`, in a block
    /// collection at indent `n`. Leaves `ln` at the first line not consumed.
    fn inline_value(&mut self, n: usize, ctx: Ctx) -> Option<Value> {
        let b = self.bytes(self.ln);
        let s = self.lines[self.ln].s;
        let i = skip_spaces(b, self.col);
        if i == b.len() || b[i] == b'#' {
            return self.value_below(n, ctx, None);
        }
        match b[i] {
            b'&' => {
                let e = anchor_name(b, i + 1);
                if e == i + 1 || !rest_empty(b, e) || e < b.len() && b[e] != b' ' {
                    return None;
                }
                self.value_below(n, ctx, Some(&s[i + 1..e]))
            }
            b'*' => {
                let e = anchor_name(b, i + 1);
                if e == i + 1 || !rest_empty(b, e) || e < b.len() && b[e] != b' ' {
                    return None;
                }
                let name = &s[i + 1..e];
                if self.open.contains(&name) {
                    return None;
                }
                let a = self.anchors.get(name)?;
                if self.depth + a.height > MAX_DEPTH {
                    return None;
                }
                self.jumps += 1 + a.jumps;
                self.events += 1;
                // Checked here too so that an alias bomb stops before its copies are made.
                if self.jumps > self.events.saturating_mul(100) {
                    return None;
                }
                let v = a.value.clone();
                self.ln += 1;
                Some(v)
            }
            b'|' | b'>' => self.block_scalar(n, i),
            b'[' | b'{' => {
                self.col = i;
                let v = self.flow_node(n)?;
                self.end_of_line()?;
                Some(v)
            }
            b'"' | b'\'' => {
                let (v, j) = quoted(s, i)?;
                let k = skip_spaces(b, j);
                if b.get(k) == Some(&b':') && (k + 1 == b.len() || b[k + 1] == b' ') {
                    return self.compact(ctx, i, false);
                }
                if !rest_empty(b, j) {
                    return None;
                }
                self.events += 1;
                self.ln += 1;
                Some(Value::String(v))
            }
            _ if self.dash_at(self.ln, i) => self.compact(ctx, i, true),
            _ => {
                if !plain_start(b, i, false) {
                    return None;
                }
                match scan_plain(b, i, false)? {
                    (_, Stop::Colon(_)) => self.compact(ctx, i, false),
                    (end, Stop::Eol | Stop::Comment) => {
                        self.events += 1;
                        self.ln += 1;
                        resolve_plain(&s[i..end])
                    }
                    (_, Stop::Flow) => None,
                }
            }
        }
    }

    /// `- k: v` or `- - x`: a block collection starting on the entry's line at column `c`.
    fn compact(&mut self, ctx: Ctx, c: usize, seq: bool) -> Option<Value> {
        if ctx != Ctx::Seq {
            return None;
        }
        self.col = c;
        if seq {
            self.seq(c)
        } else {
            self.map(c)
        }
    }

    /// The value of an indicator with nothing else on its line: a nested block or flow node on
    /// the next lines, an indentless sequence (`key:\n- x`), or null.
    fn value_below(&mut self, n: usize, ctx: Ctx, anchor: Option<&'a str>) -> Option<Value> {
        let cur = self.ln;
        self.ln = cur + 1;
        let next = self.next_sig(cur + 1);
        let Some(l) = next else {
            return match anchor {
                None => {
                    self.events += 1;
                    Some(Value::Null)
                }
                Some(_) => None,
            };
        };
        let m = self.lines[l].ind;
        if m > n {
            self.ln = l;
            let first = self.bytes(l)[m];
            if let Some(name) = anchor {
                if matches!(first, b'[' | b'{') {
                    return None;
                }
                // A name defined twice is declined: serde_norway's loader numbers anchors by
                // the count of distinct names (loader.rs), so after a redefinition two anchors
                // share a number and an alias may name another node than the YAML spec says.
                if self.anchors.contains_key(name) || self.open.contains(&name) {
                    return None;
                }
                self.open.push(name);
                let j0 = self.jumps;
                let v = self.block(m)?;
                self.open.pop();
                let a = Anchor {
                    height: height(&v),
                    value: v.clone(),
                    jumps: self.jumps - j0,
                };
                self.anchors.insert(name, a);
                return Some(v);
            }
            if matches!(first, b'[' | b'{') {
                self.col = m;
                let v = self.flow_node(n)?;
                self.end_of_line()?;
                return Some(v);
            }
            return self.block(m);
        }
        if anchor.is_some() {
            return None;
        }
        if m == n && ctx == Ctx::Map && self.dash_at(l, n) {
            self.ln = l;
            return self.seq(n);
        }
        self.events += 1;
        Some(Value::Null)
    }

    /// After a flow collection: only spaces and a comment may follow on its line.
    fn end_of_line(&mut self) -> Option<()> {
        let b = self.bytes(self.ln);
        if !rest_empty(b, self.col) {
            return None;
        }
        self.ln += 1;
        Some(())
    }

    /// `|` / `>` with an optional `-`/`+` at `(self.ln, i)`, in a block collection at indent `n`
    /// (libyaml's yaml_parser_scan_block_scalar, auto-detected indentation only).
    fn block_scalar(&mut self, n: usize, i: usize) -> Option<Value> {
        let b = self.bytes(self.ln);
        let folded = b[i] == b'>';
        let mut k = i + 1;
        let chomp = match b.get(k) {
            Some(b'-') => {
                k += 1;
                b'-'
            }
            Some(b'+') => {
                k += 1;
                b'+'
            }
            _ => b' ',
        };
        if k < b.len() && (b[k] != b' ' || !rest_empty(b, k)) {
            return None;
        }
        let start = self.ln + 1;
        let mut l = start;
        let mut lead = 0;
        while l < self.lines.len() && self.lines[l].blank {
            lead = lead.max(self.lines[l].s.len());
            l += 1;
        }
        if l == self.lines.len() {
            return None;
        }
        let ind = self.lines[l].ind;
        if ind <= n || lead > ind {
            return None;
        }
        let mut end = start;
        let mut last = None;
        while end < self.lines.len() {
            let line = &self.lines[end];
            if line.blank {
                if line.s.len() > ind {
                    return None;
                }
            } else if line.ind >= ind {
                last = Some(end);
            } else {
                break;
            }
            end += 1;
        }
        let last = last?;
        let mut out = String::new();
        let mut prev_content = false;
        let mut blanks = 0;
        for line in &self.lines[start..=last] {
            if line.blank {
                blanks += 1;
                continue;
            }
            let part = &line.s[ind..];
            if folded {
                if part.starts_with(' ') {
                    return None;
                }
                if prev_content && blanks == 0 {
                    out.push(' ');
                }
            } else if prev_content {
                out.push('\n');
            }
            for _ in 0..blanks {
                out.push('\n');
            }
            blanks = 0;
            out.push_str(part);
            prev_content = true;
        }
        if chomp != b'-' && self.lines[last].nl {
            out.push('\n');
        }
        if chomp == b'+' {
            for line in &self.lines[last + 1..end] {
                if line.nl {
                    out.push('\n');
                }
            }
        }
        self.events += 1;
        self.ln = end;
        Some(Value::String(out))
    }

    /// Skips spaces, comments and line breaks inside a flow collection of a block collection at
    /// indent `n`; continuation lines must be indented deeper than `n`.
    fn flow_ws(&mut self, n: usize) -> Option<()> {
        loop {
            let b = self.bytes(self.ln);
            let i = skip_spaces(b, self.col);
            if i < b.len() && b[i] != b'#' {
                self.col = i;
                return Some(());
            }
            if i < b.len() && i > 0 && b[i - 1] != b' ' {
                return None;
            }
            self.ln += 1;
            self.col = 0;
            let line = self.lines.get(self.ln)?;
            if line.significant() && line.ind <= n {
                return None;
            }
        }
    }

    fn peek(&self) -> u8 {
        self.bytes(self.ln)[self.col]
    }

    /// A flow node at `(self.ln, self.col)`; leaves `col` right after it.
    fn flow_node(&mut self, n: usize) -> Option<Value> {
        let b = self.bytes(self.ln);
        let s = self.lines[self.ln].s;
        let i = self.col;
        match b[i] {
            b'[' => {
                self.enter()?;
                self.col += 1;
                let mut items = Vec::new();
                self.flow_ws(n)?;
                if self.peek() != b']' {
                    loop {
                        items.push(self.flow_node(n)?);
                        self.flow_ws(n)?;
                        match self.peek() {
                            b',' => {
                                self.col += 1;
                                self.flow_ws(n)?;
                                if self.peek() == b']' {
                                    return None;
                                }
                            }
                            b']' => break,
                            _ => return None,
                        }
                    }
                }
                self.col += 1;
                self.depth -= 1;
                Some(Value::Sequence(items))
            }
            b'{' => {
                self.enter()?;
                self.col += 1;
                let mut m = Mapping::new();
                self.flow_ws(n)?;
                if self.peek() != b'}' {
                    loop {
                        let key = self.flow_key()?;
                        let Entry::Vacant(slot) = m.entry(key) else {
                            return None;
                        };
                        self.flow_ws(n)?;
                        let v = if matches!(self.peek(), b',' | b'}') {
                            self.events += 1;
                            Value::Null
                        } else {
                            let v = self.flow_node(n)?;
                            self.flow_ws(n)?;
                            v
                        };
                        slot.insert(v);
                        match self.peek() {
                            b',' => {
                                self.col += 1;
                                self.flow_ws(n)?;
                                if self.peek() == b'}' {
                                    return None;
                                }
                            }
                            b'}' => break,
                            _ => return None,
                        }
                    }
                }
                self.col += 1;
                self.depth -= 1;
                Some(Value::Mapping(m))
            }
            b'"' | b'\'' => {
                let (v, j) = quoted(s, i)?;
                self.col = j;
                self.events += 1;
                Some(Value::String(v))
            }
            _ => {
                if !plain_start(b, i, true) {
                    return None;
                }
                let (end, _) = scan_plain(b, i, true)?;
                self.col = end;
                self.events += 1;
                resolve_plain(&s[i..end])
            }
        }
    }

    /// A scalar key in a flow mapping, `:` on the same line; leaves `col` after the `:`.
    fn flow_key(&mut self) -> Option<Value> {
        let b = self.bytes(self.ln);
        let s = self.lines[self.ln].s;
        let i = self.col;
        let (key, colon, json_like) = match b[i] {
            b'"' | b'\'' => {
                let (v, j) = quoted(s, i)?;
                let j = skip_spaces(b, j);
                (Value::String(v), j, true)
            }
            _ => {
                if !plain_start(b, i, true) {
                    return None;
                }
                match scan_plain(b, i, true)? {
                    (end, Stop::Colon(j)) => (resolve_plain(&s[i..end])?, j, false),
                    _ => return None,
                }
            }
        };
        // In a flow collection libyaml takes every `:` for the value indicator
        // (yaml_parser_fetch_next_token: `:` and flow_level > 0), so after a quoted key the value
        // may follow at once, as in JSON (`{"a":1}`, what `{{json …}}` writes into the umbrella
        // values template). After a plain key the `:` needs a space (else it is part of the key).
        if b.get(colon) != Some(&b':')
            || !(json_like || colon + 1 == b.len() || b[colon + 1] == b' ')
            || colon - i > MAX_KEY_BYTES
        {
            return None;
        }
        self.merge |= key.as_str() == Some("<<");
        self.events += 1;
        self.col = colon + 1;
        Some(key)
    }
}

fn height(v: &Value) -> usize {
    match v {
        Value::Sequence(s) => 1 + s.iter().map(height).max().unwrap_or(0),
        Value::Mapping(m) => {
            1 + m
                .iter()
                .map(|(k, v)| height(k).max(height(v)))
                .max()
                .unwrap_or(0)
        }
        _ => 0,
    }
}

/// Whether a plain scalar may start at `b[i]` (YAML 1.1 ns-plain-first as libyaml checks it;
/// `-x` is allowed in block context only, `?x` and `:x` are declined).
fn plain_start(b: &[u8], i: usize, flow: bool) -> bool {
    let c = b[i];
    if c == b'-' {
        return !flow && i + 1 < b.len() && b[i + 1] != b' ';
    }
    c != b' ' && !is_indicator(c)
}

/// Scans a single-line plain scalar from `b[i]`: returns the end of its text and what stopped it.
/// `None` where libyaml fails (`:` before a flow indicator inside a flow scalar).
fn scan_plain(b: &[u8], i: usize, flow: bool) -> Option<(usize, Stop)> {
    let mut j = i;
    let mut end = i;
    loop {
        if j == b.len() {
            return Some((end, Stop::Eol));
        }
        match b[j] {
            b' ' => {
                let k = skip_spaces(b, j);
                if k == b.len() {
                    return Some((end, Stop::Eol));
                }
                if b[k] == b'#' {
                    return Some((end, Stop::Comment));
                }
                j = k;
                continue;
            }
            b':' => {
                if j + 1 == b.len() || b[j + 1] == b' ' {
                    return Some((end, Stop::Colon(j)));
                }
                // libyaml: `:` + a flow indicator fails ("found unexpected ':'"); `:x` is text.
                if flow && matches!(b[j + 1], b',' | b'?' | b'[' | b']' | b'{' | b'}') {
                    return None;
                }
            }
            b',' | b'[' | b']' | b'{' | b'}' if flow => return Some((end, Stop::Flow)),
            _ => {}
        }
        j += 1;
        end = j;
    }
}

/// A single-line quoted scalar starting at `s[i]` (`'` or `"`): its value and the byte after the
/// closing quote. `None` for a scalar continuing on the next line or an unknown escape.
fn quoted(s: &str, i: usize) -> Option<(String, usize)> {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut run = i + 1;
    let mut j = i + 1;
    if b[i] == b'\'' {
        loop {
            let q = run + s[run..].find('\'')?;
            out.push_str(&s[run..q]);
            if b.get(q + 1) == Some(&b'\'') {
                out.push('\'');
                run = q + 2;
            } else {
                return Some((out, q + 1));
            }
        }
    }
    loop {
        match b.get(j)? {
            b'"' => {
                out.push_str(&s[run..j]);
                return Some((out, j + 1));
            }
            b'\\' => {
                out.push_str(&s[run..j]);
                let e = *b.get(j + 1)?;
                j += 2;
                // The escapes of YAML 1.1 §5.7 as libyaml's yaml_parser_scan_flow_scalar reads them.
                let hex = match e {
                    b'x' => 2,
                    b'u' => 4,
                    b'U' => 8,
                    _ => 0,
                };
                if hex > 0 {
                    let digits = s.get(j..j + hex)?;
                    if !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
                        return None;
                    }
                    let code = u32::from_str_radix(digits, 16).ok()?;
                    out.push(char::from_u32(code)?);
                    j += hex;
                } else {
                    out.push(match e {
                        b'0' => '\0',
                        b'a' => '\x07',
                        b'b' => '\x08',
                        b't' => '\t',
                        b'n' => '\n',
                        b'v' => '\x0b',
                        b'f' => '\x0c',
                        b'r' => '\r',
                        b'e' => '\x1b',
                        b' ' => ' ',
                        b'"' => '"',
                        b'/' => '/',
                        b'\\' => '\\',
                        b'N' => '\u{85}',
                        b'_' => '\u{a0}',
                        b'L' => '\u{2028}',
                        b'P' => '\u{2029}',
                        _ => return None,
                    });
                }
                run = j;
            }
            _ => j += 1,
        }
    }
}

/// Resolves an untagged plain scalar as serde_norway's `visit_untagged_scalar` does (de.rs):
/// null, bool, integer (u64, then i64), float, else string. `None` where serde_norway's `Value`
/// would fail: integers that only fit u128/i128 (`Value` has no visit_u128/visit_i128).
pub(crate) fn resolve_plain(s: &str) -> Option<Value> {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    let first = s.as_bytes()[0];
    // Every number starts with a digit, a sign or a dot; anything else is a string (Rust's f64
    // parser also reads "inf"/"nan", but serde_norway keeps only finite results).
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.')) {
        return Some(Value::String(s.to_owned()));
    }
    if let Some(u) = int_unsigned::<u64>(s) {
        return Some(Value::Number(u.into()));
    }
    if let Some(i) = int_negative::<i64>(s) {
        return Some(Value::Number(i.into()));
    }
    if int_unsigned::<u128>(s).is_some() || int_negative::<i128>(s).is_some() {
        return None;
    }
    if !leading_zero_digits(s) {
        if let Some(f) = float(s) {
            return Some(Value::Number(Number::from(f)));
        }
    }
    Some(Value::String(s.to_owned()))
}

/// `0` followed by digits only (after one sign) is a string in YAML 1.2 (serde_norway's
/// `digits_but_not_number`).
fn leading_zero_digits(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    t.len() > 1 && t.starts_with('0') && t.bytes().all(|b| b.is_ascii_digit())
}

trait Radix: Sized {
    fn radix(s: &str, r: u32) -> Option<Self>;
}
macro_rules! radix {
    ($($t:ty),*) => {$(impl Radix for $t {
        fn radix(s: &str, r: u32) -> Option<Self> {
            <$t>::from_str_radix(s, r).ok()
        }
    })*};
}
radix!(u64, i64, u128, i128);

const PREFIXES: [(&str, u32); 3] = [("0x", 16), ("0o", 8), ("0b", 2)];

/// serde_norway's `parse_unsigned_int`: one optional `+`, then `0x`/`0o`/`0b` digits or decimal
/// digits without a leading zero; Rust's from_str_radix does the digits.
fn int_unsigned<T: Radix>(s: &str) -> Option<T> {
    let u = s.strip_prefix('+').unwrap_or(s);
    for (p, r) in PREFIXES {
        if let Some(rest) = u.strip_prefix(p) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Some(v) = T::radix(rest, r) {
                return Some(v);
            }
        }
    }
    if u.starts_with(['+', '-']) || leading_zero_digits(s) {
        return None;
    }
    T::radix(u, 10)
}

/// serde_norway's `parse_negative_int`: `-0x`/`-0o`/`-0b` digits, else `from_str_radix(s, 10)`.
fn int_negative<T: Radix>(s: &str) -> Option<T> {
    for (p, r) in PREFIXES {
        if let Some(rest) = s.strip_prefix('-').and_then(|t| t.strip_prefix(p)) {
            if let Some(v) = T::radix(&format!("-{rest}"), r) {
                return Some(v);
            }
        }
    }
    if leading_zero_digits(s) {
        return None;
    }
    T::radix(s, 10)
}

/// serde_norway's `parse_f64`: `.inf`/`.nan` spellings, else Rust's f64 parser, finite only.
fn float(s: &str) -> Option<f64> {
    let u = match s.strip_prefix('+') {
        Some(u) if u.starts_with(['+', '-']) => return None,
        Some(u) => u,
        None => s,
    };
    if matches!(u, ".inf" | ".Inf" | ".INF") {
        return Some(f64::INFINITY);
    }
    if matches!(s, "-.inf" | "-.Inf" | "-.INF") {
        return Some(f64::NEG_INFINITY);
    }
    if matches!(s, ".nan" | ".NaN" | ".NAN") {
        return Some(f64::NAN);
    }
    u.parse::<f64>().ok().filter(|f| f.is_finite())
}
