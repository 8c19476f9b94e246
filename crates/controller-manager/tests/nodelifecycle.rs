//! The node lifecycle and taint eviction controllers against an in-process
//! apiserver, with two simulated nodes, the ReplicaSet controller and the
//! scheduler: one node goes silent, is marked Unknown and tainted, its
//! pods are marked not Ready and evicted, the ReplicaSet's replacements
//! land on the other node; the node comes back and is untainted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use api_types::apps::v1::ReplicaSet;
use api_types::core::v1::{Event, Node, NodeCondition, Pod};
use client::{Api, Client, ListParams, PostParams};
use controller_manager::ControllerConfig;
use controller_manager::nodelifecycle::Config;
use scheduler::metrics::Metrics;
use scheduler::scheduler::SchedulerConfig;
use serde_json::json;
use test_support::eventually;
use testenv::TestApiserver;

const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

fn condition<'a>(node: &'a Node, type_: &str) -> Option<&'a NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

fn pod_condition(pod: &Pod, type_: &str) -> Option<(String, Option<String>)> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone()))
}

fn node_of(pod: &Pod) -> String {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .unwrap_or_default()
}

fn running(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
}

/// The ReplicaSet's pods that are not being deleted.
async fn live_pods(pods: &Api<Pod>) -> Vec<Pod> {
    pods.list(&ListParams::default().labels("app=web"))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect()
}

