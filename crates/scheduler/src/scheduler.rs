//! The scheduling cycle around the pure decision in [`framework`]:
//! informers keep the scheduler cache and the queue up to date; one loop
//! takes a pod from the queue, decides, assumes, and binds through the
//! apiserver.
//!
//! ```text
//! pods informer ──▶ unassigned & ours ──▶ SchedulingQueue (active/backoff/unschedulable)
//!               └─▶ assigned ──────────▶ ClusterState (node totals)
//! nodes informer ─▶ ClusterState; a relevant change moves unschedulable pods back
//!
//! loop: pop ─▶ schedule(cluster, pod) ─┬─ Ok(node):  assume ─▶ POST pods/<p>/binding (async)
//!                                       │               ├ ok:   Event Scheduled, done
//!                                       │               └ fail: forget, back off
//!                                       └─ Err(fit): PodScheduled=False/Unschedulable,
//!                                                    Event FailedScheduling, wait for a change
//! ```
//!
//! Binding is asynchronous (upstream's binding cycle): the next pod is
//! decided while the previous binding is in flight, on a cache where the
//! previous pod is already *assumed* on its node.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use api_types::apps::v1::ReplicaSet;
use api_types::core::v1::{
    Binding, Namespace, Node, ObjectReference, Pod, ReplicationController, Service,
};
use api_types::labels::Selector;
use api_types::meta::v1::ObjectMeta;
use client::{Api, Client, Patch, PatchParams};
use runtime::cache::{BY_NAMESPACE, Store, key_of, namespace_index};
use runtime::events::{EventType, Recorder, object_reference};
use runtime::informer::{EventHandler, Informer, strip_managed_fields};
use runtime::reflector::ReflectorConfig;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::framework::{self, ClusterState, DEFAULT_SCHEDULER_NAME, SchedulerState};
use crate::metrics::Metrics;
use crate::queue::{QueueConfig, QueuedPod, SchedulingQueue};

/// How the scheduler behaves.
#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// Pods whose `spec.schedulerName` is this are ours.
    pub scheduler_name: String,
    /// `percentageOfNodesToScore`; 0 = upstream's adaptive default.
    pub percentage_of_nodes_to_score: u32,
    pub queue: QueueConfig,
    /// Bindings in flight at once.
    pub parallel_bindings: usize,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            scheduler_name: DEFAULT_SCHEDULER_NAME.into(),
            percentage_of_nodes_to_score: 0,
            queue: QueueConfig::default(),
            parallel_bindings: 64,
        }
    }
}

/// The scheduler's shared parts.
struct Shared {
    client: Client,
    config: SchedulerConfig,
    queue: SchedulingQueue,
    cluster: Mutex<ClusterState>,
    recorder: Recorder,
    metrics: Arc<Metrics>,
}

impl Shared {
    fn cluster(&self) -> MutexGuard<'_, ClusterState> {
        self.cluster
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn assigned(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .is_some_and(|n| !n.is_empty())
}

fn terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// Keeps the cache (assigned pods) and the queue (pending pods) current.
struct PodEvents(Arc<Shared>);

impl EventHandler<Pod> for PodEvents {
    fn on_add(&self, pod: &Arc<Pod>) {
        let key = key_of(pod.as_ref());
        if assigned(pod) {
            if !terminal(pod) {
                self.0.cluster().add_pod(pod.clone());
            }
            self.0.queue.delete(&key);
        } else if framework::responsible_for(pod, &self.0.config.scheduler_name) {
            self.0.queue.add(&key, pod.clone());
        }
    }

    fn on_update(&self, old: &Arc<Pod>, new: &Arc<Pod>) {
        let key = key_of(new.as_ref());
        if assigned(new) {
            self.0.queue.delete(&key);
            let freed = terminal(new) && !terminal(old);
            {
                let mut cluster = self.0.cluster();
                if terminal(new) {
                    cluster.remove_pod(&key);
                } else if assigned(old) {
                    cluster.update_pod(new.clone());
                } else {
                    // The binding arrived: the assumed pod becomes real.
                    cluster.add_pod(new.clone());
                }
            }
            if freed {
                self.0.queue.move_all_to_active_or_backoff();
            }
        } else if framework::responsible_for(new, &self.0.config.scheduler_name) {
            self.0.queue.add(&key, new.clone());
        } else {
            self.0.queue.delete(&key);
        }
    }

