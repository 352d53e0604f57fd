//! What a render needs that does not depend on the Inventory, loaded on two more threads while
//! the Inventory is read:
//! - the setup thread: the values schema compiled (src/schema.rs); the scenario, when
//!   `--scenario` names it (else it comes from the Inventory and [`crate::run`] reads it then);
//!   the values files read and, with the scenario's components known, each checked alone; and
//!   config/secrets.yaml parsed ([`crate::plan::parse`]; the plan itself needs the values);
//! - the templates thread: the template manifest and every template it names for the flavor
//!   parsed (handlebars, the largest single cost).
//!
//! Each input file's checksum for the RenderPlan is taken where the file is read.
//!
//! In the pipe `wd-inventory | wd-render` the render would otherwise wait idle for wd-inventory
//! and only then do this work; with a file (`--inventory FILE`) it overlaps parsing the file.
//! Nothing here writes anything or reports anything: every result, error included, is handed
//! to [`crate::run`], which uses it at the point where it used to load it, so the first error a
//! user sees and the exit code are those of a render that loads everything in order. (A step
//! that follows a failed one in that order is not taken: it would not have been.)
//! Not here: anything that depends on the Inventory (the images layer, the merged values, the
//! context, the render itself).

use crate::plan::{self, Secrets};
use crate::render::{self, Manifest, Templates};
use crate::schema::ValuesSchema;
use crate::{input_of, values, Input};
use serde_json::Value;
use std::path::PathBuf;
use std::thread::JoinHandle;
use wd_core::scenario::Scenario;
use wd_core::WdResult;

/// A values file: its values, checked alone against the schema when the scenario was known
/// (`input` is then its checksum; without the scenario [`crate::run`] checks it, then reads it).
pub struct Layer {
    pub value: Value,
    pub input: Option<Input>,
}

/// The setup thread's results; each keeps its own error.
pub struct Setup {
    /// The scenario `--scenario` named: its path, the scenario and its checksum.
    pub scenario: Option<WdResult<(PathBuf, Scenario, Input)>>,
    /// `<config>/values.schema.json`, compiled (with the scenario's components if it was known).
    pub schema: WdResult<ValuesSchema>,
    /// Each values file given to [`Preload::start`], in order ([`values::load`]).
    pub values: Vec<WdResult<Layer>>,
    /// `<config>/secrets.yaml`, parsed, and its checksum.
    pub secrets: WdResult<Secrets>,
    pub secrets_input: WdResult<Input>,
}

/// The templates thread's results.
pub struct Loaded {
    /// `<config>/templates/manifest.yaml`, and its checksum.
    pub manifest: WdResult<Manifest>,
    pub manifest_input: WdResult<Input>,
    /// The manifest's templates for the flavor (empty when the manifest failed).
    pub templates: Templates,
}

/// What to load.
#[derive(Clone)]
struct Job {
    config_dir: PathBuf,
    flavor: String,
    scenario: Option<String>,
    values: Vec<PathBuf>,
}

impl Job {
    fn setup(&self) -> Setup {
        let scenario = self.scenario.as_ref().map(|name| {
            let path = wd_core::scenario::scenario_path(&self.config_dir, name)?;
            let sc = Scenario::read(&path)?;
            let input = input_of(&path, "scenario")?;
            Ok((path, sc, input))
        });
        let components = match &scenario {
            Some(Ok((_, sc, _))) => Some(sc.render.components.keys().cloned().collect()),
            _ => None,
        };
        let schema = ValuesSchema::compile(&self.config_dir);
        let schema = match components {
            Some(c) => schema.map(|s| s.with_components(c)),
            None => schema,
        };
        // Checked here only when every step before the check succeeded (else the run stops there).
        let check = schema
            .as_ref()
            .ok()
            .filter(|_| matches!(scenario, Some(Ok(_))));
        let values = self
            .values
            .iter()
            .map(|p| {
                let value = values::load(p)?;
                let input = match check {
                    Some(s) => {
                        s.check_layer(&value, &p.display().to_string())?;
                        Some(input_of(p, "values")?)
                    }
                    None => None,
                };
                Ok(Layer { value, input })
            })
            .collect();
        let secrets_path = self.config_dir.join("secrets.yaml");
        Setup {
            scenario,
            schema,
            values,
            secrets: plan::parse(&secrets_path),
            secrets_input: input_of(&secrets_path, "secrets"),
        }
    }

    fn templates(&self) -> Loaded {
        let templates_dir = self.config_dir.join("templates");
        let manifest_path = templates_dir.join("manifest.yaml");
        let manifest = render::load_manifest(&manifest_path);
        let templates = match &manifest {
            Ok(m) => Templates::load(&templates_dir, m, &self.flavor),
            Err(_) => Templates::default(),
        };
        Loaded {
            manifest,
            manifest_input: input_of(&manifest_path, "template"),
            templates,
        }
    }
}

/// A preload under way (or, for a part whose thread could not be started, one done when it
/// is asked for).
pub struct Preload {
    setup: Option<JoinHandle<Setup>>,
    templates: Option<JoinHandle<Loaded>>,
    job: Job,
}

fn spawn<T: Send + 'static>(name: &str, job: &Job, f: fn(&Job) -> T) -> Option<JoinHandle<T>> {
    let job = job.clone();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || f(&job))
        .ok()
}

fn join<T>(t: JoinHandle<T>) -> T {
    t.join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

impl Preload {
    /// Starts loading what `config_dir` holds for `flavor` and `scenario` (when known), and
    /// the `values` files.
    pub fn start(
        config_dir: PathBuf,
        flavor: &str,
        scenario: Option<&str>,
        values: Vec<PathBuf>,
    ) -> Preload {
        let job = Job {
            config_dir,
            flavor: flavor.to_string(),
            scenario: scenario.map(str::to_string),
            values,
        };
        Preload {
            setup: spawn("preload", &job, Job::setup),
            templates: spawn("templates", &job, Job::templates),
            job,
        }
    }

    /// The setup thread's results (waits for it; a panic there is re-raised here).
    pub fn setup(&mut self) -> Setup {
        match self.setup.take() {
            Some(t) => join(t),
            None => self.job.setup(),
        }
    }

    /// The templates thread's results (waits for it; a panic there is re-raised here).
    pub fn templates(self) -> Loaded {
        match self.templates {
            Some(t) => join(t),
            None => self.job.templates(),
        }
    }
}
