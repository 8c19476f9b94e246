//! The local cache of one kind: every object an informer has seen, by key,
//! with secondary indexes (client-go's `cache.Indexer`).
//!
//! Keys are `namespace/name` for namespaced objects and `name` otherwise
//! (client-go's `MetaNamespaceKeyFunc`). An index maps each object to
//! some values (its namespace, its node, its owners' uids) and answers
//! "which objects have value v" without scanning.
//!
//! Objects are shared as `Arc<K>`: readers get a snapshot of the pointer
//! and must not expect it to change; a newer version is a new `Arc`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use api_types::Resource;
use api_types::core::v1::Pod;

/// The cache key of an object: `namespace/name`, or `name`.
pub fn key_of<K: Resource>(obj: &K) -> String {
    let m = obj.metadata();
    if m.namespace.is_empty() {
        m.name.clone()
    } else {
        format!("{}/{}", m.namespace, m.name)
    }
}

/// The key of `name` in `namespace` (`""` for cluster-scoped).
pub fn key(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    }
}

/// Splits a key back into (namespace, name).
pub fn split_key(key: &str) -> (&str, &str) {
    key.split_once('/').unwrap_or(("", key))
}

/// What an index files an object under.
pub type IndexFn<K> = Arc<dyn Fn(&K) -> Vec<String> + Send + Sync>;

/// Index name: objects by `metadata.namespace`.
pub const BY_NAMESPACE: &str = "namespace";
/// Index name: pods by `spec.nodeName` (unbound pods under `""`).
pub const BY_NODE: &str = "node";
/// Index name: objects by the uid of each owner reference.
pub const BY_OWNER: &str = "owner";

/// Files objects by namespace.
pub fn namespace_index<K: Resource>() -> IndexFn<K> {
    Arc::new(|o: &K| vec![o.metadata().namespace.clone()])
}

/// Files objects by their owners' uids.
pub fn owner_index<K: Resource>() -> IndexFn<K> {
    Arc::new(|o: &K| {
        o.metadata()
            .owner_references
            .iter()
            .map(|r| r.uid.clone())
            .collect()
    })
}

/// Files pods by the node they are bound to.
pub fn node_index() -> IndexFn<Pod> {
    Arc::new(|p: &Pod| {
        vec![
            p.spec
                .as_ref()
                .and_then(|s| s.node_name.clone())
                .unwrap_or_default(),
        ]
    })
}

/// A shared, indexed map of objects. Cloning shares the same cache.
pub struct Store<K> {
    inner: Arc<RwLock<Inner<K>>>,
}

impl<K> Clone for Store<K> {
    fn clone(&self) -> Self {
        Store {
            inner: self.inner.clone(),
        }
    }
}

impl<K> std::fmt::Debug for Store<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("kind", &std::any::type_name::<K>())
            .finish_non_exhaustive()
    }
}

struct Inner<K> {
    items: HashMap<String, Arc<K>>,
    indexers: HashMap<String, IndexFn<K>>,
    /// index name → value → keys
    indices: HashMap<String, HashMap<String, HashSet<String>>>,
}

impl<K: Resource> Default for Store<K> {
    fn default() -> Self {
        Store::new()
    }
}

