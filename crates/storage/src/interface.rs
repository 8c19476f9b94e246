//! The storage interface: what the apiserver needs from a key-value store.
//!
//! This mirrors `k8s.io/apiserver/pkg/storage.Interface` one level down: the
//! apiserver works with typed objects, this trait with keys, bytes and
//! revisions. Every write bumps one global, monotonically increasing
//! **revision**; an object's `metadata.resourceVersion` is the revision at
//! which it last changed (etcd's `mod_revision`). Clients treat it as opaque.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::error::{Result, StorageError};

/// A point in the store's history. Revision 0 means "before anything".
pub type Revision = i64;

/// One stored value and the revision it was written at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Bytes,
    /// Revision of the last write to this key.
    pub mod_revision: Revision,
}

/// A change seen by a watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The key was created (`prev` is `None`) or overwritten.
    Put {
        kv: KeyValue,
        prev: Option<KeyValue>,
    },
    /// The key was deleted at `revision`; `prev` is its last value.
    Delete {
        key: String,
        revision: Revision,
        prev: KeyValue,
    },
}

impl Event {
    /// The revision this change happened at.
    pub fn revision(&self) -> Revision {
        match self {
            Event::Put { kv, .. } => kv.mod_revision,
            Event::Delete { revision, .. } => *revision,
        }
    }

    pub fn key(&self) -> &str {
        match self {
            Event::Put { kv, .. } => &kv.key,
            Event::Delete { key, .. } => key,
        }
    }
}

/// How to list a key range.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// At most this many items (`None` = all).
    pub limit: Option<usize>,
    /// Start strictly after this key (the continuation of a previous page).
    pub start_after: Option<String>,
    /// Read the range as of this revision (`None` = latest). Pages of one
    /// paginated list all use the first page's revision, so they are one
    /// consistent snapshot.
    pub revision: Option<Revision>,
}

/// A page of a list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListResult {
    pub kvs: Vec<KeyValue>,
    /// The revision the list was read at.
    pub revision: Revision,
    /// Whether more keys follow the last one returned.
    pub more: bool,
    /// How many keys follow, when the backend knows cheaply.
    pub remaining: Option<i64>,
}

/// One message on a watch stream: the events of one or more revisions, in
/// order, or (when `events` is empty) a progress notification saying "you
/// have seen everything up to `revision`".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchResponse {
    pub events: Vec<Event>,
    pub revision: Revision,
}

/// A live watch. Dropping it cancels the watch.
///
/// # Guarantees
/// Events arrive in revision order, each exactly once, starting after the
/// revision the watch was opened at. A progress notification's revision is
/// never below an event already delivered.
///
/// # Errors
/// The stream yields `Err(StorageError::Expired)` when the start revision was
/// compacted, and `Err(StorageError::Unavailable)` when the backend is lost;
/// both end the stream.
pub struct WatchStream {
    pub(crate) events: mpsc::Receiver<Result<WatchResponse>>,
    pub(crate) progress: mpsc::Sender<()>,
}

impl WatchStream {
    /// The next batch of events, or `None` when the watch has ended.
    pub async fn recv(&mut self) -> Option<Result<WatchResponse>> {
        self.events.recv().await
    }

    /// Asks the backend for a progress notification (an empty
    /// [`WatchResponse`] carrying the current revision). Used by the watch
    /// cache to learn that it is up to date even when nothing in its key range
    /// changed.
    pub fn request_progress(&self) {
        // A full queue already holds a pending request: nothing to add.
        let _ = self.progress.try_send(());
    }

    /// Builds a stream and the two channel ends a backend feeds.
    pub(crate) fn channel() -> (
        Self,
        mpsc::Sender<Result<WatchResponse>>,
        mpsc::Receiver<()>,
    ) {
        let (events_tx, events_rx) = mpsc::channel(1024);
        let (progress_tx, progress_rx) = mpsc::channel(1);
        (
            WatchStream {
                events: events_rx,
                progress: progress_tx,
            },
            events_tx,
            progress_rx,
        )
    }
}

