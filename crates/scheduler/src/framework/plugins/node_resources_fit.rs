//! NodeResourcesFit: the pod's requests must fit in what is left of the
//! node's allocatable resources; among the nodes that fit, emptier is better.
//!
//! - **Filter**: one more pod must not exceed the node's `pods`; each
//!   requested resource (cpu, memory, ephemeral-storage, each extended
//!   resource) must be at most `allocatable - requested`. Every shortage is
//!   a reason of its own: `Too many pods`, `Insufficient cpu`,
//!   `Insufficient memory`, `Insufficient ephemeral-storage`,
//!   `Insufficient <name>`.
//! - **Score** (weight 1, strategy `LeastAllocated`): for cpu and memory,
//!   `(allocatable - requested) * 100 / allocatable` with the *non-zero*
//!   requests of the node's pods plus the incoming pod, averaged with equal
//!   weights (integer arithmetic, as upstream). A resource the node does not
//!   report is left out of the average.

use crate::framework::fit_error::Reasons;
use crate::framework::node_info::NodeInfo;
use crate::framework::resources::PodRequests;

use super::normalize::MAX_NODE_SCORE;
use super::{FeasibleNode, PluginScores};

/// The filter.
pub(crate) fn filter(pod: &PodRequests, node: &NodeInfo) -> Result<(), Reasons> {
    let mut reasons = Reasons::new();
    let alloc = node.allocatable();
    let used = node.requested();
    let pods_after = i64::try_from(node.pods().len())
        .unwrap_or(i64::MAX)
        .saturating_add(1);
    if pods_after > alloc.pods {
        reasons.push("Too many pods".into());
    }
    let want = &pod.requests;
    let nothing_requested = want.milli_cpu == 0
        && want.memory == 0
        && want.ephemeral_storage == 0
        && want.scalar.is_empty();
    if nothing_requested {
        return finish(reasons);
    }
    let short = |want: i64, alloc: i64, used: i64| want > 0 && want > alloc.saturating_sub(used);
    if short(want.milli_cpu, alloc.milli_cpu, used.milli_cpu) {
        reasons.push("Insufficient cpu".into());
    }
    if short(want.memory, alloc.memory, used.memory) {
        reasons.push("Insufficient memory".into());
    }
    if short(
        want.ephemeral_storage,
        alloc.ephemeral_storage,
        used.ephemeral_storage,
    ) {
        reasons.push("Insufficient ephemeral-storage".into());
    }
    for (name, &amount) in &want.scalar {
        if short(amount, alloc.scalar(name), used.scalar(name)) {
            reasons.push(format!("Insufficient {name}").into());
        }
    }
    finish(reasons)
}

fn finish(reasons: Reasons) -> Result<(), Reasons> {
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    }
}

/// `(capacity - requested) * 100 / capacity`, 0 when over capacity.
pub(crate) fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity <= 0 || requested > capacity {
        return 0;
    }
    // i128: memory in bytes times 100 overflows i64 near 92 PB.
    let score =
        i128::from(capacity - requested) * i128::from(MAX_NODE_SCORE) / i128::from(capacity);
    i64::try_from(score).unwrap_or(0)
}

/// The LeastAllocated score of one node.
pub(crate) fn least_allocated(pod: &PodRequests, node: &NodeInfo) -> i64 {
    let alloc = node.allocatable();
    let mut sum = 0;
    let mut weights = 0;
    for (capacity, requested) in [
        (
            alloc.milli_cpu,
            node.non_zero_milli_cpu()
                .saturating_add(pod.non_zero_milli_cpu),
        ),
        (
            alloc.memory,
            node.non_zero_memory().saturating_add(pod.non_zero_memory),
        ),
    ] {
        if capacity == 0 {
            continue;
        }
        sum += least_requested_score(requested, capacity);
        weights += 1;
    }
    if weights == 0 { 0 } else { sum / weights }
}

/// The score (never skipped: the non-zero requests are never zero).
pub(crate) fn score(pod: &PodRequests, nodes: &[FeasibleNode<'_>]) -> PluginScores {
    Some(nodes.iter().map(|n| least_allocated(pod, n.info)).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::framework::pod_info::PodInfo;
    use crate::framework::testing::{NodeBuild, PodBuild, node, pod};

    fn requests(p: &api_types::core::v1::Pod) -> PodRequests {
        PodRequests::of(p.spec.as_ref().unwrap())
    }

    fn info(n: api_types::core::v1::Node, pods: Vec<api_types::core::v1::Pod>) -> NodeInfo {
        let mut ni = NodeInfo::new(n.metadata.name.clone());
        ni.set_node(Arc::new(n));
        for p in pods {
            let key = p.metadata.key();
            ni.add_pod(key, PodInfo::new(Arc::new(p), 0, false));
        }
        ni
    }

    #[test]
    fn fits_and_shortages() {
        let ni = info(
            node("a", "2", "4Gi"),
            vec![pod("x").with_requests("1500m", "1Gi")],
        );
        assert!(filter(&requests(&pod("p").with_requests("500m", "3Gi")), &ni).is_ok());
        assert_eq!(
            filter(&requests(&pod("p").with_requests("501m", "1Gi")), &ni),
            Err(vec!["Insufficient cpu".into()])
        );
        assert_eq!(
            filter(&requests(&pod("p").with_requests("1", "4Gi")), &ni),
            Err(vec![
                "Insufficient cpu".into(),
                "Insufficient memory".into()
            ])
        );
    }

    #[test]
    fn ephemeral_storage_and_extended_resources() {
        let ni = info(
            node("a", "2", "4Gi")
                .with_allocatable("ephemeral-storage", "10Gi")
                .with_allocatable("example.com/gpu", "1"),
            vec![],
        );
        let p = pod("p")
            .with_requests("100m", "")
            .with_extra_request("ephemeral-storage", "20Gi")
            .with_extra_request("example.com/gpu", "2")
            .with_extra_request("example.com/fpga", "1");
        assert_eq!(
            filter(&requests(&p), &ni),
            Err(vec![
                "Insufficient ephemeral-storage".into(),
                "Insufficient example.com/fpga".into(),
                "Insufficient example.com/gpu".into(),
            ])
        );
    }

    #[test]
    fn too_many_pods_even_without_requests() {
        let ni = info(
            node("a", "2", "4Gi").with_allocatable("pods", "1"),
            vec![pod("x")],
        );
        assert_eq!(
            filter(&requests(&pod("p")), &ni),
            Err(vec!["Too many pods".into()])
        );
    }

    #[test]
    fn least_allocated_by_hand() {
        // 4 CPU / 8 GiB node with 1 CPU / 2 GiB requested; the pod asks
        // 1 CPU / 2 GiB: cpu (4000-2000)*100/4000 = 50,
        // memory (8-4)*100/8 = 50 -> 50.
        let ni = info(
            node("a", "4", "8Gi"),
            vec![pod("x").with_requests("1", "2Gi")],
        );
        let p = requests(&pod("p").with_requests("1", "2Gi"));
        assert_eq!(least_allocated(&p, &ni), 50);
        // A pod without requests counts as 100m / 200 MiB:
        // cpu (4000-1100)*100/4000 = 72, memory (8192-2248)*100/8192 = 72.
        let empty = requests(&pod("p"));
        assert_eq!(least_allocated(&empty, &ni), 72);
        // Over capacity scores 0 for that resource.
        let big = requests(&pod("p").with_requests("8", "2Gi"));
        assert_eq!(least_allocated(&big, &ni), 25);
    }
}
