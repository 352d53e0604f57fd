//! What a bind mount brings into a container: each file with its kind and whether it
//! carries secret material (never the values).
//!
//! Only regular files are read (bounded, see `input`); a FIFO, socket or device is named, never
//! opened, and a file or directory that cannot be read is reported as not checked rather than
//! as free of secrets.

use crate::input::{kind_of, read_for_scan};
use crate::{hocon, secrets};
use std::path::Path;
use wd_core::docs::inventory::{BindSource, FileKind, FileSummary, PathKind};

const MAX_FILES: usize = 200;
const MAX_DEPTH: usize = 6;

/// Something the summary could not check, for a warning finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// `special-bind-source`, `unreadable-mounted-file` or `unscanned-mounted-file`.
    pub code: &'static str,
    pub message: String,
}

pub fn summarise(path: &Path) -> (BindSource, Vec<Note>) {
    let mut notes = Vec::new();
    let meta = std::fs::metadata(path);
    let Ok(meta) = meta else {
        return (
            BindSource {
                exists: false,
                path_kind: PathKind::Missing,
                files: vec![],
                truncated: false,
            },
            notes,
        );
    };
    let mut files = Vec::new();
    let mut truncated = false;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    if meta.is_file() {
        files.push(summarise_file(path, &name, meta.len(), &mut notes));
        return (
            BindSource {
                exists: true,
                path_kind: PathKind::File,
                files,
                truncated,
            },
            notes,
        );
    }
    if !meta.is_dir() {
        // A FIFO, socket or device: compose mounts it as it is; reading it could block or never end.
        notes.push(Note {
            code: "special-bind-source",
            message: format!("is {}, not a file or directory; not read", kind_of(&meta)),
        });
        files.push(FileSummary {
            path: name,
            kind: FileKind::Binary,
            bytes: 0,
            carries_secrets: false,
            secret_fields: vec![],
        });
        return (
            BindSource {
                exists: true,
                path_kind: PathKind::File,
                files,
                truncated,
            },
            notes,
        );
    }
    walk(path, path, 0, &mut files, &mut truncated, &mut notes);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    (
        BindSource {
            exists: true,
            path_kind: PathKind::Dir,
            files,
            truncated,
        },
        notes,
    )
}

fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    out: &mut Vec<FileSummary>,
    truncated: &mut bool,
    notes: &mut Vec<Note>,
) {
    if depth > MAX_DEPTH {
        *truncated = true;
        return;
    }
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            notes.push(Note {
                code: "unreadable-mounted-file",
                message: format!(
                    "cannot list {} ({e}); its files were not checked for secrets",
                    dir.strip_prefix(root).unwrap_or(dir).display()
                ),
            });
            return;
        }
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if out.len() >= MAX_FILES {
            *truncated = true;
            return;
        }
        let p = e.path();
        let Ok(m) = std::fs::metadata(&p) else {
            continue;
        };
        let rel = p
            .strip_prefix(root)
            .unwrap_or(&p)
            .to_string_lossy()
            .to_string();
        if m.is_dir() {
            walk(root, &p, depth + 1, out, truncated, notes);
        } else if m.is_file() {
            out.push(summarise_file(&p, &rel, m.len(), notes));
        } else {
            notes.push(Note {
                code: "special-bind-source",
                message: format!("{rel} is {}; not read", kind_of(&m)),
            });
        }
    }
}

