//! Health, version and metrics endpoints.
//!
//! - `/livez`, `/healthz`: the process is up.
//! - `/readyz`: storage answers and every watch cache has its initial list;
//!   `?verbose` lists each check, as upstream does.
//! - `/version`: the Kubernetes version we speak (kubectl checks skew).
//! - `/metrics`: Prometheus text format.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use super::AppState;
use crate::metrics::METRICS;

/// The Kubernetes minor version whose API we serve.
pub const KUBE_MINOR: &str = "32";

pub async fn livez() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    let storage_ok = tokio::time::timeout(Duration::from_secs(2), state.storage.current_revision())
        .await
        .is_ok_and(|r| r.is_ok());
    let caches_ok = state.caches.iter().all(|c| c.is_ready());
    let checks = [
        ("ping", true),
        (state.storage.backend(), storage_ok),
        ("watch-cache", caches_ok),
        (
            "default-namespaces",
            state
                .bootstrapped
                .load(std::sync::atomic::Ordering::Acquire),
        ),
    ];
    let healthy = checks.iter().all(|(_, ok)| *ok);
    let verbose = q.as_deref().is_some_and(|q| {
        q.split('&')
            .any(|p| p == "verbose" || p.starts_with("verbose="))
    });
    let body = if verbose || !healthy {
        let mut s: String = checks
            .iter()
            .map(|(name, ok)| {
                format!(
                    "[{}]{name} {}\n",
                    if *ok { "+" } else { "-" },
                    if *ok { "ok" } else { "failed" }
                )
            })
            .collect();
        s.push_str(if healthy {
            "readyz check passed\n"
        } else {
            "readyz check failed\n"
        });
        s
    } else {
        "ok".to_string()
    };
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    (code, body).into_response()
}

pub async fn version() -> Response {
    let body = serde_json::json!({
        "major": "1",
        "minor": KUBE_MINOR,
        "gitVersion": format!("v1.{KUBE_MINOR}.0+oxkube-{}", env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
    });
    let mut resp = (StatusCode::OK, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// Go's architecture names, which clients expect.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub async fn metrics() -> Response {
    let mut resp = (StatusCode::OK, METRICS.render()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
