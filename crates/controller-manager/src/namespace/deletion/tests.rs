#![allow(clippy::unwrap_used)]

use super::*;
use api_types::apps::v1::ReplicaSet;
use serde_json::json;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn pod(grace: i64, phase: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "p"},
        "spec": {"terminationGracePeriodSeconds": grace, "containers": []},
        "status": {"phase": phase}
    }))
    .unwrap()
}

fn meta(finalizers: &[&str]) -> ObjectMeta {
    ObjectMeta {
        name: "x".into(),
        finalizers: finalizers.iter().map(|f| (*f).to_string()).collect(),
        ..ObjectMeta::default()
    }
}

#[test]
fn pods_are_given_their_longest_grace_period_once() {
    let pods = [
        pod(30, "Running"),
        pod(60, "Pending"),
        pod(600, "Succeeded"),
    ];
    let deleted = at("2026-01-01T00:00:00Z");
    assert_eq!(pod_estimate(&pods, deleted, at("2026-01-01T00:00:10Z")), 60);
    // Past it: no more waiting (what is left then is unexpected).
    assert_eq!(pod_estimate(&pods, deleted, at("2026-01-01T00:01:00Z")), 0);
    assert_eq!(pod_estimate(&[], deleted, deleted), 0);
}

#[test]
fn what_a_kind_leaves_behind() {
    let rs = KindInfo::of::<ReplicaSet>();
    assert_eq!(
        after_delete(rs, "ns", 0, &[]),
        (KindResult::default(), None)
    );
    // Finalizers: normal, look again in 15 s.
    let (r, err) = after_delete(rs, "ns", 0, &[meta(&["a", "b"]), meta(&["a"])]);
    assert!(err.is_none());
    assert_eq!(r.estimate, FINALIZER_ESTIMATE_SECONDS);
    assert_eq!(r.remaining, 2);
    assert_eq!(r.finalizers, [("a".into(), 2), ("b".into(), 1)].into());
    // Pods within their grace period: normal.
    let (r, err) = after_delete(KindInfo::of::<Pod>(), "ns", 30, &[meta(&[])]);
    assert_eq!((r.estimate, r.remaining, err), (30, 1, None));
    // Left for no reason: an error, in upstream's words.
    let (r, err) = after_delete(rs, "ns", 0, &[meta(&[])]);
    assert_eq!(r.remaining, 1);
    assert_eq!(
        err.unwrap(),
        "unexpected items still remain in namespace: ns for gvr: apps/v1, Resource=replicasets"
    );
}

fn now() -> Time {
    Time(at("2026-01-01T00:00:00Z"))
}

fn later() -> Time {
    Time(at("2026-01-01T00:05:00Z"))
}

fn find<'a>(s: &'a NamespaceStatus, t: &str) -> &'a NamespaceCondition {
    s.conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == t)
        .unwrap()
}

#[test]
fn conditions_report_what_remains_in_upstreams_words() {
    let mut totals = Totals::default();
    let one = |n, fs: &[(&str, usize)]| KindResult {
        estimate: 15,
        remaining: n,
        finalizers: fs.iter().map(|(f, n)| ((*f).to_string(), *n)).collect(),
    };
    totals.add(KindInfo::of::<Pod>(), &one(2, &[("example.com/hold", 2)]));
    totals.add(
        KindInfo::of::<ReplicaSet>(),
        &one(1, &[("example.com/hold", 1)]),
    );
    totals.add(KindInfo::of::<ReplicaSet>(), &one(0, &[]));
    let mut c = Conditions::default();
    c.content_totals(&totals);
    let mut status = NamespaceStatus {
        phase: Some("Terminating".into()),
        conditions: None,
    };
    assert!(c.update(&mut status, now()));
    assert_eq!(status.conditions.as_ref().unwrap().len(), 5);
    let remaining = find(&status, "NamespaceContentRemaining");
    assert_eq!(remaining.status, "True");
    assert_eq!(remaining.reason.as_deref(), Some("SomeResourcesRemain"));
    assert_eq!(
        remaining.message.as_deref(),
        Some(
            "Some resources are remaining: pods. has 2 resource instances, replicasets.apps has 1 resource instances"
        )
    );
    let finalizers = find(&status, "NamespaceFinalizersRemaining");
    assert_eq!(
        finalizers.message.as_deref(),
        Some(
            "Some content in the namespace has finalizers remaining: example.com/hold in 3 resource instances"
        )
    );
    let ok = find(&status, "NamespaceDeletionDiscoveryFailure");
    assert_eq!(
        (ok.status.as_str(), ok.reason.as_deref()),
        ("False", Some("ResourcesDiscovered"))
    );

    // The same again: no change, so no write.
    let mut same = Conditions::default();
    same.content_totals(&totals);
    assert!(!same.update(&mut status, later()));

    // All gone: back to False, with a new transition time.
    assert!(Conditions::default().update(&mut status, later()));
    let removed = find(&status, "NamespaceContentRemaining");
    assert_eq!(removed.status, "False");
    assert_eq!(removed.reason.as_deref(), Some("ContentRemoved"));
    assert_eq!(removed.last_transition_time, Some(later()));
    // Unchanged conditions keep their time.
    assert_eq!(
        find(&status, "NamespaceDeletionDiscoveryFailure").last_transition_time,
        Some(now())
    );
}

#[test]
fn delete_errors_become_a_content_failure() {
    let mut c = Conditions::default();
    c.delete_error("b failed".into());
    c.delete_error("a failed".into());
    let mut status = NamespaceStatus::default();
    c.update(&mut status, now());
    let f = find(&status, "NamespaceDeletionContentFailure");
    assert_eq!(f.status, "True");
    assert_eq!(f.reason.as_deref(), Some("ContentDeletionFailed"));
    assert_eq!(
        f.message.as_deref(),
        Some("Failed to delete all resource types, 2 remaining: a failed, b failed")
    );
}

#[test]
fn finalize_takes_out_only_kubernetes() {
    let ns: Namespace = serde_json::from_value(json!({
        "metadata": {"name": "x", "resourceVersion": "5"},
        "spec": {"finalizers": ["kubernetes", "z.example.com/x", "a.example.com/y"]}
    }))
    .unwrap();
    assert!(!finalized(&ns));
    let req = finalize_request(&ns);
    assert_eq!(req.metadata.resource_version, "5");
    assert_eq!(
        req.spec.unwrap().finalizers.unwrap(),
        ["a.example.com/y", "z.example.com/x"]
    );
    let done: Namespace =
        serde_json::from_value(json!({"metadata": {"name": "x"}, "spec": {"finalizers": []}}))
            .unwrap();
    assert!(finalized(&done));
}

#[test]
fn waits_half_the_estimate_and_a_second() {
    assert_eq!(requeue_after(15), Duration::from_secs(8));
    assert_eq!(requeue_after(30), Duration::from_secs(16));
    assert_eq!(requeue_after(0), Duration::from_secs(1));
}
