#![allow(clippy::unwrap_used)]

use super::*;
use serde_json::json;

fn pod(v: serde_json::Value) -> Arc<Pod> {
    Arc::new(serde_json::from_value(v).unwrap())
}

fn owned(name: &str, extra: serde_json::Value) -> Arc<Pod> {
    let mut v = json!({
        "metadata": {
            "name": name, "namespace": "ns", "labels": {"app": "web"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "rs-uid", "controller": true}],
            "creationTimestamp": "2026-11-22T10:00:00Z"
        },
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-22T10:00:05Z"}]}
    });
    merge(&mut v, extra);
    pod(v)
}

fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
    match (a, b) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

fn now() -> DateTime<Utc> {
    "2026-11-22T10:01:00Z".parse().unwrap()
}

fn run(replicas: i32, min_ready: i32, pods: &[Arc<Pod>]) -> Plan {
    let selector = Selector::parse("app=web").unwrap();
    let labels: BTreeMap<String, String> = [("app".to_string(), "web".to_string())].into();
    plan(
        &Owner {
            uid: "rs-uid",
            replicas,
            min_ready_seconds: min_ready,
            selector: &selector,
            template_labels: &labels,
            deleting: false,
        },
        pods,
        now(),
    )
}

#[test]
fn creates_what_is_missing() {
    let p = run(3, 0, &[owned("a", json!({}))]);
    assert_eq!(p.create, 2);
    assert!(p.delete.is_empty());
    assert_eq!(
        p.counts,
        Counts {
            replicas: 1,
            fully_labeled: 1,
            ready: 1,
            available: 1
        }
    );
    assert_eq!(run(10_000, 0, &[]).create, BURST_REPLICAS);
}

#[test]
fn finished_and_deleting_pods_are_replaced() {
    let done = owned("done", json!({"status": {"phase": "Failed"}}));
    let going = owned(
        "going",
        json!({"metadata": {"deletionTimestamp": "2026-11-22T10:00:30Z"}}),
    );
    let p = run(2, 0, &[done, going, owned("ok", json!({}))]);
    assert_eq!(p.create, 1);
    assert_eq!(p.counts.replicas, 1);
}

#[test]
fn deletes_in_upstream_order() {
    let pods = vec![
        owned("ready-old", json!({})),
        owned(
            "ready-new",
            json!({"status": {"conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-22T10:00:50Z"}]}}),
        ),
        owned(
            "not-ready",
            json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
        ),
        owned(
            "pending",
            json!({"status": {"phase": "Pending", "conditions": []}}),
        ),
        owned(
            "unscheduled",
            json!({"spec": {"nodeName": null}, "status": {"phase": "Pending", "conditions": []}}),
        ),
        owned(
            "crashy",
            json!({"status": {"containerStatuses": [{"name": "c", "ready": true, "restartCount": 5, "image": "i", "imageID": ""}]}}),
        ),
    ];
    let p = run(0, 0, &pods);
    assert_eq!(
        p.delete,
        [
            "unscheduled",
            "pending",
            "not-ready",
            "ready-new",
            "crashy",
            "ready-old"
        ]
    );
    assert_eq!(run(4, 0, &pods).delete, ["unscheduled", "pending"]);
}

#[test]
fn adopts_orphans_and_releases_strays() {
    let orphan =
        pod(json!({"metadata": {"name": "orphan", "namespace": "ns", "labels": {"app": "web"}}}));
    let other = pod(
        json!({"metadata": {"name": "other", "namespace": "ns", "labels": {"app": "web"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "x", "uid": "x-uid", "controller": true}]}}),
    );
    let stray = owned("stray", json!({"metadata": {"labels": {"app": "db"}}}));
    let p = run(1, 0, &[orphan, other, stray]);
    assert_eq!(p.adopt, ["orphan"]);
    assert_eq!(p.release, ["stray"]);
    // The adopted orphan counts (it is Pending: no status), so nothing to create.
    assert_eq!(p.create, 0);
    assert_eq!(p.counts.replicas, 1);
}

#[test]
fn available_waits_for_min_ready_seconds() {
    // Ready at 10:00:05, now 10:01:00: 55 s ready.
    let pods = [owned("a", json!({}))];
    assert_eq!(run(1, 30, &pods).counts.available, 1);
    assert_eq!(run(1, 60, &pods).counts.available, 0);
    assert_eq!(run(1, 60, &pods).counts.ready, 1);
}

#[test]
fn fully_labeled_needs_every_template_label() {
    let selector = Selector::parse("app=web").unwrap();
    let labels: BTreeMap<String, String> = [
        ("app".into(), "web".into()),
        ("tier".into(), "front".into()),
    ]
    .into();
    let p = plan(
        &Owner {
            uid: "rs-uid",
            replicas: 1,
            min_ready_seconds: 0,
            selector: &selector,
            template_labels: &labels,
            deleting: false,
        },
        &[owned("a", json!({}))],
        now(),
    );
    assert_eq!((p.counts.replicas, p.counts.fully_labeled), (1, 0));
}
