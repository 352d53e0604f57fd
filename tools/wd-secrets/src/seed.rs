//! `seed` and `rotate`: KV v2 writes with check-and-set, so an existing value is never
//! overwritten by seed and two concurrent runs cannot both write a key.

use crate::generate;
use std::collections::BTreeMap;
use wd_core::docs::secret_plan::{PlannedSecret, SecretPlan};
use wd_core::docs::vault::{Problem, SecretItem, SecretsReport};
use wd_core::{WdError, WdResult};
use wd_vault::Vault;

/// Attempts per path before giving up on check-and-set races.
const CAS_ATTEMPTS: usize = 8;

fn item(plan: &SecretPlan, s: &PlannedSecret, status: &str, version: Option<u64>) -> SecretItem {
    SecretItem {
        secret: s.name.clone(),
        path: format!("{}/{}", plan.kv_mount, s.vault_path),
        key: s.vault_key.clone(),
        k8s_secret: s.k8s_secret.clone(),
        status: status.into(),
        version,
        restart: vec![],
    }
}

/// Secrets grouped by Vault path, in plan order.
pub fn by_path(plan: &SecretPlan) -> Vec<(String, Vec<&PlannedSecret>)> {
    let mut out: Vec<(String, Vec<&PlannedSecret>)> = Vec::new();
    for s in &plan.secrets {
        match out.iter_mut().find(|(p, _)| *p == s.vault_path) {
            Some((_, v)) => v.push(s),
            None => out.push((s.vault_path.clone(), vec![s])),
        }
    }
    out
}

pub fn seed(v: &Vault, plan: &SecretPlan) -> WdResult<SecretsReport> {
    let mut report = SecretsReport {
        action: "seed".into(),
        vault_addr: v.addr.clone(),
        cluster: "not asked".into(),
        ..Default::default()
    };
    if v.ensure_kv2(&plan.kv_mount)? {
        wd_core::term::step(&format!("enabled KV v2 at {}/", plan.kv_mount));
    }
    for (path, secrets) in by_path(plan) {
        let mut done = false;
        for _ in 0..CAS_ATTEMPTS {
            let current = v.kv_read(&plan.kv_mount, &path)?;
            let (mut data, cas) = match &current {
                Some(c) => (c.data.clone(), c.version),
                None => (BTreeMap::new(), 0),
            };
            let mut created = Vec::new();
            for s in &secrets {
                if data.get(&s.vault_key).is_some_and(|x| !x.is_empty()) {
                    continue;
                }
                match generate::value(&s.name, &s.policy) {
                    Ok(val) => {
                        data.insert(s.vault_key.clone(), val);
                        created.push(s.vault_key.clone());
                    }
                    Err(e) if e.exit == wd_core::Exit::Problems => report.problems.push(Problem {
                        secret: s.name.clone(),
                        key: s.vault_key.clone(),
                        message: "missing, and supplied by a person (policy external)".into(),
                        fix: format!(
                            "vault kv patch -mount={} {path} {}=<value>",
                            plan.kv_mount, s.vault_key
                        ),
                    }),
                    Err(e) => return Err(e),
                }
            }
            if created.is_empty() {
                for s in &secrets {
                    let present = data.contains_key(&s.vault_key);
                    report.items.push(item(
                        plan,
                        s,
                        if present { "kept" } else { "missing" },
                        current.as_ref().map(|c| c.version),
                    ));
                }
                done = true;
                break;
            }
            match v.kv_write(&plan.kv_mount, &path, &data, cas)? {
                Ok(version) => {
                    for s in &secrets {
                        let status = if created.contains(&s.vault_key) {
                            "created"
                        } else {
                            "kept"
                        };
                        report.items.push(item(plan, s, status, Some(version)));
                    }
                    done = true;
                    break;
                }
                // Another writer won: read again; what it wrote is kept, not overwritten.
                Err(_) => {
                    report
                        .problems
                        .retain(|p| !secrets.iter().any(|s| s.name == p.secret));
                    continue;
                }
            }
        }
        if !done {
            return Err(WdError::unreachable(format!("{}/{path}: check-and-set kept failing after {CAS_ATTEMPTS} attempts; another writer is busy, try again", plan.kv_mount)));
        }
    }
    Ok(report)
}

pub fn rotate(v: &Vault, plan: &SecretPlan, name: &str) -> WdResult<SecretsReport> {
    let s = plan
        .secrets
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| {
            WdError::input(format!(
                "rotate: unknown secret {name:?}; known: {}",
                plan.secrets
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let mut report = SecretsReport {
        action: "rotate".into(),
        vault_addr: v.addr.clone(),
        cluster: "not asked".into(),
        ..Default::default()
    };
    for _ in 0..CAS_ATTEMPTS {
        let Some(current) = v.kv_read(&plan.kv_mount, &s.vault_path)? else {
            report.problems.push(Problem {
                secret: s.name.clone(),
                key: s.vault_key.clone(),
                message: format!("{}/{} does not exist in Vault", plan.kv_mount, s.vault_path),
                fix: "wd-secrets seed --plan out/secrets/secret-plan.json".into(),
            });
            return Ok(report);
        };
        let mut data = current.data.clone();
        let new = generate::value(&s.name, &s.policy).map_err(|e| {
            if e.exit == wd_core::Exit::Problems {
                WdError::input(format!("rotate: {name} is supplied by a person (policy external); write its new value with `vault kv patch`"))
            } else {
                e
            }
        })?;
        data.insert(s.vault_key.clone(), new);
        if let Ok(version) = v.kv_write(&plan.kv_mount, &s.vault_path, &data, current.version)? {
            let mut it = item(plan, s, "rotated", Some(version));
            it.restart = s.restart_on_rotate.clone();
            report.items.push(it);
            wd_core::term::warn(&format!(
                "wd-secrets: {name}: version {} -> {version} (version {} stays readable); sync with: kubectl -n <namespace> annotate externalsecret {} force-sync=$(date +%s) --overwrite; then restart: {}",
                current.version,
                current.version,
                s.k8s_secret,
                s.restart_on_rotate.join(", ")
            ));
            return Ok(report);
        }
    }
    Err(WdError::unreachable(format!(
        "{}/{}: another writer kept changing it; try again",
        plan.kv_mount, s.vault_path
    )))
}
