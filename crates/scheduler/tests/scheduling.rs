//! The scheduler against a real apiserver (in-process): pods created
//! through the API (and with kubectl) are bound to the right node,
//! unschedulable pods say why and are placed once a node fits, and two
//! schedulers with leader election fail over.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api_types::core::v1::{
    Container, Event, Node, NodeCondition, NodeSpec, NodeStatus, Pod, PodSpec,
    ResourceRequirements, Taint,
};
use api_types::meta::v1::{DeleteOptions, ObjectMeta};
use api_types::quantity::Quantity;
use client::{Api, Client, ListParams, PostParams};
use runtime::leader::{Ended, LeaderElectionConfig, LeaderElector};
use scheduler::metrics::Metrics;
use scheduler::scheduler::{SchedulerConfig, run};
use testenv::TestApiserver;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

fn node(name: &str, cpu: &str, labels: &[(&str, &str)]) -> Node {
    Node {
        metadata: ObjectMeta {
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .chain([("kubernetes.io/hostname".to_string(), name.to_string())])
                .collect(),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec::default()),
        status: Some(NodeStatus {
            capacity: Some(resources(cpu)),
            allocatable: Some(resources(cpu)),
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "True".into(),
                reason: Some("KubeletReady".into()),
                ..NodeCondition::default()
            }]),
            ..NodeStatus::default()
        }),
        ..Node::default()
    }
}

fn resources(cpu: &str) -> BTreeMap<String, Quantity> {
    [("cpu", cpu), ("memory", "16Gi"), ("pods", "110")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Quantity::from(v)))
        .collect()
}

fn pod(name: &str, cpu: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: name.into(),
            namespace: "default".into(),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "c".into(),
                image: Some("busybox".into()),
                resources: Some(ResourceRequirements {
                    requests: Some([("cpu".to_string(), Quantity::from(cpu))].into()),
                    ..ResourceRequirements::default()
                }),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}

/// A scheduler running in-process until the handle is dropped or stopped.
struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    fn start(client: Client) -> Running {
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(run(
            client,
            SchedulerConfig::default(),
            Arc::new(Metrics::new()),
            async {
                let _ = rx.await;
            },
        ));
        Running {
            stop: Some(tx),
            task,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.task.abort();
    }
}

async fn create_nodes(client: &Client, nodes: Vec<Node>) {
    let api: Api<Node> = Api::all(client.clone());
    for n in nodes {
        api.create(&PostParams::default(), &n).await.unwrap();
    }
}

/// Waits for the pod to be bound; returns its node.
async fn bound_node(pods: &Api<Pod>, name: &str, within: Duration) -> Option<String> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(p) = pods.get_opt(name).await.unwrap()
            && let Some(n) = p.spec.and_then(|s| s.node_name)
        {
            return Some(n);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    None
}

async fn events_for(client: &Client, name: &str) -> Vec<Event> {
    Api::<Event>::namespaced(client.clone(), "default")
        .list(&ListParams::default().fields(&format!("involvedObject.name={name}")))
        .await
        .unwrap()
        .items
}

