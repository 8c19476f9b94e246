//! Percentiles, and where the CPU went.
//!
//! CPU is read from `/proc` per thread and grouped by thread name: the load
//! generator's runtime threads are `bench-client`, the apiserver's are
//! `apiserver-rt` (plus the embedded store's `sqlite-writer`), and etcd is
//! our child process. On a 2-core machine this tells at a glance whether
//! the load generator or etcd, rather than the apiserver, was the limit.

use std::collections::BTreeMap;
use std::time::Duration;

/// Latency samples in nanoseconds, sorted.
#[derive(Debug, Default)]
pub struct Latencies {
    sorted: Vec<u64>,
}

impl Latencies {
    pub fn new(mut samples: Vec<u64>) -> Latencies {
        samples.sort_unstable();
        Latencies { sorted: samples }
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// The `q` quantile (0.0..=1.0), nearest-rank; zero without samples.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((q * self.sorted.len() as f64).ceil() as usize).clamp(1, self.sorted.len());
        Duration::from_nanos(self.sorted[rank - 1])
    }

    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.sorted.last().copied().unwrap_or(0))
    }

    pub fn mean(&self) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let sum: u128 = self.sorted.iter().map(|&n| u128::from(n)).sum();
        Duration::from_nanos((sum / self.sorted.len() as u128) as u64)
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Clock ticks per second of `/proc/*/stat` times (`USER_HZ`, 100 on every
/// Linux architecture we run on).
const TICKS_PER_SEC: f64 = 100.0;

/// Who used the CPU.
pub const GROUPS: [&str; 4] = ["client", "apiserver", "etcd", "other"];

/// CPU time used so far, in ticks, per group.
#[derive(Clone, Debug, Default)]
pub struct CpuSnapshot {
    ticks: BTreeMap<&'static str, u64>,
}

/// CPU used over an interval, in cores (1.0 = one core busy all the time).
#[derive(Clone, Debug, Default)]
pub struct CpuUse {
    pub cores: BTreeMap<&'static str, f64>,
}

impl CpuUse {
    pub fn get(&self, group: &str) -> f64 {
        self.cores.get(group).copied().unwrap_or(0.0)
    }

    /// `client 0.4  apiserver 1.1  etcd 0.3`
    pub fn short(&self) -> String {
        GROUPS
            .iter()
            .filter(|g| **g != "other" || self.get(g) >= 0.05)
            .map(|g| format!("{g} {:.2}", self.get(g)))
            .collect::<Vec<_>>()
            .join("  ")
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            GROUPS
                .iter()
                .map(|g| ((*g).to_string(), serde_json::json!(round2(self.get(g)))))
                .collect(),
        )
    }
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl CpuSnapshot {
    /// Reads our threads and the etcd child (if `etcd_pid`).
    pub fn take(etcd_pid: Option<u32>) -> CpuSnapshot {
        let mut ticks = BTreeMap::new();
        if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
            for task in tasks.flatten() {
                let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                    continue;
                };
                let Some((comm, fields)) = parse_stat(&stat) else {
                    continue;
                };
                let group = match comm {
                    "bench-client" => "client",
                    "apiserver-rt" | "sqlite-writer" | "etcd-client" => "apiserver",
                    _ => "other",
                };
                *ticks.entry(group).or_insert(0) += cpu_ticks(&fields);
            }
        }
        if let Some(pid) = etcd_pid
            && let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            && let Some((_, fields)) = parse_stat(&stat)
        {
            ticks.insert("etcd", cpu_ticks(&fields));
        }
        CpuSnapshot { ticks }
    }

    pub fn since(&self, earlier: &CpuSnapshot, wall: Duration) -> CpuUse {
        let secs = wall.as_secs_f64().max(1e-9);
        let cores = GROUPS
            .iter()
            .map(|g| {
                let now = self.ticks.get(g).copied().unwrap_or(0);
                let before = earlier.ticks.get(g).copied().unwrap_or(0);
                // Threads that exited in between take their ticks with them.
                let used = now.saturating_sub(before) as f64 / TICKS_PER_SEC;
                (*g, used / secs)
            })
            .collect();
        CpuUse { cores }
    }
}

/// `(comm, fields after comm)` of a `/proc/.../stat` line.
fn parse_stat(stat: &str) -> Option<(&str, Vec<&str>)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    let fields = stat.get(close + 1..)?.split_whitespace().collect();
    Some((comm, fields))
}

/// utime + stime (fields 14 and 15; index 0 here is field 3, `state`).
fn cpu_ticks(fields: &[&str]) -> u64 {
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(11) + get(12)
}

/// The pid of our child process named `name` (etcd), if any.
pub fn child_pid(name: &str) -> Option<u32> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let (comm, fields) = parse_stat(&stat)?;
            (comm == name && fields.get(1) == Some(&me.as_str())).then_some(pid)
        })
}
