//! The values contract: `config/values.schema.json` (JSON Schema 2020-12).
//!
//! Every layer (a values file, the deploy.sh environment, each `--set`) is checked alone, in
//! precedence order, so the first bad one is named (`--set persistence.redis.enabled=maybe: …`);
//! keys are optional in a layer. The merged values are then checked against `$defs/complete`
//! (what a render needs). Keys of `images` and `slugs` must be components of the scenario (the
//! scenario file is their one home, so the schema does not list them).
//!
//! Checked here by a small validator of the keywords that file uses ([`KNOWN`]), not by a
//! general one: boon, which did it before, compiled all five drafts' metaschemas and checked
//! the schema against them in every process — 3.5 ms, the largest single cost of a render
//! (docs/benchmarks-notes/pipe.md). The schema is ours and tested, so it is not re-checked
//! against the metaschema at run time; a keyword outside [`KNOWN`] refuses to load (exit 2)
//! instead of being ignored, and `tests/schema_agrees.rs` checks that this validator and boon
//! (a dev-dependency) accept and refuse the same values on a generated corpus.

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use wd_core::{WdError, WdResult};

/// The schema's path below the config directory.
pub const SCHEMA_FILE: &str = "values.schema.json";

/// The keywords this validator implements (2020-12 semantics); annotations are accepted too.
pub const KNOWN: &[&str] = &[
    "type",
    "enum",
    "const",
    "$ref",
    "anyOf",
    "properties",
    "additionalProperties",
    "unevaluatedProperties",
    "required",
    "items",
    "minItems",
    "uniqueItems",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minimum",
    "maximum",
];
/// Keywords that only annotate (no assertion).
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "$defs",
    "title",
    "description",
    "default",
    "examples",
];

#[derive(Clone, Copy, PartialEq, Debug)]
enum Ty {
    Null,
    Boolean,
    Object,
    Array,
    Number,
    Integer,
    String,
}

impl Ty {
    fn parse(s: &str) -> Option<Ty> {
        Some(match s {
            "null" => Ty::Null,
            "boolean" => Ty::Boolean,
            "object" => Ty::Object,
            "array" => Ty::Array,
            "number" => Ty::Number,
            "integer" => Ty::Integer,
            "string" => Ty::String,
            _ => return None,
        })
    }
    fn name(self) -> &'static str {
        match self {
            Ty::Null => "null",
            Ty::Boolean => "boolean",
            Ty::Object => "object",
            Ty::Array => "array",
            Ty::Number => "number",
            Ty::Integer => "integer",
            Ty::String => "string",
        }
    }
    fn of(v: &Value) -> Ty {
        match v {
            Value::Null => Ty::Null,
            Value::Bool(_) => Ty::Boolean,
            Value::Object(_) => Ty::Object,
            Value::Array(_) => Ty::Array,
            Value::Number(n) if is_integer(n) => Ty::Integer,
            Value::Number(_) => Ty::Number,
            Value::String(_) => Ty::String,
        }
    }
    fn admits(self, v: &Value) -> bool {
        let t = Ty::of(v);
        t == self || (self == Ty::Number && t == Ty::Integer)
    }
}

/// 2020-12: an integer is a number with a zero fractional part (1.0 is one).
fn is_integer(n: &serde_json::Number) -> bool {
    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
}

/// JSON equality as the spec defines it (1 equals 1.0), for `enum`, `const`, `uniqueItems`.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, a)| y.get(k).is_some_and(|b| json_eq(a, b)))
        }
        _ => a == b,
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Format {
    Hostname,
    Ipv4,
    Ipv6,
    Email,
}

impl Format {
    fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "hostname" => Format::Hostname,
            "ipv4" => Format::Ipv4,
            "ipv6" => Format::Ipv6,
            "email" => Format::Email,
            _ => return None,
        })
    }
    fn name(self) -> &'static str {
        match self {
            Format::Hostname => "hostname",
            Format::Ipv4 => "ipv4",
            Format::Ipv6 => "ipv6",
            Format::Email => "email",
        }
    }
    fn check(self, s: &str) -> bool {
        match self {
            Format::Hostname => is_hostname(s),
            Format::Ipv4 => s.parse::<std::net::Ipv4Addr>().is_ok(),
            Format::Ipv6 => s.parse::<std::net::Ipv6Addr>().is_ok(),
            Format::Email => is_email(s),
        }
    }
}

