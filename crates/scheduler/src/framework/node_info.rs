//! `NodeInfo`: one node and the pods on it, with running totals.
//!
//! Every filter and score reads a node through its `NodeInfo`. The totals
//! (requested resources, host ports in use, how many pods carry affinity)
//! are kept up to date as pods come and go, so that checking a node costs a
//! handful of integer comparisons instead of a walk over its pods.

use std::collections::BTreeMap;
use std::sync::Arc;

use api_types::core::v1::{Node, Taint};

use super::pod_info::{HostPort, PodInfo};
use super::resources::Resources;

/// What the node's `Ready` condition says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeReadiness {
    /// `Ready=True`.
    Ready,
    /// `Ready=False`, or no `Ready` condition yet (a node that has just
    /// registered). Upstream's lifecycle controller taints such a node
    /// `node.kubernetes.io/not-ready:NoSchedule`.
    NotReady,
    /// `Ready=Unknown`: the kubelet stopped reporting. Upstream taints it
    /// `node.kubernetes.io/unreachable:NoSchedule`.
    Unreachable,
}

impl NodeReadiness {
    fn of(node: &Node) -> Self {
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
        match ready.map(|c| c.status.as_str()) {
            Some("True") => NodeReadiness::Ready,
            Some("Unknown") => NodeReadiness::Unreachable,
            _ => NodeReadiness::NotReady,
        }
    }
}

/// A node and the pods assigned to it (upstream's `framework.NodeInfo`).
///
/// # Caveats
/// A `NodeInfo` can exist without its node: pods may arrive before their
/// node does, and a deleted node's pods linger until they are deleted too.
/// Such a "ghost" is never offered to the filters.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    name: String,
    node: Option<Arc<Node>>,
    allocatable: Resources,
    readiness: NodeReadiness,
    pods: BTreeMap<String, PodInfo>,
    requested: Resources,
    non_zero_milli_cpu: i64,
    non_zero_memory: i64,
    used_ports: Vec<(HostPort, u32)>,
    pods_with_affinity: usize,
    pods_with_required_anti_affinity: usize,
}

impl NodeInfo {
    pub(crate) fn new(name: String) -> Self {
        NodeInfo {
            name,
            node: None,
            allocatable: Resources::default(),
            readiness: NodeReadiness::NotReady,
            pods: BTreeMap::new(),
            requested: Resources::default(),
            non_zero_milli_cpu: 0,
            non_zero_memory: 0,
            used_ports: Vec::new(),
            pods_with_affinity: 0,
            pods_with_required_anti_affinity: 0,
        }
    }

    /// Sets (or replaces) the node object and what is derived from it.
    pub(crate) fn set_node(&mut self, node: Arc<Node>) {
        let status = node.status.as_ref();
        // Upstream reads allocatable only; a node that reports capacity but
        // no allocatable (a hand-written test node) gets its capacity.
        let list = status
            .and_then(|s| s.allocatable.as_ref())
            .or_else(|| status.and_then(|s| s.capacity.as_ref()));
        self.allocatable = list.map(Resources::from_list).unwrap_or_default();
        self.readiness = NodeReadiness::of(&node);
        self.node = Some(node);
    }

    pub(crate) fn clear_node(&mut self) {
        self.node = None;
        self.allocatable = Resources::default();
        self.readiness = NodeReadiness::NotReady;
    }

    pub(crate) fn add_pod(&mut self, key: String, info: PodInfo) {
        let r = info.requests();
        self.requested.add(&r.requests);
        self.non_zero_milli_cpu = self.non_zero_milli_cpu.saturating_add(r.non_zero_milli_cpu);
        self.non_zero_memory = self.non_zero_memory.saturating_add(r.non_zero_memory);
        for port in info.host_ports() {
            match self.used_ports.iter_mut().find(|(p, _)| p == port) {
                Some((_, n)) => *n += 1,
                None => self.used_ports.push((port.clone(), 1)),
            }
        }
        if info.has_affinity() {
            self.pods_with_affinity += 1;
        }
        if info.has_required_anti_affinity() {
            self.pods_with_required_anti_affinity += 1;
        }
        if let Some(old) = self.pods.insert(key, info) {
            // Callers remove before they add; stay consistent regardless.
            self.subtract(&old);
        }
    }

    pub(crate) fn remove_pod(&mut self, key: &str) -> Option<PodInfo> {
        let info = self.pods.remove(key)?;
        self.subtract(&info);
        Some(info)
    }

    fn subtract(&mut self, info: &PodInfo) {
        let r = info.requests();
        self.requested.sub(&r.requests);
        self.non_zero_milli_cpu = self.non_zero_milli_cpu.saturating_sub(r.non_zero_milli_cpu);
        self.non_zero_memory = self.non_zero_memory.saturating_sub(r.non_zero_memory);
        for port in info.host_ports() {
            if let Some(i) = self.used_ports.iter().position(|(p, _)| p == port) {
                self.used_ports[i].1 -= 1;
                if self.used_ports[i].1 == 0 {
                    self.used_ports.swap_remove(i);
                }
            }
        }
        if info.has_affinity() {
            self.pods_with_affinity = self.pods_with_affinity.saturating_sub(1);
        }
        if info.has_required_anti_affinity() {
            self.pods_with_required_anti_affinity =
                self.pods_with_required_anti_affinity.saturating_sub(1);
        }
    }

    /// The node's name (also for a ghost).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node object, `None` for a ghost.
    pub fn node(&self) -> Option<&Arc<Node>> {
        self.node.as_ref()
    }

