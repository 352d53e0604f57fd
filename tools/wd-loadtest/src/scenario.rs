//! Scenarios as data: the YAML files of `config/loadtest/` (or any path), read, checked and
//! compiled into the form the engine runs (templates split, JSON paths and regexes parsed).
//!
//! Not here: sending requests (client.rs), timing and drift (engine.rs).

use crate::template::{Template, ValueTemplate};
use crate::units::parse_duration;
use jsonpath_rust::parser::model::JpQuery;
use regex::Regex;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use wd_core::docs::loadtest::StepPhase;
use wd_core::{WdError, WdResult};

/// What a scenario file holds (camelCase keys; unknown keys are refused with their line).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Default values of `${variables}`; `--var NAME=VALUE` overrides them.
    #[serde(default)]
    pub vars: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub drift: Option<DriftFile>,
    /// Once per run, before the load.
    #[serde(default)]
    pub setup: Vec<StepFile>,
    /// Once per virtual user, before its first iteration.
    #[serde(default)]
    pub vu_setup: Vec<StepFile>,
    /// Every iteration.
    pub steps: Vec<StepFile>,
}

/// What a request that landed on a replica without the flow's state answers.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriftFile {
    #[serde(default)]
    pub status: Option<Vec<u16>>,
    /// Replaces the default body pattern.
    #[serde(default)]
    pub body: Option<String>,
    /// Patterns added to the body pattern (a service's own way of hiding a lost session).
    #[serde(default)]
    pub extra_body: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepFile {
    pub name: String,
    pub service: String,
    #[serde(default = "get")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body (sent with `content-type: application/json`).
    #[serde(default)]
    pub json: Option<serde_json::Value>,
    /// A text body (sent with `content-type: text/plain`).
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub expect: ExpectFile,
    #[serde(default)]
    pub extract: BTreeMap<String, ExtractFile>,
    /// Services whose server-side state the called service reads on the flow's behalf (the
    /// wallet fetching the issuer's offer): a drift-like error body is attributed to them.
    #[serde(default)]
    pub state: Vec<String>,
    #[serde(default)]
    pub poll: Option<PollFile>,
    /// Skip the step when this variable is already set (e.g. by `--issuer-key`).
    #[serde(default)]
    pub unless: Option<String>,
}

