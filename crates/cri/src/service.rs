//! The two CRI services as traits: what the kubelet needs from a runtime.
//!
//! The methods follow upstream's `internalapi.RuntimeService` and
//! `internalapi.ImageManagerService`: one method per RPC, taking and
//! returning the CRI message types, with the request envelopes unpacked.
//! Both [`crate::RemoteRuntime`] and [`crate::FakeRuntime`] implement them.

use std::time::Duration;

use async_trait::async_trait;

use crate::Result;
use crate::v1;

/// Sandboxes and containers (`runtime.v1.RuntimeService`).
#[async_trait]
pub trait RuntimeService: Send + Sync + 'static {
    /// The runtime's name and versions (`containerd`, `v1.6.20`, API `v1`).
    async fn version(&self) -> Result<v1::VersionResponse>;
    /// Whether the runtime and its network are ready
    /// (conditions `RuntimeReady`, `NetworkReady`).
    async fn status(&self) -> Result<v1::RuntimeStatus>;
    /// Tells the runtime the node's pod CIDR.
    async fn update_runtime_config(&self, pod_cidr: &str) -> Result<()>;

    /// Creates and starts a pod sandbox (the pause container and the pod's
    /// network namespace); returns its ID.
    async fn run_pod_sandbox(
        &self,
        config: v1::PodSandboxConfig,
        runtime_handler: &str,
    ) -> Result<String>;
    /// Stops a sandbox and tears down its network; idempotent.
    async fn stop_pod_sandbox(&self, id: &str) -> Result<()>;
    /// Removes a stopped sandbox and its containers; idempotent.
    async fn remove_pod_sandbox(&self, id: &str) -> Result<()>;
    /// One sandbox's state and network status.
    async fn pod_sandbox_status(&self, id: &str) -> Result<v1::PodSandboxStatus>;
    /// Sandboxes matching the filter (all when `None`).
    async fn list_pod_sandbox(
        &self,
        filter: Option<v1::PodSandboxFilter>,
    ) -> Result<Vec<v1::PodSandbox>>;

    /// Creates a container in a sandbox; returns its ID.
    async fn create_container(
        &self,
        sandbox_id: &str,
        config: v1::ContainerConfig,
        sandbox_config: v1::PodSandboxConfig,
    ) -> Result<String>;
    /// Starts a created container.
    async fn start_container(&self, id: &str) -> Result<()>;
    /// Stops a container: SIGTERM (or the image's stop signal), then SIGKILL
    /// after `timeout`.
    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<()>;
    /// Removes a container; idempotent.
    async fn remove_container(&self, id: &str) -> Result<()>;
    /// Containers matching the filter (all when `None`).
    async fn list_containers(
        &self,
        filter: Option<v1::ContainerFilter>,
    ) -> Result<Vec<v1::Container>>;
    /// One container's full status (exit code, reason, times, log path).
    async fn container_status(&self, id: &str) -> Result<v1::ContainerStatus>;

    /// Runs a command in a container and waits for it (probes, hooks).
    async fn exec_sync(
        &self,
        id: &str,
        cmd: Vec<String>,
        timeout: Duration,
    ) -> Result<v1::ExecSyncResponse>;
    /// A URL on the runtime's streaming server for an interactive exec.
    async fn exec(&self, req: v1::ExecRequest) -> Result<String>;
    /// A URL on the runtime's streaming server to attach to a container.
    async fn attach(&self, req: v1::AttachRequest) -> Result<String>;
    /// A URL on the runtime's streaming server to forward ports of a sandbox.
    async fn port_forward(&self, req: v1::PortForwardRequest) -> Result<String>;
    /// Asks the runtime to reopen a container's log file (after rotation).
    async fn reopen_container_log(&self, id: &str) -> Result<()>;
}

/// Images (`runtime.v1.ImageService`).
#[async_trait]
pub trait ImageService: Send + Sync + 'static {
    /// All images the runtime holds.
    async fn list_images(&self) -> Result<Vec<v1::Image>>;
    /// One image, or `None` when the runtime does not have it.
    async fn image_status(&self, image: &str) -> Result<Option<v1::Image>>;
    /// Pulls an image; returns its reference (an ID or digest).
    async fn pull_image(
        &self,
        image: &str,
        auth: Option<v1::AuthConfig>,
        sandbox_config: Option<v1::PodSandboxConfig>,
    ) -> Result<String>;
    /// Removes an image; idempotent.
    async fn remove_image(&self, image: &str) -> Result<()>;
    /// Usage of the filesystems images live on.
    async fn image_fs_info(&self) -> Result<v1::ImageFsInfoResponse>;
}
