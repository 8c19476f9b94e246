//! Which resources the apiserver serves, and with which strategy: the one
//! place to look to see "what is in this API".

use std::sync::Arc;

use api_types::Resource;
use api_types::apps::v1::{Deployment, ReplicaSet};
use api_types::coordination::v1::Lease;
use api_types::core::v1::{
    ConfigMap, Endpoints, Event, Namespace, Node, Pod, ReplicationController, Secret, Service,
    ServiceAccount,
};
use api_types::discovery::v1::EndpointSlice;
use storage::Storage;

use super::namespaces::{NamespaceGate, WriteTracker};
use super::store::Store;
use super::strategy::Strategy;
use super::{Registry, ResourceInfo};
use crate::cacher::{Cacher, CacherConfig};

/// The built registry plus the caches that must be warm before serving.
pub struct Installed {
    pub registry: Registry,
    pub caches: Vec<Cacher>,
}

/// A strategy with every default: plain objects with no special rules.
pub struct Plain;

impl<K: Resource> Strategy<K> for Plain {}

fn info<K: Resource>(
    subresources: &'static [&'static str],
    categories: &'static [&'static str],
) -> ResourceInfo {
    ResourceInfo {
        group: K::GROUP,
        version: K::VERSION,
        kind: K::KIND,
        plural: K::PLURAL,
        singular: K::SINGULAR,
        namespaced: K::NAMESPACED,
        short_names: K::SHORT_NAMES,
        subresources,
        categories,
    }
}

struct Builder {
    storage: Arc<dyn Storage>,
    config: CacherConfig,
    gate: Option<NamespaceGate>,
    installed: Installed,
}

impl Builder {
    fn add<K: Resource>(
        &mut self,
        strategy: impl Strategy<K>,
        subresources: &'static [&'static str],
        categories: &'static [&'static str],
    ) -> Cacher {
        let gate = if K::NAMESPACED {
            self.gate.clone()
        } else {
            None
        };
        let store = Store::<K>::new(
            self.storage.clone(),
            Arc::new(strategy),
            info::<K>(subresources, categories),
            self.config.clone(),
            gate,
        );
        let cacher = store.cacher().clone();
        self.installed.caches.push(cacher.clone());
        self.installed.registry.add(Arc::new(store));
        cacher
    }
}

/// Builds every resource over `storage`.
pub fn install(storage: Arc<dyn Storage>, config: CacherConfig) -> Installed {
    use super::apps::{deployments::DeploymentStrategy, replica_sets::ReplicaSetStrategy};
    use super::coordination::LeaseStrategy;
    use super::core::{
        config::{ConfigMapStrategy, SecretStrategy},
        endpoints::EndpointsStrategy,
        events::EventStrategy,
        namespaces::NamespaceStrategy,
        nodes::NodeStrategy,
        pods::PodStrategy,
        replication_controllers::ReplicationControllerStrategy,
        serviceaccounts::ServiceAccountStrategy,
        services::ServiceStrategy,
    };
    use super::discovery::EndpointSliceStrategy;

    let mut b = Builder {
        storage: storage.clone(),
        config,
        gate: None,
        installed: Installed {
            registry: Registry::default(),
            caches: Vec::new(),
        },
    };
    // Namespaces first: every namespaced store checks them on create. Their
    // writes go through a tracker so those checks read this server's writes.
    let tracker = Arc::new(WriteTracker::new(storage.clone()));
    let base = std::mem::replace(&mut b.storage, tracker.clone());
    let namespaces = b.add::<Namespace>(NamespaceStrategy, &["status", "finalize"], &[]);
    b.storage = base;
    b.gate = Some(NamespaceGate::new(namespaces, storage, &tracker));

    b.add::<Pod>(
        PodStrategy,
        &["status", "binding", "log", "exec", "attach", "portforward"],
        &["all"],
    );
    b.add::<Node>(NodeStrategy, &["status"], &[]);
    b.add::<Service>(ServiceStrategy, &["status"], &["all"]);
    b.add::<Endpoints>(EndpointsStrategy, &[], &[]);
    b.add::<ConfigMap>(ConfigMapStrategy, &[], &[]);
    b.add::<Secret>(SecretStrategy, &[], &[]);
    b.add::<Event>(EventStrategy, &[], &[]);
    b.add::<ServiceAccount>(ServiceAccountStrategy, &[], &[]);
    b.add::<ReplicationController>(
        ReplicationControllerStrategy,
        &["status", "scale"],
        &["all"],
    );
    b.add::<ReplicaSet>(ReplicaSetStrategy, &["status", "scale"], &["all"]);
    b.add::<Deployment>(DeploymentStrategy, &["status", "scale"], &["all"]);
    b.add::<EndpointSlice>(EndpointSliceStrategy, &[], &[]);
    b.add::<Lease>(LeaseStrategy, &[], &[]);
    b.installed
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::cacher::{Filter, Message};

    /// The watches kubelets open by the thousand are indexed, as upstream's
    /// are: pods by node, ConfigMaps and Secrets by name. A pinned watch
    /// shares its value's channel and is woken by that value's events only.
    #[tokio::test]
    async fn the_watches_kubelets_open_are_indexed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage: Arc<dyn Storage> =
            Arc::new(storage::SqliteStorage::open(dir.path()).expect("store"));
        let installed = install(storage.clone(), CacherConfig::default());
        let pod = |name: &str, node: &str| {
            format!(
                r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}","namespace":"default"}},"spec":{{"nodeName":"{node}","containers":[]}}}}"#
            )
        };
        let named = |kind: &str, name: &str| {
            format!(
                r#"{{"apiVersion":"v1","kind":"{kind}","metadata":{{"name":"{name}","namespace":"default"}}}}"#
            )
        };
        // plural, the kubelet's selector, an object it selects, one it does not.
        let cases = [
            (
                "pods",
                "spec.nodeName=node-1",
                ("a", pod("a", "node-1")),
                ("b", pod("b", "node-2")),
            ),
            (
                "configmaps",
                "metadata.name=app",
                ("app", named("ConfigMap", "app")),
                ("other", named("ConfigMap", "other")),
            ),
            (
                "secrets",
                "metadata.name=app",
                ("app", named("Secret", "app")),
                ("other", named("Secret", "other")),
            ),
        ];
        for (plural, selector, (wanted, wanted_json), (other, other_json)) in cases {
            let prefix = format!("/registry/{plural}/");
            let cacher = installed
                .caches
                .iter()
                .find(|c| c.prefix() == prefix)
                .expect("installed");
            cacher.wait_ready().await;
            let filter = Filter::parse(Some("default"), None, Some(selector), &["spec.nodeName"])
                .expect("filter");
            let mut start = cacher.watch(None, &filter).expect("watch");
            let _second = cacher.watch(None, &filter).expect("watch");
            assert_eq!(cacher.indexed_channels(), 1, "{plural}");

            storage
                .create(&format!("{prefix}default/{other}"), Bytes::from(other_json))
                .await
                .expect("create");
            let last = storage
                .create(
                    &format!("{prefix}default/{wanted}"),
                    Bytes::from(wanted_json),
                )
                .await
                .expect("create");
            cacher.wait_fresh(last.mod_revision).await.expect("fresh");
            let mut woken_by = Vec::new();
            while let Ok(msg) = start.live.try_recv() {
                if let Message::Event(event) = msg {
                    woken_by.push(event.object.name.clone());
                }
            }
            assert_eq!(woken_by, [wanted], "{plural}");
        }
    }
}
