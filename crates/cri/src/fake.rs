//! [`FakeRuntime`]: an in-memory CRI runtime for tests.
//!
//! It keeps sandboxes, containers and images in maps and answers every call
//! the way containerd would (IDs, states, filters, idempotent stop/remove,
//! `NotFound` for unknown IDs), without processes. Tests drive it:
//! [`FakeRuntime::exit_container`] makes a container exit,
//! [`FakeRuntime::fail_next`] makes the next call of an RPC fail,
//! [`FakeRuntime::calls`] records what the kubelet asked for, in order.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use crate::service::{ImageService, RuntimeService};
use crate::v1;
use crate::{Error, Result};

type ExitHook = dyn Fn(&v1::ContainerConfig) -> Option<i32> + Send + Sync;
type ExecHook = dyn Fn(&v1::ContainerConfig, &[String]) -> v1::ExecSyncResponse + Send + Sync;

/// An in-memory container runtime; clones share state.
#[derive(Clone, Default)]
pub struct FakeRuntime {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for FakeRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeRuntime").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    next_id: u64,
    sandboxes: BTreeMap<String, Sandbox>,
    containers: BTreeMap<String, Ctr>,
    images: BTreeMap<String, v1::Image>,
    calls: Vec<String>,
    failures: HashMap<String, VecDeque<tonic::Status>>,
    exit_on_start: Option<Arc<ExitHook>>,
    exec: Option<Arc<ExecHook>>,
    network_ready: bool,
    /// Every image "pulls" (a hollow node: no registry, no disk).
    pull_anything: bool,
    /// From `UpdateRuntimeConfig`: sandbox IPs come from it.
    pod_cidr: Option<(u32, u32)>,
}

struct Sandbox {
    config: v1::PodSandboxConfig,
    state: v1::PodSandboxState,
    created_at: i64,
    ip: String,
}

/// A container as the fake keeps it.
struct Ctr {
    sandbox_id: String,
    config: v1::ContainerConfig,
    state: v1::ContainerState,
    created_at: i64,
    started_at: i64,
    finished_at: i64,
    exit_code: i32,
    reason: String,
    image_ref: String,
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or_default()
}

fn not_found(what: &str, id: &str) -> tonic::Status {
    tonic::Status::not_found(format!("{what} \"{id}\" not found"))
}

/// A hollow node runs no processes: nothing to stream from, said plainly
/// (tests of the plain fake get a URL nobody serves).
fn no_streams_when_hollow(s: &State, op: &'static str) -> Result<()> {
    if s.pull_anything {
        return Err(Error::status(
            op,
            tonic::Status::unimplemented(
                "this is a hollow node (fake runtime): its containers run no processes, so there is nothing to exec into, attach to or forward to",
            ),
        ));
    }
    Ok(())
}

/// An image by name or by ID, as containerd finds them.
fn find_image<'a>(images: &'a BTreeMap<String, v1::Image>, image: &str) -> Option<&'a v1::Image> {
    images
        .get(image)
        .or_else(|| images.values().find(|i| i.id == image))
}

