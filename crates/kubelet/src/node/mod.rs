//! The kubelet's `Node`: registration, status from real host signals,
//! status updates, and the heartbeat `Lease`.
//!
//! A node joins a cluster by creating its `Node` object, then keeps two
//! things fresh: the Node's status (capacity, conditions, versions) and a
//! small `Lease` whose renewals say "this kubelet is alive". Upstream keeps
//! this in `pkg/kubelet/kubelet_node_status.go`, `pkg/kubelet/nodestatus`
//! and `pkg/kubelet/nodelease`; the node simulator (`crates/sim`) writes
//! the same objects for nodes that do not exist.
//!
//! # Layout (decide, then act)
//! - [`host`]: what the machine is ([`HostFacts`]), read by [`LinuxHost`]
//!   behind the [`HostInfo`] trait ([`StaticHost`] in tests).
//! - [`eviction`]: `--eviction-hard` thresholds: when is the node under
//!   memory, disk or PID pressure, and what is held back from pods.
//! - [`status`]: the pure builder: [`NodeConfig`] + [`HostFacts`] +
//!   [`RuntimeFacts`] → the [`Node`](api_types::core::v1::Node) and its
//!   status. Start reading here.
//! - [`register`](mod@register): create the Node, or adopt an existing one.
//! - [`reporter`]: the status loop ([`NodeStatusReporter`]) and the
//!   [`RuntimeProbe`] it asks about the container runtime.
//! - [`lease`]: the heartbeat ([`NodeLease`]).
//!
//! # Start-up order
//! facts → [`node_object`] → [`register()`] (retries until the apiserver
//! answers) → spawn [`NodeStatusReporter::run`] and [`NodeLease::run`] (the
//! Lease needs the Node's uid, known only after registration).

pub mod error;
pub mod eviction;
pub mod host;
pub mod lease;
pub mod register;
pub mod reporter;
pub mod status;

pub use error::{Error, Result};
pub use eviction::{EvictionThresholds, Signal, Threshold};
pub use host::{HostFacts, HostInfo, LinuxHost, StaticHost};
pub use lease::{
    DEFAULT_LEASE_DURATION_SECONDS, DEFAULT_RENEW_INTERVAL, NODE_LEASE_NAMESPACE, NodeLease,
    lease_object, run_lease,
};
pub use register::register;
pub use reporter::{
    CriRuntimeProbe, DEFAULT_REPORT_FREQUENCY, DEFAULT_UPDATE_FREQUENCY, NodeStatusReporter,
    RuntimeProbe, Synced,
};
pub use status::{KUBELET_VERSION, NodeConfig, RuntimeFacts, node_object, node_status};
