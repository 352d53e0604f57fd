//! wd-testsupport: the fakes and servers the tools' tests share, as a dev-dependency (uutils'
//! shape: one test-support crate instead of `#[path]` includes).
//!
//! - [`fakekube`]: an in-process fake Kubernetes API server (list, watch, 410 Gone, dropped
//!   streams, logs) and a server that accepts connections and never answers;
//! - [`openbao`]: real OpenBao servers (dev and raft) started from the `bao` binary.
//!
//! It is not for production code: no tool depends on it outside `[dev-dependencies]`.

pub mod fakekube;
pub mod openbao;
