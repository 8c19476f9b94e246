//! The kubelet's HTTP server (port 10250, `--port`): what the apiserver
//! reaches when a user runs `kubectl logs`, `kubectl exec`,
//! `kubectl attach` or `kubectl port-forward` (upstream:
//! `pkg/kubelet/server`).
//!
//! | path | what |
//! |------|------|
//! | `/healthz` | `ok` |
//! | `/pods` | the pods this kubelet runs, a `PodList` |
//! | `/metrics` | Prometheus metrics ([`crate::metrics`]) |
//! | `/containerLogs/{ns}/{pod}/{container}` | a container's log ([`logs`]) |
//! | `/exec/{ns}/{pod}[/{uid}]/{container}` | `Exec` through CRI, then the runtime's stream |
//! | `/attach/{ns}/{pod}[/{uid}]/{container}` | `Attach`, likewise |
//! | `/portForward/{ns}/{pod}[/{uid}]` | `PortForward`, likewise |
//!
//! For exec, attach and port-forward the kubelet asks the runtime (CRI
//! `Exec`/`Attach`/`PortForward`) for a one-time URL on its streaming
//! server, then forwards the client's upgrade request there with
//! [`streamproxy::forward`]: the client (kubectl, through the apiserver)
//! and containerd then speak SPDY or websocket directly.
//!
//! Errors are Kubernetes `Status` objects, which the apiserver passes on
//! and kubectl prints (`Error from server (BadRequest): container "c" in
//! pod "web" is waiting to start: ContainerCreating`).

pub mod logs;

use std::net::SocketAddr;
use std::sync::Arc;

use api_types::core::v1::Pod;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use cri::{RuntimeService, v1};
use http::{StatusCode, Uri, header};
use serde_json::json;
use tracing::{debug, info, warn};

use crate::metrics::Metrics;
use crate::pod::runtime_state::{ContainerInfo, PodRuntime, State as CState, pod_runtime};
use crate::pod::sandbox::{NodeContext, log_dir};
use crate::pod::sync::find_container;
use crate::pod::worker::PodWorkers;

/// What the handlers reach.
#[derive(Clone)]
pub struct ServerState {
    pub workers: PodWorkers,
    pub runtime: Arc<dyn RuntimeService>,
    pub node: Arc<NodeContext>,
    pub metrics: Arc<Metrics>,
}

/// An error answer: a `Status` with `code` and `reason`.
#[derive(Debug)]
pub struct HttpError {
    code: StatusCode,
    message: String,
}

