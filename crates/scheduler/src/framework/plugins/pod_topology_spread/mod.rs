//! PodTopologySpread: keep a workload's pods evenly spread over domains
//! (nodes, zones, any node label).
//!
//! A constraint counts the pods matching its selector, in the pod's own
//! namespace and not terminating, per value of `topologyKey`. The *skew* of
//! a domain is its count (plus one if the incoming pod matches the selector
//! itself) minus the smallest count of any eligible domain.
//!
//! - **Filter** (`filter.rs`), `whenUnsatisfiable: DoNotSchedule`
//!   constraints: a node without the topology label fails with `node(s)
//!   didn't match pod topology spread constraints (missing required
//!   label)`; a node whose domain's skew would exceed `maxSkew` fails with
//!   `node(s) didn't match pod topology spread constraints`. With fewer
//!   eligible domains than `minDomains`, the minimum counts as 0.
//!   Eligible domains are those of the nodes that carry every constraint's
//!   key and pass the inclusion policies (`nodeAffinityPolicy: Honor`, the
//!   default, leaves out nodes the pod's node affinity rejects;
//!   `nodeTaintsPolicy: Honor` also those with untolerated taints).
//! - **Score** (`score.rs`, weight 2), `ScheduleAnyway` constraints: fewer
//!   matching pods in the node's domains is better; see `score.rs` for the
//!   formula. A pod with no constraints at all gets upstream's *system
//!   default* constraints when it belongs to a workload: `kubernetes.io/
//!   hostname` with maxSkew 3 and `topology.kubernetes.io/zone` with maxSkew 5.
//!
//! # Which pods are "the same workload"
//! Upstream builds the default constraints' selector from the Services,
//! ReplicationControllers, ReplicaSets and StatefulSets that select the pod.
//! This crate does no I/O, so the caller passes those selectors
//! ([`schedule`](crate::framework::schedule())'s `spread_selectors`); they
//! are ANDed, as upstream merges them. With none, pods with the same
//! controlling ReplicaSet, ReplicationController or StatefulSet (by owner
//! uid) are the workload.

mod filter;
mod score;

pub(crate) use filter::SpreadFilter;
pub(crate) use score::score;

use api_types::core::v1::{Pod, Toleration, TopologySpreadConstraint};
use api_types::labels::{LabelSelectorError, Operator, Requirement, Selector};

use super::node_affinity::RequiredNodeAffinity;
use super::taint_toleration::first_untolerated;
use crate::framework::node_info::NodeInfo;
use crate::framework::pod_groups::GroupKey;

/// The well-known node label naming the node (`LabelHostname`).
pub const HOSTNAME: &str = "kubernetes.io/hostname";
/// The well-known node label naming the zone (`LabelTopologyZone`).
pub const ZONE: &str = "topology.kubernetes.io/zone";

/// A node's domain would be too full.
pub const ERR_REASON_CONSTRAINTS_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints";
/// A node lacks a constraint's topology label.
pub const ERR_REASON_NODE_LABEL_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

/// Controllers whose pods get the system default spreading by owner.
const SPREAD_OWNER_KINDS: [&str; 3] = ["ReplicaSet", "ReplicationController", "StatefulSet"];

/// Which placed pods a constraint counts.
#[derive(Clone, Debug)]
pub(crate) enum PodMatcher {
    /// Pods whose labels match. An empty selector counts nothing, as
    /// upstream's `countPodsMatchSelector` returns early for it.
    Labels(Selector),
    /// Pods whose controller has this uid.
    Controller(String),
}

impl PodMatcher {
    /// Whether the (same-namespace, non-terminating) pods of a group count.
    pub fn counts(&self, key: &GroupKey) -> bool {
        match self {
            PodMatcher::Labels(s) => !s.is_empty() && s.matches(&key.labels),
            PodMatcher::Controller(uid) => key.controller_uid.as_deref() == Some(uid.as_str()),
        }
    }

    /// Whether the incoming pod counts itself.
    pub fn matches_pod(&self, pod: &Pod) -> bool {
        match self {
            PodMatcher::Labels(s) => s.matches(&pod.metadata.labels),
            PodMatcher::Controller(uid) => {
                pod.metadata.controller_ref().map(|r| r.uid.as_str()) == Some(uid.as_str())
            }
        }
    }
}

/// A parsed spread constraint.
#[derive(Clone, Debug)]
pub(crate) struct SpreadConstraint {
    pub max_skew: i64,
    pub topology_key: String,
    pub matcher: PodMatcher,
    pub min_domains: i64,
    pub honor_node_affinity: bool,
    pub honor_taints: bool,
}

/// The constraints the filter and the score use for one pod.
#[derive(Clone, Debug, Default)]
pub(crate) struct SpreadConstraints {
    /// `DoNotSchedule` constraints, for the filter.
    pub hard: Vec<SpreadConstraint>,
    /// `ScheduleAnyway` constraints, or the system defaults, for the score.
    pub soft: Vec<SpreadConstraint>,
    /// The pod has constraints of its own (then nodes lacking any topology
    /// key get no spreading score, as upstream's `requireAllTopologies`).
    pub explicit: bool,
}

