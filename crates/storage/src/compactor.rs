//! Periodic compaction, as the apiserver's `--etcd-compaction-interval`.
//!
//! Every interval the compactor compacts to the revision it saw at the
//! *previous* tick, so watchers always keep at least one interval of history
//! to resume from.

use std::sync::Arc;
use std::time::Duration;

use crate::Storage;

/// Runs until the task is dropped or aborted.
pub async fn run(store: Arc<dyn Storage>, interval: Duration) {
    let mut previous = None;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let current = match store.current_revision().await {
            Ok(rev) => rev,
            Err(e) => {
                tracing::warn!(error = %e, "compactor: cannot read the current revision");
                continue;
            }
        };
        if let Some(target) = previous.filter(|&p| p > 0) {
            match store.compact(target).await {
                Ok(()) => tracing::info!(
                    revision = target,
                    backend = store.backend(),
                    "compacted storage"
                ),
                Err(e) => tracing::warn!(error = %e, revision = target, "compaction failed"),
            }
        }
        previous = Some(current);
    }
}
