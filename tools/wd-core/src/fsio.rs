//! File input/output with errors that name the file, and atomic writes.

use crate::error::{WdError, WdResult};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Largest file [`read_text`] reads (scenarios, values, templates, documents): far above any
/// real one; a larger input is refused at once instead of read into memory.
pub const MAX_TEXT_BYTES: u64 = 32 << 20;

/// What a path is, for messages: `a directory`, `a FIFO`, `a character device`, ….
pub fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_file() {
        "a regular file"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

/// Reads a UTF-8 text file of at most [`MAX_TEXT_BYTES`]; the error names the file and what
/// to do. Regular files only (see [`read_text_bounded`]).
pub fn read_text(path: &Path) -> WdResult<String> {
    read_text_bounded(path, MAX_TEXT_BYTES, "a text file")
}

/// Reads a regular UTF-8 text file of at most `limit` bytes; `what` names it in errors (`a
/// compose file`). The file type is checked with `metadata` BEFORE opening, so a FIFO, socket
/// or device never blocks the run (opening a FIFO waits for a writer) and `/dev/zero` is never
/// read; a file that grew since is cut at `limit + 1` bytes and refused.
pub fn read_text_bounded(path: &Path, limit: u64, what: &str) -> WdResult<String> {
    let meta = std::fs::metadata(path).map_err(|e| io_input_error(path, &e))?;
    if meta.is_dir() {
        return Err(WdError::input(format!(
            "{}: is a directory, not {what}; name the file inside it",
            path.display()
        )));
    }
    if !meta.is_file() {
        return Err(WdError::input(format!(
            "{}: is {}, not {what}; pass a regular file (pipes and devices are not read)",
            path.display(),
            kind_of(&meta)
        )));
    }
    let too_big = || {
        WdError::input(format!(
            "{}: more than the {} MiB limit for {what}; split it or remove what does not belong",
            path.display(),
            limit >> 20
        ))
    };
    if meta.len() > limit {
        return Err(too_big());
    }
    let f = std::fs::File::open(path).map_err(|e| io_input_error(path, &e))?;
    // Sized from the metadata: one read fills it and one more sees the end (from empty,
    // read_to_end starts with a 32-byte probe and doubles: 7 reads for a 3 KB template).
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    f.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_input_error(path, &e))?;
    if bytes.len() as u64 > limit {
        return Err(too_big());
    }
    String::from_utf8(bytes).map_err(|_| {
        WdError::input(format!(
            "{}: not UTF-8 text; convert it to UTF-8",
            path.display()
        ))
    })
}

/// The names of the `*.yaml` files of a config directory (scenarios, load-test scenarios), sorted;
/// empty when the directory cannot be read.
pub fn yaml_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
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
    v.sort();
    v
}

/// `<dir>/<name>.yaml` when `name` is a plain name (letters, digits, `-`, `_`: no path) and the
/// file exists.
pub fn named_yaml(dir: &Path, name: &str) -> Option<PathBuf> {
    let p = dir.join(format!("{name}.yaml"));
    (!name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && p.is_file())
    .then_some(p)
}

/// Reads all of stdin as UTF-8 text.
pub fn read_stdin() -> WdResult<String> {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s).map_err(|e| {
        WdError::input(format!(
            "<stdin>: cannot read ({e}); pipe a document or pass a file option"
        ))
    })?;
    Ok(s)
}

/// One-line error for a file that cannot be read.
pub fn io_input_error(path: &Path, e: &std::io::Error) -> WdError {
    use std::io::ErrorKind::*;
    let (what, fix) = match e.kind() {
        NotFound => ("no such file".to_string(), "check the path"),
        PermissionDenied => ("permission denied".to_string(), "check its permissions"),
        IsADirectory => ("is a directory".to_string(), "name the file inside it"),
        _ => (e.to_string(), "check the path and permissions"),
    };
    WdError::input(format!("{}: {what}; {fix}", path.display()))
}

/// Lowercase hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

/// One file to write: a path relative to the output directory, its bytes and its mode.
#[derive(Debug, Clone)]
pub struct OutFile {
    pub rel_path: PathBuf,
    pub bytes: Vec<u8>,
    /// Unix permission bits (e.g. 0o644, 0o600 for files that hold secrets).
    pub mode: u32,
}

/// Writes a set of files under `dir` so that either all of them are replaced or none is:
/// every file is first written in full to a temporary file beside its target, and only
/// when all of them are staged are they renamed into place. Directories this call had to
/// create are removed again if staging fails. Files are not fsync'ed: the guarantee is against
/// a failing run (nothing half-written), not against power loss; syncing 20 small files was
/// 2/3 of wd-render's wall time (docs/benchmarks.md).
pub fn write_tree_atomic(dir: &Path, files: &[OutFile]) -> WdResult<()> {
    for f in files {
        if f.rel_path.is_absolute()
            || f.rel_path
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(WdError::input(format!(
                "{}: output path must stay inside the output directory",
                f.rel_path.display()
            )));
        }
    }
    let mut created: Vec<PathBuf> = Vec::new();
    let result = stage_and_commit(dir, files, &mut created);
    if result.is_err() {
        // Deepest first, only the ones we created, only if empty.
        for d in created.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
    result
}

