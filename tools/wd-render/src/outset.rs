//! The output set: every file of one render becomes visible at once, or none does.
//!
//! Layout of `--out DIR` (DIR itself stays a plain directory the caller owns):
//!
//! ```text
//! DIR/.wd-render/gen-<id>/…               one complete render per generation directory
//! DIR/.wd-render/current -> gen-<id>      THE switch: a symlink replaced by one rename(2)
//! DIR/<top> -> .wd-render/current/<top>   a stable link per top-level entry (helm, waltid, render-plan.json, …)
//! ```
//!
//! Why this protocol and not the alternatives:
//! - A manifest-last protocol that readers verify does not fit: the readers (`helm -f
//!   out/helm/values-waltid.yaml`, terraform's `file()`, k8s-deploy.sh, the chart tests) open
//!   paths and verify nothing, so a half-switched set must never be visible at all.
//! - Turning DIR itself into a symlink to a sibling directory does not fit either: DIR is often a
//!   directory someone else created and removes (pytest's `tmp_path`, a `TempDir`, Python's
//!   `TemporaryDirectory`, whose cleanup refuses a symlink) or shares (k8s-deploy.sh writes
//!   `out/manifests.yaml`, a compose render may go to `out/compose`). Those must survive a render.
//!
//! A render builds a new generation (files whose bytes and mode are unchanged are hard links to
//! the current generation: no rewrite, no new inode), adds links for new top-level entries, then
//! renames a fresh `current` link over the old one: before that rename every reader sees the old
//! set in full, after it the new set in full. Then it removes the links of entries the new plan
//! no longer lists and every other generation. A render whose set equals the current
//! generation's (same paths, bytes and modes, nothing else) switches nothing: there is nothing
//! to make visible, and building and removing a generation was most of an unchanged render's time. A render killed at any point leaves leftovers only
//! inside `.wd-render/` (and at worst a dangling top-level link); the next render removes them.
//! Renders into one DIR take turns on an flock of `.wd-render/lock`. Files are not fsync'ed: the
//! guarantee holds against killed or failing runs, not against power loss (as before; syncing
//! was 2/3 of a render's wall time, docs/benchmarks.md).
//!
//! Output of the pre-generation layout (plain files listed in a plain DIR/render-plan.json) is
//! migrated once: those files are removed and replaced by links; that one run is not atomic.

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use wd_core::fsio::OutFile;
use wd_core::{WdError, WdResult};

/// Where the generations live, inside `--out`.
pub const STATE_DIR: &str = ".wd-render";
const CURRENT: &str = "current";
const LOCK: &str = "lock";
const GEN_PREFIX: &str = "gen-";

/// What a switch did, for the progress lines.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Files written anew.
    pub written: usize,
    /// Files whose bytes and mode were unchanged (hard links to the previous generation).
    pub unchanged: usize,
}

fn out_err(path: &Path, e: &std::io::Error) -> WdError {
    WdError::input(format!(
        "{}: cannot write ({e}); check the directory and its permissions",
        path.display()
    ))
}

/// The first component of a relative path (the top-level entry it lives under).
fn top_of(rel: &Path) -> String {
    rel.components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .unwrap_or_default()
}

fn check_paths(files: &[OutFile]) -> WdResult<()> {
    for f in files {
        let bad = f.rel_path.as_os_str().is_empty()
            || f.rel_path
                .components()
                .any(|c| !matches!(c, Component::Normal(_)))
            || top_of(&f.rel_path) == STATE_DIR;
        if bad {
            return Err(WdError::input(format!(
                "{}: output path must be relative and stay inside the output directory",
                f.rel_path.display()
            )));
        }
    }
    Ok(())
}

/// The files of `dir`'s current generation, read ahead of a switch ([`read_ahead`]).
#[derive(Debug, Default)]
pub struct Ahead {
    /// The canonical output directory and the generation `current` named.
    dir: PathBuf,
    gen: PathBuf,
    /// Each regular file (relative to the generation): its metadata when read, and its bytes.
    files: std::collections::HashMap<PathBuf, (FileKey, Vec<u8>)>,
    /// The whole tree as listed (relative paths; `true` for a directory), and each directory's
    /// metadata when listed, if it had settled by then; `None` if any had not, or if an entry
    /// was neither a file nor a directory: then [`holds_exactly`] lists the tree itself.
    tree: Option<Tree>,
}

