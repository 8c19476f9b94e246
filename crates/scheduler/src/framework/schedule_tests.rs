//! Tests of whole decisions: rotation, selection, messages, the worked example.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use api_types::core::v1::{Node, Pod};
use api_types::labels::Selector;

use super::*;
use crate::framework::testing::{NodeBuild, PodBuild, labels, node, pod, requirement};

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

fn decide(c: &ClusterState, p: &Pod) -> Result<Decision, FitError> {
    schedule(c, p, &[], &mut SchedulerState::new())
}

#[test]
fn percentage_of_nodes_to_score() {
    // Below 100 nodes: all of them.
    assert_eq!(num_feasible_nodes_to_find(0, 0), 0);
    assert_eq!(num_feasible_nodes_to_find(0, 99), 99);
    // Adaptive: 50% - nodes/125, at least 5%, at least 100 nodes.
    assert_eq!(num_feasible_nodes_to_find(0, 100), 100);
    assert_eq!(num_feasible_nodes_to_find(0, 200), 100); // 49% of 200 = 98
    assert_eq!(num_feasible_nodes_to_find(0, 1000), 420); // 42%
    assert_eq!(num_feasible_nodes_to_find(0, 5000), 500); // 10%
    assert_eq!(num_feasible_nodes_to_find(0, 6000), 300); // 2% -> 5%
    assert_eq!(num_feasible_nodes_to_find(0, 15000), 750); // 5%
    // Configured.
    assert_eq!(num_feasible_nodes_to_find(30, 1000), 300);
    assert_eq!(num_feasible_nodes_to_find(1, 1000), 100);
    assert_eq!(num_feasible_nodes_to_find(100, 5000), 5000);
    assert_eq!(num_feasible_nodes_to_find(250, 5000), 5000);
}

#[test]
fn successive_decisions_start_where_the_last_stopped() {
    let nodes = (0..1000)
        .map(|i| node(&format!("n{i:04}"), "4", "8Gi"))
        .collect();
    let c = cluster(nodes, vec![]);
    let mut state = SchedulerState::new();
    let p = pod("p").with_requests("100m", "100Mi");

    let d = schedule(&c, &p, &[], &mut state).unwrap();
    assert_eq!((d.feasible, d.evaluated), (420, 420));
    assert_eq!(state.next_start_node_index(), 420);
    // All equal: the first in rotation order wins.
    assert_eq!(d.node, "n0000");

    let d = schedule(&c, &p, &[], &mut state).unwrap();
    assert_eq!(d.node, "n0420");
    assert_eq!(state.next_start_node_index(), 840);
    let d = schedule(&c, &p, &[], &mut state).unwrap();
    assert_eq!(d.node, "n0840");
    assert_eq!(state.next_start_node_index(), 260);
}

#[test]
fn failed_nodes_count_as_evaluated() {
    let mut nodes: Vec<Node> = (0..150)
        .map(|i| node(&format!("n{i:03}"), "4", "8Gi"))
        .collect();
    for n in nodes.iter_mut().take(60) {
        *n = n.clone().cordoned();
    }
    let c = cluster(nodes, vec![]);
    let mut state = SchedulerState::new();
    let d = schedule(&c, &pod("p"), &[], &mut state).unwrap();
    // 150 nodes: 100 to find; 60 cordoned ones are passed over on the way.
    assert_eq!((d.feasible, d.evaluated), (90, 150));
    assert_eq!(state.next_start_node_index(), 0);
}

#[test]
fn identical_pods_spread_over_identical_nodes() {
    // Tiny requests on big nodes: the resource scores tie, so only the
    // tie-break (fewest pods) spreads them.
    for requests in [("", ""), ("1m", "1Ki")] {
        let nodes = (0..10)
            .map(|i| node(&format!("n{i}"), "64", "256Gi"))
            .collect();
        let mut c = cluster(nodes, vec![]);
        let mut state = SchedulerState::new();
        let mut chosen = BTreeSet::new();
        for i in 0..10 {
            let p = pod(&format!("p{i}")).with_requests(requests.0, requests.1);
            let d = schedule(&c, &p, &[], &mut state).unwrap();
            c.assume(Arc::new(p), &d.node).unwrap();
            chosen.insert(d.node);
        }
        assert_eq!(chosen.len(), 10, "requests {requests:?}: {chosen:?}");
    }
}

#[test]
fn the_emptier_node_wins() {
    let c = cluster(
        vec![node("busy", "4", "8Gi"), node("idle", "4", "8Gi")],
        vec![pod("x").with_requests("3", "6Gi").on_node("busy")],
    );
    let d = decide(&c, &pod("p").with_requests("500m", "1Gi")).unwrap();
    assert_eq!(d.node, "idle");
    assert_eq!((d.feasible, d.evaluated), (2, 2));
}

