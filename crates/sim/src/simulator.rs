//! The running simulator: [`Simulator::start`] registers the nodes, then
//! runs their heartbeats and the pod pipeline on tasks until
//! [`SimHandle::stop`].
//!
//! ```text
//!  start ─▶ register N Nodes + Leases (bounded concurrency)
//!        ─▶ pod informer (spec.nodeName!=) ──▶ WorkQueue ──▶ workers ──▶ PATCH pods/status, DELETE pods
//!        ─▶ Lease renewals, spread over lease_renew_interval   ──▶ PATCH leases
//!        ─▶ Ready heartbeats, spread over node_status_interval ──▶ PATCH nodes/status
//! ```

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use api_types::core::v1::Pod;
use api_types::meta::v1::Time;
use client::{Api, Client, ListParams};
use futures::{StreamExt, TryStreamExt};
use runtime::cache::{BY_NODE, Store, key_of, node_index};
use runtime::informer::{Informer, strip_managed_fields};
use runtime::reflector::ReflectorConfig;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::config::SimConfig;
use crate::error::Result;
use crate::ipam::PodIpam;
use crate::queue::WorkQueue;
use crate::{heartbeat, pod_sync, register, spread};

/// Starts simulators.
#[derive(Debug)]
pub struct Simulator;

/// A running simulator. Dropping it stops every task (without deleting
/// the nodes); [`SimHandle::stop`] does the same and waits for them.
#[derive(Debug)]
pub struct SimHandle {
    shared: Arc<Shared>,
    queue: WorkQueue,
    store: Store<Pod>,
    tasks: Vec<JoinHandle<()>>,
}

/// What the simulator shares between its tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    pub client: Client,
    pub config: SimConfig,
    /// In index order.
    pub nodes: Vec<Arc<SimNode>>,
    pub by_name: HashMap<String, Arc<SimNode>>,
    pub stats: Stats,
}

/// One simulated node's state.
#[derive(Debug)]
pub(crate) struct SimNode {
    pub name: String,
    pub uid: String,
    pub internal_ip: Ipv4Addr,
    pods: Mutex<NodePods>,
    /// The `lastTransitionTime` of each condition as we last wrote it.
    transitions: Mutex<BTreeMap<String, Time>>,
    /// Cut off from the apiserver ([`SimHandle::pause_node`]).
    paused: AtomicBool,
}

/// The pods a node is running, as far as addresses go.
#[derive(Debug)]
pub(crate) struct NodePods {
    pub ipam: PodIpam,
    /// When each pod (by uid) started: the same time on every retry.
    pub started: HashMap<String, Time>,
    /// A pod found no free address: requeue the node's pods on a release.
    pub starved: bool,
}

impl SimNode {
    pub fn new(
        name: String,
        uid: String,
        internal_ip: Ipv4Addr,
        ipam: PodIpam,
        transitions: BTreeMap<String, Time>,
    ) -> Self {
        SimNode {
            name,
            uid,
            internal_ip,
            pods: Mutex::new(NodePods {
                ipam,
                started: HashMap::new(),
                starved: false,
            }),
            transitions: Mutex::new(transitions),
            paused: AtomicBool::new(false),
        }
    }

    /// Whether the node is cut off: it writes nothing.
    pub fn paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    pub fn pods(&self) -> MutexGuard<'_, NodePods> {
        // Every critical section leaves the maps consistent: carry on.
        self.pods
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn transitions(&self) -> MutexGuard<'_, BTreeMap<String, Time>> {
        self.transitions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Counters of what the simulator did.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub nodes_adopted: AtomicU64,
    pub lease_renewals: AtomicU64,
    pub lease_errors: AtomicU64,
    pub status_updates: AtomicU64,
    pub status_errors: AtomicU64,
    pub pods_started: AtomicU64,
    pub pods_deleted: AtomicU64,
    pub pod_errors: AtomicU64,
    pub ip_exhausted: AtomicU64,
}

/// A snapshot of the simulator's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Nodes simulated.
    pub nodes: u64,
    /// Of which existed already and were taken over.
    pub nodes_adopted: u64,
    /// Lease writes that succeeded / failed (creation at start included).
    pub lease_renewals: u64,
    pub lease_errors: u64,
    /// `nodes/status` heartbeats that succeeded / failed.
    pub status_updates: u64,
    pub status_errors: u64,
    /// Pods reported running, deletions confirmed, failed pod writes.
    pub pods_started: u64,
    pub pods_deleted: u64,
    pub pod_errors: u64,
    /// Times a pod found its node's pod range full.
    pub ip_exhausted: u64,
    /// Pod keys waiting for a worker.
    pub queued: u64,
}

