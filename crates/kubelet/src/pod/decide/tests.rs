//! Every state transition of the decide step, against hand-built runtime
//! states (no runtime involved).

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use serde_json::json;

use super::*;
use crate::pod::runtime_state::SandboxInfo;

const S: i64 = 1_000_000_000;

fn pod(spec: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
        "spec": spec,
    }))
    .unwrap()
}

fn two_containers() -> Pod {
    pod(
        json!({"containers": [{"name": "a", "image": "busybox"}, {"name": "b", "image": "busybox"}]}),
    )
}

fn sandbox(ready: bool, attempt: u32) -> SandboxInfo {
    SandboxInfo {
        id: format!("sb{attempt}"),
        attempt,
        ready,
        created_at: i64::from(attempt),
        ip: "10.0.0.2".into(),
        additional_ips: vec![],
    }
}

fn ctr(pod: &Pod, name: &str, state: State, exit_code: i32, restart_count: i32) -> ContainerInfo {
    let spec = pod.spec.as_ref().unwrap();
    let c = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == name)
        .unwrap();
    ContainerInfo {
        id: format!("{name}-{restart_count}"),
        sandbox_id: "sb0".into(),
        name: name.into(),
        restart_count,
        state,
        created_at: 0,
        started_at: 0,
        finished_at: 100 * S,
        exit_code,
        reason: String::new(),
        message: String::new(),
        image: "busybox".into(),
        image_ref: "sha256:x".into(),
        hash: container_hash(c),
    }
}

fn decide(pod: &Pod, rt: &PodRuntime) -> PodActions {
    decide_with(pod, rt, &Backoff::default(), &HashSet::new(), 101 * S)
}

fn decide_with(
    pod: &Pod,
    rt: &PodRuntime,
    b: &Backoff,
    unhealthy: &HashSet<String>,
    now: i64,
) -> PodActions {
    compute_pod_actions(
        pod,
        &Inputs {
            runtime: rt,
            backoff: b,
            unhealthy,
            now,
        },
    )
}

#[test]
fn new_pod_creates_a_sandbox_and_starts_all_containers() {
    let p = two_containers();
    let a = decide(&p, &PodRuntime::default());
    assert_eq!(a.kill_pod, None);
    assert_eq!(a.create_sandbox, Some(0));
    assert_eq!(a.start, ["a", "b"]);
}

#[test]
fn running_pod_needs_nothing() {
    let p = two_containers();
    let rt = PodRuntime {
        sandboxes: vec![sandbox(true, 0)],
        containers: vec![
            ctr(&p, "a", State::Running, 0, 0),
            ctr(&p, "b", State::Running, 0, 0),
        ],
    };
    let a = decide(&p, &rt);
    assert_eq!(
        a,
        PodActions {
            sandbox_id: Some("sb0".into()),
            ..Default::default()
        }
    );
}

#[test]
fn missing_container_is_started_in_the_existing_sandbox() {
    let p = two_containers();
    let rt = PodRuntime {
        sandboxes: vec![sandbox(true, 0)],
        containers: vec![ctr(&p, "a", State::Running, 0, 0)],
    };
    let a = decide(&p, &rt);
    assert_eq!(
        (a.sandbox_id.as_deref(), a.start.as_slice()),
        (Some("sb0"), ["b".to_string()].as_slice())
    );
}

#[test]
fn dead_sandbox_kills_everything_and_creates_the_next_attempt() {
    let p = two_containers();
    let rt = PodRuntime {
        sandboxes: vec![sandbox(false, 0)],
        containers: vec![
            ctr(&p, "a", State::Running, 0, 0),
            ctr(&p, "b", State::Exited, 137, 0),
        ],
    };
    let a = decide(&p, &rt);
    assert_eq!(a.kill_pod, Some(KillPod::SandboxChanged));
    assert_eq!(a.create_sandbox, Some(1));
    assert_eq!(a.start, ["a", "b"]);
}