/// A generation's tree as listed: every entry (relative path; `true` for a directory), and each
/// directory with its metadata.
type Tree = (Vec<(PathBuf, bool)>, Vec<(PathBuf, FileKey)>);

/// How long before [`read_ahead`] a file's last change must be for its bytes to be kept (file
/// times are taken from a clock that advances in ticks of a few milliseconds).
pub const SETTLED: std::time::Duration = std::time::Duration::from_millis(100);

/// What changes when a file is written or replaced: device, inode, size, mode, mtime, ctime.
type FileKey = (u64, u64, u64, u32, i64, i64, i64, i64);

fn key_of(m: &std::fs::Metadata) -> FileKey {
    let (mt, mtn, ct, ctn) = (m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec());
    (m.dev(), m.ino(), m.len(), m.mode(), mt, mtn, ct, ctn)
}

/// Reads the files of `dir`'s current generation, without the lock and without writing
/// anything, while the render is still being built: [`switch_with`] compares the new set with
/// these bytes for each file whose metadata (inode, size, mode, times) is still the same under
/// the lock, and reads any other file then, as [`switch`] does. (Generations are never written
/// after the switch to them, and one is removed only once `current` names another: if
/// `current` still names this one under the lock, it is the one read.) A file changed less than
/// [`SETTLED`] before it is read is not kept: file times come from a coarse clock, so a change
/// right after the read could leave them as they were; a change to an older file cannot.
pub fn read_ahead(dir: &Path) -> Option<Ahead> {
    let settled = std::time::SystemTime::now()
        .checked_sub(SETTLED)?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let settled = (settled.as_secs() as i64, i64::from(settled.subsec_nanos()));
    let dir = std::fs::canonicalize(dir).ok()?;
    let gen = std::fs::read_link(dir.join(STATE_DIR).join(CURRENT)).ok()?;
    let base = dir.join(STATE_DIR).join(&gen);
    let mut files = std::collections::HashMap::new();
    let mut tree = Some((vec![], vec![]));
    fn walk(
        base: &Path,
        rel: &Path,
        settled: (i64, i64),
        files: &mut std::collections::HashMap<PathBuf, (FileKey, Vec<u8>)>,
        tree: &mut Option<Tree>,
    ) {
        // The directory's metadata before it is listed: an entry added, removed or renamed
        // later changes its times (it had settled), seen under the lock.
        let here = base.join(rel);
        match std::fs::symlink_metadata(&here) {
            Ok(m) if m.is_dir() && (m.ctime(), m.ctime_nsec()) < settled => {
                if let Some((_, dirs)) = tree.as_mut() {
                    dirs.push((rel.to_path_buf(), key_of(&m)));
                }
            }
            _ => *tree = None,
        }
        let Ok(rd) = std::fs::read_dir(&here) else {
            *tree = None;
            return;
        };
        for e in rd {
            let Ok(e) = e else {
                *tree = None;
                return;
            };
            let r = rel.join(e.file_name());
            match e.file_type() {
                Ok(t) if t.is_dir() => {
                    if let Some((entries, _)) = tree.as_mut() {
                        entries.push((r.clone(), true));
                    }
                    walk(base, &r, settled, files, tree)
                }
                Ok(t) if t.is_file() => {
                    if let Some((entries, _)) = tree.as_mut() {
                        entries.push((r.clone(), false));
                    }
                    // The metadata of the file opened, before it is read: a change while or
                    // after it is read gives it other times (it had settled), seen under the lock.
                    if let Some(read) = read_settled(&base.join(&r), settled) {
                        files.insert(r, read);
                    }
                }
                _ => *tree = None,
            }
        }
    }
    walk(&base, Path::new(""), settled, &mut files, &mut tree);
    Some(Ahead {
        dir,
        gen,
        files,
        tree,
    })
}

