//! Printers for cluster-level kinds: nodes, namespaces, events, leases.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::format::{age, at, int, list, name, since, text, time};
use super::{AGE, Column, NAME, Printer, Row};

pub const NODES: Printer = Printer {
    columns: &[
        NAME,
        Column::new("Status", "string", 0, "The status of the node"),
        Column::new("Roles", "string", 0, "The roles of the node"),
        AGE,
        Column::new(
            "Version",
            "string",
            0,
            "Kubelet Version reported by the node.",
        ),
        Column::new(
            "Internal-IP",
            "string",
            1,
            "List of addresses reachable to the node.",
        ),
        Column::new(
            "External-IP",
            "string",
            1,
            "List of addresses reachable to the node.",
        ),
        Column::new(
            "OS-Image",
            "string",
            1,
            "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
        ),
        Column::new(
            "Kernel-Version",
            "string",
            1,
            "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
        ),
        Column::new(
            "Container-Runtime",
            "string",
            1,
            "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
        ),
    ],
    row: node_row,
};

/// The first address of a type, or `<none>`.
fn node_address(node: &Value, type_: &str) -> String {
    list(node, &["status", "addresses"])
        .iter()
        .find(|a| text(a, &["type"]) == type_)
        .map_or_else(|| "<none>".into(), |a| text(a, &["address"]).into())
}

/// Roles from `node-role.kubernetes.io/<role>` labels and the older
/// `kubernetes.io/role=<role>`, sorted.
fn node_roles(node: &Value) -> String {
    let mut roles: Vec<&str> = at(node, &["metadata", "labels"])
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| match k.strip_prefix("node-role.kubernetes.io/") {
                    Some(role) if !role.is_empty() => Some(role),
                    Some(_) => None,
                    None if k == "kubernetes.io/role" => v.as_str().filter(|v| !v.is_empty()),
                    None => None,
                })
                .collect()
        })
        .unwrap_or_default();
    roles.sort_unstable();
    roles.dedup();
    if roles.is_empty() {
        "<none>".into()
    } else {
        roles.join(",")
    }
}

/// STATUS: `Ready`, `NotReady` or `Unknown` (no Ready condition yet), plus
/// `,SchedulingDisabled` for a cordoned node.
fn node_status(node: &Value) -> String {
    let mut status = match list(node, &["status", "conditions"])
        .iter()
        .find(|c| text(c, &["type"]) == "Ready")
    {
        Some(c) if text(c, &["status"]) == "True" => "Ready".to_string(),
        Some(_) => "NotReady".to_string(),
        None => "Unknown".to_string(),
    };
    if at(node, &["spec", "unschedulable"]) == Some(&Value::Bool(true)) {
        status.push_str(",SchedulingDisabled");
    }
    status
}

fn node_row(node: &Value, now: DateTime<Utc>) -> Row {
    let info = |key: &str| match text(node, &["status", "nodeInfo", key]) {
        "" => "<unknown>".to_string(),
        v => v.to_string(),
    };
    Row::new(vec![
        name(node).into(),
        node_status(node).into(),
        node_roles(node).into(),
        age(node, now),
        text(node, &["status", "nodeInfo", "kubeletVersion"]).into(),
        node_address(node, "InternalIP").into(),
        node_address(node, "ExternalIP").into(),
        info("osImage").into(),
        info("kernelVersion").into(),
        info("containerRuntimeVersion").into(),
    ])
}

pub const NAMESPACES: Printer = Printer {
    columns: &[
        NAME,
        Column::new("Status", "string", 0, "The status of the namespace"),
        AGE,
    ],
    row: |ns, now| {
        Row::new(vec![
            name(ns).into(),
            text(ns, &["status", "phase"]).into(),
            age(ns, now),
        ])
    },
};

pub const EVENTS: Printer = Printer {
    columns: &[
        Column::new(
            "Last Seen",
            "string",
            0,
            "The time at which the most recent occurrence of this event was recorded.",
        ),
        Column::new(
            "Type",
            "string",
            0,
            "Type of this event (Normal, Warning), new types could be added in the future",
        ),
        Column::new(
            "Reason",
            "string",
            0,
            "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
        ),
        Column::new(
            "Object",
            "string",
            0,
            "The object that this event is about.",
        ),
        Column::new(
            "Subobject",
            "string",
            1,
            "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].",
        ),
        Column::new(
            "Source",
            "string",
            1,
            "The component reporting this event. Should be a short machine understandable string.",
        ),
        Column::new(
            "Message",
            "string",
            0,
            "A human-readable description of the status of this operation.",
        ),
        Column::new(
            "First Seen",
            "string",
            1,
            "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
        ),
        Column::new(
            "Count",
            "string",
            1,
            "The number of times this event has occurred.",
        ),
        Column {
            priority: 1,
            ..NAME
        },
    ],
    row: event_row,
};

