//! `emptyDir` volumes: scratch space created empty when the pod arrives on
//! the node and deleted with it (upstream: `pkg/volume/emptydir`). Every
//! container of the pod sees the same directory, which makes it the usual
//! way for containers of a pod to share files.
//!
//! - `medium: ""` — a directory under the pod directory, on the node's disk.
//! - `medium: Memory` — a tmpfs mounted on that directory: fast, never on
//!   disk, counted against the memory of the pod. `sizeLimit` becomes the
//!   tmpfs size; without it the kernel's default (half the RAM) applies.
//!
//! The same two set-ups back the other kubelet-written volumes, as upstream
//! wraps them in an emptyDir: configMap and downwardAPI on disk, secret and
//! projected in memory so that secrets never touch the node's disk.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use api_types::core::v1::EmptyDirVolumeSource;

use super::{VolumeError, mount_point};

/// emptyDirs are world-writable, so that containers running as any user can
/// use them (upstream's `defaultPerm`).
const DEFAULT_PERM: u32 = 0o777;

/// Creates (or keeps) the emptyDir at `dir`.
pub fn setup(dir: &Path, source: &EmptyDirVolumeSource) -> Result<(), VolumeError> {
    match source.medium.as_deref().unwrap_or_default() {
        "" => setup_dir(dir),
        "Memory" => {
            let size = match &source.size_limit {
                Some(q) => {
                    let bytes = q
                        .parse()
                        .map_err(|source| VolumeError::Quantity {
                            what: "sizeLimit",
                            value: q.0.clone(),
                            source,
                        })?
                        .value();
                    (bytes > 0).then_some(bytes)
                }
                None => None,
            };
            setup_memory(dir, size)
        }
        other => Err(VolumeError::UnknownMedium(other.to_string())),
    }
}

/// The directory, mode exactly 0777 whatever the umask.
pub fn setup_dir(dir: &Path) -> Result<(), VolumeError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DEFAULT_PERM)
        .create(dir)
        .map_err(|e| VolumeError::io("create directory", dir, e))?;
    let meta = fs::symlink_metadata(dir).map_err(|e| VolumeError::io("stat", dir, e))?;
    if meta.permissions().mode() & 0o777 != DEFAULT_PERM {
        fs::set_permissions(dir, fs::Permissions::from_mode(DEFAULT_PERM))
            .map_err(|e| VolumeError::io("chmod", dir, e))?;
    }
    Ok(())
}

/// The directory with a tmpfs on it, mounted only once however often the
/// pod is synced.
pub fn setup_memory(dir: &Path, size_bytes: Option<i64>) -> Result<(), VolumeError> {
    // Permissions are set on the mount point before mounting, as upstream;
    // the tmpfs root itself comes up as 1777.
    if !mount_point::is_mount_point(dir).unwrap_or(false) {
        setup_dir(dir)?;
    }
    mount_point::ensure_tmpfs(dir, size_bytes)
}

#[cfg(test)]
mod tests {
    use api_types::quantity::Quantity;

    use super::*;
    use crate::volume::mount_point::UnmountOnDrop;

    #[test]
    fn disk_medium_is_a_0777_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let vol = dir.path().join("a/b");
        setup(&vol, &EmptyDirVolumeSource::default()).expect("setup");
        setup(&vol, &EmptyDirVolumeSource::default()).expect("idempotent");
        let mode = fs::metadata(&vol).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o777);
        assert!(!mount_point::is_mount_point(&vol).expect("stat"));
    }

    #[test]
    fn memory_medium_is_a_sized_tmpfs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _guard = UnmountOnDrop(dir.path().to_path_buf());
        let vol = dir.path().join("mem");
        let source = EmptyDirVolumeSource {
            medium: Some("Memory".into()),
            size_limit: Some(Quantity::from("4Mi")),
        };
        setup(&vol, &source).expect("setup");
        setup(&vol, &source).expect("idempotent");
        assert!(mount_point::is_tmpfs(&vol).expect("statfs"));
        let st = nix::sys::statfs::statfs(&vol).expect("statfs");
        let bytes = st.blocks() * st.block_size() as u64;
        assert_eq!(bytes, 4 << 20);
        let canon = fs::canonicalize(dir.path()).expect("canon");
        assert_eq!(
            mount_point::mount_points_below(&canon)
                .expect("mounts")
                .len(),
            1
        );
    }

    #[test]
    fn unknown_medium() {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = EmptyDirVolumeSource {
            medium: Some("HugePages".into()),
            size_limit: None,
        };
        let err = setup(&dir.path().join("x"), &source).expect_err("medium");
        assert_eq!(err.to_string(), "unknown storage medium \"HugePages\"");
    }
}
