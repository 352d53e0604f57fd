//! Human views (tables, CSV, Markdown) of the documents.

use super::cluster::*;
use super::config_audit::ConfigAudit;
use super::inventory::{EnvOrigin, Inventory, Mount, MountType, Service};
use super::render_plan::RenderPlan;
use super::secret_plan::SecretPlan;
use super::vault::*;
use crate::output::{markdown_table, Table, View};

fn join(v: &[String]) -> String {
    v.join(", ")
}

fn or_dash(s: Option<&str>) -> String {
    s.filter(|s| !s.is_empty()).unwrap_or("-").to_string()
}

fn env_value(e: &super::inventory::EnvVar) -> String {
    if e.redacted {
        "(redacted)".into()
    } else {
        match &e.value {
            Some(v) if v.is_empty() => "(empty)".into(),
            Some(v) => v.clone(),
            None => "(unset)".into(),
        }
    }
}

fn image_cell(s: &Service) -> String {
    match &s.image {
        Some(i) => i.reference.clone(),
        None => s
            .build
            .as_ref()
            .map(|b| format!("build {}", b.context))
            .unwrap_or_else(|| "-".into()),
    }
}

fn pinned_cell(s: &Service) -> String {
    match &s.image {
        Some(i) if i.pinned => "yes".into(),
        Some(i) => format!("NO ({})", i.unpinned_reason.clone().unwrap_or_default()),
        None => "-".into(),
    }
}

