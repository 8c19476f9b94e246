//! Kind-agnostic access to the resources the apiserver serves, for the two
//! controllers that work on *every* kind: the garbage collector and the
//! namespace controller.
//!
//! Upstream they use discovery plus the dynamic and metadata clients. Our
//! client is typed (`Api<K>`), so this module gives each served kind a
//! [`DynKind`]: an object-safe handle built from the typed `Api` over
//! [`Meta<K>`], a view of a `K` that keeps only `apiVersion`, `kind` and
//! `metadata` (upstream's `PartialObjectMetadata`). Decoding a full pod
//! into `Meta<Pod>` drops its spec and status, so the caches stay small.
//!
//! The tables ([`gc_kinds`], [`namespaced_kinds`]) list what the apiserver
//! serves (`crates/apiserver/src/registry/install.rs`); a test compares them
//! with the apiserver's discovery documents so the two cannot drift apart.

use std::marker::PhantomData;
use std::sync::Arc;

use api_types::Resource;
use api_types::apps::v1::{Deployment, ReplicaSet};
use api_types::coordination::v1::Lease;
use api_types::core::v1::{
    ConfigMap, Endpoints, Event, Namespace, Node, Pod, ReplicationController, Secret, Service,
    ServiceAccount,
};
use api_types::discovery::v1::EndpointSlice;
use api_types::meta::v1::{DeleteOptions, ObjectMeta};
use client::{Api, Client, ListParams, Patch, PatchParams};
use futures::future::BoxFuture;
use runtime::informer::{EventHandler, Informer, Synced};
use runtime::reflector::ReflectorConfig;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

/// A `K` with only its type and metadata (upstream's
/// `PartialObjectMetadata`): the URLs and constants are `K`'s, the body is
/// whatever the apiserver sends minus everything but `metadata`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound = "")]
pub struct Meta<K> {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(skip)]
    _kind: PhantomData<fn() -> K>,
}

impl<K> Clone for Meta<K> {
    fn clone(&self) -> Self {
        Meta {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            metadata: self.metadata.clone(),
            _kind: PhantomData,
        }
    }
}

impl<K> Default for Meta<K> {
    fn default() -> Self {
        Meta {
            api_version: String::new(),
            kind: String::new(),
            metadata: ObjectMeta::default(),
            _kind: PhantomData,
        }
    }
}

impl<K> PartialEq for Meta<K> {
    fn eq(&self, other: &Self) -> bool {
        self.api_version == other.api_version
            && self.kind == other.kind
            && self.metadata == other.metadata
    }
}

impl<K> std::fmt::Debug for Meta<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meta")
            .field("api_version", &self.api_version)
            .field("kind", &self.kind)
            .field("metadata", &self.metadata)
            .finish()
    }
}

impl<K: Resource> Resource for Meta<K> {
    const GROUP: &'static str = K::GROUP;
    const VERSION: &'static str = K::VERSION;
    const API_VERSION: &'static str = K::API_VERSION;
    const KIND: &'static str = K::KIND;
    const PLURAL: &'static str = K::PLURAL;
    const SINGULAR: &'static str = K::SINGULAR;
    const NAMESPACED: bool = K::NAMESPACED;
    const SHORT_NAMES: &'static [&'static str] = K::SHORT_NAMES;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
    fn type_meta(&self) -> (&str, &str) {
        (&self.api_version, &self.kind)
    }
    fn set_type_meta(&mut self) {
        K::API_VERSION.clone_into(&mut self.api_version);
        K::KIND.clone_into(&mut self.kind);
    }
}

/// What identifies a kind: upstream's GroupVersionResource plus its kind
/// and scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KindInfo {
    pub group: &'static str,
    pub version: &'static str,
    /// `v1` or `apps/v1`, as in `ownerReferences`.
    pub api_version: &'static str,
    pub kind: &'static str,
    /// The resource name in URLs (`pods`).
    pub resource: &'static str,
    pub namespaced: bool,
}

