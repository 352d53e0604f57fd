//! Reading the files a user names: regular files only, and bounded.
//!
//! The file type is checked with `metadata` BEFORE opening, so a FIFO, socket or device given as
//! a compose file, env file or bind source never blocks the run (opening a FIFO for reading
//! waits for a writer) and `/dev/zero` is never read. Sizes are capped so a huge input fails
//! fast with a clear exit-2 error instead of eating gigabytes:
//!
//! | input | limit |
//! |---|---|
//! | compose file (`-f`) | [`MAX_COMPOSE_BYTES`] = 16 MiB (10,000 services ≈ 5 MiB) |
//! | env file (`--env-file`, `.env`, `env_file:`) | [`MAX_ENV_BYTES`] = 1 MiB |
//! | a mounted file read for secrets/HOCON fields | [`MAX_SCAN_BYTES`] = 1 MiB (larger: classified by name only) |

use std::io::Read;
use std::path::Path;
use wd_core::WdResult;

pub const MAX_COMPOSE_BYTES: u64 = 16 << 20;
pub const MAX_ENV_BYTES: u64 = 1 << 20;
pub const MAX_SCAN_BYTES: u64 = 1 << 20;

pub use wd_core::fsio::kind_of;

/// Reads a regular UTF-8 text file of at most `limit` bytes; `what` names it in errors
/// (`a compose file`). The one bounded reader is wd-core's.
pub fn read_text(path: &Path, limit: u64, what: &str) -> WdResult<String> {
    wd_core::fsio::read_text_bounded(path, limit, what)
}

/// Reads a regular file for scanning, at most [`MAX_SCAN_BYTES`]: `Ok(None)` when it is larger
/// (classified by name only), `Err(reason)` when it cannot be read.
pub fn read_for_scan(path: &Path) -> Result<Option<Vec<u8>>, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err(format!("{}, not a regular file", kind_of(&meta)));
    }
    if meta.len() > MAX_SCAN_BYTES {
        return Ok(None);
    }
    let f = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    })?;
    let mut bytes = Vec::new();
    f.take(MAX_SCAN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_SCAN_BYTES {
        return Ok(None);
    }
    Ok(Some(bytes))
}

/// [`read_for_scan`] as text: empty when too large, unreadable or not UTF-8.
pub fn scan_text(path: &Path) -> String {
    read_for_scan(path)
        .ok()
        .flatten()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default()
}
