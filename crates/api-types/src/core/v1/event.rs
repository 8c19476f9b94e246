//! `Event` (core/v1): a report of something that happened to an object,
//! shown by `kubectl describe` and `kubectl get events`.

use serde::{Deserialize, Serialize};

use super::ObjectReference;
use crate::meta::v1::{MicroTime, ObjectMeta, Time};

/// Something that happened to an object (`Scheduled`, `Pulled`, `BackOff`,
/// ...). Repeats of the same event are folded into `count` (or `series`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.Event")
)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The object the event is about.
    #[serde(default)]
    pub involved_object: ObjectReference,
    /// Short CamelCase reason, e.g. `FailedScheduling`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The component that reported it (legacy; see `reportingComponent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<EventSource>,
    /// First time this event was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_timestamp: Option<Time>,
    /// Most recent time this event was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_timestamp: Option<Time>,
    /// How many times it happened (legacy deduplication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i32>,
    /// `Normal` or `Warning`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// When it first happened, with microseconds (newer events API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<MicroTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<EventSeries>,
    /// What was done, or failed, e.g. `Binding`, `Pulling`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// A second object involved, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related: Option<ObjectReference>,
    /// e.g. `kubelet` or `default-scheduler`. Always present in JSON, as upstream.
    #[serde(default)]
    pub reporting_component: String,
    /// e.g. the node or pod name of the reporter. Always present in JSON, as upstream.
    #[serde(default)]
    pub reporting_instance: String,
}

crate::resource!(
    Event,
    group = "",
    version = "v1",
    api_version = "v1",
    kind = "Event",
    plural = "events",
    singular = "event",
    namespaced = true,
    short = ["ev"]
);

/// The reporter of a legacy event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.EventSource")
)]
#[serde(rename_all = "camelCase")]
pub struct EventSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// A compressed run of repeated events (the newer alternative to `count`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.EventSeries")
)]
#[serde(rename_all = "camelCase")]
pub struct EventSeries {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_observed_time: Option<MicroTime>,
}
