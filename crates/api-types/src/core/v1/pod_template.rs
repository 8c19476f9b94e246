//! Pod templates: the pod shape that controllers stamp out.

use serde::{Deserialize, Serialize};

use super::PodSpec;
use crate::meta::v1::ObjectMeta;

/// The pod a controller (ReplicaSet, Deployment, ...) creates copies of.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.PodTemplateSpec")
)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplateSpec {
    /// Labels here must match the controller's selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMeta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<PodSpec>,
}

/// A stored pod template (rarely used directly).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.PodTemplate")
)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplate {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<PodTemplateSpec>,
}

crate::resource!(
    PodTemplate,
    group = "",
    version = "v1",
    api_version = "v1",
    kind = "PodTemplate",
    plural = "podtemplates",
    singular = "podtemplate",
    namespaced = true,
    short = []
);
