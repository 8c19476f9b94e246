//! `PodInfo`: a placed pod plus what the scheduler derives from it once.

use std::sync::Arc;

use api_types::core::v1::{Pod, PodSpec};

use super::affinity_terms::PodAffinityTerms;
use super::resources::PodRequests;

/// A host port a pod binds on its node: `(hostIP, protocol, hostPort)`.
///
/// An empty `hostIP` means every address (`0.0.0.0`) and an empty protocol
/// TCP, as upstream's `HostPortInfo` sanitizes them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    /// `0.0.0.0` for "all addresses".
    pub ip: String,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// 1-65535.
    pub port: i32,
}

/// The wildcard host IP.
pub const ALL_HOST_IPS: &str = "0.0.0.0";

impl HostPort {
    /// Whether binding `self` would collide with the already bound `other`:
    /// same protocol and port, and the same IP or either one the wildcard.
    pub fn conflicts_with(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip || self.ip == ALL_HOST_IPS || other.ip == ALL_HOST_IPS)
    }

    /// The host ports of a pod spec: every `containers[].ports[]` entry with
    /// a `hostPort` (upstream looks at regular containers only).
    pub fn of(spec: &PodSpec) -> Vec<HostPort> {
        spec.containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .filter_map(|p| {
                let port = p.host_port.filter(|&port| port > 0)?;
                let ip = p.host_ip.as_deref().filter(|ip| !ip.is_empty());
                let protocol = p.protocol.as_deref().filter(|proto| !proto.is_empty());
                Some(HostPort {
                    ip: ip.unwrap_or(ALL_HOST_IPS).to_owned(),
                    protocol: protocol.unwrap_or("TCP").to_owned(),
                    port,
                })
            })
            .collect()
    }
}

/// Identifies a [group](super::pod_groups) of identical-looking pods.
pub(crate) type GroupId = usize;

/// A pod assigned (or assumed) to a node, with its requests, host ports and
/// affinity terms computed once (upstream's `framework.PodInfo`).
#[derive(Clone, Debug)]
pub struct PodInfo {
    pod: Arc<Pod>,
    requests: PodRequests,
    host_ports: Vec<HostPort>,
    /// Only for pods with `podAffinity` or `podAntiAffinity`.
    affinity: Option<Box<PodAffinityTerms>>,
    pub(crate) group: GroupId,
    assumed: bool,
}

impl PodInfo {
    pub(crate) fn new(pod: Arc<Pod>, group: GroupId, assumed: bool) -> Self {
        let (requests, host_ports) = match &pod.spec {
            Some(spec) => (PodRequests::of(spec), HostPort::of(spec)),
            None => (PodRequests::default(), Vec::new()),
        };
        let has_pod_affinity = pod
            .spec
            .as_ref()
            .and_then(|s| s.affinity.as_ref())
            .is_some_and(|a| a.pod_affinity.is_some() || a.pod_anti_affinity.is_some());
        // A placed pod's unparsable term list is ignored, as upstream does.
        let affinity = has_pod_affinity.then(|| Box::new(PodAffinityTerms::parse(&pod).0));
        PodInfo {
            pod,
            requests,
            host_ports,
            affinity,
            group,
            assumed,
        }
    }

    /// The pod.
    pub fn pod(&self) -> &Arc<Pod> {
        &self.pod
    }

    /// Its requests.
    pub fn requests(&self) -> &PodRequests {
        &self.requests
    }

    /// The host ports it binds.
    pub fn host_ports(&self) -> &[HostPort] {
        &self.host_ports
    }

    /// Its parsed pod (anti-)affinity terms, if it has any affinity at all.
    pub fn affinity(&self) -> Option<&PodAffinityTerms> {
        self.affinity.as_deref()
    }

    /// Whether it has `podAffinity` or `podAntiAffinity` (upstream's
    /// `PodsWithAffinity` membership).
    pub fn has_affinity(&self) -> bool {
        self.affinity.is_some()
    }

    /// Whether it has required anti-affinity terms (upstream's
    /// `PodsWithRequiredAntiAffinity` membership).
    pub fn has_required_anti_affinity(&self) -> bool {
        self.affinity
            .as_ref()
            .is_some_and(|a| !a.required_anti_affinity.is_empty())
    }

    /// Whether the scheduler put it here itself and the binding has not yet
    /// come back through the watch.
    pub fn is_assumed(&self) -> bool {
        self.assumed
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::framework::testing::{PodBuild, pod};

    #[test]
    fn host_ports_are_sanitized() {
        let p = pod("p")
            .with_host_port("", "", 80)
            .with_host_port("10.0.0.1", "UDP", 53);
        let ports = HostPort::of(p.spec.as_ref().unwrap());
        assert_eq!(
            ports,
            vec![
                HostPort {
                    ip: "0.0.0.0".into(),
                    protocol: "TCP".into(),
                    port: 80
                },
                HostPort {
                    ip: "10.0.0.1".into(),
                    protocol: "UDP".into(),
                    port: 53
                },
            ]
        );
    }

    #[test]
    fn wildcard_conflicts() {
        let any = |ip: &str, port| HostPort {
            ip: ip.into(),
            protocol: "TCP".into(),
            port,
        };
        assert!(any("0.0.0.0", 80).conflicts_with(&any("10.0.0.1", 80)));
        assert!(any("10.0.0.1", 80).conflicts_with(&any("0.0.0.0", 80)));
        assert!(any("10.0.0.1", 80).conflicts_with(&any("10.0.0.1", 80)));
        assert!(!any("10.0.0.1", 80).conflicts_with(&any("10.0.0.2", 80)));
        assert!(!any("0.0.0.0", 80).conflicts_with(&any("0.0.0.0", 81)));
        let mut udp = any("0.0.0.0", 80);
        udp.protocol = "UDP".into();
        assert!(!udp.conflicts_with(&any("0.0.0.0", 80)));
    }
}
