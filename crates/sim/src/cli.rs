//! The flags of `oxkube-sim`, named after the kubelet's and kwok's where
//! they mean the same thing. Each value is checked while parsing, so a bad
//! one is reported by clap with the flag's name.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use api_types::core::v1::Taint;
use api_types::labels::{validate_label_key, validate_label_value};
use api_types::quantity::Quantity;
use clap::Parser;

use crate::config::SimConfig;
use crate::ipam::Ipv4Cidr;

/// oxkube-sim: simulated nodes for scheduler and controller tests at scale.
///
/// Registers nodes through the apiserver, keeps their Leases and status
/// fresh, and reports the pods bound to them as Running (nothing runs).
#[derive(Debug, Parser)]
#[command(name = "oxkube-sim", version)]
pub struct Options {
    /// Kubeconfig of the cluster (default: $KUBECONFIG, in-cluster, ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,

    /// How many nodes to simulate.
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,

    /// Node i is named <prefix><i>.
    #[arg(long, default_value = "sim-node-")]
    pub node_name_prefix: String,

    /// CPU capacity of each node (a quantity: 32, 7500m).
    #[arg(long, default_value = "32", value_parser = quantity)]
    pub node_cpu: String,

    /// Memory capacity of each node (a quantity: 256Gi).
    #[arg(long, default_value = "256Gi", value_parser = quantity)]
    pub node_memory: String,

    /// Maximum pods per node.
    #[arg(long, default_value = "110", value_parser = quantity)]
    pub node_pods: String,

    /// Ephemeral storage capacity of each node.
    #[arg(long, default_value = "1Ti", value_parser = quantity)]
    pub node_ephemeral_storage: String,

    /// Extra node labels: k=v,k2=v2.
    #[arg(long, value_parser = labels)]
    pub node_labels: Option<Labels>,

    /// Node taints: key=value:Effect,key:Effect.
    #[arg(long, value_parser = taints)]
    pub node_taints: Option<Taints>,

    /// Spread nodes over this many zones (topology.kubernetes.io/zone=zone-<i % zones>); 0: no zone label.
    #[arg(long, default_value_t = 0)]
    pub zones: usize,

    /// How often each node renews its Lease.
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub node_lease_renew_interval: Duration,

    /// The Leases' leaseDurationSeconds.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(i32).range(1..))]
    pub node_lease_duration_seconds: i32,

    /// How often each node refreshes its conditions' heartbeat in nodes/status.
    #[arg(long, default_value = "1m", value_parser = duration)]
    pub node_status_update_frequency: Duration,

    /// Requests in flight at once per kind of work (registration, heartbeats, pods).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: u32,

    /// Range the nodes' pod CIDRs are carved from (a /24 each, larger for more than 253 pods).
    #[arg(long, default_value = "10.128.0.0/9", value_parser = cidr)]
    pub cluster_cidr: String,

    /// Range the nodes' InternalIPs come from (node i gets address i+1).
    #[arg(long, default_value = "10.64.0.0/10", value_parser = cidr)]
    pub node_ip_cidr: String,

    /// Client-side rate limit towards the apiserver; 0: none.
    #[arg(long, default_value_t = 5000.0)]
    pub kube_api_qps: f32,

    /// Requests allowed in a burst above --kube-api-qps.
    #[arg(long, default_value_t = 10000)]
    pub kube_api_burst: u32,

    /// Delete the nodes (and their Leases) on SIGINT/SIGTERM.
    #[arg(long)]
    pub delete_nodes_on_exit: bool,

