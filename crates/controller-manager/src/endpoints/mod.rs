//! The Endpoints controller (upstream: `pkg/controller/endpoint`): every
//! Service with a selector has an Endpoints object of the same name listing
//! the IP and ports of each pod it selects, ready ones in `addresses`, the
//! others in `notReadyAddresses`. kube-proxy and DNS read it (or, today,
//! the EndpointSlices of [`crate::endpointslice`], which carry the same
//! facts in a form that scales).
//!
//! The loop, for each service key taken off the work queue:
//! 1. read the service, the pods of its namespace and the Endpoints now
//!    cached (never the apiserver);
//! 2. [`plan::plan`] works out the Endpoints the service should have;
//! 3. create or replace it only if it differs; delete it when the service
//!    is gone.
//!
//! Services without a selector are left alone: their Endpoints are written
//! by hand (or by another controller). Pod events queue the services whose
//! selector matches the pod, before and after the change ([`pods`]).

pub mod plan;
pub mod pods;

use std::sync::Arc;

use api_types::core::v1::{Endpoints, Pod, Service};
use api_types::meta::v1::DeleteOptions;
use client::{Api, Client, PostParams};
use runtime::cache::{BY_NAMESPACE, Store, key_of, split_key};
use runtime::events::{EventType, Recorder, object_reference};
use runtime::informer::{EventHandler, Informer, Synced};
use runtime::reflector::ReflectorConfig;
use runtime::workqueue::WorkQueue;
use tracing::{debug, info};

use plan::Plan;
use pods::{PodEvents, ServiceEvents};

/// How many services are synced at once (`--concurrent-endpoint-syncs`).
pub const DEFAULT_WORKERS: usize = 5;

/// Endpoints carrying this annotation are leader-election records of old
/// components, not a service's: never cleaned up as leftovers.
pub const LEADER_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";

/// The Endpoints controller.
#[derive(Clone)]
pub struct Controller {
    client: Client,
    services: Store<Service>,
    pods: Store<Pod>,
    endpoints: Store<Endpoints>,
    queue: WorkQueue<String>,
    recorder: Recorder,
}

/// Endpoints events: a changed or deleted Endpoints object queues its
/// service. Upstream reacts to deletions only; reacting to updates too
/// means a sync that skipped its write because the cache lagged behind our
/// own previous write is repeated once the cache has caught up.
struct EndpointsEvents(WorkQueue<String>);

impl EventHandler<Endpoints> for EndpointsEvents {
    fn on_update(&self, old: &Arc<Endpoints>, new: &Arc<Endpoints>) {
        if old.metadata.resource_version != new.metadata.resource_version {
            self.0.add(key_of(new.as_ref()));
        }
    }
    fn on_delete(&self, ep: &Arc<Endpoints>) {
        self.0.add(key_of(ep.as_ref()));
    }
}

impl Controller {
    /// A controller over the shared `pods` and `services` caches (filed by
    /// namespace), with its own Endpoints informer. Add
    /// [`Controller::pod_handler`] and [`Controller::service_handler`] to
    /// those informers before they start.
    pub fn new(
        client: Client,
        pods: Store<Pod>,
        services: Store<Service>,
        recorder: Recorder,
    ) -> (Self, Informer<Endpoints>) {
        let mut informer = Informer::new(
            Api::<Endpoints>::all(client.clone()),
            ReflectorConfig::default(),
        )
        .with_transform(runtime::informer::strip_managed_fields());
        let c = Controller {
            client,
            services,
            pods,
            endpoints: informer.store(),
            queue: WorkQueue::new(),
            recorder,
        };
        informer.add_handler(Arc::new(EndpointsEvents(c.queue.clone())));
        (c, informer)
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

    /// Runs the Endpoints informer and `workers` sync tasks until `stop`,
    /// once every cache is synced.
    pub async fn run(
        self,
        informer: Informer<Endpoints>,
        mut synced: Vec<Synced>,
        workers: usize,
        stop: impl std::future::Future<Output = ()> + Send,
    ) {
        synced.push(informer.synced());
        let task = informer.spawn();
        for s in &mut synced {
            s.wait().await;
        }
        info!("endpoints controller started");
        self.queue_leftovers();
        let c = self.clone();
        let workers = crate::workers::spawn(
            &self.queue,
            workers,
            "endpoints",
            // Losing a race with the cache is routine.
            |e: &client::Error| e.is_conflict() || e.is_already_exists(),
            move |key| {
                let c = c.clone();
                async move { c.sync(&key).await }
            },
        );
        crate::workers::until_stopped(&self.queue, workers, stop).await;
        task.abort();
    }

    /// Once at start: queue every Endpoints object, so that those whose
    /// service was deleted while the controller was down are removed.
    fn queue_leftovers(&self) {
        for ep in self.endpoints.list() {
            if !ep.metadata.annotations.contains_key(LEADER_ANNOTATION) {
                self.queue.add(key_of(ep.as_ref()));
            }
        }
    }

    /// One reconcile of the service `key`.
    ///
    /// # Errors
    /// An apiserver call failed; the key is retried with back-off.
    pub async fn sync(&self, key: &str) -> Result<(), client::Error> {
        let (ns, name) = split_key(key);
        let api: Api<Endpoints> = Api::namespaced(self.client.clone(), ns);
        let Some(svc) = self.services.get(key) else {
            // The service is gone: so are its endpoints.
            return match api.delete(name, &DeleteOptions::default()).await {
                Ok(()) => {
                    debug!(service = key, "deleted the endpoints of a deleted service");
                    Ok(())
                }
                Err(e) if e.is_not_found() => Ok(()),
                Err(e) => Err(e),
            };
        };
        let pods = self.pods.by_index(BY_NAMESPACE, ns);
        let current = self.endpoints.get(key);
        match plan::plan(&svc, &pods, current.as_deref()) {
            Plan::Unmanaged | Plan::UpToDate => Ok(()),
            Plan::Create(ep) => match api.create(&PostParams::default(), &ep).await {
                Ok(_) => Ok(()),
                // Created meanwhile (the cache lags): sync again once it
                // has caught up.
                Err(e) if e.is_already_exists() => Err(e),
                // The namespace is being deleted: nothing can be created.
                Err(e) if namespace_terminating(&e) => Ok(()),
                Err(e) => {
                    self.recorder.event(
                        &object_reference(&ep),
                        EventType::Warning,
                        "FailedToCreateEndpoint",
                        &format!("Failed to create endpoint for service {ns}/{name}: {e}"),
                    );
                    Err(e)
                }
            },
            Plan::Update(ep) => match api.replace(name, &PostParams::default(), &ep).await {
                Ok(_) => Ok(()),
                // Someone else wrote it first: retried against the newer copy.
                Err(e) if e.is_conflict() || e.is_not_found() => Err(e),
                Err(e) => {
                    self.recorder.event(
                        &object_reference(&ep),
                        EventType::Warning,
                        "FailedToUpdateEndpoint",
                        &format!("Failed to update endpoint {ns}/{name}: {e}"),
                    );
                    Err(e)
                }
            },
        }
    }
}

/// The apiserver refused a creation because the namespace is terminating.
pub fn namespace_terminating(e: &client::Error) -> bool {
    e.code() == Some(403)
        && e.status()
            .and_then(|s| s.details.as_ref())
            .is_some_and(|d| d.causes.iter().any(|c| c.reason == "NamespaceTerminating"))
}
