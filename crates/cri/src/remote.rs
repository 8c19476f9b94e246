//! [`RemoteRuntime`]: a CRI client over gRPC on a unix socket, for
//! containerd's CRI plugin, CRI-O, or any CRI v1 runtime.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::service::{ImageService, RuntimeService};
use crate::v1;
use crate::v1::image_service_client::ImageServiceClient;
use crate::v1::runtime_service_client::RuntimeServiceClient;
use crate::{Error, Result};

/// How long one runtime call may take (upstream's `--runtime-request-timeout`
/// default); image pulls and exec get their own, longer limits.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A CRI runtime reached over a unix socket.
///
/// Cheap to clone: clones share one HTTP/2 connection, which is dialled on
/// first use and redialled after the runtime restarts, so a kubelet can
/// start before its runtime.
#[derive(Clone)]
pub struct RemoteRuntime {
    endpoint: String,
    runtime: RuntimeServiceClient<Channel>,
    images: ImageServiceClient<Channel>,
}

impl std::fmt::Debug for RemoteRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteRuntime")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// The socket path of an endpoint as the kubelet's
/// `--container-runtime-endpoint` accepts it: `unix:///path` or a bare
/// absolute path.
pub fn socket_path(endpoint: &str) -> Result<PathBuf> {
    let path = match endpoint.strip_prefix("unix://") {
        Some(p) => p,
        None if endpoint.contains("://") => {
            return Err(Error::InvalidEndpoint {
                endpoint: endpoint.to_string(),
                reason: "only unix:// endpoints are supported".into(),
            });
        }
        None => endpoint,
    };
    if !path.starts_with('/') {
        return Err(Error::InvalidEndpoint {
            endpoint: endpoint.to_string(),
            reason: "the socket path must be absolute (unix:///run/containerd/containerd.sock)"
                .into(),
        });
    }
    Ok(PathBuf::from(path))
}

impl RemoteRuntime {
    /// A client for the runtime at `endpoint`. Does not dial yet: the first
    /// call does (and fails with [`Error::Status`] `Unavailable` while the
    /// runtime is down).
    pub fn new(endpoint: &str, request_timeout: Duration) -> Result<Self> {
        let path = socket_path(endpoint)?;
        // The URI is a placeholder: tonic wants one, the connector ignores it.
        let channel =
            Endpoint::from_static("http://cri.invalid")
                .timeout(request_timeout)
                .connect_timeout(Duration::from_secs(5))
                .connect_with_connector_lazy(tower::service_fn(move |_: Uri| {
                    let path = path.clone();
                    async move {
                        Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?))
                    }
                }));
        Ok(RemoteRuntime {
            endpoint: endpoint.to_string(),
            runtime: RuntimeServiceClient::new(channel.clone())
                .max_decoding_message_size(16 * 1024 * 1024),
            images: ImageServiceClient::new(channel),
        })
    }

    /// The endpoint this client dials.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

fn req<T>(msg: T) -> tonic::Request<T> {
    tonic::Request::new(msg)
}

fn req_timeout<T>(msg: T, timeout: Duration) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.set_timeout(timeout);
    r
}

#[async_trait]
impl RuntimeService for RemoteRuntime {
    async fn version(&self) -> Result<v1::VersionResponse> {
        let mut c = self.runtime.clone();
        let r = c
            .version(req(v1::VersionRequest {
                version: "v1".into(),
            }))
            .await
            .map_err(|s| Error::status("Version", s))?;
        Ok(r.into_inner())
    }

    async fn status(&self) -> Result<v1::RuntimeStatus> {
        let mut c = self.runtime.clone();
        let r = c
            .status(req(v1::StatusRequest { verbose: false }))
            .await
            .map_err(|s| Error::status("Status", s))?;
        r.into_inner().status.ok_or(Error::Missing {
            op: "Status",
            field: "status",
        })
    }

    async fn update_runtime_config(&self, pod_cidr: &str) -> Result<()> {
        let mut c = self.runtime.clone();
        c.update_runtime_config(req(v1::UpdateRuntimeConfigRequest {
            runtime_config: Some(v1::RuntimeConfig {
                network_config: Some(v1::NetworkConfig {
                    pod_cidr: pod_cidr.into(),
                }),
            }),
        }))
        .await
        .map_err(|s| Error::status("UpdateRuntimeConfig", s))?;
        Ok(())
    }

