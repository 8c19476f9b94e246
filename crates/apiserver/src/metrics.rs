//! Prometheus metrics, served at `/metrics` in the text format, named as
//! upstream's where one exists:
//! - `apiserver_request_total{verb,resource,code}`
//! - `apiserver_request_duration_seconds{verb,resource}` (histogram)
//! - `apiserver_longrunning_requests{verb="WATCH",resource}` (open watches)
//! - `apiserver_storage_request_duration_seconds{operation,resource}` (histogram)

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use storage::{KeyValue, ListOptions, ListResult, Revision, Storage, WatchStream};

use crate::registry::ResourceInfo;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub verb: String,
    pub resource: String,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LatencyLabels {
    pub verb: String,
    pub resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StorageLabels {
    pub operation: String,
    pub resource: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    ])
}

/// Every metric the apiserver exports.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<LatencyLabels, Histogram, fn() -> Histogram>,
    watches: Family<LatencyLabels, Gauge>,
    storage: Family<StorageLabels, Histogram, fn() -> Histogram>,
}

/// The process-wide metrics (Prometheus metrics are per process).
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<LatencyLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let watches = Family::<LatencyLabels, Gauge>::default();
        let storage = Family::<StorageLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "apiserver_request",
            "Requests by verb, resource and HTTP code",
            requests.clone(),
        );
        registry.register(
            "apiserver_request_duration_seconds",
            "Request latency by verb and resource",
            latency.clone(),
        );
        registry.register(
            "apiserver_longrunning_requests",
            "Open long-running requests (watches) by resource",
            watches.clone(),
        );
        registry.register(
            "apiserver_storage_request_duration_seconds",
            "Storage call latency by operation and resource",
            storage.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            watches,
            storage,
        }
    }

    /// Records one finished request.
    pub fn observe_request(&self, verb: &str, resource: &str, code: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                verb: verb.into(),
                resource: resource.into(),
                code: code.to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&LatencyLabels {
                verb: verb.into(),
                resource: resource.into(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Counts an open watch for as long as it lives.
pub struct WatchGuard {
    gauge: Gauge,
}

impl WatchGuard {
    pub fn new(info: &ResourceInfo) -> Self {
        let gauge = METRICS
            .watches
            .get_or_create(&LatencyLabels {
                verb: "WATCH".into(),
                resource: info.plural.into(),
            })
            .clone();
        gauge.inc();
        WatchGuard { gauge }
    }
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// A [`Storage`] decorator that times every call.
pub struct InstrumentedStorage {
    inner: Arc<dyn Storage>,
}

impl InstrumentedStorage {
    pub fn new(inner: Arc<dyn Storage>) -> Self {
        InstrumentedStorage { inner }
    }
}

/// `/registry/pods/default/x` → `pods`
fn resource_of(key: &str) -> &str {
    key.strip_prefix("/registry/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("")
}

async fn timed<T>(op: &str, key: &str, f: impl std::future::Future<Output = T>) -> T {
    let start = Instant::now();
    let out = f.await;
    METRICS
        .storage
        .get_or_create(&StorageLabels {
            operation: op.into(),
            resource: resource_of(key).into(),
        })
        .observe(start.elapsed().as_secs_f64());
    out
}

#[async_trait]
impl Storage for InstrumentedStorage {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn create(&self, key: &str, value: Bytes) -> storage::Result<KeyValue> {
        timed("create", key, self.inner.create(key, value)).await
    }
    async fn get(&self, key: &str) -> storage::Result<KeyValue> {
        timed("get", key, self.inner.get(key)).await
    }
    async fn list(&self, prefix: &str, opts: ListOptions) -> storage::Result<ListResult> {
        timed("list", prefix, self.inner.list(prefix, opts)).await
    }
    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected: Revision,
    ) -> storage::Result<KeyValue> {
        timed("update", key, self.inner.update(key, value, expected)).await
    }
    async fn delete(
        &self,
        key: &str,
        expected: Option<Revision>,
    ) -> storage::Result<(KeyValue, Revision)> {
        timed("delete", key, self.inner.delete(key, expected)).await
    }
    async fn watch(&self, prefix: &str, after: Revision) -> storage::Result<WatchStream> {
        self.inner.watch(prefix, after).await
    }
    async fn current_revision(&self) -> storage::Result<Revision> {
        self.inner.current_revision().await
    }
    async fn compact(&self, revision: Revision) -> storage::Result<()> {
        timed("compact", "", self.inner.compact(revision)).await
    }
}
