//! The descriptor tables: one [`Message`] per Kubernetes type, grouped by
//! API group, and [`root`], which finds the table for an object's
//! `apiVersion` and `kind`.
//!
//! # Where the numbers come from
//! Field numbers and JSON names are those of the published Kubernetes API:
//! each group's `generated.proto` numbers the fields, the Go struct tags
//! name them in JSON. They cover Kubernetes 1.34 (and the few fields newer
//! clients may already send), a superset of what kubectl 1.27–1.33 writes.
//! The numbers and names were transcribed mechanically (numbers as packaged
//! in the `k8s-pb` crate, JSON names as packaged in `k8s-openapi`); which
//! fields are `keep` and which structs are `inline` was decided by hand
//! from the Go types. Two tests keep them honest: a round trip through
//! `k8s-pb` (generated from those `.proto` files) checks every number and
//! wire type, and a pass through `k8s-openapi`'s serde types checks every
//! JSON name. See `docs/protobuf.md`.
//!
//! # Adding a kind
//! Write the tables for its messages in its group's file (field numbers
//! from `generated.proto`, `keep` for Go pointers and fields without
//! `omitempty`), then add it to [`KINDS`]. The test
//! `every_installed_kind_has_a_table` fails until every kind the registry
//! serves is here.

use super::schema::Message;

pub mod apps;
pub mod autoscaling;
pub mod coordination;
pub mod core;
pub mod discovery;
pub mod meta;

/// Every kind a client may send as protobuf: `(apiVersion, kind, table)`.
pub static KINDS: &[(&str, &str, &Message)] = &[
    ("v1", "Namespace", &core::NAMESPACE),
    ("v1", "Pod", &core::POD),
    ("v1", "Node", &core::NODE),
    ("v1", "Service", &core::SERVICE),
    ("v1", "Endpoints", &core::ENDPOINTS),
    ("v1", "ConfigMap", &core::CONFIG_MAP),
    ("v1", "Secret", &core::SECRET),
    ("v1", "Event", &core::EVENT),
    ("v1", "ServiceAccount", &core::SERVICE_ACCOUNT),
    ("v1", "ReplicationController", &core::REPLICATION_CONTROLLER),
    ("v1", "Binding", &core::BINDING),
    ("apps/v1", "Deployment", &apps::DEPLOYMENT),
    ("apps/v1", "ReplicaSet", &apps::REPLICA_SET),
    (
        "discovery.k8s.io/v1",
        "EndpointSlice",
        &discovery::ENDPOINT_SLICE,
    ),
    ("coordination.k8s.io/v1", "Lease", &coordination::LEASE),
    ("autoscaling/v1", "Scale", &autoscaling::SCALE),
    // DeleteOptions is registered in every group version, as upstream.
    ("v1", "DeleteOptions", &meta::DELETE_OPTIONS),
    ("meta.k8s.io/v1", "DeleteOptions", &meta::DELETE_OPTIONS),
    ("apps/v1", "DeleteOptions", &meta::DELETE_OPTIONS),
    (
        "discovery.k8s.io/v1",
        "DeleteOptions",
        &meta::DELETE_OPTIONS,
    ),
    (
        "coordination.k8s.io/v1",
        "DeleteOptions",
        &meta::DELETE_OPTIONS,
    ),
    ("autoscaling/v1", "DeleteOptions", &meta::DELETE_OPTIONS),
];

/// The table for an object's type.
pub fn root(api_version: &str, kind: &str) -> Option<&'static Message> {
    KINDS
        .iter()
        .find(|(v, k, _)| *v == api_version && *k == kind)
        .map(|(_, _, m)| *m)
}
