//! The watch cache (upstream's `Cacher`): ONE storage watch per resource,
//! fanned out in-process to every client watch.
//!
//! Without it, every `kubectl get -w`, every controller and every kubelet
//! would each hold its own etcd watch, and every `resourceVersion=0` list
//! would hit etcd. The cache keeps:
//! - the current objects, already serialized (lists with
//!   `resourceVersion=0` and the initial events of a watch are served from
//!   memory);
//! - a bounded history of recent events (a client that reconnects with the
//!   last resourceVersion it saw resumes without a re-list, unless that
//!   version fell out of the window: then it gets `410 Expired`);
//! - a broadcast channel every client watch subscribes to, and, for a
//!   kind with an indexed field (pods: `spec.nodeName`), one channel per
//!   value of it: a watch whose field selector pins that field (a kubelet's
//!   watch on its node's pods) subscribes there and is woken only by the
//!   events of its value, not by every pod event in the cluster
//!   (upstream's indexed triggers).
//!
//! The cache learns that it is up to date, even when nothing in its range
//! changes, from storage progress notifications (`request_progress`).

pub mod filter;
mod state;
pub mod watcher;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use storage::{Event, KeyValue, Revision, Storage, StorageError};
use tokio::sync::{Notify, broadcast, watch};

pub use filter::Filter;
use state::State;
pub use state::{CacheEvent, CachedObject, EventType};

use crate::error::{ApiError, Result};

/// Turns a stored key-value into a cached object (decode, set
/// resourceVersion, extract labels and selectable fields).
pub type DecodeFn = Arc<dyn Fn(&KeyValue) -> Result<CachedObject> + Send + Sync>;

/// What a write knows about the object it is storing: with it, the cache
/// builds the object's entry when the storage event arrives instead of
/// decoding the event's value again (on a create-heavy load that decode
/// was a tenth of the apiserver's CPU). Matched by the stored bytes, so an
/// event from any other write (another apiserver, an older write of the
/// same key) is still decoded.
#[derive(Debug)]
pub struct Known {
    /// The exact bytes written.
    pub value: Bytes,
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub fields: crate::registry::strategy::FieldSet,
}

/// At most this many writes' [`Known`] wait for their events; beyond it
/// they are dropped (the events are then decoded as usual).
const MAX_KNOWN: usize = 4096;

/// Tunables.
#[derive(Clone, Debug)]
pub struct CacherConfig {
    /// Recent events kept for resuming watches.
    pub history: usize,
    /// How often to ask storage for progress (drives bookmarks).
    pub progress_interval: Duration,
    /// Minimum time between bookmarks on one watch.
    pub bookmark_interval: Duration,
    /// Capacity of the fan-out channel; a client this many events behind is
    /// disconnected (it re-watches from its last resourceVersion).
    pub fanout_capacity: usize,
    /// The selectable field whose watches get a channel per value (set per
    /// kind by the registry: pods index `spec.nodeName`, ConfigMaps and
    /// Secrets `metadata.name`).
    pub indexed_field: Option<&'static str>,
    /// Capacity of each per-value channel. Smaller than the main one: there
    /// is one per value (node, name), and each carries only its value's
    /// events.
    pub indexed_capacity: usize,
}

impl Default for CacherConfig {
    fn default() -> Self {
        CacherConfig {
            history: 10_000,
            progress_interval: Duration::from_secs(5),
            bookmark_interval: Duration::from_secs(60),
            fanout_capacity: 16_384,
            indexed_field: None,
            indexed_capacity: 256,
        }
    }
}

/// What the cache broadcasts to client watches.
#[derive(Clone, Debug)]
pub enum Message {
    Event(Arc<CacheEvent>),
    /// Everything up to this revision has been broadcast.
    Progress(Revision),
    /// The cache was rebuilt from a fresh list: watches must end, clients re-watch.
    Reset,
    /// The apiserver is stopping: watches end, clients re-watch (elsewhere,
    /// or here once it is back).
    Stopped,
}

