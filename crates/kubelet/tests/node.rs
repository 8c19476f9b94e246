//! The kubelet's Node part against a real apiserver (in-process, on the
//! embedded store): registration and adoption, the status loop, the Lease.
//!
//! The host and the runtime are fakes ([`StaticHost`], [`FlipProbe`]) so
//! that conditions are what the test says, whatever machine runs it.

#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use api_types::coordination::v1::Lease;
use api_types::core::v1::Node;
use api_types::meta::v1::Time;
use async_trait::async_trait;
use client::{Api, Patch, PatchParams};
use kubelet::node::{
    HostFacts, HostInfo, NODE_LEASE_NAMESPACE, NodeConfig, NodeLease, NodeStatusReporter,
    RuntimeFacts, RuntimeProbe, StaticHost, Synced, node_object, register,
};
use serde_json::json;
use testenv::TestApiserver;
use tokio::sync::oneshot;

fn host() -> HostFacts {
    HostFacts {
        cpus: 4,
        memory_total_bytes: 8 << 30,
        memory_available_bytes: 6 << 30,
        fs_capacity_bytes: 100 << 30,
        fs_available_bytes: 60 << 30,
        fs_inodes: 1_000_000,
        fs_inodes_free: 900_000,
        pid_max: 4_194_304,
        pids_in_use: 300,
        kernel_version: "6.1.0-test".into(),
        os_image: "Test Linux".into(),
        architecture: "amd64".into(),
        machine_id: "m1".into(),
        system_uuid: "u1".into(),
        boot_id: "b1".into(),
        hostname: "node-1".into(),
        default_ip: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7))),
        ..HostFacts::default()
    }
}

/// A runtime whose network readiness the test flips.
struct FlipProbe(AtomicBool);

#[async_trait]
impl RuntimeProbe for FlipProbe {
    async fn facts(&self) -> RuntimeFacts {
        let ready = self.0.load(Ordering::SeqCst);
        RuntimeFacts {
            runtime_version: "containerd://1.7.20".into(),
            runtime_ready: true,
            network_ready: ready,
            not_ready_message: if ready {
                String::new()
            } else {
                "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized".into()
            },
        }
    }
}

fn condition(node: &Node, type_: &str) -> (String, Option<Time>, Option<Time>) {
    let c = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
        .unwrap();
    (
        c.status.clone(),
        c.last_transition_time,
        c.last_heartbeat_time,
    )
}

async fn registered(api: &TestApiserver, cfg: &NodeConfig) -> Node {
    let nodes: Api<Node> = Api::all(api.client());
    let ready = FlipProbe(AtomicBool::new(true)).facts().await;
    let node = node_object(cfg, &host(), &ready, Time::now());
    register(&nodes, cfg, &node).await.unwrap()
}

/// Polls `f` every 50 ms for up to 10 s.
async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn registering_creates_the_node() {
    let api = TestApiserver::start().await;
    let mut cfg = NodeConfig::new("node-1");
    cfg.labels.insert("team".into(), "a".into());
    let node = registered(&api, &cfg).await;
    assert!(!node.metadata.uid.is_empty());

    let stored = Api::<Node>::all(api.client()).get("node-1").await.unwrap();
    let v = serde_json::to_value(&stored).unwrap();
    assert_eq!(v["metadata"]["labels"]["kubernetes.io/hostname"], "node-1");
    assert_eq!(v["metadata"]["labels"]["kubernetes.io/arch"], "amd64");
    assert_eq!(v["metadata"]["labels"]["team"], "a");
    let st = &v["status"];
    assert_eq!(st["capacity"]["cpu"], "4");
    assert_eq!(st["capacity"]["memory"], "8Gi");
    assert_eq!(st["capacity"]["pods"], "110");
    assert_eq!(st["allocatable"]["memory"], "8092Mi");
    assert_eq!(st["addresses"][0]["address"], "10.0.0.7");
    assert_eq!(
        st["nodeInfo"]["containerRuntimeVersion"],
        "containerd://1.7.20"
    );
    assert_eq!(st["conditions"].as_array().unwrap().len(), 4);
    assert_eq!(condition(&stored, "Ready").0, "True");
    assert_eq!(condition(&stored, "MemoryPressure").0, "False");
}

#[tokio::test]
async fn registering_again_adopts_the_node() {
    let api = TestApiserver::start().await;
    let nodes: Api<Node> = Api::all(api.client());
    let cfg = NodeConfig::new("node-1");
    let first = registered(&api, &cfg).await;
    let since = condition(&first, "Ready").1;

    // meanwhile: the IPAM assigns a pod CIDR, an admin labels the node
    let patch = json!({
        "metadata": { "labels": { "admin": "yes", "kubernetes.io/arch": "wrong" } },
        "spec": { "podCIDR": "10.244.3.0/24", "podCIDRs": ["10.244.3.0/24"] },
    });
    nodes
        .patch("node-1", &PatchParams::default(), &Patch::Merge(patch))
        .await
        .unwrap();

    // a restarted kubelet, configured with another CIDR and a new label
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut cfg = NodeConfig::new("node-1");
    cfg.pod_cidr = Some("10.244.9.0/24".into());
    cfg.labels.insert("new".into(), "1".into());
    let again = registered(&api, &cfg).await;
    assert_eq!(again.metadata.uid, first.metadata.uid, "the same object");
    let spec = again.spec.as_ref().unwrap();
    assert_eq!(spec.pod_cidr.as_deref(), Some("10.244.3.0/24"));
    let labels = &again.metadata.labels;
    assert_eq!(labels["admin"], "yes");
    assert_eq!(labels["kubernetes.io/arch"], "amd64");
    assert_eq!(labels["new"], "1");
    // still Ready since the first registration
    assert_eq!(condition(&again, "Ready").1, since);
    assert!(condition(&again, "Ready").2 > since);
}

