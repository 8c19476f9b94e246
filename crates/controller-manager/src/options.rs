//! The flags of `kube-controller-manager`, with upstream's names and
//! defaults (those of the controllers built so far).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use runtime::process::parse_bool;

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

    /// Run with leader election, so one of several replicas works.
    #[arg(long, default_value = "true", num_args = 0..=1, default_missing_value = "true", value_parser = parse_bool)]
    pub leader_elect: bool,

    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    pub leader_elect_lease_duration: Duration,

    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub leader_elect_renew_deadline: Duration,

    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub leader_elect_retry_period: Duration,

    #[arg(long, default_value = "kube-controller-manager")]
    pub leader_elect_resource_name: String,

    #[arg(long, default_value = "kube-system")]
    pub leader_elect_resource_namespace: String,

    /// ReplicaSets synced at once.
    #[arg(long, default_value_t = 5)]
    pub concurrent_replicaset_syncs: usize,

    /// ReplicationControllers synced at once.
    #[arg(long, default_value_t = 5)]
    pub concurrent_rc_syncs: usize,

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

    /// Log verbosity (-v 2: debug, -v 4: trace).
    #[arg(short = 'v', long = "v", default_value_t = 0)]
    pub verbosity: u8,
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
        assert!(!o.leader_elect);
        assert!(!o.allocate_node_cidrs);
        assert_eq!(
            (o.cluster_cidr.as_str(), o.node_cidr_mask_size),
            ("10.244.0.0/16", 24)
        );
        assert_eq!(o.concurrent_replicaset_syncs, 10);
        assert!(!o.enable_garbage_collector);
        assert_eq!(o.concurrent_gc_syncs, 20);
        assert_eq!(o.concurrent_namespace_syncs, 3);
        assert_eq!(o.namespace_sync_period, Duration::from_secs(300));
        assert_eq!(o.kube_api_qps, 20.0);
        assert!(
            Options::try_parse_from(["kube-controller-manager", "--leader-elect=maybe"]).is_err()
        );
    }
}
