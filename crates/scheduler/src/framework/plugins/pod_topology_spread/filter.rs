//! The PodTopologySpread filter (`DoNotSchedule` constraints).

use api_types::core::v1::Pod;

use super::{
    ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_NODE_LABEL_NOT_MATCH, Inclusion, SpreadConstraint,
    has_all_keys,
};
use crate::framework::cluster_state::ClusterState;
use crate::framework::fit_error::Reasons;
use crate::framework::node_info::NodeInfo;
use crate::framework::topology::{DomainCounts, DomainId, DomainIds, NO_DOMAIN};

/// Upstream's PodTopologySpread `preFilterState`: per constraint, the
/// matching pods in each eligible domain and the smallest such count.
#[derive(Debug)]
pub(crate) struct SpreadFilter<'a> {
    constraints: &'a [SpreadConstraint],
    /// Per constraint: how domains are numbered.
    ids: Vec<DomainIds<'a>>,
    /// Per constraint: matching pods per eligible domain.
    counts: Vec<DomainCounts>,
    /// Per constraint: the smallest count (`i32::MAX` without domains, as upstream).
    min: Vec<i64>,
    /// Per constraint: the incoming pod matches the selector itself.
    self_match: Vec<bool>,
}

impl<'a> SpreadFilter<'a> {
    /// Counts once per cycle; `None` without constraints.
    pub fn new(
        cluster: &'a ClusterState,
        pod: &Pod,
        constraints: &'a [SpreadConstraint],
        inclusion: &mut Inclusion<'_>,
    ) -> Option<Self> {
        if constraints.is_empty() {
            return None;
        }
        let n = constraints.len();
        let slots = cluster.slot_capacity();
        let mut ids: Vec<DomainIds<'a>> = constraints
            .iter()
            .map(|c| DomainIds::new(cluster.topology(), &c.topology_key, slots))
            .collect();
        let mut counts = vec![DomainCounts::default(); n];
        // Per (slot, constraint): the node's domain if it is eligible.
        let mut eligible: Vec<DomainId> = vec![NO_DOMAIN; slots * n];
        for i in 0..cluster.num_nodes() {
            let Some((slot, node)) = cluster.nth(i) else {
                continue;
            };
            if !has_all_keys(node, constraints) {
                continue;
            }
            for (ci, c) in constraints.iter().enumerate() {
                if !inclusion.includes(c, slot, node) {
                    continue;
                }
                if let Some(id) = ids[ci].of(slot, node) {
                    counts[ci].register(id);
                    eligible[slot * n + ci] = id;
                }
            }
        }
        let namespace = pod.metadata.namespace.as_str();
        for group in cluster.groups().in_namespace(namespace) {
            if group.key.terminating {
                continue;
            }
            for (ci, c) in constraints.iter().enumerate() {
                if !c.matcher.counts(&group.key) {
                    continue;
                }
                for (&slot, &count) in &group.per_node {
                    if let Some(&id) = eligible.get(slot * n + ci) {
                        if id != NO_DOMAIN {
                            counts[ci].add(id, i64::from(count));
                        }
                    }
                }
            }
        }
        let min = counts
            .iter()
            .map(|c| c.min().unwrap_or(i64::from(i32::MAX)))
            .collect();
        let self_match = constraints
            .iter()
            .map(|c| c.matcher.matches_pod(pod))
            .collect();
        Some(SpreadFilter {
            constraints,
            ids,
            counts,
            min,
            self_match,
        })
    }

    /// The filter for the node in `slot`.
    pub fn filter(&self, slot: usize, node: &NodeInfo) -> Result<(), Reasons> {
        let labels = node.labels();
        for (ci, c) in self.constraints.iter().enumerate() {
            if !labels.contains_key(&c.topology_key) {
                return Err(vec![ERR_REASON_NODE_LABEL_NOT_MATCH.into()]);
            }
            let domains = i64::try_from(self.counts[ci].len()).unwrap_or(i64::MAX);
            let min = if domains < c.min_domains {
                0
            } else {
                self.min[ci]
            };
            let matched = self.ids[ci]
                .lookup(slot, node)
                .map_or(0, |id| self.counts[ci].get(id));
            let skew = matched + i64::from(self.self_match[ci]) - min;
            if skew > c.max_skew {
                return Err(vec![ERR_REASON_CONSTRAINTS_NOT_MATCH.into()]);
            }
        }
        Ok(())
    }
}
