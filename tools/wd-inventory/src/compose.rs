//! Loading compose files into the inventory's service model.
//!
//! YAML is parsed with serde_norway (anchors, aliases, `<<` merge keys via `apply_merge`),
//! then every string VALUE (never a key) is interpolated as the Compose Specification says,
//! keeping the raw expression beside the result. Short and long syntaxes are normalised here;
//! several `-f` files are merged in order. Hand-written rather than `docker-compose-types`:
//! the audit needs each raw expression next to its resolved value, which a typed model of the
//! interpolated file cannot carry.
//!
//! Not supported (reported as an error naming the key): `extends`, top-level `include`.

use crate::dotenv::EnvFile;
use crate::interp::{self, InterpError, Ref};
use serde_norway::{Mapping, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wd_core::docs::inventory::*;
use wd_core::{WdError, WdResult};

/// Variables for interpolation: the process environment overrides the env file.
#[derive(Debug, Default)]
pub struct Vars {
    pub env_file: Option<EnvFile>,
    pub env_example: Option<EnvFile>,
    pub process: BTreeMap<String, String>,
}

impl Vars {
    pub fn lookup(&self, k: &str) -> Option<String> {
        self.process.get(k).cloned().or_else(|| {
            self.env_file
                .as_ref()
                .and_then(|f| f.get(k))
                .map(|e| e.value.clone())
        })
    }
}

/// One compose file, parsed.
pub struct ComposeFile {
    /// The path as the user gave it.
    pub display: String,
    pub dir: PathBuf,
    pub text: String,
    pub root: Mapping,
}

pub fn load_file(path: &Path) -> WdResult<ComposeFile> {
    let display = path.display().to_string();
    let text = crate::input::read_text(path, crate::input::MAX_COMPOSE_BYTES, "a compose file")?;
    let value = wd_core::yaml::parse_value(&text, &display)?;
    let root = match value {
        Value::Mapping(m) => m,
        // `docker compose config` refuses an empty file (and `~`, and a file of comments).
        Value::Null => {
            return Err(WdError::input(format!(
                "{display}:1:1: empty compose file; add a `services:` mapping with at least one service"
            )))
        }
        _ => {
            return Err(WdError::input(format!(
                "{display}:1:1: a compose file must be a mapping with a `services` key"
            )))
        }
    };
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(ComposeFile {
        display,
        dir,
        text,
        root,
    })
}

/// A string scalar after interpolation, with its raw form.
#[derive(Debug, Clone, Default)]
pub struct Str {
    pub raw: String,
    pub value: String,
    pub refs: Vec<Ref>,
}

/// Normalises one file's services. `all_refs` collects every variable reference with the
/// service it was found in (None: a top-level key such as `name` or `volumes`).
pub struct Normaliser<'a> {
    pub file: &'a ComposeFile,
    pub vars: &'a Vars,
    pub all_refs: Vec<(Option<String>, Ref)>,
    current: Option<String>,
}

impl ComposeFile {
    /// `file:line:col` of the node at a field path (`services.b.ports[0]`), from the parser's
    /// marks; `file` alone when it cannot be found.
    pub fn place(&self, field: &str, fragment: &str) -> String {
        match crate::marks::locate(&self.text, field, fragment) {
            Some((l, c)) => format!("{}:{l}:{c}", self.display),
            None => self.display.clone(),
        }
    }
}

fn key_str(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

fn get<'v>(m: &'v Mapping, k: &str) -> Option<&'v Value> {
    m.get(Value::String(k.to_string())).filter(|v| !v.is_null())
}

impl<'a> Normaliser<'a> {
    pub fn new(file: &'a ComposeFile, vars: &'a Vars) -> Self {
        Normaliser {
            file,
            vars,
            all_refs: Vec::new(),
            current: None,
        }
    }

    /// An error inside the value at `field`: located at `raw[offset..]` within that node (the
    /// parser's marks, never the first matching text elsewhere in the file).
    fn err(&self, field: &str, raw: &str, offset: usize, msg: &str) -> WdError {
        let mut o = offset.min(raw.len());
        while !raw.is_char_boundary(o) {
            o -= 1;
        }
        let frag: String = raw[o..]
            .split('\n')
            .next()
            .unwrap_or("")
            .chars()
            .take(40)
            .collect();
        WdError::input(format!("{}: {field}: {msg}", self.file.place(field, &frag)))
    }

