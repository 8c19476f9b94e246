//! A de-duplicating work queue of pod keys with per-key retry backoff
//! (client-go's `workqueue.RateLimitingInterface`, cut down to what the
//! simulator needs).
//!
//! The guarantees a controller relies on:
//! - a key waits in the queue at most once, however many events name it;
//! - a key is handed to one worker at a time: added again while being
//!   processed, it is queued once the worker calls [`WorkQueue::done`];
//! - a key that failed comes back after a delay that doubles per failure
//!   (5 ms up to 30 s), until [`WorkQueue::forget`].
//!
//! Handlers add keys synchronously from the informer's task; workers
//! `await` the next key.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<String>,
    /// Keys waiting to be processed (in `queue`, or re-added while processing).
    dirty: HashSet<String>,
    processing: HashSet<String>,
    failures: HashMap<String, u32>,
    shut_down: bool,
}

/// Shared by the informer's handler and the workers; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct WorkQueue {
    state: Arc<Mutex<State>>,
    notify: Arc<Notify>,
}

const BASE_DELAY: Duration = Duration::from_millis(5);
const MAX_DELAY: Duration = Duration::from_secs(30);

impl WorkQueue {
    pub fn new() -> Self {
        WorkQueue::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent under every early exit: keep going.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `key` unless it is already waiting.
    pub fn add(&self, key: &str) {
        let mut s = self.lock();
        if s.shut_down || !s.dirty.insert(key.to_string()) {
            return;
        }
        if s.processing.contains(key) {
            // `done` queues it
            return;
        }
        s.queue.push_back(key.to_string());
        drop(s);
        self.notify.notify_one();
    }

    /// The next key, once there is one; `None` after [`WorkQueue::shut_down`].
    pub async fn next(&self) -> Option<String> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before looking, so an `add` in between wakes us.
            notified.as_mut().enable();
            {
                let mut s = self.lock();
                if s.shut_down {
                    return None;
                }
                if let Some(key) = s.queue.pop_front() {
                    s.dirty.remove(&key);
                    s.processing.insert(key.clone());
                    let more = !s.queue.is_empty();
                    drop(s);
                    if more {
                        // Pass the baton: another worker may take the next.
                        self.notify.notify_one();
                    }
                    return Some(key);
                }
            }
            notified.await;
        }
    }

    /// The worker is finished with `key`.
    pub fn done(&self, key: &str) {
        let mut s = self.lock();
        s.processing.remove(key);
        if s.dirty.contains(key) && !s.shut_down {
            s.queue.push_back(key.to_string());
            drop(s);
            self.notify.notify_one();
        }
    }

    /// Queues `key` again after its backoff; returns the delay.
    pub fn retry(&self, key: &str) -> Duration {
        let delay = {
            let mut s = self.lock();
            let n = s.failures.entry(key.to_string()).or_insert(0);
            let delay = BASE_DELAY
                .saturating_mul(2u32.saturating_pow(*n))
                .min(MAX_DELAY);
            *n = n.saturating_add(1);
            delay
        };
        let q = self.clone();
        let key = key.to_string();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            q.add(&key);
        });
        delay
    }

    /// Clears `key`'s failure count (it succeeded, or is gone).
    pub fn forget(&self, key: &str) {
        self.lock().failures.remove(key);
    }

    /// Keys waiting (not counting those being processed).
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Wakes every worker with `None`; later adds are ignored.
    pub fn shut_down(&self) {
        self.lock().shut_down = true;
        self.notify.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn keys_are_deduplicated() {
        let q = WorkQueue::new();
        q.add("a");
        q.add("b");
        q.add("a");
        assert_eq!(q.len(), 2);
        assert_eq!(q.next().await.as_deref(), Some("a"));
        assert_eq!(q.next().await.as_deref(), Some("b"));
        assert!(q.is_empty());
    }

    #[tokio::test]
    async fn a_key_being_processed_waits_for_done() {
        let q = WorkQueue::new();
        q.add("a");
        let k = q.next().await.unwrap();
        q.add("a");
        q.add("a");
        assert!(q.is_empty(), "not handed to a second worker");
        q.done(&k);
        assert_eq!(q.len(), 1, "queued once after done");
        assert_eq!(q.next().await.as_deref(), Some("a"));
        q.done("a");
        assert!(q.is_empty());
    }

    #[tokio::test]
    async fn waiting_workers_wake_up() {
        let q = WorkQueue::new();
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let q = q.clone();
                tokio::spawn(async move {
                    let k = q.next().await;
                    if let Some(k) = &k {
                        q.done(k);
                    }
                    k
                })
            })
            .collect();
        tokio::task::yield_now().await;
        for k in ["a", "b", "c", "d"] {
            q.add(k);
        }
        let mut got = Vec::new();
        for w in workers {
            got.push(w.await.unwrap().unwrap());
        }
        got.sort();
        assert_eq!(got, ["a", "b", "c", "d"]);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_back_off_and_forget_resets() {
        let q = WorkQueue::new();
        assert_eq!(q.retry("a"), Duration::from_millis(5));
        assert_eq!(q.retry("a"), Duration::from_millis(10));
        assert_eq!(q.retry("a"), Duration::from_millis(20));
        tokio::time::sleep(Duration::from_millis(25)).await;
        assert_eq!(q.next().await.as_deref(), Some("a"));
        q.forget("a");
        assert_eq!(q.retry("a"), Duration::from_millis(5));
        for _ in 0..40 {
            q.retry("b");
        }
        assert_eq!(q.retry("b"), MAX_DELAY);
    }

    #[tokio::test]
    async fn shutting_down_releases_workers() {
        let q = WorkQueue::new();
        let w = {
            let q = q.clone();
            tokio::spawn(async move { q.next().await })
        };
        tokio::task::yield_now().await;
        q.shut_down();
        assert_eq!(w.await.unwrap(), None);
        q.add("late");
        assert_eq!(q.next().await, None);
    }
}
