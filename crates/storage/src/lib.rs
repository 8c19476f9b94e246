//! # storage: the apiserver's view of its database
//!
//! Kubernetes keeps every object in etcd, a key-value store with a global
//! revision counter, conditional writes and watches. This crate puts that
//! contract behind one trait, [`Storage`], with two backends:
//!
//! - [`EtcdStorage`]: a real etcd cluster (`kube-apiserver --etcd-servers`).
//! - [`SqliteStorage`]: an embedded, durable SQLite file, the zero-setup
//!   default (as k3s does).
//!
//! Only the apiserver uses this crate; every other component goes through the
//! apiserver.
//!
//! # Layout
//! - [`interface`]: the trait, keys/values/revisions/events, and
//!   [`guaranteed_update`] (optimistic concurrency with retries).
//! - [`error`]: typed errors (`NotFound`, `AlreadyExists`, `Conflict`,
//!   `Expired`, ...).
//! - [`etcd`] and [`sqlite`]: the backends.
//! - [`compactor`]: periodic compaction of old revisions.
//!
//! One test suite (`tests/suite`) runs against both backends.

pub mod compactor;
pub mod error;
pub mod etcd;
pub mod interface;
pub mod sqlite;

pub use error::{Result, StorageError};
pub use etcd::EtcdStorage;
pub use interface::{
    Event, KeyValue, ListOptions, ListResult, Revision, Storage, Update, Updated, WatchResponse,
    WatchStream, guaranteed_update,
};
pub use sqlite::SqliteStorage;
