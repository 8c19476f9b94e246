//! Watch fan-out: many client watches, a writer creating pods at a steady
//! rate, and how long each event takes to reach each watcher.
//!
//! Two spreads: every watcher on the whole namespace (each event goes to
//! all of them), or each watcher on one node's pods, as kubelets watch
//! (`fieldSelector=spec.nodeName=...`; the pods are created bound to the
//! nodes in turn, so each event goes to one watcher and the apiserver must
//! find it among all of them).
//!
//! "Commit" is when the writer's POST returned 201 (the write is durable in
//! storage by then); "delivery" is when a watcher has read the event's line
//! off its connection. Each pod also carries the writer's wall-clock time in
//! the `bench/created-unix-nanos` annotation, as a client would see it; the
//! delays are computed from the writer's own records (one monotonic clock,
//! no parsing in the watchers' hot loop).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::{Buf, Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::client::{Conn, get_text, metric_sum};
use crate::pod::{PodTemplate, unix_nanos};
use crate::rawfanout::{LineTemplate, Publisher};
use crate::stats::{CpuSnapshot, CpuUse, Latencies};

/// Pod names are `fo-<index>`; watchers find the index with this needle.
const NAME_NEEDLE: &[u8] = b"\"name\":\"fo-";
const NAME_DIGITS: usize = 7;
/// Writer connections: enough to hold the rate while POSTs take up to
/// `WRITERS / rate` seconds (128 ms at 500/s).
const WRITERS: usize = 64;
/// Watches opened at once.
const OPEN_PARALLEL: usize = 64;

/// Who is to receive each event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spread {
    /// Every watcher watches the whole namespace.
    All,
    /// Watcher `w` watches the pods bound to node `w`; pod `i` is bound
    /// to node `i % watchers`.
    PerNode,
}

impl Spread {
    pub fn key(self) -> &'static str {
        match self {
            Spread::All => "all",
            Spread::PerNode => "per-node",
        }
    }

    /// The node pod `event` is bound to, if pods are bound.
    pub fn node_of(self, event: usize, watchers: usize) -> Option<String> {
        match self {
            Spread::All => None,
            Spread::PerNode => Some(node_name(event % watchers.max(1))),
        }
    }

    /// Whether watcher `w` is to receive event `event`.
    fn wants(self, w: usize, event: usize, watchers: usize) -> bool {
        match self {
            Spread::All => true,
            Spread::PerNode => event % watchers.max(1) == w,
        }
    }
}

pub fn node_name(index: usize) -> String {
    format!("fo-node-{index:04}")
}

/// Where the server under test is.
pub struct Target<'a> {
    pub backend: &'static str,
    pub spread: Spread,
    /// Where watchers connect (and, for the apiserver, the writer).
    pub api: SocketAddr,
    pub writes: Writes<'a>,
    /// etcd's client URL when the apiserver runs on etcd: its `/metrics`
    /// counts storage watches.
    pub etcd_url: Option<&'a str>,
    pub etcd_pid: Option<u32>,
}

/// How events come to be.
pub enum Writes<'a> {
    /// Pod creates through the apiserver at `api`.
    Apiserver,
    /// Lines published on the baseline server (no apiserver, no storage):
    /// "commit" is the moment the line is handed to the broadcast.
    Raw {
        publisher: &'a Publisher,
        template: &'a LineTemplate,
    },
}

