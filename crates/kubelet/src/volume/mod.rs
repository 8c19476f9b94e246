//! # Pod volumes on the node
//!
//! A Kubernetes *volume* is a directory that the containers of a pod can
//! see, declared once in `spec.volumes` and mounted by each container that
//! lists it in `volumeMounts`. Upstream this is the kubelet's volume manager
//! and its in-tree volume plugins (`pkg/kubelet/volumemanager`,
//! `pkg/volume/*`); here it is one [`VolumeManager`] with a module per kind.
//!
//! # Where the data lives
//! Under the kubelet's `--root-dir` (`/var/lib/kubelet`), exactly as
//! upstream, so the layout in blog posts and bug reports matches:
//!
//! ```text
//! <root>/pods/<pod uid>/volumes/kubernetes.io~empty-dir/<volume>
//!                              /kubernetes.io~configmap/<volume>
//!                              /kubernetes.io~secret/<volume>      (tmpfs)
//!                              /kubernetes.io~projected/<volume>   (tmpfs)
//!                              /kubernetes.io~downward-api/<volume>
//! ```
//!
//! A hostPath volume is the node's path itself and lives nowhere else.
//! The container runtime then bind-mounts these host paths into the
//! containers, as the CRI `Mount`s that [`VolumeManager::mounts`] builds.
//!
//! # The life of a pod's volumes
//! 1. [`VolumeManager::setup`] on every pod sync: creates what is missing,
//!    type-checks hostPaths, and (re)writes configMap, secret, projected and
//!    downwardAPI content, so that edits to a ConfigMap reach running pods.
//!    Those writes are atomic (see [`atomic_writer`]): a container never
//!    sees a half-updated set of files.
//! 2. [`VolumeManager::mounts`] when a container is created.
//! 3. [`VolumeManager::teardown`] once the pod is gone: unmount the tmpfs
//!    mounts, delete the pod directory. [`VolumeManager::pod_dirs`] lists
//!    the pod directories so the kubelet can find orphans after a restart.
//!
//! # Layout
//! - `empty_dir.rs`, `host_path.rs`: the two kinds that need no API object.
//! - `payload.rs` and `downward_api.rs`: pure functions deciding the files
//!   of configMap, secret, projected and downwardAPI volumes.
//! - [`atomic_writer`]: writing those files in place, atomically.
//! - `container_mounts.rs`: `volumeMounts` → CRI mounts, `subPath`.
//! - `mount_point.rs`: the mount syscalls (tmpfs, unmount, mountinfo).
//! - `tests.rs`: the whole manager on temporary root directories.
//!
//! # Differences from upstream
//! No persistent volumes (PVC, NFS, CSI, ...) and no image volumes: such a
//! pod fails with [`VolumeError::Unsupported`]. Service account tokens in
//! projected volumes are skipped. No `fsGroup` ownership changes, no
//! hugepages medium, no quota on emptyDir `sizeLimit` on disk.

pub mod atomic_writer;
mod container_mounts;
pub(crate) mod downward_api;
mod empty_dir;
mod error;
mod host_path;
mod mount_point;
mod payload;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use api_types::core::v1::{ConfigMap, Container, Pod, Secret, Volume};
use api_types::quantity::Quantity;

pub use error::VolumeError;

/// Upstream's plugin directory names (`kubernetes.io/<plugin>` with the
/// slash escaped).
pub const EMPTY_DIR_PLUGIN: &str = "kubernetes.io~empty-dir";
pub const CONFIG_MAP_PLUGIN: &str = "kubernetes.io~configmap";
pub const SECRET_PLUGIN: &str = "kubernetes.io~secret";
pub const PROJECTED_PLUGIN: &str = "kubernetes.io~projected";
pub const DOWNWARD_API_PLUGIN: &str = "kubernetes.io~downward-api";

/// The API objects a pod's volumes may name, from the pod's namespace, by
/// name. A name absent from a map means the object does not exist.
#[derive(Clone, Copy, Debug)]
pub struct VolumeSources<'a> {
    pub config_maps: &'a BTreeMap<String, ConfigMap>,
    pub secrets: &'a BTreeMap<String, Secret>,
}

/// Sets up, exposes and tears down the volumes of the pods on this node.
///
/// It keeps no state besides the files under `root`: everything it needs is
/// recomputed from the pod and the disk, so a restarted kubelet picks up
/// where it left off.
#[derive(Clone, Debug)]
pub struct VolumeManager {
    root: PathBuf,
    node_allocatable: Option<BTreeMap<String, Quantity>>,
}

