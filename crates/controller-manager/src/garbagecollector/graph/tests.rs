#![allow(clippy::unwrap_used)]

use super::*;

fn rs_kind() -> KindInfo {
    KindInfo {
        group: "apps",
        version: "v1",
        api_version: "apps/v1",
        kind: "ReplicaSet",
        resource: "replicasets",
        namespaced: true,
    }
}

fn node_kind() -> KindInfo {
    KindInfo {
        group: "",
        version: "v1",
        api_version: "v1",
        kind: "Node",
        resource: "nodes",
        namespaced: false,
    }
}

fn rs(name: &str, uid: &str) -> ObjectRef {
    ObjectRef {
        api_version: "apps/v1".into(),
        kind: "ReplicaSet".into(),
        namespace: "ns".into(),
        name: name.into(),
        uid: uid.into(),
    }
}

fn pod(name: &str, uid: &str) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "Pod".into(),
        namespace: "ns".into(),
        name: name.into(),
        uid: uid.into(),
    }
}

fn owner_ref(o: &ObjectRef, block: bool) -> OwnerReference {
    OwnerReference {
        api_version: o.api_version.clone(),
        kind: o.kind.clone(),
        name: o.name.clone(),
        uid: o.uid.clone(),
        controller: Some(true),
        block_owner_deletion: Some(block),
    }
}

fn seen(identity: ObjectRef, owners: Vec<OwnerReference>) -> Observed {
    Observed {
        identity,
        owners,
        ..Observed::default()
    }
}

fn deleting(identity: ObjectRef, finalizer: &str) -> Observed {
    Observed {
        identity,
        deleting: true,
        finalizers: vec![finalizer.into()],
        ..Observed::default()
    }
}

fn graph() -> Graph {
    Graph::new([rs_kind(), node_kind()])
}

#[test]
fn an_unseen_owner_becomes_a_virtual_node_to_check() {
    let mut g = graph();
    let owner = rs("web", "r1");
    let work = g.observe(&seen(pod("a", "p1"), vec![owner_ref(&owner, true)]));
    assert_eq!(work, [Work::AttemptToDelete(owner.clone())]);
    let n = g.node("r1").unwrap();
    assert!(!n.observed);
    assert_eq!(n.dependents, ["p1".to_string()].into());
    // Seen later: the same node, now observed, dependents kept; no work.
    assert!(g.observe(&seen(owner, vec![])).is_empty());
    assert!(g.node("r1").unwrap().observed);
    assert_eq!(g.dependents("r1"), [pod("a", "p1")]);
}

#[test]
fn a_virtual_cluster_scoped_owner_has_no_namespace() {
    let mut g = graph();
    let node = ObjectRef {
        api_version: "v1".into(),
        kind: "Node".into(),
        namespace: String::new(),
        name: "n1".into(),
        uid: "n1-uid".into(),
    };
    let work = g.observe(&seen(pod("a", "p1"), vec![owner_ref(&node, false)]));
    assert_eq!(work, [Work::AttemptToDelete(node)]);
}

#[test]
fn an_owner_seen_under_other_coordinates_has_its_dependents_recheck() {
    let mut g = graph();
    let wrong = ObjectRef {
        kind: "Deployment".into(),
        ..rs("web", "r1")
    };
    g.observe(&seen(pod("a", "p1"), vec![owner_ref(&wrong, false)]));
    let work = g.observe(&seen(rs("web", "r1"), vec![]));
    assert_eq!(work, [Work::AttemptToDelete(pod("a", "p1"))]);
    // And a dependent that arrives with a wrong reference to a known
    // owner is checked at once.
    let work = g.observe(&seen(pod("b", "p2"), vec![owner_ref(&wrong, false)]));
    assert_eq!(work, [Work::AttemptToDelete(pod("b", "p2"))]);
}

#[test]
fn a_deleted_owner_sends_its_dependents_to_be_checked() {
    let mut g = graph();
    let owner = rs("web", "r1");
    g.observe(&seen(owner.clone(), vec![]));
    for (n, u) in [("a", "p1"), ("b", "p2")] {
        assert!(
            g.observe(&seen(pod(n, u), vec![owner_ref(&owner, true)]))
                .is_empty()
        );
    }
    let mut work = g.remove(&owner);
    work.sort_by_key(|w| format!("{w:?}"));
    assert_eq!(
        work,
        [
            Work::AttemptToDelete(pod("a", "p1")),
            Work::AttemptToDelete(pod("b", "p2"))
        ]
    );
    assert!(g.node("r1").is_none());
    assert!(g.absent.has(&owner), "remembered as absent");
}

