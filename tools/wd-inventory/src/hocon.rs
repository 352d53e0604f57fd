//! A HOCON field lister: every leaf field with its dotted path, line, raw value text and the
//! `${…}` references in it.
//!
//! Hand-written on purpose: the `hocon` crate resolves substitutions and returns values, but
//! the audit needs the raw text, the line, and the difference between walt.id's env
//! substitution inside quoted strings and HOCON's own unquoted `${X}` (waltid-facts §2).
//! It never fails: text it cannot make sense of ends the current value.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub path: String,
    pub line: usize,
    /// The value as written (comments stripped, trimmed).
    pub raw: String,
    /// `${NAME}` inside quoted strings (walt.id substitutes these from the environment).
    pub quoted_refs: Vec<String>,
    /// Unquoted `${NAME}` / `${?NAME}` (HOCON substitution: another path, or an env var).
    pub hocon_refs: Vec<String>,
    /// Part of a JWK private key (`d`, `p`, `q`, … beside a `kty`).
    pub jwk_private: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Sep,
    Comma,
    Newline,
    Str(String),
    Unquoted(String),
    Subst(String),
}

#[derive(Debug, Clone)]
struct T {
    tok: Tok,
    start: usize,
    end: usize,
    line: usize,
}

fn tokenize(src: &str) -> Vec<T> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let single = |tok: Tok| (tok, 1);
        let (tok, len) = match c {
            b'\n' => single(Tok::Newline),
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'{' => single(Tok::LBrace),
            b'}' => single(Tok::RBrace),
            b'[' => single(Tok::LBracket),
            b']' => single(Tok::RBracket),
            b'=' | b':' => single(Tok::Sep),
            b'+' if b.get(i + 1) == Some(&b'=') => (Tok::Sep, 2),
            b',' => single(Tok::Comma),
            b'"' if src[i..].starts_with("\"\"\"") => {
                let end = src[i + 3..]
                    .find("\"\"\"")
                    .map(|e| i + 3 + e)
                    .unwrap_or(b.len());
                let content = src[i + 3..end].to_string();
                (Tok::Str(content), (end + 3).min(b.len()) - i)
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' && b[j] != b'\n' {
                    if b[j] == b'\\' {
                        j += 1;
                    }
                    j += 1;
                }
                let j = j.min(b.len());
                (
                    Tok::Str(src[i + 1..j].to_string()),
                    (j + 1).min(b.len()) - i,
                )
            }
            b'$' if b.get(i + 1) == Some(&b'{') => {
                let end = src[i..].find('}').map(|e| i + e).unwrap_or(b.len());
                let name = src[i + 2..end].trim_start_matches('?').trim().to_string();
                (Tok::Subst(name), (end + 1).min(b.len()) - i)
            }
            _ => {
                let mut j = i;
                while j < b.len() {
                    let d = b[j];
                    if matches!(
                        d,
                        b'\n'
                            | b' '
                            | b'\t'
                            | b'\r'
                            | b'{'
                            | b'}'
                            | b'['
                            | b']'
                            | b'='
                            | b':'
                            | b','
                            | b'"'
                            | b'#'
                    ) || (d == b'$' && b.get(j + 1) == Some(&b'{'))
                        || (d == b'/' && b.get(j + 1) == Some(&b'/'))
                        || (d == b'+' && b.get(j + 1) == Some(&b'='))
                    {
                        break;
                    }
                    j += 1;
                }
                if j == i {
                    j = i + 1;
                }
                (Tok::Unquoted(src[i..j].to_string()), j - i)
            }
        };
        out.push(T {
            tok,
            start,
            end: start + len,
            line,
        });
        line += src[start..start + len].matches('\n').count();
        i = start + len;
    }
    out
}

const JWK_PRIVATE: &[&str] = &["d", "p", "q", "dp", "dq", "qi"];

struct P<'a> {
    src: &'a str,
    t: Vec<T>,
    i: usize,
    fields: Vec<Field>,
}

/// Lists every leaf field of a HOCON document.
pub fn fields(src: &str) -> Vec<Field> {
    let mut p = P {
        src,
        t: tokenize(src),
        i: 0,
        fields: Vec::new(),
    };
    p.object("", false);
    p.fields
}

fn env_refs_in(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(e) => {
                let name = after[..e].trim_start_matches('?').trim();
                if !name.is_empty() && !out.iter().any(|x| x == name) {
                    out.push(name.to_string());
                }
                rest = &after[e + 1..];
            }
            None => break,
        }
    }
    out
}

