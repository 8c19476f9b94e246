//! The PodTopologySpread score (`ScheduleAnyway` and system default constraints).

use super::{HOSTNAME, Inclusion, SpreadConstraints, has_all_keys};
use crate::framework::cluster_state::ClusterState;
use crate::framework::plugins::normalize::MAX_NODE_SCORE;
use crate::framework::plugins::{FeasibleNode, PluginScores};
use crate::framework::pod_groups::Group;
use crate::framework::topology::{DomainCounts, DomainIds};

/// The score.
///
/// For each constraint with `w = ln(domains + 2)` (`domains`: distinct
/// values of the key among the feasible nodes; for the hostname key, the
/// number of feasible nodes) a node earns `count * w + (maxSkew - 1)`,
/// where `count` is the matching pods in the node's domain; the sum is
/// rounded. Then, with `min`/`max` over the nodes, each node gets
/// `100 * (max + min - raw) / max` (100 for all when `max` is 0). With the
/// pod's own constraints, feasible nodes lacking a topology key get 0.
pub(crate) fn score(
    cluster: &ClusterState,
    namespace: &str,
    constraints: &SpreadConstraints,
    inclusion: &mut Inclusion<'_>,
    nodes: &[FeasibleNode<'_>],
) -> PluginScores {
    let cs = &constraints.soft;
    if cs.is_empty() {
        return None;
    }
    let require_all = constraints.explicit;
    let ignored: Vec<bool> = nodes
        .iter()
        .map(|n| require_all && !has_all_keys(n.info, cs))
        .collect();
    let scored = ignored.iter().filter(|&&i| !i).count();

    // The domains of the feasible nodes, per constraint (hostname is counted
    // per node instead). A missing key is the domain "", as upstream.
    let slots = cluster.slot_capacity();
    let mut ids: Vec<DomainIds<'_>> = cs
        .iter()
        .map(|c| DomainIds::new(cluster.topology(), &c.topology_key, slots))
        .collect();
    let mut domains = vec![DomainCounts::default(); cs.len()];
    for (n, _) in nodes.iter().zip(&ignored).filter(|(_, i)| !**i) {
        for (ci, c) in cs.iter().enumerate() {
            if c.topology_key != HOSTNAME {
                domains[ci].register(ids[ci].of_or_empty(n.slot, n.info));
            }
        }
    }
    let weights: Vec<f64> = cs
        .iter()
        .enumerate()
        .map(|(ci, c)| {
            let size = if c.topology_key == HOSTNAME {
                scored
            } else {
                domains[ci].len()
            };
            ((size + 2) as f64).ln()
        })
        .collect();

    // The groups each constraint counts.
    let matching: Vec<(&Group, Vec<bool>)> = cluster
        .groups()
        .in_namespace(namespace)
        .filter(|g| !g.key.terminating && cs.iter().any(|c| c.matcher.counts(&g.key)))
        .map(|g| (g, cs.iter().map(|c| c.matcher.counts(&g.key)).collect()))
        .collect();

    // Matching pods per domain, over every node (not only the feasible ones).
    let zonal = cs.iter().any(|c| c.topology_key != HOSTNAME);
    for (group, flags) in matching.iter().filter(|_| zonal) {
        for (&slot, &count) in &group.per_node {
            let Some(node) = cluster.live(slot) else {
                continue;
            };
            if require_all && !has_all_keys(node, cs) {
                continue;
            }
            for (ci, c) in cs.iter().enumerate() {
                if !flags[ci] || c.topology_key == HOSTNAME || !inclusion.includes(c, slot, node) {
                    continue;
                }
                domains[ci].add(ids[ci].of_or_empty(slot, node), i64::from(count));
            }
        }
    }

    let mut raw: Vec<i64> = nodes
        .iter()
        .zip(&ignored)
        .map(|(n, &ignored)| {
            if ignored {
                return 0;
            }
            let mut score = 0.0;
            for (ci, c) in cs.iter().enumerate() {
                let Some(id) = ids[ci].lookup(n.slot, n.info) else {
                    continue;
                };
                let count = if c.topology_key == HOSTNAME {
                    matching
                        .iter()
                        .filter(|(_, flags)| flags[ci])
                        .filter_map(|(g, _)| g.per_node.get(&n.slot))
                        .map(|&k| i64::from(k))
                        .sum()
                } else {
                    domains[ci].get(id)
                };
                score += count as f64 * weights[ci] + (c.max_skew - 1) as f64;
            }
            score.round() as i64
        })
        .collect();
    normalize(&mut raw, &ignored);
    Some(raw)
}

/// Upstream's PodTopologySpread `NormalizeScore`.
fn normalize(scores: &mut [i64], ignored: &[bool]) {
    let mut min = i64::MAX;
    let mut max = 0;
    for (s, _) in scores.iter().zip(ignored).filter(|(_, i)| !**i) {
        min = min.min(*s);
        max = max.max(*s);
    }
    for (s, &ignored) in scores.iter_mut().zip(ignored) {
        *s = if ignored {
            0
        } else if max == 0 {
            MAX_NODE_SCORE
        } else {
            MAX_NODE_SCORE * (max + min - *s) / max
        };
    }
}