/// A regular file's metadata and bytes, if its last change was before `settled`.
fn read_settled(p: &Path, settled: (i64, i64)) -> Option<(FileKey, Vec<u8>)> {
    use std::io::Read;
    let mut f = std::fs::File::open(p).ok()?;
    let m = f.metadata().ok()?;
    let key = key_of(&m);
    if !m.is_file() || (key.6, key.7) >= settled {
        return None;
    }
    let mut bytes = Vec::with_capacity(m.len() as usize);
    f.read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 == m.len()).then_some((key, bytes))
}

/// Switches `dir` to exactly `files` (see the module doc).
pub fn switch(dir: &Path, files: &[OutFile]) -> WdResult<Written> {
    switch_with(dir, files, None)
}

/// [`switch`], with the current generation's files as [`read_ahead`] read them.
pub fn switch_with(dir: &Path, files: &[OutFile], ahead: Option<Ahead>) -> WdResult<Written> {
    check_paths(files)?;
    // Follow a symlinked --out to the directory it names: the links below are relative to it.
    let dir = match std::fs::canonicalize(dir) {
        Ok(d) => d,
        Err(_) => {
            std::fs::create_dir_all(dir).map_err(|e| out_err(dir, &e))?;
            std::fs::canonicalize(dir).map_err(|e| out_err(dir, &e))?
        }
    };
    if !dir.is_dir() {
        return Err(WdError::input(format!(
            "{}: exists and is not a directory; choose another --out",
            dir.display()
        )));
    }
    let state = dir.join(STATE_DIR);
    let created_state = !state.exists();
    std::fs::create_dir_all(&state).map_err(|e| out_err(&state, &e))?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(state.join(LOCK))
        .map_err(|e| out_err(&state, &e))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| out_err(&state.join(LOCK), &e.into()))?;
    let current_gen = std::fs::read_link(state.join(CURRENT)).ok();
    remove_stale(&state, current_gen.as_deref());

    let tops: BTreeSet<String> = files.iter().map(|f| top_of(&f.rel_path)).collect();
    let legacy = legacy_files(&dir);
    // Refuse someone else's entries before anything is written; note which are our links
    // already (under the lock they stay so: nothing below needs to look at them again).
    let mut linked = BTreeSet::new();
    for top in &tops {
        if prepare_top(&dir, top, &legacy, false)? {
            linked.insert(top);
        }
    }

    // 0. The current generation is already exactly this set (a render of unchanged inputs, the
    //    common case): nothing to switch; only the links and leftovers are seen to. Creating and
    //    then removing a generation of hard links costs more than the rest of a render (ext4
    //    allocates and discards the directories' blocks).
    // What was read ahead is of this generation only if `current` still names it.
    let ahead = ahead.filter(|a| a.dir == dir && current_gen.as_deref() == Some(a.gen.as_path()));
    if current_gen
        .as_deref()
        .is_some_and(|c| holds_exactly(&state.join(c), files, ahead.as_ref()))
    {
        for top in tops.iter().filter(|t| !linked.contains(t)) {
            prepare_top(&dir, top, &legacy, true)?;
            ensure_link(&dir, top)?;
        }
        remove_unlisted_links(&dir, &tops);
        // remove_stale above, under this lock, kept this same generation: nothing to tidy twice.
        return Ok(Written {
            written: 0,
            unchanged: files.len(),
        });
    }

    // 1. The new generation, complete, beside the current one.
    let gen_name = format!(
        "{GEN_PREFIX}{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    let gen = state.join(&gen_name);
    let current = current_gen.map(|c| state.join(c));
    let result = write_generation(&gen, current.as_deref(), files, ahead.as_ref());
    let stats = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&gen);
            if created_state {
                let _ = std::fs::remove_dir_all(&state);
            }
            return Err(e);
        }
    };
    // 2. Links for the top-level entries (new ones dangle until the switch: nothing to mix);
    //    plain entries of the pre-generation layout make way for them.
    for top in tops.iter().filter(|t| !linked.contains(t)) {
        prepare_top(&dir, top, &legacy, true)?;
        ensure_link(&dir, top)?;
    }
    // 3. The switch.
    let tmp_link = state.join(format!(".{CURRENT}-{gen_name}"));
    std::os::unix::fs::symlink(&gen_name, &tmp_link).map_err(|e| out_err(&tmp_link, &e))?;
    std::fs::rename(&tmp_link, state.join(CURRENT)).map_err(|e| out_err(&state, &e))?;
    // 4. Tidy: links of entries the new plan no longer lists, the other generations.
    remove_unlisted_links(&dir, &tops);
    remove_stale(&state, Some(Path::new(&gen_name)));
    Ok(stats)
}

