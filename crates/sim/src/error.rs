//! What starting or stopping the simulator can fail with. Once running,
//! failed writes are logged, counted in [`crate::SimStats`] and retried:
//! a real kubelet does not exit when the apiserver hiccups either.

/// Errors of [`crate::Simulator`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The [`crate::SimConfig`] cannot work (bad quantity, label, CIDR ...).
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    /// A node could not be registered (or its Lease created).
    #[error("cannot register node {node}")]
    Register {
        node: String,
        #[source]
        source: client::Error,
    },
    /// A node or its Lease could not be deleted.
    #[error("cannot delete node {node}")]
    Delete {
        node: String,
        #[source]
        source: client::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
