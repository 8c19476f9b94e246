//! The two heartbeats of a node, as kubelets have sent them since
//! upstream's NodeLease feature (GA in 1.17):
//!
//! - **the Lease** (`kube-node-lease/<node>`), renewed every 10 s: a tiny
//!   object, cheap to write, which is what the node lifecycle controller
//!   watches to decide that a node is alive;
//! - **the Node's status** (`nodes/<node>/status`), whose big object used
//!   to be rewritten every 10 s. Kubelets now write it only when something
//!   changed, or every `nodeStatusReportFrequency` (5 min) otherwise. The
//!   simulator refreshes the conditions' `lastHeartbeatTime` every
//!   `node_status_interval` (1 min by default) so that `kubectl describe
//!   node` shows a live node, at a fraction of the old cost.
//!
//! A failed write is logged and counted; the next round tries again. The
//! Lease lasts 40 s, so three missed renewals in a row go unnoticed.

use std::sync::Arc;

use api_types::coordination::v1::Lease;
use api_types::core::v1::Node;
use api_types::meta::v1::{MicroTime, Time};
use client::{Api, Patch, PatchParams, PostParams};

use crate::ack::Ack;
use crate::node::{
    NODE_LEASE_NAMESPACE, heartbeat_patch, lease_object, lease_renew_patch, moved_transitions,
    transition_patch,
};
use crate::simulator::{Shared, Stats};

/// Renews node `i`'s Lease (recreating it if someone deleted it).
pub(crate) async fn renew_lease(shared: Arc<Shared>, i: usize) {
    let Some(node) = shared.nodes.get(i).filter(|n| !n.paused()) else {
        return;
    };
    let leases: Api<Ack<Lease>> = Api::namespaced(shared.client.clone(), NODE_LEASE_NAMESPACE);
    let duration = shared.config.lease_duration_seconds;
    let now = MicroTime::now();
    let patch = Patch::Merge(lease_renew_patch(&node.name, duration, now));
    let result = match leases
        .patch(&node.name, &PatchParams::default(), &patch)
        .await
    {
        Err(e) if e.is_not_found() => {
            let leases: Api<Lease> = Api::namespaced(shared.client.clone(), NODE_LEASE_NAMESPACE);
            let lease = lease_object(&node.name, &node.uid, duration, now);
            leases
                .create(&PostParams::default(), &lease)
                .await
                .map(drop)
        }
        other => other.map(drop),
    };
    match result {
        Ok(_) => Stats::inc(&shared.stats.lease_renewals),
        Err(e) => {
            Stats::inc(&shared.stats.lease_errors);
            tracing::warn!(node = %node.name, error = %e, "cannot renew the node lease");
        }
    }
}

/// Refreshes node `i`'s conditions through `nodes/status`.
pub(crate) async fn report_status(shared: Arc<Shared>, i: usize) {
    let Some(node) = shared.nodes.get(i).filter(|n| !n.paused()) else {
        return;
    };
    let nodes: Api<Node> = Api::all(shared.client.clone());
    let pp = PatchParams::default();
    let now = Time::now();
    let result = nodes
        .patch_status(&node.name, &pp, &Patch::Strategic(heartbeat_patch(now)))
        .await;
    let stored = match result {
        Ok(n) => n,
        Err(e) => {
            Stats::inc(&shared.stats.status_errors);
            tracing::warn!(node = %node.name, error = %e, "cannot update the node status");
            return;
        }
    };
    Stats::inc(&shared.stats.status_updates);
    let moved = moved_transitions(&stored, &node.transitions());
    if moved.is_empty() {
        return;
    }
    // Someone else changed a condition since our last write (typically
    // Ready=Unknown after missed heartbeats): our write was a transition.
    tracing::info!(node = %node.name, conditions = ?moved, "conditions back to normal");
    let fix = Patch::Strategic(transition_patch(&moved, now));
    match nodes.patch_status(&node.name, &pp, &fix).await {
        Ok(_) => {
            let mut ours = node.transitions();
            for t in moved {
                ours.insert(t.to_string(), now);
            }
        }
        Err(e) => {
            Stats::inc(&shared.stats.status_errors);
            tracing::warn!(node = %node.name, error = %e, "cannot update the node status");
        }
    }
}
