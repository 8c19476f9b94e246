//! The single writer of the embedded store.
//!
//! All writes go through one thread that owns the write connection. It takes
//! every request waiting in its queue, applies them in order inside ONE
//! SQLite transaction and commits once ("group commit"): with `synchronous =
//! FULL` each commit costs an fsync, so batching is what makes many
//! concurrent writers fast. Each successful write gets the next revision, so
//! revisions are dense and ordered exactly as the writes were applied, as in
//! etcd.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use super::{Committed, Shared, schema};
use crate::{Event, KeyValue, Result, Revision, StorageError};

/// Most requests applied in one transaction.
const MAX_BATCH: usize = 512;
/// Rows removed per compaction transaction, so writers are never blocked long.
const COMPACT_CHUNK: usize = 5_000;

pub(crate) enum Op {
    Create {
        key: String,
        value: Bytes,
    },
    Update {
        key: String,
        value: Bytes,
        expected: Revision,
    },
    Delete {
        key: String,
        expected: Option<Revision>,
    },
    Compact {
        revision: Revision,
    },
}

pub(crate) enum Output {
    Put(KeyValue),
    Deleted(KeyValue, Revision),
    Compacted,
}

pub(crate) struct Request {
    pub(crate) op: Op,
    pub(crate) reply: oneshot::Sender<Result<Output>>,
}

/// Runs the writer loop until every sender is dropped.
pub(crate) fn run(mut conn: Connection, mut rx: mpsc::Receiver<Request>, shared: Arc<Shared>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(req) => batch.push(req),
                Err(_) => break,
            }
        }
        let (compactions, writes): (Vec<_>, Vec<_>) = batch
            .drain(..)
            .partition(|r| matches!(r.op, Op::Compact { .. }));
        if !writes.is_empty() {
            apply_batch(&mut conn, writes, &shared);
        }
        for req in compactions {
            if let Op::Compact { revision } = req.op {
                let result = compact(&mut conn, revision, &shared).map(|()| Output::Compacted);
                let _ = req.reply.send(result);
            }
        }
    }
    tracing::debug!("sqlite writer stopped");
}

/// Applies a batch of writes in one transaction, publishes their events and
/// answers each request.
fn apply_batch(conn: &mut Connection, batch: Vec<Request>, shared: &Shared) {
    let start_rev = shared.committed.load(Ordering::Acquire);
    let mut rev = start_rev;
    let mut results = Vec::with_capacity(batch.len());
    let mut events = Vec::new();

    let outcome = (|| -> rusqlite::Result<()> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for req in &batch {
            let result = apply_one(&tx, &req.op, rev + 1)?;
            if let Ok((_, event)) = &result {
                rev += 1;
                events.push(event.clone());
            }
            results.push(result.map(|(out, _)| out));
        }
        if rev != start_rev {
            schema::write_meta(&tx, schema::META_CURRENT, rev)?;
        }
        tx.commit()
    })();

    if let Err(e) = outcome {
        // Nothing was written: fail every request of the batch.
        tracing::error!(error = %e, "sqlite write transaction failed");
        for req in batch {
            let _ = req
                .reply
                .send(Err(StorageError::Unavailable(e.to_string())));
        }
        return;
    }

    if rev != start_rev {
        // Publish the new revision before the events: a watch that subscribes
        // in between reads these rows from the log and then skips the
        // duplicate broadcast (see `watch.rs`).
        shared.committed.store(rev, Ordering::Release);
        let _ = shared.events.send(Arc::new(Committed {
            events,
            revision: rev,
        }));
    }
    for (req, result) in batch.into_iter().zip(results) {
        let _ = req.reply.send(result);
    }
}

/// The newest row of `key`: (revision, deleted, value).
fn latest(conn: &Connection, key: &str) -> rusqlite::Result<Option<(Revision, bool, Vec<u8>)>> {
    conn.prepare_cached(
        "SELECT rev, deleted, value FROM log WHERE key = ?1 ORDER BY rev DESC LIMIT 1",
    )?
    .query_row([key], |r| {
        Ok((r.get(0)?, r.get::<_, i64>(1)? != 0, r.get(2)?))
    })
    .optional()
}

fn insert(
    conn: &Connection,
    rev: Revision,
    key: &str,
    deleted: bool,
    prev_rev: Revision,
    value: &[u8],
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO log (rev, key, deleted, prev_rev, value) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![rev, key, i64::from(deleted), prev_rev, value])?;
    Ok(())
}

