//! `kube-scheduler`'s command line, with upstream's flag names and defaults.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::framework::DEFAULT_SCHEDULER_NAME;

use runtime::process::LeaderElectFlags;

/// kube-scheduler: assigns pods to nodes.
#[derive(Clone, Debug, Parser)]
#[command(name = "kube-scheduler", version, about)]
pub struct Options {
    /// Path to a kubeconfig file naming the apiserver and credentials
    /// (else $KUBECONFIG, the in-cluster config, or ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,

    /// Sustained requests per second to the apiserver.
    #[arg(long, default_value_t = 50.0)]
    pub kube_api_qps: f32,

    /// Requests allowed in a burst to the apiserver.
    #[arg(long, default_value_t = 100)]
    pub kube_api_burst: u32,

    #[command(flatten)]
    pub leader_election: LeaderElectFlags,

    /// Address for /healthz and /metrics (plain HTTP until TLS lands).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_address: IpAddr,

    /// Port for /healthz and /metrics; 0 picks a free one.
    #[arg(long, default_value_t = 10259)]
    pub secure_port: u16,

    /// The `spec.schedulerName` this scheduler serves (upstream sets it
    /// in a profile of the --config file).
    #[arg(long, default_value = DEFAULT_SCHEDULER_NAME)]
    pub scheduler_name: String,

    /// Share of nodes to find feasible before scoring, 0 for upstream's
    /// adaptive default (50% minus 1% per 125 nodes, at least 5%).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub percentage_of_nodes_to_score: u32,

    /// Log verbosity, as klog's -v (0 info, 2+ debug, 4+ trace); RUST_LOG
    /// overrides it.
    #[arg(short = 'v', long = "v", default_value_t = 0)]
    pub verbosity: u8,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::*;

    #[test]
    fn upstream_defaults_and_forms() {
        let o = Options::try_parse_from(["kube-scheduler"]).unwrap();
        assert!(o.leader_election.leader_elect);
        assert_eq!(
            o.leader_election.leader_elect_lease_duration,
            Duration::from_secs(15)
        );
        assert_eq!(o.secure_port, 10259);
        assert_eq!(o.kube_api_qps, 50.0);
        let o = Options::try_parse_from([
            "kube-scheduler",
            "--leader-elect=false",
            "--kubeconfig",
            "/tmp/kc",
            "--leader-elect-retry-period=500ms",
            "-v",
            "4",
        ])
        .unwrap();
        assert!(!o.leader_election.leader_elect);
        assert_eq!(
            o.leader_election.leader_elect_retry_period,
            Duration::from_millis(500)
        );
        assert_eq!(o.verbosity, 4);
        let o = Options::try_parse_from(["kube-scheduler", "--leader-elect"]).unwrap();
        assert!(o.leader_election.leader_elect);
        let bad = Options::try_parse_from(["kube-scheduler", "--leader-elect=maybe"]).unwrap_err();
        assert!(bad.to_string().contains("invalid boolean"));
        let bad = Options::try_parse_from(["kube-scheduler", "--leader-elect-lease-duration=soon"])
            .unwrap_err();
        assert!(bad.to_string().contains("--leader-elect-lease-duration"));
    }
}
