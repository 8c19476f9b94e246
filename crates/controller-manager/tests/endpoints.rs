//! The Endpoints and EndpointSlice controllers against an in-process
//! apiserver. No kubelet runs: the test plays it, writing each pod's IP
//! and readiness through the status subresource.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::kubectl;

use std::collections::BTreeMap;
use std::time::Duration;

use api_types::core::v1::{Endpoints, Node, Pod, Service};
use api_types::discovery::v1::EndpointSlice;
use api_types::meta::v1::DeleteOptions;
use client::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use test_support::eventually;
use testenv::TestApiserver;

const LIMIT: Duration = Duration::from_secs(30);

/// A pod on node `n1` whose container names port `http` as `port`.
async fn create_pod(api: &Api<Pod>, name: &str, port: i32) {
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "nginx", "ports": [
            {"name": "http", "containerPort": port}
        ]}]}
    }))
    .unwrap();
    api.create(&PostParams::default(), &pod).await.unwrap();
}

/// What the kubelet would report: running, with `ip`, ready or not.
async fn set_status(api: &Api<Pod>, name: &str, ip: &str, ready: bool) {
    let status = if ready { "True" } else { "False" };
    let patch = json!({"status": {
        "phase": "Running",
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "conditions": [{"type": "Ready", "status": status}]
    }});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .unwrap();
}

/// `ip → port` of the ready and of the not-ready addresses.
type Addresses = (BTreeMap<String, i32>, BTreeMap<String, i32>);

fn addresses(ep: &Endpoints) -> Addresses {
    let (mut ready, mut not_ready) = (BTreeMap::new(), BTreeMap::new());
    for ss in ep.subsets.iter().flatten() {
        let ports = ss.ports.clone().unwrap_or_default();
        assert_eq!(ports.len(), 1, "one service port: {ss:?}");
        assert_eq!(ports[0].name.as_deref(), Some("http"));
        for a in ss.addresses.iter().flatten() {
            ready.insert(a.ip.clone(), ports[0].port);
        }
        for a in ss.not_ready_addresses.iter().flatten() {
            not_ready.insert(a.ip.clone(), ports[0].port);
        }
    }
    (ready, not_ready)
}

fn map(v: &[(&str, i32)]) -> BTreeMap<String, i32> {
    v.iter().map(|(ip, p)| (ip.to_string(), *p)).collect()
}

/// One endpoint of a slice, flattened: (ip, port, ready, serving, terminating).
type SliceEndpoint = (String, i32, bool, bool, bool);

async fn slice_endpoints(api: &Api<EndpointSlice>, service: &str) -> Vec<SliceEndpoint> {
    let slices = api
        .list(&ListParams::default().labels(&format!("kubernetes.io/service-name={service}")))
        .await
        .unwrap()
        .items;
    let mut out = Vec::new();
    for s in slices {
        let port = s
            .ports
            .as_ref()
            .and_then(|p| p.first())
            .and_then(|p| p.port);
        for e in s.endpoints.iter().flatten() {
            let c = e.conditions.clone().unwrap_or_default();
            out.push((
                e.addresses[0].clone(),
                port.unwrap_or(0),
                c.ready.unwrap_or(false),
                c.serving.unwrap_or(false),
                c.terminating.unwrap_or(false),
            ));
        }
    }
    out.sort();
    out
}

