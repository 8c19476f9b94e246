//! Act: the taint eviction controller (upstream's
//! `taint-eviction-controller`, once the NoExecuteTaintManager): deletes
//! pods from nodes with `NoExecute` taints they do not tolerate, at once
//! or when their `tolerationSeconds` run out ([`eviction::verdict`]).
//!
//! Pod keys go on a work queue when a pod is bound or its tolerations
//! change, and for every pod of a node whose `NoExecute` taints change. A
//! sync reads the pod and its node from the caches and asks for the
//! verdict; a deadline in the future puts the key back on the queue for
//! then (`add_after`), and the sync at that time decides again from what
//! the caches say by then. So a taint removed in the meantime simply makes
//! the later sync find nothing to do ("Cancelling deletion").
//!
//! Pods already being deleted are left alone.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use api_types::core::v1::{EventSource, Node, ObjectReference, Pod};
use chrono::{DateTime, Utc};
use client::{Api, Client};
use runtime::cache::{BY_NODE, Store, key_of, split_key};
use runtime::events::{EventType, Recorder};
use runtime::informer::{EventHandler, Synced};
use runtime::workqueue::WorkQueue;
use tracing::{debug, info, warn};

use super::eviction::{self, Verdict};
use super::health::Now;
use super::write;

/// Syncs at once.
const WORKERS: usize = 4;

/// The taint eviction controller. Build it with [`TaintEviction::new`],
/// add [`TaintEviction::pod_handler`] to the pod informer (indexed
/// [`BY_NODE`]) and [`TaintEviction::node_handler`] to the node informer,
/// then [`TaintEviction::run`].
#[derive(Clone)]
pub struct TaintEviction {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    nodes: Store<Node>,
    pods: Store<Pod>,
    recorder: Recorder,
    queue: WorkQueue<String>,
    /// Pods with an eviction scheduled, and since when.
    scheduled: Mutex<HashMap<String, DateTime<Utc>>>,
}

