//! InterPodAffinity: place pods near, or away from, other pods.
//!
//! A term names pods (label selector + namespaces) and a topology key; two
//! nodes are "near" when they carry the same value for that key (the same
//! `kubernetes.io/hostname`, the same `topology.kubernetes.io/zone`).
//!
//! - **Filter** (`filter.rs`), in this order, first failure wins:
//!   1. every required affinity term of the pod has a matching pod in the
//!      node's domain (`node(s) didn't match pod affinity rules`); a node
//!      without the term's topology label fails too. Upstream's special
//!      case: if *no* pod in the cluster matches the terms and the pod
//!      matches all of its own terms, any node with the labels passes, so
//!      the first replica of a self-affine workload can start.
//!   2. no required anti-affinity term of the pod has a matching pod in the
//!      node's domain (`node(s) didn't match pod anti-affinity rules`).
//!   3. no placed pod has a required anti-affinity term that matches the
//!      incoming pod and covers this node's domain (`node(s) didn't satisfy
//!      existing pods anti-affinity rules`).
//! - **Score** (`score.rs`, weight 2): per topology domain, + the weight of
//!   each preferred affinity term of the pod per matching pod there, − for
//!   preferred anti-affinity; likewise for the placed pods' preferred terms
//!   that match the incoming pod, and +1 per placed pod whose *required*
//!   affinity matches it (upstream's `hardPodAffinityWeight`). A node's raw
//!   score is the sum over its domains, then scaled min-max to 0..100.
//!
//! # Cost
//! Nothing here runs for a pod without pod affinity unless some placed pod
//! has affinity: the cache keeps the set of nodes hosting such pods.
//! Matching pods are counted per group (see `pod_groups.rs`), not
//! per pod.

mod filter;
mod score;

use std::collections::BTreeSet;

pub(crate) use filter::AffinityFilter;
pub(crate) use score::score;

use crate::framework::affinity_terms::AffinityTerm;

/// The pod's required affinity is not satisfied.
pub const ERR_REASON_AFFINITY_RULES_NOT_MATCH: &str = "node(s) didn't match pod affinity rules";
/// The pod's required anti-affinity is violated.
pub const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't match pod anti-affinity rules";
/// A placed pod's required anti-affinity forbids the incoming pod here.
pub const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";

/// What a placed pod's *required* affinity term matching the incoming pod
/// adds to the score (upstream's default `hardPodAffinityWeight`).
pub const HARD_POD_AFFINITY_WEIGHT: i64 = 1;

/// The namespaces whose pods `terms` can match, or `None` when a
/// namespace selector makes that any namespace.
fn namespaces_of<'a>(
    mut terms: impl Iterator<Item = &'a AffinityTerm>,
) -> Option<BTreeSet<&'a str>> {
    let mut set = BTreeSet::new();
    let bounded = terms.all(|t| {
        set.extend(t.namespaces.iter().map(String::as_str));
        !t.selects_namespaces()
    });
    bounded.then_some(set)
}

#[cfg(test)]
mod tests;
