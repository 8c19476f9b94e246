//! A de-duplicating, delaying, rate-limited work queue: client-go's
//! `util/workqueue` (`Type`, `DelayingInterface`, `RateLimitingInterface`),
//! for async workers.
//!
//! Event handlers [`add`](WorkQueue::add) keys; workers loop on
//! [`get`](WorkQueue::get), reconcile the key, then call
//! [`done`](WorkQueue::done) and either [`forget`](WorkQueue::forget) it
//! (success) or [`add_rate_limited`](WorkQueue::add_rate_limited) it (retry
//! with backoff).
//!
//! # Guarantees
//! - **One entry per key.** A key added many times before a worker takes it
//!   is handed out once: a burst of watch events for one object costs one
//!   reconcile.
//! - **One worker per key.** A key being processed (taken by `get`, not yet
//!   `done`) is never handed to a second worker. Adding it meanwhile marks
//!   it *dirty*; `done` then puts it back, so the change is not lost.
//! - **FIFO** among keys that are ready.
//!
//! Delayed adds are kept in a timer list that the getters themselves drive
//! (a waiting `get` sleeps until the earliest one is due), so the queue
//! needs no background task and can be built outside a Tokio runtime.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// How [`WorkQueue::add_rate_limited`] spaces out retries: client-go's
/// `DefaultControllerRateLimiter`, the maximum of
///
/// - a per-item exponential backoff (`ItemExponentialFailureRateLimiter`):
///   `base_delay * 2^failures`, capped at `max_delay`, until the item is
///   [`forget`](WorkQueue::forget)-ten; and
/// - one token bucket shared by all items (`BucketRateLimiter`): `qps`
///   retries a second after a `burst`, so a flood of failing items cannot
///   hammer the apiserver even while each is on its first retry.
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimiter {
    /// The first retry's delay (client-go: 5 ms).
    pub base_delay: Duration,
    /// The longest per-item delay (client-go: 1000 s).
    pub max_delay: Duration,
    /// Refill rate of the overall bucket; `<= 0` turns the bucket off.
    pub qps: f64,
    /// Size of the overall bucket.
    pub burst: u32,
}

impl Default for RateLimiter {
    /// The controller default: 5 ms doubling to 1000 s, and 10 qps with a
    /// burst of 100 overall.
    fn default() -> Self {
        RateLimiter {
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(1000),
            qps: 10.0,
            burst: 100,
        }
    }
}

impl RateLimiter {
    /// Per-item exponential backoff only, without the overall bucket, e.g.
    /// the scheduler's pod backoff (1 s doubling to 10 s).
    pub fn exponential(base_delay: Duration, max_delay: Duration) -> Self {
        RateLimiter {
            base_delay,
            max_delay,
            qps: 0.0,
            burst: 0,
        }
    }

    /// `base_delay * 2^failures`, capped at `max_delay` (overflow included).
    fn backoff(&self, failures: u32) -> Duration {
        1u32.checked_shl(failures)
            .and_then(|factor| self.base_delay.checked_mul(factor))
            .map_or(self.max_delay, |d| d.min(self.max_delay))
    }
}

/// The overall token bucket: tokens may go negative, each negative token
/// being a caller told to wait for its refill (golang.org/x/time/rate's
/// `Reserve().Delay()`).
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn reserve(&mut self, qps: f64, burst: u32) -> Duration {
        if qps <= 0.0 {
            return Duration::ZERO;
        }
        let now = Instant::now();
        let burst = f64::from(burst.max(1));
        let refill = now.duration_since(self.last).as_secs_f64() * qps;
        self.tokens = (self.tokens + refill).min(burst);
        self.last = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            // Finite and positive: tokens >= -(number of callers), qps > 0.
            Duration::try_from_secs_f64(-self.tokens / qps).unwrap_or(Duration::MAX)
        }
    }
}

