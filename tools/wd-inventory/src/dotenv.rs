//! `.env` files as docker compose reads them.
//!
//! `KEY=value`, `export KEY=value`, `#` comments; unquoted values lose a trailing ` # comment`
//! and surrounding blanks; 'single quotes' are literal; "double quotes" take `\n`, `\t`, `\"`,
//! `\\` escapes and may span lines. Unquoted and double-quoted values are interpolated from
//! the keys above them, then the process environment. Hand-written: the `dotenvy` crate does not
//! apply compose's interpolation forms (`${V:-d}` etc.) nor report the line of a bad entry.

use crate::interp;
use std::collections::{BTreeMap, HashMap};

/// Parsed entries in file order, plus their 1-based line numbers.
#[derive(Debug, Clone, Default)]
pub struct EnvFile {
    pub entries: Vec<Entry>,
    /// Key -> index of its last entry (lookups are per variable reference: keep them O(1)).
    index: HashMap<String, usize>,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub value: String,
    /// The value as written (quotes included), for reporting the raw expression.
    pub raw: String,
    /// Single-quoted: taken literally, no interpolation.
    pub literal: bool,
}

impl EnvFile {
    #[cfg(test)]
    pub fn map(&self) -> BTreeMap<String, String> {
        self.entries
            .iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect()
    }
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.index.get(key).map(|&i| &self.entries[i])
    }
    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }
    fn push(&mut self, e: Entry) {
        self.index.insert(e.key.clone(), self.entries.len());
        self.entries.push(e);
    }
}

/// Parses `.env` text; `process_env` is consulted for interpolation after the file's own keys.
/// Errors are `line:col: message`.
pub fn parse(text: &str, process_env: &dyn Fn(&str) -> Option<String>) -> Result<EnvFile, String> {
    let mut out = EnvFile::default();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let lineno = i + 1;
        let line = lines[i].trim_end_matches('\r');
        i += 1;
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let body = trimmed
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(trimmed);
        let Some(eq) = body.find('=') else {
            // compose-go accepts a bare KEY (no value): the key is defined, empty.
            let key = body.trim();
            check_key(key).map_err(|m| format!("{lineno}:1: {m}"))?;
            seen.insert(key.to_string(), String::new());
            out.push(Entry {
                key: key.to_string(),
                value: String::new(),
                raw: String::new(),
                literal: true,
            });
            continue;
        };
        let key = body[..eq].trim();
        check_key(key).map_err(|m| format!("{lineno}:1: {m}"))?;
        let rest = body[eq + 1..].trim_start();
        let lookup = |k: &str| seen.get(k).cloned().or_else(|| process_env(k));
        let mut raw = rest.to_string();
        let literal = rest.starts_with('\'');
        let value = if let Some(r) = rest.strip_prefix('\'') {
            match r.find('\'') {
                Some(end) => r[..end].to_string(),
                None => {
                    return Err(format!(
                        "{lineno}:{}: unterminated single quote; close it with '",
                        eq + 2
                    ))
                }
            }
        } else if let Some(r) = rest.strip_prefix('"') {
            // May continue on the following lines.
            let mut buf = r.to_string();
            let mut end = find_closing_quote(&buf);
            while end.is_none() && i < lines.len() {
                buf.push('\n');
                buf.push_str(lines[i].trim_end_matches('\r'));
                i += 1;
                end = find_closing_quote(&buf);
            }
            let Some(end) = end else {
                return Err(format!(
                    "{lineno}:{}: unterminated double quote; close it with \"",
                    eq + 2
                ));
            };
            raw = format!("\"{}\"", &buf[..end]);
            let unescaped = unescape(&buf[..end]);
            interp::interpolate(&unescaped, &lookup)
                .map_err(|e| format!("{lineno}:{}: {e}", eq + 2))?
                .value
        } else {
            let v = match rest.find(" #").or_else(|| rest.find("\t#")) {
                Some(c) => &rest[..c],
                None => rest,
            };
            raw = v.trim().to_string();
            interp::interpolate(v.trim(), &lookup)
                .map_err(|e| format!("{lineno}:{}: {e}", eq + 2 + e.offset))?
                .value
        };
        seen.insert(key.to_string(), value.clone());
        out.push(Entry {
            key: key.to_string(),
            value,
            raw,
            literal,
        });
    }
    Ok(out)
}

fn check_key(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!("invalid variable name {key:?}; expected KEY=value with KEY made of letters, digits and _"))
    }
}

fn find_closing_quote(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            // `\$` keeps a literal dollar through interpolation
            Some('$') => out.push_str("$$"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> BTreeMap<String, String> {
        parse(s, &|k| {
            if k == "FROM_ENV" {
                Some("env".into())
            } else {
                None
            }
        })
        .unwrap()
        .map()
    }

    #[test]
    fn forms() {
        let m = p("# c\nA=1\nexport B = two words  \nC=\"\"\nD=x # comment\nE='lit ${A}'\nF=\"q ${A} \\\"x\\\"\"\nG=${A}-${FROM_ENV}-${NOPE:-d}\nH=a=b:c\n");
        assert_eq!(m["A"], "1");
        assert_eq!(m["B"], "two words");
        assert_eq!(m["C"], "");
        assert_eq!(m["D"], "x");
        assert_eq!(m["E"], "lit ${A}");
        assert_eq!(m["F"], "q 1 \"x\"");
        assert_eq!(m["G"], "1-env-d");
        assert_eq!(m["H"], "a=b:c");
    }

    #[test]
    fn multiline_double_quoted() {
        let m = p("K=\"line1\nline2\"\nN=2\n");
        assert_eq!(m["K"], "line1\nline2");
        assert_eq!(m["N"], "2");
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("A=1\nBAD KEY=2\n", &|_| None).unwrap_err();
        assert!(e.starts_with("2:1: invalid variable name"), "{e}");
        let e = parse("A=\"open\n", &|_| None).unwrap_err();
        assert!(e.starts_with("1:3: unterminated double quote"), "{e}");
        let e = parse("A=${B\n", &|_| None).unwrap_err();
        assert!(e.starts_with("1:3: unterminated ${"), "{e}");
    }
}
