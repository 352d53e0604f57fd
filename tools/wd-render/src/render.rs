//! Renders the template manifest with handlebars in strict mode, entirely in memory.

use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason, Template,
};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use wd_core::docs::secret_plan::SecretPlan;
use wd_core::{WdError, WdResult};

pub mod yamlout;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub outputs: Vec<OutputDef>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct OutputDef {
    pub template: String,
    pub out: String,
    pub component: String,
    #[serde(default)]
    pub flavors: Option<Vec<String>>,
    #[serde(default)]
    pub when: Option<String>,
    #[serde(default)]
    pub with: Option<Value>,
    #[serde(default)]
    pub format: Option<String>,
}

/// A rendered file, before it is written.
pub struct Rendered {
    pub def: OutputDef,
    pub bytes: Vec<u8>,
    /// A `format: yaml` output as parsed when it was checked, as JSON values (`None`: it has
    /// none), so it is not parsed twice.
    pub yaml: Option<Option<Value>>,
}

pub fn load_manifest(path: &Path) -> WdResult<Manifest> {
    wd_core::yaml::read(path, "each output needs template, out and component")
}

/// The templates of a manifest's outputs for one flavor, read and parsed before the render
/// needs them (parsing is most of a render's template time, and it does not depend on the
/// Inventory, so [`crate::preload`] does it while the Inventory is read). A template that cannot
/// be read or parsed keeps its error; the render reports it only when an output it renders
/// uses that template, in manifest order, as if the template had been read there.
#[derive(Default)]
pub struct Templates {
    parsed: HashMap<String, WdResult<Template>>,
    sha256: HashMap<String, String>,
}

/// One template read and parsed ([`Templates::parse_one`]).
pub struct ParsedTemplate {
    result: WdResult<Template>,
    /// The checksum of its text, if it could be read.
    sha256: Option<String>,
}

impl Templates {
    /// Reads and parses every template an output of `flavor` names (each once).
    pub fn load(templates_dir: &Path, manifest: &Manifest, flavor: &str) -> Templates {
        Templates::from_parsed(
            Templates::names(manifest, flavor)
                .into_iter()
                .map(|name| {
                    let p = Templates::parse_one(templates_dir, &name);
                    (name, p)
                })
                .collect(),
        )
    }

    /// The templates the outputs of `flavor` name, each once, in manifest order.
    pub fn names(manifest: &Manifest, flavor: &str) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for def in manifest.outputs.iter().filter(|d| applies(d, flavor)) {
            if !names.contains(&def.template) {
                names.push(def.template.clone());
            }
        }
        names
    }

    /// Reads and parses one template (any thread may; [`crate::preload`] shares them out).
    pub fn parse_one(templates_dir: &Path, template: &str) -> ParsedTemplate {
        let mut t = Templates::default();
        let result = t.parse(templates_dir, template);
        ParsedTemplate {
            result,
            sha256: t.sha256.remove(template),
        }
    }

    /// The templates parsed by [`Self::parse_one`], by name.
    pub fn from_parsed(parsed: Vec<(String, ParsedTemplate)>) -> Templates {
        let mut t = Templates::default();
        for (name, p) in parsed {
            if let Some(sha) = p.sha256 {
                t.sha256.insert(name.clone(), sha);
            }
            t.parsed.insert(name, p.result);
        }
        t
    }

    /// The sha256 of a template's text as it was read, if it was read.
    pub fn sha256(&self, template: &str) -> Option<&str> {
        self.sha256.get(template).map(String::as_str)
    }

    /// Registers `template` in `hb` (once), reading and parsing it now if [`Self::load`] did not.
    fn register(
        &mut self,
        hb: &mut Handlebars,
        templates_dir: &Path,
        template: &str,
    ) -> WdResult<()> {
        if hb.has_template(template) {
            return Ok(());
        }
        let parsed = match self.parsed.remove(template) {
            Some(p) => p,
            None => self.parse(templates_dir, template),
        };
        hb.register_template(template, parsed?);
        Ok(())
    }

    /// Reads and parses one template as `Handlebars::register_template_string` does.
    fn parse(&mut self, templates_dir: &Path, template: &str) -> WdResult<Template> {
        let src = wd_core::fsio::read_text(&templates_dir.join(template))?;
        self.sha256.insert(
            template.to_string(),
            wd_core::fsio::sha256_hex(src.as_bytes()),
        );
        // The subset config/templates use compiles in linear time (src/hbs.rs) to the same
        // Template; anything else goes to handlebars' own compiler, errors included.
        if let Some(t) = crate::hbs::compile(&src, template) {
            return Ok(t);
        }
        Template::compile_with_name(&src, template.to_string()).map_err(|e| {
            let pos = e
                .pos()
                .map(|(l, c)| format!(":{l}:{c}"))
                .unwrap_or_default();
            WdError::input(format!(
                "config/templates/{template}{pos}: template syntax error: {}; fix the template",
                e.reason()
            ))
        })
    }
}

