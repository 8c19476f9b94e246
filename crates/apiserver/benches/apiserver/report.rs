//! Printing the tables and writing the JSON record.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::args::Args;
use crate::fanout::{FanoutResult, Spread};
use crate::stats::{Latencies, ms, round2};
use crate::writes::Point;

/// Which path a write row measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WritePath {
    EtcdPut,
    EtcdTxn,
    ApiEtcd,
    ApiEmbedded,
}

impl WritePath {
    pub fn key(self) -> &'static str {
        match self {
            WritePath::EtcdPut => "raw-etcd-put",
            WritePath::EtcdTxn => "raw-etcd-txn-create",
            WritePath::ApiEtcd => "apiserver-etcd",
            WritePath::ApiEmbedded => "apiserver-embedded",
        }
    }

    fn label(self) -> &'static str {
        match self {
            WritePath::EtcdPut => "raw etcd put",
            WritePath::EtcdTxn => "raw etcd txn create",
            WritePath::ApiEtcd => "apiserver on etcd",
            WritePath::ApiEmbedded => "apiserver on embedded",
        }
    }
}

pub struct WriteRow {
    pub path: WritePath,
    pub point: Point,
}

/// Sizes of the pod as sent, stored and returned.
#[derive(Clone, Copy, Debug, Default)]
pub struct PodSizes {
    pub post: usize,
    pub stored: usize,
    pub response: usize,
}

/// Targets from shared/BENCHMARKS.md.
const TARGET_RATIO: f64 = 0.5;
const TARGET_P99_MS: f64 = 50.0;
const TARGET_CLIENTS: usize = 64;

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISS" }
}

pub fn machine() -> (usize, String) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    (cores, model)
}

pub fn print_header(args: &Args) {
    let (cores, model) = machine();
    println!(
        "oxkube apiserver benchmark: {cores} cores ({model}){}",
        if args.quick { ", QUICK run" } else { "" }
    );
    println!(
        "  Everything below ran in this one process run, side by side, so ratios hold when the machine's speed drifts."
    );
    println!(
        "  The load generator (threads `bench-client`) and the apiserver (threads `apiserver-rt`) share this process"
    );
    println!(
        "  on separate tokio runtimes; etcd is a child process. All of them share the {cores} cores."
    );
    println!("  etcd: {} ({})", etcd_version(args), args.etcd.display());
    println!();
}

/// `etcd --version`'s first line, e.g. `etcd Version: 3.4.23`.
pub fn etcd_version(args: &Args) -> String {
    std::process::Command::new(&args.etcd)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "not found".into())
}

pub fn print_writes(rows: &[WriteRow], sizes: PodSizes, args: &Args) {
    println!(
        "== writes: closed loop, {} s measured per point after {} ms warm-up ==",
        args.duration.as_secs_f64(),
        args.warmup.as_millis()
    );
    println!(
        "  ops/s   requests finished per second; each client sends its next request when the last one answered"
    );
    println!(
        "  vs raw  ops/s as a share of raw etcd puts at the same number of clients (target >= 50%)"
    );
    println!(
        "  p50/p99 per-request latency seen by the client; CPU = cores busy during the window (of the machine's)"
    );
    println!(
        "  pod: POST body {} B; stored value {} B (raw etcd rows put exactly these bytes); 201 response {} B",
        sizes.post, sizes.stored, sizes.response
    );
    println!(
        "  {:>7}  {:<22} {:>8} {:>7} {:>8} {:>8} {:>8} {:>6}  CPU cores",
        "clients", "path", "ops/s", "vs raw", "p50 ms", "p99 ms", "max ms", "errors"
    );
    for row in rows {
        let p = &row.point;
        let raw = baseline(rows, p.clients);
        let vs = match (row.path, raw) {
            (WritePath::EtcdPut, _) | (_, None) => "-".to_string(),
            (_, Some(raw)) => format!("{:.0}%", 100.0 * p.ops_per_sec / raw),
        };
        println!(
            "  {:>7}  {:<22} {:>8.0} {:>7} {:>8.2} {:>8.2} {:>8.1} {:>6}  {}",
            p.clients,
            row.path.label(),
            p.ops_per_sec,
            vs,
            ms(p.latency.quantile(0.5)),
            ms(p.latency.quantile(0.99)),
            ms(p.latency.max()),
            p.errors,
            p.cpu.short()
        );
        if let Some(e) = &p.first_error {
            println!("           first error: {e}");
        }
    }
    if let Some(api) = find(rows, WritePath::ApiEtcd, TARGET_CLIENTS) {
        let p99 = ms(api.latency.quantile(0.99));
        print!(
            "  target at {TARGET_CLIENTS} clients: apiserver on etcd p99 {p99:.1} ms (<= {TARGET_P99_MS} ms: {})",
            verdict(p99 <= TARGET_P99_MS)
        );
        if let Some(raw) = baseline(rows, TARGET_CLIENTS) {
            let ratio = api.ops_per_sec / raw;
            print!(
                "; ops/s {:.0}% of raw etcd puts (>= {:.0}%: {})",
                100.0 * ratio,
                100.0 * TARGET_RATIO,
                verdict(ratio >= TARGET_RATIO)
            );
        }
        println!();
        // A correct create must be a create-if-absent transaction (upstream
        // sends the same); how close the apiserver gets to etcd doing only that.
        if let (Some(txn), Some(raw)) = (
            find(rows, WritePath::EtcdTxn, TARGET_CLIENTS),
            baseline(rows, TARGET_CLIENTS),
        ) {
            println!(
                "  for scale: raw etcd create-if-absent txns reach {:.0}% of raw puts here; the apiserver on etcd reaches {:.0}% of those txns",
                100.0 * txn.ops_per_sec / raw,
                100.0 * api.ops_per_sec / txn.ops_per_sec.max(1.0)
            );
        }
    }
    println!();
}

