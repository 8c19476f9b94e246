//! The EndpointSlice controller (upstream: `pkg/controller/endpointslice`):
//! the endpoints of every Service with a selector, as
//! `discovery.k8s.io/v1` EndpointSlices of at most
//! `--max-endpoints-per-slice` endpoints each. A pod change then rewrites
//! one small slice, not one object listing every pod of the service.
//!
//! Slices are labelled `kubernetes.io/service-name=<service>` and
//! `endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io`
//! (only those are this controller's), owned by the service, and named
//! `<service>-<random>`. Each endpoint carries its conditions: `serving`
//! (the pod is ready), `terminating` (it is being deleted) and `ready`
//! (serving and not terminating).
//!
//! The loop, for each service key taken off the work queue:
//! 1. read the service, the pods of its namespace, the nodes and the
//!    service's slices from the caches; if the [`Tracker`] says the slice
//!    cache has not caught up with this controller's own writes, retry
//!    later;
//! 2. [`plan::plan`] decides the creations, updates and deletions;
//! 3. carry them out; a service that is gone has its slices deleted.

pub mod plan;
pub mod tracker;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use api_types::core::v1::{Node, Pod, Service};
use api_types::discovery::v1::EndpointSlice;
use api_types::meta::v1::DeleteOptions;
use client::{Api, Client, PostParams};
use runtime::cache::{BY_NAMESPACE, IndexFn, Store, split_key};
use runtime::events::{EventType, Recorder, object_reference};
use runtime::informer::{EventHandler, Informer, Synced, strip_managed_fields};
use runtime::reflector::ReflectorConfig;
use runtime::workqueue::{RateLimiter, WorkQueue};
use tracing::{debug, info};

use crate::endpoints::namespace_terminating;
use crate::endpoints::pods::{PodEvents, ServiceEvents};
use plan::{CONTROLLER_NAME, Input, MANAGED_BY_LABEL, SERVICE_NAME_LABEL, ZONE_LABEL};
pub use tracker::Tracker;

/// How many services are synced at once
/// (`--concurrent-service-endpoint-syncs`).
pub const DEFAULT_WORKERS: usize = 5;

/// Index name: slices by the key (`namespace/name`) of their service, for
/// the slices this controller manages.
pub const BY_SERVICE: &str = "service";

/// The key of the service a slice managed by this controller belongs to.
pub fn service_key(slice: &EndpointSlice) -> Option<String> {
    let labels = &slice.metadata.labels;
    if labels.get(MANAGED_BY_LABEL).map(String::as_str) != Some(CONTROLLER_NAME) {
        return None;
    }
    let name = labels.get(SERVICE_NAME_LABEL).filter(|n| !n.is_empty())?;
    Some(runtime::cache::key(&slice.metadata.namespace, name))
}

fn service_index() -> IndexFn<EndpointSlice> {
    Arc::new(|s: &EndpointSlice| service_key(s).into_iter().collect())
}

/// Why a sync must be retried.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Api(#[from] client::Error),
    /// The slice cache does not show this controller's last writes yet.
    #[error("EndpointSlice informer cache is out of date")]
    StaleCache,
    /// Some pods were left out because their node is not known.
    #[error("{0}")]
    NodesNotFound(String),
}

impl SyncError {
    /// A routine race with the cache (a stale read, a conflict), not a
    /// fault.
    pub fn is_race(&self) -> bool {
        match self {
            SyncError::StaleCache => true,
            SyncError::Api(e) => e.is_conflict(),
            SyncError::NodesNotFound(_) => false,
        }
    }
}

/// The EndpointSlice controller.
#[derive(Clone)]
pub struct Controller {
    client: Client,
    services: Store<Service>,
    pods: Store<Pod>,
    nodes: Store<Node>,
    slices: Store<EndpointSlice>,
    queue: WorkQueue<String>,
    tracker: Arc<Tracker>,
    recorder: Recorder,
    max_per_slice: usize,
}

