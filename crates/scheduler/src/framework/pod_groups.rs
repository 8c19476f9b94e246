//! Pod groups: placed pods bucketed by everything a selector can see.
//!
//! Inter-pod affinity and topology spreading ask "how many pods matching
//! this selector are in each topology domain?". Upstream answers by walking
//! every pod on every node. Here pods that a selector cannot tell apart
//! (same namespace, same labels, same controller, same terminating state)
//! share a *group*, and each group keeps a count per node. A question then
//! costs one selector match per group plus one step per node the group is
//! on: a 10,000-replica Deployment is one group, not 10,000 pods.
//!
//! Groups degrade gracefully: pods with unique labels (a StatefulSet's
//! `statefulset.kubernetes.io/pod-name`) are groups of one, which is what
//! upstream does for every pod.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use api_types::core::v1::Pod;

use super::pod_info::GroupId;
use super::topology::IntMap;

/// What makes two pods indistinguishable to the scheduler's selectors.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct GroupKey {
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    /// The uid of the owner reference with `controller: true`, for the
    /// owner-based default spreading.
    pub controller_uid: Option<String>,
    /// `metadata.deletionTimestamp` is set: topology spreading skips these.
    pub terminating: bool,
}

impl GroupKey {
    pub fn of(pod: &Pod) -> Self {
        GroupKey {
            namespace: pod.metadata.namespace.clone(),
            labels: pod.metadata.labels.clone(),
            controller_uid: pod.metadata.controller_ref().map(|r| r.uid.clone()),
            terminating: pod.metadata.deletion_timestamp.is_some(),
        }
    }
}

/// One group: its key, and how many of its pods are on each node slot.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub key: GroupKey,
    pub per_node: IntMap<usize, u32>,
    total: u32,
}

/// All groups, indexed by key and by namespace.
#[derive(Clone, Debug, Default)]
pub(crate) struct PodGroups {
    by_key: HashMap<GroupKey, GroupId>,
    groups: Vec<Option<Group>>,
    free: Vec<GroupId>,
    by_namespace: HashMap<String, BTreeSet<GroupId>>,
}

impl PodGroups {
    /// Counts one pod with `key` on `slot`; returns its group.
    pub fn add(&mut self, key: GroupKey, slot: usize) -> GroupId {
        let id = match self.by_key.get(&key) {
            Some(&id) => id,
            None => self.create(key),
        };
        if let Some(Some(group)) = self.groups.get_mut(id) {
            group.total += 1;
            *group.per_node.entry(slot).or_default() += 1;
        }
        id
    }

    fn create(&mut self, key: GroupKey) -> GroupId {
        let group = Group {
            key: key.clone(),
            per_node: IntMap::default(),
            total: 0,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.groups[id] = Some(group);
                id
            }
            None => {
                self.groups.push(Some(group));
                self.groups.len() - 1
            }
        };
        self.by_namespace
            .entry(key.namespace.clone())
            .or_default()
            .insert(id);
        self.by_key.insert(key, id);
        id
    }

    /// Uncounts one pod of group `id` on `slot`, dropping the group with its last pod.
    pub fn remove(&mut self, id: GroupId, slot: usize) {
        let Some(Some(group)) = self.groups.get_mut(id) else {
            return;
        };
        if let Some(n) = group.per_node.get_mut(&slot) {
            *n -= 1;
            if *n == 0 {
                group.per_node.remove(&slot);
            }
        }
        group.total = group.total.saturating_sub(1);
        if group.total > 0 {
            return;
        }
        if let Some(group) = self.groups[id].take() {
            self.by_key.remove(&group.key);
            if let Some(ids) = self.by_namespace.get_mut(&group.key.namespace) {
                ids.remove(&id);
                if ids.is_empty() {
                    self.by_namespace.remove(&group.key.namespace);
                }
            }
            self.free.push(id);
        }
    }

    /// The groups in `namespace`, in a stable order.
    pub fn in_namespace<'a>(&'a self, namespace: &str) -> impl Iterator<Item = &'a Group> + 'a {
        self.by_namespace
            .get(namespace)
            .into_iter()
            .flatten()
            .filter_map(|&id| self.groups.get(id).and_then(Option::as_ref))
    }

    /// Every group.
    pub fn all(&self) -> impl Iterator<Item = &Group> {
        self.groups.iter().filter_map(Option::as_ref)
    }

    /// The groups in any of `namespaces`, or every group for `None`.
    pub fn in_namespaces<'a>(
        &'a self,
        namespaces: Option<&'a BTreeSet<&'a str>>,
    ) -> Box<dyn Iterator<Item = &'a Group> + 'a> {
        match namespaces {
            Some(set) => Box::new(set.iter().flat_map(|ns| self.in_namespace(ns))),
            None => Box::new(self.all()),
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_key.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::testing::{PodBuild, pod};

    #[test]
    fn identical_pods_share_a_group() {
        let mut groups = PodGroups::default();
        let a = GroupKey::of(&pod("a").with_labels(&[("app", "web")]));
        let b = GroupKey::of(&pod("b").with_labels(&[("app", "web")]));
        let c = GroupKey::of(&pod("c").with_labels(&[("app", "db")]));
        let ga = groups.add(a, 0);
        let gb = groups.add(b, 1);
        let gc = groups.add(c, 1);
        assert_eq!(ga, gb);
        assert_ne!(ga, gc);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups.in_namespace("default").count(), 2);

        groups.remove(ga, 0);
        groups.remove(gb, 1);
        assert_eq!(groups.len(), 1);
        // The freed id is reused.
        let d = groups.add(GroupKey::of(&pod("d").in_namespace("other")), 3);
        assert_eq!(d, ga);
        assert_eq!(groups.in_namespace("default").count(), 1);
        assert_eq!(groups.in_namespace("other").count(), 1);
    }

    #[test]
    fn terminating_pods_are_a_separate_group() {
        let mut groups = PodGroups::default();
        let live = groups.add(GroupKey::of(&pod("a")), 0);
        let dying = groups.add(GroupKey::of(&pod("b").terminating()), 0);
        assert_ne!(live, dying);
    }
}
