//! Controller benchmark: an apiserver (in-process, embedded store),
//! simulated nodes (the `sim` crate, in-process, through the API), a null
//! scheduler in this process (binds each new pod to the next node), and
//! the real `kube-controller-manager` binary as a child process.
//!
//! Measured:
//! - a ReplicaSet scaled 0 → N (5,000): time until all pods exist and until
//!   all are Running (seen by a watch); then back to 0;
//! - a Deployment of M (1,000) replicas rolled out to a new image (default
//!   25 % surge / 25 % unavailable): time until the rollout is complete;
//! - the controller manager's CPU time and peak RSS.
//!
//! Baselines, in the same run on the same apiserver and nodes: a "null
//! controller" in the load generator creating the same N pods directly with
//! 32 concurrent clients (the most the apiserver lets any controller
//! create), and replacing M running pods by M new ones (create all new,
//! delete all old, at full speed), which is the least work a rollout does.
//!
//! ```sh
//! cargo bench -p controller-manager --bench controller_perf              # 5,000 / 1,000
//! cargo bench -p controller-manager --bench controller_perf -- --quick   # 1,000 / 300
//! ```
//! Figures are printed and written as JSON to `bench-results/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss
)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use api_types::apps::v1::{Deployment, ReplicaSet};
use api_types::core::v1::{Binding, Namespace, ObjectReference, Pod};
use api_types::meta::v1::{DeleteOptions, ObjectMeta};
use client::{Api, Client, Event, ListParams, Patch, PatchParams, PostParams};
use futures::StreamExt;
use serde_json::json;
use tokio::sync::Mutex;

/// What a watch of one namespace saw, per pod name.
#[derive(Default)]
struct Seen {
    added: HashMap<String, Instant>,
    running: HashMap<String, Instant>,
    gone: HashMap<String, Instant>,
    image: HashMap<String, String>,
}

impl Seen {
    fn last(m: &HashMap<String, Instant>) -> Option<Instant> {
        m.values().max().copied()
    }
    /// Pods that exist now with `image`, and how many of them run.
    fn live(&self, image: &str) -> (usize, usize) {
        let live: Vec<&String> = self
            .added
            .keys()
            .filter(|k| !self.gone.contains_key(*k))
            .filter(|k| self.image.get(*k).is_some_and(|i| i == image))
            .collect();
        let running = live
            .iter()
            .filter(|k| self.running.contains_key(**k))
            .count();
        (live.len(), running)
    }
}

fn template(image: &str) -> serde_json::Value {
    json!({
        "metadata": {"labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "c", "image": image}]}
    })
}

fn pod(name: &str, image: &str) -> Pod {
    let mut p: Pod = serde_json::from_value(template(image)).unwrap();
    p.metadata.name = name.into();
    p
}

/// Watches pods of `ns` and binds each unscheduled one to the next node
/// (the null scheduler: no scheduling work in the figures).
fn watch_and_bind(
    client: Client,
    ns: &str,
    nodes: Arc<Vec<String>>,
) -> (Arc<Mutex<Seen>>, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let out = seen.clone();
    let api: Api<Pod> = Api::namespaced(client, ns);
    let task = tokio::spawn(async move {
        let next = Arc::new(AtomicUsize::new(0));
        let binders = Arc::new(tokio::sync::Semaphore::new(32));
        let mut rv = String::new();
        loop {
            let Ok(mut stream) = api.watch(&ListParams::default(), &rv).await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            while let Some(Ok(ev)) = stream.next().await {
                match ev {
                    Event::Added(p) | Event::Modified(p) => {
                        rv.clone_from(&p.metadata.resource_version);
                        let now = Instant::now();
                        let name = p.metadata.name.clone();
                        let mut s = seen.lock().await;
                        s.added.entry(name.clone()).or_insert(now);
                        let image = p.spec.as_ref().and_then(|s| s.containers[0].image.clone());
                        s.image.insert(name.clone(), image.unwrap_or_default());
                        if p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") {
                            s.running.entry(name.clone()).or_insert(now);
                        }
                        drop(s);
                        let unbound = p.spec.as_ref().is_some_and(|s| s.node_name.is_none());
                        if unbound && p.metadata.deletion_timestamp.is_none() {
                            let node =
                                nodes[next.fetch_add(1, Ordering::Relaxed) % nodes.len()].clone();
                            let api = api.clone();
                            let permit = binders.clone().acquire_owned().await.unwrap();
                            tokio::spawn(async move {
                                let b = Binding {
                                    metadata: ObjectMeta {
                                        name: name.clone(),
                                        ..ObjectMeta::default()
                                    },
                                    target: ObjectReference {
                                        kind: Some("Node".into()),
                                        name: Some(node),
                                        ..ObjectReference::default()
                                    },
                                    ..Binding::default()
                                };
                                let _ = api.bind(&name, &b).await;
                                drop(permit);
                            });
                        }
                    }
                    Event::Deleted(p) => {
                        rv.clone_from(&p.metadata.resource_version);
                        seen.lock()
                            .await
                            .gone
                            .insert(p.metadata.name.clone(), Instant::now());
                    }
                    Event::Bookmark { resource_version } => rv = resource_version,
                    Event::Error(_) => break,
                }
            }
        }
    });
    (out, task)
}

