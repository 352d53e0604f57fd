//! The SecretPlan, built from `config/secrets.yaml` and the Vault values.

use serde::Deserialize;
use std::path::Path;
use wd_core::docs::secret_plan::{GenerationPolicy, PlannedSecret, SecretPlan};
use wd_core::{WdError, WdResult};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsFile {
    secrets: Vec<SecretDef>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SecretDef {
    name: String,
    description: String,
    vault_path: String,
    vault_key: String,
    k8s_secret: String,
    k8s_key: String,
    #[serde(default)]
    k8s_secret_type: Option<String>,
    #[serde(default)]
    k8s_static: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    env: Option<String>,
    consumers: Vec<String>,
    policy: PolicyDef,
    restart_on_rotate: Vec<String>,
    runbook: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyDef {
    format: String,
    #[serde(default)]
    length: Option<u32>,
    #[serde(default)]
    charset: Option<String>,
    why: String,
}

const FORMATS: &[&str] = &["random", "rsa-jwk", "ec-p256-pem", "waltid-key", "external"];
const CHARSETS: &[&str] = &["alphanumeric", "lowercase", "hex", "printable"];

pub fn load(path: &Path, scenario: &str, kv_mount: &str, prefix: &str) -> WdResult<SecretPlan> {
    let f: SecretsFile =
        wd_core::yaml::read(path, "see the header of config/secrets.yaml for the fields")?;
    let mut out = SecretPlan {
        scenario: scenario.into(),
        kv_mount: kv_mount.into(),
        ..Default::default()
    };
    for s in f.secrets {
        let at = |field: &str, msg: String| {
            WdError::input(format!(
                "{}: secrets[{}].{field}: {msg}",
                path.display(),
                s.name
            ))
        };
        if !FORMATS.contains(&s.policy.format.as_str()) {
            return Err(at(
                "policy.format",
                format!("{:?} is not one of {}", s.policy.format, FORMATS.join(", ")),
            ));
        }
        if s.policy.format == "random" {
            match (&s.policy.length, &s.policy.charset) {
                (Some(l), Some(c)) if *l >= 8 && CHARSETS.contains(&c.as_str()) => {}
                _ => {
                    return Err(at(
                        "policy",
                        format!(
                            "random needs length >= 8 and a charset ({})",
                            CHARSETS.join(", ")
                        ),
                    ))
                }
            }
        }
        // The same rule wd-secrets applies to the plan it reads (its planck module): a Vault
        // location stays inside the mount, and a key has a name.
        if s.vault_path.is_empty()
            || s.vault_path.starts_with('/')
            || s.vault_path.ends_with('/')
            || s.vault_path.chars().any(char::is_whitespace)
            || s.vault_path
                .split('/')
                .any(|x| x.is_empty() || x == "." || x == "..")
        {
            return Err(at(
                "vaultPath",
                format!("{:?}: use segments like waltid/wallet/auth (no empty, . or .. segment, no leading or trailing /)", s.vault_path),
            ));
        }
        if s.vault_key.trim().is_empty() {
            return Err(at(
                "vaultKey",
                "is empty; name the key inside the Vault secret".into(),
            ));
        }
        if out.secrets.iter().any(|x| x.name == s.name) {
            return Err(at("name", "is defined twice; names must be unique".into()));
        }
        if out
            .secrets
            .iter()
            .any(|x| x.vault_path == s.vault_path && x.vault_key == s.vault_key)
        {
            return Err(at(
                "vaultKey",
                format!("{}#{} is used by another secret", s.vault_path, s.vault_key),
            ));
        }
        out.secrets.push(PlannedSecret {
            name: s.name,
            description: s.description,
            vault_path: if prefix.is_empty() {
                s.vault_path
            } else {
                format!("{prefix}/{}", s.vault_path)
            },
            vault_key: s.vault_key,
            k8s_secret: s.k8s_secret,
            k8s_key: s.k8s_key,
            k8s_secret_type: s.k8s_secret_type,
            k8s_static: s.k8s_static,
            env: s.env,
            consumers: s.consumers,
            policy: GenerationPolicy {
                format: s.policy.format,
                length: s.policy.length,
                charset: s.policy.charset,
                why: s.policy.why,
            },
            restart_on_rotate: s.restart_on_rotate,
            runbook: s.runbook,
        });
    }
    Ok(out)
}
