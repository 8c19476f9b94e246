//! The pod "connect" subresources: `pods/log`, `pods/exec`, `pods/attach`
//! and `pods/portforward`. The apiserver does not run containers; it finds
//! the pod's node and forwards the request to that node's kubelet
//! (upstream: `pkg/registry/core/pod/rest/log.go`, `subresources.go`):
//!
//! ```text
//! GET  /api/v1/namespaces/ns/pods/web/log?container=c&follow=true
//!   → GET  http://<node InternalIP>:<kubelet port>/containerLogs/ns/web/c?follow=true
//! POST /api/v1/namespaces/ns/pods/web/exec?container=c&command=ls&stdout=true  (Upgrade: SPDY/3.1)
//!   → POST http://<node>:<port>/exec/ns/web/c?command=ls&output=1              (Upgrade: SPDY/3.1)
//! ```
//!
//! The node's address is its first `InternalIP`, else `Hostname`, else
//! `ExternalIP`; the port is `status.daemonEndpoints.kubeletEndpoint.Port`.
//! The kubelet's answer (a log stream, a `101 Switching Protocols`, or an
//! error `Status`) goes back as it is, through [`streamproxy::forward`].

use std::sync::Arc;

use api_types::core::v1::{Node, Pod};
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{Method, Uri};

use super::AppState;
use super::path::{ApiPath, ResourcePath, parse};
use crate::error::{ApiError, GroupResource, Result};
use crate::registry::codec::decode_stored;

/// The subresources forwarded to the kubelet.
pub const SUBRESOURCES: [&str; 4] = ["log", "exec", "attach", "portforward"];

/// The pod connect request `path` names, if it is one.
pub fn target(path: &str) -> Option<ResourcePath> {
    match parse(path)? {
        ApiPath::Resource(r)
            if r.group.is_empty()
                && r.version == "v1"
                && r.resource == "pods"
                && r.namespace.is_some()
                && r.name.is_some()
                && r.subresource
                    .as_deref()
                    .is_some_and(|s| SUBRESOURCES.contains(&s)) =>
        {
            Some(r)
        }
        _ => None,
    }
}

const PODS: GroupResource = GroupResource::new("", "pods");
const NODES: GroupResource = GroupResource::new("", "nodes");

/// Serves one connect request.
pub async fn handle(state: Arc<AppState>, r: ResourcePath, req: Request) -> Response {
    match forward(&state, &r, req).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

async fn forward(state: &AppState, r: &ResourcePath, req: Request) -> Result<Response> {
    let (Some(ns), Some(name), Some(sub)) = (&r.namespace, &r.name, r.subresource.as_deref())
    else {
        return Err(ApiError::NotFoundPath);
    };
    let allowed = match sub {
        "log" => req.method() == Method::GET,
        _ => matches!(*req.method(), Method::GET | Method::POST),
    };
    if !allowed {
        return Err(ApiError::MethodNotAllowed(format!(
            "the server does not allow this method on the requested resource: {} pods/{sub}",
            req.method()
        )));
    }
    let query: Vec<(String, String)> = serde_urlencoded::from_str(req.uri().query().unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))?;
    let pod: Pod = get(state, &format!("/registry/pods/{ns}/{name}"), &PODS, name).await?;
    let node_name = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::BadRequest(format!("pod {name} does not have a host assigned")))?;
    let (path, kubelet_query) = match sub {
        "portforward" => (format!("/portForward/{ns}/{name}"), port_query(&query)?),
        _ => {
            let container = container(&pod, &query)?;
            match sub {
                "log" => (
                    format!("/containerLogs/{ns}/{name}/{container}"),
                    log_query(&query)?,
                ),
                "exec" => (
                    format!("/exec/{ns}/{name}/{container}"),
                    exec_query(&query, true)?,
                ),
                _ => (
                    format!("/attach/{ns}/{name}/{container}"),
                    exec_query(&query, false)?,
                ),
            }
        }
    };
    let node: Node = get(
        state,
        &format!("/registry/nodes/{node_name}"),
        &NODES,
        &node_name,
    )
    .await?;
    let host = kubelet_host(&node).ok_or_else(|| {
        ApiError::Unclassified(format!(
            "node {node_name} has no address to reach its kubelet at"
        ))
    })?;
    let port = node
        .status
        .as_ref()
        .and_then(|s| s.daemon_endpoints.as_ref())
        .and_then(|d| d.kubelet_endpoint.as_ref())
        .map(|e| e.port)
        .filter(|p| *p > 0)
        .unwrap_or(10250);
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let query = serde_urlencoded::to_string(&kubelet_query).unwrap_or_default();
    let url = format!(
        "http://{host}:{port}{path}{}{query}",
        if query.is_empty() { "" } else { "?" }
    );
    let target: Uri = url
        .parse()
        .map_err(|_| ApiError::Internal(format!("bad kubelet URL {url:?}")))?;
    let method = req.method().clone();
    streamproxy::forward(req, &target).await.map_err(|e| {
        // As upstream words it: `Get "http://…": dial tcp …: connection refused`.
        let verb = if method == Method::GET { "Get" } else { "Post" };
        ApiError::Unclassified(format!("{verb} \"{url}\": {e}"))
    })
}

