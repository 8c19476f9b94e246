//! Watches: events in order, selectors, bookmarks, timeouts, 410.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::json;

use super::harness::*;

pub async fn watch_streams_changes_after_a_list(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    c.post(PODS, &pod("before")).await.expect(201);
    let list = c.get(PODS).await.expect(200);
    let mut w = c
        .watch(&format!("{PODS}?watch=true&resourceVersion={}", rv(&list)))
        .await;
    let created = c.post(PODS, &pod("w")).await.expect(201);
    let patched = c
        .merge_patch(
            &format!("{PODS}/w"),
            &json!({ "metadata": { "labels": { "x": "1" } } }),
        )
        .await
        .expect(200);
    c.delete(&format!("{PODS}/w")).await.expect(200);
    let (e1, e2, e3) = (
        w.next_event().await,
        w.next_event().await,
        w.next_event().await,
    );
    assert_eq!(
        [ev(&e1), ev(&e2), ev(&e3)],
        ["ADDED w", "MODIFIED w", "DELETED w"]
    );
    assert_eq!(rv(&e1["object"]), rv(&created));
    assert_eq!(rv(&e2["object"]), rv(&patched));
    assert!(
        rv(&e3["object"]) > rv(&patched),
        "DELETED carries the deletion's revision"
    );
    assert_eq!(e2["object"]["metadata"]["labels"]["x"], "1");
    assert_eq!(e3["object"]["kind"], "Pod");
    assert_eq!(e3["object"]["apiVersion"], "v1");
    // nothing about "before": it predates the watch
    w.expect_quiet(Duration::from_millis(300)).await;
}

pub async fn watch_without_version_starts_with_current_state(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    c.post(CONFIGMAPS, &configmap("one")).await.expect(201);
    c.post(CONFIGMAPS, &configmap("two")).await.expect(201);
    // first with no version (a consistent start), then with 0 (any recent state)
    let mut w = c.watch(&format!("{CONFIGMAPS}?watch=true")).await;
    assert_eq!(
        [ev(&w.next_event().await), ev(&w.next_event().await)],
        ["ADDED one", "ADDED two"]
    );
    c.post(CONFIGMAPS, &configmap("zz-1")).await.expect(201);
    assert_eq!(ev(&w.next_event().await), "ADDED zz-1");
    let mut w = c
        .watch(&format!("{CONFIGMAPS}?watch=1&resourceVersion=0"))
        .await;
    let initial = [
        ev(&w.next_event().await),
        ev(&w.next_event().await),
        ev(&w.next_event().await),
    ];
    assert_eq!(
        initial,
        ["ADDED one", "ADDED two", "ADDED zz-1"],
        "current objects, in key order"
    );
    c.post(CONFIGMAPS, &configmap("zz-2")).await.expect(201);
    assert_eq!(ev(&w.next_event().await), "ADDED zz-2");
}

pub async fn watch_resumes_from_any_recent_version(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    let a = c.post(CONFIGMAPS, &configmap("r1")).await.expect(201);
    c.post(CONFIGMAPS, &configmap("r2")).await.expect(201);
    c.delete(&format!("{CONFIGMAPS}/r1")).await.expect(200);
    let mut w = c
        .watch(&format!(
            "{CONFIGMAPS}?watch=true&resourceVersion={}",
            rv(&a)
        ))
        .await;
    assert_eq!(
        [ev(&w.next_event().await), ev(&w.next_event().await)],
        ["ADDED r2", "DELETED r1"]
    );
}

pub async fn selectors_turn_transitions_into_added_and_deleted(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    let list = c.get(PODS).await.expect(200);
    let mut by_label = c
        .watch(&format!(
            "{PODS}?watch=true&resourceVersion={}&labelSelector=tier%3Dfront",
            rv(&list)
        ))
        .await;
    let mut by_node = c
        .watch(&format!(
            "{PODS}?watch=true&resourceVersion={}&fieldSelector=spec.nodeName%3Dnode-1",
            rv(&list)
        ))
        .await;
    c.post(PODS, &pod("t")).await.expect(201);
    let entered = c
        .merge_patch(
            &format!("{PODS}/t"),
            &json!({ "metadata": { "labels": { "tier": "front" } } }),
        )
        .await
        .expect(200);
    let left = c
        .merge_patch(
            &format!("{PODS}/t"),
            &json!({ "metadata": { "labels": { "tier": "back" } } }),
        )
        .await
        .expect(200);
    let e = by_label.next_event().await;
    assert_eq!(ev(&e), "ADDED t");
    assert_eq!(rv(&e["object"]), rv(&entered));
    let e = by_label.next_event().await;
    assert_eq!(
        ev(&e),
        "DELETED t",
        "leaving the selection is a deletion for this watcher"
    );
    assert_eq!(rv(&e["object"]), rv(&left), "at the revision it left");
    assert_eq!(
        e["object"]["metadata"]["labels"]["tier"], "front",
        "with the last state it matched"
    );
    by_label.expect_quiet(Duration::from_millis(200)).await;
    // a kubelet's view: the pod appears when bound to its node
    bind(c, "default", "t", "node-1").await.expect(201);
    let e = by_node.next_event().await;
    assert_eq!(ev(&e), "ADDED t");
    assert_eq!(e["object"]["spec"]["nodeName"], "node-1");
}

