//! The storage test suite: every test here runs against every backend
//! (`tests/sqlite.rs`, `tests/etcd.rs`), as Kubernetes runs one
//! `storage/testing` suite against each implementation.
//!
//! Tests use relative revisions only, so they hold whatever else the store
//! holds.

#![allow(clippy::unwrap_used, dead_code)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use storage::{
    Event, ListOptions, Storage, StorageError, Update, Updated, WatchResponse, WatchStream,
    guaranteed_update,
};

pub type Store = Arc<dyn Storage>;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Waits for the next watch message that carries events.
async fn next_events(w: &mut WatchStream) -> Vec<Event> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), w.recv())
            .await
            .expect("watch event within 10s")
            .expect("watch still open")
            .expect("no watch error");
        if !msg.events.is_empty() {
            return msg.events;
        }
    }
}

/// Collects at least `n` events.
async fn collect(w: &mut WatchStream, n: usize) -> Vec<Event> {
    let mut all = Vec::new();
    while all.len() < n {
        all.extend(next_events(w).await);
    }
    all
}

fn summary(e: &Event) -> String {
    match e {
        Event::Put { kv, prev: None } => {
            format!("create {}={}", kv.key, String::from_utf8_lossy(&kv.value))
        }
        Event::Put { kv, prev: Some(p) } => format!(
            "update {}={} (was {})",
            kv.key,
            String::from_utf8_lossy(&kv.value),
            String::from_utf8_lossy(&p.value)
        ),
        Event::Delete { key, prev, .. } => format!(
            "delete {key} (was {})",
            String::from_utf8_lossy(&prev.value)
        ),
    }
}

pub async fn create_then_get(s: Store) {
    let kv = s.create("/registry/cg/a", b("1")).await.unwrap();
    assert!(kv.mod_revision > 0);
    let got = s.get("/registry/cg/a").await.unwrap();
    assert_eq!(got, kv);
    let err = s.create("/registry/cg/a", b("2")).await.unwrap_err();
    assert_eq!(
        err,
        StorageError::AlreadyExists {
            key: "/registry/cg/a".into()
        }
    );
    assert!(
        s.get("/registry/cg/missing")
            .await
            .unwrap_err()
            .is_not_found()
    );
    // the failed create changed nothing
    assert_eq!(s.get("/registry/cg/a").await.unwrap(), kv);
}

pub async fn revisions_increase(s: Store) {
    let a = s.create("/registry/rev/a", b("1")).await.unwrap();
    let b2 = s.create("/registry/rev/b", b("1")).await.unwrap();
    let a2 = s
        .update("/registry/rev/a", b("2"), a.mod_revision)
        .await
        .unwrap();
    assert!(a.mod_revision < b2.mod_revision && b2.mod_revision < a2.mod_revision);
    assert!(s.current_revision().await.unwrap() >= a2.mod_revision);
}

pub async fn update_is_compare_and_swap(s: Store) {
    let v1 = s.create("/registry/cas/x", b("1")).await.unwrap();
    let v2 = s
        .update("/registry/cas/x", b("2"), v1.mod_revision)
        .await
        .unwrap();
    let err = s
        .update("/registry/cas/x", b("3"), v1.mod_revision)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StorageError::Conflict {
            key: "/registry/cas/x".into(),
            expected: v1.mod_revision,
            actual: v2.mod_revision
        }
    );
    assert_eq!(s.get("/registry/cas/x").await.unwrap().value, b("2"));
    let err = s.update("/registry/cas/nope", b("1"), 1).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

pub async fn delete_with_preconditions(s: Store) {
    let v1 = s.create("/registry/del/x", b("1")).await.unwrap();
    let v2 = s
        .update("/registry/del/x", b("2"), v1.mod_revision)
        .await
        .unwrap();
    let err = s
        .delete("/registry/del/x", Some(v1.mod_revision))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    let (prev, rev) = s
        .delete("/registry/del/x", Some(v2.mod_revision))
        .await
        .unwrap();
    assert_eq!(prev, v2);
    assert!(rev > v2.mod_revision);
    assert!(s.get("/registry/del/x").await.unwrap_err().is_not_found());
    assert!(
        s.delete("/registry/del/x", None)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        s.update("/registry/del/x", b("3"), v2.mod_revision)
            .await
            .unwrap_err()
            .is_not_found()
    );
    // the name can be used again
    let again = s.create("/registry/del/x", b("new")).await.unwrap();
    assert!(again.mod_revision > rev);
    let (prev, _) = s.delete("/registry/del/x", None).await.unwrap();
    assert_eq!(prev.value, b("new"));
}

