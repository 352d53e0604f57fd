//! Builds the Inventory: load env files and compose files, merge, select services,
//! summarise mounts, classify secrets, compute variable gaps and findings, redact.

use crate::compose::{self, ComposeFile, Normaliser, Vars};
use crate::dotenv::{self, EnvFile};
use crate::{configs, files, hocon, interp, secrets};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use wd_core::docs::inventory::*;
use wd_core::docs::Severity;
use wd_core::scenario::Scenario;
use wd_core::{WdError, WdResult};

/// What the command line asked for.
#[derive(Debug, Default, Clone)]
pub struct Request {
    pub compose: Vec<PathBuf>,
    pub env_file: Option<PathBuf>,
    pub scenario: Option<String>,
    pub services: Vec<String>,
    pub all: bool,
    pub profiles: Vec<String>,
    pub show_secrets: bool,
    pub config_dir: PathBuf,
    pub process_env: BTreeMap<String, String>,
}

/// The Inventory. (`--configs` reads its services' mounts: redaction never touches mounts, so
/// no unredacted copy of the services is kept.)
pub struct Built {
    pub inventory: Inventory,
}

const DEFAULT_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];
const OVERRIDE_FILES: &[&str] = &[
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
];

/// Compose's own variables: defined in `.env` to steer compose itself, never "unused".
const COMPOSE_VARS: &[&str] = &[
    "COMPOSE_PROFILES",
    "COMPOSE_PROJECT_NAME",
    "COMPOSE_FILE",
    "COMPOSE_PATH_SEPARATOR",
    "COMPOSE_ENV_FILES",
];

/// What a state path holds, by container path (images' documented data directories).
const KNOWN_STATE: &[(&str, &str)] = &[
    ("/var/lib/postgresql/data", "PostgreSQL data directory"),
    (
        "/waltid-wallet-api/data",
        "wallet-api data dir (SQLite DB; unused with Postgres, waltid-facts §2)",
    ),
    (
        "/home/libretranslate/.local",
        "LibreTranslate language models (waltid-facts §3)",
    ),
    (
        "/opt/keycloak/data",
        "Keycloak data (H2 in dev mode) and realm imports",
    ),
    (
        "/home/wso2carbon/wso2is-7.0.0/repository/database",
        "WSO2 IS embedded H2 database",
    ),
    ("/vault/file", "Vault file storage"),
    ("/vault/data", "Vault raft storage"),
    ("/data", "service data directory"),
    ("/config", "service runtime config"),
];

/// The scenario's compose files (relative to its file) and services: wd-core's typed scenario.
fn load_scenario(req: &Request) -> WdResult<Option<(Scenario, PathBuf)>> {
    let Some(name) = &req.scenario else {
        return Ok(None);
    };
    Scenario::load(&req.config_dir, name).map(Some)
}

fn load_env(path: &Path, process: &BTreeMap<String, String>) -> WdResult<EnvFile> {
    let text = crate::input::read_text(path, crate::input::MAX_ENV_BYTES, "an env file")?;
    dotenv::parse(&text, &|k| process.get(k).cloned())
        .map_err(|e| WdError::input(format!("{}:{e}", path.display())))
}

