//! wd-render: render everything a deployment needs from an Inventory (see `--help`).
//!
//! Thin entry point: the logic is the `wd_render` library (src/lib.rs), which tests call too.

fn main() -> std::process::ExitCode {
    wd_core::error::run_main("wd-render", || {
        wd_render::run(wd_core::cli::parse::<wd_render::Cli>())
    })
}

// A one-shot process with bounded input: blocks come from one region of transparent huge pages
// (wd-core src/bump.rs says why and when not).
#[global_allocator]
static ALLOC: wd_core::bump::Bump = wd_core::bump::Bump;
