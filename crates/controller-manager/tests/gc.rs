//! The garbage collector against an in-process apiserver: the three
//! cascading deletions of a ReplicaSet (through our client and through
//! kubectl), a dependent whose owner never existed, and a dependent that
//! keeps one of its two owners.
//!
//! No scheduler runs, so the pods stay unscheduled and the apiserver
//! deletes them at once (nothing runs them); pods that must linger carry a
//! finalizer of the test's own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::kubectl;

use std::time::Duration;

use api_types::apps::v1::ReplicaSet;
use api_types::core::v1::{ConfigMap, Pod};
use api_types::meta::v1::DeleteOptions;
use client::{Api, Client, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use test_support::eventually;
use testenv::TestApiserver;

const LIMIT: Duration = Duration::from_secs(30);
const HOLD: &str = "example.com/hold";

fn replica_set(name: &str, replicas: i32, pod_finalizers: &[&str]) -> ReplicaSet {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "finalizers": pod_finalizers},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}
            }
        }
    }))
    .unwrap()
}

async fn pods_of(pods: &Api<Pod>, app: &str) -> Vec<Pod> {
    pods.list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .unwrap()
        .items
}

/// Creates the ReplicaSet and waits for its `n` pods.
async fn with_pods(client: &Client, rs: &ReplicaSet, n: usize) -> (ReplicaSet, Vec<Pod>) {
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let rs = rss.create(&PostParams::default(), rs).await.unwrap();
    let name = rs.metadata.name.clone();
    let now = eventually("the ReplicaSet's pods", LIMIT, || async {
        let p = pods_of(&pods, &name).await;
        (p.len() == n).then_some(p)
    })
    .await;
    for p in &now {
        assert_eq!(p.metadata.owner_references[0].uid, rs.metadata.uid);
    }
    (rs, now)
}

fn policy(p: &str) -> DeleteOptions {
    DeleteOptions {
        propagation_policy: Some(p.into()),
        ..DeleteOptions::default()
    }
}

