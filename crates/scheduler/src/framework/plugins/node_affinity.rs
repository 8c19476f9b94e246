//! NodeAffinity: `spec.nodeSelector` and node affinity.
//!
//! - **Filter**: the node must carry every `nodeSelector` label, and match
//!   one of the `requiredDuringScheduling...` terms (terms are ORed, the
//!   expressions inside a term ANDed). Reason: `node(s) didn't match Pod's
//!   node affinity/selector`.
//! - **Score** (weight 2): the sum of the weights of the matching
//!   `preferredDuringScheduling...` terms, scaled so the best node gets 100.
//!
//! Operators: `In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt`, `Lt` on labels;
//! `In`/`NotIn` with one value on the field `metadata.name` (what DaemonSet
//! pods use). As upstream, an invalid term (a `Gt` with a non-integer, a
//! bad label key) and an empty term match no node, without failing the pod.

use std::collections::BTreeMap;

use api_types::core::v1::{NodeSelectorRequirement, NodeSelectorTerm, PodSpec};
use api_types::labels::{Operator, Requirement, Selector};

use super::normalize::default_normalize;
use super::{FeasibleNode, PluginScores};
use crate::framework::fit_error::Reasons;
use crate::framework::node_info::NodeInfo;

/// The filter's failure reason.
pub const ERR_REASON_POD: &str = "node(s) didn't match Pod's node affinity/selector";

/// The only node field a `matchFields` requirement can use.
const NODE_NAME_FIELD: &str = "metadata.name";

/// A parsed `NodeSelectorTerm`.
#[derive(Clone, Debug)]
pub(crate) struct NodeSelectorMatcher {
    labels: Option<Selector>,
    /// `(field, value, equal)`: `In` is equality, `NotIn` inequality.
    fields: Vec<(String, String, bool)>,
}

impl NodeSelectorMatcher {
    /// `None` for a term that cannot match (empty or invalid).
    pub fn parse(term: &NodeSelectorTerm) -> Option<Self> {
        let exprs = term.match_expressions.as_deref().unwrap_or_default();
        let fields = term.match_fields.as_deref().unwrap_or_default();
        if exprs.is_empty() && fields.is_empty() {
            return None;
        }
        let labels = if exprs.is_empty() {
            None
        } else {
            let mut selector = Selector::everything();
            for e in exprs {
                selector = selector.with_requirement(label_requirement(e)?);
            }
            Some(selector)
        };
        let fields = fields
            .iter()
            .map(field_requirement)
            .collect::<Option<_>>()?;
        Some(NodeSelectorMatcher { labels, fields })
    }

    pub fn matches(&self, node_name: &str, labels: &BTreeMap<String, String>) -> bool {
        self.labels.as_ref().is_none_or(|s| s.matches(labels))
            && self.fields.iter().all(|(field, value, equal)| {
                let actual = if field == NODE_NAME_FIELD {
                    node_name
                } else {
                    ""
                };
                (actual == value) == *equal
            })
    }
}

fn label_requirement(e: &NodeSelectorRequirement) -> Option<Requirement> {
    let op = match e.operator.as_str() {
        "In" => Operator::In,
        "NotIn" => Operator::NotIn,
        "Exists" => Operator::Exists,
        "DoesNotExist" => Operator::DoesNotExist,
        "Gt" => Operator::GreaterThan,
        "Lt" => Operator::LessThan,
        _ => return None,
    };
    Requirement::new(e.key.clone(), op, e.values.clone().unwrap_or_default()).ok()
}

fn field_requirement(e: &NodeSelectorRequirement) -> Option<(String, String, bool)> {
    let equal = match e.operator.as_str() {
        "In" => true,
        "NotIn" => false,
        _ => return None,
    };
    match e.values.as_deref() {
        Some([value]) => Some((e.key.clone(), value.clone(), equal)),
        _ => None,
    }
}

/// `spec.nodeSelector` and the required node affinity of a pod
/// (upstream's `nodeaffinity.RequiredNodeAffinity`).
#[derive(Clone, Debug, Default)]
pub(crate) struct RequiredNodeAffinity {
    node_selector: Option<BTreeMap<String, String>>,
    /// `None` without required node affinity; otherwise the terms that can
    /// match (possibly none, which matches no node).
    terms: Option<Vec<NodeSelectorMatcher>>,
}

impl RequiredNodeAffinity {
    pub fn of(spec: Option<&PodSpec>) -> Self {
        let node_selector = spec
            .and_then(|s| s.node_selector.clone())
            .filter(|m| !m.is_empty());
        let terms = spec
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|na| {
                na.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .map(|ns| {
                ns.node_selector_terms
                    .iter()
                    .filter_map(NodeSelectorMatcher::parse)
                    .collect()
            });
        RequiredNodeAffinity {
            node_selector,
            terms,
        }
    }

    /// Whether every node matches.
    pub fn is_empty(&self) -> bool {
        self.node_selector.is_none() && self.terms.is_none()
    }

    pub fn matches(&self, node: &NodeInfo) -> bool {
        let labels = node.labels();
        if let Some(selector) = &self.node_selector {
            if !selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
                return false;
            }
        }
        match &self.terms {
            None => true,
            Some(terms) => terms.iter().any(|t| t.matches(node.name(), labels)),
        }
    }
}

/// A parsed preferred term with its weight.
#[derive(Clone, Debug)]
pub(crate) struct PreferredNodeTerm {
    weight: i64,
    matcher: NodeSelectorMatcher,
}

