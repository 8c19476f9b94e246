//! `hostPath` volumes: a file or directory of the node itself, bind-mounted
//! into the container as is (upstream: `pkg/volume/hostpath`).
//!
//! Nothing is copied and nothing lives under the pod directory: the host
//! path *is* the volume, which is why teardown never touches it. The only
//! work at setup is the optional `type` check, which makes a pod wait (with
//! a `FailedMount` event) instead of starting against the wrong thing:
//!
//! | `type` | if missing | must be |
//! |---|---|---|
//! | `""` (unset) | anything goes, no check | anything |
//! | `DirectoryOrCreate` | created, mode 0755 (parents too) | directory |
//! | `Directory` | error | directory |
//! | `FileOrCreate` | created empty, mode 0644; the parent must exist | file |
//! | `File` | error | file |
//! | `Socket`, `CharDevice`, `BlockDevice` | error | that |
//!
//! Symlinks are followed, as upstream's `os.Stat`.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use api_types::core::v1::HostPathVolumeSource;

use super::VolumeError;

/// Validates and type-checks a hostPath volume; returns the host path.
pub fn setup(source: &HostPathVolumeSource) -> Result<PathBuf, VolumeError> {
    let path = &source.path;
    if path.split('/').any(|c| c == "..") {
        return Err(VolumeError::HostPathBacksteps(path.clone()));
    }
    check_type(path, source.type_.as_deref().unwrap_or_default())?;
    Ok(PathBuf::from(path))
}

/// Upstream's `checkType`: create for the `...OrCreate` types, then compare.
fn check_type(path: &str, type_: &str) -> Result<(), VolumeError> {
    let p = Path::new(path);
    match type_ {
        "" => Ok(()),
        "DirectoryOrCreate" if !exists(p) => fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(p)
            .map_err(|e| VolumeError::io("create directory", p, e)),
        "DirectoryOrCreate" | "Directory" => require_type(path, "Directory", "directory"),
        "FileOrCreate" if !exists(p) => {
            // Deliberately not creating parents: upstream does not either.
            match fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o644)
                .open(p)
            {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
                Err(e) => Err(VolumeError::io("create file", p, e)),
            }
        }
        "FileOrCreate" | "File" => require_type(path, "File", "file"),
        "Socket" => require_type(path, "Socket", "socket file"),
        "CharDevice" => require_type(path, "CharDevice", "character device"),
        "BlockDevice" => require_type(path, "BlockDevice", "block device"),
        other => Err(VolumeError::InvalidHostPathType(other.to_string())),
    }
}

fn exists(path: &Path) -> bool {
    fs::metadata(path).is_ok()
}

