#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::endpoint_fixtures::{pod, pods, service};
use serde_json::json;

/// `n` ready pods serving http on 8080.
fn many(n: usize) -> Vec<Arc<Pod>> {
    pods(
        (0..n)
            .map(|i| {
                pod(
                    &format!("p{i}"),
                    &format!("10.1.{}.{}", i / 250, i % 250 + 1),
                    true,
                    8080,
                )
            })
            .collect(),
    )
}

fn nodes() -> BTreeMap<String, Option<String>> {
    [("n1".to_string(), Some("zone-a".to_string()))].into()
}

fn run(svc: &Service, pods: &[Arc<Pod>], slices: &[Arc<EndpointSlice>], max: usize) -> Plan {
    plan(&Input {
        service: svc,
        pods,
        nodes: &nodes(),
        slices,
        max_per_slice: max,
    })
}

/// What the apiserver would store for the plan's creations and updates:
/// names, resourceVersions, a JSON round trip.
fn store(plan: &Plan, before: &[Arc<EndpointSlice>]) -> Vec<Arc<EndpointSlice>> {
    let mut out: BTreeMap<String, EndpointSlice> = before
        .iter()
        .map(|s| (s.metadata.name.clone(), (**s).clone()))
        .collect();
    for name in &plan.delete {
        out.remove(name);
    }
    for s in &plan.update {
        out.insert(s.metadata.name.clone(), s.clone());
    }
    for (i, s) in plan.create.iter().enumerate() {
        let mut s = s.clone();
        s.metadata.name = format!("{}{}x{}", s.metadata.generate_name, out.len(), i);
        s.metadata.resource_version = "1".into();
        out.insert(s.metadata.name.clone(), s);
    }
    out.into_values()
        .map(|s| Arc::new(serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap()))
        .collect()
}

fn total(slices: &[Arc<EndpointSlice>]) -> usize {
    slices.iter().map(|s| len(s)).sum()
}

#[test]
fn a_new_service_gets_a_slice_with_its_pods() {
    let svc = service(json!({}));
    let p = run(
        &svc,
        &pods(vec![
            pod("a", "10.0.0.1", true, 8080),
            pod("b", "10.0.0.2", false, 8080),
        ]),
        &[],
        100,
    );
    assert!(p.update.is_empty() && p.delete.is_empty() && p.missing_nodes.is_empty());
    let [s] = p.create.as_slice() else {
        panic!("one slice: {p:?}");
    };
    assert_eq!(s.metadata.generate_name, "web-");
    assert_eq!(s.address_type, "IPv4");
    assert_eq!(
        s.metadata.labels,
        [
            ("team".into(), "a".into()),
            (SERVICE_NAME_LABEL.into(), "web".into()),
            (MANAGED_BY_LABEL.into(), CONTROLLER_NAME.into()),
        ]
        .into()
    );
    let owner = &s.metadata.owner_references[0];
    assert_eq!(
        (
            owner.kind.as_str(),
            owner.api_version.as_str(),
            owner.uid.as_str(),
            owner.controller,
            owner.block_owner_deletion
        ),
        ("Service", "v1", "svc-uid", Some(true), Some(true))
    );
    let ports = s.ports.as_ref().unwrap();
    assert_eq!(
        ports[0],
        EndpointPort {
            name: Some("http".into()),
            protocol: Some("TCP".into()),
            port: Some(8080),
            app_protocol: None,
        }
    );
    let eps = s.endpoints.as_ref().unwrap();
    assert_eq!(eps.len(), 2);
    assert_eq!(eps[0].addresses, ["10.0.0.1"]);
    assert_eq!(
        eps[0].conditions,
        Some(EndpointConditions {
            ready: Some(true),
            serving: Some(true),
            terminating: Some(false)
        })
    );
    assert_eq!(eps[0].node_name.as_deref(), Some("n1"));
    assert_eq!(eps[0].zone.as_deref(), Some("zone-a"));
    assert_eq!(
        eps[0].target_ref.as_ref().unwrap().name.as_deref(),
        Some("a")
    );
    assert_eq!(eps[1].conditions.as_ref().unwrap().ready, Some(false));
}

#[test]
fn nothing_changes_when_nothing_changed() {
    let svc = service(json!({}));
    let p = many(250);
    let first = run(&svc, &p, &[], 100);
    assert_eq!(first.create.len(), 3);
    let stored = store(&first, &[]);
    assert_eq!(run(&svc, &p, &stored, 100), Plan::default());
}

