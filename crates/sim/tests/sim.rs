//! The simulator against a real in-process apiserver, over HTTP: nodes
//! register and heartbeat, pods bound to them run and get deleted, pods on
//! other nodes are left alone. kubectl is used where a user would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use api_types::coordination::v1::Lease;
use api_types::core::v1::{Node, Pod};
use api_types::meta::v1::DeleteOptions;
use client::{Api, Client, PostParams};
use serde_json::json;
use sim::ipam::Ipv4Cidr;
use sim::{SimConfig, Simulator};
use testenv::TestApiserver;

/// Polls `f` until it returns `Some`, or panics after `secs` seconds.
async fn eventually<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn chrono_seconds(s: i64) -> chrono::TimeDelta {
    chrono::TimeDelta::seconds(s)
}

fn fast(nodes: usize) -> SimConfig {
    SimConfig {
        nodes,
        lease_renew_interval: Duration::from_millis(200),
        node_status_interval: Duration::from_secs(1),
        concurrency: 4,
        ..SimConfig::default()
    }
}

fn pod(name: &str, node: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": { "name": name, "namespace": "default" },
        "spec": {
            "nodeName": node,
            "initContainers": [{ "name": "init", "image": "busybox" }],
            "containers": [
                { "name": "app", "image": "nginx",
                  "resources": { "requests": { "cpu": "100m", "memory": "64Mi" },
                                 "limits": { "cpu": "100m", "memory": "64Mi" } } },
                { "name": "sidecar", "image": "envoy",
                  "resources": { "requests": { "cpu": "100m", "memory": "64Mi" },
                                 "limits": { "cpu": "100m", "memory": "64Mi" } } }
            ]
        }
    }))
    .unwrap()
}

async fn running(pods: &Api<Pod>, name: &str) -> Pod {
    eventually(&format!("pod {name} running"), 20, || async {
        let p = pods.get(name).await.ok()?;
        let st = p.status.as_ref()?;
        (st.phase.as_deref() == Some("Running")).then_some(p)
    })
    .await
}

