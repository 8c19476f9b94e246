//! How lists, maps and structs of the API merge: the one table behind the
//! OpenAPI extensions `x-kubernetes-patch-strategy`,
//! `x-kubernetes-patch-merge-key`, `x-kubernetes-list-type`,
//! `x-kubernetes-list-map-keys` and `x-kubernetes-map-type`.
//!
//! Upstream writes these as Go struct tags and `+listType` markers in
//! `k8s.io/api/*/types.go`; kube-openapi copies them into the published
//! OpenAPI. Here they are data, applied to the generated schemas (feature
//! `schema`), so strategic merge patch and server-side apply read them from
//! the same OpenAPI document kubectl reads.
//!
//! # What the values mean
//! - patch strategy (strategic merge patch): `merge` merges list items by
//!   their merge key instead of replacing the list; `retainKeys` drops the
//!   fields of the old value the patch does not mention (a union such as a
//!   volume source or a deployment strategy); `replace` replaces.
//! - list type (server-side apply): `atomic` (one owner for the whole list),
//!   `set` (scalars, owned per value), `map` (items owned per key, the keys
//!   being `list_map_keys`).
//! - map type: `atomic` (owned as a whole) or `granular` (per key, the
//!   default); also used on structs upstream marks `+structType=atomic`.

/// Merge metadata of one field of one schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldMeta {
    /// Schema name prefix (the Go package), e.g. `io.k8s.api.core.v1`.
    pub package: &'static str,
    /// Type name, e.g. `PodSpec`.
    pub kind: &'static str,
    /// JSON field name, e.g. `containers`.
    pub field: &'static str,
    /// `x-kubernetes-patch-strategy`.
    pub patch_strategy: Option<&'static str>,
    /// `x-kubernetes-patch-merge-key`.
    pub patch_merge_key: Option<&'static str>,
    /// `x-kubernetes-list-type`.
    pub list_type: Option<&'static str>,
    /// `x-kubernetes-list-map-keys` (only with list type `map`).
    pub list_map_keys: &'static [&'static str],
    /// `x-kubernetes-map-type`.
    pub map_type: Option<&'static str>,
}

impl FieldMeta {
    /// Whether this row belongs to the schema named `schema`
    /// (`io.k8s.api.core.v1.PodSpec`).
    pub fn is_for(&self, schema: &str) -> bool {
        schema
            .strip_prefix(self.package)
            .and_then(|rest| rest.strip_prefix('.'))
            == Some(self.kind)
    }

    /// `+listType=atomic`.
    const fn atomic(mut self) -> Self {
        self.list_type = Some("atomic");
        self
    }
    /// `+listType=set`.
    const fn set(mut self) -> Self {
        self.list_type = Some("set");
        self
    }
    /// `+listType=map` with `+listMapKey=...`.
    const fn map(mut self, keys: &'static [&'static str]) -> Self {
        self.list_type = Some("map");
        self.list_map_keys = keys;
        self
    }
    /// `patchStrategy:"merge" patchMergeKey:"<key>"`.
    const fn merge_on(mut self, key: &'static str) -> Self {
        self.patch_strategy = Some("merge");
        self.patch_merge_key = Some(key);
        self
    }
    /// A patch strategy without a merge key (`merge` on a list of scalars,
    /// `retainKeys` on a struct), or `merge,retainKeys` with one.
    const fn strategy(mut self, strategy: &'static str) -> Self {
        self.patch_strategy = Some(strategy);
        self
    }
    /// `+mapType=atomic`.
    const fn atomic_map(mut self) -> Self {
        self.map_type = Some("atomic");
        self
    }
}

const CORE: &str = "io.k8s.api.core.v1";
const APPS: &str = "io.k8s.api.apps.v1";
const DISCOVERY: &str = "io.k8s.api.discovery.v1";
const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";

const fn f(package: &'static str, kind: &'static str, field: &'static str) -> FieldMeta {
    FieldMeta {
        package,
        kind,
        field,
        patch_strategy: None,
        patch_merge_key: None,
        list_type: None,
        list_map_keys: &[],
        map_type: None,
    }
}