    /// A value of the wrong type at `field`, located at that node.
    pub fn type_err(&self, field: &str, expected: &str) -> WdError {
        WdError::input(format!(
            "{}: {field}: expected {expected}",
            self.file.place(field, "")
        ))
    }

    /// Interpolates a raw string of a field.
    pub fn interp(&mut self, field: &str, raw: &str) -> WdResult<Str> {
        let vars = self.vars;
        let r = interp::interpolate(raw, &|k| vars.lookup(k))
            .map_err(|e: InterpError| self.err(field, raw, e.offset, &e.to_string()))?;
        for rf in &r.refs {
            self.all_refs.push((self.current.clone(), rf.clone()));
        }
        Ok(Str {
            raw: raw.to_string(),
            value: r.value,
            refs: r.refs,
        })
    }

    /// A scalar as a string (numbers and booleans become their text; only strings interpolate).
    pub fn scalar(&mut self, field: &str, v: &Value) -> WdResult<Option<Str>> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => self.interp(field, s).map(Some),
            Value::Number(n) => Ok(Some(Str {
                raw: n.to_string(),
                value: n.to_string(),
                refs: vec![],
            })),
            Value::Bool(b) => Ok(Some(Str {
                raw: b.to_string(),
                value: b.to_string(),
                refs: vec![],
            })),
            Value::Tagged(t) => self.scalar(field, &t.value),
            _ => Err(self.type_err(field, "a string, number or boolean")),
        }
    }

    fn string(&mut self, field: &str, v: &Value) -> WdResult<Option<String>> {
        Ok(self.scalar(field, v)?.map(|s| s.value))
    }

    /// A list of strings, or a single string when `allow_single`.
    fn string_list(&mut self, field: &str, v: &Value) -> WdResult<Vec<String>> {
        match v {
            Value::Sequence(seq) => {
                let mut out = Vec::new();
                for (i, item) in seq.iter().enumerate() {
                    if let Some(s) = self.string(&format!("{field}[{i}]"), item)? {
                        out.push(s);
                    }
                }
                Ok(out)
            }
            Value::Null => Ok(vec![]),
            _ => Err(self.type_err(field, "a list")),
        }
    }

    /// `command`/`entrypoint`: a list, or a string split like a shell (no expansion).
    fn command(&mut self, field: &str, v: &Value) -> WdResult<Option<Vec<String>>> {
        match v {
            Value::Null => Ok(None),
            Value::Sequence(_) => self.string_list(field, v).map(Some),
            _ => {
                let s = self.scalar(field, v)?.map(|s| s.value).unwrap_or_default();
                let words = shell_words::split(&s).map_err(|e| {
                    self.err(
                        field,
                        &s,
                        0,
                        &format!("cannot split the command ({e}); balance its quotes"),
                    )
                })?;
                Ok(Some(words))
            }
        }
    }

    pub fn service(&mut self, name: &str, v: &Value) -> WdResult<Service> {
        self.current = Some(name.to_string());
        let s = self.service_inner(name, v);
        self.current = None;
        s
    }

    fn service_inner(&mut self, name: &str, v: &Value) -> WdResult<Service> {
        let base = format!("services.{name}");
        let m = match v {
            Value::Mapping(m) => m,
            Value::Null => {
                return Ok(Service {
                    name: name.into(),
                    ..Default::default()
                })
            }
            _ => return Err(self.type_err(&base, "a mapping")),
        };
        if get(m, "extends").is_some() {
            return Err(self.type_err(
                &format!("{base}.extends"),
                "no `extends` (not supported by wd-inventory; inline the extended service)",
            ));
        }
        let mut s = Service {
            name: name.to_string(),
            ..Default::default()
        };
        if let Some(iv) = get(m, "image") {
            if let Some(img) = self.scalar(&format!("{base}.image"), iv)? {
                s.image = Some(crate::image::parse(&img.raw, &img.value));
            }
        }
        if let Some(b) = get(m, "build") {
            s.build = Some(match b {
                Value::Mapping(bm) => Build {
                    context: match get(bm, "context") {
                        Some(c) => self
                            .string(&format!("{base}.build.context"), c)?
                            .unwrap_or_else(|| ".".into()),
                        None => ".".into(),
                    },
                    dockerfile: match get(bm, "dockerfile") {
                        Some(d) => self.string(&format!("{base}.build.dockerfile"), d)?,
                        None => None,
                    },
                },
                _ => Build {
                    context: self
                        .string(&format!("{base}.build"), b)?
                        .unwrap_or_else(|| ".".into()),
                    dockerfile: None,
                },
            });
        }
        if let Some(p) = get(m, "profiles") {
            s.profiles = self.string_list(&format!("{base}.profiles"), p)?;
        }
        for (key, slot) in [("container_name", 0), ("user", 1), ("restart", 2)] {
            if let Some(x) = get(m, key) {
                let val = self.string(&format!("{base}.{key}"), x)?;
                match slot {
                    0 => s.container_name = val,
                    1 => s.user = val,
                    _ => s.restart = val,
                }
            }
        }
        if let Some(c) = get(m, "command") {
            s.command = self.command(&format!("{base}.command"), c)?;
        }
        if let Some(c) = get(m, "entrypoint") {
            s.entrypoint = self.command(&format!("{base}.entrypoint"), c)?;
        }
        if let Some(ef) = get(m, "env_file") {
            s.env_files = self.env_files(&base, ef)?;
        }
        if let Some(e) = get(m, "environment") {
            s.env = self.environment(&base, e)?;
        }
        if let Some(p) = get(m, "ports") {
            s.ports = self.ports(&base, p)?;
        }
        if let Some(vs) = get(m, "volumes") {
            s.mounts = self.volumes(&base, vs)?;
        }
        if let Some(t) = get(m, "tmpfs") {
            let list = match t {
                Value::Sequence(_) => self.string_list(&format!("{base}.tmpfs"), t)?,
                _ => self
                    .string(&format!("{base}.tmpfs"), t)?
                    .into_iter()
                    .collect(),
            };
            for target in list {
                let target = target.split(':').next().unwrap_or("").to_string();
                s.mounts.push(Mount {
                    kind: MountType::Tmpfs,
                    source: None,
                    target,
                    read_only: false,
                    resolved_source: None,
                    bind: None,
                });
            }
        }
        if let Some(d) = get(m, "depends_on") {
            s.depends_on = self.depends_on(&base, d)?;
        }
        if let Some(h) = get(m, "healthcheck") {
            s.healthcheck = Some(self.healthcheck(&base, h)?);
        }
        if let Some(x) = get(m, "extra_hosts") {
            s.extra_hosts = match x {
                Value::Mapping(xm) => {
                    let mut out = Vec::new();
                    for (k, v) in xm {
                        let host = key_str(k);
                        let ip = self
                            .string(&format!("{base}.extra_hosts.{host}"), v)?
                            .unwrap_or_default();
                        out.push(format!("{host}:{ip}"));
                    }
                    out
                }
                _ => self.string_list(&format!("{base}.extra_hosts"), x)?,
            };
        }
        if let Some(n) = get(m, "networks") {
            s.networks = match n {
                Value::Sequence(_) => self
                    .string_list(&format!("{base}.networks"), n)?
                    .into_iter()
                    .map(|name| NetworkAttachment {
                        name,
                        aliases: vec![],
                    })
                    .collect(),
                Value::Mapping(nm) => {
                    let mut out = Vec::new();
                    for (k, v) in nm {
                        let name = key_str(k);
                        let aliases = match v {
                            Value::Mapping(am) => match get(am, "aliases") {
                                Some(a) => {
                                    self.string_list(&format!("{base}.networks.{name}.aliases"), a)?
                                }
                                None => vec![],
                            },
                            _ => vec![],
                        };
                        out.push(NetworkAttachment { name, aliases });
                    }
                    out
                }
                _ => return Err(self.type_err(&format!("{base}.networks"), "a list or a mapping")),
            };
        }
        Ok(s)
    }

    fn env_files(&mut self, base: &str, v: &Value) -> WdResult<Vec<EnvFileRef>> {
        let field = format!("{base}.env_file");
        let items: Vec<Value> = match v {
            Value::Sequence(seq) => seq.clone(),
            other => vec![other.clone()],
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let f = format!("{field}[{i}]");
            let (path, required) = match item {
                Value::Mapping(im) => {
                    let p = get(im, "path")
                        .ok_or_else(|| self.type_err(&f, "a `path` in the long form"))?;
                    let p = self.string(&format!("{f}.path"), p)?.unwrap_or_default();
                    let req = match get(im, "required") {
                        Some(Value::Bool(b)) => *b,
                        Some(r) => {
                            self.string(&format!("{f}.required"), r)?.as_deref() != Some("false")
                        }
                        None => true,
                    };
                    (p, req)
                }
                _ => (self.string(&f, item)?.unwrap_or_default(), true),
            };
            let exists = self.file.dir.join(&path).is_file();
            out.push(EnvFileRef {
                path,
                required,
                exists,
            });
        }
        Ok(out)
    }

    fn environment(&mut self, base: &str, v: &Value) -> WdResult<Vec<EnvVar>> {
        let field = format!("{base}.environment");
        let mut out: Vec<EnvVar> = Vec::new();
        let push = |out: &mut Vec<EnvVar>, e: EnvVar| {
            out.retain(|x| x.name != e.name);
            out.push(e);
        };
        match v {
            Value::Mapping(m) => {
                for (k, val) in m {
                    let name = key_str(k);
                    let f = format!("{field}.{name}");
                    let e = match self.scalar(&f, val)? {
                        Some(s) => self.env_var(&name, Some(s)),
                        None => self.env_var(&name, None),
                    };
                    push(&mut out, e);
                }
            }
            Value::Sequence(seq) => {
                for (i, item) in seq.iter().enumerate() {
                    let f = format!("{field}[{i}]");
                    let raw = match item {
                        Value::String(s) => s.clone(),
                        _ => return Err(self.type_err(&f, "KEY=value strings")),
                    };
                    let (name, rhs) = match raw.find('=') {
                        Some(eq) => (raw[..eq].to_string(), Some(raw[eq + 1..].to_string())),
                        None => (raw.clone(), None),
                    };
                    let e = match rhs {
                        Some(r) => {
                            let s = self.interp(&format!("{field}.{name}"), &r)?;
                            self.env_var(&name, Some(s))
                        }
                        None => self.env_var(&name, None),
                    };
                    push(&mut out, e);
                }
            }
            Value::Null => {}
            _ => return Err(self.type_err(&field, "a mapping or a list of KEY=value")),
        }
        Ok(out)
    }

    /// An `environment:` entry; `None` is a bare `KEY` whose value comes from the environment.
    fn env_var(&self, name: &str, s: Option<Str>) -> EnvVar {
        let refs_of = |refs: &[Ref]| {
            refs.iter()
                .map(|r| self.var_ref(&r.name, r.has_default))
                .collect::<Vec<_>>()
        };
        match s {
            Some(s) => EnvVar {
                name: name.into(),
                raw: Some(s.raw.clone()),
                origin: wd_core::docs::inventory::EnvOrigin::Environment,
                references: dedup_refs(refs_of(&s.refs)),
                value: Some(s.value),
                ..Default::default()
            },
            None => EnvVar {
                name: name.into(),
                raw: None,
                origin: wd_core::docs::inventory::EnvOrigin::Environment,
                references: vec![self.var_ref(name, false)],
                value: self.vars.lookup(name),
                ..Default::default()
            },
        }
    }

    fn var_ref(&self, name: &str, has_default: bool) -> VarRef {
        var_ref(self.vars, name, has_default)
    }

    fn ports(&mut self, base: &str, v: &Value) -> WdResult<Vec<Port>> {
        let field = format!("{base}.ports");
        let Value::Sequence(seq) = v else {
            return Err(self.type_err(&field, "a list"));
        };
        let mut out = Vec::new();
        for (i, item) in seq.iter().enumerate() {
            let f = format!("{field}[{i}]");
            match item {
                Value::Mapping(pm) => {
                    let mut p = Port {
                        raw: "long syntax".into(),
                        published: None,
                        target: String::new(),
                        protocol: "tcp".into(),
                        host_ip: None,
                        mode: None,
                    };
                    let target = get(pm, "target")
                        .ok_or_else(|| self.type_err(&f, "a `target` in the long syntax"))?;
                    let t = self
                        .scalar(&format!("{f}.target"), target)?
                        .unwrap_or_default();
                    p.target = t.value;
                    let mut raw = format!("target: {}", t.raw);
                    if let Some(pb) = get(pm, "published") {
                        let pb = self
                            .scalar(&format!("{f}.published"), pb)?
                            .unwrap_or_default();
                        raw.push_str(&format!(", published: {}", pb.raw));
                        p.published = Some(pb.value).filter(|x| !x.is_empty());
                    }
                    if let Some(x) = get(pm, "protocol") {
                        p.protocol = self
                            .string(&format!("{f}.protocol"), x)?
                            .unwrap_or_else(|| "tcp".into());
                    }
                    if let Some(x) = get(pm, "host_ip") {
                        p.host_ip = self.string(&format!("{f}.host_ip"), x)?;
                    }
                    if let Some(x) = get(pm, "mode") {
                        p.mode = self.string(&format!("{f}.mode"), x)?;
                    }
                    p.raw = raw;
                    check_port(&p.target).map_err(|m| self.err(&f, &t.raw, 0, &m))?;
                    out.push(p);
                }
                _ => {
                    let s = self.scalar(&f, item)?.unwrap_or_default();
                    let p = parse_short_port(&s.raw, &s.value)
                        .map_err(|m| self.err(&f, &s.raw, 0, &m))?;
                    out.push(p);
                }
            }
        }
        Ok(out)
    }

    fn volumes(&mut self, base: &str, v: &Value) -> WdResult<Vec<Mount>> {
        let field = format!("{base}.volumes");
        let Value::Sequence(seq) = v else {
            return Err(self.type_err(&field, "a list"));
        };
        let mut out = Vec::new();
        for (i, item) in seq.iter().enumerate() {
            let f = format!("{field}[{i}]");
            let mut m = match item {
                Value::Mapping(vm) => {
                    let ty = match get(vm, "type") {
                        Some(t) => self
                            .string(&format!("{f}.type"), t)?
                            .unwrap_or_else(|| "volume".into()),
                        None => "volume".into(),
                    };
                    let kind = match ty.as_str() {
                        "bind" => MountType::Bind,
                        "volume" => MountType::Volume,
                        "tmpfs" => MountType::Tmpfs,
                        "npipe" => MountType::Npipe,
                        "image" => MountType::Image,
                        "cluster" => MountType::Cluster,
                        other => {
                            return Err(self.type_err(
                                &format!("{f}.type"),
                                &format!(
                                    "bind, volume, tmpfs, npipe, image or cluster (got {other:?})"
                                ),
                            ))
                        }
                    };
                    let source = match get(vm, "source") {
                        Some(x) => self.string(&format!("{f}.source"), x)?,
                        None => None,
                    };
                    let target = match get(vm, "target") {
                        Some(x) => self.string(&format!("{f}.target"), x)?.unwrap_or_default(),
                        None => return Err(self.type_err(&f, "a `target` in the long syntax")),
                    };
                    let read_only = matches!(get(vm, "read_only"), Some(Value::Bool(true)))
                        || get(vm, "read_only")
                            .and_then(|x| x.as_str())
                            .is_some_and(|x| x == "true");
                    Mount {
                        kind,
                        source,
                        target,
                        read_only,
                        resolved_source: None,
                        bind: None,
                    }
                }
                _ => {
                    let s = self.scalar(&f, item)?.unwrap_or_default();
                    parse_short_volume(&s.value).map_err(|msg| self.err(&f, &s.raw, 0, &msg))?
                }
            };
            if m.kind == MountType::Bind {
                if let Some(src) = &m.source {
                    let resolved = resolve_path(&self.file.dir, src);
                    m.resolved_source = Some(resolved.display().to_string());
                }
            }
            out.push(m);
        }
        Ok(out)
    }

    fn depends_on(&mut self, base: &str, v: &Value) -> WdResult<Vec<Dependency>> {
        let field = format!("{base}.depends_on");
        match v {
            Value::Sequence(_) => Ok(self
                .string_list(&field, v)?
                .into_iter()
                .map(|service| Dependency {
                    service,
                    condition: "service_started".into(),
                    required: true,
                    restart: false,
                })
                .collect()),
            Value::Mapping(dm) => {
                let mut out = Vec::new();
                for (k, val) in dm {
                    let service = key_str(k);
                    let f = format!("{field}.{service}");
                    let mut d = Dependency {
                        service,
                        condition: "service_started".into(),
                        required: true,
                        restart: false,
                    };
                    if let Value::Mapping(o) = val {
                        if let Some(c) = get(o, "condition") {
                            d.condition = self
                                .string(&format!("{f}.condition"), c)?
                                .unwrap_or(d.condition);
                            if !matches!(
                                d.condition.as_str(),
                                "service_started"
                                    | "service_healthy"
                                    | "service_completed_successfully"
                            ) {
                                return Err(self.type_err(&format!("{f}.condition"), "service_started, service_healthy or service_completed_successfully"));
                            }
                        }
                        if let Some(Value::Bool(b)) = get(o, "required") {
                            d.required = *b;
                        }
                        if let Some(Value::Bool(b)) = get(o, "restart") {
                            d.restart = *b;
                        }
                    }
                    out.push(d);
                }
                Ok(out)
            }
            _ => Err(self.type_err(&field, "a list or a mapping")),
        }
    }

    fn healthcheck(&mut self, base: &str, v: &Value) -> WdResult<Healthcheck> {
        let field = format!("{base}.healthcheck");
        let Value::Mapping(hm) = v else {
            return Err(self.type_err(&field, "a mapping"));
        };
        let mut h = Healthcheck::default();
        if let Some(t) = get(hm, "test") {
            h.test = match t {
                Value::Sequence(_) => self.string_list(&format!("{field}.test"), t)?,
                // compose: `test` is a string or a list (`test: 5` is rejected).
                Value::Number(_) | Value::Bool(_) | Value::Mapping(_) => {
                    return Err(self.type_err(
                        &format!("{field}.test"),
                        "a string (run by the shell) or a list such as [\"CMD\", \"curl\", \"-f\", \"http://localhost\"]",
                    ))
                }
                _ => vec![
                    "CMD-SHELL".into(),
                    self.string(&format!("{field}.test"), t)?
                        .unwrap_or_default(),
                ],
            };
        }
        for (key, slot) in [
            ("interval", 0),
            ("timeout", 1),
            ("start_period", 2),
            ("start_interval", 3),
        ] {
            if let Some(x) = get(hm, key) {
                let val = self.string(&format!("{field}.{key}"), x)?;
                match slot {
                    0 => h.interval = val,
                    1 => h.timeout = val,
                    2 => h.start_period = val,
                    _ => h.start_interval = val,
                }
            }
        }
        if let Some(r) = get(hm, "retries") {
            let s = self
                .string(&format!("{field}.retries"), r)?
                .unwrap_or_default();
            h.retries = Some(
                s.parse()
                    .map_err(|_| self.type_err(&format!("{field}.retries"), "a whole number"))?,
            );
        }
        h.disabled = matches!(get(hm, "disable"), Some(Value::Bool(true)))
            || h.test.first().is_some_and(|t| t == "NONE");
        Ok(h)
    }
}

