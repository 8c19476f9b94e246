//! Remembers the slices this controller created or deleted until the
//! informer cache shows it (upstream: `EndpointSliceTracker`).
//!
//! Why: right after creating a slice, the next sync of the service may run
//! before the watch has delivered it. Planning from that cache would create
//! the same endpoints again in a second slice. So a sync first asks
//! [`Tracker::stale`]; while a creation or deletion is not yet visible, it
//! is retried later instead. Updates need no tracking: they carry the
//! cached `resourceVersion`, so a stale one fails with a conflict.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use api_types::discovery::v1::EndpointSlice;

/// An expectation older than this is dropped: an event was lost, or the
/// slice came and went between two looks at the cache.
pub const TTL: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    Created,
    Deleted,
}

/// Slice name → the change expected and when it was made.
type Expected = HashMap<String, (Change, Instant)>;

/// Expected slice changes, by service key and slice name.
#[derive(Debug, Default)]
pub struct Tracker {
    expected: Mutex<HashMap<String, Expected>>,
}

impl Tracker {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Expected>) -> T) -> T {
        let mut guard = self.expected.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    fn expect(&self, service: &str, slice: &str, change: Change) {
        self.with(|m| {
            m.entry(service.to_string())
                .or_default()
                .insert(slice.to_string(), (change, Instant::now()));
        });
    }

    /// This controller created `slice` for `service`.
    pub fn created(&self, service: &str, slice: &str) {
        self.expect(service, slice, Change::Created);
    }

    /// This controller deleted `slice` of `service`.
    pub fn deleted(&self, service: &str, slice: &str) {
        self.expect(service, slice, Change::Deleted);
    }

    /// The informer saw `slice` of `service` appear (`present`) or go.
    pub fn observed(&self, service: &str, slice: &str, present: bool) {
        self.with(|m| {
            if let Some(slices) = m.get_mut(service) {
                let met = match slices.get(slice) {
                    Some((Change::Created, _)) => present,
                    Some((Change::Deleted, _)) => !present,
                    None => false,
                };
                if met {
                    slices.remove(slice);
                }
                if slices.is_empty() {
                    m.remove(service);
                }
            }
        });
    }

    /// Whether `cached` (the service's slices in the cache) still lacks a
    /// slice this controller created or still has one it deleted.
    /// Expectations that are met or expired are dropped.
    pub fn stale(&self, service: &str, cached: &[Arc<EndpointSlice>]) -> bool {
        self.with(|m| {
            let Some(slices) = m.get_mut(service) else {
                return false;
            };
            slices.retain(|name, (change, at)| {
                let present = cached.iter().any(|s| &s.metadata.name == name);
                let met = match change {
                    Change::Created => present,
                    Change::Deleted => !present,
                };
                !met && at.elapsed() < TTL
            });
            let stale = !slices.is_empty();
            if !stale {
                m.remove(service);
            }
            stale
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn slice(name: &str) -> Arc<EndpointSlice> {
        let mut s = EndpointSlice::default();
        s.metadata.name = name.into();
        Arc::new(s)
    }

    #[test]
    fn creations_and_deletions_are_awaited() {
        let t = Tracker::default();
        assert!(!t.stale("ns/web", &[]));
        t.created("ns/web", "web-a");
        assert!(t.stale("ns/web", &[]));
        assert!(!t.stale("ns/db", &[]));
        assert!(!t.stale("ns/web", &[slice("web-a")]));
        // Met once: forgotten.
        assert!(!t.stale("ns/web", &[]));

        t.deleted("ns/web", "web-a");
        assert!(t.stale("ns/web", &[slice("web-a")]));
        assert!(!t.stale("ns/web", &[]));
    }

    #[test]
    fn informer_events_meet_expectations() {
        let t = Tracker::default();
        t.created("ns/web", "web-a");
        t.observed("ns/web", "web-a", false);
        assert!(t.stale("ns/web", &[]));
        // Seen, then deleted by someone else before the next sync: not stale.
        t.observed("ns/web", "web-a", true);
        assert!(!t.stale("ns/web", &[]));
    }
}
