//! Atomic projection of a set of files into a volume directory, as
//! upstream's `AtomicWriter` (`pkg/volume/util/atomic_writer.go`) does it for
//! configMap, secret, projected and downwardAPI volumes.
//!
//! # Why not just write the files?
//! The kubelet rewrites these volumes while the pod runs, whenever the
//! ConfigMap or Secret changes. A process in the container may be reading
//! them at that very moment, and many read several files that belong
//! together (a TLS certificate and its key, say). Rewriting the files one by
//! one would let it see a new certificate next to the old key. Instead:
//!
//! ```text
//! <volume>/..2024_05_01_10_00_00.123456   real files, written once, never changed
//! <volume>/..data -> ..2024_05_01_10_00_00.123456
//! <volume>/tls.crt -> ..data/tls.crt      what the container sees
//! <volume>/tls.key -> ..data/tls.key
//! ```
//!
//! An update writes a complete new timestamped directory, points a fresh
//! symlink `..data_tmp` at it and renames that over `..data`. `rename(2)` is
//! atomic, so every path a reader resolves goes through either the old
//! `..data` or the new one, never a mix. Only then are user-visible links for
//! new keys added, links of removed keys deleted, and the old directory
//! removed. Programs that want to notice updates can watch `..data`.
//!
//! # Guarantees
//! - Paths starting with `..` are reserved for the writer; payload paths may
//!   not start with `..` or contain a `..` element, nor be absolute.
//! - File modes are exactly the requested ones, whatever the umask.
//! - Nothing is written when content, modes and the set of paths are
//!   unchanged (the kubelet calls this on every pod sync).
//!
//! # Caveats
//! Not safe for concurrent writers on the same directory: the caller (one
//! pod worker per pod) serialises, as upstream's does. A container that
//! mounts a single key with `subPath` gets the file itself, which is never
//! updated (documented upstream behaviour).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::VolumeError;

/// The symlink that names the current timestamped directory.
pub const DATA_DIR: &str = "..data";
/// The symlink prepared next to [`DATA_DIR`] and renamed over it.
const NEW_DATA_DIR: &str = "..data_tmp";
const MAX_FILE_NAME_LENGTH: usize = 255;
const MAX_PATH_LENGTH: usize = 4096;

/// One file of a payload: its bytes and permission bits (`0o644`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileProjection {
    pub data: Vec<u8>,
    pub mode: u32,
}

/// Files to project, by path relative to the volume directory.
pub type Payload = BTreeMap<String, FileProjection>;

/// Projects `payload` into the existing directory `target`; see the module
/// docs. Returns whether anything was written.
///
/// # Errors
/// [`VolumeError::InvalidFilePath`] for a path the writer refuses (nothing
/// is touched then), [`VolumeError::Corrupt`] if `..data` is not a link this
/// writer made, [`VolumeError::Io`] for filesystem failures. A failure before
/// the swap leaves the previous content fully in place.
pub fn write(target: &Path, payload: &Payload) -> Result<bool, VolumeError> {
    let payload = clean_payload(payload)?;
    let data_link = target.join(DATA_DIR);

    let old_ts = current_ts_dir(target)?;
    let mut stale_visible = Vec::new();
    if let Some(old) = &old_ts {
        let old_dir = target.join(old);
        let extra = paths_to_remove(&payload, &old_dir)?;
        if extra.is_empty() && is_current(&payload, &old_dir)? {
            // Up to date; only repair user-visible links someone removed.
            create_visible_links(target, &payload)?;
            return Ok(false);
        }
        // Only top-level links live outside `..data`; nested extras vanish
        // with the old timestamped directory.
        stale_visible = extra.into_iter().filter(|p| !p.contains('/')).collect();
    }

    let ts_name = new_ts_dir(target)?;
    let ts_dir = target.join(&ts_name);
    if let Err(e) = write_files(&ts_dir, &payload) {
        remove_quietly(&ts_dir);
        return Err(e);
    }

    // The swap: a fresh link renamed over the old one.
    let tmp_link = target.join(NEW_DATA_DIR);
    remove_link_if_present(&tmp_link)?;
    if let Err(e) = std::os::unix::fs::symlink(&ts_name, &tmp_link) {
        remove_quietly(&ts_dir);
        return Err(VolumeError::io("create symlink", tmp_link, e));
    }
    if let Err(e) = fs::rename(&tmp_link, &data_link) {
        let _ = fs::remove_file(&tmp_link);
        remove_quietly(&ts_dir);
        return Err(VolumeError::io("rename symlink to", data_link, e));
    }

    create_visible_links(target, &payload)?;
    for name in stale_visible {
        remove_link_if_present(&target.join(name))?;
    }
    remove_old_ts_dirs(target, &ts_name)?;
    Ok(true)
}