    fn on_delete(&self, pod: &Arc<Pod>) {
        let key = key_of(pod.as_ref());
        self.0.queue.delete(&key);
        if assigned(pod) {
            self.0.cluster().remove_pod(&key);
            // Its resources, ports and affinity are free for others.
            self.0.queue.move_all_to_active_or_backoff();
        }
    }
}

/// What about a node can make a pod fit that did not before.
fn schedulable_view(n: &Node) -> impl PartialEq + '_ {
    let spec = n.spec.as_ref();
    let status = n.status.as_ref();
    (
        &n.metadata.labels,
        spec.and_then(|s| s.taints.as_ref()),
        spec.and_then(|s| s.unschedulable),
        status.and_then(|s| s.allocatable.as_ref()),
        status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status.as_str()),
    )
}

struct NodeEvents(Arc<Shared>);

impl EventHandler<Node> for NodeEvents {
    fn on_add(&self, node: &Arc<Node>) {
        self.0.cluster().add_node(node.clone());
        self.0.queue.move_all_to_active_or_backoff();
    }

    fn on_update(&self, old: &Arc<Node>, new: &Arc<Node>) {
        self.0.cluster().update_node(new.clone());
        if schedulable_view(old) != schedulable_view(new) {
            self.0.queue.move_all_to_active_or_backoff();
        }
    }

    fn on_delete(&self, node: &Arc<Node>) {
        self.0.cluster().remove_node(&node.metadata.name);
    }
}

struct NamespaceEvents(Arc<Shared>);

impl EventHandler<Namespace> for NamespaceEvents {
    fn on_add(&self, ns: &Arc<Namespace>) {
        self.0
            .cluster()
            .set_namespace_labels(&ns.metadata.name, ns.metadata.labels.clone());
    }

    fn on_update(&self, _old: &Arc<Namespace>, ns: &Arc<Namespace>) {
        self.on_add(ns);
    }

    fn on_delete(&self, ns: &Arc<Namespace>) {
        self.0.cluster().remove_namespace(&ns.metadata.name);
    }
}

/// The caches of what selects pods (for default spreading).
struct Selectors {
    services: Store<Service>,
    controllers: Store<ReplicationController>,
    replica_sets: Store<ReplicaSet>,
}

impl Selectors {
    /// Selectors of the Services, ReplicationControllers and ReplicaSets
    /// in the pod's namespace that select it.
    fn for_pod(&self, pod: &Pod) -> Vec<Selector> {
        let ns = pod.metadata.namespace.as_str();
        let labels = &pod.metadata.labels;
        let mut out = Vec::new();
        // Services and ReplicationControllers select with plain maps.
        let maps = self
            .services
            .by_index(BY_NAMESPACE, ns)
            .into_iter()
            .filter_map(|svc| svc.spec.as_ref().and_then(|s| s.selector.clone()))
            .chain(
                self.controllers
                    .by_index(BY_NAMESPACE, ns)
                    .into_iter()
                    .filter_map(|rc| rc.spec.as_ref().and_then(|s| s.selector.clone())),
            );
        for sel in maps.filter(|m| !m.is_empty()) {
            let s = Selector::from_map(&sel);
            if s.matches(labels) {
                out.push(s);
            }
        }
        for rs in self.replica_sets.by_index(BY_NAMESPACE, ns) {
            if let Some(spec) = rs.spec.as_ref()
                && let Ok(s) = Selector::from_label_selector(&spec.selector)
                && !s.is_empty()
                && s.matches(labels)
            {
                out.push(s);
            }
        }
        out
    }
}

