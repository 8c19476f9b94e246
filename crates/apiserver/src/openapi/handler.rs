//! The HTTP side of `/openapi/v3` (and `/openapi/v2`): content negotiation
//! and caching headers as upstream's kube-openapi handlers send them.
//!
//! - Every document carries an `ETag` (its hash); `If-None-Match` gets 304.
//! - A group version fetched with the current `?hash=` is immutable:
//!   `Cache-Control: public, immutable` and an `Expires` a year ahead, so
//!   kubectl's disk cache never asks again. A stale hash is answered with a
//!   301 to the current URL, as upstream does.
//!
//! The documents are built once per set of served resources and shared.

use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};

use super::v2::{self, V2};
use super::v3::{self, Document, Documents};
use crate::error::ApiError;
use crate::http::AppState;
use crate::http::system::KUBE_MINOR;
use crate::registry::ResourceInfo;

/// What is served for one set of resources; v2 is built on first use.
#[derive(Debug)]
pub struct Served {
    pub v3: Documents,
    v2: OnceLock<V2>,
}

impl Served {
    /// The v2 document (JSON and protobuf).
    pub fn v2(&self) -> &V2 {
        self.v2
            .get_or_init(|| v2::build(&self.v3, &server_version()))
    }
}

type Cached = (Vec<ResourceInfo>, Arc<Served>);

/// Documents by the resources they describe (one entry per distinct
/// registry; in practice one per process).
static DOCUMENTS: LazyLock<Mutex<Vec<Cached>>> = LazyLock::new(|| Mutex::new(Vec::new()));

fn served(state: &AppState) -> Vec<ResourceInfo> {
    state.registry.all().map(|s| s.info().clone()).collect()
}

/// The documents for what `state` serves.
pub fn documents(state: &AppState) -> Arc<Served> {
    let resources = served(state);
    let build = |resources: &[ResourceInfo]| {
        Arc::new(Served {
            v3: v3::build(resources, &server_version()),
            v2: OnceLock::new(),
        })
    };
    let Ok(mut cache) = DOCUMENTS.lock() else {
        return build(&resources);
    };
    if let Some((_, docs)) = cache.iter().find(|(r, _)| *r == resources) {
        return docs.clone();
    }
    let docs = build(&resources);
    cache.push((resources, docs.clone()));
    docs
}

fn server_version() -> String {
    format!("v1.{KUBE_MINOR}.0")
}

fn quoted(hash: &str) -> String {
    format!("\"{hash}\"")
}

/// Whether `If-None-Match` names this entity tag (or is `*`).
fn not_modified(headers: &HeaderMap, hash: &str) -> bool {
    let want = quoted(hash);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag == want || tag.strip_prefix("W/") == Some(want.as_str()))
}

fn with_etag(mut resp: Response, hash: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(&quoted(hash)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// A document with its content type and ETag (or 304).
pub fn serve(headers: &HeaderMap, doc: &Document, content_type: &'static str) -> Response {
    if not_modified(headers, &doc.hash) {
        return with_etag(StatusCode::NOT_MODIFIED.into_response(), &doc.hash);
    }
    let mut resp = Response::new(Body::from(doc.json.clone()));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    with_etag(resp, &doc.hash)
}

/// `GET /openapi/v3`: the group versions and their current URLs.
pub async fn v3_root(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    serve(&headers, &documents(&state).v3.root, "application/json")
}

/// Whether `Accept` allows JSON (absent, `*/*`, `application/*` or
/// `application/json`, parameters ignored).
pub fn accepts_json(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    accept.trim().is_empty()
        || accept.split(',').any(|clause| {
            matches!(
                clause.split(';').next().unwrap_or("").trim(),
                "*/*" | "application/*" | "application/json"
            )
        })
}

/// `GET /openapi/v3/api/v1`, `/openapi/v3/apis/<group>/<version>`.
pub async fn v3_group_version(
    State(state): State<Arc<AppState>>,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let docs = documents(&state);
    let Some(doc) = docs.v3.group_versions.get(path.trim_end_matches('/')) else {
        return ApiError::NotFoundPath.into_response();
    };
    if !accepts_json(&headers) {
        // We serve JSON only (upstream also has the gnostic protobuf form,
        // which no kubectl asks for).
        return StatusCode::NOT_ACCEPTABLE.into_response();
    }
    let hash = query.as_deref().and_then(|q| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == "hash")
            .map(|(_, v)| v)
    });
    let mut resp = match hash.as_deref() {
        Some(h) if !h.is_empty() && h != doc.hash => {
            let location = format!("/openapi/v3/{path}?hash={}", doc.hash);
            let mut resp = Response::new(Body::from(Bytes::new()));
            *resp.status_mut() = StatusCode::MOVED_PERMANENTLY;
            if let Ok(v) = HeaderValue::from_str(&location) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            resp
        }
        Some(h) if !h.is_empty() => {
            let mut resp = serve(&headers, doc, "application/json");
            let expires = (chrono::Utc::now() + chrono::Duration::days(365))
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string();
            let h = resp.headers_mut();
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, immutable"),
            );
            if let Ok(v) = HeaderValue::from_str(&expires) {
                h.insert(header::EXPIRES, v);
            }
            resp
        }
        _ => serve(&headers, doc, "application/json"),
    };
    resp.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    resp
}

/// The protobuf media types kubectl 1.27/1.28 ask `/openapi/v2` for.
const V2_PROTOBUF: [&str; 2] = [
    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
];

/// `GET /openapi/v2`: JSON, or gnostic protobuf when asked for.
pub async fn v2_document(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let wants_protobuf = accept.split(',').any(|clause| {
        let media = clause.split(';').next().unwrap_or("").trim();
        V2_PROTOBUF.contains(&media)
    });
    let docs = documents(&state);
    let mut resp = if wants_protobuf {
        serve(&headers, &docs.v2().protobuf, V2_PROTOBUF[1])
    } else if accepts_json(&headers) {
        serve(&headers, &docs.v2().json, "application/json")
    } else {
        StatusCode::NOT_ACCEPTABLE.into_response()
    };
    resp.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_and_accept() {
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, "AB"));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"X\", \"AB\""),
        );
        assert!(not_modified(&h, "AB"));
        assert!(!not_modified(&h, "A"));
        assert!(accepts_json(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, */*"),
        );
        assert!(accepts_json(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/com.github.proto-openapi.spec.v3@v1.0+protobuf"),
        );
        assert!(!accepts_json(&h));
    }
}
