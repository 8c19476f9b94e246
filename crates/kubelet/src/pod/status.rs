//! The pod status the kubelet reports, computed from what the runtime has
//! (upstream: `generateAPIPodStatus` and `getPhase`). Pure.
//!
//! - Each container's `state` comes from its newest instance (running /
//!   terminated with exit code and reason), or is `waiting` with the reason
//!   the last sync recorded (`ContainerCreating`, `ErrImagePull`,
//!   `CreateContainerConfigError`, `CrashLoopBackOff` …); `lastState` is the
//!   instance before; `restartCount` counts instances.
//! - `phase`: `Pending` until every container has started once, `Running`
//!   while any runs or will be restarted, `Succeeded`/`Failed` when all
//!   have exited for good (per `restartPolicy`).
//! - Conditions `PodReadyToStartContainers`, `Initialized`,
//!   `ContainersReady`, `Ready` (and `PodScheduled`, kept as the scheduler
//!   wrote it), each keeping its `lastTransitionTime` while unchanged.

use std::collections::{BTreeMap, HashMap};

use api_types::core::v1::qos::qos_class;
use api_types::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use api_types::meta::v1::Time;
use chrono::{DateTime, Utc};

use crate::pod::decide::{PodActions, is_sidecar, restart_policy, should_restart};
use crate::pod::runtime_state::{ContainerInfo, PodRuntime, State};

/// What the status is computed from, besides the pod.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    pub runtime: &'a PodRuntime,
    /// The last plan (its back-off messages become `CrashLoopBackOff`).
    pub actions: &'a PodActions,
    /// Waiting reasons the last sync recorded per container name
    /// (`ErrImagePull`, `CreateContainerConfigError`, ...).
    pub waiting: &'a BTreeMap<String, (String, String)>,
    /// Readiness probe results by container ID (containers with a probe
    /// and no result yet are not ready).
    pub readiness: &'a HashMap<String, bool>,
    /// Startup probe results by container ID.
    pub started: &'a HashMap<String, bool>,
    /// The runtime's name, the scheme of container IDs (`containerd`).
    pub runtime_name: &'a str,
    pub host_ip: &'a str,
    pub now: DateTime<Utc>,
    /// Set when the pod ran past `activeDeadlineSeconds`.
    pub deadline_exceeded: bool,
}

fn time(nanos: i64) -> Option<Time> {
    (nanos > 0).then(|| Time(DateTime::from_timestamp_nanos(nanos)))
}

fn terminated(c: &ContainerInfo, runtime_name: &str) -> ContainerState {
    ContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code: c.exit_code,
            signal: None,
            reason: Some(if c.reason.is_empty() {
                if c.exit_code == 0 {
                    "Completed"
                } else {
                    "Error"
                }
                .to_string()
            } else {
                c.reason.clone()
            }),
            message: (!c.message.is_empty()).then(|| c.message.clone()),
            started_at: time(c.started_at),
            finished_at: time(c.finished_at),
            container_id: Some(format!("{runtime_name}://{}", c.id)),
        }),
        ..Default::default()
    }
}

fn waiting(reason: &str, message: Option<&str>) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.to_string()),
            message: message.filter(|m| !m.is_empty()).map(str::to_string),
        }),
        ..Default::default()
    }
}

/// The status of one container of the spec.
fn container_status(c: &Container, inp: &Inputs, default_waiting: &str) -> ContainerStatus {
    let latest = inp.runtime.latest(&c.name);
    let previous = inp.runtime.previous(&c.name);
    let recorded = inp.waiting.get(&c.name);
    let mut st = ContainerStatus {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        ready: false,
        restart_count: latest.map_or(0, |l| l.restart_count),
        ..Default::default()
    };
    let Some(l) = latest else {
        let (reason, message) = recorded.map_or((default_waiting, None), |(r, m)| {
            (r.as_str(), Some(m.as_str()))
        });
        st.state = Some(waiting(reason, message));
        st.started = Some(false);
        return st;
    };
    st.image_id = l.image_ref.clone();
    st.container_id = Some(format!("{}://{}", inp.runtime_name, l.id));
    match l.state {
        State::Running => {
            st.state = Some(ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: time(l.started_at),
                }),
                ..Default::default()
            });
            st.last_state = previous.map(|p| terminated(p, inp.runtime_name));
            let started =
                c.startup_probe.is_none() || inp.started.get(&l.id).copied().unwrap_or(false);
            st.started = Some(started);
            st.ready = started
                && (c.readiness_probe.is_none()
                    || inp.readiness.get(&l.id).copied().unwrap_or(false));
        }
        State::Exited => {
            if let Some(msg) = inp.actions.back_off.get(&c.name) {
                // Waiting to be restarted: show why, and the crash as lastState.
                st.state = Some(waiting("CrashLoopBackOff", Some(msg)));
                st.last_state = Some(terminated(l, inp.runtime_name));
            } else if let Some((r, m)) = recorded {
                st.state = Some(waiting(r, Some(m)));
                st.last_state = Some(terminated(l, inp.runtime_name));
            } else {
                st.state = Some(terminated(l, inp.runtime_name));
                st.last_state = previous.map(|p| terminated(p, inp.runtime_name));
            }
            st.started = Some(false);
        }
        State::Created | State::Unknown => {
            let (reason, message) = recorded.map_or(("ContainerCreating", None), |(r, m)| {
                (r.as_str(), Some(m.as_str()))
            });
            st.state = Some(waiting(reason, message));
            st.last_state = previous.map(|p| terminated(p, inp.runtime_name));
            st.started = Some(false);
        }
    }
    st
}

