#![allow(clippy::unwrap_used)]

use super::*;
use chrono::TimeZone;

fn int(n: i32) -> IntOrString {
    IntOrString::Int(n)
}

fn pct(s: &str) -> IntOrString {
    IntOrString::String(s.into())
}

fn rolling(replicas: i32, surge: i32, unavailable: i32) -> Spec {
    Spec {
        replicas,
        recreate: false,
        max_surge: surge,
        max_unavailable: unavailable,
        min_ready_seconds: 0,
        revision_history_limit: 10,
        paused: false,
        progress_deadline: Some(600),
    }
}

fn at(secs: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).single()
}

/// A ReplicaSet of `replicas`, all of them existing, `available` available.
fn rs(name: &str, age: i64, replicas: i32, available: i32) -> Rs {
    Rs {
        name: name.into(),
        replicas,
        current: replicas,
        ready: available,
        available,
        created: at(age),
        ..Rs::default()
    }
}

#[test]
fn percentages_round_surge_up_and_unavailability_down() {
    assert_eq!(fenceposts(&pct("25%"), &pct("25%"), 10), Ok((3, 2)));
    assert_eq!(fenceposts(&pct("50%"), &pct("50%"), 3), Ok((2, 1)));
    assert_eq!(fenceposts(&int(2), &int(0), 3), Ok((2, 0)));
    // Both zero would never move: one may be unavailable.
    assert_eq!(fenceposts(&int(0), &int(0), 3), Ok((0, 1)));
    assert_eq!(fenceposts(&pct("0%"), &pct("10%"), 5), Ok((0, 1)));
    assert!(fenceposts(&pct("abc"), &int(1), 3).is_err());
}

#[test]
fn spec_defaults_as_the_apiserver() {
    let d: Deployment = serde_json::from_value(serde_json::json!({
        "spec": {"replicas": 4, "template": {}, "selector": {}}
    }))
    .unwrap();
    let s = Spec::of(&d).unwrap();
    assert_eq!((s.max_surge, s.max_unavailable), (1, 1));
    assert_eq!(s.revision_history_limit, 10);
    assert_eq!(s.progress_deadline, Some(600));
    let d: Deployment = serde_json::from_value(serde_json::json!({
        "spec": {"strategy": {"type": "Recreate"}, "progressDeadlineSeconds": 2147483647,
                 "template": {}, "selector": {}}
    }))
    .unwrap();
    let s = Spec::of(&d).unwrap();
    assert!(s.recreate);
    assert_eq!(s.replicas, 1);
    assert_eq!(s.progress_deadline, None);
}

#[test]
fn the_new_replica_set_grows_within_the_surge() {
    let spec = rolling(10, 3, 2);
    let old = rs("old", 0, 10, 10);
    let new = rs("new", 1, 0, 0);
    assert_eq!(new_rs_replicas(&spec, &[old.clone(), new.clone()], &new), 3);
    // At replicas + surge already: no more.
    let new3 = rs("new", 1, 3, 0);
    assert_eq!(new_rs_replicas(&spec, &[old, new3.clone()], &new3), 3);
    // Old ones shrank by 2: two more.
    let old8 = rs("old", 0, 8, 8);
    assert_eq!(new_rs_replicas(&spec, &[old8, new3.clone()], &new3), 5);
    // Never beyond replicas.
    let old0 = rs("old", 0, 0, 0);
    let new9 = rs("new", 1, 9, 9);
    assert_eq!(new_rs_replicas(&spec, &[old0, new9.clone()], &new9), 10);
    let recreate = Spec {
        recreate: true,
        ..rolling(10, 0, 0)
    };
    assert_eq!(
        new_rs_replicas(&recreate, std::slice::from_ref(&new), &new),
        10
    );
}

