//! Errors of CRI calls.

/// What a call to the container runtime can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The endpoint is not a `unix://` socket path we can dial.
    #[error("invalid container runtime endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint { endpoint: String, reason: String },
    /// The runtime's socket could not be reached.
    #[error("cannot connect to the container runtime at {endpoint}: {source}")]
    Connect {
        endpoint: String,
        #[source]
        source: tonic::transport::Error,
    },
    /// The runtime answered with a gRPC error.
    #[error("{op}: {}", .status.message())]
    Status {
        op: &'static str,
        #[source]
        status: tonic::Status,
    },
    /// The runtime answered without a field the CRI promises.
    #[error("{op}: runtime's answer has no {field}")]
    Missing {
        op: &'static str,
        field: &'static str,
    },
}

impl Error {
    /// The object named in the call does not exist in the runtime (gRPC
    /// `NotFound`). Stopping or removing something already gone is success
    /// for the kubelet.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Status { status, .. } if status.code() == tonic::Code::NotFound)
    }

    /// The gRPC code of a runtime answer, if this is one.
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            Error::Status { status, .. } => Some(status.code()),
            _ => None,
        }
    }

    pub(crate) fn status(op: &'static str, status: tonic::Status) -> Self {
        Error::Status { op, status }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
