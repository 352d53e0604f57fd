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