#[test]
fn crash_restarts_at_once_then_backs_off() {
    let p = two_containers();
    let rt = PodRuntime {
        sandboxes: vec![sandbox(true, 0)],
        containers: vec![
            ctr(&p, "a", State::Running, 0, 0),
            ctr(&p, "b", State::Exited, 1, 0),
        ],
    };
    let mut b = Backoff::default();
    let a = decide_with(&p, &rt, &b, &HashSet::new(), 101 * S);
    assert_eq!(a.start, ["b"], "the first restart is immediate");
    b.next("u1/b", 101 * S);
    // It crashed again at 100 s (finished_at); 5 s later it must wait.
    let a = decide_with(&p, &rt, &b, &HashSet::new(), 105 * S);
    assert!(a.start.is_empty());
    assert_eq!(
        a.back_off.get("b").map(String::as_str),
        Some("back-off 10s restarting failed container=b pod=web_default(u1)")
    );
    // After the back-off it restarts.
    let a = decide_with(&p, &rt, &b, &HashSet::new(), 111 * S);
    assert_eq!(a.start, ["b"]);
}

#[test]
fn restart_policies() {
    for (policy, code, restarts) in [
        ("Always", 0, true),
        ("Always", 1, true),
        ("OnFailure", 0, false),
        ("OnFailure", 2, true),
        ("Never", 0, false),
        ("Never", 1, false),
    ] {
        let p = pod(
            json!({"restartPolicy": policy, "containers": [{"name": "a", "image": "busybox"}, {"name": "b", "image": "busybox"}]}),
        );
        let rt = PodRuntime {
            sandboxes: vec![sandbox(true, 0)],
            containers: vec![
                ctr(&p, "a", State::Running, 0, 0),
                ctr(&p, "b", State::Exited, code, 0),
            ],
        };
        let a = decide(&p, &rt);
        assert_eq!(a.start == ["b"], restarts, "{policy} exit {code}");
        assert_eq!(a.kill_pod, None);
    }
}

#[test]
fn finished_pod_stops_its_sandbox_and_never_comes_back() {
    let p = pod(
        json!({"restartPolicy": "OnFailure", "containers": [{"name": "a", "image": "busybox"}]}),
    );
    let mut rt = PodRuntime {
        sandboxes: vec![sandbox(true, 0)],
        containers: vec![ctr(&p, "a", State::Exited, 0, 0)],
    };
    assert_eq!(decide(&p, &rt).kill_pod, Some(KillPod::Finished));
    // Once the sandbox is stopped, nothing more happens.
    rt.sandboxes[0].ready = false;
    assert_eq!(decide(&p, &rt), PodActions::default());
}

#[test]
fn never_policy_does_not_recreate_a_lost_sandbox() {
    let p =
        pod(json!({"restartPolicy": "Never", "containers": [{"name": "a", "image": "busybox"}]}));
    let rt = PodRuntime {
        sandboxes: vec![sandbox(false, 0)],
        containers: vec![ctr(&p, "a", State::Exited, 137, 0)],
    };
    assert_eq!(decide(&p, &rt), PodActions::default());
}

#[test]
fn init_containers_run_in_order_to_success() {
    let p = pod(json!({
        "initContainers": [{"name": "i1", "image": "busybox"}, {"name": "i2", "image": "busybox"}],
        "containers": [{"name": "a", "image": "busybox"}],
    }));
    let fresh = decide(&p, &PodRuntime::default());
    assert_eq!(
        (fresh.create_sandbox, fresh.start_init.as_deref()),
        (Some(0), Some("i1"))
    );
    assert!(fresh.start.is_empty());

    let mut rt = PodRuntime {
        sandboxes: vec![sandbox(true, 0)],
        containers: vec![ctr(&p, "i1", State::Running, 0, 0)],
    };
    assert_eq!(decide(&p, &rt).start_init, None, "wait for i1");
    rt.containers[0] = ctr(&p, "i1", State::Exited, 0, 0);
    assert_eq!(decide(&p, &rt).start_init.as_deref(), Some("i2"));
    rt.containers.push(ctr(&p, "i2", State::Exited, 0, 0));
    let a = decide(&p, &rt);
    assert_eq!((a.start_init, a.start), (None, vec!["a".to_string()]));
}

