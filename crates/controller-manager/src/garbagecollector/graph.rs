//! The dependency graph (upstream: `graph.go` and `graph_builder.go`): one
//! node per object the informers have seen, linked owner → dependents by
//! `metadata.ownerReferences`, keyed by UID.
//!
//! Informer events change the graph through [`Graph::observe`] and
//! [`Graph::remove`]; each returns the [`Work`] the change calls for, which
//! the caller puts on the work queues. Everything here is pure.
//!
//! A node can be **virtual**: some dependent names an owner the informers
//! have not shown us (yet, or ever). The node stands in for it so the
//! dependent can be found again; a worker then asks the apiserver whether
//! it exists ([`Graph::verified_absent`] when it does not).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;

use api_types::meta::v1::{ObjectMeta, OwnerReference};

use crate::resources::KindInfo;

/// The upstream finalizers the apiserver adds for a propagation policy.
pub const FINALIZER_ORPHAN: &str = "orphan";
pub const FINALIZER_FOREGROUND: &str = "foregroundDeletion";

/// Which object: kind, place and UID (upstream's `objectReference`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

impl ObjectRef {
    pub fn of(kind: KindInfo, meta: &ObjectMeta) -> ObjectRef {
        ObjectRef {
            api_version: kind.api_version.into(),
            kind: kind.kind.into(),
            namespace: meta.namespace.clone(),
            name: meta.name.clone(),
            uid: meta.uid.clone(),
        }
    }

    /// Whether `r` names this object by the same coordinates (the
    /// namespace is the dependent's, for namespaced owners).
    fn named_by(&self, r: &OwnerReference, dependent_ns: &str) -> bool {
        r.uid == self.uid
            && r.api_version == self.api_version
            && r.kind == self.kind
            && r.name == self.name
            && (self.namespace.is_empty() || self.namespace == dependent_ns)
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}/{}, namespace: {}, name: {}, uid: {}]",
            self.api_version, self.kind, self.namespace, self.name, self.uid
        )
    }
}

/// What the graph needs of an object the informers report.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    pub identity: ObjectRef,
    pub owners: Vec<OwnerReference>,
    /// Has a `deletionTimestamp`.
    pub deleting: bool,
    pub finalizers: Vec<String>,
}

impl Observed {
    pub fn of(kind: KindInfo, meta: &ObjectMeta) -> Observed {
        Observed {
            identity: ObjectRef::of(kind, meta),
            owners: meta.owner_references.clone(),
            deleting: meta.deletion_timestamp.is_some(),
            finalizers: meta.finalizers.clone(),
        }
    }

    fn has(&self, finalizer: &str) -> bool {
        self.finalizers.iter().any(|f| f == finalizer)
    }
}

/// One object in the graph.
#[derive(Clone, Debug, Default)]
pub struct Node {
    pub identity: ObjectRef,
    /// Its `ownerReferences`, as last observed.
    pub owners: Vec<OwnerReference>,
    /// UIDs of the nodes that name this one as an owner.
    pub dependents: BTreeSet<String>,
    /// Seen through an informer (false: a virtual node).
    pub observed: bool,
    /// Has had a `deletionTimestamp`: its deletion is a one-way trip.
    pub being_deleted: bool,
    /// Being deleted with the `foregroundDeletion` finalizer: waits for its
    /// blocking dependents.
    pub deleting_dependents: bool,
    /// Being deleted with the `orphan` finalizer.
    pub orphaning: bool,
}

/// What a graph change asks the workers to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Work {
    /// Look at this object: collect it if its owners are gone, or finish a
    /// foreground deletion (upstream's `attemptToDelete` queue).
    AttemptToDelete(ObjectRef),
    /// Remove this owner from its dependents, then its `orphan` finalizer
    /// (the `attemptToOrphan` queue).
    AttemptToOrphan(ObjectRef),
}

/// Owners the apiserver said do not exist (upstream's `absentOwnerCache`):
/// spares a GET for each of the hundred pods of a deleted ReplicaSet. UIDs
/// never come back, so an entry never goes stale; the cache is bounded and
/// forgets the oldest first.
#[derive(Debug, Default)]
pub struct AbsentOwners {
    set: HashSet<ObjectRef>,
    order: VecDeque<ObjectRef>,
}

/// How many absent owners are remembered (upstream: 500).
pub const ABSENT_OWNER_CACHE_SIZE: usize = 500;