    /// More logs: -v debug, -vv trace (RUST_LOG wins when set).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Parsed `--node-labels`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Labels(pub BTreeMap<String, String>);

/// Parsed `--node-taints`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Taints(pub Vec<Taint>);

impl Options {
    /// The simulator config the flags describe.
    pub fn sim_config(&self) -> SimConfig {
        SimConfig {
            nodes: self.nodes,
            name_prefix: self.node_name_prefix.clone(),
            cpu: self.node_cpu.clone(),
            memory: self.node_memory.clone(),
            pods: self.node_pods.clone(),
            ephemeral_storage: self.node_ephemeral_storage.clone(),
            labels: self.node_labels.clone().unwrap_or_default().0,
            zones: self.zones,
            taints: self.node_taints.clone().unwrap_or_default().0,
            lease_renew_interval: self.node_lease_renew_interval,
            lease_duration_seconds: self.node_lease_duration_seconds,
            node_status_interval: self.node_status_update_frequency,
            concurrency: self.concurrency as usize,
            cluster_cidr: self.cluster_cidr.clone(),
            node_ip_cidr: self.node_ip_cidr.clone(),
        }
    }

    /// The log filter: `-v` levels, else `info`.
    pub fn log_filter(&self) -> &'static str {
        match self.verbose {
            0 => "info",
            1 => "info,sim=debug,oxkube_sim=debug",
            _ => "debug,sim=trace,oxkube_sim=trace",
        }
    }
}

fn quantity(s: &str) -> Result<String, String> {
    let q = Quantity(s.to_string())
        .parse()
        .map_err(|e| format!("not a quantity: {e}"))?;
    if q.nanos() < 0 {
        return Err("must not be negative".into());
    }
    Ok(s.to_string())
}

fn duration(s: &str) -> Result<Duration, String> {
    let d =
        humantime::parse_duration(s).map_err(|e| format!("not a duration like 10s or 1m: {e}"))?;
    if d.is_zero() {
        return Err("must be more than 0".into());
    }
    Ok(d)
}

fn cidr(s: &str) -> Result<String, String> {
    s.parse::<Ipv4Cidr>().map(|c| c.to_string())
}

fn labels(s: &str) -> Result<Labels, String> {
    let mut out = BTreeMap::new();
    for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("{pair:?} is not key=value"))?;
        validate_label_key(k).map_err(|e| format!("label key {k:?}: {e}"))?;
        validate_label_value(v).map_err(|e| format!("label {k}={v:?}: {e}"))?;
        out.insert(k.to_string(), v.to_string());
    }
    Ok(Labels(out))
}

