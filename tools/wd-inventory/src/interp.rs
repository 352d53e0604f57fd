//! Compose-Specification variable interpolation.
//!
//! Forms: `$$` (a literal `$`), `$VAR`, `${VAR}`, `${VAR:-default}` / `${VAR-default}`
//! (default when unset-or-empty / unset), `${VAR:?err}` / `${VAR?err}` (error when
//! unset-or-empty / unset), `${VAR:+alt}` / `${VAR+alt}` (alt when set-and-non-empty / set).
//! Defaults, alternatives and error texts are themselves interpolated, so they nest:
//! `${A:-http://${B:-localhost}:${C:-8180}}`.
//!
//! Hand-written because no maintained crate implements the Compose rules (the `:?`/`?`
//! errors, nesting in defaults, `$$`) and reports the byte offset of an error.

use std::fmt;

/// A variable an expression references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    pub name: String,
    /// The reference carries a default or alternative, so an unset variable is not a gap.
    pub has_default: bool,
}

/// What went wrong, and where (byte offset into the expression).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpError {
    pub offset: usize,
    pub kind: ErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// `${` without its `}`.
    Unterminated,
    /// `${}` or `${:-x}`, or a name with characters a variable cannot have.
    BadName(String),
    /// `$` followed by something that is not a name, `{` or `$`.
    LoneDollar,
    /// `${VAR:?msg}` / `${VAR?msg}` with VAR unset (or empty for `:?`).
    Required { name: String, message: String },
}

impl fmt::Display for InterpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Unterminated => write!(f, "unterminated ${{; close it with }}"),
            ErrorKind::BadName(n) => write!(
                f,
                "invalid variable name {n:?} in ${{…}}; use letters, digits and _ (not starting with a digit)"
            ),
            ErrorKind::LoneDollar => write!(f, "'$' must be followed by a name, '{{' or '$'; write '$$' for a literal $"),
            ErrorKind::Required { name, message } => {
                if message.is_empty() {
                    write!(f, "required variable {name} is not set; set it in the env file or the environment")
                } else {
                    write!(f, "required variable {name} is not set: {message}; set it in the env file or the environment")
                }
            }
        }
    }
}

/// The result of interpolating one string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Interpolated {
    pub value: String,
    /// Every variable referenced, in order of appearance, including ones inside defaults.
    pub refs: Vec<Ref>,
}

