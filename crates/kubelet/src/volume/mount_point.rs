//! The few mount syscalls the volume manager makes: mounting a tmpfs for
//! memory-backed volumes, telling whether a directory already is one, and
//! finding and unmounting everything below a pod directory at teardown.
//!
//! This is the only file of the module that changes the node's mount table;
//! tests run as root and exercise it for real on temporary directories.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount, umount};
use nix::sys::statfs::{TMPFS_MAGIC, statfs};

use super::VolumeError;

/// Whether `dir` is the root of a mount: its device differs from its
/// parent's (upstream's `IsLikelyNotMountPoint`, inverted). Bind mounts of a
/// directory onto the same filesystem are not detected, which is fine for
/// the tmpfs mounts this is used for.
pub fn is_mount_point(dir: &Path) -> Result<bool, VolumeError> {
    let meta = fs::symlink_metadata(dir).map_err(|e| VolumeError::io("stat", dir, e))?;
    let parent = dir.parent().unwrap_or(dir);
    let parent_meta = fs::metadata(parent).map_err(|e| VolumeError::io("stat", parent, e))?;
    Ok(meta.dev() != parent_meta.dev() || meta.ino() == parent_meta.ino())
}

/// Whether the filesystem holding `path` is a tmpfs.
pub fn is_tmpfs(path: &Path) -> Result<bool, VolumeError> {
    let fs = statfs(path).map_err(|e| VolumeError::io("statfs", path, e.into()))?;
    Ok(fs.filesystem_type() == TMPFS_MAGIC)
}

/// Makes sure `dir` (which exists) is a tmpfs mount, mounting one with
/// `size_bytes` (or the kernel's default, half the RAM) if it is not yet.
///
/// # Errors
/// [`VolumeError::NotTmpfs`] if something else is mounted there already.
pub fn ensure_tmpfs(dir: &Path, size_bytes: Option<i64>) -> Result<(), VolumeError> {
    if is_mount_point(dir)? {
        return if is_tmpfs(dir)? {
            Ok(())
        } else {
            Err(VolumeError::NotTmpfs(dir.to_path_buf()))
        };
    }
    let options = size_bytes.map(|s| format!("size={s}"));
    tracing::debug!(dir = %dir.display(), ?options, "mounting tmpfs");
    mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        options.as_deref(),
    )
    .map_err(|e| VolumeError::io("mount tmpfs on", dir, e.into()))
}

/// Unmounts everything mounted at or below `dir`, deepest first, until
/// nothing is left.
///
/// # Errors
/// [`VolumeError::StillMounted`] when a mount point cannot be unmounted
/// (busy, or mounted in a way we cannot undo); nothing may then be deleted.
pub fn unmount_all_below(dir: &Path) -> Result<(), VolumeError> {
    let dir = fs::canonicalize(dir).map_err(|e| VolumeError::io("resolve", dir, e))?;
    // Stacked mounts on one point need one umount each; a bound keeps a
    // mount that keeps coming back from looping forever.
    for _ in 0..64 {
        let mut points = mount_points_below(&dir)?;
        if points.is_empty() {
            return Ok(());
        }
        // Children before parents.
        points.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
        let mut progress = false;
        for point in &points {
            match umount(point.as_path()) {
                Ok(()) => progress = true,
                // Gone already (a parent's unmount took it along).
                Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOENT) => progress = true,
                Err(e) => {
                    tracing::warn!(mount_point = %point.display(), error = %e, "cannot unmount");
                }
            }
        }
        if !progress {
            return Err(VolumeError::StillMounted {
                pod_dir: dir.clone(),
                mount_point: points.remove(0),
            });
        }
    }
    match mount_points_below(&dir)?.into_iter().next() {
        None => Ok(()),
        Some(mount_point) => Err(VolumeError::StillMounted {
            pod_dir: dir,
            mount_point,
        }),
    }
}