/// The figures of one fan-out run.
#[derive(Debug)]
pub struct FanoutResult {
    pub backend: &'static str,
    pub spread: Spread,
    pub watchers: usize,
    pub events_planned: usize,
    pub events_written: usize,
    pub write_errors: usize,
    pub first_write_error: Option<String>,
    pub write_rate: f64,
    pub post_latency: Latencies,
    /// POST returned → watcher read the line.
    pub commit_delay: Latencies,
    /// Writer about to send the POST → watcher read the line.
    pub send_delay: Latencies,
    pub delivered: u64,
    pub expected: u64,
    pub missing: u64,
    /// Watchers missing at least one event.
    pub watchers_missing: usize,
    pub duplicates: u64,
    /// Events a watcher received that were not for it (its selector
    /// should have kept them away).
    pub misrouted: u64,
    /// Delivered before the writer saw its POST return (counted as 0 delay).
    pub before_commit: u64,
    /// Watches the server closed or that failed (with the first reason).
    pub ended: usize,
    pub first_end: Option<String>,
    /// From the last commit until every watcher had every event.
    pub drain: Option<Duration>,
    /// `apiserver_longrunning_requests{verb="WATCH",resource="pods"}` with
    /// every watcher open.
    pub server_watches: Option<f64>,
    /// etcd's `etcd_debugging_mvcc_watcher_total` before opening the
    /// client watches and with all of them open.
    pub storage_watches: Option<(f64, f64)>,
    pub cpu: CpuUse,
}

/// What one watcher saw.
struct WatchLog {
    /// Per event index: when the line was read (ns since `origin`), 0 = never.
    received: Vec<u64>,
    duplicates: u64,
    ended: Option<String>,
}

