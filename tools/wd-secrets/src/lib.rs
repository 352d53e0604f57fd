//! wd-secrets: the scenario's secrets in Vault/OpenBao — the library behind the `wd-secrets`
//! binary. [`run`] dispatches; each subcommand lives in its own module; [`planck`] refuses a
//! plan that would write somewhere unexpected or something empty (exit 2) before Vault is asked.
//! Not here: the Vault client (wd-vault) or Transit keys (wd-transit).

pub mod check;
pub mod dynamic;
pub mod generate;
pub mod init;
pub mod pki;
pub mod placement;
pub mod planck;
pub mod policies;
pub mod seed;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use wd_core::cli::CommonArgs;
use wd_core::docs::secret_plan::SecretPlan;
use wd_core::{output, Exit, WdResult};
use wd_vault::VaultArgs;

/// Plan, seed, check and rotate the scenario's secrets in Vault/OpenBao; initialise and unseal
/// a raft cluster; write the policies and Kubernetes auth roles of its consumers.
#[derive(Debug, Parser)]
#[command(
    name = "wd-secrets",
    version,
    about,
    after_help = "Exit codes: 0 ok, 1 check found problems, 2 bad input or usage, 3 Vault or the cluster unreachable, sealed or refusing.\nExample: wd-render --out out/ && wd-secrets seed --plan out/secrets/secret-plan.json"
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, clap::Args)]
pub struct PlanArg {
    /// The SecretPlan (wd-render writes out/secrets/secret-plan.json); default: stdin.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// List every planned secret: Vault path and key, Kubernetes Secret and key, consumers, policy.
    /// With --store external|in-cluster or --dynamic-db: where each secret lives (SecretPlacement).
    Plan {
        #[command(flatten)]
        plan: PlanArg,
        #[command(flatten)]
        placement: placement::PlacementArgs,
    },
    /// Generate every missing value and write it with check-and-set (never overwrites); only the
    /// secrets that live in this Vault (--store, --dynamic-db).
    Seed {
        #[command(flatten)]
        plan: PlanArg,
        #[command(flatten)]
        vault: VaultArgs,
        #[command(flatten)]
        placement: placement::PlacementArgs,
    },
    /// The preflight guardrail: every planned key is in Vault; with a reachable cluster, every
    /// ExternalSecret is synced and every Kubernetes Secret has its keys. Exit 1 on problems.
    Check {
        #[command(flatten)]
        plan: PlanArg,
        #[command(flatten)]
        vault: VaultArgs,
        /// Namespace of the scenario's Secrets and ExternalSecrets.
        #[arg(long, default_value = "waltid")]
        namespace: String,
        /// Kubernetes half: auto (when `kubectl` reaches the namespace), on (unreachable = exit 3), off.
        #[arg(long, value_enum, default_value = "auto")]
        cluster: check::ClusterMode,
        /// Vault half: only the secrets that live in this Vault; with --store in-cluster, a
        /// static secret found here (its home is the external store) is a problem.
        #[command(flatten)]
        placement: placement::PlacementArgs,
    },
    /// Write a new version of one secret (the old one stays readable) and say what to restart.
    Rotate {
        /// Logical name from the plan, e.g. wallet-token-key.
        name: String,
        #[command(flatten)]
        plan: PlanArg,
        #[command(flatten)]
        vault: VaultArgs,
        /// A secret whose home is another Vault, or a dynamic credential, is refused (exit 2).
        #[command(flatten)]
        placement: placement::PlacementArgs,
    },
    /// Initialise (first node) and unseal a raft cluster, joining the other nodes; on an
    /// initialised cluster it only unseals.
    Init(init::InitArgs),
    /// The HCL policies of the consumers (ESO read-only on the plan's paths, seeding, transit
    /// signers sign-only) and their Kubernetes auth roles; --apply writes them to Vault.
    Policies(Box<policies::PolicyArgs>),
}

/// Reads the SecretPlan and refuses one Vault must not be asked with ([`planck::check`]).
pub fn read_plan(arg: &PlanArg) -> WdResult<SecretPlan> {
    let hint = "pass --plan out/secrets/secret-plan.json (written by wd-render)";
    let (plan, _, name) = wd_core::docs::read_input(arg.plan.as_deref(), hint)?;
    planck::check(&plan, &name)?;
    Ok(plan)
}

/// Runs `wd-secrets` with these arguments.
pub fn run(cli: Cli) -> WdResult<Exit> {
    let format = cli.common.init();
    match cli.cmd {
        Cmd::Plan { plan, placement } => {
            let plan = read_plan(&plan)?;
            if placement.store == placement::Store::Single && !placement.db.dynamic_db {
                output::emit(&plan, format)?;
            } else {
                if placement.db.dynamic_db {
                    dynamic::roles(&placement.db, &plan)?;
                }
                output::emit(&placement::placement(&placement, &plan), format)?;
            }
            Ok(Exit::Ok)
        }
        Cmd::Seed {
            plan,
            vault,
            placement,
        } => {
            let plan = placement::here(&placement, &read_plan(&plan)?);
            let v = wd_vault::Vault::connect(&vault)?;
            let report = seed::seed(&v, &plan)?;
            output::emit(&report, format)?;
            Ok(if report.problems.is_empty() {
                Exit::Ok
            } else {
                Exit::Problems
            })
        }
        Cmd::Check {
            plan,
            vault,
            namespace,
            cluster,
            placement,
        } => {
            let plan = read_plan(&plan)?;
            let v = wd_vault::Vault::connect(&vault)?;
            let report = check::check_placed(&v, &plan, &placement, &namespace, cluster)?;
            output::emit(&report, format)?;
            for p in &report.problems {
                wd_core::term::eprint_error(&format!(
                    "wd-secrets: check: {} {}: {}; fix: {}",
                    p.secret, p.key, p.message, p.fix
                ));
            }
            Ok(if report.problems.is_empty() {
                Exit::Ok
            } else {
                Exit::Problems
            })
        }
        Cmd::Rotate {
            name,
            plan,
            vault,
            placement,
        } => {
            let plan = read_plan(&plan)?;
            placement::refuse_elsewhere(&placement, &plan, &name)?;
            let v = wd_vault::Vault::connect(&vault)?;
            let report = seed::rotate(&v, &plan, &name)?;
            output::emit(&report, format)?;
            Ok(if report.problems.is_empty() {
                Exit::Ok
            } else {
                Exit::Problems
            })
        }
        Cmd::Init(args) => {
            let report = init::run(&args)?;
            output::emit(&report, format)?;
            Ok(Exit::Ok)
        }
        Cmd::Policies(args) => {
            let report = policies::run(&args, read_plan(&args.plan)?)?;
            output::emit(&report, format)?;
            Ok(Exit::Ok)
        }
    }
}