struct Inner {
    prefix: String,
    storage: Arc<dyn Storage>,
    decode: DecodeFn,
    /// Writes in flight, by key (see [`Known`]).
    known: Mutex<HashMap<String, Known>>,
    config: CacherConfig,
    state: RwLock<State>,
    fanout: broadcast::Sender<Message>,
    /// Per value of `config.indexed_field`, the channel of the watches that
    /// pin it. Locked only with `state` held (read to subscribe, write to
    /// send), so a watch subscribes between two events, never during one.
    indexed: Mutex<HashMap<String, broadcast::Sender<Message>>>,
    /// The cache's revision, for waiters.
    revision: watch::Sender<Revision>,
    ready: watch::Sender<bool>,
    wants_progress: Notify,
    /// Set by [`Cacher::stop`]: no new client watches.
    stopped: AtomicBool,
}

/// The watch cache of one resource. Cheap to clone.
#[derive(Clone)]
pub struct Cacher {
    inner: Arc<Inner>,
}

/// A snapshot a client watch starts from, plus its live subscription.
pub struct WatchStart {
    /// Events to send first (synthetic ADDED for a fresh start, or history
    /// to replay for a resume), oldest first.
    pub initial: Vec<Arc<CacheEvent>>,
    /// The revision `initial` brings the client to.
    pub revision: Revision,
    pub live: broadcast::Receiver<Message>,
}

impl Cacher {
    /// Starts the cache for keys under `prefix` (e.g. `/registry/pods/`).
    pub fn start(
        storage: Arc<dyn Storage>,
        prefix: String,
        decode: DecodeFn,
        config: CacherConfig,
    ) -> Self {
        let (fanout, _) = broadcast::channel(config.fanout_capacity);
        let cacher = Cacher {
            inner: Arc::new(Inner {
                prefix,
                storage,
                decode,
                known: Mutex::new(HashMap::new()),
                state: RwLock::new(State::new(config.history)),
                config,
                fanout,
                indexed: Mutex::new(HashMap::new()),
                revision: watch::channel(0).0,
                ready: watch::channel(false).0,
                wants_progress: Notify::new(),
                stopped: AtomicBool::new(false),
            }),
        };
        let weak = Arc::downgrade(&cacher.inner);
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            let mut needs_list = true;
            loop {
                let Some(inner) = weak.upgrade() else { return };
                let result = match needs_list {
                    true => relist(&inner).await.map(|_| needs_list = false),
                    // Resume where the cache is: clients see no gap.
                    false => follow(&inner, inner.read_revision()).await,
                };
                match result {
                    Ok(()) => backoff = Duration::from_millis(100),
                    Err(e) => {
                        // History we need is gone: only a fresh list can
                        // catch up (and client watches must start over).
                        needs_list |= matches!(e, StorageError::Expired { .. });
                        tracing::warn!(prefix = %inner.prefix, error = %e, "watch cache lost its storage watch");
                        drop(inner);
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
        });
        cacher
    }

    /// Waits until the cache has its initial list.
    pub async fn wait_ready(&self) {
        let mut rx = self.inner.ready.subscribe();
        let _ = rx.wait_for(|r| *r).await;
    }

    pub fn is_ready(&self) -> bool {
        *self.inner.ready.borrow()
    }

    /// The keys it caches: `/registry/pods/`.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    pub fn config(&self) -> &CacherConfig {
        &self.inner.config
    }

    /// The newest revision the cache has applied.
    pub fn revision(&self) -> Revision {
        *self.inner.revision.borrow()
    }

