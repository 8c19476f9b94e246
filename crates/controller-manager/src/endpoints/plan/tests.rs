#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::endpoint_fixtures::{pod, pods, service};
use serde_json::json;

fn created(svc: &Service, p: &[Arc<Pod>]) -> Endpoints {
    match plan(svc, p, None) {
        Plan::Create(ep) => ep,
        other => panic!("expected a creation, got {other:?}"),
    }
}

fn ips(v: &Option<Vec<EndpointAddress>>) -> Vec<&str> {
    v.iter().flatten().map(|a| a.ip.as_str()).collect()
}

fn ports(ss: &EndpointSubset) -> Vec<(Option<&str>, i32)> {
    ss.ports
        .iter()
        .flatten()
        .map(|p| (p.name.as_deref(), p.port))
        .collect()
}

#[test]
fn ready_and_not_ready_pods_share_a_subset() {
    let svc = service(json!({}));
    let ep = created(
        &svc,
        &pods(vec![
            pod("b", "10.0.0.2", false, 8080),
            pod("a", "10.0.0.1", true, 8080),
        ]),
    );
    assert_eq!(ep.metadata.name, "web");
    assert_eq!(ep.metadata.namespace, "ns");
    assert_eq!(ep.kind, "Endpoints");
    assert_eq!(ep.metadata.labels, [("team".into(), "a".into())].into());
    let subsets = ep.subsets.unwrap();
    assert_eq!(subsets.len(), 1);
    assert_eq!(ips(&subsets[0].addresses), ["10.0.0.1"]);
    assert_eq!(ips(&subsets[0].not_ready_addresses), ["10.0.0.2"]);
    assert_eq!(ports(&subsets[0]), [(Some("http"), 8080)]);
    let a = &subsets[0].addresses.as_ref().unwrap()[0];
    assert_eq!(a.node_name.as_deref(), Some("n1"));
    assert_eq!(
        a.target_ref,
        Some(ObjectReference {
            kind: Some("Pod".into()),
            namespace: Some("ns".into()),
            name: Some("a".into()),
            uid: Some("uid-a".into()),
            ..Default::default()
        })
    );
    let p = &subsets[0].ports.as_ref().unwrap()[0];
    assert_eq!(p.protocol.as_deref(), Some("TCP"));
}

#[test]
fn a_named_target_port_resolves_per_pod() {
    // Two pods call their port `http` but number it differently: each
    // number is its own subset.
    let svc = service(json!({}));
    let ep = created(
        &svc,
        &pods(vec![
            pod("a", "10.0.0.1", true, 8080),
            pod("b", "10.0.0.2", true, 9090),
            pod("c", "10.0.0.3", true, 8080),
        ]),
    );
    let subsets = ep.subsets.unwrap();
    assert_eq!(subsets.len(), 2);
    assert_eq!(ips(&subsets[0].addresses), ["10.0.0.1", "10.0.0.3"]);
    assert_eq!(ports(&subsets[0]), [(Some("http"), 8080)]);
    assert_eq!(ips(&subsets[1].addresses), ["10.0.0.2"]);
    assert_eq!(ports(&subsets[1]), [(Some("http"), 9090)]);
}

#[test]
fn several_ports_and_a_pod_missing_one() {
    let svc = service(json!({"ports": [
        {"name": "metrics", "port": 9100, "targetPort": 9100},
        {"name": "http", "port": 80, "targetPort": "http"}
    ]}));
    let mut lacking = pod("b", "10.0.0.2", true, 0);
    lacking["spec"]["containers"][0]["ports"] = json!([]);
    let ep = created(&svc, &pods(vec![pod("a", "10.0.0.1", true, 8080), lacking]));
    let subsets = ep.subsets.unwrap();
    // Only `a` serves http; both serve metrics.
    assert_eq!(subsets.len(), 2);
    assert_eq!(ips(&subsets[0].addresses), ["10.0.0.1"]);
    assert_eq!(ports(&subsets[0]), [(Some("http"), 8080)]);
    assert_eq!(ips(&subsets[1].addresses), ["10.0.0.1", "10.0.0.2"]);
    assert_eq!(ports(&subsets[1]), [(Some("metrics"), 9100)]);

    // Both pods serving both ports: one subset, ports in name order.
    let ep = created(
        &svc,
        &pods(vec![
            pod("a", "10.0.0.1", true, 8080),
            pod("b", "10.0.0.2", true, 8080),
        ]),
    );
    let subsets = ep.subsets.unwrap();
    assert_eq!(subsets.len(), 1);
    assert_eq!(
        ports(&subsets[0]),
        [(Some("http"), 8080), (Some("metrics"), 9100)]
    );
}