pub async fn run(
    target: Target<'_>,
    watchers: usize,
    rate: u64,
    seconds: u64,
) -> Result<FanoutResult> {
    let events = (rate * seconds) as usize;
    let spread = target.spread;
    let namespace = match spread {
        Spread::All => format!("bench-fanout-{}", target.backend),
        Spread::PerNode => format!("bench-nodes-{}", target.backend),
    };
    let (path, storage_before, etcd_metrics) = match target.writes {
        Writes::Apiserver => {
            let rv = create_namespace(target.api, &namespace).await?;
            let etcd_metrics = target.etcd_url.map(|u| format!("{u}/metrics"));
            let storage_before = match &etcd_metrics {
                Some(url) => metric_sum(
                    &get_text(url).await?,
                    "etcd_debugging_mvcc_watcher_total",
                    &[],
                ),
                None => None,
            };
            let path =
                format!("/api/v1/namespaces/{namespace}/pods?watch=true&resourceVersion={rv}");
            (path, storage_before, etcd_metrics)
        }
        Writes::Raw { .. } => ("/watch".to_string(), None, None),
    };
    // Watcher w's request.
    let watch_path = |w: usize| match (spread, &target.writes) {
        (Spread::All, _) => path.clone(),
        (Spread::PerNode, Writes::Apiserver) => {
            format!("{path}&fieldSelector=spec.nodeName%3D{}", node_name(w))
        }
        (Spread::PerNode, Writes::Raw { .. }) => format!("{path}?node={}", node_name(w)),
    };

    let origin = Instant::now();
    let (stop_tx, stop_rx) = watch::channel(false);
    let delivered = Arc::new(AtomicU64::new(0));
    let api = target.api;
    let readers: Vec<(usize, _)> = futures::stream::iter(0..watchers)
        .map(|w| {
            let (path, stop, delivered) = (watch_path(w), stop_rx.clone(), delivered.clone());
            async move {
                let mut conn = Conn::connect(api).await?;
                let (status, body) = conn.open(Method::GET, &path, Bytes::new()).await?;
                if status != StatusCode::OK {
                    bail!("watch: {status}");
                }
                // The response headers come after the server subscribed the
                // watch, so from here on no event can be missed.
                let reader = tokio::spawn(read_watch(conn, body, events, origin, stop, delivered));
                Ok((w, reader))
            }
        })
        .buffer_unordered(OPEN_PARALLEL)
        .try_collect()
        .await?;

    let server_watches = match target.writes {
        Writes::Apiserver => metric_sum(
            &get_text(&format!("http://{}/metrics", target.api)).await?,
            "apiserver_longrunning_requests",
            &["verb=\"WATCH\"", "resource=\"pods\""],
        ),
        Writes::Raw { .. } => None,
    };
    let storage_watches = match (&etcd_metrics, storage_before) {
        (Some(url), Some(before)) => metric_sum(
            &get_text(url).await?,
            "etcd_debugging_mvcc_watcher_total",
            &[],
        )
        .map(|during| (before, during)),
        _ => None,
    };

    // The writer: event i is due at start + i/rate.
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..events).map(|_| AtomicU64::new(0)).collect());
    let committed: Arc<Vec<AtomicU64>> = Arc::new((0..events).map(|_| AtomicU64::new(0)).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let period = Duration::from_secs(1) / rate as u32;
    let start = Instant::now() + Duration::from_millis(50);
    let cpu_before = CpuSnapshot::take(target.etcd_pid);
    // Every writer shares the queue of events and the records.
    let schedule = || Schedule {
        next: next.clone(),
        events,
        start,
        period,
        origin,
        sent: sent.clone(),
        committed: committed.clone(),
    };
    let writers = match target.writes {
        Writes::Apiserver => {
            // One template per node when pods are bound (pod i to node
            // i % watchers), else one.
            let templates = match spread {
                Spread::All => vec![PodTemplate::new(&namespace)?],
                Spread::PerNode => (0..watchers)
                    .map(|w| PodTemplate::on_node(&namespace, Some(&node_name(w))))
                    .collect::<Result<_>>()?,
            };
            let templates = Arc::new(templates);
            let path = format!("/api/v1/namespaces/{namespace}/pods");
            let mut writers = Vec::with_capacity(WRITERS);
            for _ in 0..WRITERS {
                let conn = Conn::connect(target.api).await?;
                let schedule = schedule();
                writers.push(tokio::spawn(post_pods(
                    conn,
                    path.clone(),
                    templates.clone(),
                    schedule,
                )));
            }
            writers
        }
        Writes::Raw {
            publisher,
            template,
        } => {
            let schedule = schedule();
            // Rendered ahead, so publishing costs what a broadcast costs.
            let rendered: Vec<Bytes> = (0..events).map(|i| template.render(i)).collect();
            let nodes: Vec<Option<String>> =
                (0..events).map(|i| spread.node_of(i, watchers)).collect();
            vec![tokio::spawn(publish_lines(
                publisher.clone(),
                rendered,
                nodes,
                schedule,
            ))]
        }
    };
    let mut post_latency = Vec::with_capacity(events);
    let mut write_errors = Vec::new();
    for w in writers {
        let (l, e) = w.await?;
        post_latency.extend(l);
        write_errors.extend(e);
    }
    let last_commit = committed
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    let written = committed
        .iter()
        .filter(|c| c.load(Ordering::Relaxed) > 0)
        .count();
    let write_window = Duration::from_nanos(last_commit).saturating_sub(start - origin);
    let cpu = CpuSnapshot::take(target.etcd_pid).since(&cpu_before, write_window);

    // Wait (bounded) for every watcher to get every event.
    let expected = match spread {
        Spread::All => (written * watchers) as u64,
        Spread::PerNode => written as u64,
    };
    let drain_deadline = Instant::now() + Duration::from_secs(10);
    let drain = loop {
        if delivered.load(Ordering::Relaxed) >= expected {
            break Some(
                origin
                    .elapsed()
                    .saturating_sub(Duration::from_nanos(last_commit)),
            );
        }
        if Instant::now() >= drain_deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let _ = stop_tx.send(true);

    let mut commit_delay = Vec::with_capacity(expected as usize);
    let mut send_delay = Vec::with_capacity(expected as usize);
    let (mut missing, mut watchers_missing, mut duplicates, mut before_commit) = (0, 0, 0, 0);
    let mut misrouted = 0;
    let (mut ended, mut first_end) = (0, None);
    let mut delivered_total = 0;
    for (w, reader) in readers {
        let log = reader.await?;
        duplicates += log.duplicates;
        if let Some(reason) = log.ended {
            ended += 1;
            first_end.get_or_insert(reason);
        }
        let mut missed_here = 0;
        for (i, &got) in log.received.iter().enumerate() {
            let commit = committed[i].load(Ordering::Relaxed);
            if commit == 0 {
                continue;
            }
            if !spread.wants(w, i, watchers) {
                misrouted += u64::from(got != 0);
                continue;
            }
            if got == 0 {
                missed_here += 1;
                continue;
            }
            delivered_total += 1;
            if got < commit {
                before_commit += 1;
            }
            commit_delay.push(got.saturating_sub(commit));
            send_delay.push(got.saturating_sub(sent[i].load(Ordering::Relaxed)));
        }
        missing += missed_here;
        watchers_missing += usize::from(missed_here > 0);
    }
    Ok(FanoutResult {
        backend: target.backend,
        spread,
        watchers,
        events_planned: events,
        events_written: written,
        write_errors: write_errors.len(),
        first_write_error: write_errors.into_iter().next(),
        write_rate: written as f64 / write_window.as_secs_f64().max(1e-9),
        post_latency: Latencies::new(post_latency),
        commit_delay: Latencies::new(commit_delay),
        send_delay: Latencies::new(send_delay),
        delivered: delivered_total,
        expected,
        missing,
        watchers_missing,
        duplicates,
        misrouted,
        before_commit,
        ended,
        first_end,
        drain,
        server_watches,
        storage_watches,
        cpu,
    })
}

/// Creates the namespace the pods go to; returns the revision to watch from
/// (a fresh list's: no initial events, only new ones).
async fn create_namespace(api: SocketAddr, namespace: &str) -> Result<String> {
    let mut admin = Conn::connect(api).await?;
    let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
    admin
        .create("/api/v1/namespaces", Bytes::from(ns.to_string()))
        .await?;
    let list: serde_json::Value = serde_json::from_slice(
        &admin
            .get_ok(&format!("/api/v1/namespaces/{namespace}/pods"))
            .await?,
    )?;
    Ok(list["metadata"]["resourceVersion"]
        .as_str()
        .context("list without metadata.resourceVersion")?
        .to_string())
}

/// The pod object the baseline sends: one pod created through the
/// apiserver and read back, exactly as its watchers would receive it.
/// Bound to `node` when given.
pub async fn sample_pod(api: SocketAddr, node: Option<&str>) -> Result<LineTemplate> {
    let namespace = match node {
        None => "bench-fanout-sample",
        Some(_) => "bench-nodes-sample",
    };
    create_namespace(api, namespace).await?;
    let name = format!("fo-{:0width$}", 0, width = NAME_DIGITS);
    let mut conn = Conn::connect(api).await?;
    let template = PodTemplate::on_node(namespace, node)?;
    conn.create(
        &format!("/api/v1/namespaces/{namespace}/pods"),
        template.body(&name, unix_nanos()),
    )
    .await?;
    let object = conn
        .get_ok(&format!("/api/v1/namespaces/{namespace}/pods/{name}"))
        .await?;
    LineTemplate::new(&object, &name, NAME_DIGITS)
}

/// Which event a writer sends next, and when each was sent and committed.
struct Schedule {
    next: Arc<AtomicUsize>,
    events: usize,
    start: Instant,
    period: Duration,
    origin: Instant,
    sent: Arc<Vec<AtomicU64>>,
    committed: Arc<Vec<AtomicU64>>,
}

impl Schedule {
    /// The next event's index, once it is due; `None` when all are taken.
    async fn next_due(&self) -> Option<usize> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if i >= self.events {
            return None;
        }
        tokio::time::sleep_until(self.start + self.period * i as u32).await;
        Some(i)
    }
}

