//! What a simulated node looks like through the API: the `Node` object it
//! registers, the patches that keep its conditions fresh, and its `Lease`.
//!
//! All pure: functions of the config, the node's plan and the time. The
//! [`crate::simulator`] sends them; unit tests read them.
//!
//! The values follow what a real kubelet writes (`pkg/kubelet/nodestatus`
//! upstream), so that the scheduler, `kubectl describe node` and the node
//! lifecycle controller cannot tell the difference; only `nodeInfo` and the
//! `type=oxkube-sim` label say the truth.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::Ipv4Addr;

use api_types::coordination::v1::{Lease, LeaseSpec};
use api_types::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec, NodeStatus,
    NodeSystemInfo,
};
use api_types::meta::v1::{MicroTime, ObjectMeta, OwnerReference, Time};
use api_types::quantity::Quantity;
use serde_json::{Value, json};

use crate::config::{NodePlan, SimConfig};
use crate::ipam::Ipv4Cidr;

/// The label every simulated node carries (`type=oxkube-sim`), so that
/// workloads can target or avoid them and `kubectl get nodes -l` finds them.
pub const SIM_LABEL: (&str, &str) = ("type", "oxkube-sim");
/// Where node Leases live (upstream's `kube-node-lease`).
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";
/// `status.nodeInfo.kubeletVersion`.
pub const KUBELET_VERSION: &str = "v1.33.0-oxkube-sim";
/// `status.nodeInfo.containerRuntimeVersion`; also the scheme of container IDs.
pub const RUNTIME_VERSION: &str = "sim://1.0";
/// The kubelet's port, reported in `status.daemonEndpoints` (nothing
/// listens there: `kubectl logs` and `exec` fail as for an unreachable node).
pub const KUBELET_PORT: i32 = 10250;

/// The zone label (`topology.kubernetes.io/zone`).
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// The four conditions a kubelet reports, in its order, with the reason and
/// message upstream's setters use when all is well.
const CONDITIONS: [(&str, &str, &str, &str); 4] = [
    (
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
    ),
    (
        "DiskPressure",
        "False",
        "KubeletHasNoDiskPressure",
        "kubelet has no disk pressure",
    ),
    (
        "PIDPressure",
        "False",
        "KubeletHasSufficientPID",
        "kubelet has sufficient PID available",
    ),
    (
        "Ready",
        "True",
        "KubeletReady",
        "kubelet is posting ready status",
    ),
];

/// The condition types the simulator owns.
pub fn condition_types() -> impl Iterator<Item = &'static str> {
    CONDITIONS.iter().map(|c| c.0)
}

/// The labels of a node: the kubelet's well-known ones, ours, the zone,
/// then the configured extras (which may override all but the hostname).
pub fn node_labels(cfg: &SimConfig, plan: &NodePlan) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    let mut set = |k: &str, v: &str| {
        l.insert(k.to_string(), v.to_string());
    };
    set("kubernetes.io/os", "linux");
    set("kubernetes.io/arch", "amd64");
    // Still set by kubelets for old selectors.
    set("beta.kubernetes.io/os", "linux");
    set("beta.kubernetes.io/arch", "amd64");
    set(SIM_LABEL.0, SIM_LABEL.1);
    if let Some(zone) = &plan.zone {
        set(ZONE_LABEL, zone);
    }
    l.extend(cfg.labels.clone());
    l.insert("kubernetes.io/hostname".into(), plan.name.clone());
    l
}

/// Capacity, which is also allocatable: a simulated node reserves nothing
/// for system daemons it does not run.
pub fn resources(cfg: &SimConfig) -> BTreeMap<String, Quantity> {
    [
        ("cpu", &cfg.cpu),
        ("memory", &cfg.memory),
        ("pods", &cfg.pods),
        ("ephemeral-storage", &cfg.ephemeral_storage),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Quantity(v.clone())))
    .collect()
}

/// All four conditions, as of `now`, having been so since `since`.
pub fn conditions(now: Time, since: Time) -> Vec<NodeCondition> {
    CONDITIONS
        .iter()
        .map(|(type_, status, reason, message)| NodeCondition {
            type_: (*type_).into(),
            status: (*status).into(),
            last_heartbeat_time: Some(now),
            last_transition_time: Some(since),
            reason: Some((*reason).into()),
            message: Some((*message).into()),
        })
        .collect()
}

