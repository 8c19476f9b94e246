//! The node lifecycle controller and the taint eviction controller
//! (upstream: `pkg/controller/nodelifecycle` and
//! `pkg/controller/tainteviction`): what happens to a node that stops
//! answering, and to its pods.
//!
//! ```text
//!  kubelet ─▶ Lease renewTime, Ready lastHeartbeatTime
//!               │  (seen changing? on the controller's own clock)
//!  monitor pass, every --node-monitor-period (5 s)            [lifecycle]
//!    silent for --node-monitor-grace-period (50 s)
//!      ─▶ conditions Unknown (NodeStatusUnknown) ─▶ pods Ready=False
//!      ─▶ node queued for tainting, rate limited per zone      [zones]
//!  node changed ─▶ NoSchedule taints mirror the conditions      [taints]
//!  tainter, every 100 ms ─▶ node.kubernetes.io/unreachable:NoExecute
//!  taint eviction: pods on NoExecute-tainted nodes              [eviction]
//!      not tolerated ─▶ deleted now; tolerationSeconds ─▶ deleted then
//!  kubelet back ─▶ Ready=True (written by the kubelet) ─▶ taints removed
//! ```
//!
//! The decisions are pure functions, unit-tested: [`health`] (is the node
//! alive?), [`taints`] (which taints), [`zones`] (how fast), [`eviction`]
//! (when must a pod go). [`Controller`] and [`TaintEviction`] carry them
//! out through the apiserver.

pub mod eviction;
pub mod health;
mod lifecycle;
mod taint_eviction;
pub mod taints;
mod write;
pub mod zones;

use std::time::Duration;

pub use lifecycle::Controller;
pub use taint_eviction::TaintEviction;

/// Where kubelets keep their Leases.
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

/// The flags of both controllers, with upstream's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `--node-monitor-period`: how often node health is checked.
    pub node_monitor_period: Duration,
    /// `--node-monitor-grace-period`: how long a node may stay silent
    /// before it is marked `Unknown`.
    pub node_monitor_grace_period: Duration,
    /// `--node-startup-grace-period`: the same for a node that never
    /// posted a Ready condition.
    pub node_startup_grace_period: Duration,
    /// `--node-eviction-rate`: nodes tainted per second per zone.
    pub node_eviction_rate: f32,
    /// `--secondary-node-eviction-rate`: the same in a partly disrupted
    /// large zone.
    pub secondary_node_eviction_rate: f32,
    /// `--unhealthy-zone-threshold`: the share of not-Ready nodes (of more
    /// than 2) that makes a zone partly disrupted.
    pub unhealthy_zone_threshold: f32,
    /// `--large-cluster-size-threshold`: a zone of more nodes than this is
    /// large.
    pub large_cluster_size_threshold: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            node_monitor_period: Duration::from_secs(5),
            node_monitor_grace_period: Duration::from_secs(50),
            node_startup_grace_period: Duration::from_secs(60),
            node_eviction_rate: 0.1,
            secondary_node_eviction_rate: 0.01,
            unhealthy_zone_threshold: 0.55,
            large_cluster_size_threshold: 50,
        }
    }
}

impl Config {
    fn grace(&self) -> health::Grace {
        health::Grace {
            monitor: self.node_monitor_grace_period,
            startup: self.node_startup_grace_period,
        }
    }

    fn rates(&self) -> zones::Rates {
        zones::Rates {
            eviction: self.node_eviction_rate,
            secondary: self.secondary_node_eviction_rate,
            large_cluster_threshold: self.large_cluster_size_threshold,
        }
    }
}