#[test]
fn orphaning_starts_once() {
    let mut g = graph();
    let owner = rs("web", "r1");
    g.observe(&seen(owner.clone(), vec![]));
    let work = g.observe(&deleting(owner.clone(), FINALIZER_ORPHAN));
    assert_eq!(work, [Work::AttemptToOrphan(owner.clone())]);
    // Another update while still orphaning: nothing new.
    assert!(g.observe(&deleting(owner, FINALIZER_ORPHAN)).is_empty());
}

#[test]
fn foreground_deletion_queues_the_dependents_then_the_owner() {
    let mut g = graph();
    let owner = rs("web", "r1");
    g.observe(&seen(owner.clone(), vec![]));
    g.observe(&seen(pod("a", "p1"), vec![owner_ref(&owner, true)]));
    let work = g.observe(&deleting(owner.clone(), FINALIZER_FOREGROUND));
    assert_eq!(
        work,
        [
            Work::AttemptToDelete(pod("a", "p1")),
            Work::AttemptToDelete(owner.clone())
        ]
    );
    let n = g.node("r1").unwrap();
    assert!(n.deleting_dependents && n.being_deleted);
    assert_eq!(g.blocking_dependents("r1"), [(pod("a", "p1"), false)]);
    // The pod goes: the owner is looked at again.
    assert_eq!(
        g.remove(&pod("a", "p1")),
        [Work::AttemptToDelete(owner.clone())]
    );
    assert!(g.blocking_dependents("r1").is_empty());
}

#[test]
fn only_blocking_references_hold_a_foreground_deletion() {
    let mut g = graph();
    let owner = rs("web", "r1");
    g.observe(&seen(owner.clone(), vec![]));
    g.observe(&seen(pod("a", "p1"), vec![owner_ref(&owner, false)]));
    g.observe(&seen(pod("b", "p2"), vec![owner_ref(&owner, true)]));
    assert_eq!(g.blocking_dependents("r1"), [(pod("b", "p2"), false)]);
    g.observe(&deleting(owner.clone(), FINALIZER_FOREGROUND));
    // The blocking reference is relaxed: the waiting owner is told.
    let work = g.observe(&seen(pod("b", "p2"), vec![owner_ref(&owner, false)]));
    assert_eq!(work, [Work::AttemptToDelete(owner.clone())]);
    assert!(g.blocking_dependents("r1").is_empty());
    // A dropped reference unlinks the dependent.
    g.observe(&seen(pod("a", "p1"), vec![]));
    assert_eq!(g.dependents("r1"), [pod("b", "p2")]);
}

#[test]
fn a_virtual_owner_found_absent_is_dropped_and_its_dependents_checked() {
    let mut g = graph();
    let ghost = rs("ghost", "g1");
    g.observe(&seen(pod("a", "p1"), vec![owner_ref(&ghost, true)]));
    assert_eq!(
        g.verified_absent(&ghost),
        [Work::AttemptToDelete(pod("a", "p1"))]
    );
    assert!(g.node("g1").is_none());
    assert!(g.absent.has(&ghost));
    // Checked under other coordinates than a dependent used: the node
    // stays, only dependents using those coordinates are re-checked.
    let real = rs("real", "r1");
    g.observe(&seen(real.clone(), vec![]));
    g.observe(&seen(pod("b", "p2"), vec![owner_ref(&real, true)]));
    let wrong = ObjectRef {
        kind: "Deployment".into(),
        ..real.clone()
    };
    assert!(g.verified_absent(&wrong).is_empty());
    assert!(g.node("r1").is_some());
}

#[test]
fn the_absent_owner_cache_is_bounded() {
    let mut a = AbsentOwners::default();
    for i in 0..=ABSENT_OWNER_CACHE_SIZE {
        a.add(pod("x", &i.to_string()));
    }
    assert!(!a.has(&pod("x", "0")), "the oldest is forgotten");
    assert!(a.has(&pod("x", &ABSENT_OWNER_CACHE_SIZE.to_string())));
}
