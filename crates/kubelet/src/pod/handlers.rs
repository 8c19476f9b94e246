//! The ways Kubernetes checks on or talks to a container, shared by
//! probes and lifecycle hooks: `exec` (a command in the container, through
//! the CRI), `httpGet` (an HTTP request to the pod), `tcpSocket` (a TCP
//! connect to the pod), and for probes `grpc` (the standard gRPC health
//! check, `grpc.health.v1.Health/Check`).

use std::time::Duration;

use api_types::core::v1::{Container, GRPCAction, HTTPGetAction, TCPSocketAction};
use api_types::intstr::IntOrString;
use cri::RuntimeService;

/// The result of one check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Failed, with what to tell the user.
    Failure(String),
}

/// Resolves a port given as a number or as the name of a container port.
pub fn resolve_port(port: &IntOrString, container: &Container) -> Result<u16, String> {
    let n = match port {
        IntOrString::Int(n) => i64::from(*n),
        IntOrString::String(name) => match name.parse::<i64>() {
            Ok(n) => n,
            Err(_) => container
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .map(|p| i64::from(p.container_port))
                .ok_or_else(|| format!("couldn't find port: {name} in {}", container.name))?,
        },
    };
    u16::try_from(n)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("invalid port number: {n}"))
}

/// Runs `cmd` in the container; exit code 0 is success.
pub async fn exec(
    rt: &dyn RuntimeService,
    container_id: &str,
    cmd: &[String],
    timeout: Duration,
) -> Outcome {
    match rt.exec_sync(container_id, cmd.to_vec(), timeout).await {
        Ok(r) if r.exit_code == 0 => Outcome::Success,
        Ok(r) => {
            let mut out = String::from_utf8_lossy(&r.stdout).into_owned();
            out.push_str(&String::from_utf8_lossy(&r.stderr));
            Outcome::Failure(format!(
                "command {cmd:?} exited with {}: {}",
                r.exit_code,
                out.trim()
            ))
        }
        Err(e) => Outcome::Failure(e.to_string()),
    }
}