impl HttpError {
    fn bad_request(message: impl Into<String>) -> Self {
        HttpError {
            code: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
    fn not_found(message: impl Into<String>) -> Self {
        HttpError {
            code: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }
    fn internal(message: impl Into<String>) -> Self {
        HttpError {
            code: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let reason = match self.code {
            StatusCode::BAD_REQUEST => "BadRequest",
            StatusCode::NOT_FOUND => "NotFound",
            _ => "InternalError",
        };
        let body = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": reason,
            "code": self.code.as_u16(),
        });
        (
            self.code,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

type Result<T, E = HttpError> = std::result::Result<T, E>;

/// All routes.
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/pods", get(pods))
        .route("/metrics", get(metrics))
        .route("/containerLogs/{ns}/{pod}/{container}", get(container_logs))
        .route("/exec/{ns}/{pod}/{container}", any(exec))
        .route("/exec/{ns}/{pod}/{uid}/{container}", any(exec))
        .route("/attach/{ns}/{pod}/{container}", any(attach))
        .route("/attach/{ns}/{pod}/{uid}/{container}", any(attach))
        .route("/portForward/{ns}/{pod}", any(port_forward))
        .route("/portForward/{ns}/{pod}/{uid}", any(port_forward))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ServerState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let addr = listener.local_addr().ok();
    info!(addr = ?addr, "kubelet server listening");
    if addr.is_some_and(|a| !a.ip().is_loopback()) {
        warn!(addr = ?addr, "the kubelet server has no TLS and no authentication yet: whoever reaches this address can read logs and run commands in this node's containers");
    }
    if let Err(e) = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
    {
        warn!(error = %e, "kubelet server stopped");
    }
}

/// Serves only `/healthz` (the `--healthz-port`).
pub async fn serve_healthz(
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let app = Router::new().route("/healthz", get(|| async { "ok" }));
    let _ = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
}

/// Binds `addr` (port 0: any free port).
///
/// # Errors
/// The address is taken or not ours.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

async fn pods(State(s): State<ServerState>) -> Response {
    let mut items: Vec<Pod> = s.workers.pods().iter().map(|p| (**p).clone()).collect();
    items.sort_by_key(|p| p.metadata.key());
    let body = json!({
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {},
        "items": items,
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn metrics(State(s): State<ServerState>) -> Response {
    // Gauges of what runs are read from the runtime at scrape time.
    if let (Ok(sbs), Ok(cs)) = (
        s.runtime.list_pod_sandbox(None).await,
        s.runtime.list_containers(None).await,
    ) {
        s.metrics.observe_runtime(&sbs, &cs);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}

/// The pod `ns/name` this kubelet runs (and, when given, with this UID).
fn find_pod(s: &ServerState, ns: &str, name: &str, uid: Option<&str>) -> Result<Arc<Pod>> {
    // While a pod is replaced under the same name, the new one (not being
    // deleted) is the one meant.
    s.workers
        .pods()
        .into_iter()
        .filter(|p| {
            p.metadata.namespace == ns
                && p.metadata.name == name
                && uid.is_none_or(|u| u == p.metadata.uid)
        })
        .min_by_key(|p| p.metadata.deletion_timestamp.is_some())
        .ok_or_else(|| HttpError::not_found(format!("pod does not exist: {ns}/{name}")))
}

async fn runtime_of(s: &ServerState, pod: &Pod) -> Result<PodRuntime> {
    pod_runtime(s.runtime.as_ref(), &pod.metadata.uid)
        .await
        .map_err(|e| HttpError::internal(format!("reading the container runtime: {e}")))
}

fn check_container(pod: &Pod, name: &str) -> Result<()> {
    if find_container(pod, name).is_none() {
        return Err(HttpError::bad_request(format!(
            "container {name} is not valid for pod {}",
            pod.metadata.name
        )));
    }
    Ok(())
}

/// Why a container has not started, from the pod's status.
fn waiting_reason(pod: &Pod, name: &str) -> String {
    pod.status
        .as_ref()
        .into_iter()
        .flat_map(|s| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
        })
        .find(|c| c.name == name)
        .and_then(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
        .unwrap_or_else(|| "ContainerCreating".into())
}

async fn container_logs(
    State(s): State<ServerState>,
    Path((ns, name, container)): Path<(String, String, String)>,
    uri: Uri,
) -> Result<Response> {
    let opts = logs::LogOptions::from_query(uri.query().unwrap_or(""), chrono::Utc::now())
        .map_err(HttpError::bad_request)?;
    let pod = find_pod(&s, &ns, &name, None)?;
    check_container(&pod, &container)?;
    let state = runtime_of(&s, &pod).await?;
    let instance: &ContainerInfo = if opts.previous {
        state.previous(&container).ok_or_else(|| {
            HttpError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{name}\" not found"
            ))
        })?
    } else {
        state.latest(&container).ok_or_else(|| {
            HttpError::bad_request(format!(
                "container \"{container}\" in pod \"{name}\" is waiting to start: {}",
                waiting_reason(&pod, &container)
            ))
        })?
    };
    let path = log_dir(&s.node, &pod)
        .join(&container)
        .join(format!("{}.log", instance.restart_count));
    let running = instance.state == CState::Running;
    let (rt, id) = (s.runtime.clone(), instance.id.clone());
    let still_running: logs::StillRunning = Box::new(move || {
        let (rt, id) = (rt.clone(), id.clone());
        Box::pin(async move {
            running
                && rt
                    .container_status(&id)
                    .await
                    .is_ok_and(|c| c.state == v1::ContainerState::ContainerRunning as i32)
        })
    });
    let body = match logs::stream(path.clone(), opts, still_running).await {
        Ok(b) => b,
        // Created but never started: no file yet, nothing to show.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            debug!(path = %path.display(), "no log file");
            return Ok(([(header::CONTENT_TYPE, "text/plain")], "").into_response());
        }
        Err(e) => {
            return Err(HttpError::internal(format!(
                "failed to open log file {}: {e}",
                path.display()
            )));
        }
    };
    Ok((
        [(header::CONTENT_TYPE, "text/plain")],
        Body::from_stream(body),
    )
        .into_response())
}

/// `input`/`output`/`error`/`tty` as the apiserver sends them ("1").
fn flag(pairs: &[(String, String)], name: &str) -> bool {
    pairs
        .iter()
        .any(|(k, v)| k == name && matches!(v.as_str(), "1" | "true" | "True"))
}

/// Which of a container's streams an exec or attach wants.
struct Stdio {
    stdin: bool,
    stdout: bool,
    /// Never with a TTY, which merges stderr into stdout.
    stderr: bool,
    tty: bool,
}

fn stdio(q: &[(String, String)]) -> Result<Stdio> {
    let (stdin, stdout, stderr, tty) = (
        flag(q, "input"),
        flag(q, "output"),
        flag(q, "error"),
        flag(q, "tty"),
    );
    if !(stdin || stdout || stderr) {
        return Err(HttpError::bad_request(
            "you must specify at least one of stdin, stdout, stderr",
        ));
    }
    Ok(Stdio {
        stdin,
        stdout,
        stderr: stderr && !tty,
        tty,
    })
}

/// The running instance of `container`, or why there is none.
async fn running_container(s: &ServerState, pod: &Pod, container: &str) -> Result<String> {
    check_container(pod, container)?;
    let state = runtime_of(s, pod).await?;
    state
        .latest(container)
        .filter(|c| c.state == CState::Running)
        .map(|c| c.id.clone())
        .ok_or_else(|| HttpError::not_found(format!("container not found (\"{container}\")")))
}

/// Forwards the client's request to the runtime's streaming `url`.
async fn to_runtime(req: Request, url: &str) -> Result<Response> {
    let target: Uri = url
        .parse()
        .map_err(|_| HttpError::internal(format!("the runtime returned a bad URL {url:?}")))?;
    streamproxy::forward(req, &target)
        .await
        .map_err(|e| HttpError::internal(format!("error proxying to the container runtime: {e}")))
}

async fn exec_target(
    s: ServerState,
    ns: String,
    name: String,
    uid: Option<String>,
    container: String,
    req: Request,
) -> Result<Response> {
    let pod = find_pod(&s, &ns, &name, uid.as_deref())?;
    let id = running_container(&s, &pod, &container).await?;
    let q = logs::url_pairs(req.uri().query().unwrap_or(""));
    let cmd: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    if cmd.is_empty() {
        return Err(HttpError::bad_request(
            "you must specify at least 1 command",
        ));
    }
    let io = stdio(&q)?;
    let url = s
        .runtime
        .exec(v1::ExecRequest {
            container_id: id,
            cmd,
            tty: io.tty,
            stdin: io.stdin,
            stdout: io.stdout,
            stderr: io.stderr,
        })
        .await
        .map_err(|e| HttpError::internal(format!("exec: {e}")))?;
    to_runtime(req, &url).await
}

async fn attach_target(
    s: ServerState,
    ns: String,
    name: String,
    uid: Option<String>,
    container: String,
    req: Request,
) -> Result<Response> {
    let pod = find_pod(&s, &ns, &name, uid.as_deref())?;
    let id = running_container(&s, &pod, &container).await?;
    let io = stdio(&logs::url_pairs(req.uri().query().unwrap_or("")))?;
    let url = s
        .runtime
        .attach(v1::AttachRequest {
            container_id: id,
            stdin: io.stdin,
            tty: io.tty,
            stdout: io.stdout,
            stderr: io.stderr,
        })
        .await
        .map_err(|e| HttpError::internal(format!("attach: {e}")))?;
    to_runtime(req, &url).await
}

async fn port_forward_target(
    s: ServerState,
    ns: String,
    name: String,
    uid: Option<String>,
    req: Request,
) -> Result<Response> {
    let pod = find_pod(&s, &ns, &name, uid.as_deref())?;
    let state = runtime_of(&s, &pod).await?;
    let sandbox = state
        .latest_sandbox()
        .filter(|sb| sb.ready)
        .ok_or_else(|| {
            HttpError::bad_request(format!("pod {name} does not have a running sandbox"))
        })?;
    let q = logs::url_pairs(req.uri().query().unwrap_or(""));
    let mut ports = Vec::new();
    for (_, v) in q.iter().filter(|(k, _)| k == "port") {
        for p in v.split(',').filter(|p| !p.is_empty()) {
            match p.parse::<u16>() {
                Ok(n) if n > 0 => ports.push(i32::from(n)),
                _ => return Err(HttpError::bad_request(format!("invalid port {p:?}"))),
            }
        }
    }
    let url = s
        .runtime
        .port_forward(v1::PortForwardRequest {
            pod_sandbox_id: sandbox.id.clone(),
            port: ports,
        })
        .await
        .map_err(|e| HttpError::internal(format!("port-forward: {e}")))?;
    to_runtime(req, &url).await
}

/// The path's parameters: `ns`, `pod`, and `uid`/`container` when present.
type Params = Path<std::collections::HashMap<String, String>>;

fn param(p: &std::collections::HashMap<String, String>, k: &str) -> String {
    p.get(k).cloned().unwrap_or_default()
}

async fn exec(State(s): State<ServerState>, Path(p): Params, req: Request) -> Result<Response> {
    let uid = p.get("uid").cloned();
    exec_target(
        s,
        param(&p, "ns"),
        param(&p, "pod"),
        uid,
        param(&p, "container"),
        req,
    )
    .await
}

async fn attach(State(s): State<ServerState>, Path(p): Params, req: Request) -> Result<Response> {
    let uid = p.get("uid").cloned();
    attach_target(
        s,
        param(&p, "ns"),
        param(&p, "pod"),
        uid,
        param(&p, "container"),
        req,
    )
    .await
}

async fn port_forward(
    State(s): State<ServerState>,
    Path(p): Params,
    req: Request,
) -> Result<Response> {
    let uid = p.get("uid").cloned();
    port_forward_target(s, param(&p, "ns"), param(&p, "pod"), uid, req).await
}
