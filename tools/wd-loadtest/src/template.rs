//! `${name}` substitution in paths, headers and bodies.
//!
//! Written by hand (about 100 lines): the only syntax is `${name}` and `$$` for a literal `$`,
//! and a JSON string that is exactly `"${name}"` takes the variable's JSON value (an object such
//! as the issuer key stays an object). A template engine would add a second syntax to learn.

use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Lit(String),
    Var(String),
}

/// A string with `${name}` placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    segs: Vec<Seg>,
}

impl Template {
    pub fn parse(s: &str) -> Result<Template, String> {
        let mut segs = Vec::new();
        let mut lit = String::new();
        let mut rest = s;
        while let Some(i) = rest.find('$') {
            lit.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(a) = after.strip_prefix('$') {
                lit.push('$');
                rest = a;
            } else if let Some(a) = after.strip_prefix('{') {
                let end = a
                    .find('}')
                    .ok_or_else(|| format!("unterminated ${{ in {s:?}; close it with }}"))?;
                let name = &a[..end];
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(format!(
                        "invalid variable name {name:?} in {s:?} (letters, digits, _ and -)"
                    ));
                }
                if !lit.is_empty() {
                    segs.push(Seg::Lit(std::mem::take(&mut lit)));
                }
                segs.push(Seg::Var(name.to_string()));
                rest = &a[end + 1..];
            } else {
                lit.push('$');
                rest = after;
            }
        }
        lit.push_str(rest);
        if !lit.is_empty() || segs.is_empty() {
            segs.push(Seg::Lit(lit));
        }
        Ok(Template { segs })
    }

    /// The text when there is no placeholder.
    pub fn as_static(&self) -> Option<&str> {
        match self.segs.as_slice() {
            [Seg::Lit(s)] => Some(s),
            _ => None,
        }
    }

    /// The variable when the template is exactly one placeholder.
    fn sole_var(&self) -> Option<&str> {
        match self.segs.as_slice() {
            [Seg::Var(v)] => Some(v),
            _ => None,
        }
    }

    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.segs.iter().filter_map(|s| match s {
            Seg::Var(v) => Some(v.as_str()),
            Seg::Lit(_) => None,
        })
    }

    pub fn render(&self, vars: &Vars) -> Result<String, String> {
        if let Some(s) = self.as_static() {
            return Ok(s.to_string());
        }
        let mut out = String::new();
        for s in &self.segs {
            match s {
                Seg::Lit(l) => out.push_str(l),
                Seg::Var(v) => match vars.get(v) {
                    Some(serde_json::Value::String(s)) => out.push_str(&s),
                    Some(other) => out.push_str(&other.to_string()),
                    None => return Err(format!("variable ${{{v}}} is not set")),
                },
            }
        }
        Ok(out)
    }
}

/// A JSON body with placeholders in its strings.
#[derive(Debug, Clone)]
pub enum ValueTemplate {
    /// No placeholder anywhere: serialised once.
    Static(bytes::Bytes),
    Dynamic(Node),
}