/// A reference to `name`, with where it is defined.
pub fn var_ref(vars: &Vars, name: &str, has_default: bool) -> VarRef {
    VarRef {
        name: name.into(),
        in_env_file: vars.env_file.as_ref().is_some_and(|f| f.contains(name)),
        in_env_example: vars.env_example.as_ref().is_some_and(|f| f.contains(name)),
        in_process_env: vars.process.contains_key(name),
        has_default,
    }
}

fn dedup_refs(v: Vec<VarRef>) -> Vec<VarRef> {
    let mut out: Vec<VarRef> = Vec::new();
    for r in v {
        if let Some(x) = out.iter_mut().find(|x| x.name == r.name) {
            x.has_default |= r.has_default;
        } else {
            out.push(r);
        }
    }
    out
}

/// Resolves a bind source against the compose file's directory (`~` = $HOME).
pub fn resolve_path(dir: &Path, src: &str) -> PathBuf {
    if let Some(rest) = src.strip_prefix("~/") {
        if let Some(home) = std::env::var_os("HOME") {
            return PathBuf::from(home).join(rest);
        }
    }
    let p = Path::new(src);
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    };
    normalise(&joined)
}

/// Removes `.` and resolves `..` lexically (the path may not exist yet).
fn normalise(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let last_is_up = matches!(
                    out.components().next_back(),
                    None | Some(Component::ParentDir)
                );
                if last_is_up {
                    out.push("..");
                } else {
                    out.pop();
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

fn check_port(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.split('-')
            .all(|p| p.parse::<u32>().is_ok_and(|n| n <= 65535));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid port {s:?}; use a number 0-65535 or a range like 8000-8010"
        ))
    }
}

