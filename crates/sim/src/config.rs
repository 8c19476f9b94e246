//! What to simulate: how many nodes, their size, labels and taints, and how
//! often they report. [`SimConfig::plan`] turns it into one [`NodePlan`]
//! per node (name, addresses, pod range, zone) or says what is wrong.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use api_types::core::v1::Taint;
use api_types::labels::{is_dns1123_subdomain, validate_label_key, validate_label_value};
use api_types::quantity::Quantity;

use crate::error::Error;
use crate::ipam::{Ipv4Cidr, node_prefix_for};

/// The simulated nodes and how they behave.
///
/// `Default` gives one node of 32 CPUs, 256Gi memory and 110 pods that
/// renews its Lease every 10 s and refreshes its Ready condition every
/// minute.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// How many nodes.
    pub nodes: usize,
    /// Node `i` is named `<name_prefix><i>`.
    pub name_prefix: String,
    /// Capacity (= allocatable) of each node, as quantities.
    pub cpu: String,
    pub memory: String,
    pub pods: String,
    pub ephemeral_storage: String,
    /// Labels added to every node (besides hostname, os, arch, type, zone).
    pub labels: BTreeMap<String, String>,
    /// `0`: no zone label; else node `i` gets
    /// `topology.kubernetes.io/zone=zone-<i % zones>`.
    pub zones: usize,
    /// `spec.taints` of every node.
    pub taints: Vec<Taint>,
    /// How often each node renews its Lease (the kubelet's 10 s).
    pub lease_renew_interval: Duration,
    /// `spec.leaseDurationSeconds` of the Leases (the kubelet's 40).
    pub lease_duration_seconds: i32,
    /// How often each node refreshes its conditions' heartbeat through
    /// `nodes/status` (see the crate docs for why not 10 s).
    pub node_status_interval: Duration,
    /// Writes in flight at once, per kind of work (registration,
    /// heartbeats, pods).
    pub concurrency: usize,
    /// Where nodes' pod ranges (`spec.podCIDR`) come from, in order.
    pub cluster_cidr: String,
    /// Where nodes' InternalIPs come from: node `i` gets address `i + 1`.
    pub node_ip_cidr: String,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            nodes: 1,
            name_prefix: "sim-node-".into(),
            cpu: "32".into(),
            memory: "256Gi".into(),
            pods: "110".into(),
            ephemeral_storage: "1Ti".into(),
            labels: BTreeMap::new(),
            zones: 0,
            taints: Vec::new(),
            lease_renew_interval: Duration::from_secs(10),
            lease_duration_seconds: 40,
            node_status_interval: Duration::from_secs(60),
            concurrency: 32,
            cluster_cidr: "10.128.0.0/9".into(),
            node_ip_cidr: "10.64.0.0/10".into(),
        }
    }
}

/// One node to simulate, worked out from the config.
#[derive(Clone, Debug, PartialEq)]
pub struct NodePlan {
    pub index: usize,
    pub name: String,
    pub internal_ip: Ipv4Addr,
    /// Used unless the Node already exists with another one.
    pub pod_cidr: Ipv4Cidr,
    pub zone: Option<String>,
}

impl SimConfig {
    /// Checks the config and works out every node.
    ///
    /// # Errors
    /// [`Error::Config`] naming the bad setting.
    pub fn plan(&self) -> Result<Vec<NodePlan>, Error> {
        let bad = |m: String| Err(Error::Config(m));
        if self.concurrency == 0 {
            return bad("concurrency must be at least 1".into());
        }
        if self.lease_renew_interval.is_zero() || self.node_status_interval.is_zero() {
            return bad("the lease renew and node status intervals must be more than 0".into());
        }
        if self.lease_duration_seconds <= 0 {
            return bad("the lease duration must be more than 0 seconds".into());
        }
        for (what, q) in [
            ("cpu", &self.cpu),
            ("memory", &self.memory),
            ("pods", &self.pods),
            ("ephemeral-storage", &self.ephemeral_storage),
        ] {
            check_quantity(what, q)?;
        }
        let pods = Quantity(self.pods.clone())
            .parse()
            .map(|p| p.value())
            .unwrap_or_default();
        let pods = u64::try_from(pods).unwrap_or_default();
        let node_prefix = node_prefix_for(pods.max(1))
            .ok_or_else(|| Error::Config(format!("pods {pods}: too many per node")))?;
        for (k, v) in &self.labels {
            check_label(k, v)?;
        }
        for t in &self.taints {
            check_taint(t)?;
        }
        let cluster: Ipv4Cidr = self
            .cluster_cidr
            .parse()
            .map_err(|e| Error::Config(format!("cluster CIDR: {e}")))?;
        let node_ips: Ipv4Cidr = self
            .node_ip_cidr
            .parse()
            .map_err(|e| Error::Config(format!("node IP CIDR: {e}")))?;
        let n = self.nodes as u64;
        if cluster.subnet_count(node_prefix) < n {
            return bad(format!(
                "cluster CIDR {cluster} holds {} /{node_prefix} node ranges, not {n}",
                cluster.subnet_count(node_prefix)
            ));
        }
        // address 0 is the network's, the last its broadcast
        if node_ips.size() < n + 2 {
            return bad(format!(
                "node IP CIDR {node_ips} has room for fewer than {n} nodes"
            ));
        }
        let mut plans = Vec::with_capacity(self.nodes);
        for i in 0..self.nodes {
            let name = format!("{}{i}", self.name_prefix);
            if i == 0 || i + 1 == self.nodes {
                // The longest and shortest names tell for all of them.
                check_node_name(&name)?;
            }
            let idx = i as u64;
            let (Some(pod_cidr), Some(internal_ip)) =
                (cluster.subnet(node_prefix, idx), node_ips.nth(idx + 1))
            else {
                return bad(format!("no addresses left for node {name}"));
            };
            plans.push(NodePlan {
                index: i,
                name,
                internal_ip,
                pod_cidr,
                zone: (self.zones > 0).then(|| format!("zone-{}", i % self.zones)),
            });
        }
        Ok(plans)
    }
}

