//! What a simulated kubelet does with a pod bound to its node: decide
//! ([`decide`]), then build the status it reports ([`running_patch`]).
//!
//! A real kubelet's `syncPod` computes pod actions, starts sandboxes and
//! containers through the CRI, and reports what happened. Here nothing
//! runs, so the whole "start" is one status write: the pod goes straight
//! to `Running` with every container started and ready, as if images were
//! present and every probe passed at once. Deletion is the kubelet's last
//! step only: once the apiserver has marked the pod for deletion
//! (`deletionTimestamp`), the kubelet stops the containers and confirms with
//! a DELETE with grace period 0; with no containers to stop, the simulator
//! confirms at once.

use std::net::Ipv4Addr;

use api_types::core::v1::qos::qos_class;
use api_types::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStatus,
    HostIP, Pod, PodCondition, PodIP,
};
use api_types::meta::v1::Time;
use serde_json::{Value, json};

use crate::node::hex_id;

/// What to do with a pod on one of our nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodAction {
    /// Running, finished, or not ours to touch.
    Nothing,
    /// Report it running (and allocate its IP).
    Start,
    /// It is being deleted: confirm with a grace-0 DELETE.
    ConfirmDeletion,
}

/// The decision for `pod` as it is now.
pub fn decide(pod: &Pod) -> PodAction {
    if pod.metadata.deletion_timestamp.is_some() {
        return PodAction::ConfirmDeletion;
    }
    let status = pod.status.as_ref();
    match status.and_then(|s| s.phase.as_deref()) {
        Some("Succeeded" | "Failed") => PodAction::Nothing,
        Some("Running") if status.is_some_and(|s| s.pod_ip.is_some()) => PodAction::Nothing,
        _ => PodAction::Start,
    }
}

/// Whether the pod shares its node's network namespace (its IP is the
/// node's, and it takes none from the pod range).
pub fn host_network(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.host_network)
        .unwrap_or(false)
}

/// The pod's current IP, if any and IPv4 (to keep it across restarts).
pub fn current_ip(pod: &Pod) -> Option<Ipv4Addr> {
    pod.status.as_ref()?.pod_ip.as_deref()?.parse().ok()
}

/// The facts of one start.
#[derive(Clone, Copy, Debug)]
pub struct Started {
    pub host_ip: Ipv4Addr,
    pub pod_ip: Ipv4Addr,
    /// When the pod (and each container) started.
    pub at: Time,
}

/// The strategic merge patch of `pods/status` that reports `pod` running.
///
/// Conditions merge by type, so `PodScheduled` (written by the scheduler's
/// binding) and conditions of readiness gates written by others stay;
/// `PodScheduled` is added only when the pod was created with `nodeName`
/// already set and so never went through a binding (kubelets add it too).
/// `metadata.uid` is a precondition: upstream refuses the patch if the pod
/// was deleted and recreated under the same name in the meantime.
pub fn running_patch(pod: &Pod, s: &Started) -> Value {
    let spec = pod.spec.clone().unwrap_or_default();
    let uid = pod.metadata.uid.as_str();
    let mut conditions = vec![
        condition("PodReadyToStartContainers", "True", s.at),
        condition("Initialized", "True", s.at),
        condition("ContainersReady", "True", s.at),
        ready_condition(pod, s.at),
    ];
    if !has_condition(pod, "PodScheduled") {
        conditions.push(condition("PodScheduled", "True", s.at));
    }
    let containers: Vec<ContainerStatus> = spec
        .containers
        .iter()
        .map(|c| running_status(uid, c, s.at))
        .collect();
    let mut status = json!({
        "phase": "Running",
        "conditions": conditions,
        "hostIP": s.host_ip.to_string(),
        "hostIPs": [HostIP { ip: s.host_ip.to_string() }],
        "podIP": s.pod_ip.to_string(),
        "podIPs": [PodIP { ip: s.pod_ip.to_string() }],
        "startTime": s.at,
        "containerStatuses": containers,
        "qosClass": qos_class(&spec),
    });
    if let Some(inits) = spec.init_containers.as_ref().filter(|i| !i.is_empty()) {
        let inits: Vec<ContainerStatus> = inits
            .iter()
            .map(|c| {
                if c.restart_policy.as_deref() == Some("Always") {
                    // a sidecar: started before the app containers, still running
                    running_status(uid, c, s.at)
                } else {
                    completed_status(uid, c, s.at)
                }
            })
            .collect();
        status["initContainerStatuses"] = json!(inits);
    }
    json!({ "metadata": { "uid": uid }, "status": status })
}