fn get() -> String {
    "GET".into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpectFile {
    /// Accepted status codes; default: any 2xx.
    #[serde(default)]
    pub status: Option<Vec<u16>>,
    /// A regular expression the body must match.
    #[serde(default)]
    pub body: Option<String>,
    /// A JSON path that must select something (and equal `equals` when given).
    #[serde(default)]
    pub json: Option<JsonCheckFile>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JsonCheckFile {
    pub path: String,
    #[serde(default)]
    pub equals: Option<serde_json::Value>,
}

/// Exactly one of the keys.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExtractFile {
    #[serde(default)]
    pub json: Option<String>,
    #[serde(default)]
    pub header: Option<String>,
    /// The whole body, trimmed.
    #[serde(default)]
    pub text: Option<bool>,
    /// The first capture group (or the whole match) of a regular expression on the body.
    #[serde(default)]
    pub regex: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PollFile {
    pub until: JsonCheckFile,
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub attempts: Option<u32>,
}

// ---------- compiled ----------

#[derive(Debug)]
pub struct Scenario {
    pub name: String,
    pub source: String,
    pub vars: BTreeMap<String, serde_json::Value>,
    /// The services the steps call, in first-use order.
    pub services: Vec<String>,
    pub drift_status: Vec<u16>,
    pub drift_body: Regex,
    /// Every step of every phase, setup first; `Step::phase` says which.
    pub steps: Vec<Step>,
}

#[derive(Debug)]
pub struct Step {
    pub name: String,
    pub phase: StepPhase,
    /// Index into `Scenario::services`.
    pub service: usize,
    pub method: http::Method,
    pub path: Template,
    pub headers: Vec<(http::header::HeaderName, Template)>,
    pub body: Body,
    pub expect_status: Option<Vec<u16>>,
    pub expect_body: Option<Regex>,
    pub expect_json: Option<JsonCheck>,
    pub extract: Vec<(String, Extract)>,
    /// Indexes into `Scenario::services`.
    pub state: Vec<usize>,
    pub poll: Option<Poll>,
    pub unless: Option<String>,
    /// Whether anything reads the response body (extract, body/json checks, poll).
    pub reads_body: bool,
}

#[derive(Debug)]
pub enum Body {
    None,
    Json(ValueTemplate),
    Text(Template),
}

#[derive(Debug)]
pub struct JsonCheck {
    pub path: JsonPath,
    pub equals: Option<serde_json::Value>,
}

#[derive(Debug)]
pub enum Extract {
    Json(JsonPath),
    Header(http::header::HeaderName),
    Text,
    Regex(Regex),
}

#[derive(Debug)]
pub struct Poll {
    pub until: JsonCheck,
    pub interval: Duration,
    pub attempts: u32,
}

/// A parsed JSON path (RFC 9535 via jsonpath-rust; a jq-style `.a[0].b` is read as `$.a[0].b`).
#[derive(Debug)]
pub struct JsonPath {
    pub text: String,
    query: JpQuery,
}

impl JsonPath {
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let full = if text.starts_with('.') || text.starts_with('[') {
            format!("${text}")
        } else {
            text.to_string()
        };
        let query = jsonpath_rust::parser::parse_json_path(&full)
            .map_err(|e| format!("invalid JSON path {text:?} ({e})"))?;
        Ok(JsonPath {
            text: text.to_string(),
            query,
        })
    }

    /// The first value selected, if any.
    pub fn first<'a>(&self, v: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
        jsonpath_rust::query::js_path_process(&self.query, v)
            .ok()
            .and_then(|r| r.into_iter().next().map(|q| q.val()))
    }
}

/// The default drift answers: 401/403/404, or an error body naming a lost session or a token
/// signed by another replica's key — walt.id 0.18.2's messages (waltid-facts §2 "Replicas"):
/// the issuer's "No active issuance session found by the given id" and "Could not resolve key for
/// given token" (a random `ciTokenKey` per replica), the verifier's "Id parameter … doesn't refer
/// to an existing session, or session expired" and "No session verification information found".
pub const DEFAULT_DRIFT_STATUS: &[u16] = &[401, 403, 404];
pub const DEFAULT_DRIFT_BODY: &str = r"(?i)session not found|no active issuance session|doesn't refer to an existing session|no session verification information|could not resolve key for given token|unknown session|session expired";

/// Where a scenario argument points: a built-in name or a path.
pub fn resolve(config_dir: &Path, arg: &str) -> WdResult<PathBuf> {
    let p = Path::new(arg);
    let looks_like_path = arg.contains('/') || arg.ends_with(".yaml") || arg.ends_with(".yml");
    if looks_like_path || p.is_file() {
        if !p.exists() {
            return Err(WdError::input(format!(
                "{arg}: no such scenario file; pass a YAML scenario or a built-in name ({})",
                builtins(config_dir).join(", ")
            )));
        }
        return Ok(p.to_path_buf());
    }
    let dir = config_dir.join("loadtest");
    if let Some(path) = wd_core::fsio::named_yaml(&dir, arg) {
        return Ok(path);
    }
    Err(WdError::input(format!(
        "unknown scenario {arg:?}; built in ({}): {}; or pass a path to a YAML file",
        dir.display(),
        builtins(config_dir).join(", ")
    )))
}

/// The built-in scenario names (the files of `<config>/loadtest/`).
pub fn builtins(config_dir: &Path) -> Vec<String> {
    wd_core::fsio::yaml_names(&config_dir.join("loadtest"))
}

const HINT: &str =
    "a scenario has name and steps (each: name, service, path; see docs/loadtest.md)";

/// Reads and compiles a scenario file.
pub fn load(path: &Path) -> WdResult<Scenario> {
    let text = wd_core::fsio::read_text(path)?;
    parse(&text, &path.display().to_string())
}

