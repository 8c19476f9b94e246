//! The pod lifecycle event generator (upstream: `GenericPLEG`): every
//! second, one cheap node-wide listing of sandboxes and containers is
//! compared with the previous one; the worker of every pod whose
//! containers changed (started, exited, vanished) is woken to sync. This
//! is how the kubelet notices a crash without polling each pod.
//!
//! It also finds what belongs to no pod: sandboxes of pods the kubelet no
//! longer has (deleted while it was down, or force-deleted) are removed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use cri::RuntimeService;
use tracing::{debug, info, warn};

use crate::pod::runtime_state::relist;
use crate::pod::sync::Syncer;
use crate::pod::worker::PodWorkers;

/// How often the runtime is relisted.
pub const RELIST_PERIOD: Duration = Duration::from_secs(1);

/// The pods whose runtime snapshot changed between `old` and `new`.
pub fn changed(
    old: &HashMap<String, Vec<(String, i32)>>,
    new: &HashMap<String, Vec<(String, i32)>>,
) -> HashSet<String> {
    old.keys()
        .chain(new.keys())
        .filter(|uid| old.get(*uid) != new.get(*uid))
        .cloned()
        .collect()
}

/// Runs the relist loop until `shutdown`. `ready` says when the pod
/// sources have delivered their first full set (before that, nothing is an
/// orphan).
pub async fn run(
    runtime: Arc<dyn RuntimeService>,
    workers: PodWorkers,
    syncer: Syncer,
    ready: impl Fn() -> bool + Send,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut last: HashMap<String, Vec<(String, i32)>> = HashMap::new();
    let mut cleaning: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(RELIST_PERIOD) => {}
        }
        let started = std::time::Instant::now();
        let listed = relist(runtime.as_ref()).await;
        syncer.metrics.observe_relist(started.elapsed());
        let now = match listed {
            Ok(s) => s,
            Err(e) => {
                debug!(error = %e, "relisting the runtime failed");
                continue;
            }
        };
        for uid in changed(&last, &now) {
            workers.wake(&uid);
        }
        if ready() {
            let known: HashSet<String> = workers.uids().into_iter().collect();
            let orphans: Vec<String> = now
                .keys()
                .filter(|u| !known.contains(*u) && !cleaning.contains(*u))
                .cloned()
                .collect();
            for uid in orphans {
                info!(pod_uid = %uid, "removing containers of a pod that no longer exists");
                cleaning.insert(uid.clone());
                let s = syncer.clone();
                tokio::spawn(async move {
                    if let Err(e) = s.clean_up(&uid).await {
                        warn!(pod_uid = %uid, error = %e, "clean-up failed");
                    }
                });
            }
            cleaning.retain(|u| now.contains_key(u));
        }
        last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_changed_pods() {
        let a: HashMap<_, _> = [
            ("p1".to_string(), vec![("c".to_string(), 11)]),
            ("p2".to_string(), vec![]),
        ]
        .into();
        let mut b = a.clone();
        b.insert("p1".into(), vec![("c".into(), 12)]);
        b.remove("p2");
        b.insert("p3".into(), vec![]);
        let mut c: Vec<_> = changed(&a, &b).into_iter().collect();
        c.sort();
        assert_eq!(c, ["p1", "p2", "p3"]);
        assert!(changed(&a, &a).is_empty());
    }
}
