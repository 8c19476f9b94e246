//! `ClusterState`: the scheduler cache.
//!
//! Upstream's scheduler keeps its own view of the cluster, fed by informers:
//! every node, and every pod that is assigned to one. The scheduler then
//! *assumes* each pod it has just placed, so the next decision sees it
//! before the binding comes back through the watch, and *forgets* it if the
//! binding fails. This is that cache, minus the informers: the caller feeds
//! it events and passes it to [`schedule`](super::schedule()).
//!
//! # Cost
//! Every update is O(log n) or O(1) in the number of nodes and pods, except
//! adding or removing a node, which also shifts a vector of node indices
//! (a `memmove` of 20 KB at 5,000 nodes). Nothing is copied per scheduling
//! cycle: `schedule` reads this structure in place.
//!
//! # Guarantees
//! - Nodes are iterated in name order, so decisions are reproducible.
//! - A pod may arrive before its node; it is kept on a *ghost* `NodeInfo`
//!   that no filter sees until the node arrives.
//! - Pods that are not assigned (no `spec.nodeName`) and pods that finished
//!   (`status.phase` `Succeeded` or `Failed`) are not kept: they hold no
//!   resources (upstream's informer filters them out the same way).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use api_types::core::v1::{Node, Pod};

use super::node_info::NodeInfo;
use super::pod_groups::{Group, GroupKey, PodGroups};
use super::pod_info::PodInfo;
use super::topology::TopologyIndex;

/// Why the cache refused an update.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// `assume` for a pod that is already in the cache (bound or assumed).
    #[error("pod {0} is already in the scheduler cache")]
    AlreadyInCache(String),
}

/// The scheduler's cache of nodes and assigned pods (upstream's
/// `internal/cache` together with its snapshot).
#[derive(Clone, Debug, Default)]
pub struct ClusterState {
    /// Node infos by slot; `None` marks a free slot.
    slots: Vec<Option<NodeInfo>>,
    free_slots: Vec<usize>,
    /// Every slot in use (nodes and ghosts) by node name.
    by_name: HashMap<String, usize>,
    /// Slots of the nodes that exist, sorted by node name.
    ordered: Vec<usize>,
    /// Where each cached pod is: `namespace/name` to slot.
    pods: HashMap<String, usize>,
    groups: PodGroups,
    /// Slots with at least one pod with pod (anti-)affinity.
    affinity_slots: BTreeSet<usize>,
    /// Slots with at least one pod with required pod anti-affinity.
    anti_affinity_slots: BTreeSet<usize>,
    /// Namespace labels, for `namespaceSelector` in pod affinity terms.
    namespaces: HashMap<String, BTreeMap<String, String>>,
    /// Each slot's hostname, zone and region as numbers.
    topology: TopologyIndex,
}

impl ClusterState {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    // ----- nodes -----

    /// Adds a node, or replaces it if it is already known.
    pub fn add_node(&mut self, node: Arc<Node>) {
        let name = node.metadata.name.clone();
        let slot = self.slot_for(&name);
        let existed = self.slots[slot]
            .as_ref()
            .is_some_and(|ni| ni.node().is_some());
        self.topology.set(slot, Some(&node.metadata.labels));
        if let Some(ni) = self.slots[slot].as_mut() {
            ni.set_node(node);
        }
        if !existed {
            let at = self.ordered_position(&name);
            if let Err(at) = at {
                self.ordered.insert(at, slot);
            }
        }
    }

    /// Same as [`ClusterState::add_node`]: the new object replaces the old.
    pub fn update_node(&mut self, node: Arc<Node>) {
        self.add_node(node);
    }

    /// Removes a node. Its pods stay (on a ghost) until they are removed,
    /// as upstream keeps them until their own delete events.
    pub fn remove_node(&mut self, name: &str) {
        let Some(&slot) = self.by_name.get(name) else {
            return;
        };
        if let Ok(at) = self.ordered_position(name) {
            self.ordered.remove(at);
        }
        if let Some(ni) = self.slots[slot].as_mut() {
            ni.clear_node();
        }
        self.topology.set(slot, None);
        self.release_if_empty(slot);
    }

    fn ordered_position(&self, name: &str) -> Result<usize, usize> {
        self.ordered
            .binary_search_by(|&s| self.slots[s].as_ref().map_or("", |ni| ni.name()).cmp(name))
    }