async fn get<K: api_types::Resource>(
    state: &AppState,
    key: &str,
    gr: &GroupResource,
    name: &str,
) -> Result<K> {
    let kv = state
        .storage
        .get(key)
        .await
        .map_err(|e| ApiError::from_storage(e, gr, name))?;
    decode_stored(&kv)
}

/// The node address the apiserver reaches its kubelet at.
fn kubelet_host(node: &Node) -> Option<String> {
    let addrs = node.status.as_ref()?.addresses.as_ref()?;
    ["InternalIP", "Hostname", "ExternalIP"]
        .iter()
        .find_map(|t| {
            addrs
                .iter()
                .find(|a| a.type_ == *t && !a.address.is_empty())
                .map(|a| a.address.clone())
        })
}

fn values<'a>(q: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> {
    q.iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn last<'a>(q: &'a [(String, String)], name: &'a str) -> Option<&'a str> {
    values(q, name).last()
}

fn boolean(q: &[(String, String)], name: &str) -> Result<bool> {
    match last(q, name) {
        None | Some("" | "false" | "0" | "False") => Ok(false),
        Some("true" | "1" | "True") => Ok(true),
        Some(v) => Err(ApiError::BadRequest(format!(
            "invalid value {v:?} for {name}: must be true or false"
        ))),
    }
}

/// The container the request is for: `?container=`, or the pod's only
/// container (upstream's messages when that is ambiguous or wrong).
fn container(pod: &Pod, q: &[(String, String)]) -> Result<String> {
    let spec = pod.spec.clone().unwrap_or_default();
    let names: Vec<&str> = spec.containers.iter().map(|c| c.name.as_str()).collect();
    let init: Vec<&str> = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| c.name.as_str())
        .collect();
    let pod_name = &pod.metadata.name;
    match last(q, "container").filter(|c| !c.is_empty()) {
        Some(c) if names.contains(&c) || init.contains(&c) => Ok(c.to_string()),
        Some(c) => Err(ApiError::BadRequest(format!(
            "container {c} is not valid for pod {pod_name}"
        ))),
        None if names.len() == 1 => Ok(names[0].to_string()),
        None => {
            let mut msg = format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                names.join(" ")
            );
            if !init.is_empty() {
                msg.push_str(&format!(
                    " or one of the init containers: [{}]",
                    init.join(" ")
                ));
            }
            Err(ApiError::BadRequest(msg))
        }
    }
}

/// `PodLogOptions` → the kubelet's query (same names), checked as
/// upstream validates them.
fn log_query(q: &[(String, String)]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for b in ["follow", "previous", "timestamps"] {
        if boolean(q, b)? {
            out.push((b.to_string(), "true".to_string()));
        }
    }
    for (name, min) in [("tailLines", 0i64), ("limitBytes", 1), ("sinceSeconds", 1)] {
        if let Some(v) = last(q, name) {
            let n: i64 = v.parse().map_err(|_| {
                ApiError::BadRequest(format!(
                    "invalid value {v:?} for {name}: must be an integer"
                ))
            })?;
            if n < min {
                let rule = if min == 0 {
                    "must be greater than or equal to 0"
                } else {
                    "must be greater than 0"
                };
                return Err(ApiError::Unprocessable(format!(
                    "PodLogOptions is invalid: {name}: Invalid value: {n}: {rule}"
                )));
            }
            out.push((name.to_string(), n.to_string()));
        }
    }
    if let Some(t) = last(q, "sinceTime") {
        if last(q, "sinceSeconds").is_some() {
            return Err(ApiError::Unprocessable(
                "PodLogOptions is invalid: at most one of `sinceTime` or `sinceSeconds` may be specified"
                    .into(),
            ));
        }
        chrono::DateTime::parse_from_rfc3339(t).map_err(|_| {
            ApiError::BadRequest(format!(
                "invalid value {t:?} for sinceTime: must be RFC 3339"
            ))
        })?;
        out.push(("sinceTime".into(), t.to_string()));
    }
    Ok(out)
}