    /// Waits (up to 3 s, as upstream) until the cache has seen `rev`.
    ///
    /// # Errors
    /// 504 `Too large resource version` when it does not catch up in time.
    pub async fn wait_fresh(&self, rev: Revision) -> Result<()> {
        self.wait_ready().await;
        let mut rx = self.inner.revision.subscribe();
        if *rx.borrow_and_update() >= rev {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        loop {
            self.inner.wants_progress.notify_one();
            let step =
                tokio::time::timeout(Duration::from_millis(100), rx.wait_for(|r| *r >= rev)).await;
            if matches!(step, Ok(Ok(_))) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApiError::Timeout {
                    message: format!(
                        "Too large resource version: {rev}, current resource version: {}",
                        self.revision()
                    ),
                    retry_after: 1,
                });
            }
        }
    }

    /// Waits until the cache is as fresh as storage is now (a consistent read).
    pub async fn wait_consistent(&self) -> Result<Revision> {
        let rev = self.inner.storage.current_revision().await.map_err(|e| {
            ApiError::from_storage(e, &crate::error::GroupResource::new("", ""), "")
        })?;
        self.wait_fresh(rev).await?;
        Ok(rev)
    }

    /// Announces a write about to store `known.value` under `key`.
    pub fn expect(&self, key: &str, known: Known) {
        let mut map = self.inner.known.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KNOWN {
            map.clear();
        }
        map.insert(key.to_string(), known);
    }

    /// Withdraws [`expect`](Self::expect) for a write that did not happen.
    pub fn forget(&self, key: &str, value: &Bytes) {
        let mut map = self.inner.known.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(key).is_some_and(|k| k.value == value) {
            map.remove(key);
        }
    }

    /// The cached object under `key`, if any.
    pub fn get(&self, key: &str) -> Option<Arc<CachedObject>> {
        self.read_state().get(key)
    }

    /// The current objects matching `filter`, in key order, and the revision
    /// they are valid at.
    pub fn list(&self, filter: &Filter) -> (Vec<Arc<CachedObject>>, Revision) {
        let state = self.read_state();
        let items = state
            .objects_under(&filter.key_prefix(&self.inner.prefix))
            .filter(|o| filter.matches(o))
            .cloned()
            .collect();
        (items, state.revision)
    }

    /// Ends every client watch and refuses new ones (upstream's
    /// `Cacher.Stop`, which terminates all watchers).
    ///
    /// A stopping apiserver needs this: its HTTP server waits for in-flight
    /// responses, and a watch response lasts up to an hour, served from a
    /// cache nothing will feed once the process is gone. Ended here, a
    /// client's stream closes cleanly and it re-watches from its last
    /// resourceVersion, which reaches the next apiserver.
    pub fn stop(&self) {
        // Taken with the lock `watch` subscribes under: a watch either sees
        // the flag or is subscribed in time to receive `Stopped`.
        let _state = self.inner.state.write().unwrap_or_else(|p| p.into_inner());
        self.inner.stopped.store(true, Ordering::Release);
        self.inner.send_to_all(&Message::Stopped);
    }

    /// Starts a client watch. `after = None` means "from the current state"
    /// (synthetic ADDED events first); `Some(rv)` resumes after `rv`.
    ///
    /// # Errors
    /// 410 Expired (sent in-stream by the caller) when `rv` is older than the
    /// history window; 503 once the cache is stopped.
    pub fn watch(&self, after: Option<Revision>, filter: &Filter) -> Result<WatchStart> {
        let state = self.read_state();
        if self.inner.stopped.load(Ordering::Acquire) {
            return Err(ApiError::ServiceUnavailable(
                "apiserver is shutting down".into(),
            ));
        }
        // Subscribing while holding the lock that event application takes
        // means no event falls between the snapshot and the subscription.
        let live = match self.inner.pinned_value(filter) {
            Some(value) => self.inner.subscribe_indexed(value),
            None => self.inner.fanout.subscribe(),
        };
        let initial = match after {
            None => state
                .objects_under(&filter.key_prefix(&self.inner.prefix))
                .filter(|o| filter.matches(o))
                .map(|o| Arc::new(CacheEvent::synthetic_added(o.clone())))
                .collect(),
            Some(rv) => {
                if rv < state.history_start {
                    return Err(ApiError::Expired(format!(
                        "too old resource version: {rv} ({})",
                        state.history_start
                    )));
                }
                state.events_after(rv)
            }
        };
        Ok(WatchStart {
            initial,
            revision: state.revision,
            live,
        })
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-changed
        // (every change is a single insert/remove), so a poisoned lock is
        // still safe to read.
        self.inner.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Number of client watches subscribed right now.
    pub fn watchers(&self) -> usize {
        let _state = self.read_state();
        let indexed: usize = self
            .inner
            .lock_indexed()
            .values()
            .map(broadcast::Sender::receiver_count)
            .sum();
        self.inner.fanout.receiver_count() + indexed
    }

    /// Number of per-value channels with watches on them (tests, metrics).
    pub fn indexed_channels(&self) -> usize {
        let _state = self.read_state();
        self.inner
            .lock_indexed()
            .values()
            .filter(|tx| tx.receiver_count() > 0)
            .count()
    }
}