/// The whole status a node registers with.
pub fn node_status(cfg: &SimConfig, plan: &NodePlan, boot: &str, now: Time) -> NodeStatus {
    let resources = resources(cfg);
    NodeStatus {
        capacity: Some(resources.clone()),
        allocatable: Some(resources),
        conditions: Some(conditions(now, now)),
        addresses: Some(vec![
            NodeAddress {
                type_: "InternalIP".into(),
                address: plan.internal_ip.to_string(),
            },
            NodeAddress {
                type_: "Hostname".into(),
                address: plan.name.clone(),
            },
        ]),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint { port: KUBELET_PORT }),
        }),
        node_info: Some(NodeSystemInfo {
            machine_id: hex_id(&[&plan.name, "machine"], 32),
            system_uuid: uuid_like(&hex_id(&[&plan.name, "system"], 32)),
            boot_id: uuid_like(&hex_id(&[&plan.name, boot], 32)),
            kernel_version: "6.1.0-oxkube-sim".into(),
            os_image: "oxkube simulated node".into(),
            container_runtime_version: RUNTIME_VERSION.into(),
            kubelet_version: KUBELET_VERSION.into(),
            kube_proxy_version: String::new(),
            operating_system: "linux".into(),
            architecture: "amd64".into(),
            swap: None,
        }),
        ..NodeStatus::default()
    }
}

/// The `Node` a simulated node registers (POST /api/v1/nodes).
pub fn node_object(cfg: &SimConfig, plan: &NodePlan, boot: &str, now: Time) -> Node {
    let annotations = [
        // what kubelets write: attach/detach is the controller's job, and
        // no object TTL caching for this node
        (
            "volumes.kubernetes.io/controller-managed-attach-detach",
            "true",
        ),
        ("node.alpha.kubernetes.io/ttl", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Node {
        metadata: ObjectMeta {
            name: plan.name.clone(),
            labels: node_labels(cfg, plan),
            annotations,
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec {
            pod_cidr: Some(plan.pod_cidr.to_string()),
            pod_cidrs: Some(vec![plan.pod_cidr.to_string()]),
            taints: (!cfg.taints.is_empty()).then(|| cfg.taints.clone()),
            ..NodeSpec::default()
        }),
        status: Some(node_status(cfg, plan, boot, now)),
        ..Node::default()
    }
}

/// A merge patch that takes over a Node that already exists (from an
/// earlier run): our labels and taints, and our pod range if it has none.
/// A pod range it already has stays (it cannot change), and is used.
pub fn adopt_patch(cfg: &SimConfig, plan: &NodePlan, existing: &Node) -> Value {
    let mut spec = json!({});
    if !cfg.taints.is_empty() {
        // Only when asked for: taints others put on (a cordon, the node
        // lifecycle controller's) are not ours to remove.
        spec["taints"] = json!(cfg.taints);
    }
    let has_cidr = existing
        .spec
        .as_ref()
        .and_then(|s| s.pod_cidr.as_deref())
        .is_some_and(|c| !c.is_empty());
    if !has_cidr {
        spec["podCIDR"] = json!(plan.pod_cidr.to_string());
        spec["podCIDRs"] = json!([plan.pod_cidr.to_string()]);
    }
    json!({
        "metadata": { "labels": node_labels(cfg, plan) },
        "spec": spec,
    })
}

/// The pod range a Node has (`spec.podCIDR`), if it is an IPv4 one.
pub fn pod_cidr_of(node: &Node) -> Option<Ipv4Cidr> {
    node.spec.as_ref()?.pod_cidr.as_deref()?.parse().ok()
}

/// A merge patch of `nodes/status` that sets the whole status (adoption).
pub fn status_patch(status: &NodeStatus) -> Value {
    json!({ "status": status })
}

/// The periodic heartbeat: a strategic merge patch of `nodes/status` that
/// refreshes `lastHeartbeatTime` of each condition (merged by `type`, so
/// conditions others own, like `NetworkUnavailable`, stay). It leaves
/// `lastTransitionTime` out so the stored one is kept; see
/// [`moved_transitions`] for when someone else changed a condition.
pub fn heartbeat_patch(now: Time) -> Value {
    let conditions: Vec<Value> = CONDITIONS
        .iter()
        .map(|(type_, status, reason, message)| {
            json!({
                "type": type_,
                "status": status,
                "reason": reason,
                "message": message,
                "lastHeartbeatTime": now,
            })
        })
        .collect();
    json!({ "status": { "conditions": conditions } })
}

/// The conditions whose `lastTransitionTime` in `node` is not the one we
/// last wrote (`ours`): someone else (the node lifecycle controller, when
/// heartbeats stopped) changed them in between, so our heartbeat was in
/// fact a transition back, and its time must say so.
pub fn moved_transitions(node: &Node, ours: &BTreeMap<String, Time>) -> Vec<&'static str> {
    let stored: BTreeMap<&str, Option<Time>> = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .map(|cs| {
            cs.iter()
                .map(|c| (c.type_.as_str(), c.last_transition_time))
                .collect()
        })
        .unwrap_or_default();
    condition_types()
        .filter(|t| stored.get(t).copied().flatten() != ours.get(*t).copied())
        .collect()
}

/// A strategic merge patch that marks `types` as having changed at `now`.
pub fn transition_patch(types: &[&str], now: Time) -> Value {
    let conditions: Vec<Value> = CONDITIONS
        .iter()
        .filter(|c| types.contains(&c.0))
        .map(|(type_, status, reason, message)| {
            json!({
                "type": type_,
                "status": status,
                "reason": reason,
                "message": message,
                "lastHeartbeatTime": now,
                "lastTransitionTime": now,
            })
        })
        .collect();
    json!({ "status": { "conditions": conditions } })
}

/// The node's Lease, owned by its Node (so deleting the Node lets the
/// garbage collector delete the Lease, as for real kubelets).
pub fn lease_object(node: &str, node_uid: &str, duration: i32, now: MicroTime) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: node.to_string(),
            namespace: NODE_LEASE_NAMESPACE.into(),
            owner_references: vec![OwnerReference {
                api_version: "v1".into(),
                kind: "Node".into(),
                name: node.to_string(),
                uid: node_uid.to_string(),
                controller: None,
                block_owner_deletion: None,
            }],
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(node.to_string()),
            lease_duration_seconds: Some(duration),
            renew_time: Some(now),
            ..LeaseSpec::default()
        }),
        ..Lease::default()
    }
}

