//! The InterPodAffinity score (preferred terms, both directions).

use std::collections::BTreeMap;

use super::{HARD_POD_AFFINITY_WEIGHT, namespaces_of};
use crate::framework::affinity_terms::{AffinityTerm, PodAffinityTerms};
use crate::framework::cluster_state::ClusterState;
use crate::framework::plugins::normalize::MAX_NODE_SCORE;
use crate::framework::plugins::{FeasibleNode, PluginScores};
use crate::framework::topology::TopologyCounts;

/// The score; skipped when neither the pod nor any placed pod has pod affinity.
pub(crate) fn score(
    cluster: &ClusterState,
    namespace: &str,
    labels: &BTreeMap<String, String>,
    terms: &PodAffinityTerms,
    nodes: &[FeasibleNode<'_>],
) -> PluginScores {
    let has_preferred =
        !terms.preferred_affinity.is_empty() || !terms.preferred_anti_affinity.is_empty();
    if !has_preferred && !cluster.has_affinity_pods() {
        return None;
    }
    // Per topology domain, the sum of the weights (upstream's `scoreMap`).
    let mut topology = TopologyCounts::new(cluster.topology(), cluster.slot_capacity());

    // The incoming pod's preferred terms against the placed pods.
    if has_preferred {
        let namespaces = namespaces_of(
            terms
                .preferred_affinity
                .iter()
                .chain(&terms.preferred_anti_affinity)
                .map(|w| &w.term),
        );
        let mut hits: Vec<(&AffinityTerm, i64)> = Vec::new();
        for group in cluster.groups_in(namespaces.as_ref()) {
            let ns = group.key.namespace.as_str();
            let ns_labels = cluster.namespace_labels(ns);
            hits.clear();
            for (list, sign) in [
                (&terms.preferred_affinity, 1),
                (&terms.preferred_anti_affinity, -1),
            ] {
                hits.extend(
                    list.iter()
                        .filter(|w| w.term.matches(ns, &group.key.labels, ns_labels))
                        .map(|w| (&w.term, sign * w.weight)),
                );
            }
            if hits.is_empty() {
                continue;
            }
            for (&slot, &count) in &group.per_node {
                let Some(node) = cluster.live(slot) else {
                    continue;
                };
                for &(term, weight) in &hits {
                    topology.add(&term.topology_key, slot, node, weight * i64::from(count));
                }
            }
        }
    }

    // The placed pods' terms against the incoming pod.
    let own_ns_labels = cluster.namespace_labels(namespace);
    for (slot, node) in cluster.nodes_with_affinity() {
        for placed in node.pods().values() {
            let Some(placed_terms) = placed.affinity() else {
                continue;
            };
            for t in &placed_terms.required_affinity {
                if t.matches(namespace, labels, own_ns_labels) {
                    topology.add(&t.topology_key, slot, node, HARD_POD_AFFINITY_WEIGHT);
                }
            }
            for (list, sign) in [
                (&placed_terms.preferred_affinity, 1),
                (&placed_terms.preferred_anti_affinity, -1),
            ] {
                for w in list {
                    if w.term.matches(namespace, labels, own_ns_labels) {
                        topology.add(&w.term.topology_key, slot, node, sign * w.weight);
                    }
                }
            }
        }
    }

    let keys: Vec<&str> = topology.keys().collect();
    let mut scores: Vec<i64> = nodes
        .iter()
        .map(|n| keys.iter().map(|k| topology.get(k, n.slot, n.info)).sum())
        .collect();
    if !topology.is_empty() {
        normalize_min_max(&mut scores);
    }
    Some(scores)
}

/// Upstream's InterPodAffinity `NormalizeScore`: the lowest raw score
/// becomes 0 and the highest 100 (all 0 when they are equal).
fn normalize_min_max(scores: &mut [i64]) {
    let (Some(&min), Some(&max)) = (scores.iter().min(), scores.iter().max()) else {
        return;
    };
    let spread = max.saturating_sub(min);
    for s in scores.iter_mut() {
        *s = if spread > 0 {
            (MAX_NODE_SCORE as f64 * ((*s - min) as f64 / spread as f64)) as i64
        } else {
            0
        };
    }
}