/// Writes every file into `gen`; a file equal (bytes and mode) to the current generation's is a
/// hard link to it.
/// `ahead`, if given, was read from `current`.
fn write_generation(
    gen: &Path,
    current: Option<&Path>,
    files: &[OutFile],
    ahead: Option<&Ahead>,
) -> WdResult<Written> {
    std::fs::create_dir(gen).map_err(|e| out_err(gen, &e))?;
    let mut stats = Written::default();
    let mut made: BTreeSet<PathBuf> = BTreeSet::new();
    for f in files {
        let target = gen.join(&f.rel_path);
        if let Some(parent) = target.parent() {
            if made.insert(parent.to_path_buf()) {
                std::fs::create_dir_all(parent).map_err(|e| out_err(parent, &e))?;
            }
        }
        if let Some(old) = current.map(|c| c.join(&f.rel_path)) {
            let read = ahead.and_then(|a| a.files.get(&f.rel_path));
            if same_content_as_read(&old, f, read) && std::fs::hard_link(&old, &target).is_ok() {
                stats.unchanged += 1;
                continue;
            }
        }
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(f.mode)
            .open(&target)
            .map_err(|e| out_err(&target, &e))?;
        out.write_all(&f.bytes).map_err(|e| out_err(&target, &e))?;
        // The umask may have narrowed the mode; the plan's mode is the contract.
        out.set_permissions(std::fs::Permissions::from_mode(f.mode))
            .map_err(|e| out_err(&target, &e))?;
        stats.written += 1;
    }
    Ok(stats)
}

