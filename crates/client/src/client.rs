//! The connection to one apiserver: base URL, credentials, the rate
//! limiter, and turning HTTP answers into values or [`Error`]s.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ratelimit::RateLimiter;

/// A cheap-to-clone handle on an apiserver; clones share connections and
/// the rate limiter.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    limiter: RateLimiter,
    qps: f32,
    burst: u32,
    namespace: String,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.inner.base)
            .finish_non_exhaustive()
    }
}

/// A request body and its content type.
pub(crate) struct Body {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

impl Client {
    /// A client for `config`.
    ///
    /// # Errors
    /// When the server URL is not `http://` (the oxkube apiserver serves
    /// plain HTTP until TLS lands; `https://` servers are refused with a
    /// clear message rather than failing on the first request).
    pub fn new(config: Config) -> Result<Client> {
        let base = config.server.trim_end_matches('/').to_string();
        if base.starts_with("https://") {
            return Err(Error::Config(format!(
                "server {base}: this client speaks plain HTTP only for now; point the kubeconfig at the apiserver's http:// address"
            )));
        }
        if !base.starts_with("http://") {
            return Err(Error::Config(format!(
                "server {base:?} must be a URL like http://127.0.0.1:6443"
            )));
        }
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .build()?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                token: config.token.clone(),
                limiter: RateLimiter::new(config.qps, config.burst),
                qps: config.qps,
                burst: config.burst,
                namespace: config.namespace,
                timeout: config.timeout,
            }),
        })
    }

    /// A client on the same connections with a rate limiter of its own
    /// (same `qps` and `burst`): what upstream gets by building one
    /// clientset per controller and one for leader election, so a
    /// controller creating 2,000 pods cannot starve the Lease renewal.
    pub fn with_own_limiter(&self) -> Client {
        let i = &self.inner;
        Client {
            inner: Arc::new(Inner {
                http: i.http.clone(),
                base: i.base.clone(),
                token: i.token.clone(),
                limiter: RateLimiter::new(i.qps, i.burst),
                qps: i.qps,
                burst: i.burst,
                namespace: i.namespace.clone(),
                timeout: i.timeout,
            }),
        }
    }

    /// The apiserver's base URL.
    pub fn server(&self) -> &str {
        &self.inner.base
    }

    /// The namespace of the kubeconfig's context.
    pub fn default_namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// Sends a request after taking a rate-limiter token; a non-2xx answer
    /// becomes [`Error::Api`]. `timeout: None` is for watches, which end
    /// when the server says so.
    pub(crate) async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Body>,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response> {
        self.inner.limiter.acquire().await;
        let url = format!("{}{}", self.inner.base, path_and_query);
        let mut req = self
            .inner
            .http
            .request(method.clone(), &url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(t) = &self.inner.token {
            req = req.bearer_auth(t);
        }
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, b.content_type)
                .body(b.bytes);
        }
        tracing::trace!(%method, url, "request");
        let resp = req.send().await?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(error_from(
            resp.status(),
            &resp.bytes().await.unwrap_or_default(),
        ))
    }

    /// A request answered with JSON.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Body>,
    ) -> Result<T> {
        let resp = self
            .send(method, path_and_query, body, Some(self.inner.timeout))
            .await?;
        let bytes = resp.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode(format!("{path_and_query}: {e}")))
    }

    /// GETs a path (`/version`, `/healthz` ...) and returns the body.
    ///
    /// # Errors
    /// As any request.
    pub async fn get_raw(&self, path: &str) -> Result<Bytes> {
        let resp = self
            .send(Method::GET, path, None, Some(self.inner.timeout))
            .await?;
        Ok(resp.bytes().await?)
    }

    /// `/version` as JSON.
    ///
    /// # Errors
    /// As any request.
    pub async fn version(&self) -> Result<serde_json::Value> {
        self.json(Method::GET, "/version", None).await
    }
}

/// The `Status` in an error answer, or one made up from the HTTP code when
/// the body is not a `Status` (a proxy's error page, say).
fn error_from(code: StatusCode, body: &[u8]) -> Error {
    if let Ok(status) = serde_json::from_slice::<api_types::meta::v1::Status>(body)
        && status.kind == "Status"
    {
        let mut status = status;
        if status.code == 0 {
            status.code = i32::from(code.as_u16());
        }
        return Error::Api(Box::new(status));
    }
    let reason = match code.as_u16() {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Gone",
        422 => "Invalid",
        429 => "TooManyRequests",
        504 => "Timeout",
        _ => "InternalError",
    };
    let text = String::from_utf8_lossy(body);
    let message = if text.trim().is_empty() {
        format!("the server answered {code}")
    } else {
        format!("the server answered {code}: {}", text.trim())
    };
    Error::api(code.as_u16(), reason, message)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn a_client_with_its_own_limiter_is_not_slowed_by_the_original() {
        let mut config = Config::new("http://127.0.0.1:1");
        config.qps = 1.0;
        config.burst = 1;
        let a = Client::new(config).unwrap();
        let b = a.with_own_limiter();
        let quick = Duration::from_millis(200);
        // a spends its one token; its next waits about a second.
        a.inner.limiter.acquire().await;
        assert!(
            tokio::time::timeout(quick, a.inner.limiter.acquire())
                .await
                .is_err()
        );
        // b has its own bucket, full.
        assert!(
            tokio::time::timeout(quick, b.inner.limiter.acquire())
                .await
                .is_ok()
        );
        // Clones share the bucket.
        let a2 = a.clone();
        assert!(
            tokio::time::timeout(quick, a2.inner.limiter.acquire())
                .await
                .is_err()
        );
    }

    #[test]
    fn error_answers_become_statuses() {
        let body = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \"x\" not found","reason":"NotFound","code":404}"#;
        let e = error_from(StatusCode::NOT_FOUND, body);
        assert!(e.is_not_found());
        assert_eq!(e.to_string(), "pods \"x\" not found (NotFound)");
        let e = error_from(StatusCode::CONFLICT, b"<html>oops</html>");
        assert_eq!(e.code(), Some(409));
        assert!(e.is_conflict());
        assert!(e.to_string().contains("oops"));
        assert!(error_from(StatusCode::GONE, b"").is_gone());
        assert!(error_from(StatusCode::SERVICE_UNAVAILABLE, b"").is_transient());
    }

    #[test]
    fn only_http_servers() {
        assert!(Client::new(Config::new("https://10.0.0.1:6443")).is_err());
        assert!(Client::new(Config::new("127.0.0.1:6443")).is_err());
        let c = Client::new(Config::new("http://127.0.0.1:6443/")).unwrap();
        assert_eq!(c.server(), "http://127.0.0.1:6443");
    }
}