impl Inner {
    fn read_revision(&self) -> Revision {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .revision
    }
}

impl Inner {
    /// Only with `state` locked (see `indexed`).
    fn lock_indexed(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<Message>>> {
        self.indexed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value a watch's field selector pins the indexed field to, if any.
    fn pinned_value<'f>(&self, filter: &'f Filter) -> Option<&'f str> {
        filter
            .fields
            .requires_exact_match(self.config.indexed_field?)
    }

    /// Subscribes to the channel of one value (made on first use). With
    /// `state` locked.
    fn subscribe_indexed(&self, value: &str) -> broadcast::Receiver<Message> {
        let mut channels = self.lock_indexed();
        if let Some(tx) = channels.get(value) {
            return tx.subscribe();
        }
        let (tx, rx) = broadcast::channel(self.config.indexed_capacity.max(1));
        channels.insert(value.to_string(), tx);
        rx
    }

    /// Sends to every watch, indexed or not; drops the per-value channels
    /// nobody listens to any more. With `state` locked for writing.
    fn send_to_all(&self, msg: &Message) {
        let _ = self.fanout.send(msg.clone());
        self.lock_indexed()
            .retain(|_, tx| tx.send(msg.clone()).is_ok());
    }

    /// Sends an event to the watches not pinned to a value, and to those
    /// pinned to the object's value, before and after (a pod being bound
    /// leaves the watches of `""` and enters those of its node). With
    /// `state` locked for writing.
    fn send_event(&self, event: Arc<CacheEvent>) {
        if let Some(field) = self.config.indexed_field {
            let now = event.object.field(field).unwrap_or("");
            let before = event.prev.as_deref().map(|p| p.field(field).unwrap_or(""));
            let mut channels = self.lock_indexed();
            for value in std::iter::once(now).chain(before.filter(|b| *b != now)) {
                if let Some(tx) = channels.get(value)
                    && tx.send(Message::Event(event.clone())).is_err()
                {
                    channels.remove(value);
                }
            }
        }
        let _ = self.fanout.send(Message::Event(event));
    }

    /// The entry of a put this apiserver announced, built without decoding.
    fn take_known(&self, kv: &KeyValue) -> Option<CachedObject> {
        let known = {
            let mut map = self.known.lock().unwrap_or_else(|p| p.into_inner());
            if map.get(&kv.key).is_none_or(|k| k.value != kv.value) {
                return None;
            }
            map.remove(&kv.key)?
        };
        let json = crate::registry::codec::with_stored_revision(&kv.value, kv.mod_revision)?;
        Some(CachedObject::new(
            kv.key.clone(),
            known.name,
            known.namespace,
            kv.mod_revision,
            json,
            known.labels,
            known.fields,
        ))
    }
}

/// Follows the storage watch from `revision` until it fails.
async fn follow(inner: &Inner, revision: Revision) -> Result<(), StorageError> {
    let mut stream = inner.storage.watch(&inner.prefix, revision).await?;
    let mut ticker = tokio::time::interval(inner.config.progress_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            msg = stream.recv() => match msg {
                Some(Ok(resp)) => apply(inner, resp.events, resp.revision),
                Some(Err(e)) => return Err(e),
                None => return Err(StorageError::Unavailable("storage watch ended".into())),
            },
            () = inner.wants_progress.notified() => stream.request_progress(),
            _ = ticker.tick() => stream.request_progress(),
        }
    }
}

/// Loads every object and replaces the cache's state with them.
async fn relist(inner: &Inner) -> Result<Revision, StorageError> {
    let mut objects = Vec::new();
    let mut opts = storage::ListOptions {
        limit: Some(10_000),
        ..Default::default()
    };
    let revision = loop {
        let page = inner.storage.list(&inner.prefix, opts.clone()).await?;
        for kv in &page.kvs {
            match (inner.decode)(kv) {
                Ok(obj) => objects.push(Arc::new(obj)),
                Err(e) => tracing::error!(key = %kv.key, error = %e, "skipping undecodable object"),
            }
        }
        if !page.more {
            break page.revision;
        }
        opts.revision = Some(page.revision);
        opts.start_after = page.kvs.last().map(|kv| kv.key.clone());
    };
    let mut state = inner.state.write().unwrap_or_else(|p| p.into_inner());
    let was_ready = *inner.ready.borrow();
    state.reset(objects, revision);
    if was_ready {
        inner.send_to_all(&Message::Reset);
    }
    inner.revision.send_replace(revision);
    inner.ready.send_replace(true);
    tracing::debug!(prefix = %inner.prefix, revision, objects = state.len(), "watch cache listed");
    Ok(revision)
}

