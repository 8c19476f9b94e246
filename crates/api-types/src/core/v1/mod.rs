//! `core/v1` (k8s.io/api/core/v1): the original API group, served at `/api/v1`.
//!
//! # Layout
//! - [`pod`]: `Pod` and `PodSpec`; [`pod_status`] what the kubelet reports;
//!   [`container`], [`probe`], [`security`], [`volume`], [`affinity`]: the
//!   parts a pod spec is made of.
//! - [`pod_template`]: `PodTemplateSpec`, embedded by every workload controller.
//! - [`node`], [`namespace`], [`service`], [`endpoints`], [`config`]
//!   (`ConfigMap`, `Secret`), [`event`], [`service_account`],
//!   [`replication_controller`], [`binding`].
//! - [`object_reference`]: `ObjectReference` and `LocalObjectReference`.
//!
//! Fields follow upstream's names and nesting exactly. A field that is
//! optional upstream (`omitempty` or a pointer) is an `Option` here and is
//! left out of the JSON when `None`; required fields are plain values.

pub mod affinity;
pub mod binding;
pub mod config;
pub mod container;
pub mod endpoints;
pub mod event;
pub mod namespace;
pub mod node;
pub mod object_reference;
pub mod pod;
pub mod pod_status;
pub mod pod_template;
pub mod probe;
pub mod qos;
pub mod replication_controller;
pub mod security;
pub mod service;
pub mod service_account;
pub mod volume;

pub use affinity::{
    Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodAffinity,
    PodAffinityTerm, PodAntiAffinity, PreferredSchedulingTerm, Toleration,
    TopologySpreadConstraint, WeightedPodAffinityTerm,
};
pub use binding::Binding;
pub use config::{ByteString, ConfigMap, Secret};
pub use container::{
    ConfigMapEnvSource, ConfigMapKeySelector, Container, ContainerPort, ContainerResizePolicy,
    EnvFromSource, EnvVar, EnvVarSource, ObjectFieldSelector, ResourceClaim, ResourceFieldSelector,
    ResourceRequirements, SecretEnvSource, SecretKeySelector, VolumeDevice, VolumeMount,
};
pub use endpoints::{EndpointAddress, EndpointPort, EndpointSubset, Endpoints};
pub use event::{Event, EventSeries, EventSource};
pub use namespace::{Namespace, NamespaceCondition, NamespaceSpec, NamespaceStatus};
pub use node::{
    AttachedVolume, ContainerImage, DaemonEndpoint, Node, NodeAddress, NodeCondition,
    NodeDaemonEndpoints, NodeFeatures, NodeRuntimeHandler, NodeRuntimeHandlerFeatures, NodeSpec,
    NodeStatus, NodeSwapStatus, NodeSystemInfo, Taint,
};
pub use object_reference::{LocalObjectReference, ObjectReference};
pub use pod::{
    HostAlias, Pod, PodDNSConfig, PodDNSConfigOption, PodOS, PodReadinessGate, PodResourceClaim,
    PodSchedulingGate, PodSpec,
};
pub use pod_status::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, HostIP, PodCondition, PodIP, PodStatus, VolumeMountStatus,
};
pub use pod_template::{PodTemplate, PodTemplateSpec};
pub use probe::{
    ExecAction, GRPCAction, HTTPGetAction, HTTPHeader, Lifecycle, LifecycleHandler, Probe,
    SleepAction, TCPSocketAction,
};
pub use replication_controller::{
    ReplicationController, ReplicationControllerCondition, ReplicationControllerSpec,
    ReplicationControllerStatus,
};
pub use security::{
    AppArmorProfile, Capabilities, PodSecurityContext, SELinuxOptions, SeccompProfile,
    SecurityContext, Sysctl, WindowsSecurityContextOptions,
};
pub use service::{
    ClientIPConfig, LoadBalancerIngress, LoadBalancerStatus, PortStatus, Service, ServicePort,
    ServiceSpec, ServiceStatus, SessionAffinityConfig,
};
pub use service_account::ServiceAccount;
pub use volume::{
    CSIVolumeSource, ConfigMapProjection, ConfigMapVolumeSource, DownwardAPIProjection,
    DownwardAPIVolumeFile, DownwardAPIVolumeSource, EmptyDirVolumeSource, GlusterfsVolumeSource,
    HostPathVolumeSource, ImageVolumeSource, KeyToPath, NFSVolumeSource,
    PersistentVolumeClaimVolumeSource, ProjectedVolumeSource, RBDVolumeSource, SecretProjection,
    SecretVolumeSource, ServiceAccountTokenProjection, Volume, VolumeProjection,
};
