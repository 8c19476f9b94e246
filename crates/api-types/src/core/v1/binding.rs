//! `Binding`: how the scheduler assigns a pod to a node.

use serde::{Deserialize, Serialize};

use super::ObjectReference;
use crate::meta::v1::ObjectMeta;

/// Body of `POST .../pods/<name>/binding`: binds the pod named in `metadata`
/// to the node named in `target`. Only a body for that subresource, never stored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.Binding")
)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The node: `{"kind": "Node", "name": "node-1"}`.
    #[serde(default)]
    pub target: ObjectReference,
}

crate::resource!(
    Binding,
    group = "",
    version = "v1",
    api_version = "v1",
    kind = "Binding",
    plural = "bindings",
    singular = "binding",
    namespaced = true,
    short = []
);