async fn has_event(client: &Client, reason: &str, message: &str) -> bool {
    let events: Api<Event> = Api::all(client.clone());
    events
        .list(&ListParams::default())
        .await
        .map(|l| {
            l.items.iter().any(|e| {
                e.reason.as_deref() == Some(reason) && e.message.as_deref() == Some(message)
            })
        })
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_node_is_tainted_and_its_pods_move_away() {
    test_support::init_tracing();
    let api = TestApiserver::start().await;
    let client = api.client();
    let sim = sim::Simulator::start(
        client.clone(),
        sim::SimConfig {
            nodes: 2,
            lease_renew_interval: Duration::from_millis(300),
            // Longer than the grace period: between status heartbeats,
            // only the Lease keeps a node alive.
            node_status_interval: Duration::from_secs(4),
            concurrency: 4,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let config = ControllerConfig {
        node_lifecycle: Config {
            node_monitor_period: Duration::from_millis(500),
            node_monitor_grace_period: Duration::from_secs(3),
            ..Config::default()
        },
        ..ControllerConfig::default()
    };
    let cm = common::Controllers::start(&client, config);
    let (stop_scheduler, scheduler_stopped) = tokio::sync::oneshot::channel::<()>();
    let scheduler = tokio::spawn(scheduler::scheduler::run(
        client.clone(),
        SchedulerConfig::default(),
        Arc::new(Metrics::new()),
        async move {
            let _ = scheduler_stopped.await;
        },
    ));

    // Four replicas that tolerate a dead node for 2 s (instead of the
    // default 300 s).
    let tolerate = |key: &str| json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2});
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let rs: ReplicaSet = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{"name": "c", "image": "nginx"}],
                    "tolerations": [tolerate("node.kubernetes.io/not-ready"), tolerate(UNREACHABLE)]
                }
            }
        }
    }))
    .unwrap();
    rss.create(&PostParams::default(), &rs).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let first = eventually("4 running replicas", Duration::from_secs(30), || async {
        let live = live_pods(&pods).await;
        (live.len() == 4 && live.iter().all(running)).then_some(live)
    })
    .await;

    // The node of the first pod goes silent; the other one stays.
    let victim = node_of(&first[0]);
    let names = sim.node_names();
    let survivor = names.iter().find(|n| **n != victim).unwrap().clone();
    let on_victim: Vec<String> = first
        .iter()
        .filter(|p| node_of(p) == victim)
        .map(|p| p.metadata.name.clone())
        .collect();
    let on_survivor: Vec<String> = first
        .iter()
        .filter(|p| node_of(p) == survivor)
        .map(|p| p.metadata.name.clone())
        .collect();
    // And a pod that tolerates the dead node forever.
    let stay: Pod = serde_json::from_value(json!({
        "metadata": {"name": "stay"},
        "spec": {
            "nodeName": victim,
            "containers": [{"name": "c", "image": "nginx"}],
            "tolerations": [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}]
        }
    }))
    .unwrap();
    pods.create(&PostParams::default(), &stay).await.unwrap();
    eventually(
        "the staying pod running",
        Duration::from_secs(20),
        || async { running(&pods.get("stay").await.ok()?).then_some(()) },
    )
    .await;

    let nodes: Api<Node> = Api::all(client.clone());
    let survivor_ready = |n: &Node| condition(n, "Ready").cloned().unwrap();
    let before = survivor_ready(&nodes.get(&survivor).await.unwrap());
    assert_eq!(before.status, "True");

    assert!(sim.pause_node(&victim));

    // Marked Unknown, as upstream words it.
    let node = eventually("the node Unknown", Duration::from_secs(30), || async {
        let n = nodes.get(&victim).await.ok()?;
        (condition(&n, "Ready")?.status == "Unknown").then_some(n)
    })
    .await;
    for type_ in ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] {
        let c = condition(&node, type_).unwrap();
        assert_eq!(c.status, "Unknown", "{type_}");
        assert_eq!(c.reason.as_deref(), Some("NodeStatusUnknown"), "{type_}");
        assert_eq!(
            c.message.as_deref(),
            Some("Kubelet stopped posting node status."),
            "{type_}"
        );
    }

    // Tainted: NoSchedule at once, NoExecute through the rate limiter.
    let node = eventually("the taints", Duration::from_secs(30), || async {
        let n = nodes.get(&victim).await.ok()?;
        let taints = n.spec.as_ref()?.taints.clone()?;
        let has = |effect: &str| {
            taints
                .iter()
                .any(|t| t.key == UNREACHABLE && t.effect == effect)
        };
        (has("NoSchedule") && has("NoExecute")).then_some(n)
    })
    .await;
    let execute = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .and_then(|ts| ts.iter().find(|t| t.effect == "NoExecute"))
        .unwrap();
    assert!(execute.time_added.is_some(), "{execute:?}");

    // Its pods: marked not Ready, then deleted for the taint. The node is
    // cut off, so they stay Terminating, with the marks on them.
    for name in &on_victim {
        let p = eventually(
            &format!("{name} deleted"),
            Duration::from_secs(30),
            || async {
                let p = pods.get(name).await.ok()?;
                p.metadata.deletion_timestamp.is_some().then_some(p)
            },
        )
        .await;
        assert_eq!(
            pod_condition(&p, "Ready").map(|c| c.0).as_deref(),
            Some("False")
        );
        assert_eq!(
            pod_condition(&p, "DisruptionTarget"),
            Some(("True".into(), Some("DeletionByTaintManager".into())))
        );
    }
    // The replacements run on the other node; the pods there stayed.
    let now = eventually(
        "4 replicas on the survivor",
        Duration::from_secs(30),
        || async {
            let live = live_pods(&pods).await;
            let ok = live.len() == 4
                && live.iter().all(|p| running(p) && node_of(p) == survivor)
                && rss.get("web").await.ok()?.status?.ready_replicas == Some(4);
            ok.then_some(live)
        },
    )
    .await;
    for name in &on_survivor {
        assert!(
            now.iter().any(|p| p.metadata.name == *name),
            "{name} was evicted"
        );
    }
    // The pod that tolerates it forever stays, not Ready.
    let stay = pods.get("stay").await.unwrap();
    assert!(stay.metadata.deletion_timestamp.is_none());
    assert_eq!(
        pod_condition(&stay, "Ready").map(|c| c.0).as_deref(),
        Some("False")
    );

    // Events, with upstream's words.
    let evicted = format!("Marking for deletion Pod default/{}", on_victim[0]);
    let not_ready = format!("Node {victim} status is now: NodeNotReady");
    eventually("the events", Duration::from_secs(20), || async {
        let all = has_event(&client, "TaintManagerEviction", &evicted).await
            && has_event(&client, "NodeNotReady", &not_ready).await
            && has_event(&client, "NodeNotReady", "Node is not ready").await;
        all.then_some(())
    })
    .await;

    // The node comes back: Ready again (written by the simulated kubelet),
    // and untainted by the controller; it finishes deleting its pods.
    assert!(sim.resume_node(&victim));
    eventually("the node back", Duration::from_secs(30), || async {
        let n = nodes.get(&victim).await.ok()?;
        let ready = condition(&n, "Ready")?.status == "True";
        let untainted = n
            .spec
            .as_ref()?
            .taints
            .as_ref()
            .is_none_or(|ts| ts.iter().all(|t| t.key != UNREACHABLE));
        (ready && untainted).then_some(())
    })
    .await;
    eventually("the evicted pods gone", Duration::from_secs(30), || async {
        let mut gone = true;
        for name in &on_victim {
            gone &= pods.get_opt(name).await.ok()?.is_none();
        }
        gone.then_some(())
    })
    .await;

    // The survivor, kept alive by its Lease, never left Ready.
    let after = survivor_ready(&nodes.get(&survivor).await.unwrap());
    assert_eq!(after.status, "True");
    assert_eq!(after.last_transition_time, before.last_transition_time);
    assert!(
        !has_event(
            &client,
            "NodeNotReady",
            &format!("Node {survivor} status is now: NodeNotReady")
        )
        .await
    );

    let _ = stop_scheduler.send(());
    cm.stop().await;
    let _ = scheduler.await;
    sim.stop().await;
}