/// Everything behind the one lock.
struct State<T> {
    /// Ready items, in order; each also in `dirty`.
    queue: VecDeque<T>,
    /// Items that need processing: queued, or added while being processed.
    dirty: HashSet<T>,
    /// Items handed out by `get` and not yet `done`.
    processing: HashSet<T>,
    /// Delayed adds by due time (the `u64` keeps equal times in add order).
    waiting: BTreeMap<(Instant, u64), T>,
    /// The waiting entry of each item, so a duplicate can only move it
    /// earlier.
    waiting_keys: HashMap<T, (Instant, u64)>,
    next_seq: u64,
    /// Failures per item since it was last forgotten.
    failures: HashMap<T, u32>,
    bucket: Bucket,
    shutting_down: bool,
}

impl<T: Clone + Eq + Hash> State<T> {
    /// client-go's `Add`: queue unless already dirty; an item in
    /// processing waits for its `done`.
    fn add(&mut self, item: T) -> bool {
        if self.shutting_down || self.dirty.contains(&item) {
            return false;
        }
        self.dirty.insert(item.clone());
        if self.processing.contains(&item) {
            return false;
        }
        self.queue.push_back(item);
        true
    }

    /// Moves due delayed adds to the queue; returns how many were queued.
    fn promote(&mut self, now: Instant) -> usize {
        let mut queued = 0;
        while let Some(entry) = self.waiting.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let item = entry.remove();
            self.waiting_keys.remove(&item);
            if self.add(item) {
                queued += 1;
            }
        }
        queued
    }

    fn next_due(&self) -> Option<Instant> {
        self.waiting.keys().next().map(|(at, _)| *at)
    }
}

struct Inner<T> {
    state: Mutex<State<T>>,
    /// Wakes getters: one per queued item, all on shutdown.
    ready: Notify,
    limiter: RateLimiter,
}

/// A de-duplicating, delaying, rate-limited queue of work items (usually
/// `namespace/name` keys). Cloning gives another handle to the same queue.
///
/// # Shutdown
/// After [`shut_down`](WorkQueue::shut_down), adds are ignored, delayed
/// adds still waiting are dropped, and [`get`](WorkQueue::get) keeps
/// handing out what is already queued, returning `None` once the queue is
/// empty (client-go's `ShutDown`: workers drain, then exit).
pub struct WorkQueue<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for WorkQueue<T> {
    fn clone(&self) -> Self {
        WorkQueue {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> std::fmt::Debug for WorkQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkQueue")
            .field("limiter", &self.inner.limiter)
            .finish_non_exhaustive()
    }
}

impl<T: Clone + Eq + Hash + Send + Sync + 'static> Default for WorkQueue<T> {
    fn default() -> Self {
        WorkQueue::new()
    }
}

