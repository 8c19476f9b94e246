//! NodeResourcesBalancedAllocation: prefer nodes where cpu and memory
//! would be used in similar proportions, so neither is stranded.
//!
//! **Score** (weight 1): with `f = requested / allocatable` per resource
//! (the node's actual requests plus the pod's, capped at 1), the score is
//! `(1 - std(f)) * 100`, truncated; for the two default resources the
//! standard deviation is `|f_cpu - f_memory| / 2`. Skipped for pods that
//! request neither cpu nor memory, as recent upstream does (issue #129138:
//! otherwise best-effort pods pile onto one node).

use crate::framework::node_info::NodeInfo;
use crate::framework::resources::PodRequests;

use super::normalize::MAX_NODE_SCORE;
use super::{FeasibleNode, PluginScores};

/// The score of one node.
pub(crate) fn balanced(pod: &PodRequests, node: &NodeInfo) -> i64 {
    let alloc = node.allocatable();
    let used = node.requested();
    let mut fractions = [0f64; 2];
    let mut n = 0;
    for (capacity, requested) in [
        (
            alloc.milli_cpu,
            used.milli_cpu.saturating_add(pod.requests.milli_cpu),
        ),
        (
            alloc.memory,
            used.memory.saturating_add(pod.requests.memory),
        ),
    ] {
        if capacity == 0 {
            continue;
        }
        fractions[n] = (requested as f64 / capacity as f64).min(1.0);
        n += 1;
    }
    let std = if n == 2 {
        ((fractions[0] - fractions[1]) / 2.0).abs()
    } else {
        0.0
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

/// The score; `None` for pods that request neither cpu nor memory.
pub(crate) fn score(pod: &PodRequests, nodes: &[FeasibleNode<'_>]) -> PluginScores {
    if pod.requests.milli_cpu == 0 && pod.requests.memory == 0 {
        return None;
    }
    Some(nodes.iter().map(|n| balanced(pod, n.info)).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::framework::pod_info::PodInfo;
    use crate::framework::testing::{PodBuild, node, pod};

    #[test]
    fn by_hand() {
        let mut ni = NodeInfo::new("a".into());
        ni.set_node(Arc::new(node("a", "4", "8Gi")));
        ni.add_pod(
            "default/x".into(),
            PodInfo::new(Arc::new(pod("x").with_requests("1", "1Gi")), 0, false),
        );
        let p = PodRequests::of(pod("p").with_requests("1", "1Gi").spec.as_ref().unwrap());
        // cpu 2/4 = 0.5, memory 2/8 = 0.25: std 0.125 -> 87.5 -> 87.
        assert_eq!(balanced(&p, &ni), 87);

        let best_effort = PodRequests::of(pod("p").spec.as_ref().unwrap());
        let feasible = [FeasibleNode { slot: 0, info: &ni }];
        assert_eq!(score(&best_effort, &feasible), None);
        assert_eq!(score(&p, &feasible), Some(vec![87]));
    }
}