#[test]
fn with_max_unavailable_zero_old_pods_go_only_as_new_ones_become_available() {
    let spec = rolling(10, 1, 0);
    let old = [rs("old", 0, 10, 10)];
    // The surge pod is not available yet: nothing may go.
    assert_eq!(scale_down_old(&spec, &old, Some(&rs("new", 1, 1, 0))), []);
    // It is: one old pod may go.
    assert_eq!(
        scale_down_old(&spec, &old, Some(&rs("new", 1, 1, 1))),
        [(0, 9)]
    );
}

#[test]
fn unavailable_old_pods_go_first_and_cost_nothing() {
    let spec = rolling(10, 3, 2);
    // 7 of 10 old pods available; the 3 new ones are not yet.
    let old = [rs("old", 0, 10, 7)];
    let new = rs("new", 1, 3, 0);
    // 13 pods, 8 must stay available, 3 new unavailable: 2 may go, and
    // they are 2 of the 3 unavailable old pods.
    assert_eq!(scale_down_old(&spec, &old, Some(&new)), [(0, 8)]);
}

#[test]
fn the_oldest_replica_sets_shrink_first() {
    let spec = rolling(4, 1, 1);
    let old = [rs("b", 5, 2, 2), rs("a", 1, 2, 2)];
    let new = rs("new", 9, 1, 1);
    // 5 available, 3 must stay: 2 go, both from the oldest ("a").
    assert_eq!(scale_down_old(&spec, &old, Some(&new)), [(1, 0)]);
}

#[test]
fn scaling_events_are_told_by_the_desired_replicas_annotation() {
    let spec = rolling(5, 1, 1);
    let mut a = rs("a", 0, 3, 3);
    a.desired_replicas = Some(5);
    assert!(!is_scaling_event(&spec, &[a.clone()]));
    a.desired_replicas = Some(3);
    assert!(is_scaling_event(&spec, &[a.clone()]));
    // Inactive ones do not count.
    a.replicas = 0;
    assert!(!is_scaling_event(&spec, &[a]));
}

#[test]
fn a_lone_active_replica_set_takes_the_new_size() {
    let spec = rolling(7, 2, 1);
    let all = [rs("old", 0, 0, 0), rs("new", 1, 3, 3)];
    assert_eq!(proportional_scale(&spec, &all, Some(1)), [(1, 7)]);
    // Nothing active: the new one.
    let all = [rs("old", 0, 0, 0), rs("new", 1, 0, 0)];
    assert_eq!(proportional_scale(&spec, &all, Some(1)), [(1, 7)]);
}

#[test]
fn a_scale_change_mid_rollout_is_shared_in_proportion() {
    // Was 10 (max 13 with surge 3); now 15 with surge 4: 19 allowed.
    let spec = rolling(15, 4, 3);
    let mut old = rs("old", 0, 8, 8);
    let mut new = rs("new", 1, 5, 0);
    old.max_replicas = Some(13);
    new.max_replicas = Some(13);
    // 6 to add: old 8*19/13 = 11.7 -> 12 (+4), new gets the other 2.
    assert_eq!(
        proportional_scale(&spec, &[old.clone(), new.clone()], Some(1)),
        [(0, 12), (1, 7)]
    );
    // Down to 0: everything goes.
    let zero = rolling(0, 0, 0);
    assert_eq!(
        proportional_scale(&zero, &[old, new], Some(1)),
        [(0, 0), (1, 0)]
    );
}

#[test]
fn a_saturated_new_replica_set_retires_the_old_ones() {
    let spec = rolling(4, 1, 1);
    let all = [rs("old", 0, 1, 1), rs("new", 1, 4, 4)];
    assert_eq!(proportional_scale(&spec, &all, Some(1)), [(0, 0)]);
}

#[test]
fn history_beyond_the_limit_goes_oldest_revision_first() {
    let mut spec = rolling(1, 1, 0);
    spec.revision_history_limit = 2;
    let mut old: Vec<Rs> = (1..=4)
        .map(|i| Rs {
            revision: i,
            ..rs(&format!("r{i}"), i, 0, 0)
        })
        .collect();
    // One still has a pod: kept, and not counted.
    old.push(Rs {
        revision: 5,
        current: 1,
        ..rs("r5", 5, 0, 0)
    });
    assert_eq!(history_to_delete(&spec, &old), [0, 1]);
    spec.revision_history_limit = 10;
    assert!(history_to_delete(&spec, &old).is_empty());
    assert_eq!(next_revision(&old), 6);
}