fn labels_match(selector: &HashMap<String, String>, labels: &HashMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

impl FakeRuntime {
    /// An empty runtime whose network is ready and which has no images.
    pub fn new() -> Self {
        let rt = FakeRuntime::default();
        rt.lock().network_ready = true;
        rt
    }

    /// A runtime for a *hollow node* (upstream: kubemark's hollow
    /// kubelet): the real kubelet runs against it, every image pulls, and
    /// sandboxes get IPs from the pod CIDR the kubelet configures.
    pub fn hollow() -> Self {
        let rt = FakeRuntime::new();
        rt.lock().pull_anything = true;
        rt
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock has already failed.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a call and returns an injected failure, if one is queued.
    fn enter(&self, op: &str) -> Result<MutexGuard<'_, State>> {
        let mut s = self.lock();
        s.calls.push(op.to_string());
        if let Some(status) = s.failures.get_mut(op).and_then(|q| q.pop_front()) {
            return Err(Error::Status { op: "fake", status });
        }
        Ok(s)
    }

    /// Makes an image present, as `ctr images import` would.
    pub fn add_image(&self, name: &str) {
        let id = format!(
            "sha256:{:064x}",
            name.len() as u64 * 7919 + name.bytes().map(u64::from).sum::<u64>()
        );
        self.lock().images.insert(
            name.to_string(),
            v1::Image {
                id,
                repo_tags: vec![name.to_string()],
                size: 1 << 20,
                ..Default::default()
            },
        );
    }

    /// Makes the next call of `op` (an RPC name, e.g. `"StartContainer"`)
    /// fail with `status`.
    pub fn fail_next(&self, op: &str, status: tonic::Status) {
        self.lock()
            .failures
            .entry(op.to_string())
            .or_default()
            .push_back(status);
    }

    /// Sets whether `Status` reports `NetworkReady`.
    pub fn set_network_ready(&self, ready: bool) {
        self.lock().network_ready = ready;
    }

    /// Containers for which `hook` returns `Some(code)` exit with that code
    /// as soon as they start (init containers, jobs, crashing programs).
    pub fn exit_on_start(
        &self,
        hook: impl Fn(&v1::ContainerConfig) -> Option<i32> + Send + Sync + 'static,
    ) {
        self.lock().exit_on_start = Some(Arc::new(hook));
    }

    /// Answers `ExecSync` with `hook` (default: exit code 0, no output).
    pub fn on_exec(
        &self,
        hook: impl Fn(&v1::ContainerConfig, &[String]) -> v1::ExecSyncResponse + Send + Sync + 'static,
    ) {
        self.lock().exec = Some(Arc::new(hook));
    }

    /// Makes a running container exit with `code` (as a crash would).
    pub fn exit_container(&self, id: &str, code: i32) {
        let mut s = self.lock();
        if let Some(c) = s.containers.get_mut(id) {
            exit(c, code);
        }
    }

    /// The RPCs called so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// Forgets the recorded calls.
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// IDs of the containers named `name` (the CRI metadata name), oldest first.
    pub fn containers_named(&self, name: &str) -> Vec<String> {
        let s = self.lock();
        let mut v: Vec<_> = s
            .containers
            .iter()
            .filter(|(_, c)| c.config.metadata.as_ref().is_some_and(|m| m.name == name))
            .map(|(id, c)| (c.created_at, id.clone()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, id)| id).collect()
    }

    /// The config a container was created with.
    pub fn container_config(&self, id: &str) -> Option<v1::ContainerConfig> {
        self.lock().containers.get(id).map(|c| c.config.clone())
    }

    /// The config a sandbox was created with.
    pub fn sandbox_config(&self, id: &str) -> Option<v1::PodSandboxConfig> {
        self.lock().sandboxes.get(id).map(|s| s.config.clone())
    }
}

fn exit(c: &mut Ctr, code: i32) {
    if c.state == v1::ContainerState::ContainerRunning
        || c.state == v1::ContainerState::ContainerCreated
    {
        c.state = v1::ContainerState::ContainerExited;
        c.finished_at = now_nanos();
        c.exit_code = code;
        c.reason = if code == 0 { "Completed" } else { "Error" }.into();
    }
}

impl State {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:060x}", self.next_id)
    }
}

#[async_trait]
impl RuntimeService for FakeRuntime {
    async fn version(&self) -> Result<v1::VersionResponse> {
        let _s = self.enter("Version")?;
        Ok(v1::VersionResponse {
            version: "0.1.0".into(),
            runtime_name: "fake".into(),
            runtime_version: "1.0.0".into(),
            runtime_api_version: "v1".into(),
        })
    }

    async fn status(&self) -> Result<v1::RuntimeStatus> {
        let s = self.enter("Status")?;
        let cond = |t: &str, ok: bool| v1::RuntimeCondition {
            r#type: t.into(),
            status: ok,
            reason: if ok {
                String::new()
            } else {
                "NetworkPluginNotReady".into()
            },
            message: if ok {
                String::new()
            } else {
                "cni config uninitialized".into()
            },
        };
        Ok(v1::RuntimeStatus {
            conditions: vec![
                cond("RuntimeReady", true),
                cond("NetworkReady", s.network_ready),
            ],
        })
    }

