//! The values schema's `pattern`s: ECMA-262 regular expressions (what JSON Schema names), run on
//! regex-lite.
//!
//! Why regex-lite and not regex: a render compiles the schema's 13 patterns in every process,
//! and regex's compile (Unicode class tables, a forward and a reverse NFA, lazy-DFA caches) was
//! about 1 ms of it, a tenth of the users-33 pipe; regex-lite compiles them in about 0.1 ms and
//! matches a short value as fast as needed (docs/benchmarks-notes/pipe.md).
//!
//! The two dialects agree on what the file uses (classes, ranges, anchors, groups, alternation,
//! bounded repeats, `\d` and `\w`, which both define as ASCII), except where [`translate`]
//! rewrites:
//! - `\s` / `\S`: ECMA-262's white space (WhiteSpace and LineTerminator, §22.2.2.9: the `Zs`
//!   category, TAB, VT, FF, ZWNBSP U+FEFF, LF, CR, U+2028, U+2029) instead of regex-lite's six
//!   ASCII ones. (regex's Unicode `\s` was not ECMA's either: it held U+0085 and not U+FEFF.)
//! - `.`: any character but ECMA-262's line terminators (LF, CR, U+2028, U+2029); regex-lite's
//!   excludes LF only.
//! - `[`, `&&` and `~~` inside a class are characters in ECMA-262 (without the `v` flag);
//!   regex-lite refuses them (a nested class, set operations it does not implement): they are
//!   escaped.
//!
//! Refused (exit 2 when the schema loads): `\S` inside a class (write the class out), ECMA's
//! `[]` / `[^]`, which mean "nothing" / "anything" there and something else here, and `--` in a
//! class (regex-lite's "character class difference is not supported").

/// ECMA-262's `\s` as the body of a class: WhiteSpace (TAB, VT, FF, SP, NBSP, ZWNBSP and the
/// rest of `Zs`) and LineTerminator (LF, CR, LS, PS).
const ECMA_SPACE: &str = r"\t\n\x0B\x0C\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}";

/// ECMA-262's `.` (no `s` flag): anything but a LineTerminator.
const ECMA_DOT: &str = r"[^\n\r\x{2028}\x{2029}]";

/// The regex-lite pattern that matches what ECMA-262 pattern `p` matches, or why it cannot.
pub fn translate(p: &str) -> Result<String, String> {
    let mut out = String::with_capacity(p.len() + 16);
    let mut chars = p.chars().peekable();
    // Inside `[...]`: whether the class has just opened (a `]` or `^]` there is ECMA's empty class).
    let mut class: Option<bool> = None;
    while let Some(c) = chars.next() {
        match (c, class) {
            ('\\', _) => {
                let Some(e) = chars.next() else {
                    return Err("ends with a lone backslash".to_string());
                };
                match (e, class.is_some()) {
                    ('s', false) => {
                        out.push('[');
                        out.push_str(ECMA_SPACE);
                        out.push(']');
                    }
                    ('S', false) => {
                        out.push_str("[^");
                        out.push_str(ECMA_SPACE);
                        out.push(']');
                    }
                    ('s', true) => out.push_str(ECMA_SPACE),
                    ('S', true) => {
                        return Err(
                            r"\S inside [...] is not supported here; write the class out"
                                .to_string(),
                        )
                    }
                    _ => {
                        out.push('\\');
                        out.push(e);
                    }
                }
                if let Some(open) = class.as_mut() {
                    *open = false;
                }
            }
            ('[', None) => {
                out.push('[');
                class = Some(true);
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
                if chars.peek() == Some(&']') {
                    return Err(
                        "[] and [^] (nothing / anything in ECMA-262) are not supported here"
                            .to_string(),
                    );
                }
            }
            ('[', Some(_)) => {
                out.push_str(r"\[");
                class = Some(false);
            }
            (']', Some(_)) => {
                out.push(']');
                class = None;
            }
            // regex-lite refuses `&&` and `~~` in a class (set operations); ECMA-262 (without
            // the `v` flag) reads the characters.
            ('&' | '~', Some(_)) => {
                out.push('\\');
                out.push(c);
                class = Some(false);
            }
            ('.', None) => out.push_str(ECMA_DOT),
            _ => {
                out.push(c);
                if let Some(open) = class.as_mut() {
                    *open = false;
                }
            }
        }
    }
    if class.is_some() {
        return Err("a [ class is not closed".to_string());
    }
    Ok(out)
}

