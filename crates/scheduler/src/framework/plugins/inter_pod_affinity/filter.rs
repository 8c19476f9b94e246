//! The InterPodAffinity filter: counts computed once per cycle, then a few
//! map lookups per node.

use std::collections::BTreeMap;

use super::{
    ERR_REASON_AFFINITY_RULES_NOT_MATCH, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH,
    ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH, namespaces_of,
};
use crate::framework::affinity_terms::{AffinityTerm, PodAffinityTerms};
use crate::framework::cluster_state::ClusterState;
use crate::framework::fit_error::Reasons;
use crate::framework::node_info::NodeInfo;
use crate::framework::topology::TopologyCounts;

/// Upstream's InterPodAffinity `preFilterState`.
#[derive(Debug)]
pub(crate) struct AffinityFilter<'a> {
    terms: &'a PodAffinityTerms,
    /// Pods matching *all* required affinity terms, per domain of each term.
    affinity: TopologyCounts<'a>,
    /// Pods matching each required anti-affinity term, per domain.
    anti_affinity: TopologyCounts<'a>,
    /// Placed pods whose required anti-affinity matches the incoming pod,
    /// per domain of the matching term.
    existing_anti_affinity: TopologyCounts<'a>,
    /// The topology keys in `existing_anti_affinity`.
    existing_keys: Vec<&'a str>,
    /// The incoming pod matches all of its own required affinity terms.
    matches_own_affinity: bool,
}

impl<'a> AffinityFilter<'a> {
    /// Counts what the filter needs; `None` when there is nothing to check
    /// (no required terms on the pod, no placed pod's anti-affinity against it).
    pub fn new(
        cluster: &'a ClusterState,
        namespace: &'a str,
        labels: &'a BTreeMap<String, String>,
        terms: &'a PodAffinityTerms,
    ) -> Option<Self> {
        let own_ns_labels = cluster.namespace_labels(namespace);
        let slots = cluster.slot_capacity();
        let counts = || TopologyCounts::new(cluster.topology(), slots);

        let mut existing_anti_affinity = counts();
        for (slot, node) in cluster.nodes_with_required_anti_affinity() {
            for placed in node.pods().values() {
                let Some(placed_terms) = placed.affinity() else {
                    continue;
                };
                for t in &placed_terms.required_anti_affinity {
                    if t.matches(namespace, labels, own_ns_labels) {
                        existing_anti_affinity.add(&t.topology_key, slot, node, 1);
                    }
                }
            }
        }

        let has_required =
            !terms.required_affinity.is_empty() || !terms.required_anti_affinity.is_empty();
        if !has_required && existing_anti_affinity.is_empty() {
            return None;
        }

        let mut affinity = counts();
        let mut anti_affinity = counts();
        if has_required {
            let namespaces = namespaces_of(
                terms
                    .required_affinity
                    .iter()
                    .chain(&terms.required_anti_affinity),
            );
            let mut anti_hits: Vec<&'a AffinityTerm> = Vec::new();
            for group in cluster.groups_in(namespaces.as_ref()) {
                let ns = group.key.namespace.as_str();
                let ns_labels = cluster.namespace_labels(ns);
                let matches_all = !terms.required_affinity.is_empty()
                    && terms
                        .required_affinity
                        .iter()
                        .all(|t| t.matches(ns, &group.key.labels, ns_labels));
                anti_hits.clear();
                anti_hits.extend(
                    terms
                        .required_anti_affinity
                        .iter()
                        .filter(|t| t.matches(ns, &group.key.labels, ns_labels)),
                );
                if !matches_all && anti_hits.is_empty() {
                    continue;
                }
                for (&slot, &count) in &group.per_node {
                    let Some(node) = cluster.live(slot) else {
                        continue;
                    };
                    let count = i64::from(count);
                    if matches_all {
                        for t in &terms.required_affinity {
                            affinity.add(&t.topology_key, slot, node, count);
                        }
                    }
                    for t in &anti_hits {
                        anti_affinity.add(&t.topology_key, slot, node, count);
                    }
                }
            }
        }

        let existing_keys = existing_anti_affinity.keys().collect();
        let matches_own_affinity = !terms.required_affinity.is_empty()
            && terms
                .required_affinity
                .iter()
                .all(|t| t.matches(namespace, labels, own_ns_labels));
        Some(AffinityFilter {
            terms,
            affinity,
            anti_affinity,
            existing_anti_affinity,
            existing_keys,
            matches_own_affinity,
        })
    }

    /// The filter for the node in `slot`.
    pub fn filter(&self, slot: usize, node: &NodeInfo) -> Result<(), Reasons> {
        if !self.satisfies_affinity(slot, node) {
            return Err(vec![ERR_REASON_AFFINITY_RULES_NOT_MATCH.into()]);
        }
        let anti_violated = !self.anti_affinity.is_empty()
            && self
                .terms
                .required_anti_affinity
                .iter()
                .any(|t| self.anti_affinity.get(&t.topology_key, slot, node) > 0);
        if anti_violated {
            return Err(vec![ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH.into()]);
        }
        let existing_violated = self
            .existing_keys
            .iter()
            .any(|key| self.existing_anti_affinity.get(key, slot, node) > 0);
        if existing_violated {
            return Err(vec![
                ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH.into(),
            ]);
        }
        Ok(())
    }

    fn satisfies_affinity(&self, slot: usize, node: &NodeInfo) -> bool {
        let labels = node.labels();
        let mut pods_exist = true;
        for t in &self.terms.required_affinity {
            // Every topology label must be on the node, first replica or not.
            if !labels.contains_key(&t.topology_key) {
                return false;
            }
            if self.affinity.get(&t.topology_key, slot, node) <= 0 {
                pods_exist = false;
            }
        }
        pods_exist || (self.affinity.is_empty() && self.matches_own_affinity)
    }
}