#[test]
fn slices_split_at_the_maximum() {
    let svc = service(json!({}));
    let p = run(&svc, &many(250), &[], 100);
    let sizes: Vec<usize> = p.create.iter().map(len).collect();
    assert_eq!(sizes, [100, 100, 50]);
    let p = run(&svc, &many(7), &[], 3);
    let sizes: Vec<usize> = p.create.iter().map(len).collect();
    assert_eq!(sizes, [3, 3, 1]);
}

#[test]
fn pods_resolving_to_different_ports_get_different_slices() {
    let svc = service(json!({}));
    let p = run(
        &svc,
        &pods(vec![
            pod("a", "10.0.0.1", true, 8080),
            pod("b", "10.0.0.2", true, 9090),
        ]),
        &[],
        100,
    );
    let mut got: Vec<(Option<i32>, Vec<String>)> = p
        .create
        .iter()
        .map(|s| {
            (
                s.ports.as_ref().unwrap()[0].port,
                s.endpoints
                    .iter()
                    .flatten()
                    .flat_map(|e| e.addresses.clone())
                    .collect(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (Some(8080), vec!["10.0.0.1".to_string()]),
            (Some(9090), vec!["10.0.0.2".to_string()])
        ]
    );
}

#[test]
fn a_readiness_change_updates_in_place() {
    let svc = service(json!({}));
    let before = pods(vec![
        pod("a", "10.0.0.1", true, 8080),
        pod("b", "10.0.0.2", true, 8080),
    ]);
    let stored = store(&run(&svc, &before, &[], 100), &[]);
    let after = pods(vec![
        pod("a", "10.0.0.1", false, 8080),
        pod("b", "10.0.0.2", true, 8080),
    ]);
    let p = run(&svc, &after, &stored, 100);
    assert!(p.create.is_empty() && p.delete.is_empty());
    let [s] = p.update.as_slice() else {
        panic!("one update: {p:?}");
    };
    assert_eq!(s.metadata.name, stored[0].metadata.name);
    assert_eq!(s.metadata.resource_version, "1");
    let a = &s.endpoints.as_ref().unwrap()[0];
    assert_eq!(a.addresses, ["10.0.0.1"]);
    assert_eq!(
        a.conditions.as_ref().unwrap(),
        &EndpointConditions {
            ready: Some(false),
            serving: Some(false),
            terminating: Some(false)
        }
    );
}

#[test]
fn terminating_pods_stay_as_terminating() {
    let mut t = pod("t", "10.0.0.9", true, 8080);
    t["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    let mut failed = pod("f", "10.0.0.8", true, 8080);
    failed["status"]["phase"] = json!("Failed");
    let both = pods(vec![t, failed]);
    let p = run(&service(json!({})), &both, &[], 100);
    let eps = p.create[0].endpoints.as_ref().unwrap();
    assert_eq!(eps.len(), 1, "the failed pod is left out");
    assert_eq!(
        eps[0].conditions,
        Some(EndpointConditions {
            ready: Some(false),
            serving: Some(true),
            terminating: Some(true)
        })
    );
    // publishNotReadyAddresses: ready whatever happens.
    let p = run(
        &service(json!({"publishNotReadyAddresses": true})),
        &both,
        &[],
        100,
    );
    let eps = p.create[0].endpoints.as_ref().unwrap();
    assert_eq!(eps[0].conditions.as_ref().unwrap().ready, Some(true));
}

#[test]
fn removed_pods_leave_and_an_emptied_slice_is_deleted() {
    let svc = service(json!({}));
    let stored = store(&run(&svc, &many(5), &[], 3), &[]);
    assert_eq!(stored.len(), 2);
    // Down to one pod: one slice keeps it, the other goes.
    let p = run(&svc, &many(1), &stored, 3);
    assert_eq!(p.delete.len() + p.update.len(), 2);
    assert_eq!(p.delete.len(), 1);
    let after = store(&p, &stored);
    assert_eq!(after.len(), 1);
    assert_eq!(total(&after), 1);
    assert_eq!(run(&svc, &many(1), &after, 3), Plan::default());
}

#[test]
fn new_pods_go_into_an_existing_slice_with_room() {
    let svc = service(json!({}));
    let stored = store(&run(&svc, &many(3), &[], 100), &[]);
    let p = run(&svc, &many(5), &stored, 100);
    assert!(p.create.is_empty() && p.delete.is_empty());
    assert_eq!(p.update.len(), 1);
    assert_eq!(len(&p.update[0]), 5);
}

#[test]
fn no_pods_leave_one_placeholder() {
    let svc = service(json!({}));
    let p = run(&svc, &[], &[], 100);
    let [s] = p.create.as_slice() else {
        panic!("a placeholder: {p:?}");
    };
    assert_eq!(len(s), 0);
    assert_eq!(s.ports, Some(Vec::new()));
    let stored = store(&p, &[]);
    assert_eq!(run(&svc, &[], &stored, 100), Plan::default());

    // Pods arrive: the placeholder becomes their slice (one update, not a
    // creation and a deletion).
    let p = run(&svc, &many(2), &stored, 100);
    assert!(p.create.is_empty() && p.delete.is_empty(), "{p:?}");
    assert_eq!(p.update.len(), 1);
    assert_eq!(p.update[0].metadata.name, stored[0].metadata.name);
    assert_eq!(len(&p.update[0]), 2);
    assert_eq!(p.update[0].ports.as_ref().unwrap()[0].port, Some(8080));

    // And back to none: the slice becomes the placeholder again.
    let stored = store(&p, &stored);
    let p = run(&svc, &[], &stored, 100);
    assert!(p.create.is_empty() && p.delete.is_empty(), "{p:?}");
    assert_eq!(len(&p.update[0]), 0);
}

#[test]
fn slices_of_an_older_service_of_the_same_name_are_replaced() {
    let svc = service(json!({}));
    let stored = store(&run(&svc, &many(2), &[], 100), &[]);
    let mut newer = svc.clone();
    newer.metadata.uid = "svc-uid-2".into();
    let p = run(&newer, &many(2), &stored, 100);
    assert_eq!(p.delete, [stored[0].metadata.name.clone()]);
    assert_eq!(p.create.len(), 1);
    assert_eq!(p.create[0].metadata.owner_references[0].uid, "svc-uid-2");
}

#[test]
fn service_labels_follow_onto_the_slices() {
    let svc = service(json!({}));
    let stored = store(&run(&svc, &many(2), &[], 100), &[]);
    let mut relabelled = svc.clone();
    relabelled.metadata.labels.insert("team".into(), "b".into());
    let p = run(&relabelled, &many(2), &stored, 100);
    assert_eq!(p.update.len(), 1);
    assert_eq!(
        p.update[0].metadata.labels.get("team").map(String::as_str),
        Some("b")
    );
}

#[test]
fn pods_on_unknown_nodes_wait_for_them() {
    let svc = service(json!({}));
    let mut elsewhere = pod("x", "10.0.0.5", true, 8080);
    elsewhere["spec"]["nodeName"] = json!("n9");
    let p = run(
        &svc,
        &pods(vec![pod("a", "10.0.0.1", true, 8080), elsewhere.clone()]),
        &[],
        100,
    );
    assert_eq!(p.missing_nodes, [("x".to_string(), "n9".to_string())]);
    assert_eq!(len(&p.create[0]), 1);
    let p = run(
        &service(json!({"publishNotReadyAddresses": true})),
        &pods(vec![elsewhere]),
        &[],
        100,
    );
    assert!(p.missing_nodes.is_empty());
    assert_eq!(len(&p.create[0]), 1);
    assert_eq!(p.create[0].endpoints.as_ref().unwrap()[0].zone, None);
}

#[test]
fn headless_and_dual_stack_services() {
    let svc = service(json!({"clusterIP": "None", "ipFamilies": ["IPv4", "IPv6"], "ports": []}));
    let mut p = pod("a", "10.0.0.1", true, 8080);
    p["status"]["podIPs"] = json!([{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]);
    let plan = run(&svc, &pods(vec![p]), &[], 100);
    let mut got: Vec<(String, Vec<String>)> = plan
        .create
        .iter()
        .map(|s| {
            assert_eq!(s.metadata.labels.get(HEADLESS_LABEL), Some(&String::new()));
            assert_eq!(s.ports, Some(Vec::new()));
            (
                s.address_type.clone(),
                s.endpoints.as_ref().unwrap()[0].addresses.clone(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("IPv4".to_string(), vec!["10.0.0.1".to_string()]),
            ("IPv6".to_string(), vec!["fd00::1".to_string()])
        ]
    );
}

#[test]
fn services_without_selectors_and_leaving_services() {
    let mut svc = service(json!({}));
    svc.spec.as_mut().unwrap().selector = None;
    assert_eq!(run(&svc, &many(2), &[], 100), Plan::default());
    let mut leaving = service(json!({}));
    leaving.metadata.deletion_timestamp =
        Some(serde_json::from_value(json!("2026-01-01T00:00:00Z")).unwrap());
    assert!(run(&leaving, &many(2), &[], 100).create.is_empty());
}
