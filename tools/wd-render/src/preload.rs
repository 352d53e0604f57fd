//! What a render needs that does not depend on the Inventory, loaded while the Inventory is read:
//! the values schema compiled (src/schema.rs); the scenario, when `--scenario` names it (else it
//! comes from the Inventory and [`crate::run`] reads it then); the values files read and, with
//! the scenario's components known, each checked alone; config/secrets.yaml parsed
//! ([`crate::plan::parse`]; the plan itself needs the values); the template manifest and every
//! template it names for the flavor parsed (handlebars, the largest single cost); last, the
//! previous render in `--out` read ahead ([`crate::outset::read_ahead`]: nothing is written).
//! Each input file's checksum for the RenderPlan is taken where the file is read.
//!
//! The work is a list of items done in order by one more thread. When [`crate::run`] needs an
//! item that thread has not started, it does it itself, and while the templates are parsed it
//! takes the remaining ones too: the two threads share them, and in the pipe
//! `wd-inventory | wd-render` only one thread competes with wd-inventory for the CPU while the
//! Inventory is not there yet (wd-inventory is then what everything waits for).
//!
//! Nothing here writes anything or reports anything: every result, error included, is handed
//! to [`crate::run`], which uses it at the point where it used to load it, so the first error a
//! user sees and the exit code are those of a render that loads everything in order. (A step
//! that follows a failed one in that order is not taken: it would not have been.)
//! Not here: anything that depends on the Inventory (the images layer, the merged values, the
//! context, the render itself).

use crate::outset;
use crate::plan::{self, Secrets};
use crate::render::{self, Manifest, ParsedTemplate, Templates};
use crate::schema::ValuesSchema;
use crate::{input_of, values, Input};
use serde_json::Value;
use std::any::Any;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use wd_core::scenario::Scenario;
use wd_core::WdResult;

/// A values file: its values, checked alone against the schema when the scenario was known
/// (`input` is then its checksum; without the scenario [`crate::run`] checks it, then reads it).
pub struct Layer {
    pub value: Value,
    pub input: Option<Input>,
}

/// The scenario, schema and values files; each keeps its own error.
pub struct Setup {
    /// The scenario `--scenario` named: its path, the scenario and its checksum.
    pub scenario: Option<WdResult<(PathBuf, Scenario, Input)>>,
    /// `<config>/values.schema.json`, compiled (with the scenario's components if it was known).
    pub schema: WdResult<ValuesSchema>,
    /// Each values file given to [`Preload::start`], in order ([`values::load`]).
    pub values: Vec<WdResult<Layer>>,
}

/// `<config>/secrets.yaml`, parsed, and its checksum.
pub struct SecretsFile {
    pub secrets: WdResult<Secrets>,
    pub input: WdResult<Input>,
}

/// The manifest and its templates.
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
    /// `--out`, whose current render is read ahead last.
    out: Option<PathBuf>,
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
        Setup {
            scenario,
            schema,
            values,
        }
    }

    fn secrets(&self) -> SecretsFile {
        let path = self.config_dir.join("secrets.yaml");
        SecretsFile {
            secrets: plan::parse(&path),
            input: input_of(&path, "secrets"),
        }
    }

    fn templates_dir(&self) -> PathBuf {
        self.config_dir.join("templates")
    }

    /// The manifest, its checksum, and the templates it names for the flavor (none if it failed).
    fn manifest(&self) -> (WdResult<Manifest>, WdResult<Input>, Vec<String>) {
        let path = self.templates_dir().join("manifest.yaml");
        let manifest = render::load_manifest(&path);
        let mut names = match &manifest {
            Ok(m) => Templates::names(m, &self.flavor),
            Err(_) => Vec::new(),
        };
        // Largest first (parsing time grows faster than the size): what is left when the render
        // asks for them is then small pieces two threads share evenly.
        let dir = self.templates_dir();
        names.sort_by_cached_key(|n| {
            std::cmp::Reverse(std::fs::metadata(dir.join(n)).map_or(0, |m| m.len()))
        });
        (manifest, input_of(&path, "template"), names)
    }

    fn run(&self, item: Item) -> Done {
        match item {
            Item::Setup => Done::Setup(Box::new(self.setup())),
            Item::Secrets => Done::Secrets(self.secrets()),
            Item::Manifest => {
                let (m, input, names) = self.manifest();
                Done::Manifest(m, input, names)
            }
            Item::Template(i, name) => {
                Done::Template(i, Templates::parse_one(&self.templates_dir(), &name))
            }
            Item::Ahead => Done::Ahead(self.out.as_deref().and_then(outset::read_ahead)),
        }
    }
}

/// One piece of the work, in the order it is done.
enum Item {
    Setup,
    Secrets,
    Manifest,
    Template(usize, String),
    Ahead,
}

/// A finished item.
enum Done {
    Setup(Box<Setup>),
    Secrets(SecretsFile),
    Manifest(WdResult<Manifest>, WdResult<Input>, Vec<String>),
    Template(usize, ParsedTemplate),
    Ahead(Option<outset::Ahead>),
}

