//! How fast does the simulator move bound pods to Running?
//!
//! Starts N simulated nodes, creates M pods with `spec.nodeName` preset
//! (round-robin over the nodes) as fast as the apiserver takes them, and
//! reports the time until every one is Running.
//!
//! ```text
//! cargo run --release -p sim --example measure -- 1000 2000              # in-process apiserver
//! cargo run --release -p sim --example measure -- 1000 2000 .oxkube/kubeconfig   # a running cluster
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use api_types::core::v1::Pod;
use client::{Api, Client, ListParams, PostParams};
use futures::StreamExt;
use serde_json::json;
use sim::{SimConfig, Simulator};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let nodes: usize = args.first().map_or(1000, |a| a.parse().expect("nodes"));
    let pods: usize = args.get(1).map_or(2000, |a| a.parse().expect("pods"));
    let concurrency: usize = std::env::var("SIM_CONCURRENCY")
        .ok()
        .map_or(32, |c| c.parse().expect("SIM_CONCURRENCY"));
    let _server;
    let client = match args.get(2) {
        Some(path) => {
            let mut c = client::Config::from_kubeconfig(path.as_ref(), None).expect("kubeconfig");
            c.qps = 0.0;
            Client::new(c).expect("client")
        }
        None => {
            let s = testenv::TestApiserver::start().await;
            let c = s.client();
            _server = s;
            c
        }
    };

    let t = Instant::now();
    let sim = Simulator::start(
        client.clone(),
        SimConfig {
            nodes,
            concurrency,
            ..SimConfig::default()
        },
    )
    .await
    .expect("simulator");
    println!("registered {nodes} nodes (+ Leases) in {:?}", t.elapsed());
    let names = sim.node_names();

    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let t0 = Instant::now();
    let created: Vec<_> = futures::stream::iter(0..pods)
        .map(|i| {
            let api = api.clone();
            let node = names[i % names.len()].clone();
            async move {
                let pod: Pod = serde_json::from_value(json!({
                    "metadata": { "name": format!("m-{i}"), "labels": { "app": "measure" } },
                    "spec": { "nodeName": node, "containers": [{
                        "name": "app", "image": "registry.k8s.io/pause:3.10",
                        "resources": { "requests": { "cpu": "100m", "memory": "128Mi" } }
                    }]}
                }))
                .unwrap();
                api.create(&PostParams::default(), &pod).await
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let failed = created.iter().filter(|r| r.is_err()).count();
    let t_created = t0.elapsed();
    println!(
        "created {pods} pods in {t_created:?} ({:.0}/s), {failed} failed",
        pods as f64 / t_created.as_secs_f64()
    );

    let base = sim.stats().pods_started;
    loop {
        let s = sim.stats();
        if s.pods_started - base >= pods as u64 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(600), "stuck: {s:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let t_running = t0.elapsed();
    // Check with the apiserver, not the simulator's own count.
    let list = api
        .list_all(&ListParams::default().labels("app=measure"))
        .await
        .unwrap();
    let running = list
        .items
        .iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .count();
    println!(
        "all {pods} Running {t_running:?} after the first create ({:.0} pods/s end to end); \
         apiserver lists {running} Running",
        pods as f64 / t_running.as_secs_f64()
    );
    println!("simulator: {:?}", sim.stats());

    // Clean up a shared cluster.
    if args.get(2).is_some() {
        let opts = api_types::meta::v1::DeleteOptions {
            grace_period_seconds: Some(0),
            ..Default::default()
        };
        api.delete_collection(&ListParams::default().labels("app=measure"), &opts)
            .await
            .unwrap();
        sim.stop_and_delete_nodes().await.unwrap();
    } else {
        sim.stop().await;
    }
}