/// Interpolates `input`, looking variables up with `lookup` (None = unset).
pub fn interpolate(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Interpolated, InterpError> {
    let mut p = Parser {
        s: input.as_bytes(),
        src: input,
        pos: 0,
        lookup,
        refs: Vec::new(),
    };
    let value = p.text(false, true)?;
    Ok(Interpolated {
        value,
        refs: p.refs,
    })
}

/// Only collects references (no lookup); syntax errors still surface.
pub fn references(input: &str) -> Result<Vec<Ref>, InterpError> {
    Ok(interpolate(input, &|_| None)
        .or_else(|e| match e.kind {
            // A `:?` with nothing set is not a syntax error: collect refs with everything "set".
            ErrorKind::Required { .. } => interpolate(input, &|_| Some("x".into())),
            _ => Err(e),
        })?
        .refs)
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    refs: Vec<Ref>,
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Parser<'_> {
    /// Text up to the end (or, inside `${…}`, up to the closing `}` which is not consumed).
    /// `evaluate = false` parses without looking anything up (a branch not taken).
    fn text(&mut self, in_braces: bool, evaluate: bool) -> Result<String, InterpError> {
        let mut out = String::new();
        let mut lit_start = self.pos;
        while self.pos < self.s.len() {
            let b = self.s[self.pos];
            if in_braces && b == b'}' {
                break;
            }
            if b != b'$' {
                self.pos += 1;
                continue;
            }
            out.push_str(&self.src[lit_start..self.pos]);
            let dollar = self.pos;
            self.pos += 1;
            match self.s.get(self.pos).copied() {
                Some(b'$') => {
                    out.push('$');
                    self.pos += 1;
                }
                Some(b'{') => {
                    self.pos += 1;
                    let v = self.braced(dollar, evaluate)?;
                    out.push_str(&v);
                }
                Some(c) if is_name_start(c) => {
                    let start = self.pos;
                    while self.pos < self.s.len() && is_name_char(self.s[self.pos]) {
                        self.pos += 1;
                    }
                    let name = &self.src[start..self.pos];
                    self.refs.push(Ref {
                        name: name.to_string(),
                        has_default: false,
                    });
                    if evaluate {
                        out.push_str(&(self.lookup)(name).unwrap_or_default());
                    }
                }
                _ => {
                    return Err(InterpError {
                        offset: dollar,
                        kind: ErrorKind::LoneDollar,
                    })
                }
            }
            lit_start = self.pos;
        }
        out.push_str(&self.src[lit_start..self.pos]);
        Ok(out)
    }

    /// After `${`: NAME [op word] `}`.
    fn braced(&mut self, dollar: usize, evaluate: bool) -> Result<String, InterpError> {
        let start = self.pos;
        while self.pos < self.s.len() && is_name_char(self.s[self.pos]) {
            self.pos += 1;
        }
        let name = self.src[start..self.pos].to_string();
        if self.pos >= self.s.len() {
            return Err(InterpError {
                offset: dollar,
                kind: ErrorKind::Unterminated,
            });
        }
        let valid = !name.is_empty() && is_name_start(name.as_bytes()[0]);
        let op = match (self.s[self.pos], self.s.get(self.pos + 1).copied()) {
            (b'}', _) => "",
            (b':', Some(b'-')) => ":-",
            (b':', Some(b'?')) => ":?",
            (b':', Some(b'+')) => ":+",
            (b'-', _) => "-",
            (b'?', _) => "?",
            (b'+', _) => "+",
            _ => {
                // Report the whole bad name up to the closing brace (or the end).
                let end = self.src[start..].find('}').map(|i| start + i);
                return Err(match end {
                    Some(e) => InterpError {
                        offset: dollar,
                        kind: ErrorKind::BadName(self.src[start..e].to_string()),
                    },
                    None => InterpError {
                        offset: dollar,
                        kind: ErrorKind::Unterminated,
                    },
                });
            }
        };
        if !valid {
            return Err(InterpError {
                offset: dollar,
                kind: ErrorKind::BadName(name),
            });
        }
        self.pos += op.len();
        let value = if evaluate { (self.lookup)(&name) } else { None };
        let set = value.is_some();
        let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
        self.refs.push(Ref {
            name: name.clone(),
            has_default: matches!(op, ":-" | "-" | ":+" | "+"),
        });
        let result = match op {
            "" => value.unwrap_or_default(),
            ":-" | "-" => {
                let use_default = if op == ":-" { !non_empty } else { !set };
                let word = self.text(true, evaluate && use_default)?;
                if use_default {
                    word
                } else {
                    value.unwrap_or_default()
                }
            }
            ":+" | "+" => {
                let use_alt = if op == ":+" { non_empty } else { set };
                let word = self.text(true, evaluate && use_alt)?;
                if use_alt {
                    word
                } else {
                    String::new()
                }
            }
            _ => {
                // ":?" | "?"
                let missing = if op == ":?" { !non_empty } else { !set };
                let word = self.text(true, evaluate && missing)?;
                if evaluate && missing {
                    if self.pos >= self.s.len() {
                        return Err(InterpError {
                            offset: dollar,
                            kind: ErrorKind::Unterminated,
                        });
                    }
                    return Err(InterpError {
                        offset: dollar,
                        kind: ErrorKind::Required {
                            name,
                            message: word,
                        },
                    });
                }
                value.unwrap_or_default()
            }
        };
        if self.pos >= self.s.len() || self.s[self.pos] != b'}' {
            return Err(InterpError {
                offset: dollar,
                kind: ErrorKind::Unterminated,
            });
        }
        self.pos += 1;
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn run(s: &str, vars: &[(&str, &str)]) -> Result<String, InterpError> {
        let e = env(vars);
        interpolate(s, &|k| e.get(k).cloned()).map(|r| r.value)
    }

    #[test]
    fn plain_forms() {
        let v = [("A", "1"), ("E", "")];
        assert_eq!(run("x${A}y", &v).unwrap(), "x1y");
        assert_eq!(run("$A-$A", &v).unwrap(), "1-1");
        assert_eq!(run("${MISSING}", &v).unwrap(), "");
        assert_eq!(run("no vars", &v).unwrap(), "no vars");
        assert_eq!(run("a$$b $${A}", &v).unwrap(), "a$b ${A}");
        assert_eq!(run("$A_B", &[("A_B", "ab"), ("A", "a")]).unwrap(), "ab");
    }

    #[test]
    fn default_forms_distinguish_unset_and_empty() {
        let v = [("E", ""), ("S", "set")];
        assert_eq!(run("${E:-d}", &v).unwrap(), "d");
        assert_eq!(run("${E-d}", &v).unwrap(), "");
        assert_eq!(run("${U-d}", &v).unwrap(), "d");
        assert_eq!(run("${S:-d}", &v).unwrap(), "set");
        assert_eq!(run("${U:-}", &v).unwrap(), "");
        assert_eq!(run("${U:-http://h:80/p}", &v).unwrap(), "http://h:80/p");
    }

    #[test]
    fn alternative_forms() {
        let v = [("E", ""), ("S", "set")];
        assert_eq!(run("${S:+alt}", &v).unwrap(), "alt");
        assert_eq!(run("${E:+alt}", &v).unwrap(), "");
        assert_eq!(run("${E+alt}", &v).unwrap(), "alt");
        assert_eq!(run("${U+alt}", &v).unwrap(), "");
    }

    #[test]
    fn required_forms() {
        let v = [("E", ""), ("S", "set")];
        assert_eq!(run("${S:?boom}", &v).unwrap(), "set");
        assert_eq!(run("${E?boom}", &v).unwrap(), "");
        let e = run("ab${E:?must be set}", &v).unwrap_err();
        assert_eq!(e.offset, 2);
        assert_eq!(
            e.kind,
            ErrorKind::Required {
                name: "E".into(),
                message: "must be set".into()
            }
        );
        assert!(matches!(
            run("${U?}", &v).unwrap_err().kind,
            ErrorKind::Required { .. }
        ));
    }

    #[test]
    fn nested_defaults() {
        let s = "${A:-http://${B:-localhost}:${C:-8180}}/x";
        assert_eq!(run(s, &[]).unwrap(), "http://localhost:8180/x");
        assert_eq!(run(s, &[("B", "kc")]).unwrap(), "http://kc:8180/x");
        assert_eq!(run(s, &[("A", "https://a")]).unwrap(), "https://a/x");
        let refs = references(s).unwrap();
        let names: Vec<_> = refs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["A", "B", "C"]);
        assert!(refs.iter().all(|r| r.has_default));
        // a default that is itself only an interpolation
        assert_eq!(run("${A:-${B}}", &[("B", "b")]).unwrap(), "b");
    }

    #[test]
    fn a_branch_not_taken_does_not_fail() {
        assert_eq!(
            run("${S:-${U:?never evaluated}}", &[("S", "s")]).unwrap(),
            "s"
        );
    }

    #[test]
    fn syntax_errors_with_offsets() {
        let e = run("image: ${TAG", &[]).unwrap_err();
        assert_eq!((e.offset, e.kind), (7, ErrorKind::Unterminated));
        let e = run("x ${A:-${B}", &[]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unterminated);
        assert!(matches!(
            run("${}", &[]).unwrap_err().kind,
            ErrorKind::BadName(_)
        ));
        assert!(matches!(
            run("${1A}", &[]).unwrap_err().kind,
            ErrorKind::BadName(_)
        ));
        assert!(matches!(
            run("${A B}", &[]).unwrap_err().kind,
            ErrorKind::BadName(_)
        ));
        assert_eq!(run("cost 5$", &[]).unwrap_err().kind, ErrorKind::LoneDollar);
        assert_eq!(run("$ 1", &[]).unwrap_err().offset, 0);
    }

    #[test]
    fn error_messages_name_the_fix() {
        let e = run("${TAG", &[]).unwrap_err();
        assert_eq!(e.to_string(), "unterminated ${; close it with }");
        let e = run("${X:?set X please}", &[]).unwrap_err();
        assert!(e
            .to_string()
            .contains("required variable X is not set: set X please"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = run(&s, &[("A", "1")]);
            let _ = references(&s);
        }

        #[test]
        fn never_panics_on_dollar_heavy_input(s in "[${}:?+\\-A-Z_a ]{0,40}") {
            let _ = run(&s, &[("A", "1"), ("B", "")]);
        }

        #[test]
        fn text_without_dollar_is_unchanged(s in "[^$]*") {
            proptest::prop_assert_eq!(run(&s, &[]).unwrap(), s);
        }
    }
}