fn input<'a>(
    spec: &'a Spec,
    all: &'a [Rs],
    previous: &'a DeploymentStatus,
    now: i64,
) -> StatusInput<'a> {
    StatusInput {
        spec,
        generation: 2,
        all,
        new: all.last(),
        previous,
        now: at(now).unwrap(),
        rollout: true,
        created_new: false,
    }
}

fn cond<'a>(s: &'a DeploymentStatus, t: &str) -> &'a DeploymentCondition {
    s.conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == t)
        .unwrap()
}

#[test]
fn status_reports_progress_completion_and_timeouts() {
    let spec = rolling(3, 1, 0);
    let start = DeploymentStatus::default();
    // The new ReplicaSet was just created.
    let all = [rs("old", 0, 3, 3), rs("web-abc", 1, 1, 0)];
    let s1 = status(&StatusInput {
        created_new: true,
        ..input(&spec, &all, &start, 0)
    });
    assert_eq!(s1.replicas, Some(4));
    assert_eq!(s1.updated_replicas, Some(1));
    assert_eq!(s1.available_replicas, Some(3));
    assert_eq!(s1.unavailable_replicas, Some(1));
    assert_eq!(s1.observed_generation, Some(2));
    let p = cond(&s1, "Progressing");
    assert_eq!(p.reason.as_deref(), Some("NewReplicaSetCreated"));
    assert_eq!(
        p.message.as_deref(),
        Some("Created new replica set \"web-abc\"")
    );
    let a = cond(&s1, "Available");
    assert_eq!(
        (a.status.as_str(), a.reason.as_deref()),
        ("True", Some("MinimumReplicasAvailable"))
    );

    // A new pod became available: progress, the update time moves.
    let all = [rs("old", 0, 2, 2), rs("web-abc", 1, 2, 1)];
    let s2 = status(&input(&spec, &all, &s1, 10));
    let p = cond(&s2, "Progressing");
    assert_eq!(p.reason.as_deref(), Some("ReplicaSetUpdated"));
    assert_eq!(
        p.message.as_deref(),
        Some("ReplicaSet \"web-abc\" is progressing.")
    );
    assert_eq!(p.last_update_time, Some(Time(at(10).unwrap())));
    assert_eq!(p.last_transition_time, Some(Time(at(0).unwrap())));

    // Nothing moves for longer than the deadline: timed out.
    let s3 = status(&input(&spec, &all, &s2, 10 + 601));
    let p = cond(&s3, "Progressing");
    assert_eq!(
        (p.status.as_str(), p.reason.as_deref()),
        ("False", Some("ProgressDeadlineExceeded"))
    );
    // But not before.
    let s3b = status(&input(&spec, &all, &s2, 10 + 599));
    assert_eq!(
        cond(&s3b, "Progressing").reason.as_deref(),
        Some("ReplicaSetUpdated")
    );
    assert!(recheck_in(&spec, &s3b, at(10 + 599).unwrap()).is_some());

    // Done: all new, all available, no old pods.
    let all = [rs("old", 0, 0, 0), rs("web-abc", 1, 3, 3)];
    let s4 = status(&input(&spec, &all, &s2, 20));
    let p = cond(&s4, "Progressing");
    assert_eq!(
        (p.status.as_str(), p.reason.as_deref()),
        ("True", Some("NewReplicaSetAvailable"))
    );
    assert_eq!(
        p.message.as_deref(),
        Some("ReplicaSet \"web-abc\" has successfully progressed.")
    );
    assert!(recheck_in(&spec, &s4, at(20).unwrap()).is_none());
    // And stays so (no timeout after completion).
    let s5 = status(&input(&spec, &all, &s4, 5000));
    assert_eq!(s5, s4);
}