fn applies(def: &OutputDef, flavor: &str) -> bool {
    def.flavors
        .as_ref()
        .is_none_or(|f| f.iter().any(|x| x == flavor))
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

// {{json x}}: x as JSON (strings quoted and escaped), for JSON and YAML outputs.
handlebars::handlebars_helper!(json: |v: Json| serde_json::to_string(v).expect("JSON values serialise"));
// {{concat a b …}}: the parameters' text joined, for use inside other helpers.
handlebars::handlebars_helper!(concat: |*args| args.iter().map(|a| match a {
    Value::String(s) => s.clone(),
    other => other.to_string(),
}).collect::<String>());

fn registry(plan: &SecretPlan) -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    hb.register_helper("json", Box::new(json));
    hb.register_helper("concat", Box::new(concat));
    // {{env "logical-name"}} → the env var name of a planned secret; {{envref …}} → `${NAME}`.
    // Unknown names fail the render: the secret plan is the one source of secret names.
    let env_of: BTreeMap<String, Option<String>> = plan
        .secrets
        .iter()
        .map(|s| (s.name.clone(), s.env.clone()))
        .collect();
    for (helper, wrap) in [("env", false), ("envref", true)] {
        let map = env_of.clone();
        hb.register_helper(
            helper,
            Box::new(
                move |h: &Helper,
                      _: &Handlebars,
                      _: &Context,
                      _: &mut RenderContext,
                      out: &mut dyn Output|
                      -> HelperResult {
                    let name = h
                        .param(0)
                        .and_then(|p| p.value().as_str())
                        .ok_or_else(|| RenderErrorReason::ParamNotFoundForIndex("env", 0))?;
                    let env = match map.get(name) {
                        Some(Some(e)) => e.clone(),
                        Some(None) => {
                            return Err(RenderErrorReason::Other(format!(
                                "secret {name:?} has no env var in config/secrets.yaml"
                            ))
                            .into())
                        }
                        None => {
                            return Err(RenderErrorReason::Other(format!(
                                "unknown secret {name:?}; define it in config/secrets.yaml"
                            ))
                            .into())
                        }
                    };
                    if wrap {
                        out.write(&format!("${{{env}}}"))?;
                    } else {
                        out.write(&env)?;
                    }
                    Ok(())
                },
            ),
        );
    }
    hb
}