/// Every field with merge metadata. Sources: upstream's `types.go` struct
/// tags (`patchStrategy`, `patchMergeKey`) and markers (`+listType`,
/// `+listMapKey`, `+mapType`), as published in the OpenAPI of Kubernetes 1.33.
/// Maps not listed are `granular` and lists without a list type are
/// `atomic`, as upstream treats them.
#[rustfmt::skip]
pub const FIELDS: &[FieldMeta] = &[
    // core/v1 PodSpec
    f(CORE, "PodSpec", "volumes").merge_on("name").strategy("merge,retainKeys").map(&["name"]),
    f(CORE, "PodSpec", "initContainers").merge_on("name").map(&["name"]),
    f(CORE, "PodSpec", "containers").merge_on("name").map(&["name"]),
    f(CORE, "PodSpec", "imagePullSecrets").merge_on("name").map(&["name"]),
    f(CORE, "PodSpec", "hostAliases").merge_on("ip").map(&["ip"]),
    f(CORE, "PodSpec", "topologySpreadConstraints").merge_on("topologyKey").map(&["topologyKey", "whenUnsatisfiable"]),
    f(CORE, "PodSpec", "schedulingGates").merge_on("name").map(&["name"]),
    f(CORE, "PodSpec", "resourceClaims").merge_on("name").strategy("merge,retainKeys").map(&["name"]),
    f(CORE, "PodSpec", "tolerations").atomic(),
    f(CORE, "PodSpec", "readinessGates").atomic(),
    f(CORE, "PodSpec", "nodeSelector").atomic_map(),
    // core/v1 Container
    f(CORE, "Container", "command").atomic(),
    f(CORE, "Container", "args").atomic(),
    f(CORE, "Container", "ports").merge_on("containerPort").map(&["containerPort", "protocol"]),
    f(CORE, "Container", "envFrom").atomic(),
    f(CORE, "Container", "env").merge_on("name").map(&["name"]),
    f(CORE, "Container", "resizePolicy").atomic(),
    f(CORE, "Container", "volumeMounts").merge_on("mountPath").map(&["mountPath"]),
    f(CORE, "Container", "volumeDevices").merge_on("devicePath").map(&["devicePath"]),
    f(CORE, "ResourceRequirements", "claims").map(&["name"]),
    f(CORE, "ExecAction", "command").atomic(),
    f(CORE, "HTTPGetAction", "httpHeaders").atomic(),
    f(CORE, "Capabilities", "add").atomic(),
    f(CORE, "Capabilities", "drop").atomic(),
    f(CORE, "PodSecurityContext", "supplementalGroups").atomic(),
    f(CORE, "PodSecurityContext", "sysctls").atomic(),
    f(CORE, "PodDNSConfig", "nameservers").atomic(),
    f(CORE, "PodDNSConfig", "searches").atomic(),
    f(CORE, "PodDNSConfig", "options").atomic(),
    f(CORE, "HostAlias", "hostnames").atomic(),
    // core/v1 volumes
    f(CORE, "ConfigMapVolumeSource", "items").atomic(),
    f(CORE, "SecretVolumeSource", "items").atomic(),
    f(CORE, "ConfigMapProjection", "items").atomic(),
    f(CORE, "SecretProjection", "items").atomic(),
    f(CORE, "DownwardAPIVolumeSource", "items").atomic(),
    f(CORE, "DownwardAPIProjection", "items").atomic(),
    f(CORE, "ProjectedVolumeSource", "sources").atomic(),
    f(CORE, "RBDVolumeSource", "monitors").atomic(),
    // core/v1 affinity
    f(CORE, "NodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution").atomic(),
    f(CORE, "NodeSelector", "nodeSelectorTerms").atomic(),
    f(CORE, "NodeSelectorTerm", "matchExpressions").atomic(),
    f(CORE, "NodeSelectorTerm", "matchFields").atomic(),
    f(CORE, "NodeSelectorRequirement", "values").atomic(),
    f(CORE, "PodAffinity", "requiredDuringSchedulingIgnoredDuringExecution").atomic(),
    f(CORE, "PodAffinity", "preferredDuringSchedulingIgnoredDuringExecution").atomic(),
    f(CORE, "PodAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution").atomic(),
    f(CORE, "PodAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution").atomic(),
    f(CORE, "PodAffinityTerm", "namespaces").atomic(),
    f(CORE, "PodAffinityTerm", "matchLabelKeys").atomic(),
    f(CORE, "PodAffinityTerm", "mismatchLabelKeys").atomic(),
    f(CORE, "TopologySpreadConstraint", "matchLabelKeys").atomic(),
    // core/v1 PodStatus
    f(CORE, "PodStatus", "conditions").merge_on("type").map(&["type"]),
    f(CORE, "PodStatus", "podIPs").merge_on("ip").map(&["ip"]),
    f(CORE, "PodStatus", "hostIPs").merge_on("ip").map(&["ip"]),
    f(CORE, "PodStatus", "initContainerStatuses").atomic(),
    f(CORE, "PodStatus", "containerStatuses").atomic(),
    f(CORE, "ContainerStatus", "volumeMounts").merge_on("mountPath").map(&["mountPath"]),
    // core/v1 Node
    f(CORE, "NodeSpec", "podCIDRs").strategy("merge").set(),
    f(CORE, "NodeSpec", "taints").atomic(),
    f(CORE, "NodeStatus", "conditions").merge_on("type").map(&["type"]),
    f(CORE, "NodeStatus", "addresses").merge_on("type").map(&["type"]),
    f(CORE, "NodeStatus", "images").atomic(),
    f(CORE, "NodeStatus", "volumesInUse").atomic(),
    f(CORE, "NodeStatus", "volumesAttached").atomic(),
    f(CORE, "NodeStatus", "runtimeHandlers").atomic(),
    f(CORE, "ContainerImage", "names").atomic(),
    // core/v1 Namespace
    f(CORE, "NamespaceSpec", "finalizers").atomic(),
    f(CORE, "NamespaceStatus", "conditions").merge_on("type").map(&["type"]),
    // core/v1 Service, Endpoints
    f(CORE, "ServiceSpec", "ports").merge_on("port").map(&["port", "protocol"]),
    f(CORE, "ServiceSpec", "selector").atomic_map(),
    f(CORE, "ServiceSpec", "clusterIPs").atomic(),
    f(CORE, "ServiceSpec", "externalIPs").atomic(),
    f(CORE, "ServiceSpec", "loadBalancerSourceRanges").atomic(),
    f(CORE, "ServiceSpec", "ipFamilies").atomic(),
    f(CORE, "ServiceStatus", "conditions").merge_on("type").map(&["type"]),
    f(CORE, "LoadBalancerStatus", "ingress").atomic(),
    f(CORE, "LoadBalancerIngress", "ports").atomic(),
    f(CORE, "Endpoints", "subsets").atomic(),
    f(CORE, "EndpointSubset", "addresses").atomic(),
    f(CORE, "EndpointSubset", "notReadyAddresses").atomic(),
    f(CORE, "EndpointSubset", "ports").atomic(),
    // core/v1 others
    f(CORE, "ServiceAccount", "secrets").merge_on("name").map(&["name"]),
    f(CORE, "ServiceAccount", "imagePullSecrets").atomic(),
    f(CORE, "ReplicationControllerSpec", "selector").atomic_map(),
    f(CORE, "ReplicationControllerStatus", "conditions").merge_on("type").map(&["type"]),
    // apps/v1
    f(APPS, "DeploymentSpec", "strategy").strategy("retainKeys"),
    f(APPS, "DeploymentStatus", "conditions").merge_on("type").map(&["type"]),
    f(APPS, "ReplicaSetStatus", "conditions").merge_on("type").map(&["type"]),
    // discovery/v1
    f(DISCOVERY, "EndpointSlice", "endpoints").atomic(),
    f(DISCOVERY, "EndpointSlice", "ports").atomic(),
    f(DISCOVERY, "Endpoint", "addresses").set(),
    f(DISCOVERY, "EndpointHints", "forZones").atomic(),
    f(DISCOVERY, "EndpointHints", "forNodes").atomic(),
    // meta/v1
    f(META, "ObjectMeta", "ownerReferences").merge_on("uid").map(&["uid"]),
    f(META, "ObjectMeta", "finalizers").strategy("merge").set(),
    f(META, "ObjectMeta", "managedFields").atomic(),
    f(META, "LabelSelector", "matchExpressions").atomic(),
    f(META, "LabelSelectorRequirement", "values").atomic(),
    f(META, "StatusDetails", "causes").atomic(),
    f(META, "DeleteOptions", "dryRun").atomic(),
];

/// Structs upstream marks `+structType=atomic`: owned (and replaced) as a
/// whole; published as `x-kubernetes-map-type: atomic` on the schema.
pub const ATOMIC_STRUCTS: &[(&str, &str)] = &[
    (CORE, "LocalObjectReference"),
    (CORE, "ObjectReference"),
    (CORE, "ConfigMapKeySelector"),
    (CORE, "SecretKeySelector"),
    (CORE, "ObjectFieldSelector"),
    (CORE, "ResourceFieldSelector"),
    (CORE, "NodeSelector"),
    (CORE, "NodeSelectorTerm"),
    (META, "LabelSelector"),
    (META, "OwnerReference"),
];

/// The merge metadata of `schema.field`, if it has any.
pub fn field(schema: &str, field: &str) -> Option<&'static FieldMeta> {
    FIELDS.iter().find(|m| m.field == field && m.is_for(schema))
}

/// Whether the struct schema is atomic.
pub fn is_atomic_struct(schema: &str) -> bool {
    ATOMIC_STRUCTS.iter().any(|(package, kind)| {
        schema
            .strip_prefix(package)
            .and_then(|r| r.strip_prefix('.'))
            == Some(kind)
    })
}
