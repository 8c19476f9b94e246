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
    pub server: Running,
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestApiserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApiserver")
            .field("url", &self.server.url())
            .finish_non_exhaustive()
    }
}

impl TestApiserver {
    /// Starts an apiserver on a free loopback port; panics if it cannot
    /// (a test cannot go on without one).
    pub async fn start() -> TestApiserver {
        test_support::init_tracing();
        let dir = tempfile::tempdir().unwrap();
        let store = storage::SqliteStorage::open(dir.path()).unwrap();
        let mut config = ServerConfig::default();
        config.cacher.progress_interval = Duration::from_millis(200);
        config.compaction_interval = None;
        let server = spawn("127.0.0.1:0".parse().unwrap(), Arc::new(store), config)
            .await
            .unwrap();
        wait_for_default_namespace(&server.url()).await;
        TestApiserver { server, dir }
    }

    pub fn url(&self) -> String {
        self.server.url()
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

    /// Stops the server (e.g. to test reconnects); the data stays.
    pub async fn stop(self) -> tempfile::TempDir {
        self.server.stop().await;
        self.dir
    }
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
