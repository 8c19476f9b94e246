//! The REST suite on the embedded store, plus a restart that loses nothing.

#![allow(clippy::unwrap_used)]

mod suite;

use std::sync::Arc;

use suite::harness::{self, CONFIGMAPS, configmap, rv, test_config};

apiserver_suite!(harness::sqlite);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_and_versions_survive_a_restart() {
    test_support::init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let (before, list_rv) = {
        let store = storage::SqliteStorage::open(dir.path()).unwrap();
        let h = harness::start(Arc::new(store), test_config(), Box::new(())).await;
        let created = h
            .client
            .post(CONFIGMAPS, &configmap("durable"))
            .await
            .expect(201);
        let list = h.client.get(CONFIGMAPS).await.expect(200);
        h.server.stop().await;
        (created, rv(&list))
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let store = storage::SqliteStorage::open(dir.path()).unwrap();
    let h = harness::start(Arc::new(store), test_config(), Box::new(dir)).await;
    let after = h
        .client
        .get(&format!("{CONFIGMAPS}/durable"))
        .await
        .expect(200);
    assert_eq!(after, before);
    // the default namespaces were not created twice, and versions go on
    let list = h.client.get(CONFIGMAPS).await.expect(200);
    assert_eq!(rv(&list), list_rv);
    let next = h
        .client
        .post(CONFIGMAPS, &configmap("next"))
        .await
        .expect(201);
    assert!(rv(&next) > list_rv);
}
