//! The scheduling queue (upstream's `PriorityQueue`): which pod to try
//! next, and when to try again a pod that did not fit.
//!
//! Three places a pending pod can be:
//! - **active**: ready to be tried, ordered by priority (higher first),
//!   then by when it entered the queue (older first);
//! - **backoff**: failed recently; waits 1 s, 2 s, 4 s … up to 10 s
//!   (doubling per failed attempt) before going back to active;
//! - **unschedulable**: failed and nothing has changed in the cluster since
//!   that could help it. A cluster change (a node added or changed, a pod
//!   deleted) moves every such pod back (to backoff if its backoff has not
//!   run out yet, else to active); so does waiting 5 minutes.
//!
//! A pod that failed while a cluster change happened during its attempt
//! goes to backoff rather than unschedulable: the change may have been
//! the one it needed (upstream's "move request cycle").

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use api_types::core::v1::Pod;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long pods back off.
#[derive(Clone, Copy, Debug)]
pub struct QueueConfig {
    /// `podInitialBackoffSeconds` (1 s).
    pub initial_backoff: Duration,
    /// `podMaxBackoffSeconds` (10 s).
    pub max_backoff: Duration,
    /// Unschedulable pods are retried after this long anyway (5 min).
    pub max_unschedulable: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            max_unschedulable: Duration::from_secs(300),
        }
    }
}

/// A pod taken from the queue for one scheduling attempt.
#[derive(Clone, Debug)]
pub struct QueuedPod {
    pub key: String,
    pub pod: Arc<Pod>,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// When the pod first entered the queue (for latency metrics).
    pub first_queued: Instant,
    /// The queue's move counter when the pod was popped.
    cycle: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Where {
    Active,
    Backoff,
    Unschedulable,
    /// Popped and being tried.
    InFlight,
}

#[derive(Debug)]
struct Entry {
    pod: Arc<Pod>,
    attempts: u32,
    first_queued: Instant,
    /// When it was last added to active (ordering among equal priorities).
    queued_at: Instant,
    /// When its backoff ends.
    backoff_until: Instant,
    unschedulable_since: Instant,
    at: Where,
    /// Bumped on every move, so stale heap entries are skipped.
    generation: u64,
}

/// Active-heap order: higher priority, then earlier, then key.
#[derive(Debug, PartialEq, Eq)]
struct ActiveItem {
    priority: i32,
    queued_at: Instant,
    key: String,
    generation: u64,
}

impl Ord for ActiveItem {
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority
            .cmp(&other.priority)
            .then_with(|| other.queued_at.cmp(&self.queued_at))
            .then_with(|| other.key.cmp(&self.key))
    }
}

impl PartialOrd for ActiveItem {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Default)]
struct State {
    pods: HashMap<String, Entry>,
    active: BinaryHeap<ActiveItem>,
    backoff: BinaryHeap<Reverse<(Instant, u64, String)>>,
    /// Cluster changes seen so far.
    moves: u64,
    generation: u64,
    closed: bool,
}

/// Sizes of the three parts, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueLengths {
    pub active: usize,
    pub backoff: usize,
    pub unschedulable: usize,
}

/// The queue; share it behind an `Arc`.
#[derive(Debug)]
pub struct SchedulingQueue {
    config: QueueConfig,
    state: Mutex<State>,
    notify: Notify,
}

fn priority(pod: &Pod) -> i32 {
    pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
}

