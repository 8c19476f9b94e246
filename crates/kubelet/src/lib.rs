//! # kubelet: the node agent
//!
//! The kubelet is the part of Kubernetes that makes pods real. It watches
//! the apiserver for pods bound to its node (and reads static pod
//! manifests from a directory), and drives a container runtime through the
//! CRI until what runs on the node matches what the pods ask for; then it
//! reports back: the `Node` object and its `Lease`, and every pod's status.
//!
//! # Layout
//! - [`node`]: the `Node` object: registration, capacity, conditions from
//!   host signals, status updates, and the heartbeat `Lease`.
//! - [`container`]: a pod's container spec turned into a CRI
//!   `ContainerConfig`: environment, resources, security context.
//! - [`volume`]: the pod's volumes on disk (emptyDir, hostPath, configMap,
//!   secret, projected, downwardAPI) and the mounts that expose them.

pub mod cni;
pub mod container;
pub mod kubelet;
pub mod metrics;
pub mod node;
pub mod options;
pub mod pod;
pub mod server;
pub mod volume;