impl VolumeManager {
    /// A manager for the kubelet root directory `root` (`--root-dir`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        VolumeManager {
            root: root.into(),
            node_allocatable: None,
        }
    }

    /// The node's allocatable resources, which downwardAPI files report for
    /// `limits.*` of containers without that limit (as upstream). Without
    /// them such a file is an error.
    pub fn with_node_allocatable(mut self, allocatable: BTreeMap<String, Quantity>) -> Self {
        self.node_allocatable = Some(allocatable);
        self
    }

    /// `<root>`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/pods/<uid>`.
    pub fn pod_dir(&self, pod_uid: &str) -> PathBuf {
        self.root.join("pods").join(pod_uid)
    }

    /// `<root>/pods/<uid>/volumes/<plugin>/<volume>`.
    pub fn volume_dir(&self, pod_uid: &str, plugin: &str, volume: &str) -> PathBuf {
        self.pod_dir(pod_uid)
            .join("volumes")
            .join(plugin)
            .join(volume)
    }

    /// Makes every volume of the pod ready and returns their host paths by
    /// volume name. Idempotent: meant to be called on every pod sync, it
    /// only creates what is missing and rewrites content that changed.
    ///
    /// # Errors
    /// Each volume is tried; the failures come back as
    /// [`VolumeError::SetUp`] (several as [`VolumeError::Multiple`]) with
    /// upstream's messages, ready for a `FailedMount` event. Volumes that did
    /// succeed stay set up.
    pub fn setup(
        &self,
        pod: &Pod,
        sources: &VolumeSources,
    ) -> Result<BTreeMap<String, PathBuf>, VolumeError> {
        let uid = &pod.metadata.uid;
        validate_uid(uid)?;
        let pod_dir = self.pod_dir(uid);
        create_private_dir(&pod_dir)?;
        create_private_dir(&pod_dir.join("volumes"))?;

        let volumes = pod
            .spec
            .as_ref()
            .and_then(|s| s.volumes.as_deref())
            .unwrap_or_default();
        let mut paths = BTreeMap::new();
        let mut errors = Vec::new();
        for volume in volumes {
            match self.setup_volume(pod, volume, sources) {
                Ok(path) => {
                    paths.insert(volume.name.clone(), path);
                }
                Err(e) => {
                    tracing::warn!(pod = %pod.metadata.key(), volume = %volume.name, error = %e, "volume set-up failed");
                    errors.push(VolumeError::SetUp {
                        volume: volume.name.clone(),
                        source: Box::new(e),
                    });
                }
            }
        }
        VolumeError::aggregate(errors).map(|()| paths)
    }

    fn setup_volume(
        &self,
        pod: &Pod,
        volume: &Volume,
        sources: &VolumeSources,
    ) -> Result<PathBuf, VolumeError> {
        let uid = &pod.metadata.uid;
        let dir = |plugin| self.volume_dir(uid, plugin, &volume.name);
        let allocatable = self.node_allocatable.as_ref();

        if let Some(src) = &volume.empty_dir {
            let dir = dir(EMPTY_DIR_PLUGIN);
            empty_dir::setup(&dir, src)?;
            Ok(dir)
        } else if let Some(src) = &volume.host_path {
            host_path::setup(src)
        } else if let Some(src) = &volume.config_map {
            let files = payload::config_map_payload(
                sources,
                &src.name,
                src.items.as_deref(),
                mode_bits(src.default_mode, payload::DEFAULT_MODE),
                src.optional.unwrap_or(false),
            )?;
            let dir = dir(CONFIG_MAP_PLUGIN);
            empty_dir::setup_dir(&dir)?;
            atomic_writer::write(&dir, &files)?;
            Ok(dir)
        } else if let Some(src) = &volume.secret {
            let files = payload::secret_payload(
                sources,
                src.secret_name.as_deref().unwrap_or_default(),
                src.items.as_deref(),
                mode_bits(src.default_mode, payload::DEFAULT_MODE),
                src.optional.unwrap_or(false),
            )?;
            let dir = dir(SECRET_PLUGIN);
            empty_dir::setup_memory(&dir, None)?;
            atomic_writer::write(&dir, &files)?;
            Ok(dir)
        } else if let Some(src) = &volume.projected {
            let files = payload::projected_payload(pod, src, sources, allocatable)?;
            let dir = dir(PROJECTED_PLUGIN);
            empty_dir::setup_memory(&dir, None)?;
            atomic_writer::write(&dir, &files)?;
            Ok(dir)
        } else if let Some(src) = &volume.downward_api {
            let items = src.items.as_deref().unwrap_or_default();
            let default_mode = mode_bits(src.default_mode, payload::DEFAULT_MODE);
            let files = downward_api::payload(items, pod, default_mode, allocatable)?;
            let dir = dir(DOWNWARD_API_PLUGIN);
            empty_dir::setup_dir(&dir)?;
            atomic_writer::write(&dir, &files)?;
            Ok(dir)
        } else {
            Err(VolumeError::Unsupported {
                volume: volume.name.clone(),
                source_kind: source_kind(volume).to_string(),
            })
        }
    }

    /// The CRI mounts for `container`, given the host paths [`setup`]
    /// returned. `subPathExpr` sees the variables that can be known from
    /// the pod alone: literal values (earlier variables expanded) and pod
    /// fields (`metadata.*`, `spec.nodeName`, `spec.serviceAccountName`,
    /// `status.podIP`, `status.hostIP`).
    ///
    /// # Errors
    /// A `volumeMount` naming a volume missing from `volumes`, an invalid or
    /// escaping `subPath`, an invalid propagation mode.
    ///
    /// [`setup`]: VolumeManager::setup
    pub fn mounts(
        &self,
        pod: &Pod,
        container: &Container,
        volumes: &BTreeMap<String, PathBuf>,
    ) -> Result<Vec<cri::v1::Mount>, VolumeError> {
        let env = container_mounts::pod_level_env(pod, container);
        self.mounts_with_env(pod, container, volumes, &env)
    }

    /// [`mounts`](VolumeManager::mounts) with the container's fully
    /// resolved environment for `subPathExpr`.
    pub fn mounts_with_env(
        &self,
        pod: &Pod,
        container: &Container,
        volumes: &BTreeMap<String, PathBuf>,
        env: &BTreeMap<String, String>,
    ) -> Result<Vec<cri::v1::Mount>, VolumeError> {
        container_mounts::make_mounts(pod, container, volumes, env)
    }

    /// Removes everything the pod had on this node: unmounts every mount
    /// below its directory (tmpfs volumes), then deletes the directory.
    /// A pod without a directory is fine.
    ///
    /// # Guarantees
    /// Never deletes outside `<root>/pods/<uid>`: hostPath volumes are not
    /// there, symlinks are removed rather than followed, and nothing is
    /// deleted while anything below the directory is still a mount point.
    ///
    /// # Errors
    /// [`VolumeError::StillMounted`] when a mount cannot be undone (a
    /// container still uses it); retry later.
    pub fn teardown(&self, pod_uid: &str) -> Result<(), VolumeError> {
        validate_uid(pod_uid)?;
        let pod_dir = self.pod_dir(pod_uid);
        match fs::symlink_metadata(&pod_dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(VolumeError::io("stat", pod_dir, e)),
            Ok(meta) if !meta.is_dir() => {
                // Not something we made; drop the entry, never its target.
                return fs::remove_file(&pod_dir)
                    .map_err(|e| VolumeError::io("remove", pod_dir, e));
            }
            Ok(_) => {}
        }
        mount_point::unmount_all_below(&pod_dir)?;
        mount_point::ensure_single_filesystem(&pod_dir)?;
        fs::remove_dir_all(&pod_dir)
            .map_err(|e| VolumeError::io("remove directory", &pod_dir, e))?;
        tracing::debug!(pod_uid, "pod directory removed");
        Ok(())
    }

    /// UIDs of the pods that have a directory under `<root>/pods`, sorted.
    pub fn pod_dirs(&self) -> Result<Vec<String>, VolumeError> {
        let pods = self.root.join("pods");
        let entries = match fs::read_dir(&pods) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(VolumeError::io("read directory", pods, e)),
        };
        let mut uids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| VolumeError::io("read directory", &pods, e))?;
            let is_dir = entry
                .file_type()
                .map_err(|e| VolumeError::io("stat", entry.path(), e))?
                .is_dir();
            if let (true, Some(name)) = (is_dir, entry.file_name().to_str()) {
                uids.push(name.to_string());
            }
        }
        uids.sort();
        Ok(uids)
    }
}

