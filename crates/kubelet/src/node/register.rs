//! Registration: making the Node exist (upstream's `registerWithAPIServer`
//! and `tryRegisterWithAPIServer`).
//!
//! A kubelet POSTs its whole Node, status included. If a Node of that name
//! exists already (the kubelet restarted, the machine rebooted) it *adopts*
//! it rather than failing: it brings the labels, annotations and status up
//! to date and keeps the spec, which others own by now (the controller-
//! manager's `podCIDR`, an admin's cordon and taints).
//!
//! The apiserver may not be up yet when the kubelet starts (on a control
//! plane node it is one of the kubelet's own static pods), so registration
//! retries until it gets an answer: 100 ms, 200 ms ... up to 7 s apart.

use std::time::Duration;

use api_types::core::v1::Node;
use client::{Api, Patch, PatchParams, PostParams};
use serde_json::{Map, Value, json};

use super::error::{Error, Result};
use super::status::{NodeConfig, status_patch};

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(7);

/// Registers `node` (built by [`super::node_object`]): creates it, or
/// adopts the existing Node of that name. Returns the Node as stored,
/// whose `spec.podCIDR` is the one to configure pod networking with (it
/// may still be empty: [`super::NodeStatusReporter::pod_cidr`] tells when
/// it is set).
///
/// # Errors
/// Only for answers retrying cannot change (400 Bad Request, 422 Invalid:
/// a bad name, label or taint). Unreachable or failing apiservers, and
/// refusals an admin can fix (403), are retried forever, as upstream does;
/// wrap the call in a timeout or a `select!` with shutdown to stop sooner.
pub async fn register(nodes: &Api<Node>, cfg: &NodeConfig, node: &Node) -> Result<Node> {
    let name = node.metadata.name.as_str();
    let mut backoff = FIRST_BACKOFF;
    loop {
        match try_register(nodes, cfg, node).await {
            Ok(registered) => return Ok(registered),
            Err(e) if matches!(e.code(), Some(400 | 422)) => {
                return Err(Error::Register {
                    node: name.to_string(),
                    source: e,
                });
            }
            Err(e) => {
                tracing::warn!(node = %name, error = %e, retry_in = ?backoff, "cannot register the node");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

async fn try_register(nodes: &Api<Node>, cfg: &NodeConfig, node: &Node) -> client::Result<Node> {
    let name = node.metadata.name.as_str();
    match nodes.create(&PostParams::default(), node).await {
        Ok(created) => {
            tracing::info!(node = %name, "registered the node");
            Ok(created)
        }
        Err(e) if e.is_already_exists() => {
            let existing = nodes.get(name).await?;
            tracing::info!(node = %name, uid = %existing.metadata.uid, "node was registered before; adopting it");
            adopt(nodes, cfg, node, &existing).await
        }
        Err(e) => Err(e),
    }
}

/// Brings an existing Node up to date with `ours`: a merge patch of the
/// metadata (and of `spec.podCIDR` if it has none and we were given one),
/// then a strategic merge patch of the status.
async fn adopt(
    nodes: &Api<Node>,
    cfg: &NodeConfig,
    ours: &Node,
    existing: &Node,
) -> client::Result<Node> {
    let name = ours.metadata.name.as_str();
    if let Some(patch) = adopt_patch(cfg, ours, existing) {
        nodes
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await?;
    }
    let mut status = ours.status.clone().unwrap_or_default();
    // keep the stored transition times of conditions that did not change
    let stored = existing
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    for c in status.conditions.iter_mut().flatten() {
        if let Some(old) = stored
            .iter()
            .find(|o| o.type_ == c.type_ && o.status == c.status)
        {
            c.last_transition_time = old.last_transition_time.or(c.last_transition_time);
        }
    }
    nodes
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Strategic(status_patch(&status)),
        )
        .await
}

/// The merge patch that takes over `existing`, or `None` when it is up to
/// date: our labels and annotations (others' stay), and our pod CIDR if it
/// has none. A pod CIDR it has wins: it cannot change, and pods on the node
/// already have addresses from it.
pub fn adopt_patch(cfg: &NodeConfig, ours: &Node, existing: &Node) -> Option<Value> {
    let differing = |mine: &std::collections::BTreeMap<String, String>,
                     theirs: &std::collections::BTreeMap<String, String>| {
        mine.iter()
            .filter(|(k, v)| theirs.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<Map<String, Value>>()
    };
    let labels = differing(&ours.metadata.labels, &existing.metadata.labels);
    let annotations = differing(&ours.metadata.annotations, &existing.metadata.annotations);
    let existing_cidr = existing
        .spec
        .as_ref()
        .and_then(|s| s.pod_cidr.as_deref())
        .filter(|c| !c.is_empty());
    let mut patch = json!({});
    if !labels.is_empty() {
        patch["metadata"]["labels"] = Value::Object(labels);
    }
    if !annotations.is_empty() {
        patch["metadata"]["annotations"] = Value::Object(annotations);
    }
    match (existing_cidr, cfg.pod_cidr.as_deref()) {
        (None, Some(ours)) => {
            patch["spec"] = json!({ "podCIDR": ours, "podCIDRs": [ours] });
        }
        (Some(theirs), Some(ours)) if theirs != ours => {
            tracing::warn!(
                node = %cfg.name,
                stored = %theirs,
                configured = %ours,
                "the node already has another pod CIDR; using the stored one"
            );
        }
        _ => {}
    }
    (patch != json!({})).then_some(patch)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use api_types::core::v1::NodeSpec;

    use super::*;

    fn node(labels: &[(&str, &str)], cidr: Option<&str>) -> Node {
        let mut n = Node::default();
        n.metadata.name = "n".into();
        n.metadata.labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        n.spec = Some(NodeSpec {
            pod_cidr: cidr.map(str::to_string),
            ..NodeSpec::default()
        });
        n
    }

    #[test]
    fn adopting_patches_only_what_differs() {
        let cfg = NodeConfig::new("n");
        let ours = node(&[("a", "1"), ("b", "2")], None);
        let existing = node(&[("a", "1"), ("b", "old"), ("theirs", "x")], None);
        let p = adopt_patch(&cfg, &ours, &existing).unwrap();
        assert_eq!(p, json!({ "metadata": { "labels": { "b": "2" } } }));
        assert_eq!(adopt_patch(&cfg, &ours, &ours), None);
    }

    #[test]
    fn an_existing_pod_cidr_wins() {
        let mut cfg = NodeConfig::new("n");
        cfg.pod_cidr = Some("10.0.1.0/24".into());
        let ours = node(&[], Some("10.0.1.0/24"));
        let bare = node(&[], None);
        let p = adopt_patch(&cfg, &ours, &bare).unwrap();
        assert_eq!(p["spec"]["podCIDR"], "10.0.1.0/24");
        assert_eq!(p["spec"]["podCIDRs"], json!(["10.0.1.0/24"]));
        let assigned = node(&[], Some("10.0.9.0/24"));
        assert_eq!(adopt_patch(&cfg, &ours, &assigned), None);
        cfg.pod_cidr = None;
        assert_eq!(adopt_patch(&cfg, &ours, &bare), None);
    }
}
