//! The node status loop (upstream's `syncNodeStatus` / `tryUpdateNodeStatus`).
//!
//! Every `nodeStatusUpdateFrequency` (10 s) the kubelet recomputes its
//! Node's status from the host and the runtime. Since the heartbeat moved
//! to the Lease ([`super::lease`]), it writes the status only when it
//! changed (ignoring heartbeat times), or when `nodeStatusReportFrequency`
//! (5 min) passed since the last write, so that `lastHeartbeatTime` stays
//! roughly current for `kubectl describe node`.
//!
//! Each round also reads the Node back, which is how the kubelet learns
//! its `spec.podCIDR` when the controller-manager's IPAM assigns it after
//! registration: [`NodeStatusReporter::pod_cidr`] publishes it.
//!
//! What the runtime says comes through the [`RuntimeProbe`] trait:
//! [`CriRuntimeProbe`] asks a CRI runtime (`Version`, `Status`); tests pass
//! their own.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use api_types::core::v1::Node;
use api_types::meta::v1::Time;
use async_trait::async_trait;
use client::{Api, Patch, PatchParams};
use cri::v1::{RuntimeCondition, RuntimeStatus, VersionResponse};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use super::error::{Error, Result};
use super::host::HostInfo;
use super::status::{
    NodeConfig, RuntimeFacts, aggregate, node_status, status_changed, status_patch,
};

/// Upstream's `nodeStatusUpdateFrequency`.
pub const DEFAULT_UPDATE_FREQUENCY: Duration = Duration::from_secs(10);
/// Upstream's `nodeStatusReportFrequency`.
pub const DEFAULT_REPORT_FREQUENCY: Duration = Duration::from_secs(5 * 60);

/// Asks the container runtime how it is.
#[async_trait]
pub trait RuntimeProbe: Send + Sync {
    /// The runtime's facts now. Infallible: a runtime that does not answer
    /// is a runtime that is not ready, and the facts say so.
    async fn facts(&self) -> RuntimeFacts;
}

impl RuntimeFacts {
    /// The facts from the answers of CRI `Version` and `Status` (`None`
    /// for a call that failed), with upstream's messages:
    /// `container runtime is down`, `container runtime not ready: <cond>`,
    /// `container runtime network not ready: <cond>`, where `<cond>` reads
    /// `NetworkReady=false reason:NetworkPluginNotReady message:...`.
    pub fn from_cri(version: Option<&VersionResponse>, status: Option<&RuntimeStatus>) -> Self {
        let runtime_version = version
            .map(|v| format!("{}://{}", v.runtime_name, v.runtime_version))
            .unwrap_or_default();
        let Some(status) = status else {
            return RuntimeFacts {
                runtime_version,
                runtime_ready: false,
                network_ready: false,
                not_ready_message: "container runtime is down".into(),
            };
        };
        let find = |t: &str| status.conditions.iter().find(|c| c.r#type == t);
        // Go prints a missing condition (a nil pointer) as <nil>.
        let text = |c: Option<&RuntimeCondition>| {
            c.map_or_else(
                || "<nil>".to_string(),
                |c| {
                    format!(
                        "{}={} reason:{} message:{}",
                        c.r#type, c.status, c.reason, c.message
                    )
                },
            )
        };
        let runtime = find("RuntimeReady");
        let network = find("NetworkReady");
        let runtime_ready = runtime.is_some_and(|c| c.status);
        let network_ready = network.is_some_and(|c| c.status);
        let mut errs = Vec::new();
        if !runtime_ready {
            errs.push(format!("container runtime not ready: {}", text(runtime)));
        }
        if !network_ready {
            errs.push(format!(
                "container runtime network not ready: {}",
                text(network)
            ));
        }
        RuntimeFacts {
            runtime_version,
            runtime_ready,
            network_ready,
            not_ready_message: if errs.is_empty() {
                String::new()
            } else {
                aggregate(&errs)
            },
        }
    }
}

/// A [`RuntimeProbe`] over a CRI runtime service.
pub struct CriRuntimeProbe {
    runtime: Arc<dyn cri::RuntimeService>,
    /// The last version that answered: a runtime restarting for a moment
    /// does not change what `nodeInfo` says it is.
    last_version: Mutex<String>,
}

impl CriRuntimeProbe {
    pub fn new(runtime: Arc<dyn cri::RuntimeService>) -> Self {
        CriRuntimeProbe {
            runtime,
            last_version: Mutex::new(String::new()),
        }
    }
}

#[async_trait]
impl RuntimeProbe for CriRuntimeProbe {
    async fn facts(&self) -> RuntimeFacts {
        let version = match self.runtime.version().await {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(error = %e, "cannot get the container runtime's version");
                None
            }
        };
        let status = match self.runtime.status().await {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "container runtime status check failed");
                None
            }
        };
        let mut facts = RuntimeFacts::from_cri(version.as_ref(), status.as_ref());
        let mut last = self
            .last_version
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if facts.runtime_version.is_empty() {
            facts.runtime_version.clone_from(&last);
        } else {
            last.clone_from(&facts.runtime_version);
        }
        facts
    }
}