enum Slot<T> {
    Todo,
    Running,
    Done(T),
    Taken,
}

impl<T> Slot<T> {
    fn claim(&mut self) -> bool {
        let todo = matches!(self, Slot::Todo);
        if todo {
            *self = Slot::Running;
        }
        todo
    }

    fn take(&mut self) -> Option<T> {
        match std::mem::replace(self, Slot::Taken) {
            Slot::Done(v) => Some(v),
            other => {
                *self = other;
                None
            }
        }
    }
}

struct State {
    setup: Slot<Setup>,
    secrets: Slot<SecretsFile>,
    manifest: Slot<(WdResult<Manifest>, WdResult<Input>)>,
    /// The templates to parse, known once the manifest is read.
    names: Option<Vec<String>>,
    templates: Vec<Slot<ParsedTemplate>>,
    ahead: Slot<Option<outset::Ahead>>,
    /// A panic of the other thread, re-raised where its results are waited for.
    panic: Option<Box<dyn Any + Send>>,
}

impl State {
    /// The next item not started, in order (marked as started).
    fn claim_next(&mut self) -> Option<Item> {
        if self.setup.claim() {
            return Some(Item::Setup);
        }
        if self.secrets.claim() {
            return Some(Item::Secrets);
        }
        if self.manifest.claim() {
            return Some(Item::Manifest);
        }
        if let Some(t) = self.claim_template() {
            return Some(t);
        }
        self.ahead.claim().then_some(Item::Ahead)
    }

    fn claim_template(&mut self) -> Option<Item> {
        let names = self.names.as_ref()?;
        let i = self.templates.iter_mut().position(Slot::claim)?;
        Some(Item::Template(i, names[i].clone()))
    }

    fn store(&mut self, done: Done) {
        match done {
            Done::Setup(v) => self.setup = Slot::Done(*v),
            Done::Secrets(v) => self.secrets = Slot::Done(v),
            Done::Manifest(m, input, names) => {
                self.templates = names.iter().map(|_| Slot::Todo).collect();
                self.names = Some(names);
                self.manifest = Slot::Done((m, input));
            }
            Done::Template(i, t) => self.templates[i] = Slot::Done(t),
            Done::Ahead(a) => self.ahead = Slot::Done(a),
        }
    }
}

struct Shared {
    job: Job,
    state: Mutex<State>,
    done: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The other thread: every item not yet started, in order, until none is left.
    fn work(&self) {
        loop {
            let Some(item) = self.lock().claim_next() else {
                return;
            };
            let done =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.job.run(item)));
            let mut st = self.lock();
            match done {
                Ok(d) => st.store(d),
                Err(panic) => {
                    st.panic = Some(panic);
                    self.done.notify_all();
                    return;
                }
            }
            self.done.notify_all();
        }
    }

    /// Runs `item` here (the state is unlocked meanwhile) and stores it.
    fn run_here<'a>(&'a self, st: MutexGuard<'a, State>, item: Item) -> MutexGuard<'a, State> {
        drop(st);
        let done = self.job.run(item);
        let mut st = self.lock();
        st.store(done);
        self.done.notify_all();
        st
    }

    /// Waits for the other thread (re-raising its panic).
    fn wait<'a>(&'a self, mut st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        if st.panic.is_none() {
            st = self.done.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        if let Some(panic) = st.panic.take() {
            drop(st);
            std::panic::resume_unwind(panic);
        }
        st
    }

    /// The value of one slot: taken if done, done here if not started, else waited for.
    fn get<T>(&self, item: fn() -> Item, slot: fn(&mut State) -> &mut Slot<T>) -> T {
        let mut st = self.lock();
        loop {
            if let Some(v) = slot(&mut st).take() {
                return v;
            }
            st = if slot(&mut st).claim() {
                self.run_here(st, item())
            } else {
                self.wait(st)
            };
        }
    }
}

/// A preload under way.
pub struct Preload {
    shared: Arc<Shared>,
}

impl Preload {
    /// Starts loading what `config_dir` holds for `flavor` and `scenario` (when known), and
    /// the `values` files (if no thread can be started, each part is loaded when asked for),
    /// then reading ahead the render in `out`, if given.
    pub fn start(
        config_dir: PathBuf,
        flavor: &str,
        scenario: Option<&str>,
        values: Vec<PathBuf>,
        out: Option<PathBuf>,
    ) -> Preload {
        let shared = Arc::new(Shared {
            job: Job {
                config_dir,
                flavor: flavor.to_string(),
                scenario: scenario.map(str::to_string),
                values,
                out,
            },
            state: Mutex::new(State {
                setup: Slot::Todo,
                secrets: Slot::Todo,
                manifest: Slot::Todo,
                names: None,
                templates: Vec::new(),
                ahead: Slot::Todo,
                panic: None,
            }),
            done: Condvar::new(),
        });
        let worker = Arc::clone(&shared);
        // Not joined: it ends when no item is left; a panic there is re-raised where waited for.
        let _ = std::thread::Builder::new()
            .name("preload".into())
            .spawn(move || worker.work());
        Preload { shared }
    }

