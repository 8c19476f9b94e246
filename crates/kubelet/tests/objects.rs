//! The kubelet's watched ConfigMaps and Secrets (`pod::objects`) against
//! an in-process apiserver: one watch per object in use, absent objects
//! reported as absent, changes seen without a GET, watches stopped when
//! the last pod using them is gone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use api_types::core::v1::ConfigMap;
use client::{Api, Patch, PatchParams, PostParams};
use kubelet::pod::objects::ObjectCache;
use serde_json::json;
use test_support::eventually;
use testenv::TestApiserver;

fn names(n: &[&str]) -> BTreeSet<String> {
    n.iter().map(|s| (*s).to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_are_watched_while_pods_use_them() {
    test_support::init_tracing();
    let api = TestApiserver::start().await;
    let client = api.client();
    let cache: ObjectCache<ConfigMap> = ObjectCache::new(client.clone());
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");

    // Not registered: an error, never "absent".
    assert!(cache.get("default", "cfg").await.is_err());

    // Registered but absent: absent (after the first list).
    cache.register("pod-a", "default", &names(&["cfg"]));
    assert_eq!(cache.watched(), 1);
    assert!(cache.get("default", "cfg").await.unwrap().is_none());

    // Created, then changed: seen through the watch.
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "cfg"}, "data": {"k": "1"}})).unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let value = |c: Option<ConfigMap>| c.and_then(|c| c.data).and_then(|d| d.get("k").cloned());
    eventually("the created ConfigMap", Duration::from_secs(10), || async {
        (value(cache.get("default", "cfg").await.unwrap()).as_deref() == Some("1")).then_some(())
    })
    .await;
    cms.patch(
        "cfg",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "2"}})),
    )
    .await
    .unwrap();
    eventually("the changed ConfigMap", Duration::from_secs(10), || async {
        (value(cache.get("default", "cfg").await.unwrap()).as_deref() == Some("2")).then_some(())
    })
    .await;

    // Only the named object is watched: another one is not in the cache.
    let other: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "other"}, "data": {"k": "x"}})).unwrap();
    cms.create(&PostParams::default(), &other).await.unwrap();

    // Two pods share one watch; it stops with the last of them.
    cache.register("pod-b", "default", &names(&["cfg", "other"]));
    assert_eq!(cache.watched(), 2);
    cache.unregister("pod-a");
    assert_eq!(cache.watched(), 2);
    assert_eq!(
        value(cache.get("default", "other").await.unwrap()).as_deref(),
        Some("x")
    );
    // pod-b stops using "other".
    cache.register("pod-b", "default", &names(&["cfg"]));
    assert_eq!(cache.watched(), 1);
    assert!(cache.get("default", "other").await.is_err());
    cache.unregister("pod-b");
    assert_eq!(cache.watched(), 0);

    // Deleted while watched: absent again.
    cache.register("pod-c", "default", &names(&["cfg"]));
    cms.delete("cfg", &Default::default()).await.unwrap();
    eventually("the deletion", Duration::from_secs(10), || async {
        cache
            .get("default", "cfg")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
}