/// Fails unless `path` is of the `wanted` type (upstream's type names).
fn require_type(
    path: &str,
    wanted: &'static str,
    description: &'static str,
) -> Result<(), VolumeError> {
    let Ok(meta) = fs::metadata(path) else {
        return Err(VolumeError::HostPathMissing(path.to_string()));
    };
    let ft = meta.file_type();
    let actual = if ft.is_dir() {
        "Directory"
    } else if ft.is_file() {
        "File"
    } else if ft.is_socket() {
        "Socket"
    } else if ft.is_char_device() {
        "CharDevice"
    } else if ft.is_block_device() {
        "BlockDevice"
    } else {
        return Err(VolumeError::HostPathUnknownType {
            path: path.to_string(),
            expected: description,
        });
    };
    if actual == wanted {
        Ok(())
    } else {
        Err(VolumeError::HostPathType {
            path: path.to_string(),
            expected: description,
            actual,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn source(path: &Path, type_: Option<&str>) -> HostPathVolumeSource {
        HostPathVolumeSource {
            path: path.to_string_lossy().into_owned(),
            type_: type_.map(str::to_string),
        }
    }

    fn err(path: &Path, type_: &str) -> String {
        setup(&source(path, Some(type_)))
            .expect_err(type_)
            .to_string()
    }

    #[test]
    fn unset_type_checks_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing");
        assert_eq!(setup(&source(&missing, None)).expect("unset"), missing);
        assert!(setup(&source(&missing, Some(""))).is_ok());
        assert!(!missing.exists(), "nothing created");
    }

    #[test]
    fn directory_or_create_makes_0755_with_parents() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a/b");
        setup(&source(&p, Some("DirectoryOrCreate"))).expect("create");
        let mode = fs::metadata(&p).expect("stat").permissions().mode();
        assert!(p.is_dir());
        assert_eq!(mode & 0o777, 0o755 & !umask());
        // An existing file is refused, not replaced.
        let f = dir.path().join("f");
        fs::write(&f, "data").expect("write");
        assert_eq!(
            err(&f, "DirectoryOrCreate"),
            format!(
                "hostPath type check failed: {} is not a directory, it's a File",
                f.display()
            )
        );
        assert_eq!(fs::read_to_string(&f).expect("read"), "data");
    }

    #[test]
    fn file_or_create_makes_0644_but_not_parents() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("f");
        setup(&source(&f, Some("FileOrCreate"))).expect("create");
        assert!(f.is_file());
        let mode = fs::metadata(&f).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o644 & !umask());
        // Existing content is kept.
        fs::write(&f, "keep").expect("write");
        setup(&source(&f, Some("FileOrCreate"))).expect("again");
        assert_eq!(fs::read_to_string(&f).expect("read"), "keep");

        let orphan = dir.path().join("no/such/parent");
        let e = setup(&source(&orphan, Some("FileOrCreate"))).expect_err("no parent");
        assert!(matches!(e, VolumeError::Io { .. }), "{e}");
        assert_eq!(
            err(dir.path(), "FileOrCreate"),
            format!(
                "hostPath type check failed: {} is not a file, it's a Directory",
                dir.path().display()
            )
        );
    }

    #[test]
    fn strict_types() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("f");
        fs::write(&f, "").expect("write");
        let missing = dir.path().join("missing");

        assert!(setup(&source(dir.path(), Some("Directory"))).is_ok());
        assert!(setup(&source(&f, Some("File"))).is_ok());
        assert_eq!(
            err(&missing, "Directory"),
            format!("hostPath {} doesn't exist", missing.display())
        );
        assert_eq!(
            err(&missing, "File"),
            format!("hostPath {} doesn't exist", missing.display())
        );
        assert_eq!(
            err(&f, "Directory"),
            format!(
                "hostPath type check failed: {} is not a directory, it's a File",
                f.display()
            )
        );
        assert_eq!(
            err(&f, "Socket"),
            format!(
                "hostPath type check failed: {} is not a socket file, it's a File",
                f.display()
            )
        );
        assert_eq!(
            err(&f, "BlockDevice"),
            format!(
                "hostPath type check failed: {} is not a block device, it's a File",
                f.display()
            )
        );
        assert!(setup(&source(Path::new("/dev/null"), Some("CharDevice"))).is_ok());
        assert_eq!(
            err(Path::new("/dev/null"), "File"),
            "hostPath type check failed: /dev/null is not a file, it's a CharDevice"
        );
    }

    #[test]
    fn sockets_and_fifos() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sock = dir.path().join("s.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
        assert!(setup(&source(&sock, Some("Socket"))).is_ok());

        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .expect("mkfifo");
        assert_eq!(
            err(&fifo, "File"),
            format!(
                "hostPath type check failed, {} is not a file, unable to determine its type: only recognise file, directory, socket, block device and character device",
                fifo.display()
            )
        );
    }

    #[test]
    fn invalid_types_and_backsteps() {
        assert_eq!(
            err(Path::new("/tmp"), "Dir"),
            "Dir is an invalid volume type"
        );
        assert_eq!(
            err(Path::new("/tmp/../etc"), "Directory"),
            "invalid HostPath `/tmp/../etc`: must not contain '..'"
        );
    }

    /// The process umask, from `/proc/self/status` (reading it with
    /// `umask(2)` would change it for the other test threads meanwhile).
    fn umask() -> u32 {
        let status = fs::read_to_string("/proc/self/status").expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            .expect("umask")
    }
}
