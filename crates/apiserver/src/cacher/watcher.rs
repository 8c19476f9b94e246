//! One client's watch: the events it is owed, filtered by its selectors,
//! written as newline-delimited JSON (`cacheWatcher` upstream).
//!
//! Selectors make watches subtle: when an update moves an object *out of* a
//! client's selection, the client must see it DELETED, and when it moves
//! *in*, ADDED, or the client's picture of the world goes wrong.

use std::sync::Arc;
use std::time::Duration;

use api_types::meta::v1::Status;
use bytes::Bytes;
use storage::Revision;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

use super::state::{CacheEvent, EventType, watch_line};
use super::{Filter, Message, WatchStart};
use crate::registry::WatchBody;

/// How a client watch behaves.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// `allowWatchBookmarks=true`
    pub bookmarks: bool,
    /// Minimum time between two bookmarks.
    pub bookmark_interval: Duration,
    /// When the server ends the watch (`timeoutSeconds`).
    pub timeout: Duration,
    /// `sendInitialEvents=true`: end the initial events with a bookmark
    /// annotated `k8s.io/initial-events-end`.
    pub initial_events_end: bool,
    pub kind: &'static str,
    pub api_version: String,
}

/// Decides what (if anything) a client with `filter` sees for `event`.
pub fn line_for(event: &CacheEvent, filter: &Filter) -> Option<Bytes> {
    match event.type_ {
        EventType::Added => filter.matches(&event.object).then(|| event.line()),
        EventType::Deleted => {
            let was_in = event
                .prev
                .as_deref()
                .map_or_else(|| filter.matches(&event.object), |p| filter.matches(p));
            was_in.then(|| event.line())
        }
        EventType::Modified => {
            let now_in = filter.matches(&event.object);
            let was_in = event.prev.as_deref().is_some_and(|p| filter.matches(p));
            match (was_in, now_in) {
                (true, true) => Some(event.line()),
                (false, true) => Some(event.entered_line()),
                (true, false) => Some(event.left_line()),
                (false, false) => None,
            }
        }
    }
}

/// A BOOKMARK line: the kind and a resourceVersion, nothing else.
pub fn bookmark_line(opts: &WatchOptions, revision: Revision, initial_events_end: bool) -> Bytes {
    let mut meta = serde_json::json!({ "resourceVersion": revision.to_string() });
    if initial_events_end {
        meta["annotations"] = serde_json::json!({ "k8s.io/initial-events-end": "true" });
    }
    let object =
        serde_json::json!({ "kind": opts.kind, "apiVersion": opts.api_version, "metadata": meta });
    watch_line("BOOKMARK", object.to_string().as_bytes())
}

/// An ERROR line carrying a `Status` (e.g. 410 Expired), sent in-stream.
pub fn error_line(status: &Status) -> Bytes {
    watch_line("ERROR", &serde_json::to_vec(status).unwrap_or_default())
}

/// A watch body that only reports `status` and ends.
pub fn error_body(status: &Status) -> WatchBody {
    Box::pin(futures::stream::once(futures::future::ready(error_line(
        status,
    ))))
}

/// Runs a client watch in its own task and returns its body. `guard` is
/// dropped when the watch ends (metrics use it to count open watches).
pub fn serve<G: Send + 'static>(
    start: WatchStart,
    filter: Filter,
    opts: WatchOptions,
    guard: G,
) -> WatchBody {
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    tokio::spawn(async move {
        let _guard = guard;
        run(start, filter, opts, tx).await;
    });
    Box::pin(ReceiverStream::new(rx))
}

async fn run(start: WatchStart, filter: Filter, opts: WatchOptions, tx: mpsc::Sender<Bytes>) {
    let WatchStart {
        initial,
        revision,
        mut live,
    } = start;
    let deadline = tokio::time::sleep(opts.timeout);
    tokio::pin!(deadline);
    for event in &initial {
        if let Some(line) = line_for(event, &filter)
            && tx.send(line).await.is_err()
        {
            return;
        }
    }
    // The newest revision this client has been brought up to, even by
    // events its selectors filtered out.
    let mut seen = revision;
    let mut last_bookmark = Instant::now();
    if opts.initial_events_end && opts.bookmarks {
        if tx.send(bookmark_line(&opts, revision, true)).await.is_err() {
            return;
        }
        last_bookmark = Instant::now();
    }
    loop {
        tokio::select! {
            () = &mut deadline => {
                // A last bookmark lets the client resume exactly here.
                if opts.bookmarks {
                    let _ = tx.send(bookmark_line(&opts, seen, false)).await;
                }
                return;
            }
            msg = live.recv() => match msg {
                Ok(Message::Event(event)) => {
                    if event.revision <= revision {
                        continue;
                    }
                    seen = event.revision;
                    if let Some(line) = line_for(&event, &filter)
                        && tx.send(line).await.is_err()
                    {
                        return;
                    }
                }
                Ok(Message::Progress(rev)) => {
                    seen = seen.max(rev);
                    if opts.bookmarks && last_bookmark.elapsed() >= opts.bookmark_interval {
                        if tx.send(bookmark_line(&opts, seen, false)).await.is_err() {
                            return;
                        }
                        last_bookmark = Instant::now();
                    }
                }
                Ok(Message::Reset) | Err(broadcast::error::RecvError::Closed) => return,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // Too slow to keep up: end the watch; the client resumes
                    // from the last resourceVersion it saw.
                    tracing::debug!(missed, "closing a watch that fell behind");
                    return;
                }
            },
            () = tx.closed() => return,
        }
    }
}

/// Convenience for tests and callers that hold events outside a broadcast.
pub fn lines_for(events: &[Arc<CacheEvent>], filter: &Filter) -> Vec<Bytes> {
    events.iter().filter_map(|e| line_for(e, filter)).collect()
}
