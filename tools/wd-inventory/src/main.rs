//! wd-inventory: audit a docker compose project (see `--help`). The logic is in the library
//! (`src/lib.rs`); this only parses the arguments and maps the result to an exit code.

fn main() -> std::process::ExitCode {
    wd_core::error::run_main("wd-inventory", || {
        wd_inventory::cli::run(wd_core::cli::parse::<wd_inventory::cli::Cli>())
    })
}

// A one-shot process with bounded input: blocks come from one region of transparent huge pages
// (wd-core src/bump.rs says why and when not).
#[global_allocator]
static ALLOC: wd_core::bump::Bump = wd_core::bump::Bump;