/// `Pending`, `Running`, `Succeeded` or `Failed` (upstream `getPhase`).
fn phase(
    pod: &Pod,
    init_done: bool,
    init_failed: bool,
    statuses: &[ContainerStatus],
) -> &'static str {
    let policy = restart_policy(pod);
    if init_failed {
        return "Failed";
    }
    if !init_done {
        return "Pending";
    }
    let (mut running, mut waiting_n, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for s in statuses {
        let state = s.state.as_ref();
        if state.is_some_and(|st| st.running.is_some()) {
            running += 1;
        } else if let Some(t) = state.and_then(|st| st.terminated.as_ref()) {
            stopped += 1;
            if t.exit_code == 0 {
                succeeded += 1;
            }
        } else if s
            .last_state
            .as_ref()
            .is_some_and(|l| l.terminated.is_some())
        {
            stopped += 1; // restarting after a crash
        } else {
            waiting_n += 1;
        }
    }
    if waiting_n > 0 {
        "Pending"
    } else if running > 0 {
        "Running"
    } else if stopped > 0 {
        match policy {
            "Always" => "Running",
            "OnFailure" if stopped == succeeded => "Succeeded",
            "OnFailure" => "Running",
            _ if stopped == succeeded => "Succeeded",
            _ => "Failed",
        }
    } else {
        "Pending"
    }
}

fn condition(type_: &str, ok: bool, reason: Option<&str>, message: Option<String>) -> PodCondition {
    PodCondition {
        type_: type_.to_string(),
        status: if ok { "True" } else { "False" }.to_string(),
        reason: reason.map(str::to_string),
        message,
        ..Default::default()
    }
}