/// `PodExecOptions`/`PodAttachOptions` → the kubelet's `input`/`output`/
/// `error`/`tty` (and `command` for exec).
fn exec_query(q: &[(String, String)], exec: bool) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    if exec {
        let cmd: Vec<&str> = values(q, "command").collect();
        if cmd.is_empty() {
            return Err(ApiError::BadRequest(
                "you must specify at least 1 command".into(),
            ));
        }
        out.extend(
            cmd.into_iter()
                .map(|c| ("command".to_string(), c.to_string())),
        );
    }
    let (stdin, stdout, stderr, tty) = (
        boolean(q, "stdin")?,
        boolean(q, "stdout")?,
        boolean(q, "stderr")?,
        boolean(q, "tty")?,
    );
    if !(stdin || stdout || stderr) {
        return Err(ApiError::BadRequest(
            "you must specify at least one of stdin, stdout, stderr".into(),
        ));
    }
    for (set, name) in [
        (stdin, "input"),
        (stdout, "output"),
        (stderr, "error"),
        (tty, "tty"),
    ] {
        if set {
            out.push((name.to_string(), "1".to_string()));
        }
    }
    Ok(out)
}

/// `PodPortForwardOptions.ports` → the kubelet's `port`.
fn port_query(q: &[(String, String)]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for v in values(q, "ports") {
        for p in v.split(',').filter(|p| !p.is_empty()) {
            match p.trim().parse::<u16>() {
                Ok(n) if n > 0 => out.push(("port".to_string(), n.to_string())),
                _ => {
                    return Err(ApiError::BadRequest(format!(
                        "invalid port {p:?}: must be between 1 and 65535"
                    )));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn q(s: &str) -> Vec<(String, String)> {
        serde_urlencoded::from_str(s).unwrap_or_default()
    }

    fn pod(containers: &[&str], init: &[&str]) -> Pod {
        let c = |n: &&str| serde_json::json!({"name": n, "image": "x"});
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "containers": containers.iter().map(c).collect::<Vec<_>>(),
                "initContainers": init.iter().map(c).collect::<Vec<_>>(),
            }
        }))
        .unwrap_or_default()
    }

    #[test]
    fn targets_only_pod_connect_paths() {
        assert!(target("/api/v1/namespaces/default/pods/web/log").is_some());
        assert!(target("/api/v1/namespaces/default/pods/web/exec").is_some());
        assert!(target("/api/v1/namespaces/default/pods/web/status").is_none());
        assert!(target("/api/v1/namespaces/default/services/web/log").is_none());
        assert!(target("/apis/apps/v1/namespaces/default/pods/web/log").is_none());
    }

    #[test]
    fn picks_the_container_as_upstream() {
        assert_eq!(
            container(&pod(&["a"], &[]), &q("")).ok().as_deref(),
            Some("a")
        );
        assert_eq!(
            container(&pod(&["a", "b"], &["i"]), &q("container=i"))
                .ok()
                .as_deref(),
            Some("i")
        );
        let e = container(&pod(&["a", "b"], &["i"]), &q("")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a container name must be specified for pod web, choose one of: [a b] or one of the init containers: [i]"
        );
        let e = container(&pod(&["a"], &[]), &q("container=zz")).unwrap_err();
        assert_eq!(e.to_string(), "container zz is not valid for pod web");
    }

    #[test]
    fn translates_queries_for_the_kubelet() {
        assert_eq!(
            log_query(&q("container=c&follow=true&tailLines=5&timestamps=false")).ok(),
            Some(vec![
                ("follow".into(), "true".into()),
                ("tailLines".into(), "5".into())
            ])
        );
        assert!(matches!(
            log_query(&q("tailLines=-1")),
            Err(ApiError::Unprocessable(_))
        ));
        assert!(matches!(
            log_query(&q("follow=perhaps")),
            Err(ApiError::BadRequest(_))
        ));
        assert_eq!(
            exec_query(
                &q("command=sh&command=-c&command=echo+hi&stdout=true&tty=true"),
                true
            )
            .ok(),
            Some(vec![
                ("command".into(), "sh".into()),
                ("command".into(), "-c".into()),
                ("command".into(), "echo hi".into()),
                ("output".into(), "1".into()),
                ("tty".into(), "1".into()),
            ])
        );
        assert!(exec_query(&q("stdout=true"), true).is_err());
        assert!(exec_query(&q("command=ls"), true).is_err());
        assert_eq!(
            port_query(&q("ports=8080&ports=9090")).ok(),
            Some(vec![
                ("port".into(), "8080".into()),
                ("port".into(), "9090".into())
            ])
        );
        assert!(port_query(&q("ports=0")).is_err());
        assert!(port_query(&q("ports=http")).is_err());
    }
}
