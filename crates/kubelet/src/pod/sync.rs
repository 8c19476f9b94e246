//! Act: carrying out one pod's [`PodActions`] through the CRI (upstream:
//! `SyncPod` in `kuberuntime_manager.go`), then computing and reporting its
//! status.
//!
//! One sync, in order:
//! 1. read what the runtime has for the pod ([`pod_runtime`]);
//! 2. decide ([`compute_pod_actions`]);
//! 3. kill what must go: the whole pod (preStop hooks, then `StopContainer`
//!    with the grace period, then `StopPodSandbox`), or single containers;
//! 4. create the sandbox if needed (`RunPodSandbox`: pause container,
//!    network namespace, CNI gives the pod its IP);
//! 5. prepare volumes, then start the init container or the containers:
//!    image (`ImageStatus`/`PullImage` per `imagePullPolicy`), environment,
//!    mounts, resources, security → `CreateContainer` → `StartContainer`
//!    → postStart hook;
//! 6. compute the status and write it when it changed.
//!
//! Failures of one container are recorded as its waiting reason
//! (`ErrImagePull`, `CreateContainerConfigError` …) and retried at the next
//! sync; they never stop the other containers.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use api_types::core::v1::{
    ConfigMap, Container, LifecycleHandler, Pod, PodStatus, Secret, Service,
};
use chrono::Utc;
use client::{Api, Client, ListParams, Patch, PatchParams};
use cri::{ImageService, RuntimeService, v1};
use runtime::events::{EventType, Recorder, object_reference};
use tracing::{debug, info, warn};

use crate::container::{env, resources, security};
use crate::pod::backoff::Backoff;
use crate::pod::decide::{self, KillPod, PodActions, compute_pod_actions, is_sidecar};
use crate::pod::handlers::{self, Outcome};
use crate::pod::labels::{self, container_hash};
use crate::pod::objects::Objects;
use crate::pod::runtime_state::{PodRuntime, pod_runtime};
use crate::pod::sandbox::{self, NodeContext};
use crate::pod::status::{self, pod_status};
use crate::volume::{VolumeManager, VolumeSources};

/// Everything a sync needs that is the same for every pod of the node.
#[derive(Clone)]
pub struct Syncer {
    pub runtime: Arc<dyn RuntimeService>,
    pub images: Arc<dyn ImageService>,
    /// `None` when the kubelet runs without an apiserver (static pods only).
    pub client: Option<Client>,
    pub recorder: Option<Recorder>,
    pub volumes: Arc<VolumeManager>,
    /// Watched ConfigMaps and Secrets (with an apiserver).
    pub objects: Option<Arc<Objects>>,
    pub node: Arc<NodeContext>,
    pub http: reqwest::Client,
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl std::fmt::Debug for Syncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syncer")
            .field("node", &self.node.node_name)
            .finish_non_exhaustive()
    }
}

/// What the pod's worker keeps between syncs.
#[derive(Debug, Default)]
pub struct PodState {
    pub backoff: Backoff,
    /// Waiting reasons recorded by the last start attempts.
    pub waiting: BTreeMap<String, (String, String)>,
    /// The status last written (or read) for the pod.
    pub last_status: Option<PodStatus>,
    /// Container IDs with a failed liveness/startup probe.
    pub unhealthy: HashSet<String>,
    /// Readiness and startup probe results by container ID.
    pub readiness: HashMap<String, bool>,
    pub started: HashMap<String, bool>,
    /// When image pulls last failed, by image (for `ImagePullBackOff`).
    pub pull_failed_at: HashMap<String, i64>,
    /// The last runtime state read (for probes).
    pub runtime: PodRuntime,
}

impl PodState {
    /// Drops probe results of container instances the runtime no longer
    /// has (removed by the container GC or with their sandbox).
    pub fn forget_gone_containers(&mut self) {
        let ids: HashSet<&str> = self
            .runtime
            .containers
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        self.readiness.retain(|id, _| ids.contains(id.as_str()));
        self.started.retain(|id, _| ids.contains(id.as_str()));
        self.unhealthy.retain(|id| ids.contains(id.as_str()));
    }
}