async fn namespace(client: &Client, ns: &str) {
    let n: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &n)
        .await
        .unwrap();
}

/// Polls `seen` until `done` holds (at most 10 minutes); returns when.
async fn until(seen: &Arc<Mutex<Seen>>, what: &str, done: impl Fn(&Seen) -> bool) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if done(&*seen.lock().await) {
            return Instant::now();
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The controller manager's CPU seconds since `from`, and peak RSS in MiB.
fn usage(pid: u32, from: f64) -> (f64, f64) {
    let (cpu, rss) = test_support::proc_usage(pid);
    (cpu - from, rss as f64 / 1024.0)
}

/// Resident memory of `pid` now (VmRSS), in MiB.
fn current_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// The controller manager stops with the benchmark, even when it fails.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Timing {
    exist_s: f64,
    running_s: f64,
}

/// Null controller: `n` pods created directly.
async fn null_create(client: &Client, nodes: Arc<Vec<String>>, n: usize) -> Timing {
    namespace(client, "null").await;
    let (seen, task) = watch_and_bind(client.clone(), "null", nodes);
    let api: Api<Pod> = Api::namespaced(client.clone(), "null");
    let start = Instant::now();
    test_support::for_each_index(n, move |i| {
        let api = api.clone();
        async move {
            api.create(&PostParams::default(), &pod(&format!("p-{i}"), "img:1"))
                .await
                .unwrap();
        }
    })
    .await;
    let running = until(&seen, "null pods running", |s| s.running.len() >= n).await;
    let exist = Seen::last(&seen.lock().await.added).unwrap_or(running);
    task.abort();
    Timing {
        exist_s: exist.duration_since(start).as_secs_f64(),
        running_s: running.duration_since(start).as_secs_f64(),
    }
}

/// Null rollout: `n` running pods replaced by `n` new ones at full speed.
async fn null_rollout(client: &Client, nodes: Arc<Vec<String>>, n: usize) -> f64 {
    namespace(client, "null-roll").await;
    let (seen, task) = watch_and_bind(client.clone(), "null-roll", nodes);
    let api: Api<Pod> = Api::namespaced(client.clone(), "null-roll");
    let a = api.clone();
    test_support::for_each_index(n, move |i| {
        let api = a.clone();
        async move {
            api.create(&PostParams::default(), &pod(&format!("old-{i}"), "img:1"))
                .await
                .unwrap();
        }
    })
    .await;
    until(&seen, "old pods running", |s| s.live("img:1").1 >= n).await;
    let start = Instant::now();
    test_support::for_each_index(2 * n, move |i| {
        let api = api.clone();
        async move {
            if i % 2 == 0 {
                let p = pod(&format!("new-{}", i / 2), "img:2");
                api.create(&PostParams::default(), &p).await.unwrap();
            } else {
                api.delete(&format!("old-{}", i / 2), &DeleteOptions::default())
                    .await
                    .unwrap();
            }
        }
    })
    .await;
    let done = until(&seen, "the null rollout", |s| {
        s.live("img:2").1 >= n && s.live("img:1").0 == 0
    })
    .await;
    task.abort();
    done.duration_since(start).as_secs_f64()
}

