//! # The apiserver benchmark
//!
//! A program, not a test: `cargo bench -p apiserver --bench apiserver`
//! (`-- --quick` for a short run, `-- --help` for the options). It measures,
//! in one run so that ratios hold on a noisy 2-core machine:
//!
//! 1. **Writes vs raw etcd** (section `writes`): pod creates through the
//!    apiserver on a real etcd, and raw etcd puts of the very bytes the
//!    apiserver stores, at 1, 16 and 64 concurrent clients.
//!    Target (shared/BENCHMARKS.md): apiserver ≥ 50% of raw etcd ops/s, and
//!    p99 ≤ 50 ms at 64 clients.
//! 2. **The embedded store** (section `embedded`): the same pod creates on
//!    the SQLite backend, in the same table.
//! 3. **Watch fan-out** (sections `watch`, `watch-embedded`): 1,000 watch
//!    connections, a writer at 500 pods/s; commit→delivery delay per
//!    (watcher, event), missing events, and proof that the 1,000 client
//!    watches share ONE storage watch (etcd's own watcher count does not move).
//!    Target: p99 ≤ 50 ms.
//! 4. **The fan-out baseline** (section `watch-baseline`): the same lines,
//!    connections and rate from a bare TCP server with no apiserver behind
//!    it (`rawfanout`): what moving these bytes costs on this machine.
//! 5. **Fan-out per node** (sections `watch-nodes`, `watch-nodes-embedded`,
//!    `watch-nodes-baseline`): the same three with each watcher on one
//!    node's pods (`fieldSelector=spec.nodeName=...`), as kubelets watch,
//!    and each pod bound to one of those nodes: every event goes to one
//!    watcher, which the apiserver must pick out of the 1,000.
//!
//! `--etcd PATH` measures another etcd binary (`e2e/fetch-etcd.sh` fetches
//! Debian 13's etcd 3.5; Debian 12, which CI runs, has 3.4).
//!
//! It prints tables and writes one JSON object per run to
//! `bench-results/apiserver-<unix-time>.json` (and `apiserver-latest.json`)
//! at the workspace root.
//!
//! # Layout
//! - `args`: options.
//! - `client`: a one-connection HTTP/1.1 client on `hyper`.
//! - `pod`: the ~1 KiB pod every path writes.
//! - `writes`: the closed-loop load driver and its workers.
//! - `fanout`: the watch fan-out test.
//! - `rawfanout`: the baseline server for it.
//! - `stats`: percentiles and per-thread-group CPU from `/proc`.
//! - `report`: tables and JSON.
//!
//! The apiserver runs in this process on its own tokio runtime (threads
//! `apiserver-rt`, plus `etcd-client` for its etcd connection and
//! `sqlite-writer`), the load generator on another (`bench-client`), so the
//! CPU each uses can be told apart; etcd is a child process.

// A bench target's root is like a `mod.rs`: without `#[path]` these would
// be looked up beside it, where cargo would take them for bench targets.
#[path = "apiserver/args.rs"]
mod args;
#[path = "apiserver/client.rs"]
mod client;
#[path = "apiserver/fanout.rs"]
mod fanout;
#[path = "apiserver/pod.rs"]
mod pod;
#[path = "apiserver/rawfanout.rs"]
mod rawfanout;
#[path = "apiserver/report.rs"]
mod report;
#[path = "apiserver/stats.rs"]
mod stats;
#[path = "apiserver/writes.rs"]
mod writes;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use apiserver::server::{Config, Running};
use bytes::Bytes;
use storage::{EtcdStorage, SqliteStorage, Storage};
use tokio::runtime::Handle;

use args::Args;
use fanout::Spread;
use pod::PodTemplate;
use report::{PodSizes, WritePath, WriteRow};
use writes::{CreatePods, EtcdWrite, EtcdWriter};

/// Pause between measurements: the watch cache is still applying the last
/// point's events for a moment, and etcd may be syncing.
const SETTLE: Duration = Duration::from_millis(700);

/// The same allocator as `kube-apiserver` (its `main.rs`), since the
/// apiserver runs inside this process.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let args = Args::parse()?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .thread_name("bench-client")
        .enable_all()
        .build()?;
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .thread_name("apiserver-rt")
        .enable_all()
        .build()?;
    report::print_header(&args);
    check_fd_limit(&args)?;
    let etcd = (args.writes || args.watch || args.watch_nodes)
        .then(|| client_rt.block_on(test_support::Etcd::start_binary(&args.etcd)));
    let result = client_rt.block_on(run(
        &args,
        server_rt.handle().clone(),
        etcd.as_ref().map(test_support::Etcd::url),
    ));
    // Stop the apiservers' background tasks (watch caches) before etcd, or
    // they log that they lost their storage watches.
    server_rt.shutdown_timeout(Duration::from_secs(2));
    drop(etcd);
    client_rt.shutdown_timeout(Duration::from_secs(2));
    result
}

