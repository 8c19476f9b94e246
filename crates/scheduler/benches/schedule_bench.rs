//! # The scheduling-decision benchmark
//!
//! A program, not a test: `cargo bench -p scheduler --bench schedule_bench`
//! (`-- --quick` for a tenth of the pods). It builds 5,000 Ready nodes
//! (32 CPU / 128 GiB / 110 pods, spread over 3 zones) and schedules 10,000
//! pods one after another through `schedule` + `assume`, the way the
//! scheduling loop does, and prints pods/s for:
//!
//! 1. `plain`: pods with cpu/memory requests and no owner;
//! 2. `replicaset`: the same pods owned by one ReplicaSet, so the system
//!    default topology spreading (hostname + zone) scores every decision;
//! 3. `loaded`: `replicaset` on a cluster already holding 140,000 pods of
//!    1,000 other ReplicaSets (also reports how fast the cache takes them);
//! 4. `anti-affinity`: 2,000 pods with required anti-affinity to their own
//!    app on `kubernetes.io/hostname` (one per node).
//!
//! Only the decision is timed here; the API round-trips of a real
//! scheduler come on top. Besides wall time it reports the process's CPU
//! time (from `/proc/self/stat`), which stays meaningful when other work
//! shares the machine's cores. Target (shared/BENCHMARKS.md): the whole loop at
//! ≥ 1,000 pods/s, so a decision must take well under 0.5 ms.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api_types::core::v1::{
    Affinity, Container, Node, NodeCondition, NodeStatus, Pod, PodAffinityTerm, PodAntiAffinity,
    PodSpec, ResourceRequirements,
};
use api_types::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use api_types::quantity::Quantity;
use scheduler::framework::{ClusterState, SchedulerState, schedule};

const NODES: usize = 5_000;
const ZONES: [&str; 3] = ["zone-a", "zone-b", "zone-c"];

fn map<V: From<&'static str>>(pairs: &[(&'static str, &'static str)]) -> BTreeMap<String, V> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), V::from(v)))
        .collect()
}