impl AbsentOwners {
    pub fn add(&mut self, r: ObjectRef) {
        if self.set.insert(r.clone()) {
            self.order.push_back(r);
            while self.order.len() > ABSENT_OWNER_CACHE_SIZE {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }

    pub fn has(&self, r: &ObjectRef) -> bool {
        self.set.contains(r)
    }
}

/// The graph, plus the absent-owner cache kept beside it.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
    /// `(apiVersion, kind)` of the kinds known to be cluster-scoped: a
    /// virtual owner of such a kind gets no namespace.
    cluster_scoped: HashSet<(String, String)>,
    pub absent: AbsentOwners,
}

/// The references in `new` that are not in `old`, those gone, and those
/// whose `blockOwnerDeletion` went from true to something else.
fn diff(
    old: &[OwnerReference],
    new: &[OwnerReference],
) -> (
    Vec<OwnerReference>,
    Vec<OwnerReference>,
    Vec<OwnerReference>,
) {
    let added = new
        .iter()
        .filter(|n| !old.iter().any(|o| o.uid == n.uid))
        .cloned()
        .collect();
    let removed = old
        .iter()
        .filter(|o| !new.iter().any(|n| n.uid == o.uid))
        .cloned()
        .collect();
    let unblocked = old
        .iter()
        .filter(|o| o.block_owner_deletion == Some(true))
        .filter(|o| {
            new.iter()
                .any(|n| n.uid == o.uid && n.block_owner_deletion != Some(true))
        })
        .cloned()
        .collect();
    (added, removed, unblocked)
}

impl Graph {
    /// A graph that knows which kinds are cluster-scoped.
    pub fn new(kinds: impl IntoIterator<Item = KindInfo>) -> Graph {
        Graph {
            cluster_scoped: kinds
                .into_iter()
                .filter(|k| !k.namespaced)
                .map(|k| (k.api_version.to_string(), k.kind.to_string()))
                .collect(),
            ..Graph::default()
        }
    }