#[test]
fn failed_init_container_restarts_or_fails_the_pod() {
    let spec = |policy: &str| {
        pod(json!({
            "restartPolicy": policy,
            "initContainers": [{"name": "i1", "image": "busybox"}],
            "containers": [{"name": "a", "image": "busybox"}],
        }))
    };
    let p = spec("Always");
    let rt = PodRuntime {
        sandboxes: vec![sandbox(true, 0)],
        containers: vec![ctr(&p, "i1", State::Exited, 1, 0)],
    };
    assert_eq!(decide(&p, &rt).start_init.as_deref(), Some("i1"));
    let p = spec("Never");
    let rt = PodRuntime {
        sandboxes: vec![sandbox(true, 0)],
        containers: vec![ctr(&p, "i1", State::Exited, 1, 0)],
    };
    let a = decide(&p, &rt);
    assert_eq!(
        (a.kill_pod, a.start_init),
        (Some(KillPod::InitFailed), None)
    );
}

#[test]
fn sidecar_only_needs_to_be_running_and_is_kept_running() {
    let p = pod(json!({
        "initContainers": [{"name": "proxy", "image": "busybox", "restartPolicy": "Always"}, {"name": "i2", "image": "busybox"}],
        "containers": [{"name": "a", "image": "busybox"}],
    }));
    let mut rt = PodRuntime {
        sandboxes: vec![sandbox(true, 0)],
        containers: vec![ctr(&p, "proxy", State::Running, 0, 0)],
    };
    assert_eq!(decide(&p, &rt).start_init.as_deref(), Some("i2"));
    rt.containers.push(ctr(&p, "i2", State::Exited, 0, 0));
    rt.containers.push(ctr(&p, "a", State::Running, 0, 0));
    assert!(decide(&p, &rt).start.is_empty());
    // The sidecar crashes after init: restarted beside the main container.
    rt.containers[0] = ctr(&p, "proxy", State::Exited, 1, 0);
    assert_eq!(decide(&p, &rt).start, ["proxy"]);
}

#[test]
fn liveness_failure_and_spec_change_replace_the_container() {
    let p = two_containers();
    let rt = PodRuntime {
        sandboxes: vec![sandbox(true, 0)],
        containers: vec![
            ctr(&p, "a", State::Running, 0, 0),
            ctr(&p, "b", State::Running, 0, 0),
        ],
    };
    let unhealthy: HashSet<String> = ["a-0".to_string()].into();
    let a = decide_with(&p, &rt, &Backoff::default(), &unhealthy, 101 * S);
    assert_eq!(
        a.kill,
        [Kill {
            id: "a-0".into(),
            name: "a".into(),
            reason: "failed liveness probe".into()
        }]
    );
    assert_eq!(a.start, ["a"]);

    let mut changed = p.clone();
    changed.spec.as_mut().unwrap().containers[1].image = Some("busybox:2".into());
    let a = decide(&changed, &rt);
    assert_eq!(a.kill.len(), 1);
    assert_eq!(
        (a.kill[0].name.as_str(), a.start.as_slice()),
        ("b", ["b".to_string()].as_slice())
    );
}

#[test]
fn deleted_or_timed_out_pods_are_killed() {
    let mut p = two_containers();
    let rt = PodRuntime {
        sandboxes: vec![sandbox(true, 0)],
        containers: vec![ctr(&p, "a", State::Running, 0, 0)],
    };
    p.metadata.deletion_timestamp = Some(api_types::meta::v1::Time(chrono::Utc::now()));
    assert_eq!(decide(&p, &rt).kill_pod, Some(KillPod::Deleted));
    // Nothing left to kill: nothing to do.
    assert_eq!(decide(&p, &PodRuntime::default()), PodActions::default());

    let mut p: Pod = pod(
        json!({"activeDeadlineSeconds": 30, "containers": [{"name": "a", "image": "busybox"}]}),
    );
    p.status = Some(serde_json::from_value(json!({"startTime": "1970-01-01T00:01:00Z"})).unwrap());
    let rt = PodRuntime {
        sandboxes: vec![sandbox(true, 0)],
        containers: vec![ctr(&p, "a", State::Running, 0, 0)],
    };
    assert_eq!(
        decide_with(&p, &rt, &Backoff::default(), &HashSet::new(), 80 * S).kill_pod,
        None
    );
    assert_eq!(
        decide_with(&p, &rt, &Backoff::default(), &HashSet::new(), 90 * S).kill_pod,
        Some(KillPod::DeadlineExceeded)
    );
}
