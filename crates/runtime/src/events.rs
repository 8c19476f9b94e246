//! Recording core/v1 Events: client-go's `tools/record` (`EventRecorder`,
//! `EventBroadcaster`, `EventCorrelator`).
//!
//! Components tell users what they did (`Scheduled`, `FailedScheduling`,
//! `Pulled` ...) as Events about an object, shown by `kubectl describe`
//! and `kubectl get events`. Recording one must never slow down or fail the
//! component, and a component stuck in a loop must not flood the
//! apiserver, so:
//!
//! 1. [`Recorder::event`] builds the Event and hands it to a bounded queue
//!    without waiting; when the queue is full the event is dropped (and
//!    logged).
//! 2. One background task takes them in order and runs the [`Correlator`]:
//!    - **dedup**: an identical event (same object, type, reason, message,
//!      source) seen before is written as a PATCH of the first one's
//!      `count`, `lastTimestamp` and `message` instead of a new object;
//!    - **aggregation**: once 10 events with the same object, type and
//!      reason but different messages have been seen within 10 minutes,
//!      further ones are folded into a single event whose message starts
//!      with `(combined from similar events): `;
//!    - **spam filter**: per source and object a token bucket (burst 25,
//!      one more every 5 minutes); events beyond it are dropped.
//! 3. It writes the result through an [`EventSink`] (the apiserver, or a
//!    fake in tests), retrying network failures up to 12 times, 10 s apart.
//!
//! Errors are logged with `tracing`, never returned to the caller.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

use api_types::Resource;
use api_types::core::v1::{Event, EventSource, ObjectReference};
use api_types::meta::v1::{ObjectMeta, Time};
use chrono::{DateTime, SubsecRound, Utc};
use client::{Api, Client, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, warn};

/// Events waiting to be written before new ones are dropped
/// (client-go's `maxQueuedEvents`).
pub const MAX_QUEUED_EVENTS: usize = 1000;
/// Attempts at writing one event (client-go's `maxTriesPerEvent`).
const MAX_TRIES: u32 = 12;
/// Pause between attempts; the first is a random part of it, so recorders
/// do not all retry together when the apiserver comes back.
const RETRY_SLEEP: Duration = Duration::from_secs(10);

/// Entries kept by each of the correlator's caches.
const LRU_ENTRIES: usize = 4096;
/// Distinct messages after which similar events are combined.
const AGGREGATE_MAX_EVENTS: usize = 10;
/// How long similar events are remembered for aggregation.
const AGGREGATE_INTERVAL: chrono::TimeDelta = chrono::TimeDelta::seconds(600);
/// Prefix of combined events' messages.
pub const COMBINED_PREFIX: &str = "(combined from similar events): ";
/// Spam filter: events a source may burst about one object ...
const SPAM_BURST: f64 = 25.0;
/// ... and the refill rate afterwards (one per 5 minutes).
const SPAM_QPS: f64 = 1.0 / 300.0;

/// `Normal` or `Warning`, the only types Kubernetes defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reference to `obj` for an Event's `involvedObject` (client-go's
/// `reference.GetReference`): kind, apiVersion, namespace, name, uid and
/// resourceVersion.
pub fn object_reference<K: Resource>(obj: &K) -> ObjectReference {
    let m = obj.metadata();
    let some = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
    ObjectReference {
        kind: Some(K::KIND.to_string()),
        api_version: Some(K::API_VERSION.to_string()),
        namespace: some(&m.namespace),
        name: some(&m.name),
        uid: some(&m.uid),
        resource_version: some(&m.resource_version),
        field_path: None,
    }
}

/// Where recorded events are written: the apiserver
/// ([`Client`]'s implementation), or a fake in tests.
pub trait EventSink: Send + Sync + 'static {
    /// Creates `event` in its namespace.
    fn create(&self, event: &Event) -> impl Future<Output = client::Result<Event>> + Send;
    /// Applies the merge patch `patch` to the existing `event`.
    fn patch(
        &self,
        event: &Event,
        patch: &serde_json::Value,
    ) -> impl Future<Output = client::Result<Event>> + Send;
}