impl SpreadConstraints {
    /// Parses the pod's constraints, falling back to the system defaults.
    ///
    /// # Errors
    /// An invalid label selector, or a `matchLabelKeys` key that is not a
    /// valid label key.
    pub fn of(pod: &Pod, spread_selectors: &[Selector]) -> Result<Self, LabelSelectorError> {
        let own = pod
            .spec
            .as_ref()
            .and_then(|s| s.topology_spread_constraints.as_deref())
            .unwrap_or_default();
        if own.is_empty() {
            return Ok(SpreadConstraints {
                hard: Vec::new(),
                soft: system_defaults(pod, spread_selectors),
                explicit: false,
            });
        }
        let parse = |when: &str| -> Result<Vec<SpreadConstraint>, LabelSelectorError> {
            own.iter()
                .filter(|c| c.when_unsatisfiable == when)
                .map(|c| parse(pod, c))
                .collect()
        };
        Ok(SpreadConstraints {
            hard: parse("DoNotSchedule")?,
            soft: parse("ScheduleAnyway")?,
            explicit: true,
        })
    }
}

fn parse(pod: &Pod, c: &TopologySpreadConstraint) -> Result<SpreadConstraint, LabelSelectorError> {
    let mut selector = Selector::from_optional_label_selector(c.label_selector.as_ref())?;
    // matchLabelKeys: AND `key=<the pod's value>` for the keys the pod has.
    if !selector.matches_nothing() {
        for key in c.match_label_keys.iter().flatten() {
            if let Some(value) = pod.metadata.labels.get(key) {
                selector = selector.with_requirement(Requirement::new(
                    key.clone(),
                    Operator::Equals,
                    [value.clone()],
                )?);
            }
        }
    }
    Ok(SpreadConstraint {
        max_skew: i64::from(c.max_skew),
        topology_key: c.topology_key.clone(),
        matcher: PodMatcher::Labels(selector),
        min_domains: c.min_domains.map_or(1, i64::from),
        honor_node_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
        honor_taints: c.node_taints_policy.as_deref() == Some("Honor"),
    })
}

/// Upstream's system default constraints for a pod of a workload, or none.
fn system_defaults(pod: &Pod, spread_selectors: &[Selector]) -> Vec<SpreadConstraint> {
    let matcher = if spread_selectors.is_empty() {
        let owner = pod
            .metadata
            .controller_ref()
            .filter(|r| SPREAD_OWNER_KINDS.contains(&r.kind.as_str()));
        match owner {
            Some(owner) => PodMatcher::Controller(owner.uid.clone()),
            None => return Vec::new(),
        }
    } else {
        let merged = merge(spread_selectors);
        if merged.is_empty() {
            return Vec::new();
        }
        PodMatcher::Labels(merged)
    };
    [(HOSTNAME, 3), (ZONE, 5)]
        .into_iter()
        .map(|(key, max_skew)| SpreadConstraint {
            max_skew,
            topology_key: key.to_owned(),
            matcher: matcher.clone(),
            min_domains: 1,
            honor_node_affinity: true,
            honor_taints: false,
        })
        .collect()
}

/// ANDs selectors together; any match-nothing selector wins.
fn merge(selectors: &[Selector]) -> Selector {
    let mut merged = Selector::everything();
    for s in selectors {
        if s.matches_nothing() {
            return Selector::nothing();
        }
        for r in s.requirements() {
            merged = merged.with_requirement(r.clone());
        }
    }
    merged
}

/// Whether the node carries every constraint's topology key.
fn has_all_keys(node: &NodeInfo, constraints: &[SpreadConstraint]) -> bool {
    let labels = node.labels();
    constraints
        .iter()
        .all(|c| labels.contains_key(&c.topology_key))
}

/// The node inclusion policies, with the node affinity verdict memoized per
/// slot (it is the expensive part and the same for every constraint).
pub(crate) struct Inclusion<'a> {
    required: &'a RequiredNodeAffinity,
    tolerations: &'a [Toleration],
    /// Per slot: 0 unknown, 1 matches, 2 does not.
    memo: Vec<u8>,
}

impl<'a> Inclusion<'a> {
    pub fn new(
        required: &'a RequiredNodeAffinity,
        tolerations: &'a [Toleration],
        slots: usize,
    ) -> Self {
        let memo = if required.is_empty() {
            Vec::new()
        } else {
            vec![0; slots]
        };
        Inclusion {
            required,
            tolerations,
            memo,
        }
    }

    /// Whether pods on `node` (in `slot`) count for `c`, and its domain is eligible.
    pub fn includes(&mut self, c: &SpreadConstraint, slot: usize, node: &NodeInfo) -> bool {
        if c.honor_node_affinity && !self.required.is_empty() {
            let verdict = match self.memo.get(slot).copied() {
                Some(0) | None => {
                    let v = if self.required.matches(node) { 1 } else { 2 };
                    if let Some(m) = self.memo.get_mut(slot) {
                        *m = v;
                    }
                    v
                }
                Some(v) => v,
            };
            if verdict != 1 {
                return false;
            }
        }
        !(c.honor_taints && first_untolerated(node.taints(), self.tolerations).is_some())
    }
}

#[cfg(test)]
mod tests;