fn condition(type_: &str, status: &str, at: Time) -> PodCondition {
    PodCondition {
        type_: type_.into(),
        status: status.into(),
        last_transition_time: Some(at),
        ..PodCondition::default()
    }
}

fn has_condition(pod: &Pod, type_: &str) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == type_))
}

/// `Ready` is `ContainersReady` and every readiness gate's condition being
/// `True` (upstream's `GeneratePodReadyCondition`); a gate someone else has
/// not yet set keeps the pod unready, with upstream's message.
fn ready_condition(pod: &Pod, at: Time) -> PodCondition {
    let gates = pod
        .spec
        .as_ref()
        .and_then(|s| s.readiness_gates.as_ref())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let conditions = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut unready = Vec::new();
    for g in gates {
        match conditions.iter().find(|c| c.type_ == g.condition_type) {
            None => unready.push(format!(
                "corresponding condition of pod readiness gate \"{}\" does not exist.",
                g.condition_type
            )),
            Some(c) if c.status != "True" => unready.push(format!(
                "the status of pod readiness gate \"{}\" is not \"True\", but {}",
                g.condition_type, c.status
            )),
            Some(_) => {}
        }
    }
    if unready.is_empty() {
        return condition("Ready", "True", at);
    }
    PodCondition {
        reason: Some("ReadinessGatesNotReady".into()),
        message: Some(unready.join(", ")),
        ..condition("Ready", "False", at)
    }
}

/// `sim://<64 hex>`: unique per pod and container, the same on a retry.
pub fn container_id(pod_uid: &str, container: &str) -> String {
    format!("sim://{}", hex_id(&[pod_uid, container], 64))
}

/// An image digest that looks like a registry's and is stable per image.
fn image_id(image: &str) -> String {
    format!("{image}@sha256:{}", hex_id(&[image], 64))
}

fn base_status(uid: &str, c: &Container) -> ContainerStatus {
    let image = c.image.clone().unwrap_or_default();
    ContainerStatus {
        name: c.name.clone(),
        ready: true,
        restart_count: 0,
        image_id: image_id(&image),
        image,
        container_id: Some(container_id(uid, &c.name)),
        ..ContainerStatus::default()
    }
}

fn running_status(uid: &str, c: &Container, at: Time) -> ContainerStatus {
    ContainerStatus {
        state: Some(ContainerState {
            running: Some(ContainerStateRunning {
                started_at: Some(at),
            }),
            ..ContainerState::default()
        }),
        started: Some(true),
        ..base_status(uid, c)
    }
}

