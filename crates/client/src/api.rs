//! `Api<K>`: the REST verbs of one kind, typed by its api-types struct.
//!
//! URLs follow the API's layout: `/api/v1` for the core group,
//! `/apis/<group>/<version>` otherwise, then `namespaces/<ns>/` for
//! namespaced kinds, the plural resource name, the object's name and a
//! subresource (`/status`, `/binding`, `/scale`, `/finalize`).

use std::marker::PhantomData;
use std::pin::Pin;

use api_types::Resource;
use api_types::autoscaling::v1::Scale;
use api_types::core::v1::{Binding, Namespace, Pod};
use api_types::meta::v1::{DeleteOptions, List, Status};
use bytes::{Buf, BytesMut};
use futures::{Stream, StreamExt};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::{Body, Client};
use crate::error::{Error, Result};

/// The verbs of kind `K`, in one namespace or across all.
pub struct Api<K> {
    client: Client,
    namespace: Option<String>,
    _kind: PhantomData<fn() -> K>,
}

impl<K> Clone for Api<K> {
    fn clone(&self) -> Self {
        Api {
            client: self.client.clone(),
            namespace: self.namespace.clone(),
            _kind: PhantomData,
        }
    }
}

impl<K> std::fmt::Debug for Api<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("kind", &std::any::type_name::<K>())
            .field("namespace", &self.namespace)
            .finish()
    }
}

/// Options of list and watch (`?labelSelector=...&limit=...`).
#[derive(Clone, Debug, Default)]
pub struct ListParams {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    /// Page size; follow `metadata.continue` for the rest.
    pub limit: Option<u32>,
    pub continue_token: Option<String>,
    /// `""`/`None`: a consistent read; `"0"`: whatever the cache has.
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
    /// For watches: the server ends the watch after this long.
    pub timeout_seconds: Option<u32>,
}

impl ListParams {
    #[must_use]
    pub fn labels(mut self, selector: &str) -> Self {
        self.label_selector = Some(selector.to_string());
        self
    }

    #[must_use]
    pub fn fields(mut self, selector: &str) -> Self {
        self.field_selector = Some(selector.to_string());
        self
    }

    #[must_use]
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    fn query(&self, q: &mut Query) {
        q.opt("labelSelector", self.label_selector.as_deref());
        q.opt("fieldSelector", self.field_selector.as_deref());
        q.opt("limit", self.limit.map(|n| n.to_string()).as_deref());
        q.opt("continue", self.continue_token.as_deref());
        q.opt("resourceVersion", self.resource_version.as_deref());
        q.opt(
            "resourceVersionMatch",
            self.resource_version_match.as_deref(),
        );
        q.opt(
            "timeoutSeconds",
            self.timeout_seconds.map(|n| n.to_string()).as_deref(),
        );
    }
}

/// Options of create, replace and patch.
#[derive(Clone, Debug, Default)]
pub struct PostParams {
    /// Who owns the written fields (`managedFields`); defaults to the
    /// User-Agent's product name on the server.
    pub field_manager: Option<String>,
    pub dry_run: bool,
}

impl PostParams {
    fn query(&self, q: &mut Query) {
        q.opt("fieldManager", self.field_manager.as_deref());
        if self.dry_run {
            q.push("dryRun", "All");
        }
    }
}

/// A patch, by its content type.
#[derive(Clone, Debug)]
pub enum Patch {
    /// `application/merge-patch+json` (RFC 7386).
    Merge(serde_json::Value),
    /// `application/json-patch+json` (RFC 6902): an array of operations.
    Json(serde_json::Value),
    /// `application/strategic-merge-patch+json`: lists merge by their keys.
    Strategic(serde_json::Value),
    /// `application/apply-patch+yaml`: server-side apply of a whole
    /// configuration; needs a field manager.
    Apply(serde_json::Value),
}