/// Validates every path (upstream's `validatePath`) and returns the payload
/// keyed by cleaned paths (`a//b/./c` becomes `a/b/c`).
fn clean_payload(payload: &Payload) -> Result<BTreeMap<String, &FileProjection>, VolumeError> {
    let mut clean = BTreeMap::new();
    for (path, file) in payload {
        validate_path(path)?;
        let cleaned: Vec<&str> = path
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        if cleaned.is_empty() {
            return Err(VolumeError::InvalidFilePath(format!(
                "must not be empty: {path:?}"
            )));
        }
        clean.insert(cleaned.join("/"), file);
    }
    Ok(clean)
}

/// Upstream's rules for payload paths; the messages are upstream's.
pub fn validate_path(path: &str) -> Result<(), VolumeError> {
    let invalid = |m: String| Err(VolumeError::InvalidFilePath(m));
    if path.is_empty() {
        return invalid(format!("must not be empty: {path:?}"));
    }
    if path.starts_with('/') {
        return invalid(format!("must be relative path: {path}"));
    }
    if path.len() > MAX_PATH_LENGTH {
        return invalid(format!(
            "must be less than or equal to {MAX_PATH_LENGTH} characters"
        ));
    }
    for item in path.split('/') {
        if item == ".." {
            return invalid(format!("must not contain '..': {path}"));
        }
        if item.len() > MAX_FILE_NAME_LENGTH {
            return invalid(format!(
                "filenames must be less than or equal to {MAX_FILE_NAME_LENGTH} characters"
            ));
        }
    }
    if path.starts_with("..") {
        return invalid(format!("must not start with '..': {path}"));
    }
    Ok(())
}

/// The name `..data` points at, if the volume was written before. Only a
/// relative, single-component name starting with `..` is accepted: anything
/// else was not made by this writer, and following it could lead outside the
/// volume.
fn current_ts_dir(target: &Path) -> Result<Option<String>, VolumeError> {
    let link = target.join(DATA_DIR);
    let dest = match fs::read_link(&link) {
        Ok(dest) => dest,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(VolumeError::io("read symlink", link, e)),
    };
    match dest.to_str() {
        Some(name) if is_ts_dir_name(name) => Ok(Some(name.to_string())),
        _ => Err(VolumeError::Corrupt {
            what: format!("{DATA_DIR} target {}", dest.display()),
            dir: target.to_path_buf(),
        }),
    }
}

fn is_ts_dir_name(name: &str) -> bool {
    name.starts_with("..")
        && name.len() > 2
        && !name.contains('/')
        && name != DATA_DIR
        && name != NEW_DATA_DIR
}

/// Paths present in the old timestamped directory that the new payload no
/// longer has (neither as a file nor as a parent directory of one).
fn paths_to_remove(
    payload: &BTreeMap<String, &FileProjection>,
    old_dir: &Path,
) -> Result<BTreeSet<String>, VolumeError> {
    let mut old = BTreeSet::new();
    walk(old_dir, "", &mut old)?;
    let mut new = BTreeSet::new();
    for path in payload.keys() {
        let mut prefix = path.as_str();
        loop {
            new.insert(prefix.to_string());
            match prefix.rfind('/') {
                Some(i) => prefix = &prefix[..i],
                None => break,
            }
        }
    }
    Ok(old.difference(&new).cloned().collect())
}

