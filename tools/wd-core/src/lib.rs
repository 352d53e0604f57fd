//! wd-core: the one crate every `wd-*` tool links.
//!
//! It owns what the tools share and nothing tool-specific:
//! - [`docs`]: the typed, versioned JSON documents (`apiVersion: wd/v1` + `kind`) that flow
//!   through the pipe (`wd-inventory | wd-render | …`), with their JSON Schemas;
//! - [`error`]: one error type that carries the process exit code (0/1/2/3);
//! - [`output`]: `--format json|table|csv|markdown` and the TTY-dependent default;
//! - [`term`]: deploy.sh's colours (honouring `NO_COLOR` and non-TTY) and stderr logging (`-v`/`-q`);
//! - [`fsio`]: reading inputs with file-named errors, atomic writes, sha256;
//! - [`yaml`]: YAML (anchors, merge keys) into typed values, errors as `file:line:col: … ; fix`;
//! - [`bump`]: the global allocator of the one-shot tools (one region of transparent huge pages).
//!
//! It is not the place for compose parsing, templating or any cluster/Vault client: those live
//! in the tool that needs them.

pub mod bump;
pub mod cli;
pub mod docs;
pub mod error;
pub mod fsio;
pub mod output;
pub mod term;
pub mod yaml;
pub mod yaml_fast;

pub use error::{Exit, WdError, WdResult};
pub mod scenario;
