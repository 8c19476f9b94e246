//! The leanest HTTP/1.1 client we can have: one keep-alive connection per
//! simulated client, no pool, no redirects, no TLS.
//!
//! Why not `reqwest`: its pool hides how many connections exist, and the
//! load generator shares two cores with the server. A `hyper` connection
//! driven by its own task costs about as little as HTTP/1.1 can.

use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One HTTP/1.1 keep-alive connection to the apiserver.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> Result<Conn> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect {addr}"))?;
        // Requests are single writes; don't let Nagle hold them back.
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP/1.1 handshake")?;
        // The connection is driven by its own task; it ends when `sender`
        // and every response body are dropped.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            sender,
            host: addr.to_string(),
        })
    }

    fn request(&self, method: Method, path: &str, body: Bytes) -> Result<Request<Full<Bytes>>> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.host);
        if !body.is_empty() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        Ok(req.body(Full::new(body))?)
    }

    /// Sends a request and reads the whole response.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes)> {
        let resp = self.open(method, path, body).await?;
        let status = resp.0;
        let body = resp.1.collect().await.context("reading response")?;
        Ok((status, body.to_bytes()))
    }

    /// Sends a request and returns the status and the body as a stream
    /// (a watch).
    pub async fn open(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<(StatusCode, Incoming)> {
        let req = self.request(method, path, body)?;
        self.sender
            .ready()
            .await
            .context("connection closed by the server")?;
        let resp = self.sender.send_request(req).await.context("request")?;
        let (parts, body) = resp.into_parts();
        Ok((parts.status, body))
    }

    /// GET that must answer 200; the body.
    pub async fn get_ok(&mut self, path: &str) -> Result<Bytes> {
        let (status, body) = self.send(Method::GET, path, Bytes::new()).await?;
        if status != StatusCode::OK {
            bail!("GET {path}: {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(body)
    }

    /// POST that must answer 201; the body.
    pub async fn create(&mut self, path: &str, body: Bytes) -> Result<Bytes> {
        let (status, resp) = self.send(Method::POST, path, body).await?;
        if status != StatusCode::CREATED {
            bail!("POST {path}: {status}: {}", String::from_utf8_lossy(&resp));
        }
        Ok(resp)
    }
}

/// A plain GET on a fresh connection (for `/metrics` of etcd or the apiserver).
pub async fn get_text(url: &str) -> Result<String> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("not an http:// URL: {url}"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr: SocketAddr = tokio::net::lookup_host(host)
        .await?
        .next()
        .with_context(|| format!("cannot resolve {host}"))?;
    let mut conn = Conn::connect(addr).await?;
    let body = conn.get_ok(path).await?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Sums a Prometheus metric's samples whose line starts with `name` and
/// contains every one of `labels` (`verb="WATCH"`).
pub fn metric_sum(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        // `name` must end here: `{labels} value` or ` value`.
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue;
        }
        if !labels.iter().all(|l| rest.contains(l)) {
            continue;
        }
        if let Some(v) = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}