/// Runs the scheduler until `stop` completes: starts the informers, waits
/// for them to sync, then schedules.
pub async fn run(
    client: Client,
    config: SchedulerConfig,
    metrics: Arc<Metrics>,
    stop: impl std::future::Future<Output = ()>,
) {
    let recorder = Recorder::new(
        client.clone(),
        api_types::core::v1::EventSource {
            component: Some(config.scheduler_name.clone()),
            host: None,
        },
    );
    let shared = Arc::new(Shared {
        queue: SchedulingQueue::new(config.queue),
        client: client.clone(),
        config,
        cluster: Mutex::new(ClusterState::new()),
        recorder,
        metrics,
    });

    let rc = ReflectorConfig::default;
    let mut pods =
        Informer::new(Api::<Pod>::all(client.clone()), rc()).with_transform(strip_managed_fields());
    pods.add_handler(Arc::new(PodEvents(shared.clone())));
    let pod_store = pods.store();
    let mut nodes = Informer::new(Api::<Node>::all(client.clone()), rc())
        .with_transform(strip_managed_fields());
    nodes.add_handler(Arc::new(NodeEvents(shared.clone())));
    let mut namespaces = Informer::new(Api::<Namespace>::all(client.clone()), rc());
    namespaces.add_handler(Arc::new(NamespaceEvents(shared.clone())));
    let services = Informer::new(Api::<Service>::all(client.clone()), rc())
        .with_transform(strip_managed_fields())
        .with_index(BY_NAMESPACE, namespace_index());
    let rcs = Informer::new(Api::<ReplicationController>::all(client.clone()), rc())
        .with_transform(strip_managed_fields())
        .with_index(BY_NAMESPACE, namespace_index());
    let rss = Informer::new(Api::<ReplicaSet>::all(client.clone()), rc())
        .with_transform(strip_managed_fields())
        .with_index(BY_NAMESPACE, namespace_index());
    let selectors = Selectors {
        services: services.store(),
        controllers: rcs.store(),
        replica_sets: rss.store(),
    };
    let mut synced = vec![
        namespaces.synced(),
        nodes.synced(),
        services.synced(),
        rcs.synced(),
        rss.synced(),
        pods.synced(),
    ];
    // Nodes and namespaces first, so that pods find their nodes.
    let tasks = vec![
        namespaces.spawn(),
        nodes.spawn(),
        services.spawn(),
        rcs.spawn(),
        rss.spawn(),
        pods.spawn(),
    ];
    let housekeeping = tokio::spawn(housekeeping(shared.clone()));

    let schedule = async {
        for s in &mut synced {
            s.wait().await;
        }
        tracing::info!(
            nodes = shared.cluster().num_nodes(),
            "caches synced; scheduling"
        );
        schedule_loop(shared.clone(), pod_store, selectors).await;
    };
    tokio::select! {
        () = schedule => {}
        () = stop => {}
    }
    shared.queue.close();
    for t in tasks {
        t.abort();
    }
    housekeeping.abort();
    shared.recorder.flush().await;
}

/// Periodic chores: retry long-unschedulable pods, export queue sizes.
async fn housekeeping(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut n = 0u64;
    loop {
        tick.tick().await;
        n += 1;
        if n % 30 == 0 {
            shared.queue.flush_unschedulable_leftover();
        }
        shared.metrics.set_pending(shared.queue.lengths());
    }
}

async fn schedule_loop(shared: Arc<Shared>, pods: Store<Pod>, selectors: Selectors) {
    let mut state = SchedulerState::new();
    state.percentage_of_nodes_to_score = shared.config.percentage_of_nodes_to_score;
    let bindings = Arc::new(Semaphore::new(shared.config.parallel_bindings.max(1)));
    while let Some(popped) = shared.queue.pop().await {
        let started = Instant::now();
        // Decide on the latest version the cache has.
        let Some(pod) = pods.get(&popped.key) else {
            shared.queue.delete(&popped.key);
            continue;
        };
        if !framework::responsible_for(&pod, &shared.config.scheduler_name) {
            shared.queue.delete(&popped.key);
            continue;
        }
        let spread = selectors.for_pod(&pod);
        let decision = {
            let mut cluster = shared.cluster();
            match framework::schedule(&cluster, &pod, &spread, &mut state) {
                Ok(d) => match cluster.assume(pod.clone(), &d.node) {
                    Ok(()) => Ok(d),
                    Err(e) => Err(Failure::Internal(e.to_string())),
                },
                Err(fit) => Err(Failure::Unschedulable(fit.to_string())),
            }
        };
        match decision {
            Ok(d) => {
                let Ok(permit) = bindings.clone().acquire_owned().await else {
                    return;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    bind(&shared, &popped, &pod, &d.node, started).await;
                    drop(permit);
                });
            }
            Err(Failure::Unschedulable(message)) => {
                tracing::debug!(pod = popped.key, message, "unschedulable");
                shared.metrics.attempt(
                    "unschedulable",
                    &shared.config.scheduler_name,
                    started.elapsed().as_secs_f64(),
                );
                shared.queue.unschedulable(&popped);
                let shared = shared.clone();
                tokio::spawn(async move {
                    report_unschedulable(&shared, &pod, &message).await;
                });
            }
            Err(Failure::Internal(message)) => {
                tracing::warn!(pod = popped.key, message, "scheduling error");
                shared.metrics.attempt(
                    "error",
                    &shared.config.scheduler_name,
                    started.elapsed().as_secs_f64(),
                );
                shared.queue.retry_later(&popped);
            }
        }
    }
}

