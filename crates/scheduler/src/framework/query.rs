//! `PodQuery`: everything the filters and scores need from the pod being
//! scheduled, derived once per scheduling cycle rather than once per node.

use std::collections::BTreeMap;

use api_types::core::v1::{Pod, Toleration};
use api_types::labels::Selector;

use super::affinity_terms::PodAffinityTerms;
use super::plugins::node_affinity::{PreferredNodeTerm, RequiredNodeAffinity, preferred_terms};
use super::plugins::node_ready::ReadinessTolerations;
use super::plugins::node_unschedulable::tolerates_unschedulable;
use super::plugins::pod_topology_spread::SpreadConstraints;
use super::pod_info::HostPort;
use super::resources::PodRequests;

/// The pod being scheduled, pre-digested.
pub(crate) struct PodQuery<'p> {
    pub pod: &'p Pod,
    pub namespace: &'p str,
    pub labels: &'p BTreeMap<String, String>,
    pub requests: PodRequests,
    pub tolerations: &'p [Toleration],
    pub tolerates_unschedulable: bool,
    pub readiness_tolerations: ReadinessTolerations,
    pub host_ports: Vec<HostPort>,
    pub required_node_affinity: RequiredNodeAffinity,
    pub preferred_node_affinity: Vec<PreferredNodeTerm>,
    pub pod_affinity: PodAffinityTerms,
    pub spread: SpreadConstraints,
}

impl<'p> PodQuery<'p> {
    /// Digests `pod`.
    ///
    /// # Errors
    /// The message for [`FitError::pre_filter_msg`](super::FitError) when
    /// a pod affinity term or a topology spread constraint has an invalid
    /// selector: such a pod cannot be evaluated against any node.
    pub fn new(pod: &'p Pod, spread_selectors: &[Selector]) -> Result<Self, String> {
        let spec = pod.spec.as_ref();
        let tolerations = spec
            .and_then(|s| s.tolerations.as_deref())
            .unwrap_or_default();
        let (pod_affinity, error) = PodAffinityTerms::parse(pod);
        if let Some(e) = error {
            return Err(format!("parsing pod affinity: {e}"));
        }
        let spread = SpreadConstraints::of(pod, spread_selectors)
            .map_err(|e| format!("parsing topology spread constraints: {e}"))?;
        Ok(PodQuery {
            pod,
            namespace: &pod.metadata.namespace,
            labels: &pod.metadata.labels,
            requests: spec.map(PodRequests::of).unwrap_or_default(),
            tolerations,
            tolerates_unschedulable: tolerates_unschedulable(tolerations),
            readiness_tolerations: ReadinessTolerations::of(tolerations),
            host_ports: spec.map(HostPort::of).unwrap_or_default(),
            required_node_affinity: RequiredNodeAffinity::of(spec),
            preferred_node_affinity: preferred_terms(spec),
            pod_affinity,
            spread,
        })
    }
}
