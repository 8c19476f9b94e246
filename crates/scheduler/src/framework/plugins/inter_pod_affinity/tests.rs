#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use api_types::core::v1::{Node, Pod};

use super::*;
use crate::framework::cluster_state::ClusterState;
use crate::framework::fit_error::Reasons;
use crate::framework::plugins::{FeasibleNode, Filters, PluginScores};
use crate::framework::query::PodQuery;
use crate::framework::testing::{NodeBuild, PodBuild, node, pod, term, weighted};

const ZONE: &str = "topology.kubernetes.io/zone";
const HOST: &str = "kubernetes.io/hostname";

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

/// Three nodes: a and b in zone z1, c in z2.
fn zones() -> Vec<Node> {
    vec![
        node("a", "4", "8Gi").with_labels(&[(ZONE, "z1")]),
        node("b", "4", "8Gi").with_labels(&[(ZONE, "z1")]),
        node("c", "4", "8Gi").with_labels(&[(ZONE, "z2")]),
    ]
}

fn check(c: &ClusterState, p: &Pod, node: &str) -> Result<(), Reasons> {
    let query = PodQuery::new(p, &[]).unwrap();
    let (slot, info) = (0..c.num_nodes())
        .filter_map(|i| c.nth(i))
        .find(|(_, n)| n.name() == node)
        .unwrap();
    Filters::new(c, &query).run(slot, info)
}

fn scores(c: &ClusterState, p: &Pod) -> PluginScores {
    let feasible: Vec<FeasibleNode<'_>> = (0..c.num_nodes())
        .filter_map(|i| c.nth(i))
        .map(|(slot, info)| FeasibleNode { slot, info })
        .collect();
    let (terms, _) = crate::framework::affinity_terms::PodAffinityTerms::parse(p);
    score(
        c,
        &p.metadata.namespace,
        &p.metadata.labels,
        &terms,
        &feasible,
    )
}

fn reason(r: &'static str) -> Result<(), Reasons> {
    Err(vec![r.into()])
}

#[test]
fn required_affinity_needs_a_matching_pod_in_the_domain() {
    let c = cluster(
        zones(),
        vec![pod("db").with_labels(&[("app", "db")]).on_node("a")],
    );
    let p = pod("web").with_pod_affinity(vec![term("app", "db", ZONE)]);
    assert!(check(&c, &p, "a").is_ok());
    assert!(check(&c, &p, "b").is_ok()); // same zone as the db pod
    assert_eq!(
        check(&c, &p, "c"),
        reason(ERR_REASON_AFFINITY_RULES_NOT_MATCH)
    );

    // A node without the topology label fails even in the right place.
    let c = cluster(
        vec![node("a", "4", "8Gi")],
        vec![pod("db").with_labels(&[("app", "db")]).on_node("a")],
    );
    assert_eq!(
        check(&c, &p, "a"),
        reason(ERR_REASON_AFFINITY_RULES_NOT_MATCH)
    );
}

#[test]
fn affinity_terms_default_to_the_pods_namespace() {
    let c = cluster(
        zones(),
        vec![
            pod("db")
                .in_namespace("other")
                .with_labels(&[("app", "db")])
                .on_node("a"),
            pod("web-0").with_labels(&[("app", "web")]).on_node("a"),
        ],
    );
    // The db pod is in another namespace: no match anywhere. The pod does
    // not match its own term, so the first-replica exception does not apply.
    let p = pod("web").with_pod_affinity(vec![term("app", "db", ZONE)]);
    assert_eq!(
        check(&c, &p, "a"),
        reason(ERR_REASON_AFFINITY_RULES_NOT_MATCH)
    );
    let mut listed = term("app", "db", ZONE);
    listed.namespaces = Some(vec!["other".into()]);
    let p = pod("web").with_pod_affinity(vec![listed]);
    assert!(check(&c, &p, "b").is_ok());
}

#[test]
fn the_first_pod_of_a_self_affine_group_goes_anywhere() {
    let c = cluster(zones(), vec![]);
    let p = pod("web-0")
        .with_labels(&[("app", "web")])
        .with_pod_affinity(vec![term("app", "web", ZONE)]);
    for n in ["a", "b", "c"] {
        assert!(check(&c, &p, n).is_ok());
    }
    // ...but only once: after that, the group's domain.
    let c = cluster(
        zones(),
        vec![pod("web-1").with_labels(&[("app", "web")]).on_node("c")],
    );
    assert_eq!(
        check(&c, &p, "a"),
        reason(ERR_REASON_AFFINITY_RULES_NOT_MATCH)
    );
    assert!(check(&c, &p, "c").is_ok());
}