fn check_quantity(what: &str, q: &str) -> Result<(), Error> {
    match Quantity(q.to_string()).parse() {
        Ok(p) if p.nanos() < 0 => Err(Error::Config(format!("node {what} {q:?} is negative"))),
        Ok(_) => Ok(()),
        Err(e) => Err(Error::Config(format!("node {what} {q:?}: {e}"))),
    }
}

fn check_label(k: &str, v: &str) -> Result<(), Error> {
    validate_label_key(k).map_err(|e| Error::Config(format!("label key {k:?}: {e}")))?;
    validate_label_value(v).map_err(|e| Error::Config(format!("label {k}={v:?}: {e}")))
}

fn check_taint(t: &Taint) -> Result<(), Error> {
    validate_label_key(&t.key).map_err(|e| Error::Config(format!("taint key {:?}: {e}", t.key)))?;
    if let Some(v) = &t.value {
        validate_label_value(v)
            .map_err(|e| Error::Config(format!("taint {}={v:?}: {e}", t.key)))?;
    }
    match t.effect.as_str() {
        "NoSchedule" | "PreferNoSchedule" | "NoExecute" => Ok(()),
        other => Err(Error::Config(format!(
            "taint {}: effect {other:?} is not NoSchedule, PreferNoSchedule or NoExecute",
            t.key
        ))),
    }
}

/// A node name must be a DNS subdomain, and (being the hostname label's
/// value too) a valid label value.
fn check_node_name(name: &str) -> Result<(), Error> {
    let errs = is_dns1123_subdomain(name);
    if !errs.is_empty() {
        return Err(Error::Config(format!(
            "node name {name:?}: {}",
            errs.join("; ")
        )));
    }
    validate_label_value(name).map_err(|e| Error::Config(format!("node name {name:?}: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn plans_names_addresses_ranges_and_zones() {
        let cfg = SimConfig {
            nodes: 300,
            zones: 3,
            ..SimConfig::default()
        };
        let plans = cfg.plan().unwrap();
        assert_eq!(plans.len(), 300);
        let p = &plans[257];
        assert_eq!(p.name, "sim-node-257");
        assert_eq!(p.internal_ip.to_string(), "10.64.1.2");
        assert_eq!(p.pod_cidr.to_string(), "10.129.1.0/24");
        assert_eq!(p.zone.as_deref(), Some("zone-2"));
        assert_eq!(plans[0].internal_ip.to_string(), "10.64.0.1");
        let none = SimConfig::default().plan().unwrap();
        assert_eq!(none[0].zone, None);
    }

    #[test]
    fn bad_settings_are_named() {
        let err = |cfg: SimConfig| cfg.plan().unwrap_err().to_string();
        let e = err(SimConfig {
            cpu: "lots".into(),
            ..SimConfig::default()
        });
        assert!(e.contains("node cpu \"lots\""), "{e}");
        let e = err(SimConfig {
            memory: "-1Gi".into(),
            ..SimConfig::default()
        });
        assert!(e.contains("negative"), "{e}");
        let e = err(SimConfig {
            labels: [("bad key!".to_string(), "v".to_string())].into(),
            ..SimConfig::default()
        });
        assert!(e.contains("label key \"bad key!\""), "{e}");
        let e = err(SimConfig {
            name_prefix: "Sim_".into(),
            ..SimConfig::default()
        });
        assert!(e.contains("node name \"Sim_0\""), "{e}");
        let e = err(SimConfig {
            nodes: 3,
            cluster_cidr: "10.0.0.0/23".into(),
            ..SimConfig::default()
        });
        assert!(e.contains("holds 2 /24 node ranges, not 3"), "{e}");
        let e = err(SimConfig {
            taints: vec![Taint {
                key: "k".into(),
                effect: "Never".into(),
                ..Taint::default()
            }],
            ..SimConfig::default()
        });
        assert!(e.contains("effect \"Never\""), "{e}");
        let e = err(SimConfig {
            concurrency: 0,
            ..SimConfig::default()
        });
        assert!(e.contains("concurrency"), "{e}");
    }

    #[test]
    fn big_nodes_get_bigger_ranges() {
        let cfg = SimConfig {
            nodes: 2,
            pods: "500".into(),
            ..SimConfig::default()
        };
        let plans = cfg.plan().unwrap();
        assert_eq!(plans[1].pod_cidr.to_string(), "10.128.2.0/23");
    }
}
