//! `Node`: a machine in the cluster, registered and kept up to date by its kubelet.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::meta::v1::{ObjectMeta, Time};
use crate::quantity::Quantity;

/// A worker machine. The kubelet creates it, reports its status and renews
/// its heartbeat Lease; the node lifecycle controller taints it when that stops.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.Node")
)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<NodeSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeStatus>,
}

crate::resource!(
    Node,
    group = "",
    version = "v1",
    api_version = "v1",
    kind = "Node",
    plural = "nodes",
    singular = "node",
    namespaced = false,
    short = ["no"],
    spec = NodeSpec,
    status = NodeStatus
);

/// How a node is configured (mostly set by the kubelet and controllers).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.NodeSpec")
)]
#[serde(rename_all = "camelCase")]
pub struct NodeSpec {
    /// The pod IP range assigned to this node; `podCIDRs[0]` is the same range.
    #[serde(rename = "podCIDR", default, skip_serializing_if = "Option::is_none")]
    pub pod_cidr: Option<String>,
    /// One range per IP family.
    #[serde(rename = "podCIDRs", default, skip_serializing_if = "Option::is_none")]
    pub pod_cidrs: Option<Vec<String>>,
    /// Cloud provider's ID, `<provider>://<id>`.
    #[serde(
        rename = "providerID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub provider_id: Option<String>,
    /// Cordoned: no new pods are scheduled here (`kubectl cordon`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unschedulable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taints: Option<Vec<Taint>>,
    /// Deprecated, unused.
    #[serde(
        rename = "externalID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub external_id: Option<String>,
}

/// Repels pods that do not tolerate it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.Taint")
)]
#[serde(rename_all = "camelCase")]
pub struct Taint {
    #[serde(default)]
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute` (also evicts running pods).
    #[serde(default)]
    pub effect: String,
    /// When a `NoExecute` taint was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_added: Option<Time>,
}

/// What the kubelet observed about its node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.NodeStatus")
)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    /// Total resources of the node, e.g. `cpu`, `memory`, `pods`, `ephemeral-storage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<BTreeMap<String, Quantity>>,
    /// What is left for pods after system reservations; the scheduler uses this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocatable: Option<BTreeMap<String, Quantity>>,
    /// Deprecated and unset by modern kubelets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<NodeCondition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<NodeAddress>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon_endpoints: Option<NodeDaemonEndpoints>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_info: Option<NodeSystemInfo>,
    /// Images present on the node (used by the scheduler's image locality score).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<ContainerImage>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes_in_use: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes_attached: Option<Vec<AttachedVolume>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_handlers: Option<Vec<NodeRuntimeHandler>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<NodeFeatures>,
}

/// One condition of a node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.NodeCondition")
)]
#[serde(rename_all = "camelCase")]
pub struct NodeCondition {
    /// `Ready`, `MemoryPressure`, `DiskPressure`, `PIDPressure` or `NetworkUnavailable`.
    #[serde(rename = "type", default)]
    pub type_: String,
    /// `True`, `False` or `Unknown` (the kubelet stopped reporting).
    #[serde(default)]
    pub status: String,
    /// Last time the kubelet reported this condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heartbeat_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One address of a node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.NodeAddress")
)]
#[serde(rename_all = "camelCase")]
pub struct NodeAddress {
    /// `Hostname`, `InternalIP`, `ExternalIP`, `InternalDNS` or `ExternalDNS`.
    #[serde(rename = "type", default)]
    pub type_: String,
    #[serde(default)]
    pub address: String,
}

/// Ports of the daemons running on the node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.NodeDaemonEndpoints")
)]
#[serde(rename_all = "camelCase")]
pub struct NodeDaemonEndpoints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubelet_endpoint: Option<DaemonEndpoint>,
}

/// A daemon's port. Note the upper-case JSON field name `Port`, as upstream.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.DaemonEndpoint")
)]
#[serde(rename_all = "camelCase")]
pub struct DaemonEndpoint {
    #[serde(rename = "Port", default)]
    pub port: i32,
}

/// Facts about the node's machine and software.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.NodeSystemInfo")
)]
#[serde(rename_all = "camelCase")]
pub struct NodeSystemInfo {
    #[serde(rename = "machineID", default)]
    pub machine_id: String,
    #[serde(rename = "systemUUID", default)]
    pub system_uuid: String,
    #[serde(rename = "bootID", default)]
    pub boot_id: String,
    #[serde(default)]
    pub kernel_version: String,
    /// e.g. `Debian GNU/Linux 12 (bookworm)`.
    #[serde(default)]
    pub os_image: String,
    /// e.g. `containerd://1.7.20`.
    #[serde(default)]
    pub container_runtime_version: String,
    #[serde(default)]
    pub kubelet_version: String,
    /// Deprecated, may be empty.
    #[serde(default)]
    pub kube_proxy_version: String,
    /// `linux` or `windows`.
    #[serde(default)]
    pub operating_system: String,
    /// e.g. `amd64`, `arm64`.
    #[serde(default)]
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap: Option<NodeSwapStatus>,
}

/// Swap memory of the node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.NodeSwapStatus")
)]
#[serde(rename_all = "camelCase")]
pub struct NodeSwapStatus {
    /// Bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i64>,
}

/// An image on the node, with all its names.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.ContainerImage")
)]
#[serde(rename_all = "camelCase")]
pub struct ContainerImage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
}

/// A volume attached to the node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.AttachedVolume")
)]
#[serde(rename_all = "camelCase")]
pub struct AttachedVolume {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub device_path: String,
}

/// A runtime handler (RuntimeClass) the node's container runtime offers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.NodeRuntimeHandler")
)]
#[serde(rename_all = "camelCase")]
pub struct NodeRuntimeHandler {
    /// Empty for the default handler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<NodeRuntimeHandlerFeatures>,
}

/// What a runtime handler supports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.NodeRuntimeHandlerFeatures")
)]
#[serde(rename_all = "camelCase")]
pub struct NodeRuntimeHandlerFeatures {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recursive_read_only_mounts: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_namespaces: Option<bool>,
}

/// Optional features the node supports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.NodeFeatures")
)]
#[serde(rename_all = "camelCase")]
pub struct NodeFeatures {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplemental_groups_policy: Option<bool>,
}