/// Applies storage events (decoded outside the lock) and broadcasts them.
fn apply(inner: &Inner, events: Vec<Event>, revision: Revision) {
    let is_progress = events.is_empty();
    let mut decoded = VecDeque::with_capacity(events.len());
    for event in events {
        match event {
            Event::Put { kv, .. } => match inner
                .take_known(&kv)
                .map_or_else(|| (inner.decode)(&kv), Ok)
            {
                Ok(obj) => decoded.push_back(Change::Put(Arc::new(obj))),
                Err(e) => tracing::error!(key = %kv.key, error = %e, "skipping undecodable object"),
            },
            Event::Delete {
                key,
                revision,
                prev,
            } => {
                // A DELETED event carries the last state at the deletion's
                // revision; render it here, outside the lock.
                let last = KeyValue {
                    mod_revision: revision,
                    ..prev
                };
                let rendered = (inner.decode)(&last).ok().map(Arc::new);
                decoded.push_back(Change::Delete(key, revision, rendered));
            }
        }
    }
    let mut state = inner.state.write().unwrap_or_else(|p| p.into_inner());
    for change in decoded {
        let event = match change {
            Change::Put(obj) => state.put(obj),
            Change::Delete(key, rev, rendered) => match state.delete(&key, rev, rendered) {
                Some(ev) => ev,
                None => continue,
            },
        };
        inner.send_event(event);
    }
    if revision > state.revision {
        state.revision = revision;
    }
    if is_progress {
        inner.send_to_all(&Message::Progress(state.revision));
    }
    inner.revision.send_replace(state.revision);
}

enum Change {
    Put(Arc<CachedObject>),
    Delete(String, Revision, Option<Arc<CachedObject>>),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a test decoder reads out of a stored thing (its key, its JSON):
    /// name, labels, fields.
    type Read = fn(
        &str,
        &serde_json::Value,
    ) -> (
        String,
        BTreeMap<String, String>,
        crate::registry::strategy::FieldSet,
    );

    /// A cache of `/registry/<plural>/` over a fresh embedded store, whose
    /// decoder is `read`.
    async fn cache_of(
        plural: &str,
        read: Read,
        config: CacherConfig,
    ) -> (tempfile::TempDir, Arc<dyn Storage>, Cacher) {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage: Arc<dyn Storage> =
            Arc::new(storage::SqliteStorage::open(dir.path()).expect("store"));
        let decode: DecodeFn = Arc::new(move |kv: &KeyValue| {
            let v: serde_json::Value =
                serde_json::from_slice(&kv.value).map_err(|e| ApiError::Internal(e.to_string()))?;
            let (name, labels, fields) = read(&kv.key, &v);
            Ok(CachedObject::new(
                kv.key.clone(),
                name,
                String::new(),
                kv.mod_revision,
                kv.value.clone(),
                labels,
                fields,
            ))
        });
        let prefix = format!("/registry/{plural}/");
        let cacher = Cacher::start(storage.clone(), prefix, decode, config);
        cacher.wait_ready().await;
        (dir, storage, cacher)
    }

    /// Things whose decoder reads the label `from` out of the stored JSON
    /// (`{"l": "..."}`).
    async fn cache() -> (tempfile::TempDir, Arc<dyn Storage>, Cacher) {
        let read = |_: &str, v: &serde_json::Value| {
            let label = v["l"].as_str().unwrap_or_default().to_string();
            let labels = BTreeMap::from([("from".to_string(), label)]);
            ("n".to_string(), labels, Vec::new())
        };
        cache_of("things", read, CacherConfig::default()).await
    }

    /// Pod-like things indexed by `spec.nodeName`, read from the stored
    /// JSON's `node` (absent: unbound).
    async fn node_indexed_cache() -> (tempfile::TempDir, Arc<dyn Storage>, Cacher) {
        node_indexed_cache_of(CacherConfig::default().indexed_capacity).await
    }