fn stage_and_commit(dir: &Path, files: &[OutFile], created: &mut Vec<PathBuf>) -> WdResult<()> {
    let mut parents: BTreeSet<PathBuf> = BTreeSet::new();
    for f in files {
        if let Some(p) = dir.join(&f.rel_path).parent() {
            parents.insert(p.to_path_buf());
        }
    }
    for p in &parents {
        create_dirs_recording(p, created)?;
    }
    let mut staged = Vec::with_capacity(files.len());
    for f in files {
        let target = dir.join(&f.rel_path);
        let parent = target.parent().unwrap_or(dir);
        let mut tmp = tempfile::Builder::new()
            .prefix(".wd-")
            .suffix(".tmp")
            .permissions(permissions(f.mode))
            .tempfile_in(parent)
            .map_err(|e| io_output_error(parent, &e))?;
        tmp.write_all(&f.bytes)
            .map_err(|e| io_output_error(&target, &e))?;
        staged.push((tmp, target));
    }
    for (tmp, target) in staged {
        tmp.persist(&target)
            .map_err(|e| io_output_error(&target, &e.error))?;
    }
    Ok(())
}

fn create_dirs_recording(p: &Path, created: &mut Vec<PathBuf>) -> WdResult<()> {
    let mut missing = Vec::new();
    let mut cur = Some(p);
    while let Some(c) = cur {
        if c.as_os_str().is_empty() || c.exists() {
            break;
        }
        missing.push(c.to_path_buf());
        cur = c.parent();
    }
    for d in missing.into_iter().rev() {
        std::fs::create_dir(&d).map_err(|e| io_output_error(&d, &e))?;
        created.push(d);
    }
    if !p.is_dir() {
        return Err(WdError::input(format!(
            "{}: exists and is not a directory; choose another --out",
            p.display()
        )));
    }
    Ok(())
}

fn io_output_error(path: &Path, e: &std::io::Error) -> WdError {
    WdError::input(format!(
        "{}: cannot write ({e}); check the directory and its permissions",
        path.display()
    ))
}

/// wd targets Linux and macOS (the deployment tools it drives do too).
fn permissions(mode: u32) -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(mode)
}

/// Writes one file atomically (temporary file + rename).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> WdResult<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| WdError::input(format!("{}: not a file path", path.display())))?;
    write_tree_atomic(
        dir,
        &[OutFile {
            rel_path: PathBuf::from(name),
            bytes: bytes.to_vec(),
            mode,
        }],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_all_files_with_modes() {
        let d = tempfile::tempdir().unwrap();
        let files = vec![
            OutFile {
                rel_path: "a/b/c.txt".into(),
                bytes: b"one".to_vec(),
                mode: 0o644,
            },
            OutFile {
                rel_path: "x.json".into(),
                bytes: b"{}".to_vec(),
                mode: 0o600,
            },
        ];
        write_tree_atomic(d.path(), &files).unwrap();
        assert_eq!(std::fs::read(d.path().join("a/b/c.txt")).unwrap(), b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(d.path().join("x.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(m & 0o777, 0o600);
        }
        // no temporary file is left behind
        let leftovers: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".wd-"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn refuses_paths_outside_the_directory() {
        let d = tempfile::tempdir().unwrap();
        let files = vec![OutFile {
            rel_path: "../evil".into(),
            bytes: vec![],
            mode: 0o644,
        }];
        let e = write_tree_atomic(d.path(), &files).unwrap_err();
        assert_eq!(e.exit, crate::Exit::Usage);
        assert!(!d.path().parent().unwrap().join("evil").exists());
    }

    #[test]
    fn failed_staging_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        // "blocker" is a file, so "zblocker/x" cannot be created; "new/dir/ok" comes first.
        std::fs::write(d.path().join("zblocker"), b"").unwrap();
        let files = vec![
            OutFile {
                rel_path: "new/dir/ok".into(),
                bytes: b"1".to_vec(),
                mode: 0o644,
            },
            OutFile {
                rel_path: "zblocker/x".into(),
                bytes: b"2".to_vec(),
                mode: 0o644,
            },
        ];
        assert!(write_tree_atomic(d.path(), &files).is_err());
        assert!(
            !d.path().join("new").exists(),
            "created dirs are removed again"
        );
    }

    #[test]
    fn sha256_of_empty_input() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}

#[cfg(test)]
mod bounded_read_tests {
    use super::*;

    #[test]
    fn reads_regular_files_only_and_within_the_limit() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("a.yaml");
        std::fs::write(&f, "x: 1\n").unwrap();
        assert_eq!(read_text(&f).unwrap(), "x: 1\n");
        let e = read_text_bounded(&f, 2, "a values file").unwrap_err();
        assert!(e.message.contains("limit for a values file"), "{e}");
        let e = read_text(d.path()).unwrap_err();
        assert!(e.message.contains("is a directory"), "{e}");
        // a FIFO is refused without opening it (opening would wait for a writer forever)
        let fifo = d.path().join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let e = read_text(&fifo).unwrap_err();
        assert!(e.message.contains("is a FIFO"), "{e}");
        let e = read_text(Path::new("/dev/zero")).unwrap_err();
        assert!(e.message.contains("character device"), "{e}");
        assert_eq!(e.exit, crate::Exit::Usage);
    }
}