/// `[HOST_IP:][HOST:]CONTAINER[/PROTOCOL]`; HOST_IP may be `[v6]`.
pub fn parse_short_port(raw: &str, value: &str) -> Result<Port, String> {
    let (rest, protocol) = match value.rsplit_once('/') {
        Some((r, p)) => (r, p.to_string()),
        None => (value, "tcp".to_string()),
    };
    let (host_ip, rest) = if let Some(r) = rest.strip_prefix('[') {
        let end = r
            .find(']')
            .ok_or_else(|| format!("invalid port {value:?}: unclosed [ in the host IP"))?;
        let ip = r[..end].to_string();
        let after = r[end + 1..]
            .strip_prefix(':')
            .ok_or_else(|| format!("invalid port {value:?}: expected ':' after the host IP"))?;
        (Some(ip), after.to_string())
    } else {
        (None, rest.to_string())
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (host_ip, published, target) = match (host_ip, parts.as_slice()) {
        (ip, [t]) => (ip, None, t.to_string()),
        (ip, [h, t]) => (ip, Some(h.to_string()), t.to_string()),
        (None, [ip, h, t]) => (Some(ip.to_string()), Some(h.to_string()), t.to_string()),
        _ => {
            return Err(format!(
                "invalid port {value:?}; use [HOST_IP:][HOST:]CONTAINER[/PROTOCOL]"
            ))
        }
    };
    check_port(&target)?;
    let published = published.filter(|p| !p.is_empty());
    if let Some(p) = &published {
        check_port(p)?;
    }
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!(
            "invalid protocol {protocol:?} in port {value:?}; use tcp, udp or sctp"
        ));
    }
    Ok(Port {
        raw: raw.to_string(),
        published,
        target,
        protocol,
        host_ip: host_ip.filter(|i| !i.is_empty()),
        mode: None,
    })
}