impl P<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i).map(|t| &t.tok)
    }

    fn object(&mut self, prefix: &str, braced: bool) {
        let first_field = self.fields.len();
        let mut has_kty = false;
        loop {
            while matches!(self.peek(), Some(Tok::Newline) | Some(Tok::Comma)) {
                self.i += 1;
            }
            match self.peek() {
                None => break,
                Some(Tok::RBrace) => {
                    self.i += 1;
                    if braced {
                        break;
                    }
                    continue;
                }
                _ => {}
            }
            // key tokens up to a separator or `{`
            let key_line = self.t[self.i].line;
            let mut key = String::new();
            let mut ended = false;
            while let Some(tok) = self.peek().cloned() {
                match tok {
                    Tok::Unquoted(u) => {
                        key.push_str(&u);
                        self.i += 1;
                    }
                    Tok::Str(s) => {
                        key.push('"');
                        key.push_str(&s);
                        key.push('"');
                        self.i += 1;
                    }
                    Tok::Sep | Tok::LBrace => break,
                    _ => {
                        ended = true;
                        break;
                    }
                }
            }
            if ended || key.is_empty() {
                // not a field (e.g. `include "x"` or stray text): skip to the end of the line
                while !matches!(self.peek(), None | Some(Tok::Newline) | Some(Tok::RBrace)) {
                    self.i += 1;
                }
                continue;
            }
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            if key.trim_matches('"') == "kty" {
                has_kty = true;
            }
            if self.peek() == Some(&Tok::Sep) {
                self.i += 1;
            }
            while self.peek() == Some(&Tok::Newline) {
                self.i += 1;
            }
            if self.peek() == Some(&Tok::LBrace) {
                self.i += 1;
                self.object(&path, true);
                continue;
            }
            self.value(path, key_line);
        }
        if has_kty {
            for f in &mut self.fields[first_field..] {
                let own_key = if prefix.is_empty() {
                    Some(f.path.as_str())
                } else {
                    f.path.strip_prefix(&format!("{prefix}."))
                };
                if own_key.is_some_and(|k| JWK_PRIVATE.contains(&k.trim_matches('"'))) {
                    f.jwk_private = true;
                }
            }
        }
    }

    fn value(&mut self, path: String, line: usize) {
        let start_idx = self.i;
        let mut depth = 0usize;
        let mut quoted_refs = Vec::new();
        let mut hocon_refs = Vec::new();
        while let Some(t) = self.t.get(self.i) {
            match &t.tok {
                Tok::Newline | Tok::Comma if depth == 0 => break,
                Tok::RBrace if depth == 0 => break,
                Tok::LBracket | Tok::LBrace => depth += 1,
                Tok::RBracket | Tok::RBrace => depth = depth.saturating_sub(1),
                Tok::Str(s) => {
                    for r in env_refs_in(s) {
                        if !quoted_refs.contains(&r) {
                            quoted_refs.push(r);
                        }
                    }
                }
                Tok::Subst(n) if !hocon_refs.contains(n) => hocon_refs.push(n.clone()),
                _ => {}
            }
            self.i += 1;
        }
        let raw = if start_idx < self.i {
            let s = self.t[start_idx].start;
            let e = self.t[self.i - 1].end;
            self.src[s..e].trim().to_string()
        } else {
            String::new()
        };
        // An inline JSON object with a private JWK inside an array or object value.
        let jwk_private = raw.contains("\"kty\"")
            && JWK_PRIVATE
                .iter()
                .any(|k| raw.contains(&format!("\"{k}\"")));
        self.fields.push(Field {
            path,
            line,
            raw,
            quoted_refs,
            hocon_refs,
            jwk_private,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_nested_fields_with_lines_and_refs() {
        let src = "dataSource {\n  # c\n  jdbcUrl = \"jdbc:postgresql://${H}:${P}/${D}\"\n  password = \"${DB_PASSWORD}\" // secret\n  dataSource { journalMode = WAL }\n}\nrecreateDatabaseOnStart = false\nwebPort = ${WALLET_BACKEND_PORT}\n";
        let f = fields(src);
        let paths: Vec<_> = f.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "dataSource.jdbcUrl",
                "dataSource.password",
                "dataSource.dataSource.journalMode",
                "recreateDatabaseOnStart",
                "webPort"
            ]
        );
        assert_eq!(f[0].line, 3);
        assert_eq!(f[0].quoted_refs, ["H", "P", "D"]);
        assert_eq!(f[1].raw, "\"${DB_PASSWORD}\"");
        assert_eq!(f[4].hocon_refs, ["WALLET_BACKEND_PORT"]);
        assert!(f[4].quoted_refs.is_empty());
    }

    #[test]
    fn arrays_colons_and_quoted_keys() {
        let src = "enabledFeatures = [\n  dev-mode # c\n  x\n]\nclientId: \"v2\"\nm = { \"org.iso.mDL\" = { format = mso_mdoc } }\n";
        let f = fields(src);
        assert_eq!(f[0].path, "enabledFeatures");
        assert!(f[0].raw.starts_with('[') && f[0].raw.ends_with(']'));
        assert_eq!(f[1].path, "clientId");
        assert_eq!(f[2].path, "m.\"org.iso.mDL\".format");
    }

    #[test]
    fn jwk_private_parts_are_marked() {
        let src = "key: {\"type\":\"jwk\",\"jwk\":{\"kty\":\"EC\",\"d\":\"AEb4\",\"x\":\"G_T\"}}\nsigningKey = {\"type\": \"jwk\", \"jwk\": {\"kty\": \"OKP\", \"d\": \"z8L\"}}\n";
        let f = fields(src);
        let d: Vec<_> = f
            .iter()
            .filter(|x| x.jwk_private)
            .map(|x| x.path.as_str())
            .collect();
        assert_eq!(d, ["key.\"jwk\".\"d\"", "signingKey.\"jwk\".\"d\""]);
    }

    #[test]
    fn never_panics_on_garbage() {
        for s in [
            "{",
            "}",
            "a = \"",
            "a = ${",
            "\"\"\"",
            "a.b.c",
            "= = =",
            "a = [ {",
            "x = \"{\"p\":\"8D\"}\"",
        ] {
            let _ = fields(s);
        }
    }
}
