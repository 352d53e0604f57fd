//! A fast path for `serde_norway::to_string(&serde_json::Value)`: the umbrella Helm values are
//! written here directly, byte for byte what serde_norway writes, or not at all ([`to_yaml`]
//! returns `None` and the caller uses serde_norway).
//!
//! Why: serde_norway drives libyaml's emitter one event at a time through a C-style state
//! machine; for the ~16 KB umbrella values that was 2.8M instructions on wd-render's critical
//! path (issue 11). The document is always a plain tree of mappings, sequences and scalars, so
//! the few rules that decide its text are applied here in one recursive pass.
//!
//! The rules, as read in serde_norway 0.9.42 and unsafe-libyaml-norway 0.2.15 (the versions in
//! Cargo.lock; `tests/yamlout.rs` checks them differentially against serde_norway itself):
//! - serde_norway (`ser.rs`, `serialize_str`) asks for a literal block for a string with `\n`;
//!   for a string that would read back as null, bool, int or float (`de.rs`,
//!   `visit_untagged_scalar`), or with leading zeros (`digits_but_not_number`), it asks for single
//!   quotes; otherwise for any style. null, bools and numbers are asked for plain. Floats are
//!   written by `ryu`, which this crate does not link; [`float_text`] asks serde_norway.
//! - The emitter (`emitter.rs`) is set up with unicode on and width -1 (`libyaml/emitter.rs`),
//!   so `best_width` is `INT_MAX`: no line is ever folded. `best_indent` is 2.
//! - `yaml_emitter_analyze_scalar` decides which styles a text allows, and
//!   `yaml_emitter_select_scalar_style` falls back plain → single quotes → double quotes, and
//!   literal → double quotes. A key must be a "simple key" (one line, at most 128 bytes), or
//!   libyaml writes the `? ` form: such documents are declined.
//! - Empty mappings and sequences are written in flow style (`{}`, `[]`), all others in block
//!   style; a sequence that is the value of a mapping is not indented ("indentless").
//! - The output never ends with `...`: serde_norway's `to_string` emits no STREAM-END event.
//!
//! Writing mirrors the emitter's state (`column`, `whitespace`, `indention`, `indent`), so the
//! line breaks and spaces between nodes follow from the same decisions libyaml makes.

use serde_json::Value;

/// `serde_norway::to_string(v)`, or `None` where this module is not sure to write the same bytes
/// (then the caller falls back to serde_norway; nothing is lost but time).
pub fn to_yaml(v: &Value) -> Option<String> {
    let mut e = Emitter {
        out: String::with_capacity(4096),
        column: 0,
        whitespace: true,
        indention: true,
        indent: -1,
    };
    e.node(v, Context::Root)?;
    // DOCUMENT-END (implicit): a line break unless the last line is already ended.
    e.write_indent();
    Some(e.out)
}

/// Where a node stands; libyaml's `mapping_context` and `simple_key_context`.
#[derive(Clone, Copy, PartialEq)]
enum Context {
    Root,
    SequenceItem,
    MappingKey,
    MappingValue,
}

/// The scalar styles serde_norway can end up with (`yaml_scalar_style_t`; folded is never asked).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Style {
    Any,
    Plain,
    Single,
    Double,
    Literal,
}

struct Emitter {
    out: String,
    /// Column of the next character. After scalar text it counts bytes, not characters: it is
    /// compared only where `indention` is true, which scalar text (other than a line break) ends.
    column: usize,
    /// The last thing written was whitespace (or nothing): an indicator needs no space before it.
    whitespace: bool,
    /// Only indentation (and `-` indicators) written on this line so far.
    indention: bool,
    /// libyaml's `indent` (-1: none yet).
    indent: isize,
}

