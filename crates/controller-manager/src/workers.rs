//! The worker loop every queue-driven controller here runs: take a key,
//! sync it, forget its failures on success or put it back with back-off on
//! failure, mark it done (so a key is never synced by two workers at once).

use std::fmt::Display;
use std::future::Future;

use runtime::workqueue::WorkQueue;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

/// Starts `n` (at least one) workers on `queue`, each calling `sync` for
/// the keys it takes until the queue shuts down. Failures are logged (at
/// debug level when `routine` says the error is an expected race, such as
/// a conflict with a lagging cache) and retried with the queue's back-off.
pub fn spawn<E, F, Fut>(
    queue: &WorkQueue<String>,
    n: usize,
    what: &'static str,
    routine: fn(&E) -> bool,
    sync: F,
) -> Vec<JoinHandle<()>>
where
    E: Display + Send + 'static,
    F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
{
    (0..n.max(1))
        .map(|_| {
            let (queue, sync) = (queue.clone(), sync.clone());
            tokio::spawn(async move {
                while let Some(key) = queue.get().await {
                    match sync(key.clone()).await {
                        Ok(()) => queue.forget(&key),
                        Err(e) => {
                            if routine(&e) {
                                debug!(controller = what, key = %key, error = %e, "sync lost a race; retrying");
                            } else {
                                warn!(controller = what, key = %key, error = %e, "sync failed; retrying");
                            }
                            queue.add_rate_limited(key.clone());
                        }
                    }
                    queue.done(&key);
                }
            })
        })
        .collect()
}

/// Waits for `stop`, shuts the queue down and waits for the workers to
/// finish their current key.
pub async fn until_stopped(
    queue: &WorkQueue<String>,
    workers: Vec<JoinHandle<()>>,
    stop: impl Future<Output = ()>,
) {
    stop.await;
    queue.shut_down();
    for w in workers {
        let _ = w.await;
    }
}

/// For controllers whose every error deserves a warning.
pub fn never<E>(_: &E) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn failed_keys_come_back_and_succeeded_ones_do_not() {
        let queue: WorkQueue<String> = WorkQueue::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let workers = spawn(&queue, 2, "test", never, move |key: String| {
            let c = c.clone();
            async move {
                // "flaky" fails its first attempt only.
                if c.fetch_add(1, Ordering::SeqCst) == 0 && key == "flaky" {
                    Err("boom")
                } else {
                    Ok(())
                }
            }
        });
        queue.add("flaky".to_string());
        tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while calls.load(Ordering::SeqCst) < 2 {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the failed key was not retried"));
        until_stopped(&queue, workers, async {}).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
