//! One error type for all tools; it carries the exit code the process ends with.
//!
//! Exit codes are a contract for scripts in other repositories:
//! 0 ok, 1 a check found problems, 2 bad input or usage, 3 an external system
//! (cluster, Vault) was unreachable or refused.

use std::fmt;
use std::process::ExitCode;

/// Process exit codes shared by every wd-* tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Problems = 1,
    Usage = 2,
    Unreachable = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// An error a user sees: one line naming the file/field and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WdError {
    pub exit: Exit,
    pub message: String,
}

pub type WdResult<T> = Result<T, WdError>;

impl WdError {
    /// Bad input or usage (exit 2).
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            exit: Exit::Usage,
            message: message.into(),
        }
    }
    /// A check found problems (exit 1).
    pub fn problems(message: impl Into<String>) -> Self {
        Self {
            exit: Exit::Problems,
            message: message.into(),
        }
    }
    /// An external system was unreachable or refused (exit 3).
    pub fn unreachable(message: impl Into<String>) -> Self {
        Self {
            exit: Exit::Unreachable,
            message: message.into(),
        }
    }
    /// Prefix the message with context (a file name, a field path).
    pub fn context(mut self, ctx: impl fmt::Display) -> Self {
        self.message = format!("{ctx}: {}", self.message);
        self
    }
}

impl fmt::Display for WdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for WdError {}

/// Runs a tool's body and turns its result into the process exit code.
/// Errors are printed as ONE line `<tool>: <message>` on stderr (red on a TTY).
pub fn run_main(tool: &str, body: impl FnOnce() -> WdResult<Exit>) -> ExitCode {
    match body() {
        Ok(code) => code.into(),
        Err(e) => {
            // A message is one line by contract; fold any stray newline.
            let line = e.message.replace('\n', " ");
            crate::term::eprint_error(&format!("{tool}: {line}"));
            e.exit.into()
        }
    }
}
