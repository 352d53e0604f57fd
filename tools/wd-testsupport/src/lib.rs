//! wd-testsupport: the fakes and servers the tools' tests share, as a dev-dependency (uutils'
//! shape: one test-support crate instead of `#[path]` includes).
//!
//! - [`cli`]: a wd-* binary in a clean environment (optionally with VAULT_ADDR/VAULT_TOKEN) and
//!   the "exit 0 and its JSON" check;
//! - [`fakekube`]: an in-process fake Kubernetes API server (list, watch, 410 Gone, dropped
//!   streams, logs) and a server that accepts connections and never answers;
//! - [`openbao`]: real OpenBao servers (dev and raft) started from the `bao` binary;
//! - [`pki`]: cert-manager's side of a Vault PKI issuer (key, CSR, sign request, tls.crt/ca.crt);
//! - [`postgres`]: a throwaway real PostgreSQL, with or without TLS;
//! - [`redis`]: a throwaway real `redis-server`;
//! - [`Rng`]: the deterministic generator of the generated test corpora;
//! - [`render_scenario`]: the real `wd-inventory | wd-render` pipe into a directory, for tools
//!   that read its RenderPlan.
//!
//! It is not for production code: no tool depends on it outside `[dev-dependencies]`.

pub mod cli;
pub mod fakekube;
pub mod openbao;
pub mod pki;
pub mod postgres;
pub mod redis;
pub mod rng;

pub use rng::Rng;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The repository's root (where `config/` and `docs/` are).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs `wd-inventory --scenario <scenario> | wd-render --out <out>` with the binaries beside
/// `tool_bin` (the test's own `CARGO_BIN_EXE_…`), from the repository root; returns the path of
/// the RenderPlan (`<out>/render-plan.json`).
pub fn render_scenario(tool_bin: &Path, scenario: &str, out: &Path) -> PathBuf {
    let root = repo_root();
    let inv = Command::new(tool_bin.with_file_name("wd-inventory"))
        .current_dir(&root)
        .args(["--scenario", scenario, "-q"])
        .output()
        .expect("wd-inventory runs (cargo build --workspace)");
    assert!(
        inv.status.success(),
        "wd-inventory: {}",
        String::from_utf8_lossy(&inv.stderr)
    );
    let mut r = Command::new(tool_bin.with_file_name("wd-render"))
        .current_dir(&root)
        .args(["--out", out.to_str().unwrap(), "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("wd-render runs (cargo build --workspace)");
    r.stdin.take().unwrap().write_all(&inv.stdout).unwrap();
    assert!(r.wait().unwrap().success(), "wd-render failed");
    out.join("render-plan.json")
}