async fn run(args: &Args, server: Handle, etcd_url: Option<String>) -> Result<()> {
    let unix_time = pod::unix_nanos() / 1_000_000_000;
    // The fan-out baseline takes its sample pod from any apiserver.
    let needs_embedded = args.embedded
        || args.watch_embedded
        || args.watch_nodes_embedded
        || ((args.watch_baseline || args.watch_nodes_baseline) && etcd_url.is_none());
    let etcd_pid = stats::child_pid("etcd");
    let sqlite_dir = tempfile::tempdir()?;
    let api_etcd = match &etcd_url {
        Some(url) => Some(start_apiserver(&server, Backend::Etcd(url.clone())).await?),
        None => None,
    };
    let api_embedded = if needs_embedded {
        Some(start_apiserver(&server, Backend::Embedded(sqlite_dir.path().to_path_buf())).await?)
    } else {
        None
    };

    let mut rows = Vec::new();
    let mut sizes = None;
    if args.writes || args.embedded {
        let template = Arc::new(PodTemplate::new("default")?);
        let etcd_client = match &etcd_url {
            Some(url) => Some(etcd_client::Client::connect([url.as_str()], None).await?),
            None => None,
        };
        let probe_api = api_etcd
            .as_ref()
            .or(api_embedded.as_ref())
            .context("no apiserver")?;
        let (measured, stored) = probe(probe_api, &template, etcd_client.clone()).await?;
        sizes = Some(measured);
        let stored = Arc::new(stored.to_vec());
        for &clients in &args.clients {
            if args.writes
                && let (Some(etcd_client), Some(api)) = (&etcd_client, &api_etcd)
            {
                let workers = EtcdWriter::workers(etcd_client, &stored, EtcdWrite::Put, clients);
                rows.push(measure(args, WritePath::EtcdPut, workers, etcd_pid).await?);
                if args.etcd_txn {
                    let workers =
                        EtcdWriter::workers(etcd_client, &stored, EtcdWrite::TxnCreate, clients);
                    rows.push(measure(args, WritePath::EtcdTxn, workers, etcd_pid).await?);
                }
                let workers =
                    CreatePods::workers(api.addr, &template, "default", "we", clients).await?;
                rows.push(measure(args, WritePath::ApiEtcd, workers, etcd_pid).await?);
            }
            if args.embedded
                && let Some(api) = &api_embedded
            {
                let workers =
                    CreatePods::workers(api.addr, &template, "default", "ws", clients).await?;
                rows.push(measure(args, WritePath::ApiEmbedded, workers, etcd_pid).await?);
            }
        }
        report::print_writes(&rows, measured, args);
    }

    let mut fanouts = Vec::new();
    for (spread, on_etcd, on_embedded, baseline) in [
        (
            Spread::All,
            args.watch,
            args.watch_embedded,
            args.watch_baseline,
        ),
        (
            Spread::PerNode,
            args.watch_nodes,
            args.watch_nodes_embedded,
            args.watch_nodes_baseline,
        ),
    ] {
        let watch_targets = [
            (on_etcd, "etcd", api_etcd.as_ref(), etcd_url.as_deref()),
            (on_embedded, "embedded", api_embedded.as_ref(), None),
        ];
        for (wanted, backend, api, etcd_url) in watch_targets {
            let (true, Some(api)) = (wanted, api) else {
                continue;
            };
            eprintln!(
                "  watch fan-out ({}) on {backend}: {} watchers, {} pods/s for {} s ...",
                spread.key(),
                args.watchers,
                args.rate,
                args.events_secs
            );
            let target = fanout::Target {
                backend,
                spread,
                api: api.addr,
                writes: fanout::Writes::Apiserver,
                etcd_url,
                etcd_pid,
            };
            fanouts.push(fanout::run(target, args.watchers, args.rate, args.events_secs).await?);
            tokio::time::sleep(SETTLE).await;
        }
        if baseline && let Some(api) = api_etcd.as_ref().or(api_embedded.as_ref()) {
            eprintln!(
                "  watch fan-out ({}) baseline (raw TCP, no apiserver): {} connections, {} lines/s for {} s ...",
                spread.key(),
                args.watchers,
                args.rate,
                args.events_secs
            );
            let node = spread.node_of(0, args.watchers);
            let template = fanout::sample_pod(api.addr, node.as_deref()).await?;
            let raw = rawfanout::RawServer::start(&server).await?;
            let target = fanout::Target {
                backend: "baseline",
                spread,
                api: raw.addr,
                writes: fanout::Writes::Raw {
                    publisher: &raw.publisher,
                    template: &template,
                },
                etcd_url: None,
                etcd_pid,
            };
            fanouts.push(fanout::run(target, args.watchers, args.rate, args.events_secs).await?);
        }
    }
    report::print_fanout(&fanouts, args);

    for api in [api_etcd, api_embedded].into_iter().flatten() {
        let _ = server.spawn(api.stop()).await;
    }

    if args.json {
        let record = report::to_json(args, sizes, &rows, &fanouts, unix_time);
        let path = report::write_json(&record, unix_time)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// One measured point, with a progress line on stderr.
async fn measure<W: writes::Worker>(
    args: &Args,
    path: WritePath,
    workers: Vec<W>,
    etcd_pid: Option<u32>,
) -> Result<WriteRow> {
    let clients = workers.len();
    let point = writes::run(workers, args.warmup, args.duration, etcd_pid).await?;
    eprintln!(
        "  {:<20} {clients:>3} clients: {:>7.0} ops/s",
        path.key(),
        point.ops_per_sec
    );
    tokio::time::sleep(SETTLE).await;
    Ok(WriteRow { path, point })
}

enum Backend {
    Etcd(String),
    Embedded(PathBuf),
}

/// Starts an apiserver on `backend`, on the server runtime (so every task
/// it spawns runs on `apiserver-rt`; the etcd client has its own thread).
async fn start_apiserver(server: &Handle, backend: Backend) -> Result<Running> {
    server
        .spawn(async move {
            let storage: Arc<dyn Storage> = match backend {
                Backend::Etcd(url) => Arc::new(EtcdStorage::connect(&[url]).await?),
                Backend::Embedded(dir) => Arc::new(SqliteStorage::open(&dir)?),
            };
            let running =
                apiserver::server::spawn("127.0.0.1:0".parse()?, storage, Config::default())
                    .await?;
            Ok(running)
        })
        .await?
}

/// Creates one pod to learn the sizes, and reads back the exact bytes the
/// apiserver stored (from etcd when there is one) for the raw etcd rows.
async fn probe(
    api: &Running,
    template: &PodTemplate,
    etcd: Option<etcd_client::Client>,
) -> Result<(PodSizes, Bytes)> {
    // Same name width as the measured pods: `we016-03-0000001`.
    let name = "pr000-00-0000000";
    let body = template.body(name, pod::unix_nanos());
    let mut conn = client::Conn::connect(api.addr).await?;
    let response = conn
        .create("/api/v1/namespaces/default/pods", body.clone())
        .await?;
    let stored = match etcd {
        Some(mut etcd) => {
            let got = etcd
                .get(format!("/registry/pods/default/{name}"), None)
                .await?;
            let Some(kv) = got.kvs().first() else {
                bail!("the probe pod is not in etcd under /registry/pods/default/{name}");
            };
            Bytes::copy_from_slice(kv.value())
        }
        None => {
            // Without etcd, the stored form is the response without
            // resourceVersion (see registry/codec.rs).
            let mut v: serde_json::Value = serde_json::from_slice(&response)?;
            if let Some(meta) = v.get_mut("metadata").and_then(|m| m.as_object_mut()) {
                meta.remove("resourceVersion");
            }
            Bytes::from(serde_json::to_vec(&v)?)
        }
    };
    let sizes = PodSizes {
        post: body.len(),
        stored: stored.len(),
        response: response.len(),
    };
    Ok((sizes, stored))
}

/// The watch test holds ~2 sockets per watcher in this process (client and
/// server ends). Fail early with a clear message instead of mid-run.
fn check_fd_limit(args: &Args) -> Result<()> {
    if !(args.watch || args.watch_embedded || args.watch_baseline) {
        return Ok(());
    }
    let needed = 2 * args.watchers + 512;
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<usize>().ok());
    match soft {
        Some(soft) if soft < needed => bail!(
            "the watch test needs about {needed} open files and the limit is {soft}: \
             run `ulimit -n {needed}` (or more) in this shell first, or pass --watchers"
        ),
        _ => Ok(()),
    }
}
