//! The flags of `kube-controller-manager`, with upstream's names and
//! defaults (those of the controllers built so far).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use runtime::process::{LeaderElectFlags, parse_bool};

/// kube-controller-manager: the reconcile loops.
#[derive(Clone, Debug, Parser)]
#[command(name = "kube-controller-manager", version, about)]
pub struct Options {
    /// kubeconfig with the apiserver's address.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,

    /// Sustained requests per second to the apiserver.
    #[arg(long, default_value_t = 20.0)]
    pub kube_api_qps: f32,

    /// Requests allowed in a burst to the apiserver.
    #[arg(long, default_value_t = 30)]
    pub kube_api_burst: u32,

    #[command(flatten)]
    pub leader_election: LeaderElectFlags,

    /// ReplicaSets synced at once.
    #[arg(long, default_value_t = 5)]
    pub concurrent_replicaset_syncs: usize,

    /// ReplicationControllers synced at once.
    #[arg(long, default_value_t = 5)]
    pub concurrent_rc_syncs: usize,

    /// Deployments synced at once.
    #[arg(long, default_value_t = 5)]
    pub concurrent_deployment_syncs: usize,

    /// Services whose Endpoints are synced at once.
    #[arg(long, default_value_t = 5)]
    pub concurrent_endpoint_syncs: usize,

    /// Services whose EndpointSlices are synced at once.
    #[arg(long, default_value_t = 5)]
    pub concurrent_service_endpoint_syncs: usize,

    /// The most endpoints one EndpointSlice holds (1 to 1000).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub max_endpoints_per_slice: u16,

    /// Run the garbage collector (cascading deletion).
    #[arg(long, default_value = "true", num_args = 0..=1, default_missing_value = "true", value_parser = parse_bool)]
    pub enable_garbage_collector: bool,

    /// Garbage-collector workers (per queue).
    #[arg(long, default_value_t = 20)]
    pub concurrent_gc_syncs: usize,

    /// Namespaces being deleted that are synced at once.
    #[arg(long, default_value_t = 10)]
    pub concurrent_namespace_syncs: usize,

    /// How often every namespace is looked at again.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub namespace_sync_period: Duration,

    /// Give each Node a pod CIDR from --cluster-cidr.
    #[arg(long, default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = parse_bool)]
    pub allocate_node_cidrs: bool,

    /// The range pod IPs come from (with --allocate-node-cidrs).
    #[arg(long, default_value = "10.244.0.0/16")]
    pub cluster_cidr: String,

    /// The size of each node's block of --cluster-cidr.
    #[arg(long, default_value_t = 24)]
    pub node_cidr_mask_size: u8,

    /// How often the node lifecycle controller checks node health.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub node_monitor_period: Duration,

    /// How long a node may go without renewing its Lease or posting its
    /// status before it is marked Unknown (NotReady).
    #[arg(long, default_value = "50s", value_parser = humantime::parse_duration)]
    pub node_monitor_grace_period: Duration,

    /// The same, for a node that has never posted its status.
    #[arg(long, default_value = "1m", value_parser = humantime::parse_duration)]
    pub node_startup_grace_period: Duration,

    /// Nodes per second tainted for eviction in a healthy zone.
    #[arg(long, default_value_t = 0.1)]
    pub node_eviction_rate: f32,

    /// Nodes per second tainted for eviction in an unhealthy zone of more
    /// than --large-cluster-size-threshold nodes (smaller ones: none).
    #[arg(long, default_value_t = 0.01)]
    pub secondary_node_eviction_rate: f32,

    /// Share of not-Ready nodes (at least 3) that makes a zone unhealthy.
    #[arg(long, default_value_t = 0.55)]
    pub unhealthy_zone_threshold: f32,

    /// A zone with more nodes than this is large (see
    /// --secondary-node-eviction-rate).
    #[arg(long, default_value_t = 50)]
    pub large_cluster_size_threshold: usize,

