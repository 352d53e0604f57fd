//! The command line: start the fake, print its URLs as one JSON line, run until SIGINT/SIGTERM.

use std::io::Write;
use std::time::Duration;

use clap::Parser;
use wd_core::{Exit, WdError, WdResult};

use crate::{Fake, FakeConfig, SessionStore};

/// A multi-replica fake of walt.id 0.18.2's issuer, verifier and wallet (session semantics) on
/// 127.0.0.1. Prints `{"issuer":{"balanced","replicas"},"verifier":…,"wallet":…}` once listening.
#[derive(Debug, Parser)]
#[command(
    name = "wd-waltfake",
    version,
    about,
    after_help = "Exit codes: 0 stopped by SIGINT/SIGTERM, 2 bad input, 3 Redis unreachable or a port could not be bound.\nExample: wd-waltfake --replicas 3 --redis redis://127.0.0.1:6379 --shared-keys | jq -r .issuer.balanced"
)]
struct Cli {
    /// Replicas per service (issuer, verifier, wallet).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    replicas: u16,
    /// Keep issuer and verifier sessions in this Redis (redis://HOST:PORT) instead of each
    /// replica's memory.
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// Both --shared-ci-token-key and --shared-auth-keys.
    #[arg(long)]
    shared_keys: bool,
    /// One ciTokenKey for all issuer replicas (default: a random key per replica, as walt.id).
    #[arg(long)]
    shared_ci_token_key: bool,
    /// One auth.conf key set for all wallet replicas (default: one per replica).
    #[arg(long)]
    shared_auth_keys: bool,
    /// Seed of the balancers and of every generated key and id.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Session TTL in seconds (walt.id: 300).
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    session_ttl: u64,
}

pub fn run() -> WdResult<Exit> {
    let cli: Cli = wd_core::cli::parse();
    if let Some(url) = &cli.redis {
        if !url.starts_with("redis://") {
            return Err(WdError::input(format!(
                "--redis {url:?}: expected redis://HOST:PORT"
            )));
        }
    }
    let cfg = FakeConfig {
        replicas: usize::from(cli.replicas),
        store: match cli.redis {
            Some(url) => SessionStore::Redis { url },
            None => SessionStore::Memory,
        },
        shared_ci_token_key: cli.shared_keys || cli.shared_ci_token_key,
        shared_auth_keys: cli.shared_keys || cli.shared_auth_keys,
        session_ttl: Duration::from_secs(cli.session_ttl),
        seed: cli.seed,
    };
    let fake = Fake::start(cfg).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidInput => WdError::input(e.to_string()),
        _ => WdError::unreachable(e.to_string()),
    })?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", fake.urls_json()).map_err(|e| WdError::unreachable(e.to_string()))?;
        out.flush()
            .map_err(|e| WdError::unreachable(e.to_string()))?;
    }
    wait_for_signal()?;
    fake.shutdown();
    Ok(Exit::Ok)
}

fn wait_for_signal() -> WdResult<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| WdError::unreachable(e.to_string()))?;
    rt.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    })
    .map_err(|e| WdError::unreachable(format!("cannot wait for signals: {e}")))
}