impl Emitter {
    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// `yaml_emitter_write_indent`: go to a fresh line at `indent`, unless this line holds only
    /// indentation up to there.
    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.out.push(' ');
            self.column += 1;
        }
        self.whitespace = true;
        self.indention = true;
    }

    /// `yaml_emitter_write_indicator`.
    fn write_indicator(&mut self, s: &str, need_ws: bool, is_ws: bool, is_indention: bool) {
        if need_ws && !self.whitespace {
            self.out.push(' ');
            self.column += 1;
        }
        self.out.push_str(s);
        self.column += s.len();
        self.whitespace = is_ws;
        self.indention = self.indention && is_indention;
    }

    /// `yaml_emitter_increase_indent`; returns the indent to restore afterwards.
    fn increase_indent(&mut self, flow: bool, indentless: bool) -> isize {
        let saved = self.indent;
        if self.indent < 0 {
            self.indent = if flow { 2 } else { 0 };
        } else if !indentless {
            self.indent += 2;
        }
        saved
    }

    fn node(&mut self, v: &Value, ctx: Context) -> Option<()> {
        match v {
            Value::Null => self.scalar("null", Style::Plain, ctx),
            Value::Bool(b) => self.scalar(if *b { "true" } else { "false" }, Style::Plain, ctx),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    self.scalar(&u.to_string(), Style::Plain, ctx)
                } else if let Some(i) = n.as_i64() {
                    self.scalar(&i.to_string(), Style::Plain, ctx)
                } else {
                    let text = float_text(n.as_f64()?)?;
                    self.scalar(&text, Style::Plain, ctx)
                }
            }
            Value::String(s) => {
                let style = if s.contains('\n') {
                    Style::Literal
                } else if reads_as_non_string(s) {
                    Style::Single
                } else {
                    Style::Any
                };
                self.scalar(s, style, ctx)
            }
            Value::Array(a) if a.is_empty() => {
                self.empty_flow("[", "]");
                Some(())
            }
            Value::Object(m) if m.is_empty() => {
                self.empty_flow("{", "}");
                Some(())
            }
            Value::Array(a) => {
                let indentless = ctx == Context::MappingValue && !self.indention;
                let saved = self.increase_indent(false, indentless);
                for item in a {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.node(item, Context::SequenceItem)?;
                }
                self.indent = saved;
                Some(())
            }
            Value::Object(m) => {
                let saved = self.increase_indent(false, false);
                for (k, item) in m {
                    self.write_indent();
                    self.node_key(k)?;
                    self.write_indicator(":", false, false, false);
                    self.node(item, Context::MappingValue)?;
                }
                self.indent = saved;
                Some(())
            }
        }
    }

    /// A mapping key: a string, written as a simple key (`yaml_emitter_check_simple_key`: one
    /// line and at most 128 bytes); anything else is declined.
    fn node_key(&mut self, k: &str) -> Option<()> {
        if k.len() > 128 {
            return None;
        }
        let style = if k.contains('\n') {
            return None;
        } else if reads_as_non_string(k) {
            Style::Single
        } else {
            Style::Any
        };
        self.scalar(k, style, Context::MappingKey)
    }

    /// An empty sequence or mapping: flow style (`yaml_emitter_check_empty_sequence`/`_mapping`).
    fn empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    fn scalar(&mut self, text: &str, requested: Style, ctx: Context) -> Option<()> {
        let a = analyze(text);
        let simple_key = ctx == Context::MappingKey;
        if simple_key && a.multiline {
            return None;
        }
        let style = select_style(requested, &a, simple_key, text.is_empty());
        let saved = self.increase_indent(true, false);
        match style {
            Style::Plain => {
                if !self.whitespace && !text.is_empty() {
                    self.out.push(' ');
                    self.column += 1;
                }
                self.out.push_str(text);
                self.column += text.len();
            }
            Style::Single => {
                // Line breaks inside single quotes are folded by rules not mirrored here; only
                // U+2028/U+2029 can get this far (a `\n` asks for a literal block).
                if a.multiline {
                    return None;
                }
                self.write_indicator("'", true, false, false);
                let start = self.out.len();
                for (i, piece) in text.split('\'').enumerate() {
                    if i > 0 {
                        self.out.push_str("''");
                    }
                    self.out.push_str(piece);
                }
                self.column += self.out.len() - start;
                self.write_indicator("'", false, false, false);
            }
            Style::Double => {
                self.write_indicator("\"", true, false, false);
                let start = self.out.len();
                write_double_quoted_body(&mut self.out, text);
                self.column += self.out.len() - start;
                self.write_indicator("\"", false, false, false);
            }
            Style::Literal => self.literal(text, a.other_breaks),
            Style::Any => unreachable!("select_style never returns Any"),
        }
        if style != Style::Literal {
            self.whitespace = false;
            self.indention = false;
        }
        self.indent = saved;
        Some(())
    }

    /// `yaml_emitter_write_literal_scalar` with its block scalar hints.
    fn literal(&mut self, text: &str, other_breaks: bool) {
        self.write_indicator("|", true, false, false);
        let mut chars = text.chars();
        let first = chars.clone().next();
        if first.is_some_and(|c| c == ' ' || is_break(c)) {
            // The indentation indicator is best_indent.
            self.write_indicator("2", false, false, false);
        }
        let last = chars.next_back();
        let before_last = chars.next_back();
        let chomp = match (last, before_last) {
            (None, _) => Some("-"),
            (Some(l), _) if !is_break(l) => Some("-"),
            (Some(_), None) => Some("+"),
            (Some(_), Some(b)) if is_break(b) => Some("+"),
            _ => None,
        };
        if let Some(c) = chomp {
            self.write_indicator(c, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        if !other_breaks {
            // Only `\n` breaks: whole lines at a time.
            let mut rest = text;
            while let Some(p) = rest.find('\n') {
                if p > 0 {
                    self.write_indent();
                    self.out.push_str(&rest[..p]);
                }
                self.put_break();
                self.indention = true;
                rest = &rest[p + 1..];
            }
            if !rest.is_empty() {
                self.write_indent();
                self.out.push_str(rest);
                self.column += rest.len();
                self.indention = false;
            }
            return;
        }
        let mut at_line_start = true;
        let mut run_start = 0;
        for (i, c) in text.char_indices() {
            if is_break(c) {
                if !at_line_start {
                    self.out.push_str(&text[run_start..i]);
                }
                // A `\n` is written as the emitter's line break (also `\n`), others as they are.
                self.out.push(c);
                self.column = 0;
                self.indention = true;
                at_line_start = true;
            } else if at_line_start {
                self.write_indent();
                self.indention = false;
                at_line_start = false;
                run_start = i;
            }
        }
        if !at_line_start {
            self.out.push_str(&text[run_start..]);
            self.column += text.len() - run_start;
        }
    }
}

/// What `yaml_emitter_analyze_scalar` finds out about a text.
struct Analysis {
    multiline: bool,
    /// A break other than `\n` (`\r`, NEL, LINE/PARAGRAPH SEPARATOR).
    other_breaks: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

/// libyaml's IS_BREAK: `\r`, `\n`, NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR.
fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// libyaml's IS_PRINTABLE, by code point (`macros.rs` tests the UTF-8 bytes): `\n`, printable
/// ASCII, U+A0..U+D7FF, U+E000..U+FFFD without the BOM U+FEFF, and everything above U+FFFF.
fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
        || u >= 0x10000
}

/// The break (if any) that starts at byte `j`: its length in bytes.
fn break_len_at(s: &[u8], j: usize) -> usize {
    match s.get(j..).unwrap_or_default() {
        [b'\r' | b'\n', ..] => 1,
        [0xC2, 0x85, ..] => 2,
        [0xE2, 0x80, 0xA8 | 0xA9, ..] => 3,
        _ => 0,
    }
}

/// libyaml's IS_BLANKZ at byte `j`: space, tab, a break, NUL, or the end (the emitter reads the
/// NUL that terminates its copy of the text).
fn blankz_at(s: &[u8], j: usize) -> bool {
    match s.get(j) {
        None | Some(b' ' | b'\t' | 0) => true,
        Some(_) => break_len_at(s, j) > 0,
    }
}

/// How [`analyze`] treats a byte: printable ASCII with no rule of its own, or one of the rest.
const PLAIN_BYTE: u8 = 0;
const SPACE: u8 = 1;
const NEWLINE: u8 = 2;
const COLON: u8 = 3;
const HASH: u8 = 4;
const ASCII_CONTROL: u8 = 5;
const NON_ASCII: u8 = 6;

const CLASS: [u8; 256] = {
    let mut t = [NON_ASCII; 256];
    let mut b = 0;
    while b < 0x80 {
        t[b] = match b as u8 {
            b' ' => SPACE,
            b'\n' => NEWLINE,
            b':' => COLON,
            b'#' => HASH,
            0x21..=0x7E => PLAIN_BYTE,
            _ => ASCII_CONTROL,
        };
        b += 1;
    }
    t
};

/// `yaml_emitter_analyze_scalar`, over bytes: every rule is about ASCII characters and the
/// breaks NEL, U+2028 and U+2029; other characters count only for IS_PRINTABLE.
fn analyze(text: &str) -> Analysis {
    let s = text.as_bytes();
    let n = s.len();
    if n == 0 {
        return Analysis {
            multiline: false,
            other_breaks: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = s.starts_with(b"---") || s.starts_with(b"...");
    // Indicators that count only as the first character (`#` and `:` follow the general rules
    // below, which give the same answer there).
    match s[0] {
        b',' | b'[' | b']' | b'{' | b'}' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\'' | b'"'
        | b'%' | b'@' | b'`' => block_indicators = true,
        b'?' | b'-' if blankz_at(s, 1) => block_indicators = true,
        _ => {}
    }
    let (mut line_breaks, mut other_breaks, mut special) = (false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_ws = true;
    let mut i = 0;
    while i < n {
        let b = s[i];
        match CLASS[b as usize] {
            PLAIN_BYTE => {
                i += 1;
                while i < n && CLASS[s[i] as usize] == PLAIN_BYTE {
                    i += 1;
                }
                (previous_space, previous_break, preceded_by_ws) = (false, false, false);
                continue;
            }
            SPACE => {
                break_space |= previous_break;
                (previous_space, previous_break, preceded_by_ws) = (true, false, true);
            }
            NEWLINE => {
                line_breaks = true;
                space_break |= previous_space;
                (previous_space, previous_break, preceded_by_ws) = (false, true, true);
            }
            COLON => {
                block_indicators |= blankz_at(s, i + 1);
                (previous_space, previous_break, preceded_by_ws) = (false, false, false);
            }
            HASH => {
                block_indicators |= preceded_by_ws;
                (previous_space, previous_break, preceded_by_ws) = (false, false, false);
            }
            ASCII_CONTROL => {
                special = true;
                if b == b'\r' {
                    line_breaks = true;
                    other_breaks = true;
                    space_break |= previous_space;
                    (previous_space, previous_break) = (false, true);
                } else {
                    (previous_space, previous_break) = (false, false);
                }
                preceded_by_ws = matches!(b, b'\r' | b'\t' | 0);
            }
            _ => {
                let c = text[i..].chars().next().expect("a character starts here");
                special |= !is_printable(c);
                if is_break(c) {
                    line_breaks = true;
                    other_breaks = true;
                    space_break |= previous_space;
                    (previous_space, previous_break, preceded_by_ws) = (false, true, true);
                } else {
                    (previous_space, previous_break, preceded_by_ws) = (false, false, false);
                }
                i += c.len_utf8();
                continue;
            }
        }
        i += 1;
    }
    let leading_space = s[0] == b' ';
    let leading_break = break_len_at(s, 0) > 0;
    let trailing_space = s[n - 1] == b' ';
    let trailing_break = matches!(s[n - 1], b'\r' | b'\n')
        || s.ends_with("\u{85}".as_bytes())
        || s.ends_with("\u{2028}".as_bytes())
        || s.ends_with("\u{2029}".as_bytes());
    // Flow-context plain is never asked: every scalar here is in block context.
    let mut a = Analysis {
        multiline: line_breaks,
        other_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// `yaml_emitter_select_scalar_style` in block context, for an untagged scalar (plain and quoted
/// implicit). A multi-line simple key (double quotes) never gets here: it is declined before.
fn select_style(requested: Style, a: &Analysis, simple_key: bool, empty: bool) -> Style {
    let mut style = if requested == Style::Any {
        Style::Plain
    } else {
        requested
    };
    if style == Style::Plain && (!a.block_plain_allowed || (empty && simple_key)) {
        style = Style::Single;
    }
    if style == Style::Single && !a.single_quoted_allowed {
        style = Style::Double;
    }
    if style == Style::Literal && (!a.block_allowed || simple_key) {
        style = Style::Double;
    }
    style
}

/// The body of `yaml_emitter_write_double_quoted_scalar` without folding (width is unlimited):
/// non-printable characters, the BOM, breaks, `"` and `\` are escaped.
fn write_double_quoted_body(out: &mut String, text: &str) {
    for c in text.chars() {
        let escape = !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\';
        if !escape {
            out.push(c);
            continue;
        }
        out.push('\\');
        let short = match c {
            '\0' => Some('0'),
            '\u{7}' => Some('a'),
            '\u{8}' => Some('b'),
            '\t' => Some('t'),
            '\n' => Some('n'),
            '\u{B}' => Some('v'),
            '\u{C}' => Some('f'),
            '\r' => Some('r'),
            '\u{1B}' => Some('e'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            '\u{85}' => Some('N'),
            '\u{A0}' => Some('_'),
            '\u{2028}' => Some('L'),
            '\u{2029}' => Some('P'),
            _ => None,
        };
        match short {
            Some(s) => out.push(s),
            None => {
                let u = c as u32;
                let (letter, digits) = if u <= 0xFF {
                    ('x', 2)
                } else if u <= 0xFFFF {
                    ('u', 4)
                } else {
                    ('U', 8)
                };
                out.push(letter);
                for k in (0..digits).rev() {
                    let d = (u >> (4 * k)) & 0xF;
                    out.push(char::from_digit(d, 16).unwrap().to_ascii_uppercase());
                }
            }
        }
    }
}

/// The text serde_norway writes for a float (it formats with `ryu`, not linked by this crate;
/// serde_json's own Display uses another algorithm). Floats are rare in the values, so the cost
/// of one tiny serde_norway document each is fine. `None` unless it is one plain line.
fn float_text(f: f64) -> Option<String> {
    let s = serde_norway::to_string(&f).ok()?;
    let text = s.strip_suffix('\n')?;
    let plain =
        !text.is_empty() && !text.contains(['\n', '\'', '"']) && analyze(text).block_plain_allowed;
    plain.then(|| text.to_string())
}

/// serde_norway's `visit_untagged_scalar` would not read this plain text back as a string:
/// empty, null, a bool, an int, a float, or digits with leading zeros (`de.rs`). Such strings are
/// asked for single quotes (`ser.rs`, `InferScalarStyle`).
fn reads_as_non_string(s: &str) -> bool {
    let Some(&b) = s.as_bytes().first() else {
        return true;
    };
    // Every form below starts with one of these: a digit, a sign, `.` (floats, `.inf`, `.nan`),
    // `~`, or the first letter of null/true/false.
    let may_resolve = b.is_ascii_digit()
        || matches!(
            b,
            b'+' | b'-' | b'.' | b'~' | b'n' | b'N' | b't' | b'T' | b'f' | b'F'
        );
    if !may_resolve {
        return false;
    }
    matches!(
        s,
        "null" | "Null" | "NULL" | "~" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
    ) || int_unsigned(s)
        || int_negative(s)
        || digits_but_not_number(s)
        || float(s)
}

/// Leading zero(s) then digits, after an optional sign: a string in YAML 1.2 (`de.rs`).
fn digits_but_not_number(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    s.len() > 1 && s.starts_with('0') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

const RADIX_PREFIXES: [(&str, u32); 3] = [("0x", 16), ("0o", 8), ("0b", 2)];

/// serde_norway's `parse_unsigned_int` (u128 accepts whatever its u64 form accepts, and more).
fn int_unsigned(s: &str) -> bool {
    let unpositive = s.strip_prefix('+').unwrap_or(s);
    for (prefix, radix) in RADIX_PREFIXES {
        if let Some(rest) = unpositive.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return false;
            }
            if u128::from_str_radix(rest, radix).is_ok() {
                return true;
            }
        }
    }
    if unpositive.starts_with(['+', '-']) || digits_but_not_number(s) {
        return false;
    }
    unpositive.parse::<u128>().is_ok()
}

/// serde_norway's `parse_negative_int` (with i128, which covers its i64 form).
fn int_negative(s: &str) -> bool {
    for (prefix, radix) in RADIX_PREFIXES {
        if let Some(rest) = s.strip_prefix('-').and_then(|r| r.strip_prefix(prefix)) {
            if i128::from_str_radix(&format!("-{rest}"), radix).is_ok() {
                return true;
            }
        }
    }
    if digits_but_not_number(s) {
        return false;
    }
    s.parse::<i128>().is_ok()
}

/// serde_norway's `parse_f64` is Some: `.inf`/`.nan` spellings, or a finite Rust float.
fn float(s: &str) -> bool {
    let unpositive = match s.strip_prefix('+') {
        Some(u) if u.starts_with(['+', '-']) => return false,
        Some(u) => u,
        None => s,
    };
    matches!(unpositive, ".inf" | ".Inf" | ".INF")
        || matches!(s, "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN" | ".NAN")
        || unpositive.parse::<f64>().is_ok_and(f64::is_finite)
}