fn kind_by_name(name: &str) -> Option<FileKind> {
    let lower = name.to_ascii_lowercase();
    let base = lower.rsplit('/').next().unwrap_or(&lower);
    if base == "caddyfile" {
        return Some(FileKind::Caddyfile);
    }
    if base == ".env" || base.starts_with(".env.") || base.ends_with(".env") {
        return Some(FileKind::Env);
    }
    let ext = base.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    Some(match ext {
        "conf" | "hocon" => FileKind::Hocon,
        "json" => FileKind::Json,
        "toml" => FileKind::Toml,
        "yaml" | "yml" => FileKind::Yaml,
        "sql" => FileKind::Sql,
        "sh" | "bash" | "py" | "js" => FileKind::Script,
        "crt" | "cer" => FileKind::Certificate,
        "key" => FileKind::PrivateKey,
        "jks" | "p12" | "pfx" | "keystore" | "bcfks" => FileKind::Keystore,
        "hcl" | "tf" => FileKind::Hcl,
        "pem" => return None, // certificate or key: decided by content
        "txt" | "md" => FileKind::Text,
        _ => return None,
    })
}

fn summarise_file(path: &Path, rel: &str, bytes: u64, notes: &mut Vec<Note>) -> FileSummary {
    let named = kind_by_name(rel);
    let content = match read_for_scan(path) {
        Ok(None) => {
            notes.push(Note {
                code: "unscanned-mounted-file",
                message: format!(
                    "{rel} is {bytes} bytes, more than the {} MiB scan limit; classified by name, not checked for secrets",
                    crate::input::MAX_SCAN_BYTES >> 20
                ),
            });
            None
        }
        Ok(c) => c,
        Err(why) => {
            notes.push(Note {
                code: "unreadable-mounted-file",
                message: format!("cannot read {rel} ({why}); not checked for secrets"),
            });
            None
        }
    };
    let text = content.as_ref().and_then(|c| std::str::from_utf8(c).ok());
    let kind = match (named, text) {
        (Some(FileKind::Keystore), _) => FileKind::Keystore,
        (_, Some(t)) if t.contains("PRIVATE KEY-----") => FileKind::PrivateKey,
        (_, Some(t)) if t.contains("-----BEGIN CERTIFICATE-----") && named.is_none() => {
            FileKind::Certificate
        }
        (Some(k), _) => k,
        (None, Some(t)) if t.starts_with("#!") => FileKind::Script,
        (None, Some(_)) => FileKind::Text,
        (None, None) => FileKind::Binary,
    };
    let mut secret_fields = Vec::new();
    match (kind, text) {
        (FileKind::PrivateKey, _) => secret_fields.push("private key block".to_string()),
        (FileKind::Keystore, _) => secret_fields.push("keystore".to_string()),
        (FileKind::Hocon, Some(t)) => secret_fields = hocon_secrets(t),
        (FileKind::Json, Some(t)) => secret_fields = json_secrets(t),
        (FileKind::Yaml, Some(t)) => secret_fields = yaml_secrets(t),
        (FileKind::Toml | FileKind::Env | FileKind::Text | FileKind::Hcl, Some(t)) => {
            secret_fields = line_secrets(t)
        }
        _ => {}
    }
    FileSummary {
        path: rel.to_string(),
        kind,
        bytes,
        carries_secrets: !secret_fields.is_empty(),
        secret_fields,
    }
}

/// A literal value (not only `${…}` references, not a placeholder) under a secret name.
fn literal_secret(key: &str, raw_value: &str) -> bool {
    let k = key.trim_matches('"');
    if !secrets::is_secret_field(k) {
        return false;
    }
    let v = raw_value.trim();
    let without_refs = strip_refs(v);
    !secrets::is_placeholder(v)
        && !without_refs
            .trim_matches(|c: char| c == '"' || c.is_whitespace())
            .is_empty()
}

/// Removes `${…}` references.
pub fn strip_refs(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        match rest[i..].find('}') {
            Some(e) => rest = &rest[i + e + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn hocon_secrets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for f in hocon::fields(text) {
        let leaf = f.path.rsplit('.').next().unwrap_or(&f.path);
        if (f.jwk_private || literal_secret(leaf, &f.raw)) && !out.contains(&f.path) {
            out.push(f.path);
        }
    }
    out
}

fn json_secrets(text: &str) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return line_secrets(text);
    };
    let mut out = Vec::new();
    walk_json(&v, "", &mut out);
    out
}

