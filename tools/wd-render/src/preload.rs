//! What a render needs that does not depend on the Inventory, loaded on a second thread while
//! the Inventory is read: the values schema compiled (src/schema.rs), the template manifest and
//! every template it names for the flavor parsed (handlebars, now the largest cost), the
//! values files read.
//!
//! In the pipe `wd-inventory | wd-render` the render would otherwise wait idle for wd-inventory
//! and only then do this work; with a file (`--inventory FILE`) it overlaps parsing the file.
//! Nothing here writes anything or reports anything: every result, error included, is handed
//! to [`crate::run`], which uses it at the point where it used to load it, so the first error a
//! user sees and the exit code are those of a render that loads everything in order.
//! Not here: anything that depends on the Inventory or the scenario (components, values layers).

use crate::render::{self, Manifest, Templates};
use crate::schema::ValuesSchema;
use crate::values;
use serde_json::Value;
use std::path::PathBuf;
use std::thread::JoinHandle;
use wd_core::WdResult;

/// The preloaded parts; each keeps its own error.
pub struct Preloaded {
    /// `<config>/values.schema.json`, compiled (components not yet set).
    pub schema: WdResult<ValuesSchema>,
    /// `<config>/templates/manifest.yaml`.
    pub manifest: WdResult<Manifest>,
    /// The manifest's templates for the flavor (empty when the manifest failed).
    pub templates: Templates,
    /// Each values file given to [`Preload::start`], in order ([`values::load`]).
    pub values: Vec<WdResult<Value>>,
}

/// What to load.
#[derive(Clone)]
struct Job {
    config_dir: PathBuf,
    flavor: String,
    values: Vec<PathBuf>,
}

impl Job {
    fn run(self) -> Preloaded {
        let schema = ValuesSchema::compile(&self.config_dir);
        let templates_dir = self.config_dir.join("templates");
        let manifest = render::load_manifest(&templates_dir.join("manifest.yaml"));
        let templates = match &manifest {
            Ok(m) => Templates::load(&templates_dir, m, &self.flavor),
            Err(_) => Templates::default(),
        };
        let values = self.values.iter().map(|p| values::load(p)).collect();
        Preloaded {
            schema,
            manifest,
            templates,
            values,
        }
    }
}

/// A preload under way (or, if no thread could be started, one done on [`Self::wait`]).
pub struct Preload {
    thread: Option<JoinHandle<Preloaded>>,
    job: Job,
}

impl Preload {
    /// Starts loading what `config_dir` holds for `flavor`, and the `values` files.
    pub fn start(config_dir: PathBuf, flavor: &str, values: Vec<PathBuf>) -> Preload {
        let job = Job {
            config_dir,
            flavor: flavor.to_string(),
            values,
        };
        let worker = job.clone();
        let thread = std::thread::Builder::new()
            .name("preload".into())
            .spawn(move || worker.run())
            .ok();
        Preload { thread, job }
    }

    /// The preloaded parts (waits for the thread; a panic there is re-raised here).
    pub fn wait(self) -> Preloaded {
        match self.thread {
            Some(t) => t
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            None => self.job.run(),
        }
    }
}
