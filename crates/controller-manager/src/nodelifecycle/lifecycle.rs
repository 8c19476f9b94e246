//! Act: the node lifecycle controller's loops (upstream's
//! `nodelifecycle.Controller`).
//!
//! - **monitor pass** every `--node-monitor-period`: for each node,
//!   [`health::assess`]; write `Unknown` conditions for a silent node;
//!   mark its pods not Ready when it stops being Ready; decide about its
//!   NoExecute taint ([`taints::no_execute_action`]): swap at once, queue
//!   it for the zone's rate-limited tainter, or remove the taints of a node
//!   that is Ready again. Then [`Zones::update`] sets each zone's rate.
//! - **tainter** every 100 ms: writes the NoExecute taint of the nodes the
//!   zones' rates let through.
//! - **node worker**: on every node change, the NoSchedule taints that
//!   mirror its conditions ([`taints::reconcile_no_schedule`]).
//! - **pod worker**: a pod bound to a node that is not Ready is marked not
//!   Ready too.
//!
//! The state (what was seen of each node, the zones and their queues)
//! lives behind one mutex, never held across a request.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use api_types::coordination::v1::Lease;
use api_types::core::v1::{Node, ObjectReference, Pod};
use client::{Api, Client, Patch, PatchParams};
use futures::StreamExt;
use runtime::cache::{BY_NODE, Store, key_of};
use runtime::events::{EventType, Recorder, object_reference};
use runtime::informer::{EventHandler, Informer, Synced};
use runtime::reflector::ReflectorConfig;
use runtime::workqueue::WorkQueue;
use serde_json::json;
use tracing::{debug, info, warn};

use super::health::{self, Assessment, NodeHealth, Now};
use super::taints::{self, NOT_READY_NO_EXECUTE, NoExecuteAction, TaintId, UNREACHABLE_NO_EXECUTE};
use super::write::{self, ATTEMPTS, RETRY_SLEEP};
use super::zones::{self, Mode, Zones, zone_display, zone_key};
use super::{Config, NODE_LEASE_NAMESPACE};

/// How often the tainter looks at the zones' queues (upstream's
/// `NodeEvictionPeriod`).
const TAINTER_PERIOD: Duration = Duration::from_millis(100);
/// Nodes checked at once in a monitor pass.
const PARALLEL_NODES: usize = 8;

/// The node lifecycle controller. Build it with [`Controller::new`], add
/// [`Controller::pod_handler`] to the pod informer (which must be indexed
/// [`BY_NODE`]), then [`Controller::run`].
#[derive(Clone)]
pub struct Controller {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    config: Config,
    nodes: Store<Node>,
    leases: Store<Lease>,
    pods: Store<Pod>,
    recorder: Recorder,
    state: Mutex<State>,
    /// Nodes whose NoSchedule taints to check.
    node_queue: WorkQueue<String>,
    /// Pods just bound to a node: is it Ready?
    pod_queue: WorkQueue<String>,
}

struct State {
    /// What was seen of each node.
    health: HashMap<String, NodeHealth>,
    /// Nodes seen by a monitor pass: their uid and zone.
    known: HashMap<String, (String, String)>,
    zones: Zones,
    /// Nodes whose pods could not all be marked not Ready.
    retry_pods: HashSet<String>,
}

/// Whether the pod on `node` has a Ready condition that is not False yet.
pub fn needs_not_ready(pod: &Pod, node: &str) -> bool {
    let on_node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node);
    on_node
        && pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status != "False"))
}

fn node_reference(name: &str, uid: &str) -> ObjectReference {
    ObjectReference {
        kind: Some("Node".into()),
        api_version: Some("v1".into()),
        name: Some(name.into()),
        uid: Some(uid.into()).filter(|u: &String| !u.is_empty()),
        ..ObjectReference::default()
    }
}

fn ready_status(node: &Node) -> Option<&str> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.as_str())
}