enum Failure {
    Unschedulable(String),
    Internal(String),
}

/// Writes the binding; on failure un-assumes the pod and retries later.
async fn bind(shared: &Shared, popped: &QueuedPod, pod: &Arc<Pod>, node: &str, started: Instant) {
    let ns = pod.metadata.namespace.as_str();
    let name = pod.metadata.name.as_str();
    let binding = Binding {
        metadata: ObjectMeta {
            name: name.into(),
            namespace: ns.into(),
            uid: pod.metadata.uid.clone(),
            ..ObjectMeta::default()
        },
        target: ObjectReference {
            kind: Some("Node".into()),
            name: Some(node.into()),
            ..ObjectReference::default()
        },
        ..Binding::default()
    };
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), ns);
    let profile = shared.config.scheduler_name.as_str();
    match api.bind(name, &binding).await {
        Ok(()) => {
            shared
                .metrics
                .attempt("scheduled", profile, started.elapsed().as_secs_f64());
            shared
                .metrics
                .sli_duration
                .get_or_create(&crate::metrics::AttemptsLabels {
                    attempts: popped.attempts.min(16).to_string(),
                })
                .observe(popped.first_queued.elapsed().as_secs_f64());
            shared.queue.done(popped);
            shared.recorder.event(
                &object_reference(pod.as_ref()),
                EventType::Normal,
                "Scheduled",
                &format!("Successfully assigned {ns}/{name} to {node}"),
            );
        }
        Err(e) => {
            shared.cluster().forget(&popped.key);
            shared
                .metrics
                .attempt("error", profile, started.elapsed().as_secs_f64());
            if e.is_not_found() {
                // The pod is gone; the informer will tell the queue.
                shared.queue.delete(&popped.key);
                return;
            }
            tracing::warn!(pod = popped.key, node, error = %e, "binding failed");
            shared.recorder.event(
                &object_reference(pod.as_ref()),
                EventType::Warning,
                "FailedScheduling",
                &format!("Binding rejected: {e}"),
            );
            shared.queue.retry_later(popped);
        }
    }
}

/// Tells users why: the `PodScheduled=False` condition (reason
/// `Unschedulable`) and a `FailedScheduling` event, as upstream does.
async fn report_unschedulable(shared: &Shared, pod: &Pod, message: &str) {
    shared.recorder.event(
        &object_reference(pod),
        EventType::Warning,
        "FailedScheduling",
        message,
    );
    let current = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"));
    let unchanged = current.is_some_and(|c| {
        c.status == "False"
            && c.reason.as_deref() == Some("Unschedulable")
            && c.message.as_deref() == Some(message)
    });
    if unchanged {
        return;
    }
    let now = api_types::meta::v1::Time::now();
    // Strategic merge: conditions merge by `type`, leaving the others.
    let patch = json!({"status": {"conditions": [{
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": message,
        "lastProbeTime": null,
        "lastTransitionTime": now,
    }]}});
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), &pod.metadata.namespace);
    if let Err(e) = api
        .patch_status(
            &pod.metadata.name,
            &PatchParams::default(),
            &Patch::Strategic(patch),
        )
        .await
        && !e.is_not_found()
    {
        tracing::warn!(pod = %key_of(pod), error = %e, "cannot set the PodScheduled condition");
    }
}