#[test]
fn terminating_finished_and_unaddressed_pods_are_left_out() {
    let svc = service(json!({}));
    let mut terminating = pod("t", "10.0.0.9", true, 8080);
    terminating["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    let mut failed = pod("f", "10.0.0.8", false, 8080);
    failed["status"]["phase"] = json!("Failed");
    let mut done = pod("s", "10.0.0.7", false, 8080);
    done["status"]["phase"] = json!("Succeeded");
    let mut pending = pod("p", "", false, 8080);
    pending["status"] = json!({"phase": "Pending"});
    let mut other = pod("o", "10.0.0.6", true, 8080);
    other["metadata"]["labels"] = json!({"app": "db"});
    let ep = created(
        &svc,
        &pods(vec![
            terminating,
            failed,
            done,
            pending,
            other,
            pod("a", "10.0.0.1", true, 8080),
        ]),
    );
    let subsets = ep.subsets.unwrap();
    assert_eq!(subsets.len(), 1);
    assert_eq!(ips(&subsets[0].addresses), ["10.0.0.1"]);
    assert_eq!(subsets[0].not_ready_addresses, None);
}

#[test]
fn publish_not_ready_addresses_puts_everything_in_ready() {
    let svc = service(json!({"publishNotReadyAddresses": true}));
    let mut terminating = pod("t", "10.0.0.9", false, 8080);
    terminating["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    let ep = created(
        &svc,
        &pods(vec![pod("a", "10.0.0.1", false, 8080), terminating]),
    );
    let subsets = ep.subsets.unwrap();
    assert_eq!(ips(&subsets[0].addresses), ["10.0.0.1", "10.0.0.9"]);
    assert_eq!(subsets[0].not_ready_addresses, None);
}

#[test]
fn headless_services_are_labelled_and_may_have_no_ports() {
    let svc = service(json!({"clusterIP": "None", "ports": []}));
    let mut p = pod("a", "10.0.0.1", true, 8080);
    p["spec"]["hostname"] = json!("a");
    p["spec"]["subdomain"] = json!("web");
    let ep = created(&svc, &pods(vec![p]));
    assert_eq!(ep.metadata.labels.get(HEADLESS_LABEL), Some(&String::new()));
    let subsets = ep.subsets.unwrap();
    assert_eq!(subsets[0].ports, None);
    let a = &subsets[0].addresses.as_ref().unwrap()[0];
    assert_eq!(a.hostname.as_deref(), Some("a"));

    // A service with a cluster IP and no ports publishes nothing.
    let svc = service(json!({"ports": []}));
    let ep = created(&svc, &pods(vec![pod("a", "10.0.0.1", true, 8080)]));
    assert_eq!(ep.subsets, None);
    assert!(!ep.metadata.labels.contains_key(HEADLESS_LABEL));
}

#[test]
fn the_address_is_in_the_service_family() {
    let svc = service(json!({"ipFamilies": ["IPv6"], "clusterIP": "fd00::10"}));
    let mut p = pod("a", "10.0.0.1", true, 8080);
    p["status"]["podIPs"] = json!([{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]);
    let ep = created(&svc, &pods(vec![p]));
    assert_eq!(ips(&ep.subsets.unwrap()[0].addresses), ["fd00::1"]);
    // No IP of the family: not an endpoint.
    let ep = created(&svc, &pods(vec![pod("b", "10.0.0.2", true, 8080)]));
    assert_eq!(ep.subsets, None);
}

#[test]
fn services_without_selectors_are_left_to_the_user() {
    let mut svc = service(json!({}));
    svc.spec.as_mut().unwrap().selector = None;
    assert_eq!(plan(&svc, &[], None), Plan::Unmanaged);
    let mut svc = service(json!({"type": "ExternalName", "externalName": "example.com"}));
    svc.spec.as_mut().unwrap().cluster_ip = None;
    assert_eq!(plan(&svc, &[], None), Plan::Unmanaged);
}

#[test]
fn written_endpoints_are_up_to_date_and_changes_update_them() {
    let svc = service(json!({"ports": [
        {"name": "metrics", "port": 9100, "targetPort": 9100},
        {"name": "http", "port": 80, "targetPort": "http"}
    ]}));
    let p = pods(vec![
        pod("a", "10.0.0.1", true, 8080),
        pod("b", "10.0.0.2", false, 9090),
    ]);
    let ep = created(&svc, &p);
    // What the apiserver gives back (a JSON round trip, a resourceVersion,
    // defaults) compares equal, whatever the order of its subsets.
    let mut stored: Endpoints = serde_json::from_value(serde_json::to_value(&ep).unwrap()).unwrap();
    stored.metadata.resource_version = "7".into();
    stored.metadata.uid = "ep-uid".into();
    assert_eq!(plan(&svc, &p, Some(&stored)), Plan::UpToDate);
    stored.subsets.as_mut().unwrap().reverse();
    assert_eq!(plan(&svc, &p, Some(&stored)), Plan::UpToDate);

    // Readiness flips: an update of the stored object.
    let flipped = pods(vec![
        pod("a", "10.0.0.1", false, 8080),
        pod("b", "10.0.0.2", false, 9090),
    ]);
    let Plan::Update(next) = plan(&svc, &flipped, Some(&stored)) else {
        panic!("expected an update");
    };
    assert_eq!(next.metadata.resource_version, "7");
    assert!(next.subsets.iter().flatten().all(|s| s.addresses.is_none()));

    // The service's labels follow onto the Endpoints.
    let mut relabelled = svc.clone();
    relabelled.metadata.labels.insert("team".into(), "b".into());
    let Plan::Update(next) = plan(&relabelled, &p, Some(&stored)) else {
        panic!("expected an update");
    };
    assert_eq!(
        next.metadata.labels.get("team").map(String::as_str),
        Some("b")
    );
}

#[test]
fn repacking_is_stable() {
    let svc = service(json!({}));
    let p = pods(vec![
        pod("a", "10.0.0.1", true, 8080),
        pod("b", "10.0.0.2", false, 8080),
        pod("c", "10.0.0.3", true, 9090),
    ]);
    let once = repack(&raw_subsets(&svc, &p));
    assert_eq!(repack(&once), once);
    let mut reversed = raw_subsets(&svc, &p);
    reversed.reverse();
    assert_eq!(repack(&reversed), once);
}

#[test]
fn an_address_not_ready_for_a_port_is_not_ready_for_it() {
    let a = EndpointAddress {
        ip: "10.0.0.1".into(),
        ..Default::default()
    };
    let port = EndpointPort {
        port: 80,
        ..Default::default()
    };
    let subsets = [
        EndpointSubset {
            addresses: Some(vec![a.clone()]),
            ports: Some(vec![port.clone()]),
            ..Default::default()
        },
        EndpointSubset {
            not_ready_addresses: Some(vec![a]),
            ports: Some(vec![port]),
            ..Default::default()
        },
    ];
    let out = repack(&subsets);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].addresses, None);
    assert_eq!(ips(&out[0].not_ready_addresses), ["10.0.0.1"]);
}