fn condition<'a>(pod: &'a Pod, type_: &str) -> Option<&'a str> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_register_ready_and_keep_their_leases_fresh() {
    let api = TestApiserver::start().await;
    let client = api.client();
    let config = SimConfig {
        zones: 2,
        cpu: "16".into(),
        memory: "64Gi".into(),
        pods: "50".into(),
        labels: [("team".to_string(), "sched".to_string())].into(),
        ..fast(3)
    };
    let sim = Simulator::start(client.clone(), config).await.unwrap();
    assert_eq!(sim.node_names(), ["sim-node-0", "sim-node-1", "sim-node-2"]);

    let nodes: Api<Node> = Api::all(client.clone());
    let mut cidrs = Vec::new();
    for (i, name) in sim.node_names().iter().enumerate() {
        let n = nodes.get(name).await.unwrap();
        let l = &n.metadata.labels;
        assert_eq!(l["kubernetes.io/hostname"], *name);
        assert_eq!(l["kubernetes.io/os"], "linux");
        assert_eq!(l["kubernetes.io/arch"], "amd64");
        assert_eq!(l["type"], "oxkube-sim");
        assert_eq!(l["team"], "sched");
        assert_eq!(l["topology.kubernetes.io/zone"], format!("zone-{}", i % 2));
        let st = n.status.as_ref().unwrap();
        let cap = st.capacity.as_ref().unwrap();
        assert_eq!(cap["cpu"].0, "16");
        assert_eq!(cap["memory"].0, "64Gi");
        assert_eq!(cap["pods"].0, "50");
        assert_eq!(st.allocatable, st.capacity);
        let ready = st
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(ready.status, "True");
        assert_eq!(ready.reason.as_deref(), Some("KubeletReady"));
        let info = st.node_info.as_ref().unwrap();
        assert_eq!(info.kubelet_version, "v1.33.0-oxkube-sim");
        assert_eq!(info.container_runtime_version, "sim://1.0");
        cidrs.push(n.spec.as_ref().unwrap().pod_cidr.clone().unwrap());
    }
    cidrs.dedup();
    assert_eq!(cidrs.len(), 3, "distinct pod ranges: {cidrs:?}");

    // Leases: held by their node, renewed every 200 ms.
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let renew_time = |l: &Lease| l.spec.as_ref().unwrap().renew_time.unwrap();
    let first = leases.get("sim-node-1").await.unwrap();
    let spec = first.spec.as_ref().unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("sim-node-1"));
    assert_eq!(spec.lease_duration_seconds, Some(40));
    assert_eq!(first.metadata.owner_references[0].kind, "Node");
    for name in sim.node_names() {
        let before = renew_time(&leases.get(&name).await.unwrap());
        eventually(&format!("lease {name} renewed"), 5, || async {
            let l = leases.get(&name).await.ok()?;
            (renew_time(&l) > before).then_some(())
        })
        .await;
    }

    // The Ready heartbeat moves too (second precision: wait past one),
    // and the transition time stays.
    let ready_times = |n: &Node| {
        let c = n
            .status
            .as_ref()
            .unwrap()
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Ready")
            .unwrap()
            .clone();
        (
            c.last_heartbeat_time.unwrap(),
            c.last_transition_time.unwrap(),
        )
    };
    let (beat0, since0) = ready_times(&nodes.get("sim-node-0").await.unwrap());
    eventually("a fresher Ready heartbeat", 10, || async {
        let (beat, since) = ready_times(&nodes.get("sim-node-0").await.ok()?);
        assert_eq!(since, since0, "a heartbeat is not a transition");
        (beat > beat0).then_some(())
    })
    .await;

    // The node lifecycle controller marks a node whose heartbeats stopped
    // Ready=Unknown; the next heartbeat is a transition back to True.
    let t_unknown =
        api_types::meta::v1::Time(api_types::meta::v1::Time::now().0 - chrono_seconds(120));
    let unknown = json!({"status": {"conditions": [{
        "type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
        "message": "Kubelet stopped posting node status.",
        "lastHeartbeatTime": beat0, "lastTransitionTime": t_unknown,
    }]}});
    nodes
        .patch_status(
            "sim-node-0",
            &client::PatchParams::default(),
            &client::Patch::Strategic(unknown),
        )
        .await
        .unwrap();
    eventually("Ready again, with a new transition time", 10, || async {
        let n = nodes.get("sim-node-0").await.ok()?;
        let c = n
            .status?
            .conditions?
            .into_iter()
            .find(|c| c.type_ == "Ready")?;
        let back = c.status == "True" && c.last_transition_time? > t_unknown;
        back.then_some(())
    })
    .await;

    let stats = sim.stats();
    assert!(stats.lease_renewals > 3, "{stats:?}");
    assert!(stats.status_updates > 0, "{stats:?}");
    assert_eq!(stats.lease_errors + stats.status_errors, 0, "{stats:?}");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_pods_run_with_addresses_from_their_node() {
    let api = TestApiserver::start().await;
    let client = api.client();
    let sim = Simulator::start(client.clone(), fast(2)).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pp = PostParams::default();
    pods.create(&pp, &pod("a", "sim-node-1")).await.unwrap();
    pods.create(&pp, &pod("b", "sim-node-1")).await.unwrap();
    let node: Node = Api::all(client.clone()).get("sim-node-1").await.unwrap();
    let cidr: Ipv4Cidr = node
        .spec
        .as_ref()
        .unwrap()
        .pod_cidr
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();

    let a = running(&pods, "a").await;
    let b = running(&pods, "b").await;
    let ip = |p: &Pod| -> Ipv4Addr {
        p.status
            .as_ref()
            .unwrap()
            .pod_ip
            .as_deref()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(cidr.contains(ip(&a)), "{} in {cidr}", ip(&a));
    assert!(cidr.contains(ip(&b)), "{} in {cidr}", ip(&b));
    assert_ne!(ip(&a), ip(&b));
    let st = a.status.as_ref().unwrap();
    assert_eq!(st.host_ip.as_deref(), Some("10.64.0.2"));
    assert_eq!(st.pod_ips.as_ref().unwrap()[0].ip, ip(&a).to_string());
    assert!(st.start_time.is_some());
    // the init container requests nothing, so not Guaranteed
    assert_eq!(st.qos_class.as_deref(), Some("Burstable"));
    for t in [
        "PodReadyToStartContainers",
        "Initialized",
        "ContainersReady",
        "Ready",
        "PodScheduled",
    ] {
        assert_eq!(condition(&a, t), Some("True"), "{t}");
    }
    let cs = st.container_statuses.as_ref().unwrap();
    assert_eq!(cs.len(), 2);
    for c in cs {
        assert!(c.ready && c.started == Some(true), "{c:?}");
        assert_eq!(c.restart_count, 0);
        assert!(c.container_id.as_deref().unwrap().starts_with("sim://"));
        assert!(c.state.as_ref().unwrap().running.is_some());
    }
    let init = &st.init_container_statuses.as_ref().unwrap()[0];
    let done = init.state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!(done.reason.as_deref(), Some("Completed"));
    assert_eq!(sim.stats().pods_started, 2);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_pods_are_confirmed_and_go_away() {
    let api = TestApiserver::start().await;
    let client = api.client();
    let sim = Simulator::start(client.clone(), fast(1)).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(&PostParams::default(), &pod("doomed", "sim-node-0"))
        .await
        .unwrap();
    running(&pods, "doomed").await;

    // A normal delete (30 s grace) only marks the pod; the simulator,
    // as the kubelet, confirms it with grace 0.
    pods.delete("doomed", &DeleteOptions::default())
        .await
        .unwrap();
    eventually("the pod to be gone", 10, || async {
        pods.get_opt("doomed")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(sim.stats().pods_deleted, 1);

    // kubectl delete waits for the same confirmation.
    pods.create(&PostParams::default(), &pod("k", "sim-node-0"))
        .await
        .unwrap();
    running(&pods, "k").await;
    let kubeconfig = api.write_kubeconfig();
    let out = tokio::process::Command::new("kubectl")
        .args(["--kubeconfig", kubeconfig.to_str().unwrap()])
        .args(["delete", "pod", "k", "--timeout=20s"])
        .output()
        .await
        .expect("kubectl is installed");
    assert!(
        out.status.success(),
        "kubectl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("pod \"k\" deleted"));
    assert!(pods.get_opt("k").await.unwrap().is_none());

    assert_eq!(sim.stats().ip_exhausted, 0);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_on_other_nodes_are_left_alone() {
    let api = TestApiserver::start().await;
    let client = api.client();
    let sim = Simulator::start(client.clone(), fast(1)).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pp = PostParams::default();
    pods.create(&pp, &pod("elsewhere", "real-node-7"))
        .await
        .unwrap();
    pods.create(&pp, &pod("unbound", "")).await.unwrap();
    pods.create(&pp, &pod("ours", "sim-node-0")).await.unwrap();
    running(&pods, "ours").await;
    // Give a stray worker every chance to get it wrong.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for name in ["elsewhere", "unbound"] {
        let p = pods.get(name).await.unwrap();
        let st = p.status.as_ref().unwrap();
        assert_eq!(st.phase.as_deref(), Some("Pending"), "{name}");
        assert!(st.pod_ip.is_none(), "{name}");
    }
    // Nor does it confirm their deletion: that is their kubelet's job.
    pods.delete("elsewhere", &DeleteOptions::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let p = pods.get("elsewhere").await.unwrap();
    assert!(p.metadata.deletion_timestamp.is_some());
    assert_eq!(sim.stats().pods_started, 1);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_simulator_adopts_its_nodes_and_can_remove_them() {
    let api = TestApiserver::start().await;
    let client: Client = api.client();
    let first = Simulator::start(client.clone(), fast(2)).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(&PostParams::default(), &pod("p", "sim-node-0"))
        .await
        .unwrap();
    let ip_before = running(&pods, "p").await.status.unwrap().pod_ip;
    first.stop().await;

    let second = Simulator::start(client.clone(), fast(2)).await.unwrap();
    assert_eq!(second.stats().nodes_adopted, 2);
    // The running pod keeps its address, and a new one gets another.
    pods.create(&PostParams::default(), &pod("q", "sim-node-0"))
        .await
        .unwrap();
    let q = running(&pods, "q").await;
    assert_ne!(q.status.unwrap().pod_ip, ip_before);
    assert_eq!(
        pods.get("p").await.unwrap().status.unwrap().pod_ip,
        ip_before
    );

    second.stop_and_delete_nodes().await.unwrap();
    let nodes: Api<Node> = Api::all(client.clone());
    let leases: Api<Lease> = Api::namespaced(client, "kube-node-lease");
    for n in ["sim-node-0", "sim-node-1"] {
        assert!(nodes.get_opt(n).await.unwrap().is_none());
        assert!(leases.get_opt(n).await.unwrap().is_none());
    }
}
