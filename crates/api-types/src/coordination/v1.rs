//! `coordination.k8s.io/v1`: `Lease`, a lightweight lock with a holder and
//! an expiry. Used for leader election of controllers and schedulers, and
//! for node heartbeats (one Lease per node in `kube-node-lease`).

use serde::{Deserialize, Serialize};

use crate::meta::v1::{MicroTime, ObjectMeta};

/// A lease on something: who holds it, since when, and for how long.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.coordination.v1.Lease")
)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<LeaseSpec>,
}

crate::resource!(
    Lease,
    group = "coordination.k8s.io",
    version = "v1",
    api_version = "coordination.k8s.io/v1",
    kind = "Lease",
    plural = "leases",
    singular = "lease",
    namespaced = true,
    short = [],
    spec = LeaseSpec
);

/// The lease's holder and timing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.coordination.v1.LeaseSpec")
)]
#[serde(rename_all = "camelCase")]
pub struct LeaseSpec {
    /// Identity of the current holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_identity: Option<String>,
    /// Seconds after `renewTime` until others may take the lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_duration_seconds: Option<i32>,
    /// When the current holder acquired the lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquire_time: Option<MicroTime>,
    /// When the holder last renewed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_time: Option<MicroTime>,
    /// How many times the lease changed holders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_transitions: Option<i32>,
    /// Coordinated leader election: strategy for choosing the next holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// Coordinated leader election: the identity that should take over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_holder: Option<String>,
}
