//! `ReplicationController`: the original replica controller, superseded by
//! `apps/v1` ReplicaSet (which adds set-based selectors).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::PodTemplateSpec;
use crate::meta::v1::{ObjectMeta, Time};

/// Keeps `replicas` copies of a pod template running.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.ReplicationController")
)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationController {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ReplicationControllerSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ReplicationControllerStatus>,
}

crate::resource!(
    ReplicationController,
    group = "",
    version = "v1",
    api_version = "v1",
    kind = "ReplicationController",
    plural = "replicationcontrollers",
    singular = "replicationcontroller",
    namespaced = true,
    short = ["rc"],
    spec = ReplicationControllerSpec,
    status = ReplicationControllerStatus
);

/// The desired state of a replication controller.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.ReplicationControllerSpec")
)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationControllerSpec {
    /// Defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Seconds a new pod must be ready before it counts as available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
    /// Equality-only selector; defaults to the template's labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<PodTemplateSpec>,
}

/// The observed state of a replication controller.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.ReplicationControllerStatus")
)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationControllerStatus {
    #[serde(default)]
    pub replicas: i32,
    /// Pods whose labels match the template's labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fully_labeled_replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<ReplicationControllerCondition>>,
}

/// One condition of a replication controller, e.g. `ReplicaFailure`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.ReplicationControllerCondition")
)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationControllerCondition {
    #[serde(rename = "type", default)]
    pub type_: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
