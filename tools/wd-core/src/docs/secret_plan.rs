//! `SecretPlan`: every secret of a scenario, where it lives in Vault, which Kubernetes Secret
//! and key it becomes, who consumes it and how a value is generated. Written by wd-render
//! from `config/secrets.yaml`; read by wd-secrets and the charts' ExternalSecrets.

use super::{ApiVersion, Document};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

crate::doc_kind!(SecretPlanKind, "SecretPlan");

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct SecretPlan {
    pub api_version: ApiVersion,
    pub kind: SecretPlanKind,
    pub scenario: String,
    /// KV v2 mount the paths live under (e.g. `secret`).
    pub kv_mount: String,
    pub secrets: Vec<PlannedSecret>,
}

impl Document for SecretPlan {
    const KIND: &'static str = "SecretPlan";
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct PlannedSecret {
    /// Stable logical name (`wallet-encryption-key`).
    pub name: String,
    pub description: String,
    /// KV v2 path below the mount (`waltid/wallet/auth`).
    pub vault_path: String,
    pub vault_key: String,
    /// Kubernetes Secret the ExternalSecret creates, and the key in it.
    pub k8s_secret: String,
    pub k8s_key: String,
    /// Type of the Kubernetes Secret when not Opaque (CloudNativePG wants `kubernetes.io/basic-auth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k8s_secret_type: Option<String>,
    /// Non-secret keys the Kubernetes Secret also carries (e.g. `username` for basic-auth).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub k8s_static: std::collections::BTreeMap<String, String>,
    /// Environment variable name in the compose flavor and in the pods.
    pub env: Option<String>,
    pub consumers: Vec<String>,
    pub policy: GenerationPolicy,
    /// Workloads to restart after a rotation.
    pub restart_on_rotate: Vec<String>,
    /// Runbook for rotating this kind of secret (path in the repository).
    pub runbook: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GenerationPolicy {
    /// `random` (length + charset), `rsa-jwk`, `ec-p256-pem`, `waltid-key` (a walt.id
    /// serialized key), or `external` (supplied by a person, never generated).
    pub format: String,
    pub length: Option<u32>,
    /// `alphanumeric`, `lowercase`, `hex` or `printable` (for `random`).
    pub charset: Option<String>,
    /// Where the rule comes from (e.g. `walt.id auth.conf: 16 chars`).
    pub why: String,
}

/// Generation formats `wd-secrets` knows (`random` needs a length and a charset).
pub const FORMATS: &[&str] = &["random", "rsa-jwk", "ec-p256-pem", "waltid-key", "external"];
/// Character sets of `random` values.
pub const CHARSETS: &[&str] = &["alphanumeric", "lowercase", "hex", "printable"];
/// Shortest random value (config/secrets.yaml follows it: a `length: 0` would write `""`).
pub const MIN_RANDOM_LENGTH: u32 = 8;
/// Longest random value (a bound on what one seed writes).
pub const MAX_RANDOM_LENGTH: u32 = 4096;

/// Why a Vault path or mount would not stay where it says (`None`: it is fine): segments of
/// printable characters, none empty, `.` or `..`, no `/` at either end.
pub fn vault_path_problem(p: &str) -> Option<&'static str> {
    if p.is_empty() {
        return Some("is empty");
    }
    if p.starts_with('/') || p.ends_with('/') {
        return Some("must not start or end with /");
    }
    if p.chars()
        .any(|c| c.is_whitespace() || c.is_control() || "?#%*+".contains(c))
    {
        return Some("has a space, a control character or one of ? # % * +");
    }
    if p.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        return Some("has an empty, . or .. segment");
    }
    None
}

/// A rule of [`SecretPlan::problem`] that a plan breaks: which secret (index, name), which
/// field, and what is wrong with it (the caller adds the file and the fix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanProblem {
    /// `None` for the plan's own fields (`kvMount`).
    pub secret: Option<(usize, String)>,
    pub field: &'static str,
    pub message: String,
}

impl GenerationPolicy {
    /// The field and what is wrong when this policy cannot generate a usable value.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if !FORMATS.contains(&self.format.as_str()) {
            return Some((
                "policy.format",
                format!("{:?} is not one of {}", self.format, FORMATS.join(", ")),
            ));
        }
        if self.format == "random" {
            match self.length {
                Some(l) if (MIN_RANDOM_LENGTH..=MAX_RANDOM_LENGTH).contains(&l) => {}
                other => {
                    return Some((
                        "policy.length",
                        format!(
                            "{} for a random value; use {MIN_RANDOM_LENGTH} to {MAX_RANDOM_LENGTH}",
                            other.map_or("missing".to_string(), |l| l.to_string())
                        ),
                    ))
                }
            }
            if !self
                .charset
                .as_deref()
                .is_some_and(|c| CHARSETS.contains(&c))
            {
                return Some((
                    "policy.charset",
                    format!("{:?}; use one of {}", self.charset, CHARSETS.join(", ")),
                ));
            }
        }
        None
    }
}

impl SecretPlan {
    /// The first rule the plan breaks, if any — the one place these rules live (wd-render
    /// applies them to config/secrets.yaml, wd-secrets to the plan before Vault is asked): every
    /// Vault location inside the mount, keys named and planned once, names unique, and every
    /// generated value non-empty.
    pub fn problem(&self) -> Option<PlanProblem> {
        if let Some(why) = vault_path_problem(&self.kv_mount) {
            return Some(PlanProblem {
                secret: None,
                field: "kvMount",
                message: format!("{:?} {why}", self.kv_mount),
            });
        }
        let mut names = std::collections::HashSet::new();
        let mut keys = std::collections::HashSet::new();
        for (i, s) in self.secrets.iter().enumerate() {
            let at = |field: &'static str, message: String| {
                Some(PlanProblem {
                    secret: Some((i, s.name.clone())),
                    field,
                    message,
                })
            };
            if s.name.trim().is_empty() {
                return at("name", "is empty".into());
            }
            if let Some(why) = vault_path_problem(&s.vault_path) {
                return at("vaultPath", format!("{:?} {why}", s.vault_path));
            }
            if s.vault_key.trim().is_empty() {
                return at("vaultKey", "is empty".into());
            }
            if s.vault_key.contains(['/', '\n']) {
                return at(
                    "vaultKey",
                    format!("{:?} has / or a line break", s.vault_key),
                );
            }
            if !keys.insert((s.vault_path.as_str(), s.vault_key.as_str())) {
                return at(
                    "vaultKey",
                    format!("{}#{} is planned twice", s.vault_path, s.vault_key),
                );
            }
            if !names.insert(s.name.as_str()) {
                return at("name", "is defined twice; names must be unique".into());
            }
            if let Some((field, message)) = s.policy.problem() {
                return at(field, message);
            }
        }
        None
    }
}
