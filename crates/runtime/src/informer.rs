//! Informers: a reflector feeding a cache, with event handlers (client-go's
//! `SharedIndexInformer`).
//!
//! ```text
//! apiserver ──list/watch──▶ reflector ──▶ Store (cache + indexes)
//!                                     └──▶ handlers: on_add / on_update / on_delete
//! ```
//!
//! Handlers run on the informer's task, one event at a time in the order
//! the apiserver sent them, after the cache has been updated: a handler
//! that reads the cache sees the object it was told about. They must be
//! quick (typically: put a key on a work queue).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use api_types::Resource;
use client::Api;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cache::{IndexFn, Store, key_of};
use crate::reflector::{self, Change, ReflectorConfig, Sink};

/// Reacts to changes of a kind. Every method defaults to doing nothing.
pub trait EventHandler<K>: Send + Sync {
    fn on_add(&self, _obj: &Arc<K>) {}
    fn on_update(&self, _old: &Arc<K>, _new: &Arc<K>) {}
    fn on_delete(&self, _obj: &Arc<K>) {}
}

/// A handler from closures.
pub struct FnHandler<A, U, D> {
    pub add: A,
    pub update: U,
    pub delete: D,
}

impl<K, A, U, D> EventHandler<K> for FnHandler<A, U, D>
where
    A: Fn(&Arc<K>) + Send + Sync,
    U: Fn(&Arc<K>, &Arc<K>) + Send + Sync,
    D: Fn(&Arc<K>) + Send + Sync,
{
    fn on_add(&self, obj: &Arc<K>) {
        (self.add)(obj);
    }
    fn on_update(&self, old: &Arc<K>, new: &Arc<K>) {
        (self.update)(old, new);
    }
    fn on_delete(&self, obj: &Arc<K>) {
        (self.delete)(obj);
    }
}

/// A cache of one kind kept up to date from the apiserver.
pub struct Informer<K> {
    api: Api<K>,
    config: ReflectorConfig,
    store: Store<K>,
    handlers: Vec<Arc<dyn EventHandler<K>>>,
    resync: Option<Duration>,
    transform: Option<Transform<K>>,
    synced_tx: watch::Sender<bool>,
    synced_rx: watch::Receiver<bool>,
    lists: Arc<AtomicU64>,
}

pub use crate::reflector::Transform;

/// Drops `metadata.managedFields`: components never read them, and they
/// are often the largest part of an object in memory (client-go's
/// `TransformStripManagedFields`, which kube-scheduler and
/// kube-controller-manager use).
pub fn strip_managed_fields<K: Resource>() -> Transform<K> {
    Arc::new(|o: &mut K| {
        o.metadata_mut().managed_fields = Vec::new();
    })
}

impl<K> std::fmt::Debug for Informer<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Informer")
            .field("kind", &std::any::type_name::<K>())
            .finish_non_exhaustive()
    }
}

/// Tells whether an informer has completed its first list.
#[derive(Clone, Debug)]
pub struct Synced(watch::Receiver<bool>);

impl Synced {
    pub fn is_synced(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits for the first list to be in the cache.
    pub async fn wait(&mut self) {
        // An error means the informer is gone; nothing to wait for.
        let _ = self.0.wait_for(|s| *s).await;
    }
}

impl<K: Resource> Informer<K> {
    pub fn new(api: Api<K>, config: ReflectorConfig) -> Self {
        let (synced_tx, synced_rx) = watch::channel(false);
        Informer {
            api,
            config,
            store: Store::new(),
            handlers: Vec::new(),
            resync: None,
            transform: None,
            synced_tx,
            synced_rx,
            lists: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many complete lists the informer has done (1 + relists after
    /// expired watches): for tests and metrics.
    pub fn list_count(&self) -> Arc<AtomicU64> {
        self.lists.clone()
    }

    /// The cache (shared: clones see the informer's updates).
    pub fn store(&self) -> Store<K> {
        self.store.clone()
    }

    #[must_use]
    pub fn with_index(self, name: &str, f: IndexFn<K>) -> Self {
        self.store.add_index(name, f);
        self
    }

    /// Applies `t` to every object as it arrives (each list page, each
    /// watch event), before caching it and telling the handlers (client-go's
    /// `SetTransform`), e.g. to drop fields the component never reads.
    #[must_use]
    pub fn with_transform(mut self, t: Transform<K>) -> Self {
        self.transform = Some(t);
        self
    }

    pub fn add_handler(&mut self, h: Arc<dyn EventHandler<K>>) {
        self.handlers.push(h);
    }

    /// Calls `on_update(obj, obj)` for every cached object this often, so
    /// controllers re-check everything periodically (client-go's resync).
    #[must_use]
    pub fn with_resync(mut self, every: Duration) -> Self {
        self.resync = Some(every);
        self
    }

    pub fn synced(&self) -> Synced {
        Synced(self.synced_rx.clone())
    }

    /// Runs the informer on a task; abort the handle to stop it.
    pub fn spawn(self) -> JoinHandle<()> {
        tokio::spawn(self.run())
    }

    /// Lists, watches and dispatches until dropped.
    pub async fn run(self) {
        let mut sink = Dispatch {
            store: self.store.clone(),
            handlers: self.handlers.clone(),
            synced: self.synced_tx,
            lists: self.lists,
        };
        let reflect = reflector::run(self.api, self.config, self.transform, &mut sink);
        match self.resync {
            None => reflect.await,
            Some(every) => {
                let store = self.store;
                let handlers = self.handlers;
                let resync = async move {
                    let mut tick = tokio::time::interval(every);
                    tick.tick().await;
                    loop {
                        tick.tick().await;
                        for obj in store.list() {
                            for h in &handlers {
                                h.on_update(&obj, &obj);
                            }
                        }
                    }
                };
                tokio::select! {
                    () = reflect => {}
                    () = resync => {}
                }
            }
        }
    }
}

/// Applies changes to the store, then tells the handlers.
struct Dispatch<K> {
    store: Store<K>,
    handlers: Vec<Arc<dyn EventHandler<K>>>,
    synced: watch::Sender<bool>,
    lists: Arc<AtomicU64>,
}

impl<K: Resource> Sink<K> for Dispatch<K> {
    fn replace(&mut self, objects: Vec<K>, _resource_version: &str) {
        let changes = self.store.replace(objects);
        for h in &self.handlers {
            for o in &changes.deleted {
                h.on_delete(o);
            }
            for o in &changes.added {
                h.on_add(o);
            }
            for (old, new) in &changes.updated {
                h.on_update(old, new);
            }
        }
        self.lists.fetch_add(1, Ordering::Relaxed);
        self.synced.send_replace(true);
    }

    fn apply(&mut self, change: Change<K>) {
        match change {
            Change::Upsert(o) => {
                let new = Arc::new(o);
                match self.store.upsert(new.clone()) {
                    Some(old) => self.handlers.iter().for_each(|h| h.on_update(&old, &new)),
                    None => self.handlers.iter().for_each(|h| h.on_add(&new)),
                }
            }
            Change::Delete(o) => {
                self.store.remove(&key_of(&o));
                // The object as the watch sent it: its last state.
                let gone = Arc::new(o);
                self.handlers.iter().for_each(|h| h.on_delete(&gone));
            }
        }
    }
}