/// A renewal: a merge patch of the Lease's spec. The kubelet does a GET
/// then a PUT of its cached copy; one PATCH is half the requests and
/// cannot conflict, which matters with thousands of nodes.
pub fn lease_renew_patch(node: &str, duration: i32, now: MicroTime) -> Value {
    json!({
        "spec": {
            "holderIdentity": node,
            "leaseDurationSeconds": duration,
            "renewTime": now,
        }
    })
}

/// `len` hex digits derived from `parts` (stable within a build): machine
/// and container IDs that look the part and are the same on every retry.
pub fn hex_id(parts: &[&str], len: usize) -> String {
    let mut out = String::with_capacity(len + 16);
    let mut round = 0u64;
    while out.len() < len {
        let mut h = DefaultHasher::new();
        parts.hash(&mut h);
        round.hash(&mut h);
        out.push_str(&format!("{:016x}", h.finish()));
        round += 1;
    }
    out.truncate(len);
    out
}

/// 32 hex digits as `8-4-4-4-12`.
fn uuid_like(hex: &str) -> String {
    let p = |a: usize, b: usize| hex.get(a..b).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        p(0, 8),
        p(8, 12),
        p(12, 16),
        p(16, 20),
        p(20, 32)
    )
}

/// The node's InternalIP from its status.
pub fn internal_ip_of(node: &Node) -> Option<Ipv4Addr> {
    node.status
        .as_ref()?
        .addresses
        .as_ref()?
        .iter()
        .find(|a| a.type_ == "InternalIP")?
        .address
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn plan() -> NodePlan {
        let cfg = SimConfig {
            nodes: 5,
            zones: 2,
            ..SimConfig::default()
        };
        cfg.plan().unwrap().remove(4)
    }

    #[test]
    fn a_node_registers_like_a_kubelet() {
        let cfg = SimConfig {
            labels: [("team".to_string(), "a".to_string())].into(),
            ..SimConfig::default()
        };
        let now = Time::now();
        let node = node_object(&cfg, &plan(), "boot1", now);
        let v = serde_json::to_value(&node).unwrap();
        assert_eq!(v["metadata"]["name"], "sim-node-4");
        let labels = &v["metadata"]["labels"];
        assert_eq!(labels["kubernetes.io/hostname"], "sim-node-4");
        assert_eq!(labels["kubernetes.io/os"], "linux");
        assert_eq!(labels["kubernetes.io/arch"], "amd64");
        assert_eq!(labels["type"], "oxkube-sim");
        assert_eq!(labels["topology.kubernetes.io/zone"], "zone-0");
        assert_eq!(labels["team"], "a");
        assert_eq!(v["spec"]["podCIDR"], "10.128.4.0/24");
        assert_eq!(v["spec"]["podCIDRs"][0], "10.128.4.0/24");
        assert!(v["spec"].get("taints").is_none());
        let st = &v["status"];
        assert_eq!(st["capacity"], st["allocatable"]);
        assert_eq!(st["capacity"]["cpu"], "32");
        assert_eq!(st["capacity"]["memory"], "256Gi");
        assert_eq!(st["capacity"]["pods"], "110");
        assert_eq!(st["addresses"][0]["type"], "InternalIP");
        assert_eq!(st["addresses"][0]["address"], "10.64.0.5");
        assert_eq!(st["addresses"][1]["type"], "Hostname");
        assert_eq!(st["daemonEndpoints"]["kubeletEndpoint"]["Port"], 10250);
        assert_eq!(st["nodeInfo"]["kubeletVersion"], KUBELET_VERSION);
        assert_eq!(st["nodeInfo"]["containerRuntimeVersion"], "sim://1.0");
        assert_eq!(st["nodeInfo"]["systemUUID"].as_str().unwrap().len(), 36);
        let ready = &st["conditions"][3];
        assert_eq!(ready["type"], "Ready");
        assert_eq!(ready["status"], "True");
        assert_eq!(ready["reason"], "KubeletReady");
        assert_eq!(ready["message"], "kubelet is posting ready status");
        assert_eq!(st["conditions"][0]["reason"], "KubeletHasSufficientMemory");
        assert_eq!(st["conditions"][1]["status"], "False");
    }

    #[test]
    fn the_hostname_label_cannot_be_overridden() {
        let cfg = SimConfig {
            labels: [("kubernetes.io/hostname".to_string(), "x".to_string())].into(),
            ..SimConfig::default()
        };
        assert_eq!(
            node_labels(&cfg, &plan())["kubernetes.io/hostname"],
            "sim-node-4"
        );
    }

    #[test]
    fn heartbeats_keep_transition_times() {
        let now = Time::now();
        let p = heartbeat_patch(now);
        let conds = p["status"]["conditions"].as_array().unwrap();
        assert_eq!(conds.len(), 4);
        assert!(conds.iter().all(|c| c.get("lastTransitionTime").is_none()));
        assert!(conds.iter().all(|c| c["lastHeartbeatTime"] == json!(now)));
    }

    #[test]
    fn a_transition_by_someone_else_is_noticed() {
        let t0 = Time::parse("2025-01-01T00:00:00Z").unwrap();
        let t1 = Time::parse("2025-01-01T00:05:00Z").unwrap();
        let ours: BTreeMap<String, Time> = condition_types().map(|t| (t.into(), t0)).collect();
        let mut node = Node {
            status: Some(NodeStatus {
                conditions: Some(conditions(t1, t0)),
                ..NodeStatus::default()
            }),
            ..Node::default()
        };
        assert!(moved_transitions(&node, &ours).is_empty());
        // the node lifecycle controller set Ready=Unknown at t1; our
        // heartbeat put True back but the transition time is theirs
        if let Some(c) = node
            .status
            .as_mut()
            .and_then(|s| s.conditions.as_mut())
            .and_then(|c| c.iter_mut().find(|c| c.type_ == "Ready"))
        {
            c.last_transition_time = Some(t1);
        }
        assert_eq!(moved_transitions(&node, &ours), ["Ready"]);
        let fix = transition_patch(&["Ready"], t1);
        assert_eq!(
            fix["status"]["conditions"][0]["lastTransitionTime"],
            json!(t1)
        );
        assert_eq!(fix["status"]["conditions"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn leases_are_held_by_their_node_and_owned_by_it() {
        let now = MicroTime::now();
        let l = lease_object("n1", "uid-1", 40, now);
        let v = serde_json::to_value(&l).unwrap();
        assert_eq!(v["metadata"]["namespace"], "kube-node-lease");
        assert_eq!(v["metadata"]["ownerReferences"][0]["kind"], "Node");
        assert_eq!(v["metadata"]["ownerReferences"][0]["uid"], "uid-1");
        assert_eq!(v["spec"]["holderIdentity"], "n1");
        assert_eq!(v["spec"]["leaseDurationSeconds"], 40);
        let p = lease_renew_patch("n1", 40, now);
        assert_eq!(p["spec"]["renewTime"], json!(now));
    }

    #[test]
    fn adopting_keeps_an_existing_pod_range() {
        let cfg = SimConfig::default();
        let mut existing = node_object(&cfg, &plan(), "b", Time::now());
        if let Some(s) = existing.spec.as_mut() {
            s.pod_cidr = Some("10.0.7.0/24".into());
        }
        let p = adopt_patch(&cfg, &plan(), &existing);
        assert!(p["spec"].get("podCIDR").is_none());
        assert_eq!(pod_cidr_of(&existing).unwrap().to_string(), "10.0.7.0/24");
        let bare = Node::default();
        let p = adopt_patch(&cfg, &plan(), &bare);
        assert_eq!(p["spec"]["podCIDR"], "10.128.4.0/24");
        assert_eq!(p["metadata"]["labels"]["type"], "oxkube-sim");
    }

    #[test]
    fn ids_are_stable_and_sized() {
        assert_eq!(hex_id(&["a", "b"], 64), hex_id(&["a", "b"], 64));
        assert_ne!(hex_id(&["a", "b"], 64), hex_id(&["a", "c"], 64));
        assert_eq!(hex_id(&["x"], 64).len(), 64);
        assert_eq!(uuid_like(&hex_id(&["x"], 32)).len(), 36);
    }
}
