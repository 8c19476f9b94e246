//! Pod workers: one task per pod, so a slow pod (an image pull, a long
//! preStop hook) never holds up another (upstream: `pod_workers.go`).
//!
//! A worker owns its pod's [`PodState`] and syncs when something happens:
//! the pod changed in the apiserver ([`PodWorkers::update`]), its
//! containers changed in the runtime ([`PodWorkers::wake`], from the PLEG),
//! a back-off or probe timer fired, or the periodic resync came round.
//! When a deleted pod has stopped, the worker confirms the deletion to the
//! apiserver (DELETE with grace period 0 and the pod's UID as
//! precondition), removes the sandboxes and volumes, and ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_types::core::v1::Pod;
use api_types::meta::v1::{DeleteOptions, Preconditions};
use client::Api;
use tokio::sync::{Notify, watch};
use tracing::{info, warn};

use crate::pod::probe::Prober;
use crate::pod::sync::{PodState, SyncOutcome, Syncer};

/// What a worker is told about its pod.
#[derive(Clone, Debug)]
enum Desired {
    Pod(Arc<Pod>),
    /// Gone from every source without a graceful deletion (force-deleted,
    /// or a static pod whose file was removed): stop at once.
    /// With the object's last state when the apiserver deleted it.
    Removed(Option<Arc<Pod>>),
}

struct Handle {
    tx: watch::Sender<Desired>,
    wake: Arc<Notify>,
    /// The same pod came back while its worker was stopping it (a static
    /// pod file moved away and back): start it again once stopped.
    readd: Option<Arc<Pod>>,
}

/// Whether `new` asks for more than `old` did: a different spec or
/// metadata (labels, annotations, deletion), not only a newer status or
/// resourceVersion.
fn needs_sync(old: &Pod, new: &Pod) -> bool {
    if old.spec != new.spec {
        return true;
    }
    // Readiness gates: conditions others set decide the pod's Ready.
    let gates: Vec<&str> = new
        .spec
        .as_ref()
        .and_then(|s| s.readiness_gates.as_ref())
        .map(|g| g.iter().map(|g| g.condition_type.as_str()).collect())
        .unwrap_or_default();
    if !gates.is_empty() {
        let gate_conditions = |p: &Pod| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.clone())
                .unwrap_or_default()
                .into_iter()
                .filter(|c| gates.contains(&c.type_.as_str()))
                .map(|c| (c.type_, c.status))
                .collect::<Vec<_>>()
        };
        if gate_conditions(old) != gate_conditions(new) {
            return true;
        }
    }
    let strip = |p: &Pod| {
        let mut m = p.metadata.clone();
        m.resource_version = String::new();
        m.managed_fields = Vec::new();
        m
    };
    strip(old) != strip(new)
}

/// The set of pod workers.
#[derive(Clone)]
pub struct PodWorkers {
    workers: Arc<Mutex<HashMap<String, Handle>>>,
    syncer: Syncer,
    resync: Duration,
}

impl std::fmt::Debug for PodWorkers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodWorkers")
            .field("pods", &self.len())
            .finish()
    }
}

