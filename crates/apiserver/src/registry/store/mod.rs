//! The generic store: REST semantics for any kind (`registry/generic/registry.Store`).
//!
//! A request's path through here, e.g. `kubectl create -f pod.yaml`:
//! 1. [`codec::decode_body`](super::codec::decode_body) parses and checks
//!    `apiVersion`/`kind`;
//! 2. [`meta::before_create`](super::meta::before_create) sets uid,
//!    creationTimestamp, a generated name;
//! 3. the kind's [`Strategy`] defaults, resets status and validates;
//! 4. the namespace must exist and not be terminating;
//! 5. [`Storage::create`] writes it; the revision becomes `resourceVersion`.
//!
//! Updates go through [`storage::guaranteed_update`]: read, change, write only
//! if nobody wrote in between (optimistic concurrency on `resourceVersion`).
//!
//! - [`read`]: get, list, watch (lists and watches use the watch cache
//!   where upstream does).
//! - [`write`]: create, update, patch and the status subresource;
//!   [`fields`] keeps `managedFields` on each of them;
//! - [`apply`]: server-side apply.
//! - [`delete`]: graceful deletion, finalizers, preconditions.
//! - [`subresource`]: scale, binding, finalize.

mod apply;
mod delete;
mod fields;
mod read;
mod subresource;
mod write;

use std::sync::Arc;

use api_types::Resource;
use async_trait::async_trait;
use bytes::Bytes;
use storage::Storage;

use super::codec::{decode_stored, encode, stored_to_response, with_stored_revision};
use super::namespaces::NamespaceGate;
use super::strategy::Strategy;
use super::{
    DeleteQuery, ListParams, PatchType, Reply, RequestScope, ResourceInfo, RestStorage, WatchBody,
};
use crate::cacher::{CachedObject, Cacher, CacherConfig, DecodeFn, Known};
use crate::error::{ApiError, GroupResource, Result};

/// REST storage for kind `K`.
pub struct Store<K: Resource> {
    info: ResourceInfo,
    gr: GroupResource,
    /// `/registry/<plural>/`
    prefix: String,
    storage: Arc<dyn Storage>,
    strategy: Arc<dyn Strategy<K>>,
    cacher: Cacher,
    /// Checks that the namespace of a new object exists (namespaced kinds).
    namespaces: Option<NamespaceGate>,
}

impl<K: Resource> Store<K> {
    /// Builds the store and starts its watch cache.
    pub fn new(
        storage: Arc<dyn Storage>,
        strategy: Arc<dyn Strategy<K>>,
        info: ResourceInfo,
        cacher_config: CacherConfig,
        namespaces: Option<NamespaceGate>,
    ) -> Self {
        let prefix = format!("/registry/{}/", info.plural);
        let decode = decoder(strategy.clone());
        let cacher_config = CacherConfig {
            indexed_field: strategy.watch_index(),
            ..cacher_config
        };
        let cacher = Cacher::start(storage.clone(), prefix.clone(), decode, cacher_config);
        Store {
            gr: info.group_resource(),
            info,
            prefix,
            storage,
            strategy,
            cacher,
            namespaces,
        }
    }

    pub fn cacher(&self) -> &Cacher {
        &self.cacher
    }

    /// The storage key of an object: `/registry/pods/default/web`.
    fn key(&self, namespace: Option<&str>, name: &str) -> Result<String> {
        // A name that could escape its key range (`a/b`) names nothing.
        if name.is_empty() || name.contains('/') {
            return Err(self.not_found(name));
        }
        Ok(match (K::NAMESPACED, namespace) {
            (true, Some(ns)) => format!("{}{ns}/{name}", self.prefix),
            (true, None) => {
                return Err(ApiError::BadRequest(
                    "namespace is required for this resource".into(),
                ));
            }
            (false, _) => format!("{}{name}", self.prefix),
        })
    }

    fn not_found(&self, name: &str) -> ApiError {
        ApiError::NotFound {
            resource: self.gr.clone(),
            name: name.into(),
        }
    }

    fn storage_err(&self, name: &str) -> impl Fn(storage::StorageError) -> ApiError + '_ {
        let name = name.to_string();
        move |e| ApiError::from_storage(e, &self.gr, &name)
    }

    fn invalid(&self, name: &str, causes: Vec<crate::error::FieldError>) -> ApiError {
        ApiError::Invalid {
            group: K::GROUP.into(),
            kind: K::KIND.into(),
            name: name.into(),
            causes,
        }
    }

    /// Reads the current object.
    async fn load(&self, key: &str, name: &str) -> Result<(K, storage::KeyValue)> {
        let kv = self
            .storage
            .get(key)
            .await
            .map_err(self.storage_err(name))?;
        Ok((decode_stored(&kv)?, kv))
    }

    fn reply(&self, code: http::StatusCode, obj: &K) -> Result<Reply> {
        Ok(Reply {
            code,
            body: encode(obj)?,
        })
    }
}

