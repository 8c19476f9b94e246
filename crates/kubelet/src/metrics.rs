//! The kubelet's Prometheus metrics (`GET /metrics` on the kubelet
//! server), with upstream's names:
//!
//! - `kubelet_running_pods`, `kubelet_running_containers{container_state}`:
//!   read from the runtime when scraped;
//! - `kubelet_pod_worker_duration_seconds`: how long each pod sync takes;
//! - `kubelet_pleg_relist_duration_seconds`: how long each relist takes;
//! - `kubelet_started_pods_total`, `kubelet_started_containers_total`.

use std::time::Duration;

use cri::v1;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    container_state: String,
}

/// One kubelet's metrics.
pub struct Metrics {
    registry: Registry,
    running_pods: Gauge,
    running_containers: Family<StateLabel, Gauge>,
    sync: Histogram,
    relist: Histogram,
    started_pods: Counter,
    started_containers: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn seconds() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ])
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let m = Metrics {
            running_pods: Gauge::default(),
            running_containers: Family::default(),
            sync: seconds(),
            relist: seconds(),
            started_pods: Counter::default(),
            started_containers: Counter::default(),
            registry: Registry::default(),
        };
        registry.register(
            "kubelet_running_pods",
            "Number of pods that have a running pod sandbox",
            m.running_pods.clone(),
        );
        registry.register(
            "kubelet_running_containers",
            "Number of containers currently running, by state",
            m.running_containers.clone(),
        );
        registry.register(
            "kubelet_pod_worker_duration_seconds",
            "Duration in seconds to sync a single pod",
            m.sync.clone(),
        );
        registry.register(
            "kubelet_pleg_relist_duration_seconds",
            "Duration in seconds for relisting pods in PLEG",
            m.relist.clone(),
        );
        // prometheus-client appends `_total` to counters.
        registry.register(
            "kubelet_started_pods",
            "Cumulative number of pods started (sandboxes created)",
            m.started_pods.clone(),
        );
        registry.register(
            "kubelet_started_containers",
            "Cumulative number of containers started",
            m.started_containers.clone(),
        );
        Metrics { registry, ..m }
    }

    pub fn observe_sync(&self, d: Duration) {
        self.sync.observe(d.as_secs_f64());
    }

    pub fn observe_relist(&self, d: Duration) {
        self.relist.observe(d.as_secs_f64());
    }

    pub fn pod_started(&self) {
        self.started_pods.inc();
    }

    pub fn container_started(&self) {
        self.started_containers.inc();
    }

    /// Sets the gauges from a runtime listing.
    pub fn observe_runtime(&self, sandboxes: &[v1::PodSandbox], containers: &[v1::Container]) {
        let ready = sandboxes
            .iter()
            .filter(|s| s.state == v1::PodSandboxState::SandboxReady as i32)
            .count();
        self.running_pods.set(ready as i64);
        for (state, name) in [
            (v1::ContainerState::ContainerCreated, "created"),
            (v1::ContainerState::ContainerRunning, "running"),
            (v1::ContainerState::ContainerExited, "exited"),
            (v1::ContainerState::ContainerUnknown, "unknown"),
        ] {
            let n = containers
                .iter()
                .filter(|c| c.state == state as i32)
                .count();
            self.running_containers
                .get_or_create(&StateLabel {
                    container_state: name.into(),
                })
                .set(n as i64);
        }
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_upstream_names() {
        let m = Metrics::new();
        m.observe_sync(Duration::from_millis(30));
        m.pod_started();
        m.observe_runtime(
            &[v1::PodSandbox {
                state: v1::PodSandboxState::SandboxReady as i32,
                ..Default::default()
            }],
            &[
                v1::Container {
                    state: v1::ContainerState::ContainerRunning as i32,
                    ..Default::default()
                },
                v1::Container {
                    state: v1::ContainerState::ContainerExited as i32,
                    ..Default::default()
                },
            ],
        );
        let text = m.encode();
        for line in [
            "kubelet_running_pods 1",
            "kubelet_running_containers{container_state=\"running\"} 1",
            "kubelet_running_containers{container_state=\"exited\"} 1",
            "kubelet_pod_worker_duration_seconds_count 1",
            "kubelet_started_pods_total 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
    }
}