/// Collects the relative paths of everything below `dir` (not following
/// symlinks). A missing directory is empty.
fn walk(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) -> Result<(), VolumeError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(VolumeError::io("read directory", dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| VolumeError::io("read directory", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let is_dir = entry
            .file_type()
            .map_err(|e| VolumeError::io("stat", entry.path(), e))?
            .is_dir();
        if is_dir {
            walk(&entry.path(), &rel, out)?;
        }
        out.insert(rel);
    }
    Ok(())
}

/// Whether every payload file is already in `dir` with the same bytes and mode.
fn is_current(
    payload: &BTreeMap<String, &FileProjection>,
    dir: &Path,
) -> Result<bool, VolumeError> {
    for (path, file) in payload {
        let full = dir.join(path);
        let meta = match fs::symlink_metadata(&full) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(VolumeError::io("stat", full, e)),
        };
        if !meta.is_file() || meta.permissions().mode() & 0o7777 != file.mode & 0o7777 {
            return Ok(false);
        }
        let on_disk = fs::read(&full).map_err(|e| VolumeError::io("read", &full, e))?;
        if on_disk != file.data {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Creates `..<UTC timestamp>.<random>` with mode 0755 (group and others
/// must be able to traverse it, whatever the umask) and returns its name.
fn new_ts_dir(target: &Path) -> Result<String, VolumeError> {
    let stamp = chrono::Utc::now().format("%Y_%m_%d_%H_%M_%S");
    loop {
        // A random suffix, as Go's `os.MkdirTemp`, from std's randomly
        // keyed hasher (no RNG dependency needed for a unique name).
        let suffix = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish() as u32;
        let name = format!("..{stamp}.{suffix}");
        let path = target.join(&name);
        match fs::DirBuilder::new().mode(0o755).create(&path) {
            Ok(()) => {
                set_mode(&path, 0o755)?;
                return Ok(name);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(VolumeError::io("create directory", path, e)),
        }
    }
}

fn write_files(dir: &Path, payload: &BTreeMap<String, &FileProjection>) -> Result<(), VolumeError> {
    for (path, file) in payload {
        let full = dir.join(path);
        if let Some(parent) = full.parent() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(parent)
                .map_err(|e| VolumeError::io("create directory", parent, e))?;
        }
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(file.mode)
            .open(&full)
            .map_err(|e| VolumeError::io("create file", &full, e))?;
        f.write_all(&file.data)
            .map_err(|e| VolumeError::io("write file", &full, e))?;
        // open(2) applied the umask; the mode must be exactly the asked one.
        set_mode(&full, file.mode)?;
    }
    Ok(())
}

/// `name -> ..data/name` for each top-level component of the payload.
fn create_visible_links(
    target: &Path,
    payload: &BTreeMap<String, &FileProjection>,
) -> Result<(), VolumeError> {
    let tops: BTreeSet<&str> = payload
        .keys()
        .map(|p| p.split('/').next().unwrap_or(p))
        .collect();
    for top in tops {
        let visible = target.join(top);
        match fs::symlink_metadata(&visible) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let dest = PathBuf::from(DATA_DIR).join(top);
                std::os::unix::fs::symlink(&dest, &visible)
                    .map_err(|e| VolumeError::io("create symlink", &visible, e))?;
            }
            Err(e) => return Err(VolumeError::io("stat", visible, e)),
        }
    }
    Ok(())
}

/// Removes `path` if it is a symlink; leaves anything else alone (the
/// writer only ever deletes what it could have made).
fn remove_link_if_present(path: &Path) -> Result<(), VolumeError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::remove_file(path).map_err(|e| VolumeError::io("remove symlink", path, e))
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(VolumeError::io("stat", path, e)),
    }
}