/// A file mode from the API (decimal in JSON, e.g. 420) as permission bits,
/// or `default` when unset. Validation keeps it within 0..=0o777; anything
/// beyond is masked rather than trusted.
pub(crate) fn mode_bits(mode: Option<i32>, default: u32) -> u32 {
    mode.map_or(default, |m| m as u32 & 0o777)
}

/// A pod UID becomes a directory name: it must be exactly one component.
fn validate_uid(uid: &str) -> Result<(), VolumeError> {
    if uid.is_empty() || uid == "." || uid == ".." || uid.contains('/') || uid.contains('\0') {
        return Err(VolumeError::InvalidPodUid(uid.to_string()));
    }
    Ok(())
}

/// Pod directories are 0750, as upstream: only root (and the group) may
/// look at which volumes a pod has.
fn create_private_dir(dir: &Path) -> Result<(), VolumeError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)
        .map_err(|e| VolumeError::io("create directory", dir, e))
}

/// The JSON name of a volume's source, for error messages.
fn source_kind(volume: &Volume) -> &'static str {
    if volume.persistent_volume_claim.is_some() {
        "persistentVolumeClaim"
    } else if volume.nfs.is_some() {
        "nfs"
    } else if volume.rbd.is_some() {
        "rbd"
    } else if volume.glusterfs.is_some() {
        "glusterfs"
    } else if volume.csi.is_some() {
        "csi"
    } else if volume.image.is_some() {
        "image"
    } else {
        "(none)"
    }
}