async fn replica_set(
    client: &Client,
    nodes: Arc<Vec<String>>,
    n: usize,
    pid: u32,
) -> serde_json::Value {
    namespace(client, "rs").await;
    let (seen, task) = watch_and_bind(client.clone(), "rs", nodes);
    let api: Api<ReplicaSet> = Api::namespaced(client.clone(), "rs");
    let rs: ReplicaSet = serde_json::from_value(json!({
        "metadata": {"name": "bench"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "bench"}}, "template": template("img:1")}
    }))
    .unwrap();
    api.create(&PostParams::default(), &rs).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cpu0 = test_support::proc_usage(pid).0;
    let start = Instant::now();
    let scale = |n: usize| Patch::Merge(json!({"spec": {"replicas": n}}));
    api.patch("bench", &PatchParams::default(), &scale(n))
        .await
        .unwrap();
    let running = until(&seen, "ReplicaSet pods running", |s| s.running.len() >= n).await;
    let exist = Seen::last(&seen.lock().await.added).unwrap_or(running);
    let (cpu_up, rss) = usage(pid, cpu0);
    let cpu1 = test_support::proc_usage(pid).0;
    let down = Instant::now();
    api.patch("bench", &PatchParams::default(), &scale(0))
        .await
        .unwrap();
    let gone = until(&seen, "ReplicaSet pods gone", |s| s.gone.len() >= n).await;
    let (cpu_down, _) = usage(pid, cpu1);
    task.abort();
    let exist_s = exist.duration_since(start).as_secs_f64();
    let running_s = running.duration_since(start).as_secs_f64();
    let down_s = gone.duration_since(down).as_secs_f64();
    json!({"replicas": n, "all_exist_s": exist_s, "all_running_s": running_s,
           "scale_to_zero_s": down_s, "cpu_s_up": cpu_up, "cpu_s_down": cpu_down, "peak_rss_mib": rss})
}

async fn deployment(
    client: &Client,
    nodes: Arc<Vec<String>>,
    m: usize,
    pid: u32,
) -> serde_json::Value {
    namespace(client, "deploy").await;
    let (seen, task) = watch_and_bind(client.clone(), "deploy", nodes);
    let api: Api<Deployment> = Api::namespaced(client.clone(), "deploy");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "bench"},
        "spec": {"replicas": m, "selector": {"matchLabels": {"app": "bench"}}, "template": template("img:1")}
    }))
    .unwrap();
    api.create(&PostParams::default(), &d).await.unwrap();
    let complete = |api: Api<Deployment>| async move {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let d = api.get("bench").await.unwrap();
            let s = d.status.clone().unwrap_or_default();
            let want = Some(i32::try_from(m).unwrap());
            let progressing_done = s.conditions.iter().flatten().any(|c| {
                c.type_ == "Progressing" && c.reason.as_deref() == Some("NewReplicaSetAvailable")
            });
            if s.observed_generation >= d.metadata.generation
                && s.updated_replicas == want
                && s.available_replicas == want
                && s.replicas == want
                && progressing_done
            {
                return Instant::now();
            }
            assert!(Instant::now() < deadline, "the rollout did not complete");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let created = Instant::now();
    let first = complete(api.clone()).await;
    let cpu0 = test_support::proc_usage(pid).0;
    let start = Instant::now();
    let patch =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "img:2"}]}}}});
    api.patch("bench", &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .unwrap();
    let done = complete(api.clone()).await;
    let old_gone = until(&seen, "old pods gone", |s| s.live("img:1").0 == 0).await;
    let (cpu, rss) = usage(pid, cpu0);
    task.abort();
    json!({"replicas": m, "first_rollout_s": first.duration_since(created).as_secs_f64(),
           "rollout_s": done.duration_since(start).as_secs_f64(),
           "old_pods_gone_s": old_gone.duration_since(start).as_secs_f64(),
           "cpu_s": cpu, "peak_rss_mib": rss})
}

