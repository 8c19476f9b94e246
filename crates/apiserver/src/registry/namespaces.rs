//! The namespace lifecycle rule (upstream's `NamespaceLifecycle` admission):
//! objects can only be created in a namespace that exists and is not being
//! deleted.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use storage::{KeyValue, ListOptions, ListResult, Revision, WatchStream};

use api_types::core::v1::Namespace;
use storage::{Storage, StorageError};

use super::codec::decode_stored;
use crate::cacher::Cacher;
use crate::error::{ApiError, GroupResource, Result};

/// Checks namespaces for new objects, from the namespaces watch cache with a
/// fallback to storage (the cache may lag a namespace created a moment ago).
///
/// # Guarantees
/// Read-your-writes within this apiserver: once a namespace write (create,
/// delete → `Terminating`, removal) has been answered, every later check
/// sees it. The namespaces store writes through a [`WriteTracker`], and a
/// check first waits until the cache has applied the last tracked write
/// (namespace writes are rare, so this almost never waits).
#[derive(Clone)]
pub struct NamespaceGate {
    cache: Cacher,
    storage: Arc<dyn Storage>,
    last_write: Arc<AtomicI64>,
}

impl NamespaceGate {
    pub fn new(cache: Cacher, storage: Arc<dyn Storage>, tracker: &WriteTracker) -> Self {
        NamespaceGate {
            cache,
            storage,
            last_write: tracker.last.clone(),
        }
    }

    /// Allows creating `gr` `name` in `namespace`.
    ///
    /// # Errors
    /// 404 when the namespace does not exist; 403 when it is terminating.
    pub async fn admit(&self, namespace: &str, gr: &GroupResource, name: &str) -> Result<()> {
        let written = self.last_write.load(Ordering::Acquire);
        if self.cache.revision() < written {
            self.cache.wait_fresh(written).await?;
        }
        let key = format!("/registry/namespaces/{namespace}");
        let terminating = match self.cache.get(&key) {
            Some(ns) => ns.field("status.phase") == Some("Terminating"),
            None => match self.storage.get(&key).await {
                Ok(kv) => {
                    let ns: Namespace = decode_stored(&kv)?;
                    ns.metadata.deletion_timestamp.is_some()
                        || ns.status.and_then(|s| s.phase).as_deref() == Some("Terminating")
                }
                Err(StorageError::NotFound { .. }) => {
                    return Err(ApiError::NotFound {
                        resource: GroupResource::new("", "namespaces"),
                        name: namespace.into(),
                    });
                }
                Err(e) => return Err(ApiError::from_storage(e, gr, name)),
            },
        };
        if terminating {
            return Err(ApiError::Forbidden {
                resource: gr.clone(),
                name: name.into(),
                detail: format!(
                    "unable to create new content in namespace {namespace} because it is being terminated"
                ),
                cause: Some((
                    "NamespaceTerminating",
                    format!("namespace {namespace} is being terminated"),
                )),
            });
        }
        Ok(())
    }
}

/// A [`Storage`] decorator that remembers the revision of the last write made
/// through it (see [`NamespaceGate`]).
pub struct WriteTracker {
    inner: Arc<dyn Storage>,
    last: Arc<AtomicI64>,
}

impl WriteTracker {
    pub fn new(inner: Arc<dyn Storage>) -> Self {
        WriteTracker {
            inner,
            last: Arc::new(AtomicI64::new(0)),
        }
    }

    fn note<T>(
        &self,
        result: storage::Result<T>,
        revision: impl Fn(&T) -> Revision,
    ) -> storage::Result<T> {
        if let Ok(v) = &result {
            self.last.fetch_max(revision(v), Ordering::AcqRel);
        }
        result
    }
}

#[async_trait]
impl Storage for WriteTracker {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn create(&self, key: &str, value: Bytes) -> storage::Result<KeyValue> {
        self.note(self.inner.create(key, value).await, |kv| kv.mod_revision)
    }
    async fn get(&self, key: &str) -> storage::Result<KeyValue> {
        self.inner.get(key).await
    }
    async fn list(&self, prefix: &str, opts: ListOptions) -> storage::Result<ListResult> {
        self.inner.list(prefix, opts).await
    }
    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected: Revision,
    ) -> storage::Result<KeyValue> {
        self.note(self.inner.update(key, value, expected).await, |kv| {
            kv.mod_revision
        })
    }
    async fn delete(
        &self,
        key: &str,
        expected: Option<Revision>,
    ) -> storage::Result<(KeyValue, Revision)> {
        self.note(self.inner.delete(key, expected).await, |(_, rev)| *rev)
    }
    async fn watch(&self, prefix: &str, after: Revision) -> storage::Result<WatchStream> {
        self.inner.watch(prefix, after).await
    }
    async fn current_revision(&self) -> storage::Result<Revision> {
        self.inner.current_revision().await
    }
    async fn compact(&self, revision: Revision) -> storage::Result<()> {
        self.inner.compact(revision).await
    }
}
