//! Typed storage errors. The apiserver maps each to a Kubernetes `Status` in
//! exactly one place (`apiserver::error`).

use crate::Revision;

/// What can go wrong talking to the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The key does not exist (or was deleted).
    #[error("key not found: {key}")]
    NotFound { key: String },

    /// `create` on a key that exists.
    #[error("key already exists: {key}")]
    AlreadyExists { key: String },

    /// A conditional write saw a different revision than it expected.
    #[error("revision mismatch on {key}: expected {expected}, found {actual}")]
    Conflict {
        key: String,
        expected: Revision,
        actual: Revision,
    },

    /// The requested revision was compacted away; history before `compacted`
    /// is gone. Watchers must re-list.
    #[error("required revision {requested} has been compacted (oldest available is {compacted})")]
    Expired {
        requested: Revision,
        compacted: Revision,
    },

    /// The revision asked for is newer than the store has.
    #[error("revision {requested} is in the future (current is {current})")]
    FutureRevision {
        requested: Revision,
        current: Revision,
    },

    /// The backend could not be reached or failed; the request may be retried.
    #[error("storage unavailable: {0}")]
    Unavailable(String),

    /// Stored data is unusable (a bug or corruption, never a client mistake).
    #[error("storage internal error: {0}")]
    Internal(String),
}

impl StorageError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, StorageError::NotFound { .. })
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, StorageError::Conflict { .. })
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;
