//! The namespace lifecycle rule (upstream's `NamespaceLifecycle` admission):
//! objects can only be created in a namespace that exists and is not being
//! deleted.

use std::sync::Arc;

use api_types::core::v1::Namespace;
use storage::{Storage, StorageError};

use super::codec::decode_stored;
use crate::cacher::Cacher;
use crate::error::{ApiError, GroupResource, Result};

/// Checks namespaces for new objects, from the namespaces watch cache with a
/// fallback to storage (the cache may lag a namespace created a moment ago).
#[derive(Clone)]
pub struct NamespaceGate {
    cache: Cacher,
    storage: Arc<dyn Storage>,
}

impl NamespaceGate {
    pub fn new(cache: Cacher, storage: Arc<dyn Storage>) -> Self {
        NamespaceGate { cache, storage }
    }

    /// Allows creating `gr` `name` in `namespace`.
    ///
    /// # Errors
    /// 404 when the namespace does not exist; 403 when it is terminating.
    pub async fn admit(&self, namespace: &str, gr: &GroupResource, name: &str) -> Result<()> {
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