    async fn run_pod_sandbox(
        &self,
        config: v1::PodSandboxConfig,
        runtime_handler: &str,
    ) -> Result<String> {
        let mut c = self.runtime.clone();
        let r = c
            .run_pod_sandbox(req(v1::RunPodSandboxRequest {
                config: Some(config),
                runtime_handler: runtime_handler.into(),
            }))
            .await
            .map_err(|s| Error::status("RunPodSandbox", s))?;
        Ok(r.into_inner().pod_sandbox_id)
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<()> {
        let mut c = self.runtime.clone();
        c.stop_pod_sandbox(req(v1::StopPodSandboxRequest {
            pod_sandbox_id: id.into(),
        }))
        .await
        .map_err(|s| Error::status("StopPodSandbox", s))?;
        Ok(())
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<()> {
        let mut c = self.runtime.clone();
        c.remove_pod_sandbox(req(v1::RemovePodSandboxRequest {
            pod_sandbox_id: id.into(),
        }))
        .await
        .map_err(|s| Error::status("RemovePodSandbox", s))?;
        Ok(())
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<v1::PodSandboxStatus> {
        let mut c = self.runtime.clone();
        let r = c
            .pod_sandbox_status(req(v1::PodSandboxStatusRequest {
                pod_sandbox_id: id.into(),
                verbose: false,
            }))
            .await
            .map_err(|s| Error::status("PodSandboxStatus", s))?;
        r.into_inner().status.ok_or(Error::Missing {
            op: "PodSandboxStatus",
            field: "status",
        })
    }

    async fn list_pod_sandbox(
        &self,
        filter: Option<v1::PodSandboxFilter>,
    ) -> Result<Vec<v1::PodSandbox>> {
        let mut c = self.runtime.clone();
        let r = c
            .list_pod_sandbox(req(v1::ListPodSandboxRequest { filter }))
            .await
            .map_err(|s| Error::status("ListPodSandbox", s))?;
        Ok(r.into_inner().items)
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: v1::ContainerConfig,
        sandbox_config: v1::PodSandboxConfig,
    ) -> Result<String> {
        let mut c = self.runtime.clone();
        let r = c
            .create_container(req(v1::CreateContainerRequest {
                pod_sandbox_id: sandbox_id.into(),
                config: Some(config),
                sandbox_config: Some(sandbox_config),
            }))
            .await
            .map_err(|s| Error::status("CreateContainer", s))?;
        Ok(r.into_inner().container_id)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        let mut c = self.runtime.clone();
        c.start_container(req(v1::StartContainerRequest {
            container_id: id.into(),
        }))
        .await
        .map_err(|s| Error::status("StartContainer", s))?;
        Ok(())
    }

    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<()> {
        let mut c = self.runtime.clone();
        let secs = timeout.as_secs() as i64;
        // The runtime waits `timeout` before SIGKILL; give the call room.
        c.stop_container(req_timeout(
            v1::StopContainerRequest {
                container_id: id.into(),
                timeout: secs,
            },
            DEFAULT_REQUEST_TIMEOUT + timeout,
        ))
        .await
        .map_err(|s| Error::status("StopContainer", s))?;
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        let mut c = self.runtime.clone();
        c.remove_container(req(v1::RemoveContainerRequest {
            container_id: id.into(),
        }))
        .await
        .map_err(|s| Error::status("RemoveContainer", s))?;
        Ok(())
    }

    async fn list_containers(
        &self,
        filter: Option<v1::ContainerFilter>,
    ) -> Result<Vec<v1::Container>> {
        let mut c = self.runtime.clone();
        let r = c
            .list_containers(req(v1::ListContainersRequest { filter }))
            .await
            .map_err(|s| Error::status("ListContainers", s))?;
        Ok(r.into_inner().containers)
    }

    async fn container_status(&self, id: &str) -> Result<v1::ContainerStatus> {
        let mut c = self.runtime.clone();
        let r = c
            .container_status(req(v1::ContainerStatusRequest {
                container_id: id.into(),
                verbose: false,
            }))
            .await
            .map_err(|s| Error::status("ContainerStatus", s))?;
        r.into_inner().status.ok_or(Error::Missing {
            op: "ContainerStatus",
            field: "status",
        })
    }

    async fn exec_sync(
        &self,
        id: &str,
        cmd: Vec<String>,
        timeout: Duration,
    ) -> Result<v1::ExecSyncResponse> {
        let mut c = self.runtime.clone();
        let r = c
            .exec_sync(req_timeout(
                v1::ExecSyncRequest {
                    container_id: id.into(),
                    cmd,
                    timeout: timeout.as_secs() as i64,
                },
                timeout + Duration::from_secs(5),
            ))
            .await
            .map_err(|s| Error::status("ExecSync", s))?;
        Ok(r.into_inner())
    }

    async fn exec(&self, r: v1::ExecRequest) -> Result<String> {
        let mut c = self.runtime.clone();
        let r = c.exec(req(r)).await.map_err(|s| Error::status("Exec", s))?;
        Ok(r.into_inner().url)
    }

    async fn attach(&self, r: v1::AttachRequest) -> Result<String> {
        let mut c = self.runtime.clone();
        let r = c
            .attach(req(r))
            .await
            .map_err(|s| Error::status("Attach", s))?;
        Ok(r.into_inner().url)
    }

    async fn port_forward(&self, r: v1::PortForwardRequest) -> Result<String> {
        let mut c = self.runtime.clone();
        let r = c
            .port_forward(req(r))
            .await
            .map_err(|s| Error::status("PortForward", s))?;
        Ok(r.into_inner().url)
    }

    async fn reopen_container_log(&self, id: &str) -> Result<()> {
        let mut c = self.runtime.clone();
        c.reopen_container_log(req(v1::ReopenContainerLogRequest {
            container_id: id.into(),
        }))
        .await
        .map_err(|s| Error::status("ReopenContainerLog", s))?;
        Ok(())
    }
}

#[async_trait]
impl ImageService for RemoteRuntime {
    async fn list_images(&self) -> Result<Vec<v1::Image>> {
        let mut c = self.images.clone();
        let r = c
            .list_images(req(v1::ListImagesRequest { filter: None }))
            .await
            .map_err(|s| Error::status("ListImages", s))?;
        Ok(r.into_inner().images)
    }

    async fn image_status(&self, image: &str) -> Result<Option<v1::Image>> {
        let mut c = self.images.clone();
        let r = c
            .image_status(req(v1::ImageStatusRequest {
                image: Some(v1::ImageSpec {
                    image: image.into(),
                    ..Default::default()
                }),
                verbose: false,
            }))
            .await
            .map_err(|s| Error::status("ImageStatus", s))?;
        Ok(r.into_inner().image)
    }

    async fn pull_image(
        &self,
        image: &str,
        auth: Option<v1::AuthConfig>,
        sandbox_config: Option<v1::PodSandboxConfig>,
    ) -> Result<String> {
        let mut c = self.images.clone();
        // Pulls of large images take minutes; upstream has no deadline at all.
        let r = c
            .pull_image(req_timeout(
                v1::PullImageRequest {
                    image: Some(v1::ImageSpec {
                        image: image.into(),
                        ..Default::default()
                    }),
                    auth,
                    sandbox_config,
                },
                Duration::from_secs(30 * 60),
            ))
            .await
            .map_err(|s| Error::status("PullImage", s))?;
        Ok(r.into_inner().image_ref)
    }

    async fn remove_image(&self, image: &str) -> Result<()> {
        let mut c = self.images.clone();
        c.remove_image(req(v1::RemoveImageRequest {
            image: Some(v1::ImageSpec {
                image: image.into(),
                ..Default::default()
            }),
        }))
        .await
        .map_err(|s| Error::status("RemoveImage", s))?;
        Ok(())
    }

    async fn image_fs_info(&self) -> Result<v1::ImageFsInfoResponse> {
        let mut c = self.images.clone();
        let r = c
            .image_fs_info(req(v1::ImageFsInfoRequest {}))
            .await
            .map_err(|s| Error::status("ImageFsInfo", s))?;
        Ok(r.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            socket_path("unix:///run/containerd/containerd.sock").ok(),
            Some(PathBuf::from("/run/containerd/containerd.sock"))
        );
        assert_eq!(
            socket_path("/run/x.sock").ok(),
            Some(PathBuf::from("/run/x.sock"))
        );
        assert!(socket_path("tcp://1.2.3.4:5").is_err());
        assert!(socket_path("unix://relative.sock").is_err());
    }
}
