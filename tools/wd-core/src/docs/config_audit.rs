//! `ConfigAudit`: every field of the walt.id HOCON config files mounted into the selected
//! services, classified, with the environment variables it substitutes.

use super::{ApiVersion, Document};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

crate::doc_kind!(ConfigAuditKind, "ConfigAudit");

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct ConfigAudit {
    pub api_version: ApiVersion,
    pub kind: ConfigAuditKind,
    pub project: String,
    pub services: Vec<ConfigService>,
    /// True when secret field values are redacted (the default).
    pub redacted: bool,
}

impl Document for ConfigAudit {
    const KIND: &'static str = "ConfigAudit";
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct ConfigService {
    pub service: String,
    /// Container path the config directory is mounted at (e.g. `/waltid-wallet-api/config`).
    pub mount_target: String,
    /// The bind source on this machine.
    pub source: String,
    pub files: Vec<ConfigFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct ConfigFile {
    pub file: String,
    /// Whether walt.id 0.18.2 reads this file: `always`, `feature-enabled`, `feature-disabled`
    /// (a `<feature>.conf` whose feature is off in `_features.conf`) or `unknown`.
    pub reads: String,
    pub fields: Vec<ConfigField>,
}

#[derive(
    Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "kebab-case")]
pub enum FieldClass {
    /// A URL that differs per environment (public base URLs, token claims).
    Url,
    /// A database connection string.
    Dsn,
    /// A credential or key.
    Secret,
    /// Differs per environment but is not a URL (ports, hosts taken from env).
    Environment,
    /// The same everywhere.
    Static,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigField {
    /// Dotted path, e.g. `dataSource.jdbcUrl`.
    pub path: String,
    pub line: usize,
    pub class: FieldClass,
    /// The value as written; null when redacted (secret fields with a literal value).
    pub raw: Option<String>,
    /// Environment variables substituted into the value.
    pub env_vars: Vec<String>,
    /// `env-in-string` (walt.id substitutes `${VAR}` inside quotes), `hocon` (unquoted
    /// `${X}`: HOCON substitution, fails if unset) or `none`.
    pub substitution: String,
    /// A secret written literally into the file (should become an env reference).
    pub literal_secret: bool,
}