    pub fn node(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The identities of `uid`'s dependents.
    pub fn dependents(&self, uid: &str) -> Vec<ObjectRef> {
        self.nodes.get(uid).map_or_else(Vec::new, |n| {
            n.dependents
                .iter()
                .filter_map(|d| self.nodes.get(d))
                .map(|d| d.identity.clone())
                .collect()
        })
    }

    /// The dependents of `uid` that block its foreground deletion (their
    /// reference to it has `blockOwnerDeletion: true`), with whether each is
    /// itself deleting its dependents.
    pub fn blocking_dependents(&self, uid: &str) -> Vec<(ObjectRef, bool)> {
        let Some(node) = self.nodes.get(uid) else {
            return Vec::new();
        };
        node.dependents
            .iter()
            .filter_map(|d| self.nodes.get(d))
            .filter(|d| {
                d.owners
                    .iter()
                    .any(|r| r.uid == uid && r.block_owner_deletion == Some(true))
            })
            .map(|d| (d.identity.clone(), d.deleting_dependents))
            .collect()
    }

    /// Whether any dependent of `uid` is deleting its own dependents (a
    /// possible cycle of foreground deletions).
    pub fn a_dependent_is_deleting_dependents(&self, uid: &str) -> bool {
        self.nodes.get(uid).is_some_and(|n| {
            n.dependents
                .iter()
                .filter_map(|d| self.nodes.get(d))
                .any(|d| d.deleting_dependents)
        })
    }

    /// An object was added or updated.
    pub fn observe(&mut self, o: &Observed) -> Vec<Work> {
        let mut work = Vec::new();
        let uid = o.identity.uid.clone();
        if uid.is_empty() {
            return work;
        }
        match self.nodes.get_mut(&uid) {
            None => {
                self.nodes.insert(
                    uid.clone(),
                    Node {
                        identity: o.identity.clone(),
                        owners: o.owners.clone(),
                        observed: true,
                        being_deleted: o.deleting,
                        ..Node::default()
                    },
                );
                self.add_to_owners(&o.identity, &o.owners, &mut work);
            }
            Some(node) => {
                if !node.observed {
                    node.observed = true;
                    if node.identity != o.identity {
                        // The dependents guessed our coordinates (kind,
                        // namespace) wrongly, or some did: have each check
                        // its references again.
                        node.identity = o.identity.clone();
                        let deps: Vec<String> = node.dependents.iter().cloned().collect();
                        for d in deps {
                            if let Some(dep) = self.nodes.get(&d) {
                                work.push(Work::AttemptToDelete(dep.identity.clone()));
                            }
                        }
                    }
                }
                let Some(node) = self.nodes.get_mut(&uid) else {
                    return work;
                };
                let (added, removed, unblocked) = diff(&node.owners, &o.owners);
                node.owners = o.owners.clone();
                if o.deleting {
                    node.being_deleted = true;
                }
                // An owner waiting for this object may now be free to go.
                for r in removed
                    .iter()
                    .filter(|r| r.block_owner_deletion == Some(true))
                    .chain(&unblocked)
                {
                    if let Some(owner) = self.nodes.get(&r.uid)
                        && owner.deleting_dependents
                    {
                        work.push(Work::AttemptToDelete(owner.identity.clone()));
                    }
                }
                self.add_to_owners(&o.identity, &added, &mut work);
                for r in &removed {
                    if let Some(owner) = self.nodes.get_mut(&r.uid) {
                        owner.dependents.remove(&uid);
                    }
                }
            }
        }
        self.transitions(o, &mut work);
        work
    }

    /// Reacts to the start of an orphaning or a foreground deletion.
    fn transitions(&mut self, o: &Observed, work: &mut Vec<Work>) {
        let Some(node) = self.nodes.get_mut(&o.identity.uid) else {
            return;
        };
        let orphaning = o.deleting && o.has(FINALIZER_ORPHAN);
        if orphaning && !node.orphaning {
            work.push(Work::AttemptToOrphan(node.identity.clone()));
        }
        node.orphaning = orphaning;
        let foreground = o.deleting && o.has(FINALIZER_FOREGROUND);
        let starts = foreground && !node.deleting_dependents;
        node.deleting_dependents = foreground;
        if starts {
            let identity = node.identity.clone();
            let deps: Vec<String> = node.dependents.iter().cloned().collect();
            for d in deps {
                if let Some(dep) = self.nodes.get(&d) {
                    work.push(Work::AttemptToDelete(dep.identity.clone()));
                }
            }
            work.push(Work::AttemptToDelete(identity));
        }
    }

    /// Links `dependent` to each owner in `refs`, creating virtual nodes
    /// for owners not seen yet (each to be checked by a worker).
    fn add_to_owners(
        &mut self,
        dependent: &ObjectRef,
        refs: &[OwnerReference],
        work: &mut Vec<Work>,
    ) {
        for r in refs {
            if r.uid.is_empty() {
                continue;
            }
            match self.nodes.get_mut(&r.uid) {
                Some(owner) => {
                    owner.dependents.insert(dependent.uid.clone());
                    // A reference that does not match the owner we know
                    // (wrong kind, or a namespaced owner in another
                    // namespace) is checked by the dependent's worker.
                    if owner.observed && !owner.identity.named_by(r, &dependent.namespace) {
                        work.push(Work::AttemptToDelete(dependent.clone()));
                    }
                }
                None => {
                    let cluster_scoped = self
                        .cluster_scoped
                        .contains(&(r.api_version.clone(), r.kind.clone()));
                    let identity = ObjectRef {
                        api_version: r.api_version.clone(),
                        kind: r.kind.clone(),
                        namespace: if cluster_scoped {
                            String::new()
                        } else {
                            dependent.namespace.clone()
                        },
                        name: r.name.clone(),
                        uid: r.uid.clone(),
                    };
                    self.nodes.insert(
                        r.uid.clone(),
                        Node {
                            identity: identity.clone(),
                            dependents: [dependent.uid.clone()].into(),
                            ..Node::default()
                        },
                    );
                    work.push(Work::AttemptToDelete(identity));
                }
            }
        }
    }

    /// An informer saw the object deleted.
    pub fn remove(&mut self, identity: &ObjectRef) -> Vec<Work> {
        let mut work = Vec::new();
        let Some(node) = self.nodes.remove(&identity.uid) else {
            return work;
        };
        for r in &node.owners {
            if let Some(owner) = self.nodes.get_mut(&r.uid) {
                owner.dependents.remove(&identity.uid);
                // A foreground deletion waiting for this one may be done.
                if owner.deleting_dependents {
                    work.push(Work::AttemptToDelete(owner.identity.clone()));
                }
            }
        }
        if !node.dependents.is_empty() {
            self.absent.add(node.identity.clone());
        }
        for d in &node.dependents {
            if let Some(dep) = self.nodes.get(d) {
                work.push(Work::AttemptToDelete(dep.identity.clone()));
            }
        }
        work
    }

    /// A worker asked the apiserver for `identity` and it is not there (404,
    /// or another object with that name): upstream's virtual delete event.
    pub fn verified_absent(&mut self, identity: &ObjectRef) -> Vec<Work> {
        let Some(node) = self.nodes.get(&identity.uid) else {
            return Vec::new();
        };
        if node.identity == *identity {
            return self.remove(identity);
        }
        // The node has other coordinates than the ones found absent: keep
        // it, but the dependents that used these coordinates lose their
        // owner.
        let matching: Vec<ObjectRef> = node
            .dependents
            .iter()
            .filter_map(|d| self.nodes.get(d))
            .filter(|d| {
                d.owners
                    .iter()
                    .any(|r| identity.named_by(r, &d.identity.namespace))
            })
            .map(|d| d.identity.clone())
            .collect();
        if !matching.is_empty() {
            self.absent.add(identity.clone());
        }
        matching.into_iter().map(Work::AttemptToDelete).collect()
    }
}

#[cfg(test)]
mod tests;