fn find(rows: &[WriteRow], path: WritePath, clients: usize) -> Option<&Point> {
    rows.iter()
        .find(|r| r.path == path && r.point.clients == clients)
        .map(|r| &r.point)
}

fn baseline(rows: &[WriteRow], clients: usize) -> Option<f64> {
    find(rows, WritePath::EtcdPut, clients)
        .map(|p| p.ops_per_sec)
        .filter(|ops| *ops > 0.0)
}

fn ms_or_dash(d: Option<Duration>) -> String {
    d.map_or_else(|| "not all".into(), |d| format!("{:.1} ms", ms(d)))
}

pub fn print_fanout(results: &[FanoutResult], args: &Args) {
    for spread in [Spread::All, Spread::PerNode] {
        let these: Vec<&FanoutResult> = results.iter().filter(|r| r.spread == spread).collect();
        print_fanout_table(&these, spread, args);
    }
}

fn print_fanout_table(results: &[&FanoutResult], spread: Spread, args: &Args) {
    if results.is_empty() {
        return;
    }
    match spread {
        Spread::All => println!(
            "== watch fan-out: {} watch connections on one namespace, a writer creating {} pods/s for {} s ==",
            args.watchers, args.rate, args.events_secs
        ),
        Spread::PerNode => {
            println!(
                "== watch fan-out per node: {} watch connections, each on one node's pods (fieldSelector=spec.nodeName),",
                args.watchers
            );
            println!(
                "   a writer creating {} pods/s for {} s, bound to the nodes in turn: each event is for one watcher ==",
                args.rate, args.events_secs
            );
        }
    }
    println!(
        "  commit->delivery: from the writer's POST returning 201 to a watcher having read the event's line"
    );
    println!(
        "  send->delivery:   from the writer stamping the pod (just before the POST) to the same moment"
    );
    println!(
        "  baseline:         the same lines, connections and rate from a bare TCP server with no apiserver"
    );
    println!(
        "                    (commit = the line handed to its broadcast): what these bytes cost on this machine"
    );
    let mut table: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |name: &str, f: &dyn Fn(&FanoutResult) -> String| {
        table.push((name.to_string(), results.iter().map(|r| f(r)).collect()));
    };
    let lat = |l: &Latencies, q: f64| format!("{:.2} ms", ms(l.quantile(q)));
    row("backend", &|r| r.backend.to_string());
    row("pods written / planned", &|r| {
        format!("{} / {}", r.events_written, r.events_planned)
    });
    row("write rate achieved", &|r| format!("{:.0}/s", r.write_rate));
    row("write errors", &|r| r.write_errors.to_string());
    row("POST p50 / p99", &|r| {
        format!(
            "{:.2} / {:.2} ms",
            ms(r.post_latency.quantile(0.5)),
            ms(r.post_latency.quantile(0.99))
        )
    });
    row("commit->delivery p50", &|r| lat(&r.commit_delay, 0.5));
    row("commit->delivery p99 (<= 50 ms)", &|r| {
        let p99 = ms(r.commit_delay.quantile(0.99));
        format!(
            "{p99:.2} ms {}",
            verdict(p99 <= TARGET_P99_MS && r.missing == 0 && r.misrouted == 0)
        )
    });
    row("commit->delivery max", &|r| {
        format!("{:.1} ms", ms(r.commit_delay.max()))
    });
    row("send->delivery p50 / p99", &|r| {
        format!(
            "{:.2} / {:.2} ms",
            ms(r.send_delay.quantile(0.5)),
            ms(r.send_delay.quantile(0.99))
        )
    });
    row("delivered / expected", &|r| {
        format!("{} / {}", r.delivered, r.expected)
    });
    row("missing (watchers short)", &|r| {
        format!("{} ({})", r.missing, r.watchers_missing)
    });
    row("seen before the POST returned", &|r| {
        r.before_commit.to_string()
    });
    row("duplicates / misrouted / ended", &|r| {
        format!("{} / {} / {}", r.duplicates, r.misrouted, r.ended)
    });
    row("all delivered, after last commit", &|r| ms_or_dash(r.drain));
    row("client watches (apiserver metric)", &|r| {
        r.server_watches.map_or("n/a".into(), |w| format!("{w:.0}"))
    });
    row(
        "etcd watchers before -> during",
        &|r| match r.storage_watches {
            Some((b, d)) => format!("{b:.0} -> {d:.0} ({:+.0})", d - b),
            None => "n/a (no etcd)".into(),
        },
    );
    row("CPU cores while writing", &|r| r.cpu.short());
    let width = table.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, cells) in &table {
        let cells: Vec<String> = cells.iter().map(|c| format!("{c:<36}")).collect();
        println!("  {name:<width$}  {}", cells.join(" ").trim_end());
    }
    for r in results.iter() {
        if let Some(e) = &r.first_write_error {
            println!("  {}: first write error: {e}", r.backend);
        }
        if let Some(e) = &r.first_end {
            println!("  {}: first watch that ended: {e}", r.backend);
        }
    }
    println!();
}