pub async fn list_prefix_and_order(s: Store) {
    for k in ["c", "a", "b"] {
        s.create(&format!("/registry/lp/ns1/{k}"), b(k))
            .await
            .unwrap();
    }
    s.create("/registry/lp/ns2/z", b("z")).await.unwrap();
    s.create("/registry/lpx/ns1/a", b("other resource"))
        .await
        .unwrap();
    let all = s
        .list("/registry/lp/", ListOptions::default())
        .await
        .unwrap();
    let keys: Vec<_> = all.kvs.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "/registry/lp/ns1/a",
            "/registry/lp/ns1/b",
            "/registry/lp/ns1/c",
            "/registry/lp/ns2/z"
        ]
    );
    assert!(!all.more);
    assert!(all.revision >= all.kvs.iter().map(|kv| kv.mod_revision).max().unwrap());
    let ns1 = s
        .list("/registry/lp/ns1/", ListOptions::default())
        .await
        .unwrap();
    assert_eq!(ns1.kvs.len(), 3);
    // a deleted key disappears from lists
    s.delete("/registry/lp/ns1/b", None).await.unwrap();
    let ns1 = s
        .list("/registry/lp/ns1/", ListOptions::default())
        .await
        .unwrap();
    assert_eq!(
        ns1.kvs
            .iter()
            .map(|kv| kv.value.clone())
            .collect::<Vec<_>>(),
        [b("a"), b("c")]
    );
    let empty = s
        .list("/registry/nothing-here/", ListOptions::default())
        .await
        .unwrap();
    assert!(empty.kvs.is_empty() && empty.revision > 0);
}

pub async fn list_pages_are_one_snapshot(s: Store) {
    for i in 0..10 {
        s.create(&format!("/registry/page/{i:02}"), b(&i.to_string()))
            .await
            .unwrap();
    }
    let first = s
        .list(
            "/registry/page/",
            ListOptions {
                limit: Some(4),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first.kvs.len(), 4);
    assert!(first.more);
    assert_eq!(first.remaining, Some(6));
    // changes after the first page must not show in the later pages
    s.create("/registry/page/05a", b("late")).await.unwrap();
    let v9 = s.get("/registry/page/09").await.unwrap();
    s.update("/registry/page/09", b("changed"), v9.mod_revision)
        .await
        .unwrap();
    let mut keys: Vec<String> = first.kvs.iter().map(|kv| kv.key.clone()).collect();
    let mut after = first.kvs.last().map(|kv| kv.key.clone());
    let mut last_value = Bytes::new();
    loop {
        let page = s
            .list(
                "/registry/page/",
                ListOptions {
                    limit: Some(4),
                    start_after: after.clone(),
                    revision: Some(first.revision),
                },
            )
            .await
            .unwrap();
        assert_eq!(page.revision, first.revision);
        keys.extend(page.kvs.iter().map(|kv| kv.key.clone()));
        if let Some(kv) = page.kvs.last() {
            last_value = kv.value.clone();
        }
        after = page.kvs.last().map(|kv| kv.key.clone());
        if !page.more {
            break;
        }
    }
    let want: Vec<String> = (0..10).map(|i| format!("/registry/page/{i:02}")).collect();
    assert_eq!(keys, want);
    assert_eq!(
        last_value,
        b("9"),
        "a page read the snapshot's value, not the later one"
    );
    // a fresh list sees the new state
    let now = s
        .list("/registry/page/", ListOptions::default())
        .await
        .unwrap();
    assert_eq!(now.kvs.len(), 11);
}

pub async fn list_at_old_revision(s: Store) {
    let v1 = s.create("/registry/old/x", b("1")).await.unwrap();
    let v2 = s
        .update("/registry/old/x", b("2"), v1.mod_revision)
        .await
        .unwrap();
    let (_, del) = s.delete("/registry/old/x", None).await.unwrap();
    let at = |rev| {
        s.list(
            "/registry/old/",
            ListOptions {
                revision: Some(rev),
                ..Default::default()
            },
        )
    };
    assert_eq!(at(v1.mod_revision).await.unwrap().kvs[0].value, b("1"));
    assert_eq!(at(v2.mod_revision).await.unwrap().kvs[0].value, b("2"));
    assert!(at(del).await.unwrap().kvs.is_empty());
    let future = s.current_revision().await.unwrap() + 1000;
    let err = at(future).await.unwrap_err();
    assert!(
        matches!(err, StorageError::FutureRevision { .. }),
        "{err:?}"
    );
}

pub async fn compaction_expires_old_revisions(s: Store) {
    let v1 = s.create("/registry/cmp/x", b("1")).await.unwrap();
    let mut last = v1.clone();
    for i in 2..6 {
        last = s
            .update("/registry/cmp/x", b(&i.to_string()), last.mod_revision)
            .await
            .unwrap();
    }
    let other = s.create("/registry/cmp/y", b("y")).await.unwrap();
    s.delete("/registry/cmp/y", None).await.unwrap();
    s.compact(last.mod_revision).await.unwrap();
    // compacting again (or lower) is not an error
    s.compact(v1.mod_revision).await.unwrap();

    let err = s
        .list(
            "/registry/cmp/",
            ListOptions {
                revision: Some(v1.mod_revision),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Expired { .. }), "{err:?}");
    // current state is intact
    assert_eq!(s.get("/registry/cmp/x").await.unwrap(), last);
    assert!(s.get("/registry/cmp/y").await.unwrap_err().is_not_found());
    assert!(other.mod_revision > 0);
    let now = s
        .list("/registry/cmp/", ListOptions::default())
        .await
        .unwrap();
    assert_eq!(now.kvs, vec![last.clone()]);

    // a watch from before the compaction fails with Expired in-stream
    let mut w = s.watch("/registry/cmp/", v1.mod_revision).await.unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(10), w.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(msg, Err(StorageError::Expired { .. })), "{msg:?}");

    // writes continue normally
    let next = s
        .update("/registry/cmp/x", b("6"), last.mod_revision)
        .await
        .unwrap();
    assert!(next.mod_revision > last.mod_revision);
}

