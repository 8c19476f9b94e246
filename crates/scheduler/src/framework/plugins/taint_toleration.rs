//! TaintToleration: taints repel pods that do not tolerate them.
//!
//! - **Filter**: the node must have no `NoSchedule` or `NoExecute` taint the
//!   pod does not tolerate. Reason: `node(s) had untolerated taint {key:
//!   value}` for the first such taint. (Kubernetes 1.35 dropped the key and
//!   value from this message, printing `node(s) had untolerated taint(s)`;
//!   this keeps the older, more useful form.)
//! - **Score** (weight 3): fewer untolerated `PreferNoSchedule` taints is
//!   better; the counts are scaled and reversed so a node without any gets
//!   100.
//!
//! A toleration matches a taint when its effect is empty or equal, its key
//! is empty or equal, and with operator `Exists` (any value) or `Equal`/
//! empty (same value). An empty key with `Exists` tolerates everything.

use api_types::core::v1::{Taint, Toleration};

use super::normalize::default_normalize;
use super::{FeasibleNode, PluginScores};
use crate::framework::fit_error::Reasons;
use crate::framework::node_info::NodeInfo;

/// Upstream's `Toleration.ToleratesTaint`.
pub fn tolerates(toleration: &Toleration, key: &str, value: &str, effect: &str) -> bool {
    let t_effect = toleration.effect.as_deref().unwrap_or("");
    if !t_effect.is_empty() && t_effect != effect {
        return false;
    }
    let t_key = toleration.key.as_deref().unwrap_or("");
    if !t_key.is_empty() && t_key != key {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or("") {
        "" | "Equal" => toleration.value.as_deref().unwrap_or("") == value,
        "Exists" => true,
        _ => false,
    }
}

/// Whether any of `tolerations` tolerates `taint`.
pub fn tolerated(tolerations: &[Toleration], taint: &Taint) -> bool {
    let value = taint.value.as_deref().unwrap_or("");
    tolerations
        .iter()
        .any(|t| tolerates(t, &taint.key, value, &taint.effect))
}

/// Whether the taint keeps pods that do not tolerate it off the node.
fn repels(taint: &Taint) -> bool {
    taint.effect == "NoSchedule" || taint.effect == "NoExecute"
}

/// The first `NoSchedule`/`NoExecute` taint the pod does not tolerate
/// (upstream's `FindMatchingUntoleratedTaint`).
pub fn first_untolerated<'a>(taints: &'a [Taint], tolerations: &[Toleration]) -> Option<&'a Taint> {
    taints
        .iter()
        .find(|taint| repels(taint) && !tolerated(tolerations, taint))
}

/// `node(s) had untolerated taint {key: value}`.
pub fn untolerated_reason(key: &str, value: &str) -> String {
    format!("node(s) had untolerated taint {{{key}: {value}}}")
}

/// The filter.
pub(crate) fn filter(tolerations: &[Toleration], node: &NodeInfo) -> Result<(), Reasons> {
    match first_untolerated(node.taints(), tolerations) {
        None => Ok(()),
        Some(taint) => Err(vec![
            untolerated_reason(&taint.key, taint.value.as_deref().unwrap_or("")).into(),
        ]),
    }
}

/// The score: untolerated `PreferNoSchedule` taints, fewer is better. Only
/// tolerations with an empty or `PreferNoSchedule` effect count.
pub(crate) fn score(tolerations: &[Toleration], nodes: &[FeasibleNode<'_>]) -> PluginScores {
    let prefer: Vec<&Toleration> = tolerations
        .iter()
        .filter(|t| matches!(t.effect.as_deref(), None | Some("" | "PreferNoSchedule")))
        .collect();
    let mut scores: Vec<i64> = nodes
        .iter()
        .map(|n| {
            let untolerated = n
                .info
                .taints()
                .iter()
                .filter(|taint| {
                    taint.effect == "PreferNoSchedule"
                        && !prefer.iter().any(|t| {
                            tolerates(
                                t,
                                &taint.key,
                                taint.value.as_deref().unwrap_or(""),
                                &taint.effect,
                            )
                        })
                })
                .count();
            i64::try_from(untolerated).unwrap_or(i64::MAX)
        })
        .collect();
    default_normalize(&mut scores, true);
    Some(scores)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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
    fn toleration_matching() {
        let t = |k, op, v, e| toleration(k, op, v, e);
        assert!(tolerates(
            &t("k", "Equal", "v", "NoSchedule"),
            "k",
            "v",
            "NoSchedule"
        ));
        assert!(tolerates(&t("k", "", "v", ""), "k", "v", "NoExecute"));
        assert!(!tolerates(
            &t("k", "Equal", "v", ""),
            "k",
            "w",
            "NoSchedule"
        ));
        assert!(tolerates(
            &t("k", "Exists", "", ""),
            "k",
            "anything",
            "NoSchedule"
        ));
        assert!(!tolerates(
            &t("k", "Exists", "", "NoExecute"),
            "k",
            "",
            "NoSchedule"
        ));
        assert!(!tolerates(
            &t("other", "Exists", "", ""),
            "k",
            "",
            "NoSchedule"
        ));
        assert!(tolerates(&t("", "Exists", "", ""), "k", "v", "NoExecute"));
        assert!(!tolerates(&t("k", "Gt", "1", ""), "k", "2", "NoSchedule"));
    }

    #[test]
    fn filter_reports_the_first_untolerated_taint() {
        let n = info(
            node("a", "1", "1Gi")
                .with_taint("soft", "", "PreferNoSchedule")
                .with_taint("dedicated", "gpu", "NoSchedule")
                .with_taint("evict", "", "NoExecute"),
        );
        assert_eq!(
            filter(&[], &n),
            Err(vec![
                "node(s) had untolerated taint {dedicated: gpu}".into()
            ])
        );
        let gpu = [toleration("dedicated", "Equal", "gpu", "NoSchedule")];
        assert_eq!(
            filter(&gpu, &n),
            Err(vec!["node(s) had untolerated taint {evict: }".into()])
        );
        let all = [toleration("", "Exists", "", "")];
        assert!(filter(&all, &n).is_ok());
    }

    #[test]
    fn score_prefers_fewer_untolerated_prefer_no_schedule_taints() {
        let nodes = [
            info(node("a", "1", "1Gi")),
            info(node("b", "1", "1Gi").with_taint("x", "", "PreferNoSchedule")),
            info(
                node("c", "1", "1Gi")
                    .with_taint("x", "", "PreferNoSchedule")
                    .with_taint("y", "", "PreferNoSchedule"),
            ),
        ];
        let feasible: Vec<_> = nodes
            .iter()
            .enumerate()
            .map(|(slot, info)| FeasibleNode { slot, info })
            .collect();
        assert_eq!(score(&[], &feasible), Some(vec![100, 50, 0]));
        // Tolerating x (a NoSchedule toleration does not count).
        let tol = [
            toleration("x", "Exists", "", "PreferNoSchedule"),
            toleration("y", "Exists", "", "NoSchedule"),
        ];
        assert_eq!(score(&tol, &feasible), Some(vec![100, 100, 0]));
    }
}