fn latency_json(l: &Latencies) -> Value {
    json!({
        "samples": l.len(),
        "p50_ms": round3(ms(l.quantile(0.5))),
        "p90_ms": round3(ms(l.quantile(0.9))),
        "p99_ms": round3(ms(l.quantile(0.99))),
        "max_ms": round3(ms(l.max())),
        "mean_ms": round3(ms(l.mean())),
    })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub fn to_json(
    args: &Args,
    sizes: Option<PodSizes>,
    rows: &[WriteRow],
    fanout: &[FanoutResult],
    unix_time: u64,
) -> Value {
    let (cores, model) = machine();
    let writes: Vec<Value> = rows
        .iter()
        .map(|r| {
            let p = &r.point;
            json!({
                "path": r.path.key(),
                "clients": p.clients,
                "ops_per_sec": round2(p.ops_per_sec),
                "vs_raw_etcd_put": baseline(rows, p.clients).map(|raw| round3(p.ops_per_sec / raw)),
                "latency": latency_json(&p.latency),
                "errors": p.errors,
                "cpu_cores": p.cpu.to_json(),
            })
        })
        .collect();
    let watch: Vec<Value> = fanout
        .iter()
        .map(|r| {
            json!({
                "backend": r.backend,
                "spread": r.spread.key(),
                "watchers": r.watchers,
                "events_planned": r.events_planned,
                "events_written": r.events_written,
                "write_errors": r.write_errors,
                "write_rate": round2(r.write_rate),
                "post_latency": latency_json(&r.post_latency),
                "commit_to_delivery": latency_json(&r.commit_delay),
                "send_to_delivery": latency_json(&r.send_delay),
                "delivered": r.delivered,
                "expected": r.expected,
                "missing": r.missing,
                "watchers_missing": r.watchers_missing,
                "duplicates": r.duplicates,
                "misrouted": r.misrouted,
                "delivered_before_post_returned": r.before_commit,
                "watches_ended": r.ended,
                "drain_ms": r.drain.map(|d| round3(ms(d))),
                "apiserver_longrunning_watches": r.server_watches,
                "etcd_watchers_before": r.storage_watches.map(|s| s.0),
                "etcd_watchers_during": r.storage_watches.map(|s| s.1),
                "cpu_cores": r.cpu.to_json(),
            })
        })
        .collect();
    json!({
        "benchmark": "apiserver",
        "unix_time": unix_time,
        "git_commit": git_commit(),
        "machine": { "cores": cores, "cpu": model },
        "etcd": etcd_version(args),
        "quick": args.quick,
        "config": {
            "clients": args.clients,
            "duration_s": args.duration.as_secs_f64(),
            "warmup_s": args.warmup.as_secs_f64(),
            "watchers": args.watchers,
            "watch_rate": args.rate,
            "watch_seconds": args.events_secs,
        },
        "pod_bytes": sizes.map(|s| json!({ "post": s.post, "stored": s.stored, "response": s.response })),
        "targets": { "ratio_vs_raw_etcd_put": TARGET_RATIO, "p99_ms": TARGET_P99_MS, "at_clients": TARGET_CLIENTS },
        "writes": writes,
        "watch": watch,
    })
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(workspace_root())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub fn workspace_root() -> PathBuf {
    // crates/apiserver -> the workspace root.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Writes `bench-results/apiserver-<unix>.json` and `apiserver-latest.json`.
pub fn write_json(record: &Value, unix_time: u64) -> Result<PathBuf> {
    let dir = workspace_root().join("bench-results");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let text = serde_json::to_string_pretty(record)? + "\n";
    let path = dir.join(format!("apiserver-{unix_time}.json"));
    std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    std::fs::write(dir.join("apiserver-latest.json"), &text)?;
    Ok(path.canonicalize().unwrap_or(path))
}
