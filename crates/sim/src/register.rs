//! Node registration (the kubelet's `registerWithAPIServer`) and removal.
//!
//! A kubelet POSTs its Node with the full status; if the Node exists
//! already (the machine rebooted, the kubelet restarted) it takes it over.
//! The simulator does the same, then creates the node's Lease, so that a
//! node is never seen without a heartbeat.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use api_types::coordination::v1::Lease;
use api_types::core::v1::Node;
use api_types::meta::v1::{DeleteOptions, MicroTime, Time};
use client::{Api, Client, Patch, PatchParams, PostParams};
use futures::StreamExt;
use serde_json::json;

use crate::config::{NodePlan, SimConfig};
use crate::error::{Error, Result};
use crate::ipam::PodIpam;
use crate::node::{
    NODE_LEASE_NAMESPACE, adopt_patch, lease_object, lease_renew_patch, node_object, node_status,
    pod_cidr_of, status_patch,
};
use crate::simulator::{Shared, SimNode};

/// Tries `f` up to 5 times while it fails with a transient error
/// (apiserver unreachable, overloaded), waiting 100 ms, 200 ms, ...
pub(crate) async fn with_retries<T, F, Fut>(mut f: F) -> client::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = client::Result<T>>,
{
    let mut wait = Duration::from_millis(100);
    let mut tries = 1;
    loop {
        match f().await {
            Err(e) if e.is_transient() && tries < 5 => {
                tracing::debug!(error = %e, ?wait, "transient error; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
                tries += 1;
            }
            other => return other,
        }
    }
}

/// Registers one node (creating or adopting its Node) and its Lease;
/// `true` when the Node existed already.
pub(crate) async fn register(
    client: &Client,
    cfg: &SimConfig,
    plan: &NodePlan,
    boot: &str,
) -> Result<(SimNode, bool)> {
    let fail = |source| Error::Register {
        node: plan.name.clone(),
        source,
    };
    let nodes: Api<Node> = Api::all(client.clone());
    let pp = PostParams::default();
    let now = Time::now();
    let obj = node_object(cfg, plan, boot, now);
    let (node, adopted) = match with_retries(|| nodes.create(&pp, &obj)).await {
        Ok(node) => (node, false),
        Err(e) if e.is_already_exists() => {
            (adopt(&nodes, cfg, plan, boot).await.map_err(fail)?, true)
        }
        Err(e) => return Err(fail(e)),
    };
    let cidr = pod_cidr_of(&node).unwrap_or(plan.pod_cidr);
    let transitions: BTreeMap<String, Time> = node
        .status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .filter_map(|c| Some((c.type_.clone(), c.last_transition_time?)))
        .collect();
    ensure_lease(client, cfg, &node).await.map_err(fail)?;
    tracing::debug!(node = %plan.name, adopted, pod_cidr = %cidr, "registered");
    let sim = SimNode::new(
        plan.name.clone(),
        node.metadata.uid.clone(),
        plan.internal_ip,
        PodIpam::new(cidr),
        transitions,
    );
    Ok((sim, adopted))
}

/// Takes over an existing Node: our labels (and pod range if it has none),
/// then our whole status.
async fn adopt(
    nodes: &Api<Node>,
    cfg: &SimConfig,
    plan: &NodePlan,
    boot: &str,
) -> client::Result<Node> {
    let existing = with_retries(|| nodes.get(&plan.name)).await?;
    let pp = PatchParams::default();
    let patch = Patch::Merge(adopt_patch(cfg, plan, &existing));
    with_retries(|| nodes.patch(&plan.name, &pp, &patch)).await?;
    let status = Patch::Merge(status_patch(&node_status(cfg, plan, boot, Time::now())));
    with_retries(|| nodes.patch_status(&plan.name, &pp, &status)).await
}

/// Creates the node's Lease, or renews it (and takes it over: the Node may
/// be a new object with a new uid) if it exists.
async fn ensure_lease(client: &Client, cfg: &SimConfig, node: &Node) -> client::Result<()> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), NODE_LEASE_NAMESPACE);
    let name = &node.metadata.name;
    let now = MicroTime::now();
    let lease = lease_object(name, &node.metadata.uid, cfg.lease_duration_seconds, now);
    let pp = PostParams::default();
    match with_retries(|| leases.create(&pp, &lease)).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_already_exists() => {
            let mut patch = lease_renew_patch(name, cfg.lease_duration_seconds, now);
            patch["metadata"] = json!({ "ownerReferences": lease.metadata.owner_references });
            let (patch, pp) = (Patch::Merge(patch), PatchParams::default());
            with_retries(|| leases.patch(name, &pp, &patch))
                .await
                .map(drop)
        }
        Err(e) => Err(e),
    }
}

/// Deletes every node's Lease and Node, `concurrency` at a time.
pub(crate) async fn unregister_all(shared: &Shared) -> Result<()> {
    let nodes: Api<Node> = Api::all(shared.client.clone());
    let leases: Api<Lease> = Api::namespaced(shared.client.clone(), NODE_LEASE_NAMESPACE);
    let opts = DeleteOptions::default();
    let results: Vec<Result<()>> = futures::stream::iter(&shared.nodes)
        .map(|n| {
            let (nodes, leases, opts) = (&nodes, &leases, &opts);
            async move {
                let gone = |r: client::Result<()>| match r {
                    Err(e) if !e.is_not_found() => Err(Error::Delete {
                        node: n.name.clone(),
                        source: e,
                    }),
                    _ => Ok(()),
                };
                gone(with_retries(|| leases.delete(&n.name, opts)).await)?;
                gone(with_retries(|| nodes.delete(&n.name, opts)).await)
            }
        })
        .buffer_unordered(shared.config.concurrency)
        .collect()
        .await;
    let deleted = results.iter().filter(|r| r.is_ok()).count();
    tracing::info!(deleted, "deleted simulated nodes");
    results.into_iter().collect()
}
