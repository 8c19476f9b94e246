//! What the node module can fail with: reading the host, parsing the
//! configuration, or talking to the apiserver.
//!
//! Host and configuration errors are fatal at start-up (the kubelet cannot
//! describe its node); apiserver errors are retried by the loops that hit
//! them and only surface from one-shot calls such as [`super::register`].

use std::path::PathBuf;

use api_types::quantity::QuantityError;

/// An error of the node module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A host file (`/proc/meminfo`, `/etc/os-release` ...) could not be read.
    #[error("cannot read {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A host file was read but did not contain what it should.
    #[error("cannot find {what} in {}", .path.display())]
    Parse { path: PathBuf, what: &'static str },
    /// `statvfs(2)` on the kubelet's root directory failed.
    #[error("cannot stat the filesystem of {}", .path.display())]
    Statvfs {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    /// `uname(2)` failed (it practically cannot).
    #[error("cannot read the kernel version")]
    Uname(#[source] nix::Error),
    /// An `--eviction-hard` entry that is not `<signal><<quantity or percent>`.
    #[error("invalid eviction threshold {entry:?}: {why}")]
    Threshold { entry: String, why: &'static str },
    /// A `--system-reserved` / `--kube-reserved` value that is not a quantity.
    #[error("invalid {what} quantity {key}={value:?}")]
    Reserved {
        what: &'static str,
        key: String,
        value: String,
        #[source]
        source: QuantityError,
    },
    /// Registration failed with an error retrying cannot fix (the apiserver
    /// rejected the Node as invalid).
    #[error("cannot register node {node}")]
    Register {
        node: String,
        #[source]
        source: client::Error,
    },
    /// The Node could not be read back.
    #[error("cannot get node {node}")]
    GetNode {
        node: String,
        #[source]
        source: client::Error,
    },
    /// The `nodes/<name>/status` patch failed.
    #[error("cannot update the status of node {node}")]
    UpdateStatus {
        node: String,
        #[source]
        source: client::Error,
    },
    /// Creating, reading or updating the node's Lease failed.
    #[error("cannot renew the lease of node {node}")]
    Lease {
        node: String,
        #[source]
        source: client::Error,
    },
    /// Every update of the Lease in one round hit a conflict.
    #[error("the lease of node {node} changed under us {tries} times in a row")]
    LeaseConflicts { node: String, tries: u32 },
}

/// A result with the node module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
