//! wd-wait: the binary; everything is in the library (`wd_wait::run`).

fn main() -> std::process::ExitCode {
    wd_core::error::run_main("wd-wait", wd_wait::run)
}