impl SchedulingQueue {
    pub fn new(config: QueueConfig) -> Self {
        SchedulingQueue {
            config,
            state: Mutex::new(State::default()),
            notify: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn backoff_for(&self, attempts: u32) -> Duration {
        let shift = attempts.saturating_sub(1).min(16);
        self.config
            .initial_backoff
            .saturating_mul(1 << shift)
            .min(self.config.max_backoff)
    }

    /// A new pending pod, or a newer version of one already queued.
    pub fn add(&self, key: &str, pod: Arc<Pod>) {
        let mut st = self.lock();
        if st.closed {
            return;
        }
        let now = Instant::now();
        match st.pods.get_mut(key) {
            Some(e) => {
                let changed =
                    e.pod.spec != pod.spec || e.pod.metadata.labels != pod.metadata.labels;
                e.pod = pod;
                // An update may make an unschedulable pod schedulable.
                if e.at == Where::Unschedulable && changed {
                    Self::requeue(&mut st, key, now);
                }
            }
            None => {
                st.pods.insert(
                    key.to_string(),
                    Entry {
                        pod,
                        attempts: 0,
                        first_queued: now,
                        queued_at: now,
                        backoff_until: now,
                        unschedulable_since: now,
                        at: Where::Active,
                        generation: 0,
                    },
                );
                Self::push_active(&mut st, key, now);
            }
        }
        drop(st);
        self.notify.notify_one();
    }

    /// The pod is gone, bound, or no longer ours.
    pub fn delete(&self, key: &str) {
        self.lock().pods.remove(key);
    }

    fn push_active(st: &mut State, key: &str, now: Instant) {
        st.generation += 1;
        let generation = st.generation;
        if let Some(e) = st.pods.get_mut(key) {
            e.at = Where::Active;
            e.queued_at = now;
            e.generation = generation;
            let item = ActiveItem {
                priority: priority(&e.pod),
                queued_at: now,
                key: key.to_string(),
                generation,
            };
            st.active.push(item);
        }
    }

    fn push_backoff(st: &mut State, key: &str) {
        st.generation += 1;
        let generation = st.generation;
        if let Some(e) = st.pods.get_mut(key) {
            e.at = Where::Backoff;
            e.generation = generation;
            let until = e.backoff_until;
            st.backoff
                .push(Reverse((until, generation, key.to_string())));
        }
    }

    /// Back to active if its backoff is over, else to backoff.
    fn requeue(st: &mut State, key: &str, now: Instant) {
        let until = st.pods.get(key).map(|e| e.backoff_until);
        match until {
            Some(until) if until > now => Self::push_backoff(st, key),
            Some(_) => Self::push_active(st, key, now),
            None => {}
        }
    }

    /// Moves backoff pods whose time is up to active; returns when the
    /// next one is due.
    fn flush_backoff(st: &mut State, now: Instant) -> Option<Instant> {
        while let Some(Reverse((until, generation, key))) = st.backoff.peek().cloned() {
            let live = st
                .pods
                .get(&key)
                .is_some_and(|e| e.at == Where::Backoff && e.generation == generation);
            if !live {
                st.backoff.pop();
                continue;
            }
            if until > now {
                return Some(until);
            }
            st.backoff.pop();
            Self::push_active(st, &key, now);
        }
        None
    }

    /// Takes the next pod to try, waiting for one; `None` once closed.
    pub async fn pop(&self) -> Option<QueuedPod> {
        loop {
            let notified = self.notify.notified();
            let next_due = {
                let mut st = self.lock();
                if st.closed {
                    return None;
                }
                let now = Instant::now();
                let next_due = Self::flush_backoff(&mut st, now);
                while let Some(item) = st.active.pop() {
                    let cycle = st.moves;
                    let Some(e) = st.pods.get_mut(&item.key) else {
                        continue;
                    };
                    if e.at != Where::Active || e.generation != item.generation {
                        continue;
                    }
                    e.at = Where::InFlight;
                    e.attempts += 1;
                    return Some(QueuedPod {
                        key: item.key,
                        pod: e.pod.clone(),
                        attempts: e.attempts,
                        first_queued: e.first_queued,
                        cycle,
                    });
                }
                next_due
            };
            match next_due {
                Some(at) => {
                    tokio::select! {
                        () = notified => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// The attempt found no node: the pod waits for a cluster change (or
    /// backs off, if one happened during the attempt).
    pub fn unschedulable(&self, popped: &QueuedPod) {
        let mut st = self.lock();
        let now = Instant::now();
        let moved_meanwhile = st.moves != popped.cycle;
        let backoff = self.backoff_for(popped.attempts);
        let Some(e) = st.pods.get_mut(&popped.key) else {
            return;
        };
        if e.at != Where::InFlight {
            return;
        }
        e.backoff_until = now + backoff;
        if moved_meanwhile {
            Self::push_backoff(&mut st, &popped.key);
        } else {
            e.at = Where::Unschedulable;
            e.unschedulable_since = now;
        }
        drop(st);
        self.notify.notify_one();
    }

    /// The attempt failed for another reason (the binding failed, the
    /// apiserver was unreachable): try again after the backoff.
    pub fn retry_later(&self, popped: &QueuedPod) {
        let mut st = self.lock();
        let now = Instant::now();
        let backoff = self.backoff_for(popped.attempts);
        if let Some(e) = st.pods.get_mut(&popped.key)
            && e.at == Where::InFlight
        {
            e.backoff_until = now + backoff;
            Self::push_backoff(&mut st, &popped.key);
        }
        drop(st);
        self.notify.notify_one();
    }

    /// The pod was bound: forget it.
    pub fn done(&self, popped: &QueuedPod) {
        self.delete(&popped.key);
    }

    /// Something changed in the cluster that may let unschedulable pods
    /// fit: move them all back.
    pub fn move_all_to_active_or_backoff(&self) {
        self.requeue_unschedulable(true, |_, _| true);
    }

    /// Retries pods that have been unschedulable for longer than
    /// `max_unschedulable` (call periodically).
    pub fn flush_unschedulable_leftover(&self) {
        let max = self.config.max_unschedulable;
        self.requeue_unschedulable(false, move |e, now| now - e.unschedulable_since >= max);
    }

    /// Moves the unschedulable pods `pick` selects back to backoff or
    /// active; `cluster_change` counts as a move for in-flight attempts.
    fn requeue_unschedulable(&self, cluster_change: bool, pick: impl Fn(&Entry, Instant) -> bool) {
        let mut st = self.lock();
        if cluster_change {
            st.moves += 1;
        }
        let now = Instant::now();
        let keys: Vec<String> = st
            .pods
            .iter()
            .filter(|(_, e)| e.at == Where::Unschedulable && pick(e, now))
            .map(|(k, _)| k.clone())
            .collect();
        for k in &keys {
            Self::requeue(&mut st, k, now);
        }
        drop(st);
        if !keys.is_empty() {
            self.notify.notify_one();
        }
    }

    pub fn lengths(&self) -> QueueLengths {
        let st = self.lock();
        let mut out = QueueLengths::default();
        for e in st.pods.values() {
            match e.at {
                Where::Active => out.active += 1,
                Where::Backoff => out.backoff += 1,
                Where::Unschedulable => out.unschedulable += 1,
                Where::InFlight => {}
            }
        }
        out
    }

    /// Ends every `pop`.
    pub fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use api_types::core::v1::PodSpec;
    use api_types::meta::v1::ObjectMeta;

    use super::*;

    fn pod(name: &str, prio: i32) -> Arc<Pod> {
        Arc::new(Pod {
            metadata: ObjectMeta {
                name: name.into(),
                namespace: "default".into(),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                priority: Some(prio),
                ..PodSpec::default()
            }),
            ..Pod::default()
        })
    }

    async fn pop(q: &SchedulingQueue) -> QueuedPod {
        tokio::time::timeout(Duration::from_secs(60), q.pop())
            .await
            .unwrap()
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn priority_then_age() {
        let q = SchedulingQueue::new(QueueConfig::default());
        q.add("a", pod("a", 0));
        tokio::time::advance(Duration::from_millis(1)).await;
        q.add("b", pod("b", 10));
        tokio::time::advance(Duration::from_millis(1)).await;
        q.add("c", pod("c", 0));
        q.add("a", pod("a", 0)); // an update does not lose its place
        assert_eq!(pop(&q).await.key, "b");
        assert_eq!(pop(&q).await.key, "a");
        assert_eq!(pop(&q).await.key, "c");
        assert_eq!(q.lengths(), QueueLengths::default());
    }

    #[tokio::test(start_paused = true)]
    async fn unschedulable_waits_for_a_cluster_change_then_backs_off() {
        let q = SchedulingQueue::new(QueueConfig::default());
        q.add("a", pod("a", 0));
        let p = pop(&q).await;
        q.unschedulable(&p);
        assert_eq!(q.lengths().unschedulable, 1);
        // nothing changes: nothing to pop, even after a while
        assert!(
            tokio::time::timeout(Duration::from_secs(30), q.pop())
                .await
                .is_err()
        );
        q.move_all_to_active_or_backoff();
        // its 1 s backoff is long over: straight to active
        let p = pop(&q).await;
        assert_eq!(p.attempts, 2);
        q.unschedulable(&p);
        q.move_all_to_active_or_backoff();
        assert_eq!(q.lengths().backoff, 1, "2 s backoff not over yet");
        let started = Instant::now();
        let p = pop(&q).await;
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        assert_eq!(p.attempts, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_during_the_attempt_means_backoff() {
        let q = SchedulingQueue::new(QueueConfig::default());
        q.add("a", pod("a", 0));
        let p = pop(&q).await;
        q.move_all_to_active_or_backoff(); // e.g. a node was added meanwhile
        q.unschedulable(&p);
        assert_eq!(q.lengths().backoff, 1);
        let started = Instant::now();
        pop(&q).await;
        assert_eq!(started.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_doubles_to_ten_seconds() {
        let q = SchedulingQueue::new(QueueConfig::default());
        q.add("a", pod("a", 0));
        let mut waits = Vec::new();
        let mut p = pop(&q).await;
        for _ in 0..5 {
            q.retry_later(&p);
            let started = Instant::now();
            p = pop(&q).await;
            waits.push(started.elapsed().as_secs());
        }
        assert_eq!(waits, [1, 2, 4, 8, 10]);
    }

    #[tokio::test(start_paused = true)]
    async fn leftovers_flush_after_five_minutes_and_updates_requeue() {
        let q = SchedulingQueue::new(QueueConfig::default());
        q.add("a", pod("a", 0));
        q.add("b", pod("b", 0));
        let a = pop(&q).await;
        let b = pop(&q).await;
        q.unschedulable(&a);
        q.unschedulable(&b);
        q.flush_unschedulable_leftover();
        assert_eq!(q.lengths().unschedulable, 2);
        tokio::time::advance(Duration::from_secs(301)).await;
        q.flush_unschedulable_leftover();
        assert_eq!(q.lengths().active, 2);
        let a = pop(&q).await;
        let b = pop(&q).await;
        q.unschedulable(&a);
        q.unschedulable(&b);
        tokio::time::advance(Duration::from_secs(20)).await;
        // a changed spec requeues just that pod
        q.add("a", pod("a", 5));
        assert_eq!(q.lengths().active, 1);
        assert_eq!(pop(&q).await.key, "a");
        q.delete("b");
        assert_eq!(q.lengths(), QueueLengths::default());
        q.close();
        assert!(q.pop().await.is_none());
    }
}