/// `SOURCE:TARGET[:MODE]` or `TARGET` (an anonymous volume).
pub fn parse_short_volume(value: &str) -> Result<Mount, String> {
    let parts: Vec<&str> = value.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [t] => (None, t.to_string(), None),
        [s, t] => (Some(s.to_string()), t.to_string(), None),
        [s, t, m] => (Some(s.to_string()), t.to_string(), Some(m.to_string())),
        _ => {
            return Err(format!(
                "invalid volume {value:?}; use SOURCE:TARGET[:MODE]"
            ))
        }
    };
    if target.is_empty() || !target.starts_with('/') {
        return Err(format!(
            "invalid volume {value:?}: the target must be an absolute container path"
        ));
    }
    let read_only = mode
        .as_deref()
        .is_some_and(|m| m.split(',').any(|x| x == "ro"));
    let kind = match &source {
        Some(s) if s.starts_with('.') || s.starts_with('/') || s.starts_with('~') => {
            MountType::Bind
        }
        _ => MountType::Volume,
    };
    Ok(Mount {
        kind,
        source,
        target,
        read_only,
        resolved_source: None,
        bind: None,
    })
}

/// Merges `over` (a later `-f` file) into `base`, as `docker compose -f a -f b` does:
/// scalars and lists that replace (command, entrypoint, healthcheck, profiles) are
/// overridden; environment by name, volumes by target, ports and extra_hosts by union,
/// depends_on by service, env_file appended.
pub fn merge_service(base: &mut Service, over: Service) {
    if over.image.is_some() {
        base.image = over.image;
    }
    if over.build.is_some() {
        base.build = over.build;
    }
    if !over.profiles.is_empty() {
        base.profiles = over.profiles;
    }
    macro_rules! opt {
        ($($f:ident),*) => { $( if over.$f.is_some() { base.$f = over.$f; } )* };
    }
    opt!(
        container_name,
        user,
        restart,
        command,
        entrypoint,
        healthcheck
    );
    replace_by(&mut base.env, over.env, |x| x.name.clone());
    replace_by(&mut base.mounts, over.mounts, |x| x.target.clone());
    replace_by(&mut base.depends_on, over.depends_on, |x| x.service.clone());
    replace_by(&mut base.networks, over.networks, |x| x.name.clone());
    union_by(&mut base.env_files, over.env_files, |x| x.path.clone());
    union_by(&mut base.ports, over.ports, |x| x.clone());
    union_by(&mut base.extra_hosts, over.extra_hosts, |x| x.clone());
}

