//! The ConfigMaps and Secrets that this node's pods use, kept up to date by
//! watches (upstream: the kubelet's configmap and secret managers with
//! their default `Watch` strategy).
//!
//! A pod's environment and its configMap/secret/projected volumes name
//! objects; the volumes must follow those objects while the pod runs. A
//! GET per object per sync would load the apiserver with one request per
//! object every sync of every pod. Instead, each object a pod on this node
//! uses gets one watch, narrowed to it by `metadata.name`; syncs read the
//! watch's cache. A watch lives while at least one pod uses its object:
//! [`ObjectCache::register`] on each sync, [`ObjectCache::unregister`]
//! when the pod is gone.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use api_types::Resource;
use client::{Api, Client, ListParams};
use runtime::cache::Store;
use runtime::informer::{Informer, Synced};
use runtime::reflector::ReflectorConfig;
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

/// How long a sync waits for a new watch's first list.
const FIRST_LIST: Duration = Duration::from_secs(10);

type Key = (String, String);

struct Watch<K: Resource> {
    store: Store<K>,
    synced: Synced,
    task: JoinHandle<()>,
    /// Pods (UIDs) that use the object.
    users: HashSet<String>,
}

impl<K: Resource> Drop for Watch<K> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Inner<K: Resource> {
    watches: HashMap<Key, Watch<K>>,
    /// What each pod uses.
    by_pod: HashMap<String, HashSet<Key>>,
}

/// Watched objects of one kind (ConfigMaps or Secrets).
pub struct ObjectCache<K: Resource> {
    client: Client,
    inner: Mutex<Inner<K>>,
}

impl<K> ObjectCache<K>
where
    K: Resource + Clone + DeserializeOwned + Send + Sync + 'static,
{
    pub fn new(client: Client) -> Self {
        ObjectCache {
            client,
            inner: Mutex::new(Inner {
                watches: HashMap::new(),
                by_pod: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Pod `uid` now uses `names` in `ns`: watches start for objects new to
    /// the node and stop for those no pod uses any more.
    pub fn register(&self, uid: &str, ns: &str, names: &BTreeSet<String>) {
        let wanted: HashSet<Key> = names.iter().map(|n| (ns.to_string(), n.clone())).collect();
        let mut inner = self.lock();
        let before = inner.by_pod.remove(uid).unwrap_or_default();
        for key in before.difference(&wanted) {
            release(&mut inner, uid, key);
        }
        for key in &wanted {
            let client = self.client.clone();
            let w = inner
                .watches
                .entry(key.clone())
                .or_insert_with(|| start(client, key));
            w.users.insert(uid.to_string());
        }
        if !wanted.is_empty() {
            inner.by_pod.insert(uid.to_string(), wanted);
        }
    }

    /// Pod `uid` is gone.
    pub fn unregister(&self, uid: &str) {
        let mut inner = self.lock();
        for key in inner.by_pod.remove(uid).unwrap_or_default() {
            release(&mut inner, uid, &key);
        }
    }

    /// The object as its watch last saw it (`None`: it does not exist).
    /// The object must be registered by some pod; a watch that has not
    /// listed yet is waited for.
    ///
    /// # Errors
    /// Not registered, or the first list did not finish in time (the
    /// apiserver is unreachable): the caller must not take it as absent.
    pub async fn get(&self, ns: &str, name: &str) -> Result<Option<K>, String> {
        let key = (ns.to_string(), name.to_string());
        let (store, mut synced) = {
            let inner = self.lock();
            let w = inner
                .watches
                .get(&key)
                .ok_or_else(|| format!("{ns}/{name} is not watched"))?;
            (w.store.clone(), w.synced.clone())
        };
        if !synced.is_synced() {
            tokio::time::timeout(FIRST_LIST, synced.wait())
                .await
                .map_err(|_| format!("{ns}/{name}: the watch has not listed yet"))?;
        }
        Ok(store.get_named(ns, name).map(|o| o.as_ref().clone()))
    }

    /// How many objects are watched (for tests and metrics).
    pub fn watched(&self) -> usize {
        self.lock().watches.len()
    }
}

fn release<K: Resource>(inner: &mut Inner<K>, uid: &str, key: &Key) {
    if let Some(w) = inner.watches.get_mut(key) {
        w.users.remove(uid);
        if w.users.is_empty() {
            // Dropping the watch stops it.
            inner.watches.remove(key);
        }
    }
}

fn start<K>(client: Client, (ns, name): &Key) -> Watch<K>
where
    K: Resource + Clone + DeserializeOwned + Send + Sync + 'static,
{
    let config = ReflectorConfig {
        list_params: ListParams::default().fields(&format!("metadata.name={name}")),
        ..ReflectorConfig::default()
    };
    let informer = Informer::new(Api::<K>::namespaced(client, ns), config);
    let store = informer.store();
    let synced = informer.synced();
    Watch {
        store,
        synced,
        task: informer.spawn(),
        users: HashSet::new(),
    }
}

/// The ConfigMap and Secret caches of a kubelet.
pub struct Objects {
    pub config_maps: ObjectCache<api_types::core::v1::ConfigMap>,
    pub secrets: ObjectCache<api_types::core::v1::Secret>,
}

impl Objects {
    pub fn new(client: &Client) -> Arc<Self> {
        Arc::new(Objects {
            config_maps: ObjectCache::new(client.clone()),
            secrets: ObjectCache::new(client.clone()),
        })
    }

    pub fn unregister(&self, uid: &str) {
        self.config_maps.unregister(uid);
        self.secrets.unregister(uid);
    }
}
