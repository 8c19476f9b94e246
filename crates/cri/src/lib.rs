//! # cri: the Container Runtime Interface, as oxkube's kubelet speaks it
//!
//! The kubelet never starts a process itself. It asks a *container runtime*
//! (containerd's CRI plugin, CRI-O, ...) over gRPC to run pod sandboxes and
//! containers, through the two services of the Kubernetes CRI v1 API:
//! `RuntimeService` (sandboxes, containers, exec) and `ImageService`
//! (pull, list, remove images).
//!
//! # Layout
//! - [`v1`]: the message types and tonic clients generated from
//!   `proto/cri/v1/api.proto` (our own description of the subset we use;
//!   field numbers follow the published API so any runtime interoperates).
//! - [`RuntimeService`] / [`ImageService`] ([`service`]): the two traits the
//!   kubelet programs against, mirroring upstream's `internalapi` package.
//! - [`RemoteRuntime`] ([`remote`]): the real thing, a gRPC client over a
//!   unix socket (`--container-runtime-endpoint unix:///run/containerd/containerd.sock`).
//! - [`FakeRuntime`] ([`fake`]): an in-memory runtime for unit tests and
//!   simulated nodes. Containers "run" until a test says they exit.
//! - [`Error`]: what a runtime call can fail with.

pub mod error;
pub mod fake;
pub mod remote;
pub mod service;

/// Types and clients generated from `proto/cri/v1/api.proto` (package
/// `runtime.v1`).
#[allow(clippy::all, missing_docs)]
pub mod v1 {
    tonic::include_proto!("runtime.v1");
}

pub use error::{Error, Result};
pub use fake::FakeRuntime;
pub use remote::RemoteRuntime;
pub use service::{ImageService, RuntimeService};