/// Mount points at or below `dir` (which must be canonical) in this
/// process's mount namespace.
pub fn mount_points_below(dir: &Path) -> Result<Vec<PathBuf>, VolumeError> {
    let info = "/proc/self/mountinfo";
    let text = fs::read_to_string(info).map_err(|e| VolumeError::io("read", info, e))?;
    Ok(parse_mountinfo(&text)
        .into_iter()
        .filter(|p| p.starts_with(dir))
        .collect())
}

/// The mount point column (the fifth) of each `/proc/<pid>/mountinfo` line,
/// with the kernel's octal escapes (`\040` for a space) undone.
fn parse_mountinfo(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape_octal(field)))
        .collect()
}

fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value = bytes[i + 1..i + 4]
                .iter()
                .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
            out.push(value as u8);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A directory tree walk that refuses to cross into another filesystem:
/// the last line of defence before deleting a pod directory, so that a mount
/// we failed to see (another mount namespace, a race) is never emptied.
pub fn ensure_single_filesystem(dir: &Path) -> Result<(), VolumeError> {
    let root_dev = fs::symlink_metadata(dir)
        .map_err(|e| VolumeError::io("stat", dir, e))?
        .dev();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let entries = match fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(VolumeError::io("read directory", current, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| VolumeError::io("read directory", &current, e))?;
            let path = entry.path();
            let meta = match fs::symlink_metadata(&path) {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(VolumeError::io("stat", path, e)),
            };
            if !meta.is_dir() {
                continue;
            }
            if meta.dev() != root_dev {
                return Err(VolumeError::StillMounted {
                    pod_dir: dir.to_path_buf(),
                    mount_point: path,
                });
            }
            stack.push(path);
        }
    }
    Ok(())
}

/// Test guard: unmounts whatever a test left below a directory, even when
/// the test panics, so that a failing test cannot leak mounts.
#[cfg(test)]
pub(crate) struct UnmountOnDrop(pub PathBuf);

#[cfg(test)]
impl Drop for UnmountOnDrop {
    fn drop(&mut self) {
        if let Err(e) = unmount_all_below(&self.0) {
            if !matches!(&e, VolumeError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
            {
                eprintln!("cleanup: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_columns_and_escapes() {
        let text = "\
22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw
36 35 98:0 /mnt1 /var/lib/kubelet/pods/u\\040x/volumes rw,noatime master:1 - tmpfs tmpfs rw
";
        assert_eq!(
            parse_mountinfo(text),
            vec![
                PathBuf::from("/proc"),
                PathBuf::from("/var/lib/kubelet/pods/u x/volumes")
            ]
        );
        assert_eq!(unescape_octal("a\\134b\\011"), "a\\b\t");
        assert_eq!(unescape_octal("trailing\\04"), "trailing\\04");
    }

    #[test]
    fn tmpfs_is_mounted_once_and_unmounted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _guard = UnmountOnDrop(dir.path().to_path_buf());
        let vol = dir.path().join("vol");
        fs::create_dir(&vol).expect("mkdir");
        assert!(!is_mount_point(&vol).expect("stat"));

        ensure_tmpfs(&vol, Some(1 << 20)).expect("mount");
        ensure_tmpfs(&vol, Some(1 << 20)).expect("idempotent");
        assert!(is_mount_point(&vol).expect("stat"));
        assert!(is_tmpfs(&vol).expect("statfs"));
        let canon = fs::canonicalize(dir.path()).expect("canon");
        assert_eq!(
            mount_points_below(&canon).expect("mounts").len(),
            1,
            "mounted only once"
        );
        assert!(ensure_single_filesystem(dir.path()).is_err());

        unmount_all_below(dir.path()).expect("unmount");
        assert!(mount_points_below(&canon).expect("mounts").is_empty());
        assert!(!is_mount_point(&vol).expect("stat"));
        ensure_single_filesystem(dir.path()).expect("one filesystem");
    }
}