/// Later entries replace earlier ones with the same key (and move to the end).
fn replace_by<T, K: PartialEq>(base: &mut Vec<T>, over: Vec<T>, key: impl Fn(&T) -> K) {
    for o in over {
        let k = key(&o);
        base.retain(|x| key(x) != k);
        base.push(o);
    }
}

/// Later entries are added unless one with the same key exists.
fn union_by<T, K: PartialEq>(base: &mut Vec<T>, over: Vec<T>, key: impl Fn(&T) -> K) {
    for o in over {
        let k = key(&o);
        if !base.iter().any(|x| key(x) == k) {
            base.push(o);
        }
    }
}

/// Top-level keys of a file: the project name, services in order, named volumes.
pub struct FileModel {
    pub name: Option<String>,
    pub services: Vec<Service>,
    pub volumes: Vec<NamedVolume>,
}

pub fn normalise_file(n: &mut Normaliser<'_>) -> WdResult<FileModel> {
    let root = &n.file.root;
    if get(root, "include").is_some() {
        return Err(n.type_err("include", "no top-level `include` (not supported by wd-inventory; pass the files with --compose instead)"));
    }
    let name = match get(root, "name") {
        Some(v) => n.string("name", v)?,
        None => None,
    };
    let mut services = Vec::new();
    if let Some(sv) = get(root, "services") {
        let Value::Mapping(sm) = sv else {
            return Err(n.type_err("services", "a mapping of service names"));
        };
        for (k, v) in sm {
            let sname = key_str(k);
            services.push(n.service(&sname, v)?);
        }
    }
    let mut volumes = Vec::new();
    if let Some(Value::Mapping(vm)) = root.get(Value::String("volumes".into())) {
        for (k, v) in vm {
            let vname = key_str(k);
            let mut nv = NamedVolume {
                name: vname.clone(),
                ..Default::default()
            };
            if let Value::Mapping(o) = v {
                nv.external = matches!(
                    get(o, "external"),
                    Some(Value::Bool(true)) | Some(Value::Mapping(_))
                );
                if let Some(d) = get(o, "driver") {
                    nv.driver = n.string(&format!("volumes.{vname}.driver"), d)?;
                }
            }
            volumes.push(nv);
        }
    }
    Ok(FileModel {
        name,
        services,
        volumes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ports() {
        let p = parse_short_port("x", "127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(
            (
                p.host_ip.as_deref(),
                p.published.as_deref(),
                p.target.as_str(),
                p.protocol.as_str()
            ),
            (Some("127.0.0.1"), Some("8080"), "80", "udp")
        );
        let p = parse_short_port("x", "80").unwrap();
        assert_eq!((p.published, p.target.as_str()), (None, "80"));
        let p = parse_short_port("x", "8000-8010:8000-8010").unwrap();
        assert_eq!(p.published.as_deref(), Some("8000-8010"));
        let p = parse_short_port("x", "[::1]:5432:5432").unwrap();
        assert_eq!(p.host_ip.as_deref(), Some("::1"));
        let p = parse_short_port("x", ":5432").unwrap();
        assert_eq!(p.published, None);
        assert!(parse_short_port("x", "a:b").is_err());
        assert!(parse_short_port("x", "80/icmp").is_err());
        assert!(parse_short_port("x", "1:2:3:4").is_err());
    }

    #[test]
    fn short_volumes() {
        let m = parse_short_volume("./cfg:/app/config:ro").unwrap();
        assert_eq!((m.kind, m.read_only), (MountType::Bind, true));
        let m = parse_short_volume("data:/var/lib/x").unwrap();
        assert_eq!(
            (m.kind, m.read_only, m.source.as_deref()),
            (MountType::Volume, false, Some("data"))
        );
        let m = parse_short_volume("/anon").unwrap();
        assert_eq!((m.kind, m.source), (MountType::Volume, None));
        let m = parse_short_volume("~/x:/y:ro,z").unwrap();
        assert_eq!((m.kind, m.read_only), (MountType::Bind, true));
        assert!(parse_short_volume("a:relative").is_err());
    }

    #[test]
    fn paths_resolve_lexically() {
        assert_eq!(
            resolve_path(Path::new("a/b"), "../../c"),
            PathBuf::from("c")
        );
        assert_eq!(
            resolve_path(Path::new("a"), "./x/./y"),
            PathBuf::from("a/x/y")
        );
        assert_eq!(
            resolve_path(Path::new("."), "../../up"),
            PathBuf::from("../../up")
        );
        assert_eq!(resolve_path(Path::new("a"), "/abs"), PathBuf::from("/abs"));
    }
}