fn event_row(ev: &Value, now: DateTime<Utc>) -> Row {
    // Events from the events.k8s.io API carry eventTime and a series
    // instead of first/last timestamps and a count.
    let first = match time(ev, &["firstTimestamp"]) {
        Some(t) => since(Some(t), now),
        None => since(time(ev, &["eventTime"]), now),
    };
    let mut last = match time(ev, &["lastTimestamp"]) {
        Some(t) => since(Some(t), now),
        None => first.clone(),
    };
    let mut count = int(ev, &["count"]);
    if let Some(series) = at(ev, &["series"]).filter(|s| !s.is_null()) {
        last = since(time(series, &["lastObservedTime"]), now);
        count = int(series, &["count"]);
    } else if count == 0 {
        count = 1;
    }
    let kind = text(ev, &["involvedObject", "kind"]).to_lowercase();
    let target = match text(ev, &["involvedObject", "name"]) {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let component = match text(ev, &["source", "component"]) {
        "" => text(ev, &["reportingComponent"]),
        c => c,
    };
    let instance = match text(ev, &["source", "host"]) {
        "" => text(ev, &["reportingInstance"]),
        h => h,
    };
    let source = if instance.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {instance}")
    };
    Row::new(vec![
        last.into(),
        text(ev, &["type"]).into(),
        text(ev, &["reason"]).into(),
        target.into(),
        text(ev, &["involvedObject", "fieldPath"]).into(),
        source.into(),
        text(ev, &["message"]).trim().into(),
        first.into(),
        count.into(),
        name(ev).into(),
    ])
}

pub const LEASES: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Holder",
            "string",
            0,
            "holderIdentity contains the identity of the holder of a current lease.",
        ),
        AGE,
    ],
    row: |lease, now| {
        Row::new(vec![
            name(lease).into(),
            text(lease, &["spec", "holderIdentity"]).into(),
            age(lease, now),
        ])
    },
};

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn nodes() {
        let node = json!({
            "metadata": {"name": "n1", "creationTimestamp": "2024-04-30T12:00:00Z", "labels": {
                "node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/": "",
                "kubernetes.io/role": "worker"}},
            "spec": {"unschedulable": true},
            "status": {
                "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                "addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "10.0.0.1"}],
                "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian", "kernelVersion": "6.1", "containerRuntimeVersion": "containerd://1.7"}
            }
        });
        assert_eq!(
            node_row(&node, now()).cells,
            vec![
                json!("n1"),
                json!("Ready,SchedulingDisabled"),
                json!("control-plane,worker"),
                json!("24h"),
                json!("v1.32.0"),
                json!("10.0.0.1"),
                json!("<none>"),
                json!("Debian"),
                json!("6.1"),
                json!("containerd://1.7"),
            ]
        );
        let bare = json!({"metadata": {"name": "n2"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
        let cells = node_row(&bare, now()).cells;
        assert_eq!(&cells[1..3], [json!("NotReady"), json!("<none>")]);
        assert_eq!(cells[7], "<unknown>");
        assert_eq!(
            node_row(&json!({"metadata": {"name": "n3"}}), now()).cells[1],
            "Unknown"
        );
    }

    #[test]
    fn events() {
        let ev = json!({
            "metadata": {"name": "web.17a"},
            "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
            "reason": "Pulled", "type": "Normal", "message": "Pulled image  \n",
            "source": {"component": "kubelet", "host": "n1"},
            "firstTimestamp": "2024-05-01T11:00:00Z", "lastTimestamp": "2024-05-01T11:58:00Z", "count": 3
        });
        assert_eq!(
            event_row(&ev, now()).cells,
            vec![
                json!("2m"),
                json!("Normal"),
                json!("Pulled"),
                json!("pod/web"),
                json!("spec.containers{app}"),
                json!("kubelet, n1"),
                json!("Pulled image"),
                json!("60m"),
                json!(3),
                json!("web.17a"),
            ]
        );
        // events.k8s.io style: eventTime, reporting controller, series
        let ev = json!({
            "metadata": {"name": "x"}, "involvedObject": {"kind": "Node"},
            "eventTime": "2024-05-01T11:59:00.000000Z", "reportingComponent": "scheduler",
            "series": {"count": 7, "lastObservedTime": "2024-05-01T11:59:30.000000Z"}
        });
        let c = event_row(&ev, now()).cells;
        assert_eq!(
            (&c[0], &c[3], &c[5], &c[7], &c[8]),
            (
                &json!("30s"),
                &json!("node"),
                &json!("scheduler"),
                &json!("60s"),
                &json!(7)
            )
        );
        let singleton = json!({"metadata": {"name": "y"}});
        let c = event_row(&singleton, now()).cells;
        assert_eq!((&c[0], &c[8]), (&json!("<unknown>"), &json!(1)));
    }

    #[test]
    fn namespaces_and_leases() {
        let ns = json!({"metadata": {"name": "prod", "creationTimestamp": "2024-05-01T11:59:59Z"}, "status": {"phase": "Terminating"}});
        assert_eq!(
            (NAMESPACES.row)(&ns, now()).cells,
            vec![json!("prod"), json!("Terminating"), json!("1s")]
        );
        let lease = json!({"metadata": {"name": "n1"}, "spec": {"holderIdentity": "n1"}});
        assert_eq!((LEASES.row)(&lease, now()).cells[1], "n1");
    }
}
