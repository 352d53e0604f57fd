//! The values contract: `config/values.schema.json` (JSON Schema 2020-12), checked with boon.
//!
//! Every layer (a values file, the deploy.sh environment, each `--set`) is checked alone, in
//! precedence order, so the first bad one is named (`--set persistence.redis.enabled=maybe: …`);
//! keys are optional in a layer. The merged values are then checked against `$defs/complete`
//! (what a render needs). Keys of `images` and `slugs` must be components of the scenario (the
//! scenario file is their one home, so the schema does not list them).

use serde_json::Value;
use std::path::{Path, PathBuf};
use wd_core::{WdError, WdResult};

/// The schema's path below the config directory.
pub const SCHEMA_FILE: &str = "values.schema.json";

pub struct ValuesSchema {
    schemas: boon::Schemas,
    layer: boon::SchemaIndex,
    complete: boon::SchemaIndex,
    path: PathBuf,
    components: Vec<String>,
    /// The schema itself, for the `description` of a failing subschema.
    raw: Value,
}

fn pointer_to_dotted(loc: &str) -> String {
    loc.trim_start_matches('/')
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

/// The deepest first cause: the one a user can act on.
fn leaf<'a, 's, 'v>(e: &'a boon::ValidationError<'s, 'v>) -> &'a boon::ValidationError<'s, 'v> {
    let mut cur = e;
    while let Some(c) = cur.causes.first() {
        cur = c;
    }
    cur
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

impl ValuesSchema {
    /// Loads `<config_dir>/values.schema.json`; `components` are the scenario's component names.
    pub fn load(config_dir: &Path, components: Vec<String>) -> WdResult<ValuesSchema> {
        Ok(Self::compile(config_dir)?.with_components(components))
    }

    /// The scenario's component names (the keys `images` and `slugs` may have).
    pub fn with_components(mut self, components: Vec<String>) -> ValuesSchema {
        self.components = components;
        self
    }

    /// Loads and compiles `<config_dir>/values.schema.json` without the scenario's components
    /// (they are set with [`Self::with_components`]): the costly part of a render that does not
    /// depend on the Inventory, so it can run while the Inventory is read ([`crate::preload`]).
    pub fn compile(config_dir: &Path) -> WdResult<ValuesSchema> {
        let path = config_dir.join(SCHEMA_FILE);
        let text = wd_core::fsio::read_text(&path)?;
        let json: Value = serde_json::from_str(&text).map_err(|e| {
            WdError::input(format!(
                "{}:{}:{}: invalid JSON ({e}); fix the schema",
                path.display(),
                e.line(),
                e.column()
            ))
        })?;
        let url = "urn:wd:values.schema.json";
        let bad = |e: &dyn std::fmt::Display| {
            WdError::input(format!(
                "{}: not a valid JSON Schema ({e}); fix the schema",
                path.display()
            ))
        };
        let mut compiler = boon::Compiler::new();
        compiler.enable_format_assertions();
        compiler
            .add_resource(url, json.clone())
            .map_err(|e| bad(&e))?;
        let mut schemas = boon::Schemas::new();
        let layer = compiler.compile(url, &mut schemas).map_err(|e| bad(&e))?;
        let complete = compiler
            .compile(&format!("{url}#/$defs/complete"), &mut schemas)
            .map_err(|e| bad(&e))?;
        Ok(ValuesSchema {
            schemas,
            layer,
            complete,
            path,
            components: Vec::new(),
            raw: json,
        })
    }

    /// Checks one layer; `source` names it in the error (a file, `--set k=v`, the environment).
    pub fn check_layer(&self, v: &Value, source: &str) -> WdResult<()> {
        self.check_components(v, source)?;
        if let Some(f) = v.get("flavor").and_then(Value::as_object) {
            for section in f.values() {
                self.check_components(section, source)?;
            }
        }
        self.check(v, self.layer, source)
    }

    /// Checks the merged values: every layer was fine alone, the whole must be complete.
    pub fn check_merged(&self, v: &Value) -> WdResult<()> {
        self.check(v, self.complete, "the merged values")?;
        self.check_components(v, "the merged values")
    }

