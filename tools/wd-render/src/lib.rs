//! wd-render: render everything a deployment needs from an Inventory (see `--help`).
//!
//! The library behind the `wd-render` binary (a thin `main.rs`); [`run`] wires the modules:
//! input (bounded) → values (each layer checked against config/values.schema.json, [`schema`])
//! → context → templates → the output set, switched as a whole ([`outset`]).
//! Not here: reading compose files (wd-inventory) or talking to Vault (wd-secrets).

pub mod context;
pub mod hbs;
pub mod outset;
pub mod pattern;
pub mod plan;
pub mod preload;
pub mod quickread;
pub mod render;
pub mod schema;
pub mod values;

use clap::Parser;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wd_core::cli::CommonArgs;
use wd_core::docs::inventory::Inventory;
use wd_core::docs::render_plan::*;
use wd_core::fsio::{sha256_hex, OutFile};
use wd_core::{output, Exit, WdError, WdResult};

/// `--target` and `--flavor` are the RenderPlan's own enums (wd-core), so the plan says exactly
/// what the command line chose.
pub use wd_core::docs::render_plan::{DeployTarget as Target, Flavor};

/// Render the walt.id config files, backends.json, auth-providers.json, the umbrella chart's
/// values and the secret plan from an Inventory (stdin) and values, atomically into --out.
#[derive(Debug, Parser)]
#[command(
    name = "wd-render",
    version,
    about,
    after_help = "Exit codes: 0 ok, 2 bad input or usage (nothing written).\nLimits: the Inventory at most 32 MiB (a JSON object), a values file at most 4 MiB.\nValues are checked against config/values.schema.json (each file, the environment and each --set alone, then merged).\nExample: wd-inventory --scenario waltid | wd-render --target local --out out/"
)]
pub struct Cli {
    /// Read the Inventory from FILE instead of stdin.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Values file merged over config/values/ (repeatable, later wins).
    #[arg(long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// Set a value: key.path=value (YAML scalar); repeatable, applied last.
    #[arg(long = "set", value_name = "K=V")]
    pub set: Vec<String>,
    /// Set a value as a string (no YAML typing, e.g. a tag like 1.10); repeatable.
    #[arg(long = "set-string", value_name = "K=V")]
    pub set_string: Vec<String>,
    /// Deployment target (selects config/values/target-<target>.yaml).
    #[arg(long, value_enum, default_value = "local")]
    pub target: Target,
    /// What to render for: Kubernetes (charts, ExternalSecrets) or docker compose (conf files + env file).
    #[arg(long, value_enum, default_value = "k8s")]
    pub flavor: Flavor,
    /// Output directory. The set switches as a whole: DIR/<entry> are links into
    /// DIR/.wd-render/current, one rename moves them all to a new render; other files in DIR stay.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Scenario (default: the Inventory's).
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Where scenarios, values and templates live [default: $WD_CONFIG_DIR, else ./config, else the checkout's config/].
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// compose flavor only: write secret values the app reads from files (DEMO_ACCOUNT_PASSWORD)
    /// from the environment into them (mode 0600). Without it they are left empty and listed
    /// under pendingSecrets.
    #[arg(long)]
    pub secrets_from_env: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Largest Inventory read from stdin or --inventory (documented in `--help` and the README): the
/// 640-service inventory is about 2 MiB; larger input is refused before it is parsed.
pub const MAX_INPUT_BYTES: u64 = 32 << 20;

/// Reads the Inventory: at most [`MAX_INPUT_BYTES`], and only a JSON object (a JSON array or a
/// scalar is refused from its first byte, before any parsing). Returns the Inventory, the
/// sha256 of its text and the name it was read as (the file, or `<stdin>`).
pub fn read_inventory(path: Option<&Path>) -> WdResult<(Inventory, String, String)> {
    let (text, name) = read_inventory_text(path, None)?;
    let (doc, sha) = std::thread::scope(|s| {
        let sha = s.spawn(|| sha256_hex(text.as_bytes()));
        let doc = parse_inventory(&text, &name);
        (doc, sha.join())
    });
    let sha = sha.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    Ok((doc?, sha, name))
}

const INVENTORY_HINT: &str =
    "pipe one (wd-inventory --scenario waltid | wd-render) or pass --inventory FILE";

/// The Inventory's text and the name it was read as, checked as [`read_inventory`] says.
/// `scan`, when given, reads what the render uses of it as each piece arrives.
fn read_inventory_text(
    path: Option<&Path>,
    mut scan: Option<&mut quickread::Incremental>,
) -> WdResult<(String, String)> {
    use std::io::{IsTerminal, Read};
    let hint = INVENTORY_HINT;
    let (reader, name): (Box<dyn Read>, String) = match path {
        Some(p) => {
            let f = std::fs::File::open(p).map_err(|e| wd_core::fsio::io_input_error(p, &e))?;
            (Box::new(f), p.display().to_string())
        }
        None => {
            if std::io::stdin().is_terminal() {
                return Err(WdError::input(format!("no Inventory on stdin; {hint}")));
            }
            (Box::new(std::io::stdin()), "<stdin>".to_string())
        }
    };
    // Read in chunks: the first byte that is not white space decides before the rest is read.
    // Each chunk goes straight into `bytes` (no zeroed buffer, no copy; 256 KiB is a 33-service
    // Inventory, and a larger one grows by doubling).
    let mut reader = reader.take(MAX_INPUT_BYTES + 1);
    let mut bytes = Vec::with_capacity(256 << 10);
    let mut seen_start = false;
    loop {
        let before = bytes.len();
        let n = match (&mut reader).take(64 * 1024).read_to_end(&mut bytes) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => return Err(WdError::input(format!("{name}: cannot read ({e}); {hint}"))),
        };
        if !seen_start {
            if let Some(b) = bytes[before..before + n]
                .iter()
                .find(|b| !b.is_ascii_whitespace())
            {
                if *b != b'{' {
                    return Err(WdError::input(format!(
                        "{name}: not a JSON object (it starts with {:?}); an Inventory is one ({hint})",
                        *b as char
                    )));
                }
                seen_start = true;
            }
        }
        if let Some(scan) = scan.as_deref_mut() {
            scan.feed(&bytes, false);
        }
    }
    if let Some(scan) = scan {
        scan.feed(&bytes, true);
    }
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(WdError::input(format!(
            "{name}: more than {} MiB; an Inventory is far smaller, pass the right file ({hint})",
            MAX_INPUT_BYTES >> 20
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| WdError::input(format!("{name}: not UTF-8 text; {hint}")))?;
    Ok((text, name))
}

/// The typed parse straight from the text is the common case and about twice as fast as
/// wd_core's parse (JSON → Value → Inventory); anything it refuses goes through that parse,
/// so a bad Inventory gets exactly its message (apiVersion, kind, position).
fn parse_inventory(text: &str, name: &str) -> WdResult<Inventory> {
    match serde_json::from_str::<Inventory>(text) {
        Ok(doc) => Ok(doc),
        Err(_) => wd_core::docs::parse(text, name),
    }
}

/// The whole Inventory parsed and checked, and its checksum taken, on another thread while the
/// render goes on with what it uses of it ([`context::InventoryUse`], read from the same text
/// with the rest skipped: the typed parse of every field was a fifth of a render's own work,
/// done after wd-inventory had finished). A bad Inventory is still the first error reported:
/// [`run`] asks [`Self::finish`] before anything is written and before it reports any other
/// error.
struct InventoryCheck {
    thread: Option<std::thread::JoinHandle<(WdResult<Inventory>, String)>>,
    /// The result, once joined (`Err` keeps the Inventory's error).
    done: Option<(WdResult<Inventory>, String)>,
}

impl InventoryCheck {
    fn start(text: std::sync::Arc<String>, name: String) -> InventoryCheck {
        let work = move || {
            let sha = sha256_hex(text.as_bytes());
            (parse_inventory(&text, &name), sha)
        };
        match std::thread::Builder::new()
            .name("inventory".into())
            .spawn(work.clone())
        {
            Ok(t) => InventoryCheck {
                thread: Some(t),
                done: None,
            },
            Err(_) => InventoryCheck {
                thread: None,
                done: Some(work()),
            },
        }
    }

    fn join(&mut self) -> &(WdResult<Inventory>, String) {
        if let Some(t) = self.thread.take() {
            let r = t
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            self.done = Some(r);
        }
        self.done.as_ref().expect("joined")
    }

    /// The Inventory's checksum, or its error.
    fn finish(&mut self) -> WdResult<String> {
        match self.join() {
            (Ok(_), sha) => Ok(sha.clone()),
            (Err(e), _) => Err(e.clone()),
        }
    }

    /// What the render uses, from the checked Inventory (when the quick read refused the text).
    fn used(&mut self) -> WdResult<context::InventoryUse> {
        match self.join() {
            (Ok(inv), _) => Ok(context::InventoryUse::from(inv)),
            (Err(e), _) => Err(e.clone()),
        }
    }

    /// `e`, unless the Inventory is bad: then its error, which comes first.
    fn first_error(&mut self, e: WdError) -> WdError {
        match self.join() {
            (Err(inv), _) => inv.clone(),
            (Ok(_), _) => e,
        }
    }
}

impl Drop for InventoryCheck {
    fn drop(&mut self) {
        // Freeing the parsed tree is work nothing waits for.
        if let Some(done) = self.done.take() {
            leave_to_exit(done);
        }
    }
}

/// Merges a values layer, then its `flavor.<flavor>` section.
fn layer(values: &mut Value, l: &Value, flavor: &str) {
    let mut base = l.clone();
    let fl = base.as_object_mut().and_then(|o| o.remove("flavor"));
    values::merge(values, &base);
    if let Some(f) = fl.as_ref().and_then(|f| f.get(flavor)) {
        values::merge(values, f);
    }
}

/// An input file of the render, as the RenderPlan lists it.
pub struct Input {
    path: String,
    sha: String,
    role: &'static str,
}

pub(crate) fn input_of(path: &Path, role: &'static str) -> WdResult<Input> {
    let bytes = std::fs::read(path).map_err(|e| wd_core::fsio::io_input_error(path, &e))?;
    Ok(Input {
        path: path.display().to_string(),
        sha: sha256_hex(&bytes),
        role,
    })
}

/// Leaves `v` to the process exit. Only [`run`] uses this (main calls it once, and the process
/// ends when it returns), for trees no later step reads: freeing them node by node was CPU the
/// two cores share with wd-inventory in the pipe (3.5M instructions of a users-33 render).
pub(crate) fn leave_to_exit<T: Send + 'static>(v: T) {
    std::mem::forget(v);
}

/// Renders as `wd-render` with these arguments.
pub fn run(cli: Cli) -> WdResult<Exit> {
    let format = cli.common.init();
    let flavor = if cli.flavor == Flavor::K8s {
        "k8s"
    } else {
        "compose"
    };
    let target = cli.target.as_str();
    if cli.secrets_from_env && cli.flavor == Flavor::K8s {
        return Err(WdError::input("--secrets-from-env: only with --flavor compose; on Kubernetes secrets come from Vault through ExternalSecrets"));
    }

    // 0. What does not depend on the Inventory is loaded meanwhile (preload.rs).
    let config_dir = wd_core::scenario::config_dir(cli.config_dir.as_deref());
    let default_path = config_dir.join("values/default.yaml");
    let target_path = config_dir.join(format!("values/target-{target}.yaml"));
    let mut value_files = vec![];
    if target_path.is_file() {
        value_files.push(target_path);
    }
    value_files.extend(cli.values.iter().cloned());
    let preload = preload::Preload::start(
        config_dir.clone(),
        flavor,
        cli.scenario.as_deref(),
        std::iter::once(&default_path)
            .chain(&value_files)
            .cloned()
            .collect(),
        Some(cli.out.clone()),
    );

    // 1. The Inventory: what the render uses of it now, the whole document checked meanwhile.
    let mut scan = quickread::Incremental::default();
    let (text, inv_name) = read_inventory_text(cli.inventory.as_deref(), Some(&mut scan))?;
    let text = std::sync::Arc::new(text);
    let mut check = InventoryCheck::start(text.clone(), inv_name.clone());
    let quick = match scan.finish() {
        Some(used) => Ok(used),
        None => serde_json::from_str::<context::InventoryUse>(&text),
    };
    drop(text);
    let inventory = match quick {
        Ok(used) => used,
        Err(_) => check.used()?,
    };
    let rendered = render_with(
        &cli,
        format,
        flavor,
        target,
        &config_dir,
        &default_path,
        &value_files,
        preload,
        inventory,
        inv_name,
        &mut check,
    );
    rendered.map_err(|e| check.first_error(e))
}

/// Steps 2 to 6 of [`run`], with the Inventory's used part; `check` is asked before anything
/// is written.
#[allow(clippy::too_many_arguments)]
fn render_with(
    cli: &Cli,
    format: output::Format,
    flavor: &str,
    target: &str,
    config_dir: &Path,
    default_path: &Path,
    value_files: &[PathBuf],
    preload: preload::Preload,
    inventory: context::InventoryUse,
    inv_name: String,
    check: &mut InventoryCheck,
) -> WdResult<Exit> {
    let config_dir = config_dir.to_path_buf();
    // The Inventory's checksum is filled in once `check` is done (step 6).
    let mut inputs = vec![Input {
        path: inv_name.clone(),
        sha: String::new(),
        role: "inventory",
    }];

    // 2. Scenario and config.
    let scenario = cli.scenario.clone().or_else(|| inventory.sources.scenario.clone()).ok_or_else(|| {
        WdError::input(format!("{inv_name}: sources.scenario is empty; pass --scenario NAME (or run wd-inventory --scenario NAME)"))
    })?;
    let mut setup = preload.setup();
    let sc = match setup.scenario.take() {
        // `--scenario` named it: read while the Inventory was (preload.rs).
        Some(loaded) => {
            let (_, sc, input) = loaded?;
            inputs.push(input);
            sc
        }
        None => {
            let scenario_path = wd_core::scenario::scenario_path(&config_dir, &scenario)?;
            let sc = wd_core::scenario::Scenario::read(&scenario_path)?;
            inputs.push(input_of(&scenario_path, "scenario")?);
            sc
        }
    };

    // 3. Values: default.yaml < inventory images < target-<t>.yaml < --values < deploy.sh env < --set.
    //    Each layer is checked alone (the first bad one is named), then the merged values.
    let components: Vec<String> = sc.render.components.keys().cloned().collect();
    let schema = setup.schema?.with_components(components);
    let mut layers = std::mem::take(&mut setup.values).into_iter();
    // A values file as preloaded: checked there when the scenario was known, else here.
    let mut values_file = |p: &Path, inputs: &mut Vec<Input>| -> WdResult<Value> {
        let l = layers.next().expect("one per values file")?;
        let input = match l.input {
            Some(input) => input,
            None => {
                schema.check_layer(&l.value, &p.display().to_string())?;
                input_of(p, "values")?
            }
        };
        inputs.push(input);
        Ok(l.value)
    };
    let mut vals = json!({});
    let default_layer = values_file(default_path, &mut inputs)?;
    layer(&mut vals, &default_layer, flavor);
    let images = context::inventory_images(&inventory, &sc.render);
    schema.check_layer(&images, &format!("{inv_name}: the images of the Inventory"))?;
    values::merge(&mut vals, &images);
    for p in value_files {
        let l = values_file(p, &mut inputs)?;
        layer(&mut vals, &l, flavor);
    }
    let slugs: Vec<(String, String)> = sc
        .render
        .components
        .iter()
        .map(|(k, c)| (k.clone(), c.slug.clone()))
        .collect();
    let mut env_layer = json!({});
    values::apply_deploy_env(&mut env_layer, &|k| std::env::var(k).ok(), &slugs);
    schema.check_layer(
        &env_layer,
        "the environment (VERIFIABLY_PUBLIC_HOST, VERIFIABLY_HOSTS_PATTERN, VERIFIABLY_SLUG_*)",
    )?;
    values::merge(&mut vals, &env_layer);
    let sets = cli
        .set
        .iter()
        .map(|s| (s, false))
        .chain(cli.set_string.iter().map(|s| (s, true)));
    for (expr, string) in sets {
        let (path, v) = values::parse_set(expr, string)?;
        let flag = if string { "--set-string" } else { "--set" };
        schema.check_layer(&values::set_layer(&path, &v), &format!("{flag} {expr}"))?;
        values::set_path(&mut vals, &path, v);
    }
    schema.check_merged(&vals)?;
    // Neither is used again; freeing them is work no later step needs to wait for.
    leave_to_exit((schema, inventory));

    // 4. Secret plan (one source for secret names, paths and env vars).
    let secrets_path = config_dir.join("secrets.yaml");
    let kv = values::get(&vals, "vault.kvMount")
        .and_then(Value::as_str)
        .unwrap_or("secret")
        .to_string();
    let prefix = values::get(&vals, "vault.pathPrefix")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let secrets = preload.secrets();
    let secret_plan = plan::build(secrets.secrets?, &scenario, &kv, &prefix)?;
    inputs.push(secrets.input?);

    // 5. Context and templates.
    let demo_password = if cli.secrets_from_env {
        let var = secret_plan
            .secrets
            .iter()
            .find(|s| s.name == "demo-account-password")
            .and_then(|s| s.env.clone())
            .unwrap_or_default();
        Some(
            std::env::var(&var)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    WdError::input(format!(
                        "--secrets-from-env: {var} is not set; export it or drop the flag"
                    ))
                })?,
        )
    } else {
        None
    };
    let ctx = context::build(&context::Inputs {
        scenario: &scenario,
        flavor,
        target,
        values: &vals,
        render: &sc.render,
        plan: &secret_plan,
        demo_password: demo_password.clone(),
    })?;
    // The plan's URLs, before the context is handed to the templates (no copy of it is kept).
    let urls = ctx["urls"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| ctx["public"][k.as_str()] == json!(true))
                .map(|(k, v)| UrlEntry {
                    role: k.clone(),
                    url: v.as_str().unwrap_or_default().to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let templates_dir = config_dir.join("templates");
    let loaded = preload.templates();
    let manifest = loaded.manifest?;
    inputs.push(loaded.manifest_input?);
    let mut templates = loaded.templates;
    let mut rendered = render::render_all(
        &templates_dir,
        &mut templates,
        &manifest,
        ctx,
        flavor,
        &secret_plan,
    )?;
    let chart_of: BTreeMap<String, String> = sc
        .render
        .components
        .iter()
        .map(|(k, c)| (k.clone(), c.chart.clone()))
        .collect();
    if let Some(i) = rendered.iter().position(|r| r.def.component == "umbrella") {
        // The umbrella's own file is skipped when its component has no chart in chart_of (then
        // its text is not copied).
        let bytes = if chart_of.contains_key("umbrella") {
            rendered[i].bytes.clone()
        } else {
            std::mem::take(&mut rendered[i].bytes)
        };
        let text = String::from_utf8(bytes).expect("UTF-8");
        let parsed = rendered[i].yaml.take();
        rendered[i].bytes =
            render::embed_config_files(&text, parsed, &rendered, &chart_of)?.into_bytes();
    }

    // 6. Files, checksums, plan. The Inventory's check is done by now (or is its error).
    inputs[0].sha = check.finish()?;
    let common: Vec<String> = inputs
        .iter()
        .filter(|i| i.role != "template")
        .map(|i| i.path.clone())
        .collect();
    let mut files: Vec<OutFile> = Vec::new();
    let mut plan_files: Vec<RenderedFile> = Vec::new();
    let mut seen_templates: Vec<String> = Vec::new();
    let secret_file =
        |r: &render::Rendered| demo_password.is_some() && r.def.out == "app/backends.json";
    for r in &rendered {
        let tpl = format!("{}/templates/{}", config_dir.display(), r.def.template);
        if !seen_templates.contains(&tpl) {
            // The template's text was read for rendering: its checksum is known.
            let input = match templates.sha256(&r.def.template) {
                Some(sha) => Input {
                    path: templates_dir.join(&r.def.template).display().to_string(),
                    sha: sha.to_string(),
                    role: "template",
                },
                None => input_of(&templates_dir.join(&r.def.template), "template")?,
            };
            inputs.push(input);
            seen_templates.push(tpl.clone());
        }
        let mut used = vec![tpl];
        used.extend(common.iter().cloned());
        plan_files.push(RenderedFile {
            path: r.def.out.clone(),
            sha256: sha256_hex(&r.bytes),
            bytes: r.bytes.len() as u64,
            template: format!("templates/{}", r.def.template),
            component: r.def.component.clone(),
            inputs: used,
        });
        files.push(OutFile {
            rel_path: PathBuf::from(&r.def.out),
            bytes: r.bytes.clone(),
            mode: if secret_file(r) { 0o600 } else { 0o644 },
        });
    }
    let sp_path = "secrets/secret-plan.json";
    let sp_bytes = wd_core::docs::to_json(&secret_plan).into_bytes();
    plan_files.push(RenderedFile {
        path: sp_path.into(),
        sha256: sha256_hex(&sp_bytes),
        bytes: sp_bytes.len() as u64,
        template: "generated".into(),
        component: "secrets".into(),
        inputs: vec![secrets_path.display().to_string()],
    });
    files.push(OutFile {
        rel_path: sp_path.into(),
        bytes: sp_bytes,
        mode: 0o644,
    });

    let mut pending = Vec::new();
    if demo_password.is_none() && rendered.iter().any(|r| r.def.out == "app/backends.json") {
        let s = secret_plan
            .secrets
            .iter()
            .find(|s| s.name == "demo-account-password");
        pending.push(PendingSecret {
            file: "app/backends.json".into(),
            field: "/backends/0/config/demoAccount/password".into(),
            secret: "demo-account-password".into(),
            how: match (flavor, s) {
                ("k8s", Some(s)) => format!("the verifiably-go chart fills it from Secret {}/{} when it mounts backends.json", s.k8s_secret, s.k8s_key),
                (_, Some(s)) => format!("re-render with --secrets-from-env and {} set", s.env.clone().unwrap_or_default()),
                _ => "define demo-account-password in config/secrets.yaml".into(),
            },
        });
    }
    let plan_doc = RenderPlan {
        scenario: scenario.clone(),
        flavor: cli.flavor,
        target: cli.target,
        out_dir: cli.out.display().to_string(),
        inputs: inputs
            .iter()
            .map(|i| InputFile {
                path: i.path.clone(),
                sha256: i.sha.clone(),
                role: i.role.into(),
            })
            .collect(),
        files: plan_files,
        urls,
        secret_plan: sp_path.into(),
        pending_secrets: pending,
        ..Default::default()
    };
    files.push(OutFile {
        rel_path: "render-plan.json".into(),
        bytes: wd_core::docs::to_json(&plan_doc).into_bytes(),
        mode: 0o644,
    });

    leave_to_exit((rendered, vals, sc, secret_plan, templates, manifest));
    // The previous render in --out, read meanwhile by the preload thread (preload.rs).
    let stats = outset::switch_with(&cli.out, &files, preload.ahead())?;
    wd_core::term::step(&format!(
        "Rendered scenario={scenario} flavor={flavor} target={target}: {} files written, {} unchanged",
        stats.written, stats.unchanged
    ));
    for f in &plan_doc.files {
        wd_core::term::done(&format!("wrote {}", cli.out.join(&f.path).display()));
    }
    output::emit(&plan_doc, format)?;
    Ok(Exit::Ok)
}