fn node(i: usize) -> Node {
    let name = format!("node-{i:05}");
    let mut labels = BTreeMap::new();
    labels.insert("kubernetes.io/hostname".to_owned(), name.clone());
    labels.insert(
        "topology.kubernetes.io/zone".to_owned(),
        ZONES[i % ZONES.len()].to_owned(),
    );
    Node {
        metadata: ObjectMeta {
            name,
            labels,
            ..Default::default()
        },
        status: Some(NodeStatus {
            allocatable: Some(map(&[("cpu", "32"), ("memory", "128Gi"), ("pods", "110")])),
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "True".into(),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn pod(name: &str, app: &str, owner: Option<&str>) -> Pod {
    let mut labels = BTreeMap::new();
    labels.insert("app".to_owned(), app.to_owned());
    Pod {
        metadata: ObjectMeta {
            name: name.to_owned(),
            namespace: "default".to_owned(),
            uid: format!("uid-{name}"),
            labels,
            owner_references: owner
                .map(|rs| {
                    vec![OwnerReference {
                        api_version: "apps/v1".into(),
                        kind: "ReplicaSet".into(),
                        name: rs.to_owned(),
                        uid: format!("uid-rs-{rs}"),
                        controller: Some(true),
                        block_owner_deletion: Some(true),
                    }]
                })
                .unwrap_or_default(),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "app".into(),
                image: Some("nginx:1.27".into()),
                resources: Some(ResourceRequirements {
                    requests: Some(map::<Quantity>(&[("cpu", "100m"), ("memory", "128Mi")])),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn with_anti_affinity(mut p: Pod, app: &str) -> Pod {
    if let Some(spec) = p.spec.as_mut() {
        spec.affinity = Some(Affinity {
            pod_anti_affinity: Some(PodAntiAffinity {
                required_during_scheduling_ignored_during_execution: Some(vec![PodAffinityTerm {
                    label_selector: Some(LabelSelector {
                        match_labels: Some(BTreeMap::from([("app".to_owned(), app.to_owned())])),
                        ..Default::default()
                    }),
                    topology_key: "kubernetes.io/hostname".into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    p
}

fn nodes() -> ClusterState {
    let mut cluster = ClusterState::new();
    for i in 0..NODES {
        cluster.add_node(Arc::new(node(i)));
    }
    cluster
}

/// User + system CPU time of this process so far, from `/proc/self/stat`
/// (clock ticks of 10 ms); `None` where that file does not exist.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesized command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Wall and CPU time of a piece of work.
struct Timing {
    wall: Duration,
    cpu: Option<Duration>,
}

fn timed(work: impl FnOnce()) -> Timing {
    let cpu_before = cpu_time();
    let started = Instant::now();
    work();
    let wall = started.elapsed();
    let cpu = cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    Timing { wall, cpu }
}

/// Schedules `pods` one by one, assuming each.
fn run(cluster: &mut ClusterState, pods: Vec<Pod>) -> Timing {
    let mut state = SchedulerState::new();
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    let timing = timed(|| {
        for p in pods {
            match schedule(cluster, &p, &[], &mut state) {
                Ok(decision) => {
                    *per_node.entry(decision.node.clone()).or_default() += 1;
                    if let Err(e) = cluster.assume(Arc::new(p), &decision.node) {
                        eprintln!("assume: {e}");
                    }
                }
                Err(e) => eprintln!("unschedulable: {e}"),
            }
        }
    });
    let most = per_node.values().copied().max().unwrap_or(0);
    eprintln!(
        "    placed on {} nodes, at most {most} per node",
        per_node.len()
    );
    black_box(timing)
}

fn report(name: &str, pods: usize, t: Timing) {
    let rate = |d: Duration| pods as f64 / d.as_secs_f64().max(1e-9);
    let per_pod = |d: Duration| d.as_secs_f64() * 1e6 / pods as f64;
    let cpu = t.cpu.map_or_else(
        || "cpu n/a".to_owned(),
        |c| format!("cpu {:>8.0} pods/s, {:>6.1} µs/pod", rate(c), per_pod(c)),
    );
    println!(
        "{name:<14} {pods:>6} pods: wall {:>8.0} pods/s, {:>6.1} µs/pod | {cpu}",
        rate(t.wall),
        per_pod(t.wall),
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 1_000 } else { 10_000 };
    println!("{NODES} nodes, {n} pods per scenario");

    let mut cluster = nodes();
    let pods = (0..n)
        .map(|i| pod(&format!("plain-{i}"), "plain", None))
        .collect();
    report("plain", n, run(&mut cluster, pods));

    let mut cluster = nodes();
    let pods = (0..n)
        .map(|i| pod(&format!("web-{i}"), "web", Some("web")))
        .collect();
    report("replicaset", n, run(&mut cluster, pods));

    let mut cluster = nodes();
    let preload = if quick { 14_000 } else { 140_000 };
    let old_pods: Vec<Arc<Pod>> = (0..preload)
        .map(|i| {
            let rs = format!("rs-{}", i % 1_000);
            let mut p = pod(&format!("old-{i}"), &rs, Some(&rs));
            if let Some(spec) = p.spec.as_mut() {
                spec.node_name = Some(format!("node-{:05}", i % NODES));
            }
            Arc::new(p)
        })
        .collect();
    let t = timed(|| {
        for p in old_pods {
            cluster.add_pod(p);
        }
    });
    print!("(cache) ");
    report("preload", preload, t);
    let pods = (0..n)
        .map(|i| pod(&format!("web-{i}"), "web", Some("web")))
        .collect();
    report("loaded", n, run(&mut cluster, pods));

    let mut cluster = nodes();
    let m = n / 5;
    let pods = (0..m)
        .map(|i| with_anti_affinity(pod(&format!("solo-{i}"), "solo", Some("solo")), "solo"))
        .collect();
    report("anti-affinity", m, run(&mut cluster, pods));
}