impl KindInfo {
    pub fn of<K: Resource>() -> KindInfo {
        KindInfo {
            group: K::GROUP,
            version: K::VERSION,
            api_version: K::API_VERSION,
            kind: K::KIND,
            resource: K::PLURAL,
            namespaced: K::NAMESPACED,
        }
    }

    /// Upstream's `GroupVersionResource` `%v`: `/v1, Resource=pods`,
    /// `apps/v1, Resource=replicasets`.
    pub fn gvr(&self) -> String {
        format!(
            "{}/{}, Resource={}",
            self.group, self.version, self.resource
        )
    }
}

/// Told about the objects of one kind as its informer sees them.
pub trait MetaHandler: Send + Sync + 'static {
    /// Added (`old` is `None`) or updated.
    fn upsert(&self, kind: KindInfo, old: Option<&ObjectMeta>, new: &ObjectMeta);
    fn delete(&self, kind: KindInfo, obj: &ObjectMeta);
}

/// One served kind, whatever its Rust type: the verbs the garbage collector
/// and the namespace controller need, on metadata only.
///
/// `ns` is ignored for cluster-scoped kinds.
pub trait DynKind: Send + Sync {
    fn info(&self) -> KindInfo;
    fn get<'a>(&'a self, ns: &'a str, name: &'a str) -> BoxFuture<'a, client::Result<ObjectMeta>>;
    /// Every object of namespace `ns` (all pages).
    fn list<'a>(&'a self, ns: &'a str) -> BoxFuture<'a, client::Result<Vec<ObjectMeta>>>;
    fn delete<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
        opts: &'a DeleteOptions,
    ) -> BoxFuture<'a, client::Result<()>>;
    /// Deletes everything in namespace `ns`.
    fn delete_collection<'a>(
        &'a self,
        ns: &'a str,
        opts: &'a DeleteOptions,
    ) -> BoxFuture<'a, client::Result<()>>;
    fn patch<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
        patch: &'a Patch,
    ) -> BoxFuture<'a, client::Result<ObjectMeta>>;
    /// Starts an informer on the metadata of every object of the kind,
    /// telling `handler`; returns when its first list is cached and the task.
    fn watch(&self, handler: Arc<dyn MetaHandler>) -> (Synced, JoinHandle<()>);
}

/// [`DynKind`] for the Rust type `K`.
pub struct Typed<K> {
    client: Client,
    _kind: PhantomData<fn() -> K>,
}

impl<K: Resource> Typed<K> {
    pub fn handle(client: Client) -> Arc<dyn DynKind> {
        Arc::new(Typed::<K> {
            client,
            _kind: PhantomData,
        })
    }

    fn api(&self, ns: &str) -> Api<Meta<K>> {
        Api::namespaced(self.client.clone(), ns)
    }
}

struct Relay<K> {
    handler: Arc<dyn MetaHandler>,
    _kind: PhantomData<fn() -> K>,
}

impl<K: Resource> EventHandler<Meta<K>> for Relay<K> {
    fn on_add(&self, obj: &Arc<Meta<K>>) {
        self.handler
            .upsert(KindInfo::of::<K>(), None, &obj.metadata);
    }
    fn on_update(&self, old: &Arc<Meta<K>>, new: &Arc<Meta<K>>) {
        self.handler
            .upsert(KindInfo::of::<K>(), Some(&old.metadata), &new.metadata);
    }
    fn on_delete(&self, obj: &Arc<Meta<K>>) {
        self.handler.delete(KindInfo::of::<K>(), &obj.metadata);
    }
}

impl<K: Resource> DynKind for Typed<K> {
    fn info(&self) -> KindInfo {
        KindInfo::of::<K>()
    }

