//! # kube-controller-manager: the reconcile loops
//!
//! Every controller here follows one pattern: informers keep a cache of
//! the objects it cares about; their events put object keys on a work
//! queue; workers take a key, read the cache (never the apiserver), work
//! out what should be ([`replicaset::plan`], a pure function), and make it
//! so through the apiserver. A failed sync is retried with back-off.
//!
//! - [`replicaset`]: ReplicaSets and ReplicationControllers keep
//!   `spec.replicas` pods.
//! - [`deployment`]: Deployments roll a pod template out through
//!   ReplicaSets.
//! - [`nodeipam`]: each Node gets a `spec.podCIDR` from `--cluster-cidr`.
//! - [`nodelifecycle`]: a node that stops renewing its Lease is marked
//!   `Unknown` and tainted; pods leave tainted nodes (taint eviction).
//! - [`serviceaccount`]: each namespace has a `default` ServiceAccount.
//! - [`endpoints`]: each Service with a selector has an Endpoints object
//!   listing the pods it selects.
//! - [`endpointslice`]: the same, as EndpointSlices of at most
//!   `--max-endpoints-per-slice` endpoints.
//! - [`garbagecollector`]: objects whose owners are gone are deleted; the
//!   Background, Foreground and Orphan cascading deletions.
//! - [`namespace`]: a namespace being deleted is emptied, then released.
//!
//! [`resources`] gives the last two kind-agnostic access to every kind the
//! apiserver serves. Those two delete things, so, as upstream, they read
//! the object (and its owners) from the apiserver before acting: a cache
//! that lags must never be the reason something is deleted.
//!
//! [`run`] starts the controllers on shared informers; `main.rs` adds the
//! flags and leader election.

pub mod deployment;
#[cfg(test)]
mod endpoint_fixtures;
pub mod endpoints;
pub mod endpointslice;
pub mod garbagecollector;
pub mod namespace;
pub mod nodeipam;
pub mod nodelifecycle;
pub mod options;
pub mod replicaset;
pub mod resources;
pub mod serviceaccount;
pub mod workers;

use std::time::Duration;

use api_types::apps::v1::ReplicaSet;
use api_types::core::v1::{EventSource, Node, Pod, ReplicationController, Service};
use client::{Api, Client};
use runtime::cache::{BY_NAMESPACE, BY_NODE, namespace_index, node_index};
use runtime::events::Recorder;
use runtime::informer::{Informer, strip_managed_fields};
use runtime::reflector::ReflectorConfig;

/// What to run.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    /// Workers of the ReplicaSet controller (`--concurrent-replicaset-syncs`).
    pub replicaset_workers: usize,
    /// Workers of the ReplicationController controller (`--concurrent-rc-syncs`).
    pub rc_workers: usize,
    /// Workers of the Deployment controller (`--concurrent-deployment-syncs`).
    pub deployment_workers: usize,
    /// Node IPAM: `--allocate-node-cidrs` with `--cluster-cidr` and
    /// `--node-cidr-mask-size`.
    pub node_cidrs: Option<(nodeipam::Cidr, u8)>,
    /// Workers of the Endpoints controller (`--concurrent-endpoint-syncs`).
    pub endpoint_workers: usize,
    /// Workers of the EndpointSlice controller
    /// (`--concurrent-service-endpoint-syncs`).
    pub endpointslice_workers: usize,
    /// `--max-endpoints-per-slice`.
    pub max_endpoints_per_slice: usize,
    /// The node lifecycle and taint eviction controllers' timings and
    /// rates (`--node-monitor-period`, `--node-monitor-grace-period` …).
    pub node_lifecycle: nodelifecycle::Config,
    /// Run the garbage collector (`--enable-garbage-collector`).
    pub garbage_collector: bool,
    /// Workers of each garbage-collector queue (`--concurrent-gc-syncs`).
    pub gc_workers: usize,
    /// Workers of the namespace controller (`--concurrent-namespace-syncs`).
    pub namespace_workers: usize,
    /// How often every namespace is looked at again
    /// (`--namespace-sync-period`).
    pub namespace_sync_period: Duration,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            replicaset_workers: replicaset::DEFAULT_WORKERS,
            rc_workers: replicaset::DEFAULT_WORKERS,
            deployment_workers: deployment::DEFAULT_WORKERS,
            node_cidrs: None,
            endpoint_workers: endpoints::DEFAULT_WORKERS,
            endpointslice_workers: endpointslice::DEFAULT_WORKERS,
            max_endpoints_per_slice: endpointslice::plan::DEFAULT_MAX_ENDPOINTS_PER_SLICE,
            node_lifecycle: nodelifecycle::Config::default(),
            garbage_collector: true,
            gc_workers: garbagecollector::DEFAULT_WORKERS,
            namespace_workers: namespace::DEFAULT_WORKERS,
            namespace_sync_period: namespace::DEFAULT_SYNC_PERIOD,
        }
    }
}