/// One writer connection: POSTs events as they fall due.
async fn post_pods(
    mut conn: Conn,
    path: String,
    templates: Arc<Vec<PodTemplate>>,
    s: Schedule,
) -> (Vec<u64>, Vec<String>) {
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    while let Some(i) = s.next_due().await {
        let name = format!("fo-{i:0width$}", width = NAME_DIGITS);
        let Some(template) = templates.get(i % templates.len().max(1)) else {
            errors.push("no pod template".into());
            continue;
        };
        let body = template.body(&name, unix_nanos());
        let began = Instant::now();
        s.sent[i].store(nanos_since(s.origin, began), Ordering::Relaxed);
        match conn.create(&path, body).await {
            Ok(_) => {
                let done = Instant::now();
                s.committed[i].store(nanos_since(s.origin, done), Ordering::Relaxed);
                latencies.push((done - began).as_nanos() as u64);
            }
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    (latencies, errors)
}

/// The baseline's writer: hands each line to the broadcast (or to its
/// node's connection) when it falls due.
async fn publish_lines(
    publisher: Publisher,
    rendered: Vec<Bytes>,
    nodes: Vec<Option<String>>,
    s: Schedule,
) -> (Vec<u64>, Vec<String>) {
    let mut errors = Vec::new();
    while let Some(i) = s.next_due().await {
        let now = nanos_since(s.origin, Instant::now());
        s.sent[i].store(now, Ordering::Relaxed);
        s.committed[i].store(now, Ordering::Relaxed);
        let node = nodes.get(i).and_then(Option::as_deref);
        if !publisher.publish(rendered[i].clone(), node) {
            errors.push("no connection for the line".to_string());
        }
    }
    (Vec::new(), errors)
}

fn nanos_since(origin: Instant, t: Instant) -> u64 {
    // Never 0: 0 means "not recorded".
    ((t - origin).as_nanos() as u64).max(1)
}

/// Reads one watch until told to stop, recording when each event's line
/// was complete. Deliberately cheap: find the newline, find the name near
/// the start of the line, no JSON parsing.
async fn read_watch(
    conn: Conn,
    mut body: Incoming,
    events: usize,
    origin: Instant,
    mut stop: watch::Receiver<bool>,
    delivered: Arc<AtomicU64>,
) -> WatchLog {
    // Keep the connection (and its driver) alive as long as we read.
    let _conn = conn;
    let mut log = WatchLog {
        received: vec![0; events],
        duplicates: 0,
        ended: None,
    };
    let mut pending = BytesMut::new();
    loop {
        let frame = tokio::select! {
            _ = stop.changed() => break,
            frame = body.frame() => frame,
        };
        let data = match frame {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue, // trailers
            },
            Some(Err(e)) => {
                log.ended = Some(format!("watch connection failed: {e}"));
                break;
            }
            None => {
                log.ended = Some("the server ended the watch".into());
                break;
            }
        };
        let now = nanos_since(origin, Instant::now());
        let mut seen = 0;
        if pending.is_empty() {
            // The usual case: the frame holds whole lines.
            let rest = scan_lines(&data, now, &mut log, &mut seen);
            pending.extend_from_slice(&data[data.len() - rest..]);
        } else {
            pending.extend_from_slice(&data);
            let rest = scan_lines(&pending, now, &mut log, &mut seen);
            let consumed = pending.len() - rest;
            pending.advance(consumed);
        }
        if seen > 0 {
            delivered.fetch_add(seen, Ordering::Relaxed);
        }
        if log.ended.is_some() {
            break;
        }
    }
    log
}

/// Handles every complete line in `buf`; returns how many bytes are left
/// over (an incomplete last line).
fn scan_lines(buf: &[u8], now: u64, log: &mut WatchLog, seen: &mut u64) -> usize {
    let mut at = 0;
    while let Some(nl) = memchr::memchr(b'\n', &buf[at..]) {
        let line = &buf[at..at + nl];
        at += nl + 1;
        if !line.starts_with(b"{\"type\":\"ADDED\"") {
            if line.starts_with(b"{\"type\":\"ERROR\"") {
                log.ended = Some(format!(
                    "the server sent an ERROR event: {}",
                    String::from_utf8_lossy(&line[..line.len().min(300)])
                ));
            }
            continue;
        }
        let head = &line[..line.len().min(256)];
        let Some(pos) = memchr::memmem::find(head, NAME_NEEDLE) else {
            continue;
        };
        let digits = &head[(pos + NAME_NEEDLE.len()).min(head.len())..];
        let Some(index) = parse_index(digits) else {
            continue;
        };
        match log.received.get_mut(index) {
            Some(slot) if *slot == 0 => {
                *slot = now;
                *seen += 1;
            }
            Some(_) => log.duplicates += 1,
            None => {}
        }
    }
    buf.len() - at
}

fn parse_index(digits: &[u8]) -> Option<usize> {
    let digits = digits.get(..NAME_DIGITS)?;
    digits.iter().try_fold(0usize, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + usize::from(d - b'0'))
    })
}
