//! `schedule`: one scheduling decision (upstream's `schedulePod`).
//!
//! 1. **Filter** nodes in name order, starting where the previous decision
//!    stopped, until enough feasible nodes are found
//!    ([`num_feasible_nodes_to_find`]) or every node was tried. Each node
//!    runs the filters in order and stops at the first that fails.
//! 2. **Score** the feasible nodes with every score plugin; each plugin's
//!    scores are normalized to 0-100 and multiplied by its weight.
//! 3. **Select** the highest total. Ties go to the node with the fewest
//!    pods, then to the first in evaluation order. (Upstream picks among
//!    ties at random; this stays deterministic yet still spreads equal pods
//!    over equal nodes.)
//!
//! With a single feasible node, scoring is skipped as upstream does.

use api_types::core::v1::Pod;
use api_types::labels::Selector;

use super::cluster_state::ClusterState;
use super::fit_error::{Diagnosis, FitError};
use super::plugins::{FeasibleNode, Filters, score_all};
use super::query::PodQuery;

/// Below this many nodes, all of them are evaluated (upstream's `minFeasibleNodesToFind`).
pub const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// The adaptive percentage never goes below this (upstream's `minFeasibleNodesPercentageToFind`).
pub const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: usize = 5;

/// What a scheduler carries from one decision to the next.
#[derive(Clone, Debug, Default)]
pub struct SchedulerState {
    next_start_node_index: usize,
    /// `percentageOfNodesToScore`: 0 (the default) for upstream's adaptive
    /// value, otherwise 1-100.
    pub percentage_of_nodes_to_score: u32,
    /// Fill [`Decision::scores`] with every feasible node's per-plugin
    /// scores (for tests, docs and debugging; costs an allocation per node).
    pub record_scores: bool,
}

impl SchedulerState {
    /// The defaults: adaptive percentage, no score recording.
    pub fn new() -> Self {
        Self::default()
    }

    /// Where (in name order) the next decision starts evaluating nodes.
    pub fn next_start_node_index(&self) -> usize {
        self.next_start_node_index
    }
}

/// Where the pod should go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The chosen node.
    pub node: String,
    /// How many nodes passed the filters.
    pub feasible: usize,
    /// How many nodes were run through the filters.
    pub evaluated: usize,
    /// The chosen node's weighted total (0 when scoring was skipped).
    pub score: i64,
    /// With [`SchedulerState::record_scores`]: every feasible node's scores,
    /// in evaluation order.
    pub scores: Vec<NodeScore>,
}

/// One feasible node's scores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeScore {
    /// The node.
    pub node: String,
    /// The weighted sum over the plugins.
    pub total: i64,
    /// Each plugin that scored this pod (skipped plugins are absent).
    pub plugins: Vec<PluginScore>,
}

/// One plugin's normalized score for one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginScore {
    /// Upstream's plugin name, e.g. `NodeResourcesFit`.
    pub plugin: &'static str,
    /// The plugin's weight.
    pub weight: i64,
    /// 0-100.
    pub score: i64,
}

