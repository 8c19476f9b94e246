//! Pod (anti-)affinity terms, parsed once per pod.
//!
//! A `PodAffinityTerm` says "pods matching `labelSelector`, in these
//! namespaces, within the same `topologyKey` domain". Both sides of
//! inter-pod affinity need it parsed: the incoming pod's terms (matched
//! against the pods already placed) and the placed pods' terms (matched
//! against the incoming pod, for their anti-affinity and for scoring).
//! Parsing happens when a pod enters the cache or a scheduling cycle, never
//! per node.

use std::collections::{BTreeMap, BTreeSet};

use api_types::core::v1::{Pod, PodAffinityTerm, WeightedPodAffinityTerm};
use api_types::labels::{LabelSelectorError, Operator, Requirement, Selector};

/// A parsed `PodAffinityTerm` (upstream's `framework.AffinityTerm`).
#[derive(Clone, Debug)]
pub struct AffinityTerm {
    /// `namespaces`, or the owning pod's namespace when neither
    /// `namespaces` nor `namespaceSelector` is given.
    pub namespaces: BTreeSet<String>,
    /// `namespaceSelector`; a missing one matches no namespace, an empty
    /// one (`{}`) every namespace.
    pub namespace_selector: Selector,
    /// `labelSelector` plus `matchLabelKeys`/`mismatchLabelKeys`; a missing
    /// one matches no pod.
    pub selector: Selector,
    /// The node label that defines a domain, e.g. `kubernetes.io/hostname`.
    pub topology_key: String,
}

/// A parsed `WeightedPodAffinityTerm`.
#[derive(Clone, Debug)]
pub struct WeightedAffinityTerm {
    /// The term.
    pub term: AffinityTerm,
    /// 1-100, added to (affinity) or taken from (anti-affinity) a domain's score.
    pub weight: i64,
}

impl AffinityTerm {
    /// Parses `term` as written in the spec of `owner`.
    ///
    /// `matchLabelKeys` and `mismatchLabelKeys` become `key in (v)` and
    /// `key notin (v)` with the owner's value for `key` (keys the owner does
    /// not carry are skipped), as the apiserver merges them upstream; merging
    /// them twice would only repeat an identical requirement.
    ///
    /// # Errors
    /// An invalid label or namespace selector.
    pub fn parse(owner: &Pod, term: &PodAffinityTerm) -> Result<Self, LabelSelectorError> {
        let mut selector = Selector::from_optional_label_selector(term.label_selector.as_ref())?;
        if !selector.matches_nothing() {
            let labels = &owner.metadata.labels;
            for (keys, op) in [
                (&term.match_label_keys, Operator::In),
                (&term.mismatch_label_keys, Operator::NotIn),
            ] {
                for key in keys.iter().flatten() {
                    if let Some(value) = labels.get(key) {
                        selector = selector.with_requirement(Requirement::new(
                            key.clone(),
                            op,
                            [value.clone()],
                        )?);
                    }
                }
            }
        }
        let namespace_selector =
            Selector::from_optional_label_selector(term.namespace_selector.as_ref())?;
        let listed = term.namespaces.as_deref().unwrap_or_default();
        let namespaces = if listed.is_empty() && term.namespace_selector.is_none() {
            BTreeSet::from([owner.metadata.namespace.clone()])
        } else {
            listed.iter().cloned().collect()
        };
        Ok(AffinityTerm {
            namespaces,
            namespace_selector,
            selector,
            topology_key: term.topology_key.clone(),
        })
    }

    /// Whether a pod in `namespace` (whose namespace carries
    /// `namespace_labels`) with `labels` matches this term.
    pub fn matches(
        &self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
        namespace_labels: &BTreeMap<String, String>,
    ) -> bool {
        (self.namespaces.contains(namespace) || self.namespace_selector.matches(namespace_labels))
            && self.selector.matches(labels)
    }

    /// Whether this term needs namespace labels, i.e. may match pods in
    /// namespaces it does not list.
    pub fn selects_namespaces(&self) -> bool {
        !self.namespace_selector.matches_nothing()
    }
}

/// All four kinds of pod affinity terms of one pod.
#[derive(Clone, Debug, Default)]
pub struct PodAffinityTerms {
    /// `podAffinity.requiredDuringSchedulingIgnoredDuringExecution`.
    pub required_affinity: Vec<AffinityTerm>,
    /// `podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution`.
    pub required_anti_affinity: Vec<AffinityTerm>,
    /// `podAffinity.preferredDuringSchedulingIgnoredDuringExecution`.
    pub preferred_affinity: Vec<WeightedAffinityTerm>,
    /// `podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution`.
    pub preferred_anti_affinity: Vec<WeightedAffinityTerm>,
}