async fn run(n: usize, m: usize) -> serde_json::Value {
    println!("== ReplicaSet 0 -> {n}, Deployment rollout of {m} ==");
    let api = testenv::TestApiserver::start().await;
    let mut cfg = api.config();
    cfg.user_agent = "controller-perf".into();
    let client = Client::new(cfg).unwrap();
    let sim = sim::Simulator::start(
        client.clone(),
        sim::SimConfig {
            // Room for every phase's pods at once (each node's pod range
            // holds 126).
            nodes: 250,
            concurrency: 64,
            ..sim::SimConfig::default()
        },
    )
    .await
    .unwrap();
    let nodes = Arc::new(sim.node_names());

    let direct = null_create(&client, nodes.clone(), n).await;
    println!(
        "  null controller, {n} pods created directly (32 clients): all exist {:.2} s, all Running {:.2} s",
        direct.exist_s, direct.running_s
    );
    let null_roll = null_rollout(&client, nodes.clone(), m).await;
    println!("  null rollout, {m} running pods replaced at full speed: {null_roll:.2} s");

    let kubeconfig = api.write_kubeconfig();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_kube-controller-manager"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args([
            "--leader-elect=false",
            "--kube-api-qps=5000",
            "--kube-api-burst=5000",
        ])
        .env("RUST_LOG", "error")
        .spawn()
        .expect("start kube-controller-manager");
    let child = KillOnDrop(child);
    let pid = child.0.id();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (idle_cpu, idle_rss) = usage(pid, 0.0);

    let rs = replica_set(&client, nodes.clone(), n, pid).await;
    println!(
        "  ReplicaSet 0 -> {n}: all exist {:.2} s ({:.0}% of the null controller's speed), all Running {:.2} s (null: {:.2} s); back to 0 in {:.2} s; controller CPU {:.2} s up, {:.2} s down; peak RSS {:.1} MiB",
        rs["all_exist_s"].as_f64().unwrap(),
        100.0 * direct.exist_s / rs["all_exist_s"].as_f64().unwrap(),
        rs["all_running_s"].as_f64().unwrap(),
        direct.running_s,
        rs["scale_to_zero_s"].as_f64().unwrap(),
        rs["cpu_s_up"].as_f64().unwrap(),
        rs["cpu_s_down"].as_f64().unwrap(),
        rs["peak_rss_mib"].as_f64().unwrap(),
    );
    let dep = deployment(&client, nodes.clone(), m, pid).await;
    println!(
        "  Deployment of {m}: first rollout {:.2} s; rolling update to a new image complete in {:.2} s (null rollout {null_roll:.2} s), old pods gone {:.2} s; controller CPU {:.2} s; peak RSS {:.1} MiB",
        dep["first_rollout_s"].as_f64().unwrap(),
        dep["rollout_s"].as_f64().unwrap(),
        dep["old_pods_gone_s"].as_f64().unwrap(),
        dep["cpu_s"].as_f64().unwrap(),
        dep["peak_rss_mib"].as_f64().unwrap(),
    );
    let rss_now = current_rss_mib(pid);
    drop(child);
    sim.stop().await;
    println!("  controller manager RSS at the end: {rss_now:.1} MiB (peak above)");
    println!("  controller manager at start: {idle_cpu:.2} s CPU, {idle_rss:.1} MiB peak RSS");
    json!({
        "null_controller": {"pods": n, "all_exist_s": direct.exist_s, "all_running_s": direct.running_s},
        "null_rollout": {"pods": m, "seconds": null_roll},
        "replicaset": rs,
        "deployment": dep,
        "controller_manager": {"flags": "--kube-api-qps=5000 --kube-api-burst=5000", "startup_cpu_s": idle_cpu, "startup_peak_rss_mib": idle_rss, "end_rss_mib": rss_now},
    })
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (n, m) = if quick { (1_000, 300) } else { (5_000, 1_000) };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "oxkube controller benchmark: {cores} cores; apiserver (embedded store), 250 simulated nodes, null scheduler and load generator in this process; kube-controller-manager a child process"
    );
    let run = rt.block_on(run(n, m));
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench-results");
    let _ = std::fs::create_dir_all(&dir);
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let path = dir.join(format!("controller-manager-{secs}.json"));
    let doc = json!({"benchmark": "controller_perf", "cores": cores, "run": run});
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    println!("wrote {}", path.display());
}
