//! What setting up, mounting or tearing down a pod's volumes can fail with.
//!
//! Messages that users meet in pod events (`kubectl describe pod`) are
//! upstream's, word for word, so that searching the web for them finds the
//! Kubernetes documentation and answers that apply here too.

use std::fmt;
use std::path::PathBuf;

use api_types::quantity::QuantityError;

/// Errors of the [`volume`](super) module.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// A filesystem call failed; `op` says what we were doing.
    #[error("{op} {}: {source}", .path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// One volume of the pod failed; wraps the cause with the volume's name,
    /// in the shape of upstream's `FailedMount` event message.
    #[error("MountVolume.SetUp failed for volume \"{volume}\" : {source}")]
    SetUp {
        volume: String,
        #[source]
        source: Box<VolumeError>,
    },

    /// Several things failed at once (Go's `utilerrors.NewAggregate`).
    #[error("{}", Aggregate(.0))]
    Multiple(Vec<VolumeError>),

    // ---- hostPath ----
    /// `hostPath.path` contains a `..` element.
    #[error("invalid HostPath `{0}`: must not contain '..'")]
    HostPathBacksteps(String),
    /// `hostPath.type` is not one of the known types.
    #[error("{0} is an invalid volume type")]
    InvalidHostPathType(String),
    /// A checked hostPath type (other than the `...OrCreate` ones) on a path
    /// that does not exist.
    #[error("hostPath {0} doesn't exist")]
    HostPathMissing(String),
    /// The path exists but is something else than `type` asks for.
    #[error("hostPath type check failed: {path} is not a {expected}, it's a {actual}")]
    HostPathType {
        path: String,
        expected: &'static str,
        actual: &'static str,
    },
    /// The path exists but is neither of the five types a hostPath can check
    /// (a FIFO, say).
    #[error(
        "hostPath type check failed, {path} is not a {expected}, unable to determine its type: only recognise file, directory, socket, block device and character device"
    )]
    HostPathUnknownType {
        path: String,
        expected: &'static str,
    },

    // ---- emptyDir ----
    /// `emptyDir.medium` other than `""` and `Memory` (hugepages are not
    /// supported here).
    #[error("unknown storage medium \"{0}\"")]
    UnknownMedium(String),
    /// A quantity of the pod spec (`sizeLimit`, a divisor, a resource) does
    /// not parse.
    #[error("invalid quantity {what} \"{value}\": {source}")]
    Quantity {
        what: &'static str,
        value: String,
        #[source]
        source: QuantityError,
    },
    /// The volume directory is already a mount point of another kind than the
    /// tmpfs we would mount there.
    #[error("{} is already a mount point, but not a tmpfs", .0.display())]
    NotTmpfs(PathBuf),

    // ---- configMap, secret, projected ----
    #[error("configmap \"{0}\" not found")]
    ConfigMapNotFound(String),
    #[error("secret \"{0}\" not found")]
    SecretNotFound(String),
    #[error("configmap references non-existent config key: {0}")]
    ConfigMapKeyMissing(String),
    #[error("references non-existent secret key: {0}")]
    SecretKeyMissing(String),
    /// A file path of a projection (an item's `path`) that the atomic writer
    /// refuses; the reason is upstream's text.
    #[error("invalid path: {0}")]
    InvalidFilePath(String),
    /// The volume directory holds something the atomic writer did not make.
    #[error("unexpected {what} in {}", .dir.display())]
    Corrupt { what: String, dir: PathBuf },

    // ---- downward API ----
    #[error("unsupported fieldPath: {0}")]
    UnsupportedFieldPath(String),
    /// Upstream's message, odd space included.
    #[error("unsupported container resource : {0}")]
    UnsupportedResource(String),
    #[error("container {0} not found")]
    ContainerNotFound(String),
    /// `limits.<resource>` of a container without that limit: upstream uses
    /// the node's allocatable amount, which this manager was not given.
    #[error(
        "container {container} has no {resource} limit and the node's allocatable {resource} is unknown"
    )]
    NoAllocatable { container: String, resource: String },

    // ---- container mounts ----
    #[error("cannot find volume \"{volume}\" to mount into container \"{container}\"")]
    VolumeNotFound { volume: String, container: String },
    #[error("error SubPath `{0}` must not be an absolute path")]
    AbsoluteSubPath(String),
    #[error("unable to provision SubPath `{0}`: must not contain '..'")]
    SubPathBacksteps(String),
    /// The subPath directory could not be made; details only in the log, as
    /// upstream, so that a pod cannot probe the node's filesystem.
    #[error(
        "failed to create subPath directory for volumeMount \"{mount}\" of container \"{container}\""
    )]
    SubPathCreate { mount: String, container: String },
    /// The subPath resolves (through a symlink) outside its volume.
    #[error("failed to prepare subPath for volumeMount \"{mount}\" of container \"{container}\"")]
    SubPathEscapes { mount: String, container: String },
    /// `subPathExpr` names variables the container does not define.
    #[error("missing value for {0}")]
    MissingEnv(String),
    #[error("invalid MountPropagation mode: \"{0}\"")]
    InvalidPropagation(String),
    #[error("failed to resolve recursive read-only mode: {0}")]
    RecursiveReadOnly(String),
    /// A volume source this kubelet cannot set up (`persistentVolumeClaim`,
    /// `nfs`, `csi`, ...), or a volume without any source.
    #[error("volume \"{volume}\": unsupported volume source {source_kind}")]
    Unsupported { volume: String, source_kind: String },

    // ---- teardown ----
    /// A pod UID that cannot be a single directory name.
    #[error("invalid pod uid \"{0}\"")]
    InvalidPodUid(String),
    /// Something is still mounted below the pod directory after unmounting,
    /// so removing it could delete data that is not the pod's.
    #[error("refusing to remove {}: {} is still a mount point", .pod_dir.display(), .mount_point.display())]
    StillMounted {
        pod_dir: PathBuf,
        mount_point: PathBuf,
    },
}

impl VolumeError {
    /// Shorthand for [`VolumeError::Io`].
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        VolumeError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Folds a list of errors the way Go's `NewAggregate` does: none is
    /// success, one is itself, more become [`VolumeError::Multiple`].
    pub(crate) fn aggregate(mut errors: Vec<VolumeError>) -> Result<(), VolumeError> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(VolumeError::Multiple(errors)),
        }
    }
}

/// Prints a list of errors as Go's aggregate does: `[a, b]`.
struct Aggregate<'a>(&'a [VolumeError]);

impl fmt::Display for Aggregate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{e}")?;
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_is_go_like() {
        assert!(VolumeError::aggregate(vec![]).is_ok());
        let one = VolumeError::aggregate(vec![VolumeError::ConfigMapNotFound("a".into())]);
        assert_eq!(
            one.err().map(|e| e.to_string()).as_deref(),
            Some("configmap \"a\" not found")
        );
        let two = VolumeError::aggregate(vec![
            VolumeError::ConfigMapNotFound("a".into()),
            VolumeError::SecretNotFound("b".into()),
        ]);
        assert_eq!(
            two.err().map(|e| e.to_string()).as_deref(),
            Some("[configmap \"a\" not found, secret \"b\" not found]")
        );
    }

    #[test]
    fn setup_failure_reads_like_an_upstream_event() {
        let e = VolumeError::SetUp {
            volume: "config".into(),
            source: Box::new(VolumeError::ConfigMapKeyMissing("k".into())),
        };
        assert_eq!(
            e.to_string(),
            "MountVolume.SetUp failed for volume \"config\" : configmap references non-existent config key: k"
        );
    }
}