impl<K: Resource> Store<K> {
    pub fn new() -> Self {
        Store {
            inner: Arc::new(RwLock::new(Inner {
                items: HashMap::new(),
                indexers: HashMap::new(),
                indices: HashMap::new(),
            })),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner<K>> {
        // A panicking writer cannot leave the maps half-updated in a way
        // that matters more than stopping every reader: carry on.
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner<K>> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds an index (and files the objects already cached under it).
    pub fn add_index(&self, name: &str, f: IndexFn<K>) {
        let mut inner = self.write();
        let mut index: HashMap<String, HashSet<String>> = HashMap::new();
        for (k, obj) in &inner.items {
            for v in f(obj) {
                index.entry(v).or_default().insert(k.clone());
            }
        }
        inner.indices.insert(name.to_string(), index);
        inner.indexers.insert(name.to_string(), f);
    }

    pub fn get(&self, key: &str) -> Option<Arc<K>> {
        self.read().items.get(key).cloned()
    }

    pub fn get_named(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        self.get(&key(namespace, name))
    }

    /// Every cached object (in no particular order).
    pub fn list(&self) -> Vec<Arc<K>> {
        self.read().items.values().cloned().collect()
    }

    pub fn keys(&self) -> Vec<String> {
        self.read().items.keys().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.read().items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Objects filed under `value` in index `index` (empty for an unknown
    /// index).
    pub fn by_index(&self, index: &str, value: &str) -> Vec<Arc<K>> {
        let inner = self.read();
        let Some(keys) = inner.indices.get(index).and_then(|i| i.get(value)) else {
            return Vec::new();
        };
        keys.iter()
            .filter_map(|k| inner.items.get(k).cloned())
            .collect()
    }

    /// Inserts or replaces an object; returns the previous version.
    pub fn upsert(&self, obj: Arc<K>) -> Option<Arc<K>> {
        let key = key_of(obj.as_ref());
        let mut inner = self.write();
        let old = inner.items.insert(key.clone(), obj.clone());
        inner.reindex(&key, old.as_deref(), Some(&obj));
        old
    }

    /// Removes an object by key; returns it.
    pub fn remove(&self, key: &str) -> Option<Arc<K>> {
        let mut inner = self.write();
        let old = inner.items.remove(key);
        if let Some(o) = &old {
            inner.reindex(key, Some(o), None);
        }
        old
    }

    /// Replaces the whole content (after a relist). Returns what changed:
    /// objects removed, added, and updated (old, new) where the
    /// resourceVersion differs.
    pub fn replace(&self, objects: Vec<K>) -> Replaced<K> {
        let mut fresh: HashMap<String, Arc<K>> = objects
            .into_iter()
            .map(|o| (key_of(&o), Arc::new(o)))
            .collect();
        let mut out = Replaced::default();
        let mut inner = self.write();
        let old_keys: Vec<String> = inner.items.keys().cloned().collect();
        for k in old_keys {
            match fresh.remove(&k) {
                None => {
                    if let Some(old) = inner.items.remove(&k) {
                        inner.reindex(&k, Some(&old), None);
                        out.deleted.push(old);
                    }
                }
                Some(new) => {
                    let changed = inner.items.get(&k).is_some_and(|old| {
                        old.metadata().resource_version != new.metadata().resource_version
                    });
                    if changed && let Some(old) = inner.items.insert(k.clone(), new.clone()) {
                        inner.reindex(&k, Some(&old), Some(&new));
                        out.updated.push((old, new));
                    }
                }
            }
        }
        for (k, new) in fresh {
            inner.items.insert(k.clone(), new.clone());
            inner.reindex(&k, None, Some(&new));
            out.added.push(new);
        }
        out
    }
}

/// What [`Store::replace`] changed.
#[derive(Debug)]
pub struct Replaced<K> {
    pub added: Vec<Arc<K>>,
    pub updated: Vec<(Arc<K>, Arc<K>)>,
    pub deleted: Vec<Arc<K>>,
}

impl<K> Default for Replaced<K> {
    fn default() -> Self {
        Replaced {
            added: Vec::new(),
            updated: Vec::new(),
            deleted: Vec::new(),
        }
    }
}

impl<K> Inner<K> {
    fn reindex(&mut self, key: &str, old: Option<&K>, new: Option<&K>) {
        let Inner {
            indexers, indices, ..
        } = self;
        for (name, f) in indexers.iter() {
            let index = indices.entry(name.clone()).or_default();
            let before = old.map(|o| f(o)).unwrap_or_default();
            let after = new.map(|n| f(n)).unwrap_or_default();
            for v in &before {
                if !after.contains(v)
                    && let Some(set) = index.get_mut(v)
                {
                    set.remove(key);
                    if set.is_empty() {
                        index.remove(v);
                    }
                }
            }
            for v in after {
                index.entry(v).or_default().insert(key.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use api_types::core::v1::PodSpec;
    use api_types::meta::v1::{ObjectMeta, OwnerReference};

    use super::*;

    fn pod(ns: &str, name: &str, node: &str, rv: &str, owner: &str) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: name.into(),
                namespace: ns.into(),
                resource_version: rv.into(),
                owner_references: if owner.is_empty() {
                    Vec::new()
                } else {
                    vec![OwnerReference {
                        uid: owner.into(),
                        ..OwnerReference::default()
                    }]
                },
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                node_name: (!node.is_empty()).then(|| node.to_string()),
                ..PodSpec::default()
            }),
            ..Pod::default()
        }
    }

    fn names(v: Vec<Arc<Pod>>) -> Vec<String> {
        let mut n: Vec<String> = v.iter().map(|p| key_of(p.as_ref())).collect();
        n.sort();
        n
    }

    #[test]
    fn keys_and_indexes_follow_updates() {
        let store: Store<Pod> = Store::new();
        store.upsert(Arc::new(pod("a", "p1", "n1", "1", "rs1")));
        store.add_index(BY_NODE, node_index());
        store.add_index(BY_NAMESPACE, namespace_index());
        store.add_index(BY_OWNER, owner_index());
        store.upsert(Arc::new(pod("a", "p2", "", "2", "rs1")));
        store.upsert(Arc::new(pod("b", "p1", "n1", "3", "")));
        assert_eq!(names(store.by_index(BY_NODE, "n1")), ["a/p1", "b/p1"]);
        assert_eq!(names(store.by_index(BY_NODE, "")), ["a/p2"]);
        assert_eq!(names(store.by_index(BY_NAMESPACE, "a")), ["a/p1", "a/p2"]);
        assert_eq!(names(store.by_index(BY_OWNER, "rs1")), ["a/p1", "a/p2"]);
        // binding moves a pod between node buckets
        let old = store.upsert(Arc::new(pod("a", "p2", "n2", "4", "rs1")));
        assert_eq!(old.unwrap().metadata.resource_version, "2");
        assert!(store.by_index(BY_NODE, "").is_empty());
        assert_eq!(names(store.by_index(BY_NODE, "n2")), ["a/p2"]);
        store.remove("a/p1");
        assert_eq!(names(store.by_index(BY_NODE, "n1")), ["b/p1"]);
        assert_eq!(names(store.by_index(BY_OWNER, "rs1")), ["a/p2"]);
        assert!(store.by_index("nope", "x").is_empty());
        assert_eq!(
            store
                .get_named("b", "p1")
                .unwrap()
                .metadata
                .resource_version,
            "3"
        );
        assert_eq!(split_key("a/p1"), ("a", "p1"));
        assert_eq!(split_key("node-1"), ("", "node-1"));
    }

    #[test]
    fn replace_reports_the_difference() {
        let store: Store<Pod> = Store::new();
        store.add_index(BY_NODE, node_index());
        store.upsert(Arc::new(pod("a", "keep", "n1", "1", "")));
        store.upsert(Arc::new(pod("a", "change", "n1", "1", "")));
        store.upsert(Arc::new(pod("a", "gone", "n1", "1", "")));
        let r = store.replace(vec![
            pod("a", "keep", "n1", "1", ""),
            pod("a", "change", "n2", "5", ""),
            pod("a", "new", "n3", "6", ""),
        ]);
        assert_eq!(names(r.added), ["a/new"]);
        assert_eq!(names(r.deleted), ["a/gone"]);
        assert_eq!(r.updated.len(), 1);
        assert_eq!(r.updated[0].1.metadata.resource_version, "5");
        assert_eq!(store.len(), 3);
        assert_eq!(names(store.by_index(BY_NODE, "n1")), ["a/keep"]);
        assert_eq!(names(store.by_index(BY_NODE, "n2")), ["a/change"]);
    }
}