/// The informers the controller runs itself.
pub struct Informers {
    pub slices: Informer<EndpointSlice>,
}

/// Slice events: a managed slice that changed or went (whoever did it)
/// queues its service, and tells the tracker what the cache now shows.
struct SliceEvents {
    queue: WorkQueue<String>,
    tracker: Arc<Tracker>,
}

impl SliceEvents {
    fn seen(&self, slice: &EndpointSlice, present: bool) {
        if let Some(key) = service_key(slice) {
            self.tracker.observed(&key, &slice.metadata.name, present);
            self.queue.add(key);
        }
    }
}

impl EventHandler<EndpointSlice> for SliceEvents {
    fn on_add(&self, s: &Arc<EndpointSlice>) {
        self.seen(s, true);
    }
    fn on_update(&self, old: &Arc<EndpointSlice>, new: &Arc<EndpointSlice>) {
        if old.metadata.resource_version == new.metadata.resource_version {
            return; // a resync
        }
        // Relabelled away from this controller: its old service must notice.
        if service_key(old) != service_key(new) {
            self.seen(old, false);
        }
        self.seen(new, true);
    }
    fn on_delete(&self, s: &Arc<EndpointSlice>) {
        self.seen(s, false);
    }
}

impl Controller {
    /// A controller over the shared `pods` and `services` caches (filed by
    /// namespace) and the shared `nodes` cache, with its own slice
    /// informer. Add
    /// [`Controller::pod_handler`] and [`Controller::service_handler`] to
    /// the shared informers before they start.
    pub fn new(
        client: Client,
        pods: Store<Pod>,
        services: Store<Service>,
        nodes: Store<Node>,
        max_per_slice: usize,
        recorder: Recorder,
    ) -> (Self, Informers) {
        let mut slices = Informer::new(
            Api::<EndpointSlice>::all(client.clone()),
            ReflectorConfig::default(),
        )
        .with_index(BY_SERVICE, service_index())
        .with_transform(strip_managed_fields());
        // As upstream: a failed sync waits 1 s (not 5 ms) and doubles from
        // there, since one sync may rewrite many slices.
        let queue = WorkQueue::with_rate_limiter(RateLimiter {
            base_delay: Duration::from_secs(1),
            ..RateLimiter::default()
        });
        let c = Controller {
            client,
            services,
            pods,
            nodes,
            slices: slices.store(),
            queue,
            tracker: Arc::new(Tracker::default()),
            recorder,
            max_per_slice: max_per_slice.max(1),
        };
        slices.add_handler(Arc::new(SliceEvents {
            queue: c.queue.clone(),
            tracker: c.tracker.clone(),
        }));
        (c, Informers { slices })
    }

    /// What the pod informer must tell this controller.
    pub fn pod_handler(&self) -> Arc<dyn EventHandler<Pod>> {
        Arc::new(PodEvents {
            services: self.services.clone(),
            queue: self.queue.clone(),
        })
    }

    /// What the service informer must tell this controller.
    pub fn service_handler(&self) -> Arc<dyn EventHandler<Service>> {
        Arc::new(ServiceEvents(self.queue.clone()))
    }

    /// Runs the slice informer and `workers` sync tasks until `stop`, once
    /// every cache (`synced`: pods, services, nodes) is synced.
    pub async fn run(
        self,
        informers: Informers,
        mut synced: Vec<Synced>,
        workers: usize,
        stop: impl std::future::Future<Output = ()> + Send,
    ) {
        synced.push(informers.slices.synced());
        let tasks_informers = [informers.slices.spawn()];
        for s in &mut synced {
            s.wait().await;
        }
        info!("endpointslice controller started");
        let c = self.clone();
        let workers = crate::workers::spawn(
            &self.queue,
            workers,
            "endpointslice",
            SyncError::is_race,
            move |key| {
                let c = c.clone();
                async move { c.sync(&key).await }
            },
        );
        crate::workers::until_stopped(&self.queue, workers, stop).await;
        for t in tasks_informers {
            t.abort();
        }
    }