/// The store behind the apiserver.
///
/// Implemented by [`crate::EtcdStorage`] and [`crate::SqliteStorage`]; one
/// test suite (`tests/suite`) runs against both.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// A short name for logs and metrics (`etcd`, `sqlite`).
    fn backend(&self) -> &'static str;

    /// Creates `key`.
    ///
    /// # Errors
    /// [`StorageError::AlreadyExists`] if the key exists.
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue>;

    /// Reads the latest value of `key`.
    ///
    /// # Errors
    /// [`StorageError::NotFound`] if it does not exist.
    async fn get(&self, key: &str) -> Result<KeyValue>;

    /// Lists keys starting with `prefix`, in key order.
    ///
    /// # Errors
    /// [`StorageError::Expired`] if `opts.revision` was compacted.
    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult>;

    /// Replaces `key` if its `mod_revision` is still `expected` (compare and swap).
    ///
    /// # Errors
    /// [`StorageError::NotFound`] or [`StorageError::Conflict`].
    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<KeyValue>;

    /// Deletes `key`, only if its `mod_revision` is `expected` when given.
    /// Returns the last value and the revision of the deletion.
    ///
    /// # Errors
    /// [`StorageError::NotFound`] or [`StorageError::Conflict`].
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(KeyValue, Revision)>;

    /// Watches every key under `prefix` for changes after revision `after`.
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream>;

    /// The newest revision of the whole store.
    async fn current_revision(&self) -> Result<Revision>;

    /// Forgets history up to and including `revision`: older versions can no
    /// longer be read or watched.
    async fn compact(&self, revision: Revision) -> Result<()>;
}

/// What an update closure decides to do with the current value.
#[derive(Debug)]
pub enum Update {
    /// Write this value.
    Put(Bytes),
    /// Leave the stored value as it is.
    Unchanged,
    /// Delete the key (e.g. the last finalizer of a deleted object went away).
    Delete,
}

/// Outcome of [`guaranteed_update`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Updated {
    /// The value now stored.
    Put(KeyValue),
    /// The closure chose not to write; this is the current value.
    Unchanged(KeyValue),
    /// The key was deleted; its last value and the deletion revision.
    Deleted(KeyValue, Revision),
}

/// Read-modify-write with retries: reads `key`, passes the current value to
/// `decide`, writes the result conditionally on the revision it read, and
/// starts over when another writer got there first. This is
/// `GuaranteedUpdate` in Kubernetes' storage interface: optimistic
/// concurrency that never loses an update.
///
/// # Errors
/// Whatever `decide` returns; [`StorageError::NotFound`] (converted into `E`)
/// if the key is missing.
pub async fn guaranteed_update<E, F>(
    store: &dyn Storage,
    key: &str,
    mut decide: F,
) -> Result<Updated, E>
where
    E: From<StorageError>,
    F: FnMut(&KeyValue) -> Result<Update, E>,
{
    let mut backoff = Duration::from_millis(1);
    loop {
        let current = store.get(key).await?;
        let outcome = match decide(&current)? {
            Update::Unchanged => return Ok(Updated::Unchanged(current)),
            Update::Put(value) if value == current.value => return Ok(Updated::Unchanged(current)),
            Update::Put(value) => store
                .update(key, value, current.mod_revision)
                .await
                .map(Updated::Put),
            Update::Delete => store
                .delete(key, Some(current.mod_revision))
                .await
                .map(|(prev, rev)| Updated::Deleted(prev, rev)),
        };
        match outcome {
            Err(StorageError::Conflict { .. }) => {
                // Someone else wrote in between: read again and retry. A tiny
                // growing sleep keeps hot keys from live-locking.
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(50));
            }
            other => return other.map_err(E::from),
        }
    }
}

/// The end of the key range that holds every key starting with `prefix`.
pub(crate) fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // Every byte was 0xff: the range is unbounded ("\0" means "to the end" in etcd).
    vec![0]
}

/// Fails with [`StorageError::Expired`] when a read or watch would need
/// history older than the compaction point.
pub(crate) fn check_not_compacted(requested: Revision, compacted: Revision) -> Result<()> {
    if requested < compacted {
        Err(StorageError::Expired {
            requested,
            compacted,
        })
    } else {
        Ok(())
    }
}
