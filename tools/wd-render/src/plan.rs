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

/// `config/secrets.yaml` as written, parsed: it does not depend on the values, so
/// [`crate::preload`] parses it while the Inventory is read; [`build`] makes the plan.
#[derive(Debug)]
pub struct Secrets {
    file: SecretsFile,
    path: std::path::PathBuf,
}

/// Reads and parses `path` (config/secrets.yaml).
pub fn parse(path: &Path) -> WdResult<Secrets> {
    let file = wd_core::yaml::read(path, "see the header of config/secrets.yaml for the fields")?;
    Ok(Secrets {
        file,
        path: path.to_path_buf(),
    })
}

/// [`parse`] then [`build`].
pub fn load(path: &Path, scenario: &str, kv_mount: &str, prefix: &str) -> WdResult<SecretPlan> {
    build(parse(path)?, scenario, kv_mount, prefix)
}

/// The plan of parsed secrets for the scenario, with the values' Vault mount and path prefix.
pub fn build(
    secrets: Secrets,
    scenario: &str,
    kv_mount: &str,
    prefix: &str,
) -> WdResult<SecretPlan> {
    let Secrets { file: f, path } = secrets;
    let path = path.as_path();
    let mut out = SecretPlan {
        scenario: scenario.into(),
        kv_mount: kv_mount.into(),
        ..Default::default()
    };
    for s in f.secrets {
        out.secrets.push(PlannedSecret {
            name: s.name,
            description: s.description,
            vault_path: s.vault_path,
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
    // The plan's own rules, in wd-core: the same ones wd-secrets applies before Vault is asked.
    if let Some(p) = out.problem() {
        return Err(WdError::input(match p.secret {
            Some((_, name)) => format!(
                "{}: secrets[{name}].{}: {}; use Vault paths like wallet/auth below the prefix and generation policies wd-secrets knows",
                path.display(),
                p.field,
                p.message
            ),
            None => format!(
                "values vault.{}: {}; set vault.kvMount to a KV v2 mount such as secret",
                p.field, p.message
            ),
        }));
    }
    // Paths as written are checked above (the message quotes the file); then below the prefix.
    if !prefix.is_empty() {
        if let Some(why) = wd_core::docs::secret_plan::vault_path_problem(prefix) {
            return Err(WdError::input(format!(
                "values vault.pathPrefix: {prefix:?} {why}; use segments like waltid"
            )));
        }
        for s in &mut out.secrets {
            s.vault_path = format!("{prefix}/{}", s.vault_path);
        }
    }
    Ok(out)
}