/// What one round of the status loop did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Synced {
    /// The status was written.
    Patched,
    /// Nothing changed and no report was due.
    Unchanged,
}

/// Keeps the Node's status current. Build it after registration, take a
/// [`pod_cidr`](Self::pod_cidr) receiver if needed, then spawn
/// [`run`](Self::run).
pub struct NodeStatusReporter {
    nodes: Api<Node>,
    cfg: NodeConfig,
    host: Arc<dyn HostInfo>,
    runtime: Arc<dyn RuntimeProbe>,
    update_frequency: Duration,
    report_frequency: Duration,
    last_report: Option<Instant>,
    pod_cidr: watch::Sender<Option<String>>,
}

impl NodeStatusReporter {
    /// A reporter for the node `cfg.name` with upstream's frequencies.
    pub fn new(
        nodes: Api<Node>,
        cfg: NodeConfig,
        host: Arc<dyn HostInfo>,
        runtime: Arc<dyn RuntimeProbe>,
    ) -> Self {
        NodeStatusReporter {
            nodes,
            cfg,
            host,
            runtime,
            update_frequency: DEFAULT_UPDATE_FREQUENCY,
            report_frequency: DEFAULT_REPORT_FREQUENCY,
            last_report: None,
            pod_cidr: watch::channel(None).0,
        }
    }

    /// How often to recompute the status (`--node-status-update-frequency`).
    #[must_use]
    pub fn update_frequency(mut self, every: Duration) -> Self {
        self.update_frequency = every;
        self
    }

    /// How often to write it even when unchanged (`nodeStatusReportFrequency`).
    #[must_use]
    pub fn report_frequency(mut self, every: Duration) -> Self {
        self.report_frequency = every;
        self
    }

    /// The Node's `spec.podCIDR` as last read: `None` until the Node has
    /// one. Receivers see each change (`changed().await`).
    pub fn pod_cidr(&self) -> watch::Receiver<Option<String>> {
        self.pod_cidr.subscribe()
    }

    /// One round: read the Node, publish its pod CIDR, compute the status,
    /// and patch it if it changed or a report is due.
    ///
    /// # Errors
    /// When the Node cannot be read or patched, or the host cannot be read.
    pub async fn sync(&mut self) -> Result<Synced> {
        let name = self.cfg.name.clone();
        let node = self
            .nodes
            .get(&name)
            .await
            .map_err(|source| Error::GetNode {
                node: name.clone(),
                source,
            })?;
        let cidr = node
            .spec
            .as_ref()
            .and_then(|s| s.pod_cidr.clone())
            .filter(|c| !c.is_empty());
        self.pod_cidr.send_if_modified(|current| {
            if *current == cidr {
                return false;
            }
            tracing::info!(node = %name, pod_cidr = ?cidr, "the node's pod CIDR is set");
            current.clone_from(&cidr);
            true
        });

        let host = self.host.facts()?;
        let runtime = self.runtime.facts().await;
        let old = node.status.unwrap_or_default();
        let new = node_status(&self.cfg, &host, &runtime, Some(&old), Time::now());
        let due = self
            .last_report
            .is_none_or(|at| at.elapsed() >= self.report_frequency);
        if !due && !status_changed(&old, &new) {
            return Ok(Synced::Unchanged);
        }
        log_transitions(&name, &old, &new);
        self.nodes
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Strategic(status_patch(&new)),
            )
            .await
            .map_err(|source| Error::UpdateStatus {
                node: name.clone(),
                source,
            })?;
        self.last_report = Some(Instant::now());
        Ok(Synced::Patched)
    }

    /// Runs [`sync`](Self::sync) every update period until `shutdown`
    /// completes; the first round runs at once. A failed round is logged
    /// and the next one tries again.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut ticks = tokio::time::interval(self.update_frequency);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = ticks.tick() => {}
            }
            match self.sync().await {
                Ok(done) => tracing::trace!(node = %self.cfg.name, ?done, "node status synced"),
                Err(e) => tracing::warn!(
                    node = %self.cfg.name,
                    error = %e,
                    cause = ?std::error::Error::source(&e).map(ToString::to_string),
                    "cannot update the node status"
                ),
            }
        }
    }
}

