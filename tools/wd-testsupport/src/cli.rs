//! Running a wd-* binary from a test: a clean environment, the Vault address and token, and the
//! "exit 0 and its JSON" check every tool test makes.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// `bin` with an empty environment except PATH (for the tools a wd-* binary runs, e.g. kubectl)
/// and HOME=/nonexistent (so nothing under the developer's home, e.g. ~/.vault-token or
/// ~/.kube/config, is read).
pub fn clean_command(bin: impl AsRef<Path>) -> Command {
    let mut c = Command::new(bin.as_ref());
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent");
    c
}

/// `cmd` run by bash inside `script` (util-linux), so its stdin, stdout and stderr are a terminal
/// (TERM=xterm) unless `cmd` redirects them; [`clean_command`]'s environment. Add env or a
/// directory, then [`tty_output`].
pub fn tty_command(cmd: &str) -> Command {
    let mut c = clean_command("script");
    c.args(["-qec", cmd, "/dev/null"]).env("TERM", "xterm");
    c
}

/// What reached the terminal of a [`tty_command`].
pub fn tty_output(mut c: Command) -> String {
    let o = c.output().expect("script (util-linux) is installed");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// [`clean_command`] talking to the Vault at `addr` with `token` (VAULT_ADDR, VAULT_TOKEN).
pub fn vault_command(bin: impl AsRef<Path>, addr: &str, token: &str) -> Command {
    let mut c = clean_command(bin);
    c.env("VAULT_ADDR", addr).env("VAULT_TOKEN", token);
    c
}

/// Runs `bin args… --format json` as [`vault_command`] sets it up; its output, whatever the exit.
pub fn vault_json_run(bin: impl AsRef<Path>, addr: &str, token: &str, args: &[&str]) -> Output {
    vault_command(bin, addr, token)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap()
}

/// stdout parsed as JSON; panics showing stdout and stderr when it is not JSON.
pub fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// Asserts the run exited 0 (showing stdout and stderr when not) and returns its stdout as JSON,
/// or `Null` when stdout is empty.
pub fn json_ok(o: &Output) -> Value {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    if o.stdout.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        json(o)
    }
}
