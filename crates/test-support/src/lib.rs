//! # test-support: what oxkube's tests share
//!
//! - [`Etcd`]: starts a real `etcd` (Debian package `etcd-server`) on free
//!   loopback ports in a temporary directory, and stops it when dropped.
//! - [`Containerd`]: a real containerd with the CRI plugin, private to one
//!   test, with the offline test images imported.
//! - [`Registry`]: a read-only OCI registry on loopback serving one image
//!   from an OCI archive (to test pulls through a registry mirror).
//! - [`init_tracing`]: every test logs through `tracing` (`RUST_LOG` works).
//! - [`free_port`]: a loopback port nobody listens on right now.
//! - [`proc_usage`]: CPU time and peak RSS of a process, and
//!   [`for_each_index`]: a load generator's 32 concurrent clients (for
//!   benchmarks).
//!
//! Tests fail loudly when `etcd` is missing: the test command installs it
//! (`e2e/test.sh`); it is never silently skipped.

#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

pub mod containerd;
pub mod registry;
pub use containerd::Containerd;
pub use registry::Registry;

/// Sets up `tracing` output for tests once per process (captured by the test
/// harness; `RUST_LOG=debug` for more).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_test_writer()
        .try_init();
}

/// A loopback TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// A running etcd server, killed (and its data removed) on drop.
pub struct Etcd {
    binary: PathBuf,
    child: Option<Child>,
    data: Option<tempfile::TempDir>,
    client_url: String,
    peer_url: String,
}

impl Etcd {
    /// Starts etcd and waits until it answers.
    ///
    /// The ports are picked free, but another test may take one before
    /// etcd binds it; etcd then exits at once, and it is started again on
    /// new ports (up to 5 times).
    ///
    /// # Panics
    /// When the `etcd` binary is missing or does not come up within 20 s:
    /// tests that need etcd must not pass without it.
    pub async fn start() -> Etcd {
        Self::start_binary(Path::new("etcd")).await
    }

    /// [`Etcd::start`] with another etcd binary (the benchmarks compare
    /// etcd versions).
    ///
    /// # Panics
    /// As [`Etcd::start`].
    pub async fn start_binary(binary: &Path) -> Etcd {
        let mut last = String::new();
        for _ in 0..5 {
            let (client, peer) = (free_port(), free_port());
            let mut etcd = Etcd {
                binary: binary.to_path_buf(),
                child: None,
                data: Some(tempfile::tempdir().expect("tempdir")),
                client_url: format!("http://127.0.0.1:{client}"),
                peer_url: format!("http://127.0.0.1:{peer}"),
            };
            match etcd.spawn().await {
                Ok(()) => return etcd,
                Err(e) => last = e,
            }
        }
        panic!("{last}");
    }

    /// Starts etcd on this data and these ports; waits until it is healthy.
    async fn spawn(&mut self) -> Result<(), String> {
        let dir: PathBuf = self.data.as_ref().expect("data dir").path().join("etcd");
        let child = Command::new(&self.binary)
            .arg("--name=test")
            .arg(format!("--data-dir={}", dir.display()))
            .arg(format!("--listen-client-urls={}", self.client_url))
            .arg(format!("--advertise-client-urls={}", self.client_url))
            .arg(format!("--listen-peer-urls={}", self.peer_url))
            .arg(format!("--initial-advertise-peer-urls={}", self.peer_url))
            .arg(format!("--initial-cluster=test={}", self.peer_url))
            .arg("--log-level=error")
            .arg("--logger=zap")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect(
                "cannot start `etcd`: install the Debian package etcd-server (e2e/test.sh does)",
            );
        let child = self.child.insert(child);
        let addr = self.client_url.trim_start_matches("http://").to_string();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let req = format!("GET /health HTTP/1.0\r\nHost: {addr}\r\n\r\n");
                let mut body = String::new();
                if s.write_all(req.as_bytes()).await.is_ok()
                    && s.read_to_string(&mut body).await.is_ok()
                    && body.contains("\"health\":\"true\"")
                {
                    return Ok(());
                }
            }
            // Exited: most likely a port was taken meanwhile.
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "etcd exited ({status}) before becoming healthy on {addr}"
                ));
            }
            if Instant::now() >= deadline {
                let _ = child.start_kill();
                return Err(format!("etcd did not become healthy on {addr}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `http://127.0.0.1:PORT`, for `--etcd-servers`.
    pub fn url(&self) -> String {
        self.client_url.clone()
    }

    /// Kills etcd and starts it again on the same data and ports (to test
    /// clients riding out an etcd restart).
    pub async fn restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
        if let Err(e) = self.spawn().await {
            panic!("{e}");
        }
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        self.data.take();
    }
}

/// Polls `f` every 100 ms until it returns `Some`, and returns that.
///
/// # Panics
/// After `limit`, naming `what` was awaited.
pub async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    limit: Duration,
    f: impl Fn() -> F,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// CPU seconds (user + system) and peak RSS (KiB) of process `pid`, from
/// `/proc` (zeros if it cannot be read).
pub fn proc_usage(pid: u32) -> (f64, u64) {
    let ticks: f64 = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the ")" of the command name; utime and stime are the
    // 14th and 15th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let cpu = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (cpu / ticks, hwm)
}

/// Runs `f(i)` for every `i` in `0..n` on 32 concurrent tasks, each taking
/// the next index: a load generator's 32 clients.
///
/// # Panics
/// When `f` panics.
pub async fn for_each_index<F, Fut>(n: usize, f: F)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let next = next.clone();
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                f(i).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}
