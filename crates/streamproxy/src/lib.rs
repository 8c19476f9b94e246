//! # streamproxy: forwarding a request, upgrade included
//!
//! `kubectl logs -f`, `kubectl exec` and `kubectl port-forward` talk to a
//! container through two hops, as in upstream Kubernetes:
//!
//! ```text
//! kubectl ──▶ apiserver ──▶ kubelet :10250 ──▶ runtime streaming server
//!            (pods/exec)    (/exec/ns/pod/c)    (containerd: /exec/<token>)
//! ```
//!
//! Each hop forwards the client's request as it came (method, headers,
//! body) to the next one. A plain answer (a log stream, an error `Status`)
//! comes back as a stream. An *upgrade* (`Connection: Upgrade` with
//! `Upgrade: SPDY/3.1` or `websocket`) is what exec, attach and
//! port-forward use: when the backend answers `101 Switching Protocols`,
//! the same 101 (with the backend's headers, so the protocol the backend
//! picked, e.g. `X-Stream-Protocol-Version: v4.channel.k8s.io`, reaches the
//! client) goes back, and from then on bytes are copied both ways between
//! the two upgraded connections. Neither hop parses SPDY or websocket
//! frames: the client and the runtime negotiate between themselves.
//!
//! Upstream: `UpgradeAwareHandler` in `k8s.io/apimachinery/pkg/util/proxy`.

use std::time::Duration;

use axum::body::Body;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tracing::debug;

/// How long connecting to the backend may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the backend may take to answer with its headers (a log
/// stream's body may then go on for as long as it likes).
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a request could not be forwarded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid backend address {0:?}")]
    Address(String),
    #[error("dial tcp {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("dial tcp {0}: i/o timeout")]
    ConnectTimeout(String),
    #[error("no answer from {0} within {RESPONSE_TIMEOUT:?}")]
    ResponseTimeout(String),
    #[error("error talking to {addr}: {source}")]
    Http {
        addr: String,
        #[source]
        source: hyper::Error,
    },
}

/// Whether `headers` ask for a protocol upgrade.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

/// Headers that describe one connection and must not be forwarded as they
/// are (RFC 9110 §7.6.1). `Connection`/`Upgrade` are put back for upgrades.
const HOP_BY_HOP: [header::HeaderName; 7] = [
    header::CONNECTION,
    header::UPGRADE,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::PROXY_AUTHORIZATION,
    header::PROXY_AUTHENTICATE,
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers named in Connection are hop-by-hop too.
    let named: Vec<header::HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| header::HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for h in HOP_BY_HOP.iter().chain(named.iter()) {
        headers.remove(h);
    }
    headers.remove("keep-alive");
}

/// Forwards `req` to `target` (an `http://host:port/path?query` URL; the
/// request's own path and query are replaced by the target's) and returns
/// the backend's answer. Upgrades are spliced as the module docs describe.
///
/// # Errors
/// When the backend cannot be reached or breaks the exchange; an error
/// answer of the backend is an `Ok` response.
pub async fn forward(mut req: Request<Body>, target: &Uri) -> Result<Response<Body>, Error> {
    let authority = target
        .authority()
        .ok_or_else(|| Error::Address(target.to_string()))?
        .clone();
    if target.scheme_str().is_some_and(|s| s != "http") {
        return Err(Error::Address(target.to_string()));
    }
    let addr = if authority.port().is_some() {
        authority.to_string()
    } else {
        format!("{}:80", authority.host())
    };
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(source)) => return Err(Error::Connect { addr, source }),
        Err(_) => return Err(Error::ConnectTimeout(addr)),
    };
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|source| Error::Http {
            addr: addr.clone(),
            source,
        })?;
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            debug!(error = %e, "backend connection ended");
        }
    });

    let upgrading = is_upgrade(req.headers());
    let client_upgrade = upgrading.then(|| hyper::upgrade::on(&mut req));
    let (parts, body) = req.into_parts();
    let path = target
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let mut out = Request::builder()
        .method(parts.method)
        .uri(path)
        .body(if upgrading { Body::empty() } else { body })
        .map_err(|_| Error::Address(target.to_string()))?;
    let mut headers = parts.headers;
    let upgrade = headers.get(header::UPGRADE).cloned();
    strip_hop_by_hop(&mut headers);
    headers.remove(header::HOST);
    // Credentials for this hop are not the next hop's business.
    headers.remove(header::AUTHORIZATION);
    if upgrading {
        // The body is not forwarded: neither is its length.
        headers.remove(header::CONTENT_LENGTH);
    }
    if let (true, Some(u)) = (upgrading, upgrade) {
        headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(header::UPGRADE, u);
    }
    if let Ok(h) = HeaderValue::from_str(authority.as_str()) {
        headers.insert(header::HOST, h);
    }
    *out.headers_mut() = headers;

    let mut resp = match tokio::time::timeout(RESPONSE_TIMEOUT, sender.send_request(out)).await {
        Ok(r) => r.map_err(|source| Error::Http {
            addr: addr.clone(),
            source,
        })?,
        Err(_) => return Err(Error::ResponseTimeout(addr)),
    };
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS
        && let Some(client_upgrade) = client_upgrade
    {
        let backend_upgrade = hyper::upgrade::on(&mut resp);
        let (parts, _) = resp.into_parts();
        tokio::spawn(async move {
            let (client, backend) = match tokio::try_join!(client_upgrade, backend_upgrade) {
                Ok(pair) => pair,
                Err(e) => {
                    debug!(error = %e, "upgrade failed");
                    return;
                }
            };
            let (mut client, mut backend) = (TokioIo::new(client), TokioIo::new(backend));
            match tokio::io::copy_bidirectional(&mut client, &mut backend).await {
                Ok((up, down)) => debug!(up, down, "upgraded stream ended"),
                Err(e) => debug!(error = %e, "upgraded stream ended"),
            }
        });
        return Ok(Response::from_parts(parts, Body::empty()));
    }
    let (mut parts, body) = resp.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, Body::new(body)))
}

#[cfg(test)]
mod tests;
