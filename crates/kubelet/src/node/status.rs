//! The `Node` object a kubelet writes, computed from its configuration,
//! the host and the container runtime. All pure: "decide" here, "act" in
//! [`super::register`] and [`super::reporter`].
//!
//! This mirrors upstream's `initialNode` (`pkg/kubelet/kubelet_node_status.go`)
//! and the setters of `pkg/kubelet/nodestatus`: addresses, machine info
//! (capacity, allocatable), version info, daemon endpoints, and the four
//! conditions, `Ready` last. Condition reasons and messages are upstream's
//! word for word, because people and tools grep for them.
//!
//! # Conditions and their times
//! Every status write refreshes each condition's `lastHeartbeatTime`;
//! `lastTransitionTime` moves only when the condition's `status` changes,
//! so it answers "since when is this node (not) Ready".

use std::collections::BTreeMap;
use std::net::IpAddr;

use api_types::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec, NodeStatus,
    NodeSystemInfo, Taint,
};
use api_types::meta::v1::{ObjectMeta, Time};
use api_types::quantity::{Format, ParsedQuantity, Quantity};
use serde_json::{Value, json};

use super::error::{Error, Result};
use super::eviction::EvictionThresholds;
use super::host::HostFacts;

/// `status.nodeInfo.kubeletVersion`.
pub const KUBELET_VERSION: &str = "v1.33.0-oxkube";
/// Set on every Node: volumes are attached by the attach/detach controller,
/// not by the kubelet (upstream's default `--enable-controller-attach-detach`).
pub const CONTROLLER_ATTACH_DETACH_ANNOTATION: &str =
    "volumes.kubernetes.io/controller-managed-attach-detach";
/// The taint a node registered as unschedulable carries.
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// How this kubelet describes its node: the flags that end up in the
/// Node object.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeConfig {
    /// The Node's name (`--hostname-override`, else the host's name); also
    /// the `kubernetes.io/hostname` label and the `Hostname` address.
    pub name: String,
    /// `--node-ip`. When `None`: the name if it is an IP, else the address
    /// of the default route's interface ([`HostFacts::default_ip`]).
    pub node_ip: Option<IpAddr>,
    /// `--node-labels`, applied over the well-known ones (as upstream,
    /// they may override them).
    pub labels: BTreeMap<String, String>,
    /// `--pod-cidr`: written to `spec.podCIDR` at registration. Usually
    /// `None`: the controller-manager's IPAM assigns one.
    pub pod_cidr: Option<String>,
    /// `--max-pods`: the `pods` capacity.
    pub max_pods: i64,
    /// `--system-reserved`: for the OS daemons (sshd, systemd ...).
    pub system_reserved: BTreeMap<String, Quantity>,
    /// `--kube-reserved`: for the kubelet and the container runtime.
    pub kube_reserved: BTreeMap<String, Quantity>,
    /// `--eviction-hard`.
    pub eviction_hard: EvictionThresholds,
    /// The kubelet API's port, advertised in `status.daemonEndpoints`.
    pub kubelet_port: i32,
    /// `--register-with-taints`: only applied when the Node is created.
    pub register_with_taints: Vec<Taint>,
    /// `--register-schedulable=false`: create the Node cordoned.
    pub unschedulable: bool,
}

impl NodeConfig {
    /// Upstream's defaults for a node called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        NodeConfig {
            name: name.into(),
            node_ip: None,
            labels: BTreeMap::new(),
            pod_cidr: None,
            max_pods: 110,
            system_reserved: BTreeMap::new(),
            kube_reserved: BTreeMap::new(),
            eviction_hard: EvictionThresholds::default(),
            kubelet_port: 10250,
            register_with_taints: Vec::new(),
            unschedulable: false,
        }
    }

    /// Checks what the builder would otherwise have to ignore: reserved
    /// amounts that are not quantities.
    ///
    /// # Errors
    /// [`Error::Reserved`] naming the bad entry.
    pub fn validate(&self) -> Result<()> {
        for (what, map) in [
            ("system-reserved", &self.system_reserved),
            ("kube-reserved", &self.kube_reserved),
        ] {
            for (key, q) in map {
                q.parse().map_err(|source| Error::Reserved {
                    what,
                    key: key.clone(),
                    value: q.0.clone(),
                    source,
                })?;
            }
        }
        Ok(())
    }
}