impl<K: Resource> Store<K> {
    /// What the watch cache needs of `obj`, about to be stored as `value`.
    fn known(&self, obj: &K, value: Bytes) -> Known {
        let meta = obj.metadata();
        Known {
            value,
            name: meta.name.clone(),
            namespace: meta.namespace.clone(),
            labels: meta.labels.clone(),
            fields: self.strategy.fields(obj),
        }
    }
}

/// Builds the cache's decoder for `K`.
fn decoder<K: Resource>(strategy: Arc<dyn Strategy<K>>) -> DecodeFn {
    Arc::new(move |kv| {
        let obj: K = decode_stored(kv)?;
        let json = match with_stored_revision(&kv.value, kv.mod_revision) {
            Some(json) => json,
            None => encode(&obj)?,
        };
        let meta = obj.metadata();
        Ok(CachedObject::new(
            kv.key.clone(),
            meta.name.clone(),
            meta.namespace.clone(),
            kv.mod_revision,
            json,
            meta.labels.clone(),
            strategy.fields(&obj),
        ))
    })
}

#[async_trait]
impl<K: Resource> RestStorage for Store<K> {
    fn info(&self) -> &ResourceInfo {
        &self.info
    }

    async fn create(&self, scope: &RequestScope, body: &[u8]) -> Result<Reply> {
        self.create_object(scope, body).await
    }

    async fn get(&self, scope: &RequestScope, name: &str) -> Result<Reply> {
        let key = self.key(scope.namespace.as_deref(), name)?;
        let kv = self
            .storage
            .get(&key)
            .await
            .map_err(self.storage_err(name))?;
        Ok(Reply::ok(stored_to_response::<K>(
            &kv.value,
            kv.mod_revision,
        )?))
    }

    async fn list(&self, scope: &RequestScope, params: &ListParams) -> Result<Reply> {
        self.list_objects(scope, params).await
    }

    async fn watch(&self, scope: &RequestScope, params: &ListParams) -> Result<WatchBody> {
        self.watch_objects(scope, params).await
    }

    async fn update(&self, scope: &RequestScope, name: &str, body: &[u8]) -> Result<Reply> {
        self.update_object(scope, name, body, write::Mode::Main)
            .await
    }

    async fn patch(
        &self,
        scope: &RequestScope,
        name: &str,
        kind: PatchType,
        body: &[u8],
    ) -> Result<Reply> {
        self.patch_object(scope, name, kind, body, write::Mode::Main)
            .await
    }

    async fn delete(
        &self,
        scope: &RequestScope,
        name: &str,
        body: &[u8],
        query: &DeleteQuery,
    ) -> Result<Reply> {
        self.delete_object(scope, name, body, query).await
    }

    async fn delete_collection(
        &self,
        scope: &RequestScope,
        params: &ListParams,
        body: &[u8],
        query: &DeleteQuery,
    ) -> Result<Reply> {
        self.delete_objects(scope, params, body, query).await
    }

    async fn get_subresource(&self, scope: &RequestScope, name: &str, sub: &str) -> Result<Reply> {
        match sub {
            "status" if self.strategy.has_status() => self.get(scope, name).await,
            "scale" => self.get_scale(scope, name).await,
            _ => Err(ApiError::NotFoundPath),
        }
    }

    async fn update_subresource(
        &self,
        scope: &RequestScope,
        name: &str,
        sub: &str,
        body: &[u8],
    ) -> Result<Reply> {
        match sub {
            "status" if self.strategy.has_status() => {
                self.update_object(scope, name, body, write::Mode::Status)
                    .await
            }
            "scale" => self.update_scale(scope, name, body).await,
            "finalize" => self.finalize(scope, name, body).await,
            _ => Err(ApiError::NotFoundPath),
        }
    }

    async fn patch_subresource(
        &self,
        scope: &RequestScope,
        name: &str,
        sub: &str,
        kind: PatchType,
        body: &[u8],
    ) -> Result<Reply> {
        match sub {
            "status" if self.strategy.has_status() => {
                self.patch_object(scope, name, kind, body, write::Mode::Status)
                    .await
            }
            "scale" => self.patch_scale(scope, name, kind, body).await,
            _ => Err(ApiError::NotFoundPath),
        }
    }

    async fn create_subresource(
        &self,
        scope: &RequestScope,
        name: &str,
        sub: &str,
        body: &[u8],
    ) -> Result<Reply> {
        match sub {
            "binding" => self.bind(scope, name, body).await,
            _ => Err(ApiError::NotFoundPath),
        }
    }
}
