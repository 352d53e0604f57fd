//! wd-inventory as a library: audit a docker compose project (images, env, secrets, mounts,
//! ports, dependencies, health checks, state) into an `Inventory` document, and deep-read the
//! walt.id HOCON files it mounts into a `ConfigAudit`.
//!
//! Not for rendering or deploying anything: that is wd-render's job, downstream of the
//! Inventory. `main.rs` is a thin wrapper over [`cli::run`]; tests call [`inventory::build`].

pub mod cli;
pub mod compose;
pub mod configs;
pub mod dotenv;
pub mod files;
pub mod hocon;
pub mod image;
pub mod input;
pub mod interp;
pub mod inventory;
pub mod marks;
pub mod secrets;