#[derive(Debug, Clone)]
pub enum Node {
    Plain(serde_json::Value),
    Str(Template),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl ValueTemplate {
    pub fn parse(v: &serde_json::Value) -> Result<ValueTemplate, String> {
        let (node, dynamic) = node(v)?;
        Ok(if dynamic {
            ValueTemplate::Dynamic(node)
        } else {
            ValueTemplate::Static(serde_json::to_vec(v).expect("JSON serialises").into())
        })
    }

    pub fn render(&self, vars: &Vars) -> Result<bytes::Bytes, String> {
        match self {
            ValueTemplate::Static(b) => Ok(b.clone()),
            ValueTemplate::Dynamic(n) => Ok(serde_json::to_vec(&render_node(n, vars)?)
                .expect("JSON serialises")
                .into()),
        }
    }
}

fn node(v: &serde_json::Value) -> Result<(Node, bool), String> {
    Ok(match v {
        serde_json::Value::String(s) => {
            let t = Template::parse(s)?;
            if t.as_static().is_some() {
                (Node::Plain(v.clone()), false)
            } else {
                (Node::Str(t), true)
            }
        }
        serde_json::Value::Array(a) => {
            let mut dyn_ = false;
            let mut out = Vec::new();
            for x in a {
                let (n, d) = node(x)?;
                dyn_ |= d;
                out.push(n);
            }
            (Node::Array(out), dyn_)
        }
        serde_json::Value::Object(o) => {
            let mut dyn_ = false;
            let mut out = Vec::new();
            for (k, x) in o {
                let (n, d) = node(x)?;
                dyn_ |= d;
                out.push((k.clone(), n));
            }
            (Node::Object(out), dyn_)
        }
        other => (Node::Plain(other.clone()), false),
    })
}

fn render_node(n: &Node, vars: &Vars) -> Result<serde_json::Value, String> {
    Ok(match n {
        Node::Plain(v) => v.clone(),
        Node::Str(t) => match t.sole_var() {
            Some(name) => vars
                .get(name)
                .ok_or_else(|| format!("variable ${{{name}}} is not set"))?,
            None => serde_json::Value::String(t.render(vars)?),
        },
        Node::Array(a) => serde_json::Value::Array(
            a.iter()
                .map(|x| render_node(x, vars))
                .collect::<Result<_, _>>()?,
        ),
        Node::Object(o) => {
            let mut m = serde_json::Map::new();
            for (k, x) in o {
                m.insert(k.clone(), render_node(x, vars)?);
            }
            serde_json::Value::Object(m)
        }
    })
}

/// Variables as a step sees them: the iteration's, then the virtual user's, then the run's,
/// then the built-ins `vu`, `iter`, `run` and `uuid` (fresh at each use).
#[derive(Debug, Default)]
pub struct Vars {
    pub run: Arc<HashMap<String, serde_json::Value>>,
    pub vu: HashMap<String, serde_json::Value>,
    pub iter: HashMap<String, serde_json::Value>,
    pub vu_id: u64,
    pub iteration: u64,
    pub run_id: String,
    pub uuid_seed: std::sync::atomic::AtomicU64,
}

impl Vars {
    pub fn get(&self, name: &str) -> Option<serde_json::Value> {
        if let Some(v) = self.iter.get(name).or_else(|| self.vu.get(name)) {
            return Some(v.clone());
        }
        if let Some(v) = self.run.get(name) {
            return Some(v.clone());
        }
        Some(match name {
            "vu" => self.vu_id.into(),
            "iter" => self.iteration.into(),
            "run" => self.run_id.clone().into(),
            "uuid" => self.uuid().into(),
            _ => return None,
        })
    }

    pub fn is_set(&self, name: &str) -> bool {
        self.iter.contains_key(name) || self.vu.contains_key(name) || self.run.contains_key(name)
    }

    /// A version-4-shaped UUID from splitmix64 over a per-VU seed: unique within a run, not
    /// cryptographic (scenario ids only need to differ).
    fn uuid(&self) -> String {
        let next = || {
            use std::sync::atomic::Ordering::Relaxed;
            let mut z = self
                .uuid_seed
                .fetch_add(0x9E37_79B9_7F4A_7C15, Relaxed)
                .wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let (a, b) = (next(), next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            (b >> 48) & 0x3fff | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_literals_and_json_values() {
        let mut vars = Vars::default();
        vars.vu
            .insert("key".into(), serde_json::json!({"type": "jwk"}));
        vars.iter.insert("w".into(), "w-1".into());
        let t = Template::parse("/wallet/${w}/dids?x=$$1&y=$z").unwrap();
        assert_eq!(t.render(&vars).unwrap(), "/wallet/w-1/dids?x=$1&y=$z");
        let b = ValueTemplate::parse(
            &serde_json::json!({"issuerKey": "${key}", "n": "a-${w}", "k": 1}),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(b.render(&vars).unwrap().to_vec()).unwrap(),
            r#"{"issuerKey":{"type":"jwk"},"n":"a-w-1","k":1}"#
        );
        assert!(Template::parse("${unclosed").is_err());
        assert!(Template::parse("/${missing}")
            .unwrap()
            .render(&vars)
            .is_err());
        assert_ne!(vars.get("uuid"), vars.get("uuid"));
    }
}
