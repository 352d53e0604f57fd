//! Values: YAML files deep-merged in order, `--set key.path=value`, the deploy.sh environment.

use serde_json::{Map, Value};
use std::path::Path;
use wd_core::{WdError, WdResult};

/// Largest values file read (a values file is a few KiB; this bounds a wrong path's cost).
pub const MAX_VALUES_BYTES: u64 = 4 << 20;

/// Reads a YAML values file into JSON; the error names file:line:col.
pub fn load(path: &Path) -> WdResult<Value> {
    if let Ok(m) = std::fs::metadata(path) {
        if m.is_file() && m.len() > MAX_VALUES_BYTES {
            return Err(WdError::input(format!(
                "{}: {} bytes is more than the {} MiB a values file may have; pass the right file",
                path.display(),
                m.len(),
                MAX_VALUES_BYTES >> 20
            )));
        }
    }
    let text = wd_core::fsio::read_text(path)?;
    let v = wd_core::yaml::parse_value(&text, &path.display().to_string())?;
    let json: Value = serde_json::to_value(&v).map_err(|e| {
        WdError::input(format!(
            "{}: {e}; values must be plain YAML",
            path.display()
        ))
    })?;
    match json {
        Value::Object(_) => Ok(json),
        Value::Null => Ok(Value::Object(Map::new())),
        _ => Err(WdError::input(format!(
            "{}: values must be a mapping at the top level",
            path.display()
        ))),
    }
}

/// Deep merge: objects merge key by key; anything else is replaced by `over`.
pub fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(bv) if bv.is_object() && v.is_object() => merge(bv, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// `--set a.b.c=value` (YAML-typed: `true`, `3`, `[a, b]`) or, with `string`, `--set-string`
/// (the text as is): the key path and the value. Both flags take the same key paths.
pub fn parse_set(expr: &str, string: bool) -> WdResult<(String, Value)> {
    let flag = if string { "--set-string" } else { "--set" };
    let (path, raw) = expr
        .split_once('=')
        .ok_or_else(|| WdError::input(format!("{flag} {expr}: expected key.path=value")))?;
    if path.is_empty() || path.split('.').any(|s| s.trim().is_empty()) {
        return Err(WdError::input(format!(
            "{flag} {expr}: empty key segment; write e.g. {flag} persistence.redis.enabled=true"
        )));
    }
    if string || raw.is_empty() {
        return Ok((path.to_string(), Value::String(raw.to_string())));
    }
    let parsed = serde_norway::from_str::<serde_norway::Value>(raw)
        .ok()
        .and_then(|v| serde_json::to_value(v).ok());
    let v = match parsed {
        Some(v) => v,
        // A flow list or map that does not parse is a mistake, not a string.
        None if raw.trim_start().starts_with(['[', '{']) => {
            return Err(WdError::input(format!(
                "{flag} {expr}: {raw:?} is not a valid YAML list or map; close it (e.g. [a, b]) or use --set-string for text"
            )))
        }
        None => Value::String(raw.to_string()),
    };
    Ok((path.to_string(), v))
}

/// The layer one `--set` makes: `{a: {b: {c: value}}}`.
pub fn set_layer(path: &str, v: &Value) -> Value {
    let mut layer = Value::Object(Map::new());
    set_path(&mut layer, path, v.clone());
    layer
}

/// Parses and applies one `--set`/`--set-string` (see [`parse_set`]).
pub fn apply_set(values: &mut Value, expr: &str) -> WdResult<()> {
    let (path, v) = parse_set(expr, false)?;
    set_path(values, &path, v);
    Ok(())
}

pub fn set_path(values: &mut Value, path: &str, v: Value) {
    let parts: Vec<&str> = path.split('.').collect();
    set_path_parts(values, &parts, v)
}

/// [`set_path`] with the path already split (a part may hold dots).
pub fn set_path_parts(values: &mut Value, parts: &[&str], v: Value) {
    let mut cur = values;
    for (i, p) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let obj = cur.as_object_mut().expect("just made an object");
        if i == parts.len() - 1 {
            obj.insert(p.to_string(), v);
            return;
        }
        cur = obj
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// A list of strings at `path` (missing or not a list: empty; non-strings are skipped).
pub fn strings(values: &Value, path: &str) -> Vec<String> {
    get(values, path)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub fn get<'v>(values: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(values, |cur, p| cur.get(p))
}

/// deploy.sh's URL environment (waltid-facts §5): VERIFIABLY_PUBLIC_HOST, VERIFIABLY_HOSTS_PATTERN,
/// VERIFIABLY_SLUG_<UPPER_SNAKE of the default slug>.
pub fn apply_deploy_env(
    values: &mut Value,
    env: &dyn Fn(&str) -> Option<String>,
    slugs: &[(String, String)],
) {
    if let Some(h) = env("VERIFIABLY_PUBLIC_HOST").filter(|h| !h.is_empty()) {
        set_path(values, "publicHost", Value::String(h));
    }
    if let Some(p) = env("VERIFIABLY_HOSTS_PATTERN").filter(|p| !p.is_empty()) {
        set_path(values, "hostsPattern", Value::String(p));
    }
    for (component, slug) in slugs {
        let var = format!(
            "VERIFIABLY_SLUG_{}",
            slug.to_ascii_uppercase().replace('-', "_")
        );
        if let Some(s) = env(&var).filter(|s| !s.is_empty()) {
            set_path(values, &format!("slugs.{component}"), Value::String(s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merges_and_sets() {
        let mut v = json!({"a": {"b": 1, "c": [1]}, "d": "x"});
        merge(&mut v, &json!({"a": {"c": [2], "e": true}}));
        assert_eq!(v, json!({"a": {"b": 1, "c": [2], "e": true}, "d": "x"}));
        apply_set(&mut v, "a.b=2").unwrap();
        apply_set(&mut v, "n.m=true").unwrap();
        apply_set(&mut v, "s=hello world").unwrap();
        apply_set(&mut v, "t=0.18.2").unwrap();
        assert_eq!(v["a"]["b"], json!(2));
        assert_eq!(v["n"]["m"], json!(true));
        assert_eq!(v["s"], json!("hello world"));
        assert_eq!(v["t"], json!("0.18.2"));
        assert!(apply_set(&mut v, "novalue").is_err());
        assert!(apply_set(&mut v, "a..b=1").is_err());
        assert!(
            parse_set("a..b=1", true).is_err(),
            "--set-string takes the same key paths"
        );
        assert!(apply_set(&mut v, "roles=[unclosed").is_err());
        assert_eq!(parse_set("t=1.10", true).unwrap().1, json!("1.10"));
        assert_eq!(set_layer("a.b", &json!(1)), json!({"a": {"b": 1}}));
    }

    #[test]
    fn deploy_env_overrides() {
        let mut v = json!({"publicHost": "localhost"});
        let env = |k: &str| match k {
            "VERIFIABLY_PUBLIC_HOST" => Some("demo.example".to_string()),
            "VERIFIABLY_SLUG_WALT_ISSUER" => Some("iss".to_string()),
            _ => None,
        };
        apply_deploy_env(&mut v, &env, &[("issuer".into(), "walt-issuer".into())]);
        assert_eq!(v["publicHost"], json!("demo.example"));
        assert_eq!(v["slugs"]["issuer"], json!("iss"));
    }
}
