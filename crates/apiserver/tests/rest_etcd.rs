//! The REST suite on a real etcd (started per test on free ports).

#![allow(clippy::unwrap_used)]

mod suite;

use suite::harness;

apiserver_suite!(harness::etcd);

/// When etcd restarts, the watch cache re-watches from where it was: client
/// watches keep streaming, with nothing lost and no relist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_watches_survive_an_etcd_restart() {
    use std::sync::Arc;
    use std::time::Duration;

    use suite::harness::{CONFIGMAPS, configmap, ev, rv, test_config};

    test_support::init_tracing();
    let mut etcd = test_support::Etcd::start().await;
    let store = storage::EtcdStorage::connect(&[etcd.url()]).await.unwrap();
    let h = harness::start(Arc::new(store), test_config(), Box::new(())).await;
    let c = &h.client;
    let list = c.get(CONFIGMAPS).await.expect(200);
    let mut w = c
        .watch(&format!(
            "{CONFIGMAPS}?watch=true&resourceVersion={}",
            rv(&list)
        ))
        .await;
    c.post(CONFIGMAPS, &configmap("before")).await.expect(201);
    assert_eq!(ev(&w.next_event().await), "ADDED before");

    etcd.restart().await;
    // Writes fail while etcd is away and work again once it is back.
    let mut created = None;
    for _ in 0..100 {
        let r = c.post(CONFIGMAPS, &configmap("after")).await;
        match r.status {
            201 => {
                created = Some(r.body);
                break;
            }
            503 | 409 => tokio::time::sleep(Duration::from_millis(100)).await,
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert!(created.is_some(), "etcd did not come back");
    let e = w
        .next_within(Duration::from_secs(15))
        .await
        .expect("the watch is still open");
    assert_eq!(ev(&e), "ADDED after", "{e}");
}
