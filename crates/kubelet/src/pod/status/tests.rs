#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};

use serde_json::json;

use super::*;
use crate::pod::labels::container_hash;
use crate::pod::runtime_state::SandboxInfo;

const S: i64 = 1_000_000_000;

fn pod(spec: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
        "spec": spec,
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]},
    }))
    .unwrap()
}

fn sandbox() -> SandboxInfo {
    SandboxInfo {
        id: "sb".into(),
        attempt: 0,
        ready: true,
        created_at: 1,
        ip: "10.1.0.5".into(),
        additional_ips: vec![],
    }
}

fn ctr(name: &str, state: State, exit_code: i32, restart_count: i32) -> ContainerInfo {
    ContainerInfo {
        id: format!("{name}{restart_count}"),
        sandbox_id: "sb".into(),
        name: name.into(),
        restart_count,
        state,
        created_at: i64::from(restart_count),
        started_at: 10 * S,
        finished_at: if state == State::Exited { 20 * S } else { 0 },
        exit_code,
        reason: String::new(),
        message: String::new(),
        image: "busybox".into(),
        image_ref: "sha256:abc".into(),
        hash: container_hash(&Default::default()),
    }
}

struct Case {
    rt: PodRuntime,
    actions: PodActions,
    waiting: BTreeMap<String, (String, String)>,
    readiness: HashMap<String, bool>,
}

impl Case {
    fn new(rt: PodRuntime) -> Self {
        Case {
            rt,
            actions: PodActions::default(),
            waiting: BTreeMap::new(),
            readiness: HashMap::new(),
        }
    }
    fn status(&self, pod: &Pod) -> PodStatus {
        pod_status(
            pod,
            &Inputs {
                runtime: &self.rt,
                actions: &self.actions,
                waiting: &self.waiting,
                readiness: &self.readiness,
                started: &HashMap::new(),
                runtime_name: "containerd",
                host_ip: "192.168.1.10",
                now: Utc::now(),
                deadline_exceeded: false,
            },
        )
    }
}

fn cond<'a>(s: &'a PodStatus, t: &str) -> &'a PodCondition {
    s.conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == t)
        .unwrap()
}

fn state(s: &PodStatus, i: usize) -> &ContainerState {
    s.container_statuses.as_ref().unwrap()[i]
        .state
        .as_ref()
        .unwrap()
}

#[test]
fn new_pod_is_pending_with_containers_creating() {
    let p = pod(json!({"containers": [{"name": "a", "image": "busybox"}]}));
    let s = Case::new(PodRuntime::default()).status(&p);
    assert_eq!(s.phase.as_deref(), Some("Pending"));
    assert_eq!(
        state(&s, 0).waiting.as_ref().unwrap().reason.as_deref(),
        Some("ContainerCreating")
    );
    assert_eq!(cond(&s, "Ready").status, "False");
    assert_eq!(
        cond(&s, "PodScheduled").status,
        "True",
        "the scheduler's condition is kept"
    );
    assert_eq!(s.qos_class.as_deref(), Some("BestEffort"));
    assert_eq!(s.host_ip.as_deref(), Some("192.168.1.10"));
    assert!(s.start_time.is_some());
}

#[test]
fn running_pod_is_ready_with_ip_and_container_id() {
    let p = pod(json!({"containers": [{"name": "a", "image": "busybox"}]}));
    let s = Case::new(PodRuntime {
        sandboxes: vec![sandbox()],
        containers: vec![ctr("a", State::Running, 0, 0)],
    })
    .status(&p);
    assert_eq!(s.phase.as_deref(), Some("Running"));
    assert_eq!(s.pod_ip.as_deref(), Some("10.1.0.5"));
    let cs = &s.container_statuses.as_ref().unwrap()[0];
    assert_eq!(
        (cs.ready, cs.started, cs.container_id.as_deref()),
        (true, Some(true), Some("containerd://a0"))
    );
    assert_eq!(cs.image_id, "sha256:abc");
    for t in [
        "PodReadyToStartContainers",
        "Initialized",
        "ContainersReady",
        "Ready",
    ] {
        assert_eq!(cond(&s, t).status, "True", "{t}");
    }
}

#[test]
fn readiness_probe_gates_ready() {
    let p = pod(
        json!({"containers": [{"name": "a", "image": "busybox", "readinessProbe": {"exec": {"command": ["true"]}}}]}),
    );
    let mut case = Case::new(PodRuntime {
        sandboxes: vec![sandbox()],
        containers: vec![ctr("a", State::Running, 0, 0)],
    });
    let s = case.status(&p);
    assert_eq!(s.phase.as_deref(), Some("Running"));
    assert_eq!(
        cond(&s, "Ready").message.as_deref(),
        Some("containers with unready status: [a]")
    );
    case.readiness.insert("a0".into(), true);
    assert_eq!(cond(&case.status(&p), "Ready").status, "True");
}