async fn wait_event(client: &Client, name: &str, reason: &str) -> Event {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(e) = events_for(client, name)
            .await
            .into_iter()
            .find(|e| e.reason.as_deref() == Some(reason))
        {
            return e;
        }
        assert!(Instant::now() < deadline, "no {reason} event for {name}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn binds_to_the_node_that_fits_and_explains_why_not() {
    let api = TestApiserver::start().await;
    let client = api.client();
    create_nodes(
        &client,
        vec![
            node("small", "1", &[("disk", "hdd")]),
            node("big", "4", &[("disk", "ssd")]),
        ],
    )
    .await;
    let _sched = Running::start(client.clone());
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pp = PostParams::default();

    // Only "big" has 2 CPUs free.
    pods.create(&pp, &pod("needs-2", "2")).await.unwrap();
    assert_eq!(
        bound_node(&pods, "needs-2", Duration::from_secs(10))
            .await
            .as_deref(),
        Some("big")
    );
    let ev = wait_event(&client, "needs-2", "Scheduled").await;
    assert_eq!(
        ev.message.as_deref(),
        Some("Successfully assigned default/needs-2 to big")
    );
    assert_eq!(ev.type_.as_deref(), Some("Normal"));
    assert_eq!(
        ev.source.as_ref().and_then(|s| s.component.as_deref()),
        Some("default-scheduler")
    );

    // nodeSelector picks "small" even though "big" has more room.
    let mut p = pod("hdd", "100m");
    p.spec.as_mut().unwrap().node_selector = Some([("disk".to_string(), "hdd".to_string())].into());
    pods.create(&pp, &p).await.unwrap();
    assert_eq!(
        bound_node(&pods, "hdd", Duration::from_secs(10))
            .await
            .as_deref(),
        Some("small")
    );

    // Nothing has 8 CPUs: the pod says why, in upstream's words.
    pods.create(&pp, &pod("huge", "8")).await.unwrap();
    let ev = wait_event(&client, "huge", "FailedScheduling").await;
    assert_eq!(
        ev.message.as_deref(),
        Some("0/2 nodes are available: 2 Insufficient cpu.")
    );
    assert_eq!(ev.type_.as_deref(), Some("Warning"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let p = pods.get("huge").await.unwrap();
        let cond = p
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.type_ == "PodScheduled");
        if let Some(c) = cond {
            assert_eq!(c.status, "False");
            assert_eq!(c.reason.as_deref(), Some("Unschedulable"));
            assert_eq!(
                c.message.as_deref(),
                Some("0/2 nodes are available: 2 Insufficient cpu.")
            );
            break;
        }
        assert!(Instant::now() < deadline, "no PodScheduled condition");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        pods.get("huge").await.unwrap().spec.unwrap().node_name,
        None
    );

    // A node that fits arrives: the pod is retried and placed there.
    create_nodes(&client, vec![node("huge-node", "16", &[])]).await;
    assert_eq!(
        bound_node(&pods, "huge", Duration::from_secs(15))
            .await
            .as_deref(),
        Some("huge-node")
    );

    // A tainted node is avoided unless tolerated.
    let mut tainted = node("gpu", "64", &[]);
    tainted.spec = Some(NodeSpec {
        taints: Some(vec![Taint {
            key: "gpu".into(),
            value: Some("true".into()),
            effect: "NoSchedule".into(),
            ..Taint::default()
        }]),
        ..NodeSpec::default()
    });
    create_nodes(&client, vec![tainted]).await;
    pods.create(&pp, &pod("wants-20", "20")).await.unwrap();
    let ev = wait_event(&client, "wants-20", "FailedScheduling").await;
    assert_eq!(
        ev.message.as_deref(),
        Some(
            "0/4 nodes are available: 1 node(s) had untolerated taint {gpu: true}, 3 Insufficient cpu."
        )
    );

    // Deleting a bound pod frees its CPU for a pending one.
    let mut p = pod("waits-for-big", "3");
    p.spec.as_mut().unwrap().node_selector =
        Some([("kubernetes.io/hostname".to_string(), "big".to_string())].into());
    pods.create(&pp, &p).await.unwrap();
    assert!(
        bound_node(&pods, "waits-for-big", Duration::from_millis(1500))
            .await
            .is_none(),
        "big has only 2 CPUs free while needs-2 runs"
    );
    pods.delete(
        "needs-2",
        &DeleteOptions {
            grace_period_seconds: Some(0),
            ..DeleteOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        bound_node(&pods, "waits-for-big", Duration::from_secs(15))
            .await
            .as_deref(),
        Some("big")
    );
}

// Several threads: kubectl runs as a blocking child process while the
// in-process apiserver answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_created_pod_is_bound() {
    let api = TestApiserver::start().await;
    let client = api.client();
    // Two simulated nodes (registered, heartbeating and running pods
    // through the API), in zones zone-0 and zone-1.
    let sim = sim::Simulator::start(
        client.clone(),
        sim::SimConfig {
            nodes: 2,
            zones: 2,
            lease_renew_interval: Duration::from_secs(1),
            ..sim::SimConfig::default()
        },
    )
    .await
    .unwrap();
    let _sched = Running::start(client.clone());
    let kubeconfig = api.write_kubeconfig();
    let manifest = r"
apiVersion: v1
kind: Pod
metadata:
  name: from-kubectl
spec:
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions:
          - {key: topology.kubernetes.io/zone, operator: In, values: [zone-1]}
  containers:
  - name: web
    image: nginx
";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pod.yaml");
    std::fs::write(&file, manifest).unwrap();
    let kubectl = |args: &[&str]| testenv::kubectl("1.33", &kubeconfig, args);
    kubectl(&["apply", "-f", file.to_str().unwrap()]);
    kubectl(&[
        "wait",
        "--for=condition=PodScheduled",
        "pod/from-kubectl",
        "--timeout=20s",
    ]);
    let node = kubectl(&[
        "get",
        "pod",
        "from-kubectl",
        "-o",
        "jsonpath={.spec.nodeName}",
    ]);
    assert_eq!(node, "sim-node-1");
    // The simulated node reports it running.
    kubectl(&[
        "wait",
        "--for=condition=Ready",
        "pod/from-kubectl",
        "--timeout=20s",
    ]);
    let text = kubectl(&["describe", "pod", "from-kubectl"]);
    assert!(
        text.contains("Successfully assigned default/from-kubectl to sim-node-1"),
        "{text}"
    );
    sim.stop().await;
}

