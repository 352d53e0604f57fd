//! YAML input for every tool: anchors, aliases and `<<` merge keys applied, errors that name
//! `file:line:col`, what is wrong and what to do.

use crate::error::{WdError, WdResult};
use serde::de::DeserializeOwned;
use std::path::Path;

/// One-line error for a YAML parse failure; `hint` says what the file should contain.
pub fn error(source: &str, e: &serde_norway::Error, hint: &str) -> WdError {
    let msg = e.to_string();
    // serde_norway appends " at line L column C"; the position goes up front instead.
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    match e.location() {
        Some(l) => WdError::input(format!(
            "{source}:{}:{}: {msg}; {hint}",
            l.line(),
            l.column()
        )),
        None => WdError::input(format!("{source}: {msg}; {hint}")),
    }
}

/// Parses YAML into a value tree with merge keys applied.
///
/// [`crate::yaml_fast`] reads the common subset in about a quarter of serde_norway's instructions
/// (issue 11) and gives the value serde_norway would; anything else, and every error, is read by
/// serde_norway as before.
pub fn parse_value(text: &str, source: &str) -> WdResult<serde_norway::Value> {
    if let Some((mut v, merge)) = crate::yaml_fast::parse_with_merge_flag(text) {
        if merge {
            v.apply_merge()
                .map_err(|e| error(source, &e, "invalid merge key (<<): it must name a mapping"))?;
        }
        return Ok(v);
    }
    parse_value_serde(text, source)
}

/// The reading every text had before the fast path, and still has when it declines.
fn parse_value_serde(text: &str, source: &str) -> WdResult<serde_norway::Value> {
    let mut v: serde_norway::Value = serde_norway::from_str(text)
        .map_err(|e| error(source, &e, "invalid YAML: fix the syntax at that position"))?;
    v.apply_merge()
        .map_err(|e| error(source, &e, "invalid merge key (<<): it must name a mapping"))?;
    Ok(v)
}

/// Parses YAML text into `T`.
pub fn from_str<T: DeserializeOwned>(text: &str, source: &str, hint: &str) -> WdResult<T> {
    let v = parse_value(text, source)?;
    serde_norway::from_value(v).map_err(|e| error(source, &e, hint))
}

/// Reads and parses a YAML file into `T`.
pub fn read<T: DeserializeOwned>(path: &Path, hint: &str) -> WdResult<T> {
    let text = crate::fsio::read_text(path)?;
    from_str(&text, &path.display().to_string(), hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct T {
        a: u32,
        b: Vec<String>,
    }

    /// The fast path changes nothing `parse_value` returns, merge errors included (the value
    /// itself is compared in tests/yaml_fast.rs).
    #[test]
    fn fast_path_gives_the_same_results_and_errors() {
        for text in [
            "x: &x {a: 1}\nt:\n  <<: *x\n  b: [q]\n",
            "x: &x\n  a: 1\nt:\n  <<: *x\n  a: 2\n",
            "<<: [1]\n",
            "<<: 1\n",
            "\"\\x3c<\": {a: 1}\nb: 2\n",
            "a: [\n",
            "a: 1\na: 2\n",
            "a: 340282366920938463463374607431768211456\n",
        ] {
            let fast = parse_value(text, "f.yaml").map_err(|e| e.message);
            let slow = parse_value_serde(text, "f.yaml").map_err(|e| e.message);
            assert_eq!(fast, slow, "{text}");
        }
        assert!(crate::yaml_fast::parse("<<: [1]\n").is_some());
    }

    #[test]
    fn merge_keys_and_errors() {
        let t: T = from_str("x: &x {a: 1}\nt:\n  <<: *x\n  b: [q]\n", "f.yaml", "hint")
            .map(|v: serde_norway::Value| serde_norway::from_value(v["t"].clone()).unwrap())
            .unwrap();
        assert_eq!((t.a, t.b.len()), (1, 1));
        let e = from_str::<T>("a: [\n", "f.yaml", "hint").unwrap_err();
        assert!(
            e.message.starts_with("f.yaml:2:1: ") && e.message.contains("invalid YAML"),
            "{}",
            e.message
        );
        let e = from_str::<T>("a: 1\n", "f.yaml", "it needs a and b").unwrap_err();
        assert!(
            e.message.contains("missing field `b`") && e.message.ends_with("it needs a and b"),
            "{}",
            e.message
        );
    }
}
