//! Informers against a real apiserver: the first list, live changes,
//! indexes, a forced compaction (410 → relist) and an apiserver restart.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api_types::core::v1::{ConfigMap, Pod, PodSpec};
use api_types::meta::v1::{DeleteOptions, ObjectMeta};
use client::{Api, ListParams, Patch, PatchParams, PostParams};
use runtime::cache::{BY_NODE, node_index};
use runtime::informer::{EventHandler, Informer, strip_managed_fields};
use runtime::reflector::{Backoff, ReflectorConfig};
use serde_json::json;
use testenv::TestApiserver;

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl<K: api_types::Resource> EventHandler<K> for Recorder {
    fn on_add(&self, o: &Arc<K>) {
        self.push(format!("add {}", o.metadata().name));
    }
    fn on_update(&self, _old: &Arc<K>, new: &Arc<K>) {
        self.push(format!("update {}", new.metadata().name));
    }
    fn on_delete(&self, o: &Arc<K>) {
        self.push(format!("delete {}", o.metadata().name));
    }
}

impl Recorder {
    fn push(&self, s: String) {
        self.0.lock().unwrap().push(s);
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// Waits until `want` has been recorded (in any order with others).
    async fn wait_for(&self, want: &[&str]) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let seen = self.0.lock().unwrap().clone();
            if want.iter().all(|w| seen.iter().any(|s| s == w)) {
                return self.take();
            }
            assert!(
                Instant::now() < deadline,
                "waited for {want:?}, saw {seen:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn cm(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: name.into(),
            labels: [("team".to_string(), "a".to_string())].into(),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    }
}

fn fast() -> ReflectorConfig {
    ReflectorConfig {
        list_params: ListParams::default().labels("team=a"),
        page_size: 2,
        min_watch_timeout: Duration::from_secs(2),
        // long enough for the test to restart the apiserver and compact
        // while the informer waits to reconnect
        backoff: Backoff::new(Duration::from_secs(3), Duration::from_secs(4)),
    }
}

#[tokio::test]
async fn lists_then_follows_changes_across_compaction_and_restart() {
    let mut server = TestApiserver::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let pp = PostParams::default();
    for name in ["a", "b", "c"] {
        cms.create(&pp, &cm(name)).await.unwrap();
    }
    let mut other = cm("not-selected");
    other.metadata.labels.clear();
    cms.create(&pp, &other).await.unwrap();

    let rec = Arc::new(Recorder::default());
    let mut informer = Informer::new(Api::<ConfigMap>::all(server.client()), fast());
    informer.add_handler(rec.clone());
    let store = informer.store();
    let lists = informer.list_count();
    let mut synced = informer.synced();
    assert!(!synced.is_synced());
    let task = informer.spawn();
    tokio::time::timeout(Duration::from_secs(10), synced.wait())
        .await
        .unwrap();
    // three pages of two: all selected objects, nothing else
    let mut first = rec.wait_for(&["add a", "add b", "add c"]).await;
    first.sort();
    assert_eq!(first, ["add a", "add b", "add c"]);
    assert_eq!(store.len(), 3);

    cms.create(&pp, &cm("d")).await.unwrap();
    cms.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"x": "1"}})),
    )
    .await
    .unwrap();
    cms.delete("b", &DeleteOptions::default()).await.unwrap();
    let seen = rec.wait_for(&["add d", "update a", "delete b"]).await;
    assert_eq!(
        seen,
        ["add d", "update a", "delete b"],
        "in the apiserver's order"
    );
    assert!(store.get("default/b").is_none());
    assert_eq!(
        store.get("default/a").unwrap().data.as_ref().unwrap()["x"],
        "1",
        "handlers run after the cache has the object"
    );

    // Stop the apiserver; while the informer backs off, restart it,
    // change things behind the informer's back and compact the history:
    // the informer's watch from its old resourceVersion gets 410, so it
    // must relist and work out the difference.
    assert_eq!(lists.load(Ordering::Relaxed), 1);
    server.stop().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.restart().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    cms.create(&pp, &cm("e")).await.unwrap();
    cms.delete("c", &DeleteOptions::default()).await.unwrap();
    server.compact().await;
    // Restart once more so the watch cache, too, starts after the
    // informer's resourceVersion.
    server.restart().await;
    let seen = rec.wait_for(&["add e", "delete c"]).await;
    assert_eq!(lists.load(Ordering::Relaxed), 2, "relisted once");
    assert!(
        !seen.iter().any(|s| s == "add a"),
        "no spurious adds: {seen:?}"
    );
    let mut keys = store.keys();
    keys.sort();
    assert_eq!(keys, ["default/a", "default/d", "default/e"]);

    // After relisting it keeps watching.
    cms.create(&pp, &cm("f")).await.unwrap();
    rec.wait_for(&["add f"]).await;
    task.abort();
}

#[tokio::test]
async fn pods_by_node_and_resync() {
    let server = TestApiserver::start().await;
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    let rec = Arc::new(Recorder::default());
    let mut informer = Informer::new(Api::<Pod>::all(server.client()), ReflectorConfig::default())
        .with_index(BY_NODE, node_index())
        .with_transform(strip_managed_fields())
        .with_resync(Duration::from_millis(300));
    informer.add_handler(rec.clone());
    let store = informer.store();
    let mut synced = informer.synced();
    let task = informer.spawn();
    synced.wait().await;

    for (name, node) in [("p1", "n1"), ("p2", "n1"), ("p3", "n2")] {
        let pod = Pod {
            metadata: ObjectMeta {
                name: name.into(),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                node_name: Some(node.into()),
                containers: vec![api_types::core::v1::Container {
                    name: "c".into(),
                    image: Some("busybox".into()),
                    ..Default::default()
                }],
                ..PodSpec::default()
            }),
            ..Pod::default()
        };
        pods.create(&PostParams::default(), &pod).await.unwrap();
    }
    rec.wait_for(&["add p1", "add p2", "add p3"]).await;
    assert_eq!(store.by_index(BY_NODE, "n1").len(), 2);
    assert_eq!(store.by_index(BY_NODE, "n2").len(), 1);
    // The apiserver sends managedFields; the transform dropped them.
    assert!(
        !pods
            .get("p1")
            .await
            .unwrap()
            .metadata
            .managed_fields
            .is_empty()
    );
    assert!(
        store
            .list()
            .iter()
            .all(|p| p.metadata.managed_fields.is_empty())
    );
    // resync re-delivers every cached object as an update
    rec.wait_for(&["update p1", "update p2", "update p3"]).await;
    task.abort();
}
