//! The storage suite against a real etcd server (started per test on free
//! loopback ports; the `etcd-server` Debian package provides the binary).

#![allow(clippy::unwrap_used)]

mod suite;

use std::sync::Arc;

use storage::{EtcdStorage, Storage};
use test_support::Etcd;

async fn etcd() -> (suite::Store, Etcd) {
    let server = Etcd::start().await;
    let store = EtcdStorage::connect(&[server.url()]).await.unwrap();
    (Arc::new(store), server)
}

storage_suite!(etcd);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_etcd_is_unavailable_not_a_hang() {
    test_support::init_tracing();
    let port = test_support::free_port();
    let err = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        EtcdStorage::connect(&[format!("http://127.0.0.1:{port}")]),
    )
    .await
    .expect("connect gives up")
    .unwrap_err();
    assert!(
        matches!(err, storage::StorageError::Unavailable(_)),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_resume_after_etcd_restart() {
    test_support::init_tracing();
    let mut server = Etcd::start().await;
    let store = EtcdStorage::connect(&[server.url()]).await.unwrap();
    let a = store
        .create("/registry/restart/a", bytes::Bytes::from_static(b"1"))
        .await
        .unwrap();
    server.restart().await;
    // the client reconnects by itself
    let mut tries = 0;
    let got = loop {
        match store.get("/registry/restart/a").await {
            Ok(kv) => break kv,
            Err(e) if tries < 50 => {
                tries += 1;
                tracing::debug!(error = %e, "etcd not back yet");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("etcd did not come back: {e}"),
        }
    };
    assert_eq!(got, a);
}
