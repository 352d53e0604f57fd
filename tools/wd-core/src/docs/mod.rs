//! The wd/v1 documents passed between tools.
//!
//! Every document is a JSON object with `apiVersion: "wd/v1"` and a `kind`. Field names are
//! camelCase and stable; a new optional field may be added within v1, nothing is renamed or
//! removed. So readers accept and ignore fields they do not know (no `deny_unknown_fields`
//! here, no `additionalProperties: false` in the schemas): a document from a newer v1 producer
//! still reads. A different `apiVersion` (`wd/v2`) is refused by [`parse`] with exit 2 and one
//! line saying which version this release reads. The JSON Schemas in `docs/schemas/` are
//! generated from these types (`make schemas`; a test fails when they are stale).

pub mod cluster;
pub mod config_audit;
pub mod inventory;
pub mod loadtest;
pub mod preflight;
pub mod pretty;
pub mod render_plan;
pub mod secret_plan;
pub mod vault;
mod views;

use crate::error::{WdError, WdResult};
use schemars::JsonSchema;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// The only API version of this release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum ApiVersion {
    #[default]
    #[serde(rename = "wd/v1")]
    V1,
}

/// How bad a finding is: `error` fails the check (exit 1), `warning` is reported only.
#[derive(
    Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Declares a one-variant enum used as a document's `kind` field, so a wrong kind is
/// rejected by deserialisation and appears as a constant in the schema.
#[macro_export]
macro_rules! doc_kind {
    ($name:ident, $kind:literal) => {
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Default,
            serde::Serialize,
            serde::Deserialize,
            schemars::JsonSchema,
        )]
        pub enum $name {
            #[default]
            #[serde(rename = $kind)]
            Kind,
        }
    };
}

/// Implemented by every wd/v1 document.
pub trait Document: Serialize + DeserializeOwned + JsonSchema {
    /// The value of `kind`.
    const KIND: &'static str;
}

/// Parses a document, checking `apiVersion` and `kind` first so the error says what was
/// expected (e.g. a RenderPlan piped where an Inventory belongs).
pub fn parse<T: Document>(text: &str, source: &str) -> WdResult<T> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        WdError::input(format!(
            "{source}:{}:{}: invalid JSON ({}); pipe the output of the producing wd tool",
            e.line(),
            e.column(),
            strip_position(&e.to_string())
        ))
    })?;
    let api = v.get("apiVersion").and_then(|a| a.as_str());
    if api != Some("wd/v1") {
        return Err(WdError::input(format!(
            "{source}: apiVersion is {}, expected \"wd/v1\"; pipe a {} document from a wd tool of this release",
            api.map(|a| format!("{a:?}")).unwrap_or_else(|| "missing".into()),
            T::KIND
        )));
    }
    let kind = v.get("kind").and_then(|k| k.as_str());
    if kind != Some(T::KIND) {
        return Err(WdError::input(format!(
            "{source}: kind is {}, expected \"{}\"",
            kind.map(|k| format!("{k:?}"))
                .unwrap_or_else(|| "missing".into()),
            T::KIND
        )));
    }
    serde_json::from_value(v).map_err(|e| {
        WdError::input(format!(
            "{source}: not a valid {} document ({e}); regenerate it with this release",
            T::KIND
        ))
    })
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// A document from `path`, or from stdin when there is none: (document, its text, its name for
/// messages). A terminal on stdin is refused with `hint` (what to pipe or pass instead).
pub fn read_input<T: Document>(
    path: Option<&std::path::Path>,
    hint: &str,
) -> WdResult<(T, String, String)> {
    use std::io::IsTerminal;
    let (text, name) = match path {
        Some(p) => (crate::fsio::read_text(p)?, p.display().to_string()),
        None => {
            if std::io::stdin().is_terminal() {
                return Err(WdError::input(format!("no {} on stdin; {hint}", T::KIND)));
            }
            (crate::fsio::read_stdin()?, "<stdin>".to_string())
        }
    };
    let doc = parse(&text, &name)?;
    Ok((doc, text, name))
}

/// Pretty JSON with a trailing newline: the stable wire form.
pub fn to_json<T: Serialize>(doc: &T) -> String {
    let mut s = pretty::to_string(doc).expect("documents always serialise");
    s.push('\n');
    s
}

/// Every document kind with its JSON Schema, for `docs/schemas/`.
pub fn all_schemas() -> Vec<(&'static str, serde_json::Value)> {
    fn one<T: Document>() -> (&'static str, serde_json::Value) {
        let mut schema = serde_json::to_value(schemars::schema_for!(T)).expect("schema serialises");
        if let Some(o) = schema.as_object_mut() {
            o.insert("$id".into(), format!("urn:wd:v1:{}", T::KIND).into());
        }
        (T::KIND, schema)
    }
    vec![
        one::<inventory::Inventory>(),
        one::<config_audit::ConfigAudit>(),
        one::<render_plan::RenderPlan>(),
        one::<secret_plan::SecretPlan>(),
        one::<vault::SecretsReport>(),
        one::<vault::VaultCluster>(),
        one::<vault::VaultPolicies>(),
        one::<vault::TransitKeys>(),
        one::<vault::TransitSignature>(),
        one::<vault::TransitKeyRef>(),
        one::<vault::SecretPlacement>(),
        one::<cluster::WaitReport>(),
        one::<cluster::UrlList>(),
        one::<preflight::PreflightReport>(),
        one::<loadtest::LoadReport>(),
        one::<loadtest::LoadComparison>(),
    ]
}
