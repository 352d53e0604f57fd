//! wd-transit: Transit signing keys for walt.id (see `--help`).
//!
//! Thin entry point: the logic is the `wd_transit` library (src/lib.rs), which tests call too.

fn main() -> std::process::ExitCode {
    wd_core::error::run_main("wd-transit", || {
        wd_transit::run(wd_core::cli::parse::<wd_transit::Cli>())
    })
}
