//! Documents of the Vault tools: `SecretsReport` (wd-secrets seed/check/rotate),
//! `VaultCluster` (wd-secrets init), `VaultPolicies` (wd-secrets policies), `TransitKeys`,
//! `TransitSignature` and `TransitKeyRef` (wd-transit). None carries a secret value unless the
//! user passed `--show-secrets` (then `VaultCluster.secrets` / `TransitKeyRef` hold it).

use super::{ApiVersion, Document};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

crate::doc_kind!(SecretsReportKind, "SecretsReport");
crate::doc_kind!(VaultClusterKind, "VaultCluster");
crate::doc_kind!(VaultPoliciesKind, "VaultPolicies");
crate::doc_kind!(TransitKeysKind, "TransitKeys");
crate::doc_kind!(TransitSignatureKind, "TransitSignature");
crate::doc_kind!(TransitKeyRefKind, "TransitKeyRef");
crate::doc_kind!(SecretPlacementKind, "SecretPlacement");

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct SecretsReport {
    pub api_version: ApiVersion,
    pub kind: SecretsReportKind,
    /// `seed`, `check` or `rotate`.
    pub action: String,
    pub vault_addr: String,
    pub items: Vec<SecretItem>,
    /// One per problem found (`check`), each naming the secret, the key and the fix.
    pub problems: Vec<Problem>,
    /// `checked`, `skipped (…)` or `not asked` for the Kubernetes half of `check`.
    pub cluster: String,
}

impl Document for SecretsReport {
    const KIND: &'static str = "SecretsReport";
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SecretItem {
    pub secret: String,
    /// `<kvMount>/<path>`.
    pub path: String,
    pub key: String,
    pub k8s_secret: String,
    /// seed: `created` / `kept`; check: `ok` / `missing`; rotate: `rotated`.
    pub status: String,
    /// KV version the key is in after the action.
    pub version: Option<u64>,
    /// rotate: workloads to restart.
    pub restart: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub secret: String,
    pub key: String,
    pub message: String,
    /// The command that fixes it.
    pub fix: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct VaultCluster {
    pub api_version: ApiVersion,
    pub kind: VaultClusterKind,
    /// True when this run initialised the cluster (false: it was, and was only unsealed).
    pub initialized_now: bool,
    pub nodes: Vec<VaultNode>,
    /// Raft peers seen by the leader (node id, address).
    pub raft_peers: Vec<String>,
    /// Where the unseal keys and root token are (mode 0600), or the Kubernetes Secret.
    pub keys_stored_in: Vec<String>,
    /// Unseal keys and root token: only with `--show-secrets`.
    pub secrets: Option<serde_json::Value>,
}

impl Document for VaultCluster {
    const KIND: &'static str = "VaultCluster";
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VaultNode {
    pub addr: String,
    pub initialized: bool,
    pub sealed: bool,
    pub version: String,
    /// `initialized`, `joined`, `unsealed`, `already unsealed`.
    pub action: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct VaultPolicies {
    pub api_version: ApiVersion,
    pub kind: VaultPoliciesKind,
    pub policies: Vec<PolicyDoc>,
    pub roles: Vec<K8sRole>,
    /// Whether `--apply` wrote them to Vault.
    pub applied: bool,
}

impl Document for VaultPolicies {
    const KIND: &'static str = "VaultPolicies";
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDoc {
    pub name: String,
    pub consumer: String,
    pub hcl: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct K8sRole {
    pub name: String,
    pub mount: String,
    pub service_accounts: Vec<String>,
    pub namespaces: Vec<String>,
    pub policies: Vec<String>,
    /// `applied`, `not applied`, or `skipped (…)`.
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct TransitKeys {
    pub api_version: ApiVersion,
    pub kind: TransitKeysKind,
    pub mount: String,
    pub keys: Vec<TransitKey>,
}

impl Document for TransitKeys {
    const KIND: &'static str = "TransitKeys";
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TransitKey {
    pub name: String,
    #[serde(rename = "type")]
    pub key_type: String,
    pub latest_version: u64,
    pub min_decryption_version: u64,
    pub min_encryption_version: u64,
    pub versions: Vec<u64>,
    pub exportable: bool,
    pub deletion_allowed: bool,
    /// `created`, `kept`, `rotated`, `configured` or `read`.
    pub action: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct TransitSignature {
    pub api_version: ApiVersion,
    pub kind: TransitSignatureKind,
    pub key: String,
    /// The signed input, base64.
    pub input: String,
    /// `vault:v<N>:<base64>`.
    pub signature: String,
    /// verify: whether the signature is valid.
    pub valid: Option<bool>,
}

impl Document for TransitSignature {
    const KIND: &'static str = "TransitSignature";
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct TransitKeyRef {
    pub api_version: ApiVersion,
    pub kind: TransitKeyRefKind,
    pub key: String,
    /// walt.id's TSE key reference (`{type: tse, server, auth: {accessKey}, id, _keyType}`,
    /// waltid-crypto TSEKey/TSEAuth at v0.18.2); `accessKey` is an env reference or `<redacted>`
    /// unless `--show-secrets`.
    pub reference: serde_json::Value,
    /// `did:jwk` of the key's public key (the version walt.id 0.18.2 reads: 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did: Option<String>,
    /// The public JWK the DID encodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_jwk: Option<serde_json::Value>,
    /// `wd-transit token`: the limited token in the reference (never its value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TransitToken>,
}

/// The limited Vault token of a walt.id key reference: what it may do and where it is kept.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TransitToken {
    /// The only policy the token carries (no `default` policy).
    pub policy: String,
    /// Token accessor (audit log, `bao token revoke -accessor`); not a credential.
    pub accessor: String,
    /// Renewal period in seconds: the token expires unless renewed within it.
    pub period: u64,
    /// Seconds left before it must be renewed.
    pub ttl: u64,
    /// `issued`, `renewed` (the stored token was live) or `reissued` (the stored one was dead).
    pub action: String,
    /// `<kv mount>/<path>` the reference and DID were written to; empty when not stored.
    pub stored_at: String,
    /// Accessor of the token the store held before (`issued` over a live one: revoke it once
    /// the pods read the new one); empty otherwise.
    pub previous_accessor: String,
}

impl Document for TransitKeyRef {
    const KIND: &'static str = "TransitKeyRef";
}

/// `wd-secrets plan --store … / --dynamic-db`: where each planned secret lives (issue 16: an
/// external store for the static secrets, dynamic database credentials). No value inside.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct SecretPlacement {
    pub api_version: ApiVersion,
    pub kind: SecretPlacementKind,
    pub scenario: String,
    pub kv_mount: String,
    /// The Vault this placement is for: `single`, `external` or `in-cluster`.
    pub store: String,
    pub secrets: Vec<PlacedSecret>,
}

impl Document for SecretPlacement {
    const KIND: &'static str = "SecretPlacement";
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PlacedSecret {
    pub name: String,
    pub vault_path: String,
    pub vault_key: String,
    pub k8s_secret: String,
    /// `single` (the one Vault), `external` (the Vault outside the cluster), `in-cluster` (issued
    /// or used by the cluster's Vault) or `dynamic` (a lease of the database engine, in no KV).
    pub home: String,
    /// Whether `wd-secrets seed` on this Vault writes it.
    pub seeded_here: bool,
    /// Whether it is still there after `k8s-deploy.sh reset` + `up`.
    pub survives_reset: bool,
    pub why: String,
}