/// Parses and compiles scenario text; `source` names it in errors (`file:line:col: …`).
pub fn parse(text: &str, source: &str) -> WdResult<Scenario> {
    // Syntax errors carry their position; merge keys (`<<`) are applied like every wd YAML input.
    let value = wd_core::yaml::parse_value(text, source)?;
    let file: ScenarioFile = match serde_norway::from_value(value) {
        Ok(f) => f,
        // A typing error from the value tree has no position: read the text directly for one
        // (same error, now with file:line:col), falling back to the positionless one.
        Err(e) => {
            return Err(match serde_norway::from_str::<ScenarioFile>(text) {
                Err(located) if located.location().is_some() => {
                    wd_core::yaml::error(source, &located, HINT)
                }
                _ => wd_core::yaml::error(source, &e, HINT),
            })
        }
    };
    compile(file, source)
}

fn compile(f: ScenarioFile, source: &str) -> WdResult<Scenario> {
    let bad = |place: String, what: String| WdError::input(format!("{source}: {place}: {what}"));
    if f.steps.is_empty() {
        return Err(bad(
            "steps".into(),
            "no steps; an iteration needs at least one".into(),
        ));
    }
    let drift_status = f
        .drift
        .as_ref()
        .and_then(|d| d.status.clone())
        .unwrap_or_else(|| DEFAULT_DRIFT_STATUS.to_vec());
    let mut drift_src = f
        .drift
        .as_ref()
        .and_then(|d| d.body.clone())
        .unwrap_or_else(|| DEFAULT_DRIFT_BODY.into());
    for extra in f.drift.iter().flat_map(|d| &d.extra_body) {
        drift_src = format!("(?:{drift_src})|(?:{extra})");
    }
    let drift_body = Regex::new(&drift_src).map_err(|e| {
        bad(
            "drift.body".into(),
            format!("invalid regular expression ({e})"),
        )
    })?;
    let mut services: Vec<String> = Vec::new();
    let mut svc = |name: &str| -> usize {
        match services.iter().position(|s| s == name) {
            Some(i) => i,
            None => {
                services.push(name.to_string());
                services.len() - 1
            }
        }
    };
    let mut steps = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for (phase, key, list) in [
        (StepPhase::Setup, "setup", f.setup),
        (StepPhase::VuSetup, "vuSetup", f.vu_setup),
        (StepPhase::Iteration, "steps", f.steps),
    ] {
        for (i, s) in list.into_iter().enumerate() {
            let place = format!("{key}[{i}] ({})", s.name);
            if !names.insert(s.name.clone()) {
                return Err(bad(
                    place,
                    "step names must be unique (thresholds and reports name steps)".into(),
                ));
            }
            if s.name.contains('.') || s.name.is_empty() {
                return Err(bad(
                    place,
                    "a step name must be non-empty and have no '.' (thresholds read STEP.metric)"
                        .into(),
                ));
            }
            let method = http::Method::from_bytes(s.method.to_ascii_uppercase().as_bytes())
                .map_err(|_| bad(place.clone(), format!("invalid method {:?}", s.method)))?;
            if !s.path.starts_with('/') {
                return Err(bad(
                    format!("{place}.path"),
                    format!("{:?} must start with '/'", s.path),
                ));
            }
            let path = Template::parse(&s.path).map_err(|e| bad(format!("{place}.path"), e))?;
            let mut headers = Vec::new();
            for (k, v) in &s.headers {
                let name = http::header::HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                    bad(
                        format!("{place}.headers"),
                        format!("invalid header name {k:?}"),
                    )
                })?;
                headers.push((
                    name,
                    Template::parse(v).map_err(|e| bad(format!("{place}.headers.{k}"), e))?,
                ));
            }
            let body = match (s.json, s.body) {
                (Some(_), Some(_)) => {
                    return Err(bad(place, "give json or body, not both".into()));
                }
                (Some(j), None) => Body::Json(
                    ValueTemplate::parse(&j).map_err(|e| bad(format!("{place}.json"), e))?,
                ),
                (None, Some(b)) => {
                    Body::Text(Template::parse(&b).map_err(|e| bad(format!("{place}.body"), e))?)
                }
                (None, None) => Body::None,
            };
            let expect_body = s
                .expect
                .body
                .as_deref()
                .map(Regex::new)
                .transpose()
                .map_err(|e| {
                    bad(
                        format!("{place}.expect.body"),
                        format!("invalid regex ({e})"),
                    )
                })?;
            let json_check = |c: JsonCheckFile, at: String| -> WdResult<JsonCheck> {
                Ok(JsonCheck {
                    path: JsonPath::parse(&c.path).map_err(|e| bad(at, e))?,
                    equals: c.equals,
                })
            };
            let expect_json = s
                .expect
                .json
                .map(|c| json_check(c, format!("{place}.expect.json.path")))
                .transpose()?;
            let mut extract = Vec::new();
            for (var, x) in s.extract {
                let at = format!("{place}.extract.{var}");
                let n = x.json.is_some() as u8
                    + x.header.is_some() as u8
                    + x.text.is_some() as u8
                    + x.regex.is_some() as u8;
                if n != 1 {
                    return Err(bad(
                        at,
                        "give exactly one of json, header, text, regex".into(),
                    ));
                }
                let e = if let Some(p) = x.json {
                    Extract::Json(JsonPath::parse(&p).map_err(|e| bad(at.clone(), e))?)
                } else if let Some(h) = x.header {
                    Extract::Header(
                        http::header::HeaderName::from_bytes(h.as_bytes())
                            .map_err(|_| bad(at.clone(), format!("invalid header name {h:?}")))?,
                    )
                } else if let Some(r) = x.regex {
                    Extract::Regex(
                        Regex::new(&r)
                            .map_err(|e| bad(at.clone(), format!("invalid regex ({e})")))?,
                    )
                } else {
                    Extract::Text
                };
                extract.push((var, e));
            }
            let poll = match s.poll {
                None => None,
                Some(p) => {
                    let interval = match p.interval {
                        Some(t) => parse_duration(&t)
                            .map_err(|e| bad(format!("{place}.poll.interval"), e))?,
                        None => Duration::from_millis(200),
                    };
                    Some(Poll {
                        until: json_check(p.until, format!("{place}.poll.until.path"))?,
                        interval,
                        attempts: p.attempts.unwrap_or(20).max(1),
                    })
                }
            };
            let service = svc(&s.service);
            let state = s.state.iter().map(|n| svc(n)).collect();
            let reads_body = !extract.is_empty()
                || expect_body.is_some()
                || expect_json.is_some()
                || poll.is_some();
            steps.push(Step {
                name: s.name,
                phase,
                service,
                method,
                path,
                headers,
                body,
                expect_status: s.expect.status,
                expect_body,
                expect_json,
                extract,
                state,
                poll,
                unless: s.unless,
                reads_body,
            });
        }
    }
    Ok(Scenario {
        name: f.name,
        source: source.to_string(),
        vars: f.vars,
        services,
        drift_status,
        drift_body,
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_yaml_names_file_and_line() {
        let e = parse("name: x\nsteps:\n  - name: a\n    service: [\n", "s.yaml").unwrap_err();
        assert!(e.message.starts_with("s.yaml:"), "{}", e.message);
        let e = parse(
            "name: x\nsteps:\n  - name: a\n    service: w\n    path: /\n    bogus: 1\n",
            "s.yaml",
        )
        .unwrap_err();
        assert!(
            e.message.starts_with("s.yaml:6:") && e.message.contains("bogus"),
            "{}",
            e.message
        );
    }

    #[test]
    fn json_paths_accept_jq_style() {
        let p = JsonPath::parse(".wallets[0].id").unwrap();
        let v = serde_json::json!({"wallets": [{"id": "w1"}]});
        assert_eq!(p.first(&v), Some(&serde_json::json!("w1")));
        assert!(JsonPath::parse("$.a[").is_err());
    }
}
