//! The kubelet's command line, with upstream's flag names and defaults.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// `kubelet`: runs the pods bound to this node through a CRI runtime.
#[derive(Clone, Debug, Parser)]
#[command(name = "kubelet", version, about)]
pub struct Options {
    /// Path to a kubeconfig file for the apiserver. Without it the kubelet
    /// runs standalone: static pods only.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,

    /// The CRI endpoint (containerd: unix:///run/containerd/containerd.sock;
    /// `fake://`: an in-memory runtime, a hollow node).
    #[arg(long, default_value = "unix:///run/containerd/containerd.sock")]
    pub container_runtime_endpoint: String,

    /// Sustained requests per second to the apiserver (upstream's default:
    /// 50). At client-go's 5, status writes queue behind each other.
    #[arg(long, default_value_t = 50.0)]
    pub kube_api_qps: f32,

    /// Requests allowed in a burst to the apiserver.
    #[arg(long, default_value_t = 100)]
    pub kube_api_burst: u32,

    /// Timeout of CRI requests, except pulls and exec.
    #[arg(long, default_value = "2m", value_parser = humantime::parse_duration)]
    pub runtime_request_timeout: Duration,

    /// Directory of static pod manifests.
    #[arg(long, default_value = "/etc/kubernetes/manifests")]
    pub pod_manifest_path: PathBuf,

    /// The node name (default: the hostname).
    #[arg(long)]
    pub hostname_override: Option<String>,

    /// The node's IP (default: the address of the default route's interface).
    #[arg(long)]
    pub node_ip: Option<IpAddr>,

    /// The kubelet's state: pod volumes and per-pod files.
    #[arg(long, default_value = "/var/lib/kubelet")]
    pub root_dir: PathBuf,

    /// Where container logs go (KubeletConfiguration `podLogsDir`).
    #[arg(long, default_value = "/var/log/pods")]
    pub pod_logs_dir: PathBuf,

    /// The cgroup under which pod cgroups are created.
    #[arg(long, default_value = "/")]
    pub cgroup_root: String,

    /// Cluster DNS server IPs, comma-separated (pods with dnsPolicy
    /// ClusterFirst use them; without any, they use the host's resolver).
    #[arg(long, value_delimiter = ',')]
    pub cluster_dns: Vec<String>,

    /// The cluster's DNS domain.
    #[arg(long, default_value = "cluster.local")]
    pub cluster_domain: String,

    /// The resolver config pods with dnsPolicy Default get.
    #[arg(long, default_value = "/etc/resolv.conf")]
    pub resolv_conf: PathBuf,

    /// The node's pod range, when not assigned by the controller-manager
    /// (standalone nodes).
    #[arg(long)]
    pub pod_cidr: Option<String>,

    /// Where the CNI network config is written (read by the runtime).
    #[arg(long, default_value = "/etc/cni/net.d")]
    pub cni_conf_dir: PathBuf,

    /// The Linux bridge pods are attached to (oxkube's CNI config).
    #[arg(long, default_value = "cni0")]
    pub cni_bridge: String,

    /// Register the node with the apiserver.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub register_node: bool,

    /// Labels to add when registering, `k=v,k2=v2`.
    #[arg(long, value_delimiter = ',', value_parser = parse_pair)]
    pub node_labels: Vec<(String, String)>,

    /// Taints to register with, `key=value:Effect`, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub register_with_taints: Vec<String>,

    /// Most pods this node runs.
    #[arg(long, default_value_t = 110)]
    pub max_pods: i64,

    /// Resources reserved for the system, `cpu=100m,memory=100Mi`.
    #[arg(long, value_delimiter = ',', value_parser = parse_pair)]
    pub system_reserved: Vec<(String, String)>,

    /// Resources reserved for Kubernetes daemons, `cpu=100m,memory=100Mi`.
    #[arg(long, value_delimiter = ',', value_parser = parse_pair)]
    pub kube_reserved: Vec<(String, String)>,

    /// Hard eviction thresholds, `memory.available<100Mi,nodefs.available<10%`.
    #[arg(long, value_delimiter = ',')]
    pub eviction_hard: Vec<String>,

    /// How often the node's status is computed (and posted when changed).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub node_status_update_frequency: Duration,

    /// How often every pod is synced even without events.
    #[arg(long, default_value = "1m", value_parser = humantime::parse_duration)]
    pub sync_frequency: Duration,

    /// Address the kubelet server (logs, exec, port-forward) listens on.
    #[arg(long, default_value = "0.0.0.0")]
    pub address: IpAddr,

    /// Port of the kubelet server (0: any free port, advertised in the
    /// Node's `status.daemonEndpoints`).
    #[arg(long, default_value_t = 10250)]
    pub port: u16,

    /// Address the kubelet's health endpoint listens on.
    #[arg(long, default_value = "127.0.0.1")]
    pub healthz_bind_address: IpAddr,

    /// Port of the health endpoint (0 disables it).
    #[arg(long, default_value_t = 10248)]
    pub healthz_port: u16,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected key=value, got {s:?}")),
    }
}

/// `k=v` pairs into a map.
pub fn pairs(v: &[(String, String)]) -> BTreeMap<String, String> {
    v.iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_flags_parse() {
        let o = Options::try_parse_from([
            "kubelet",
            "--kubeconfig=/etc/kubernetes/kubelet.conf",
            "--container-runtime-endpoint=unix:///run/c.sock",
            "--pod-manifest-path=/etc/m",
            "--node-labels=a=b,c=d",
            "--cluster-dns=10.96.0.10",
            "--register-node=false",
        ]);
        let o = o.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            o.node_labels,
            [("a".into(), "b".into()), ("c".into(), "d".into())]
        );
        assert!(!o.register_node);
        assert_eq!(o.max_pods, 110);
        assert_eq!((o.kube_api_qps, o.kube_api_burst), (50.0, 100));
        assert!(Options::try_parse_from(["kubelet", "--node-labels=oops"]).is_err());
    }
}
