//! The pod pipeline: informer events → work queue → workers that decide
//! ([`crate::pod::decide`]) and act through the apiserver.
//!
//! This is the kubelet's pod workers in miniature. Events only queue keys;
//! a worker reads the pod from the informer's cache (the latest state, not
//! the event's), so a burst of updates to one pod costs one sync. Up to
//! `concurrency` pods are synced at once; a failed write is retried with
//! backoff. Address bookkeeping (allocate on start, release when the pod
//! is gone) lives on each node behind its own lock.

use std::sync::Arc;

use api_types::core::v1::Pod;
use api_types::meta::v1::{DeleteOptions, Preconditions, Time};
use client::{Api, Patch, PatchParams};
use runtime::cache::{BY_NODE, Store, key_of, split_key};
use runtime::informer::EventHandler;

use crate::ack::Ack;
use crate::pod::{PodAction, Started, current_ip, decide, host_network, running_patch};
use crate::queue::WorkQueue;
use crate::simulator::{Shared, SimNode, Stats};

/// The informer's handler: queues pods on our nodes that need something.
pub(crate) struct PodEvents {
    shared: Arc<Shared>,
    queue: WorkQueue,
    store: Store<Pod>,
}

impl PodEvents {
    pub fn new(shared: Arc<Shared>, queue: WorkQueue, store: Store<Pod>) -> Self {
        PodEvents {
            shared,
            queue,
            store,
        }
    }

    fn observe(&self, pod: &Pod) {
        let Some(node) = node_of(&self.shared, pod) else {
            return;
        };
        if decide(pod) == PodAction::Nothing {
            // Running already, maybe since before this simulator started:
            // keep its address from being handed to another pod.
            if !host_network(pod)
                && let Some(ip) = current_ip(pod)
            {
                let mut pods = node.pods();
                if pods.ipam.get(&pod.metadata.uid).is_none() && pods.ipam.cidr().contains(ip) {
                    pods.ipam.assign(&pod.metadata.uid, Some(ip));
                }
            }
            return;
        }
        self.queue.add(&key_of(pod));
    }
}

impl EventHandler<Pod> for PodEvents {
    fn on_add(&self, pod: &Arc<Pod>) {
        self.observe(pod);
    }

    fn on_update(&self, _old: &Arc<Pod>, new: &Arc<Pod>) {
        self.observe(new);
    }

    fn on_delete(&self, pod: &Arc<Pod>) {
        let Some(node) = node_of(&self.shared, pod) else {
            return;
        };
        self.queue.forget(&key_of(&**pod));
        let starved = {
            let mut pods = node.pods();
            pods.started.remove(&pod.metadata.uid);
            let freed = pods.ipam.release(&pod.metadata.uid).is_some();
            freed && std::mem::take(&mut pods.starved)
        };
        if starved {
            // Pods that found the range full may get the freed address.
            for p in self.store.by_index(BY_NODE, &node.name) {
                if decide(&p) == PodAction::Start {
                    self.queue.add(&key_of(&*p));
                }
            }
        }
    }
}

/// The simulated node `pod` is bound to, if it is one of ours.
fn node_of<'a>(shared: &'a Shared, pod: &Pod) -> Option<&'a Arc<SimNode>> {
    let name = pod.spec.as_ref()?.node_name.as_deref()?;
    shared.by_name.get(name)
}

/// Takes keys until the queue shuts down.
pub(crate) async fn worker(shared: Arc<Shared>, queue: WorkQueue, store: Store<Pod>) {
    while let Some(key) = queue.next().await {
        match sync(&shared, &store, &key).await {
            Ok(()) => queue.forget(&key),
            Err(e) => {
                Stats::inc(&shared.stats.pod_errors);
                let wait = queue.retry(&key);
                tracing::warn!(pod = %key, error = %e, ?wait, "pod sync failed; retrying");
            }
        }
        queue.done(&key);
    }
}

/// Brings one pod where it should be.
async fn sync(shared: &Shared, store: &Store<Pod>, key: &str) -> client::Result<()> {
    let Some(pod) = store.get(key) else {
        return Ok(()); // gone
    };
    let Some(node) = node_of(shared, &pod) else {
        return Ok(());
    };
    if node.paused() {
        // Cut off: nothing reaches the apiserver. Resuming queues the
        // node's pods again.
        return Ok(());
    }
    let (namespace, name) = split_key(key);
    let pods: Api<Pod> = Api::namespaced(shared.client.clone(), namespace);
    let uid = pod.metadata.uid.as_str();
    match decide(&pod) {
        PodAction::Nothing => Ok(()),
        PodAction::ConfirmDeletion => {
            let opts = DeleteOptions {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions {
                    uid: Some(uid.to_string()),
                    resource_version: None,
                }),
                ..DeleteOptions::default()
            };
            match pods.delete(name, &opts).await {
                Ok(()) => {
                    Stats::inc(&shared.stats.pods_deleted);
                    tracing::debug!(pod = %key, node = %node.name, "deletion confirmed");
                    Ok(())
                }
                // Gone already, or a new pod of that name (whose own
                // events bring it here if it needs anything).
                Err(e) if e.is_not_found() || e.code() == Some(409) => Ok(()),
                Err(e) => Err(e),
            }
        }
        PodAction::Start => {
            let Some(started) = start(shared, node, &pod) else {
                return Ok(());
            };
            let patch = Patch::Strategic(running_patch(&pod, &started));
            let unread: Api<Ack<Pod>> = Api::namespaced(shared.client.clone(), namespace);
            match unread
                .patch_status(name, &PatchParams::default(), &patch)
                .await
            {
                Ok(_) => {
                    Stats::inc(&shared.stats.pods_started);
                    tracing::debug!(pod = %key, node = %node.name, ip = %started.pod_ip, "running");
                    Ok(())
                }
                Err(e) if e.is_not_found() => {
                    // Deleted meanwhile; its delete event may have come
                    // before we took the address.
                    let mut pods = node.pods();
                    pods.ipam.release(uid);
                    pods.started.remove(uid);
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// The pod's address and start time (the same ones on a retry); `None`
/// when the node's pod range is full.
fn start(shared: &Shared, node: &SimNode, pod: &Pod) -> Option<Started> {
    let uid = pod.metadata.uid.as_str();
    let mut pods = node.pods();
    let pod_ip = if host_network(pod) {
        node.internal_ip
    } else {
        match pods.ipam.assign(uid, current_ip(pod)) {
            Some(ip) => ip,
            None => {
                pods.starved = true;
                Stats::inc(&shared.stats.ip_exhausted);
                tracing::warn!(
                    pod = %key_of(pod),
                    node = %node.name,
                    cidr = %pods.ipam.cidr(),
                    "no free pod IP on the node; the pod stays Pending until one is freed"
                );
                return None;
            }
        }
    };
    let at = *pods
        .started
        .entry(uid.to_string())
        .or_insert_with(Time::now);
    Some(Started {
        host_ip: node.internal_ip,
        pod_ip,
        at,
    })
}
