//! Dynamic database credentials (issue 16 option 3; docs/runbooks/database-password.md):
//! Vault's database secrets engine on the CloudNativePG cluster. `policies --apply --dynamic-db`
//! mounts the engine, configures ONE connection (the cluster's rw service, as the Vault-owned
//! admin role `vault_admin` the umbrella creates with CREATEROLE and ADMIN OPTION on the
//! consumers' group roles), and one role per consumer whose credentials are a fresh LOGIN role
//! that is a member of the consumer's group role and runs every session AS that group role, so
//! every table stays owned by the group and a credential can be dropped at any time.
//!
//! Lifetimes (why they are safe, the runbook has the full story): ESO's VaultDynamicSecret
//! issues a NEW credential on every refresh (12 h, charts/umbrella values
//! postgres.dynamicCredentials.refreshInterval) and never renews or revokes the old lease, so a
//! credential must outlive the pods started with it. Reloader rolls the consumers within seconds
//! of the Secret changing; walt.id reads db.conf only at start and its pool (maxLifetime 60 s)
//! reconnects every minute with the start-time password (waltid-facts §2), Keycloak reads
//! KC_DB_PASSWORD only at start. A credential is in the Secret for at most one refresh interval
//! and in a pod for at most that plus the rollout: default_ttl 24 h = 2 × refresh leaves 12 h for
//! a failed rollout to be noticed; max_ttl 48 h bounds a manual `vault lease renew`.

use serde_json::{json, Value};
use wd_core::docs::secret_plan::SecretPlan;
use wd_core::{WdError, WdResult};
use wd_vault::Vault;

use crate::placement::{dynamic_consumer, DynamicDbArgs};

#[derive(Debug, Clone, clap::Args)]
pub struct EngineArgs {
    /// Name of the engine's connection to the CloudNativePG cluster.
    #[arg(long, default_value = "waltid-pg")]
    pub db_connection: String,
    /// The cluster's read-write service (charts/umbrella values postgres.name + `-rw`).
    #[arg(long, default_value = "waltid-pg-rw.waltid.svc")]
    pub db_host: String,
    #[arg(long, default_value_t = 5432)]
    pub db_port: u16,
    /// Database the admin connects to (the owner database, values postgres.database).
    #[arg(long, default_value = "waltid")]
    pub db_name: String,
    /// libpq sslmode of Vault's admin connection: disable, allow, prefer, require, verify-ca or
    /// verify-full. Default require (encrypted, the certificate not checked): CloudNativePG
    /// always serves TLS, with its own CA unless the internal CA signs it; with the internal CA,
    /// pass verify-full and --db-sslrootcert.
    #[arg(long, default_value = "require", value_parser = sslmode)]
    pub db_sslmode: String,
    /// The CA root Vault verifies the database's certificate with (needs --db-sslmode verify-ca
    /// or verify-full): an absolute path as Vault's process sees it, inside its pod (with the
    /// internal CA: /vault/userconfig/wd-vault-ca/ca.crt); not looked for on this machine.
    #[arg(long, value_name = "PATH", value_parser = vault_path)]
    pub db_sslrootcert: Option<String>,
    /// The planned secret holding the admin role's password (its username is k8sStatic.username).
    #[arg(long, default_value = "postgres-vault-password")]
    pub db_admin_secret: String,
    /// Lease of an issued credential: 2 × ESO's refresh interval (module docs).
    #[arg(long, default_value = "24h")]
    pub db_default_ttl: String,
    /// Longest life of a credential even when renewed by hand.
    #[arg(long, default_value = "48h")]
    pub db_max_ttl: String,
    /// Let Vault log in to the database while configuring (off by default: `k8s-deploy.sh up`
    /// configures the engine before the workloads create the database; ESO retries until then).
    #[arg(long)]
    pub db_verify: bool,
}

/// libpq's sslmode values (PostgreSQL docs, libpq-connect "sslmode"; pgx, the driver of
/// Vault's PostgreSQL plugin, accepts the same six).
pub const SSLMODES: [&str; 6] = [
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// --db-sslmode: one of [`SSLMODES`].
fn sslmode(s: &str) -> Result<String, String> {
    if SSLMODES.contains(&s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "not a libpq sslmode; use one of {}",
            SSLMODES.join(", ")
        ))
    }
}

