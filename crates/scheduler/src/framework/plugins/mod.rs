//! The default plugins, as plain functions run in upstream's order.
//!
//! Upstream's framework registers plugins at extension points (PreFilter,
//! Filter, PreScore, Score, NormalizeScore) and runs them through
//! interfaces. The set here is fixed, so the pipeline is two functions:
//! `Filters::run` (one node, stops at the first failing filter, as
//! upstream does) and `score_all` (every feasible node, every score
//! plugin, normalized and weighted). Per-cycle precomputation (upstream's
//! PreFilter/PreScore) happens in `Filters::new` and inside each score
//! function.
//!
//! | plugin | filter | score weight |
//! |---|---|---|
//! | [`node_unschedulable`] | cordoned nodes | - |
//! | [`node_ready`] | nodes not `Ready` (as the not-ready/unreachable taints) | - |
//! | [`taint_toleration`] | `NoSchedule`/`NoExecute` taints | 3 |
//! | [`node_affinity`] | `nodeSelector`, required node affinity | 2 |
//! | [`node_ports`] | host ports | - |
//! | [`node_resources_fit`] | requests vs allocatable | 1 (LeastAllocated) |
//! | [`pod_topology_spread`] | `DoNotSchedule` constraints | 2 |
//! | [`inter_pod_affinity`] | required pod (anti-)affinity | 2 |
//! | [`balanced_allocation`] | - | 1 |

pub mod balanced_allocation;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_ports;
pub mod node_ready;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod normalize;
pub mod pod_topology_spread;
pub mod taint_toleration;

use super::cluster_state::ClusterState;
use super::fit_error::Reasons;
use super::node_info::NodeInfo;
use super::query::PodQuery;
use inter_pod_affinity::AffinityFilter;
use pod_topology_spread::{Inclusion, SpreadFilter};

/// Plugin names, as upstream spells them (for explanations and logs).
pub mod names {
    /// Score: untolerated `PreferNoSchedule` taints.
    pub const TAINT_TOLERATION: &str = "TaintToleration";
    /// Score: preferred node affinity.
    pub const NODE_AFFINITY: &str = "NodeAffinity";
    /// Score: least allocated cpu/memory.
    pub const NODE_RESOURCES_FIT: &str = "NodeResourcesFit";
    /// Score: even spreading.
    pub const POD_TOPOLOGY_SPREAD: &str = "PodTopologySpread";
    /// Score: preferred pod (anti-)affinity.
    pub const INTER_POD_AFFINITY: &str = "InterPodAffinity";
    /// Score: balanced cpu/memory use.
    pub const NODE_RESOURCES_BALANCED_ALLOCATION: &str = "NodeResourcesBalancedAllocation";
}

/// Upstream's default score weights.
pub mod weights {
    /// `TaintToleration`.
    pub const TAINT_TOLERATION: i64 = 3;
    /// `NodeAffinity`.
    pub const NODE_AFFINITY: i64 = 2;
    /// `NodeResourcesFit`.
    pub const NODE_RESOURCES_FIT: i64 = 1;
    /// `PodTopologySpread`.
    pub const POD_TOPOLOGY_SPREAD: i64 = 2;
    /// `InterPodAffinity`.
    pub const INTER_POD_AFFINITY: i64 = 2;
    /// `NodeResourcesBalancedAllocation`.
    pub const NODE_RESOURCES_BALANCED_ALLOCATION: i64 = 1;
}

/// A node that passed the filters, with its cache slot.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FeasibleNode<'a> {
    pub slot: usize,
    pub info: &'a NodeInfo,
}

/// One plugin's normalized (0-100) scores, in feasible-node order; `None`
/// when the plugin skipped this pod (it then adds nothing).
pub(crate) type PluginScores = Option<Vec<i64>>;

/// The filters of one scheduling cycle, with their per-cycle state.
pub(crate) struct Filters<'a> {
    query: &'a PodQuery<'a>,
    spread: Option<SpreadFilter<'a>>,
    affinity: Option<AffinityFilter<'a>>,
}