#[test]
fn more_than_a_thousand_addresses_are_truncated_ready_first() {
    let svc = service(json!({}));
    let mut all = Vec::new();
    for i in 0..1100 {
        let ip = format!("10.1.{}.{}", i / 250, i % 250 + 1);
        all.push(pod(&format!("p{i}"), &ip, i < 900, 8080));
    }
    let ep = created(&svc, &pods(all));
    assert_eq!(
        ep.metadata
            .annotations
            .get(OVER_CAPACITY)
            .map(String::as_str),
        Some("truncated")
    );
    let subsets = ep.subsets.clone().unwrap();
    let ready: usize = subsets.iter().map(|s| count(&s.addresses)).sum();
    let not_ready: usize = subsets.iter().map(|s| count(&s.not_ready_addresses)).sum();
    assert_eq!((ready, not_ready), (900, 100));

    // Back under capacity: the annotation goes.
    let mut stored = ep;
    stored.metadata.resource_version = "1".into();
    let few = pods(vec![pod("a", "10.0.0.1", true, 8080)]);
    let Plan::Update(next) = plan(&svc, &few, Some(&stored)) else {
        panic!("expected an update");
    };
    assert!(!next.metadata.annotations.contains_key(OVER_CAPACITY));
}

#[test]
fn too_many_ready_addresses_keep_each_subset_s_share() {
    let addr = |i: usize| EndpointAddress {
        ip: format!("10.2.{}.{}", i / 250, i % 250),
        ..Default::default()
    };
    let subset = |range: std::ops::Range<usize>, not_ready: usize| EndpointSubset {
        addresses: Some(range.map(addr).collect()),
        not_ready_addresses: Some((0..not_ready).map(|i| addr(5000 + i)).collect()),
        ports: None,
    };
    let mut subsets = vec![subset(0..900, 10), subset(900..1500, 10)];
    assert!(truncate(&mut subsets));
    let kept: Vec<(usize, usize)> = subsets
        .iter()
        .map(|s| (count(&s.addresses), count(&s.not_ready_addresses)))
        .collect();
    assert_eq!(kept, [(600, 0), (400, 0)]);

    let mut small = vec![subset(0..10, 3)];
    assert!(!truncate(&mut small));
    assert_eq!(count(&small[0].not_ready_addresses), 3);
}
