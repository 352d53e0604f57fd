//! Documents of the cluster tools: `WaitReport` (wd-wait) and `UrlList` (wd-urls).

use super::{ApiVersion, Document};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

crate::doc_kind!(WaitReportKind, "WaitReport");
crate::doc_kind!(UrlListKind, "UrlList");

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct WaitReport {
    pub api_version: ApiVersion,
    pub kind: WaitReportKind,
    /// Every object became ready.
    pub ready: bool,
    pub timed_out: bool,
    /// When the wait started (Unix epoch, ms), so `readyAfterMs` can be set against other clocks.
    pub started_at_unix_ms: u64,
    pub elapsed_ms: u64,
    pub objects: Vec<WaitObject>,
}

impl Document for WaitReport {
    const KIND: &'static str = "WaitReport";
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WaitObject {
    #[serde(rename = "objectKind")]
    pub object_kind: String,
    pub namespace: String,
    pub name: String,
    pub state: WaitState,
    /// What the object says about itself (e.g. `2/3 replicas available`).
    pub message: String,
    /// When it became ready, from the start of the wait.
    pub ready_after_ms: Option<u64>,
    /// Why it is not ready: one line per finding (CrashLoopBackOff, image pull, scheduling, …).
    pub diagnosis: Vec<String>,
    /// The last log lines of a crashing container.
    pub logs: Vec<String>,
}

/// Where an object stands at the end of a wait.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum WaitState {
    Ready,
    /// It will not become ready by waiting (a failed Job, a stuck rollout).
    Failed,
    #[default]
    Pending,
    /// A named object that does not exist.
    Missing,
}

impl WaitState {
    pub fn as_str(self) -> &'static str {
        match self {
            WaitState::Ready => "ready",
            WaitState::Failed => "failed",
            WaitState::Pending => "pending",
            WaitState::Missing => "missing",
        }
    }
}

impl std::fmt::Display for WaitState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct UrlList {
    pub api_version: ApiVersion,
    pub kind: UrlListKind,
    /// `cluster` or `render-plan`.
    pub source: String,
    pub urls: Vec<UrlItem>,
}

impl Document for UrlList {
    const KIND: &'static str = "UrlList";
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UrlItem {
    /// What it is (`walt.id issuer API`, `Keycloak admin`, `Grafana`, …).
    pub what: String,
    pub url: String,
    /// How to log in: user and where the password is (or the password with --show-secrets).
    pub login: Option<String>,
}