/// Removes every timestamped directory but `keep`: the previous one, and any
/// left behind by a write that failed half-way.
fn remove_old_ts_dirs(target: &Path, keep: &str) -> Result<(), VolumeError> {
    let entries = fs::read_dir(target).map_err(|e| VolumeError::io("read directory", target, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| VolumeError::io("read directory", target, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name == keep || !is_ts_dir_name(name) {
            continue;
        }
        let is_dir = entry
            .file_type()
            .map_err(|e| VolumeError::io("stat", entry.path(), e))?
            .is_dir();
        if is_dir {
            let path = entry.path();
            fs::remove_dir_all(&path).map_err(|e| VolumeError::io("remove directory", path, e))?;
        }
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<(), VolumeError> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| VolumeError::io("chmod", path, e))
}

fn remove_quietly(dir: &Path) {
    if let Err(e) = fs::remove_dir_all(dir) {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot remove unused data directory");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(data: &str, mode: u32) -> FileProjection {
        FileProjection {
            data: data.as_bytes().to_vec(),
            mode,
        }
    }

    fn payload(entries: &[(&str, &str)]) -> Payload {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), file(v, 0o644)))
            .collect()
    }

    fn ts_dirs(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| is_ts_dir_name(n))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn first_write_lays_out_links_and_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wrote = write(dir.path(), &payload(&[("a", "1"), ("sub/b", "2")])).expect("write");
        assert!(wrote);

        let ts = fs::read_link(dir.path().join(DATA_DIR)).expect("..data");
        let ts = ts.to_str().expect("utf8");
        assert!(ts.starts_with(".."), "{ts}");
        assert_eq!(ts_dirs(dir.path()), vec![ts.to_string()]);
        let mode = fs::metadata(dir.path().join(ts))
            .expect("ts")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);

        assert_eq!(
            fs::read_link(dir.path().join("a")).expect("a"),
            PathBuf::from("..data/a")
        );
        assert_eq!(
            fs::read_link(dir.path().join("sub")).expect("sub"),
            PathBuf::from("..data/sub")
        );
        assert_eq!(fs::read_to_string(dir.path().join("a")).expect("read"), "1");
        assert_eq!(
            fs::read_to_string(dir.path().join("sub/b")).expect("read"),
            "2"
        );
    }

    #[test]
    fn modes_are_exact_despite_umask() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut p = Payload::new();
        p.insert("open".into(), file("x", 0o777));
        p.insert("closed".into(), file("y", 0o400));
        write(dir.path(), &p).expect("write");
        let mode = |n: &str| {
            fs::metadata(dir.path().join(n))
                .expect("stat")
                .permissions()
                .mode()
                & 0o7777
        };
        assert_eq!(mode("open"), 0o777);
        assert_eq!(mode("closed"), 0o400);
    }

    #[test]
    fn unchanged_payload_is_not_rewritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = payload(&[("a", "1")]);
        write(dir.path(), &p).expect("first");
        let before = fs::read_link(dir.path().join(DATA_DIR)).expect("..data");
        assert!(!write(dir.path(), &p).expect("second"));
        assert_eq!(
            fs::read_link(dir.path().join(DATA_DIR)).expect("..data"),
            before
        );
    }

    #[test]
    fn update_swaps_data_and_prunes() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            &payload(&[
                ("keep", "old"),
                ("gone", "x"),
                ("d/gone", "y"),
                ("d/stay", "z"),
            ]),
        )
        .expect("first");
        let old = fs::read_link(dir.path().join(DATA_DIR)).expect("..data");

        assert!(
            write(
                dir.path(),
                &payload(&[("keep", "new"), ("d/stay", "z"), ("added", "+")])
            )
            .expect("second")
        );
        let new = fs::read_link(dir.path().join(DATA_DIR)).expect("..data");
        assert_ne!(old, new);
        assert!(
            !dir.path().join(&old).exists(),
            "old data directory removed"
        );
        assert_eq!(
            ts_dirs(dir.path()),
            vec![new.to_string_lossy().into_owned()]
        );

        assert_eq!(
            fs::read_to_string(dir.path().join("keep")).expect("keep"),
            "new"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("added")).expect("added"),
            "+"
        );
        assert!(
            fs::symlink_metadata(dir.path().join("gone")).is_err(),
            "removed key's link deleted"
        );
        assert!(
            !dir.path().join("d/gone").exists(),
            "nested removed key gone"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("d/stay")).expect("stay"),
            "z"
        );
        assert!(fs::symlink_metadata(dir.path().join(NEW_DATA_DIR)).is_err());
    }

    /// A reader racing with updates only ever sees a complete version: each
    /// read file is entirely old or entirely new, and files read through
    /// one resolution of `..data` always belong to the same version.
    #[test]
    fn concurrent_readers_never_see_a_mix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let version = |v: char| {
            let body: String = std::iter::repeat_n(v, 4096).collect();
            payload(&[("a", &body), ("b", &body)])
        };
        write(dir.path(), &version('0')).expect("first");

        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (root, stop) = (dir.path().to_path_buf(), stop.clone());
            std::thread::spawn(move || {
                let mut complete = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // The data directory may vanish between resolving and
                    // reading (the reader then retries); what it reads is
                    // never partial.
                    let Ok(a) = fs::read_to_string(root.join("a")) else {
                        continue;
                    };
                    assert_eq!(a.len(), 4096);
                    assert!(
                        a.chars().all(|c| c == a.as_bytes()[0] as char),
                        "mixed file"
                    );
                    let Ok(ts) = fs::read_link(root.join(DATA_DIR)) else {
                        continue;
                    };
                    let (Ok(a), Ok(b)) = (
                        fs::read_to_string(root.join(&ts).join("a")),
                        fs::read_to_string(root.join(&ts).join("b")),
                    ) else {
                        continue;
                    };
                    assert_eq!(a, b, "files of one version differ");
                    complete += 1;
                }
                complete
            })
        };
        for i in 1..200 {
            let v = char::from(b'0' + (i % 10) as u8);
            write(dir.path(), &version(v)).expect("update");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let complete = reader.join().expect("reader");
        assert!(complete > 0, "reader made progress");
        assert_eq!(ts_dirs(dir.path()).len(), 1);
    }

    #[test]
    fn mode_change_alone_rewrites() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut p = payload(&[("a", "1")]);
        write(dir.path(), &p).expect("first");
        p.insert("a".into(), file("1", 0o600));
        assert!(write(dir.path(), &p).expect("second"));
        let mode = fs::metadata(dir.path().join("a"))
            .expect("a")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn empty_payload_makes_an_empty_volume() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), &payload(&[("a", "1")])).expect("first");
        write(dir.path(), &Payload::new()).expect("empty");
        let visible: Vec<String> = fs::read_dir(dir.path())
            .expect("read")
            .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with(".."))
            .collect();
        assert!(visible.is_empty(), "{visible:?}");
    }

    #[test]
    fn deleted_visible_link_is_repaired() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = payload(&[("a", "1")]);
        write(dir.path(), &p).expect("first");
        fs::remove_file(dir.path().join("a")).expect("rm");
        write(dir.path(), &p).expect("second");
        assert_eq!(fs::read_to_string(dir.path().join("a")).expect("a"), "1");
    }

    #[test]
    fn stale_ts_dirs_from_crashed_writes_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir(dir.path().join("..2020_01_01_00_00_00.1")).expect("stale");
        write(dir.path(), &payload(&[("a", "1")])).expect("write");
        assert_eq!(ts_dirs(dir.path()).len(), 1);
    }

    #[test]
    fn paths_are_validated_as_upstream() {
        let cases = [
            ("", "invalid path: must not be empty: \"\""),
            ("/abs", "invalid path: must be relative path: /abs"),
            ("a/../b", "invalid path: must not contain '..': a/../b"),
            ("..", "invalid path: must not contain '..': .."),
            (
                "..hidden",
                "invalid path: must not start with '..': ..hidden",
            ),
        ];
        for (path, message) in cases {
            let err = validate_path(path).expect_err(path);
            assert_eq!(err.to_string(), message);
        }
        let long = "x".repeat(256);
        assert!(validate_path(&long).is_err());
        assert!(validate_path("a/./b").is_ok());
        assert!(validate_path("a..b/c").is_ok());
    }

    #[test]
    fn invalid_path_touches_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err =
            write(dir.path(), &payload(&[("ok", "1"), ("../escape", "2")])).expect_err("invalid");
        assert!(matches!(err, VolumeError::InvalidFilePath(_)));
        assert_eq!(fs::read_dir(dir.path()).expect("read").count(), 0);
    }

    #[test]
    fn paths_are_cleaned() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), &payload(&[("a//b/./c", "1")])).expect("write");
        assert_eq!(
            fs::read_to_string(dir.path().join("a/b/c")).expect("read"),
            "1"
        );
    }

    #[test]
    fn foreign_data_link_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink("/etc", dir.path().join(DATA_DIR)).expect("link");
        let err = write(dir.path(), &payload(&[("a", "1")])).expect_err("corrupt");
        assert!(matches!(err, VolumeError::Corrupt { .. }), "{err}");
    }
}
