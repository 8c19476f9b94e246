//! What the container runtime has for one pod, read back through the CRI.
//!
//! The kubelet keeps no state of its own about containers: every sync
//! starts by asking the runtime which sandboxes and containers carry the
//! pod's UID label (upstream: `GetPodStatus`). That is what makes a kubelet
//! restart harmless: nothing is lost that the runtime does not remember.

use std::collections::HashMap;

use cri::{RuntimeService, v1};

use crate::pod::labels;

/// State of a container as the runtime reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Created,
    Running,
    Exited,
    Unknown,
}

impl State {
    fn from_cri(s: i32) -> State {
        match v1::ContainerState::try_from(s) {
            Ok(v1::ContainerState::ContainerCreated) => State::Created,
            Ok(v1::ContainerState::ContainerRunning) => State::Running,
            Ok(v1::ContainerState::ContainerExited) => State::Exited,
            _ => State::Unknown,
        }
    }
}

/// One pod sandbox.
#[derive(Clone, Debug, PartialEq)]
pub struct SandboxInfo {
    pub id: String,
    pub attempt: u32,
    pub ready: bool,
    pub created_at: i64,
    /// The pod IP from CNI (empty with hostNetwork).
    pub ip: String,
    pub additional_ips: Vec<String>,
}

/// One container instance (each restart is a new instance).
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerInfo {
    pub id: String,
    pub sandbox_id: String,
    /// The container's name in the pod spec.
    pub name: String,
    /// The restart count this instance was created with.
    pub restart_count: i32,
    pub state: State,
    pub created_at: i64,
    pub started_at: i64,
    pub finished_at: i64,
    pub exit_code: i32,
    pub reason: String,
    pub message: String,
    pub image: String,
    pub image_ref: String,
    /// The spec hash it was created from.
    pub hash: String,
}

/// Everything the runtime has for one pod, newest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodRuntime {
    pub sandboxes: Vec<SandboxInfo>,
    pub containers: Vec<ContainerInfo>,
}

impl PodRuntime {
    /// The newest sandbox, if any.
    pub fn latest_sandbox(&self) -> Option<&SandboxInfo> {
        self.sandboxes.first()
    }

    /// The newest instance of the container named `name`.
    pub fn latest(&self, name: &str) -> Option<&ContainerInfo> {
        self.containers.iter().find(|c| c.name == name)
    }

    /// The instance before the newest one (for `lastState`).
    pub fn previous(&self, name: &str) -> Option<&ContainerInfo> {
        self.containers.iter().filter(|c| c.name == name).nth(1)
    }

    /// Containers the runtime still runs (or has created but not started).
    pub fn running(&self) -> impl Iterator<Item = &ContainerInfo> {
        self.containers
            .iter()
            .filter(|c| matches!(c.state, State::Running | State::Created | State::Unknown))
    }

    /// The pod IP of the newest ready sandbox.
    pub fn pod_ip(&self) -> Option<&str> {
        self.latest_sandbox()
            .filter(|s| s.ready && !s.ip.is_empty())
            .map(|s| s.ip.as_str())
    }
}

fn uid_filter(uid: &str) -> HashMap<String, String> {
    [(labels::POD_UID.to_string(), uid.to_string())].into()
}

/// Reads the pod's sandboxes and containers from the runtime.
pub async fn pod_runtime(rt: &dyn RuntimeService, uid: &str) -> cri::Result<PodRuntime> {
    let sandboxes = rt
        .list_pod_sandbox(Some(v1::PodSandboxFilter {
            label_selector: uid_filter(uid),
            ..Default::default()
        }))
        .await?;
    let mut out = PodRuntime::default();
    for sb in sandboxes {
        let mut info = SandboxInfo {
            attempt: sb.metadata.as_ref().map_or(0, |m| m.attempt),
            ready: sb.state == v1::PodSandboxState::SandboxReady as i32,
            created_at: sb.created_at,
            ip: String::new(),
            additional_ips: vec![],
            id: sb.id,
        };
        if info.ready {
            match rt.pod_sandbox_status(&info.id).await {
                Ok(st) => {
                    if let Some(n) = st.network {
                        info.ip = n.ip;
                        info.additional_ips = n.additional_ips.into_iter().map(|p| p.ip).collect();
                    }
                }
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            }
        }
        out.sandboxes.push(info);
    }
    out.sandboxes
        .sort_by_key(|s| std::cmp::Reverse((s.attempt, s.created_at)));

    let containers = rt
        .list_containers(Some(v1::ContainerFilter {
            label_selector: uid_filter(uid),
            ..Default::default()
        }))
        .await?;
    for c in containers {
        // The list has no exit codes or times: ask for each one.
        let st = match rt.container_status(&c.id).await {
            Ok(st) => st,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        out.containers.push(container_info(c.pod_sandbox_id, st));
    }
    out.containers
        .sort_by_key(|c| std::cmp::Reverse((c.restart_count, c.created_at)));
    Ok(out)
}

fn container_info(sandbox_id: String, st: v1::ContainerStatus) -> ContainerInfo {
    let label = |k: &str| st.labels.get(k).cloned().unwrap_or_default();
    let annotation = |k: &str| st.annotations.get(k).cloned().unwrap_or_default();
    ContainerInfo {
        name: label(labels::CONTAINER_NAME),
        restart_count: annotation(labels::RESTART_COUNT).parse().unwrap_or(0),
        hash: annotation(labels::CONTAINER_HASH),
        state: State::from_cri(st.state),
        created_at: st.created_at,
        started_at: st.started_at,
        finished_at: st.finished_at,
        exit_code: st.exit_code,
        reason: st.reason,
        message: st.message,
        image: st.image.map(|i| i.image).unwrap_or_default(),
        image_ref: st.image_ref,
        sandbox_id,
        id: st.id,
    }
}

/// A cheap node-wide snapshot for the pod lifecycle event generator: for
/// each pod UID, its sandbox and container IDs with their states.
pub async fn relist(rt: &dyn RuntimeService) -> cri::Result<HashMap<String, Vec<(String, i32)>>> {
    let mut out: HashMap<String, Vec<(String, i32)>> = HashMap::new();
    for sb in rt.list_pod_sandbox(None).await? {
        if let Some(uid) = sb.labels.get(labels::POD_UID) {
            out.entry(uid.clone()).or_default().push((sb.id, sb.state));
        }
    }
    for c in rt.list_containers(None).await? {
        if let Some(uid) = c.labels.get(labels::POD_UID) {
            out.entry(uid.clone())
                .or_default()
                .push((c.id, c.state + 10));
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    Ok(out)
}
