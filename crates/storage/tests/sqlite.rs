//! The storage suite on the embedded SQLite store, plus what only a local
//! file can show: a restart loses nothing.

#![allow(clippy::unwrap_used)]

mod suite;

use std::sync::Arc;

use bytes::Bytes;
use storage::{ListOptions, SqliteStorage, Storage};

async fn sqlite() -> (suite::Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStorage::open(dir.path()).unwrap();
    (Arc::new(store), dir)
}

storage_suite!(sqlite);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_data_revisions_and_history() {
    test_support::init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let (a, a2, rev_before) = {
        let s = SqliteStorage::open(dir.path()).unwrap();
        let a = s
            .create("/registry/r/a", Bytes::from_static(b"1"))
            .await
            .unwrap();
        let a2 = s
            .update("/registry/r/a", Bytes::from_static(b"2"), a.mod_revision)
            .await
            .unwrap();
        s.create("/registry/r/b", Bytes::from_static(b"b"))
            .await
            .unwrap();
        s.delete("/registry/r/b", None).await.unwrap();
        (a, a2, s.current_revision().await.unwrap())
    };
    // Give the writer thread a moment to notice its channel closed.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let s = SqliteStorage::open(dir.path()).unwrap();
    assert_eq!(s.current_revision().await.unwrap(), rev_before);
    assert_eq!(s.get("/registry/r/a").await.unwrap(), a2);
    assert!(s.get("/registry/r/b").await.unwrap_err().is_not_found());
    let old = s
        .list(
            "/registry/r/",
            ListOptions {
                revision: Some(a.mod_revision),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(old.kvs[0].value, Bytes::from_static(b"1"));
    // revisions continue, never reused
    let c = s
        .create("/registry/r/c", Bytes::from_static(b"c"))
        .await
        .unwrap();
    assert_eq!(c.mod_revision, rev_before + 1);
    // history from before the restart can still be watched
    let mut w = s.watch("/registry/r/", a.mod_revision).await.unwrap();
    let mut n = 0;
    while n < 4 {
        n += w.recv().await.unwrap().unwrap().events.len();
    }
    assert_eq!(n, 4, "update a, create b, delete b, create c");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_after_compaction_remembers_the_compaction_point() {
    test_support::init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let s = SqliteStorage::open(dir.path()).unwrap();
        let a = s
            .create("/registry/rc/a", Bytes::from_static(b"1"))
            .await
            .unwrap();
        let b = s
            .update("/registry/rc/a", Bytes::from_static(b"2"), a.mod_revision)
            .await
            .unwrap();
        s.compact(b.mod_revision).await.unwrap();
        a
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let s = SqliteStorage::open(dir.path()).unwrap();
    let err = s
        .list(
            "/registry/rc/",
            ListOptions {
                revision: Some(first.mod_revision),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, storage::StorageError::Expired { .. }),
        "{err:?}"
    );
}
