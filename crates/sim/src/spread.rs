//! Periodic work for many nodes, spread evenly over the period.
//!
//! 5,000 kubelets started together do not renew their Leases in the same
//! millisecond: each runs its own timer from its own start. One simulator
//! process must not turn that into a burst of 5,000 writes every 10 s
//! either, so node `i` of `n` is served at `i/n` of each period, and at
//! most `permits` writes are in flight (when the apiserver is slow, the
//! schedule waits instead of piling up requests).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::{Instant, sleep_until};

/// When node `i` of `count` is due in a round of length `period`.
pub fn offset(i: usize, count: usize, period: Duration) -> Duration {
    if count == 0 {
        return Duration::ZERO;
    }
    // u128 arithmetic: exact, and cannot overflow for any real period
    let nanos = period.as_nanos() * i as u128 / count as u128;
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Runs `job(i)` for `i` in `0..count` once per `period`, `i` at
/// [`offset`] into each round, starting one full period from now (the
/// caller has just done round zero while registering). Never returns;
/// abort its task to stop it.
pub async fn run<F, Fut>(count: usize, period: Duration, permits: Arc<Semaphore>, job: F)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if count == 0 || period.is_zero() {
        return std::future::pending().await;
    }
    let mut round = Instant::now() + period;
    loop {
        for i in 0..count {
            sleep_until(round + offset(i, count, period)).await;
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return; // closed: shutting down
            };
            let fut = job(i);
            tokio::spawn(async move {
                fut.await;
                drop(permit);
            });
        }
        round += period;
        let now = Instant::now();
        if round + period < now {
            // More than a round behind (the apiserver was down, the
            // machine suspended): start afresh instead of bursting.
            round = now;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Mutex;

    use super::*;

    #[test]
    fn offsets_divide_the_period() {
        let p = Duration::from_secs(10);
        assert_eq!(offset(0, 4, p), Duration::ZERO);
        assert_eq!(offset(1, 4, p), Duration::from_millis(2500));
        assert_eq!(offset(3, 4, p), Duration::from_millis(7500));
        assert_eq!(offset(4_999, 5_000, p), Duration::from_millis(9998));
    }

    #[tokio::test(start_paused = true)]
    async fn each_node_once_per_period_spread_out() {
        let start = Instant::now();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let task = {
            let seen = seen.clone();
            tokio::spawn(run(
                4,
                Duration::from_secs(1),
                Arc::new(Semaphore::new(2)),
                move |i| {
                    let seen = seen.clone();
                    async move {
                        seen.lock().unwrap().push((i, start.elapsed().as_millis()));
                    }
                },
            ))
        };
        tokio::time::sleep(Duration::from_millis(2900)).await;
        task.abort();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                (0, 1000),
                (1, 1250),
                (2, 1500),
                (3, 1750),
                (0, 2000),
                (1, 2250),
                (2, 2500),
                (3, 2750)
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_work_is_bounded() {
        let busy = Arc::new(Semaphore::new(0));
        let permits = Arc::new(Semaphore::new(2));
        let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let task = {
            let (busy, started) = (busy.clone(), started.clone());
            tokio::spawn(run(
                10,
                Duration::from_secs(1),
                permits.clone(),
                move |_| {
                    let (busy, started) = (busy.clone(), started.clone());
                    async move {
                        started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        // never finishes until the test lets it
                        let _ = busy.acquire().await;
                    }
                },
            ))
        };
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(started.load(std::sync::atomic::Ordering::SeqCst), 2);
        task.abort();
    }
}
