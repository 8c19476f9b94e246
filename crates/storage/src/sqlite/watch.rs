//! Watches on the embedded store.
//!
//! A watch first replays the log from its start revision (the rows are the
//! history), then follows the broadcast of committed batches. It subscribes
//! to the broadcast *before* reading the log, and skips broadcast events it
//! already replayed, so nothing falls in the gap between the two. A watch
//! that falls too far behind the broadcast simply replays the log again.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use rusqlite::params;
use tokio::sync::{broadcast, mpsc};

use super::{Committed, SqliteStorage, db_err};
use crate::interface::{check_not_compacted, prefix_end};
use crate::{Event, KeyValue, Result, Revision, WatchResponse};

/// Rows read from the log per query while catching up.
const REPLAY_CHUNK: i64 = 1_000;

pub(crate) async fn run(
    store: SqliteStorage,
    mut live: broadcast::Receiver<Arc<Committed>>,
    prefix: String,
    after: Revision,
    out: mpsc::Sender<Result<WatchResponse>>,
    mut progress: mpsc::Receiver<()>,
) {
    let mut last = after;
    if let Err(e) = replay(&store, &prefix, &mut last, &out).await {
        let _ = out.send(Err(e)).await;
        return;
    }
    loop {
        tokio::select! {
            msg = live.recv() => match msg {
                Ok(batch) => {
                    if !forward(&batch, &prefix, &mut last, &out).await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(prefix, missed, "watch fell behind; replaying the log");
                    if let Err(e) = replay(&store, &prefix, &mut last, &out).await {
                        let _ = out.send(Err(e)).await;
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            req = progress.recv() => {
                if req.is_none() {
                    return; // the WatchStream was dropped
                }
                // Deliver everything already broadcast, then vouch for it.
                while let Ok(batch) = live.try_recv() {
                    if !forward(&batch, &prefix, &mut last, &out).await {
                        return;
                    }
                }
                if out.send(Ok(WatchResponse { events: Vec::new(), revision: last })).await.is_err() {
                    return;
                }
            }
            () = out.closed() => return,
        }
    }
}

/// Sends the events of one committed batch that this watch has not seen and
/// that fall under its prefix. Returns false when the receiver is gone.
async fn forward(
    batch: &Committed,
    prefix: &str,
    last: &mut Revision,
    out: &mpsc::Sender<Result<WatchResponse>>,
) -> bool {
    if batch.revision <= *last {
        return true; // already replayed from the log
    }
    let events: Vec<Event> = batch
        .events
        .iter()
        .filter(|e| e.revision() > *last && e.key().starts_with(prefix))
        .cloned()
        .collect();
    *last = batch.revision;
    if events.is_empty() {
        return true;
    }
    out.send(Ok(WatchResponse {
        events,
        revision: *last,
    }))
    .await
    .is_ok()
}

/// Replays log rows after `*last` up to the committed revision, advancing
/// `*last`.
async fn replay(
    store: &SqliteStorage,
    prefix: &str,
    last: &mut Revision,
    out: &mpsc::Sender<Result<WatchResponse>>,
) -> Result<()> {
    let head = store.shared().committed.load(Ordering::Acquire);
    check_not_compacted(*last, store.shared().compacted.load(Ordering::Acquire))?;
    let end = String::from_utf8_lossy(&prefix_end(prefix)).into_owned();
    while *last < head {
        let (from, start, stop) = (*last, prefix.to_string(), end.clone());
        let events = store
            .read(move |conn, shared| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT l.rev, l.key, l.deleted, l.value, p.rev, p.value, l.prev_rev
                         FROM log l LEFT JOIN log p ON p.rev = l.prev_rev AND p.deleted = 0
                         WHERE l.rev > ?1 AND l.rev <= ?2 AND l.key >= ?3 AND l.key < ?4
                         ORDER BY l.rev LIMIT ?5",
                    )
                    .map_err(db_err)?;
                let rows = stmt
                    .query_map(params![from, head, start, stop, REPLAY_CHUNK], |r| {
                        let rev: Revision = r.get(0)?;
                        let key: String = r.get(1)?;
                        let deleted = r.get::<_, i64>(2)? != 0;
                        let value = Bytes::from(r.get::<_, Vec<u8>>(3)?);
                        let prev_rev: Option<Revision> = r.get(4)?;
                        let prev_value: Option<Vec<u8>> = r.get(5)?;
                        let prev_rev_col: Revision = r.get(6)?;
                        Ok(if deleted {
                            Event::Delete {
                                key: key.clone(),
                                revision: rev,
                                prev: KeyValue {
                                    key,
                                    value,
                                    mod_revision: prev_rev_col,
                                },
                            }
                        } else {
                            let prev = prev_rev.zip(prev_value).map(|(pr, pv)| KeyValue {
                                key: key.clone(),
                                value: Bytes::from(pv),
                                mod_revision: pr,
                            });
                            Event::Put {
                                kv: KeyValue {
                                    key,
                                    value,
                                    mod_revision: rev,
                                },
                                prev,
                            }
                        })
                    })
                    .map_err(db_err)?;
                let events = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)?;
                // Rows we needed may have been compacted while we read.
                check_not_compacted(from, shared.compacted.load(Ordering::Acquire))?;
                Ok(events)
            })
            .await?;
        let full = events.len() as i64 == REPLAY_CHUNK;
        *last = match events.last() {
            Some(e) if full => e.revision(),
            _ => head,
        };
        if !events.is_empty()
            && out
                .send(Ok(WatchResponse {
                    events,
                    revision: *last,
                }))
                .await
                .is_err()
        {
            return Ok(());
        }
    }
    Ok(())
}