    /// One reconcile of the service `key`.
    ///
    /// # Errors
    /// An apiserver call failed, the cache is behind, or pods wait for
    /// their node; the key is retried with back-off.
    pub async fn sync(&self, key: &str) -> Result<(), SyncError> {
        let (ns, name) = split_key(key);
        let api: Api<EndpointSlice> = Api::namespaced(self.client.clone(), ns);
        let slices: Vec<Arc<EndpointSlice>> = self
            .slices
            .by_index(BY_SERVICE, key)
            .into_iter()
            .filter(|s| s.metadata.deletion_timestamp.is_none())
            .collect();
        let Some(svc) = self.services.get(key) else {
            // Upstream leaves this to the garbage collector alone (the
            // owner reference); deleting them here as well also covers
            // `--enable-garbage-collector=false`.
            for s in &slices {
                self.delete(&api, key, &s.metadata.name).await?;
            }
            return Ok(());
        };
        if self.tracker.stale(key, &slices) {
            return Err(SyncError::StaleCache);
        }
        let pods = self.pods.by_index(BY_NAMESPACE, ns);
        let nodes: BTreeMap<String, Option<String>> = pods
            .iter()
            .filter_map(|p| p.spec.as_ref()?.node_name.clone())
            .filter_map(|n| {
                let node = self.nodes.get(&n)?;
                let zone = node.metadata.labels.get(ZONE_LABEL).cloned();
                Some((n, zone))
            })
            .collect();
        let p = plan::plan(&Input {
            service: &svc,
            pods: &pods,
            nodes: &nodes,
            slices: &slices,
            max_per_slice: self.max_per_slice,
        });
        if let Err(e) = self.apply(&api, key, p.create, p.update, &p.delete).await {
            // A race with the cache is retried, not worth an event.
            if !e.is_race() {
                self.failed(&svc, ns, name, &e);
            }
            return Err(e);
        }
        if !p.missing_nodes.is_empty() {
            let text: Vec<String> = p
                .missing_nodes
                .iter()
                .map(|(pod, node)| {
                    format!("skipping Pod {pod} for Service {ns}/{name}: Node {node} Not Found")
                })
                .collect();
            let e = SyncError::NodesNotFound(text.join(", "));
            self.failed(&svc, ns, name, &e);
            return Err(e);
        }
        Ok(())
    }

    /// Creates, updates, then deletes; stops at the first failure.
    async fn apply(
        &self,
        api: &Api<EndpointSlice>,
        key: &str,
        create: Vec<EndpointSlice>,
        update: Vec<EndpointSlice>,
        delete: &[String],
    ) -> Result<(), SyncError> {
        let pp = PostParams::default();
        for s in create {
            match api.create(&pp, &s).await {
                Ok(created) => {
                    debug!(service = key, slice = %created.metadata.name, "created endpoint slice");
                    self.tracker.created(key, &created.metadata.name);
                }
                // The namespace is going away: nothing more can be created.
                Err(e) if namespace_terminating(&e) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
        for s in update {
            api.replace(&s.metadata.name, &pp, &s).await?;
        }
        for name in delete {
            self.delete(api, key, name).await?;
        }
        Ok(())
    }

    async fn delete(
        &self,
        api: &Api<EndpointSlice>,
        key: &str,
        name: &str,
    ) -> Result<(), SyncError> {
        match api.delete(name, &DeleteOptions::default()).await {
            Ok(()) => {
                self.tracker.deleted(key, name);
                Ok(())
            }
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn failed(&self, svc: &Service, ns: &str, name: &str, e: &SyncError) {
        self.recorder.event(
            &object_reference(svc),
            EventType::Warning,
            "FailedToUpdateEndpointSlices",
            &format!("Error updating Endpoint Slices for Service {ns}/{name}: {e}"),
        );
    }
}
