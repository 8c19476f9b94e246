//! List, then watch (client-go's `Reflector`).
//!
//! A component must never miss a change. The reflector:
//! 1. LISTs the kind (in pages), which returns the objects and the
//!    resourceVersion the list was read at;
//! 2. WATCHes from exactly that resourceVersion, so every change after the
//!    list arrives as an event, in order, none missing;
//! 3. remembers the resourceVersion of each event (and of bookmarks, the
//!    server's "nothing for you up to here"), so a watch that ends (server
//!    timeout, dropped connection, apiserver restart) resumes where it
//!    stopped;
//! 4. when the server says that version is gone (410 Expired: compacted
//!    away), LISTs again: the sink gets the whole new content and works out
//!    what changed;
//! 5. backs off exponentially (with jitter) on errors, so a down apiserver
//!    is not hammered.

use std::time::Duration;

use api_types::Resource;
use client::{Api, Event, ListParams};
use futures::StreamExt;
use rand::Rng;

/// Where a reflector delivers what it sees.
pub trait Sink<K>: Send {
    /// The complete content after a (re)list, read at `resource_version`.
    fn replace(&mut self, objects: Vec<K>, resource_version: &str);
    /// One change from the watch.
    fn apply(&mut self, event: Change<K>);
}

/// A change seen by a watch.
#[derive(Clone, Debug, PartialEq)]
pub enum Change<K> {
    Upsert(K),
    Delete(K),
}

/// Backoff between failed attempts: 800 ms doubling to 30 s, with up to
/// 100% jitter (client-go's reflector defaults), reset after success.
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Duration::from_millis(800), Duration::from_secs(30))
    }
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            next: initial,
        }
    }

    /// The next delay (jittered), doubling the one after.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        let jitter = rand::rng().random_range(0.0..1.0);
        base.mul_f64(1.0 + jitter).min(self.max)
    }

    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

/// Changes objects as they arrive, before anything keeps them.
pub type Transform<K> = std::sync::Arc<dyn Fn(&mut K) + Send + Sync>;

/// How a reflector lists and watches.
#[derive(Clone, Debug)]
pub struct ReflectorConfig {
    /// Selectors apply to both the list and the watch.
    pub list_params: ListParams,
    /// Page size of lists.
    pub page_size: u32,
    /// Watches are asked to end after a random time in
    /// `[min_watch_timeout, 2 × min_watch_timeout)`, so many clients do
    /// not reconnect at once (client-go: 5–10 minutes).
    pub min_watch_timeout: Duration,
    pub backoff: Backoff,
}

impl Default for ReflectorConfig {
    fn default() -> Self {
        ReflectorConfig {
            list_params: ListParams::default(),
            page_size: 500,
            min_watch_timeout: Duration::from_secs(300),
            backoff: Backoff::default(),
        }
    }
}

/// Why a watch loop stopped.
enum WatchEnd {
    /// The version is gone: list again.
    Relist,
}

/// Runs forever: list, then watch, feeding `sink`. Cancel by dropping the
/// future (abort its task).
pub async fn run<K: Resource>(
    api: Api<K>,
    config: ReflectorConfig,
    transform: Option<Transform<K>>,
    sink: &mut impl Sink<K>,
) {
    let mut backoff = config.backoff.clone();
    // The first list may come from the apiserver's watch cache
    // (`resourceVersion=0`, as client-go's reflector asks): fast, and any
    // staleness is made up by the watch. After a 410 the list must be
    // consistent (`""`), or it could be older than what we already saw.
    let mut list_rv = "0";
    loop {
        let lp = ListParams {
            limit: Some(config.page_size),
            resource_version: config
                .list_params
                .resource_version
                .clone()
                .or_else(|| Some(list_rv.to_string())),
            ..config.list_params.clone()
        };
        let each = |o: &mut K| {
            if let Some(t) = &transform {
                t(o);
            }
        };
        let list = match api.list_all_with(&lp, each).await {
            Ok(l) => l,
            Err(e) => {
                let wait = backoff.next_delay();
                tracing::warn!(kind = K::KIND, error = %e, ?wait, "list failed; retrying");
                tokio::time::sleep(wait).await;
                continue;
            }
        };
        let mut rv = list.metadata.resource_version.clone();
        tracing::debug!(kind = K::KIND, items = list.items.len(), rv, "listed");
        sink.replace(list.items, &rv);
        backoff.reset();
        match watch_from(
            &api,
            &config,
            transform.as_ref(),
            &mut rv,
            sink,
            &mut backoff,
        )
        .await
        {
            WatchEnd::Relist => {
                tracing::info!(kind = K::KIND, rv, "watch expired; relisting");
                list_rv = "";
            }
        }
    }
}

/// Watches from `rv` until the version is gone, resuming after every
/// other end of a watch.
async fn watch_from<K: Resource>(
    api: &Api<K>,
    config: &ReflectorConfig,
    transform: Option<&Transform<K>>,
    rv: &mut String,
    sink: &mut impl Sink<K>,
    backoff: &mut Backoff,
) -> WatchEnd {
    loop {
        let secs = config.min_watch_timeout.as_secs().max(1);
        let timeout = rand::rng().random_range(secs..secs * 2);
        let lp = ListParams {
            timeout_seconds: u32::try_from(timeout).ok(),
            ..config.list_params.clone()
        };
        let mut stream = match api.watch(&lp, rv).await {
            Ok(s) => s,
            Err(e) if e.is_gone() => return WatchEnd::Relist,
            Err(e) => {
                let wait = backoff.next_delay();
                tracing::warn!(kind = K::KIND, error = %e, ?wait, "watch failed; retrying");
                tokio::time::sleep(wait).await;
                continue;
            }
        };
        while let Some(item) = stream.next().await {
            match item {
                Ok(Event::Added(mut o) | Event::Modified(mut o)) => {
                    rv.clone_from(&o.metadata().resource_version);
                    if let Some(t) = transform {
                        t(&mut o);
                    }
                    sink.apply(Change::Upsert(o));
                    backoff.reset();
                }
                Ok(Event::Deleted(mut o)) => {
                    rv.clone_from(&o.metadata().resource_version);
                    if let Some(t) = transform {
                        t(&mut o);
                    }
                    sink.apply(Change::Delete(o));
                    backoff.reset();
                }
                Ok(Event::Bookmark { resource_version }) => {
                    if !resource_version.is_empty() {
                        *rv = resource_version;
                    }
                }
                Ok(Event::Error(status)) if status.code == 410 => return WatchEnd::Relist,
                Ok(Event::Error(status)) => {
                    tracing::warn!(
                        kind = K::KIND,
                        message = status.message,
                        "watch error event"
                    );
                    break;
                }
                Err(e) => {
                    tracing::debug!(kind = K::KIND, error = %e, "watch stream ended with an error");
                    let wait = backoff.next_delay();
                    tokio::time::sleep(wait).await;
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let d: Vec<Duration> = (0..6).map(|_| b.next_delay()).collect();
        assert!(d[0] >= Duration::from_millis(100) && d[0] < Duration::from_millis(200));
        assert!(d[1] >= Duration::from_millis(200) && d[1] < Duration::from_millis(400));
        assert!(d[5] <= Duration::from_secs(1));
        b.reset();
        assert!(b.next_delay() < Duration::from_millis(200));
    }
}
