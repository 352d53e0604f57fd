//! wd-waltfake: the binary; everything is in the library.

fn main() -> std::process::ExitCode {
    wd_core::error::run_main("wd-waltfake", wd_waltfake::cli::run)
}
