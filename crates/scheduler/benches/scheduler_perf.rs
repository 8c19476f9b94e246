//! scheduler_perf-like benchmark: an apiserver (in-process, embedded
//! store), simulated nodes (the `sim` crate, in-process, through the API)
//! and the real `kube-scheduler` binary as a child process; N pods created
//! at full speed; throughput from the first create to the last binding as
//! seen by a watch.
//!
//! The baseline, measured in the same run on the same apiserver and nodes:
//! a "null scheduler" in the load generator that binds each pod to the
//! next node round-robin the moment its create returns: the most the
//! apiserver lets any scheduler bind on this machine.
//!
//! ```sh
//! cargo bench -p scheduler --bench scheduler_perf                 # 500/2,000 then 5,000/10,000
//! cargo bench -p scheduler --bench scheduler_perf -- --quick      # 500 nodes / 2,000 pods only
//! cargo bench -p scheduler --bench scheduler_perf -- --nodes 1000 --pods 3000
//! ```
//! Figures are printed and written as JSON to `bench-results/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api_types::core::v1::{
    Binding, Container, Namespace, ObjectReference, Pod, PodSpec, ResourceRequirements,
};
use api_types::meta::v1::ObjectMeta;
use api_types::quantity::Quantity;
use client::{Api, Client, Event, ListParams, PostParams};
use futures::StreamExt;
use serde_json::json;
use tokio::sync::Mutex;

struct Args {
    sizes: Vec<(usize, usize)>,
    json: bool,
}

fn args() -> Args {
    let mut sizes = vec![(500, 2_000), (5_000, 10_000)];
    let mut nodes = None;
    let mut pods = None;
    let mut json = true;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => sizes = vec![(500, 2_000)],
            "--nodes" => nodes = it.next().and_then(|v| v.parse().ok()),
            "--pods" => pods = it.next().and_then(|v| v.parse().ok()),
            "--no-json" => json = false,
            "--bench" => {}
            other => eprintln!("ignoring unknown argument {other}"),
        }
    }
    if let (Some(n), Some(p)) = (nodes, pods) {
        sizes = vec![(n, p)];
    }
    Args { sizes, json }
}

fn pod(ns: &str, name: &str) -> Pod {
    // scheduler_perf's default pod: one container asking for a little.
    Pod {
        metadata: ObjectMeta {
            name: name.into(),
            namespace: ns.into(),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "pause".into(),
                image: Some("registry.k8s.io/pause:3.10".into()),
                resources: Some(ResourceRequirements {
                    requests: Some(
                        [("cpu", "100m"), ("memory", "128Mi")]
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), Quantity::from(v)))
                            .collect(),
                    ),
                    ..ResourceRequirements::default()
                }),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}

/// Watches pods in `ns` from `rv`; records when each is first seen bound.
fn watch_bindings(
    client: Client,
    ns: &str,
    rv: String,
) -> (
    Arc<Mutex<HashMap<String, Instant>>>,
    tokio::task::JoinHandle<()>,
) {
    let bound = Arc::new(Mutex::new(HashMap::new()));
    let out = bound.clone();
    let api: Api<Pod> = Api::namespaced(client, ns);
    let task = tokio::spawn(async move {
        let mut rv = rv;
        loop {
            let Ok(mut stream) = api.watch(&ListParams::default(), &rv).await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            while let Some(Ok(ev)) = stream.next().await {
                match ev {
                    Event::Added(p) | Event::Modified(p) => {
                        rv.clone_from(&p.metadata.resource_version);
                        if p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some() {
                            out.lock()
                                .await
                                .entry(p.metadata.name.clone())
                                .or_insert_with(Instant::now);
                        }
                    }
                    Event::Deleted(p) => rv.clone_from(&p.metadata.resource_version),
                    Event::Bookmark { resource_version } => rv = resource_version,
                    Event::Error(_) => break,
                }
            }
        }
    });
    (bound, task)
}

struct Phase {
    created_per_s: f64,
    pods_per_s: f64,
    total_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    bound: usize,
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

async fn create_namespace(client: &Client, ns: &str) {
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &Namespace {
                metadata: ObjectMeta {
                    name: ns.into(),
                    ..ObjectMeta::default()
                },
                ..Namespace::default()
            },
        )
        .await
        .unwrap();
}

/// Binds pod `name` to `node` (the null scheduler).
async fn null_bind(pods: &Api<Pod>, name: &str, node: &str) {
    let b = Binding {
        metadata: ObjectMeta {
            name: name.into(),
            ..ObjectMeta::default()
        },
        target: ObjectReference {
            kind: Some("Node".into()),
            name: Some(node.into()),
            ..ObjectReference::default()
        },
        ..Binding::default()
    };
    pods.bind(name, &b).await.unwrap();
}