impl Stats {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl Simulator {
    /// Registers `config.nodes` nodes through the apiserver `client` talks
    /// to, and keeps them alive and running their pods until the handle
    /// is stopped or dropped.
    ///
    /// Returns once every Node and Lease exists and the pod informer has
    /// listed: pods bound to the nodes from then on start within the
    /// pipeline's latency.
    ///
    /// # Errors
    /// [`crate::Error::Config`] for a config that cannot work,
    /// [`crate::Error::Register`] when a node cannot be registered
    /// (after retrying transient errors).
    pub async fn start(client: Client, config: SimConfig) -> Result<SimHandle> {
        let plans = config.plan()?;
        let began = Instant::now();
        let boot = Time::now().to_string();
        let registered: Vec<(SimNode, bool)> = futures::stream::iter(plans)
            .map(|plan| {
                let (client, config, boot) = (client.clone(), &config, boot.as_str());
                async move { register::register(&client, config, &plan, boot).await }
            })
            .buffered(config.concurrency)
            .try_collect()
            .await?;
        let adopted = registered.iter().filter(|(_, a)| *a).count();
        let nodes: Vec<Arc<SimNode>> = registered.into_iter().map(|(n, _)| Arc::new(n)).collect();
        let by_name = nodes.iter().map(|n| (n.name.clone(), n.clone())).collect();
        let shared = Arc::new(Shared {
            client: client.clone(),
            config,
            nodes,
            by_name,
            stats: Stats::default(),
        });
        shared
            .stats
            .nodes_adopted
            .store(adopted as u64, Ordering::Relaxed);
        shared
            .stats
            .lease_renewals
            .fetch_add(shared.nodes.len() as u64, Ordering::Relaxed);
        tracing::info!(
            nodes = shared.nodes.len(),
            adopted,
            took = ?began.elapsed(),
            "registered simulated nodes"
        );

        let queue = WorkQueue::new();
        let mut tasks = Vec::new();

        // Pods bound to any node (our apiserver, like upstream's, supports
        // `!=` on spec.nodeName); the handler keeps those on our nodes.
        let reflector = ReflectorConfig {
            list_params: ListParams::default().fields("spec.nodeName!="),
            ..ReflectorConfig::default()
        };
        // managedFields are never read here and are much of a pod's size
        // in memory: drop them, as kube-scheduler does.
        let mut informer = Informer::new(Api::<Pod>::all(client), reflector)
            .with_transform(strip_managed_fields())
            .with_index(BY_NODE, node_index());
        let store: Store<Pod> = informer.store();
        informer.add_handler(Arc::new(pod_sync::PodEvents::new(
            shared.clone(),
            queue.clone(),
            store.clone(),
        )));
        let mut synced = informer.synced();
        tasks.push(informer.spawn());
        for _ in 0..shared.config.concurrency {
            tasks.push(tokio::spawn(pod_sync::worker(
                shared.clone(),
                queue.clone(),
                store.clone(),
            )));
        }

        let n = shared.nodes.len();
        let permits = Arc::new(Semaphore::new(shared.config.concurrency));
        let s = shared.clone();
        tasks.push(tokio::spawn(spread::run(
            n,
            shared.config.lease_renew_interval,
            permits.clone(),
            move |i| heartbeat::renew_lease(s.clone(), i),
        )));
        let s = shared.clone();
        tasks.push(tokio::spawn(spread::run(
            n,
            shared.config.node_status_interval,
            permits,
            move |i| heartbeat::report_status(s.clone(), i),
        )));

        synced.wait().await;
        tracing::debug!(pods = store.len(), "pod informer synced");
        Ok(SimHandle {
            shared,
            queue,
            store,
            tasks,
        })
    }
}

impl SimHandle {
    /// The simulated nodes' names, in index order.
    pub fn node_names(&self) -> Vec<String> {
        self.shared.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// Cuts node `name` off from the apiserver, as a crashed kubelet or a
    /// lost network would: no Lease renewals, no status heartbeats, no pod
    /// updates (pods being deleted stay `Terminating`) until
    /// [`SimHandle::resume_node`]. The node lifecycle controller then finds
    /// it silent. False for a node this simulator does not run.
    pub fn pause_node(&self, name: &str) -> bool {
        let Some(node) = self.shared.by_name.get(name) else {
            return false;
        };
        node.paused.store(true, Ordering::Relaxed);
        tracing::info!(node = %name, "paused: no heartbeats, no pod updates");
        true
    }

    /// Reconnects a node cut off by [`SimHandle::pause_node`]: heartbeats
    /// go on at their next turn (the first status heartbeat puts the
    /// conditions back), and its pods are looked at again. False for a node
    /// this simulator does not run.
    pub fn resume_node(&self, name: &str) -> bool {
        let Some(node) = self.shared.by_name.get(name) else {
            return false;
        };
        node.paused.store(false, Ordering::Relaxed);
        for pod in self.store.by_index(BY_NODE, name) {
            self.queue.add(&key_of(pod.as_ref()));
        }
        tracing::info!(node = %name, "resumed");
        true
    }

    /// What the simulator has done so far.
    pub fn stats(&self) -> SimStats {
        let s = &self.shared.stats;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SimStats {
            nodes: self.shared.nodes.len() as u64,
            nodes_adopted: get(&s.nodes_adopted),
            lease_renewals: get(&s.lease_renewals),
            lease_errors: get(&s.lease_errors),
            status_updates: get(&s.status_updates),
            status_errors: get(&s.status_errors),
            pods_started: get(&s.pods_started),
            pods_deleted: get(&s.pods_deleted),
            pod_errors: get(&s.pod_errors),
            ip_exhausted: get(&s.ip_exhausted),
            queued: self.queue.len() as u64,
        }
    }

    /// Stops every task and waits for them. The Nodes stay: without
    /// heartbeats, the node lifecycle controller marks them NotReady after
    /// its grace period, as for a crashed kubelet.
    pub async fn stop(mut self) {
        self.halt().await;
    }

    /// Stops, then deletes the Nodes and their Leases (pods bound to them
    /// are left to the pod garbage collector, as when a machine is removed).
    ///
    /// # Errors
    /// [`crate::Error::Delete`] for the first node that could not be deleted
    /// (the others are still tried).
    pub async fn stop_and_delete_nodes(mut self) -> Result<()> {
        self.halt().await;
        register::unregister_all(&self.shared).await
    }

    async fn halt(&mut self) {
        self.queue.shut_down();
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks.drain(..) {
            // Cancelled is the expected end; a panic was already logged.
            let _ = t.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.queue.shut_down();
        for t in &self.tasks {
            t.abort();
        }
    }
}
