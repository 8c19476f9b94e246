//! core/v1 Events: reports of what happened to an object, shown by
//! `kubectl describe` (`pkg/registry/core/event` and `legacyValidateEvent`
//! upstream).
//!
//! Through `/api/v1` upstream applies only the lenient legacy rules (old
//! clients write events in many shapes): the event must live in its
//! object's namespace, and events written by new-style recorders (those with
//! `eventTime`) must say who reported them. Field selectors let
//! `kubectl describe` find the events of one object.

use api_types::core::v1::Event;

use crate::error::FieldError;
use crate::registry::rules::qualified_name;
use crate::registry::strategy::{FieldSet, Strategy};

pub struct EventStrategy;

const REPORTING_INSTANCE_LIMIT: usize = 128;
const ACTION_LIMIT: usize = 128;
const REASON_LIMIT: usize = 128;
const NOTE_LIMIT: usize = 1024;

const SELECTABLE: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

fn too_long(field: &str, limit: usize) -> FieldError {
    FieldError::invalid(field, "", format!("can have at most {limit} characters"))
}

/// `legacyValidateEvent`.
fn validate_event(ev: &Event) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ns = ev.metadata.namespace.as_str();
    let involved_ns = ev.involved_object.namespace.as_deref().unwrap_or_default();
    let mismatch = || {
        FieldError::invalid(
            "involvedObject.namespace",
            involved_ns,
            "does not match event.namespace",
        )
    };
    let s = |v: &Option<String>| v.as_deref().unwrap_or_default().len();
    if ev.event_time.is_none() {
        // An event about a cluster-scoped object (a node) lives in
        // `default`, or nowhere for very old clients.
        let ok = if involved_ns.is_empty() {
            ns.is_empty() || ns == "default"
        } else {
            ns == involved_ns
        };
        if !ok {
            errs.push(mismatch());
        }
    } else {
        if involved_ns.is_empty() && ns != "default" && ns != "kube-system" {
            errs.push(mismatch());
        }
        // Upstream names these by their internal field names.
        if ev.reporting_component.is_empty() {
            errs.push(FieldError::required("reportingController", ""));
        }
        errs.extend(qualified_name(
            "reportingController",
            &ev.reporting_component,
        ));
        if ev.reporting_instance.is_empty() {
            errs.push(FieldError::required("reportingInstance", ""));
        }
        if ev.reporting_instance.len() > REPORTING_INSTANCE_LIMIT {
            errs.push(too_long("reportingInstance", REPORTING_INSTANCE_LIMIT));
        }
        if s(&ev.action) == 0 {
            errs.push(FieldError::required("action", ""));
        }
        if s(&ev.action) > ACTION_LIMIT {
            errs.push(too_long("action", ACTION_LIMIT));
        }
        if s(&ev.reason) == 0 {
            errs.push(FieldError::required("reason", ""));
        }
        if s(&ev.reason) > REASON_LIMIT {
            errs.push(too_long("reason", REASON_LIMIT));
        }
        if s(&ev.message) > NOTE_LIMIT {
            errs.push(too_long("message", NOTE_LIMIT));
        }
    }
    errs
}

impl Strategy<Event> for EventStrategy {
    fn validate(&self, ev: &Event) -> Vec<FieldError> {
        validate_event(ev)
    }

    fn fields(&self, ev: &Event) -> FieldSet {
        let o = &ev.involved_object;
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        // New-style recorders leave `source` empty and name themselves in
        // `reportingComponent`; `source=` selects either.
        let source = ev
            .source
            .as_ref()
            .and_then(|s| s.component.clone())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| ev.reporting_component.clone());
        vec![
            ("involvedObject.kind", s(&o.kind)),
            ("involvedObject.namespace", s(&o.namespace)),
            ("involvedObject.name", s(&o.name)),
            ("involvedObject.uid", s(&o.uid)),
            ("involvedObject.apiVersion", s(&o.api_version)),
            ("involvedObject.resourceVersion", s(&o.resource_version)),
            ("involvedObject.fieldPath", s(&o.field_path)),
            ("reason", s(&ev.reason)),
            ("reportingComponent", ev.reporting_component.clone()),
            ("source", source),
            ("type", s(&ev.type_)),
        ]
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        SELECTABLE
    }
}

#[cfg(test)]
mod tests {
    use api_types::core::v1::{EventSource, ObjectReference};
    use api_types::meta::v1::{MicroTime, ObjectMeta};

    use super::*;

    fn event(ns: &str, involved_ns: Option<&str>) -> Event {
        Event {
            metadata: ObjectMeta {
                name: "web.17a".into(),
                namespace: ns.into(),
                ..Default::default()
            },
            involved_object: ObjectReference {
                kind: Some("Pod".into()),
                name: Some("web".into()),
                namespace: involved_ns.map(str::to_string),
                ..Default::default()
            },
            reason: Some("Scheduled".into()),
            message: Some("Successfully assigned default/web to node-1".into()),
            type_: Some("Normal".into()),
            source: Some(EventSource {
                component: Some("default-scheduler".into()),
                host: None,
            }),
            ..Default::default()
        }
    }

    fn texts(ev: &Event) -> Vec<String> {
        EventStrategy
            .validate(ev)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn namespaces_must_match() {
        assert!(texts(&event("default", Some("default"))).is_empty());
        assert!(
            texts(&event("default", None)).is_empty(),
            "node events live in default"
        );
        assert_eq!(
            texts(&event("default", Some("kube-system"))),
            [
                r#"involvedObject.namespace: Invalid value: "kube-system": does not match event.namespace"#
            ]
        );
        assert_eq!(
            texts(&event("team-a", None)),
            [r#"involvedObject.namespace: Invalid value: "": does not match event.namespace"#]
        );
    }

    #[test]
    fn new_style_events_name_their_reporter() {
        let mut ev = event("default", Some("default"));
        ev.event_time = Some(MicroTime(chrono::Utc::now()));
        ev.reason = None;
        ev.message = Some("x".repeat(1025));
        let errs = texts(&ev);
        assert_eq!(errs[0], "reportingController: Required value");
        assert!(errs[1].starts_with(r#"reportingController: Invalid value: "": name part"#));
        let tail: Vec<&str> = errs
            .iter()
            .map(String::as_str)
            .skip_while(|e| e.starts_with("reportingController"))
            .collect();
        assert_eq!(
            tail,
            [
                "reportingInstance: Required value",
                "action: Required value",
                "reason: Required value",
                r#"message: Invalid value: "": can have at most 1024 characters"#,
            ]
        );
        ev.reporting_component = "kubelet".into();
        ev.reporting_instance = "kubelet-node-1".into();
        ev.action = Some("Started".into());
        ev.reason = Some("Started".into());
        ev.message = None;
        assert!(texts(&ev).is_empty(), "{:?}", texts(&ev));
    }

    #[test]
    fn fields_for_kubectl_describe() {
        let mut ev = event("default", Some("default"));
        let fields = EventStrategy.fields(&ev);
        let get = |f: &FieldSet, k: &str| {
            f.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(get(&fields, "involvedObject.name"), "web");
        assert_eq!(get(&fields, "involvedObject.kind"), "Pod");
        assert_eq!(get(&fields, "source"), "default-scheduler");
        assert_eq!(get(&fields, "type"), "Normal");
        assert_eq!(fields.len(), SELECTABLE.len());
        ev.source = None;
        ev.reporting_component = "kubelet".into();
        let fields = EventStrategy.fields(&ev);
        assert_eq!(get(&fields, "source"), "kubelet");
        assert_eq!(get(&fields, "reportingComponent"), "kubelet");
    }
}