fn ep(ip: &str, port: i32, ready: bool, serving: bool, terminating: bool) -> SliceEndpoint {
    (ip.to_string(), port, ready, serving, terminating)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_get_endpoints_and_slices_of_their_pods() {
    test_support::init_tracing();
    let api = TestApiserver::start().await;
    let client = api.client();
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let endpoints: Api<Endpoints> = Api::namespaced(client.clone(), "default");
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    // A service without a selector, with Endpoints written by hand, from
    // before the controllers start: they must leave it alone.
    let manual: Service = serde_json::from_value(json!({
        "metadata": {"name": "manual"},
        "spec": {"ports": [{"port": 80}]}
    }))
    .unwrap();
    services
        .create(&PostParams::default(), &manual)
        .await
        .unwrap();
    let mine: Endpoints = serde_json::from_value(json!({
        "metadata": {"name": "manual", "labels": {"by": "hand"}},
        "subsets": [{"addresses": [{"ip": "192.0.2.7"}], "ports": [{"port": 9999}]}]
    }))
    .unwrap();
    let mine = endpoints
        .create(&PostParams::default(), &mine)
        .await
        .unwrap();

    // The node the pods run on (EndpointSlices wait for a pod's node).
    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": "n1", "labels": {"topology.kubernetes.io/zone": "zone-a"}}
    }))
    .unwrap();
    Api::<Node>::all(client.clone())
        .create(&PostParams::default(), &node)
        .await
        .unwrap();

    let cm = common::controllers(&client);

    let web: Service = serde_json::from_value(json!({
        "metadata": {"name": "web", "labels": {"team": "a"}},
        "spec": {
            "selector": {"app": "web"},
            // Set by hand: the apiserver does not allocate cluster IPs yet,
            // and a service without one is headless.
            "clusterIP": "10.96.0.50",
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}]
        }
    }))
    .unwrap();
    let web = services.create(&PostParams::default(), &web).await.unwrap();

    // `a` and `b` call port `http` 8080, `c` calls it 9090.
    for (name, port) in [("a", 8080), ("b", 8080), ("c", 9090)] {
        create_pod(&pods, name, port).await;
    }
    set_status(&pods, "a", "10.244.1.10", true).await;
    set_status(&pods, "b", "10.244.1.11", true).await;
    set_status(&pods, "c", "10.244.1.12", false).await;

    let want = (
        map(&[("10.244.1.10", 8080), ("10.244.1.11", 8080)]),
        map(&[("10.244.1.12", 9090)]),
    );
    let got = eventually("the Endpoints of web", LIMIT, || async {
        let ep = endpoints.get("web").await.ok()?;
        (addresses(&ep) == want).then_some(ep)
    })
    .await;
    assert_eq!(
        got.metadata.labels,
        [("team".to_string(), "a".to_string())].into()
    );
    let subsets = got.subsets.clone().unwrap();
    assert_eq!(subsets.len(), 2, "one subset per resolved port");
    let a = subsets
        .iter()
        .flat_map(|s| s.addresses.iter().flatten())
        .find(|a| a.ip == "10.244.1.10")
        .unwrap();
    assert_eq!(a.node_name.as_deref(), Some("n1"));
    let target = a.target_ref.as_ref().unwrap();
    assert_eq!(
        (target.kind.as_deref(), target.name.as_deref()),
        (Some("Pod"), Some("a"))
    );
    assert_eq!(
        target.uid.as_deref(),
        Some(pods.get("a").await.unwrap().metadata.uid.as_str())
    );

    eventually("the EndpointSlices of web", LIMIT, || async {
        (slice_endpoints(&slices, "web").await
            == [
                ep("10.244.1.10", 8080, true, true, false),
                ep("10.244.1.11", 8080, true, true, false),
                ep("10.244.1.12", 9090, false, false, false),
            ])
        .then_some(())
    })
    .await;
    let all = slices
        .list(&ListParams::default().labels("kubernetes.io/service-name=web"))
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), 2, "one slice per resolved port");
    for s in &all {
        assert!(s.metadata.name.starts_with("web-"), "{}", s.metadata.name);
        assert_eq!(s.address_type, "IPv4");
        assert_eq!(
            s.metadata
                .labels
                .get("endpointslice.kubernetes.io/managed-by")
                .map(String::as_str),
            Some("endpointslice-controller.k8s.io")
        );
        let owner = &s.metadata.owner_references[0];
        assert_eq!(
            (
                owner.kind.as_str(),
                owner.uid.as_str(),
                owner.controller,
                owner.block_owner_deletion
            ),
            ("Service", web.metadata.uid.as_str(), Some(true), Some(true))
        );
        let e = &s.endpoints.as_ref().unwrap()[0];
        assert_eq!(e.node_name.as_deref(), Some("n1"));
        assert_eq!(e.zone.as_deref(), Some("zone-a"));
    }

    // A real client reads them: `ip:port`.
    let kubeconfig = api.write_kubeconfig();
    let shown = kubectl(&kubeconfig, &["get", "endpoints", "web"]);
    assert!(shown.contains("10.244.1.10:8080"), "{shown}");
    let shown = kubectl(
        &kubeconfig,
        &[
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=web",
        ],
    );
    assert!(
        shown.contains("10.244.1.12") && shown.contains("9090"),
        "{shown}"
    );

    // `a` stops being ready: it moves to notReadyAddresses, and its
    // endpoint is no longer ready.
    set_status(&pods, "a", "10.244.1.10", false).await;
    let want = (
        map(&[("10.244.1.11", 8080)]),
        map(&[("10.244.1.10", 8080), ("10.244.1.12", 9090)]),
    );
    eventually("a not ready", LIMIT, || async {
        (addresses(&endpoints.get("web").await.ok()?) == want).then_some(())
    })
    .await;
    eventually("a's endpoint not ready", LIMIT, || async {
        slice_endpoints(&slices, "web")
            .await
            .contains(&ep("10.244.1.10", 8080, false, false, false))
            .then_some(())
    })
    .await;

    // `b` is being deleted (no kubelet finishes it): it leaves the
    // Endpoints, and its endpoint stays as terminating.
    pods.delete("b", &DeleteOptions::default()).await.unwrap();
    let want = (
        BTreeMap::new(),
        map(&[("10.244.1.10", 8080), ("10.244.1.12", 9090)]),
    );
    eventually("b gone from the Endpoints", LIMIT, || async {
        (addresses(&endpoints.get("web").await.ok()?) == want).then_some(())
    })
    .await;
    eventually("b terminating", LIMIT, || async {
        slice_endpoints(&slices, "web")
            .await
            .contains(&ep("10.244.1.11", 8080, false, true, true))
            .then_some(())
    })
    .await;
    // Then it is gone for good.
    let now = DeleteOptions {
        grace_period_seconds: Some(0),
        ..Default::default()
    };
    pods.delete("b", &now).await.unwrap();
    eventually("b gone from the slices", LIMIT, || async {
        (slice_endpoints(&slices, "web").await
            == [
                ep("10.244.1.10", 8080, false, false, false),
                ep("10.244.1.12", 9090, false, false, false),
            ])
        .then_some(())
    })
    .await;

    // The service without a selector: its Endpoints are as written, and it
    // has no slices.
    let still = endpoints.get("manual").await.unwrap();
    assert_eq!(
        still.metadata.resource_version,
        mine.metadata.resource_version
    );
    assert_eq!(still.subsets, mine.subsets);
    assert!(slice_endpoints(&slices, "manual").await.is_empty());

    // The service goes: so do its Endpoints and slices.
    services
        .delete("web", &DeleteOptions::default())
        .await
        .unwrap();
    eventually("the Endpoints of web gone", LIMIT, || async {
        endpoints.get_opt("web").await.ok()?.is_none().then_some(())
    })
    .await;
    eventually("the slices of web gone", LIMIT, || async {
        slices
            .list(&ListParams::default().labels("kubernetes.io/service-name=web"))
            .await
            .ok()?
            .items
            .is_empty()
            .then_some(())
    })
    .await;
    assert_eq!(
        endpoints
            .get("manual")
            .await
            .unwrap()
            .metadata
            .resource_version,
        mine.metadata.resource_version
    );

    cm.stop().await;
}