/// Whether the tree `gen` holds exactly `files` (same paths, bytes and modes) and nothing else.
fn holds_exactly(gen: &Path, files: &[OutFile], ahead: Option<&Ahead>) -> bool {
    let mut want: std::collections::HashMap<&Path, &OutFile> =
        files.iter().map(|f| (f.rel_path.as_path(), f)).collect();
    if want.len() != files.len() {
        return false; // a path listed twice: the full write reports it
    }
    let dirs: BTreeSet<&Path> = files
        .iter()
        .flat_map(|f| f.rel_path.ancestors().skip(1))
        .filter(|a| !a.as_os_str().is_empty())
        .collect();
    type Want<'a> = std::collections::HashMap<&'a Path, &'a OutFile>;
    // A file of the tree: one of `files`, with its bytes and mode.
    fn wanted_file(base: &Path, rel: &Path, want: &mut Want, ahead: Option<&Ahead>) -> bool {
        want.remove(rel).is_some_and(|f| {
            same_content_as_read(&base.join(rel), f, ahead.and_then(|a| a.files.get(rel)))
        })
    }
    fn walk(
        base: &Path,
        rel: &Path,
        want: &mut Want,
        dirs: &BTreeSet<&Path>,
        ahead: Option<&Ahead>,
    ) -> bool {
        let Ok(rd) = std::fs::read_dir(base.join(rel)) else {
            return false;
        };
        for e in rd {
            let Ok(e) = e else { return false };
            let r = rel.join(e.file_name());
            let ok = match e.file_type() {
                Ok(t) if t.is_dir() => {
                    dirs.contains(r.as_path()) && walk(base, &r, want, dirs, ahead)
                }
                Ok(t) if t.is_file() => wanted_file(base, &r, want, ahead),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
        true
    }
    // The tree as read ahead, if no directory of it has changed since (an entry added, removed
    // or renamed changes its directory's times): its listing stands for a walk.
    if let Some((entries, listed)) = ahead.and_then(|a| a.tree.as_ref()) {
        let unchanged = listed.iter().all(|(rel, key)| {
            std::fs::symlink_metadata(gen.join(rel)).is_ok_and(|m| key_of(&m) == *key)
        });
        if unchanged {
            return entries.iter().all(|(rel, is_dir)| {
                if *is_dir {
                    dirs.contains(rel.as_path())
                } else {
                    wanted_file(gen, rel, &mut want, ahead)
                }
            }) && want.is_empty();
        }
    }
    walk(gen, Path::new(""), &mut want, &dirs, ahead) && want.is_empty()
}

/// Whether `old` is a regular file with `f`'s bytes and mode; compared with `read` (bytes read
/// ahead, with the file's metadata then) instead of reading the file again while its metadata is
/// still the same.
fn same_content_as_read(old: &Path, f: &OutFile, read: Option<&(FileKey, Vec<u8>)>) -> bool {
    match std::fs::symlink_metadata(old) {
        Ok(m) if m.is_file() && m.len() == f.bytes.len() as u64 && m.mode() & 0o777 == f.mode => {
            match read {
                Some((key, bytes)) if *key == key_of(&m) => *bytes == f.bytes,
                _ => std::fs::read(old).is_ok_and(|b| b == f.bytes),
            }
        }
        _ => false,
    }
}

fn link_target(top: &str) -> PathBuf {
    Path::new(STATE_DIR).join(CURRENT).join(top)
}

/// Whether `p` is one of our top-level links.
fn is_our_link(p: &Path) -> bool {
    std::fs::read_link(p).is_ok_and(|t| t.starts_with(Path::new(STATE_DIR).join(CURRENT)))
}

/// Makes room for the link of `top`: our link stays (`Ok(true)`); a plain entry that an earlier
/// render wrote (listed in the plain render-plan.json of the pre-generation layout) is migrated
/// when `migrate`; anything else is someone else's and is refused.
fn prepare_top(dir: &Path, top: &str, legacy: &[PathBuf], migrate: bool) -> WdResult<bool> {
    let p = dir.join(top);
    let Ok(meta) = std::fs::symlink_metadata(&p) else {
        return Ok(false);
    };
    if meta.file_type().is_symlink() && is_our_link(&p) {
        return Ok(true);
    }
    let ours = legacy.iter().any(|l| top_of(l) == top) || top == "render-plan.json";
    if !ours || meta.file_type().is_symlink() {
        return Err(WdError::input(format!(
            "{}: exists and was not written by wd-render; move it away or choose another --out",
            p.display()
        )));
    }
    if meta.is_dir() && migrate {
        for l in legacy.iter().filter(|l| top_of(l) == top) {
            let _ = std::fs::remove_file(dir.join(l));
        }
        remove_empty_tree(&p);
        if p.exists() {
            return Err(WdError::input(format!(
                "{}: holds files an earlier render did not write; move them away or choose another --out",
                p.display()
            )));
        }
    }
    // A plain file (render-plan.json) is replaced by its link in one rename in ensure_link.
    Ok(false)
}

/// Removes empty directories (and stale `.wd-*.tmp` files of the pre-generation writer) below
/// and including `p`.
fn remove_empty_tree(p: &Path) {
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let q = e.path();
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            let name = e.file_name().to_string_lossy().to_string();
            if is_dir {
                remove_empty_tree(&q);
            } else if name.starts_with(".wd-") && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(&q);
            }
        }
    }
    let _ = std::fs::remove_dir(p);
}

/// Files listed by a plain (pre-generation) render-plan.json in `dir`.
fn legacy_files(dir: &Path) -> Vec<PathBuf> {
    let p = dir.join("render-plan.json");
    match std::fs::symlink_metadata(&p) {
        Ok(m) if m.is_file() => {}
        _ => return vec![],
    }
    let Ok(text) = std::fs::read_to_string(&p) else {
        return vec![];
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return vec![];
    };
    if v["kind"] != "RenderPlan" {
        return vec![];
    }
    v["files"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["path"].as_str())
                .map(PathBuf::from)
                .filter(|p| p.components().all(|c| matches!(c, Component::Normal(_))))
                .collect()
        })
        .unwrap_or_default()
}