    /// The slot for `name`, creating a ghost if the name is new.
    fn slot_for(&mut self, name: &str) -> usize {
        if let Some(&slot) = self.by_name.get(name) {
            return slot;
        }
        let info = NodeInfo::new(name.to_owned());
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                self.slots[slot] = Some(info);
                slot
            }
            None => {
                self.slots.push(Some(info));
                self.slots.len() - 1
            }
        };
        self.by_name.insert(name.to_owned(), slot);
        slot
    }

    /// Frees a ghost slot once its last pod is gone.
    fn release_if_empty(&mut self, slot: usize) {
        let empty_ghost = self.slots[slot]
            .as_ref()
            .is_some_and(|ni| ni.node().is_none() && ni.pods().is_empty());
        if !empty_ghost {
            return;
        }
        if let Some(ni) = self.slots[slot].take() {
            self.by_name.remove(ni.name());
            self.affinity_slots.remove(&slot);
            self.anti_affinity_slots.remove(&slot);
            self.free_slots.push(slot);
        }
    }

    // ----- pods -----

    /// Adds an assigned pod, or replaces the cached one with the same
    /// `namespace/name` (this is how an assumed pod is confirmed when its
    /// binding comes back through the watch, even on another node). A pod
    /// without `spec.nodeName`, or one that has finished, is removed instead.
    pub fn add_pod(&mut self, pod: Arc<Pod>) {
        let key = pod.metadata.key();
        self.remove_pod(&key);
        let node_name = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .filter(|n| !n.is_empty());
        let Some(node_name) = node_name else {
            return;
        };
        if is_terminal(&pod) {
            return;
        }
        let node_name = node_name.to_owned();
        self.insert_pod(key, pod, &node_name, false);
    }

    /// Same as [`ClusterState::add_pod`].
    pub fn update_pod(&mut self, pod: Arc<Pod>) {
        self.add_pod(pod);
    }

    /// Removes a pod by `namespace/name`; returns whether it was cached.
    pub fn remove_pod(&mut self, key: &str) -> bool {
        let Some(slot) = self.pods.remove(key) else {
            return false;
        };
        let Some(ni) = self.slots[slot].as_mut() else {
            return false;
        };
        let Some(info) = ni.remove_pod(key) else {
            return false;
        };
        self.groups.remove(info.group, slot);
        self.refresh_affinity_sets(slot);
        self.release_if_empty(slot);
        true
    }

    /// Records the scheduler's own decision to put `pod` on `node_name`
    /// before the binding is written, so that the next decision accounts for
    /// it. The pod's `spec.nodeName` may still be empty; it is not read.
    ///
    /// # Errors
    /// [`CacheError::AlreadyInCache`] if a pod with the same
    /// `namespace/name` is cached (bound or assumed) already.
    pub fn assume(&mut self, pod: Arc<Pod>, node_name: &str) -> Result<(), CacheError> {
        let key = pod.metadata.key();
        if self.pods.contains_key(&key) {
            return Err(CacheError::AlreadyInCache(key));
        }
        self.insert_pod(key, pod, node_name, true);
        Ok(())
    }

    /// Undoes [`ClusterState::assume`] after a failed binding. Does nothing
    /// (and returns false) if the pod is not cached or was confirmed by a
    /// watch event meanwhile.
    pub fn forget(&mut self, key: &str) -> bool {
        if self.is_assumed(key) {
            self.remove_pod(key)
        } else {
            false
        }
    }

    /// Whether `key` is cached as assumed (not yet confirmed).
    pub fn is_assumed(&self, key: &str) -> bool {
        self.pods
            .get(key)
            .and_then(|&slot| self.slots[slot].as_ref())
            .and_then(|ni| ni.pods().get(key))
            .is_some_and(PodInfo::is_assumed)
    }

    fn insert_pod(&mut self, key: String, pod: Arc<Pod>, node_name: &str, assumed: bool) {
        let slot = self.slot_for(node_name);
        let group = self.groups.add(GroupKey::of(&pod), slot);
        let info = PodInfo::new(pod, group, assumed);
        if let Some(ni) = self.slots[slot].as_mut() {
            ni.add_pod(key.clone(), info);
        }
        self.pods.insert(key, slot);
        self.refresh_affinity_sets(slot);
    }

    fn refresh_affinity_sets(&mut self, slot: usize) {
        let (with_affinity, with_anti) = self.slots[slot].as_ref().map_or((0, 0), |ni| {
            (
                ni.pods_with_affinity(),
                ni.pods_with_required_anti_affinity(),
            )
        });
        for (set, count) in [
            (&mut self.affinity_slots, with_affinity),
            (&mut self.anti_affinity_slots, with_anti),
        ] {
            if count > 0 {
                set.insert(slot);
            } else {
                set.remove(&slot);
            }
        }
    }

    // ----- namespaces -----

    /// Records a namespace's labels, for pod affinity `namespaceSelector`s.
    /// Unknown namespaces have no labels.
    pub fn set_namespace_labels(&mut self, namespace: &str, labels: BTreeMap<String, String>) {
        self.namespaces.insert(namespace.to_owned(), labels);
    }

    /// Forgets a namespace's labels.
    pub fn remove_namespace(&mut self, namespace: &str) {
        self.namespaces.remove(namespace);
    }

    /// A namespace's labels (empty when unknown).
    pub fn namespace_labels(&self, namespace: &str) -> &BTreeMap<String, String> {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        self.namespaces.get(namespace).unwrap_or(&EMPTY)
    }

    // ----- reads -----

    /// How many nodes exist (ghosts not counted).
    pub fn num_nodes(&self) -> usize {
        self.ordered.len()
    }

    /// How many pods are cached, assumed ones included.
    pub fn num_pods(&self) -> usize {
        self.pods.len()
    }

    /// A node by name (ghosts included).
    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.by_name
            .get(name)
            .and_then(|&slot| self.slots[slot].as_ref())
    }

    /// The existing nodes in name order.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeInfo> {
        self.ordered
            .iter()
            .filter_map(|&slot| self.slots[slot].as_ref())
    }

    /// The `i`-th existing node in name order, with its slot.
    pub(crate) fn nth(&self, i: usize) -> Option<(usize, &NodeInfo)> {
        let slot = *self.ordered.get(i)?;
        Some((slot, self.slots[slot].as_ref()?))
    }

    /// The node in `slot`, if the slot holds an existing (non-ghost) node.
    pub(crate) fn live(&self, slot: usize) -> Option<&NodeInfo> {
        self.slots
            .get(slot)
            .and_then(Option::as_ref)
            .filter(|ni| ni.node().is_some())
    }

    /// How many slots are allocated (an upper bound for slot numbers).
    pub(crate) fn slot_capacity(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn topology(&self) -> &TopologyIndex {
        &self.topology
    }

    pub(crate) fn groups(&self) -> &PodGroups {
        &self.groups
    }

    /// Existing nodes hosting pods with pod (anti-)affinity, with their slots.
    pub(crate) fn nodes_with_affinity(&self) -> impl Iterator<Item = (usize, &NodeInfo)> {
        self.affinity_slots
            .iter()
            .filter_map(|&s| Some((s, self.live(s)?)))
    }

    /// Existing nodes hosting pods with required pod anti-affinity, with their slots.
    pub(crate) fn nodes_with_required_anti_affinity(
        &self,
    ) -> impl Iterator<Item = (usize, &NodeInfo)> {
        self.anti_affinity_slots
            .iter()
            .filter_map(|&s| Some((s, self.live(s)?)))
    }

    pub(crate) fn has_affinity_pods(&self) -> bool {
        !self.affinity_slots.is_empty()
    }

    /// The groups a question about `namespaces` (or all, for `None`) must look at.
    pub(crate) fn groups_in<'a>(
        &'a self,
        namespaces: Option<&'a BTreeSet<&'a str>>,
    ) -> Box<dyn Iterator<Item = &'a Group> + 'a> {
        self.groups.in_namespaces(namespaces)
    }
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::framework::testing::{PodBuild, node, pod, term};

    fn names(state: &ClusterState) -> Vec<&str> {
        state.nodes().map(NodeInfo::name).collect()
    }

    #[test]
    fn nodes_iterate_in_name_order() {
        let mut state = ClusterState::new();
        for n in ["c", "a", "b"] {
            state.add_node(Arc::new(node(n, "1", "1Gi")));
        }
        state.update_node(Arc::new(node("b", "2", "1Gi")));
        assert_eq!(names(&state), ["a", "b", "c"]);
        assert_eq!(state.node("b").unwrap().allocatable().milli_cpu, 2000);
        state.remove_node("b");
        assert_eq!(names(&state), ["a", "c"]);
        assert_eq!(state.num_nodes(), 2);
        assert!(state.node("b").is_none());
    }

    #[test]
    fn a_pod_may_arrive_before_its_node() {
        let mut state = ClusterState::new();
        state.add_pod(Arc::new(pod("p").with_requests("1", "1Gi").on_node("n1")));
        assert_eq!(state.num_nodes(), 0);
        assert_eq!(state.node("n1").unwrap().requested().milli_cpu, 1000);

        state.add_node(Arc::new(node("n1", "4", "8Gi")));
        assert_eq!(state.num_nodes(), 1);
        assert_eq!(state.node("n1").unwrap().requested().milli_cpu, 1000);

        // Removing the node keeps its pod on a ghost; removing the pod frees it.
        state.remove_node("n1");
        assert_eq!(state.num_nodes(), 0);
        assert!(state.node("n1").is_some());
        assert!(state.remove_pod("default/p"));
        assert!(state.node("n1").is_none());
    }

    #[test]
    fn assume_then_confirm_or_forget() {
        let mut state = ClusterState::new();
        state.add_node(Arc::new(node("n1", "4", "8Gi")));
        state.add_node(Arc::new(node("n2", "4", "8Gi")));
        let p = Arc::new(pod("p").with_requests("1", "1Gi"));

        state.assume(p.clone(), "n1").unwrap();
        assert!(state.is_assumed("default/p"));
        assert_eq!(
            state.assume(p.clone(), "n1"),
            Err(CacheError::AlreadyInCache("default/p".into()))
        );
        assert_eq!(state.node("n1").unwrap().requested().milli_cpu, 1000);

        // Forget undoes it.
        assert!(state.forget("default/p"));
        assert_eq!(state.node("n1").unwrap().requested().milli_cpu, 0);
        assert!(!state.forget("default/p"));

        // The watch event confirms it, here on another node than assumed.
        state.assume(p.clone(), "n1").unwrap();
        state.add_pod(Arc::new(pod("p").with_requests("1", "1Gi").on_node("n2")));
        assert!(!state.is_assumed("default/p"));
        assert_eq!(state.node("n1").unwrap().requested().milli_cpu, 0);
        assert_eq!(state.node("n2").unwrap().requested().milli_cpu, 1000);
        assert!(!state.forget("default/p"));
        assert_eq!(state.num_pods(), 1);
    }

    #[test]
    fn unassigned_and_finished_pods_are_not_kept() {
        let mut state = ClusterState::new();
        state.add_node(Arc::new(node("n1", "4", "8Gi")));
        state.add_pod(Arc::new(pod("pending")));
        assert_eq!(state.num_pods(), 0);

        state.add_pod(Arc::new(pod("p").with_requests("1", "1Gi").on_node("n1")));
        assert_eq!(state.num_pods(), 1);
        state.update_pod(Arc::new(
            pod("p")
                .with_requests("1", "1Gi")
                .on_node("n1")
                .with_phase("Succeeded"),
        ));
        assert_eq!(state.num_pods(), 0);
        assert_eq!(state.node("n1").unwrap().requested().milli_cpu, 0);
    }

    #[test]
    fn affinity_sets_follow_pods() {
        let mut state = ClusterState::new();
        state.add_node(Arc::new(node("n1", "4", "8Gi")));
        state.add_pod(Arc::new(
            pod("p")
                .with_pod_anti_affinity(vec![term("app", "x", "zone")])
                .on_node("n1"),
        ));
        assert_eq!(state.nodes_with_required_anti_affinity().count(), 1);
        assert_eq!(state.nodes_with_affinity().count(), 1);
        state.remove_pod("default/p");
        assert_eq!(state.nodes_with_required_anti_affinity().count(), 0);
        assert!(!state.has_affinity_pods());
    }

    #[test]
    fn slots_are_reused() {
        let mut state = ClusterState::new();
        state.add_node(Arc::new(node("a", "1", "1Gi")));
        state.remove_node("a");
        state.add_node(Arc::new(node("b", "1", "1Gi")));
        assert_eq!(state.slot_capacity(), 1);
        assert_eq!(names(&state), ["b"]);
    }
}