/// How a sync ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncOutcome {
    /// The pod is (being) run; sync again after at most this long.
    Running { wake_in: Option<Duration> },
    /// Everything of a deleted pod is stopped: the worker may finish it.
    Terminated,
}

/// An error that stops the whole sync (retried by the worker).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("container runtime: {0}")]
    Runtime(#[from] cri::Error),
    #[error("creating the pod sandbox: {0}")]
    Sandbox(#[source] cri::Error),
    #[error("apiserver: {0}")]
    Api(#[from] client::Error),
}

/// Exited container instances older than each container's newest two
/// (`containers` are newest first).
pub(crate) fn dead_beyond_previous(
    state: &PodRuntime,
) -> Vec<crate::pod::runtime_state::ContainerInfo> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    state
        .containers
        .iter()
        .filter(|c| {
            let n = seen.entry(c.name.as_str()).or_default();
            *n += 1;
            *n > 2 && c.state == crate::pod::runtime_state::State::Exited
        })
        .cloned()
        .collect()
}

/// Whether the pod has volumes whose content comes from API objects or
/// from the pod itself.
fn has_projected_volumes(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .is_some_and(|vs| {
            vs.iter().any(|v| {
                v.config_map.is_some()
                    || v.secret.is_some()
                    || v.projected.is_some()
                    || v.downward_api.is_some()
            })
        })
}

pub(crate) fn now_nanos() -> i64 {
    Utc::now().timestamp_nanos_opt().unwrap_or_default()
}

/// The grace period to stop `pod` with, in seconds.
pub fn grace_period(pod: &Pod) -> i64 {
    pod.metadata
        .deletion_grace_period_seconds
        .or_else(|| {
            pod.spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds)
        })
        .unwrap_or(30)
        .max(0)
}

/// The container of the spec named `name` (init containers first).
pub(crate) fn find_container<'a>(pod: &'a Pod, name: &str) -> Option<&'a Container> {
    let spec = pod.spec.as_ref()?;
    spec.init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
        .find(|c| c.name == name)
}

impl Syncer {
    fn event(&self, pod: &Pod, type_: EventType, reason: &str, message: &str) {
        if let Some(r) = &self.recorder {
            let mut reference = object_reference(pod);
            // Events about a static pod go to its mirror's name.
            if reference.name.as_deref().is_some_and(str::is_empty) {
                return;
            }
            reference.field_path = None;
            r.event(&reference, type_, reason, message);
        }
    }

    /// One sync of `pod` (see the module docs).
    pub async fn sync(&self, pod: &Pod, st: &mut PodState) -> Result<SyncOutcome, SyncError> {
        let uid = pod.metadata.uid.as_str();
        let rt = self.runtime.as_ref();
        let t0 = std::time::Instant::now();
        let mut state = pod_runtime(rt, uid).await?;
        let t_read = t0.elapsed();
        let now = now_nanos();
        let actions = compute_pod_actions(
            pod,
            &decide::Inputs {
                runtime: &state,
                backoff: &st.backoff,
                unhealthy: &st.unhealthy,
                now,
            },
        );
        debug!(pod = %pod.metadata.key(), ?actions, "sync");

        if let Some(kill) = &actions.kill_pod {
            let grace = match kill {
                KillPod::Deleted => grace_period(pod),
                _ => pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.termination_grace_period_seconds)
                    .unwrap_or(30),
            };
            self.kill_pod(pod, &state, Duration::from_secs(grace.max(0) as u64))
                .await?;
            state = pod_runtime(rt, uid).await?;
            if *kill == KillPod::Deleted {
                self.report(pod, st, &state, &actions, now).await;
                st.runtime = state;
                return Ok(SyncOutcome::Terminated);
            }
        } else if pod.metadata.deletion_timestamp.is_some() {
            self.report(pod, st, &state, &actions, now).await;
            st.runtime = state;
            return Ok(SyncOutcome::Terminated);
        }
        for k in &actions.kill {
            info!(pod = %pod.metadata.key(), container = %k.name, reason = %k.reason, "killing container");
            self.event(
                pod,
                EventType::Normal,
                "Killing",
                &format!("Stopping container {}", k.name),
            );
            let c = find_container(pod, &k.name);
            self.stop_container(
                pod,
                c,
                &k.id,
                &state,
                Duration::from_secs(grace_period(pod) as u64),
            )
            .await?;
        }
        if !actions.kill.is_empty() {
            state = pod_runtime(rt, uid).await?;
        }

