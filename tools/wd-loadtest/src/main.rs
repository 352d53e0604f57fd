//! wd-loadtest: the binary; everything is in the library (`wd_loadtest::run`).

fn main() -> std::process::ExitCode {
    wd_core::error::run_main("wd-loadtest", || {
        wd_loadtest::run(wd_core::cli::parse::<wd_loadtest::Cli>())
    })
}
