//! `RenderPlan`: what wd-render wrote, with checksums and the inputs each file used.

use super::{ApiVersion, Document};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

crate::doc_kind!(RenderPlanKind, "RenderPlan");

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct RenderPlan {
    pub api_version: ApiVersion,
    pub kind: RenderPlanKind,
    pub scenario: String,
    pub flavor: Flavor,
    pub target: DeployTarget,
    pub out_dir: String,
    /// Every input file with its checksum (inventory, values files, templates).
    pub inputs: Vec<InputFile>,
    pub files: Vec<RenderedFile>,
    /// Public URLs the rendered files point at, by role.
    pub urls: Vec<UrlEntry>,
    /// The SecretPlan file among `files`.
    pub secret_plan: String,
    /// Secret values a rendered file needs but does not contain (filled at deploy time).
    pub pending_secrets: Vec<PendingSecret>,
}

/// What a render is for: Kubernetes (charts' values) or docker compose (conf files + env file).
#[derive(
    Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, Default, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    #[default]
    K8s,
    Compose,
}

/// Where a deployment runs: `local` (kind, plain HTTP on *.localtest.me), `onprem` (k3s) or
/// `aws` (EKS); the last two use the production profile.
#[derive(
    Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, Default, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum DeployTarget {
    #[default]
    Local,
    Onprem,
    Aws,
}

impl DeployTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployTarget::Local => "local",
            DeployTarget::Onprem => "onprem",
            DeployTarget::Aws => "aws",
        }
    }
}

impl Flavor {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::K8s => "k8s",
            Flavor::Compose => "compose",
        }
    }
}

impl std::fmt::Display for Flavor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for DeployTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Document for RenderPlan {
    const KIND: &'static str = "RenderPlan";
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InputFile {
    pub path: String,
    pub sha256: String,
    /// `inventory`, `values`, `template`, `secrets`, `scenario`.
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct RenderedFile {
    /// Relative to `outDir`.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    /// Template it came from (relative to the config dir), or `generated` for code-built files.
    pub template: String,
    /// The service or chart it belongs to.
    pub component: String,
    /// Input paths (see `inputs`) this file was rendered from.
    pub inputs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UrlEntry {
    pub role: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PendingSecret {
    pub file: String,
    /// JSON pointer or HOCON path of the field.
    pub field: String,
    /// Logical secret name in the SecretPlan.
    pub secret: String,
    /// How the value reaches the running service.
    pub how: String,
}