#[test]
fn too_few_available_pods_make_the_deployment_unavailable() {
    let spec = rolling(4, 1, 1);
    let all = [rs("web-abc", 1, 4, 2)];
    let s = status(&input(&spec, &all, &DeploymentStatus::default(), 0));
    let a = cond(&s, "Available");
    assert_eq!(
        (a.status.as_str(), a.reason.as_deref(), a.message.as_deref()),
        (
            "False",
            Some("MinimumReplicasUnavailable"),
            Some("Deployment does not have minimum availability.")
        )
    );
}

#[test]
fn pausing_and_resuming_show_in_progressing() {
    let mut spec = rolling(1, 1, 0);
    spec.paused = true;
    let all = [rs("web-abc", 1, 1, 1)];
    let s = status(&StatusInput {
        rollout: false,
        ..input(&spec, &all, &DeploymentStatus::default(), 0)
    });
    let p = cond(&s, "Progressing");
    assert_eq!(
        (p.status.as_str(), p.reason.as_deref(), p.message.as_deref()),
        (
            "Unknown",
            Some("DeploymentPaused"),
            Some("Deployment is paused")
        )
    );
    spec.paused = false;
    let s = status(&StatusInput {
        rollout: false,
        ..input(&spec, &all, &s, 1)
    });
    assert_eq!(
        cond(&s, "Progressing").reason.as_deref(),
        Some("DeploymentResumed")
    );
    // No deadline: no Progressing condition at all.
    spec.progress_deadline = None;
    let s = status(&input(&spec, &all, &s, 2));
    assert!(
        s.conditions
            .unwrap()
            .iter()
            .all(|c| c.type_ != "Progressing")
    );
}

#[test]
fn template_hashes_are_stable_wordless_and_change_with_collisions() {
    let a = template_hash(br#"{"spec":{}}"#, None);
    assert_eq!(a, template_hash(br#"{"spec":{}}"#, None));
    assert!(!a.is_empty() && a.len() <= 10);
    assert!(a.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)));
    assert_ne!(a, template_hash(br#"{"spec":{"x":1}}"#, None));
    assert_ne!(a, template_hash(br#"{"spec":{}}"#, Some(1)));
}

#[test]
fn a_lagging_status_with_more_available_than_wanted_never_grows_an_old_replica_set() {
    // B was just scaled down to 1; its status still says 3 available.
    let spec = rolling(4, 1, 1);
    let old = [
        rs("a", 0, 2, 2),
        Rs {
            available: 3,
            ..rs("b", 1, 1, 1)
        },
    ];
    let new = rs("new", 2, 2, 1);
    for (i, size) in scale_down_old(&spec, &old, Some(&new)) {
        assert!(size <= old[i].replicas, "{} grew to {size}", old[i].name);
    }
}

#[test]
fn huge_numbers_saturate_instead_of_overflowing() {
    let d: Deployment = serde_json::from_value(serde_json::json!({
        "spec": {"replicas": i32::MAX, "template": {}, "selector": {},
                 "strategy": {"rollingUpdate": {"maxSurge": i32::MAX, "maxUnavailable": "100%"}}}
    }))
    .unwrap();
    let spec = Spec::of(&d).unwrap();
    let old = [rs("a", 0, i32::MAX, i32::MAX)];
    let new = rs("b", 1, i32::MAX, 0);
    let all = [old[0].clone(), new.clone()];
    assert_eq!(new_rs_replicas(&spec, &all, &new), i32::MAX);
    let _ = scale_down_old(&spec, &old, Some(&new));
    let _ = proportional_scale(&spec, &all, Some(1));
    let s = status(&input(&spec, &all, &DeploymentStatus::default(), 0));
    assert_eq!(s.replicas, Some(i32::MAX));
    assert!(fenceposts(&pct("99999999999999999%"), &int(1), i32::MAX).is_err());
    assert_eq!(
        next_revision(&[Rs {
            revision: i64::MAX,
            ..Rs::default()
        }]),
        i64::MAX
    );
}