fn ports_cell(s: &Service) -> String {
    s.ports
        .iter()
        .map(|p| {
            let host = match (&p.host_ip, &p.published) {
                (Some(ip), Some(h)) => format!("{ip}:{h}:"),
                (None, Some(h)) => format!("{h}:"),
                _ => String::new(),
            };
            format!("{host}{}/{}", p.target, p.protocol)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn deps_cell(s: &Service) -> String {
    s.depends_on
        .iter()
        .map(|d| format!("{} ({})", d.service, d.condition))
        .collect::<Vec<_>>()
        .join(", ")
}

fn mount_source(m: &Mount) -> String {
    match m.kind {
        MountType::Tmpfs => "tmpfs".into(),
        _ => m.source.clone().unwrap_or_else(|| "(anonymous)".into()),
    }
}

fn mount_content(m: &Mount) -> String {
    let Some(b) = &m.bind else { return "-".into() };
    if !b.exists {
        return "MISSING (generated at deploy time?)".into();
    }
    let mut kinds: Vec<String> = Vec::new();
    for f in &b.files {
        let k = serde_json::to_value(f.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let mark = if f.carries_secrets {
            format!("{} {k} SECRET[{}]", f.path, f.secret_fields.join(","))
        } else {
            format!("{} {k}", f.path)
        };
        kinds.push(mark);
    }
    if b.truncated {
        kinds.push("…".into());
    }
    kinds.join("; ")
}

impl View for Inventory {
    fn tables(&self) -> Vec<Table> {
        let mut services = Table::new(
            "Services",
            &[
                "service",
                "image",
                "pinned",
                "ports",
                "depends on",
                "healthcheck",
                "state",
            ],
        );
        let mut env = Table::new(
            "Environment",
            &["service", "variable", "value", "secret", "references"],
        );
        let mut mounts = Table::new(
            "Mounts",
            &["service", "type", "source", "target", "ro", "content"],
        );
        for s in &self.services {
            services.row(vec![
                s.name.clone(),
                image_cell(s),
                pinned_cell(s),
                ports_cell(s),
                deps_cell(s),
                s.healthcheck
                    .as_ref()
                    .map(|h| h.test.join(" "))
                    .unwrap_or_else(|| "-".into()),
                s.state
                    .iter()
                    .map(|st| st.target.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            ]);
            for e in &s.env {
                env.row(vec![
                    s.name.clone(),
                    e.name.clone(),
                    env_value(e),
                    e.secret
                        .as_ref()
                        .map(|r| r.rule.clone())
                        .unwrap_or_default(),
                    e.references
                        .iter()
                        .map(|r| r.name.clone())
                        .collect::<Vec<_>>()
                        .join(" "),
                ]);
            }
            for m in &s.mounts {
                mounts.row(vec![
                    s.name.clone(),
                    format!("{:?}", m.kind).to_lowercase(),
                    mount_source(m),
                    m.target.clone(),
                    if m.read_only {
                        "ro".into()
                    } else {
                        "rw".into()
                    },
                    mount_content(m),
                ]);
            }
        }
        let mut findings = Table::new("Findings", &["severity", "code", "service", "message"]);
        for f in &self.findings {
            findings.row(vec![
                f.severity.to_string(),
                f.code.clone(),
                or_dash(f.service.as_deref()),
                f.message.clone(),
            ]);
        }
        let mut vars = Table::new("Variables", &["variable", "status"]);
        let v = &self.variables;
        for (list, status) in [
            (
                &v.missing_from_env_example,
                "referenced, missing from .env.example",
            ),
            (&v.unset, "referenced, set nowhere"),
            (&v.defined_but_unused, "defined, unused"),
        ] {
            for name in list {
                vars.row(vec![name.clone(), status.into()]);
            }
        }
        vec![services, env, mounts, findings, vars]
    }

    fn markdown(&self) -> String {
        inventory_markdown(self)
    }
}

fn inventory_markdown(inv: &Inventory) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "# Inventory of compose project `{}`\n\n",
        inv.project
    ));
    s.push_str("Generated by `wd-inventory --format markdown`; do not edit by hand.\n\n");
    s.push_str(&format!(
        "- compose files: {}\n",
        inv.sources
            .compose_files
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    s.push_str(&format!(
        "- env file: {}\n",
        inv.sources
            .env_file
            .as_deref()
            .map(|f| format!("`{f}`"))
            .unwrap_or_else(|| "none".into())
    ));
    if let Some(sc) = &inv.sources.scenario {
        s.push_str(&format!("- scenario: `{sc}`\n"));
    }
    if !inv.sources.profiles.is_empty() {
        s.push_str(&format!("- profiles: {}\n", join(&inv.sources.profiles)));
    }
    s.push_str(&format!(
        "- secret values: {}\n",
        if inv.redacted {
            "redacted"
        } else {
            "SHOWN (--show-secrets)"
        }
    ));
    let tables = inv.tables();
    s.push_str("\n## Services\n\n");
    s.push_str(&markdown_table(&tables[0]));
    s.push_str("\n## Findings\n\n");
    if inv.findings.is_empty() {
        s.push_str("None.\n");
    } else {
        for f in &inv.findings {
            s.push_str(&format!(
                "- **{}** `{}`{}: {}\n",
                f.severity,
                f.code,
                f.service
                    .as_ref()
                    .map(|x| format!(" ({x})"))
                    .unwrap_or_default(),
                f.message
            ));
        }
    }
    for svc in &inv.services {
        s.push_str(&format!("\n## {}\n\n", svc.name));
        s.push_str(&format!(
            "- image: `{}` — pinned: {}\n",
            image_cell(svc),
            pinned_cell(svc)
        ));
        if let Some(c) = &svc.command {
            s.push_str(&format!("- command: `{}`\n", c.join(" ")));
        }
        if let Some(c) = &svc.entrypoint {
            s.push_str(&format!("- entrypoint: `{}`\n", c.join(" ")));
        }
        if let Some(h) = &svc.healthcheck {
            s.push_str(&format!(
                "- healthcheck: `{}` (interval {}, timeout {}, retries {})\n",
                h.test.join(" "),
                or_dash(h.interval.as_deref()),
                or_dash(h.timeout.as_deref()),
                h.retries
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "-".into())
            ));
        }
        if !svc.ports.is_empty() {
            s.push_str(&format!("- ports: {}\n", ports_cell(svc)));
        }
        if !svc.depends_on.is_empty() {
            s.push_str(&format!("- depends on: {}\n", deps_cell(svc)));
        }
        if !svc.env_files.is_empty() {
            s.push_str(&format!(
                "- env_file: {}\n",
                svc.env_files
                    .iter()
                    .map(|f| format!("`{}`", f.path))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for st in &svc.state {
            s.push_str(&format!(
                "- state: `{}` at `{}` — {}\n",
                st.source.as_deref().unwrap_or("(anonymous)"),
                st.target,
                st.holds.as_deref().unwrap_or("unknown content")
            ));
        }
        // Only variables set in `environment:` are listed per service; env_file variables are
        // summarised (a walt.id env_file passes ~40 unrelated variables).
        let own: Vec<_> = svc
            .env
            .iter()
            .filter(|e| e.origin == EnvOrigin::Environment)
            .collect();
        if !own.is_empty() {
            s.push_str("\n| variable | expression | value | secret |\n|---|---|---|---|\n");
            for e in own {
                s.push_str(&format!(
                    "| {} | `{}` | {} | {} |\n",
                    e.name,
                    e.raw
                        .as_deref()
                        .unwrap_or("(from environment)")
                        .replace('|', "\\|"),
                    env_value(e).replace('|', "\\|"),
                    e.secret
                        .as_ref()
                        .map(|r| format!("yes ({})", r.detail))
                        .unwrap_or_else(|| "no".into())
                ));
            }
        }
        let from_files = svc
            .env
            .iter()
            .filter(|e| e.origin != EnvOrigin::Environment)
            .count();
        if from_files > 0 {
            let secrets: Vec<_> = svc
                .env
                .iter()
                .filter(|e| e.origin != EnvOrigin::Environment && e.secret.is_some())
                .map(|e| e.name.clone())
                .collect();
            s.push_str(&format!(
                "\n{from_files} variables come from env_file; secrets among them: {}.\n",
                if secrets.is_empty() {
                    "none".into()
                } else {
                    join(&secrets)
                }
            ));
        }
        if !svc.mounts.is_empty() {
            s.push_str("\n| type | source | target | ro | content |\n|---|---|---|---|---|\n");
            for m in &svc.mounts {
                s.push_str(&format!(
                    "| {} | `{}` | `{}` | {} | {} |\n",
                    format!("{:?}", m.kind).to_lowercase(),
                    mount_source(m),
                    m.target,
                    if m.read_only { "ro" } else { "rw" },
                    mount_content(m).replace('|', "\\|")
                ));
            }
        }
    }
    s.push_str("\n## Variables\n\n");
    let v = &inv.variables;
    s.push_str(&format!("- referenced: {}\n", v.referenced.len()));
    s.push_str(&format!(
        "- referenced but missing from `.env.example`: {}\n",
        if v.missing_from_env_example.is_empty() {
            "none".into()
        } else {
            join(&v.missing_from_env_example)
        }
    ));
    s.push_str(&format!(
        "- referenced but set nowhere: {}\n",
        if v.unset.is_empty() {
            "none".into()
        } else {
            join(&v.unset)
        }
    ));
    s.push_str(&format!(
        "- defined but unused: {}\n",
        if v.defined_but_unused.is_empty() {
            "none".into()
        } else {
            join(&v.defined_but_unused)
        }
    ));
    s
}

impl View for ConfigAudit {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "Config fields",
            &[
                "service", "file", "read", "field", "class", "env vars", "value",
            ],
        );
        for svc in &self.services {
            for f in &svc.files {
                for fld in &f.fields {
                    t.row(vec![
                        svc.service.clone(),
                        f.file.clone(),
                        f.reads.clone(),
                        fld.path.clone(),
                        serde_json::to_value(fld.class)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        fld.env_vars.join(" "),
                        fld.raw.clone().unwrap_or_else(|| "(redacted)".into()),
                    ]);
                }
            }
        }
        vec![t]
    }
}

impl View for RenderPlan {
    fn tables(&self) -> Vec<Table> {
        let mut files = Table::new(
            "Rendered files",
            &["path", "component", "template", "sha256"],
        );
        for f in &self.files {
            files.row(vec![
                f.path.clone(),
                f.component.clone(),
                f.template.clone(),
                f.sha256[..12.min(f.sha256.len())].to_string(),
            ]);
        }
        let mut urls = Table::new("URLs", &["role", "url"]);
        for u in &self.urls {
            urls.row(vec![u.role.clone(), u.url.clone()]);
        }
        let mut pending = Table::new(
            "Secrets filled at deploy time",
            &["file", "field", "secret", "how"],
        );
        for p in &self.pending_secrets {
            pending.row(vec![
                p.file.clone(),
                p.field.clone(),
                p.secret.clone(),
                p.how.clone(),
            ]);
        }
        vec![files, urls, pending]
    }
}

impl View for SecretPlan {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "Secrets",
            &[
                "name",
                "vault path#key",
                "k8s secret/key",
                "env",
                "policy",
                "consumers",
            ],
        );
        for s in &self.secrets {
            let policy = match (s.policy.length, &s.policy.charset) {
                (Some(l), Some(c)) => format!("{} {l} {c}", s.policy.format),
                (Some(l), None) => format!("{} {l}", s.policy.format),
                _ => s.policy.format.clone(),
            };
            t.row(vec![
                s.name.clone(),
                format!("{}/{}#{}", self.kv_mount, s.vault_path, s.vault_key),
                format!("{}/{}", s.k8s_secret, s.k8s_key),
                or_dash(s.env.as_deref()),
                policy,
                join(&s.consumers),
            ]);
        }
        vec![t]
    }
}

impl View for SecretsReport {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            &format!("Secrets ({})", self.action),
            &[
                "secret",
                "path",
                "key",
                "k8s secret",
                "status",
                "version",
                "restart",
            ],
        );
        for i in &self.items {
            t.row(vec![
                i.secret.clone(),
                i.path.clone(),
                i.key.clone(),
                i.k8s_secret.clone(),
                i.status.clone(),
                i.version.map(|v| v.to_string()).unwrap_or_default(),
                join(&i.restart),
            ]);
        }
        let mut p = Table::new("Problems", &["secret", "key", "problem", "fix"]);
        for x in &self.problems {
            p.row(vec![
                x.secret.clone(),
                x.key.clone(),
                x.message.clone(),
                x.fix.clone(),
            ]);
        }
        vec![t, p]
    }
}

