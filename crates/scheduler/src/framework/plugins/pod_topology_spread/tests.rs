#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use api_types::core::v1::{Node, Pod};
use api_types::labels::Selector;

use super::*;
use crate::framework::cluster_state::ClusterState;
use crate::framework::fit_error::Reasons;
use crate::framework::plugins::{FeasibleNode, Filters, PluginScores};
use crate::framework::query::PodQuery;
use crate::framework::testing::{NodeBuild, PodBuild, labels, node, pod, spread};

fn cluster(nodes: Vec<Node>, pods: Vec<Pod>) -> ClusterState {
    let mut c = ClusterState::new();
    for n in nodes {
        c.add_node(Arc::new(n));
    }
    for p in pods {
        c.add_pod(Arc::new(p));
    }
    c
}

fn zoned(name: &str, zone: &str) -> Node {
    node(name, "4", "8Gi").with_labels(&[(ZONE, zone)])
}

fn web(name: &str, on: &str) -> Pod {
    pod(name).with_labels(&[("app", "web")]).on_node(on)
}

fn check(c: &ClusterState, p: &Pod, node: &str) -> Result<(), Reasons> {
    let query = PodQuery::new(p, &[]).unwrap();
    let (slot, info) = (0..c.num_nodes())
        .filter_map(|i| c.nth(i))
        .find(|(_, n)| n.name() == node)
        .unwrap();
    Filters::new(c, &query).run(slot, info)
}

fn scores(c: &ClusterState, p: &Pod, selectors: &[Selector]) -> PluginScores {
    let query = PodQuery::new(p, selectors).unwrap();
    let feasible: Vec<FeasibleNode<'_>> = (0..c.num_nodes())
        .filter_map(|i| c.nth(i))
        .map(|(slot, info)| FeasibleNode { slot, info })
        .collect();
    let mut inclusion = Inclusion::new(
        &query.required_node_affinity,
        query.tolerations,
        c.slot_capacity(),
    );
    score(c, query.namespace, &query.spread, &mut inclusion, &feasible)
}

fn reason(r: &'static str) -> Result<(), Reasons> {
    Err(vec![r.into()])
}

#[test]
fn max_skew_against_the_emptiest_domain() {
    // z1: 2 web pods, z2: 1, z3: 0.
    let c = cluster(
        vec![
            zoned("a", "z1"),
            zoned("b", "z2"),
            zoned("c", "z3"),
            node("d", "4", "8Gi"),
        ],
        vec![web("w1", "a"), web("w2", "a"), web("w3", "b")],
    );
    let p = pod("new")
        .with_labels(&[("app", "web")])
        .with_spread(vec![spread(1, ZONE, "DoNotSchedule", "web")]);
    // skew = matching in the domain + 1 (the pod itself) - 0 (z3).
    assert_eq!(check(&c, &p, "a"), reason(ERR_REASON_CONSTRAINTS_NOT_MATCH));
    assert_eq!(check(&c, &p, "b"), reason(ERR_REASON_CONSTRAINTS_NOT_MATCH));
    assert!(check(&c, &p, "c").is_ok());
    assert_eq!(check(&c, &p, "d"), reason(ERR_REASON_NODE_LABEL_NOT_MATCH));

    // maxSkew 2 lets z2 in.
    let p = pod("new")
        .with_labels(&[("app", "web")])
        .with_spread(vec![spread(2, ZONE, "DoNotSchedule", "web")]);
    assert!(check(&c, &p, "b").is_ok());
    assert!(check(&c, &p, "a").is_err());

    // A pod that does not match its own selector does not count itself.
    let other = pod("new").with_spread(vec![spread(1, ZONE, "DoNotSchedule", "web")]);
    assert!(check(&c, &other, "b").is_ok());
}

#[test]
fn min_domains_treats_the_minimum_as_zero() {
    let c = cluster(
        vec![zoned("a", "z1"), zoned("b", "z2")],
        vec![web("w1", "a"), web("w2", "b")],
    );
    let mut constraint = spread(1, ZONE, "DoNotSchedule", "web");
    let p = pod("new")
        .with_labels(&[("app", "web")])
        .with_spread(vec![constraint.clone()]);
    assert!(check(&c, &p, "a").is_ok()); // 1 + 1 - 1 = 1
    constraint.min_domains = Some(3);
    let p = pod("new")
        .with_labels(&[("app", "web")])
        .with_spread(vec![constraint]);
    assert!(check(&c, &p, "a").is_err()); // 1 + 1 - 0 = 2
}

#[test]
fn domains_outside_the_pods_node_affinity_do_not_count() {
    // z3 is empty, but the pod may not go there, so z3 is not eligible:
    // the minimum is z2's 1 and z1 (with 1) is fine.
    let c = cluster(
        vec![
            zoned("a", "z1").with_labels(&[("pool", "main")]),
            zoned("b", "z2").with_labels(&[("pool", "main")]),
            zoned("c", "z3"),
        ],
        vec![web("w1", "a"), web("w2", "b")],
    );
    let p = pod("new")
        .with_labels(&[("app", "web")])
        .with_node_selector(&[("pool", "main")])
        .with_spread(vec![spread(1, ZONE, "DoNotSchedule", "web")]);
    assert!(check(&c, &p, "a").is_ok());
    let mut ignore = spread(1, ZONE, "DoNotSchedule", "web");
    ignore.node_affinity_policy = Some("Ignore".into());
    let p = pod("new")
        .with_labels(&[("app", "web")])
        .with_node_selector(&[("pool", "main")])
        .with_spread(vec![ignore]);
    assert_eq!(check(&c, &p, "a"), reason(ERR_REASON_CONSTRAINTS_NOT_MATCH));
}