    /// Log verbosity (-v 2: debug, -v 4: trace).
    #[arg(short = 'v', long = "v", default_value_t = 0)]
    pub verbosity: u8,
}

impl Options {
    /// The node lifecycle controller's part of the flags.
    pub fn node_lifecycle(&self) -> crate::nodelifecycle::Config {
        crate::nodelifecycle::Config {
            node_monitor_period: self.node_monitor_period,
            node_monitor_grace_period: self.node_monitor_grace_period,
            node_startup_grace_period: self.node_startup_grace_period,
            node_eviction_rate: self.node_eviction_rate,
            secondary_node_eviction_rate: self.secondary_node_eviction_rate,
            unhealthy_zone_threshold: self.unhealthy_zone_threshold,
            large_cluster_size_threshold: self.large_cluster_size_threshold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_flags_parse() {
        let o = Options::try_parse_from([
            "kube-controller-manager",
            "--kubeconfig=/etc/kubernetes/controller-manager.conf",
            "--leader-elect=false",
            "--concurrent-replicaset-syncs=10",
            "--enable-garbage-collector=false",
            "--concurrent-namespace-syncs=3",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!o.leader_election.leader_elect);
        assert_eq!(
            o.leader_election.resource_name("kube-controller-manager"),
            "kube-controller-manager"
        );
        assert!(!o.allocate_node_cidrs);
        assert_eq!(
            (o.cluster_cidr.as_str(), o.node_cidr_mask_size),
            ("10.244.0.0/16", 24)
        );
        assert_eq!(o.concurrent_replicaset_syncs, 10);
        assert_eq!(
            (
                o.concurrent_endpoint_syncs,
                o.concurrent_service_endpoint_syncs,
                o.max_endpoints_per_slice
            ),
            (5, 5, 100)
        );
        // The node lifecycle flags default as upstream's.
        assert_eq!(o.node_lifecycle(), crate::nodelifecycle::Config::default());
        assert!(!o.enable_garbage_collector);
        assert_eq!(o.concurrent_gc_syncs, 20);
        assert_eq!(o.concurrent_namespace_syncs, 3);
        assert_eq!(o.namespace_sync_period, Duration::from_secs(300));
        assert_eq!(o.kube_api_qps, 20.0);
        assert!(
            Options::try_parse_from(["kube-controller-manager", "--leader-elect=maybe"]).is_err()
        );
        for bad in ["0", "1001"] {
            let flag = format!("--max-endpoints-per-slice={bad}");
            assert!(Options::try_parse_from(["kube-controller-manager", flag.as_str()]).is_err());
        }
        let o = Options::try_parse_from([
            "kube-controller-manager",
            "--max-endpoints-per-slice=1000",
            "--concurrent-endpoint-syncs=2",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (o.max_endpoints_per_slice, o.concurrent_endpoint_syncs),
            (1000, 2)
        );
    }

    #[test]
    fn node_lifecycle_flags_parse_as_upstream_writes_them() {
        let o = Options::try_parse_from([
            "kube-controller-manager",
            "--node-monitor-period=2s",
            "--node-monitor-grace-period=40s",
            "--node-startup-grace-period=1m30s",
            "--node-eviction-rate=0.5",
            "--secondary-node-eviction-rate=0",
            "--unhealthy-zone-threshold=0.7",
            "--large-cluster-size-threshold=100",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let c = o.node_lifecycle();
        assert_eq!(c.node_monitor_period, Duration::from_secs(2));
        assert_eq!(c.node_monitor_grace_period, Duration::from_secs(40));
        assert_eq!(c.node_startup_grace_period, Duration::from_secs(90));
        assert_eq!(c.node_eviction_rate, 0.5);
        assert_eq!(c.secondary_node_eviction_rate, 0.0);
        assert_eq!(c.unhealthy_zone_threshold, 0.7);
        assert_eq!(c.large_cluster_size_threshold, 100);
        assert!(
            Options::try_parse_from(["kube-controller-manager", "--node-eviction-rate=fast"])
                .is_err()
        );
    }
}
