//! Closed-loop write load: `clients` workers, each sending its next request
//! as soon as the previous one answered, for a fixed time.
//!
//! The same driver runs every path (pod creates through the apiserver, raw
//! etcd puts, raw etcd create transactions), so the only difference between
//! two rows of the table is what a request does.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use etcd_client::{Compare, CompareOp, Txn, TxnOp};
use tokio::time::Instant;

use crate::client::Conn;
use crate::pod::{PodTemplate, unix_nanos};
use crate::stats::{CpuSnapshot, CpuUse, Latencies};

/// One simulated client.
pub trait Worker: Send + 'static {
    /// Performs request number `seq` of this worker.
    fn op(&mut self, seq: u64) -> impl Future<Output = Result<()>> + Send;
}

/// Pod creates through the apiserver (`POST /api/v1/namespaces/ns/pods`).
pub struct CreatePods {
    conn: Conn,
    template: Arc<PodTemplate>,
    path: String,
    /// Names are `<prefix>-<seq>`, fixed width so every body has one size.
    prefix: String,
}

impl CreatePods {
    /// `clients` workers on their own connections.
    pub async fn workers(
        api: SocketAddr,
        template: &Arc<PodTemplate>,
        namespace: &str,
        tag: &str,
        clients: usize,
    ) -> Result<Vec<CreatePods>> {
        let mut out = Vec::with_capacity(clients);
        for w in 0..clients {
            out.push(CreatePods {
                conn: Conn::connect(api).await?,
                template: template.clone(),
                path: format!("/api/v1/namespaces/{namespace}/pods"),
                prefix: format!("{tag}{clients:03}-{w:02}"),
            });
        }
        Ok(out)
    }
}

impl Worker for CreatePods {
    async fn op(&mut self, seq: u64) -> Result<()> {
        let name = format!("{}-{seq:07}", self.prefix);
        let body = self.template.body(&name, unix_nanos());
        self.conn.create(&self.path, body).await.map(drop)
    }
}

/// How the raw etcd baseline writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EtcdWrite {
    /// A plain put: the baseline BENCHMARKS.md compares against.
    Put,
    /// Create-if-absent (compare `create_revision == 0`, then put): the
    /// request the apiserver's `Storage::create` sends.
    TxnCreate,
}

/// Raw etcd writes of the stored pod's bytes under unique keys.
pub struct EtcdWriter {
    client: etcd_client::Client,
    value: Arc<Vec<u8>>,
    prefix: String,
    mode: EtcdWrite,
}

impl EtcdWriter {
    /// `clients` workers sharing one gRPC connection, as the apiserver's
    /// storage does.
    pub fn workers(
        client: &etcd_client::Client,
        value: &Arc<Vec<u8>>,
        mode: EtcdWrite,
        clients: usize,
    ) -> Vec<EtcdWriter> {
        let tag = match mode {
            EtcdWrite::Put => "rp",
            EtcdWrite::TxnCreate => "rt",
        };
        (0..clients)
            .map(|w| EtcdWriter {
                client: client.clone(),
                value: value.clone(),
                prefix: format!("/bench/raw-etcd/default/{tag}{clients:03}-{w:02}"),
                mode,
            })
            .collect()
    }
}

impl Worker for EtcdWriter {
    async fn op(&mut self, seq: u64) -> Result<()> {
        let key = format!("{}-{seq:07}", self.prefix);
        // The apiserver copies the value into the request too (`to_vec`).
        let value = self.value.as_ref().clone();
        match self.mode {
            EtcdWrite::Put => {
                self.client.put(key, value, None).await?;
            }
            EtcdWrite::TxnCreate => {
                let txn = Txn::new()
                    .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
                    .and_then([TxnOp::put(key, value, None)]);
                if !self.client.txn(txn).await?.succeeded() {
                    bail!("key already existed");
                }
            }
        }
        Ok(())
    }
}

/// What one (path, clients) point measured.
#[derive(Debug)]
pub struct Point {
    pub clients: usize,
    pub ops_per_sec: f64,
    pub latency: Latencies,
    pub errors: u64,
    pub first_error: Option<String>,
    pub cpu: CpuUse,
}

struct WorkerLog {
    latencies: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

/// Runs `workers` in a closed loop: `warmup` unmeasured, then `duration`
/// measured. A request counts when it finishes inside the measured window.
pub async fn run<W: Worker>(
    workers: Vec<W>,
    warmup: Duration,
    duration: Duration,
    etcd_pid: Option<u32>,
) -> Result<Point> {
    let clients = workers.len();
    // Give every task time to be spawned before the clock starts.
    let start = Instant::now() + Duration::from_millis(20);
    let measure_from = start + warmup;
    let deadline = measure_from + duration;
    let tasks: Vec<_> = workers
        .into_iter()
        .map(|mut w| {
            tokio::spawn(async move {
                let mut log = WorkerLog {
                    latencies: Vec::with_capacity(4096),
                    errors: 0,
                    first_error: None,
                };
                tokio::time::sleep_until(start).await;
                let mut seq = 0;
                loop {
                    let began = Instant::now();
                    if began >= deadline {
                        break;
                    }
                    let result = w.op(seq).await;
                    seq += 1;
                    let ended = Instant::now();
                    match result {
                        Ok(()) if ended >= measure_from && ended <= deadline => {
                            log.latencies.push((ended - began).as_nanos() as u64);
                        }
                        Ok(()) => {}
                        Err(e) => {
                            log.errors += 1;
                            log.first_error.get_or_insert_with(|| format!("{e:#}"));
                            // Don't spin on a dead connection.
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
                log
            })
        })
        .collect();
    tokio::time::sleep_until(measure_from).await;
    let cpu_before = CpuSnapshot::take(etcd_pid);
    tokio::time::sleep_until(deadline).await;
    let cpu = CpuSnapshot::take(etcd_pid).since(&cpu_before, duration);
    let mut latencies = Vec::new();
    let (mut errors, mut first_error) = (0, None);
    for task in tasks {
        let log = task.await?;
        latencies.extend(log.latencies);
        errors += log.errors;
        first_error = first_error.or(log.first_error);
    }
    Ok(Point {
        clients,
        ops_per_sec: latencies.len() as f64 / duration.as_secs_f64(),
        latency: Latencies::new(latencies),
        errors,
        first_error,
        cpu,
    })
}