    fn get<'a>(&'a self, ns: &'a str, name: &'a str) -> BoxFuture<'a, client::Result<ObjectMeta>> {
        Box::pin(async move { self.api(ns).get(name).await.map(|o| o.metadata) })
    }

    fn list<'a>(&'a self, ns: &'a str) -> BoxFuture<'a, client::Result<Vec<ObjectMeta>>> {
        Box::pin(async move {
            let list = self.api(ns).list_all(&ListParams::default()).await?;
            Ok(list.items.into_iter().map(|o| o.metadata).collect())
        })
    }

    fn delete<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
        opts: &'a DeleteOptions,
    ) -> BoxFuture<'a, client::Result<()>> {
        Box::pin(async move { self.api(ns).delete(name, opts).await })
    }

    fn delete_collection<'a>(
        &'a self,
        ns: &'a str,
        opts: &'a DeleteOptions,
    ) -> BoxFuture<'a, client::Result<()>> {
        Box::pin(async move {
            self.api(ns)
                .delete_collection(&ListParams::default(), opts)
                .await
        })
    }

    fn patch<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
        patch: &'a Patch,
    ) -> BoxFuture<'a, client::Result<ObjectMeta>> {
        Box::pin(async move {
            self.api(ns)
                .patch(name, &PatchParams::default(), patch)
                .await
                .map(|o| o.metadata)
        })
    }

    fn watch(&self, handler: Arc<dyn MetaHandler>) -> (Synced, JoinHandle<()>) {
        let mut informer = Informer::new(
            Api::<Meta<K>>::all(self.client.clone()),
            ReflectorConfig::default(),
        )
        .with_transform(runtime::informer::strip_managed_fields());
        informer.add_handler(Arc::new(Relay::<K> {
            handler,
            _kind: PhantomData,
        }));
        let synced = informer.synced();
        (synced, informer.spawn())
    }
}

/// The kinds the garbage collector follows: everything served that can be
/// deleted, listed and watched, except events (upstream ignores them too:
/// they are many, short-lived, and nobody owns them).
pub fn gc_kinds(client: &Client) -> Vec<Arc<dyn DynKind>> {
    let c = || client.clone();
    vec![
        Typed::<Pod>::handle(c()),
        Typed::<ReplicaSet>::handle(c()),
        Typed::<Deployment>::handle(c()),
        Typed::<ReplicationController>::handle(c()),
        Typed::<Service>::handle(c()),
        Typed::<Endpoints>::handle(c()),
        Typed::<EndpointSlice>::handle(c()),
        Typed::<ConfigMap>::handle(c()),
        Typed::<Secret>::handle(c()),
        Typed::<ServiceAccount>::handle(c()),
        Typed::<Lease>::handle(c()),
        Typed::<Node>::handle(c()),
        Typed::<Namespace>::handle(c()),
    ]
}

/// Every namespaced kind the apiserver serves: what a namespace must be
/// emptied of before it goes. Those the garbage collector follows, in its
/// order (pods first: upstream's ordered namespace deletion), plus events.
pub fn namespaced_kinds(client: &Client) -> Vec<Arc<dyn DynKind>> {
    let mut kinds: Vec<Arc<dyn DynKind>> = gc_kinds(client)
        .into_iter()
        .filter(|k| k.info().namespaced)
        .collect();
    kinds.push(Typed::<Event>::handle(client.clone()));
    kinds
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn meta_keeps_only_type_and_metadata() {
        let pod = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns", "uid": "u",
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "r"}]},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Running"}
        });
        let m: Meta<Pod> = serde_json::from_value(pod).unwrap();
        assert_eq!(m.metadata.owner_references[0].uid, "r");
        let back = serde_json::to_value(&m).unwrap();
        assert!(back.get("spec").is_none());
        assert_eq!(back["kind"], "Pod");
        assert_eq!(<Meta<ReplicaSet> as Resource>::PLURAL, "replicasets");
    }

    #[test]
    fn gvr_is_printed_as_upstream() {
        assert_eq!(KindInfo::of::<Pod>().gvr(), "/v1, Resource=pods");
        assert_eq!(
            KindInfo::of::<ReplicaSet>().gvr(),
            "apps/v1, Resource=replicasets"
        );
    }
}
