//! One client's watch: the events it is owed, filtered by its selectors,
//! written as newline-delimited JSON (`cacheWatcher` upstream).
//!
//! Selectors make watches subtle: when an update moves an object *out of* a
//! client's selection, the client must see it DELETED, and when it moves
//! *in*, ADDED, or the client's picture of the world goes wrong.

use std::sync::Arc;
use std::time::Duration;

use api_types::meta::v1::Status;
use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use storage::Revision;
use tokio::sync::broadcast;
use tokio::time::Instant;

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

/// Most lines taken from the broadcast at once. When a watcher is behind,
/// the lines waiting for it are joined into one chunk: one write (and one
/// wake-up of the client) for many events. Copying a few KiB is far cheaper
/// than a system call per event.
const MAX_BATCH: usize = 64;

/// The body of a client watch. It reads the cache's broadcast itself (no
/// task or channel per watch: the connection's own task does the work) and
/// ends at the timeout, on a cache reset, or when it falls too far behind.
/// `guard` lives as long as the watch (metrics count open watches with it).
pub fn serve<G: Send + 'static>(
    start: WatchStart,
    filter: Filter,
    opts: WatchOptions,
    guard: G,
) -> WatchBody {
    let WatchStart {
        initial,
        revision,
        live,
    } = start;
    let state = ClientWatch {
        filter,
        deadline: Box::pin(tokio::time::sleep(opts.timeout)),
        initial: initial.into_iter(),
        initial_end_pending: opts.initial_events_end && opts.bookmarks,
        opts,
        live,
        revision,
        seen: revision,
        last_bookmark: Instant::now(),
        ready: VecDeque::new(),
        done: false,
        _guard: guard,
    };
    Box::pin(futures::stream::unfold(state, |mut st| async move {
        let line = st.next_line().await?;
        Some((line, st))
    }))
}

struct ClientWatch<G> {
    filter: Filter,
    opts: WatchOptions,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
    initial: std::vec::IntoIter<Arc<CacheEvent>>,
    initial_end_pending: bool,
    live: broadcast::Receiver<Message>,
    /// The revision the initial events bring the client to.
    revision: Revision,
    /// The newest revision this client has been brought up to, even by
    /// events its selectors filtered out.
    seen: Revision,
    last_bookmark: Instant,
    /// Lines taken from the broadcast, not yet handed out.
    ready: VecDeque<Bytes>,
    done: bool,
    _guard: G,
}

impl<G> ClientWatch<G> {
    /// The next line to write, or `None` when the watch is over.
    async fn next_line(&mut self) -> Option<Bytes> {
        // Initial events first (a snapshot or replayed history).
        for event in self.initial.by_ref() {
            if let Some(line) = line_for(&event, &self.filter) {
                return Some(line);
            }
        }
        if self.initial_end_pending {
            self.initial_end_pending = false;
            self.last_bookmark = Instant::now();
            return Some(bookmark_line(&self.opts, self.revision, true));
        }
        loop {
            match self.ready.len() {
                0 => {}
                1 => return self.ready.pop_front(),
                _ => {
                    let mut chunk =
                        BytesMut::with_capacity(self.ready.iter().map(Bytes::len).sum());
                    for line in self.ready.drain(..) {
                        chunk.extend_from_slice(&line);
                    }
                    return Some(chunk.freeze());
                }
            }
            if self.done {
                return None;
            }
            // Wait for the first message, then take what else is queued.
            let first = tokio::select! {
                () = &mut self.deadline => {
                    self.done = true;
                    // A last bookmark lets the client resume exactly here.
                    return self.opts.bookmarks.then(|| bookmark_line(&self.opts, self.seen, false));
                }
                msg = self.live.recv() => msg,
            };
            if !self.take(first) {
                self.done = true;
                continue;
            }
            for _ in 1..MAX_BATCH {
                let msg = match self.live.try_recv() {
                    Ok(m) => Ok(m),
                    Err(broadcast::error::TryRecvError::Empty) => break,
                    Err(broadcast::error::TryRecvError::Lagged(n)) => {
                        Err(broadcast::error::RecvError::Lagged(n))
                    }
                    Err(broadcast::error::TryRecvError::Closed) => {
                        Err(broadcast::error::RecvError::Closed)
                    }
                };
                if !self.take(msg) {
                    self.done = true;
                    break;
                }
            }
        }
    }

    /// Queues what one broadcast message means for this client; false when
    /// the watch must end.
    fn take(&mut self, msg: Result<Message, broadcast::error::RecvError>) -> bool {
        match msg {
            Ok(Message::Event(event)) => {
                if event.revision > self.revision {
                    self.seen = event.revision;
                    if let Some(line) = line_for(&event, &self.filter) {
                        self.ready.push_back(line);
                    }
                }
                true
            }
            Ok(Message::Progress(rev)) => {
                self.seen = self.seen.max(rev);
                if self.opts.bookmarks
                    && self.last_bookmark.elapsed() >= self.opts.bookmark_interval
                {
                    self.ready
                        .push_back(bookmark_line(&self.opts, self.seen, false));
                    self.last_bookmark = Instant::now();
                }
                true
            }
            Ok(Message::Reset | Message::Stopped) | Err(broadcast::error::RecvError::Closed) => {
                false
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                // Too slow to keep up: end the watch; the client resumes
                // from the last resourceVersion it saw.
                tracing::debug!(missed, "closing a watch that fell behind");
                false
            }
        }
    }
}

/// Convenience for tests and callers that hold events outside a broadcast.
pub fn lines_for(events: &[Arc<CacheEvent>], filter: &Filter) -> Vec<Bytes> {
    events.iter().filter_map(|e| line_for(e, filter)).collect()
}