/// `key=value:Effect` or `key:Effect`, comma separated (kubelet's
/// `--register-with-taints`).
fn taints(s: &str) -> Result<Taints, String> {
    let mut out = Vec::new();
    for t in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (kv, effect) = t
            .rsplit_once(':')
            .ok_or_else(|| format!("{t:?} is not key=value:Effect or key:Effect"))?;
        let (key, value) = match kv.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (kv, None),
        };
        validate_label_key(key).map_err(|e| format!("taint key {key:?}: {e}"))?;
        if let Some(v) = value {
            validate_label_value(v).map_err(|e| format!("taint {key}={v:?}: {e}"))?;
        }
        if !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
            return Err(format!(
                "taint {key}: effect {effect:?} is not NoSchedule, PreferNoSchedule or NoExecute"
            ));
        }
        out.push(Taint {
            key: key.to_string(),
            value: value.map(str::to_string),
            effect: effect.to_string(),
            time_added: None,
        });
    }
    Ok(Taints(out))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::try_parse_from(std::iter::once("oxkube-sim").chain(args.iter().copied()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_a_kubelet_like_node() {
        let o = parse(&[]).unwrap();
        let c = o.sim_config();
        assert_eq!(c.nodes, 1);
        assert_eq!(c.name_prefix, "sim-node-");
        assert_eq!(c.cpu, "32");
        assert_eq!(c.memory, "256Gi");
        assert_eq!(c.pods, "110");
        assert_eq!(c.lease_renew_interval, Duration::from_secs(10));
        assert_eq!(c.node_status_interval, Duration::from_secs(60));
        assert_eq!(c.lease_duration_seconds, 40);
        assert!(c.labels.is_empty() && c.taints.is_empty());
        assert!(c.plan().is_ok());
        assert_eq!(o.log_filter(), "info");
    }

    #[test]
    fn every_flag_reaches_the_config() {
        let o = parse(&[
            "--nodes=5000",
            "--node-name-prefix=n-",
            "--node-cpu=7500m",
            "--node-memory=64Gi",
            "--node-pods=250",
            "--node-labels=team=a, tier=batch",
            "--node-taints=dedicated=sim:NoSchedule,spot:PreferNoSchedule",
            "--zones=3",
            "--node-lease-renew-interval=2s",
            "--node-status-update-frequency=5m",
            "--kube-api-qps=100",
            "--kube-api-burst=200",
            "--concurrency=8",
            "--delete-nodes-on-exit",
            "-vv",
        ])
        .unwrap();
        let c = o.sim_config();
        assert_eq!(c.nodes, 5000);
        assert_eq!(c.cpu, "7500m");
        assert_eq!(c.labels.get("tier").map(String::as_str), Some("batch"));
        assert_eq!(c.taints.len(), 2);
        assert_eq!(c.taints[0].value.as_deref(), Some("sim"));
        assert_eq!(c.taints[1].value, None);
        assert_eq!(c.taints[1].effect, "PreferNoSchedule");
        assert_eq!(c.zones, 3);
        assert_eq!(c.lease_renew_interval, Duration::from_secs(2));
        assert_eq!(c.node_status_interval, Duration::from_secs(300));
        assert_eq!(c.concurrency, 8);
        assert!((o.kube_api_qps - 100.0).abs() < f32::EPSILON);
        assert!(o.delete_nodes_on_exit);
        assert!(o.log_filter().contains("trace"));
        assert!(c.plan().is_ok());
    }

    #[test]
    fn bad_values_name_the_flag_and_the_problem() {
        let e = parse(&["--node-cpu=lots"]).unwrap_err();
        assert!(
            e.contains("--node-cpu") && e.contains("not a quantity"),
            "{e}"
        );
        let e = parse(&["--node-memory=-1Gi"]).unwrap_err();
        assert!(e.contains("--node-memory") && e.contains("negative"), "{e}");
        let e = parse(&["--node-labels=team"]).unwrap_err();
        assert!(
            e.contains("--node-labels") && e.contains("\"team\" is not key=value"),
            "{e}"
        );
        let e = parse(&["--node-labels=bad key=x"]).unwrap_err();
        assert!(e.contains("label key \"bad key\""), "{e}");
        let e = parse(&["--node-labels=k=not valid"]).unwrap_err();
        assert!(e.contains("label k=\"not valid\""), "{e}");
        let e = parse(&["--node-taints=k=v:Sometimes"]).unwrap_err();
        assert!(e.contains("effect \"Sometimes\""), "{e}");
        let e = parse(&["--node-taints=k=v"]).unwrap_err();
        assert!(e.contains("key=value:Effect"), "{e}");
        let e = parse(&["--node-lease-renew-interval=soon"]).unwrap_err();
        assert!(
            e.contains("--node-lease-renew-interval") && e.contains("duration"),
            "{e}"
        );
        let e = parse(&["--node-status-update-frequency=0s"]).unwrap_err();
        assert!(e.contains("more than 0"), "{e}");
        let e = parse(&["--concurrency=0"]).unwrap_err();
        assert!(e.contains("--concurrency"), "{e}");
        let e = parse(&["--cluster-cidr=10.0.0.1/8"]).unwrap_err();
        assert!(e.contains("did you mean 10.0.0.0/8"), "{e}");
        let e = parse(&["--nodes=many"]).unwrap_err();
        assert!(e.contains("--nodes"), "{e}");
    }

    #[test]
    fn names_too_long_for_a_hostname_are_caught_before_starting() {
        let long = "n".repeat(62);
        // <62 n>0 .. <62 n>9 fit in a label value (63 characters), <62 n>10 does not
        let o = parse(&["--nodes=11", &format!("--node-name-prefix={long}")]).unwrap();
        let e = o.sim_config().plan().unwrap_err().to_string();
        assert!(e.contains("node name"), "{e}");
    }
}
