//! Decide: the pure parts of emptying a namespace (upstream:
//! `pkg/controller/namespace/deletion`): how long to wait for pods, what a
//! kind left behind, the status conditions, the `finalize` request.

use std::collections::BTreeMap;
use std::time::Duration;

use api_types::core::v1::{Namespace, NamespaceCondition, NamespaceSpec, NamespaceStatus, Pod};
use api_types::meta::v1::{ObjectMeta, Time};
use chrono::{DateTime, Utc};

use crate::resources::KindInfo;

/// The finalizer this controller owns (in `spec.finalizers`).
pub const FINALIZER_KUBERNETES: &str = "kubernetes";

/// How long to wait for objects that still have finalizers (upstream's
/// `finalizerEstimateSeconds`).
pub const FINALIZER_ESTIMATE_SECONDS: i64 = 15;

/// What deleting the objects of one kind left behind (upstream's
/// `gvrDeletionMetadata`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KindResult {
    /// Seconds to wait before looking again; 0: no reason to wait (which
    /// does not mean nothing is left).
    pub estimate: i64,
    pub remaining: usize,
    /// How many remaining objects carry each finalizer.
    pub finalizers: BTreeMap<String, usize>,
}

/// The longest grace period of the namespace's pods that are not finished,
/// or 0 once that long has passed since the namespace's deletion began
/// (upstream's `estimateGracefulTermination`).
pub fn pod_estimate(pods: &[Pod], deleted_at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let estimate = pods
        .iter()
        .filter(|p| {
            !matches!(
                p.status.as_ref().and_then(|s| s.phase.as_deref()),
                Some("Succeeded" | "Failed")
            )
        })
        .filter_map(|p| p.spec.as_ref()?.termination_grace_period_seconds)
        .max()
        .unwrap_or(0)
        .max(0);
    // A grace period beyond chrono's range has not passed.
    if chrono::Duration::try_seconds(estimate).is_some_and(|e| now - deleted_at >= e) {
        0
    } else {
        estimate
    }
}

/// After a kind's delete-collection: what is left (`remaining`, listed
/// again) and whether that is normal. Objects held by finalizers are
/// normal; objects left for no reason are an error, unless pods are still
/// within their grace period (upstream's
/// `deleteAllContentForGroupVersionResource`).
pub fn after_delete(
    kind: KindInfo,
    namespace: &str,
    estimate: i64,
    remaining: &[ObjectMeta],
) -> (KindResult, Option<String>) {
    if remaining.is_empty() {
        return (KindResult::default(), None);
    }
    let mut finalizers = BTreeMap::new();
    for f in remaining.iter().flat_map(|m| &m.finalizers) {
        *finalizers.entry(f.clone()).or_insert(0) += 1;
    }
    let result = |estimate| KindResult {
        estimate,
        remaining: remaining.len(),
        finalizers: finalizers.clone(),
    };
    if estimate != 0 {
        return (result(estimate), None);
    }
    if !finalizers.is_empty() {
        return (result(FINALIZER_ESTIMATE_SECONDS), None);
    }
    (
        KindResult {
            estimate,
            remaining: remaining.len(),
            finalizers: BTreeMap::new(),
        },
        Some(format!(
            "unexpected items still remain in namespace: {namespace} for gvr: {}",
            kind.gvr()
        )),
    )
}

/// What is left across kinds (upstream's `allGVRDeletionMetadata`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// `resource.group` (`pods.`, `replicasets.apps`) → count.
    pub remaining: BTreeMap<String, usize>,
    pub finalizers: BTreeMap<String, usize>,
}

impl Totals {
    pub fn add(&mut self, kind: KindInfo, r: &KindResult) {
        if r.remaining == 0 {
            return;
        }
        *self
            .remaining
            .entry(format!("{}.{}", kind.resource, kind.group))
            .or_insert(0) += r.remaining;
        for (f, n) in &r.finalizers {
            *self.finalizers.entry(f.clone()).or_insert(0) += n;
        }
    }
}

/// The condition types this controller maintains, in upstream's order,
/// with the reason and message of their "all is well" (`False`) variant.
const CONDITIONS: [(&str, &str, &str); 5] = [
    (
        "NamespaceDeletionDiscoveryFailure",
        "ResourcesDiscovered",
        "All resources successfully discovered",
    ),
    (
        "NamespaceDeletionGroupVersionParsingFailure",
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed",
    ),
    (
        "NamespaceDeletionContentFailure",
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
    ),
    (
        "NamespaceContentRemaining",
        "ContentRemoved",
        "All content successfully removed",
    ),
    (
        "NamespaceFinalizersRemaining",
        "ContentHasNoFinalizers",
        "All content-preserving finalizers finished",
    ),
];

