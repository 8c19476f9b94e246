//! `Namespace`: a scope for names, access control and quotas.

use serde::{Deserialize, Serialize};

use crate::meta::v1::{ObjectMeta, Time};

/// A scope for names. Deleting one deletes everything in it (the namespace
/// controller empties it, then removes the `kubernetes` finalizer).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.Namespace")
)]
#[serde(rename_all = "camelCase")]
pub struct Namespace {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<NamespaceSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NamespaceStatus>,
}

crate::resource!(
    Namespace,
    group = "",
    version = "v1",
    api_version = "v1",
    kind = "Namespace",
    plural = "namespaces",
    singular = "namespace",
    namespaced = false,
    short = ["ns"],
    spec = NamespaceSpec,
    status = NamespaceStatus
);

/// A namespace's spec: only its finalizers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.NamespaceSpec")
)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSpec {
    /// Must be empty before the namespace is removed; `kubernetes` is added on creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalizers: Option<Vec<String>>,
}

/// The lifecycle state of a namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.NamespaceStatus")
)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceStatus {
    /// `Active` or `Terminating`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<NamespaceCondition>>,
}

/// One condition of a namespace, e.g. `NamespaceDeletionContentFailure`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.NamespaceCondition")
)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceCondition {
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