/// Renders every output of the manifest that applies to the flavor, with the templates
/// `templates` holds (see [`Templates`]). Nothing is written.
///
/// `format: yaml` outputs (the umbrella values, the largest) are rendered first and parsed on a
/// second thread while the others render; every output keeps its result, and the first error in
/// manifest order is the one returned, as when they are rendered in order. Each `when` is judged
/// in manifest order first, against the context as the render in order leaves it (`local` is the
/// last rendered output's `with:`).
pub fn render_all(
    templates_dir: &Path,
    templates: &mut Templates,
    manifest: &Manifest,
    ctx: Value,
    flavor: &str,
    plan: &SecretPlan,
) -> WdResult<Vec<Rendered>> {
    let mut hb = registry(plan);
    // One Context for all outputs: `render(name, &Value)` would deep-copy the whole context
    // for every file, which was most of a render's CPU time.
    let mut ctx = Context::from(ctx);
    let set_local = |ctx: &mut Context, def: &OutputDef| {
        if let Some(o) = ctx.data_mut().as_object_mut() {
            o.insert("local".into(), def.with.clone().unwrap_or(Value::Null));
        }
    };
    // The outputs rendered, in manifest order.
    let mut chosen: Vec<&OutputDef> = Vec::new();
    for def in &manifest.outputs {
        if !applies(def, flavor) {
            continue;
        }
        if let Some(w) = &def.when {
            if !truthy(crate::values::get(ctx.data(), w)) {
                continue;
            }
        }
        set_local(&mut ctx, def);
        chosen.push(def);
    }
    let is_yaml = |def: &OutputDef| def.format.as_deref() == Some("yaml");
    let mut render_one = |def: &OutputDef| -> WdResult<String> {
        let shown = format!("config/templates/{}", def.template);
        templates.register(&mut hb, templates_dir, &def.template)?;
        // `local` is this output's `with:`.
        set_local(&mut ctx, def);
        hb.render_with_context(&def.template, &ctx).map_err(|e| {
            let pos = match (e.line_no, e.column_no) {
                (Some(l), Some(col)) => format!(":{l}:{col}"),
                _ => String::new(),
            };
            let why = match e.reason() {
                RenderErrorReason::MissingVariable(Some(v)) => format!("unknown variable {v:?}; define it in values (config/values/, --values, --set) or fix the template"),
                RenderErrorReason::MissingVariable(None) => "unknown variable; define it in values or fix the template".to_string(),
                other => format!("{other}"),
            };
            WdError::input(format!("{shown}{pos}: {why}"))
        })
    };
    // Each output's result: the YAML ones' text (parsed below), the others' bytes.
    let mut texts: Vec<Option<WdResult<String>>> = chosen.iter().map(|_| None).collect();
    let mut done: Vec<Option<WdResult<Vec<u8>>>> = chosen.iter().map(|_| None).collect();
    for (i, def) in chosen.iter().enumerate().filter(|(_, d)| is_yaml(d)) {
        texts[i] = Some(render_one(def));
    }
    let rendered = std::thread::scope(|s| {
        // The YAML outputs parsed meanwhile (and as JSON values, as the umbrella's are used).
        let yaml_texts: Vec<(usize, String)> = texts
            .iter()
            .enumerate()
            .filter_map(|(i, t)| match t {
                Some(Ok(text)) => Some((i, text.clone())),
                _ => None,
            })
            .collect();
        let parse_yaml = move || -> Vec<(usize, Result<Option<Value>, serde_norway::Error>)> {
            yaml_texts
                .into_iter()
                .map(|(i, text)| {
                    // wd-core's fast reader first: the value serde_norway would give, or None.
                    let parsed = match wd_core::yaml_fast::parse(&text) {
                        Some(y) => Ok(y),
                        None => serde_norway::from_str::<serde_norway::Value>(&text),
                    }
                    .map(|y| serde_json::to_value(y).ok());
                    (i, parsed)
                })
                .collect()
        };
        let parser = std::thread::Builder::new()
            .name("yaml".into())
            .spawn_scoped(s, parse_yaml.clone())
            .ok();
        for (i, def) in chosen.iter().enumerate().filter(|(_, d)| !is_yaml(d)) {
            done[i] = Some(render_one(def).and_then(|text| finish(def, text)));
        }
        let mut parsed: Vec<Option<Result<Option<Value>, serde_norway::Error>>> =
            chosen.iter().map(|_| None).collect();
        let results = match parser {
            Some(t) => t
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            None => parse_yaml(),
        };
        for (i, p) in results {
            parsed[i] = Some(p);
        }
        let mut out = Vec::new();
        for (((def, text), done), parsed) in chosen.iter().zip(texts).zip(done).zip(parsed) {
            let (bytes, yaml) = match text {
                Some(text) => {
                    let text = text?;
                    let parsed = parsed.expect("every YAML output is parsed").map_err(|e| {
                        let loc = e.location().map(|l| format!(" at output line {} column {}", l.line(), l.column())).unwrap_or_default();
                        WdError::input(format!("config/templates/{}: renders invalid YAML{loc}; use {{{{json …}}}} for values", def.template))
                    })?;
                    (text.into_bytes(), Some(parsed))
                }
                None => (done.expect("every other output is rendered")?, None),
            };
            out.push(Rendered {
                def: (*def).clone(),
                bytes,
                yaml,
            });
        }
        Ok(out)
    });
    crate::leave_to_exit((hb, ctx));
    rendered
}