pub fn build(req: &Request) -> WdResult<Built> {
    let scenario = load_scenario(req)?;
    // 1. Which compose files.
    let compose_files: Vec<PathBuf> = if !req.compose.is_empty() {
        req.compose.clone()
    } else if let Some((sc, path)) = &scenario {
        let base = path.parent().unwrap_or(Path::new("."));
        sc.compose
            .iter()
            .map(|c| compose::resolve_path(base, c))
            .collect()
    } else {
        let first = DEFAULT_FILES.iter().map(PathBuf::from).find(|p| p.is_file()).ok_or_else(|| {
            WdError::input("no compose file: none of compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml here; pass --compose FILE or --scenario NAME")
        })?;
        let mut v = vec![first];
        if let Some(o) = OVERRIDE_FILES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
        {
            v.push(o);
        }
        v
    };
    let first_dir = compose_files[0]
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));

    // 2. Env file (the process environment overrides it) and .env.example.
    let example_path = first_dir.join(".env.example");
    let env_path = match &req.env_file {
        Some(p) => Some(p.clone()),
        None => [first_dir.join(".env"), example_path.clone()]
            .into_iter()
            .find(|p| p.is_file()),
    };
    let mut vars = Vars {
        process: req.process_env.clone(),
        ..Default::default()
    };
    if let Some(p) = &env_path {
        vars.env_file = Some(load_env(p, &req.process_env)?);
    }
    if example_path.is_file() {
        vars.env_example = Some(load_env(&example_path, &BTreeMap::new())?);
    }

    // 3. Load, normalise, merge.
    let loaded: Vec<ComposeFile> = compose_files
        .iter()
        .map(|p| compose::load_file(p))
        .collect::<WdResult<_>>()?;
    let mut project: Option<String> = None;
    let mut services: Vec<Service> = Vec::new();
    let mut volumes: Vec<Option<NamedVolume>> = Vec::new();
    let mut volume_ix: HashMap<String, usize> = HashMap::new();
    let mut all_refs: Vec<(Option<String>, interp::Ref)> = Vec::new();
    // Service name -> (index in `services`, index of the file that first defines it).
    let mut by_name: HashMap<String, (usize, usize)> = HashMap::new();
    for (fi, f) in loaded.iter().enumerate() {
        let mut n = Normaliser::new(f, &vars);
        let model = compose::normalise_file(&mut n)?;
        all_refs.extend(n.all_refs);
        if model.name.is_some() {
            project = model.name;
        }
        for s in model.services {
            match by_name.get(&s.name) {
                Some(&(i, _)) => compose::merge_service(&mut services[i], s),
                None => {
                    by_name.insert(s.name.clone(), (services.len(), fi));
                    services.push(s);
                }
            }
        }
        for v in model.volumes {
            // A later file's definition replaces the earlier one (and moves to the end).
            if let Some(i) = volume_ix.insert(v.name.clone(), volumes.len()) {
                volumes[i] = None;
            }
            volumes.push(Some(v));
        }
    }
    // What `docker compose config` refuses: no service at all, a service with nothing to run.
    if services.is_empty() {
        return Err(WdError::input(format!(
            "{}:1:1: no services; a compose project needs a `services:` mapping with at least one service",
            loaded[0].display
        )));
    }
    for s in &services {
        if let Some(d) = s
            .depends_on
            .iter()
            .find(|d| d.required && !by_name.contains_key(&d.service))
        {
            let f = &loaded[by_name[&s.name].1];
            return Err(WdError::input(format!(
                "{}: services.{}.depends_on: depends on undefined service {:?}; define it or remove the dependency",
                f.place(&format!("services.{}.depends_on", s.name), &d.service),
                s.name,
                d.service
            )));
        }
        if s.image.is_none() && s.build.is_none() {
            let f = &loaded[by_name[&s.name].1];
            return Err(WdError::input(format!(
                "{}: services.{}: has neither an image nor a build context; add `image:` or `build:`",
                f.place(&format!("services.{}", s.name), ""),
                s.name
            )));
        }
    }
    let project = project.unwrap_or_else(|| {
        let abs = std::fs::canonicalize(&first_dir).unwrap_or(first_dir.clone());
        abs.file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_else(|| "default".into())
    });

    // 4. Selection.
    let active_profiles: Vec<String> = if !req.profiles.is_empty() {
        req.profiles.clone()
    } else {
        vars.lookup("COMPOSE_PROFILES")
            .map(|p| {
                p.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    let known: Vec<String> = services.iter().map(|s| s.name.clone()).collect();
    let known_set: HashSet<&str> = known.iter().map(String::as_str).collect();
    let (wanted, selection): (Vec<String>, &str) = if req.all {
        (known.clone(), "all")
    } else if !req.services.is_empty() {
        (req.services.clone(), "services")
    } else if let Some((sc, path)) = &scenario {
        for s in &sc.services {
            if !known_set.contains(s.as_str()) {
                return Err(WdError::input(format!(
                    "{}: service {s:?} is not in the compose files ({}); fix the scenario or pass --compose",
                    path.display(),
                    compose_files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
                )));
            }
        }
        (sc.services.clone(), "scenario")
    } else {
        let w = services
            .iter()
            .filter(|s| {
                s.profiles.is_empty() || s.profiles.iter().any(|p| active_profiles.contains(p))
            })
            .map(|s| s.name.clone())
            .collect();
        (w, "profiles")
    };
    for w in &wanted {
        if !known_set.contains(w.as_str()) {
            return Err(WdError::input(format!(
                "--service: unknown service {w:?}; known: {}",
                known.join(", ")
            )));
        }
    }
    let wanted_set: HashSet<String> = wanted.iter().cloned().collect();
    let mut selected: Vec<Service> = services
        .into_iter()
        .filter(|s| wanted_set.contains(&s.name))
        .collect();

    // 5. Per service: env_file entries, secrets, bind contents, state.
    let mut findings: Vec<Finding> = Vec::new();
    let mut config_refs: BTreeSet<String> = BTreeSet::new();
    let mut env_file_keys_used: BTreeSet<String> = BTreeSet::new();
    let interp_env_path = env_path
        .as_ref()
        .and_then(|p| std::fs::canonicalize(p).ok());
    // Bind sources are summarised once each, however many services mount them.
    let mut binds: HashMap<String, BindSource> = HashMap::new();
    // Missing bind source -> the services that mount it (one finding per source).
    let mut missing_binds: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in &mut selected {
        let mut from_files: Vec<EnvVar> = Vec::new();
        let mut from_files_ix: HashMap<String, usize> = HashMap::new();
        for ef in &s.env_files {
            let p = first_dir_for(&loaded, &ef.path);
            let at = || {
                loaded[by_name[&s.name].1].place(&format!("services.{}.env_file", s.name), &ef.path)
            };
            match std::fs::metadata(&p) {
                Err(_) if ef.required => {
                    return Err(WdError::input(format!(
                        "{}: services.{}.env_file: {} does not exist; create it or mark it `required: false`",
                        at(),
                        s.name,
                        ef.path
                    )))
                }
                Err(_) => {
                    findings.push(Finding {
                        code: "missing-env-file".into(),
                        severity: Severity::Warning,
                        service: Some(s.name.clone()),
                        message: format!(
                            "env_file {} does not exist (required: false, so compose starts without it)",
                            ef.path
                        ),
                    });
                    continue;
                }
                Ok(m) if !m.is_file() => {
                    return Err(WdError::input(format!(
                        "{}: services.{}.env_file: {} is {}, not a file; name the env file",
                        at(),
                        s.name,
                        ef.path,
                        crate::input::kind_of(&m)
                    )))
                }
                Ok(_) => {}
            }
            let parsed = load_env(&p, &req.process_env)?;
            let same_as_interp = std::fs::canonicalize(&p).ok() == interp_env_path;
            for e in &parsed.entries {
                if same_as_interp {
                    env_file_keys_used.insert(e.key.clone());
                }
                let refs = if e.literal {
                    vec![]
                } else {
                    interp::references(&e.raw).unwrap_or_default()
                };
                let var = EnvVar {
                    name: e.key.clone(),
                    raw: Some(e.raw.clone()),
                    origin: EnvOrigin::EnvFile(ef.path.clone()),
                    references: refs
                        .iter()
                        .map(|r| compose::var_ref(&vars, &r.name, r.has_default))
                        .collect(),
                    value: Some(e.value.clone()),
                    ..Default::default()
                };
                // A later entry of the same name replaces the earlier one, in its place.
                match from_files_ix.get(&e.key) {
                    Some(&i) => from_files[i] = var,
                    None => {
                        from_files_ix.insert(e.key.clone(), from_files.len());
                        from_files.push(var);
                    }
                }
            }
        }
        // `environment:` overrides env_file.
        let own: HashSet<&str> = s.env.iter().map(|e| e.name.as_str()).collect();
        from_files.retain(|x| !own.contains(x.name.as_str()));
        let mut env = from_files;
        env.append(&mut s.env);
        for e in &mut env {
            e.secret = secrets::classify(&e.name)
                .or_else(|| e.value.as_deref().and_then(secrets::value_reason))
                .or_else(|| e.raw.as_deref().and_then(secrets::value_reason));
            if e.secret.is_some() {
                if let Some(raw) = &e.raw {
                    let nothing_set = interp::interpolate(raw, &|_| None)
                        .map(|r| r.value)
                        .unwrap_or_default();
                    let has_refs = !e.references.is_empty();
                    // A URL's literal text is not the secret; its userinfo password may be.
                    let literal_secret = if nothing_set.contains("://") {
                        secrets::value_reason(&nothing_set).is_some()
                    } else {
                        !nothing_set.is_empty()
                    };
                    if e.origin == EnvOrigin::Environment && literal_secret {
                        e.inline_secret_default = true;
                        let (code, what) = if has_refs {
                            ("inline-secret-default", "has a non-empty inline default")
                        } else {
                            ("inline-secret", "is written literally")
                        };
                        findings.push(Finding {
                            code: code.into(),
                            severity: Severity::Error,
                            service: Some(s.name.clone()),
                            message: format!("secret {} {what} in the compose file; reference a variable without a default (${{{}}}) and set it in the env file", e.name, e.name),
                        });
                    }
                }
            }
        }
        s.env = env;
        for m in &mut s.mounts {
            if m.kind == MountType::Bind {
                if let Some(src) = &m.resolved_source {
                    let first_use = !binds.contains_key(src);
                    if first_use {
                        let (b, notes) = files::summarise(Path::new(src));
                        for n in notes {
                            findings.push(Finding {
                                code: n.code.into(),
                                severity: Severity::Warning,
                                service: Some(s.name.clone()),
                                message: format!(
                                    "bind source {}: {}",
                                    m.source.as_deref().unwrap_or(src),
                                    n.message
                                ),
                            });
                        }
                        for f in b.files.iter().filter(|f| f.kind == FileKind::Hocon) {
                            let path = if b.path_kind == PathKind::File {
                                PathBuf::from(src)
                            } else {
                                Path::new(src).join(&f.path)
                            };
                            for fld in hocon::fields(&crate::input::scan_text(&path)) {
                                config_refs.extend(fld.quoted_refs);
                                config_refs.extend(fld.hocon_refs);
                            }
                        }
                        binds.insert(src.clone(), b);
                    }
                    let b = &binds[src];
                    if !b.exists {
                        missing_binds
                            .entry(m.source.clone().unwrap_or_else(|| src.clone()))
                            .or_default()
                            .push(s.name.clone());
                    }
                    for f in b.files.iter().filter(|f| f.carries_secrets) {
                        findings.push(Finding { code: "secret-in-mounted-file".into(), severity: Severity::Warning, service: Some(s.name.clone()), message: format!("{} mounted at {} carries secrets ({}); render it with env references instead", f.path, m.target, f.secret_fields.join(", ")) });
                    }
                    m.bind = Some(b.clone());
                }
            }
        }
        s.state = s
            .mounts
            .iter()
            .filter(|m| {
                (m.kind == MountType::Volume)
                    || (m.kind == MountType::Bind
                        && !m.read_only
                        && configs::waltid_kind(&m.target).is_none()
                        && m.bind
                            .as_ref()
                            .is_some_and(|b| b.path_kind != PathKind::File))
            })
            .map(|m| StateEntry {
                kind: m.kind,
                source: m.source.clone(),
                target: m.target.clone(),
                holds: holds(&s.name, &m.target),
            })
            .collect();
        if let Some(img) = &s.image {
            if !img.pinned {
                findings.push(Finding {
                    code: "unpinned-image".into(),
                    severity: Severity::Error,
                    service: Some(s.name.clone()),
                    message: format!(
                        "image {} is not pinned: {}; use a version tag or a digest",
                        if img.reference.is_empty() {
                            "(empty)"
                        } else {
                            &img.reference
                        },
                        img.unpinned_reason.clone().unwrap_or_default()
                    ),
                });
            }
        }
        for d in &s.depends_on {
            if !wanted_set.contains(&d.service) {
                findings.push(Finding {
                    code: "dependency-not-selected".into(),
                    severity: Severity::Warning,
                    service: Some(s.name.clone()),
                    message: format!(
                        "depends on {} ({}), which is not selected",
                        d.service, d.condition
                    ),
                });
            }
        }
    }

    for (source, mut users) in missing_binds {
        users.dedup();
        findings.push(Finding {
            code: "missing-bind-source".into(),
            severity: Severity::Warning,
            service: (users.len() == 1).then(|| users[0].clone()),
            message: if users.len() == 1 {
                format!("bind source {source} does not exist yet (generated at deploy time?)")
            } else {
                format!(
                    "bind source {source} does not exist yet (generated at deploy time?); mounted by {}",
                    users.join(", ")
                )
            },
        });
    }

    // 6. Variables: one pass over the references (each knows its service).
    let mut referenced: BTreeMap<String, bool> = BTreeMap::new(); // name -> any reference without default
    for (service, r) in &all_refs {
        let in_scope = service.as_ref().is_none_or(|s| wanted_set.contains(s));
        if in_scope {
            let e = referenced.entry(r.name.clone()).or_insert(false);
            *e |= !r.has_default;
        }
    }
    for s in &selected {
        for e in &s.env {
            if e.raw.is_none() {
                referenced.entry(e.name.clone()).or_insert(true);
            }
        }
    }
    let is_set = |n: &str| vars.lookup(n).is_some();
    let example = vars.env_example.as_ref();
    let missing_from_env_example: Vec<String> = referenced
        .iter()
        .filter(|(n, no_default)| **no_default && !example.is_some_and(|x| x.contains(n)))
        .map(|(n, _)| n.clone())
        .collect();
    let unset: Vec<String> = referenced
        .iter()
        .filter(|(n, no_default)| **no_default && !is_set(n))
        .map(|(n, _)| n.clone())
        .collect();
    for u in &unset {
        findings.push(Finding { code: "unset-variable".into(), severity: Severity::Warning, service: None, message: format!("{u} is referenced without a default and set nowhere; compose substitutes an empty string") });
    }
    let mut defined: BTreeSet<String> = BTreeSet::new();
    for f in [vars.env_file.as_ref(), vars.env_example.as_ref()]
        .into_iter()
        .flatten()
    {
        defined.extend(f.entries.iter().map(|e| e.key.clone()));
    }
    let defined_but_unused: Vec<String> = defined
        .into_iter()
        .filter(|k| {
            !referenced.contains_key(k)
                && !env_file_keys_used.contains(k)
                && !config_refs.contains(k)
                && !COMPOSE_VARS.contains(&k.as_str())
        })
        .collect();

    // 7. Named volumes used by the selection.
    let mut volume_users: HashMap<&str, Vec<String>> = HashMap::new();
    for s in &selected {
        for m in &s.mounts {
            if let (MountType::Volume, Some(src)) = (m.kind, m.source.as_deref()) {
                let u = volume_users.entry(src).or_default();
                if u.last() != Some(&s.name) {
                    u.push(s.name.clone());
                }
            }
        }
    }
    let mut used_volumes = Vec::new();
    for v in volumes.into_iter().flatten() {
        let users = volume_users.remove(v.name.as_str()).unwrap_or_default();
        if !users.is_empty() {
            used_volumes.push(NamedVolume {
                used_by: users,
                ..v
            });
        }
    }

    if !req.show_secrets {
        for s in &mut selected {
            for e in &mut s.env {
                if e.secret.as_ref().is_some_and(|r| r.rule == "value-rule") {
                    // Only the credential inside the value is hidden (`postgresql://u:***@db/x`).
                    e.redacted = true;
                    e.value = e.value.as_deref().map(secrets::redact_text);
                    e.raw = e.raw.as_deref().map(secrets::redact_text);
                } else if e.secret.is_some() {
                    e.redacted = true;
                    e.value = None;
                    // Keep a raw expression only when it carries no literal text (pure references).
                    if let Some(raw) = &e.raw {
                        let literal = interp::interpolate(raw, &|_| None)
                            .map(|r| !r.value.is_empty())
                            .unwrap_or(true)
                            || e.origin != EnvOrigin::Environment;
                        if literal {
                            e.raw = None;
                        }
                    }
                }
            }
            for args in [s.command.as_mut(), s.entrypoint.as_mut()]
                .into_iter()
                .flatten()
            {
                secrets::redact_args(args);
            }
            if let Some(h) = s.healthcheck.as_mut() {
                secrets::redact_args(&mut h.test);
            }
        }
    }

    let inventory = Inventory {
        project,
        sources: Sources {
            compose_files: compose_files
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            env_file: env_path.map(|p| p.display().to_string()),
            env_example: example_path
                .is_file()
                .then(|| example_path.display().to_string()),
            scenario: req.scenario.clone(),
            profiles: active_profiles,
            selection: selection.into(),
        },
        services: selected,
        volumes: used_volumes,
        variables: Variables {
            referenced: referenced.keys().cloned().collect(),
            missing_from_env_example,
            defined_but_unused,
            unset,
        },
        findings,
        redacted: !req.show_secrets,
        ..Default::default()
    };
    Ok(Built { inventory })
}

/// env_file paths are relative to the compose file that names them; with several files we
/// resolve against the first file's directory that has it, else the first file's directory.
fn first_dir_for(loaded: &[ComposeFile], rel: &str) -> PathBuf {
    for f in loaded {
        let p = f.dir.join(rel);
        if p.is_file() {
            return p;
        }
    }
    loaded[0].dir.join(rel)
}

fn holds(service: &str, target: &str) -> Option<String> {
    let t = target.trim_end_matches('/');
    KNOWN_STATE
        .iter()
        .find(|(p, _)| t == *p || t.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
        .map(|(_, h)| match (*h, service) {
            ("service data directory", s) if s.contains("valkey") || s.contains("redis") => {
                "Redis/Valkey data (RDB/AOF)".to_string()
            }
            ("service data directory", s) if s.contains("caddy") => {
                "Caddy certificates and state".to_string()
            }
            (h, _) => h.to_string(),
        })
}