impl PodWorkers {
    /// Workers that sync through `syncer` and resync every `resync`.
    pub fn new(syncer: Syncer, resync: Duration) -> Self {
        PodWorkers {
            workers: Arc::default(),
            syncer,
            resync,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Handle>> {
        self.workers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many pods have a worker.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no pod has a worker.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The UIDs of the pods with a worker.
    pub fn uids(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// The pods with a worker, as last given to it.
    pub fn pods(&self) -> Vec<Arc<Pod>> {
        self.lock()
            .values()
            .filter_map(|h| match &*h.tx.borrow() {
                Desired::Pod(p) => Some(p.clone()),
                Desired::Removed(_) => None,
            })
            .collect()
    }

    /// The pod was added or changed: its worker syncs it (starting one if
    /// needed).
    pub fn update(&self, pod: Arc<Pod>) {
        let uid = pod.metadata.uid.clone();
        if uid.is_empty() {
            return;
        }
        let mut workers = self.lock();
        if let Some(h) = workers.get_mut(&uid) {
            if matches!(&*h.tx.borrow(), Desired::Removed(_)) {
                h.readd = Some(pod);
                return;
            }
            // Our own status write coming back through the watch changes
            // nothing to do: keep the newest object without waking the
            // worker (a spec, label or deletion change does wake it).
            h.tx.send_if_modified(|d| {
                let wake = match d {
                    Desired::Pod(old) => needs_sync(old, &pod),
                    Desired::Removed(_) => false,
                };
                if !matches!(d, Desired::Removed(_)) {
                    *d = Desired::Pod(pod);
                }
                wake
            });
            return;
        }
        let (tx, rx) = watch::channel(Desired::Pod(pod));
        let wake = Arc::new(Notify::new());
        workers.insert(
            uid.clone(),
            Handle {
                tx,
                wake: wake.clone(),
                readd: None,
            },
        );
        let this = self.clone();
        tokio::spawn(async move {
            this.run(uid.clone(), rx, wake).await;
            let readd = this.lock().remove(&uid).and_then(|h| h.readd);
            if let Some(pod) = readd {
                this.update(pod);
            }
        });
    }

    /// The pod was deleted from the apiserver (`last`: its final state).
    pub fn deleted(&self, last: &Arc<Pod>) {
        if let Some(h) = self.lock().get_mut(&last.metadata.uid) {
            h.readd = None;
            h.tx.send_replace(Desired::Removed(Some(last.clone())));
        }
    }

    /// The pod is gone without a graceful deletion: stop it now.
    pub fn remove(&self, uid: &str) {
        if let Some(h) = self.lock().get_mut(uid) {
            h.readd = None;
            h.tx.send_replace(Desired::Removed(None));
        }
    }

    /// Something about the pod changed in the runtime: sync now.
    pub fn wake(&self, uid: &str) {
        if let Some(h) = self.lock().get(uid) {
            h.wake.notify_one();
        }
    }

    async fn run(&self, uid: String, mut rx: watch::Receiver<Desired>, wake: Arc<Notify>) {
        let mut st = PodState::default();
        let mut prober = Prober::default();
        let mut retry = Duration::from_millis(500);
        let mut last: Option<Arc<Pod>> = None;
        loop {
            let desired = rx.borrow_and_update().clone();
            let pod = match desired {
                Desired::Removed(final_state) => {
                    info!(pod_uid = %uid, "pod removed: stopping it");
                    // Still gracefully (preStop, SIGTERM, the grace
                    // period), as upstream does for a removed static pod
                    // file or a force-deleted pod.
                    if let Some(p) = &last {
                        // A force deletion's grace period (0: at once) is
                        // in the object's last state.
                        let grace = final_state
                            .as_ref()
                            .and_then(|f| f.metadata.deletion_grace_period_seconds)
                            .map_or_else(|| crate::pod::sync::grace_period(p), |g| g.max(0));
                        let grace = Duration::from_secs(grace as u64);
                        let state = crate::pod::runtime_state::pod_runtime(
                            self.syncer.runtime.as_ref(),
                            &uid,
                        )
                        .await;
                        if let Ok(state) = state
                            && let Err(e) = self.syncer.kill_pod(p, &state, grace).await
                        {
                            warn!(pod_uid = %uid, error = %e, "stopping the pod failed");
                        }
                    }
                    if let Err(e) = self.syncer.clean_up(&uid).await {
                        warn!(pod_uid = %uid, error = %e, "cleaning up failed");
                    }
                    return;
                }
                Desired::Pod(p) => p,
            };
            last = Some(pod.clone());
            let mut next = self.resync;
            let started = std::time::Instant::now();
            let result = self.syncer.sync(&pod, &mut st).await;
            self.syncer.metrics.observe_sync(started.elapsed());
            match result {
                Ok(SyncOutcome::Terminated) => {
                    self.finish(&pod).await;
                    if let Err(e) = self.syncer.clean_up(&uid).await {
                        warn!(pod_uid = %uid, error = %e, "cleaning up failed");
                    }
                    return;
                }
                Ok(SyncOutcome::Running { wake_in }) => {
                    retry = Duration::from_millis(500);
                    if let Some(w) = wake_in {
                        next = next.min(w + Duration::from_millis(50));
                    }
                }
                Err(e) => {
                    warn!(pod = %pod.metadata.key(), error = %e, "sync failed, retrying in {retry:?}");
                    next = retry;
                    retry = (retry * 2).min(Duration::from_secs(30));
                }
            }
            // Probes due before the next sync run in between; a changed
            // result syncs at once.
            let deadline = tokio::time::Instant::now() + next;
            loop {
                let probe_at = prober.next_due(&pod, &st);
                let until = probe_at.map_or(deadline, |p| p.min(deadline));
                tokio::select! {
                    r = rx.changed() => {
                        if r.is_err() { return; }
                        break;
                    }
                    _ = wake.notified() => break,
                    _ = tokio::time::sleep_until(until) => {
                        if until >= deadline { break; }
                        if prober.run_due(&pod, &mut st, &self.syncer).await { break; }
                    }
                }
            }
        }
    }

    /// Confirms a graceful deletion to the apiserver: the pod object goes.
    async fn finish(&self, pod: &Pod) {
        let Some(client) = &self.syncer.client else {
            return;
        };
        if pod.metadata.deletion_timestamp.is_none() || pod.metadata.name.is_empty() {
            return;
        }
        let api: Api<Pod> = Api::namespaced(client.clone(), &pod.metadata.namespace);
        let opts = DeleteOptions {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(pod.metadata.uid.clone()),
                resource_version: None,
            }),
            ..Default::default()
        };
        match api.delete(&pod.metadata.name, &opts).await {
            Ok(()) => info!(pod = %pod.metadata.key(), "pod deleted"),
            Err(e) if e.is_not_found() || e.is_conflict() => {}
            Err(e) => {
                warn!(pod = %pod.metadata.key(), error = %e, "confirming the deletion failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap_or_default()
    }

    #[test]
    fn status_echoes_do_not_need_a_sync() {
        let base = serde_json::json!({
            "metadata": {"name": "p", "uid": "u", "resourceVersion": "5", "labels": {"a": "1"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        });
        let old = pod(base.clone());
        let mut echo = base.clone();
        echo["metadata"]["resourceVersion"] = "6".into();
        echo["status"] = serde_json::json!({"phase": "Running"});
        assert!(!needs_sync(&old, &pod(echo)));
        let mut relabelled = base.clone();
        relabelled["metadata"]["labels"]["a"] = "2".into();
        assert!(needs_sync(&old, &pod(relabelled)));
        let mut deleted = base.clone();
        deleted["metadata"]["deletionTimestamp"] = "2026-11-22T10:00:00Z".into();
        assert!(needs_sync(&old, &pod(deleted)));
        let mut gated = base.clone();
        gated["spec"]["readinessGates"] = serde_json::json!([{"conditionType": "example.com/lb"}]);
        let gated_old = pod(gated.clone());
        let mut gate_flip = gated.clone();
        gate_flip["status"] =
            serde_json::json!({"conditions": [{"type": "example.com/lb", "status": "True"}]});
        assert!(needs_sync(&gated_old, &pod(gate_flip)));
        let mut other_condition = gated;
        other_condition["status"] =
            serde_json::json!({"conditions": [{"type": "Ready", "status": "True"}]});
        assert!(!needs_sync(&gated_old, &pod(other_condition)));
        let mut respec = base;
        respec["spec"]["containers"][0]["image"] = "j".into();
        assert!(needs_sync(&old, &pod(respec)));
    }
}