/// Computes the pod's status.
pub fn pod_status(pod: &Pod, inp: &Inputs) -> PodStatus {
    let old = pod.status.clone().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let inits = spec.init_containers.as_deref().unwrap_or_default();
    let policy = restart_policy(pod);
    let rt = inp.runtime;

    // Init containers: done when every regular one has succeeded and
    // every sidecar has started, or when a regular container ever ran.
    let ever_ran = spec.containers.iter().any(|c| rt.latest(&c.name).is_some());
    let incomplete: Vec<&str> = inits
        .iter()
        .filter(|ic| match rt.latest(&ic.name) {
            Some(i) if is_sidecar(ic) => i.state != State::Running,
            Some(i) => !(i.state == State::Exited && i.exit_code == 0),
            None => true,
        })
        .map(|ic| ic.name.as_str())
        .collect();
    let init_done = ever_ran || incomplete.is_empty();
    let init_failed = !ever_ran
        && policy == "Never"
        && inits.iter().any(|ic| {
            !is_sidecar(ic)
                && rt.latest(&ic.name).is_some_and(|i| {
                    i.state == State::Exited && !should_restart(policy, i.exit_code)
                })
        });

    let init_statuses: Vec<ContainerStatus> = inits
        .iter()
        .map(|c| container_status(c, inp, "PodInitializing"))
        .collect();
    let main_default = if init_done {
        "ContainerCreating"
    } else {
        "PodInitializing"
    };
    let statuses: Vec<ContainerStatus> = spec
        .containers
        .iter()
        .map(|c| container_status(c, inp, main_default))
        .collect();

    let mut phase = phase(pod, init_done, init_failed, &statuses);
    let (mut reason, mut message) = (old.reason.clone(), old.message.clone());
    if inp.deadline_exceeded {
        phase = "Failed";
        reason = Some("DeadlineExceeded".into());
        message = Some("Pod was active on the node longer than the specified deadline".into());
    }
    // A finished pod stays finished.
    if let Some(p @ ("Succeeded" | "Failed")) = old.phase.as_deref() {
        phase = if p == "Succeeded" {
            "Succeeded"
        } else {
            "Failed"
        };
    }
    let done = matches!(phase, "Succeeded" | "Failed");

    let unready: Vec<&str> = statuses
        .iter()
        .chain(
            init_statuses
                .iter()
                .zip(inits)
                .filter(|(_, c)| is_sidecar(c))
                .map(|(s, _)| s),
        )
        .filter(|s| !s.ready)
        .map(|s| s.name.as_str())
        .collect();
    let sandbox_ready = rt.latest_sandbox().is_some_and(|s| s.ready);
    let mut conditions = vec![
        condition("PodReadyToStartContainers", sandbox_ready, None, None),
        if init_done {
            condition("Initialized", true, None, None)
        } else {
            condition(
                "Initialized",
                false,
                Some("ContainersNotInitialized"),
                Some(format!(
                    "containers with incomplete status: [{}]",
                    incomplete.join(" ")
                )),
            )
        },
    ];
    let gates_missing: Vec<String> = spec
        .readiness_gates
        .iter()
        .flatten()
        .filter(|g| {
            !old.conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == g.condition_type && c.status == "True")
        })
        .map(|g| g.condition_type.clone())
        .collect();
    let (ready_cond, containers_ready) = if done {
        (
            condition("Ready", false, Some("PodCompleted"), None),
            condition("ContainersReady", false, Some("PodCompleted"), None),
        )
    } else if !unready.is_empty() {
        let msg = format!("containers with unready status: [{}]", unready.join(" "));
        (
            condition(
                "Ready",
                false,
                Some("ContainersNotReady"),
                Some(msg.clone()),
            ),
            condition(
                "ContainersReady",
                false,
                Some("ContainersNotReady"),
                Some(msg),
            ),
        )
    } else if let Some(g) = gates_missing.first() {
        (
            condition(
                "Ready",
                false,
                Some("ReadinessGatesNotReady"),
                Some(format!(
                    "corresponding condition of pod readiness gate \"{g}\" does not exist."
                )),
            ),
            condition("ContainersReady", true, None, None),
        )
    } else {
        (
            condition("Ready", true, None, None),
            condition("ContainersReady", true, None, None),
        )
    };
    conditions.push(ready_cond);
    conditions.push(containers_ready);
    // Conditions others own (PodScheduled, readiness gates, DisruptionTarget) stay.
    for c in old.conditions.iter().flatten() {
        if !conditions.iter().any(|n| n.type_ == c.type_) {
            conditions.push(c.clone());
        }
    }
    for c in &mut conditions {
        let prev = old.conditions.iter().flatten().find(|p| p.type_ == c.type_);
        c.last_transition_time = match prev {
            Some(p) if p.status == c.status => p.last_transition_time,
            _ => Some(Time(inp.now)),
        };
        if prev.is_some_and(|p| p.status == c.status && p.last_probe_time.is_some()) {
            c.last_probe_time = prev.and_then(|p| p.last_probe_time);
        }
    }

    let pod_ip = rt
        .pod_ip()
        .map(str::to_string)
        .or_else(|| old.pod_ip.clone());
    let host_network = spec.host_network.unwrap_or(false);
    let pod_ip = if host_network {
        Some(inp.host_ip.to_string())
    } else {
        pod_ip
    };
    let mut pod_ips: Vec<PodIP> = pod_ip.iter().map(|ip| PodIP { ip: ip.clone() }).collect();
    if let Some(sb) = rt.latest_sandbox().filter(|_| !host_network) {
        pod_ips.extend(sb.additional_ips.iter().map(|ip| PodIP { ip: ip.clone() }));
    }
    PodStatus {
        phase: Some(phase.to_string()),
        conditions: Some(conditions),
        reason,
        message,
        host_ip: (!inp.host_ip.is_empty()).then(|| inp.host_ip.to_string()),
        host_ips: (!inp.host_ip.is_empty()).then(|| {
            vec![HostIP {
                ip: inp.host_ip.to_string(),
            }]
        }),
        pod_ip,
        pod_ips: (!pod_ips.is_empty()).then_some(pod_ips),
        start_time: old.start_time.or(Some(Time(inp.now))),
        init_container_statuses: (!init_statuses.is_empty()).then_some(init_statuses),
        container_statuses: Some(statuses),
        qos_class: Some(qos_class(&spec).to_string()),
        nominated_node_name: old.nominated_node_name.clone(),
        observed_generation: old.observed_generation,
        resize: None,
    }
}

/// Whether two statuses differ in anything but heartbeat-like times
/// (a status is written only when this is true).
pub fn differs(a: &PodStatus, b: &PodStatus) -> bool {
    a != b
}

#[cfg(test)]
mod tests;