async fn drop_finalizers(pods: &Api<Pod>, name: &str) {
    let patch = Patch::Merge(json!({"metadata": {"finalizers": null}}));
    match pods.patch(name, &PatchParams::default(), &patch).await {
        Ok(_) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cascading_deletion_in_the_three_modes() {
    test_support::init_tracing();
    let api = TestApiserver::start().await;
    let client = api.client();
    let _stop = common::controllers(&client);
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    // Background: the ReplicaSet goes at once, its pods after it.
    with_pods(&client, &replica_set("bg", 2, &[]), 2).await;
    rss.delete("bg", &policy("Background")).await.unwrap();
    assert!(rss.get_opt("bg").await.unwrap().is_none());
    eventually("the pods collected", LIMIT, || async {
        pods_of(&pods, "bg").await.is_empty().then_some(())
    })
    .await;

    // Foreground: the ReplicaSet waits, marked, until its pods are gone.
    // The pods linger (a finalizer of ours), so the wait can be seen.
    let (rs, _) = with_pods(&client, &replica_set("fg", 2, &[HOLD]), 2).await;
    rss.delete("fg", &policy("Foreground")).await.unwrap();
    let terminating = eventually("the pods being deleted", LIMIT, || async {
        let p = pods_of(&pods, "fg").await;
        p.iter()
            .all(|p| p.metadata.deletion_timestamp.is_some())
            .then_some(p)
    })
    .await;
    let waiting = rss.get("fg").await.expect("the owner waits for its pods");
    assert_eq!(waiting.metadata.uid, rs.metadata.uid);
    assert!(waiting.metadata.deletion_timestamp.is_some());
    assert_eq!(waiting.metadata.finalizers, ["foregroundDeletion"]);
    for p in &terminating {
        drop_finalizers(&pods, &p.metadata.name).await;
    }
    eventually("the owner gone after its pods", LIMIT, || async {
        rss.get_opt("fg").await.unwrap().is_none().then_some(())
    })
    .await;
    assert!(pods_of(&pods, "fg").await.is_empty());

    // Orphan: the ReplicaSet goes, its pods stay, released.
    let (_, before) = with_pods(&client, &replica_set("orphan", 2, &[]), 2).await;
    rss.delete("orphan", &policy("Orphan")).await.unwrap();
    eventually("the owner gone", LIMIT, || async {
        rss.get_opt("orphan").await.unwrap().is_none().then_some(())
    })
    .await;
    let after = pods_of(&pods, "orphan").await;
    let names = |v: &[Pod]| {
        let mut n: Vec<String> = v.iter().map(|p| p.metadata.name.clone()).collect();
        n.sort();
        n
    };
    assert_eq!(names(&after), names(&before));
    for p in &after {
        assert!(p.metadata.owner_references.is_empty(), "{p:?}");
        assert!(p.metadata.deletion_timestamp.is_none());
    }
}

fn config_map(name: &str, owners: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name, "ownerReferences": owners},
        "data": {"k": "v"}
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependents_of_owners_that_never_existed_are_collected() {
    test_support::init_tracing();
    let api = TestApiserver::start().await;
    let client = api.client();
    let _stop = common::controllers(&client);
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let real = rss
        .create(&PostParams::default(), &replica_set("real", 0, &[]))
        .await
        .unwrap();
    // No such owner at all; and one whose name exists with another UID.
    for (cm, owner_name, uid) in [
        (
            "ghost-child",
            "ghost",
            "6c1b2c3d-0000-4000-8000-000000000001",
        ),
        (
            "impostor-child",
            "real",
            "6c1b2c3d-0000-4000-8000-000000000002",
        ),
    ] {
        cms.create(
            &PostParams::default(),
            &config_map(
                cm,
                json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner_name, "uid": uid}]),
            ),
        )
        .await
        .unwrap();
    }
    // A dependent of the real one stays.
    cms.create(
        &PostParams::default(),
        &config_map(
            "real-child",
            json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "real", "uid": real.metadata.uid}]),
        ),
    )
    .await
    .unwrap();
    for cm in ["ghost-child", "impostor-child"] {
        eventually("the dependent collected", LIMIT, || async {
            cms.get_opt(cm).await.unwrap().is_none().then_some(())
        })
        .await;
    }
    assert!(cms.get_opt("real-child").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependent_with_an_owner_left_keeps_living() {
    test_support::init_tracing();
    let api = TestApiserver::start().await;
    let client = api.client();
    let _stop = common::controllers(&client);
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let a = cms
        .create(&PostParams::default(), &config_map("owner-a", json!([])))
        .await
        .unwrap();
    let b = cms
        .create(&PostParams::default(), &config_map("owner-b", json!([])))
        .await
        .unwrap();
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "shared", "ownerReferences": [
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner-a", "uid": a.metadata.uid},
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner-b", "uid": b.metadata.uid, "blockOwnerDeletion": true}
        ]},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}
    }))
    .unwrap();
    let pod = pods.create(&PostParams::default(), &pod).await.unwrap();
    cms.delete("owner-b", &DeleteOptions::default())
        .await
        .unwrap();
    let refs = eventually("the dangling reference dropped", LIMIT, || async {
        let p = pods.get("shared").await.unwrap();
        (p.metadata.owner_references.len() == 1).then_some(p.metadata.owner_references)
    })
    .await;
    assert_eq!(refs[0].uid, a.metadata.uid);
    let now = pods.get("shared").await.unwrap();
    assert_eq!(now.metadata.uid, pod.metadata.uid);
    assert!(now.metadata.deletion_timestamp.is_none());

    // The last owner goes: so does the pod.
    cms.delete("owner-a", &DeleteOptions::default())
        .await
        .unwrap();
    eventually("the pod collected", LIMIT, || async {
        pods.get_opt("shared")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
}

// Several threads: kubectl runs as a blocking child process while the
// in-process apiserver and the controllers answer it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kubectl_delete_cascade_modes() {
    test_support::init_tracing();
    let api = TestApiserver::start().await;
    let client = api.client();
    let _stop = common::controllers(&client);
    let kubeconfig = api.write_kubeconfig();
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    for mode in ["background", "foreground", "orphan"] {
        let name = format!("kc-{mode}");
        with_pods(&client, &replica_set(&name, 2, &[]), 2).await;
        let cascade = format!("--cascade={mode}");
        let k = kubeconfig.clone();
        let args = [
            "delete",
            "rs",
            name.as_str(),
            cascade.as_str(),
            "--timeout=60s",
        ]
        .map(String::from);
        // kubectl waits until the ReplicaSet is gone.
        let out = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            kubectl(&k, &args)
        })
        .await
        .unwrap();
        assert_eq!(out.trim(), format!("replicaset.apps \"{name}\" deleted"));
        assert!(rss.get_opt(&name).await.unwrap().is_none());
        match mode {
            // Foreground: the pods went first.
            "foreground" => assert!(pods_of(&pods, &name).await.is_empty()),
            "background" => {
                eventually("the pods collected", LIMIT, || async {
                    pods_of(&pods, &name).await.is_empty().then_some(())
                })
                .await;
            }
            _ => {
                let left = pods_of(&pods, &name).await;
                assert_eq!(left.len(), 2);
                assert!(left.iter().all(|p| p.metadata.owner_references.is_empty()));
            }
        }
    }
}
