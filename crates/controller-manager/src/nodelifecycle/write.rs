//! Act: the writes both controllers make.
//!
//! Taints and conditions are written with the `resourceVersion` the
//! decision was made from, so a write based on a stale copy fails with a
//! conflict instead of undoing someone else's change (a kubelet's
//! heartbeat, another taint); the caller then decides again from a fresh
//! copy, as upstream's read-modify-write loops do.

use std::time::Duration;

use api_types::core::v1::{Node, Pod, Taint};
use api_types::meta::v1::{DeleteOptions, Preconditions, Time};
use client::{Api, Patch, PatchParams};
use serde_json::{Value, json};

/// Attempts at a write that keeps conflicting (upstream's
/// `NodeHealthUpdateRetry` and taint-update retries).
pub const ATTEMPTS: usize = 5;
/// Pause between attempts.
pub const RETRY_SLEEP: Duration = Duration::from_millis(20);

/// Makes the node's taints what `change` says, given the node (`None`:
/// nothing to change). Re-reads the node and decides again on a conflict.
/// `Ok(true)` when something was written; a node that is gone is
/// `Ok(false)`.
///
/// # Errors
/// The apiserver refused, or kept conflicting.
pub async fn update_taints(
    api: &Api<Node>,
    node: &Node,
    change: impl Fn(&Node) -> Option<Vec<Taint>>,
) -> Result<bool, client::Error> {
    let name = node.metadata.name.as_str();
    let mut fresh: Option<Node> = None;
    let mut attempt = 1;
    loop {
        let current = fresh.as_ref().unwrap_or(node);
        let Some(taints) = change(current) else {
            return Ok(false);
        };
        let patch = taints_patch(&current.metadata.resource_version, &taints);
        match api
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
        {
            Ok(_) => return Ok(true),
            Err(e) if e.is_not_found() => return Ok(false),
            Err(e) if e.is_conflict() && attempt < ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(RETRY_SLEEP).await;
                match api.get(name).await {
                    Ok(n) => fresh = Some(n),
                    Err(e) if e.is_not_found() => return Ok(false),
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// A merge patch setting `spec.taints` (removing the field when empty),
/// on condition that the node is still at `resource_version`.
pub fn taints_patch(resource_version: &str, taints: &[Taint]) -> Value {
    let taints = if taints.is_empty() {
        Value::Null
    } else {
        json!(taints)
    };
    json!({
        "metadata": {"resourceVersion": resource_version},
        "spec": {"taints": taints},
    })
}

/// A strategic merge patch of `pods/status` that sets the pod's Ready
/// condition to False as of `now` (reason and message stay), for the pod
/// with `uid` only.
pub fn not_ready_patch(uid: &str, now: Time) -> Value {
    json!({
        "metadata": {"uid": uid},
        "status": {"conditions": [
            {"type": "Ready", "status": "False", "lastTransitionTime": now}
        ]},
    })
}

/// Marks `pod` not Ready. A pod that is gone is fine.
///
/// # Errors
/// The apiserver refused.
pub async fn mark_pod_not_ready(
    api: &Api<Pod>,
    pod: &Pod,
    now: Time,
) -> Result<bool, client::Error> {
    let patch = not_ready_patch(&pod.metadata.uid, now);
    match api
        .patch_status(
            &pod.metadata.name,
            &PatchParams::default(),
            &Patch::Strategic(patch),
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() || e.is_conflict() || e.is_invalid() => Ok(false),
        Err(e) => Err(e),
    }
}

pub const DISRUPTION_REASON: &str = "DeletionByTaintManager";
pub const DISRUPTION_MESSAGE: &str = "Taint manager: deleting due to NoExecute taint";

/// Whether the pod already says why it is being deleted.
fn has_disruption_condition(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.type_ == "DisruptionTarget"
                    && c.status == "True"
                    && c.reason.as_deref() == Some(DISRUPTION_REASON)
            })
        })
}

/// Deletes a pod for a `NoExecute` taint, first saying so in its status
/// (condition `DisruptionTarget`, as upstream). A pod that is gone (or
/// replaced by another of the same name) is fine.
///
/// # Errors
/// The apiserver refused.
pub async fn evict(api: &Api<Pod>, pod: &Pod, now: Time) -> Result<(), client::Error> {
    let name = pod.metadata.name.as_str();
    let uid = pod.metadata.uid.as_str();
    if !has_disruption_condition(pod) {
        let patch = json!({
            "metadata": {"uid": uid},
            "status": {"conditions": [{
                "type": "DisruptionTarget",
                "status": "True",
                "reason": DISRUPTION_REASON,
                "message": DISRUPTION_MESSAGE,
                "lastTransitionTime": now,
            }]},
        });
        match api
            .patch_status(name, &PatchParams::default(), &Patch::Strategic(patch))
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_not_found() || e.is_conflict() || e.is_invalid() => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    let opts = DeleteOptions {
        preconditions: Some(Preconditions {
            uid: Some(uid.to_string()),
            resource_version: None,
        }),
        ..DeleteOptions::default()
    };
    match api.delete(name, &opts).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_not_found() || e.is_conflict() => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taint_patches_carry_the_version_and_drop_an_empty_list() {
        let p = taints_patch("42", &[]);
        assert_eq!(p["metadata"]["resourceVersion"], "42");
        assert!(p["spec"]["taints"].is_null());
        let t = Taint {
            key: "k".into(),
            effect: "NoExecute".into(),
            ..Taint::default()
        };
        let p = taints_patch("42", &[t]);
        assert_eq!(p["spec"]["taints"][0]["key"], "k");
        assert_eq!(p["spec"]["taints"][0]["effect"], "NoExecute");
    }

    #[test]
    fn the_not_ready_patch_only_touches_ready() {
        let now = Time::parse("2025-01-01T00:00:00Z").unwrap_or_else(|e| panic!("{e}"));
        let p = not_ready_patch("u1", now);
        assert_eq!(p["metadata"]["uid"], "u1");
        let c = &p["status"]["conditions"];
        assert_eq!(c.as_array().map(Vec::len), Some(1));
        assert_eq!(c[0]["type"], "Ready");
        assert_eq!(c[0]["status"], "False");
        assert_eq!(c[0]["lastTransitionTime"], "2025-01-01T00:00:00Z");
    }
}