pub async fn namespaced_watch_sees_only_its_namespace(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    let mut ns_watch = c
        .watch("/api/v1/namespaces/kube-system/configmaps?watch=true&resourceVersion=0")
        .await;
    let mut all = c
        .watch("/api/v1/configmaps?watch=true&resourceVersion=0")
        .await;
    c.post(CONFIGMAPS, &configmap("in-default"))
        .await
        .expect(201);
    c.post(
        "/api/v1/namespaces/kube-system/configmaps",
        &configmap("in-system"),
    )
    .await
    .expect(201);
    assert_eq!(ev(&ns_watch.next_event().await), "ADDED in-system");
    assert_eq!(
        [ev(&all.next_event().await), ev(&all.next_event().await)],
        ["ADDED in-default", "ADDED in-system"]
    );
}

pub async fn timeout_ends_the_stream(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    let start = std::time::Instant::now();
    let mut w = c
        .watch(&format!("{PODS}?watch=true&timeoutSeconds=1"))
        .await;
    assert!(
        w.next_within(Duration::from_secs(5)).await.is_none(),
        "no events, then the end"
    );
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

/// A stopping apiserver ends its open watches (upstream's cacher stops its
/// watchers) instead of holding them, fed by nothing, until they time out:
/// clients re-watch and reach the next apiserver.
pub async fn stopping_the_server_ends_open_watches(make: Factory) {
    let h = make(test_config()).await;
    // no timeoutSeconds: the server would keep this for 30-60 minutes
    let mut w = h.client.watch(&format!("{PODS}?watch=true")).await;
    let start = std::time::Instant::now();
    h.server.stop().await;
    let took = start.elapsed();
    assert!(took < Duration::from_secs(1), "stop waited {took:?}");
    assert!(
        w.next_within(Duration::from_secs(2)).await.is_none(),
        "the watch ended"
    );
}

pub async fn bookmarks_when_asked(make: Factory) {
    let mut config = test_config();
    config.cacher.bookmark_interval = Duration::from_millis(100);
    config.cacher.progress_interval = Duration::from_millis(100);
    let h = make(config).await;
    let c = &h.client;
    let list = c.get(PODS).await.expect(200);
    let mut w = c
        .watch(&format!(
            "{PODS}?watch=true&allowWatchBookmarks=true&resourceVersion={}",
            rv(&list)
        ))
        .await;
    // something happens elsewhere: the bookmark moves past it
    let other = c
        .post(CONFIGMAPS, &configmap("elsewhere"))
        .await
        .expect(201);
    loop {
        let e = w.next().await;
        assert_eq!(e["type"], "BOOKMARK", "{e}");
        assert_eq!(e["object"]["kind"], "Pod");
        assert_eq!(e["object"]["apiVersion"], "v1");
        if rv(&e["object"]) >= rv(&other) {
            break;
        }
    }
    // without allowWatchBookmarks there are none
    let mut quiet = c
        .watch(&format!("{PODS}?watch=true&resourceVersion={}", rv(&other)))
        .await;
    quiet.expect_quiet(Duration::from_millis(500)).await;
}

pub async fn too_old_version_is_410_in_stream(make: Factory) {
    let mut config = test_config();
    config.cacher.history = 3;
    let h = make(config).await;
    let c = &h.client;
    let first = c.post(CONFIGMAPS, &configmap("o-0")).await.expect(201);
    for i in 1..8 {
        c.post(CONFIGMAPS, &configmap(&format!("o-{i}")))
            .await
            .expect(201);
    }
    let mut w = c
        .watch(&format!(
            "{CONFIGMAPS}?watch=true&resourceVersion={}",
            rv(&first)
        ))
        .await;
    let e = w.next().await;
    assert_eq!(e["type"], "ERROR");
    assert_eq!(e["object"]["kind"], "Status");
    assert_eq!(e["object"]["code"], 410);
    assert_eq!(e["object"]["reason"], "Expired");
    assert!(
        e["object"]["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("too old resource version: {}", rv(&first)))
    );
    assert!(
        w.next_within(Duration::from_secs(2)).await.is_none(),
        "the stream ends after the error"
    );
}

pub async fn watch_list_sends_initial_events_then_a_bookmark(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    c.post(CONFIGMAPS, &configmap("init")).await.expect(201);
    let mut w = c
        .watch(&format!(
            "{CONFIGMAPS}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&resourceVersion="
        ))
        .await;
    assert_eq!(ev(&w.next().await), "ADDED init");
    let b = w.next().await;
    assert_eq!(b["type"], "BOOKMARK");
    assert_eq!(
        b["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    c.get(&format!("{CONFIGMAPS}?watch=true&sendInitialEvents=true"))
        .await
        .expect_status(422, "Invalid", "");
}