impl View for VaultCluster {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "Vault nodes",
            &["address", "initialized", "sealed", "version", "action"],
        );
        for n in &self.nodes {
            t.row(vec![
                n.addr.clone(),
                n.initialized.to_string(),
                n.sealed.to_string(),
                n.version.clone(),
                n.action.clone(),
            ]);
        }
        let mut k = Table::new("Unseal keys and root token", &["stored in"]);
        for s in &self.keys_stored_in {
            k.row(vec![s.clone()]);
        }
        vec![t, k]
    }
}

impl View for SecretPlacement {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            &format!("Secret placement ({} store)", self.store),
            &[
                "secret",
                "home",
                "vault path",
                "k8s secret",
                "seeded here",
                "survives reset",
            ],
        );
        for s in &self.secrets {
            t.row(vec![
                s.name.clone(),
                s.home.clone(),
                format!("{}/{}#{}", self.kv_mount, s.vault_path, s.vault_key),
                s.k8s_secret.clone(),
                if s.seeded_here { "yes" } else { "no" }.into(),
                if s.survives_reset { "yes" } else { "no" }.into(),
            ]);
        }
        vec![t]
    }
}

impl View for VaultPolicies {
    fn tables(&self) -> Vec<Table> {
        let mut p = Table::new("Policies", &["name", "consumer", "rules"]);
        for x in &self.policies {
            p.row(vec![
                x.name.clone(),
                x.consumer.clone(),
                x.hcl
                    .lines()
                    .filter(|l| l.starts_with("path"))
                    .count()
                    .to_string(),
            ]);
        }
        let mut r = Table::new(
            "Kubernetes auth roles",
            &[
                "role",
                "service accounts",
                "namespaces",
                "policies",
                "status",
            ],
        );
        for x in &self.roles {
            r.row(vec![
                x.name.clone(),
                join(&x.service_accounts),
                join(&x.namespaces),
                join(&x.policies),
                x.status.clone(),
            ]);
        }
        vec![p, r]
    }
}

