//! wd-urls: the binary; everything is in the library (`wd_urls::run`).

fn main() -> std::process::ExitCode {
    wd_core::error::run_main("wd-urls", wd_urls::run)
}
