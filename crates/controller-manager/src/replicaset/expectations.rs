//! Expectations (upstream: `ControllerExpectations`): after asking for N
//! creations, a controller waits until its informer has *seen* N new pods
//! before it trusts the cache again. Without this, a sync that runs before
//! the watch delivers the new pods would count too few and create more:
//! over-creation, the classic controller bug.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long unmet expectations are trusted (upstream: 5 minutes), in case
/// an event was missed.
pub const TTL: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Pending {
    adds: i64,
    dels: i64,
    set: Instant,
}

/// Pending creations and deletions, per owner key.
#[derive(Debug, Default)]
pub struct Expectations {
    inner: Mutex<HashMap<String, Pending>>,
}

impl Expectations {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the cache can be trusted for `key`.
    pub fn satisfied(&self, key: &str) -> bool {
        match self.lock().get(key) {
            None => true,
            Some(p) => (p.adds <= 0 && p.dels <= 0) || p.set.elapsed() > TTL,
        }
    }

    /// About to create `adds` and delete `dels` pods for `key`.
    pub fn expect(&self, key: &str, adds: usize, dels: usize) {
        self.lock().insert(
            key.to_string(),
            Pending {
                adds: adds as i64,
                dels: dels as i64,
                set: Instant::now(),
            },
        );
    }

    /// A creation was seen (or failed, so will never be seen).
    pub fn creation_observed(&self, key: &str) {
        if let Some(p) = self.lock().get_mut(key) {
            p.adds -= 1;
        }
    }

    /// A deletion was seen (or failed).
    pub fn deletion_observed(&self, key: &str) {
        if let Some(p) = self.lock().get_mut(key) {
            p.dels -= 1;
        }
    }

    /// The owner is gone.
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn satisfied_once_everything_asked_for_was_seen() {
        let e = Expectations::default();
        assert!(e.satisfied("ns/rs"));
        e.expect("ns/rs", 2, 1);
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        e.deletion_observed("ns/rs");
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs"));
        e.expect("ns/rs", 1, 0);
        e.forget("ns/rs");
        assert!(e.satisfied("ns/rs"));
    }
}