impl EventSink for Client {
    async fn create(&self, event: &Event) -> client::Result<Event> {
        Api::<Event>::namespaced(self.clone(), &event.metadata.namespace)
            .create(&PostParams::default(), event)
            .await
    }

    async fn patch(&self, event: &Event, patch: &serde_json::Value) -> client::Result<Event> {
        Api::<Event>::namespaced(self.clone(), &event.metadata.namespace)
            .patch(
                &event.metadata.name,
                &PatchParams::default(),
                &Patch::Merge(patch.clone()),
            )
            .await
    }
}

enum Msg {
    Event(Box<Event>),
    /// Acknowledged once everything queued before it is written (or given
    /// up on).
    Flush(oneshot::Sender<()>),
}

/// Records Events as one component (`source`). Cheap to clone; every clone
/// feeds the same background writer, which ends when the last clone is
/// dropped.
#[derive(Clone, Debug)]
pub struct Recorder {
    tx: mpsc::Sender<Msg>,
    source: EventSource,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Event(e) => f.debug_tuple("Event").field(&e.metadata.name).finish(),
            Msg::Flush(_) => f.write_str("Flush"),
        }
    }
}

impl Recorder {
    /// A recorder writing to the apiserver as `source` (e.g. component
    /// `default-scheduler`, host the node name). `source.component` becomes
    /// the events' `reportingComponent`, `source.host` their
    /// `reportingInstance`.
    ///
    /// Spawns the writer on the current Tokio runtime; outside one, events
    /// are dropped with a warning.
    pub fn new(client: Client, source: EventSource) -> Recorder {
        Recorder::with_sink(client, source)
    }

    /// A recorder writing to `sink`.
    pub fn with_sink<S: EventSink>(sink: S, source: EventSource) -> Recorder {
        let (tx, rx) = mpsc::channel(MAX_QUEUED_EVENTS);
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(write_events(sink, rx, Correlator::default(), RETRY_SLEEP));
            }
            Err(_) => warn!("no Tokio runtime: events will not be recorded"),
        }
        Recorder { tx, source }
    }

    pub fn source(&self) -> &EventSource {
        &self.source
    }

    /// Records that `reason` (short, CamelCase: `FailedScheduling`)
    /// happened to `regarding`, with a human-readable `message`.
    ///
    /// Never waits and never fails: the event is queued for the background
    /// writer, or dropped (and logged) when the queue is full.
    pub fn event(
        &self,
        regarding: &ObjectReference,
        type_: EventType,
        reason: &str,
        message: &str,
    ) {
        let Some(event) = self.make_event(regarding, type_, reason, message, Utc::now()) else {
            warn!(
                ?regarding,
                reason, "cannot record an event about an object without a name"
            );
            return;
        };
        match self.tx.try_send(Msg::Event(Box::new(event))) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                warn!(reason, "event queue is full, dropping the event");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                debug!(reason, "event writer has stopped, dropping the event");
            }
        }
    }

    /// Waits until every event recorded before this call is written (or
    /// given up on); for orderly shutdown and tests.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// The Event as upstream's `makeEvent` builds it: named
    /// `<object name>.<nanoseconds in hex>`, in the object's namespace
    /// (`default` for cluster-scoped objects such as Nodes), count 1.
    fn make_event(
        &self,
        regarding: &ObjectReference,
        type_: EventType,
        reason: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> Option<Event> {
        let name = regarding.name.as_deref().filter(|n| !n.is_empty())?;
        let namespace = regarding
            .namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or("default");
        let t = Time(now.trunc_subsecs(0));
        Some(Event {
            metadata: ObjectMeta {
                name: event_name(name, now),
                namespace: namespace.to_string(),
                ..ObjectMeta::default()
            },
            involved_object: regarding.clone(),
            reason: Some(reason.to_string()),
            message: Some(message.to_string()),
            source: Some(self.source.clone()),
            first_timestamp: Some(t),
            last_timestamp: Some(t),
            count: Some(1),
            type_: Some(type_.as_str().to_string()),
            reporting_component: self.source.component.clone().unwrap_or_default(),
            reporting_instance: self.source.host.clone().unwrap_or_default(),
            ..Event::default()
        })
    }
}

