//! `check`: the preflight guardrail. Vault: every planned key exists and is non-empty.
//! Cluster (through `kubectl`, the same client and kubeconfig the deployment uses): every
//! ExternalSecret is Ready and every Kubernetes Secret has every key the pods read.

use crate::seed::by_path;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;
use wd_core::docs::secret_plan::SecretPlan;
use wd_core::docs::vault::{Problem, SecretItem, SecretsReport};
use wd_core::{WdError, WdResult};
use wd_vault::Vault;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClusterMode {
    Auto,
    On,
    Off,
}

/// `check` of the secrets that live in this Vault ([`crate::placement`]); beside an external
/// store (`--store in-cluster`) a static secret found here is a problem too: a second copy that
/// ESO does not read and `reset` destroys, so the two would drift apart.
pub fn check_placed(
    v: &Vault,
    plan: &SecretPlan,
    placement: &crate::placement::PlacementArgs,
    namespace: &str,
    mode: ClusterMode,
) -> WdResult<SecretsReport> {
    let mut report = check(v, &crate::placement::here(placement, plan), namespace, mode)?;
    for s in crate::placement::must_be_absent(placement, plan) {
        let found = v
            .kv_read(&plan.kv_mount, &s.vault_path)?
            .is_some_and(|c| c.data.get(&s.vault_key).is_some_and(|x| !x.is_empty()));
        if found {
            report.problems.push(Problem {
                secret: s.name.clone(),
                key: s.vault_key.clone(),
                message: format!(
                    "{}/{} holds {} in the cluster's Vault, but its home is the external store",
                    plan.kv_mount, s.vault_path, s.vault_key
                ),
                fix: format!(
                    "compare it with the external store, then `vault kv metadata delete -mount={} {}` on the cluster's Vault",
                    plan.kv_mount, s.vault_path
                ),
            });
        }
    }
    // the database engine answers for the dynamic credentials (on the cluster's Vault)
    if placement.db.dynamic_db && placement.store != crate::placement::Store::External {
        for r in crate::dynamic::roles(&placement.db, plan)? {
            let path = format!("{}/roles/{}", placement.db.db_mount, r.name);
            let (status, _) = v.raw("GET".parse().expect("an HTTP method"), &path, None)?;
            if status != 200 {
                report.problems.push(Problem {
                    secret: r.k8s_secret.clone(),
                    key: "username/password".into(),
                    message: format!("{path} is not configured (Vault answered {status}): ESO cannot issue {}'s credentials", r.name),
                    fix: "wd-secrets policies --plan out/secrets/secret-plan.json --apply --dynamic-db".into(),
                });
            }
        }
    }
    Ok(report)
}

pub fn check(
    v: &Vault,
    plan: &SecretPlan,
    namespace: &str,
    mode: ClusterMode,
) -> WdResult<SecretsReport> {
    let mut report = SecretsReport {
        action: "check".into(),
        vault_addr: v.addr.clone(),
        ..Default::default()
    };
    for (path, secrets) in by_path(plan) {
        let current = v.kv_read(&plan.kv_mount, &path)?;
        for s in secrets {
            let present = current
                .as_ref()
                .and_then(|c| c.data.get(&s.vault_key))
                .is_some_and(|x| !x.is_empty());
            report.items.push(SecretItem {
                secret: s.name.clone(),
                path: format!("{}/{path}", plan.kv_mount),
                key: s.vault_key.clone(),
                k8s_secret: s.k8s_secret.clone(),
                status: if present {
                    "ok".into()
                } else {
                    "missing".into()
                },
                version: current.as_ref().map(|c| c.version),
                restart: vec![],
            });
            if !present {
                report.problems.push(Problem {
                    secret: s.name.clone(),
                    key: s.vault_key.clone(),
                    message: format!(
                        "{}/{path} has no value for {} in Vault",
                        plan.kv_mount, s.vault_key
                    ),
                    fix: "wd-secrets seed --plan out/secrets/secret-plan.json".into(),
                });
            }
        }
    }
    report.cluster = match mode {
        ClusterMode::Off => "not asked".into(),
        _ => match kubectl(&["get", "namespace", namespace, "-o", "name"]) {
            Ok(_) => {
                check_cluster(plan, namespace, &mut report.problems)?;
                "checked".into()
            }
            Err(why) if mode == ClusterMode::Auto => format!("skipped ({why})"),
            Err(why) => {
                return Err(WdError::unreachable(format!(
                    "cluster: {why}; check your kubeconfig or pass --cluster off"
                )))
            }
        },
    };
    Ok(report)
}

/// Runs kubectl; Ok(stdout JSON/text) or Err(one-line reason). Output may hold Secret data:
/// it is parsed for key names only and never printed.
fn kubectl(args: &[&str]) -> Result<String, String> {
    let out = Command::new("kubectl")
        .args(args)
        .output()
        .map_err(|e| format!("kubectl cannot run ({e})"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err
            .lines()
            .next()
            .unwrap_or("kubectl failed")
            .trim()
            .to_string())
    }
}

fn check_cluster(plan: &SecretPlan, ns: &str, problems: &mut Vec<Problem>) -> WdResult<()> {
    // What each Kubernetes Secret must carry (plan keys plus static keys).
    let mut wanted: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for s in &plan.secrets {
        wanted
            .entry(&s.k8s_secret)
            .or_default()
            .push((&s.name, &s.k8s_key));
        for k in s.k8s_static.keys() {
            wanted.entry(&s.k8s_secret).or_default().push((&s.name, k));
        }
    }
    let sync = |name: &str| {
        format!("kubectl -n {ns} annotate externalsecret {name} force-sync=$(date +%s) --overwrite")
    };
    for (secret, keys) in &wanted {
        let first = keys[0].0;
        match kubectl(&["-n", ns, "get", "externalsecret", secret, "-o", "json"]) {
            Ok(json) => {
                let es: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
                let ready = es["status"]["conditions"].as_array().and_then(|c| c.iter().find(|x| x["type"] == "Ready")).cloned();
                let ok = ready.as_ref().is_some_and(|r| r["status"] == "True");
                if !ok {
                    let msg = ready.as_ref().and_then(|r| r["message"].as_str()).unwrap_or("no Ready condition yet");
                    problems.push(Problem { secret: first.into(), key: String::new(), message: format!("ExternalSecret {secret} is not synced: {msg}"), fix: format!("kubectl -n {ns} describe externalsecret {secret} (then: wd-secrets seed; {})", sync(secret)) });
                }
            }
            Err(why) => problems.push(Problem { secret: first.into(), key: String::new(), message: format!("ExternalSecret {secret}: {why}"), fix: "install the umbrella chart with wd-render's values (they create the ExternalSecrets)".into() }),
        }
        match kubectl(&["-n", ns, "get", "secret", secret, "-o", "json"]) {
            Ok(json) => {
                let s: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
                for (name, key) in keys {
                    let has = s["data"]
                        .get(*key)
                        .and_then(Value::as_str)
                        .is_some_and(|x| !x.is_empty());
                    if !has {
                        problems.push(Problem {
                            secret: (*name).into(),
                            key: (*key).into(),
                            message: format!("Secret {secret} has no key {key}"),
                            fix: sync(secret),
                        });
                    }
                }
            }
            Err(why) => problems.push(Problem {
                secret: first.into(),
                key: String::new(),
                message: format!("Secret {secret}: {why}"),
                fix: sync(secret),
            }),
        }
    }
    Ok(())
}