/// Creates `n` pods in `ns` with 32 concurrent clients; with `null_bind`,
/// binds each to the next node right after creating it. Returns when all
/// are bound (by someone) or after 5 minutes.
async fn run_phase(
    client: &Client,
    ns: &str,
    n: usize,
    nodes: Arc<Vec<String>>,
    null_bind_each: bool,
) -> Phase {
    create_namespace(client, ns).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let rv = pods
        .list(&ListParams::default().limit(1))
        .await
        .unwrap()
        .metadata
        .resource_version;
    let (bound, watcher) = watch_bindings(client.clone(), ns, rv);
    let created_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let start = Instant::now();
    {
        let created_at = created_at.clone();
        let ns = ns.to_string();
        test_support::for_each_index(n, move |i| {
            let pods = pods.clone();
            let created_at = created_at.clone();
            let nodes = nodes.clone();
            let ns = ns.clone();
            async move {
                let name = format!("pod-{i}");
                let mut tries = 0;
                while let Err(e) = pods.create(&PostParams::default(), &pod(&ns, &name)).await {
                    tries += 1;
                    assert!(tries < 20 && !e.is_already_exists(), "create {name}: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                created_at.lock().await.insert(name.clone(), Instant::now());
                if null_bind_each {
                    null_bind(&pods, &name, &nodes[i % nodes.len()]).await;
                }
            }
        })
        .await;
    }
    let created_in = start.elapsed();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let done = bound.lock().await.len();
        if done >= n || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    watcher.abort();
    let bound = bound.lock().await;
    let created_at = created_at.lock().await;
    let last = bound.values().max().copied().unwrap_or(start);
    let total = last.duration_since(start).as_secs_f64();
    let mut lat: Vec<f64> = bound
        .iter()
        .filter_map(|(k, t)| {
            created_at
                .get(k)
                .map(|c| t.saturating_duration_since(*c).as_secs_f64() * 1000.0)
        })
        .collect();
    Phase {
        created_per_s: n as f64 / created_in.as_secs_f64(),
        pods_per_s: bound.len() as f64 / total,
        total_s: total,
        p50_ms: percentile(&mut lat, 0.5),
        p99_ms: percentile(&mut lat, 0.99),
        bound: bound.len(),
    }
}

/// Creates `n` unbound pods in `ns` with 32 concurrent clients.
async fn create_backlog(client: &Client, ns: &str, n: usize) {
    create_namespace(client, ns).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let ns = ns.to_string();
    test_support::for_each_index(n, move |i| {
        let pods = pods.clone();
        let ns = ns.clone();
        async move {
            pods.create(&PostParams::default(), &pod(&ns, &format!("pod-{i}")))
                .await
                .unwrap();
        }
    })
    .await;
}

/// A backlog being bound: when the first and last bindings were seen.
struct Backlog {
    first: Instant,
    last: Instant,
    bound: usize,
}

impl Backlog {
    fn pods_per_s(&self) -> f64 {
        self.bound as f64 / self.last.duration_since(self.first).as_secs_f64().max(1e-9)
    }
}

/// Watches `ns` while `bind` runs until `n` pods are bound.
async fn bind_backlog<F: std::future::Future<Output = ()>>(
    client: &Client,
    ns: &str,
    n: usize,
    bind: F,
) -> Backlog {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let rv = pods
        .list(&ListParams::default().limit(1))
        .await
        .unwrap()
        .metadata
        .resource_version;
    let (bound, watcher) = watch_bindings(client.clone(), ns, rv);
    bind.await;
    let deadline = Instant::now() + Duration::from_secs(300);
    while bound.lock().await.len() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    watcher.abort();
    let bound = bound.lock().await;
    let now = Instant::now();
    Backlog {
        first: bound.values().min().copied().unwrap_or(now),
        last: bound.values().max().copied().unwrap_or(now),
        bound: bound.len(),
    }
}

/// The null scheduler on a backlog: 32 binders, round-robin nodes.
async fn null_bind_all(client: &Client, ns: &str, n: usize, nodes: Arc<Vec<String>>) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    test_support::for_each_index(n, move |i| {
        let pods = pods.clone();
        let nodes = nodes.clone();
        async move {
            null_bind(&pods, &format!("pod-{i}"), &nodes[i % nodes.len()]).await;
        }
    })
    .await;
}

async fn size(num_nodes: usize, num_pods: usize) -> serde_json::Value {
    println!("== {num_nodes} simulated nodes, {num_pods} pods ==");
    let api = testenv::TestApiserver::start().await;
    let mut cfg = api.config();
    cfg.user_agent = "scheduler-perf".into();
    let client = Client::new(cfg).unwrap();
    // scheduler_perf's default node: 4 CPUs, 32Gi, 110 pods.
    let sim_config = sim::SimConfig {
        nodes: num_nodes,
        cpu: "4".into(),
        memory: "32Gi".into(),
        pods: "110".into(),
        zones: 3,
        concurrency: 64,
        ..sim::SimConfig::default()
    };
    let t = Instant::now();
    let sim = sim::Simulator::start(client.clone(), sim_config)
        .await
        .unwrap();
    let nodes = Arc::new(sim.node_names());
    println!(
        "  registered {} nodes in {:.1} s",
        nodes.len(),
        t.elapsed().as_secs_f64()
    );

    // Baselines: the null scheduler.
    let null_live = run_phase(&client, "null-live", num_pods, nodes.clone(), true).await;
    println!(
        "  null scheduler, pods created at full speed and each bound right away: {:.0} pods/s bound; create->bound p50 {:.1} ms p99 {:.1} ms ({} bound)",
        null_live.pods_per_s, null_live.p50_ms, null_live.p99_ms, null_live.bound
    );
    create_backlog(&client, "null-backlog", num_pods).await;
    let null_backlog = bind_backlog(
        &client,
        "null-backlog",
        num_pods,
        null_bind_all(&client, "null-backlog", num_pods, nodes.clone()),
    )
    .await;
    println!(
        "  null scheduler, binding {} pending pods: {:.0} pods/s",
        null_backlog.bound,
        null_backlog.pods_per_s()
    );

    // kube-scheduler on a backlog: pods created before it starts.
    create_backlog(&client, "backlog", num_pods).await;
    let kubeconfig = api.write_kubeconfig();
    let mut spawned = None;
    let mut child_slot = None;
    let backlog = bind_backlog(&client, "backlog", num_pods, async {
        spawned = Some(Instant::now());
        child_slot = Some(
            std::process::Command::new(env!("CARGO_BIN_EXE_kube-scheduler"))
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args([
                    "--leader-elect=false",
                    "--kube-api-qps=5000",
                    "--kube-api-burst=5000",
                    "--secure-port=0",
                ])
                .env("RUST_LOG", "error")
                .spawn()
                .expect("start kube-scheduler"),
        );
    })
    .await;
    let mut child = child_slot.expect("spawned");
    let pid = child.id();
    let startup = backlog
        .first
        .saturating_duration_since(spawned.unwrap_or(backlog.first));
    let (cpu_backlog, _) = test_support::proc_usage(pid);
    println!(
        "  kube-scheduler, binding {} pending pods: {:.0} pods/s ({:.0}% of the null scheduler); first binding {:.2} s after start (list + cache sync of {} nodes and {} pods)",
        backlog.bound,
        backlog.pods_per_s(),
        100.0 * backlog.pods_per_s() / null_backlog.pods_per_s(),
        startup.as_secs_f64(),
        num_nodes,
        3 * num_pods
    );

    // kube-scheduler with pods created at full speed.
    let started = Instant::now();
    let sched = run_phase(&client, "live", num_pods, nodes.clone(), false).await;
    let wall = started.elapsed().as_secs_f64();
    let (cpu_total, rss_kib) = test_support::proc_usage(pid);
    let _ = child.kill();
    let _ = child.wait();
    let cpu = cpu_total - cpu_backlog;
    println!(
        "  kube-scheduler, pods created at full speed: {:.0} pods/s from first create to last binding (target >= 1,000), {:.0}% of the null scheduler; creates {:.0}/s; create->bound p50 {:.1} ms p99 {:.1} ms ({} bound)",
        sched.pods_per_s,
        100.0 * sched.pods_per_s / null_live.pods_per_s,
        sched.created_per_s,
        sched.p50_ms,
        sched.p99_ms,
        sched.bound
    );
    println!(
        "  kube-scheduler CPU: {:.2} s for the backlog incl. startup, {:.2} s for the full-speed phase ({:.2} cores over {:.1} s, {:.0} µs per pod); peak RSS {:.1} MiB",
        cpu_backlog,
        cpu,
        cpu / wall,
        wall,
        cpu * 1e6 / num_pods as f64,
        rss_kib as f64 / 1024.0
    );
    sim.stop().await;
    json!({
        "nodes": num_nodes,
        "pods": num_pods,
        "null_scheduler": {
            "live": {"pods_per_s": null_live.pods_per_s, "creates_per_s": null_live.created_per_s,
                     "p50_ms": null_live.p50_ms, "p99_ms": null_live.p99_ms, "bound": null_live.bound},
            "backlog": {"pods_per_s": null_backlog.pods_per_s(), "bound": null_backlog.bound},
        },
        "kube_scheduler": {
            "backlog": {"pods_per_s": backlog.pods_per_s(), "bound": backlog.bound,
                        "startup_s": startup.as_secs_f64(), "cpu_seconds": cpu_backlog},
            "live": {"pods_per_s": sched.pods_per_s, "creates_per_s": sched.created_per_s,
                     "p50_ms": sched.p50_ms, "p99_ms": sched.p99_ms, "bound": sched.bound, "seconds": sched.total_s,
                     "cpu_seconds": cpu, "cpu_cores": cpu / wall},
            "peak_rss_mib": rss_kib as f64 / 1024.0,
        },
    })
}

fn main() {
    let args = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runs = Vec::new();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "oxkube scheduler benchmark: {cores} cores; apiserver (embedded store), simulated nodes and load generator in this process, kube-scheduler a child process"
    );
    for (nodes, pods) in args.sizes.clone() {
        runs.push(rt.block_on(size(nodes, pods)));
    }
    if args.json {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench-results");
        let _ = std::fs::create_dir_all(&dir);
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let path = dir.join(format!("scheduler-{secs}.json"));
        let doc = json!({"benchmark": "scheduler_perf", "cores": cores, "runs": runs});
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        println!("wrote {}", path.display());
    }
}