/// The bytes of a rendered output that is not `format: yaml`: JSON is checked and printed
/// pretty; text is as rendered.
fn finish(def: &OutputDef, text: String) -> WdResult<Vec<u8>> {
    let shown = format!("config/templates/{}", def.template);
    match def.format.as_deref() {
        Some("json") => {
            let v: Value = serde_json::from_str(&text).map_err(|e| {
                WdError::input(format!("{shown}: renders invalid JSON at output line {} column {} ({e}); use {{{{json …}}}} for values", e.line(), e.column()))
            })?;
            let mut s = serde_json::to_string_pretty(&v).expect("serialises");
            s.push('\n');
            Ok(s.into_bytes())
        }
        Some("text") | None => Ok(text.into_bytes()),
        Some(other) => Err(WdError::input(format!(
            "config/templates/manifest.yaml: {}: unknown format {other:?}; use json, yaml or text",
            def.out
        ))),
    }
}

/// Adds `<chart>.config.files.<file name>` to the umbrella values for every rendered file of a
/// component that has a chart, so the charts mount exactly what wd-render rendered. `parsed`
/// is `values_yaml` already parsed, if it was.
pub fn embed_config_files(
    values_yaml: &str,
    parsed: Option<Option<Value>>,
    rendered: &[Rendered],
    chart_of: &BTreeMap<String, String>,
) -> WdResult<String> {
    let header: String = values_yaml
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut v: Value = parsed
        .unwrap_or_else(|| {
            serde_norway::from_str::<serde_norway::Value>(values_yaml)
                .ok()
                .and_then(|y| serde_json::to_value(y).ok())
        })
        .ok_or_else(|| {
            WdError::input("config/templates/helm/values.yaml.hbs: renders invalid YAML")
        })?;
    // A file name is one key although it has dots. Unless a NUL is in a key or name (then the
    // names are protected with NULs and every NUL in a key becomes a dot afterwards, as always),
    // it is inserted as it is: the same values without rebuilding the whole tree.
    let protect = has_nul_key(&v)
        || chart_of.values().any(|c| c.contains('\0'))
        || rendered.iter().any(|r| r.def.out.contains('\0'));
    for r in rendered {
        let Some(chart) = chart_of.get(&r.def.component) else {
            continue;
        };
        let name = Path::new(&r.def.out)
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let content = String::from_utf8(r.bytes.clone()).expect("templates render UTF-8");
        if protect {
            crate::values::set_path(
                &mut v,
                &format!("{chart}.config.files.{}", name.replace('.', "\u{0}")),
                Value::String(content),
            );
        } else {
            let mut parts: Vec<&str> = chart.split('.').collect();
            parts.extend(["config", "files", &name]);
            crate::values::set_path_parts(&mut v, &parts, Value::String(content));
        }
    }
    let v = if protect { restore_dots(v) } else { v };
    // The fast writer gives serde_norway's exact bytes or declines (then serde_norway writes).
    let body = match yamlout::to_yaml(&v) {
        Some(body) => body,
        None => serde_norway::to_string(&v)
            .map_err(|e| WdError::input(format!("umbrella values: {e}")))?,
    };
    Ok(format!("{header}{body}"))
}

fn has_nul_key(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, x)| k.contains('\0') || has_nul_key(x)),
        Value::Array(a) => a.iter().any(has_nul_key),
        _ => false,
    }
}

fn restore_dots(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, x)| (k.replace('\u{0}', "."), restore_dots(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(restore_dots).collect()),
        other => other,
    }
}