    async fn update_runtime_config(&self, pod_cidr: &str) -> Result<()> {
        let mut s = self.enter("UpdateRuntimeConfig")?;
        // IPv4 only: `10.244.1.0/24` → network and size.
        if let Some((net, len)) = pod_cidr.split_once('/')
            && let (Ok(net), Ok(len)) = (net.parse::<std::net::Ipv4Addr>(), len.parse::<u32>())
            && (1..=30).contains(&len)
        {
            s.pod_cidr = Some((u32::from(net), 1u32 << (32 - len)));
        }
        Ok(())
    }

    async fn run_pod_sandbox(
        &self,
        config: v1::PodSandboxConfig,
        _handler: &str,
    ) -> Result<String> {
        let mut s = self.enter("RunPodSandbox")?;
        let id = s.id("5b");
        let n = s.sandboxes.len() as u32 + 2;
        let host_network = config
            .linux
            .as_ref()
            .and_then(|l| l.security_context.as_ref())
            .and_then(|sc| sc.namespace_options.as_ref())
            .is_some_and(|ns| ns.network == v1::NamespaceMode::Node as i32);
        let ip = if host_network {
            String::new()
        } else if let Some((net, size)) = s.pod_cidr {
            // .1 is the gateway; wrap within the range.
            std::net::Ipv4Addr::from(net + 2 + (n - 2) % (size - 3)).to_string()
        } else {
            format!("10.88.{}.{}", n / 250, n % 250 + 2)
        };
        s.sandboxes.insert(
            id.clone(),
            Sandbox {
                config,
                state: v1::PodSandboxState::SandboxReady,
                created_at: now_nanos(),
                ip,
            },
        );
        Ok(id)
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<()> {
        let mut s = self.enter("StopPodSandbox")?;
        let Some(sb) = s.sandboxes.get_mut(id) else {
            return Ok(());
        };
        sb.state = v1::PodSandboxState::SandboxNotready;
        for c in s.containers.values_mut().filter(|c| c.sandbox_id == id) {
            exit(c, 137);
        }
        Ok(())
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<()> {
        let mut s = self.enter("RemovePodSandbox")?;
        s.sandboxes.remove(id);
        s.containers.retain(|_, c| c.sandbox_id != id);
        Ok(())
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<v1::PodSandboxStatus> {
        let s = self.enter("PodSandboxStatus")?;
        let sb = s
            .sandboxes
            .get(id)
            .ok_or_else(|| Error::status("PodSandboxStatus", not_found("sandbox", id)))?;
        Ok(v1::PodSandboxStatus {
            id: id.into(),
            metadata: sb.config.metadata.clone(),
            state: sb.state as i32,
            created_at: sb.created_at,
            network: Some(v1::PodSandboxNetworkStatus {
                ip: sb.ip.clone(),
                additional_ips: vec![],
            }),
            labels: sb.config.labels.clone(),
            annotations: sb.config.annotations.clone(),
            ..Default::default()
        })
    }

    async fn list_pod_sandbox(
        &self,
        filter: Option<v1::PodSandboxFilter>,
    ) -> Result<Vec<v1::PodSandbox>> {
        let s = self.enter("ListPodSandbox")?;
        let f = filter.unwrap_or_default();
        Ok(s.sandboxes
            .iter()
            .filter(|(id, sb)| {
                (f.id.is_empty() || **id == f.id)
                    && f.state
                        .as_ref()
                        .is_none_or(|st| st.state == sb.state as i32)
                    && labels_match(&f.label_selector, &sb.config.labels)
            })
            .map(|(id, sb)| v1::PodSandbox {
                id: id.clone(),
                metadata: sb.config.metadata.clone(),
                state: sb.state as i32,
                created_at: sb.created_at,
                labels: sb.config.labels.clone(),
                annotations: sb.config.annotations.clone(),
                runtime_handler: String::new(),
            })
            .collect())
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: v1::ContainerConfig,
        _sandbox_config: v1::PodSandboxConfig,
    ) -> Result<String> {
        let mut s = self.enter("CreateContainer")?;
        if !s.sandboxes.contains_key(sandbox_id) {
            return Err(Error::status(
                "CreateContainer",
                not_found("sandbox", sandbox_id),
            ));
        }
        let image = config
            .image
            .as_ref()
            .map(|i| i.image.clone())
            .unwrap_or_default();
        let Some(image_ref) = find_image(&s.images, &image).map(|i| i.id.clone()) else {
            return Err(Error::status(
                "CreateContainer",
                tonic::Status::not_found(format!("image \"{image}\" not found")),
            ));
        };
        let id = s.id("c0");
        s.containers.insert(
            id.clone(),
            Ctr {
                sandbox_id: sandbox_id.into(),
                config,
                state: v1::ContainerState::ContainerCreated,
                created_at: now_nanos(),
                started_at: 0,
                finished_at: 0,
                exit_code: 0,
                reason: String::new(),
                image_ref,
            },
        );
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        let mut s = self.enter("StartContainer")?;
        let hook = s.exit_on_start.clone();
        let c = s
            .containers
            .get_mut(id)
            .ok_or_else(|| Error::status("StartContainer", not_found("container", id)))?;
        if c.state != v1::ContainerState::ContainerCreated {
            return Err(Error::status(
                "StartContainer",
                tonic::Status::failed_precondition("container is not in created state"),
            ));
        }
        c.state = v1::ContainerState::ContainerRunning;
        c.started_at = now_nanos();
        if let Some(code) = hook.and_then(|h| h(&c.config)) {
            exit(c, code);
        }
        Ok(())
    }

    async fn stop_container(&self, id: &str, _timeout: Duration) -> Result<()> {
        let mut s = self.enter("StopContainer")?;
        if let Some(c) = s.containers.get_mut(id) {
            // SIGTERM: a fake process exits at once, as if it handled it.
            exit(c, 137);
        }
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        let mut s = self.enter("RemoveContainer")?;
        s.containers.remove(id);
        Ok(())
    }

    async fn list_containers(
        &self,
        filter: Option<v1::ContainerFilter>,
    ) -> Result<Vec<v1::Container>> {
        let s = self.enter("ListContainers")?;
        let f = filter.unwrap_or_default();
        Ok(s.containers
            .iter()
            .filter(|(id, c)| {
                (f.id.is_empty() || **id == f.id)
                    && (f.pod_sandbox_id.is_empty() || c.sandbox_id == f.pod_sandbox_id)
                    && f.state.as_ref().is_none_or(|st| st.state == c.state as i32)
                    && labels_match(&f.label_selector, &c.config.labels)
            })
            .map(|(id, c)| v1::Container {
                id: id.clone(),
                pod_sandbox_id: c.sandbox_id.clone(),
                metadata: c.config.metadata.clone(),
                image: c.config.image.clone(),
                image_ref: c.image_ref.clone(),
                state: c.state as i32,
                created_at: c.created_at,
                labels: c.config.labels.clone(),
                annotations: c.config.annotations.clone(),
                ..Default::default()
            })
            .collect())
    }

    async fn container_status(&self, id: &str) -> Result<v1::ContainerStatus> {
        let s = self.enter("ContainerStatus")?;
        let c = s
            .containers
            .get(id)
            .ok_or_else(|| Error::status("ContainerStatus", not_found("container", id)))?;
        Ok(v1::ContainerStatus {
            id: id.into(),
            metadata: c.config.metadata.clone(),
            state: c.state as i32,
            created_at: c.created_at,
            started_at: c.started_at,
            finished_at: c.finished_at,
            exit_code: c.exit_code,
            image: c.config.image.clone(),
            image_ref: c.image_ref.clone(),
            reason: c.reason.clone(),
            labels: c.config.labels.clone(),
            annotations: c.config.annotations.clone(),
            log_path: c.config.log_path.clone(),
            ..Default::default()
        })
    }

    async fn exec_sync(
        &self,
        id: &str,
        cmd: Vec<String>,
        _timeout: Duration,
    ) -> Result<v1::ExecSyncResponse> {
        let s = self.enter("ExecSync")?;
        let c = s
            .containers
            .get(id)
            .ok_or_else(|| Error::status("ExecSync", not_found("container", id)))?;
        if c.state != v1::ContainerState::ContainerRunning {
            return Err(Error::status(
                "ExecSync",
                tonic::Status::unknown("container is not running"),
            ));
        }
        Ok(match &s.exec {
            Some(hook) => hook(&c.config, &cmd),
            None => v1::ExecSyncResponse::default(),
        })
    }

    async fn exec(&self, r: v1::ExecRequest) -> Result<String> {
        let s = self.enter("Exec")?;
        no_streams_when_hollow(&s, "Exec")?;
        Ok(format!("http://127.0.0.1:1/exec/{}", r.container_id))
    }

    async fn attach(&self, r: v1::AttachRequest) -> Result<String> {
        let s = self.enter("Attach")?;
        no_streams_when_hollow(&s, "Attach")?;
        Ok(format!("http://127.0.0.1:1/attach/{}", r.container_id))
    }

    async fn port_forward(&self, r: v1::PortForwardRequest) -> Result<String> {
        let s = self.enter("PortForward")?;
        no_streams_when_hollow(&s, "PortForward")?;
        Ok(format!(
            "http://127.0.0.1:1/portforward/{}",
            r.pod_sandbox_id
        ))
    }

    async fn reopen_container_log(&self, _id: &str) -> Result<()> {
        let _s = self.enter("ReopenContainerLog")?;
        Ok(())
    }
}

#[async_trait]
impl ImageService for FakeRuntime {
    async fn list_images(&self) -> Result<Vec<v1::Image>> {
        let s = self.enter("ListImages")?;
        Ok(s.images.values().cloned().collect())
    }

    async fn image_status(&self, image: &str) -> Result<Option<v1::Image>> {
        let s = self.enter("ImageStatus")?;
        Ok(find_image(&s.images, image).cloned())
    }

    async fn pull_image(
        &self,
        image: &str,
        _auth: Option<v1::AuthConfig>,
        _sandbox_config: Option<v1::PodSandboxConfig>,
    ) -> Result<String> {
        let mut s = self.enter("PullImage")?;
        if s.pull_anything && !s.images.contains_key(image) {
            drop(s);
            self.add_image(image);
            s = self.lock();
        }
        // No registry behind the fake: only images added by the test "pull".
        match s.images.get(image) {
            Some(i) => Ok(i.id.clone()),
            None => Err(Error::status(
                "PullImage",
                tonic::Status::not_found(format!(
                    "failed to resolve reference \"{image}\": not found"
                )),
            )),
        }
    }

    async fn remove_image(&self, image: &str) -> Result<()> {
        let mut s = self.enter("RemoveImage")?;
        s.images.remove(image);
        Ok(())
    }

    async fn image_fs_info(&self) -> Result<v1::ImageFsInfoResponse> {
        let _s = self.enter("ImageFsInfo")?;
        Ok(v1::ImageFsInfoResponse::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hollow_runtime_pulls_anything_and_uses_the_pod_cidr() -> Result<()> {
        let plain = FakeRuntime::new();
        assert!(plain.pull_image("nginx:1.27", None, None).await.is_err());
        let rt = FakeRuntime::hollow();
        let id = rt.pull_image("nginx:1.27", None, None).await?;
        assert!(id.starts_with("sha256:"));
        assert!(rt.image_status("nginx:1.27").await?.is_some());
        rt.update_runtime_config("10.244.7.0/24").await?;
        let sb = rt
            .run_pod_sandbox(v1::PodSandboxConfig::default(), "")
            .await?;
        let ip = rt.pod_sandbox_status(&sb).await?.network.map(|n| n.ip);
        assert_eq!(ip.as_deref(), Some("10.244.7.2"));
        let exec = rt
            .exec(v1::ExecRequest {
                container_id: "x".into(),
                ..Default::default()
            })
            .await;
        assert!(exec.is_err_and(|e| e.to_string().contains("hollow node")));
        Ok(())
    }

    #[tokio::test]
    async fn sandbox_and_container_lifecycle() -> Result<()> {
        let rt = FakeRuntime::new();
        rt.add_image("busybox");
        let mut labels = HashMap::new();
        labels.insert("io.kubernetes.pod.uid".to_string(), "u1".to_string());
        let sb = rt
            .run_pod_sandbox(
                v1::PodSandboxConfig {
                    labels: labels.clone(),
                    ..Default::default()
                },
                "",
            )
            .await?;
        let status = rt.pod_sandbox_status(&sb).await?;
        assert_eq!(status.state, v1::PodSandboxState::SandboxReady as i32);
        assert!(!status.network.map(|n| n.ip).unwrap_or_default().is_empty());

        let cfg = v1::ContainerConfig {
            metadata: Some(v1::ContainerMetadata {
                name: "app".into(),
                attempt: 0,
            }),
            image: Some(v1::ImageSpec {
                image: "busybox".into(),
                ..Default::default()
            }),
            labels,
            ..Default::default()
        };
        let id = rt
            .create_container(&sb, cfg.clone(), Default::default())
            .await?;
        rt.start_container(&id).await?;
        assert_eq!(
            rt.container_status(&id).await?.state,
            v1::ContainerState::ContainerRunning as i32
        );
        rt.exit_container(&id, 3);
        let st = rt.container_status(&id).await?;
        assert_eq!(
            (st.state, st.exit_code, st.reason.as_str()),
            (v1::ContainerState::ContainerExited as i32, 3, "Error")
        );

        // Label filters select by pod.
        let mut sel = HashMap::new();
        sel.insert("io.kubernetes.pod.uid".to_string(), "other".to_string());
        let none = rt
            .list_containers(Some(v1::ContainerFilter {
                label_selector: sel,
                ..Default::default()
            }))
            .await?;
        assert!(none.is_empty());

        // Unknown images cannot be created; unknown IDs are NotFound.
        let bad = v1::ContainerConfig {
            image: Some(v1::ImageSpec {
                image: "nope".into(),
                ..Default::default()
            }),
            ..cfg
        };
        assert!(
            rt.create_container(&sb, bad, Default::default())
                .await
                .is_err()
        );
        assert!(
            rt.container_status("missing")
                .await
                .err()
                .is_some_and(|e| e.is_not_found())
        );

        rt.stop_pod_sandbox(&sb).await?;
        rt.remove_pod_sandbox(&sb).await?;
        assert!(rt.list_containers(None).await?.is_empty());
        // Stop and remove are idempotent.
        rt.stop_pod_sandbox(&sb).await?;
        rt.remove_pod_sandbox(&sb).await?;
        Ok(())
    }

    #[tokio::test]
    async fn injected_failures_and_hooks() -> Result<()> {
        let rt = FakeRuntime::new();
        rt.add_image("busybox");
        rt.fail_next("RunPodSandbox", tonic::Status::unavailable("down"));
        assert!(rt.run_pod_sandbox(Default::default(), "").await.is_err());
        let sb = rt.run_pod_sandbox(Default::default(), "").await?;
        rt.exit_on_start(|c| (c.command.first().map(String::as_str) == Some("false")).then_some(1));
        let cfg = v1::ContainerConfig {
            image: Some(v1::ImageSpec {
                image: "busybox".into(),
                ..Default::default()
            }),
            command: vec!["false".into()],
            ..Default::default()
        };
        let id = rt.create_container(&sb, cfg, Default::default()).await?;
        rt.start_container(&id).await?;
        assert_eq!(rt.container_status(&id).await?.exit_code, 1);
        assert_eq!(
            rt.calls()[..2],
            ["RunPodSandbox".to_string(), "RunPodSandbox".to_string()]
        );
        Ok(())
    }
}