        let mut sandbox_id = actions.sandbox_id.clone();
        let sandbox_config = sandbox::sandbox_config(
            pod,
            actions
                .create_sandbox
                .unwrap_or_else(|| state.latest_sandbox().map_or(0, |s| s.attempt)),
            &self.node,
        );
        if let Some(attempt) = actions.create_sandbox {
            sandbox::prepare_log_dir(&self.node, pod);
            info!(pod = %pod.metadata.key(), attempt, "creating pod sandbox");
            match rt.run_pod_sandbox(sandbox_config.clone(), "").await {
                Ok(id) => {
                    self.metrics.pod_started();
                    sandbox_id = Some(id);
                }
                Err(e) => {
                    self.event(
                        pod,
                        EventType::Warning,
                        "FailedCreatePodSandBox",
                        &format!("Failed to create pod sandbox: {e}"),
                    );
                    self.report(pod, st, &state, &actions, now).await;
                    return Err(SyncError::Sandbox(e));
                }
            }
            state = pod_runtime(rt, uid).await?;
        }
        let t_sandbox = t0.elapsed();

        let to_start: Vec<String> = actions
            .start_init
            .iter()
            .chain(actions.start.iter())
            .cloned()
            .collect();
        if let (Some(sb), false) = (sandbox_id.as_deref(), to_start.is_empty()) {
            self.start_containers(pod, st, &state, sb, &sandbox_config, &to_start)
                .await?;
            state = pod_runtime(rt, uid).await?;
        } else if state.running().next().is_some() && has_projected_volumes(pod) {
            // ConfigMap, Secret and downward API volumes follow their
            // sources while the pod runs (atomically, through `..data`).
            self.refresh_volumes(pod).await;
        }
        let t_start = t0.elapsed();
        self.report(pod, st, &state, &actions, now).await;
        self.remove_dead_containers(pod, &mut state).await;
        debug!(pod = %pod.metadata.key(), read = ?t_read, sandbox = ?t_sandbox, start = ?t_start, total = ?t0.elapsed(), "synced");
        let wake_in = actions
            .back_off
            .keys()
            .filter_map(|name| {
                let info = state.latest(name)?;
                st.backoff.remaining(
                    &decide::backoff_key(pod, name),
                    info.finished_at,
                    now_nanos(),
                )
            })
            .min();
        st.runtime = state;
        st.forget_gone_containers();
        // Waiting on an image back-off or a config error: retry soon.
        let wake_in = if st.waiting.is_empty() {
            wake_in
        } else {
            Some(wake_in.map_or(Duration::from_secs(5), |w| w.min(Duration::from_secs(5))))
        };
        Ok(SyncOutcome::Running { wake_in })
    }

    /// Container garbage collection: of each container's exited
    /// instances, only the newest two instances of the container are kept
    /// (the current one and the one `lastState` and `kubectl logs
    /// --previous` show, as upstream's `MaxPerPodContainer = 1` dead
    /// container); older ones are removed with their log files.
    async fn remove_dead_containers(&self, pod: &Pod, state: &mut PodRuntime) {
        let doomed = dead_beyond_previous(state);
        if doomed.is_empty() {
            return;
        }
        let dir = sandbox::log_dir(&self.node, pod);
        for c in &doomed {
            match self.runtime.remove_container(&c.id).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    warn!(pod = %pod.metadata.key(), container = %c.name, error = %e, "removing a dead container failed");
                    continue;
                }
            }
            let _ =
                std::fs::remove_file(dir.join(&c.name).join(format!("{}.log", c.restart_count)));
            debug!(pod = %pod.metadata.key(), container = %c.name, id = %c.id, "removed dead container");
        }
        state
            .containers
            .retain(|c| !doomed.iter().any(|d| d.id == c.id));
    }

    /// Computes the status and writes it when it changed.
    async fn report(
        &self,
        pod: &Pod,
        st: &mut PodState,
        state: &PodRuntime,
        actions: &PodActions,
        now: i64,
    ) {
        let status = pod_status(
            pod,
            &status::Inputs {
                runtime: state,
                actions,
                waiting: &st.waiting,
                readiness: &st.readiness,
                started: &st.started,
                runtime_name: &self.node.runtime_name,
                host_ip: &self.node.host_ip,
                now: Utc::now(),
                deadline_exceeded: decide::deadline_exceeded(pod, now),
            },
        );
        let current = st.last_status.as_ref().or(pod.status.as_ref());
        if current.is_some_and(|c| !status::differs(c, &status)) {
            return;
        }
        if let Some(client) = &self.client
            && !pod.metadata.name.is_empty()
        {
            let api: Api<Pod> = Api::namespaced(client.clone(), &pod.metadata.namespace);
            // Strategic merge: conditions merge by type, so the
            // scheduler's PodScheduled and others' conditions stay.
            // The UID makes the write conditional on the same pod; a static
            // pod's status goes to its mirror, which has a UID of its own.
            let patch = if crate::pod::static_pods::is_static(pod) {
                serde_json::json!({ "status": status })
            } else {
                serde_json::json!({ "metadata": {"uid": pod.metadata.uid}, "status": status })
            };
            let t = std::time::Instant::now();
            let r = api
                .patch_status(
                    &pod.metadata.name,
                    &PatchParams::default(),
                    &Patch::Strategic(patch),
                )
                .await;
            debug!(pod = %pod.metadata.key(), took = ?t.elapsed(), "status patch");
            match r {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    warn!(pod = %pod.metadata.key(), error = %e, "writing pod status failed");
                    return;
                }
            }
        }
        st.last_status = Some(status);
    }

    /// Stops every container (preStop first, sidecars after the others)
    /// and then the sandbox.
    pub async fn kill_pod(
        &self,
        pod: &Pod,
        state: &PodRuntime,
        grace: Duration,
    ) -> Result<(), SyncError> {
        let running: Vec<_> = state.running().collect();
        if !running.is_empty() {
            info!(pod = %pod.metadata.key(), containers = running.len(), grace = grace.as_secs(), "killing pod");
        }
        let (sidecars, regular): (Vec<_>, Vec<_>) = running
            .into_iter()
            .partition(|c| find_container(pod, &c.name).is_some_and(is_sidecar));
        for group in [regular, sidecars] {
            let stops = group.iter().map(|c| {
                self.event(
                    pod,
                    EventType::Normal,
                    "Killing",
                    &format!("Stopping container {}", c.name),
                );
                self.stop_container(pod, find_container(pod, &c.name), &c.id, state, grace)
            });
            for r in futures::future::join_all(stops).await {
                r?;
            }
        }
        for sb in state.sandboxes.iter().filter(|s| s.ready) {
            match self.runtime.stop_pod_sandbox(&sb.id).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Runs the preStop hook (within the grace period), then stops the
    /// container with what is left of it.
    async fn stop_container(
        &self,
        pod: &Pod,
        spec: Option<&Container>,
        id: &str,
        state: &PodRuntime,
        grace: Duration,
    ) -> Result<(), SyncError> {
        let started = std::time::Instant::now();
        if let Some(hook) = spec
            .and_then(|c| c.lifecycle.as_ref())
            .and_then(|l| l.pre_stop.as_ref())
            && let Some(c) = spec
        {
            let pod_ip = state.pod_ip().unwrap_or_default().to_string();
            let outcome =
                tokio::time::timeout(grace, self.run_hook(hook, c, id, &pod_ip, grace)).await;
            if let Ok(Outcome::Failure(msg)) = outcome {
                self.event(
                    pod,
                    EventType::Warning,
                    "FailedPreStopHook",
                    &format!("PreStopHook failed: {msg}"),
                );
            }
        }
        let left = grace.saturating_sub(started.elapsed());
        // At least 2 s between SIGTERM and SIGKILL, as upstream's minimum.
        let left = if grace.is_zero() {
            Duration::ZERO
        } else {
            left.max(Duration::from_secs(2))
        };
        match self.runtime.stop_container(id, left).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Runs a lifecycle hook handler (exec, httpGet, tcpSocket, sleep).
    async fn run_hook(
        &self,
        h: &LifecycleHandler,
        c: &Container,
        id: &str,
        pod_ip: &str,
        timeout: Duration,
    ) -> Outcome {
        if let Some(e) = &h.exec {
            handlers::exec(
                self.runtime.as_ref(),
                id,
                e.command.as_deref().unwrap_or_default(),
                timeout,
            )
            .await
        } else if let Some(g) = &h.http_get {
            handlers::http_get(&self.http, g, c, pod_ip, timeout).await
        } else if let Some(t) = &h.tcp_socket {
            handlers::tcp(t, c, pod_ip, timeout).await
        } else if let Some(s) = &h.sleep {
            tokio::time::sleep(Duration::from_secs(s.seconds.max(0) as u64).min(timeout)).await;
            Outcome::Success
        } else {
            Outcome::Success
        }
    }

    /// Rewrites the content of the pod's configMap, secret, projected and
    /// downwardAPI volumes where it changed.
    async fn refresh_volumes(&self, pod: &Pod) {
        let (config_maps, secrets, _, complete) = self.referenced(pod, false).await;
        if !complete {
            // An apiserver error is not an absent optional source: keep
            // the content the pod has.
            return;
        }
        let sources = VolumeSources {
            config_maps: &config_maps,
            secrets: &secrets,
        };
        if let Err(e) = self.volumes.setup(pod, &sources) {
            debug!(pod = %pod.metadata.key(), error = %e, "refreshing volumes failed");
        }
    }

    /// Fetches what the pod's environment and volumes reference (and the
    /// namespace's Services, for the service environment variables, when
    /// `services`).
    async fn referenced(
        &self,
        pod: &Pod,
        services: bool,
    ) -> (
        BTreeMap<String, ConfigMap>,
        BTreeMap<String, Secret>,
        Vec<Service>,
        bool,
    ) {
        let (cms, secrets) = env::referenced_objects(pod);
        let mut out = (BTreeMap::new(), BTreeMap::new(), Vec::new(), true);
        let Some(client) = &self.client else {
            return out;
        };
        let ns = pod.metadata.namespace.as_str();
        if let Some(objects) = &self.objects {
            // Watched, not fetched: see `pod::objects`.
            let uid = pod.metadata.uid.as_str();
            objects.config_maps.register(uid, ns, &cms);
            objects.secrets.register(uid, ns, &secrets);
            for name in cms {
                match objects.config_maps.get(ns, &name).await {
                    Ok(Some(cm)) => {
                        out.0.insert(name, cm);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        warn!(configmap = %name, error = %e, "reading configmap failed");
                        out.3 = false;
                    }
                }
            }
            for name in secrets {
                match objects.secrets.get(ns, &name).await {
                    Ok(Some(s)) => {
                        out.1.insert(name, s);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        warn!(secret = %name, error = %e, "reading secret failed");
                        out.3 = false;
                    }
                }
            }
        }
        let links = pod
            .spec
            .as_ref()
            .and_then(|s| s.enable_service_links)
            .unwrap_or(true);
        if links && services {
            let svc_api: Api<Service> = Api::namespaced(client.clone(), ns);
            if let Ok(list) = svc_api.list(&ListParams::default()).await {
                out.2 = list.items;
            }
        }
        out
    }

    async fn start_containers(
        &self,
        pod: &Pod,
        st: &mut PodState,
        state: &PodRuntime,
        sandbox_id: &str,
        sandbox_config: &v1::PodSandboxConfig,
        names: &[String],
    ) -> Result<(), SyncError> {
        let (config_maps, secrets, services, _) = self.referenced(pod, true).await;
        let volumes = match self.volumes.setup(
            pod,
            &VolumeSources {
                config_maps: &config_maps,
                secrets: &secrets,
            },
        ) {
            Ok(v) => v,
            Err(e) => {
                // Upstream: the pod stays ContainerCreating with a FailedMount event.
                self.event(
                    pod,
                    EventType::Warning,
                    "FailedMount",
                    &format!("MountVolume.SetUp failed: {e}"),
                );
                return Ok(());
            }
        };
        let pod_ip = state.pod_ip().unwrap_or_default().to_string();
        let pod_ips: Vec<String> = state
            .latest_sandbox()
            .map(|s| {
                std::iter::once(s.ip.clone())
                    .chain(s.additional_ips.iter().cloned())
                    .filter(|i| !i.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if let Err(e) = sandbox::write_etc_hosts(&self.volumes, pod, &pod_ip) {
            warn!(pod = %pod.metadata.key(), error = %e, "writing the pod's hosts file failed");
        }
        let host_ips = vec![self.node.host_ip.clone()];
        let ctx = env::EnvContext {
            node_name: &self.node.node_name,
            host_ip: &self.node.host_ip,
            host_ips: &host_ips,
            pod_ip: &pod_ip,
            pod_ips: &pod_ips,
            config_maps: &config_maps,
            secrets: &secrets,
            services: &services,
            node_allocatable: &self.node.allocatable,
        };
        for name in names {
            let Some(c) = find_container(pod, name) else {
                continue;
            };
            let restart_count = state.latest(name).map_or(0, |l| l.restart_count + 1);
            match self
                .start_container(
                    pod,
                    st,
                    c,
                    restart_count,
                    sandbox_id,
                    sandbox_config,
                    &ctx,
                    &volumes,
                )
                .await
            {
                Ok(()) => {
                    self.metrics.container_started();
                    st.waiting.remove(name);
                    if restart_count > 0 {
                        st.backoff
                            .next(&decide::backoff_key(pod, name), now_nanos());
                    }
                }
                Err((reason, message)) => {
                    warn!(pod = %pod.metadata.key(), container = %name, %reason, %message, "container not started");
                    st.waiting.insert(name.clone(), (reason, message));
                }
            }
        }
        Ok(())
    }

    /// Image by pull policy; `Err((reason, message))` as the container's
    /// waiting state shows it.
    async fn ensure_image(
        &self,
        pod: &Pod,
        st: &mut PodState,
        c: &Container,
    ) -> Result<String, (String, String)> {
        let image = c.image.clone().unwrap_or_default();
        if image.is_empty() {
            return Err(("InvalidImageName".into(), "container image is empty".into()));
        }
        let policy = c
            .image_pull_policy
            .clone()
            .unwrap_or_else(|| default_pull_policy(&image).to_string());
        let present = match self.images.image_status(&image).await {
            Ok(i) => i,
            Err(e) => return Err(("ErrImagePull".into(), e.to_string())),
        };
        match (policy.as_str(), present) {
            ("Never", Some(i)) | ("IfNotPresent", Some(i)) => {
                self.event(
                    pod,
                    EventType::Normal,
                    "Pulled",
                    &format!("Container image \"{image}\" already present on machine"),
                );
                return Ok(i.id);
            }
            ("Never", None) => {
                let msg =
                    format!("Container image \"{image}\" is not present with pull policy of Never");
                self.event(pod, EventType::Warning, "ErrImageNeverPull", &msg);
                return Err(("ErrImageNeverPull".into(), msg));
            }
            _ => {}
        }
        let key = format!("image:{image}");
        if let Some(failed) = st.pull_failed_at.get(&image)
            && st.backoff.remaining(&key, *failed, now_nanos()).is_some()
        {
            let msg = format!("Back-off pulling image \"{image}\"");
            self.event(pod, EventType::Normal, "BackOff", &msg);
            return Err(("ImagePullBackOff".into(), msg));
        }
        self.event(
            pod,
            EventType::Normal,
            "Pulling",
            &format!("Pulling image \"{image}\""),
        );
        let started = std::time::Instant::now();
        match self.images.pull_image(&image, None, None).await {
            Ok(r) => {
                st.pull_failed_at.remove(&image);
                self.event(
                    pod,
                    EventType::Normal,
                    "Pulled",
                    &format!(
                        "Successfully pulled image \"{image}\" in {:?}",
                        started.elapsed()
                    ),
                );
                Ok(r)
            }
            Err(e) => {
                let now = now_nanos();
                st.backoff.next(&key, now);
                st.pull_failed_at.insert(image.clone(), now);
                let msg = format!("Failed to pull image \"{image}\": {e}");
                self.event(pod, EventType::Warning, "Failed", &msg);
                Err(("ErrImagePull".into(), msg))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn start_container(
        &self,
        pod: &Pod,
        st: &mut PodState,
        c: &Container,
        restart_count: i32,
        sandbox_id: &str,
        sandbox_config: &v1::PodSandboxConfig,
        ctx: &env::EnvContext<'_>,
        volumes: &BTreeMap<String, PathBuf>,
    ) -> Result<(), (String, String)> {
        let image_ref = self.ensure_image(pod, st, c).await?;
        let config_error = |msg: String| {
            self.event(pod, EventType::Warning, "Failed", &format!("Error: {msg}"));
            ("CreateContainerConfigError".to_string(), msg)
        };
        let envs = env::container_env(pod, c, ctx).map_err(|e| config_error(e.to_string()))?;
        let image_user = self
            .images
            .image_status(&image_ref)
            .await
            .ok()
            .flatten()
            .and_then(|i| {
                i.uid
                    .map(|u| u.value.to_string())
                    .or_else(|| (!i.username.is_empty()).then_some(i.username))
            });
        let sec = security::container_security(pod, c, image_user.as_deref())
            .map_err(|e| config_error(e.to_string()))?;
        let mut mounts = self
            .volumes
            .mounts(pod, c, volumes)
            .map_err(|e| config_error(e.to_string()))?;
        mounts.extend(sandbox::extra_mounts(&self.volumes, pod, c).map_err(config_error)?);
        let (command, args) = env::expand_command(c, &envs);
        let qos = api_types::core::v1::qos::qos_class(
            pod.spec.as_ref().map_or(&Default::default(), |s| s),
        );
        let mut labels_map: HashMap<String, String> = sandbox::pod_labels(pod);
        labels_map.insert(labels::CONTAINER_NAME.into(), c.name.clone());
        let annotations: HashMap<String, String> = [
            (labels::CONTAINER_HASH.to_string(), container_hash(c)),
            (labels::RESTART_COUNT.to_string(), restart_count.to_string()),
            (
                labels::TERMINATION_MESSAGE_PATH.to_string(),
                c.termination_message_path
                    .clone()
                    .unwrap_or_else(|| "/dev/termination-log".into()),
            ),
        ]
        .into();
        let config = v1::ContainerConfig {
            metadata: Some(v1::ContainerMetadata {
                name: c.name.clone(),
                attempt: restart_count as u32,
            }),
            image: Some(v1::ImageSpec {
                image: image_ref.clone(),
                user_specified_image: c.image.clone().unwrap_or_default(),
                ..Default::default()
            }),
            command,
            args,
            working_dir: c.working_dir.clone().unwrap_or_default(),
            envs: envs
                .into_iter()
                .map(|(key, value)| v1::KeyValue { key, value })
                .collect(),
            mounts,
            labels: labels_map,
            annotations,
            log_path: format!("{}/{restart_count}.log", c.name),
            stdin: c.stdin.unwrap_or(false),
            stdin_once: c.stdin_once.unwrap_or(false),
            tty: c.tty.unwrap_or(false),
            linux: Some(v1::LinuxContainerConfig {
                resources: Some(v1::LinuxContainerResources {
                    // The pod-aware score (sidecars, node-critical pods).
                    oom_score_adj: resources::container_oom_score_adj(
                        pod,
                        c,
                        self.node.memory_capacity,
                    ),
                    ..resources::linux_resources(c, qos, self.node.memory_capacity)
                }),
                security_context: Some(sec),
            }),
            ..Default::default()
        };
        let id = match self
            .runtime
            .create_container(sandbox_id, config, sandbox_config.clone())
            .await
        {
            Ok(id) => id,
            Err(e) => {
                let msg = e.to_string();
                self.event(pod, EventType::Warning, "Failed", &format!("Error: {msg}"));
                return Err(("CreateContainerError".into(), msg));
            }
        };
        self.event(
            pod,
            EventType::Normal,
            "Created",
            &format!("Created container {}", c.name),
        );
        if let Err(e) = self.runtime.start_container(&id).await {
            let msg = e.to_string();
            self.event(pod, EventType::Warning, "Failed", &format!("Error: {msg}"));
            return Err(("RunContainerError".into(), msg));
        }
        self.event(
            pod,
            EventType::Normal,
            "Started",
            &format!("Started container {}", c.name),
        );
        if let Some(hook) = c.lifecycle.as_ref().and_then(|l| l.post_start.as_ref()) {
            let pod_ip = ctx.pod_ip.to_string();
            if let Outcome::Failure(msg) = self
                .run_hook(hook, c, &id, &pod_ip, Duration::from_secs(30))
                .await
            {
                // Upstream kills a container whose postStart hook failed.
                self.event(
                    pod,
                    EventType::Warning,
                    "FailedPostStartHook",
                    &format!("PostStartHook failed: {msg}"),
                );
                let _ = self
                    .runtime
                    .stop_container(&id, Duration::from_secs(grace_period(pod) as u64))
                    .await;
                return Err(("PostStartHookError".into(), msg));
            }
        }
        Ok(())
    }

    /// Removes what is left of a pod that is gone: its sandboxes (and with
    /// them its containers) and its volumes.
    pub async fn clean_up(&self, uid: &str) -> Result<(), SyncError> {
        if let Some(objects) = &self.objects {
            objects.unregister(uid);
        }
        let state = pod_runtime(self.runtime.as_ref(), uid).await?;
        for c in state.running() {
            match self.runtime.stop_container(&c.id, Duration::ZERO).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        for sb in &state.sandboxes {
            for r in [
                self.runtime.stop_pod_sandbox(&sb.id).await,
                self.runtime.remove_pod_sandbox(&sb.id).await,
            ] {
                match r {
                    Ok(()) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        if let Err(e) = self.volumes.teardown(uid) {
            warn!(pod_uid = uid, error = %e, "removing pod volumes failed");
        }
        sandbox::remove_pod_cgroups(&self.node, uid);
        Ok(())
    }
}

/// `Always` for `:latest` or untagged images, else `IfNotPresent`
/// (the apiserver's defaulting, repeated for static pods).
pub fn default_pull_policy(image: &str) -> &'static str {
    let name = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') {
        "IfNotPresent"
    } else if let Some((_, tag)) = name.rsplit_once(':') {
        if tag == "latest" {
            "Always"
        } else {
            "IfNotPresent"
        }
    } else {
        "Always"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::runtime_state::{ContainerInfo, State};

    fn c(id: &str, name: &str, state: State) -> ContainerInfo {
        ContainerInfo {
            id: id.into(),
            sandbox_id: "sb".into(),
            name: name.into(),
            restart_count: 0,
            state,
            created_at: 0,
            started_at: 0,
            finished_at: 0,
            exit_code: 0,
            reason: String::new(),
            message: String::new(),
            image: String::new(),
            image_ref: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn probe_results_of_gone_containers_are_forgotten() {
        let mut st = PodState::default();
        st.runtime.containers = vec![c("a1", "a", State::Running)];
        st.readiness.insert("a1".into(), true);
        st.readiness.insert("a0".into(), false);
        st.started.insert("a0".into(), true);
        st.unhealthy.insert("a0".into());
        st.forget_gone_containers();
        assert_eq!(st.readiness.keys().collect::<Vec<_>>(), ["a1"]);
        assert!(st.started.is_empty() && st.unhealthy.is_empty());
    }

    #[test]
    fn keeps_the_current_and_previous_instance_of_each_container() {
        let state = PodRuntime {
            sandboxes: vec![],
            containers: vec![
                c("a4", "a", State::Running),
                c("b2", "b", State::Exited),
                c("a3", "a", State::Exited),
                c("a2", "a", State::Exited),
                c("b1", "b", State::Exited),
                c("a1", "a", State::Exited),
                c("b0", "b", State::Exited),
            ],
        };
        let ids: Vec<String> = dead_beyond_previous(&state)
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, ["a2", "a1", "b0"]);
        let fresh = PodRuntime {
            sandboxes: vec![],
            containers: vec![c("a1", "a", State::Running), c("a0", "a", State::Exited)],
        };
        assert!(dead_beyond_previous(&fresh).is_empty());
    }
}