impl PodAffinityTerms {
    /// Parses the terms of `pod`. Like upstream's `PodInfo`, a list with an
    /// unparsable term is dropped as a whole and the first error returned
    /// beside the rest, so that a placed pod with a bad selector still counts
    /// for everything else while an incoming one can be rejected.
    pub fn parse(pod: &Pod) -> (Self, Option<LabelSelectorError>) {
        let affinity = pod.spec.as_ref().and_then(|s| s.affinity.as_ref());
        let pod_affinity = affinity.and_then(|a| a.pod_affinity.as_ref());
        let anti_affinity = affinity.and_then(|a| a.pod_anti_affinity.as_ref());
        let mut first_error = None;
        let terms = PodAffinityTerms {
            required_affinity: keep(
                parse_terms(
                    pod,
                    pod_affinity.and_then(|a| {
                        a.required_during_scheduling_ignored_during_execution
                            .as_deref()
                    }),
                ),
                &mut first_error,
            ),
            required_anti_affinity: keep(
                parse_terms(
                    pod,
                    anti_affinity.and_then(|a| {
                        a.required_during_scheduling_ignored_during_execution
                            .as_deref()
                    }),
                ),
                &mut first_error,
            ),
            preferred_affinity: keep(
                parse_weighted(
                    pod,
                    pod_affinity.and_then(|a| {
                        a.preferred_during_scheduling_ignored_during_execution
                            .as_deref()
                    }),
                ),
                &mut first_error,
            ),
            preferred_anti_affinity: keep(
                parse_weighted(
                    pod,
                    anti_affinity.and_then(|a| {
                        a.preferred_during_scheduling_ignored_during_execution
                            .as_deref()
                    }),
                ),
                &mut first_error,
            ),
        };
        (terms, first_error)
    }

    /// Whether there is no term at all.
    pub fn is_empty(&self) -> bool {
        self.required_affinity.is_empty()
            && self.required_anti_affinity.is_empty()
            && self.preferred_affinity.is_empty()
            && self.preferred_anti_affinity.is_empty()
    }
}

/// The list, or an empty one with the error remembered.
fn keep<T>(
    result: Result<Vec<T>, LabelSelectorError>,
    first_error: &mut Option<LabelSelectorError>,
) -> Vec<T> {
    result.unwrap_or_else(|e| {
        first_error.get_or_insert(e);
        Vec::new()
    })
}

fn parse_terms(
    pod: &Pod,
    terms: Option<&[PodAffinityTerm]>,
) -> Result<Vec<AffinityTerm>, LabelSelectorError> {
    terms
        .unwrap_or_default()
        .iter()
        .map(|t| AffinityTerm::parse(pod, t))
        .collect()
}

fn parse_weighted(
    pod: &Pod,
    terms: Option<&[WeightedPodAffinityTerm]>,
) -> Result<Vec<WeightedAffinityTerm>, LabelSelectorError> {
    terms
        .unwrap_or_default()
        .iter()
        .map(|t| {
            Ok(WeightedAffinityTerm {
                term: AffinityTerm::parse(pod, &t.pod_affinity_term)?,
                weight: i64::from(t.weight),
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::framework::testing::{PodBuild, labels, pod, term};
    use api_types::meta::v1::LabelSelector;

    #[test]
    fn namespaces_default_to_the_owner() {
        let owner = pod("p").in_namespace("team-a");
        let t = AffinityTerm::parse(&owner, &term("app", "web", "zone")).unwrap();
        let web = labels(&[("app", "web")]);
        assert!(t.matches("team-a", &web, &BTreeMap::new()));
        assert!(!t.matches("team-b", &web, &BTreeMap::new()));
        assert!(!t.matches("team-a", &labels(&[("app", "db")]), &BTreeMap::new()));
    }

    #[test]
    fn empty_namespace_selector_matches_every_namespace() {
        let owner = pod("p");
        let mut raw = term("app", "web", "zone");
        raw.namespace_selector = Some(LabelSelector::default());
        let t = AffinityTerm::parse(&owner, &raw).unwrap();
        assert!(t.matches("anywhere", &labels(&[("app", "web")]), &BTreeMap::new()));

        raw.namespace_selector = Some(LabelSelector {
            match_labels: Some(labels(&[("env", "prod")])),
            ..Default::default()
        });
        let t = AffinityTerm::parse(&owner, &raw).unwrap();
        let web = labels(&[("app", "web")]);
        assert!(t.matches("x", &web, &labels(&[("env", "prod")])));
        assert!(!t.matches("x", &web, &labels(&[("env", "dev")])));
    }

    #[test]
    fn missing_label_selector_matches_nothing() {
        let mut raw = term("app", "web", "zone");
        raw.label_selector = None;
        let t = AffinityTerm::parse(&pod("p"), &raw).unwrap();
        assert!(!t.matches("default", &BTreeMap::new(), &BTreeMap::new()));
    }

    #[test]
    fn match_label_keys_take_the_owners_values() {
        let owner = pod("p").with_labels(&[("app", "web"), ("rev", "7")]);
        let mut raw = term("app", "web", "zone");
        raw.match_label_keys = Some(vec!["rev".to_owned(), "absent".to_owned()]);
        let t = AffinityTerm::parse(&owner, &raw).unwrap();
        assert!(t.matches(
            "default",
            &labels(&[("app", "web"), ("rev", "7")]),
            &BTreeMap::new()
        ));
        assert!(!t.matches(
            "default",
            &labels(&[("app", "web"), ("rev", "6")]),
            &BTreeMap::new()
        ));
    }

    #[test]
    fn a_bad_term_drops_its_list_only() {
        let mut bad = term("app", "web", "zone");
        if let Some(sel) = bad.label_selector.as_mut() {
            sel.match_labels = Some(labels(&[("bad key!", "x")]));
        }
        let p = pod("p")
            .with_pod_anti_affinity(vec![bad])
            .with_pod_affinity(vec![term("app", "db", "zone")]);
        let (terms, err) = PodAffinityTerms::parse(&p);
        assert!(err.is_some());
        assert!(terms.required_anti_affinity.is_empty());
        assert_eq!(terms.required_affinity.len(), 1);
    }
}