/// Runs every controller until `stop` resolves. As upstream (one
/// clientset per controller), each controller, the event recorders and the
/// shared informers get their own rate limiter (`--kube-api-qps` and
/// `--kube-api-burst` each): a controller creating thousands of pods does
/// not starve the others.
pub async fn run(
    client: Client,
    config: ControllerConfig,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let recorder = Recorder::new(
        client.with_own_limiter(),
        EventSource {
            component: Some("replicaset-controller".into()),
            host: None,
        },
    );
    let rc_recorder = Recorder::new(
        client.with_own_limiter(),
        EventSource {
            component: Some("replication-controller".into()),
            host: None,
        },
    );
    let mut pods = Informer::new(Api::<Pod>::all(client.clone()), ReflectorConfig::default())
        .with_index(BY_NAMESPACE, namespace_index())
        .with_index(BY_NODE, node_index())
        .with_transform(strip_managed_fields());
    let (rs, mut rs_informer) = replicaset::Controller::<ReplicaSet>::new(
        client.with_own_limiter(),
        pods.store(),
        recorder,
    );
    let (deploy, deploy_informer) = deployment::Controller::new(
        client.with_own_limiter(),
        rs_informer.store(),
        pods.store(),
        Recorder::new(
            client.with_own_limiter(),
            EventSource {
                component: Some("deployment-controller".into()),
                host: None,
            },
        ),
    );
    rs_informer.add_handler(deploy.replica_set_handler());
    pods.add_handler(deploy.pod_handler());
    let rs_synced = rs_informer.synced();
    let (rc, rc_informer) = replicaset::Controller::<ReplicationController>::new(
        client.with_own_limiter(),
        pods.store(),
        rc_recorder,
    );
    pods.add_handler(rs.pod_handler());
    pods.add_handler(rc.pod_handler());

    // Nodes, shared by node lifecycle, taint eviction, node IPAM and the
    // EndpointSlice controller (zones).
    let mut nodes = Informer::new(Api::<Node>::all(client.clone()), ReflectorConfig::default())
        .with_transform(strip_managed_fields());

    // Services, shared by the two endpoint controllers.
    let mut services = Informer::new(
        Api::<Service>::all(client.clone()),
        ReflectorConfig::default(),
    )
    .with_index(BY_NAMESPACE, namespace_index())
    .with_transform(strip_managed_fields());
    let recorder_for = |component: &str| {
        Recorder::new(
            client.with_own_limiter(),
            EventSource {
                component: Some(component.into()),
                host: None,
            },
        )
    };
    let (ep, ep_informer) = endpoints::Controller::new(
        client.with_own_limiter(),
        pods.store(),
        services.store(),
        recorder_for("endpoint-controller"),
    );
    let (eps, eps_informers) = endpointslice::Controller::new(
        client.with_own_limiter(),
        pods.store(),
        services.store(),
        nodes.store(),
        config.max_endpoints_per_slice,
        recorder_for("endpoint-slice-controller"),
    );
    pods.add_handler(ep.pod_handler());
    pods.add_handler(eps.pod_handler());
    services.add_handler(ep.service_handler());
    services.add_handler(eps.service_handler());

    let (lifecycle, lease_informer) = nodelifecycle::Controller::new(
        client.with_own_limiter(),
        pods.store(),
        &mut nodes,
        config.node_lifecycle.clone(),
    );
    let eviction =
        nodelifecycle::TaintEviction::new(client.with_own_limiter(), pods.store(), nodes.store());
    nodes.add_handler(eviction.node_handler());
    pods.add_handler(lifecycle.pod_handler());
    pods.add_handler(eviction.pod_handler());
    let ipam = match config
        .node_cidrs
        .map(|(cidr, mask)| nodeipam::Allocator::new(cidr, mask))
    {
        Some(Ok(allocator)) => {
            let ipam = nodeipam::Ipam::new(allocator);
            nodes.add_handler(ipam.node_handler());
            Some(ipam)
        }
        Some(Err(e)) => {
            tracing::error!(error = %e, "node IPAM not started");
            None
        }
        None => None,
    };
    let nodes_synced = nodes.synced();
    let nodes_store = nodes.store();
    let node_task = nodes.spawn();
    let synced = pods.synced();
    let services_synced = services.synced();
    let pod_task = pods.spawn();
    let service_task = services.spawn();

    let (tx, rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let a = tokio::spawn(rs.run(
        rs_informer,
        synced.clone(),
        config.replicaset_workers,
        stopped(rx.clone()),
    ));
    let b = tokio::spawn(rc.run(
        rc_informer,
        synced.clone(),
        config.rc_workers,
        stopped(rx.clone()),
    ));
    let c = tokio::spawn(deploy.run(
        deploy_informer,
        vec![rs_synced, synced.clone()],
        config.deployment_workers,
        stopped(rx.clone()),
    ));
    let mut others = vec![
        tokio::spawn(serviceaccount::run(
            client.with_own_limiter(),
            stopped(rx.clone()),
        )),
        tokio::spawn(ep.run(
            ep_informer,
            vec![synced.clone(), services_synced.clone()],
            config.endpoint_workers,
            stopped(rx.clone()),
        )),
        tokio::spawn(eps.run(
            eps_informers,
            vec![synced.clone(), services_synced, nodes_synced.clone()],
            config.endpointslice_workers,
            stopped(rx.clone()),
        )),
        tokio::spawn(lifecycle.run(
            lease_informer,
            nodes_synced.clone(),
            synced.clone(),
            stopped(rx.clone()),
        )),
        tokio::spawn(eviction.run(nodes_synced.clone(), synced.clone(), stopped(rx.clone()))),
        tokio::spawn(namespace::Controller::new(client.with_own_limiter()).run(
            config.namespace_workers,
            config.namespace_sync_period,
            stopped(rx.clone()),
        )),
    ];
    if config.garbage_collector {
        others.push(tokio::spawn(
            garbagecollector::GarbageCollector::new(&client.with_own_limiter())
                .run(config.gc_workers, stopped(rx.clone())),
        ));
    }
    if let Some(ipam) = ipam {
        let recorder = Recorder::new(
            client.with_own_limiter(),
            EventSource {
                component: Some("cidrAllocator".into()),
                host: None,
            },
        );
        others.push(tokio::spawn(ipam.run(
            client.with_own_limiter(),
            nodes_store,
            nodes_synced,
            recorder,
            stopped(rx.clone()),
        )));
    }
    stop.await;
    let _ = tx.send(true);
    let _ = a.await;
    let _ = b.await;
    let _ = c.await;
    for t in others {
        let _ = t.await;
    }
    pod_task.abort();
    service_task.abort();
    node_task.abort();
}
