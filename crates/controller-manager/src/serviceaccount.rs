//! The ServiceAccount controller (upstream: `pkg/controller/serviceaccount`):
//! every namespace that is not being deleted has a ServiceAccount named
//! `default`, which pods use when they name none. Created with the
//! namespace, and again if someone deletes it.

use std::sync::Arc;

use api_types::core::v1::{Namespace, ServiceAccount};
use client::{Api, Client, PostParams};
use runtime::cache::Store;
use runtime::informer::{EventHandler, Informer};
use runtime::reflector::ReflectorConfig;
use runtime::workqueue::WorkQueue;
use tracing::{info, warn};

/// The account every namespace gets.
pub const DEFAULT: &str = "default";

struct Enqueue(WorkQueue<String>);

impl EventHandler<Namespace> for Enqueue {
    fn on_add(&self, ns: &Arc<Namespace>) {
        self.0.add(ns.metadata.name.clone());
    }
    fn on_update(&self, _: &Arc<Namespace>, ns: &Arc<Namespace>) {
        self.0.add(ns.metadata.name.clone());
    }
}

impl EventHandler<ServiceAccount> for Enqueue {
    fn on_delete(&self, sa: &Arc<ServiceAccount>) {
        if sa.metadata.name == DEFAULT {
            self.0.add(sa.metadata.namespace.clone());
        }
    }
}

/// Whether namespace `ns` needs its `default` account created.
pub fn needs_default(ns: &Namespace, accounts: &Store<ServiceAccount>) -> bool {
    let terminating = ns.metadata.deletion_timestamp.is_some()
        || ns.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Terminating");
    !terminating && accounts.get_named(&ns.metadata.name, DEFAULT).is_none()
}

/// Runs until `stop`.
pub async fn run(client: Client, stop: impl std::future::Future<Output = ()> + Send) {
    let queue = WorkQueue::new();
    let mut namespaces = Informer::new(
        Api::<Namespace>::all(client.clone()),
        ReflectorConfig::default(),
    );
    let mut accounts = Informer::new(
        Api::<ServiceAccount>::all(client.clone()),
        ReflectorConfig::default(),
    );
    namespaces.add_handler(Arc::new(Enqueue(queue.clone())));
    accounts.add_handler(Arc::new(Enqueue(queue.clone())));
    let (ns_store, sa_store) = (namespaces.store(), accounts.store());
    let (mut a, mut b) = (namespaces.synced(), accounts.synced());
    let tasks = [namespaces.spawn(), accounts.spawn()];
    // Both caches first: an account that exists must not look missing.
    a.wait().await;
    b.wait().await;
    info!("serviceaccount controller started");
    let q = queue.clone();
    let worker = tokio::spawn(async move {
        while let Some(ns) = q.get().await {
            if let Some(namespace) = ns_store.get(&ns)
                && needs_default(&namespace, &sa_store)
            {
                let api: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns);
                let mut sa = ServiceAccount::default();
                sa.metadata.name = DEFAULT.into();
                sa.metadata.namespace = ns.clone();
                match api.create(&PostParams::default(), &sa).await {
                    Ok(_) => info!(namespace = %ns, "created the default service account"),
                    Err(e) if e.is_already_exists() => {}
                    // Terminating: nothing can be created there any more.
                    Err(e) if e.code() == Some(403) => {}
                    Err(e) => {
                        warn!(namespace = %ns, error = %e, "creating the default service account failed");
                        q.add_rate_limited(ns.clone());
                    }
                }
            }
            q.done(&ns);
        }
    });
    stop.await;
    queue.shut_down();
    let _ = worker.await;
    for t in tasks {
        t.abort();
    }
}