fn node_name(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

struct NodeEvents(Arc<Inner>);

impl EventHandler<Node> for NodeEvents {
    fn on_add(&self, n: &Arc<Node>) {
        self.0.node_queue.add(n.metadata.name.clone());
    }
    fn on_update(&self, _: &Arc<Node>, n: &Arc<Node>) {
        self.0.node_queue.add(n.metadata.name.clone());
    }
    fn on_delete(&self, n: &Arc<Node>) {
        self.0.state().retry_pods.remove(&n.metadata.name);
    }
}

struct PodEvents(Arc<Inner>);

impl EventHandler<Pod> for PodEvents {
    fn on_add(&self, pod: &Arc<Pod>) {
        if node_name(pod).is_some() {
            self.0.pod_queue.add(key_of(pod.as_ref()));
        }
    }
    fn on_update(&self, old: &Arc<Pod>, new: &Arc<Pod>) {
        if node_name(new).is_some() && node_name(old) != node_name(new) {
            self.0.pod_queue.add(key_of(new.as_ref()));
        }
    }
}

impl Controller {
    /// A controller over `pods` (a pod informer's store indexed
    /// [`BY_NODE`]) and the shared Node informer (its handler is added
    /// here); returns the Lease informer to pass to [`Controller::run`].
    pub fn new(
        client: Client,
        pods: Store<Pod>,
        nodes: &mut Informer<Node>,
        config: Config,
    ) -> (Self, Informer<Lease>) {
        let leases = Informer::new(
            Api::<Lease>::namespaced(client.clone(), NODE_LEASE_NAMESPACE),
            ReflectorConfig::default(),
        );
        let recorder = Recorder::new(
            client.clone(),
            api_types::core::v1::EventSource {
                component: Some("node-controller".into()),
                host: None,
            },
        );
        let zones = Zones::new(config.rates(), config.unhealthy_zone_threshold);
        let inner = Arc::new(Inner {
            client,
            config,
            nodes: nodes.store(),
            leases: leases.store(),
            pods,
            recorder,
            state: Mutex::new(State {
                health: HashMap::new(),
                known: HashMap::new(),
                zones,
                retry_pods: HashSet::new(),
            }),
            node_queue: WorkQueue::new(),
            pod_queue: WorkQueue::new(),
        });
        nodes.add_handler(Arc::new(NodeEvents(inner.clone())));
        (Controller { inner }, leases)
    }

    /// What the pod informer must tell this controller.
    pub fn pod_handler(&self) -> Arc<dyn EventHandler<Pod>> {
        Arc::new(PodEvents(self.inner.clone()))
    }

    /// Runs the informers and the loops until `stop`, once the caches are
    /// synced.
    pub async fn run(
        self,
        leases: Informer<Lease>,
        mut nodes_synced: Synced,
        mut pods_synced: Synced,
        stop: impl Future<Output = ()> + Send,
    ) {
        let mut leases_synced = leases.synced();
        let informers = [leases.spawn()];
        let mut stop = std::pin::pin!(stop);
        let synced = async {
            nodes_synced.wait().await;
            leases_synced.wait().await;
            pods_synced.wait().await;
        };
        let mut tasks = Vec::new();
        let started = tokio::select! {
            () = synced => true,
            () = &mut stop => false,
        };
        if started {
            let inner = &self.inner;
            let c = &inner.config;
            info!(
                monitor_period = ?c.node_monitor_period,
                grace_period = ?c.node_monitor_grace_period,
                startup_grace_period = ?c.node_startup_grace_period,
                "node lifecycle controller started"
            );
            let me = inner.clone();
            tasks.push(tokio::spawn(periodic(c.node_monitor_period, move || {
                let me = me.clone();
                async move { me.monitor().await }
            })));
            let me = inner.clone();
            tasks.push(tokio::spawn(periodic(TAINTER_PERIOD, move || {
                let me = me.clone();
                async move { me.taint_due_nodes().await }
            })));
            for _ in 0..2 {
                tasks.push(tokio::spawn(inner.clone().node_worker()));
                tasks.push(tokio::spawn(inner.clone().pod_worker()));
            }
            stop.await;
        }
        // A pass cut short leaves nothing that the next one would not redo.
        self.inner.node_queue.shut_down();
        self.inner.pod_queue.shut_down();
        for t in tasks.iter().chain(&informers) {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// Runs `pass` every `period` (the next one starts a period after the last
/// one began, or at once if it took longer), forever.
async fn periodic<F, Fut>(period: Duration, pass: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut tick = tokio::time::interval(period.max(Duration::from_millis(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        pass().await;
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the maps consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn node_api(&self) -> Api<Node> {
        Api::all(self.client.clone())
    }

    fn node_event(&self, name: &str, uid: &str, t: EventType, reason: &str, message: &str) {
        self.recorder
            .event(&node_reference(name, uid), t, reason, message);
    }

    /// One monitor pass (upstream's `monitorNodeHealth`).
    async fn monitor(self: &Arc<Self>) {
        let nodes = self.nodes.list();
        let (added, deleted) = self.classify(&nodes);
        for n in &added {
            let name = &n.metadata.name;
            info!(node = %name, "controller observed a new node");
            self.node_event(
                name,
                &n.metadata.uid,
                EventType::Normal,
                "RegisteredNode",
                &format!("Node {name} event: Registered Node {name} in Controller"),
            );
            // As upstream: a node starts with no NoExecute taint of ours;
            // if it is still down, the next passes taint it again.
            self.mark_reachable(n).await;
        }
        for (name, uid) in &deleted {
            info!(node = %name, "controller observed a node deletion");
            self.node_event(
                name,
                uid,
                EventType::Normal,
                "RemovingNode",
                &format!("Node {name} event: Removing Node {name} from Controller"),
            );
        }

        let checked: Vec<Option<(String, Option<String>)>> = futures::stream::iter(nodes.clone())
            .map(|n| {
                let me = self.clone();
                async move { me.check(n).await }
            })
            .buffer_unordered(PARALLEL_NODES)
            .collect()
            .await;
        let mut observed: BTreeMap<String, Vec<Option<&str>>> = BTreeMap::new();
        for (zone, ready) in checked.iter().flatten() {
            observed
                .entry(zone.clone())
                .or_default()
                .push(ready.as_deref());
        }
        let now = Instant::now();
        let mode = self.state().zones.update(&observed, now);
        match mode {
            Mode::Same => {}
            Mode::EnteredFullDisruption => {
                warn!(
                    "all nodes are not Ready: entering master disruption mode (no taint-based evictions)"
                );
                for n in &nodes {
                    self.mark_reachable(n).await;
                }
            }
            Mode::LeftFullDisruption => {
                info!("some nodes are Ready again: leaving master disruption mode");
                // Every node gets a fresh grace period.
                for h in self.state().health.values_mut() {
                    h.probe = now;
                }
            }
        }
    }

    /// Nodes new to the controller, and nodes gone since the last pass.
    #[allow(clippy::type_complexity)]
    fn classify(&self, nodes: &[Arc<Node>]) -> (Vec<Arc<Node>>, Vec<(String, String)>) {
        let mut st = self.state();
        let now = Instant::now();
        let mut added = Vec::new();
        let mut seen = HashSet::new();
        for n in nodes {
            let name = n.metadata.name.clone();
            seen.insert(name.clone());
            let zone = zone_key(n);
            match st.known.get(&name) {
                Some((uid, z)) if *uid == n.metadata.uid && *z == zone => {}
                Some((uid, old_zone)) if *uid == n.metadata.uid => {
                    // Moved to another zone: queue it there if need be.
                    let old_zone = old_zone.clone();
                    st.zones.dequeue(&old_zone, &name);
                    st.zones.ensure(&zone, now);
                    st.known.insert(name, (n.metadata.uid.clone(), zone));
                }
                _ => {
                    st.zones.ensure(&zone, now);
                    st.known.insert(name, (n.metadata.uid.clone(), zone));
                    added.push(n.clone());
                }
            }
        }
        let gone: Vec<(String, String)> = st
            .known
            .iter()
            .filter(|(name, _)| !seen.contains(*name))
            .map(|(name, (uid, _))| (name.clone(), uid.clone()))
            .collect();
        for (name, _) in &gone {
            st.known.remove(name);
            st.health.remove(name);
            st.retry_pods.remove(name);
            st.zones.forget(name);
        }
        (added, gone)
    }

    /// Checks one node: its health, its pods, its NoExecute taint. Returns
    /// its zone and current Ready status for the zone count (`None` when it
    /// could not be checked, or does not count).
    async fn check(&self, node: Arc<Node>) -> Option<(String, Option<String>)> {
        let (a, node) = self.update_health(node).await?;
        let name = node.metadata.name.as_str();
        if let Some(current) = &a.current_ready {
            self.process_no_execute(&node, &a.observed_ready.status)
                .await;
            let retry = self.state().retry_pods.contains(name);
            let mark = if a.became_not_ready() {
                info!(node = %name, status = %current.status, "node is not Ready");
                self.node_event(
                    name,
                    &node.metadata.uid,
                    EventType::Normal,
                    "NodeNotReady",
                    &format!("Node {name} status is now: NodeNotReady"),
                );
                true
            } else {
                retry && a.observed_ready.status != "True"
            };
            if mark {
                if let Err(e) = self.mark_pods_not_ready(name).await {
                    warn!(node = %name, error = %e, "cannot mark all pods not Ready; retrying next pass");
                    self.state().retry_pods.insert(name.to_string());
                    return counted(&node, &a);
                }
            }
        }
        self.state().retry_pods.remove(name);
        counted(&node, &a)
    }

    /// Assesses the node and writes the conditions of a silent one, again
    /// from a fresh copy on a conflict (upstream's `tryUpdateNodeHealth`
    /// with its retries). Returns the assessment and the latest copy of
    /// the node; `None` when that failed (the node is skipped this pass).
    async fn update_health(&self, mut node: Arc<Node>) -> Option<(Assessment, Arc<Node>)> {
        let api = self.node_api();
        let name = node.metadata.name.clone();
        for attempt in 1..=ATTEMPTS {
            let lease = self
                .leases
                .get_named(NODE_LEASE_NAMESPACE, &name)
                .and_then(|l| l.spec.as_ref()?.renew_time);
            let a = {
                let mut st = self.state();
                let a = health::assess(
                    st.health.get(&name),
                    &node,
                    lease,
                    Now::read(),
                    self.config.grace(),
                );
                st.health.insert(name.clone(), a.health.clone());
                a
            };
            if a.update.is_empty() {
                return Some((a, node));
            }
            let patch = json!({
                "metadata": {"resourceVersion": node.metadata.resource_version},
                "status": {"conditions": a.update},
            });
            match api
                .patch_status(&name, &PatchParams::default(), &Patch::Strategic(patch))
                .await
            {
                Ok(written) => {
                    info!(
                        node = %name,
                        conditions = a.update.len(),
                        "node stopped posting status: conditions set to Unknown"
                    );
                    self.state().health.insert(name.clone(), a.written());
                    return Some((a, Arc::new(written)));
                }
                Err(e) if e.is_conflict() && attempt < ATTEMPTS => {
                    debug!(node = %name, "conflict writing node status; reading it again");
                    tokio::time::sleep(RETRY_SLEEP).await;
                    match api.get(&name).await {
                        Ok(n) => node = Arc::new(n),
                        Err(e) => {
                            warn!(node = %name, error = %e, "cannot read node; skipping it this pass");
                            return None;
                        }
                    }
                }
                Err(e) => {
                    warn!(node = %name, error = %e, "cannot update node health; skipping it this pass (no pods will be evicted)");
                    return None;
                }
            }
        }
        None
    }

    /// Swaps, queues or removes the node's NoExecute taint given its Ready
    /// status as observed (upstream's `processTaintBaseEviction`).
    async fn process_no_execute(&self, node: &Node, observed: &str) {
        let name = node.metadata.name.as_str();
        match taints::no_execute_action(observed, node) {
            NoExecuteAction::Swap { add, remove } => {
                if let Err(e) = self.swap_taints(node, &[add], &[remove]).await {
                    warn!(node = %name, error = %e, "cannot swap the NoExecute taint; trying again next pass");
                }
            }
            NoExecuteAction::Queue => {
                let zone = zone_key(node);
                if self.state().zones.enqueue(&zone, name, Instant::now()) {
                    info!(node = %name, ready = observed, zone = %zone_display(&zone), "node queued for a NoExecute taint");
                }
            }
            NoExecuteAction::MarkReachable => {
                if self.mark_reachable(node).await {
                    info!(node = %name, "node is Ready again: NoExecute taint removed");
                }
            }
            NoExecuteAction::Nothing => {}
        }
    }

    /// Removes both NoExecute taints and drops the node from its queue;
    /// true when a taint was removed.
    async fn mark_reachable(&self, node: &Node) -> bool {
        let removed = match self
            .swap_taints(node, &[], &[UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE])
            .await
        {
            Ok(removed) => removed,
            Err(e) => {
                warn!(node = %node.metadata.name, error = %e, "cannot remove the NoExecute taints; trying again next pass");
                return false;
            }
        };
        self.state()
            .zones
            .dequeue(&zone_key(node), &node.metadata.name);
        removed
    }

    async fn swap_taints(
        &self,
        node: &Node,
        add: &[TaintId],
        remove: &[TaintId],
    ) -> Result<bool, client::Error> {
        write::update_taints(&self.node_api(), node, |n| {
            taints::swap(taints::taints_of(n), add, remove, Now::read().time())
        })
        .await
    }

    /// Marks every pod on the node not Ready (upstream's
    /// `MarkPodsNotReady`), with a `NodeNotReady` event on each.
    async fn mark_pods_not_ready(&self, node: &str) -> Result<(), client::Error> {
        let pods = self.pods.by_index(BY_NODE, node);
        self.mark_not_ready(&pods, node).await
    }

    async fn mark_not_ready(&self, pods: &[Arc<Pod>], node: &str) -> Result<(), client::Error> {
        let mut failed = None;
        for pod in pods.iter().filter(|p| needs_not_ready(p, node)) {
            let api: Api<Pod> = Api::namespaced(self.client.clone(), &pod.metadata.namespace);
            match write::mark_pod_not_ready(&api, pod, Now::read().time()).await {
                Ok(true) => {
                    debug!(pod = %key_of(pod.as_ref()), node, "pod marked not Ready");
                    self.recorder.event(
                        &object_reference(pod.as_ref()),
                        EventType::Warning,
                        "NodeNotReady",
                        "Node is not ready",
                    );
                }
                Ok(false) => {}
                Err(e) => failed = Some(e),
            }
        }
        failed.map_or(Ok(()), Err)
    }

    /// Taints the nodes the zones' rates let through (upstream's
    /// `doNoExecuteTaintingPass`).
    async fn taint_due_nodes(&self) {
        let due = self.state().zones.due(Instant::now());
        for (zone, name) in due {
            let outcome = match self.nodes.get(&name) {
                None => Ok(()),
                Some(node) => match ready_status(&node) {
                    None => Err(Duration::from_millis(50)),
                    Some(ready) => match taints::tainter_swap(ready) {
                        // Ready again meanwhile: nothing to do.
                        None => Ok(()),
                        Some((add, remove)) => {
                            match self.swap_taints(&node, &[add], &[remove]).await {
                                Ok(written) => {
                                    if written {
                                        info!(node = %name, taint = add.0, zone = %zone_display(&zone), "node tainted NoExecute");
                                    }
                                    Ok(())
                                }
                                Err(e) => {
                                    warn!(node = %name, error = %e, "cannot taint node; retrying");
                                    Err(TAINTER_PERIOD)
                                }
                            }
                        }
                    },
                },
            };
            let mut st = self.state();
            match outcome {
                Ok(()) => st.zones.done(&zone, &name),
                Err(wait) => st.zones.retry(&zone, &name, Instant::now(), wait),
            }
        }
    }

    /// Keeps the condition NoSchedule taints in step with each changed
    /// node (upstream's `doNoScheduleTaintingPass`).
    async fn node_worker(self: Arc<Self>) {
        let api = self.node_api();
        while let Some(name) = self.node_queue.get().await {
            if let Some(node) = self.nodes.get(&name) {
                let result = write::update_taints(&api, &node, |n| {
                    taints::reconcile_no_schedule(n, Now::read().time())
                })
                .await;
                match result {
                    Ok(written) => {
                        if written {
                            debug!(node = %name, "condition taints updated");
                        }
                        self.node_queue.forget(&name);
                    }
                    Err(e) => {
                        warn!(node = %name, error = %e, "cannot update the condition taints; retrying");
                        self.node_queue.add_rate_limited(name.clone());
                    }
                }
            }
            self.node_queue.done(&name);
        }
    }

    /// A pod just bound to a node that is not Ready is marked not Ready
    /// (upstream's `processPod`).
    async fn pod_worker(self: Arc<Self>) {
        while let Some(key) = self.pod_queue.get().await {
            let pod = self.pods.get(&key);
            let target = pod.as_ref().and_then(|p| {
                let node = node_name(p)?.to_string();
                self.nodes.get(&node)?;
                let ready = self.state().health.get(&node)?.ready.clone()?;
                (ready.status != "True").then_some(node)
            });
            if let (Some(pod), Some(node)) = (pod, target) {
                match self.mark_not_ready(&[pod], &node).await {
                    Ok(()) => self.pod_queue.forget(&key),
                    Err(e) => {
                        warn!(pod = %key, error = %e, "cannot mark pod not Ready; retrying");
                        self.pod_queue.add_rate_limited(key.clone());
                    }
                }
            }
            self.pod_queue.done(&key);
        }
    }
}

/// The node's zone and current Ready status for the zone count, unless it
/// is excluded from it.
fn counted(node: &Node, a: &Assessment) -> Option<(String, Option<String>)> {
    (!zones::excluded_from_disruption(node)).then(|| {
        (
            zone_key(node),
            a.current_ready.as_ref().map(|c| c.status.clone()),
        )
    })
}

#[cfg(test)]
mod tests {
    use api_types::core::v1::{PodCondition, PodSpec, PodStatus};

    use super::*;

    fn pod(node: &str, ready: Option<&str>) -> Pod {
        Pod {
            spec: Some(PodSpec {
                node_name: Some(node.into()),
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                conditions: ready.map(|s| {
                    vec![PodCondition {
                        type_: "Ready".into(),
                        status: s.into(),
                        ..PodCondition::default()
                    }]
                }),
                ..PodStatus::default()
            }),
            ..Pod::default()
        }
    }

    #[test]
    fn only_ready_pods_on_the_node_are_marked() {
        assert!(needs_not_ready(&pod("n1", Some("True")), "n1"));
        assert!(needs_not_ready(&pod("n1", Some("Unknown")), "n1"));
        assert!(!needs_not_ready(&pod("n1", Some("False")), "n1"));
        assert!(
            !needs_not_ready(&pod("n1", None), "n1"),
            "no Ready condition yet"
        );
        assert!(!needs_not_ready(&pod("n2", Some("True")), "n1"));
    }
}
