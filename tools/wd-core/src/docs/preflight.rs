//! `PreflightReport` (wd-verify): what would break in a rendered deployment before it is
//! applied: one finding per broken thing, the calls derived from the workloads' configuration,
//! and the capacity figures.

use super::{ApiVersion, Document};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

crate::doc_kind!(PreflightReportKind, "PreflightReport");

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct PreflightReport {
    pub api_version: ApiVersion,
    pub kind: PreflightReportKind,
    /// Scenario whose rules were applied (`waltid`, or a file path).
    pub scenario: String,
    /// No finding has severity `error`.
    pub ok: bool,
    pub summary: PreflightSummary,
    pub findings: Vec<Finding>,
    /// Every call derived from the workloads' configuration and whether it would work.
    pub calls: Vec<CallPath>,
    /// Requests and limits per namespace and in total versus the cluster.
    pub capacity: Vec<CapacityLine>,
}

impl Document for PreflightReport {
    const KIND: &'static str = "PreflightReport";
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PreflightSummary {
    /// Objects read from the manifests.
    pub objects: u32,
    /// Objects of a kind no check reads, by kind (ignored, not an error).
    pub ignored_kinds: BTreeMap<String, u32>,
    pub errors: u32,
    pub warnings: u32,
    /// Findings per check id.
    pub by_check: BTreeMap<String, u32>,
}

pub use super::Severity;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Check id: `call-path`, `references`, `images`, `pod-security`, `capacity`, `rollout`,
    /// `config` (required environment), with a sub-rule after a slash (`call-path/dns`).
    pub check: String,
    pub severity: Severity,
    /// The objects involved (the caller first for call paths).
    pub objects: Vec<ObjectRef>,
    /// What is broken and why it breaks the deployment.
    pub message: String,
    /// What to change.
    pub fix: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    #[serde(rename = "objectKind")]
    pub object_kind: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CallPath {
    /// `Kind/namespace/name` of the caller.
    pub from: String,
    /// The URL or `host:port` as configured.
    pub to: String,
    /// Where it is configured (`env LIBRETRANSLATE_URL`, `ConfigMap x: db.conf jdbcUrl`, `Ingress x`).
    pub source: String,
    /// What the host resolves to (`Service ns/name`, `ingress controller`, `external`, `unresolved`).
    pub resolves_to: String,
    /// The call would work (no error finding about it).
    pub ok: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CapacityLine {
    /// A namespace, or `total`.
    pub scope: String,
    pub cpu_requests_millis: u64,
    pub memory_requests_bytes: u64,
    pub cpu_limits_millis: u64,
    pub memory_limits_bytes: u64,
    /// Allocatable of the cluster (for `total`), 0 for namespaces.
    pub cpu_allocatable_millis: u64,
    pub memory_allocatable_bytes: u64,
}
