//! wd-secrets: the scenario's secrets in Vault/OpenBao (see `--help`).
//!
//! Thin entry point: the logic is the `wd_secrets` library (src/lib.rs), which tests call too.

fn main() -> std::process::ExitCode {
    wd_core::error::run_main("wd-secrets", || {
        wd_secrets::run(wd_core::cli::parse::<wd_secrets::Cli>())
    })
}