/// How many feasible nodes to look for among `num_all_nodes` (upstream's
/// `numFeasibleNodesToFind`): all of them below 100 nodes; otherwise
/// `percentage`% of them, at least 100, where percentage 0 means
/// `max(5, 50 - nodes/125)` (50% of 100 nodes, 10% of 5,000).
pub fn num_feasible_nodes_to_find(percentage: u32, num_all_nodes: usize) -> usize {
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND {
        return num_all_nodes;
    }
    let percentage = match usize::try_from(percentage).unwrap_or(100) {
        0 => 50usize
            .saturating_sub(num_all_nodes / 125)
            .max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND),
        p => p.min(100),
    };
    (num_all_nodes.saturating_mul(percentage) / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// Picks a node for `pod`.
///
/// `spread_selectors` are the selectors of the Services, ReplicationControllers,
/// ReplicaSets and StatefulSets that select the pod (Services' and
/// ReplicationControllers' plain maps through [`Selector::from_map`]); they
/// drive the default topology spreading. Pass `&[]` to spread by the pod's
/// controlling owner instead.
///
/// The caller only hands in pods this scheduler is responsible for (see
/// [`responsible_for`]): a pod with `spec.nodeName` is already placed, and a
/// pod for another `schedulerName` belongs to another scheduler.
///
/// # Errors
/// [`FitError`] when no node fits, with upstream's message.
pub fn schedule(
    cluster: &ClusterState,
    pod: &Pod,
    spread_selectors: &[Selector],
    state: &mut SchedulerState,
) -> Result<Decision, FitError> {
    let num_nodes = cluster.num_nodes();
    if num_nodes == 0 {
        return Err(FitError::default());
    }
    let query = PodQuery::new(pod, spread_selectors).map_err(|msg| FitError {
        num_all_nodes: num_nodes,
        pre_filter_msg: Some(msg),
        ..FitError::default()
    })?;
    let filters = Filters::new(cluster, &query);

    let to_find = num_feasible_nodes_to_find(state.percentage_of_nodes_to_score, num_nodes);
    let start = state.next_start_node_index % num_nodes;
    let mut feasible: Vec<FeasibleNode<'_>> = Vec::with_capacity(to_find);
    let mut diagnosis = Diagnosis::default();
    let mut evaluated = 0;
    for i in 0..num_nodes {
        let Some((slot, info)) = cluster.nth((start + i) % num_nodes) else {
            continue;
        };
        evaluated += 1;
        match filters.run(slot, info) {
            Ok(()) => {
                feasible.push(FeasibleNode { slot, info });
                if feasible.len() >= to_find {
                    break;
                }
            }
            Err(reasons) => diagnosis.record(reasons),
        }
    }
    state.next_start_node_index = (start + evaluated) % num_nodes;

    match feasible.as_slice() {
        [] => Err(diagnosis.into_error(num_nodes)),
        [only] => Ok(Decision {
            node: only.info.name().to_owned(),
            feasible: 1,
            evaluated,
            score: 0,
            scores: Vec::new(),
        }),
        nodes => {
            let table = score_all(cluster, &query, nodes);
            let best = select(nodes, &table.totals);
            let scores = if state.record_scores {
                explain(nodes, &table.totals, &table.plugins)
            } else {
                Vec::new()
            };
            Ok(Decision {
                node: nodes[best].info.name().to_owned(),
                feasible: nodes.len(),
                evaluated,
                score: table.totals[best],
                scores,
            })
        }
    }
}

/// The index of the best node: highest total, then fewest pods, then first.
fn select(nodes: &[FeasibleNode<'_>], totals: &[i64]) -> usize {
    let mut best: Option<(usize, i64, usize)> = None;
    for (i, (n, &total)) in nodes.iter().zip(totals).enumerate() {
        let pods = n.info.pods().len();
        match best {
            Some((_, t, p)) if total < t || (total == t && pods >= p) => {}
            _ => best = Some((i, total, pods)),
        }
    }
    best.map_or(0, |(i, _, _)| i)
}

fn explain(
    nodes: &[FeasibleNode<'_>],
    totals: &[i64],
    plugins: &[(&'static str, i64, Vec<i64>)],
) -> Vec<NodeScore> {
    nodes
        .iter()
        .enumerate()
        .map(|(i, n)| NodeScore {
            node: n.info.name().to_owned(),
            total: totals.get(i).copied().unwrap_or(0),
            plugins: plugins
                .iter()
                .map(|(plugin, weight, scores)| PluginScore {
                    plugin,
                    weight: *weight,
                    score: scores.get(i).copied().unwrap_or(0),
                })
                .collect(),
        })
        .collect()
}

/// The scheduler upstream calls `default-scheduler`.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// Whether the scheduler named `scheduler_name` should place `pod`: it has
/// no `spec.nodeName` yet, names this scheduler (an empty `schedulerName`
/// means [`DEFAULT_SCHEDULER_NAME`]), is not being deleted, has not
/// finished, and has no scheduling gates left.
pub fn responsible_for(pod: &Pod, scheduler_name: &str) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return false;
    };
    let assigned = spec.node_name.as_deref().is_some_and(|n| !n.is_empty());
    let wanted = spec
        .scheduler_name
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(DEFAULT_SCHEDULER_NAME);
    let finished = matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    );
    let gated = spec
        .scheduling_gates
        .as_ref()
        .is_some_and(|g| !g.is_empty());
    !assigned
        && wanted == scheduler_name
        && pod.metadata.deletion_timestamp.is_none()
        && !finished
        && !gated
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
