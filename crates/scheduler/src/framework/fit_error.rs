//! `FitError`: why no node fits, in upstream's words.
//!
//! The message lands in the pod's `FailedScheduling` event and its
//! `PodScheduled=False` condition, where users and tools (the cluster
//! autoscaler, `kubectl describe`) read it, so it is upstream's format to
//! the character:
//!
//! ```text
//! 0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector.
//! ```
//!
//! Each node contributes the reasons of the first filter it failed (one
//! filter may give several, e.g. `Insufficient cpu` and `Insufficient
//! memory`). The reasons are counted, formatted as `"<count> <reason>"` and
//! those strings sorted byte-wise, as Go's `sort.Strings` does; so with
//! different counts the digits decide the order (`10 ...` before `2 ...`).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// A scheduling failure: no node passed the filters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FitError {
    /// How many nodes the cluster had.
    pub num_all_nodes: usize,
    /// How many nodes failed for each reason.
    pub reasons: BTreeMap<String, usize>,
    /// Set when the pod was rejected before any node was looked at (its
    /// spec cannot be evaluated); it then replaces the per-node reasons.
    pub pre_filter_msg: Option<String>,
}

impl std::error::Error for FitError {}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.num_all_nodes == 0 {
            return f.write_str("no nodes available to schedule pods");
        }
        write!(f, "0/{} nodes are available:", self.num_all_nodes)?;
        if let Some(msg) = &self.pre_filter_msg {
            return write!(f, " {msg}.");
        }
        let mut histogram: Vec<String> = self
            .reasons
            .iter()
            .map(|(reason, count)| format!("{count} {reason}"))
            .collect();
        histogram.sort();
        if !histogram.is_empty() {
            write!(f, " {}.", histogram.join(", "))?;
        }
        Ok(())
    }
}

/// A filter's verdict on one node: the reasons it does not fit.
pub(crate) type Reasons = Vec<Cow<'static, str>>;

/// Collects the failure reasons of one scheduling cycle.
#[derive(Debug, Default)]
pub(crate) struct Diagnosis {
    reasons: HashMap<Cow<'static, str>, usize>,
}

impl Diagnosis {
    pub fn record(&mut self, reasons: Reasons) {
        for reason in reasons {
            *self.reasons.entry(reason).or_default() += 1;
        }
    }

    pub fn into_error(self, num_all_nodes: usize) -> FitError {
        FitError {
            num_all_nodes,
            reasons: self
                .reasons
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v))
                .collect(),
            pre_filter_msg: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_format() {
        let mut d = Diagnosis::default();
        d.record(vec!["Insufficient cpu".into()]);
        for _ in 0..2 {
            d.record(vec![
                "node(s) didn't match Pod's node affinity/selector".into(),
            ]);
        }
        assert_eq!(
            d.into_error(3).to_string(),
            "0/3 nodes are available: 1 Insufficient cpu, \
             2 node(s) didn't match Pod's node affinity/selector."
        );
    }

    #[test]
    fn one_node_may_give_several_reasons() {
        let mut d = Diagnosis::default();
        d.record(vec![
            "Insufficient cpu".into(),
            "Insufficient memory".into(),
        ]);
        d.record(vec!["Insufficient memory".into()]);
        assert_eq!(
            d.into_error(2).to_string(),
            "0/2 nodes are available: 1 Insufficient cpu, 2 Insufficient memory."
        );
    }

    #[test]
    fn sorted_as_strings_count_first() {
        let mut reasons = BTreeMap::new();
        reasons.insert("node(s) were unschedulable".to_owned(), 10);
        reasons.insert("Insufficient cpu".to_owned(), 2);
        let e = FitError {
            num_all_nodes: 12,
            reasons,
            pre_filter_msg: None,
        };
        assert_eq!(
            e.to_string(),
            "0/12 nodes are available: 10 node(s) were unschedulable, 2 Insufficient cpu."
        );
    }

    #[test]
    fn no_nodes_and_pre_filter() {
        assert_eq!(
            FitError::default().to_string(),
            "no nodes available to schedule pods"
        );
        let e = FitError {
            num_all_nodes: 4,
            reasons: BTreeMap::new(),
            pre_filter_msg: Some("parsing pod: bad selector".into()),
        };
        assert_eq!(
            e.to_string(),
            "0/4 nodes are available: parsing pod: bad selector."
        );
    }
}
