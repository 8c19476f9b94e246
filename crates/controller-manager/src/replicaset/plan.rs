//! Decide: what a ReplicaSet (or ReplicationController) needs, as a pure
//! function of the cached objects (upstream: `manageReplicas` and
//! `calculateStatus` in `pkg/controller/replicaset`).
//!
//! From the owner and the pods of its namespace, [`plan`] works out:
//! - which pods it **controls** (a controller `ownerReference` with its UID);
//! - which orphans it **adopts** (no controller, labels match its selector)
//!   and which of its pods it **releases** (labels no longer match);
//! - how many pods to **create**, or which to **delete** when there are too
//!   many, in upstream's order of preference ([`deletion_order`]);
//! - the **status** counts: replicas, fullyLabeledReplicas, readyReplicas,
//!   availableReplicas.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use api_types::core::v1::Pod;
use api_types::labels::Selector;
use chrono::{DateTime, Utc};

/// Upstream's cap on creations or deletions in one sync.
pub const BURST_REPLICAS: usize = 500;

/// The owner, as the plan needs it.
#[derive(Clone, Debug)]
pub struct Owner<'a> {
    pub uid: &'a str,
    pub replicas: i32,
    pub min_ready_seconds: i32,
    pub selector: &'a Selector,
    pub template_labels: &'a BTreeMap<String, String>,
    /// Being deleted: adopts nothing.
    pub deleting: bool,
}

/// Status counts (the `status` of a ReplicaSet or ReplicationController).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub replicas: i32,
    pub fully_labeled: i32,
    pub ready: i32,
    pub available: i32,
}

/// What one sync should do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Pods (names) to adopt and to release.
    pub adopt: Vec<String>,
    pub release: Vec<String>,
    /// How many pods to create.
    pub create: usize,
    /// Pods (names) to delete, in order.
    pub delete: Vec<String>,
    pub counts: Counts,
}

fn is_controlled_by(pod: &Pod, uid: &str) -> bool {
    pod.metadata.controller_ref().is_some_and(|r| r.uid == uid)
}

/// Not finished and not being deleted (upstream: `IsPodActive`).
pub fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    pod.metadata.deletion_timestamp.is_none() && !matches!(phase, Some("Succeeded" | "Failed"))
}

/// When the pod became Ready, if it is.
fn ready_since(pod: &Pod) -> Option<Option<DateTime<Utc>>> {
    let c = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == "True")?;
    Some(c.last_transition_time.map(|t| t.0))
}

fn phase_rank(pod: &Pod) -> u8 {
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Pending") | None => 0,
        Some("Running") => 2,
        _ => 1, // Unknown
    }
}

fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |cs| {
            cs.iter().map(|c| c.restart_count).max().unwrap_or(0)
        })
}

/// Which of two pods goes first when scaling down (upstream's
/// `ActivePods` order): not yet on a node, then Pending before Unknown
/// before Running, not ready before ready, ready for less time, more
/// restarts, created later.
pub fn deletion_order(a: &Pod, b: &Pod) -> Ordering {
    let node = |p: &Pod| {
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty())
    };
    node(a)
        .cmp(&node(b))
        .then_with(|| phase_rank(a).cmp(&phase_rank(b)))
        .then_with(|| ready_since(a).is_some().cmp(&ready_since(b).is_some()))
        .then_with(
            || match (ready_since(a).flatten(), ready_since(b).flatten()) {
                // Ready more recently goes first.
                (Some(x), Some(y)) => y.cmp(&x),
                _ => Ordering::Equal,
            },
        )
        .then_with(|| restarts(b).cmp(&restarts(a)))
        .then_with(|| {
            let created = |p: &Pod| p.metadata.creation_timestamp.map(|t| t.0);
            created(b).cmp(&created(a))
        })
}

/// The plan for `owner` given the pods of its namespace.
pub fn plan(owner: &Owner, pods: &[Arc<Pod>], now: DateTime<Utc>) -> Plan {
    let mut out = Plan::default();
    let mut mine: Vec<&Pod> = Vec::new();
    for pod in pods {
        let matches = owner.selector.matches(&pod.metadata.labels);
        if is_controlled_by(pod, owner.uid) {
            if matches {
                mine.push(pod);
            } else {
                out.release.push(pod.metadata.name.clone());
            }
        } else if matches
            && pod.metadata.controller_ref().is_none()
            && pod.metadata.deletion_timestamp.is_none()
            && !owner.deleting
        {
            out.adopt.push(pod.metadata.name.clone());
            mine.push(pod);
        }
    }
    let mut active: Vec<&Pod> = mine.into_iter().filter(|p| is_active(p)).collect();
    let want = usize::try_from(owner.replicas.max(0)).unwrap_or(0);
    if active.len() < want {
        out.create = (want - active.len()).min(BURST_REPLICAS);
    } else if active.len() > want {
        let n = (active.len() - want).min(BURST_REPLICAS);
        active.sort_by(|a, b| deletion_order(a, b));
        out.delete = active[..n]
            .iter()
            .map(|p| p.metadata.name.clone())
            .collect();
    }
    let min_ready = chrono::Duration::seconds(i64::from(owner.min_ready_seconds.max(0)));
    for p in &active {
        out.counts.replicas += 1;
        if owner
            .template_labels
            .iter()
            .all(|(k, v)| p.metadata.labels.get(k) == Some(v))
        {
            out.counts.fully_labeled += 1;
        }
        if let Some(since) = ready_since(p) {
            out.counts.ready += 1;
            let available =
                owner.min_ready_seconds <= 0 || since.is_some_and(|t| t + min_ready <= now);
            if available {
                out.counts.available += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