#[test]
fn a_single_feasible_node_is_not_scored() {
    let c = cluster(vec![node("a", "1", "1Gi"), node("b", "8", "8Gi")], vec![]);
    let d = decide(&c, &pod("p").with_requests("2", "1Gi")).unwrap();
    assert_eq!(d.node, "b");
    assert_eq!((d.feasible, d.evaluated, d.score), (1, 2, 0));
}

#[test]
fn aggregated_failure_message() {
    let c = cluster(
        vec![
            node("a", "1", "8Gi").with_labels(&[("disk", "ssd")]),
            node("b", "8", "8Gi").with_labels(&[("disk", "hdd")]),
            node("c", "8", "8Gi"),
        ],
        vec![],
    );
    let p = pod("p")
        .with_requests("2", "1Gi")
        .with_node_selector(&[("disk", "ssd")]);
    let err = decide(&c, &p).unwrap_err();
    assert_eq!(
        err.to_string(),
        "0/3 nodes are available: 1 Insufficient cpu, \
         2 node(s) didn't match Pod's node affinity/selector."
    );
    assert_eq!(err.num_all_nodes, 3);
}

#[test]
fn each_node_reports_its_first_failing_filter_only() {
    // Cordoned and too small: only the first filter (NodeUnschedulable) counts.
    let c = cluster(
        vec![
            node("a", "1", "1Gi").cordoned(),
            node("b", "1", "1Gi").with_ready("False"),
            node("c", "1", "1Gi").with_taint("dedicated", "gpu", "NoSchedule"),
            node("d", "1", "1Gi"),
        ],
        vec![],
    );
    let err = decide(&c, &pod("p").with_requests("2", "4Gi")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "0/4 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, \
         1 node(s) had untolerated taint {dedicated: gpu}, \
         1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, \
         1 node(s) were unschedulable."
    );
}

#[test]
fn tolerations_open_tainted_cordoned_and_not_ready_nodes() {
    use crate::framework::testing::toleration;
    let c = cluster(
        vec![
            node("a", "1", "1Gi").cordoned(),
            node("b", "1", "1Gi").with_ready("Unknown"),
            node("c", "1", "1Gi").with_taint("dedicated", "gpu", "NoExecute"),
        ],
        vec![],
    );
    assert!(decide(&c, &pod("p")).is_err());
    // What a DaemonSet pod carries, roughly: tolerate everything.
    let daemon = pod("p").with_tolerations(vec![toleration("", "Exists", "", "")]);
    let d = decide(&c, &daemon).unwrap();
    assert_eq!(d.feasible, 3);
}

#[test]
fn no_nodes_at_all() {
    let err = decide(&ClusterState::new(), &pod("p")).unwrap_err();
    assert_eq!(err.to_string(), "no nodes available to schedule pods");
}

#[test]
fn ghost_nodes_are_not_candidates() {
    let c = cluster(
        vec![node("real", "4", "8Gi")],
        vec![pod("orphan").on_node("ghost")],
    );
    let d = decide(&c, &pod("p")).unwrap();
    assert_eq!((d.node.as_str(), d.evaluated), ("real", 1));
}

#[test]
fn an_invalid_selector_fails_before_any_node() {
    let c = cluster(vec![node("a", "4", "8Gi")], vec![]);
    let mut bad = crate::framework::testing::term("app", "web", "zone");
    if let Some(s) = bad.label_selector.as_mut() {
        s.match_labels = Some(labels(&[("bad key!", "x")]));
    }
    let err = decide(&c, &pod("p").with_pod_affinity(vec![bad])).unwrap_err();
    assert!(err.pre_filter_msg.is_some());
    assert!(
        err.to_string()
            .starts_with("0/1 nodes are available: parsing pod affinity: "),
        "{err}"
    );
}

#[test]
fn preferred_node_affinity_and_prefer_no_schedule_taints_steer() {
    let c = cluster(
        vec![
            node("a", "4", "8Gi"),
            node("b", "4", "8Gi").with_labels(&[("disk", "ssd")]),
            node("c", "4", "8Gi")
                .with_labels(&[("disk", "ssd")])
                .with_taint("spot", "", "PreferNoSchedule"),
        ],
        vec![],
    );
    let p = pod("p")
        .with_requests("100m", "100Mi")
        .with_preferred_node_affinity(50, vec![requirement("disk", "In", &["ssd"])]);
    assert_eq!(decide(&c, &p).unwrap().node, "b");
}

