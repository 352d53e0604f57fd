//! Where each planned secret lives (issue 16, options 3 and 6), decided from the plan alone:
//!
//! - `dynamic`: with `--dynamic-db`, the database password of a consumer named by
//!   `--db-consumer` (a secret whose consumers are that consumer AND `postgres`) is issued by the
//!   in-cluster Vault's database engine on every ESO refresh ([`crate::dynamic`]); it is never
//!   seeded, never in KV.
//! - `in-cluster`: values the cluster's own Vault issues or uses itself: `format: external`
//!   (written by `wd-transit token`, a token of THAT Vault) and secrets consumed by `vault` (its
//!   database admin password). They die with the cluster and are re-issued by the next `up`.
//! - `external` / `single`: every other (static, generated) secret: in the Vault outside the
//!   cluster when there is one (`--store external`), else in the one Vault (`single`).
//!
//! terraform/workloads applies the same rule to choose each ExternalSecret's store
//! (external_store.tf, dynamic_db.tf); tests/charts/test_external_store.py compares the two.

use serde::Serialize;
use wd_core::docs::secret_plan::{PlannedSecret, SecretPlan};
use wd_core::docs::vault::{PlacedSecret, SecretPlacement};
use wd_core::{WdError, WdResult};

/// Which Vault `--vault-addr` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Store {
    /// Every secret in one Vault (the cluster's own; the default).
    #[default]
    Single,
    /// The static secrets' Vault OUTSIDE the cluster (option 6): survives `reset`.
    External,
    /// The cluster's own Vault beside an external store: only what it issues or uses itself.
    InCluster,
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct DynamicDbArgs {
    /// Database passwords of the --db-consumer workloads are dynamic credentials from Vault's
    /// database engine (ESO VaultDynamicSecret), not seeded static values.
    #[arg(long)]
    pub dynamic_db: bool,
    /// Consumers whose database credentials are dynamic (with --dynamic-db).
    #[arg(long = "db-consumer", value_name = "CONSUMER", default_values = ["walt-wallet", "keycloak"])]
    pub db_consumers: Vec<String>,
    /// Mount of the database secrets engine on the cluster's Vault.
    #[arg(long, default_value = "database")]
    pub db_mount: String,
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct PlacementArgs {
    /// Which Vault --vault-addr is: single (every secret), external (the static secrets outside
    /// the cluster), in-cluster (beside an external store: only what the cluster's Vault issues).
    #[arg(long, value_enum, default_value = "single")]
    pub store: Store,
    #[command(flatten)]
    pub db: DynamicDbArgs,
}

/// Where one secret lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Home {
    /// Seeded static value in the one Vault.
    Single,
    /// Seeded static value in the external Vault.
    External,
    /// Issued by (or used by) the cluster's own Vault, in its KV.
    InCluster,
    /// Issued per lease by the cluster's database engine; in no KV.
    Dynamic,
}

/// The database consumer whose credentials `s` holds, when they are dynamic.
pub fn dynamic_consumer<'a>(db: &'a DynamicDbArgs, s: &PlannedSecret) -> Option<&'a str> {
    if !db.dynamic_db || !s.consumers.iter().any(|c| c == "postgres") {
        return None;
    }
    db.db_consumers
        .iter()
        .find(|c| s.consumers.iter().any(|x| x == *c))
        .map(String::as_str)
}

pub fn home(a: &PlacementArgs, s: &PlannedSecret) -> Home {
    if dynamic_consumer(&a.db, s).is_some() {
        return Home::Dynamic;
    }
    let issued_in_cluster =
        s.policy.format == "external" || s.consumers.iter().any(|c| c == "vault");
    match a.store {
        Store::Single => Home::Single,
        _ if issued_in_cluster => Home::InCluster,
        _ => Home::External,
    }
}

/// Whether `s` belongs in the KV of the Vault `a.store` names.
pub fn lives_here(a: &PlacementArgs, s: &PlannedSecret) -> bool {
    matches!(
        (a.store, home(a, s)),
        (Store::Single, Home::Single)
            | (Store::External, Home::External)
            | (Store::InCluster, Home::InCluster)
    )
}

/// The plan restricted to the secrets whose KV home is this Vault.
pub fn here(a: &PlacementArgs, plan: &SecretPlan) -> SecretPlan {
    let mut p = plan.clone();
    p.secrets.retain(|s| lives_here(a, s));
    p
}

/// `rotate` of a secret this Vault does not hold is bad input (exit 2) naming where it lives.
pub fn refuse_elsewhere(a: &PlacementArgs, plan: &SecretPlan, name: &str) -> WdResult<()> {
    let Some(s) = plan.secrets.iter().find(|s| s.name == name) else {
        return Ok(()); // rotate names the unknown secret itself
    };
    match home(a, s) {
        Home::Dynamic => Err(WdError::input(format!(
            "{name}: a dynamic credential ({}/creds/{}), never stored; force a new one with `kubectl -n <namespace> annotate externalsecret {} force-sync=$(date +%s) --overwrite` (docs/runbooks/database-password.md)",
            a.db.db_mount,
            dynamic_consumer(&a.db, s).unwrap_or_default(),
            s.k8s_secret
        ))),
        h if !lives_here(a, s) => Err(WdError::input(format!(
            "{name}: its home is the {} store, not this Vault (--store {}); rotate it there: --store {} --vault-addr <that Vault>",
            serde_json::to_value(h).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            serde_json::to_value(a.store).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            serde_json::to_value(h).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
        ))),
        _ => Ok(()),
    }
}