pub async fn concurrent_conflicting_updates_one_wins(s: Store) {
    let base = s.create("/registry/race/x", b("0")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.update(
                "/registry/race/x",
                b(&format!("writer-{i}")),
                base.mod_revision,
            )
            .await
        }));
    }
    let mut wins = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(kv) => wins.push(kv),
            Err(e) => assert!(e.is_conflict(), "{e:?}"),
        }
    }
    assert_eq!(wins.len(), 1, "exactly one writer wins");
    assert_eq!(s.get("/registry/race/x").await.unwrap(), wins[0]);
}

pub async fn guaranteed_update_never_loses_increments(s: Store) {
    s.create("/registry/counter/n", b("0")).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            guaranteed_update::<StorageError, _>(s.as_ref(), "/registry/counter/n", |kv| {
                let n: u64 = std::str::from_utf8(&kv.value).unwrap().parse().unwrap();
                Ok(Update::Put(b(&(n + 1).to_string())))
            })
            .await
        }));
    }
    for t in tasks {
        assert!(matches!(t.await.unwrap().unwrap(), Updated::Put(_)));
    }
    assert_eq!(s.get("/registry/counter/n").await.unwrap().value, b("20"));
    // Unchanged and Delete outcomes
    let same = guaranteed_update::<StorageError, _>(s.as_ref(), "/registry/counter/n", |_| {
        Ok(Update::Unchanged)
    })
    .await
    .unwrap();
    assert!(matches!(same, Updated::Unchanged(ref kv) if kv.value == b("20")));
    let gone = guaranteed_update::<StorageError, _>(s.as_ref(), "/registry/counter/n", |_| {
        Ok(Update::Delete)
    })
    .await
    .unwrap();
    assert!(matches!(gone, Updated::Deleted(..)));
    let missing = guaranteed_update::<StorageError, _>(s.as_ref(), "/registry/counter/n", |_| {
        Ok(Update::Unchanged)
    })
    .await;
    assert!(missing.unwrap_err().is_not_found());
}

pub async fn watch_sees_changes_in_order(s: Store) {
    let start = s.current_revision().await.unwrap();
    let mut w = s.watch("/registry/w1/", start).await.unwrap();
    let a = s.create("/registry/w1/a", b("1")).await.unwrap();
    s.create("/registry/w1x/ignored", b("other prefix"))
        .await
        .unwrap();
    let a2 = s
        .update("/registry/w1/a", b("2"), a.mod_revision)
        .await
        .unwrap();
    let (_, del) = s.delete("/registry/w1/a", None).await.unwrap();
    let events = collect(&mut w, 3).await;
    let got: Vec<String> = events.iter().map(summary).collect();
    assert_eq!(
        got,
        [
            "create /registry/w1/a=1",
            "update /registry/w1/a=2 (was 1)",
            "delete /registry/w1/a (was 2)"
        ]
    );
    assert_eq!(events[0].revision(), a.mod_revision);
    assert_eq!(events[1].revision(), a2.mod_revision);
    assert_eq!(events[2].revision(), del);
    if let Event::Delete { prev, .. } = &events[2] {
        assert_eq!(prev.mod_revision, a2.mod_revision);
    }
}