/// One scheduler replica behind leader election, stoppable as a crash
/// (abort, no release).
fn replica(client: Client, identity: &str) -> JoinHandle<Ended> {
    let config = LeaderElectionConfig {
        lease_duration: Duration::from_secs(2),
        renew_deadline: Duration::from_millis(1500),
        retry_period: Duration::from_millis(300),
        ..LeaderElectionConfig::new("kube-system", "kube-scheduler", identity)
    };
    let elector = LeaderElector::new(client.clone(), config).unwrap();
    tokio::spawn(
        elector.run(std::future::pending::<()>(), move |stop| async move {
            run(
                client,
                SchedulerConfig::default(),
                Arc::new(Metrics::new()),
                async move { stop.stopped().await },
            )
            .await;
        }),
    )
}

#[tokio::test]
async fn two_schedulers_fail_over_within_the_lease() {
    let api = TestApiserver::start().await;
    let client = api.client();
    create_nodes(&client, vec![node("n1", "8", &[])]).await;
    let a = replica(client.clone(), "sched-a");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let b = replica(client.clone(), "sched-b");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(&PostParams::default(), &pod("first", "100m"))
        .await
        .unwrap();
    assert!(
        bound_node(&pods, "first", Duration::from_secs(10))
            .await
            .is_some()
    );
    let leases: Api<api_types::coordination::v1::Lease> =
        Api::namespaced(client.clone(), "kube-system");
    let holder = |l: api_types::coordination::v1::Lease| {
        l.spec.and_then(|s| s.holder_identity).unwrap_or_default()
    };
    assert_eq!(
        holder(leases.get("kube-scheduler").await.unwrap()),
        "sched-a"
    );

    // The leader crashes (no release); the follower takes over within the
    // lease duration plus a retry period and schedules new pods.
    a.abort();
    let crashed = Instant::now();
    pods.create(&PostParams::default(), &pod("second", "100m"))
        .await
        .unwrap();
    assert!(
        bound_node(&pods, "second", Duration::from_secs(10))
            .await
            .is_some()
    );
    let took = crashed.elapsed();
    assert_eq!(
        holder(leases.get("kube-scheduler").await.unwrap()),
        "sched-b"
    );
    assert!(took < Duration::from_secs(5), "fail-over took {took:?}");
    b.abort();
}