/// Logs conditions that change status (upstream records these as events:
/// `NodeReady`, `NodeNotReady`, `NodeHasDiskPressure` ...).
fn log_transitions(
    node: &str,
    old: &api_types::core::v1::NodeStatus,
    new: &api_types::core::v1::NodeStatus,
) {
    for c in new.conditions.iter().flatten() {
        let before = old
            .conditions
            .iter()
            .flatten()
            .find(|o| o.type_ == c.type_)
            .map(|o| o.status.as_str());
        if before.is_some_and(|b| b != c.status) {
            tracing::info!(
                node = %node,
                condition = %c.type_,
                status = %c.status,
                reason = c.reason.as_deref().unwrap_or_default(),
                message = c.message.as_deref().unwrap_or_default(),
                "node condition changed"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn cond(t: &str, ok: bool, reason: &str, message: &str) -> RuntimeCondition {
        RuntimeCondition {
            r#type: t.into(),
            status: ok,
            reason: reason.into(),
            message: message.into(),
        }
    }

    fn version() -> VersionResponse {
        VersionResponse {
            version: "0.1.0".into(),
            runtime_name: "containerd".into(),
            runtime_version: "1.6.20".into(),
            runtime_api_version: "v1".into(),
        }
    }

    #[test]
    fn cri_answers_become_facts() {
        let ok = RuntimeStatus {
            conditions: vec![
                cond("RuntimeReady", true, "", ""),
                cond("NetworkReady", true, "", ""),
            ],
        };
        let f = RuntimeFacts::from_cri(Some(&version()), Some(&ok));
        assert_eq!(f.runtime_version, "containerd://1.6.20");
        assert!(f.runtime_ready && f.network_ready);
        assert_eq!(f.not_ready_message, "");

        let no_cni = RuntimeStatus {
            conditions: vec![
                cond("RuntimeReady", true, "", ""),
                cond(
                    "NetworkReady",
                    false,
                    "NetworkPluginNotReady",
                    "Network plugin returns error: cni plugin not initialized",
                ),
            ],
        };
        let f = RuntimeFacts::from_cri(Some(&version()), Some(&no_cni));
        assert!(f.runtime_ready && !f.network_ready);
        assert_eq!(
            f.not_ready_message,
            "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"
        );

        let f = RuntimeFacts::from_cri(None, None);
        assert_eq!(f.runtime_version, "");
        assert!(!f.runtime_ready && !f.network_ready);
        assert_eq!(f.not_ready_message, "container runtime is down");

        let f = RuntimeFacts::from_cri(None, Some(&RuntimeStatus { conditions: vec![] }));
        assert_eq!(
            f.not_ready_message,
            "[container runtime not ready: <nil>, container runtime network not ready: <nil>]"
        );
    }

    #[tokio::test]
    async fn the_cri_probe_asks_the_runtime() {
        let fake = Arc::new(cri::FakeRuntime::new());
        let probe = CriRuntimeProbe::new(fake.clone());
        let f = probe.facts().await;
        assert_eq!(f.runtime_version, "fake://1.0.0");
        assert!(f.runtime_ready && f.network_ready);
        fake.set_network_ready(false);
        let f = probe.facts().await;
        assert!(!f.network_ready);
        assert!(
            f.not_ready_message
                .starts_with("container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady"),
            "{}",
            f.not_ready_message
        );
    }
}
