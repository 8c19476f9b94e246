//! Pod startup latency with a real containerd on one node, beside the raw
//! CRI time for the same kind of pod measured in the same run.
//!
//! `cargo bench -p kubelet --bench pod_startup [-- --steady N --burst N --rate PODS_PER_S]`
//! (root; the packages `e2e/test.sh` installs).
//!
//! 1. **Baseline**: `RunPodSandbox` + `CreateContainer` + `StartContainer`
//!    straight through CRI, one pod at a time (what any kubelet must wait
//!    for), and the burst's number of pods all at once (what containerd
//!    can do on this machine).
//! 2. **Steady**: pods created through the apiserver at `--rate` per second
//!    (default 1/s, 60 pods), already bound (`spec.nodeName`, so the
//!    scheduler is not part of the figure); latency = create → the watch
//!    shows `Running`.
//! 3. **Burst**: `--burst` pods (default 100) created at once; same latency.
//! 4. **Footprint**: the `kubelet` process (the real binary, a child
//!    process) with every pod running: RSS and CPU over 10 s.
//!
//! Figures are printed and written as JSON to `bench-results/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use api_types::core::v1::Pod;
use client::{Api, Event, ListParams, PostParams};
use cri::{RemoteRuntime, RuntimeService, v1};
use futures::StreamExt;
use serde_json::json;
use test_support::containerd::{BUSYBOX_IMAGE, Containerd};
use testenv::TestApiserver;

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn pod(name: &str, node: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "c", "image": BUSYBOX_IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["sleep", "3600"]}]
        }
    }))
    .unwrap()
}

/// One pod straight through CRI: sandbox, then a busybox `sleep`.
/// Returns the sandbox ID.
async fn raw_pod(rt: &RemoteRuntime, logs: &std::path::Path, cgroups: &str, name: &str) -> String {
    let sandbox = v1::PodSandboxConfig {
        metadata: Some(v1::PodSandboxMetadata {
            name: name.into(),
            uid: format!("{name}-uid"),
            namespace: "bench".into(),
            attempt: 0,
        }),
        log_directory: logs.display().to_string(),
        linux: Some(v1::LinuxPodSandboxConfig {
            cgroup_parent: format!("{cgroups}/{name}"),
            ..Default::default()
        }),
        ..Default::default()
    };
    let sb = rt.run_pod_sandbox(sandbox.clone(), "").await.unwrap();
    let c = v1::ContainerConfig {
        metadata: Some(v1::ContainerMetadata {
            name: "c".into(),
            attempt: 0,
        }),
        image: Some(v1::ImageSpec {
            image: BUSYBOX_IMAGE.into(),
            ..Default::default()
        }),
        command: vec!["sleep".into(), "3600".into()],
        log_path: format!("{name}.log"),
        ..Default::default()
    };
    let id = rt.create_container(&sb, c, sandbox).await.unwrap();
    rt.start_container(&id).await.unwrap();
    sb
}

fn proc_stat(pid: u32) -> (u64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kb = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks: f64 = fields
        .get(11)
        .and_then(|u| u.parse::<f64>().ok())
        .unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0);
    (rss_kb, ticks / 100.0)
}

