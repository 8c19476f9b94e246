//! `discovery.k8s.io/v1`: `EndpointSlice`, the scalable replacement for
//! core/v1 `Endpoints`. A service's endpoints are split over several slices
//! (at most 100 endpoints each by default), labelled
//! `kubernetes.io/service-name=<service>`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::v1::ObjectReference;
use crate::meta::v1::ObjectMeta;

/// A slice of the endpoints of a service, all of one address type.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.discovery.v1.EndpointSlice")
)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSlice {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// `IPv4`, `IPv6` or `FQDN`; immutable.
    #[serde(default)]
    pub address_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<Endpoint>>,
    /// Ports every endpoint of the slice exposes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<EndpointPort>>,
}

crate::resource!(
    EndpointSlice,
    group = "discovery.k8s.io",
    version = "v1",
    api_version = "discovery.k8s.io/v1",
    kind = "EndpointSlice",
    plural = "endpointslices",
    singular = "endpointslice",
    namespaced = true,
    short = []
);

/// One backend (usually a pod).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.discovery.v1.Endpoint")
)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// At least one address (consumers use the first).
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<EndpointConditions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The pod behind the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_ref: Option<ObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hints: Option<EndpointHints>,
    /// Deprecated (v1beta1 topology), read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated_topology: Option<BTreeMap<String, String>>,
}

/// Readiness of an endpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.discovery.v1.EndpointConditions")
)]
#[serde(rename_all = "camelCase")]
pub struct EndpointConditions {
    /// Ready for traffic: serving and not terminating. Unset means unknown,
    /// to be treated as ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<bool>,
    /// Passing readiness, regardless of termination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminating: Option<bool>,
}

/// Topology hints for routing to this endpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.discovery.v1.EndpointHints")
)]
#[serde(rename_all = "camelCase")]
pub struct EndpointHints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_zones: Option<Vec<ForZone>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_nodes: Option<Vec<ForNode>>,
}

/// A zone that should consume this endpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.discovery.v1.ForZone")
)]
#[serde(rename_all = "camelCase")]
pub struct ForZone {
    #[serde(default)]
    pub name: String,
}

/// A node that should consume this endpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.discovery.v1.ForNode")
)]
#[serde(rename_all = "camelCase")]
pub struct ForNode {
    #[serde(default)]
    pub name: String,
}

/// A port of the endpoints in a slice.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.discovery.v1.EndpointPort")
)]
#[serde(rename_all = "camelCase")]
pub struct EndpointPort {
    /// Matches the service port's name (empty for an unnamed port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `TCP` (default), `UDP` or `SCTP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Unset means all ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
}
