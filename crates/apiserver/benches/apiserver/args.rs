//! Command-line options. Hand-parsed: `cargo bench` passes `--bench` to
//! every `harness = false` target, and a handful of flags does not need clap.

use std::time::Duration;

use anyhow::{Context, Result, bail};

pub const USAGE: &str = "\
apiserver benchmark: pod creates vs raw etcd puts, the embedded store, watch fan-out

usage: cargo bench -p apiserver --bench apiserver -- [options]

  --quick                 short run (2 s per write point, 3 s of watch events)
  --sections LIST         comma-separated, default all:
                            writes          raw etcd puts and pod creates on etcd
                            embedded        pod creates on the embedded SQLite store
                            watch           1,000 watchers on the etcd-backed apiserver
                            watch-embedded  the same on the embedded store
                            watch-baseline  the same lines to as many connections from a
                                            bare TCP server (no apiserver): the floor
                            watch-nodes, watch-nodes-embedded, watch-nodes-baseline
                                            the same three with each watcher on one
                                            node's pods (fieldSelector=spec.nodeName),
                                            as kubelets watch
  --clients LIST          write concurrencies (default 1,16,64)
  --duration SECS         measured time per write point (default 5, quick 2)
  --no-etcd-txn           skip measuring raw etcd create-if-absent transactions
                          (what the apiserver actually sends; measured by default)
  --watchers N            watch connections (default 1000)
  --rate N                pod creates per second during the watch test (default 500)
  --events-secs SECS      how long the watch writer runs (default 10, quick 3)
  --etcd PATH             the etcd binary to measure against (default: `etcd` on PATH,
                          Debian 12's 3.4); e2e/fetch-etcd.sh fetches Debian 13's 3.5
  --no-json               do not write bench-results/
";

/// The benchmark's configuration.
#[derive(Clone, Debug)]
pub struct Args {
    pub quick: bool,
    pub writes: bool,
    pub embedded: bool,
    pub watch: bool,
    pub watch_embedded: bool,
    pub watch_baseline: bool,
    /// The three fan-out sections again with each watcher on one node.
    pub watch_nodes: bool,
    pub watch_nodes_embedded: bool,
    pub watch_nodes_baseline: bool,
    pub clients: Vec<usize>,
    pub duration: Duration,
    /// Requests finished before this much of each point are not counted
    /// (connections and caches settle).
    pub warmup: Duration,
    pub etcd_txn: bool,
    pub watchers: usize,
    pub rate: u64,
    pub events_secs: u64,
    pub json: bool,
    pub etcd: std::path::PathBuf,
}

impl Args {
    pub fn parse() -> Result<Args> {
        Self::from_iter(std::env::args().skip(1))
    }

    fn from_iter(argv: impl Iterator<Item = String>) -> Result<Args> {
        let argv: Vec<String> = argv.collect();
        let quick = argv.iter().any(|a| a == "--quick");
        let mut args = Args {
            quick,
            writes: true,
            embedded: true,
            watch: true,
            watch_embedded: true,
            watch_baseline: true,
            watch_nodes: true,
            watch_nodes_embedded: true,
            watch_nodes_baseline: true,
            clients: vec![1, 16, 64],
            duration: Duration::from_secs(if quick { 2 } else { 5 }),
            warmup: Duration::from_millis(if quick { 300 } else { 500 }),
            etcd_txn: true,
            watchers: 1000,
            rate: 500,
            events_secs: if quick { 3 } else { 10 },
            json: true,
            etcd: "etcd".into(),
        };
        let mut it = argv.into_iter();
        while let Some(flag) = it.next() {
            let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--quick" => {}
                // Passed by `cargo bench` itself.
                "--bench" => {}
                "--etcd-txn" => args.etcd_txn = true,
                "--no-etcd-txn" => args.etcd_txn = false,
                "--no-json" => args.json = false,
                "--etcd" => args.etcd = value()?.into(),
                "--sections" => {
                    let list = value()?;
                    args.writes = false;
                    args.embedded = false;
                    args.watch = false;
                    args.watch_embedded = false;
                    args.watch_baseline = false;
                    args.watch_nodes = false;
                    args.watch_nodes_embedded = false;
                    args.watch_nodes_baseline = false;
                    for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        match s {
                            "writes" => args.writes = true,
                            "embedded" => args.embedded = true,
                            "watch" => args.watch = true,
                            "watch-embedded" => args.watch_embedded = true,
                            "watch-baseline" => args.watch_baseline = true,
                            "watch-nodes" => args.watch_nodes = true,
                            "watch-nodes-embedded" => args.watch_nodes_embedded = true,
                            "watch-nodes-baseline" => args.watch_nodes_baseline = true,
                            other => bail!("unknown section {other:?}\n\n{USAGE}"),
                        }
                    }
                }
                "--clients" => {
                    args.clients = value()?
                        .split(',')
                        .map(|c| c.trim().parse::<usize>())
                        .collect::<Result<_, _>>()
                        .context("--clients takes numbers like 1,16,64")?;
                    if args.clients.contains(&0) {
                        bail!("--clients: 0 clients measure nothing");
                    }
                }
                "--duration" => {
                    args.duration = Duration::from_secs_f64(
                        value()?.parse().context("--duration takes seconds")?,
                    )
                }
                "--watchers" => args.watchers = value()?.parse().context("--watchers")?,
                "--rate" => args.rate = value()?.parse().context("--rate")?,
                "--events-secs" => args.events_secs = value()?.parse().context("--events-secs")?,
                "-h" | "--help" => {
                    print!("{USAGE}");
                    std::process::exit(0);
                }
                other => bail!("unknown option {other:?}\n\n{USAGE}"),
            }
        }
        if args.rate == 0 || args.events_secs == 0 {
            bail!("--rate and --events-secs must be positive");
        }
        Ok(args)
    }
}