#[test]
fn default_spreading_by_owner_and_by_selector() {
    let c = cluster(
        vec![node("a", "4", "8Gi"), node("b", "4", "8Gi")],
        vec![
            pod("web-1")
                .with_labels(&[("app", "web")])
                .owned_by("ReplicaSet", "web")
                .on_node("a"),
            // Heavier pod on b, so that resources alone would favour a.
            pod("other").with_requests("1", "2Gi").on_node("b"),
        ],
    );
    let web = pod("web-2")
        .with_labels(&[("app", "web")])
        .owned_by("ReplicaSet", "web");
    assert_eq!(decide(&c, &web).unwrap().node, "b");

    // Same through the selectors the caller computed (e.g. a Service's).
    let orphan = pod("web-3").with_labels(&[("app", "web")]);
    assert_eq!(decide(&c, &orphan).unwrap().node, "a");
    let selectors = [Selector::from_map(&labels(&[("app", "web")]))];
    let d = schedule(&c, &orphan, &selectors, &mut SchedulerState::new()).unwrap();
    assert_eq!(d.node, "b");
}

#[test]
fn responsibility() {
    assert!(responsible_for(&pod("p"), DEFAULT_SCHEDULER_NAME));
    assert!(!responsible_for(
        &pod("p").on_node("a"),
        DEFAULT_SCHEDULER_NAME
    ));
    assert!(!responsible_for(
        &pod("p").terminating(),
        DEFAULT_SCHEDULER_NAME
    ));
    assert!(!responsible_for(
        &pod("p").with_phase("Failed"),
        DEFAULT_SCHEDULER_NAME
    ));
    let mut other = pod("p");
    other.spec_mut().scheduler_name = Some("my-scheduler".into());
    assert!(!responsible_for(&other, DEFAULT_SCHEDULER_NAME));
    assert!(responsible_for(&other, "my-scheduler"));
    let mut gated = pod("p");
    gated.spec_mut().scheduling_gates = Some(vec![Default::default()]);
    assert!(!responsible_for(&gated, DEFAULT_SCHEDULER_NAME));
}

/// The worked example of docs/scheduler.md: one pod, three nodes, every
/// number computed by hand.
///
/// The pod requests 1 CPU / 2 GiB and belongs to no workload, so
/// NodeAffinity, PodTopologySpread and InterPodAffinity skip it.
///
/// | node | allocatable | already requested | taint |
/// |---|---|---|---|
/// | node-a | 4 CPU / 16 GiB | 2 CPU / 4 GiB | - |
/// | node-b | 8 CPU / 16 GiB | 1 CPU / 12 GiB | - |
/// | node-c | 4 CPU / 8 GiB | - | `spot:PreferNoSchedule` |
///
/// - TaintToleration (×3): untolerated PreferNoSchedule taints 0, 0, 1 →
///   reversed and scaled: 100, 100, 0.
/// - NodeResourcesFit (×1), LeastAllocated, with the pod added:
///   - a: cpu (4000−3000)·100/4000 = 25, memory (16−6)·100/16 = 62 → (25+62)/2 = 43
///   - b: cpu (8000−2000)·100/8000 = 75, memory (16−14)·100/16 = 12 → 43
///   - c: cpu 75, memory (8−2)·100/8 = 75 → 75
/// - NodeResourcesBalancedAllocation (×1), 100·(1 − |f_cpu − f_mem|/2):
///   - a: f = 0.75, 0.375 → 81;  b: 0.25, 0.875 → 68;  c: 0.25, 0.25 → 100
/// - Totals: a 3·100+43+81 = 424, b 300+43+68 = 411, c 0+75+100 = 175.
///
/// node-c is the emptiest but its taint costs 300; node-a beats node-b on balance.
#[test]
fn worked_example() {
    let c = cluster(
        vec![
            node("node-a", "4", "16Gi"),
            node("node-b", "8", "16Gi"),
            node("node-c", "4", "8Gi").with_taint("spot", "", "PreferNoSchedule"),
        ],
        vec![
            pod("a-load").with_requests("2", "4Gi").on_node("node-a"),
            pod("b-load").with_requests("1", "12Gi").on_node("node-b"),
        ],
    );
    let mut state = SchedulerState {
        record_scores: true,
        ..SchedulerState::new()
    };
    let d = schedule(&c, &pod("web").with_requests("1", "2Gi"), &[], &mut state).unwrap();
    assert_eq!(d.node, "node-a");
    assert_eq!(d.score, 424);

    type Row<'a> = (&'a str, Vec<(&'a str, i64, i64)>, i64);
    let table: Vec<Row<'_>> = d
        .scores
        .iter()
        .map(|n| {
            let plugins = n
                .plugins
                .iter()
                .map(|p| (p.plugin, p.weight, p.score))
                .collect();
            (n.node.as_str(), plugins, n.total)
        })
        .collect();
    let row = |taint, fit, balanced| {
        vec![
            ("TaintToleration", 3, taint),
            ("NodeResourcesFit", 1, fit),
            ("NodeResourcesBalancedAllocation", 1, balanced),
        ]
    };
    assert_eq!(
        table,
        vec![
            ("node-a", row(100, 43, 81), 424),
            ("node-b", row(100, 43, 68), 411),
            ("node-c", row(0, 75, 100), 175),
        ]
    );
}
