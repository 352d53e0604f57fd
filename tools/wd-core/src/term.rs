//! Colours and log lines on stderr.
//!
//! The escape codes are the users' deploy.sh ones (waltid-facts §5): red `\033[31m`,
//! green `\033[32m`, yellow `\033[33m`, bold `\033[1m`, reset `\033[0m`. Colour is used only
//! when the stream is a terminal and `NO_COLOR` is unset or empty (https://no-color.org).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};

pub const RED: &str = "\x1b[31m";
pub const GREEN: &str = "\x1b[32m";
pub const YELLOW: &str = "\x1b[33m";
pub const BOLD: &str = "\x1b[1m";
pub const RESET: &str = "\x1b[0m";

/// Whether colour may be written to a stream that is (or is not) a terminal.
pub fn colour_allowed(is_tty: bool) -> bool {
    is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Wraps `text` in `code` … reset when `enabled`.
pub fn paint(code: &str, text: &str, enabled: bool) -> String {
    if enabled {
        format!("{code}{text}{RESET}")
    } else {
        text.to_string()
    }
}

fn stderr_colour() -> bool {
    colour_allowed(std::io::stderr().is_terminal())
}

// 0 = errors only (-q), 1 = warnings (default), 2 = info (-v), 3 = debug (-vv)
static LEVEL: AtomicU8 = AtomicU8::new(1);

pub fn set_verbosity(verbose: u8, quiet: bool) {
    let level = if quiet { 0 } else { 1 + verbose.min(2) };
    LEVEL.store(level, Ordering::Relaxed);
}

fn level() -> u8 {
    LEVEL.load(Ordering::Relaxed)
}

fn emit(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// An error line (always shown), red on a terminal.
pub fn eprint_error(line: &str) {
    emit(&paint(RED, line, stderr_colour()));
}

/// A warning (hidden by -q), yellow on a terminal.
pub fn warn(line: &str) {
    if level() >= 1 {
        emit(&paint(YELLOW, line, stderr_colour()));
    }
}

/// A `▶` progress line (shown with -v), bold on a terminal, as deploy.sh prints them.
pub fn step(line: &str) {
    if level() >= 2 {
        emit(&paint(BOLD, &format!("▶ {line}"), stderr_colour()));
    }
}

/// An indented success line (shown with -v), green on a terminal: `  wrote <path>`.
pub fn done(line: &str) {
    if level() >= 2 {
        emit(&paint(GREEN, &format!("  {line}"), stderr_colour()));
    }
}

/// A debug line (shown with -vv).
pub fn debug(line: &str) {
    if level() >= 3 {
        emit(line);
    }
}
