//! The ReplicaSet and ReplicationController controllers against an
//! in-process apiserver, with simulated nodes that take the pods to
//! Running: scale up, self-healing, scale down through `scale`, adoption.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use api_types::apps::v1::ReplicaSet;
use api_types::core::v1::{Pod, ReplicationController};
use api_types::meta::v1::DeleteOptions;
use client::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use test_support::eventually;
use testenv::TestApiserver;

async fn pods_of(api: &Api<Pod>, selector: &str) -> Vec<Pod> {
    api.list(&ListParams::default().labels(selector))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_sets_keep_their_pods() {
    test_support::init_tracing();
    let api = TestApiserver::start().await;
    let client = api.client();
    let sim = sim::Simulator::start(
        client.clone(),
        sim::SimConfig {
            nodes: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let cm = common::controllers(&client);

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    // An orphan that matches: adopted, and counted.
    let orphan: Pod = serde_json::from_value(json!({
        "metadata": {"name": "orphan", "labels": {"app": "web"}},
        "spec": {"nodeName": "sim-node-0", "containers": [{"name": "c", "image": "nginx"}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &orphan).await.unwrap();

    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let rs: ReplicaSet = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"nodeName": "sim-node-0", "containers": [{"name": "c", "image": "nginx"}]}
            }
        }
    }))
    .unwrap();
    let rs = rss.create(&PostParams::default(), &rs).await.unwrap();

    let status = eventually("3 ready replicas", Duration::from_secs(30), || async {
        let s = rss.get("web").await.ok()?.status?;
        (s.ready_replicas == Some(3) && s.available_replicas == Some(3)).then_some(s)
    })
    .await;
    assert_eq!(status.replicas, 3);
    assert_eq!(status.observed_generation, Some(1));
    let now = pods_of(&pods, "app=web").await;
    assert_eq!(now.len(), 3);
    for p in &now {
        let owner = p.metadata.controller_ref().expect("owned");
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("ReplicaSet", rs.metadata.uid.as_str())
        );
    }
    assert!(
        now.iter().any(|p| p.metadata.name == "orphan"),
        "the orphan was adopted"
    );
    assert!(
        now.iter()
            .filter(|p| p.metadata.name.starts_with("web-"))
            .count()
            == 2
    );

    // Self-healing: a deleted pod is replaced.
    let victim = now.iter().find(|p| p.metadata.name != "orphan").unwrap();
    pods.delete(
        &victim.metadata.name,
        &DeleteOptions {
            grace_period_seconds: Some(0),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    eventually("a replacement", Duration::from_secs(30), || async {
        let names: Vec<String> = pods_of(&pods, "app=web")
            .await
            .into_iter()
            .map(|p| p.metadata.name)
            .collect();
        (names.len() == 3 && !names.contains(&victim.metadata.name)).then_some(())
    })
    .await;

    // Scale down through the scale subresource: exactly 1 stays.
    // (A read-modify-write: the controller's status writes may make it
    // conflict, and then it is tried again, as a client would.)
    eventually("the scale written", Duration::from_secs(10), || async {
        let mut scale = rss.get_scale("web").await.ok()?;
        scale.spec.get_or_insert_with(Default::default).replicas = Some(1);
        rss.replace_scale("web", &scale).await.ok()
    })
    .await;
    eventually("1 replica", Duration::from_secs(30), || async {
        let s = rss.get("web").await.ok()?.status?;
        (s.replicas == 1 && pods_of(&pods, "app=web").await.len() == 1).then_some(())
    })
    .await;
    // Never more than asked for, even for a moment after settling.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(pods_of(&pods, "app=web").await.len(), 1);

    // A pod whose labels stop matching is released (and replaced).
    let kept = pods_of(&pods, "app=web").await.remove(0);
    pods.patch(
        &kept.metadata.name,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "debug"}}})),
    )
    .await
    .unwrap();
    eventually(
        "release and replacement",
        Duration::from_secs(30),
        || async {
            let released = pods.get(&kept.metadata.name).await.ok()?;
            let replaced = pods_of(&pods, "app=web").await.len() == 1;
            (released.metadata.controller_ref().is_none() && replaced).then_some(())
        },
    )
    .await;

    cm.stop().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_controllers_too() {
    test_support::init_tracing();
    let api = TestApiserver::start().await;
    let client = api.client();
    let cm = common::controllers(&client);
    let rcs: Api<ReplicationController> = Api::namespaced(client.clone(), "default");
    let rc: ReplicationController = serde_json::from_value(json!({
        "metadata": {"name": "legacy"},
        "spec": {
            "replicas": 2,
            "selector": {"app": "legacy"},
            "template": {
                "metadata": {"labels": {"app": "legacy"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}
            }
        }
    }))
    .unwrap();
    rcs.create(&PostParams::default(), &rc).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    eventually("2 pods", Duration::from_secs(30), || async {
        let n = pods_of(&pods, "app=legacy").await.len();
        let s = rcs.get("legacy").await.ok()?.status?;
        (n == 2 && s.replicas == 2).then_some(())
    })
    .await;
    let names: Vec<String> = pods_of(&pods, "app=legacy")
        .await
        .into_iter()
        .map(|p| p.metadata.name)
        .collect();
    assert!(names.iter().all(|n| n.starts_with("legacy-")), "{names:?}");
    cm.stop().await;
}

/// Adoption is decided on the owner read live: one being deleted (or
/// replaced by a namesake) adopts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_live_owner_that_is_not_being_deleted_may_adopt() {
    use controller_manager::replicaset::can_adopt;
    test_support::init_tracing();
    let api = TestApiserver::start().await;
    let client = api.client();
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let rs: ReplicaSet = serde_json::from_value(json!({
        "metadata": {"name": "owner", "finalizers": ["test.oxkube.io/hold"]},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "x"}},
                         "spec": {"containers": [{"name": "c", "image": "x"}]}}
        }
    }))
    .unwrap();
    let created = rss.create(&PostParams::default(), &rs).await.unwrap();
    assert!(can_adopt(&rss, &created).await.unwrap());
    // A cached copy with another UID: a namesake, not the owner.
    let mut other = created.clone();
    other.metadata.uid = "not-the-same".into();
    assert!(!can_adopt(&rss, &other).await.unwrap());
    // Being deleted (held by its finalizer): no.
    rss.delete("owner", &DeleteOptions::default())
        .await
        .unwrap();
    assert!(!can_adopt(&rss, &created).await.unwrap());
    // Gone: no.
    rss.patch(
        "owner",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(!can_adopt(&rss, &created).await.unwrap());
}