#[test]
fn crash_loop_shows_waiting_and_last_state() {
    let p = pod(json!({"containers": [{"name": "a", "image": "busybox"}]}));
    let mut case = Case::new(PodRuntime {
        sandboxes: vec![sandbox()],
        containers: vec![ctr("a", State::Exited, 1, 2), ctr("a", State::Exited, 1, 1)],
    });
    case.actions.back_off.insert(
        "a".into(),
        "back-off 20s restarting failed container=a pod=web_default(u1)".into(),
    );
    let s = case.status(&p);
    let cs = &s.container_statuses.as_ref().unwrap()[0];
    assert_eq!(cs.restart_count, 2);
    assert_eq!(
        cs.state
            .as_ref()
            .unwrap()
            .waiting
            .as_ref()
            .unwrap()
            .reason
            .as_deref(),
        Some("CrashLoopBackOff")
    );
    let last = cs.last_state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!((last.exit_code, last.reason.as_deref()), (1, Some("Error")));
    assert_eq!(
        s.phase.as_deref(),
        Some("Running"),
        "restartPolicy Always keeps it Running"
    );
}

#[test]
fn finished_pods() {
    for (policy, code, phase) in [
        ("OnFailure", 0, "Succeeded"),
        ("Never", 0, "Succeeded"),
        ("Never", 3, "Failed"),
    ] {
        let p = pod(
            json!({"restartPolicy": policy, "containers": [{"name": "a", "image": "busybox"}]}),
        );
        let s = Case::new(PodRuntime {
            sandboxes: vec![sandbox()],
            containers: vec![ctr("a", State::Exited, code, 0)],
        })
        .status(&p);
        assert_eq!(s.phase.as_deref(), Some(phase), "{policy} {code}");
        let t = state(&s, 0).terminated.as_ref().unwrap();
        assert_eq!(
            t.reason.as_deref(),
            Some(if code == 0 { "Completed" } else { "Error" })
        );
        assert_eq!(cond(&s, "Ready").reason.as_deref(), Some("PodCompleted"));
    }
}

#[test]
fn init_containers_keep_the_pod_pending() {
    let p = pod(json!({
        "initContainers": [{"name": "i1", "image": "busybox"}],
        "containers": [{"name": "a", "image": "busybox"}],
    }));
    let s = Case::new(PodRuntime {
        sandboxes: vec![sandbox()],
        containers: vec![ctr("i1", State::Running, 0, 0)],
    })
    .status(&p);
    assert_eq!(s.phase.as_deref(), Some("Pending"));
    assert_eq!(
        cond(&s, "Initialized").message.as_deref(),
        Some("containers with incomplete status: [i1]")
    );
    assert_eq!(
        state(&s, 0).waiting.as_ref().unwrap().reason.as_deref(),
        Some("PodInitializing")
    );
    let init = &s.init_container_statuses.as_ref().unwrap()[0];
    assert!(init.state.as_ref().unwrap().running.is_some());

    let p_never = pod(json!({
        "restartPolicy": "Never",
        "initContainers": [{"name": "i1", "image": "busybox"}],
        "containers": [{"name": "a", "image": "busybox"}],
    }));
    let s = Case::new(PodRuntime {
        sandboxes: vec![sandbox()],
        containers: vec![ctr("i1", State::Exited, 1, 0)],
    })
    .status(&p_never);
    assert_eq!(s.phase.as_deref(), Some("Failed"));
}

#[test]
fn recorded_errors_show_as_waiting_reasons() {
    let p = pod(json!({"containers": [{"name": "a", "image": "busybox"}]}));
    let mut case = Case::new(PodRuntime {
        sandboxes: vec![sandbox()],
        containers: vec![],
    });
    case.waiting.insert(
        "a".into(),
        (
            "CreateContainerConfigError".into(),
            "configmap \"x\" not found".into(),
        ),
    );
    let s = case.status(&p);
    let w = state(&s, 0).waiting.as_ref().unwrap();
    assert_eq!(
        (w.reason.as_deref(), w.message.as_deref()),
        (
            Some("CreateContainerConfigError"),
            Some("configmap \"x\" not found")
        )
    );
    assert_eq!(s.phase.as_deref(), Some("Pending"));
}

#[test]
fn transition_times_are_kept_while_unchanged() {
    let mut p = pod(json!({"containers": [{"name": "a", "image": "busybox"}]}));
    let case = Case::new(PodRuntime {
        sandboxes: vec![sandbox()],
        containers: vec![ctr("a", State::Running, 0, 0)],
    });
    let first = case.status(&p);
    p.status = Some(first.clone());
    std::thread::sleep(std::time::Duration::from_millis(5));
    let second = case.status(&p);
    assert_eq!(
        cond(&first, "Ready").last_transition_time,
        cond(&second, "Ready").last_transition_time
    );
    assert!(!differs(&first, &second), "an unchanged pod needs no write");
}
