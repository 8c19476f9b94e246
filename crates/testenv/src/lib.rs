//! # testenv: an apiserver for component tests
//!
//! Components (scheduler, controllers, kubelet, the node simulator) are
//! tested against a real `kube-apiserver`, started in-process on
//! `127.0.0.1:0` over the embedded store in a temporary directory, so that
//! they talk to it exactly as they do in a cluster: through
//! [`client::Client`] over HTTP.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::sync::Arc;
use std::time::Duration;

use apiserver::server::{Config as ServerConfig, Running, spawn};

/// A running apiserver and its storage directory (removed on drop).
pub struct TestApiserver {
    server: Option<Running>,
    addr: std::net::SocketAddr,
    storage: Option<Arc<dyn storage::Storage>>,
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestApiserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApiserver")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

impl TestApiserver {
    /// Starts an apiserver on a free loopback port; panics if it cannot
    /// (a test cannot go on without one).
    pub async fn start() -> TestApiserver {
        test_support::init_tracing();
        let dir = tempfile::tempdir().unwrap();
        let (server, storage) = serve(dir.path(), "127.0.0.1:0".parse().unwrap()).await;
        TestApiserver {
            addr: server.addr,
            server: Some(server),
            storage: Some(storage),
            dir,
        }
    }

    /// Stops the server and starts a new one on the same address and data
    /// (an apiserver restart, as clients see it).
    pub async fn restart(&mut self) {
        if let Some(old) = self.server.take() {
            old.stop().await;
        }
        self.storage = None;
        let (server, storage) = serve(self.dir.path(), self.addr).await;
        self.server = Some(server);
        self.storage = Some(storage);
    }

    /// Compacts the store's history up to now: watches from older
    /// resourceVersions then get 410 Expired.
    pub async fn compact(&self) {
        let storage = self.storage.as_ref().unwrap();
        let rev = storage.current_revision().await.unwrap();
        storage.compact(rev).await.unwrap();
    }

    /// `http://127.0.0.1:PORT` (stable across [`restart`](Self::restart)).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client config for this server without rate limiting.
    pub fn config(&self) -> client::Config {
        let mut c = client::Config::new(self.url());
        c.qps = 0.0;
        c.user_agent = "testenv".into();
        c
    }

    /// A client without rate limiting.
    pub fn client(&self) -> client::Client {
        client::Client::new(self.config()).unwrap()
    }

    /// A kubeconfig file pointing at this server (for binaries under test
    /// and for kubectl).
    pub fn write_kubeconfig(&self) -> std::path::PathBuf {
        let path = self.dir.path().join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: test\n  cluster:\n    server: {}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\nusers:\n- name: test\n  user: {{}}\n",
            self.url()
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Stops the server (clients then see connection errors until
    /// [`restart`](Self::restart)); the data stays.
    pub async fn stop(&mut self) {
        if let Some(old) = self.server.take() {
            old.stop().await;
        }
        self.storage = None;
    }
}

async fn serve(
    dir: &std::path::Path,
    addr: std::net::SocketAddr,
) -> (Running, Arc<dyn storage::Storage>) {
    let store: Arc<dyn storage::Storage> = Arc::new(storage::SqliteStorage::open(dir).unwrap());
    let mut config = ServerConfig::default();
    config.cacher.progress_interval = Duration::from_millis(200);
    config.compaction_interval = None;
    // The port of a stopped server may linger a moment.
    let mut tries = 0;
    let server = loop {
        match spawn(addr, store.clone(), config.clone()).await {
            Ok(s) => break s,
            Err(_) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot start the apiserver on {addr}: {e}"),
        }
    };
    wait_for_default_namespace(&server.url()).await;
    (server, store)
}

/// Waits until the server has created `default` (it does so once its
/// caches are warm), so tests can create namespaced objects at once.
async fn wait_for_default_namespace(url: &str) {
    let c = client::Client::new(client::Config::new(url)).unwrap();
    let api: client::Api<api_types::core::v1::Namespace> = client::Api::all(c);
    for _ in 0..500 {
        if matches!(api.get_opt("default").await, Ok(Some(_))) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("namespace default never appeared");
}

/// Runs `kubectl.<version>` against `kubeconfig` with `args` and returns
/// what it did (panics only when it cannot be started).
pub fn kubectl_run(
    version: &str,
    kubeconfig: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    std::process::Command::new(kubectl_binary(version))
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("kubectl runs")
}

/// [`kubectl_run`] that must succeed: its stdout.
pub fn kubectl(version: &str, kubeconfig: &std::path::Path, args: &[&str]) -> String {
    let out = kubectl_run(version, kubeconfig, args);
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The path of `kubectl.<version>` (e.g. `"1.33"`), installed next to the
/// machine's `kubectl` (`ls $(dirname $(readlink -f $(which kubectl)))`).
/// Panics when it is missing: tests that use kubectl must not pass without
/// it.
pub fn kubectl_binary(version: &str) -> std::path::PathBuf {
    let out = std::process::Command::new("sh")
        .args(["-c", "dirname \"$(readlink -f \"$(command -v kubectl)\")\""])
        .output()
        .unwrap();
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!dir.is_empty(), "kubectl is not installed");
    let path = std::path::Path::new(&dir).join(format!("kubectl.{version}"));
    assert!(path.exists(), "{} is missing", path.display());
    path
}