/// Creates `names` at `rate` per second (0 = all at once) and returns each
/// pod's create → Running latency in ms.
async fn run_phase(api: &Api<Pod>, node: &str, names: &[String], rate: f64) -> Vec<f64> {
    let mut watch = api.watch(&ListParams::default(), "0").await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    let creator = {
        let api = api.clone();
        let names = names.to_vec();
        let node = node.to_string();
        tokio::spawn(async move {
            let start = Instant::now();
            for (i, n) in names.iter().enumerate() {
                if rate > 0.0 {
                    tokio::time::sleep_until(
                        (start + Duration::from_secs_f64(i as f64 / rate)).into(),
                    )
                    .await;
                }
                let t = Instant::now();
                api.create(&PostParams::default(), &pod(n, &node))
                    .await
                    .unwrap();
                let _ = tx.send((n.clone(), t));
            }
        })
    };
    let mut created: HashMap<String, Instant> = HashMap::new();
    let mut running: HashMap<String, Instant> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(names.len() as u64 * 3 + 120);
    while running.len() < names.len() && Instant::now() < deadline {
        tokio::select! {
            Some((n, t)) = rx.recv() => { created.insert(n, t); }
            ev = watch.next() => {
                let Some(Ok(ev)) = ev else { watch = api.watch(&ListParams::default(), "0").await.unwrap(); continue };
                if let Event::Added(p) | Event::Modified(p) = ev
                    && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
                    && names.contains(&p.metadata.name)
                {
                    running.entry(p.metadata.name.clone()).or_insert_with(Instant::now);
                }
            }
        }
    }
    creator.await.unwrap();
    while let Ok((n, t)) = rx.try_recv() {
        created.insert(n, t);
    }
    names
        .iter()
        .filter_map(|n| {
            Some(
                running
                    .get(n)?
                    .duration_since(*created.get(n)?)
                    .as_secs_f64()
                    * 1000.0,
            )
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let steady = arg("--steady", 60.0) as usize;
    let burst = arg("--burst", 100.0) as usize;
    let rate = arg("--rate", 1.0);
    let baseline_n = arg("--baseline", 20.0) as usize;

    let cd = Containerd::start();
    let server = TestApiserver::start().await;
    let kubeconfig = server.write_kubeconfig();
    let node = "bench-node";
    let mut kubelet = std::process::Command::new(env!("CARGO_BIN_EXE_kubelet"))
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg(format!("--container-runtime-endpoint={}", cd.endpoint()))
        .arg(format!("--hostname-override={node}"))
        .arg("--node-ip=127.0.0.1")
        .arg(format!("--pod-cidr={}", cd.pod_cidr()))
        .arg(format!("--root-dir={}", cd.scratch("kubelet").display()))
        .arg(format!("--pod-logs-dir={}", cd.scratch("logs").display()))
        .arg(format!(
            "--pod-manifest-path={}",
            cd.scratch("manifests").display()
        ))
        .arg(format!("--cgroup-root={}", cd.cgroup_root()))
        .arg(format!("--cni-conf-dir={}", cd.cni_conf_dir().display()))
        .arg(format!("--cni-bridge={}", cd.bridge()))
        .arg("--max-pods=250")
        .arg("--healthz-port=0")
        .arg("--port=0")
        .env(
            "RUST_LOG",
            std::env::var("KUBELET_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .spawn()
        .expect("start the kubelet binary");
    let client = server.client();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    // Ready: the CNI config exists and a first pod runs.
    let warm = run_phase(&pods, node, &["warm-up".to_string()], 0.0).await;
    assert_eq!(warm.len(), 1, "the warm-up pod never ran");

    // 1. Raw CRI baseline, one pod at a time, same image and network.
    let rt = RemoteRuntime::new(&cd.endpoint(), Duration::from_secs(60)).unwrap();
    let (logs, cgroups) = (cd.scratch("raw-logs"), cd.cgroup_root());
    let mut raw = Vec::new();
    for i in 0..baseline_n {
        let t = Instant::now();
        let sb = raw_pod(&rt, &logs, &cgroups, &format!("raw-{i}")).await;
        raw.push(t.elapsed().as_secs_f64() * 1000.0);
        rt.stop_pod_sandbox(&sb).await.unwrap();
        rt.remove_pod_sandbox(&sb).await.unwrap();
    }
    // The same burst straight through CRI, all at once: what containerd
    // itself can do on this machine.
    let t = Instant::now();
    let raw_burst: Vec<(String, f64)> = futures::future::join_all((0..burst).map(|i| {
        let (rt, logs, cgroups) = (&rt, &logs, &cgroups);
        async move {
            let sb = raw_pod(rt, logs, cgroups, &format!("raw-burst-{i}")).await;
            (sb, t.elapsed().as_secs_f64() * 1000.0)
        }
    }))
    .await;
    let raw_burst_total = t.elapsed().as_secs_f64();
    for (sb, _) in &raw_burst {
        rt.stop_pod_sandbox(sb).await.unwrap();
        rt.remove_pod_sandbox(sb).await.unwrap();
    }
    let mut raw_burst: Vec<f64> = raw_burst.into_iter().map(|(_, ms)| ms).collect();

    // 2. Steady rate, 3. burst.
    let names: Vec<String> = (0..steady).map(|i| format!("steady-{i}")).collect();
    let mut steady_ms = run_phase(&pods, node, &names, rate).await;
    let names: Vec<String> = (0..burst).map(|i| format!("burst-{i}")).collect();
    let burst_start = Instant::now();
    let mut burst_ms = run_phase(&pods, node, &names, 0.0).await;
    let burst_total = burst_start.elapsed().as_secs_f64();

    // 4. Footprint with everything running.
    let (rss0, cpu0) = proc_stat(kubelet.id());
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (rss1, cpu1) = proc_stat(kubelet.id());
    let running = steady + burst + 1;

    let (s_n, b_n) = (steady_ms.len(), burst_ms.len());
    let mut raw_c = raw.clone();
    let report = json!({
        "bench": "pod_startup",
        "raw_cri_ms": {"n": raw.len(), "p50": pct(&mut raw_c, 0.5), "p99": pct(&mut raw, 0.99)},
        "raw_cri_burst": {"n": raw_burst.len(), "p50_ms": pct(&mut raw_burst, 0.5), "p99_ms": pct(&mut raw_burst, 0.99), "all_running_s": raw_burst_total},
        "steady": {"rate_per_s": rate, "n": steady, "running": s_n, "p50_ms": pct(&mut steady_ms, 0.5), "p99_ms": pct(&mut steady_ms, 0.99)},
        "burst": {"n": burst, "running": b_n, "p50_ms": pct(&mut burst_ms, 0.5), "p99_ms": pct(&mut burst_ms, 0.99), "all_running_s": burst_total},
        "kubelet": {"pods": running, "rss_mib": rss1.max(rss0) as f64 / 1024.0, "cpu_percent_idle": (cpu1 - cpu0) / 10.0 * 100.0},
    });
    println!("pod startup (real containerd, one node)");
    println!(
        "  raw CRI sandbox+create+start: p50 {:.0} ms  p99 {:.0} ms  (n={})",
        report["raw_cri_ms"]["p50"].as_f64().unwrap_or(0.0),
        report["raw_cri_ms"]["p99"].as_f64().unwrap_or(0.0),
        raw.len()
    );
    println!(
        "  raw CRI burst of {burst}:       p50 {:.0} ms  p99 {:.0} ms  (all in {raw_burst_total:.1} s)",
        report["raw_cri_burst"]["p50_ms"].as_f64().unwrap_or(0.0),
        report["raw_cri_burst"]["p99_ms"].as_f64().unwrap_or(0.0),
    );
    println!(
        "  steady {rate}/s create→Running:   p50 {:.0} ms  p99 {:.0} ms  ({s_n}/{steady} running)",
        report["steady"]["p50_ms"].as_f64().unwrap_or(0.0),
        report["steady"]["p99_ms"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  burst of {burst} create→Running:  p50 {:.0} ms  p99 {:.0} ms  ({b_n}/{burst} running, all in {burst_total:.1} s)",
        report["burst"]["p50_ms"].as_f64().unwrap_or(0.0),
        report["burst"]["p99_ms"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  kubelet with {running} pods: RSS {:.1} MiB, CPU {:.1}% of one core (10 s, steady state)",
        report["kubelet"]["rss_mib"].as_f64().unwrap_or(0.0),
        report["kubelet"]["cpu_percent_idle"]
            .as_f64()
            .unwrap_or(0.0)
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench-results");
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join(format!(
        "pod_startup-{}.json",
        chrono::Utc::now().format("%Y%m%dT%H%M%S")
    ));
    let _ = std::fs::write(
        &file,
        serde_json::to_string_pretty(&report).unwrap_or_default(),
    );
    println!("  written to {}", file.display());

    let _ = kubelet.kill();
    let _ = kubelet.wait();
    drop(server);
    drop(cd);
}
