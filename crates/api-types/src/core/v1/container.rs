//! `Container` and the parts it is built from: ports, environment variables,
//! volume mounts and resource requirements.
//!
//! Probes and lifecycle hooks live in [`probe`](super::probe), security
//! settings in [`security`](super::security).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Lifecycle, Probe, SecurityContext};
use crate::quantity::Quantity;

/// One container of a pod: the image to run and how to run it.
///
/// The same type describes init containers (`spec.initContainers`), which run
/// one after another to completion before the app containers start, unless
/// `restartPolicy: Always` makes one a sidecar that keeps running.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.Container")
)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// Unique within the pod (a DNS label).
    #[serde(default)]
    pub name: String,
    /// Image reference such as `nginx:1.27`. Optional in the API so that
    /// controllers' templates can leave it to defaulting or admission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// `Always`, `IfNotPresent` or `Never`; defaults to `Always` when the tag is
    /// `:latest` or missing, `IfNotPresent` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    /// Replaces the image's `ENTRYPOINT`; `$(VAR)` references are expanded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Replaces the image's `CMD`; `$(VAR)` references are expanded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<ContainerPort>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_from: Option<Vec<EnvFromSource>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvVar>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resize_policy: Option<Vec<ContainerResizePolicy>>,
    /// Init containers only: `Always` turns the init container into a sidecar
    /// that starts before the app containers and runs alongside them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<Vec<VolumeMount>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_devices: Option<Vec<VolumeDevice>>,
    /// Failing it makes the kubelet restart the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<Probe>,
    /// Failing it takes the pod out of Service endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<Probe>,
    /// Holds off the other probes until it succeeds once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_probe: Option<Probe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
    /// File the process may write its last words to; defaults to `/dev/termination-log`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_message_path: Option<String>,
    /// `File` (default) or `FallbackToLogsOnError`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_message_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin_once: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
}

/// A port the container listens on. Any port is reachable over the pod
/// network anyway; declaring it gives it a name for Services and allows
/// mapping it onto the node with `hostPort`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.ContainerPort")
)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    /// An IANA service name unique in the pod; Services can use it as `targetPort`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub container_port: i32,
    /// `TCP` (default), `UDP` or `SCTP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Port on the node forwarded to `containerPort` (only on the pod's node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i32>,
    /// Node address `hostPort` binds to; all addresses when empty.
    #[serde(rename = "hostIP", default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
}

/// An environment variable: a literal `value` or one looked up via `valueFrom`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.EnvVar")
)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    #[serde(default)]
    pub name: String,
    /// `$(OTHER)` references to variables defined earlier are expanded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<EnvVarSource>,
}

/// Where an environment variable's value comes from (set exactly one field).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.EnvVarSource")
)]
#[serde(rename_all = "camelCase")]
pub struct EnvVarSource {
    /// A field of the pod itself (the "downward API").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_ref: Option<ObjectFieldSelector>,
    /// A request or limit of a container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_field_ref: Option<ResourceFieldSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<ConfigMapKeySelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<SecretKeySelector>,
}

/// Selects a field of the pod by path (downward API).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.ObjectFieldSelector")
)]
#[serde(rename_all = "camelCase")]
pub struct ObjectFieldSelector {
    /// Schema version `fieldPath` is written against; defaults to `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `metadata.name`, `metadata.namespace`, `metadata.uid`,
    /// `metadata.labels['<key>']`, `metadata.annotations['<key>']`,
    /// `spec.nodeName`, `spec.serviceAccountName`, `status.hostIP`,
    /// `status.hostIPs`, `status.podIP`, `status.podIPs`.
    #[serde(default)]
    pub field_path: String,
}

/// Selects a container's request or limit (downward API).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.ResourceFieldSelector")
)]
#[serde(rename_all = "camelCase")]
pub struct ResourceFieldSelector {
    /// Required in volumes; in env vars defaults to the container itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// `limits.cpu`, `limits.memory`, `limits.ephemeral-storage`,
    /// `requests.cpu`, `requests.memory` or `requests.ephemeral-storage`.
    #[serde(default)]
    pub resource: String,
    /// Unit of the exposed value, e.g. `1m` or `1Mi`; defaults to `1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub divisor: Option<Quantity>,
}

/// One key of a ConfigMap in the pod's namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.ConfigMapKeySelector")
)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapKeySelector {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub key: String,
    /// When true the container starts even if the ConfigMap or key is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// One key of a Secret in the pod's namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.SecretKeySelector")
)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeySelector {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub key: String,
    /// When true the container starts even if the Secret or key is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// Imports every key of a ConfigMap or a Secret as environment variables.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.EnvFromSource")
)]
#[serde(rename_all = "camelCase")]
pub struct EnvFromSource {
    /// Prepended to every imported key, e.g. `DB_`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<ConfigMapEnvSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretEnvSource>,
}

/// The ConfigMap whose keys `envFrom` imports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.ConfigMapEnvSource")
)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapEnvSource {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// The Secret whose keys `envFrom` imports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.SecretEnvSource")
)]
#[serde(rename_all = "camelCase")]
pub struct SecretEnvSource {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// Mounts one of the pod's volumes into the container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.VolumeMount")
)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    /// Name of an entry in `spec.volumes`.
    #[serde(default)]
    pub name: String,
    /// Path in the container; must not contain `:`.
    #[serde(default)]
    pub mount_path: String,
    /// Mount this path inside the volume instead of the volume's root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
    /// Like `subPath`, with `$(VAR)` references to env vars expanded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path_expr: Option<String>,
    /// Defaults to false (read-write).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// `Disabled` (default), `IfPossible` or `Enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recursive_read_only: Option<String>,
    /// `None` (default), `HostToContainer` or `Bidirectional`: whether mounts
    /// made later on the host or in the container propagate to the other side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_propagation: Option<String>,
}

/// Exposes a raw block volume as a device file in the container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.VolumeDevice")
)]
#[serde(rename_all = "camelCase")]
pub struct VolumeDevice {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub device_path: String,
}

/// Compute resources of a container. `requests` are what the scheduler
/// reserves, `limits` what the runtime enforces; keys are resource names
/// such as `cpu`, `memory` or `ephemeral-storage`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.ResourceRequirements")
)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRequirements {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<BTreeMap<String, Quantity>>,
    /// Defaults to `limits` for resources that have a limit but no request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<BTreeMap<String, Quantity>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<ResourceClaim>>,
}

/// Names one of the pod's `spec.resourceClaims` that this container uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.ResourceClaim")
)]
#[serde(rename_all = "camelCase")]
pub struct ResourceClaim {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
}

/// How a container takes an in-place change of one of its resources.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.ContainerResizePolicy")
)]
#[serde(rename_all = "camelCase")]
pub struct ContainerResizePolicy {
    /// `cpu` or `memory`.
    #[serde(default)]
    pub resource_name: String,
    /// `NotRequired` (default) or `RestartContainer`.
    #[serde(default)]
    pub restart_policy: String,
}