/// A compiled `pattern`: the schema's text (for messages) and its regex-lite translation.
#[derive(Debug)]
pub struct Pattern {
    source: String,
    re: regex_lite::Regex,
}

impl Pattern {
    /// Compiles ECMA-262 pattern `p` ([`translate`]); the error says why it cannot be.
    pub fn new(p: &str) -> Result<Pattern, String> {
        let re = regex_lite::Regex::new(&translate(p)?).map_err(|e| e.to_string())?;
        Ok(Pattern {
            source: p.to_string(),
            re,
        })
    }

    /// Whether `s` has a match (JSON Schema's `pattern` is not anchored: the pattern's `^`/`$` do it).
    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s)
    }

    /// The pattern as the schema writes it.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Pattern::new(p).unwrap().is_match(s)
    }

    /// ECMA-262's white space, stated independently of [`ECMA_SPACE`]: Unicode's White_Space
    /// (what `char::is_whitespace` tests) is `Zs` plus U+0009–U+000D, U+0085, U+2028 and U+2029;
    /// ECMA-262 takes all of that but U+0085, and adds U+FEFF.
    fn ecma_space(c: char) -> bool {
        (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}'
    }

    /// ECMA-262's LineTerminator.
    fn ecma_line_terminator(c: char) -> bool {
        matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
    }

    #[test]
    fn space_dot_and_their_negations_are_ecma_262s_over_every_character() {
        type Want = fn(char) -> bool;
        let cases: [(&str, Want); 5] = [
            (r"^\s$", ecma_space),
            (r"^\S$", |c| !ecma_space(c)),
            (r"^[a\s]$", |c| c == 'a' || ecma_space(c)),
            (r"^[^\s]$", |c| !ecma_space(c)),
            (r"^.$", |c| !ecma_line_terminator(c)),
        ];
        for (p, want) in cases {
            let re = Pattern::new(p).unwrap();
            for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
                let got = re.is_match(&c.to_string());
                assert_eq!(got, want(c), "{p} on U+{:04X}", c as u32);
            }
        }
    }

    #[test]
    fn classes_escapes_and_the_rest_read_as_in_ecma_262() {
        // `[`, `&&` and `~~` in a class are characters; `.` and `\.` in a class are dots.
        assert!(m(r"^[a[]+$", "a[a"));
        assert!(m(r"^[a&&b]+$", "a&b") && !m(r"^[a&&b]$", "x"));
        assert!(m(r"^[a~~b]+$", "b~a") && !m(r"^[a~~b]$", "x"));
        assert!(m(r"^[.]$", ".") && !m(r"^[.]$", "x"));
        assert!(m(r"^\.$", ".") && !m(r"^\.$", "x"));
        // \d and \w are ASCII in both dialects.
        assert!(m(r"^\d+$", "0129") && !m(r"^\d$", "٣"));
        assert!(m(r"^\w+$", "a_Z9") && !m(r"^\w$", "ü"));
        // Not anchored unless the pattern says so (JSON Schema's `pattern`).
        assert!(m("b", "abc") && !m("^b", "abc"));
        // The shipped schema's shapes.
        assert!(
            m(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "wd-1")
                && !m(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "-a")
        );
        assert!(m(r"^\S*$", "") && m(r"^\S*$", "https://%s.example.org") && !m(r"^\S*$", "a b"));
        assert!(!m(r"^\S*$", "a\u{a0}b") && !m(r"^\S*$", "a\u{feff}b") && m(r"^\S*$", "a\u{85}b"));
    }

    #[test]
    fn what_ecma_262_reads_otherwise_is_refused_with_a_reason() {
        for (p, why) in [
            (r"^[^\S]$", r"\S inside [...]"),
            (r"^[]$", "[] and [^]"),
            (r"^[^]$", "[] and [^]"),
            (r"^[a-z$", "not closed"),
            ("a\\", "lone backslash"),
            (r"^[+--]$", "difference is not supported"),
        ] {
            let e = Pattern::new(p).unwrap_err();
            assert!(e.contains(why), "{p}: {e}");
        }
        assert!(
            Pattern::new("(").is_err(),
            "regex-lite's own refusals come through"
        );
        assert_eq!(
            Pattern::new(r"^\S*$").unwrap().as_str(),
            r"^\S*$",
            "messages show the schema's text"
        );
    }
}