/// Sends the GET; a status in [200, 400) is success (as upstream; redirects
/// are not followed off the pod).
pub async fn http_get(
    http: &reqwest::Client,
    action: &HTTPGetAction,
    container: &Container,
    pod_ip: &str,
    timeout: Duration,
) -> Outcome {
    let port = match resolve_port(&action.port, container) {
        Ok(p) => p,
        Err(e) => return Outcome::Failure(e),
    };
    let host = action
        .host
        .as_deref()
        .filter(|h| !h.is_empty())
        .unwrap_or(pod_ip);
    let scheme = action
        .scheme
        .as_deref()
        .unwrap_or("HTTP")
        .to_ascii_lowercase();
    let path = action.path.as_deref().unwrap_or("/");
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let url = if host.contains(':') {
        format!("{scheme}://[{host}]:{port}{path}")
    } else {
        format!("{scheme}://{host}:{port}{path}")
    };
    let mut req = http
        .get(&url)
        .timeout(timeout)
        .header("User-Agent", "kube-probe/1.33");
    for h in action.http_headers.iter().flatten() {
        req = req.header(h.name.as_str(), h.value.as_str());
    }
    match req.send().await {
        Ok(r) if (200..400).contains(&r.status().as_u16()) => Outcome::Success,
        Ok(r) => Outcome::Failure(format!(
            "HTTP probe failed with statuscode: {}",
            r.status().as_u16()
        )),
        Err(e) if e.is_timeout() => Outcome::Failure(format!(
            "Get \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        )),
        Err(e) => Outcome::Failure(format!("Get \"{url}\": {e}")),
    }
}

/// Connects to the port; a connection is success.
pub async fn tcp(
    action: &TCPSocketAction,
    container: &Container,
    pod_ip: &str,
    timeout: Duration,
) -> Outcome {
    let port = match resolve_port(&action.port, container) {
        Ok(p) => p,
        Err(e) => return Outcome::Failure(e),
    };
    let host = action
        .host
        .as_deref()
        .filter(|h| !h.is_empty())
        .unwrap_or(pod_ip)
        .to_string();
    match tokio::time::timeout(
        timeout,
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    {
        Ok(Ok(_)) => Outcome::Success,
        Ok(Err(e)) => Outcome::Failure(format!("dial tcp {host}:{port}: {e}")),
        Err(_) => Outcome::Failure(format!("dial tcp {host}:{port}: i/o timeout")),
    }
}

/// `grpc.health.v1.HealthCheckRequest` (the gRPC health checking
/// protocol), written out with prost: one field.
#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckRequest {
    #[prost(string, tag = "1")]
    service: String,
}

/// `grpc.health.v1.HealthCheckResponse`: `status` 1 is `SERVING`.
#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckResponse {
    #[prost(int32, tag = "1")]
    status: i32,
}

const SERVING_STATUS: [&str; 4] = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

/// A gRPC health check of `pod_ip:port` (upstream's messages).
pub async fn grpc(g: &GRPCAction, pod_ip: &str, timeout: Duration) -> Outcome {
    let Ok(port) = u16::try_from(g.port) else {
        return Outcome::Failure(format!("invalid port number: {}", g.port));
    };
    let target = if pod_ip.contains(':') {
        format!("http://[{pod_ip}]:{port}")
    } else {
        format!("http://{pod_ip}:{port}")
    };
    let endpoint = match tonic::transport::Endpoint::from_shared(target) {
        Ok(e) => e.connect_timeout(timeout).timeout(timeout),
        Err(e) => return Outcome::Failure(e.to_string()),
    };
    let channel = match endpoint.connect().await {
        Ok(c) => c,
        Err(e) => {
            return Outcome::Failure(format!(
                "timeout: failed to connect service \"{pod_ip}:{port}\" within {}s: {e}",
                timeout.as_secs()
            ));
        }
    };
    let mut client = tonic::client::Grpc::new(channel);
    if let Err(e) = client.ready().await {
        return Outcome::Failure(format!("failed to connect service: {e}"));
    }
    let request = tonic::Request::new(HealthCheckRequest {
        service: g.service.clone().unwrap_or_default(),
    });
    let path = http::uri::PathAndQuery::from_static("/grpc.health.v1.Health/Check");
    let codec = tonic_prost::ProstCodec::<HealthCheckRequest, HealthCheckResponse>::default();
    match client.unary(request, path, codec).await {
        Ok(r) if r.get_ref().status == 1 => Outcome::Success,
        Ok(r) => {
            let s = r.get_ref().status;
            let name = usize::try_from(s)
                .ok()
                .and_then(|i| SERVING_STATUS.get(i))
                .map_or_else(|| s.to_string(), |n| (*n).to_string());
            Outcome::Failure(format!("service unhealthy (responded with \"{name}\")"))
        }
        Err(status) if status.code() == tonic::Code::DeadlineExceeded => Outcome::Failure(format!(
            "timeout: health rpc did not complete within {}s",
            timeout.as_secs()
        )),
        Err(status) => Outcome::Failure(format!(
            "error: health rpc probe failed: {}: {}",
            status.code(),
            status.message()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a real gRPC server that serves the health protocol: etcd.
    #[tokio::test]
    async fn grpc_health_checks_against_etcd() {
        let etcd = test_support::Etcd::start().await;
        let url = etcd.url();
        let port: i32 = url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let t = Duration::from_secs(2);
        let ok = GRPCAction {
            port,
            service: None,
        };
        assert_eq!(grpc(&ok, "127.0.0.1", t).await, Outcome::Success);
        let unknown = GRPCAction {
            port,
            service: Some("no.such.Service".into()),
        };
        match grpc(&unknown, "127.0.0.1", t).await {
            Outcome::Failure(m) => assert!(m.contains("health rpc probe failed"), "{m}"),
            Outcome::Success => panic!("an unknown service passed"),
        }
        let closed = GRPCAction {
            port: i32::from(test_support::free_port()),
            service: None,
        };
        match grpc(&closed, "127.0.0.1", t).await {
            Outcome::Failure(m) => {
                assert!(m.starts_with("timeout: failed to connect service"), "{m}")
            }
            Outcome::Success => panic!("a closed port passed"),
        }
    }

    #[test]
    fn ports_by_number_or_name() {
        let c: Container = serde_json::from_value(serde_json::json!({
            "name": "web", "ports": [{"name": "http", "containerPort": 8080}]
        }))
        .unwrap_or_default();
        assert_eq!(resolve_port(&IntOrString::Int(80), &c), Ok(80));
        assert_eq!(
            resolve_port(&IntOrString::String("http".into()), &c),
            Ok(8080)
        );
        assert_eq!(resolve_port(&IntOrString::String("81".into()), &c), Ok(81));
        assert!(resolve_port(&IntOrString::String("grpc".into()), &c).is_err());
        assert!(resolve_port(&IntOrString::Int(0), &c).is_err());
    }
}
