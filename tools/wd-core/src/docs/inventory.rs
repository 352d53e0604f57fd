//! `Inventory`: wd-inventory's audit of a compose project (what runs, with what image,
//! env, mounts, ports, dependencies, health checks and state).

use super::{ApiVersion, Document};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

crate::doc_kind!(InventoryKind, "Inventory");

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    pub api_version: ApiVersion,
    pub kind: InventoryKind,
    /// Compose project name (top-level `name`, else the first file's directory name).
    pub project: String,
    pub sources: Sources,
    pub services: Vec<Service>,
    /// Top-level named volumes that a selected service uses.
    pub volumes: Vec<NamedVolume>,
    pub variables: Variables,
    /// Problems `--check` fails on (unpinned images, secrets with inline defaults).
    pub findings: Vec<Finding>,
    /// True when secret values are redacted (the default; `--show-secrets` turns it off).
    pub redacted: bool,
}

impl Document for Inventory {
    const KIND: &'static str = "Inventory";
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct Sources {
    /// Compose files in merge order (later override earlier), as given.
    pub compose_files: Vec<String>,
    /// The env file used for interpolation (`.env` beside the first compose file, else `.env.example`).
    pub env_file: Option<String>,
    /// The `.env.example` checked for documented variables, when one exists.
    pub env_example: Option<String>,
    /// Scenario whose service set was selected, if any.
    pub scenario: Option<String>,
    /// Active profiles (from `--profile`, else `COMPOSE_PROFILES`).
    pub profiles: Vec<String>,
    /// How services were selected: `scenario`, `services`, `all` or `profiles`.
    pub selection: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub name: String,
    pub image: Option<Image>,
    pub build: Option<Build>,
    pub profiles: Vec<String>,
    pub container_name: Option<String>,
    pub user: Option<String>,
    pub restart: Option<String>,
    /// Exec form of `command` (a string is split like a shell would, without expansion).
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub env: Vec<EnvVar>,
    pub env_files: Vec<EnvFileRef>,
    pub mounts: Vec<Mount>,
    pub ports: Vec<Port>,
    pub depends_on: Vec<Dependency>,
    pub healthcheck: Option<Healthcheck>,
    pub extra_hosts: Vec<String>,
    pub networks: Vec<NetworkAttachment>,
    /// Where this service keeps state (named volumes and writable binds).
    pub state: Vec<StateEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// The expression as written, before interpolation.
    pub raw: String,
    /// After interpolation.
    pub reference: String,
    /// Registry/namespace/name, without tag or digest.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
    /// A digest, or a tag that is not a moving one.
    pub pinned: bool,
    /// Why it is not pinned (`no tag`, `moving tag "latest"`), when it is not.
    pub unpinned_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct Build {
    pub context: String,
    pub dockerfile: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    pub name: String,
    /// The expression as written (`${DB_PASSWORD:-waltid}`), or null for a bare `KEY` taken from the environment.
    pub raw: Option<String>,
    /// Where the variable is set: `environment` or `env_file:<path>`.
    pub origin: EnvOrigin,
    /// Variables the expression references, with where each is defined.
    pub references: Vec<VarRef>,
    /// The resolved value; null when redacted (see `redacted`) or unset.
    pub value: Option<String>,
    pub redacted: bool,
    /// Why this is a secret, when it is one.
    pub secret: Option<SecretReason>,
    /// A non-empty default written inline in the compose file (`${X:-default}`), when the variable is a secret.
    pub inline_secret_default: bool,
}

/// Where an environment variable of a service is set: the `environment` section, or an
/// `env_file` (written `env_file:<path>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum EnvOrigin {
    #[default]
    Environment,
    EnvFile(String),
}

impl std::fmt::Display for EnvOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvOrigin::Environment => f.write_str("environment"),
            EnvOrigin::EnvFile(p) => write!(f, "env_file:{p}"),
        }
    }
}

impl std::str::FromStr for EnvOrigin {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "environment" => Ok(EnvOrigin::Environment),
            _ => match s.strip_prefix("env_file:") {
                Some(p) if !p.is_empty() => Ok(EnvOrigin::EnvFile(p.to_string())),
                _ => Err(format!(
                    "origin {s:?}: expected \"environment\" or \"env_file:<path>\""
                )),
            },
        }
    }
}

