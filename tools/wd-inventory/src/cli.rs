//! The command line: arguments (clap) and the run that prints the document and picks the exit
//! code. `main.rs` only calls [`run`].

use clap::Parser;
use std::path::PathBuf;
use wd_core::cli::CommonArgs;
use wd_core::{output, Exit, WdResult};

/// Audit a docker compose project: images (pinned?), env vars (secret? documented?),
/// mounts and what they carry, ports, dependencies, health checks, persistent state.
#[derive(Debug, Parser)]
#[command(
    name = "wd-inventory",
    version,
    about,
    after_help = "Exit codes: 0 ok, 1 --check found problems, 2 bad input or usage.\nExample: wd-inventory --scenario waltid | wd-render --out out/"
)]
pub struct Cli {
    /// Compose file; repeat to merge like `docker compose -f a -f b` (later overrides earlier).
    #[arg(long = "compose", short = 'f', value_name = "FILE")]
    compose: Vec<PathBuf>,
    /// Env file for interpolation [default: .env beside the first compose file, else .env.example].
    /// The process environment overrides it.
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// Select the services (and default compose files) of config/scenarios/NAME.yaml.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["services", "all"])]
    scenario: Option<String>,
    /// Select a service; repeatable.
    #[arg(long = "service", value_name = "S", conflicts_with = "all")]
    services: Vec<String>,
    /// Select every service, whatever its profiles.
    #[arg(long)]
    all: bool,
    /// Activate a profile (default: COMPOSE_PROFILES); repeatable.
    #[arg(long = "profile", value_name = "P")]
    profiles: Vec<String>,
    /// Print the walt.id HOCON config deep-read (a ConfigAudit) instead of the Inventory.
    #[arg(long)]
    configs: bool,
    /// Exit 1 when an image is unpinned or a secret has an inline value/default (one line each on stderr).
    #[arg(long)]
    check: bool,
    /// Print secret values instead of redacting them.
    #[arg(long)]
    show_secrets: bool,
    /// Where scenarios live [default: $WD_CONFIG_DIR, else ./config, else the checkout's config/].
    #[arg(long, value_name = "DIR")]
    config_dir: Option<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

/// Runs wd-inventory on parsed arguments: prints the Inventory (or the ConfigAudit) and returns
/// the exit status; bad input is an `Err` carrying exit 2.
pub fn run(cli: Cli) -> WdResult<Exit> {
    let format = cli.common.init();
    let req = crate::inventory::Request {
        compose: cli.compose,
        env_file: cli.env_file,
        scenario: cli.scenario,
        services: cli.services,
        all: cli.all,
        profiles: cli.profiles,
        show_secrets: cli.show_secrets,
        config_dir: wd_core::scenario::config_dir(cli.config_dir.as_deref()),
        process_env: std::env::vars().collect(),
    };
    wd_core::term::step(&format!(
        "Reading {}",
        if req.compose.is_empty() {
            "compose files".to_string()
        } else {
            req.compose
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    ));
    let built = crate::inventory::build(&req)?;
    if cli.configs {
        let audit = crate::configs::audit(
            &built.inventory.project,
            &built.inventory.services,
            cli.show_secrets,
        );
        output::emit(&audit, format)?;
        return Ok(Exit::Ok);
    }
    let inv = built.inventory;
    for f in inv
        .findings
        .iter()
        .filter(|f| f.severity == wd_core::docs::Severity::Warning)
    {
        wd_core::term::warn(&format!(
            "wd-inventory: warning: {}{}",
            f.service
                .as_ref()
                .map(|s| format!("{s}: "))
                .unwrap_or_default(),
            f.message
        ));
    }
    emit(&inv, format)?;
    // The Inventory is all of stdout: a pipe reader sees its end now, not after our exit.
    output::end_stdout();
    let mut exit = Exit::Ok;
    if cli.check {
        let errors: Vec<_> = inv
            .findings
            .iter()
            .filter(|f| f.severity == wd_core::docs::Severity::Error)
            .collect();
        for f in &errors {
            wd_core::term::eprint_error(&format!(
                "wd-inventory: check: {}{} [{}]",
                f.service
                    .as_ref()
                    .map(|s| format!("{s}: "))
                    .unwrap_or_default(),
                f.message,
                f.code
            ));
        }
        if !errors.is_empty() {
            exit = Exit::Problems;
        }
    }
    // Only main calls this, and the process ends next: freeing the Inventory tree one node at
    // a time (2% of a 33-service run, in the pipe before wd-render can finish) is left to the
    // exit.
    std::mem::forget(inv);
    Ok(exit)
}

/// Writes the Inventory to stdout as [`output::emit`] does, JSON streamed: the same bytes
/// without building the whole text first (it is ~7 KB a service: at 640 services the 4 MB
/// string and its growth were a sixth of the run), and a pipe reader gets it as it is written.
fn emit(inv: &wd_core::docs::inventory::Inventory, format: output::Format) -> WdResult<()> {
    use std::io::Write;
    if format != output::Format::Json {
        return output::emit(inv, format);
    }
    let mut out = std::io::BufWriter::with_capacity(64 << 10, std::io::stdout().lock());
    let written = wd_core::docs::pretty::to_writer(&mut out, inv)
        .map_err(|e| {
            assert!(e.is_io(), "documents always serialise: {e}");
            std::io::Error::from(e)
        })
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => Ok(()),
        // A closed pipe (`wd-inventory | head`) is not an error of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(wd_core::WdError::input(format!(
            "<stdout>: cannot write ({e})"
        ))),
    }
}