/// An init container that ran to completion (exit 0) before the others.
fn completed_status(uid: &str, c: &Container, at: Time) -> ContainerStatus {
    ContainerStatus {
        state: Some(ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: 0,
                reason: Some("Completed".into()),
                started_at: Some(at),
                finished_at: Some(at),
                container_id: Some(container_id(uid, &c.name)),
                ..ContainerStateTerminated::default()
            }),
            ..ContainerState::default()
        }),
        started: Some(false),
        ..base_status(uid, c)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use api_types::core::v1::{PodReadinessGate, PodSpec, PodStatus};

    use super::*;

    fn pod(json: Value) -> Pod {
        serde_json::from_value(json).unwrap()
    }

    fn started() -> Started {
        Started {
            host_ip: "10.64.0.1".parse().unwrap(),
            pod_ip: "10.128.0.2".parse().unwrap(),
            at: Time::parse("2025-03-01T10:00:00Z").unwrap(),
        }
    }

    #[test]
    fn decisions() {
        let pending = pod(json!({"metadata": {"name": "p"}, "status": {"phase": "Pending"}}));
        assert_eq!(decide(&pending), PodAction::Start);
        let fresh = pod(json!({"metadata": {"name": "p"}}));
        assert_eq!(decide(&fresh), PodAction::Start);
        let running = pod(json!({"status": {"phase": "Running", "podIP": "10.0.0.2"}}));
        assert_eq!(decide(&running), PodAction::Nothing);
        let done = pod(json!({"status": {"phase": "Succeeded"}}));
        assert_eq!(decide(&done), PodAction::Nothing);
        let deleting = pod(json!({
            "metadata": {"deletionTimestamp": "2025-03-01T10:00:00Z"},
            "status": {"phase": "Running", "podIP": "10.0.0.2"}
        }));
        assert_eq!(decide(&deleting), PodAction::ConfirmDeletion);
    }

    #[test]
    fn a_started_pod_reports_everything_running_and_ready() {
        let p = pod(json!({
            "metadata": {"name": "p", "uid": "u1"},
            "spec": {
                "nodeName": "n",
                "initContainers": [
                    {"name": "init", "image": "busybox"},
                    {"name": "sidecar", "image": "envoy", "restartPolicy": "Always"}
                ],
                "containers": [
                    {"name": "app", "image": "nginx:1.27",
                     "resources": {"requests": {"cpu": "1"}}},
                    {"name": "log", "image": "fluentbit"}
                ]
            },
            "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "True"}
            ]}
        }));
        let patch = running_patch(&p, &started());
        assert_eq!(patch["metadata"]["uid"], "u1");
        let st = &patch["status"];
        assert_eq!(st["phase"], "Running");
        assert_eq!(st["podIP"], "10.128.0.2");
        assert_eq!(st["podIPs"][0]["ip"], "10.128.0.2");
        assert_eq!(st["hostIP"], "10.64.0.1");
        assert_eq!(st["hostIPs"][0]["ip"], "10.64.0.1");
        assert_eq!(st["startTime"], "2025-03-01T10:00:00Z");
        assert_eq!(st["qosClass"], "Burstable");
        let types: Vec<&str> = st["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "PodReadyToStartContainers",
                "Initialized",
                "ContainersReady",
                "Ready"
            ],
            "PodScheduled is already there and merges by type"
        );
        assert!(
            st["conditions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["status"] == "True")
        );
        let cs = st["containerStatuses"].as_array().unwrap();
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0]["name"], "app");
        assert_eq!(cs[0]["ready"], true);
        assert_eq!(cs[0]["started"], true);
        assert_eq!(cs[0]["restartCount"], 0);
        assert_eq!(cs[0]["image"], "nginx:1.27");
        assert!(
            cs[0]["imageID"]
                .as_str()
                .unwrap()
                .starts_with("nginx:1.27@sha256:")
        );
        assert_eq!(
            cs[0]["state"]["running"]["startedAt"],
            "2025-03-01T10:00:00Z"
        );
        let id0 = cs[0]["containerID"].as_str().unwrap();
        assert!(id0.starts_with("sim://") && id0.len() == 6 + 64);
        assert_ne!(cs[0]["containerID"], cs[1]["containerID"]);
        let inits = st["initContainerStatuses"].as_array().unwrap();
        assert_eq!(inits[0]["state"]["terminated"]["reason"], "Completed");
        assert_eq!(inits[0]["state"]["terminated"]["exitCode"], 0);
        assert_eq!(inits[0]["started"], false);
        assert!(inits[1]["state"]["running"].is_object(), "sidecars run");
        // the same patch on a retry: nothing changes twice
        assert_eq!(running_patch(&p, &started()), patch);
    }

    #[test]
    fn pods_created_on_a_node_get_pod_scheduled() {
        let p = Pod {
            spec: Some(PodSpec::default()),
            status: Some(PodStatus::default()),
            ..Pod::default()
        };
        let patch = running_patch(&p, &started());
        let conds = patch["status"]["conditions"].as_array().unwrap();
        assert_eq!(conds.last().unwrap()["type"], "PodScheduled");
        assert_eq!(patch["status"]["qosClass"], "BestEffort");
        assert!(patch["status"].get("initContainerStatuses").is_none());
    }

    #[test]
    fn readiness_gates_hold_ready_back() {
        let mut p = Pod {
            spec: Some(PodSpec {
                readiness_gates: Some(vec![PodReadinessGate {
                    condition_type: "example.com/lb".into(),
                }]),
                ..PodSpec::default()
            }),
            ..Pod::default()
        };
        let ready = ready_condition(&p, started().at);
        assert_eq!(ready.status, "False");
        assert_eq!(ready.reason.as_deref(), Some("ReadinessGatesNotReady"));
        p.status = Some(PodStatus {
            conditions: Some(vec![condition("example.com/lb", "True", started().at)]),
            ..PodStatus::default()
        });
        assert_eq!(ready_condition(&p, started().at).status, "True");
    }
}