    /// The same, with `capacity` events per node channel.
    async fn node_indexed_cache_of(
        capacity: usize,
    ) -> (tempfile::TempDir, Arc<dyn Storage>, Cacher) {
        let read = |key: &str, v: &serde_json::Value| {
            let name = key.rsplit('/').next().unwrap_or_default().to_string();
            let node = v["node"].as_str().unwrap_or_default().to_string();
            (name, BTreeMap::new(), vec![("spec.nodeName", node)])
        };
        let config = CacherConfig {
            indexed_field: Some("spec.nodeName"),
            indexed_capacity: capacity,
            ..CacherConfig::default()
        };
        cache_of("pods", read, config).await
    }

    fn on_node(node: Option<&str>) -> Bytes {
        Bytes::from(match node {
            Some(n) => format!(r#"{{"metadata":{{}},"node":"{n}"}}"#),
            None => r#"{"metadata":{}}"#.to_string(),
        })
    }

    /// What a watch's channel holds right now, as the lines its client
    /// would get: `ADDED x`, `DELETED x` ... (events its filter drops show
    /// as `- x`: they woke it for nothing).
    fn drain(start: &mut WatchStart, filter: &Filter) -> Vec<String> {
        let mut seen = Vec::new();
        while let Ok(msg) = start.live.try_recv() {
            let Message::Event(event) = msg else { continue };
            let kind = match watcher::line_for(&event, filter) {
                None => "-".to_string(),
                Some(line) => {
                    let text = String::from_utf8_lossy(&line).to_string();
                    text.split('"').nth(3).unwrap_or_default().to_string()
                }
            };
            seen.push(format!("{kind} {}", event.object.name));
        }
        seen
    }

    #[tokio::test]
    async fn a_watch_pinned_to_a_node_is_woken_only_by_that_nodes_events() {
        let (_dir, storage, cacher) = node_indexed_cache().await;
        let selector =
            |s: Option<&str>| Filter::parse(None, None, s, &["spec.nodeName"]).expect("filter");
        let filters = [
            selector(Some("spec.nodeName=a")),
            selector(Some("spec.nodeName=b")),
            // The scheduler's view: pods bound nowhere yet.
            selector(Some("spec.nodeName=")),
            // Not pinned: every event.
            selector(Some("spec.nodeName!=b")),
            selector(None),
        ];
        let mut watches: Vec<WatchStart> = filters
            .iter()
            .map(|f| cacher.watch(None, f).expect("watch"))
            .collect();
        // Pinned watches share one channel per value: a, b and "".
        assert_eq!(cacher.indexed_channels(), 3);
        assert_eq!(cacher.watchers(), 5);

        let x = "/registry/pods/x";
        let created = storage.create(x, on_node(None)).await.expect("create x");
        // Bound to a: leaves the unbound watches, enters a's.
        let bound = storage
            .update(x, on_node(Some("a")), created.mod_revision)
            .await
            .expect("bind x");
        let y = storage
            .create("/registry/pods/y", on_node(Some("b")))
            .await
            .expect("create y");
        cacher.wait_fresh(y.mod_revision).await.expect("fresh");

        let seen: Vec<Vec<String>> = watches
            .iter_mut()
            .zip(&filters)
            .map(|(w, f)| drain(w, f))
            .collect();
        assert_eq!(seen[0], ["ADDED x"]);
        assert_eq!(seen[1], ["ADDED y"]);
        assert_eq!(seen[2], ["ADDED x", "DELETED x"]);
        assert_eq!(seen[3], ["ADDED x", "MODIFIED x", "- y"]);
        assert_eq!(seen[4], ["ADDED x", "MODIFIED x", "ADDED y"]);

        // A value's channel goes with its last watch (at the next event
        // for it, or the next progress).
        watches.remove(0);
        let touched = storage
            .update(x, on_node(Some("a")), bound.mod_revision)
            .await
            .expect("touch x");
        cacher
            .wait_fresh(touched.mod_revision)
            .await
            .expect("fresh");
        assert_eq!(cacher.indexed_channels(), 2);
        let _state = cacher.read_state();
        assert_eq!(cacher.inner.lock_indexed().len(), 2);
    }

    fn known(value: &Bytes, label: &str) -> Known {
        Known {
            value: value.clone(),
            name: "n".into(),
            namespace: String::new(),
            labels: BTreeMap::from([("from".to_string(), label.to_string())]),
            fields: Vec::new(),
        }
    }

    /// A stored value whose decoder-visible label is `l`.
    fn stored(l: &str) -> Bytes {
        Bytes::from(format!(
            r#"{{"apiVersion":"v1","kind":"T","metadata":{{}},"l":"{l}"}}"#
        ))
    }

    async fn label_after(cacher: &Cacher, key: &str, rev: Revision) -> String {
        cacher.wait_fresh(rev).await.expect("cache catches up");
        let obj = cacher.get(key).expect("cached");
        obj.labels["from"].clone()
    }

    #[tokio::test]
    async fn a_write_announced_with_its_bytes_is_not_decoded_again() {
        let (_dir, storage, cacher) = cache().await;
        let key = "/registry/things/a";
        let value = stored("decoded");
        cacher.expect(key, known(&value, "announced"));
        let kv = storage.create(key, value.clone()).await.expect("create");
        assert_eq!(
            label_after(&cacher, key, kv.mod_revision).await,
            "announced"
        );
        // Taken once: the map is empty again.
        assert!(cacher.inner.known.lock().expect("lock").is_empty());
        // The entry's JSON still carries the revision the event had.
        let json = cacher.get(key).expect("cached").json.clone();
        let rv = format!("\"resourceVersion\":\"{}\"", kv.mod_revision);
        assert!(memchr::memmem::find(&json, rv.as_bytes()).is_some());
    }

    #[tokio::test]
    async fn other_bytes_under_an_announced_key_are_decoded() {
        let (_dir, storage, cacher) = cache().await;
        let key = "/registry/things/b";
        let written = stored("decoded");
        let other = stored("x");
        cacher.expect(key, known(&other, "announced"));
        let kv = storage.create(key, written).await.expect("create");
        assert_eq!(label_after(&cacher, key, kv.mod_revision).await, "decoded");
        // A withdrawn announcement is gone; withdrawing other bytes is not.
        cacher.forget(key, &Bytes::from_static(b"{}"));
        assert_eq!(cacher.inner.known.lock().expect("lock").len(), 1);
        cacher.forget(key, &other);
        assert!(cacher.inner.known.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn a_pinned_watch_that_falls_behind_ends_and_resumes_without_loss() {
        use futures::StreamExt;

        let (_dir, storage, cacher) = node_indexed_cache_of(4).await;
        let filter =
            Filter::parse(None, None, Some("spec.nodeName=a"), &["spec.nodeName"]).expect("filter");
        let start = cacher.watch(None, &filter).expect("watch");
        let from = start.revision;
        let opts = watcher::WatchOptions {
            bookmarks: false,
            bookmark_interval: Duration::from_secs(60),
            timeout: Duration::from_secs(60),
            initial_events_end: false,
            kind: "Pod",
            api_version: "v1".into(),
        };
        let mut body = watcher::serve(start, filter.clone(), opts, ());
        // Ten events for node a while the client reads nothing: more than
        // its channel holds.
        let mut last = 0;
        for i in 0..10 {
            let kv = storage
                .create(&format!("/registry/pods/p{i}"), on_node(Some("a")))
                .await
                .expect("create");
            last = kv.mod_revision;
        }
        cacher.wait_fresh(last).await.expect("fresh");
        // The watch ends rather than skip events ...
        let ended = tokio::time::timeout(Duration::from_secs(5), body.next())
            .await
            .expect("the lagging watch ends");
        assert!(ended.is_none(), "no partial stream: {ended:?}");
        // ... and the client, re-watching from the last resourceVersion it
        // saw, gets all ten from the history.
        let resumed = cacher.watch(Some(from), &filter).expect("resume");
        let names: Vec<&str> = resumed
            .initial
            .iter()
            .filter(|e| watcher::line_for(e, &filter).is_some())
            .map(|e| e.object.name.as_str())
            .collect();
        let expected: Vec<String> = (0..10).map(|i| format!("p{i}")).collect();
        assert_eq!(names, expected);
    }
}
