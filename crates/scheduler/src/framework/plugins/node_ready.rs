//! NodeReady: a node that is not `Ready` repels pods like a taint.
//!
//! Upstream has no such plugin: the node lifecycle controller taints a node
//! `node.kubernetes.io/not-ready:NoSchedule` (condition `False`) or
//! `node.kubernetes.io/unreachable:NoSchedule` (condition `Unknown`), and
//! TaintToleration does the rest. Reading the condition directly gives the
//! same outcome without waiting for that controller: a pod that tolerates
//! the taint (DaemonSet pods do) may still land on the node, and the reason
//! is worded as the taint's.

use api_types::core::v1::Toleration;

use super::taint_toleration::tolerates;
use crate::framework::fit_error::Reasons;
use crate::framework::node_info::{NodeInfo, NodeReadiness};

/// The taint upstream puts on a node whose `Ready` condition is `False`.
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
/// The taint upstream puts on a node whose `Ready` condition is `Unknown`.
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";

const REASON_NOT_READY: &str = "node(s) had untolerated taint {node.kubernetes.io/not-ready: }";
const REASON_UNREACHABLE: &str = "node(s) had untolerated taint {node.kubernetes.io/unreachable: }";

/// Which of the two taints the pod tolerates, worked out once per cycle.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ReadinessTolerations {
    not_ready: bool,
    unreachable: bool,
}

impl ReadinessTolerations {
    pub fn of(tolerations: &[Toleration]) -> Self {
        let any = |key| {
            tolerations
                .iter()
                .any(|t| tolerates(t, key, "", "NoSchedule"))
        };
        ReadinessTolerations {
            not_ready: any(TAINT_NOT_READY),
            unreachable: any(TAINT_UNREACHABLE),
        }
    }
}

/// The filter.
pub(crate) fn filter(tolerations: ReadinessTolerations, node: &NodeInfo) -> Result<(), Reasons> {
    match node.readiness() {
        NodeReadiness::Ready => Ok(()),
        NodeReadiness::NotReady if tolerations.not_ready => Ok(()),
        NodeReadiness::Unreachable if tolerations.unreachable => Ok(()),
        NodeReadiness::NotReady => Err(vec![REASON_NOT_READY.into()]),
        NodeReadiness::Unreachable => Err(vec![REASON_UNREACHABLE.into()]),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::framework::testing::{NodeBuild, node, toleration};

    fn info(n: api_types::core::v1::Node) -> NodeInfo {
        let mut ni = NodeInfo::new(n.metadata.name.clone());
        ni.set_node(Arc::new(n));
        ni
    }

    #[test]
    fn not_ready_and_unreachable_nodes_are_filtered() {
        let none = ReadinessTolerations::of(&[]);
        assert!(filter(none, &info(node("a", "1", "1Gi"))).is_ok());
        assert_eq!(
            filter(none, &info(node("a", "1", "1Gi").with_ready("False"))),
            Err(vec![
                "node(s) had untolerated taint {node.kubernetes.io/not-ready: }".into()
            ])
        );
        assert_eq!(
            filter(none, &info(node("a", "1", "1Gi").without_conditions())),
            Err(vec![REASON_NOT_READY.into()])
        );
        assert_eq!(
            filter(none, &info(node("a", "1", "1Gi").with_ready("Unknown"))),
            Err(vec![
                "node(s) had untolerated taint {node.kubernetes.io/unreachable: }".into()
            ])
        );
    }

    #[test]
    fn tolerating_pods_pass() {
        let daemon = ReadinessTolerations::of(&[
            toleration(TAINT_NOT_READY, "Exists", "", "NoSchedule"),
            toleration(TAINT_UNREACHABLE, "Exists", "", ""),
        ]);
        assert!(filter(daemon, &info(node("a", "1", "1Gi").with_ready("False"))).is_ok());
        assert!(filter(daemon, &info(node("a", "1", "1Gi").with_ready("Unknown"))).is_ok());
        let only_execute =
            ReadinessTolerations::of(&[toleration(TAINT_NOT_READY, "Exists", "", "NoExecute")]);
        assert!(
            filter(
                only_execute,
                &info(node("a", "1", "1Gi").with_ready("False"))
            )
            .is_err()
        );
    }
}