    fn check(&self, v: &Value, idx: boon::SchemaIndex, source: &str) -> WdResult<()> {
        let Err(e) = self.schemas.validate(v, idx) else {
            return Ok(());
        };
        let l = leaf(&e);
        let loc = pointer_to_dotted(&l.instance_location.to_string());
        let at = |extra: &str| match (loc.is_empty(), extra.is_empty()) {
            (true, true) => "(top level)".to_string(),
            (true, false) => extra.to_string(),
            (false, true) => loc.clone(),
            (false, false) => format!("{loc}.{extra}"),
        };
        let (place, what) = match &l.kind {
            boon::ErrorKind::AdditionalProperties { got } => {
                let k = got.first().map(|k| k.to_string()).unwrap_or_default();
                (at(&k), "unknown key (a typo?)".to_string())
            }
            // unevaluatedProperties: false checks each unknown key against the false schema.
            boon::ErrorKind::FalseSchema => (at(""), "unknown key (a typo?)".to_string()),
            boon::ErrorKind::Pattern { .. }
            | boon::ErrorKind::Format { .. }
            | boon::ErrorKind::MinLength { .. }
            | boon::ErrorKind::MaxLength { .. }
                if self.description(l.schema_url).is_some() =>
            {
                let got = v
                    .pointer(&l.instance_location.to_string())
                    .map(short)
                    .unwrap_or_default();
                let want = self.description(l.schema_url).unwrap_or_default();
                (at(""), format!("{got} is not {want}"))
            }
            boon::ErrorKind::Required { want } => (at(""), format!("missing {}", want.join(", "))),
            kind => {
                let got = v
                    .pointer(&l.instance_location.to_string())
                    .map(|x| format!(" (got {})", short(x)))
                    .unwrap_or_default();
                (at(""), format!("{kind}{got}"))
            }
        };
        Err(WdError::input(format!(
            "{source}: {place}: {what}; allowed keys and types: {}",
            self.path.display()
        )))
    }

    /// The description of the subschema a keyword location is in (or of the nearest enclosing
    /// property), e.g. "a hostname (e.g. example.org) or an IP address".
    fn description(&self, schema_url: &str) -> Option<String> {
        // boon percent-encodes the fragment ($defs is %24defs)
        let frag = schema_url
            .split_once('#')
            .map(|(_, f)| f)
            .unwrap_or("")
            .replace("%24", "$");
        let mut tokens: Vec<&str> = frag.split('/').filter(|t| !t.is_empty()).collect();
        while tokens.len() > 2 {
            // (the root and $defs/layer describe the whole file, not a value)
            let ptr = format!("/{}", tokens.join("/"));
            if let Some(d) = self.raw.pointer(&ptr).and_then(|s| s.get("description")) {
                return d.as_str().map(str::to_string);
            }
            tokens.pop();
        }
        None
    }

    fn check_components(&self, v: &Value, source: &str) -> WdResult<()> {
        for map in ["images", "slugs"] {
            if let Some(o) = v.get(map).and_then(Value::as_object) {
                if let Some(k) = o.keys().find(|k| !self.components.contains(k)) {
                    return Err(WdError::input(format!(
                        "{source}: {map}.{k}: not a component of the scenario; use one of {}",
                        self.components.join(", ")
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> ValuesSchema {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        ValuesSchema::load(&dir, vec!["issuer".into(), "app".into()]).unwrap()
    }

    #[test]
    fn names_the_layer_the_key_and_the_problem() {
        let s = schema();
        let e = s
            .check_layer(
                &json!({"persistence": {"redis": {"enabled": "maybe"}}}),
                "--set persistence.redis.enabled=maybe",
            )
            .unwrap_err();
        assert!(e.message.starts_with("--set persistence.redis.enabled=maybe: persistence.redis.enabled: want boolean, but got string"), "{e}");
        let e = s
            .check_layer(&json!({"wallet": {"tokenLifetimeDayz": 3}}), "x.yaml")
            .unwrap_err();
        assert!(
            e.message
                .starts_with("x.yaml: wallet.tokenLifetimeDayz: unknown key"),
            "{e}"
        );
        let e = s
            .check_layer(
                &json!({"images": {"isuer": {"tag": "1"}}}),
                "--set images.isuer.tag=1",
            )
            .unwrap_err();
        assert!(
            e.message
                .contains("images.isuer: not a component of the scenario; use one of issuer, app"),
            "{e}"
        );
        let e = s
            .check_layer(&json!({"domain": "a b/c"}), "--set domain=a b/c")
            .unwrap_err();
        assert!(
            e.message.starts_with(
                "--set domain=a b/c: domain: \"a b/c\" is not a hostname such as example.org"
            ),
            "{e}"
        );
        let e = s
            .check_layer(&json!({"bogus": 1}), "--set bogus=1")
            .unwrap_err();
        assert!(
            e.message.starts_with("--set bogus=1: bogus: unknown key"),
            "{e}"
        );
        let e = s
            .check_layer(&json!({"flavor": {"k8s": {"tsl": true}}}), "v.yaml")
            .unwrap_err();
        assert!(
            e.message.starts_with("v.yaml: flavor.k8s.tsl: unknown key"),
            "{e}"
        );
        assert!(s.check_layer(&json!({"domain": ""}), "--set").is_err());
        assert!(s
            .check_layer(
                &json!({"domain": "example.org", "images": {"issuer": {"tag": "1.2"}}}),
                "--set"
            )
            .is_ok());
        let e = s
            .check_merged(&json!({"domain": "example.org"}))
            .unwrap_err();
        assert!(
            e.message
                .contains("the merged values: (top level): missing"),
            "{e}"
        );
    }
}