fn walk_json(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            // Keycloak realm credentials: {"type": "password", "value": "..."}
            let is_cred = m.get("type").and_then(|t| t.as_str()) == Some("password")
                && m.get("value")
                    .is_some_and(|x| x.as_str().is_some_and(|s| !s.is_empty()));
            if is_cred {
                out.push(format!("{path}.value"));
            }
            let is_jwk = m.contains_key("kty");
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if let serde_json::Value::String(s) = x {
                    let jwk_private =
                        is_jwk && ["d", "p", "q", "dp", "dq", "qi"].contains(&k.as_str());
                    if jwk_private || literal_secret(k, &format!("\"{s}\"")) {
                        out.push(p.clone());
                    }
                }
                walk_json(x, &p, out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                walk_json(x, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn yaml_secrets(text: &str) -> Vec<String> {
    match serde_norway::from_str::<serde_json::Value>(text) {
        Ok(v) => {
            let mut out = Vec::new();
            walk_json(&v, "", &mut out);
            out
        }
        Err(_) => line_secrets(text),
    }
}

/// `key = value` / `key: value` / `KEY=value` lines (TOML, env files, text).
fn line_secrets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut section = String::new();
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('#') || l.is_empty() {
            continue;
        }
        if l.starts_with('[') && l.ends_with(']') {
            section = l.trim_matches(|c| c == '[' || c == ']').to_string();
            continue;
        }
        let Some(i) = l.find(['=', ':']) else {
            continue;
        };
        let key = l[..i].trim().trim_start_matches("export ").trim();
        let value = l[i + 1..].split(" #").next().unwrap_or("").trim();
        if key.contains(' ') || key.is_empty() {
            continue;
        }
        if literal_secret(key, value) {
            let p = if section.is_empty() {
                key.to_string()
            } else {
                format!("{section}.{key}")
            };
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, body: &str) {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    #[test]
    fn classifies_files_and_finds_secret_fields() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "auth.conf",
            "encryptionKey = \"dncygwnvivxzlohc\"\nsignKey = \"${WALLET_SIGN_KEY}\"\n",
        );
        write(d.path(), "web.conf", "webPort = 7001\n");
        write(
            d.path(),
            "realm.json",
            r#"{"users":[{"credentials":[{"type":"password","value":"pw"}]}]}"#,
        );
        write(
            d.path(),
            "deployment.toml",
            "[super_admin]\nusername = \"admin\"\npassword = \"admin\"\n",
        );
        write(
            d.path(),
            "tls/key.pem",
            "-----BEGIN EC PRIVATE KEY-----\nabc\n-----END EC PRIVATE KEY-----\n",
        );
        write(
            d.path(),
            "tls/ca.pem",
            "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n",
        );
        write(d.path(), "init.sql", "create table x();\n");
        write(d.path(), "run", "#!/bin/sh\necho\n");
        let (b, notes) = summarise(d.path());
        assert!(notes.is_empty(), "{notes:?}");
        let get = |n: &str| b.files.iter().find(|f| f.path == n).unwrap().clone();
        assert_eq!(get("auth.conf").secret_fields, ["encryptionKey"]);
        assert!(!get("web.conf").carries_secrets);
        assert_eq!(
            get("realm.json").secret_fields,
            ["users[0].credentials[0].value"]
        );
        assert_eq!(
            get("deployment.toml").secret_fields,
            ["super_admin.password"]
        );
        assert_eq!(get("tls/key.pem").kind, FileKind::PrivateKey);
        assert_eq!(get("tls/ca.pem").kind, FileKind::Certificate);
        assert_eq!(get("init.sql").kind, FileKind::Sql);
        assert_eq!(get("run").kind, FileKind::Script);
        assert_eq!(b.path_kind, PathKind::Dir);
        let (missing, _) = summarise(&d.path().join("nope"));
        assert!(!missing.exists);
    }
}
