//! Scenario definitions (`config/scenarios/<name>.yaml`) and where `config/` is.
//!
//! Read by wd-inventory (which services, which compose files) and wd-render (display data).

use crate::error::{WdError, WdResult};
use std::path::{Path, PathBuf};

/// The config directory: `--config-dir`, else `$WD_CONFIG_DIR`, else `./config`, else the
/// `config/` of the checkout the binary was built in (`<repo>/target/<profile>/wd-*`).
pub fn config_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("WD_CONFIG_DIR").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let local = PathBuf::from("config");
    if local.join("scenarios").is_dir() {
        return local;
    }
    if let Ok(exe) = std::env::current_exe() {
        for anc in exe.ancestors().skip(1).take(4) {
            let c = anc.join("config");
            if c.join("scenarios").is_dir() {
                return c;
            }
        }
    }
    local
}

/// Path of a scenario file, or an error listing the scenarios that exist.
pub fn scenario_path(config_dir: &Path, name: &str) -> WdResult<PathBuf> {
    let dir = config_dir.join("scenarios");
    let p = dir.join(format!("{name}.yaml"));
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && p.is_file()
    {
        return Ok(p);
    }
    let mut known: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".yaml"))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    known.sort();
    Err(WdError::input(format!(
        "--scenario: unknown scenario {name:?} (no {}); known: {}",
        p.display(),
        if known.is_empty() {
            format!("none in {}; pass --config-dir", dir.display())
        } else {
            known.join(", ")
        }
    )))
}