/// --db-sslrootcert: an absolute path. Vault reads it in its own pod, so it is not looked for
/// here; a relative one would be resolved against Vault's working directory.
fn vault_path(s: &str) -> Result<String, String> {
    if s.starts_with('/') {
        Ok(s.to_string())
    } else {
        Err("not an absolute path; give the file as Vault's process sees it inside its pod, e.g. /vault/userconfig/wd-vault-ca/ca.crt".into())
    }
}

/// What the flags cannot say one at a time (exit 2, before anything is written): a root with
/// an sslmode that does not verify. `require` with a root is what libpq (and pgx) quietly turn
/// into verify-ca: the chain checked, the name not; say the mode that is meant instead.
pub fn check(e: &EngineArgs) -> WdResult<()> {
    if e.db_sslrootcert.is_none() {
        return Ok(());
    }
    let why = match e.db_sslmode.as_str() {
        "verify-ca" | "verify-full" => return Ok(()),
        "require" => {
            "with a root libpq and pgx check the chain but not the name, which require does not say"
        }
        "disable" => "it turns TLS off",
        _ => "it falls back to no TLS and never verifies",
    };
    Err(WdError::input(format!(
        "--db-sslrootcert needs --db-sslmode verify-full (or verify-ca), not {} ({why}); pass --db-sslmode verify-full",
        e.db_sslmode
    )))
}

/// Characters left as they are in a connection_url query value: RFC 3986's unreserved and '/'
/// (paths read naturally); everything else is %-encoded, including '&', '=', '+', ';', '#',
/// '%' and Vault's template braces.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// The engine's connection_url (`{{username}}`/`{{password}}` are the engine's placeholders).
pub fn connection_url(e: &EngineArgs) -> String {
    let mut url = format!(
        "postgresql://{{{{username}}}}:{{{{password}}}}@{}:{}/{}?sslmode={}",
        e.db_host, e.db_port, e.db_name, e.db_sslmode
    );
    if let Some(root) = &e.db_sslrootcert {
        url.push_str("&sslrootcert=");
        url.extend(percent_encoding::utf8_percent_encode(root, QUERY_VALUE));
    }
    url
}

/// One Vault role per dynamic consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbRole {
    /// Vault role name (= the consumer, e.g. walt-wallet).
    pub name: String,
    /// The consumer's group role in Postgres (the planned secret's k8sStatic.username).
    pub group: String,
    /// The Kubernetes Secret ESO writes the credential into (the planned secret's).
    pub k8s_secret: String,
}

/// The roles of `db.db_consumers`, from the plan: the secret shared by the consumer and
/// `postgres`, whose k8sStatic.username is the group role. Missing = bad input (exit 2).
pub fn roles(db: &DynamicDbArgs, plan: &SecretPlan) -> WdResult<Vec<DbRole>> {
    let mut out = Vec::new();
    for c in &db.db_consumers {
        let s = plan
            .secrets
            .iter()
            .find(|s| dynamic_consumer(db, s) == Some(c.as_str()))
            .ok_or_else(|| {
                WdError::input(format!(
                    "--db-consumer {c}: no planned secret is consumed by {c} and postgres; name a consumer of a database password in config/secrets.yaml"
                ))
            })?;
        let group = s.k8s_static.get("username").cloned().ok_or_else(|| {
            WdError::input(format!(
                "secret {}: k8sStatic.username is missing (the Postgres role of {c}); add it in config/secrets.yaml",
                s.name
            ))
        })?;
        if !ident_ok(&group) {
            return Err(WdError::input(format!(
                "secret {}: k8sStatic.username {group:?} is not a plain Postgres identifier ([a-z_][a-z0-9_]*)",
                s.name
            )));
        }
        out.push(DbRole {
            name: c.clone(),
            group,
            k8s_secret: s.k8s_secret.clone(),
        });
    }
    Ok(out)
}

fn ident_ok(s: &str) -> bool {
    let mut ch = s.chars();
    matches!(ch.next(), Some('a'..='z' | '_'))
        && ch.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && s.len() <= 63
}

/// SQL the engine runs when it issues a credential of `group` ({{name}}, {{password}},
/// {{expiration}} are the engine's own placeholders). VALID UNTIL makes Postgres refuse the
/// password after the lease even if revocation never ran.
pub fn creation_statements(group: &str) -> Vec<String> {
    vec![
        format!("CREATE ROLE \"{{{{name}}}}\" WITH LOGIN PASSWORD '{{{{password}}}}' VALID UNTIL '{{{{expiration}}}}' IN ROLE \"{group}\";"),
        // Every session acts as the group: tables the wallet or Keycloak create belong to it.
        format!("ALTER ROLE \"{{{{name}}}}\" SET role TO \"{group}\";"),
    ]
}

