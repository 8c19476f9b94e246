//! Putting the apiserver together: storage, registry, watch caches, the
//! default namespaces, compaction, and the HTTP server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use storage::Storage;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::cacher::CacherConfig;
use crate::http::{AppState, router};
use crate::metrics::InstrumentedStorage;
use crate::registry::RequestScope;
use crate::registry::install::install;

/// Namespaces every cluster starts with.
pub const DEFAULT_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];

/// How the server behaves (not where it listens or stores).
#[derive(Clone, Debug)]
pub struct Config {
    pub cacher: CacherConfig,
    /// Compact storage history this often (`--etcd-compaction-interval`); `None` disables it.
    pub compaction_interval: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cacher: CacherConfig::default(),
            compaction_interval: Some(Duration::from_secs(300)),
        }
    }
}

/// Serves the API on `listener` until `shutdown` completes.
///
/// # Errors
/// When the listener fails.
pub async fn run(
    listener: TcpListener,
    storage: Arc<dyn Storage>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let storage: Arc<dyn Storage> = Arc::new(InstrumentedStorage::new(storage));
    let installed = install(storage.clone(), config.cacher.clone());
    let state = Arc::new(AppState {
        registry: installed.registry,
        storage: storage.clone(),
        caches: installed.caches,
        bootstrapped: AtomicBool::new(false),
    });
    let mut background = vec![tokio::spawn(bootstrap(state.clone()))];
    if let Some(every) = config.compaction_interval {
        background.push(tokio::spawn(storage::compactor::run(
            storage.clone(),
            every,
        )));
    }
    // Open watches would hold the graceful shutdown until they time out
    // (up to an hour), fed by nothing: end them when shutdown begins.
    let caches = state.caches.clone();
    let shutdown = async move {
        shutdown.await;
        for cache in &caches {
            cache.stop();
        }
    };
    tracing::info!(addr = %listener.local_addr()?, backend = storage.backend(), "kube-apiserver serving");
    // No Nagle: watch events and small responses go out at once.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let result = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    for task in background {
        task.abort();
    }
    result
}

/// Creates the default namespaces once the caches are warm.
async fn bootstrap(state: Arc<AppState>) {
    for cache in &state.caches {
        cache.wait_ready().await;
    }
    let Some(namespaces) = state.registry.get("", "v1", "namespaces") else {
        return;
    };
    for name in DEFAULT_NAMESPACES {
        let body = serde_json::json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": name } });
        let mut delay = Duration::from_millis(100);
        loop {
            match namespaces
                .create(&RequestScope::default(), body.to_string().as_bytes())
                .await
            {
                Ok(_) => {
                    tracing::info!(namespace = name, "created default namespace");
                    break;
                }
                Err(crate::error::ApiError::AlreadyExists { .. }) => break,
                Err(e) => {
                    tracing::warn!(namespace = name, error = %e, "cannot create default namespace yet");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
    state.bootstrapped.store(true, Ordering::Release);
}

/// An apiserver running in the background (tests, benchmarks, `oxkube up`).
pub struct Running {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and waits for the server task to end.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            // Open watches hold connections; don't wait on them forever.
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Starts an apiserver on `addr` (use port 0 for a free one) in the
/// background and waits until it is ready.
///
/// # Errors
/// When the address cannot be bound or the server does not become ready
/// within 30 s.
pub async fn spawn(
    addr: SocketAddr,
    storage: Arc<dyn Storage>,
    config: Config,
) -> std::io::Result<Running> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(run(listener, storage, config, async {
        let _ = rx.await;
    }));
    let running = Running {
        addr,
        shutdown: Some(tx),
        task: Some(task),
    };
    wait_ready(addr).await?;
    Ok(running)
}

/// Polls `/readyz` until it answers 200.
async fn wait_ready(addr: SocketAddr) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut s) = tokio::net::TcpStream::connect(addr).await {
            let req = format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            let mut resp = String::new();
            if s.write_all(req.as_bytes()).await.is_ok()
                && s.read_to_string(&mut resp).await.is_ok()
                && resp.starts_with("HTTP/1.1 200")
            {
                return Ok(());
            }
        }
        if tokio::time::Instant::now() > deadline {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "apiserver did not become ready",
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