#[test]
fn terminating_and_other_namespace_pods_do_not_count() {
    let mut c = cluster(
        vec![zoned("a", "z1"), zoned("b", "z2")],
        vec![
            web("w1", "a").terminating(),
            web("w2", "a").in_namespace("other"),
        ],
    );
    // A pod outside its own selector with maxSkew 0: any counted pod in
    // z1 would make the skew 1.
    let p = pod("new").with_spread(vec![spread(0, ZONE, "DoNotSchedule", "web")]);
    assert!(check(&c, &p, "a").is_ok());
    c.add_pod(Arc::new(web("w3", "a")));
    assert_eq!(check(&c, &p, "a"), reason(ERR_REASON_CONSTRAINTS_NOT_MATCH));
    assert!(check(&c, &p, "b").is_ok()); // z2 is the emptiest domain
}

#[test]
fn system_default_score_by_hand() {
    // a (z1): 2 pods of the ReplicaSet, b (z1): 0, c (z2): 1.
    let rs = |name: &str| {
        pod(name)
            .with_labels(&[("app", "web")])
            .owned_by("ReplicaSet", "web")
    };
    let c = cluster(
        vec![zoned("a", "z1"), zoned("b", "z1"), zoned("c", "z2")],
        vec![
            rs("w1").on_node("a"),
            rs("w2").on_node("a"),
            rs("w3").on_node("c"),
        ],
    );
    // hostname: w = ln(3 + 2) = 1.609, maxSkew 3; zone: w = ln(2 + 2) = 1.386, maxSkew 5.
    // a: 2·1.609 + 2 + 2·1.386 + 4 = 11.99 -> 12
    // b: 0 + 2 + 2·1.386 + 4 = 8.77 -> 9
    // c: 1·1.609 + 2 + 1·1.386 + 4 = 9.00 -> 9
    // normalized 100·(max + min - s)/max: a 100·9/12 = 75, b and c 100.
    assert_eq!(scores(&c, &rs("new"), &[]), Some(vec![75, 100, 100]));

    // The same with the caller's selectors, for a pod without an owner.
    let orphan = pod("new").with_labels(&[("app", "web")]);
    assert_eq!(scores(&c, &orphan, &[]), None);
    let selectors = [Selector::from_map(&labels(&[("app", "web")]))];
    assert_eq!(scores(&c, &orphan, &selectors), Some(vec![75, 100, 100]));
    // Owners other than ReplicaSets, RCs and StatefulSets do not spread.
    let job = pod("new").owned_by("Job", "batch");
    assert_eq!(scores(&c, &job, &[]), None);
}

#[test]
fn own_soft_constraints_ignore_nodes_without_the_key() {
    let c = cluster(
        vec![zoned("a", "z1"), zoned("b", "z2"), node("c", "4", "8Gi")],
        vec![web("w1", "a")],
    );
    let p = pod("new")
        .with_labels(&[("app", "web")])
        .with_spread(vec![spread(1, ZONE, "ScheduleAnyway", "web")]);
    // zone: w = ln(2 + 2); a: 1.386 + 0 -> 1, b: 0 -> 0; c ignored.
    // normalized: a 100·(1 + 0 - 1)/1 = 0, b 100, c 0.
    assert_eq!(scores(&c, &p, &[]), Some(vec![0, 100, 0]));
    // DoNotSchedule constraints do not score.
    let hard = pod("new")
        .with_labels(&[("app", "web")])
        .with_spread(vec![spread(1, ZONE, "DoNotSchedule", "web")]);
    assert_eq!(scores(&c, &hard, &[]), None);
}

#[test]
fn any_node_label_can_be_a_topology_key() {
    // "rack" is not one of the keys the cache numbers in advance.
    let rack = |name: &str, r: &str| node(name, "4", "8Gi").with_labels(&[("rack", r)]);
    let c = cluster(
        vec![rack("a", "r1"), rack("b", "r1"), rack("c", "r2")],
        vec![web("w1", "a")],
    );
    let p = pod("new")
        .with_labels(&[("app", "web")])
        .with_spread(vec![spread(1, "rack", "DoNotSchedule", "web")]);
    assert_eq!(check(&c, &p, "b"), reason(ERR_REASON_CONSTRAINTS_NOT_MATCH));
    assert!(check(&c, &p, "c").is_ok());
    let soft = pod("new")
        .with_labels(&[("app", "web")])
        .with_spread(vec![spread(1, "rack", "ScheduleAnyway", "web")]);
    // rack: w = ln(4); a, b: 1.386 -> 1; c: 0 -> normalized 0, 0, 100.
    assert_eq!(scores(&c, &soft, &[]), Some(vec![0, 0, 100]));
}

#[test]
fn relabelled_and_removed_nodes() {
    let mut c = cluster(
        vec![zoned("a", "z1"), zoned("b", "z2")],
        vec![web("w1", "a")],
    );
    let p = pod("new")
        .with_labels(&[("app", "web")])
        .with_spread(vec![spread(1, ZONE, "DoNotSchedule", "web")]);
    assert!(check(&c, &p, "a").is_err());
    // a moves to z2 (with b): now z2 holds the pod and has to wait.
    c.update_node(Arc::new(zoned("a", "z2")));
    c.add_node(Arc::new(zoned("c", "z1")));
    assert!(check(&c, &p, "b").is_err());
    assert!(check(&c, &p, "c").is_ok());
    // Pods on a deleted node no longer count.
    c.remove_node("a");
    assert!(check(&c, &p, "b").is_ok());
}