/// Static secrets that must NOT be in this Vault: on the in-cluster Vault beside an external
/// store, every secret whose home is the external one (a leftover would be a second, stale copy).
pub fn must_be_absent<'a>(a: &PlacementArgs, plan: &'a SecretPlan) -> Vec<&'a PlannedSecret> {
    if a.store != Store::InCluster {
        return vec![];
    }
    plan.secrets
        .iter()
        .filter(|s| home(a, s) == Home::External)
        .collect()
}

fn name<T: Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `wd-secrets plan` with --store/--dynamic-db: every secret and where it lives.
pub fn placement(a: &PlacementArgs, plan: &SecretPlan) -> SecretPlacement {
    let db_mount = &a.db.db_mount;
    let secrets = plan
        .secrets
        .iter()
        .map(|s| {
            let h = home(a, s);
            let why = match h {
                Home::Dynamic => format!(
                    "dynamic credentials: ESO reads {db_mount}/creds/{} on the cluster's Vault on every refresh; never seeded",
                    dynamic_consumer(&a.db, s).unwrap_or_default()
                ),
                Home::InCluster => "issued or used by the cluster's own Vault; re-issued by the next `up`".into(),
                Home::External => "static; in the Vault outside the cluster".into(),
                Home::Single => "static; in the cluster's Vault, destroyed by reset".into(),
            };
            PlacedSecret {
                name: s.name.clone(),
                vault_path: s.vault_path.clone(),
                vault_key: s.vault_key.clone(),
                k8s_secret: s.k8s_secret.clone(),
                home: name(h),
                seeded_here: lives_here(a, s) && s.policy.format != "external",
                survives_reset: h == Home::External,
                why,
            }
        })
        .collect();
    SecretPlacement {
        scenario: plan.scenario.clone(),
        kv_mount: plan.kv_mount.clone(),
        store: name(a.store),
        secrets,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wd_core::docs::secret_plan::GenerationPolicy;

    fn s(name: &str, consumers: &[&str], format: &str) -> PlannedSecret {
        PlannedSecret {
            name: name.into(),
            vault_path: format!("p/{name}"),
            vault_key: "k".into(),
            consumers: consumers.iter().map(|c| c.to_string()).collect(),
            policy: GenerationPolicy {
                format: format.into(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn plan() -> SecretPlan {
        SecretPlan {
            kv_mount: "secret".into(),
            secrets: vec![
                s("wallet-db", &["walt-wallet", "postgres"], "random"),
                s("kc-db", &["keycloak", "postgres"], "random"),
                s("app-db", &["verifiably-go", "postgres"], "random"),
                s("vault-db", &["vault", "postgres"], "random"),
                s("transit", &["verifiably-go"], "external"),
                s("auth", &["walt-wallet"], "random"),
            ],
            ..Default::default()
        }
    }

    fn args(store: Store, dynamic: bool) -> PlacementArgs {
        PlacementArgs {
            store,
            db: DynamicDbArgs {
                dynamic_db: dynamic,
                db_consumers: vec!["walt-wallet".into(), "keycloak".into()],
                db_mount: "database".into(),
            },
        }
    }

    fn names(p: &SecretPlan) -> Vec<&str> {
        p.secrets.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn each_secret_has_one_home() {
        let p = plan();
        assert_eq!(names(&here(&args(Store::Single, false), &p)).len(), 6);
        assert_eq!(
            names(&here(&args(Store::Single, true), &p)),
            ["app-db", "vault-db", "transit", "auth"]
        );
        assert_eq!(
            names(&here(&args(Store::External, true), &p)),
            ["app-db", "auth"]
        );
        assert_eq!(
            names(&here(&args(Store::InCluster, true), &p)),
            ["vault-db", "transit"]
        );
        let absent: Vec<_> = must_be_absent(&args(Store::InCluster, false), &p)
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(absent, ["wallet-db", "kc-db", "app-db", "auth"]);
        assert!(must_be_absent(&args(Store::External, false), &p).is_empty());
        // every secret is in exactly one of: external, in-cluster, dynamic
        for dynamic in [false, true] {
            let ext = here(&args(Store::External, dynamic), &p).secrets.len();
            let inc = here(&args(Store::InCluster, dynamic), &p).secrets.len();
            let dynn = p
                .secrets
                .iter()
                .filter(|x| home(&args(Store::External, dynamic), x) == Home::Dynamic)
                .count();
            assert_eq!(ext + inc + dynn, p.secrets.len());
        }
        let pl = placement(&args(Store::External, true), &p);
        let survivors: Vec<_> = pl
            .secrets
            .iter()
            .filter(|x| x.survives_reset)
            .map(|x| x.name.as_str())
            .collect();
        assert_eq!(survivors, ["app-db", "auth"]);
        assert!(pl.secrets[0].why.contains("database/creds/walt-wallet"));
    }
}