/// RFC 1123 host name: at most 253 characters (a trailing dot aside), dot-separated labels of
/// 1–63 ASCII letters, digits and hyphens, no label starting or ending with a hyphen.
fn is_hostname(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    s.len() <= 253
        && s.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// RFC 5321/5322 address as JSON Schema's `email` format reads it: local@domain, at most 254
/// characters, a local part of at most 64 (dot-atom, or quoted without `\` and `"` inside), the
/// domain a host name or a bracketed IP literal (`[192.0.2.1]`, `[IPv6:…]`).
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    if s.len() > 254 || local.len() > 64 {
        return false;
    }
    let local_ok = if local.len() > 1 && local.starts_with('"') && local.ends_with('"') {
        !local[1..local.len() - 1].contains(['\\', '"'])
    } else {
        !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+-/=?^_`{|}~".contains(c))
    };
    let domain_ok = match domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        Some(lit) => match lit.strip_prefix("IPv6:") {
            Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
            None => lit.parse::<std::net::Ipv4Addr>().is_ok(),
        },
        None => is_hostname(domain),
    };
    local_ok && domain_ok
}

/// One compiled (sub)schema; `ptr` is its JSON pointer in the file.
#[derive(Default, Debug)]
struct Node {
    ptr: String,
    /// `true`/`false` schemas.
    boolean: Option<bool>,
    types: Vec<Ty>,
    enumeration: Option<Vec<Value>>,
    constant: Option<Value>,
    reference: Option<usize>,
    any_of: Vec<usize>,
    properties: Vec<(String, usize)>,
    /// `additionalProperties` (a boolean is compiled as a `true`/`false` node).
    additional: Option<usize>,
    unevaluated_deny: bool,
    required: Vec<String>,
    items: Option<usize>,
    min_items: Option<usize>,
    unique_items: bool,
    min_length: Option<usize>,
    max_length: Option<usize>,
    /// Index into [`ValuesSchema::patterns`] (one compiled regex per distinct pattern).
    pattern: Option<usize>,
    format: Option<Format>,
    minimum: Option<f64>,
    maximum: Option<f64>,
}

/// A failed check: where in the value, which subschema, and what.
struct Fail {
    at: Vec<String>,
    node: usize,
    kind: Kind,
}

enum Kind {
    Type(String),
    UnknownKey(String),
    Required(Vec<String>),
    /// A string that fails `pattern`, `format`, `minLength`, `maxLength` or every `anyOf` branch.
    Shape(String),
    Other(String),
}

pub struct ValuesSchema {
    nodes: Vec<Node>,
    patterns: Vec<crate::pattern::Pattern>,
    layer: usize,
    complete: usize,
    path: PathBuf,
    components: Vec<String>,
    /// The schema itself, for the `description` of a failing subschema.
    raw: Value,
}

/// The value at a path of keys / indexes (the path a failure names).
fn value_at<'v>(v: &'v Value, at: &[String]) -> &'v Value {
    at.iter().fold(v, |cur, t| match cur {
        Value::Object(o) => o.get(t).unwrap_or(cur),
        Value::Array(a) => t
            .parse::<usize>()
            .ok()
            .and_then(|i| a.get(i))
            .unwrap_or(cur),
        _ => cur,
    })
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

/// Compiles the schema's subschemas into [`Node`]s, each pointer once (`$ref` cycles included).
struct Compiler<'a> {
    root: &'a Value,
    nodes: Vec<Node>,
    by_ptr: HashMap<String, usize>,
    patterns: Vec<crate::pattern::Pattern>,
}

impl Compiler<'_> {
    fn at(&mut self, ptr: &str) -> Result<usize, String> {
        if let Some(&i) = self.by_ptr.get(ptr) {
            return Ok(i);
        }
        let root = self.root;
        let s = root
            .pointer(ptr)
            .ok_or_else(|| format!("$ref #{ptr} points at nothing"))?;
        let i = self.nodes.len();
        self.nodes.push(Node {
            ptr: ptr.to_string(),
            ..Node::default()
        });
        self.by_ptr.insert(ptr.to_string(), i);
        let node = self.node(s, ptr)?;
        self.nodes[i] = node;
        Ok(i)
    }

    fn child(&mut self, ptr: &str, token: &str) -> Result<usize, String> {
        self.at(&format!(
            "{ptr}/{}",
            token.replace('~', "~0").replace('/', "~1")
        ))
    }

    fn node(&mut self, s: &Value, ptr: &str) -> Result<Node, String> {
        let mut n = Node {
            ptr: ptr.to_string(),
            ..Node::default()
        };
        let o = match s {
            Value::Bool(b) => {
                n.boolean = Some(*b);
                return Ok(n);
            }
            Value::Object(o) => o,
            _ => return Err(format!("#{ptr}: a schema must be an object or a boolean")),
        };
        let bad = |k: &str, want: &str| format!("#{ptr}/{k}: want {want}");
        let count = |k: &str, v: &Value| {
            v.as_u64()
                .map(|x| x as usize)
                .ok_or_else(|| bad(k, "a non-negative integer"))
        };
        for (k, v) in o {
            match k.as_str() {
                "type" => {
                    let names: Vec<&Value> = match v {
                        Value::Array(a) => a.iter().collect(),
                        other => vec![other],
                    };
                    for t in names {
                        n.types.push(t.as_str().and_then(Ty::parse).ok_or_else(|| bad(k, "a JSON type name"))?);
                    }
                }
                "enum" => n.enumeration = Some(v.as_array().cloned().ok_or_else(|| bad(k, "an array"))?),
                "const" => n.constant = Some(v.clone()),
                "$ref" => {
                    let r = v.as_str().and_then(|r| r.strip_prefix('#')).ok_or_else(|| bad(k, "a reference into this file (#/…)"))?;
                    let r = r.replace("%24", "$");
                    n.reference = Some(self.at(&r)?);
                }
                "anyOf" => {
                    let a = v.as_array().filter(|a| !a.is_empty()).ok_or_else(|| bad(k, "a non-empty array"))?;
                    for j in 0..a.len() {
                        n.any_of.push(self.child(&format!("{ptr}/anyOf"), &j.to_string())?);
                    }
                }
                "properties" => {
                    let p = v.as_object().ok_or_else(|| bad(k, "an object"))?;
                    for name in p.keys() {
                        let i = self.child(&format!("{ptr}/properties"), name)?;
                        n.properties.push((name.clone(), i));
                    }
                }
                "additionalProperties" => n.additional = Some(self.child(ptr, k)?),
                "unevaluatedProperties" => match v {
                    Value::Bool(b) => n.unevaluated_deny = !b,
                    _ => return Err(bad(k, "a boolean (a schema there is not supported by wd-render's validator)")),
                },
                "required" => {
                    let a = v.as_array().ok_or_else(|| bad(k, "an array of names"))?;
                    for x in a {
                        n.required.push(x.as_str().ok_or_else(|| bad(k, "an array of names"))?.to_string());
                    }
                }
                "items" => n.items = Some(self.child(ptr, k)?),
                "minItems" => n.min_items = Some(count(k, v)?),
                "uniqueItems" => n.unique_items = v.as_bool().ok_or_else(|| bad(k, "a boolean"))?,
                "minLength" => n.min_length = Some(count(k, v)?),
                "maxLength" => n.max_length = Some(count(k, v)?),
                "pattern" => {
                    let p = v.as_str().ok_or_else(|| bad(k, "a string"))?;
                    let i = match self.patterns.iter().position(|q| q.as_str() == p) {
                        Some(i) => i,
                        None => {
                            // ECMA-262, run on regex-lite (src/pattern.rs).
                            let re = crate::pattern::Pattern::new(p).map_err(|e| format!("#{ptr}/pattern: {e}"))?;
                            self.patterns.push(re);
                            self.patterns.len() - 1
                        }
                    };
                    n.pattern = Some(i);
                }
                "format" => {
                    let f = v.as_str().ok_or_else(|| bad(k, "a string"))?;
                    n.format = Some(Format::parse(f).ok_or_else(|| {
                        format!("#{ptr}/format: {f:?} is not one wd-render checks (hostname, ipv4, ipv6, email)")
                    })?);
                }
                "minimum" => n.minimum = Some(v.as_f64().ok_or_else(|| bad(k, "a number"))?),
                "maximum" => n.maximum = Some(v.as_f64().ok_or_else(|| bad(k, "a number"))?),
                k if ANNOTATIONS.contains(&k) => {}
                other => {
                    return Err(format!(
                        "#{ptr}: keyword {other:?} is not one wd-render's validator knows ({}); use those or teach tools/wd-render/src/schema.rs",
                        KNOWN.join(", ")
                    ))
                }
            }
        }
        Ok(n)
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
    /// (they are set with [`Self::with_components`]): it does not depend on the Inventory, so it
    /// runs while the Inventory is read ([`crate::preload`]).
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
        Self::from_value(json, path)
    }

    /// Compiles a schema already parsed (`path` names it in errors).
    pub fn from_value(json: Value, path: PathBuf) -> WdResult<ValuesSchema> {
        let bad = |e: String| WdError::input(format!("{}: {e}; fix the schema", path.display()));
        let mut c = Compiler {
            root: &json,
            nodes: Vec::new(),
            by_ptr: HashMap::new(),
            patterns: Vec::new(),
        };
        let layer = c.at("").map_err(bad)?;
        let complete = c.at("/$defs/complete").map_err(bad)?;
        let (nodes, patterns) = (c.nodes, c.patterns);
        Ok(ValuesSchema {
            nodes,
            patterns,
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

    /// Whether `v` is valid against the layer schema (`complete: false`) or `$defs/complete`.
    pub fn is_valid(&self, v: &Value, complete: bool) -> bool {
        let idx = if complete { self.complete } else { self.layer };
        self.validate(v, idx, &mut Vec::new()).is_ok()
    }

    fn check(&self, v: &Value, idx: usize, source: &str) -> WdResult<()> {
        let Err(f) = self.validate(v, idx, &mut Vec::new()) else {
            return Ok(());
        };
        let loc = f.at.join(".");
        let at = |extra: &str| match (loc.is_empty(), extra.is_empty()) {
            (true, true) => "(top level)".to_string(),
            (true, false) => extra.to_string(),
            (false, true) => loc.clone(),
            (false, false) => format!("{loc}.{extra}"),
        };
        let here = value_at(v, &f.at);
        let got = || short(here);
        let (place, what) = match f.kind {
            Kind::Type(want) => (
                at(""),
                format!(
                    "want {want}, but got {} (got {})",
                    Ty::of(here).name(),
                    got()
                ),
            ),
            Kind::UnknownKey(k) => (at(&k), "unknown key (a typo?)".to_string()),
            Kind::Required(missing) => (at(""), format!("missing {}", missing.join(", "))),
            Kind::Shape(detail) => match self.description(&self.nodes[f.node].ptr) {
                Some(want) => (at(""), format!("{} is not {want}", got())),
                None => (at(""), format!("{detail} (got {})", got())),
            },
            Kind::Other(detail) => (at(""), format!("{detail} (got {})", got())),
        };
        Err(WdError::input(format!(
            "{source}: {place}: {what}; allowed keys and types: {}",
            self.path.display()
        )))
    }

    /// The first failure of `v` against node `i` (`at`: where `v` is), or the property names
    /// this node evaluated (for `unevaluatedProperties`).
    fn validate(&self, v: &Value, i: usize, at: &mut Vec<String>) -> Result<Vec<String>, Fail> {
        let n = &self.nodes[i];
        let fail = |at: &Vec<String>, kind: Kind| Fail {
            at: at.clone(),
            node: i,
            kind,
        };
        match n.boolean {
            Some(true) => return Ok(Vec::new()),
            Some(false) => {
                let key = at.pop().unwrap_or_default();
                let f = fail(at, Kind::UnknownKey(key.clone()));
                at.push(key);
                return Err(f);
            }
            None => {}
        }
        if !n.types.is_empty() && !n.types.iter().any(|t| t.admits(v)) {
            let want = n
                .types
                .iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
                .join(" or ");
            return Err(fail(at, Kind::Type(want)));
        }
        if let Some(e) = &n.enumeration {
            if !e.iter().any(|x| json_eq(x, v)) {
                let want = e
                    .iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(fail(at, Kind::Other(format!("must be one of {want}"))));
            }
        }
        if let Some(c) = &n.constant {
            if !json_eq(c, v) {
                return Err(fail(at, Kind::Other(format!("must be {c}"))));
            }
        }
        if let Value::String(s) = v {
            let len = s.chars().count();
            if let Some(m) = n.min_length.filter(|m| len < *m) {
                return Err(fail(at, Kind::Shape(format!("length must be >= {m}"))));
            }
            if let Some(m) = n.max_length.filter(|m| len > *m) {
                return Err(fail(at, Kind::Shape(format!("length must be <= {m}"))));
            }
            if let Some(p) = n.pattern.filter(|p| !self.patterns[*p].is_match(s)) {
                return Err(fail(
                    at,
                    Kind::Shape(format!("does not match {}", self.patterns[p].as_str())),
                ));
            }
            if let Some(f) = n.format.filter(|f| !f.check(s)) {
                return Err(fail(at, Kind::Shape(format!("not a valid {}", f.name()))));
            }
        }
        if let Value::Number(x) = v {
            let x = x.as_f64().unwrap_or(f64::NAN);
            if let Some(m) = n.minimum.filter(|m| x < *m) {
                return Err(fail(at, Kind::Other(format!("must be >= {m}"))));
            }
            if let Some(m) = n.maximum.filter(|m| x > *m) {
                return Err(fail(at, Kind::Other(format!("must be <= {m}"))));
            }
        }
        let mut evaluated = Vec::new();
        if let Some(r) = n.reference {
            evaluated.extend(self.validate(v, r, at)?);
        }
        if !n.any_of.is_empty() {
            let mut any = false;
            for &b in &n.any_of {
                // every branch runs: properties evaluated by each valid one count (2020-12 §11.3)
                if let Ok(ev) = self.validate(v, b, at) {
                    any = true;
                    evaluated.extend(ev);
                }
            }
            if !any {
                return Err(fail(
                    at,
                    Kind::Shape("matches none of the allowed forms".into()),
                ));
            }
        }
        if let Value::Object(o) = v {
            let missing: Vec<String> = n
                .required
                .iter()
                .filter(|k| !o.contains_key(*k))
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Err(fail(at, Kind::Required(missing)));
            }
            for (k, x) in o {
                let own = n.properties.iter().find(|(p, _)| p == k).map(|(_, j)| *j);
                // `properties` and `additionalProperties` both mark what they checked as
                // evaluated (2020-12 §10.3.2); a key neither names is left to `unevaluated…`.
                if let Some(j) = own.or(n.additional) {
                    at.push(k.clone());
                    let r = self.validate(x, j, at);
                    at.pop();
                    r?;
                    evaluated.push(k.clone());
                }
            }
            if n.unevaluated_deny {
                if let Some(k) = o.keys().find(|k| !evaluated.contains(k)) {
                    return Err(fail(at, Kind::UnknownKey(k.clone())));
                }
            }
        }
        if let Value::Array(a) = v {
            if let Some(m) = n.min_items.filter(|m| a.len() < *m) {
                return Err(fail(
                    at,
                    Kind::Other(format!("at least {m} items required")),
                ));
            }
            if n.unique_items {
                for (x, first) in a.iter().enumerate() {
                    if let Some(y) = a[x + 1..].iter().position(|b| json_eq(first, b)) {
                        return Err(fail(
                            at,
                            Kind::Other(format!("items {x} and {} are equal", x + 1 + y)),
                        ));
                    }
                }
            }
            if let Some(j) = n.items {
                for (x, item) in a.iter().enumerate() {
                    at.push(x.to_string());
                    let r = self.validate(item, j, at);
                    at.pop();
                    r?;
                }
            }
        }
        Ok(evaluated)
    }

    /// The description of a subschema (or of the nearest enclosing property), e.g. "a hostname
    /// (e.g. example.org) or an IP address".
    fn description(&self, ptr: &str) -> Option<String> {
        let mut tokens: Vec<&str> = ptr.split('/').filter(|t| !t.is_empty()).collect();
        while tokens.len() > 2 {
            // (the root and $defs/layer describe the whole file, not a value)
            let p = format!("/{}", tokens.join("/"));
            if let Some(d) = self.raw.pointer(&p).and_then(|s| s.get("description")) {
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