    /// The node's labels (empty for a ghost).
    pub fn labels(&self) -> &BTreeMap<String, String> {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        self.node.as_ref().map_or(&EMPTY, |n| &n.metadata.labels)
    }

    /// `spec.taints`.
    pub fn taints(&self) -> &[Taint] {
        self.node
            .as_ref()
            .and_then(|n| n.spec.as_ref())
            .and_then(|s| s.taints.as_deref())
            .unwrap_or_default()
    }

    /// `spec.unschedulable` (cordoned).
    pub fn unschedulable(&self) -> bool {
        self.node
            .as_ref()
            .and_then(|n| n.spec.as_ref())
            .and_then(|s| s.unschedulable)
            .unwrap_or(false)
    }

    /// What the `Ready` condition says.
    pub fn readiness(&self) -> NodeReadiness {
        self.readiness
    }

    /// `status.allocatable` (or `status.capacity` when allocatable is missing).
    pub fn allocatable(&self) -> &Resources {
        &self.allocatable
    }

    /// The sum of the requests of the pods on the node.
    pub fn requested(&self) -> &Resources {
        &self.requested
    }

    /// Requested CPU with the 100m default for containers without a CPU request.
    pub fn non_zero_milli_cpu(&self) -> i64 {
        self.non_zero_milli_cpu
    }

    /// Requested memory with the 200 MiB default for containers without a memory request.
    pub fn non_zero_memory(&self) -> i64 {
        self.non_zero_memory
    }

    /// The pods on the node, by `namespace/name`.
    pub fn pods(&self) -> &BTreeMap<String, PodInfo> {
        &self.pods
    }

    /// Host ports bound by the pods on the node.
    pub fn used_ports(&self) -> impl Iterator<Item = &HostPort> {
        self.used_ports.iter().map(|(p, _)| p)
    }

    /// How many pods on the node have pod affinity or anti-affinity.
    pub fn pods_with_affinity(&self) -> usize {
        self.pods_with_affinity
    }

    /// How many pods on the node have required pod anti-affinity.
    pub fn pods_with_required_anti_affinity(&self) -> usize {
        self.pods_with_required_anti_affinity
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::framework::resources::DEFAULT_MEMORY_REQUEST;
    use crate::framework::testing::{NodeBuild, PodBuild, node, pod};

    fn info(p: api_types::core::v1::Pod) -> PodInfo {
        PodInfo::new(Arc::new(p), 0, false)
    }

    #[test]
    fn totals_follow_pods_in_and_out() {
        let mut ni = NodeInfo::new("n1".into());
        ni.set_node(Arc::new(node("n1", "4", "8Gi")));
        assert_eq!(ni.allocatable().milli_cpu, 4000);
        assert_eq!(ni.allocatable().pods, 110);

        ni.add_pod(
            "default/a".into(),
            info(pod("a").with_requests("500m", "1Gi")),
        );
        ni.add_pod(
            "default/b".into(),
            info(pod("b").with_host_port("", "", 8080)),
        );
        assert_eq!(ni.requested().milli_cpu, 500);
        assert_eq!(ni.requested().memory, 1 << 30);
        // b requests nothing: it counts as 100m / 200Mi for scoring.
        assert_eq!(ni.non_zero_milli_cpu(), 600);
        assert_eq!(ni.non_zero_memory(), (1 << 30) + DEFAULT_MEMORY_REQUEST);
        assert_eq!(ni.used_ports().count(), 1);

        ni.remove_pod("default/b").unwrap();
        assert_eq!(ni.non_zero_milli_cpu(), 500);
        assert_eq!(ni.used_ports().count(), 0);
        assert!(ni.remove_pod("default/b").is_none());
    }

    #[test]
    fn allocatable_falls_back_to_capacity() {
        let mut n = node("n1", "2", "1Gi");
        if let Some(s) = n.status.as_mut() {
            s.capacity = s.allocatable.take();
        }
        let mut ni = NodeInfo::new("n1".into());
        ni.set_node(Arc::new(n));
        assert_eq!(ni.allocatable().milli_cpu, 2000);
    }

    #[test]
    fn readiness_from_the_ready_condition() {
        let mut ni = NodeInfo::new("n".into());
        ni.set_node(Arc::new(node("n", "1", "1Gi")));
        assert_eq!(ni.readiness(), NodeReadiness::Ready);
        ni.set_node(Arc::new(node("n", "1", "1Gi").with_ready("False")));
        assert_eq!(ni.readiness(), NodeReadiness::NotReady);
        ni.set_node(Arc::new(node("n", "1", "1Gi").with_ready("Unknown")));
        assert_eq!(ni.readiness(), NodeReadiness::Unreachable);
        ni.set_node(Arc::new(node("n", "1", "1Gi").without_conditions()));
        assert_eq!(ni.readiness(), NodeReadiness::NotReady);
    }

    #[test]
    fn counts_pods_with_affinity() {
        use crate::framework::testing::term;
        let mut ni = NodeInfo::new("n".into());
        ni.add_pod(
            "default/a".into(),
            info(pod("a").with_pod_anti_affinity(vec![term("app", "x", "zone")])),
        );
        ni.add_pod(
            "default/b".into(),
            info(pod("b").with_pod_affinity(vec![term("app", "x", "zone")])),
        );
        assert_eq!(ni.pods_with_affinity(), 2);
        assert_eq!(ni.pods_with_required_anti_affinity(), 1);
        ni.remove_pod("default/a");
        assert_eq!(ni.pods_with_required_anti_affinity(), 0);
    }
}