    /// The scenario, schema and values files.
    pub fn setup(&self) -> Setup {
        self.shared.get(|| Item::Setup, |st| &mut st.setup)
    }

    /// config/secrets.yaml, parsed.
    pub fn secrets(&self) -> SecretsFile {
        self.shared.get(|| Item::Secrets, |st| &mut st.secrets)
    }

    /// The manifest and its templates: the templates not yet started are parsed here, alongside
    /// the other thread.
    pub fn templates(&self) -> Loaded {
        let (manifest, manifest_input) = self.shared.get(|| Item::Manifest, |st| &mut st.manifest);
        let sh = &self.shared;
        let mut st = sh.lock();
        loop {
            if let Some(item) = st.claim_template() {
                st = sh.run_here(st, item);
                continue;
            }
            if st.templates.iter().all(|t| matches!(t, Slot::Done(_))) {
                break;
            }
            st = sh.wait(st);
        }
        let names = st.names.take().unwrap_or_default();
        let parsed = names
            .into_iter()
            .zip(st.templates.iter_mut().map(|t| t.take().expect("done")))
            .collect();
        Loaded {
            manifest,
            manifest_input,
            templates: Templates::from_parsed(parsed),
        }
    }

    /// The render in `--out` as read ahead: when the other thread has read it or is reading it
    /// (waited for); `None` if it has not started (read now, it would be read twice: the switch
    /// reads what it needs under its lock) or there is none.
    pub fn ahead(self) -> Option<outset::Ahead> {
        let sh = &self.shared;
        let mut st = sh.lock();
        loop {
            match std::mem::replace(&mut st.ahead, Slot::Taken) {
                Slot::Done(a) => return a,
                Slot::Running => {
                    st.ahead = Slot::Running;
                    st = sh.wait(st);
                }
                Slot::Todo | Slot::Taken => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
    }

    #[test]
    fn shared_out_loads_equal_loads_in_order() {
        let dir = config();
        let pre = Preload::start(
            dir.clone(),
            "k8s",
            Some("waltid"),
            vec![dir.join("values/default.yaml")],
            None,
        );
        let setup = pre.setup();
        assert!(matches!(setup.scenario, Some(Ok(_))) && setup.schema.is_ok());
        let layer = setup.values.into_iter().next().unwrap().unwrap();
        assert_eq!(
            layer.value,
            values::load(&dir.join("values/default.yaml")).unwrap()
        );
        assert!(
            layer.input.is_some(),
            "checked with the scenario's components"
        );
        assert!(pre.secrets().secrets.is_ok());
        let loaded = pre.templates();
        let manifest = loaded.manifest.unwrap();
        let in_order = Templates::load(&dir.join("templates"), &manifest, "k8s");
        let names = Templates::names(&manifest, "k8s");
        assert!(names.len() > 5);
        for name in &names {
            assert_eq!(
                loaded.templates.sha256(name),
                in_order.sha256(name),
                "{name}"
            );
            assert!(loaded.templates.sha256(name).is_some(), "{name}");
        }
    }

    #[test]
    fn the_render_in_out_is_read_ahead_last() {
        let dir = config();
        let out = tempfile::tempdir().unwrap();
        let set = [wd_core::fsio::OutFile {
            rel_path: "a/x.conf".into(),
            bytes: b"1".to_vec(),
            mode: 0o644,
        }];
        outset::switch(out.path(), &set).unwrap();
        std::thread::sleep(outset::SETTLED + std::time::Duration::from_millis(50));
        let pre = Preload::start(
            dir.clone(),
            "k8s",
            Some("waltid"),
            vec![],
            Some(out.path().into()),
        );
        let _ = (pre.setup(), pre.secrets(), pre.templates());
        // The other thread takes it after the templates (its last item); wait for it here, as
        // a render is far longer than this test's steps (a render that asks before it has
        // started goes on without it: see `ahead`).
        {
            let mut st = pre.shared.lock();
            while !matches!(st.ahead, Slot::Done(_)) {
                st = pre.shared.wait(st);
            }
        }
        let ahead = pre.ahead().expect("read ahead");
        let stats = outset::switch_with(out.path(), &set, Some(ahead)).unwrap();
        assert_eq!((stats.written, stats.unchanged), (0, 1));
        let pre = Preload::start(dir, "k8s", Some("waltid"), vec![], None);
        let _ = pre.templates();
        assert!(pre.ahead().is_none(), "no --out, nothing read ahead");
    }

    #[test]
    fn errors_are_kept_for_the_point_of_use() {
        let dir = std::env::temp_dir().join("wd-render-preload-missing-config");
        let pre = Preload::start(
            dir.clone(),
            "k8s",
            Some("waltid"),
            vec![dir.join("v.yaml")],
            None,
        );
        let setup = pre.setup();
        assert!(matches!(setup.scenario, Some(Err(_))));
        assert!(setup.schema.is_err() && setup.values[0].is_err());
        assert!(pre.secrets().secrets.is_err());
        let loaded = pre.templates();
        assert!(loaded.manifest.is_err() && loaded.manifest_input.is_err());
    }
}