impl Patch {
    fn content_type(&self) -> &'static str {
        match self {
            Patch::Merge(_) => "application/merge-patch+json",
            Patch::Json(_) => "application/json-patch+json",
            Patch::Strategic(_) => "application/strategic-merge-patch+json",
            Patch::Apply(_) => "application/apply-patch+yaml",
        }
    }

    fn value(&self) -> &serde_json::Value {
        match self {
            Patch::Merge(v) | Patch::Json(v) | Patch::Strategic(v) | Patch::Apply(v) => v,
        }
    }
}

/// Options of a patch.
#[derive(Clone, Debug, Default)]
pub struct PatchParams {
    pub field_manager: Option<String>,
    /// Server-side apply: take fields other managers own.
    pub force: bool,
    pub dry_run: bool,
}

impl PatchParams {
    /// Server-side apply as `manager`.
    pub fn apply(manager: &str) -> Self {
        PatchParams {
            field_manager: Some(manager.to_string()),
            ..PatchParams::default()
        }
    }

    #[must_use]
    pub fn force(mut self) -> Self {
        self.force = true;
        self
    }
}

/// One change seen by a watch.
#[derive(Clone, Debug, PartialEq)]
pub enum Event<K> {
    Added(K),
    Modified(K),
    Deleted(K),
    /// Progress: everything up to `resource_version` has been sent.
    Bookmark {
        resource_version: String,
    },
    /// The watch failed in-stream (410 Expired when the resourceVersion it
    /// started from was compacted away).
    Error(Box<Status>),
}

/// The events of one watch request, ending when the server ends it.
pub type WatchStream<K> = Pin<Box<dyn Stream<Item = Result<Event<K>>> + Send>>;

/// A query string under construction.
#[derive(Default)]
struct Query(Vec<(&'static str, String)>);

impl Query {
    fn push(&mut self, k: &'static str, v: &str) {
        self.0.push((k, v.to_string()));
    }

    fn opt(&mut self, k: &'static str, v: Option<&str>) {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            self.push(k, v);
        }
    }

    fn render(&self, path: String) -> String {
        if self.0.is_empty() {
            return path;
        }
        let qs = serde_urlencoded::to_string(&self.0).unwrap_or_default();
        format!("{path}?{qs}")
    }
}

/// A JSON request body.
fn json_body<T: Serialize + ?Sized>(v: &T) -> Result<Body> {
    Ok(Body {
        bytes: serde_json::to_vec(v).map_err(|e| Error::Decode(e.to_string()))?,
        content_type: "application/json",
    })
}

/// Percent-encodes a path segment (names are DNS-like, but never trust).
fn segment(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|q| q.trim_start_matches('=').replace('+', "%20"))
        .unwrap_or_default()
}

impl<K: Resource> Api<K> {
    /// Every object of the kind: cluster-scoped kinds, or a namespaced kind
    /// across all namespaces (lists and watches; writes then use each
    /// object's own namespace).
    pub fn all(client: Client) -> Self {
        Api {
            client,
            namespace: None,
            _kind: PhantomData,
        }
    }

    /// Objects in namespace `ns` (ignored for cluster-scoped kinds).
    pub fn namespaced(client: Client, ns: &str) -> Self {
        Api {
            client,
            namespace: Some(ns.to_string()),
            _kind: PhantomData,
        }
    }

