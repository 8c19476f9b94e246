//! NodeUnschedulable: cordoned nodes (`spec.unschedulable: true`) take no
//! new pods, except pods that tolerate `node.kubernetes.io/unschedulable:
//! NoSchedule` (as DaemonSet pods do). Reason: `node(s) were unschedulable`.

use api_types::core::v1::Toleration;

use super::taint_toleration::tolerates;
use crate::framework::fit_error::Reasons;
use crate::framework::node_info::NodeInfo;

/// The taint key a pod tolerates to be allowed onto cordoned nodes.
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// The filter's failure reason.
pub const ERR_REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";

/// Whether the pod may go to cordoned nodes, worked out once per cycle.
pub(crate) fn tolerates_unschedulable(tolerations: &[Toleration]) -> bool {
    tolerations
        .iter()
        .any(|t| tolerates(t, TAINT_UNSCHEDULABLE, "", "NoSchedule"))
}

/// The filter.
pub(crate) fn filter(tolerates_unschedulable: bool, node: &NodeInfo) -> Result<(), Reasons> {
    if node.unschedulable() && !tolerates_unschedulable {
        Err(vec![ERR_REASON_UNSCHEDULABLE.into()])
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::framework::testing::{NodeBuild, node, toleration};

    #[test]
    fn cordoned_nodes_are_filtered_unless_tolerated() {
        let mut ni = NodeInfo::new("a".into());
        ni.set_node(Arc::new(node("a", "1", "1Gi").cordoned()));
        assert_eq!(
            filter(tolerates_unschedulable(&[]), &ni),
            Err(vec!["node(s) were unschedulable".into()])
        );
        let tol = [toleration(TAINT_UNSCHEDULABLE, "Exists", "", "NoSchedule")];
        assert!(filter(tolerates_unschedulable(&tol), &ni).is_ok());

        ni.set_node(Arc::new(node("a", "1", "1Gi")));
        assert!(filter(false, &ni).is_ok());
    }
}