/// Collects what went wrong in one sync, then writes it into the status
/// (upstream's `namespaceConditionUpdater`).
#[derive(Clone, Debug, Default)]
pub struct Conditions {
    failing: Vec<(String, String, String)>,
    delete_errors: Vec<String>,
}

impl Conditions {
    /// Remaining content and finalizers, as `True` conditions.
    pub fn content_totals(&mut self, t: &Totals) {
        if !t.remaining.is_empty() {
            let mut parts: Vec<String> = t
                .remaining
                .iter()
                .map(|(r, n)| format!("{r} has {n} resource instances"))
                .collect();
            parts.sort();
            self.failing.push((
                "NamespaceContentRemaining".into(),
                "SomeResourcesRemain".into(),
                format!("Some resources are remaining: {}", parts.join(", ")),
            ));
        }
        if !t.finalizers.is_empty() {
            let mut parts: Vec<String> = t
                .finalizers
                .iter()
                .map(|(f, n)| format!("{f} in {n} resource instances"))
                .collect();
            parts.sort();
            self.failing.push((
                "NamespaceFinalizersRemaining".into(),
                "SomeFinalizersRemain".into(),
                format!(
                    "Some content in the namespace has finalizers remaining: {}",
                    parts.join(", ")
                ),
            ));
        }
    }

    /// A kind whose content could not be deleted.
    pub fn delete_error(&mut self, e: String) {
        self.delete_errors.push(e);
    }

    /// Writes the conditions into `status`; whether anything changed. Each
    /// maintained type is set: to its failure if one was recorded, else to
    /// its "all is well" variant. The transition time moves only when the
    /// status does.
    pub fn update(mut self, status: &mut NamespaceStatus, now: Time) -> bool {
        if !self.delete_errors.is_empty() {
            let mut msgs = self.delete_errors.clone();
            msgs.sort();
            self.failing.push((
                "NamespaceDeletionContentFailure".into(),
                "ContentDeletionFailed".into(),
                format!(
                    "Failed to delete all resource types, {} remaining: {}",
                    msgs.len(),
                    msgs.join(", ")
                ),
            ));
        }
        let conditions = status.conditions.get_or_insert_with(Vec::new);
        let mut changed = false;
        for (type_, ok_reason, ok_message) in CONDITIONS {
            let (state, reason, message) = match self.failing.iter().find(|(t, _, _)| t == type_) {
                Some((_, r, m)) => ("True", r.as_str(), m.as_str()),
                None => ("False", ok_reason, ok_message),
            };
            match conditions.iter_mut().find(|c| c.type_ == type_) {
                None => {
                    conditions.push(NamespaceCondition {
                        type_: type_.into(),
                        status: state.into(),
                        last_transition_time: Some(now),
                        reason: Some(reason.into()),
                        message: Some(message.into()),
                    });
                    changed = true;
                }
                Some(c) => {
                    if c.status != state
                        || c.reason.as_deref() != Some(reason)
                        || c.message.as_deref() != Some(message)
                    {
                        if c.status != state {
                            c.last_transition_time = Some(now);
                        }
                        state.clone_into(&mut c.status);
                        c.reason = Some(reason.into());
                        c.message = Some(message.into());
                        changed = true;
                    }
                }
            }
        }
        changed
    }
}

/// The body of `PUT namespaces/<name>/finalize`: the namespace with
/// `kubernetes` taken out of `spec.finalizers` (the rest sorted, as
/// upstream's set).
pub fn finalize_request(ns: &Namespace) -> Namespace {
    let mut rest: Vec<String> = ns
        .spec
        .as_ref()
        .and_then(|s| s.finalizers.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f != FINALIZER_KUBERNETES)
        .collect();
    rest.sort();
    rest.dedup();
    Namespace {
        metadata: ns.metadata.clone(),
        spec: Some(NamespaceSpec {
            finalizers: Some(rest),
        }),
        ..Namespace::default()
    }
}

/// Whether `spec.finalizers` is empty: nothing left for any namespace
/// controller to do.
pub fn finalized(ns: &Namespace) -> bool {
    ns.spec
        .as_ref()
        .and_then(|s| s.finalizers.as_ref())
        .is_none_or(Vec::is_empty)
}

/// When to look again at a namespace with content left (upstream: half
/// the estimate, plus one second).
pub fn requeue_after(estimate: i64) -> Duration {
    // At most an hour: a pod may ask for an absurd grace period.
    Duration::from_secs(u64::try_from(estimate / 2 + 1).unwrap_or(1).min(3600))
}

#[cfg(test)]
mod tests;
