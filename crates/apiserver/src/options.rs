//! Command-line flags, named as upstream's `kube-apiserver` flags.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use storage::{EtcdStorage, SqliteStorage, Storage};

/// kube-apiserver: the Kubernetes API server.
#[derive(Debug, Parser)]
#[command(name = "kube-apiserver", version)]
pub struct Options {
    /// etcd servers to connect to (comma separated, `http://host:port`).
    /// Without it, the embedded store under --data-dir is used.
    #[arg(long, value_delimiter = ',')]
    pub etcd_servers: Vec<String>,

    /// The IP address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_address: IpAddr,

    /// The port to serve the API on (plain HTTP for now).
    #[arg(long, default_value_t = 6443)]
    pub secure_port: u16,

    /// Where the embedded store keeps its data.
    #[arg(long, default_value = "/var/lib/oxkube")]
    pub data_dir: PathBuf,

    /// How often to compact storage history (e.g. 5m, 30s; 0 disables).
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub etcd_compaction_interval: Duration,

    /// Recent events each watch cache keeps for resuming watches.
    #[arg(long, default_value_t = 10_000)]
    pub default_watch_cache_size: usize,
}

impl Options {
    /// Opens the configured store.
    ///
    /// # Errors
    /// When etcd cannot be reached or the data directory cannot be used.
    pub async fn storage(&self) -> Result<Arc<dyn Storage>, storage::StorageError> {
        if self.etcd_servers.is_empty() {
            let dir = self.data_dir.join("db");
            Ok(Arc::new(SqliteStorage::open(&dir)?))
        } else {
            Ok(Arc::new(EtcdStorage::connect(&self.etcd_servers).await?))
        }
    }

    pub fn config(&self) -> crate::server::Config {
        let mut config = crate::server::Config::default();
        config.cacher.history = self.default_watch_cache_size.max(1);
        config.compaction_interval =
            (!self.etcd_compaction_interval.is_zero()).then_some(self.etcd_compaction_interval);
        config
    }
}
