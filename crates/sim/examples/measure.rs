//! How fast does the simulator move bound pods to Running, and what does
//! it cost compared with the apiserver?
//!
//! Starts N simulated nodes and creates M pods with `spec.nodeName` preset
//! (round-robin over the nodes), 64 creates in flight, then reports the
//! time until every pod is Running (checked against the apiserver).
//!
//! ```text
//! # in-process apiserver:
//! cargo run --release -p sim --example measure -- 1000 2000
//! # a running apiserver (./deploy/up.sh); APISERVER_PID=<pid> adds its CPU time:
//! cargo run --release -p sim --example measure -- 1000 2000 .oxkube/kubeconfig
//! ```
//!
//! `SIM_PRECREATE=1` creates the pods first and starts the simulator
//! after, so the timed part is the simulator's alone (plus the apiserver
//! serving its writes). `SIM_CONCURRENCY` sets the simulator's concurrency.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use api_types::core::v1::Pod;
use client::{Api, Client, ListParams, PostParams};
use futures::StreamExt;
use serde_json::json;
use sim::{SimConfig, SimHandle, Simulator};

/// As in `oxkube-sim`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// CPU seconds (user + system) a process has used, from /proc.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // fields after the parenthesised command name; utime and stime are 14 and 15
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

async fn create_pods(api: &Api<Pod>, names: &[String], pods: usize) -> Duration {
    let t = Instant::now();
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
    assert_eq!(failed, 0, "{:?}", created.iter().find(|r| r.is_err()));
    let took = t.elapsed();
    println!(
        "created {pods} pods in {took:.2?} ({:.0}/s)",
        pods as f64 / took.as_secs_f64()
    );
    took
}

async fn wait_running(sim: &SimHandle, base: u64, pods: usize, t0: Instant) -> Duration {
    loop {
        let s = sim.stats();
        if s.pods_started - base >= pods as u64 {
            return t0.elapsed();
        }
        assert!(t0.elapsed() < Duration::from_secs(300), "stuck: {s:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let nodes: usize = args.first().map_or(1000, |a| a.parse().expect("nodes"));
    let pods: usize = args.get(1).map_or(2000, |a| a.parse().expect("pods"));
    let concurrency: usize = std::env::var("SIM_CONCURRENCY")
        .ok()
        .map_or(32, |c| c.parse().expect("SIM_CONCURRENCY"));
    let precreate = std::env::var("SIM_PRECREATE").is_ok_and(|v| !v.is_empty() && v != "0");
    let apiserver_pid = std::env::var("APISERVER_PID").ok();
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
    let config = SimConfig {
        nodes,
        concurrency,
        ..SimConfig::default()
    };
    let names: Vec<String> = config.plan().unwrap().into_iter().map(|p| p.name).collect();
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");

    let (sim, t0, cpu0, api_cpu0) = if precreate {
        create_pods(&api, &names, pods).await;
        let cpu0 = cpu_seconds("self");
        let api_cpu0 = apiserver_pid.as_deref().and_then(cpu_seconds);
        let t0 = Instant::now();
        let sim = Simulator::start(client.clone(), config).await.unwrap();
        println!(
            "registered {nodes} nodes (+ Leases) and listed pods in {:.2?}",
            t0.elapsed()
        );
        (sim, t0, cpu0, api_cpu0)
    } else {
        let t = Instant::now();
        let sim = Simulator::start(client.clone(), config).await.unwrap();
        println!("registered {nodes} nodes (+ Leases) in {:.2?}", t.elapsed());
        let cpu0 = cpu_seconds("self");
        let api_cpu0 = apiserver_pid.as_deref().and_then(cpu_seconds);
        let t0 = Instant::now();
        create_pods(&api, &names, pods).await;
        (sim, t0, cpu0, api_cpu0)
    };
    let took = wait_running(&sim, 0, pods, t0).await;
    let cpu = cpu_seconds("self").zip(cpu0).map(|(a, b)| a - b);
    let api_cpu = apiserver_pid
        .as_deref()
        .and_then(cpu_seconds)
        .zip(api_cpu0)
        .map(|(a, b)| a - b);

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
        "all {pods} Running {took:.2?} after {} ({:.0} pods/s); the apiserver lists {running} Running",
        if precreate {
            "the simulator started"
        } else {
            "the first create"
        },
        pods as f64 / took.as_secs_f64()
    );
    if let Some(cpu) = cpu {
        println!(
            "CPU meanwhile: this process {cpu:.2}s{}",
            api_cpu.map_or(String::new(), |a| format!(", apiserver {a:.2}s"))
        );
    }
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