impl Serialize for EnvOrigin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EnvOrigin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for EnvOrigin {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EnvOrigin".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`environment`, or `env_file:<path>` for a variable from an env_file.",
            "type": "string",
            "pattern": "^(environment|env_file:.+)$"
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VarRef {
    pub name: String,
    /// Defined in the env file used for interpolation.
    pub in_env_file: bool,
    /// Documented in `.env.example`.
    pub in_env_example: bool,
    /// Set in the process environment (which overrides the env file).
    pub in_process_env: bool,
    /// The expression carries a default (`:-`/`-`) or alternative (`:+`/`+`).
    pub has_default: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SecretReason {
    /// `known` (a well-known secret name, wd-inventory's secrets.rs table), `name-rule` (the name
    /// looks like a credential: a word or suffix) or `value-rule` (the value carries one: URL
    /// userinfo, `password=`, a Bearer/Basic header, a password flag on a command line).
    pub rule: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct EnvFileRef {
    pub path: String,
    pub required: bool,
    pub exists: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    Bind,
    Volume,
    Tmpfs,
    Npipe,
    Image,
    Cluster,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Mount {
    #[serde(rename = "type")]
    pub kind: MountType,
    /// As written (after interpolation); null for anonymous volumes and tmpfs.
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    /// For binds: the source resolved against the compose file's directory.
    pub resolved_source: Option<String>,
    /// For binds: what is at the source now.
    pub bind: Option<BindSource>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PathKind {
    File,
    Dir,
    Missing,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BindSource {
    pub exists: bool,
    pub path_kind: PathKind,
    /// Files at the source (a directory is listed recursively, up to `truncated`).
    pub files: Vec<FileSummary>,
    /// True when the listing was cut (more than 200 files or deeper than 6 levels).
    pub truncated: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    Hocon,
    Json,
    Toml,
    Yaml,
    Sql,
    Script,
    Certificate,
    PrivateKey,
    Keystore,
    Caddyfile,
    Hcl,
    Env,
    Text,
    Binary,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileSummary {
    /// Path relative to the bind source (the file name for a single-file bind).
    pub path: String,
    pub kind: FileKind,
    pub bytes: u64,
    /// Whether the file holds secret material (a private key, a keystore, a literal secret field).
    pub carries_secrets: bool,
    /// Where: field names or `private key block` (never values).
    pub secret_fields: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Port {
    /// As written, e.g. `"127.0.0.1:${PORT:-80}:80/udp"`, or `long syntax`.
    pub raw: String,
    /// Host port or range; null when only the container port is given.
    pub published: Option<String>,
    /// Container port or range.
    pub target: String,
    pub protocol: String,
    pub host_ip: Option<String>,
    pub mode: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    pub service: String,
    /// `service_started` (the default), `service_healthy` or `service_completed_successfully`.
    pub condition: String,
    pub required: bool,
    pub restart: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Healthcheck {
    /// `CMD`, `CMD-SHELL` or `NONE` and its arguments, normalised to a list.
    pub test: Vec<String>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub retries: Option<u64>,
    pub start_period: Option<String>,
    pub start_interval: Option<String>,
    pub disabled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkAttachment {
    pub name: String,
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateEntry {
    /// `volume` or `bind`.
    #[serde(rename = "type")]
    pub kind: MountType,
    pub source: Option<String>,
    pub target: String,
    /// What the path holds, when known (e.g. `PostgreSQL data directory`).
    pub holds: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct NamedVolume {
    pub name: String,
    pub external: bool,
    pub driver: Option<String>,
    pub used_by: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct Variables {
    /// Every variable the selected services reference, sorted.
    pub referenced: Vec<String>,
    /// Referenced, without a default, and not documented in `.env.example`.
    pub missing_from_env_example: Vec<String>,
    /// Defined in the env file or `.env.example` and used nowhere (no interpolation, no env_file
    /// of a selected service, no mounted config file).
    pub defined_but_unused: Vec<String>,
    /// Referenced, without a default, and set nowhere (compose substitutes an empty string).
    pub unset: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// `unpinned-image`, `inline-secret-default`, `inline-secret`, `secret-in-mounted-file`,
    /// `unset-variable`, `missing-env-file`, `missing-bind-source` (one per source, listing its
    /// services), `special-bind-source` (a FIFO/socket/device, not read),
    /// `unreadable-mounted-file`, `unscanned-mounted-file` (over the scan limit),
    /// `dependency-not-selected`.
    pub code: String,
    /// `error` findings fail `--check`; `warning` ones are reported only.
    pub severity: super::Severity,
    pub service: Option<String>,
    pub message: String,
}