/// What the container runtime says about itself (CRI `Version` and
/// `Status`), as the node status needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuntimeFacts {
    /// `<runtime_name>://<runtime_version>`, e.g. `containerd://1.7.20`.
    pub runtime_version: String,
    /// CRI condition `RuntimeReady`.
    pub runtime_ready: bool,
    /// CRI condition `NetworkReady` (false until a CNI config exists).
    pub network_ready: bool,
    /// Why not ready, in upstream's words, e.g. `container runtime network
    /// not ready: NetworkReady=false reason:NetworkPluginNotReady
    /// message:...`; becomes the `Ready` condition's message. When empty
    /// and something is not ready, a generic message is used.
    pub not_ready_message: String,
}

/// Upstream's `utilerrors.NewAggregate(errs).Error()`: one message alone,
/// several as `[a, b]`, duplicates dropped.
pub fn aggregate(messages: &[String]) -> String {
    let mut unique: Vec<&str> = Vec::new();
    for m in messages {
        if !unique.contains(&m.as_str()) {
            unique.push(m);
        }
    }
    match unique.as_slice() {
        [one] => (*one).to_string(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// The labels of the Node: `kubernetes.io/hostname`, OS and architecture
/// (also under the old `beta.` names, still set by upstream), then the
/// configured extras.
pub fn node_labels(cfg: &NodeConfig, host: &HostFacts) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = [
        ("kubernetes.io/hostname", cfg.name.as_str()),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", host.architecture.as_str()),
        ("beta.kubernetes.io/os", "linux"),
        ("beta.kubernetes.io/arch", host.architecture.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    labels.extend(cfg.labels.clone());
    labels
}

/// `InternalIP` (when one is known) then `Hostname`.
pub fn node_addresses(cfg: &NodeConfig, host: &HostFacts) -> Vec<NodeAddress> {
    let ip = cfg
        .node_ip
        .or_else(|| cfg.name.parse().ok())
        .or(host.default_ip);
    ip.map(|ip| NodeAddress {
        type_: "InternalIP".into(),
        address: ip.to_string(),
    })
    .into_iter()
    .chain(std::iter::once(NodeAddress {
        type_: "Hostname".into(),
        address: cfg.name.clone(),
    }))
    .collect()
}

fn quantity(value: i128, format: Format) -> Quantity {
    Quantity(
        ParsedQuantity::from_nanos(value.saturating_mul(1_000_000_000), format)
            .to_canonical_string(),
    )
}

/// The `hugepages-<size>` resource name (`hugepages-2Mi`, `hugepages-1Gi`).
pub fn hugepages_resource(page_size: u64) -> String {
    format!(
        "hugepages-{}",
        ParsedQuantity::from_value(
            i64::try_from(page_size).unwrap_or(i64::MAX),
            Format::BinarySI
        )
    )
}

/// What the node has: `cpu`, `memory`, `ephemeral-storage`, `pods` and
/// one `hugepages-<size>` per page size (`hugepages-2Mi: 0` when the host
/// reports none, as cAdvisor does).
pub fn capacity(cfg: &NodeConfig, host: &HostFacts) -> BTreeMap<String, Quantity> {
    let mut cap = BTreeMap::from([
        (
            "cpu".to_string(),
            quantity(host.cpus.into(), Format::DecimalSI),
        ),
        (
            "memory".to_string(),
            quantity(host.memory_total_bytes.into(), Format::BinarySI),
        ),
        (
            "ephemeral-storage".to_string(),
            quantity(host.fs_capacity_bytes.into(), Format::BinarySI),
        ),
        (
            "pods".to_string(),
            quantity(cfg.max_pods.into(), Format::DecimalSI),
        ),
    ]);
    if host.hugepages.is_empty() {
        cap.insert(hugepages_resource(2 << 20), Quantity("0".into()));
    }
    for (size, total) in &host.hugepages {
        cap.insert(
            hugepages_resource(*size),
            quantity((*total).into(), Format::BinarySI),
        );
    }
    cap
}

/// What pods may use (upstream's node allocatable):
/// `capacity - system_reserved - kube_reserved - hard eviction threshold`
/// per resource, never below zero; memory also loses the huge pages
/// (they are carved out of `MemTotal` but usable only as huge pages).
pub fn allocatable(
    cfg: &NodeConfig,
    capacity: &BTreeMap<String, Quantity>,
) -> BTreeMap<String, Quantity> {
    let parse = |q: &Quantity| q.parse().ok();
    let bytes = |name: &str| {
        capacity
            .get(name)
            .and_then(parse)
            .map_or(0, |q| i128::from(q.value()))
    };
    let eviction = cfg
        .eviction_hard
        .reservation(bytes("memory"), bytes("ephemeral-storage"));
    let hugepages: ParsedQuantity = capacity
        .iter()
        .filter(|(k, _)| k.starts_with("hugepages-"))
        .filter_map(|(_, q)| parse(q))
        .fold(ParsedQuantity::default(), |acc, q| {
            acc.add(&q).unwrap_or(acc)
        });
    capacity
        .iter()
        .map(|(name, cap)| {
            let Some(mut value) = parse(cap) else {
                return (name.clone(), cap.clone());
            };
            let reserved = [&cfg.system_reserved, &cfg.kube_reserved]
                .into_iter()
                .filter_map(|m| m.get(name).and_then(parse));
            for r in reserved {
                value = value.sub(&r).unwrap_or(value);
            }
            if let Some(e) = eviction.get(name.as_str()) {
                let e = ParsedQuantity::from_nanos(e.saturating_mul(1_000_000_000), value.format());
                value = value.sub(&e).unwrap_or(value);
            }
            if name == "memory" {
                value = value.sub(&hugepages).unwrap_or(value);
            }
            if value.nanos() < 0 {
                value = ParsedQuantity::from_nanos(0, value.format());
            }
            (name.clone(), Quantity(value.to_canonical_string()))
        })
        .collect()
}

/// One condition as of `now`, keeping the previous transition time when
/// the status did not change.
fn condition(
    type_: &str,
    (status, reason, message): (&str, &str, String),
    previous: Option<&NodeCondition>,
    now: Time,
) -> NodeCondition {
    let since = previous
        .filter(|p| p.status == status)
        .and_then(|p| p.last_transition_time)
        .unwrap_or(now);
    NodeCondition {
        type_: type_.into(),
        status: status.into(),
        last_heartbeat_time: Some(now),
        last_transition_time: Some(since),
        reason: Some(reason.into()),
        message: Some(message),
    }
}

/// The four conditions the kubelet owns, in upstream's order (`Ready` last:
/// old clients read the last condition as readiness).
pub fn conditions(
    cfg: &NodeConfig,
    host: &HostFacts,
    runtime: &RuntimeFacts,
    previous: &[NodeCondition],
    now: Time,
) -> Vec<NodeCondition> {
    let pressure = |cond: &str| cfg.eviction_hard.under_pressure(host, cond);
    let pick = |yes: bool,
                t: (&'static str, &'static str, &'static str),
                f: (&'static str, &'static str, &'static str)| {
        let (s, r, m) = if yes { t } else { f };
        (s, r, m.to_string())
    };
    let memory = pick(
        pressure("MemoryPressure"),
        (
            "True",
            "KubeletHasInsufficientMemory",
            "kubelet has insufficient memory available",
        ),
        (
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
    );
    let disk = pick(
        pressure("DiskPressure"),
        (
            "True",
            "KubeletHasDiskPressure",
            "kubelet has disk pressure",
        ),
        (
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        ),
    );
    let pid = pick(
        pressure("PIDPressure"),
        (
            "True",
            "KubeletHasInsufficientPID",
            "kubelet has insufficient PID available",
        ),
        (
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
    );
    let ready = if runtime.runtime_ready && runtime.network_ready {
        (
            "True",
            "KubeletReady",
            "kubelet is posting ready status".to_string(),
        )
    } else {
        let message = if runtime.not_ready_message.is_empty() {
            let mut errs = Vec::new();
            if !runtime.runtime_ready {
                errs.push("container runtime not ready".to_string());
            }
            if !runtime.network_ready {
                errs.push("container runtime network not ready".to_string());
            }
            aggregate(&errs)
        } else {
            runtime.not_ready_message.clone()
        };
        ("False", "KubeletNotReady", message)
    };
    let prev = |t: &str| previous.iter().find(|c| c.type_ == t);
    [
        ("MemoryPressure", memory),
        ("DiskPressure", disk),
        ("PIDPressure", pid),
        ("Ready", ready),
    ]
    .into_iter()
    .map(|(t, v)| condition(t, v, prev(t), now))
    .collect()
}

/// The status the kubelet reports, as of `now`. `previous` is the status
/// stored in the apiserver (for transition times), `None` at registration.
pub fn node_status(
    cfg: &NodeConfig,
    host: &HostFacts,
    runtime: &RuntimeFacts,
    previous: Option<&NodeStatus>,
    now: Time,
) -> NodeStatus {
    let cap = capacity(cfg, host);
    let previous_conditions = previous
        .and_then(|p| p.conditions.as_deref())
        .unwrap_or_default();
    NodeStatus {
        allocatable: Some(allocatable(cfg, &cap)),
        capacity: Some(cap),
        conditions: Some(conditions(cfg, host, runtime, previous_conditions, now)),
        addresses: Some(node_addresses(cfg, host)),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint {
                port: cfg.kubelet_port,
            }),
        }),
        node_info: Some(NodeSystemInfo {
            machine_id: host.machine_id.clone(),
            system_uuid: host.system_uuid.clone(),
            boot_id: host.boot_id.clone(),
            kernel_version: host.kernel_version.clone(),
            os_image: host.os_image.clone(),
            container_runtime_version: runtime.runtime_version.clone(),
            kubelet_version: KUBELET_VERSION.into(),
            // deprecated upstream (1.31+): kubelets leave it empty
            kube_proxy_version: String::new(),
            operating_system: "linux".into(),
            architecture: host.architecture.clone(),
            swap: None,
        }),
        ..NodeStatus::default()
    }
}

/// The Node this kubelet registers (POST /api/v1/nodes).
///
/// `spec.taints` are the configured ones, plus
/// `node.kubernetes.io/unschedulable:NoSchedule` when registering cordoned.
/// Upstream also registers with `node.kubernetes.io/not-ready:NoSchedule`
/// and relies on the node lifecycle controller to remove it; oxkube has no
/// such controller yet and its scheduler reads the `Ready` condition
/// directly, so the taint would never go away: it is not added.
pub fn node_object(cfg: &NodeConfig, host: &HostFacts, runtime: &RuntimeFacts, now: Time) -> Node {
    let mut taints = cfg.register_with_taints.clone();
    if cfg.unschedulable && !taints.iter().any(|t| t.key == TAINT_UNSCHEDULABLE) {
        taints.push(Taint {
            key: TAINT_UNSCHEDULABLE.into(),
            effect: "NoSchedule".into(),
            ..Taint::default()
        });
    }
    Node {
        metadata: ObjectMeta {
            name: cfg.name.clone(),
            labels: node_labels(cfg, host),
            annotations: BTreeMap::from([(
                CONTROLLER_ATTACH_DETACH_ANNOTATION.to_string(),
                "true".to_string(),
            )]),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec {
            pod_cidr: cfg.pod_cidr.clone(),
            pod_cidrs: cfg.pod_cidr.clone().map(|c| vec![c]),
            unschedulable: cfg.unschedulable.then_some(true),
            taints: (!taints.is_empty()).then_some(taints),
            ..NodeSpec::default()
        }),
        status: Some(node_status(cfg, host, runtime, None, now)),
        ..Node::default()
    }
}

/// Whether `new` differs from `old` in what the kubelet reports, ignoring
/// heartbeat times (upstream's `nodeStatusHasChanged`). Fields others own
/// (`images`, `volumesInUse`, conditions of other types) are not compared;
/// quantities compare by value.
pub fn status_changed(old: &NodeStatus, new: &NodeStatus) -> bool {
    let same_resources = |a: &Option<BTreeMap<String, Quantity>>,
                          b: &Option<BTreeMap<String, Quantity>>| {
        let (a, b) = (a.clone().unwrap_or_default(), b.clone().unwrap_or_default());
        b.iter().all(|(k, v)| {
            a.get(k)
                .is_some_and(|old| old == v || old.semantic_eq(v).unwrap_or(false))
        })
    };
    // our condition types, by type, without heartbeat times
    let ours = |s: &NodeStatus| -> BTreeMap<String, NodeCondition> {
        s.conditions
            .iter()
            .flatten()
            .filter(|c| new.conditions.iter().flatten().any(|n| n.type_ == c.type_))
            .map(|c| {
                let c = NodeCondition {
                    last_heartbeat_time: None,
                    ..c.clone()
                };
                (c.type_.clone(), c)
            })
            .collect()
    };
    !(same_resources(&old.capacity, &new.capacity)
        && same_resources(&old.allocatable, &new.allocatable)
        && ours(old) == ours(new)
        && old.addresses == new.addresses
        && old.node_info == new.node_info
        && old.daemon_endpoints == new.daemon_endpoints)
}

/// The strategic merge patch of `nodes/<name>/status` that writes what the
/// kubelet owns. Conditions and addresses merge by `type`, so conditions
/// others own (`NetworkUnavailable`) stay; resource maps merge by key, so
/// extended resources others advertise stay too.
pub fn status_patch(status: &NodeStatus) -> Value {
    json!({
        "status": {
            "capacity": status.capacity,
            "allocatable": status.allocatable,
            "conditions": status.conditions,
            "addresses": status.addresses,
            "daemonEndpoints": status.daemon_endpoints,
            "nodeInfo": status.node_info,
        }
    })
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
