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
//! - [`nodeipam`]: each Node gets a `spec.podCIDR` from `--cluster-cidr`.
//! - [`serviceaccount`]: each namespace has a `default` ServiceAccount.
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

pub mod garbagecollector;
pub mod namespace;
pub mod nodeipam;
pub mod options;
pub mod replicaset;
pub mod resources;
pub mod serviceaccount;

use std::time::Duration;

use api_types::apps::v1::ReplicaSet;
use api_types::core::v1::{EventSource, Pod, ReplicationController};
use client::{Api, Client};
use runtime::cache::{BY_NAMESPACE, namespace_index};
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
    /// Node IPAM: `--allocate-node-cidrs` with `--cluster-cidr` and
    /// `--node-cidr-mask-size`.
    pub node_cidrs: Option<(nodeipam::Cidr, u8)>,
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
            node_cidrs: None,
            garbage_collector: true,
            gc_workers: garbagecollector::DEFAULT_WORKERS,
            namespace_workers: namespace::DEFAULT_WORKERS,
            namespace_sync_period: namespace::DEFAULT_SYNC_PERIOD,
        }
    }
}

/// Runs every controller until `stop` resolves.
pub async fn run(
    client: Client,
    config: ControllerConfig,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let recorder = Recorder::new(
        client.clone(),
        EventSource {
            component: Some("replicaset-controller".into()),
            host: None,
        },
    );
    let rc_recorder = Recorder::new(
        client.clone(),
        EventSource {
            component: Some("replication-controller".into()),
            host: None,
        },
    );
    let mut pods = Informer::new(Api::<Pod>::all(client.clone()), ReflectorConfig::default())
        .with_index(BY_NAMESPACE, namespace_index())
        .with_transform(strip_managed_fields());
    let (rs, rs_informer) =
        replicaset::Controller::<ReplicaSet>::new(client.clone(), pods.store(), recorder);
    let (rc, rc_informer) = replicaset::Controller::<ReplicationController>::new(
        client.clone(),
        pods.store(),
        rc_recorder,
    );
    pods.add_handler(rs.pod_handler());
    pods.add_handler(rc.pod_handler());
    let synced = pods.synced();
    let pod_task = pods.spawn();

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
    let b = tokio::spawn(rc.run(rc_informer, synced, config.rc_workers, stopped(rx.clone())));
    let mut others = vec![
        tokio::spawn(serviceaccount::run(client.clone(), stopped(rx.clone()))),
        tokio::spawn(namespace::Controller::new(client.clone()).run(
            config.namespace_workers,
            config.namespace_sync_period,
            stopped(rx.clone()),
        )),
    ];
    if config.garbage_collector {
        others.push(tokio::spawn(
            garbagecollector::GarbageCollector::new(&client)
                .run(config.gc_workers, stopped(rx.clone())),
        ));
    }
    if let Some((cidr, mask)) = config.node_cidrs {
        match nodeipam::Allocator::new(cidr, mask) {
            Ok(allocator) => {
                let recorder = Recorder::new(
                    client.clone(),
                    EventSource {
                        component: Some("cidrAllocator".into()),
                        host: None,
                    },
                );
                others.push(tokio::spawn(nodeipam::run(
                    client.clone(),
                    allocator,
                    recorder,
                    stopped(rx.clone()),
                )));
            }
            Err(e) => tracing::error!(error = %e, "node IPAM not started"),
        }
    }
    stop.await;
    let _ = tx.send(true);
    let _ = a.await;
    let _ = b.await;
    for t in others {
        let _ = t.await;
    }
    pod_task.abort();
}