/// The preferred node affinity terms of a pod; zero-weight, empty and
/// invalid terms are left out (upstream fails the cycle for invalid ones).
pub(crate) fn preferred_terms(spec: Option<&PodSpec>) -> Vec<PreferredNodeTerm> {
    spec.and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.preferred_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .into_iter()
        .flatten()
        .filter(|t| t.weight != 0)
        .filter_map(|t| {
            Some(PreferredNodeTerm {
                weight: i64::from(t.weight),
                matcher: NodeSelectorMatcher::parse(&t.preference)?,
            })
        })
        .collect()
}

/// The filter.
pub(crate) fn filter(required: &RequiredNodeAffinity, node: &NodeInfo) -> Result<(), Reasons> {
    if required.is_empty() || required.matches(node) {
        Ok(())
    } else {
        Err(vec![ERR_REASON_POD.into()])
    }
}

/// The score: skipped without preferred terms.
pub(crate) fn score(preferred: &[PreferredNodeTerm], nodes: &[FeasibleNode<'_>]) -> PluginScores {
    if preferred.is_empty() {
        return None;
    }
    let mut scores: Vec<i64> = nodes
        .iter()
        .map(|n| {
            preferred
                .iter()
                .filter(|t| t.matcher.matches(n.info.name(), n.info.labels()))
                .map(|t| t.weight)
                .sum()
        })
        .collect();
    default_normalize(&mut scores, false);
    Some(scores)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::framework::testing::{NodeBuild, PodBuild, node, pod, requirement};

    fn info(n: api_types::core::v1::Node) -> NodeInfo {
        let mut ni = NodeInfo::new(n.metadata.name.clone());
        ni.set_node(Arc::new(n));
        ni
    }

    fn check(p: &api_types::core::v1::Pod, n: &NodeInfo) -> Result<(), Reasons> {
        filter(&RequiredNodeAffinity::of(p.spec.as_ref()), n)
    }

    #[test]
    fn node_selector() {
        let ssd = info(node("a", "1", "1Gi").with_labels(&[("disk", "ssd")]));
        let hdd = info(node("b", "1", "1Gi").with_labels(&[("disk", "hdd")]));
        let p = pod("p").with_node_selector(&[("disk", "ssd")]);
        assert!(check(&p, &ssd).is_ok());
        assert_eq!(check(&p, &hdd), Err(vec![ERR_REASON_POD.into()]));
    }

    #[test]
    fn operators() {
        let n = info(node("a", "1", "1Gi").with_labels(&[("zone", "z1"), ("gen", "5")]));
        let ok = |op: &str, key: &str, values: &[&str]| {
            check(
                &pod("p").with_required_node_affinity(vec![vec![requirement(key, op, values)]]),
                &n,
            )
            .is_ok()
        };
        assert!(ok("In", "zone", &["z1", "z2"]));
        assert!(!ok("In", "zone", &["z2"]));
        assert!(ok("NotIn", "zone", &["z2"]));
        assert!(ok("NotIn", "absent", &["x"]));
        assert!(ok("Exists", "zone", &[]));
        assert!(!ok("DoesNotExist", "zone", &[]));
        assert!(ok("DoesNotExist", "absent", &[]));
        assert!(ok("Gt", "gen", &["4"]));
        assert!(!ok("Gt", "gen", &["5"]));
        assert!(ok("Lt", "gen", &["6"]));
        // Invalid terms match nothing.
        assert!(!ok("Gt", "gen", &["four"]));
        assert!(!ok("Exists", "zone", &["z1"]));
        assert!(!ok("Near", "zone", &["z1"]));
    }

    #[test]
    fn terms_are_ored_and_expressions_anded() {
        let n = info(node("a", "1", "1Gi").with_labels(&[("zone", "z1"), ("disk", "ssd")]));
        let both = pod("p").with_required_node_affinity(vec![vec![
            requirement("zone", "In", &["z1"]),
            requirement("disk", "In", &["hdd"]),
        ]]);
        assert!(check(&both, &n).is_err());
        let either = pod("p").with_required_node_affinity(vec![
            vec![requirement("disk", "In", &["hdd"])],
            vec![requirement("zone", "In", &["z1"])],
        ]);
        assert!(check(&either, &n).is_ok());
        let none = pod("p").with_required_node_affinity(vec![]);
        assert!(check(&none, &n).is_err());
    }

    #[test]
    fn match_fields_on_the_node_name() {
        let a = info(node("a", "1", "1Gi"));
        let b = info(node("b", "1", "1Gi"));
        let only_a = pod("p").with_node_name_affinity("In", "a");
        assert!(check(&only_a, &a).is_ok());
        assert!(check(&only_a, &b).is_err());
        let not_a = pod("p").with_node_name_affinity("NotIn", "a");
        assert!(check(&not_a, &a).is_err());
        assert!(check(&not_a, &b).is_ok());
    }

    #[test]
    fn preferred_weights_are_summed_and_scaled() {
        let p = pod("p")
            .with_preferred_node_affinity(20, vec![requirement("zone", "In", &["z1"])])
            .with_preferred_node_affinity(60, vec![requirement("disk", "In", &["ssd"])]);
        let nodes = [
            info(node("a", "1", "1Gi").with_labels(&[("zone", "z1")])),
            info(node("b", "1", "1Gi").with_labels(&[("zone", "z1"), ("disk", "ssd")])),
            info(node("c", "1", "1Gi")),
        ];
        let feasible: Vec<_> = nodes
            .iter()
            .enumerate()
            .map(|(slot, info)| FeasibleNode { slot, info })
            .collect();
        let terms = preferred_terms(p.spec.as_ref());
        // Raw 20, 80, 0; scaled to the maximum: 20*100/80 = 25.
        assert_eq!(score(&terms, &feasible), Some(vec![25, 100, 0]));
        assert_eq!(score(&[], &feasible), None);
    }
}