fn node_name(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

fn pod_reference(key: &str) -> ObjectReference {
    let (namespace, name) = split_key(key);
    ObjectReference {
        kind: Some("Pod".into()),
        api_version: Some("v1".into()),
        namespace: Some(namespace.into()),
        name: Some(name.into()),
        ..ObjectReference::default()
    }
}

struct PodEvents(Arc<Inner>);

impl EventHandler<Pod> for PodEvents {
    fn on_add(&self, pod: &Arc<Pod>) {
        if node_name(pod).is_some() {
            self.0.queue.add(key_of(pod.as_ref()));
        }
    }
    fn on_update(&self, old: &Arc<Pod>, new: &Arc<Pod>) {
        let tolerations = |p: &Pod| p.spec.as_ref().map(|s| s.tolerations.clone());
        if node_name(old) != node_name(new) || tolerations(old) != tolerations(new) {
            self.0.queue.add(key_of(new.as_ref()));
        }
    }
    fn on_delete(&self, pod: &Arc<Pod>) {
        self.0.queue.add(key_of(pod.as_ref()));
    }
}

struct NodeEvents(Arc<Inner>);

impl NodeEvents {
    fn queue_pods(&self, node: &str) {
        for p in self.0.pods.by_index(BY_NODE, node) {
            self.0.queue.add(key_of(p.as_ref()));
        }
    }
}

impl EventHandler<Node> for NodeEvents {
    fn on_add(&self, n: &Arc<Node>) {
        if !eviction::no_execute_taints(n).is_empty() {
            self.queue_pods(&n.metadata.name);
        }
    }
    fn on_update(&self, old: &Arc<Node>, new: &Arc<Node>) {
        if eviction::no_execute_taints(old) != eviction::no_execute_taints(new) {
            self.queue_pods(&new.metadata.name);
        }
    }
    fn on_delete(&self, n: &Arc<Node>) {
        self.queue_pods(&n.metadata.name);
    }
}

impl TaintEviction {
    /// A controller over the `pods` and `nodes` caches.
    pub fn new(client: Client, pods: Store<Pod>, nodes: Store<Node>) -> Self {
        let recorder = Recorder::new(
            client.clone(),
            EventSource {
                component: Some("taint-eviction-controller".into()),
                host: None,
            },
        );
        TaintEviction {
            inner: Arc::new(Inner {
                client,
                nodes,
                pods,
                recorder,
                queue: WorkQueue::new(),
                scheduled: Mutex::default(),
            }),
        }
    }

    /// What the pod informer must tell this controller.
    pub fn pod_handler(&self) -> Arc<dyn EventHandler<Pod>> {
        Arc::new(PodEvents(self.inner.clone()))
    }

    /// What the node informer must tell this controller.
    pub fn node_handler(&self) -> Arc<dyn EventHandler<Node>> {
        Arc::new(NodeEvents(self.inner.clone()))
    }

    /// Runs the workers until `stop`, once both caches are synced.
    pub async fn run(
        self,
        mut nodes_synced: Synced,
        mut pods_synced: Synced,
        stop: impl Future<Output = ()> + Send,
    ) {
        let mut stop = std::pin::pin!(stop);
        let synced = async {
            nodes_synced.wait().await;
            pods_synced.wait().await;
        };
        let mut tasks = Vec::new();
        let started = tokio::select! {
            () = synced => true,
            () = &mut stop => false,
        };
        if started {
            info!("taint eviction controller started");
            for _ in 0..WORKERS {
                tasks.push(tokio::spawn(self.inner.clone().worker()));
            }
            stop.await;
        }
        self.inner.queue.shut_down();
        for t in tasks {
            let _ = t.await;
        }
    }
}

impl Inner {
    fn scheduled(&self) -> MutexGuard<'_, HashMap<String, DateTime<Utc>>> {
        self.scheduled.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn worker(self: Arc<Self>) {
        while let Some(key) = self.queue.get().await {
            match self.sync(&key).await {
                Ok(()) => self.queue.forget(&key),
                Err(e) => {
                    warn!(pod = %key, error = %e, "eviction failed; retrying");
                    self.queue.add_rate_limited(key.clone());
                }
            }
            self.queue.done(&key);
        }
    }

    /// Drops the pod's scheduled eviction, saying so if there was one.
    fn cancel(&self, key: &str) {
        if self.scheduled().remove(key).is_some() {
            info!(pod = %key, "cancelling the scheduled eviction");
            self.recorder.event(
                &pod_reference(key),
                EventType::Normal,
                "TaintManagerEviction",
                &format!("Cancelling deletion of Pod {key}"),
            );
        }
    }

    /// One pod: evict it now, later, or not at all.
    async fn sync(&self, key: &str) -> Result<(), client::Error> {
        let Some(pod) = self.pods.get(key) else {
            self.cancel(key);
            return Ok(());
        };
        if pod.metadata.deletion_timestamp.is_some() {
            self.scheduled().remove(key);
            return Ok(());
        }
        let Some(node) = node_name(&pod).and_then(|n| self.nodes.get(n)) else {
            self.cancel(key);
            return Ok(());
        };
        let taints = eviction::no_execute_taints(&node);
        let now = Now::read();
        let since = self.scheduled().get(key).copied().unwrap_or(now.wall);
        let tolerations = pod
            .spec
            .as_ref()
            .and_then(|s| s.tolerations.as_deref())
            .unwrap_or(&[]);
        match eviction::verdict(&taints, tolerations, since) {
            Verdict::Stay => {
                self.cancel(key);
                Ok(())
            }
            Verdict::EvictAt(at) if at > now.wall => {
                self.scheduled().entry(key.to_string()).or_insert(now.wall);
                let wait = (at - now.wall).to_std().unwrap_or_default();
                debug!(pod = %key, node = %node.metadata.name, ?wait, "eviction scheduled");
                self.queue.add_after(key.to_string(), wait);
                Ok(())
            }
            Verdict::EvictAt(_) | Verdict::EvictNow => self.evict(key, &pod, now).await,
        }
    }

    async fn evict(&self, key: &str, pod: &Pod, now: Now) -> Result<(), client::Error> {
        info!(pod = %key, node = node_name(pod).unwrap_or(""), "deleting pod for a NoExecute taint");
        self.recorder.event(
            &pod_reference(key),
            EventType::Normal,
            "TaintManagerEviction",
            &format!("Marking for deletion Pod {key}"),
        );
        let (namespace, _) = split_key(key);
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        write::evict(&api, pod, now.time()).await?;
        self.scheduled().remove(key);
        Ok(())
    }
}
