//! `autoscaling/v1`: `Scale`, the body of every `/scale` subresource
//! (`kubectl scale`, HorizontalPodAutoscaler).

use serde::{Deserialize, Serialize};

use crate::meta::v1::ObjectMeta;

/// The scale of a resource (Deployment, ReplicaSet, ...): a subresource
/// body that is never stored on its own.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.autoscaling.v1.Scale")
)]
#[serde(rename_all = "camelCase")]
pub struct Scale {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ScaleSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ScaleStatus>,
}

crate::resource!(
    Scale,
    group = "autoscaling",
    version = "v1",
    api_version = "autoscaling/v1",
    kind = "Scale",
    plural = "scales",
    singular = "scale",
    namespaced = true,
    short = [],
    spec = ScaleSpec,
    status = ScaleStatus
);

/// The desired scale.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.autoscaling.v1.ScaleSpec")
)]
#[serde(rename_all = "camelCase")]
pub struct ScaleSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
}

/// The observed scale.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.autoscaling.v1.ScaleStatus")
)]
#[serde(rename_all = "camelCase")]
pub struct ScaleStatus {
    #[serde(default)]
    pub replicas: i32,
    /// The label selector of the pods, in string form (`app=web,tier in (fe)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
}