impl View for TransitKeys {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            &format!("Transit keys ({})", self.mount),
            &[
                "key",
                "type",
                "latest",
                "min decryption",
                "min encryption",
                "versions",
                "exportable",
                "deletion allowed",
                "action",
            ],
        );
        for k in &self.keys {
            t.row(vec![
                k.name.clone(),
                k.key_type.clone(),
                k.latest_version.to_string(),
                k.min_decryption_version.to_string(),
                k.min_encryption_version.to_string(),
                k.versions
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
                k.exportable.to_string(),
                k.deletion_allowed.to_string(),
                k.action.clone(),
            ]);
        }
        vec![t]
    }
}

impl View for TransitSignature {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new("Signature", &["key", "signature", "valid"]);
        t.row(vec![
            self.key.clone(),
            self.signature.clone(),
            self.valid
                .map(|v| v.to_string())
                .unwrap_or_else(|| "-".into()),
        ]);
        vec![t]
    }
}

impl View for TransitKeyRef {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new("walt.id key reference", &["key", "reference", "did"]);
        t.row(vec![
            self.key.clone(),
            self.reference.to_string(),
            self.did.clone().unwrap_or_else(|| "-".into()),
        ]);
        let mut out = vec![t];
        if let Some(tok) = &self.token {
            let mut k = Table::new(
                "Limited token (value not shown)",
                &[
                    "policy",
                    "accessor",
                    "period s",
                    "ttl s",
                    "action",
                    "stored at",
                    "previous accessor",
                ],
            );
            k.row(vec![
                tok.policy.clone(),
                tok.accessor.clone(),
                tok.period.to_string(),
                tok.ttl.to_string(),
                tok.action.clone(),
                tok.stored_at.clone(),
                tok.previous_accessor.clone(),
            ]);
            out.push(k);
        }
        out
    }
}