#[test]
fn required_anti_affinity_keeps_pods_apart() {
    let c = cluster(
        zones(),
        vec![pod("web-1").with_labels(&[("app", "web")]).on_node("a")],
    );
    let p = pod("web-2")
        .with_labels(&[("app", "web")])
        .with_pod_anti_affinity(vec![term("app", "web", HOST)]);
    assert_eq!(
        check(&c, &p, "a"),
        reason(ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH)
    );
    assert!(check(&c, &p, "b").is_ok());

    let by_zone = pod("web-2")
        .with_labels(&[("app", "web")])
        .with_pod_anti_affinity(vec![term("app", "web", ZONE)]);
    assert!(check(&c, &by_zone, "b").is_err());
    assert!(check(&c, &by_zone, "c").is_ok());
}

#[test]
fn placed_pods_anti_affinity_against_the_incoming_pod() {
    let c = cluster(
        zones(),
        vec![
            pod("loner")
                .with_pod_anti_affinity(vec![term("app", "web", ZONE)])
                .on_node("a"),
        ],
    );
    let web = pod("web").with_labels(&[("app", "web")]);
    assert_eq!(
        check(&c, &web, "b"),
        reason(ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH)
    );
    assert!(check(&c, &web, "c").is_ok());
    let db = pod("db").with_labels(&[("app", "db")]);
    assert!(check(&c, &db, "a").is_ok());
}

#[test]
fn no_work_without_affinity_anywhere() {
    let c = cluster(
        zones(),
        vec![pod("x").with_labels(&[("app", "web")]).on_node("a")],
    );
    let plain = pod("p");
    let query = PodQuery::new(&plain, &[]).unwrap();
    assert!(AffinityFilter::new(&c, query.namespace, query.labels, &query.pod_affinity).is_none());
    assert_eq!(scores(&c, &pod("p")), None);
}

#[test]
fn preferred_terms_of_the_incoming_pod() {
    let c = cluster(
        zones(),
        vec![
            pod("db-1").with_labels(&[("app", "db")]).on_node("a"),
            pod("db-2").with_labels(&[("app", "db")]).on_node("c"),
            pod("cache").with_labels(&[("app", "cache")]).on_node("c"),
        ],
    );
    // +10 per db pod in the zone, -20 per cache pod on the host.
    // Raw: a 10, b 10, c 10 - 20 = -10 -> min-max: 100, 100, 0.
    let p = pod("web")
        .with_preferred_pod_affinity(vec![weighted(10, term("app", "db", ZONE))])
        .with_preferred_pod_anti_affinity(vec![weighted(20, term("app", "cache", HOST))]);
    assert_eq!(scores(&c, &p), Some(vec![100, 100, 0]));
}

#[test]
fn terms_of_placed_pods_score_the_incoming_pod() {
    let c = cluster(
        zones(),
        vec![
            // Required affinity of a placed pod counts 1 (hardPodAffinityWeight).
            pod("fan")
                .with_pod_affinity(vec![term("app", "web", HOST)])
                .on_node("b"),
            // Its preferred anti-affinity counts against.
            pod("shy")
                .with_preferred_pod_anti_affinity(vec![weighted(5, term("app", "web", ZONE))])
                .on_node("c"),
        ],
    );
    // Raw: a 0, b 1, c -5 -> min-max over [-5, 1]: 83, 100, 0.
    let web = pod("web").with_labels(&[("app", "web")]);
    assert_eq!(scores(&c, &web), Some(vec![83, 100, 0]));
    // A pod the terms do not match: all 0.
    assert_eq!(scores(&c, &pod("db")), Some(vec![0, 0, 0]));
}

#[test]
fn any_node_label_can_be_a_topology_key() {
    // "rack" is not one of the keys the cache numbers in advance.
    let rack = |name: &str, r: &str| node(name, "4", "8Gi").with_labels(&[("rack", r)]);
    let c = cluster(
        vec![
            rack("a", "r1"),
            rack("b", "r1"),
            rack("c", "r2"),
            node("d", "4", "8Gi"),
        ],
        vec![pod("web-1").with_labels(&[("app", "web")]).on_node("a")],
    );
    let apart = pod("web-2")
        .with_labels(&[("app", "web")])
        .with_pod_anti_affinity(vec![term("app", "web", "rack")]);
    assert!(check(&c, &apart, "b").is_err());
    assert!(check(&c, &apart, "c").is_ok());
    assert!(check(&c, &apart, "d").is_ok());
    let near = pod("db").with_pod_affinity(vec![term("app", "web", "rack")]);
    assert!(check(&c, &near, "b").is_ok());
    assert!(check(&c, &near, "c").is_err());
    assert!(check(&c, &near, "d").is_err());
}