/// Applies one write at revision `rev`. The outer `Result` is a database
/// failure (aborts the batch); the inner one is this request's own outcome.
fn apply_one(
    conn: &Connection,
    op: &Op,
    rev: Revision,
) -> rusqlite::Result<Result<(Output, Event)>> {
    match op {
        Op::Create { key, value } => {
            let current = latest(conn, key)?;
            let prev_rev = match current {
                Some((_, false, _)) => {
                    return Ok(Err(StorageError::AlreadyExists { key: key.clone() }));
                }
                Some((r, true, _)) => r,
                None => 0,
            };
            insert(conn, rev, key, false, prev_rev, value)?;
            let kv = KeyValue {
                key: key.clone(),
                value: value.clone(),
                mod_revision: rev,
            };
            Ok(Ok((Output::Put(kv.clone()), Event::Put { kv, prev: None })))
        }
        Op::Update {
            key,
            value,
            expected,
        } => {
            let (cur_rev, cur_value) = match latest(conn, key)? {
                Some((r, false, v)) => (r, v),
                _ => return Ok(Err(StorageError::NotFound { key: key.clone() })),
            };
            if cur_rev != *expected {
                return Ok(Err(StorageError::Conflict {
                    key: key.clone(),
                    expected: *expected,
                    actual: cur_rev,
                }));
            }
            insert(conn, rev, key, false, cur_rev, value)?;
            let kv = KeyValue {
                key: key.clone(),
                value: value.clone(),
                mod_revision: rev,
            };
            let prev = KeyValue {
                key: key.clone(),
                value: Bytes::from(cur_value),
                mod_revision: cur_rev,
            };
            Ok(Ok((
                Output::Put(kv.clone()),
                Event::Put {
                    kv,
                    prev: Some(prev),
                },
            )))
        }
        Op::Delete { key, expected } => {
            let (cur_rev, cur_value) = match latest(conn, key)? {
                Some((r, false, v)) => (r, v),
                _ => return Ok(Err(StorageError::NotFound { key: key.clone() })),
            };
            if let Some(expected) = expected
                && cur_rev != *expected
            {
                return Ok(Err(StorageError::Conflict {
                    key: key.clone(),
                    expected: *expected,
                    actual: cur_rev,
                }));
            }
            // The tombstone keeps the last value so a watch replaying history
            // can say what was deleted.
            insert(conn, rev, key, true, cur_rev, &cur_value)?;
            let prev = KeyValue {
                key: key.clone(),
                value: Bytes::from(cur_value),
                mod_revision: cur_rev,
            };
            Ok(Ok((
                Output::Deleted(prev.clone(), rev),
                Event::Delete {
                    key: key.clone(),
                    revision: rev,
                    prev,
                },
            )))
        }
        Op::Compact { .. } => Ok(Err(StorageError::Internal(
            "compaction inside a write batch".into(),
        ))),
    }
}

/// Removes every row superseded at or before `revision`, in small
/// transactions.
fn compact(conn: &mut Connection, revision: Revision, shared: &Shared) -> Result<()> {
    let current = shared.committed.load(Ordering::Acquire);
    if revision > current {
        return Err(StorageError::FutureRevision {
            requested: revision,
            current,
        });
    }
    if revision <= shared.compacted.load(Ordering::Acquire) {
        return Ok(());
    }
    let db = |e: rusqlite::Error| StorageError::Unavailable(e.to_string());
    // Readers check this before they read old revisions, so raise it before
    // any row disappears.
    shared.compacted.store(revision, Ordering::Release);
    schema::write_meta(conn, schema::META_COMPACTED, revision).map_err(db)?;
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let removed = tx
            .execute(
                "DELETE FROM log WHERE rev IN (
                     SELECT l.rev FROM log l
                     WHERE l.rev <= ?1 AND (l.deleted = 1 OR EXISTS (
                         SELECT 1 FROM log n WHERE n.key = l.key AND n.rev > l.rev AND n.rev <= ?1))
                     LIMIT ?2)",
                params![revision, COMPACT_CHUNK as i64],
            )
            .map_err(db)?;
        tx.commit().map_err(db)?;
        if removed < COMPACT_CHUNK {
            break;
        }
    }
    tracing::debug!(revision, "sqlite store compacted");
    Ok(())
}
