//! Decide: what must happen to one pod, as a pure function of its spec and
//! what the runtime has (upstream: `computePodActions`).
//!
//! The sync loop calls [`compute_pod_actions`] and then carries the
//! [`PodActions`] out ([`crate::pod::sync`]). Keeping the decision pure is
//! what makes every state transition unit-testable without a runtime:
//! a crashed container, an init container that failed, a spec change, a
//! sandbox that died, a pod being deleted.
//!
//! The rules, in order:
//! 1. A pod being deleted, past its active deadline, or already finished
//!    (`Succeeded`/`Failed`) is killed, never restarted.
//! 2. Without exactly one ready sandbox, everything is killed and a new
//!    sandbox created (attempt + 1), then containers start from the first
//!    init container, unless the pod has finished for good
//!    (`restartPolicy` says its exited containers stay down).
//! 3. Init containers run one at a time, in order, each to success; a
//!    failed one is restarted (with back-off) unless `restartPolicy: Never`,
//!    which fails the pod. Sidecars (init containers with
//!    `restartPolicy: Always`) only need to be running for the next one to
//!    start, and are kept running afterwards.
//! 4. Then every container without an instance starts; a running one whose
//!    spec hash changed or whose liveness probe failed is killed (and
//!    restarted per policy); an exited one restarts per `restartPolicy`
//!    (`Always`; `OnFailure` when the exit code is not 0), after its
//!    back-off (`CrashLoopBackOff`).

use std::collections::{BTreeMap, HashSet};

use api_types::core::v1::{Container, Pod};

use crate::pod::backoff::Backoff;
use crate::pod::labels::container_hash;
use crate::pod::runtime_state::{ContainerInfo, PodRuntime, State};

/// What decide reads besides the pod.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    pub runtime: &'a PodRuntime,
    pub backoff: &'a Backoff,
    /// Container IDs whose liveness (or startup) probe has failed.
    pub unhealthy: &'a HashSet<String>,
    /// Now, in unix nanoseconds.
    pub now: i64,
}

/// A container to stop, and why (for the `Killing` event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kill {
    pub id: String,
    pub name: String,
    pub reason: String,
}

/// Why the pod is killed as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KillPod {
    /// Deleted through the API (graceful: preStop, then the grace period).
    Deleted,
    /// Finished: no container will run again.
    Finished,
    /// `activeDeadlineSeconds` passed.
    DeadlineExceeded,
    /// A regular init container failed with `restartPolicy: Never`.
    InitFailed,
    /// The sandbox is gone or changed; a new one follows.
    SandboxChanged,
}

/// The plan for one sync.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodActions {
    /// Stop every container and the sandbox.
    pub kill_pod: Option<KillPod>,
    /// Create a sandbox with this attempt number.
    pub create_sandbox: Option<u32>,
    /// The ready sandbox to start containers in (when not creating one).
    pub sandbox_id: Option<String>,
    /// Single containers to stop first.
    pub kill: Vec<Kill>,
    /// The init container to start (by name), if any.
    pub start_init: Option<String>,
    /// Containers to start (by name; includes sidecars being restarted).
    pub start: Vec<String>,
    /// Containers waiting for their restart back-off: name → message.
    pub back_off: BTreeMap<String, String>,
}

/// The pod's restart policy (`Always` by default).
pub fn restart_policy(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always")
}

/// Whether an init container is a sidecar (`restartPolicy: Always`).
pub fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// Whether a container that exited with `exit_code` restarts.
pub fn should_restart(policy: &str, exit_code: i32) -> bool {
    match policy {
        "Never" => false,
        "OnFailure" => exit_code != 0,
        _ => true,
    }
}

/// The back-off key of a pod's container.
pub fn backoff_key(pod: &Pod, name: &str) -> String {
    format!("{}/{name}", pod.metadata.uid)
}

/// `back-off 10s restarting failed container=web pod=web_default(uid)`.
fn backoff_message(pod: &Pod, name: &str, b: &Backoff) -> String {
    format!(
        "back-off {}s restarting failed container={name} pod={}_{}({})",
        b.delay(&backoff_key(pod, name)).as_secs(),
        pod.metadata.name,
        pod.metadata.namespace,
        pod.metadata.uid,
    )
}

/// Whether the pod has passed its `activeDeadlineSeconds`.
pub fn deadline_exceeded(pod: &Pod, now: i64) -> bool {
    let Some(deadline) = pod.spec.as_ref().and_then(|s| s.active_deadline_seconds) else {
        return false;
    };
    let Some(start) = pod.status.as_ref().and_then(|s| s.start_time.as_ref()) else {
        return false;
    };
    let started = start.0.timestamp_nanos_opt().unwrap_or(i64::MAX);
    now.saturating_sub(started) >= deadline.saturating_mul(1_000_000_000)
}

/// Whether the regular containers are all done for good: every one has
/// exited and the policy restarts none of them.
fn finished(pod: &Pod, containers: &[Container], rt: &PodRuntime) -> bool {
    let policy = restart_policy(pod);
    !containers.is_empty()
        && containers.iter().all(|c| {
            rt.latest(&c.name)
                .is_some_and(|i| i.state == State::Exited && !should_restart(policy, i.exit_code))
        })
}

/// Restart (or back off) an exited container.
fn restart_or_back_off(
    pod: &Pod,
    name: &str,
    info: &ContainerInfo,
    inp: &Inputs,
    a: &mut PodActions,
) -> bool {
    if inp
        .backoff
        .remaining(&backoff_key(pod, name), info.finished_at, inp.now)
        .is_some()
    {
        a.back_off
            .insert(name.to_string(), backoff_message(pod, name, inp.backoff));
        false
    } else {
        true
    }
}

