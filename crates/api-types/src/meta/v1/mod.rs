//! `meta/v1` (k8s.io/apimachinery/pkg/apis/meta/v1): the types shared by every
//! API object: metadata, lists, status, watch events, options, tables, times.

mod fields_v1;
mod object_meta;
mod options;
mod status;
mod table;
mod time;
mod watch;

pub use fields_v1::FieldsV1;
pub use object_meta::{ListMeta, ManagedFieldsEntry, ObjectMeta, OwnerReference, TypeMeta};
pub use options::{DeleteOptions, Preconditions};
pub use status::{Status, StatusCause, StatusDetails};
pub use table::{Table, TableColumnDefinition, TableRow};
pub use time::{MicroTime, Time};
pub use watch::WatchEvent;

/// A generic list (`PodList`, `NodeList`, ...): `kind` is the item kind plus `List`.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "{T}List")
)]
#[serde(rename_all = "camelCase")]
pub struct List<T> {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ListMeta,
    pub items: Vec<T>,
}

/// `metav1.LabelSelector`: `matchLabels` AND every `matchExpressions` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector")
)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<LabelSelectorRequirement>>,
}

/// One set-based requirement: `key` `operator` (`In`, `NotIn`, `Exists`, `DoesNotExist`) `values`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement")
)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorRequirement {
    pub key: String,
    pub operator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

/// `metav1.Condition`: the standard condition shape used by newer APIs.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.apimachinery.pkg.apis.meta.v1.Condition")
)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message: String,
}