/// SQL the engine runs at revocation or expiry: end the credential's sessions, drop it (it
/// owns nothing: its sessions ran as the group).
pub fn revocation_statements() -> Vec<String> {
    vec![
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{{name}}';".into(),
        "DROP ROLE IF EXISTS \"{{name}}\";".into(),
    ]
}

/// HCL of the policy ESO's Kubernetes auth role gets on the cluster's Vault: read the
/// consumers' credential paths, nothing else of the engine.
pub fn eso_policy(mount: &str, roles: &[DbRole], scenario: &str) -> String {
    let mut hcl = format!(
        "# Generated by wd-secrets from the secret plan ({scenario}): External Secrets Operator issues the consumers' dynamic database credentials, nothing else of {mount}/.\n"
    );
    for r in roles {
        hcl.push_str(&format!(
            "path \"{mount}/creds/{}\" {{\n  capabilities = [\"read\"]\n}}\n",
            r.name
        ));
    }
    hcl
}

/// What `apply` did, for the VaultPolicies report's roles table.
pub struct Applied {
    pub mount_enabled: bool,
    pub roles: Vec<DbRole>,
}

/// Mounts the engine (if absent), writes the connection (with --db-verify Vault logs in) and
/// the roles. The admin password is the plan's `--db-admin-secret` in the KV of this same Vault
/// (home `in-cluster`: placement.rs), seeded first when absent.
pub fn apply(
    v: &Vault,
    e: &EngineArgs,
    db: &DynamicDbArgs,
    plan: &SecretPlan,
) -> WdResult<Applied> {
    check(e)?;
    let roles = roles(db, plan)?;
    let admin = plan
        .secrets
        .iter()
        .find(|s| s.name == e.db_admin_secret)
        .ok_or_else(|| {
            WdError::input(format!(
                "--db-admin-secret {}: not in the plan; add the Vault admin's database password to config/secrets.yaml and re-render",
                e.db_admin_secret
            ))
        })?;
    let admin_user = admin.k8s_static.get("username").cloned().ok_or_else(|| {
        WdError::input(format!(
            "secret {}: k8sStatic.username is missing (the admin role's name)",
            admin.name
        ))
    })?;
    // Seeded here if absent (check-and-set, never overwritten): `k8s-deploy.sh up` applies the
    // policies before it seeds, and CloudNativePG reads the same value through ESO.
    let only_admin = SecretPlan {
        secrets: vec![admin.clone()],
        ..plan.clone()
    };
    let seeded = crate::seed::seed(v, &only_admin)?;
    if let Some(p) = seeded.problems.first() {
        return Err(WdError::problems(format!("{}: {}", p.secret, p.message)));
    }
    let admin_password = v
        .kv_read(&plan.kv_mount, &admin.vault_path)?
        .and_then(|s| s.data.get(&admin.vault_key).cloned())
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            WdError::problems(format!(
                "{}/{} has no {}: run `wd-secrets seed --plan …` first (the admin password of the database engine)",
                plan.kv_mount, admin.vault_path, admin.vault_key
            ))
        })?;
    let mut mount_enabled = false;
    let (status, mounts) = v.raw("GET".parse().expect("an HTTP method"), "sys/mounts", None)?;
    if status != 200 {
        return Err(WdError::unreachable(format!(
            "{}: listing secret engines answered {status}; the token needs read on sys/mounts",
            v.addr
        )));
    }
    let key = format!("{}/", db.db_mount);
    let existing = mounts
        .get("data")
        .unwrap_or(&mounts)
        .get(&key)
        .and_then(|m| m.get("type"))
        .and_then(Value::as_str)
        .map(str::to_string);
    match existing.as_deref() {
        Some("database") => {}
        Some(other) => {
            return Err(WdError::input(format!(
                "--db-mount {}: Vault has a {other} engine there, not database; pick another mount",
                db.db_mount
            )))
        }
        None => {
            v.raw_ok(
                "POST".parse().expect("an HTTP method"),
                &format!("sys/mounts/{}", db.db_mount),
                Some(&json!({"type": "database", "description": "dynamic credentials of the CloudNativePG cluster (wd-secrets)"})),
                "enable the database secrets engine",
            )?;
            mount_enabled = true;
        }
    }
    let url = connection_url(e);
    v.raw_ok(
        "POST".parse().expect("an HTTP method"),
        &format!("{}/config/{}", db.db_mount, e.db_connection),
        Some(&json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": url,
            "username": admin_user,
            "password": admin_password,
            "allowed_roles": roles.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
            "verify_connection": e.db_verify,
        })),
        &format!(
            "configure the database connection {} ({}:{} as {admin_user})",
            e.db_connection, e.db_host, e.db_port
        ),
    )?;
    for r in &roles {
        v.raw_ok(
            "POST".parse().expect("an HTTP method"),
            &format!("{}/roles/{}", db.db_mount, r.name),
            Some(&json!({
                "db_name": e.db_connection,
                "creation_statements": creation_statements(&r.group),
                "revocation_statements": revocation_statements(),
                "default_ttl": e.db_default_ttl,
                "max_ttl": e.db_max_ttl,
            })),
            &format!("write the database role {}", r.name),
        )?;
    }
    Ok(Applied {
        mount_enabled,
        roles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_use_the_engine_placeholders_and_the_group() {
        let c = creation_statements("waltid");
        assert_eq!(c[0], "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' IN ROLE \"waltid\";");
        assert_eq!(c[1], "ALTER ROLE \"{{name}}\" SET role TO \"waltid\";");
        assert!(revocation_statements()[1].starts_with("DROP ROLE IF EXISTS \"{{name}}\""));
        assert!(ident_ok("keycloak") && ident_ok("vault_admin"));
        assert!(!ident_ok("Robert\"; DROP") && !ident_ok("") && !ident_ok("1x"));
    }

    fn engine(args: &[&str]) -> EngineArgs {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            e: EngineArgs,
        }
        let argv = std::iter::once("wd-secrets").chain(args.iter().copied());
        <Cli as clap::Parser>::try_parse_from(argv).unwrap().e
    }

    #[test]
    fn the_url_without_a_root_is_unchanged_and_a_root_is_a_query_value() {
        assert_eq!(
            connection_url(&engine(&[])),
            "postgresql://{{username}}:{{password}}@waltid-pg-rw.waltid.svc:5432/waltid?sslmode=require"
        );
        let e = engine(&[
            "--db-sslmode",
            "verify-full",
            "--db-sslrootcert",
            "/vault/userconfig/wd-vault-ca/ca.crt",
        ]);
        check(&e).unwrap();
        assert_eq!(
            connection_url(&e),
            "postgresql://{{username}}:{{password}}@waltid-pg-rw.waltid.svc:5432/waltid?sslmode=verify-full&sslrootcert=/vault/userconfig/wd-vault-ca/ca.crt"
        );
        // what would end the value, start another parameter, or be read as a space or a template
        let e = engine(&[
            "--db-sslmode",
            "verify-ca",
            "--db-sslrootcert",
            "/ca dir/a&b=c+d;e#f%g{{h}}é.pem",
        ]);
        assert!(connection_url(&e).ends_with(
            "?sslmode=verify-ca&sslrootcert=/ca%20dir/a%26b%3Dc%2Bd%3Be%23f%25g%7B%7Bh%7D%7D%C3%A9.pem"
        ));
    }

    #[test]
    fn a_root_needs_a_verifying_sslmode_and_an_absolute_path() {
        for mode in ["disable", "allow", "prefer", "require"] {
            let e = engine(&["--db-sslmode", mode, "--db-sslrootcert", "/ca.crt"]);
            let err = check(&e).unwrap_err();
            assert_eq!(err.exit, wd_core::Exit::Usage, "{mode}");
            let msg = err.to_string();
            assert!(
                msg.starts_with("--db-sslrootcert needs --db-sslmode verify-full")
                    && msg.contains(&format!("not {mode} "))
                    && !msg.contains('\n'),
                "{msg}"
            );
        }
        // the default sslmode (require) with a root is refused too
        assert!(check(&engine(&["--db-sslrootcert", "/ca.crt"])).is_err());
        for mode in SSLMODES {
            assert_eq!(engine(&["--db-sslmode", mode]).db_sslmode, mode);
            check(&engine(&["--db-sslmode", mode])).unwrap();
        }
        assert!(sslmode("verify_full").unwrap_err().contains("verify-full"));
        assert!(sslmode("VERIFY-FULL").is_err() && sslmode("").is_err());
        for rel in ["ca.crt", "./ca.crt", "~/ca.crt", "system", ""] {
            assert!(vault_path(rel).is_err(), "{rel}");
        }
    }
}