pub async fn watch_from_old_revision_replays_history(s: Store) {
    let a = s.create("/registry/w2/a", b("1")).await.unwrap();
    let a2 = s
        .update("/registry/w2/a", b("2"), a.mod_revision)
        .await
        .unwrap();
    s.create("/registry/w2/b", b("1")).await.unwrap();
    s.delete("/registry/w2/a", None).await.unwrap();
    // from just after the create: the update, b's create, and the delete
    let mut w = s.watch("/registry/w2/", a.mod_revision).await.unwrap();
    let got: Vec<String> = collect(&mut w, 3).await.iter().map(summary).collect();
    assert_eq!(
        got,
        [
            "update /registry/w2/a=2 (was 1)",
            "create /registry/w2/b=1",
            "delete /registry/w2/a (was 2)"
        ]
    );
    // live events follow the replay seamlessly
    s.create("/registry/w2/c", b("live")).await.unwrap();
    let got: Vec<String> = next_events(&mut w).await.iter().map(summary).collect();
    assert_eq!(got, ["create /registry/w2/c=live"]);
    assert!(a2.mod_revision > a.mod_revision);
}

pub async fn many_writes_reach_every_watch_exactly_once(s: Store) {
    let start = s.current_revision().await.unwrap();
    let mut early = s.watch("/registry/w3/", start).await.unwrap();
    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            for i in 0..200 {
                s.create(&format!("/registry/w3/{i:03}"), b("x"))
                    .await
                    .unwrap();
            }
        })
    };
    // a watch opened mid-stream from the start revision sees all of them too
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut late = s.watch("/registry/w3/", start).await.unwrap();
    writer.await.unwrap();
    for w in [&mut early, &mut late] {
        let events = collect(w, 200).await;
        let keys: Vec<String> = events.iter().map(|e| e.key().to_string()).collect();
        let want: Vec<String> = (0..200).map(|i| format!("/registry/w3/{i:03}")).collect();
        assert_eq!(keys, want);
        assert!(events.windows(2).all(|p| p[0].revision() < p[1].revision()));
    }
}

pub async fn watch_progress_reports_current_revision(s: Store) {
    let start = s.current_revision().await.unwrap();
    let w = s.watch("/registry/quiet/", start).await.unwrap();
    let elsewhere = s.create("/registry/busy/x", b("1")).await.unwrap();
    let mut w = w;
    // The backend may need a moment to observe the other write.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        w.request_progress();
        let msg: WatchResponse = tokio::time::timeout(Duration::from_secs(5), w.recv())
            .await
            .expect("progress within 5s")
            .unwrap()
            .unwrap();
        assert!(
            msg.events.is_empty(),
            "nothing happened under /registry/quiet/"
        );
        if msg.revision >= elsewhere.mod_revision {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "progress stuck at {}",
            msg.revision
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn periodic_compaction_forgets_old_history(s: Store) {
    let v1 = s.create("/registry/pc/x", b("1")).await.unwrap();
    let v2 = s
        .update("/registry/pc/x", b("2"), v1.mod_revision)
        .await
        .unwrap();
    let compactor = tokio::spawn(storage::compactor::run(
        s.clone(),
        Duration::from_millis(50),
    ));
    // The compactor compacts to the revision it saw one tick earlier, so
    // after a few ticks v1's revision is gone and the current state remains.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let old = s
            .list(
                "/registry/pc/",
                ListOptions {
                    revision: Some(v1.mod_revision),
                    ..Default::default()
                },
            )
            .await;
        if matches!(old, Err(StorageError::Expired { .. })) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not compacted: {old:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    compactor.abort();
    assert_eq!(s.get("/registry/pc/x").await.unwrap(), v2);
}

/// Generates one `#[tokio::test]` per suite function for a backend.
#[macro_export]
macro_rules! storage_suite {
    ($make:path) => {
        $crate::storage_suite!(@tests $make;
            create_then_get, revisions_increase, update_is_compare_and_swap, delete_with_preconditions,
            list_prefix_and_order, list_pages_are_one_snapshot, list_at_old_revision,
            compaction_expires_old_revisions, concurrent_conflicting_updates_one_wins,
            guaranteed_update_never_loses_increments, watch_sees_changes_in_order,
            watch_from_old_revision_replays_history, many_writes_reach_every_watch_exactly_once,
            watch_progress_reports_current_revision, periodic_compaction_forgets_old_history);
    };
    (@tests $make:path; $($name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                test_support::init_tracing();
                let (store, _guard) = $make().await;
                suite::$name(store).await;
            }
        )*
    };
}
