//! Printers for workload controllers: deployments, replica sets,
//! replication controllers, and the `scale` subresource they share.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::format::{
    age, at, containers, int, label_selector, label_selector_or_none, labels, name,
};
use super::{AGE, Column, NAME, Printer, Row};

const CONTAINERS: Column = Column::new(
    "Containers",
    "string",
    1,
    "Names of each container in the template.",
);
const IMAGES: Column = Column::new(
    "Images",
    "string",
    1,
    "Images referenced by each container in the template.",
);

/// `spec.replicas`, which defaults to 1.
fn desired(obj: &Value) -> i64 {
    at(obj, &["spec", "replicas"])
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

pub const DEPLOYMENTS: Printer = Printer {
    columns: &[
        NAME,
        Column::new("Ready", "string", 0, "Number of the pod with ready state"),
        Column::new(
            "Up-to-date",
            "string",
            0,
            "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
        ),
        Column::new(
            "Available",
            "string",
            0,
            "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
        ),
        AGE,
        CONTAINERS,
        IMAGES,
        Column::new(
            "Selector",
            "string",
            1,
            "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
        ),
    ],
    row: deployment_row,
};

fn deployment_row(d: &Value, now: DateTime<Utc>) -> Row {
    let (names, images) = containers(at(d, &["spec", "template", "spec"]));
    Row::new(vec![
        name(d).into(),
        format!("{}/{}", int(d, &["status", "readyReplicas"]), desired(d)).into(),
        int(d, &["status", "updatedReplicas"]).into(),
        int(d, &["status", "availableReplicas"]).into(),
        age(d, now),
        names,
        images,
        label_selector(at(d, &["spec", "selector"])).into(),
    ])
}

/// DESIRED CURRENT READY AGE, then wide CONTAINERS IMAGES SELECTOR.
const REPLICA_COLUMNS: &[Column] = &[
    NAME,
    Column::new(
        "Desired",
        "integer",
        0,
        "Replicas is the number of desired replicas.",
    ),
    Column::new(
        "Current",
        "integer",
        0,
        "Replicas is the most recently observed number of replicas.",
    ),
    Column::new(
        "Ready",
        "integer",
        0,
        "The number of ready replicas for this replica set.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    Column::new(
        "Selector",
        "string",
        1,
        "Selector is a label query over pods that should match the replica count.",
    ),
];

fn replica_cells(obj: &Value, selector: String, now: DateTime<Utc>) -> Row {
    let (names, images) = containers(at(obj, &["spec", "template", "spec"]));
    Row::new(vec![
        name(obj).into(),
        desired(obj).into(),
        int(obj, &["status", "replicas"]).into(),
        int(obj, &["status", "readyReplicas"]).into(),
        age(obj, now),
        names,
        images,
        selector.into(),
    ])
}

pub const REPLICA_SETS: Printer = Printer {
    columns: REPLICA_COLUMNS,
    row: |rs, now| {
        replica_cells(
            rs,
            label_selector_or_none(at(rs, &["spec", "selector"])),
            now,
        )
    },
};

/// A replication controller's selector is a plain label map.
pub const REPLICATION_CONTROLLERS: Printer = Printer {
    columns: REPLICA_COLUMNS,
    row: |rc, now| replica_cells(rc, labels(at(rc, &["spec", "selector"])), now),
};

/// `autoscaling/v1 Scale` (`kubectl get --subresource=scale`).
pub const SCALE: Printer = Printer {
    columns: &[
        Column { format: "", ..NAME },
        Column::new(
            "Desired",
            "integer",
            0,
            "replicas is the desired number of instances for the scaled object.",
        ),
        Column::new(
            "Available",
            "integer",
            0,
            "replicas is the actual number of observed instances of the scaled object.",
        ),
        AGE,
    ],
    row: |s, now| {
        Row::new(vec![
            name(s).into(),
            int(s, &["spec", "replicas"]).into(),
            int(s, &["status", "replicas"]).into(),
            age(s, now),
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

    fn template() -> Value {
        json!({"spec": {"containers": [{"name": "app", "image": "nginx:1.25"}, {"name": "side", "image": "busybox"}]}})
    }

    #[test]
    fn deployments() {
        let d = json!({
            "metadata": {"name": "web", "creationTimestamp": "2024-05-01T11:00:00Z"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template()},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
        });
        assert_eq!(
            deployment_row(&d, now()).cells,
            vec![
                json!("web"),
                json!("2/3"),
                json!(3),
                json!(2),
                json!("60m"),
                json!("app,side"),
                json!("nginx:1.25,busybox"),
                json!("app=web")
            ]
        );
        let fresh = json!({"metadata": {"name": "new"}});
        assert_eq!(deployment_row(&fresh, now()).cells[1], "0/1");
    }

    #[test]
    fn replica_sets_and_controllers() {
        let rs = json!({"metadata": {"name": "web-1"}, "spec": {"replicas": 2,
            "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "pod-template-hash", "operator": "In", "values": ["abc"]}]},
            "template": template()}, "status": {"replicas": 2, "readyReplicas": 1}});
        let c = (REPLICA_SETS.row)(&rs, now()).cells;
        assert_eq!(&c[1..4], [json!(2), json!(2), json!(1)]);
        assert_eq!(c[7], "app=web,pod-template-hash in (abc)");
        let rc = json!({"metadata": {"name": "old"}, "spec": {"replicas": 0, "selector": {"app": "old"}}});
        let c = (REPLICATION_CONTROLLERS.row)(&rc, now()).cells;
        assert_eq!(
            (&c[1], &c[5], &c[7]),
            (&json!(0), &json!(""), &json!("app=old"))
        );
    }

    #[test]
    fn scale() {
        let s = json!({"kind": "Scale", "metadata": {"name": "web"}, "spec": {"replicas": 4}, "status": {"replicas": 3}});
        assert_eq!(
            (SCALE.row)(&s, now()).cells[..3],
            [json!("web"), json!(4), json!(3)]
        );
    }
}