/// Decides what to do with `pod`. Pure.
pub fn compute_pod_actions(pod: &Pod, inp: &Inputs) -> PodActions {
    let mut a = PodActions::default();
    let rt = inp.runtime;
    let Some(spec) = pod.spec.as_ref() else {
        return a;
    };
    let policy = restart_policy(pod);
    let anything_running = rt.running().next().is_some() || rt.sandboxes.iter().any(|s| s.ready);

    // 1. Deleted, past the deadline, or finished: stop, never restart.
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    let kill = if pod.metadata.deletion_timestamp.is_some() {
        Some(KillPod::Deleted)
    } else if matches!(phase, Some("Succeeded" | "Failed")) {
        Some(KillPod::Finished)
    } else if deadline_exceeded(pod, inp.now) {
        Some(KillPod::DeadlineExceeded)
    } else {
        None
    };
    if let Some(k) = kill {
        if anything_running {
            a.kill_pod = Some(k);
        }
        return a;
    }
    let inits = spec.init_containers.as_deref().unwrap_or_default();

    // 2. The sandbox.
    let ready: Vec<_> = rt.sandboxes.iter().filter(|s| s.ready).collect();
    let sandbox_ok = ready.len() == 1 && rt.latest_sandbox().is_some_and(|s| s.ready);
    if !sandbox_ok {
        let ran_before = !rt.containers.is_empty();
        if ran_before && (policy == "Never" || finished(pod, &spec.containers, rt)) {
            // Done for good: never a new sandbox.
            if anything_running {
                a.kill_pod = Some(KillPod::Finished);
            }
            return a;
        }
        if anything_running || !rt.sandboxes.is_empty() {
            a.kill_pod = Some(KillPod::SandboxChanged);
        }
        a.create_sandbox = Some(rt.latest_sandbox().map_or(0, |s| s.attempt + 1));
        match inits.first() {
            Some(first) => a.start_init = Some(first.name.clone()),
            None => a.start = spec.containers.iter().map(|c| c.name.clone()).collect(),
        }
        return a;
    }
    a.sandbox_id = rt.latest_sandbox().map(|s| s.id.clone());

    // 3. Init containers, in order, until the first regular container has
    // started (from then on the pod is initialized; sidecars are handled
    // with the regular containers).
    let initialized = spec.containers.iter().any(|c| rt.latest(&c.name).is_some());
    for ic in inits.iter().filter(|_| !initialized) {
        let sidecar = is_sidecar(ic);
        let Some(info) = rt.latest(&ic.name) else {
            a.start_init = Some(ic.name.clone());
            return a;
        };
        match info.state {
            State::Running if sidecar => {
                if inp.unhealthy.contains(&info.id) {
                    a.kill.push(kill_for(info, "failed liveness probe"));
                    a.start_init = Some(ic.name.clone());
                    return a;
                }
                continue;
            }
            State::Running | State::Unknown => return a, // still working
            State::Created => {
                a.kill
                    .push(kill_for(info, "container created but never started"));
                a.start_init = Some(ic.name.clone());
                return a;
            }
            State::Exited if !sidecar && info.exit_code == 0 => continue,
            State::Exited => {
                if !sidecar && policy == "Never" {
                    a.kill_pod = Some(KillPod::InitFailed);
                    return a;
                }
                if restart_or_back_off(pod, &ic.name, info, inp, &mut a) {
                    a.start_init = Some(ic.name.clone());
                }
                return a;
            }
        }
    }

    // 4. Regular containers.
    for c in &spec.containers {
        let Some(info) = rt.latest(&c.name) else {
            a.start.push(c.name.clone());
            continue;
        };
        match info.state {
            State::Running => {
                let reason = if !info.hash.is_empty() && info.hash != container_hash(c) {
                    Some("container spec changed")
                } else if inp.unhealthy.contains(&info.id) {
                    Some("failed liveness probe")
                } else {
                    None
                };
                if let Some(reason) = reason {
                    a.kill.push(kill_for(info, reason));
                    // A spec change always restarts; a failed probe counts
                    // as a failure for OnFailure.
                    if reason == "container spec changed" || should_restart(policy, 1) {
                        a.start.push(c.name.clone());
                    }
                }
            }
            State::Created => {
                a.kill
                    .push(kill_for(info, "container created but never started"));
                a.start.push(c.name.clone());
            }
            State::Unknown => {}
            State::Exited => {
                if should_restart(policy, info.exit_code)
                    && restart_or_back_off(pod, &c.name, info, inp, &mut a)
                {
                    a.start.push(c.name.clone());
                }
            }
        }
    }
    if a.start.is_empty() && a.back_off.is_empty() && finished(pod, &spec.containers, rt) {
        // Everything is done: stop the sidecars and the sandbox.
        a.kill_pod = Some(KillPod::Finished);
        a.kill.clear();
        return a;
    }
    // Sidecars are kept running next to the containers.
    for ic in inits.iter().filter(|c| is_sidecar(c)) {
        if let Some(info) = rt.latest(&ic.name).filter(|i| i.state == State::Exited)
            && restart_or_back_off(pod, &ic.name, info, inp, &mut a)
        {
            a.start.insert(0, ic.name.clone());
        }
    }
    a
}

fn kill_for(info: &ContainerInfo, reason: &str) -> Kill {
    Kill {
        id: info.id.clone(),
        name: info.name.clone(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests;
