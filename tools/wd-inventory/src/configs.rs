//! The config deep-read (`wd-inventory --configs`): every field of the walt.id HOCON files a
//! selected service mounts, classified as url / dsn / secret / environment / static.

use crate::{files, hocon, secrets};
use std::path::Path;
use wd_core::docs::config_audit::*;
use wd_core::docs::inventory::{MountType, Service};

/// walt.id fields whose value is a URL that differs per environment (waltid-facts §2).
const ENV_URL_FIELDS: &[&str] = &[
    "baseUrl",
    "publicBaseUrl",
    "issTokenClaim",
    "audTokenClaim",
    "urlPrefix",
    "oidcRealm",
    "oidcJwks",
    "authorizeUrl",
    "accessTokenUrl",
    "logoutUrl",
    "keycloakUserApi",
    "server",
];

/// Files each service reads whatever its features (waltid-facts §2, walt.id 0.18.2 source).
fn always_read(kind: &str) -> &'static [&'static str] {
    match kind {
        "issuer" => &[
            "web.conf",
            "_features.conf",
            "issuer-service.conf",
            "credential-issuer-metadata.conf",
        ],
        "verifier" => &["web.conf", "_features.conf", "verifier-service.conf"],
        "wallet" => &[
            "web.conf",
            "_features.conf",
            "db.conf",
            "auth.conf",
            "registration-defaults.conf",
            "key-generation-defaults.conf",
        ],
        _ => &[],
    }
}

/// Optional feature names that have a `<feature>.conf` (waltid-facts §2).
const FEATURES: &[&str] = &[
    "dev-mode",
    "persistence",
    "oidc",
    "trust",
    "entra",
    "ktor-authnz",
    "trusted-ca",
    "external-signature-endpoints",
    "debug-endpoints",
    "authentication-service",
    "logins",
    "rejectionreason",
];

/// `issuer` / `verifier` / `wallet` from a mount target like `/waltid-wallet-api/config`.
pub fn waltid_kind(target: &str) -> Option<&'static str> {
    match target.trim_end_matches('/') {
        "/waltid-issuer-api/config" => Some("issuer"),
        "/waltid-verifier-api/config" => Some("verifier"),
        "/waltid-wallet-api/config" => Some("wallet"),
        t if t.starts_with("/waltid-") && t.ends_with("/config") => Some("waltid"),
        _ => None,
    }
}

fn feature_list(fields: &[hocon::Field], name: &str) -> Vec<String> {
    fields
        .iter()
        .find(|f| f.path == name)
        .map(|f| {
            f.raw
                .trim_matches(|c| c == '[' || c == ']')
                .split([',', '\n'])
                .map(|x| {
                    x.split('#')
                        .next()
                        .unwrap_or("")
                        .split("//")
                        .next()
                        .unwrap_or("")
                        .trim()
                        .trim_matches('"')
                        .to_string()
                })
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

pub fn audit(project: &str, services: &[Service], show_secrets: bool) -> ConfigAudit {
    let mut out = ConfigAudit {
        project: project.to_string(),
        redacted: !show_secrets,
        ..Default::default()
    };
    for s in services {
        for m in &s.mounts {
            if m.kind != MountType::Bind {
                continue;
            }
            let (Some(kind), Some(src)) = (waltid_kind(&m.target), m.resolved_source.as_ref())
            else {
                continue;
            };
            out.services.push(audit_dir(
                &s.name,
                kind,
                &m.target,
                Path::new(src),
                show_secrets,
            ));
        }
    }
    out
}

fn audit_dir(
    service: &str,
    kind: &str,
    target: &str,
    dir: &Path,
    show_secrets: bool,
) -> ConfigService {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.ends_with(".conf"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let features_text = crate::input::scan_text(&dir.join("_features.conf"));
    let feature_fields = hocon::fields(&features_text);
    let enabled = feature_list(&feature_fields, "enabledFeatures");
    let mut files_out = Vec::new();
    for name in names {
        let text = crate::input::scan_text(&dir.join(&name));
        let stem = name.trim_end_matches(".conf");
        let reads = if always_read(kind).contains(&name.as_str()) {
            "always"
        } else if enabled.iter().any(|f| f == stem) {
            "feature-enabled"
        } else if FEATURES.contains(&stem) {
            "feature-disabled"
        } else {
            "unknown"
        };
        let fields = hocon::fields(&text);
        let paths: Vec<String> = fields.iter().map(|f| f.path.clone()).collect();
        let mut classified = Vec::new();
        for f in &fields {
            classified.push(classify(f, &paths, show_secrets));
        }
        files_out.push(ConfigFile {
            file: name.clone(),
            reads: reads.into(),
            fields: classified,
        });
    }
    ConfigService {
        service: service.into(),
        mount_target: target.into(),
        source: dir.display().to_string(),
        files: files_out,
    }
}

fn classify(f: &hocon::Field, paths: &[String], show_secrets: bool) -> ConfigField {
    let leaf = f
        .path
        .rsplit('.')
        .next()
        .unwrap_or(&f.path)
        .trim_matches('"')
        .to_string();
    let mut env_vars: Vec<String> = f.quoted_refs.clone();
    let mut substitution = if f.quoted_refs.is_empty() {
        "none"
    } else {
        "env-in-string"
    };
    for r in &f.hocon_refs {
        // `${oidcRealm}` names another field of the same file: a HOCON self-reference.
        if !paths.iter().any(|p| p == r) && !env_vars.contains(r) {
            env_vars.push(r.clone());
        }
        substitution = "hocon";
    }
    env_vars.retain(|v| !paths.iter().any(|p| p == v));
    let value = f.raw.trim_matches('"');
    let is_secret = f.jwk_private || secrets::is_secret_field(&leaf);
    let literal = !files::strip_refs(&f.raw)
        .trim_matches(|c: char| c == '"' || c.is_whitespace())
        .is_empty()
        && !secrets::is_placeholder(&f.raw);
    let class = if is_secret {
        FieldClass::Secret
    } else if leaf == "jdbcUrl" || value.starts_with("jdbc:") {
        FieldClass::Dsn
    } else if ENV_URL_FIELDS.contains(&leaf.as_str())
        || (value.contains("://") && !env_vars.is_empty())
    {
        FieldClass::Url
    } else if !env_vars.is_empty() {
        FieldClass::Environment
    } else {
        FieldClass::Static
    };
    let literal_secret = is_secret && literal;
    ConfigField {
        path: f.path.clone(),
        line: f.line,
        class,
        raw: if literal_secret && !show_secrets {
            None
        } else if !show_secrets {
            Some(secrets::redact_text(&f.raw))
        } else {
            Some(f.raw.clone())
        },
        env_vars,
        substitution: substitution.into(),
        literal_secret,
    }
}