    /// Objects in the kubeconfig context's namespace.
    pub fn default_namespaced(client: Client) -> Self {
        let ns = client.default_namespace().to_string();
        Api::namespaced(client, &ns)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn prefix() -> String {
        if K::GROUP.is_empty() {
            format!("/api/{}", K::VERSION)
        } else {
            format!("/apis/{}/{}", K::GROUP, K::VERSION)
        }
    }

    fn collection(&self, ns: Option<&str>) -> String {
        match ns.filter(|_| K::NAMESPACED) {
            Some(ns) => format!(
                "{}/namespaces/{}/{}",
                Self::prefix(),
                segment(ns),
                K::PLURAL
            ),
            None => format!("{}/{}", Self::prefix(), K::PLURAL),
        }
    }

    /// The namespace an item request goes to: the Api's, else the object's.
    fn item_ns<'a>(&'a self, obj_ns: Option<&'a str>) -> Result<Option<&'a str>> {
        if !K::NAMESPACED {
            return Ok(None);
        }
        match self
            .namespace
            .as_deref()
            .or(obj_ns.filter(|n| !n.is_empty()))
        {
            Some(ns) => Ok(Some(ns)),
            None => Err(Error::Config(format!(
                "{} are namespaced: use Api::namespaced (or set metadata.namespace)",
                K::PLURAL
            ))),
        }
    }

    fn item(&self, name: &str, obj_ns: Option<&str>, sub: Option<&str>) -> Result<String> {
        if name.is_empty() {
            return Err(Error::Config(format!("a {} name is required", K::SINGULAR)));
        }
        let ns = self.item_ns(obj_ns)?;
        let mut p = format!("{}/{}", self.collection(ns), segment(name));
        if let Some(sub) = sub {
            p.push('/');
            p.push_str(sub);
        }
        Ok(p)
    }

    fn body_of(obj: &K) -> Result<Body> {
        let mut obj = obj.clone();
        obj.set_type_meta();
        json_body(&obj)
    }

    /// Reads one object.
    ///
    /// # Errors
    /// 404 when it does not exist.
    pub async fn get(&self, name: &str) -> Result<K> {
        let path = self.item(name, None, None)?;
        self.client.json(Method::GET, &path, None).await
    }

    /// Reads one object; `None` when it does not exist.
    ///
    /// # Errors
    /// Anything but 404.
    pub async fn get_opt(&self, name: &str) -> Result<Option<K>> {
        match self.get(name).await {
            Ok(o) => Ok(Some(o)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One page of a list.
    ///
    /// # Errors
    /// 400 for bad selectors, 410 for an expired `continue`.
    pub async fn list(&self, lp: &ListParams) -> Result<List<K>> {
        let mut q = Query::default();
        lp.query(&mut q);
        let path = q.render(self.collection(self.namespace.as_deref()));
        self.client.json(Method::GET, &path, None).await
    }

    /// Every page of a list, at one consistent resourceVersion.
    ///
    /// # Errors
    /// As [`Api::list`].
    pub async fn list_all(&self, lp: &ListParams) -> Result<List<K>> {
        self.list_all_with(lp, |_| {}).await
    }

    /// Every page of a list, applying `each` to the items of each page as
    /// it arrives (so what `each` drops is never held for the whole list).
    ///
    /// # Errors
    /// As [`Api::list`].
    pub async fn list_all_with(
        &self,
        lp: &ListParams,
        mut each: impl FnMut(&mut K),
    ) -> Result<List<K>> {
        let mut page = self.list(lp).await?;
        let mut items = Vec::new();
        loop {
            let mut batch = std::mem::take(&mut page.items);
            batch.iter_mut().for_each(&mut each);
            items.append(&mut batch);
            if page.metadata.continue_.is_empty() {
                break;
            }
            let next = ListParams {
                continue_token: Some(std::mem::take(&mut page.metadata.continue_)),
                resource_version: None,
                resource_version_match: None,
                ..lp.clone()
            };
            page = self.list(&next).await?;
        }
        page.items = items;
        page.metadata.remaining_item_count = None;
        Ok(page)
    }

    /// Watches changes after `resource_version` (`""`: from now, after
    /// sending the current objects as `Added`). Bookmarks are asked for.
    ///
    /// # Errors
    /// When the watch cannot start (410 if the version is too old).
    pub async fn watch(&self, lp: &ListParams, resource_version: &str) -> Result<WatchStream<K>> {
        let mut q = Query::default();
        q.push("watch", "1");
        q.push("allowWatchBookmarks", "true");
        let lp = ListParams {
            resource_version: Some(resource_version.to_string()),
            limit: None,
            continue_token: None,
            resource_version_match: None,
            ..lp.clone()
        };
        lp.query(&mut q);
        let path = q.render(self.collection(self.namespace.as_deref()));
        let resp = self.client.send(Method::GET, &path, None, None).await?;
        Ok(decode_lines::<K>(resp.bytes_stream()))
    }

    /// Creates `obj` (in the Api's namespace, else the object's own).
    ///
    /// # Errors
    /// 409 AlreadyExists, 422 Invalid, 403 when the namespace is terminating.
    pub async fn create(&self, pp: &PostParams, obj: &K) -> Result<K> {
        let ns = self.item_ns(Some(obj.metadata().namespace.as_str()))?;
        let mut q = Query::default();
        pp.query(&mut q);
        let path = q.render(self.collection(ns));
        self.client
            .json(Method::POST, &path, Some(Self::body_of(obj)?))
            .await
    }

    /// Replaces an object (PUT); `metadata.resourceVersion` makes it
    /// conditional (409 Conflict when the object changed).
    ///
    /// # Errors
    /// 404, 409, 422.
    pub async fn replace(&self, name: &str, pp: &PostParams, obj: &K) -> Result<K> {
        self.put(name, None, pp, obj).await
    }

    /// Replaces the object's `status` (PUT `/status`).
    ///
    /// # Errors
    /// As [`Api::replace`].
    pub async fn replace_status(&self, name: &str, pp: &PostParams, obj: &K) -> Result<K> {
        self.put(name, Some("status"), pp, obj).await
    }

    async fn put(&self, name: &str, sub: Option<&str>, pp: &PostParams, obj: &K) -> Result<K> {
        let mut q = Query::default();
        pp.query(&mut q);
        let path = q.render(self.item(name, Some(obj.metadata().namespace.as_str()), sub)?);
        self.client
            .json(Method::PUT, &path, Some(Self::body_of(obj)?))
            .await
    }

    /// Patches an object.
    ///
    /// # Errors
    /// 404, 409 (apply conflicts), 422, 400 for a malformed patch.
    pub async fn patch(&self, name: &str, pp: &PatchParams, patch: &Patch) -> Result<K> {
        self.patch_sub(name, None, pp, patch).await
    }

    /// Patches the object's `status`.
    ///
    /// # Errors
    /// As [`Api::patch`].
    pub async fn patch_status(&self, name: &str, pp: &PatchParams, patch: &Patch) -> Result<K> {
        self.patch_sub(name, Some("status"), pp, patch).await
    }

    async fn patch_sub(
        &self,
        name: &str,
        sub: Option<&str>,
        pp: &PatchParams,
        patch: &Patch,
    ) -> Result<K> {
        if matches!(patch, Patch::Apply(_)) && pp.field_manager.is_none() {
            return Err(Error::Config(
                "server-side apply needs a field manager (PatchParams::apply)".into(),
            ));
        }
        let mut q = Query::default();
        q.opt("fieldManager", pp.field_manager.as_deref());
        if pp.force {
            q.push("force", "true");
        }
        if pp.dry_run {
            q.push("dryRun", "All");
        }
        let path = q.render(self.item(name, None, sub)?);
        let body = Body {
            bytes: serde_json::to_vec(patch.value()).map_err(|e| Error::Decode(e.to_string()))?,
            content_type: patch.content_type(),
        };
        self.client.json(Method::PATCH, &path, Some(body)).await
    }

    /// Deletes an object. The answer may be the object (still there with a
    /// `deletionTimestamp` while finalizers run) or a `Status`; callers that
    /// need to know when it is gone watch for it.
    ///
    /// # Errors
    /// 404, 409 for failed preconditions.
    pub async fn delete(&self, name: &str, opts: &DeleteOptions) -> Result<()> {
        let path = self.item(name, None, None)?;
        self.client
            .send(Method::DELETE, &path, Some(json_body(opts)?), None)
            .await
            .map(drop)
    }

    /// Deletes every object a list with `lp` would return.
    ///
    /// # Errors
    /// 400 for bad selectors.
    pub async fn delete_collection(&self, lp: &ListParams, opts: &DeleteOptions) -> Result<()> {
        let mut q = Query::default();
        lp.query(&mut q);
        let path = q.render(self.collection(self.namespace.as_deref()));
        self.client
            .send(Method::DELETE, &path, Some(json_body(opts)?), None)
            .await
            .map(drop)
    }

    /// POSTs `body` to a subresource (`binding`, `eviction` ...).
    ///
    /// # Errors
    /// As the subresource answers.
    pub async fn create_subresource<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        name: &str,
        subresource: &str,
        body: &T,
    ) -> Result<R> {
        let path = self.item(name, None, Some(subresource))?;
        self.client
            .json(Method::POST, &path, Some(json_body(body)?))
            .await
    }

    /// The `/scale` subresource.
    ///
    /// # Errors
    /// 404 for kinds without it.
    pub async fn get_scale(&self, name: &str) -> Result<Scale> {
        let path = self.item(name, None, Some("scale"))?;
        self.client.json(Method::GET, &path, None).await
    }

    /// Sets `spec.replicas` through `/scale`.
    ///
    /// # Errors
    /// 409 when `scale.metadata.resourceVersion` is stale.
    pub async fn replace_scale(&self, name: &str, scale: &Scale) -> Result<Scale> {
        let path = self.item(name, None, Some("scale"))?;
        let mut scale = scale.clone();
        scale.api_version = "autoscaling/v1".into();
        scale.kind = "Scale".into();
        self.client
            .json(Method::PUT, &path, Some(json_body(&scale)?))
            .await
    }
}

impl Api<Pod> {
    /// Binds a pod to a node (the scheduler's `pods/binding`).
    ///
    /// # Errors
    /// 409 when the pod is already bound, 404 when it is gone.
    pub async fn bind(&self, name: &str, binding: &Binding) -> Result<()> {
        let mut b = binding.clone();
        b.api_version = "v1".into();
        b.kind = "Binding".into();
        let _: Status = self.create_subresource(name, "binding", &b).await?;
        Ok(())
    }
}

impl Api<Namespace> {
    /// Replaces `spec.finalizers` through `namespaces/<name>/finalize`: how
    /// the namespace controller lets a namespace it has emptied go.
    /// `metadata.resourceVersion` makes it conditional.
    ///
    /// # Errors
    /// 404, 409, 422 for an invalid finalizer name.
    pub async fn finalize(&self, ns: &Namespace, pp: &PostParams) -> Result<Namespace> {
        self.put(&ns.metadata.name, Some("finalize"), pp, ns).await
    }
}

/// Splits a watch body into lines and decodes each as an event. The
/// apiserver may put many events in one chunk or split one across chunks.
fn decode_lines<K: Resource>(
    body: impl Stream<Item = reqwest::Result<bytes::Bytes>> + Send + 'static,
) -> WatchStream<K> {
    struct State<S> {
        body: Pin<Box<S>>,
        buf: BytesMut,
        done: bool,
    }
    let state = State {
        body: Box::pin(body),
        buf: BytesMut::new(),
        done: false,
    };
    let stream = futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(pos) = memchr_newline(&st.buf) {
                let line = st.buf.split_to(pos + 1);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Some((decode_event::<K>(&line), st));
            }
            if st.done {
                if st.buf.iter().all(u8::is_ascii_whitespace) {
                    return None;
                }
                let line = st.buf.split();
                return Some((decode_event::<K>(&line), st));
            }
            match st.body.next().await {
                Some(Ok(chunk)) => st.buf.extend_from_slice(chunk.chunk()),
                Some(Err(e)) => {
                    st.done = true;
                    st.buf.clear();
                    return Some((Err(Error::Http(e)), st));
                }
                None => st.done = true,
            }
        }
    });
    Box::pin(stream)
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

#[derive(serde::Deserialize)]
struct RawEvent {
    #[serde(rename = "type")]
    type_: String,
    object: serde_json::Value,
}

fn decode_event<K: Resource>(line: &[u8]) -> Result<Event<K>> {
    let raw: RawEvent =
        serde_json::from_slice(line).map_err(|e| Error::Decode(format!("watch event: {e}")))?;
    let obj = |v: serde_json::Value| {
        serde_json::from_value::<K>(v)
            .map_err(|e| Error::Decode(format!("watch event object: {e}")))
    };
    match raw.type_.as_str() {
        "ADDED" => obj(raw.object).map(Event::Added),
        "MODIFIED" => obj(raw.object).map(Event::Modified),
        "DELETED" => obj(raw.object).map(Event::Deleted),
        "BOOKMARK" => Ok(Event::Bookmark {
            resource_version: raw
                .object
                .pointer("/metadata/resourceVersion")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string(),
        }),
        "ERROR" => serde_json::from_value::<Status>(raw.object)
            .map(|s| Event::Error(Box::new(s)))
            .map_err(|e| Error::Decode(format!("watch error event: {e}"))),
        other => Err(Error::Decode(format!("unknown watch event type {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use api_types::core::v1::{ConfigMap, Namespace, Node};

    use super::*;

    #[test]
    fn paths_follow_the_api_layout() {
        let c = Client::new(crate::Config::new("http://h:1")).unwrap();
        let pods: Api<Pod> = Api::namespaced(c.clone(), "ns1");
        assert_eq!(
            pods.item("p", None, Some("binding")).unwrap(),
            "/api/v1/namespaces/ns1/pods/p/binding"
        );
        let all: Api<Pod> = Api::all(c.clone());
        assert_eq!(all.collection(None), "/api/v1/pods");
        assert!(all.item("p", None, None).is_err());
        assert_eq!(
            all.item("p", Some("x"), None).unwrap(),
            "/api/v1/namespaces/x/pods/p"
        );
        let nodes: Api<Node> = Api::namespaced(c.clone(), "ignored");
        assert_eq!(nodes.item("n1", None, None).unwrap(), "/api/v1/nodes/n1");
        let ns: Api<Namespace> = Api::all(c.clone());
        assert_eq!(ns.collection(None), "/api/v1/namespaces");
        let rs: Api<api_types::apps::v1::ReplicaSet> = Api::namespaced(c.clone(), "d");
        assert_eq!(
            rs.collection(Some("d")),
            "/apis/apps/v1/namespaces/d/replicasets"
        );
        let cm: Api<ConfigMap> = Api::namespaced(c, "a b");
        assert_eq!(
            cm.item("x/y", None, None).unwrap(),
            "/api/v1/namespaces/a%20b/configmaps/x%2Fy"
        );
    }

    #[test]
    fn list_params_become_a_query() {
        let mut q = Query::default();
        ListParams::default()
            .labels("app in (a,b)")
            .fields("spec.nodeName=")
            .limit(500)
            .query(&mut q);
        assert_eq!(
            q.render("/p".into()),
            "/p?labelSelector=app+in+%28a%2Cb%29&fieldSelector=spec.nodeName%3D&limit=500"
        );
    }

    #[tokio::test]
    async fn watch_lines_split_and_joined_across_chunks() {
        let chunks: Vec<reqwest::Result<bytes::Bytes>> = vec![
            Ok(r#"{"type":"ADDED","object":{"metadata":{"name":"a"}}}"#.into()),
            Ok("\n{\"type\":\"MODI".into()),
            Ok("FIED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"42\"}}}\n".into()),
            Ok(r#"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}}"#.into()),
        ];
        let events: Vec<_> = decode_lines::<ConfigMap>(futures::stream::iter(chunks))
            .collect()
            .await;
        assert_eq!(events.len(), 4);
        assert!(matches!(&events[0], Ok(Event::Added(cm)) if cm.metadata.name == "a"));
        assert!(matches!(&events[1], Ok(Event::Modified(_))));
        assert!(
            matches!(&events[2], Ok(Event::Bookmark { resource_version }) if resource_version == "42")
        );
        assert!(matches!(&events[3], Ok(Event::Error(s)) if s.code == 410));
        let bad = decode_lines::<ConfigMap>(futures::stream::iter(vec![Ok("{nope}\n".into())]))
            .collect::<Vec<_>>()
            .await;
        assert!(matches!(&bad[0], Err(Error::Decode(_))));
    }
}