impl View for WaitReport {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            if self.ready {
                "Ready"
            } else if self.timed_out {
                "Timed out"
            } else {
                "Not ready"
            },
            &[
                "kind",
                "namespace",
                "name",
                "state",
                "message",
                "ready after",
            ],
        );
        let mut d = Table::new("Diagnosis", &["object", "finding"]);
        for o in &self.objects {
            t.row(vec![
                o.object_kind.clone(),
                o.namespace.clone(),
                o.name.clone(),
                o.state.to_string(),
                o.message.clone(),
                o.ready_after_ms
                    .map(|m| format!("{:.1}s", m as f64 / 1000.0))
                    .unwrap_or_default(),
            ]);
            for line in o.diagnosis.iter().chain(o.logs.iter()) {
                d.row(vec![format!("{}/{}", o.object_kind, o.name), line.clone()]);
            }
        }
        vec![t, d]
    }
}

impl View for UrlList {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new("URLs", &["what", "url", "login"]);
        for u in &self.urls {
            t.row(vec![
                u.what.clone(),
                u.url.clone(),
                or_dash(u.login.as_deref()),
            ]);
        }
        vec![t]
    }
}

impl View for super::preflight::PreflightReport {
    fn tables(&self) -> Vec<Table> {
        use super::preflight::Severity;
        let title = if self.ok {
            format!(
                "Preflight: no errors ({} warnings, {} objects)",
                self.summary.warnings, self.summary.objects
            )
        } else {
            format!(
                "Preflight: {} errors, {} warnings ({} objects)",
                self.summary.errors, self.summary.warnings, self.summary.objects
            )
        };
        let mut t = Table::new(&title, &["severity", "check", "objects", "message", "fix"]);
        for f in &self.findings {
            t.row(vec![
                match f.severity {
                    Severity::Error => "error".into(),
                    Severity::Warning => "warning".into(),
                },
                f.check.clone(),
                f.objects
                    .iter()
                    .map(|o| {
                        let c = o
                            .container
                            .as_deref()
                            .map(|c| format!(" [{c}]"))
                            .unwrap_or_default();
                        if o.namespace.is_empty() {
                            format!("{}/{}{c}", o.object_kind, o.name)
                        } else {
                            format!("{}/{}/{}{c}", o.object_kind, o.namespace, o.name)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                f.message.clone(),
                f.fix.clone(),
            ]);
        }
        let mut c = Table::new("Calls", &["from", "to", "source", "resolves to", "ok"]);
        for p in &self.calls {
            c.row(vec![
                p.from.clone(),
                p.to.clone(),
                p.source.clone(),
                p.resolves_to.clone(),
                if p.ok { "yes".into() } else { "NO".into() },
            ]);
        }
        let gib = |b: u64| format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64);
        let mut k = Table::new(
            "Capacity",
            &[
                "scope",
                "cpu requests",
                "memory requests",
                "cpu limits",
                "memory limits",
                "allocatable",
            ],
        );
        for l in &self.capacity {
            k.row(vec![
                l.scope.clone(),
                format!("{}m", l.cpu_requests_millis),
                gib(l.memory_requests_bytes),
                format!("{}m", l.cpu_limits_millis),
                gib(l.memory_limits_bytes),
                if l.memory_allocatable_bytes > 0 {
                    format!(
                        "{}m, {}",
                        l.cpu_allocatable_millis,
                        gib(l.memory_allocatable_bytes)
                    )
                } else {
                    "-".into()
                },
            ]);
        }
        vec![t, c, k]
    }
}