#[tokio::test]
async fn the_status_loop_reports_a_condition_change() {
    let api = TestApiserver::start().await;
    let nodes: Api<Node> = Api::all(api.client());
    let cfg = NodeConfig::new("node-1");
    registered(&api, &cfg).await;

    let probe = Arc::new(FlipProbe(AtomicBool::new(true)));
    let host = Arc::new(StaticHost::new(host()));
    let mut reporter =
        NodeStatusReporter::new(nodes.clone(), cfg.clone(), host.clone(), probe.clone())
            .update_frequency(Duration::from_millis(100));
    // the first round always reports; then nothing changed
    assert_eq!(reporter.sync().await.unwrap(), Synced::Patched);
    assert_eq!(reporter.sync().await.unwrap(), Synced::Unchanged);

    let mut cidr = reporter.pod_cidr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(reporter.run(async {
        let _ = stopped.await;
    }));

    probe.0.store(false, Ordering::SeqCst);
    eventually("Ready=False", || async {
        let n = nodes.get("node-1").await.unwrap();
        condition(&n, "Ready").0 == "False"
    })
    .await;
    let n = nodes.get("node-1").await.unwrap();
    let ready = n
        .status
        .as_ref()
        .unwrap()
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.reason.as_deref(), Some("KubeletNotReady"));
    assert!(
        ready
            .message
            .as_deref()
            .unwrap()
            .starts_with("container runtime network not ready: NetworkReady=false")
    );

    // memory runs low: MemoryPressure
    host.update(|h| h.memory_available_bytes = 10 << 20);
    eventually("MemoryPressure=True", || async {
        let n = nodes.get("node-1").await.unwrap();
        condition(&n, "MemoryPressure").0 == "True"
    })
    .await;

    // the IPAM assigns a pod CIDR: the kubelet learns it
    let patch = json!({ "spec": { "podCIDR": "10.244.5.0/24", "podCIDRs": ["10.244.5.0/24"] } });
    nodes
        .patch("node-1", &PatchParams::default(), &Patch::Merge(patch))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), cidr.wait_for(Option::is_some))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cidr.borrow().as_deref(), Some("10.244.5.0/24"));

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn the_lease_is_owned_by_the_node_and_renewed() {
    let api = TestApiserver::start().await;
    let node = registered(&api, &NodeConfig::new("node-1")).await;
    let leases: Api<Lease> = Api::namespaced(api.client(), NODE_LEASE_NAMESPACE);

    let (stop, stopped) = oneshot::channel::<()>();
    let heartbeat = NodeLease::new(leases.clone(), "node-1", node.metadata.uid.clone())
        .renew_interval(Duration::from_millis(100));
    let task = tokio::spawn(heartbeat.run(async {
        let _ = stopped.await;
    }));

    eventually("the lease", || async {
        leases.get_opt("node-1").await.unwrap().is_some()
    })
    .await;
    let first = leases.get("node-1").await.unwrap();
    let owner = &first.metadata.owner_references[0];
    assert_eq!(
        (
            owner.api_version.as_str(),
            owner.kind.as_str(),
            owner.name.as_str()
        ),
        ("v1", "Node", "node-1")
    );
    assert_eq!(owner.uid, node.metadata.uid);
    let spec = first.spec.clone().unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("node-1"));
    assert_eq!(spec.lease_duration_seconds, Some(40));
    let t0 = spec.renew_time.unwrap();

    eventually("a renewal", || async {
        let l = leases.get("node-1").await.unwrap();
        l.spec.unwrap().renew_time.unwrap() > t0
    })
    .await;

    // someone else writes the Lease: the next renewal conflicts, re-reads
    // and goes on
    let touched = leases
        .patch(
            "node-1",
            &PatchParams::default(),
            &Patch::Merge(json!({ "metadata": { "labels": { "touched": "yes" } } })),
        )
        .await
        .unwrap();
    let t1 = touched.spec.unwrap().renew_time.unwrap();
    eventually("a renewal after a conflict", || async {
        let l = leases.get("node-1").await.unwrap();
        l.spec.unwrap().renew_time.unwrap() > t1
    })
    .await;

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn the_real_host_registers() {
    let api = TestApiserver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let facts = kubelet::node::LinuxHost::new(dir.path()).facts().unwrap();
    let cfg = NodeConfig::new("real-node");
    let rt = FlipProbe(AtomicBool::new(true)).facts().await;
    let node = node_object(&cfg, &facts, &rt, Time::now());
    let nodes: Api<Node> = Api::all(api.client());
    let stored = register(&nodes, &cfg, &node).await.unwrap();
    let st = stored.status.unwrap();
    assert_eq!(st.capacity.unwrap()["cpu"].0, facts.cpus.to_string());
    assert!(!st.node_info.unwrap().kernel_version.is_empty());
}