impl<'a> Filters<'a> {
    /// Precomputes what the pod needs (upstream's PreFilter): topology
    /// spread counts only with `DoNotSchedule` constraints, inter-pod
    /// counts only with required terms or placed pods' anti-affinity.
    pub fn new(cluster: &'a ClusterState, query: &'a PodQuery<'a>) -> Self {
        let spread = if query.spread.hard.is_empty() {
            None
        } else {
            let mut inclusion = Inclusion::new(
                &query.required_node_affinity,
                query.tolerations,
                cluster.slot_capacity(),
            );
            SpreadFilter::new(cluster, query.pod, &query.spread.hard, &mut inclusion)
        };
        let affinity =
            AffinityFilter::new(cluster, query.namespace, query.labels, &query.pod_affinity);
        Filters {
            query,
            spread,
            affinity,
        }
    }

    /// Runs the filters on one node, in upstream's order; the first failing
    /// filter's reasons are the node's.
    pub fn run(&self, slot: usize, node: &NodeInfo) -> Result<(), Reasons> {
        let q = self.query;
        node_unschedulable::filter(q.tolerates_unschedulable, node)?;
        node_ready::filter(q.readiness_tolerations, node)?;
        taint_toleration::filter(q.tolerations, node)?;
        node_affinity::filter(&q.required_node_affinity, node)?;
        if !q.host_ports.is_empty() {
            node_ports::filter(&q.host_ports, node)?;
        }
        node_resources_fit::filter(&q.requests, node)?;
        if let Some(spread) = &self.spread {
            spread.filter(slot, node)?;
        }
        if let Some(affinity) = &self.affinity {
            affinity.filter(slot, node)?;
        }
        Ok(())
    }
}

/// Every score plugin's normalized scores for the feasible nodes.
pub(crate) struct ScoreTable {
    /// Per node: the weighted sum.
    pub totals: Vec<i64>,
    /// Per plugin that ran: name, weight, normalized scores.
    pub plugins: Vec<(&'static str, i64, Vec<i64>)>,
}

/// Runs the score plugins (upstream's PreScore, Score, NormalizeScore and
/// weighting) over the feasible nodes.
pub(crate) fn score_all(
    cluster: &ClusterState,
    query: &PodQuery<'_>,
    nodes: &[FeasibleNode<'_>],
) -> ScoreTable {
    let mut inclusion = Inclusion::new(
        &query.required_node_affinity,
        query.tolerations,
        cluster.slot_capacity(),
    );
    let results = [
        (
            names::TAINT_TOLERATION,
            weights::TAINT_TOLERATION,
            taint_toleration::score(query.tolerations, nodes),
        ),
        (
            names::NODE_AFFINITY,
            weights::NODE_AFFINITY,
            node_affinity::score(&query.preferred_node_affinity, nodes),
        ),
        (
            names::NODE_RESOURCES_FIT,
            weights::NODE_RESOURCES_FIT,
            node_resources_fit::score(&query.requests, nodes),
        ),
        (
            names::POD_TOPOLOGY_SPREAD,
            weights::POD_TOPOLOGY_SPREAD,
            pod_topology_spread::score(
                cluster,
                query.namespace,
                &query.spread,
                &mut inclusion,
                nodes,
            ),
        ),
        (
            names::INTER_POD_AFFINITY,
            weights::INTER_POD_AFFINITY,
            inter_pod_affinity::score(
                cluster,
                query.namespace,
                query.labels,
                &query.pod_affinity,
                nodes,
            ),
        ),
        (
            names::NODE_RESOURCES_BALANCED_ALLOCATION,
            weights::NODE_RESOURCES_BALANCED_ALLOCATION,
            balanced_allocation::score(&query.requests, nodes),
        ),
    ];
    let mut totals = vec![0i64; nodes.len()];
    let mut plugins = Vec::with_capacity(results.len());
    for (name, weight, scores) in results {
        let Some(scores) = scores else {
            continue;
        };
        for (total, s) in totals.iter_mut().zip(&scores) {
            *total = total.saturating_add(weight.saturating_mul(*s));
        }
        plugins.push((name, weight, scores));
    }
    ScoreTable { totals, plugins }
}