/// `dir/top -> .wd-render/current/top`, replacing a plain file atomically.
fn ensure_link(dir: &Path, top: &str) -> WdResult<()> {
    let p = dir.join(top);
    if is_our_link(&p) {
        return Ok(());
    }
    let tmp = dir
        .join(STATE_DIR)
        .join(format!(".link-{top}-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(link_target(top), &tmp).map_err(|e| out_err(&tmp, &e))?;
    std::fs::rename(&tmp, &p).map_err(|e| out_err(&p, &e))
}

fn remove_unlisted_links(dir: &Path, tops: &BTreeSet<String>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if !tops.contains(&name) && is_our_link(&e.path()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Removes everything in `.wd-render/` but the lock, `current` and the generation it names:
/// generations and links of killed or superseded renders.
fn remove_stale(state: &Path, keep_gen: Option<&Path>) {
    let Ok(rd) = std::fs::read_dir(state) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        if name == LOCK || name == CURRENT || keep_gen.is_some_and(|k| k.as_os_str() == name) {
            continue;
        }
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir_all(&p);
        } else {
            let _ = std::fs::remove_file(&p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(p: &str, b: &str, mode: u32) -> OutFile {
        OutFile {
            rel_path: p.into(),
            bytes: b.as_bytes().to_vec(),
            mode,
        }
    }

    #[test]
    fn switches_whole_sets_keeps_foreign_files_and_links_unchanged_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("manifests.yaml"), "foreign").unwrap();
        let s = switch(
            d.path(),
            &[
                f("a/x.conf", "1", 0o644),
                f("b/y", "2", 0o600),
                f("plan.json", "p1", 0o644),
            ],
        )
        .unwrap();
        assert_eq!(
            s,
            Written {
                written: 3,
                unchanged: 0
            }
        );
        let ino = std::fs::metadata(d.path().join("a/x.conf")).unwrap().ino();
        let s = switch(
            d.path(),
            &[f("a/x.conf", "1", 0o644), f("plan.json", "p2", 0o644)],
        )
        .unwrap();
        assert_eq!(
            s,
            Written {
                written: 1,
                unchanged: 1
            }
        );
        assert_eq!(
            std::fs::metadata(d.path().join("a/x.conf")).unwrap().ino(),
            ino,
            "unchanged file: same inode"
        );
        assert_eq!(
            std::fs::read_to_string(d.path().join("plan.json")).unwrap(),
            "p2"
        );
        assert!(
            !d.path().join("b").exists() && std::fs::symlink_metadata(d.path().join("b")).is_err(),
            "an entry the new set does not list is gone"
        );
        assert_eq!(
            std::fs::read_to_string(d.path().join("manifests.yaml")).unwrap(),
            "foreign"
        );
        let gens: Vec<_> = std::fs::read_dir(d.path().join(STATE_DIR))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(gens.len(), 3, "lock, current and one generation: {gens:?}");
    }

    #[test]
    fn read_ahead_is_used_only_for_settled_unchanged_files_of_the_current_generation() {
        let d = tempfile::tempdir().unwrap();
        let set = [f("a/x.conf", "1111", 0o644), f("b.json", "{}", 0o644)];
        assert_eq!(switch(d.path(), &set).unwrap().written, 2);
        let x = d.path().join("a/x.conf");
        // Just written: nothing is kept (a change within the clock's tick could go unseen).
        let fresh = read_ahead(d.path()).unwrap();
        assert!(fresh.files.is_empty());
        std::thread::sleep(SETTLED + std::time::Duration::from_millis(50));
        let ahead = read_ahead(d.path()).unwrap();
        assert_eq!(ahead.files.len(), 2);
        // Changed in place after it was read (same size): its times differ, it is read again.
        std::fs::write(&x, "2222").unwrap();
        let s = switch_with(d.path(), &set, Some(ahead)).unwrap();
        assert_eq!(
            s,
            Written {
                written: 1,
                unchanged: 1
            }
        );
        assert_eq!(std::fs::read_to_string(&x).unwrap(), "1111");
        // Unchanged since it was read: the set is the current one, nothing is written.
        std::thread::sleep(SETTLED + std::time::Duration::from_millis(50));
        let ahead = read_ahead(d.path()).unwrap();
        let s = switch_with(d.path(), &set, Some(ahead)).unwrap();
        assert_eq!(
            s,
            Written {
                written: 0,
                unchanged: 2
            }
        );
        // Read ahead of another generation (`current` has moved on): not used.
        let ahead = read_ahead(d.path()).unwrap();
        let other = [f("a/x.conf", "3333", 0o644), f("b.json", "{}", 0o644)];
        switch(d.path(), &other).unwrap();
        let s = switch_with(d.path(), &set, Some(ahead)).unwrap();
        assert_eq!(
            s,
            Written {
                written: 1,
                unchanged: 1
            }
        );
        assert_eq!(std::fs::read_to_string(&x).unwrap(), "1111");
    }

    #[test]
    fn an_entry_added_or_removed_after_the_read_ahead_is_seen_under_the_lock() {
        let d = tempfile::tempdir().unwrap();
        let set = [
            f("a/x.conf", "1111", 0o644),
            f("a/b/y.conf", "2", 0o644),
            f("p.json", "{}", 0o644),
        ];
        assert_eq!(switch(d.path(), &set).unwrap().written, 3);
        std::thread::sleep(SETTLED + std::time::Duration::from_millis(50));
        // Read ahead with every directory settled: its listing stands for a walk...
        let ahead = read_ahead(d.path()).unwrap();
        assert!(ahead.tree.is_some() && ahead.files.len() == 3);
        assert_eq!(switch_with(d.path(), &set, Some(ahead)).unwrap().written, 0);
        // ...unless a directory changed since: an added file is not left in the set,
        let ahead = read_ahead(d.path()).unwrap();
        std::fs::write(d.path().join("a/b/extra"), "x").unwrap();
        let s = switch_with(d.path(), &set, Some(ahead)).unwrap();
        assert_eq!(
            (s.written, s.unchanged),
            (0, 3),
            "a new generation of links"
        );
        assert!(!d.path().join("a/b/extra").exists());
        // and a removed one comes back.
        std::thread::sleep(SETTLED + std::time::Duration::from_millis(50));
        let ahead = read_ahead(d.path()).unwrap();
        assert!(ahead.tree.is_some());
        std::fs::remove_file(d.path().join("a/x.conf")).unwrap();
        let s = switch_with(d.path(), &set, Some(ahead)).unwrap();
        assert_eq!((s.written, s.unchanged), (1, 2));
        assert_eq!(
            std::fs::read_to_string(d.path().join("a/x.conf")).unwrap(),
            "1111"
        );
    }

    #[test]
    fn refuses_foreign_entries_and_paths_outside() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("helm")).unwrap();
        std::fs::write(d.path().join("helm/mine"), "x").unwrap();
        let e = switch(d.path(), &[f("helm/values.yaml", "v", 0o644)]).unwrap_err();
        assert!(e.message.contains("was not written by wd-render"), "{e}");
        assert_eq!(
            std::fs::read_to_string(d.path().join("helm/mine")).unwrap(),
            "x"
        );
        assert!(switch(d.path(), &[f("../evil", "v", 0o644)]).is_err());
        assert!(switch(d.path(), &[f(".wd-render/x", "v", 0o644)]).is_err());
    }

    #[test]
    fn migrates_the_plain_layout_once() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("helm")).unwrap();
        std::fs::write(d.path().join("helm/v.yaml"), "old").unwrap();
        std::fs::write(d.path().join("helm/.wd-abc.tmp"), "stale").unwrap();
        std::fs::write(
            d.path().join("render-plan.json"),
            r#"{"kind":"RenderPlan","files":[{"path":"helm/v.yaml"}]}"#,
        )
        .unwrap();
        switch(
            d.path(),
            &[
                f("helm/v.yaml", "new", 0o644),
                f("render-plan.json", "{}", 0o644),
            ],
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(d.path().join("helm/v.yaml")).unwrap(),
            "new"
        );
        assert!(std::fs::symlink_metadata(d.path().join("helm"))
            .unwrap()
            .file_type()
            .is_symlink());
    }
}