impl<T: Clone + Eq + Hash + Send + Sync + 'static> WorkQueue<T> {
    /// A queue with the controller default [`RateLimiter`].
    pub fn new() -> Self {
        WorkQueue::with_rate_limiter(RateLimiter::default())
    }

    /// A queue whose [`add_rate_limited`](WorkQueue::add_rate_limited)
    /// follows `limiter`.
    pub fn with_rate_limiter(limiter: RateLimiter) -> Self {
        let burst = f64::from(limiter.burst.max(1));
        WorkQueue {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    dirty: HashSet::new(),
                    processing: HashSet::new(),
                    waiting: BTreeMap::new(),
                    waiting_keys: HashMap::new(),
                    next_seq: 0,
                    failures: HashMap::new(),
                    bucket: Bucket {
                        tokens: burst,
                        last: Instant::now(),
                    },
                    shutting_down: false,
                }),
                ready: Notify::new(),
                limiter,
            }),
        }
    }

    /// The state; a worker that panicked while holding the lock leaves it
    /// consistent (every method finishes its edits before doing anything
    /// that could panic), so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `item`, unless it is already queued; if it is being processed
    /// it is queued again when that is [`done`](WorkQueue::done).
    pub fn add(&self, item: T) {
        let queued = self.lock().add(item);
        if queued {
            self.inner.ready.notify_one();
        }
    }

    /// Queues `item` once `delay` has passed (at once for a zero delay).
    /// When `item` is already waiting, the earlier of the two times wins: a
    /// later duplicate never postpones it.
    pub fn add_after(&self, item: T, delay: Duration) {
        if delay.is_zero() {
            return self.add(item);
        }
        // A delay past the clock's range means "not in our lifetime".
        let now = Instant::now();
        let due = now
            .checked_add(delay)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400));
        {
            let mut s = self.lock();
            if s.shutting_down {
                return;
            }
            if let Some(&(at, seq)) = s.waiting_keys.get(&item) {
                if at <= due {
                    return;
                }
                s.waiting.remove(&(at, seq));
            }
            let seq = s.next_seq;
            s.next_seq += 1;
            s.waiting.insert((due, seq), item.clone());
            s.waiting_keys.insert(item, (due, seq));
        }
        // A getter asleep until a later due time must look again.
        self.inner.ready.notify_one();
    }

    /// Queues `item` after its rate-limited delay (see [`RateLimiter`]),
    /// counting one more failure for it.
    pub fn add_rate_limited(&self, item: T) {
        let delay = {
            let mut s = self.lock();
            if s.shutting_down {
                return;
            }
            let failures = s.failures.entry(item.clone()).or_insert(0);
            let backoff = self.inner.limiter.backoff(*failures);
            *failures = failures.saturating_add(1);
            let limiter = &self.inner.limiter;
            let overall = s.bucket.reserve(limiter.qps, limiter.burst);
            backoff.max(overall)
        };
        self.add_after(item, delay);
    }

    /// Clears `item`'s failures: its next rate-limited add starts again at
    /// the base delay. Call it when the item was processed successfully.
    pub fn forget(&self, item: &T) {
        self.lock().failures.remove(item);
    }

    /// How many times `item` was rate-limited since it was last forgotten.
    pub fn num_requeues(&self, item: &T) -> u32 {
        self.lock().failures.get(item).copied().unwrap_or(0)
    }

    /// Waits for an item and marks it as being processed; the caller must
    /// call [`done`](WorkQueue::done) with it afterwards.
    ///
    /// Returns `None` once the queue is shut down and empty.
    ///
    /// # Cancel safety
    /// Cancel-safe: an item is only taken when the future completes.
    pub async fn get(&self) -> Option<T> {
        loop {
            // Register for a wake-up before looking, so an add between the
            // look and the wait is not missed.
            let mut notified = pin!(self.inner.ready.notified());
            notified.as_mut().enable();
            let next_due = {
                let mut s = self.lock();
                if !s.shutting_down {
                    s.promote(Instant::now());
                }
                if let Some(item) = s.queue.pop_front() {
                    s.dirty.remove(&item);
                    s.processing.insert(item.clone());
                    let more = !s.queue.is_empty();
                    drop(s);
                    if more {
                        // Pass the baton: another getter may have been
                        // woken for the item this one took.
                        self.inner.ready.notify_one();
                    }
                    return Some(item);
                }
                if s.shutting_down {
                    return None;
                }
                s.next_due()
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

    /// Marks `item` as processed; if it was added again meanwhile it is
    /// queued now.
    pub fn done(&self, item: &T) {
        let requeued = {
            let mut s = self.lock();
            s.processing.remove(item);
            if s.dirty.contains(item) {
                s.queue.push_back(item.clone());
                true
            } else {
                false
            }
        };
        if requeued {
            self.inner.ready.notify_one();
        }
    }

    /// How many items are ready (queued, not delayed, not being processed).
    pub fn len(&self) -> usize {
        let mut s = self.lock();
        if !s.shutting_down {
            let now = Instant::now();
            s.promote(now);
        }
        s.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops accepting items; getters drain what is queued, then get `None`.
    pub fn shut_down(&self) {
        {
            let mut s = self.lock();
            s.shutting_down = true;
            s.waiting.clear();
            s.waiting_keys.clear();
        }
        self.inner.ready.notify_waiters();
    }

    pub fn is_shutting_down(&self) -> bool {
        self.lock().shutting_down
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// `get` that must not wait.
    async fn take(q: &WorkQueue<&'static str>) -> &'static str {
        tokio::time::timeout(Duration::ZERO, q.get())
            .await
            .ok()
            .flatten()
            .expect("an item is ready")
    }

    /// Whether `get` would wait (now, without time passing).
    async fn nothing_ready(q: &WorkQueue<&'static str>) -> bool {
        tokio::time::timeout(Duration::ZERO, q.get()).await.is_err()
    }

    #[tokio::test(start_paused = true)]
    async fn an_item_queued_twice_is_handed_out_once() {
        let q = WorkQueue::new();
        q.add("a");
        q.add("b");
        q.add("a");
        assert_eq!(q.len(), 2);
        assert_eq!(take(&q).await, "a");
        assert_eq!(take(&q).await, "b");
        assert!(nothing_ready(&q).await);
    }

    #[tokio::test(start_paused = true)]
    async fn an_item_is_never_processed_twice_at_once() {
        let q = WorkQueue::new();
        q.add("a");
        assert_eq!(take(&q).await, "a");
        // Changed while a worker has it: queued only when it is done.
        q.add("a");
        q.add("a");
        assert_eq!(q.len(), 0);
        assert!(nothing_ready(&q).await);
        q.done(&"a");
        assert_eq!(q.len(), 1);
        assert_eq!(take(&q).await, "a");
        q.done(&"a");
        assert!(nothing_ready(&q).await, "done without a new add: gone");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_workers_split_the_work() {
        let q = WorkQueue::<u32>::new();
        let mut workers = Vec::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        for _ in 0..3 {
            let (q, seen) = (q.clone(), Arc::clone(&seen));
            workers.push(tokio::spawn(async move {
                while let Some(i) = q.get().await {
                    tokio::time::sleep(ms(10)).await;
                    seen.lock().expect("lock").push(i);
                    q.done(&i);
                }
            }));
        }
        for i in 0..30 {
            q.add(i);
        }
        tokio::time::sleep(ms(95)).await;
        q.shut_down();
        for w in workers {
            w.await.expect("worker");
        }
        let mut seen = seen.lock().expect("lock").clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..30).collect::<Vec<_>>(), "each item once");
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_getter_wakes_for_a_new_item() {
        let q = WorkQueue::new();
        let getter = tokio::spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        tokio::time::sleep(ms(50)).await;
        q.add("late");
        assert_eq!(getter.await.expect("join"), Some("late"));
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_items_come_in_due_order() {
        let q = WorkQueue::new();
        let start = Instant::now();
        q.add_after("slow", ms(30));
        q.add_after("fast", ms(10));
        q.add_after("mid", ms(20));
        assert_eq!(q.len(), 0);
        assert_eq!(q.get().await, Some("fast"));
        assert_eq!(start.elapsed(), ms(10));
        assert_eq!(q.get().await, Some("mid"));
        assert_eq!(start.elapsed(), ms(20));
        assert_eq!(q.get().await, Some("slow"));
        assert_eq!(start.elapsed(), ms(30));
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_duplicate_does_not_postpone_an_earlier_add() {
        let q = WorkQueue::new();
        let start = Instant::now();
        q.add_after("a", ms(10));
        q.add_after("a", ms(100));
        assert_eq!(q.get().await, Some("a"));
        assert_eq!(start.elapsed(), ms(10));
        q.done(&"a");
        tokio::time::sleep(ms(200)).await;
        assert_eq!(q.len(), 0, "the later duplicate was merged away");

        // An earlier duplicate moves the entry forward.
        let start = Instant::now();
        q.add_after("b", ms(100));
        q.add_after("b", ms(10));
        assert_eq!(q.get().await, Some("b"));
        assert_eq!(start.elapsed(), ms(10));
    }

    #[tokio::test(start_paused = true)]
    async fn an_earlier_add_wakes_a_getter_waiting_for_a_later_one() {
        let q = WorkQueue::new();
        let start = Instant::now();
        q.add_after("late", ms(100));
        let getter = tokio::spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        tokio::time::sleep(ms(5)).await;
        q.add_after("early", ms(5));
        assert_eq!(getter.await.expect("join"), Some("early"));
        assert_eq!(start.elapsed(), ms(10));
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_exponentially_until_forgotten() {
        let q = WorkQueue::new();
        let mut delays = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            q.add_rate_limited("a");
            assert_eq!(q.get().await, Some("a"));
            delays.push(start.elapsed());
            q.done(&"a");
        }
        assert_eq!(delays, [ms(5), ms(10), ms(20), ms(40), ms(80)]);
        assert_eq!(q.num_requeues(&"a"), 5);
        assert_eq!(q.num_requeues(&"b"), 0, "per item");

        q.forget(&"a");
        assert_eq!(q.num_requeues(&"a"), 0);
        let start = Instant::now();
        q.add_rate_limited("a");
        assert_eq!(q.get().await, Some("a"));
        assert_eq!(start.elapsed(), ms(5), "back to the base delay");
    }

    #[test]
    fn backoff_is_capped() {
        let rl = RateLimiter::default();
        assert_eq!(rl.backoff(0), ms(5));
        assert_eq!(rl.backoff(17), ms(5 << 17));
        assert_eq!(rl.backoff(18), Duration::from_secs(1000));
        assert_eq!(rl.backoff(40), Duration::from_secs(1000), "no overflow");
        assert_eq!(rl.backoff(u32::MAX), Duration::from_secs(1000));

        let pods = RateLimiter::exponential(Duration::from_secs(1), Duration::from_secs(10));
        let secs: Vec<u64> = (0..6).map(|n| pods.backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 10, 10]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_overall_bucket_limits_a_flood_of_first_retries() {
        let q = WorkQueue::with_rate_limiter(RateLimiter {
            burst: 3,
            ..RateLimiter::default()
        });
        for i in 0..5 {
            q.add_rate_limited(i);
        }
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..5 {
            let i = q.get().await.expect("item");
            at.push((i, start.elapsed()));
        }
        // Three within the burst after their own 5 ms, then 10/s.
        assert_eq!(
            at,
            [
                (0, ms(5)),
                (1, ms(5)),
                (2, ms(5)),
                (3, ms(100)),
                (4, ms(200))
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_drains_then_ends_getters() {
        let q = WorkQueue::new();
        q.add("a");
        q.add_after("delayed", ms(10));
        let idle = tokio::spawn({
            let q = q.clone();
            async move {
                let first = q.get().await;
                (first, q.get().await)
            }
        });
        tokio::time::sleep(ms(1)).await;
        q.shut_down();
        q.add("ignored");
        q.add_rate_limited("ignored");
        assert!(q.is_shutting_down());
        let (first, second) = idle.await.expect("join");
        assert_eq!(first, Some("a"), "queued items are still handed out");
        assert_eq!(second, None);
        tokio::time::sleep(ms(50)).await;
        assert_eq!(q.get().await, None, "delayed adds were dropped");
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_wakes_every_waiting_getter() {
        let q = WorkQueue::<u8>::new();
        let getters: Vec<_> = (0..3)
            .map(|_| {
                let q = q.clone();
                tokio::spawn(async move { q.get().await })
            })
            .collect();
        tokio::time::sleep(ms(1)).await;
        q.shut_down();
        for g in getters {
            assert_eq!(g.await.expect("join"), None);
        }
    }
}