fn event_name(object: &str, now: DateTime<Utc>) -> String {
    let nanos = now.timestamp_nanos_opt().unwrap_or_default();
    format!("{object}.{nanos:x}")
}

/// The background writer: correlate, then write, one event at a time.
async fn write_events<S: EventSink>(
    sink: S,
    mut rx: mpsc::Receiver<Msg>,
    mut correlator: Correlator,
    retry_sleep: Duration,
) {
    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Event(event) => {
                let Some(write) = correlator.correlate(*event, Utc::now()) else {
                    continue;
                };
                if let Some(written) = write_with_retries(&sink, &write, retry_sleep).await {
                    correlator.update_state(&write.key, &written);
                }
            }
            Msg::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Writes one correlated event; `None` when given up on.
async fn write_with_retries<S: EventSink>(
    sink: &S,
    write: &Correlated,
    retry_sleep: Duration,
) -> Option<Event> {
    let event = &write.event;
    let mut tries = 0;
    loop {
        let result = match &write.patch {
            Some(patch) => match sink.patch(event, patch).await {
                // Deleted meanwhile (events expire after an hour): create
                // it again, count and all.
                Err(e) if e.is_not_found() => {
                    let mut fresh = event.clone();
                    fresh.metadata.resource_version.clear();
                    sink.create(&fresh).await
                }
                r => r,
            },
            None => sink.create(event).await,
        };
        let e = match result {
            Ok(written) => return Some(written),
            Err(e) => e,
        };
        // Network trouble and an overloaded apiserver are worth retrying
        // (client-go also gives up on 429/5xx; waiting is kinder to users).
        // Anything else the server said will not change.
        if !e.is_transient() {
            let terminating = e
                .status()
                .and_then(|s| s.details.as_ref())
                .is_some_and(|d| d.causes.iter().any(|c| c.reason == "NamespaceTerminating"));
            if e.is_already_exists() || terminating {
                debug!(event = %event.metadata.key(), error = %e, "event not written");
            } else {
                error!(event = %event.metadata.key(), error = %e, "server rejected event (will not retry)");
            }
            return None;
        }
        tries += 1;
        if tries >= MAX_TRIES {
            error!(event = %event.metadata.key(), error = %e, "cannot write event, retry limit exceeded");
            return None;
        }
        warn!(event = %event.metadata.key(), error = %e, "cannot write event, will retry");
        let sleep = if tries == 1 {
            retry_sleep.mul_f64(rand::random::<f64>())
        } else {
            retry_sleep
        };
        tokio::time::sleep(sleep).await;
    }
}

/// What to write for one recorded event.
#[derive(Clone, Debug, PartialEq)]
pub struct Correlated {
    /// The event as it should end up (count, name of the existing one).
    pub event: Event,
    /// `Some`: a merge patch of the existing event (`count`,
    /// `lastTimestamp`, `message`); `None`: create `event`.
    pub patch: Option<serde_json::Value>,
    /// The dedup cache entry to update with the written event.
    key: String,
}

/// A small least-recently-used map (client-go uses `golang-lru`): each
/// cache of the correlator forgets its oldest entries past 4096.
#[derive(Debug)]
struct Lru<V> {
    capacity: usize,
    tick: u64,
    entries: HashMap<String, (V, u64)>,
    by_age: BTreeMap<u64, String>,
}

impl<V> Lru<V> {
    fn new(capacity: usize) -> Self {
        Lru {
            capacity: capacity.max(1),
            tick: 0,
            entries: HashMap::new(),
            by_age: BTreeMap::new(),
        }
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// The entry for `key`, marked as just used.
    fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        let tick = self.next_tick();
        let (_, used) = self.entries.get_mut(key)?;
        let old = std::mem::replace(used, tick);
        if let Some(k) = self.by_age.remove(&old) {
            self.by_age.insert(tick, k);
        }
        self.entries.get_mut(key).map(|(v, _)| v)
    }

    fn insert(&mut self, key: String, value: V) {
        let tick = self.next_tick();
        if let Some((_, old)) = self.entries.insert(key.clone(), (value, tick)) {
            self.by_age.remove(&old);
        }
        self.by_age.insert(tick, key);
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
    }
}

/// Similar events seen recently (client-go's `aggregateRecord`).
#[derive(Debug)]
struct AggregateRecord {
    messages: HashSet<String>,
    last: DateTime<Utc>,
}

/// The last write of an event (client-go's `eventLog`).
#[derive(Debug)]
struct Observation {
    count: i32,
    first_timestamp: Option<Time>,
    name: String,
    resource_version: String,
}

/// A source's token bucket about one object.
#[derive(Debug)]
struct SpamBucket {
    tokens: f64,
    last: DateTime<Utc>,
}

impl SpamBucket {
    fn try_accept(&mut self, now: DateTime<Utc>) -> bool {
        let elapsed = (now - self.last).as_seconds_f64().max(0.0);
        self.tokens = (self.tokens + elapsed * SPAM_QPS).min(SPAM_BURST);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Dedup, aggregation and spam filtering of events before they are
/// written (client-go's `EventCorrelator`), as a pure state machine: the
/// caller passes the time, writes what [`correlate`](Correlator::correlate)
/// says and reports the result with
/// [`update_state`](Correlator::update_state).
#[derive(Debug)]
pub struct Correlator {
    aggregates: Lru<AggregateRecord>,
    observations: Lru<Observation>,
    spam: Lru<SpamBucket>,
}

impl Default for Correlator {
    fn default() -> Self {
        Correlator {
            aggregates: Lru::new(LRU_ENTRIES),
            observations: Lru::new(LRU_ENTRIES),
            spam: Lru::new(LRU_ENTRIES),
        }
    }
}

/// Joins key parts with a separator that cannot occur in them (upstream
/// concatenates without one, so `a`+`bc` equals `ab`+`c`).
fn join(parts: &[&str]) -> String {
    parts.join("\u{0}")
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or_default()
}

fn source_parts(e: &Event) -> [&str; 2] {
    let src = e.source.as_ref();
    [
        src.map(|src| s(&src.component)).unwrap_or_default(),
        src.map(|src| s(&src.host)).unwrap_or_default(),
    ]
}

/// Who reported about which object: the spam filter's key.
fn spam_key(e: &Event) -> String {
    let o = &e.involved_object;
    let [component, host] = source_parts(e);
    join(&[
        component,
        host,
        s(&o.kind),
        s(&o.namespace),
        s(&o.name),
        s(&o.uid),
        s(&o.api_version),
    ])
}

/// Everything but the message: events aggregated together.
fn aggregate_key(e: &Event) -> String {
    let o = &e.involved_object;
    let [component, host] = source_parts(e);
    join(&[
        "aggregate",
        component,
        host,
        s(&o.kind),
        s(&o.namespace),
        s(&o.name),
        s(&o.uid),
        s(&o.api_version),
        s(&e.type_),
        s(&e.reason),
        &e.reporting_component,
        &e.reporting_instance,
    ])
}

/// Everything: identical events, counted on one object.
fn event_key(e: &Event) -> String {
    let o = &e.involved_object;
    let [component, host] = source_parts(e);
    join(&[
        "event",
        component,
        host,
        s(&o.kind),
        s(&o.namespace),
        s(&o.name),
        s(&o.field_path),
        s(&o.uid),
        s(&o.api_version),
        s(&e.type_),
        s(&e.reason),
        s(&e.message),
    ])
}

impl Correlator {
    /// What to write for `event`, recorded at `now`; `None` when the spam
    /// filter drops it.
    pub fn correlate(&mut self, event: Event, now: DateTime<Utc>) -> Option<Correlated> {
        let (event, key) = self.aggregate(event, now);
        let (event, patch) = self.observe(event, &key);
        // Filtered after being counted, as upstream: the next event that
        // passes carries the true count.
        let bucket_key = spam_key(&event);
        let accepted = match self.spam.get_mut(&bucket_key) {
            Some(bucket) => bucket.try_accept(now),
            None => {
                let mut bucket = SpamBucket {
                    tokens: SPAM_BURST,
                    last: now,
                };
                let accepted = bucket.try_accept(now);
                self.spam.insert(bucket_key, bucket);
                accepted
            }
        };
        if !accepted {
            debug!(event = %event.metadata.key(), reason = s(&event.reason), "event dropped by the spam filter");
            return None;
        }
        Some(Correlated { event, patch, key })
    }

    /// Remembers the written event, so the next repeat patches the current
    /// resourceVersion and count.
    pub fn update_state(&mut self, key: &str, written: &Event) {
        self.observations.insert(
            key.to_string(),
            Observation {
                count: written.count.unwrap_or(1),
                first_timestamp: written.first_timestamp,
                name: written.metadata.name.clone(),
                resource_version: written.metadata.resource_version.clone(),
            },
        );
    }

    /// `EventAggregate`: the event itself with its dedup key, or, for the
    /// 10th and later distinct message of a kind within 10 minutes, a
    /// combined event keyed by its kind.
    fn aggregate(&mut self, event: Event, now: DateTime<Utc>) -> (Event, String) {
        let agg_key = aggregate_key(&event);
        let message = s(&event.message).to_string();
        let fresh = self
            .aggregates
            .get_mut(&agg_key)
            .is_none_or(|r| now - r.last > AGGREGATE_INTERVAL);
        if fresh {
            self.aggregates.insert(
                agg_key.clone(),
                AggregateRecord {
                    messages: HashSet::new(),
                    last: now,
                },
            );
        }
        let Some(record) = self.aggregates.get_mut(&agg_key) else {
            let key = event_key(&event);
            return (event, key);
        };
        record.last = now;
        record.messages.insert(message);
        if record.messages.len() < AGGREGATE_MAX_EVENTS {
            let key = event_key(&event);
            return (event, key);
        }
        // Keep the set bounded: forget one message (any).
        if let Some(any) = record.messages.iter().next().cloned() {
            record.messages.remove(&any);
        }
        let name = s(&event.involved_object.name).to_string();
        let t = Time(now.trunc_subsecs(0));
        let combined = Event {
            metadata: ObjectMeta {
                name: event_name(&name, now),
                namespace: event.metadata.namespace.clone(),
                ..ObjectMeta::default()
            },
            message: Some(format!("{COMBINED_PREFIX}{}", s(&event.message))),
            first_timestamp: Some(t),
            last_timestamp: Some(t),
            count: Some(1),
            ..event
        };
        (combined, agg_key)
    }

    /// `eventObserve`: a repeat of an event already written becomes a
    /// patch of that one, one count higher.
    fn observe(&mut self, mut event: Event, key: &str) -> (Event, Option<serde_json::Value>) {
        let mut patch = None;
        if let Some(last) = self.observations.get_mut(key).filter(|o| o.count > 0) {
            event.metadata.name.clone_from(&last.name);
            event
                .metadata
                .resource_version
                .clone_from(&last.resource_version);
            event.first_timestamp = last.first_timestamp;
            event.count = Some(last.count.saturating_add(1));
            patch = Some(json!({
                "count": event.count,
                "lastTimestamp": event.last_timestamp,
                "message": event.message,
            }));
        }
        self.observations.insert(
            key.to_string(),
            Observation {
                count: event.count.unwrap_or(1),
                first_timestamp: event.first_timestamp,
                name: event.metadata.name.clone(),
                resource_version: event.metadata.resource_version.clone(),
            },
        );
        (event, patch)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use api_types::core::v1::{Node, Pod};
    use api_types::meta::v1::Status;

    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_714_557_600 + secs, 123_456_789).expect("time")
    }

    fn recorder() -> Recorder {
        // Never runs a writer: only `make_event` is used.
        let (tx, _) = mpsc::channel(1);
        Recorder {
            tx,
            source: EventSource {
                component: Some("default-scheduler".into()),
                host: Some("cp-1".into()),
            },
        }
    }

    fn pod_ref(name: &str) -> ObjectReference {
        ObjectReference {
            kind: Some("Pod".into()),
            api_version: Some("v1".into()),
            namespace: Some("team-a".into()),
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            ..ObjectReference::default()
        }
    }

    fn ev(name: &str, reason: &str, message: &str, now: DateTime<Utc>) -> Event {
        recorder()
            .make_event(&pod_ref(name), EventType::Warning, reason, message, now)
            .expect("event")
    }

    /// Correlates and "writes" (the server sets resourceVersion).
    fn write(c: &mut Correlator, e: Event, now: DateTime<Utc>) -> Option<Correlated> {
        let out = c.correlate(e, now)?;
        let mut written = out.event.clone();
        written.metadata.resource_version = format!("rv-{}", out.event.count.unwrap_or(0));
        c.update_state(&out.key, &written);
        Some(out)
    }

    #[test]
    fn references_name_the_object() {
        let mut pod = Pod::default();
        pod.metadata.name = "web".into();
        pod.metadata.namespace = "team-a".into();
        pod.metadata.uid = "u1".into();
        pod.metadata.resource_version = "42".into();
        let r = object_reference(&pod);
        assert_eq!(r.kind.as_deref(), Some("Pod"));
        assert_eq!(r.api_version.as_deref(), Some("v1"));
        assert_eq!(r.namespace.as_deref(), Some("team-a"));
        assert_eq!(r.name.as_deref(), Some("web"));
        assert_eq!(r.uid.as_deref(), Some("u1"));
        assert_eq!(r.resource_version.as_deref(), Some("42"));

        let mut node = Node::default();
        node.metadata.name = "node-1".into();
        let r = object_reference(&node);
        assert_eq!(r.namespace, None, "cluster-scoped");
    }

    #[test]
    fn events_are_made_as_upstream_makes_them() {
        let now = at(0);
        let e = ev("web", "FailedScheduling", "0/3 nodes are available", now);
        assert_eq!(
            e.metadata.name,
            format!("web.{:x}", now.timestamp_nanos_opt().expect("nanos"))
        );
        assert_eq!(e.metadata.namespace, "team-a");
        assert_eq!(e.type_.as_deref(), Some("Warning"));
        assert_eq!(e.count, Some(1));
        assert_eq!(e.first_timestamp, Some(Time(now.trunc_subsecs(0))));
        assert_eq!(e.first_timestamp, e.last_timestamp);
        assert_eq!(e.reporting_component, "default-scheduler");
        assert_eq!(e.reporting_instance, "cp-1");
        assert_eq!(e.involved_object, pod_ref("web"));
        assert_eq!(e.event_time, None, "a core/v1 (legacy) event");

        let node = ObjectReference {
            kind: Some("Node".into()),
            name: Some("node-1".into()),
            ..ObjectReference::default()
        };
        let e = recorder()
            .make_event(&node, EventType::Normal, "Starting", "", now)
            .expect("event");
        assert_eq!(e.metadata.namespace, "default");

        let nameless = ObjectReference::default();
        assert!(
            recorder()
                .make_event(&nameless, EventType::Normal, "X", "", now)
                .is_none()
        );
    }

    #[test]
    fn repeats_patch_the_first_event() {
        let mut c = Correlator::default();
        let first = write(&mut c, ev("web", "BackOff", "restarting", at(0)), at(0)).expect("kept");
        assert_eq!(first.patch, None, "created");
        assert_eq!(first.event.count, Some(1));

        let second = write(&mut c, ev("web", "BackOff", "restarting", at(5)), at(5)).expect("kept");
        assert_eq!(second.event.metadata.name, first.event.metadata.name);
        assert_eq!(second.event.metadata.resource_version, "rv-1");
        assert_eq!(second.event.count, Some(2));
        assert_eq!(second.event.first_timestamp, first.event.first_timestamp);
        assert_eq!(
            second.patch,
            Some(json!({
                "count": 2,
                "lastTimestamp": Time(at(5).trunc_subsecs(0)),
                "message": "restarting",
            }))
        );

        let third = write(&mut c, ev("web", "BackOff", "restarting", at(9)), at(9)).expect("kept");
        assert_eq!(third.event.count, Some(3));
        assert_eq!(third.event.metadata.resource_version, "rv-2");

        // Another message or another object is another event.
        let other = write(&mut c, ev("web", "BackOff", "other", at(9)), at(9)).expect("kept");
        assert_eq!(other.patch, None);
        let other = write(&mut c, ev("db", "BackOff", "restarting", at(9)), at(9)).expect("kept");
        assert_eq!(other.patch, None);
    }

    #[test]
    fn the_tenth_distinct_message_is_combined() {
        let mut c = Correlator::default();
        for i in 0..9 {
            let out =
                write(&mut c, ev("web", "Failed", &format!("m{i}"), at(i)), at(i)).expect("kept");
            assert_eq!(out.patch, None);
            assert_eq!(out.event.message, Some(format!("m{i}")));
        }
        let combined = write(&mut c, ev("web", "Failed", "m9", at(9)), at(9)).expect("kept");
        assert_eq!(
            combined.event.message.as_deref(),
            Some("(combined from similar events): m9")
        );
        assert_eq!(combined.patch, None, "a new event");
        assert_eq!(combined.event.count, Some(1));
        assert!(combined.event.metadata.name.starts_with("web."));
        assert_eq!(combined.event.reason.as_deref(), Some("Failed"));

        let next = write(&mut c, ev("web", "Failed", "m10", at(10)), at(10)).expect("kept");
        assert_eq!(next.event.metadata.name, combined.event.metadata.name);
        assert_eq!(next.event.count, Some(2));
        assert_eq!(
            next.patch.as_ref().and_then(|p| p["message"].as_str()),
            Some("(combined from similar events): m10")
        );

        // Another reason is counted apart.
        let apart = write(&mut c, ev("web", "Other", "m11", at(11)), at(11)).expect("kept");
        assert_eq!(apart.event.message.as_deref(), Some("m11"));
    }

    #[test]
    fn aggregation_forgets_after_ten_minutes() {
        let mut c = Correlator::default();
        for i in 0..9 {
            write(&mut c, ev("web", "Failed", &format!("m{i}"), at(i)), at(i)).expect("kept");
        }
        let later = at(8 + 601);
        let out = write(&mut c, ev("web", "Failed", "m9", later), later).expect("kept");
        assert_eq!(out.event.message.as_deref(), Some("m9"), "a fresh window");
    }

    #[test]
    fn the_spam_filter_allows_a_burst_then_one_per_five_minutes() {
        let mut c = Correlator::default();
        let now = at(0);
        for i in 0..25 {
            let reason = format!("R{i}");
            assert!(
                write(&mut c, ev("web", &reason, "m", now), now).is_some(),
                "event {i}"
            );
        }
        assert!(
            write(&mut c, ev("web", "R", "m", now), now).is_none(),
            "26th dropped"
        );
        assert!(
            write(&mut c, ev("db", "R", "m", now), now).is_some(),
            "per object"
        );
        let soon = at(299);
        assert!(write(&mut c, ev("web", "R", "m", soon), soon).is_none());
        let later = at(301);
        assert!(write(&mut c, ev("web", "R", "m", later), later).is_some());
        assert!(write(&mut c, ev("web", "R", "m", later), later).is_none());
    }

    #[test]
    fn the_lru_forgets_the_least_recently_used() {
        let mut lru = Lru::new(2);
        lru.insert("a".to_string(), 1);
        lru.insert("b".to_string(), 2);
        assert_eq!(lru.get_mut("a").copied(), Some(1));
        lru.insert("c".to_string(), 3);
        assert_eq!(lru.entries.len(), 2);
        assert!(lru.get_mut("b").is_none(), "b was oldest");
        assert!(lru.get_mut("a").is_some());
        assert!(lru.get_mut("c").is_some());
        lru.insert("a".to_string(), 10);
        assert_eq!(lru.entries.len(), 2);
        assert_eq!(lru.get_mut("a").copied(), Some(10));
    }

    #[derive(Clone, Debug, PartialEq)]
    enum Call {
        Create(String, i32),
        Patch(String, serde_json::Value),
    }

    /// Records calls; fails the first ones with the queued errors.
    #[derive(Clone, Default)]
    struct FakeSink {
        calls: Arc<Mutex<Vec<Call>>>,
        failures: Arc<Mutex<Vec<client::Error>>>,
    }

    fn api_error(code: u16, reason: &str) -> client::Error {
        client::Error::Api(Box::new(Status::failure(code, reason, reason)))
    }

    impl FakeSink {
        fn calls(&self) -> Vec<Call> {
            self.calls.lock().expect("lock").clone()
        }

        fn fail_with(&self, e: client::Error) {
            self.failures.lock().expect("lock").push(e);
        }

        fn next_failure(&self) -> Option<client::Error> {
            let mut f = self.failures.lock().expect("lock");
            (!f.is_empty()).then(|| f.remove(0))
        }
    }

    impl EventSink for FakeSink {
        async fn create(&self, event: &Event) -> client::Result<Event> {
            self.calls.lock().expect("lock").push(Call::Create(
                event.metadata.name.clone(),
                event.count.unwrap_or(0),
            ));
            if let Some(e) = self.next_failure() {
                return Err(e);
            }
            let mut written = event.clone();
            written.metadata.resource_version = "1".into();
            Ok(written)
        }

        async fn patch(&self, event: &Event, patch: &serde_json::Value) -> client::Result<Event> {
            self.calls
                .lock()
                .expect("lock")
                .push(Call::Patch(event.metadata.name.clone(), patch.clone()));
            if let Some(e) = self.next_failure() {
                return Err(e);
            }
            Ok(event.clone())
        }
    }

    fn source() -> EventSource {
        EventSource {
            component: Some("test".into()),
            host: None,
        }
    }

    #[tokio::test]
    async fn the_writer_creates_then_patches() {
        let sink = FakeSink::default();
        let r = Recorder::with_sink(sink.clone(), source());
        for _ in 0..3 {
            r.event(&pod_ref("web"), EventType::Normal, "Pulled", "pulled image");
        }
        r.flush().await;
        let calls = sink.calls();
        assert_eq!(calls.len(), 3, "{calls:?}");
        let Call::Create(name, 1) = &calls[0] else {
            panic!("first call creates: {calls:?}");
        };
        assert!(matches!(&calls[1], Call::Patch(n, p) if n == name && p["count"] == 2));
        assert!(matches!(&calls[2], Call::Patch(n, p) if n == name && p["count"] == 3));
    }

    #[tokio::test]
    async fn a_deleted_event_is_created_again() {
        let sink = FakeSink::default();
        let r = Recorder::with_sink(sink.clone(), source());
        r.event(&pod_ref("web"), EventType::Normal, "Pulled", "x");
        r.flush().await;
        sink.fail_with(api_error(404, "NotFound"));
        r.event(&pod_ref("web"), EventType::Normal, "Pulled", "x");
        r.flush().await;
        let calls = sink.calls();
        assert!(matches!(&calls[1], Call::Patch(..)), "{calls:?}");
        assert!(matches!(&calls[2], Call::Create(_, 2)), "{calls:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_retried_rejections_are_not() {
        let sink = FakeSink::default();
        let r = Recorder::with_sink(sink.clone(), source());
        sink.fail_with(api_error(503, "ServiceUnavailable"));
        sink.fail_with(api_error(503, "ServiceUnavailable"));
        r.event(&pod_ref("web"), EventType::Normal, "A", "x");
        r.flush().await;
        assert_eq!(sink.calls().len(), 3, "two failures, then written");

        sink.fail_with(api_error(422, "Invalid"));
        r.event(&pod_ref("web"), EventType::Normal, "B", "x");
        r.flush().await;
        assert_eq!(sink.calls().len(), 4, "not retried");

        for _ in 0..MAX_TRIES + 5 {
            sink.fail_with(api_error(503, "ServiceUnavailable"));
        }
        r.event(&pod_ref("web"), EventType::Normal, "C", "x");
        r.flush().await;
        assert_eq!(sink.calls().len(), 4 + MAX_TRIES as usize, "gave up");
    }

    #[test]
    fn outside_a_runtime_events_are_dropped_quietly() {
        let r = Recorder::with_sink(FakeSink::default(), source());
        r.event(&pod_ref("web"), EventType::Normal, "A", "x");
    }
}
