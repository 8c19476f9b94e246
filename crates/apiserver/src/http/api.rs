//! The resource handler: turns an HTTP request on an API path into a call on
//! the resource's [`RestStorage`], and the result back into HTTP.
//!
//! It stays thin on purpose: parsing the path and query, reading the body
//! (at most 3 MiB), picking the verb. Everything Kubernetes-specific happens
//! in the registry.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::AppState;
use super::negotiate::{Representation, resource_output};
use super::path::{ApiPath, ResourcePath, parse};
use crate::error::{ApiError, Result};
use crate::metrics::METRICS;
use crate::registry::{
    DeleteQuery, FieldValidation, ListParams, PatchType, Reply, RequestScope, RestStorage,
    Warnings, WatchBody,
};
use crate::table::{IncludeObject, Transform};

/// Largest request body accepted, as upstream (`MaxRequestBodyBytes`).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

fn json(code: StatusCode, body: Bytes) -> Response {
    let mut resp = (code, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn query<T: DeserializeOwned + Default>(raw: Option<&str>) -> Result<T> {
    match raw {
        None | Some("") => Ok(T::default()),
        Some(q) => serde_urlencoded::from_str(q)
            .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}"))),
    }
}

/// Query parameters every write accepts.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WriteQuery {
    dry_run: Option<String>,
    field_manager: Option<String>,
    field_validation: Option<String>,
    force: Option<bool>,
}

/// The request scope: namespace, the write options from the query, and
/// who is asking (`User-Agent`, the default field manager).
fn scope(r: &ResourcePath, raw: Option<&str>, headers: &HeaderMap) -> Result<RequestScope> {
    let q: WriteQuery = query(raw)?;
    let dry_run = match q.dry_run.as_deref() {
        None | Some("") => false,
        // The only value upstream accepts.
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "Invalid dryRun value \"{other}\": supported values are \"All\""
            )));
        }
    };
    if let Some(m) = q.field_manager.as_deref()
        && (m.len() > 128 || m.chars().any(|c| c.is_control()))
    {
        return Err(ApiError::BadRequest(format!(
            "fieldManager: Invalid value: {m:?}: must be at most 128 printable characters"
        )));
    }
    Ok(RequestScope {
        namespace: r.namespace.clone(),
        dry_run,
        field_manager: q.field_manager.filter(|m| !m.is_empty()),
        field_validation: FieldValidation::parse(q.field_validation.as_deref())?,
        force: q.force.unwrap_or(false),
        warnings: Warnings::default(),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
    })
}

/// Adds `Warning: 299 - "..."` headers (RFC 7234), as upstream does.
fn add_warnings(resp: &mut Response, warnings: Vec<String>) {
    for w in warnings {
        let text = w.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(v) = HeaderValue::from_str(&format!("299 - \"{text}\"")) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
}

async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes> {
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > MAX_BODY
    {
        return Err(ApiError::RequestEntityTooLarge(MAX_BODY));
    }
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|e| {
        let mut source: Option<&dyn std::error::Error> = Some(&e);
        while let Some(s) = source {
            if s.is::<http_body_util::LengthLimitError>() {
                return ApiError::RequestEntityTooLarge(MAX_BODY);
            }
            source = s.source();
        }
        ApiError::BadRequest(format!("error reading the request body: {e}"))
    })
}

/// Reads an object body (create, update) as JSON, whatever the client sent.
async fn object_body(headers: &HeaderMap, body: Body) -> Result<Bytes> {
    let ct = super::body::content_type(headers).to_string();
    // Refuse unknown formats before reading the body.
    if !matches!(
        ct.as_str(),
        "" | "application/json" | "*/*" | "application/vnd.kubernetes.protobuf"
    ) {
        return super::body::object_json(headers, Bytes::new());
    }
    let raw = read_body(headers, body).await?;
    super::body::object_json(headers, raw)
}

/// `includeObject`, the one query parameter of a Table request.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct TableQuery {
    include_object: Option<String>,
}

/// What the client's `Accept` asks for, as a transform of the registry's
/// JSON (`None`: send it as it is). Gets, lists and watches of an object,
/// its `status` or its `scale` may be transformed; other requests only
/// check that the client accepts JSON at all.
fn negotiate(
    method: &Method,
    r: &ResourcePath,
    raw_query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Option<Transform>> {
    let transforms = method == Method::GET
        && matches!(r.subresource.as_deref(), None | Some("status" | "scale"));
    let repr = resource_output(headers, transforms)?;
    if repr == Representation::Object {
        return Ok(None);
    }
    let q: TableQuery = query(raw_query)?;
    let include = IncludeObject::parse(q.include_object.as_deref())?;
    Ok(Transform::new(
        repr,
        &r.group,
        &r.resource,
        r.subresource.as_deref(),
        include,
    ))
}

/// A watch body with each event transformed (one-row Tables ...).
fn transform_watch(body: WatchBody, mut transform: Transform) -> WatchBody {
    use futures::StreamExt;
    Box::pin(
        body.map(move |chunk| transform.watch_chunk(&chunk, chrono::Utc::now()))
            .filter(|chunk| futures::future::ready(!chunk.is_empty())),
    )
}

/// Handles every `/api/...` and `/apis/...` request.
pub async fn handle(
    state: Arc<AppState>,
    method: Method,
    uri: http::Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let start = Instant::now();
    let path = uri.path().to_string();
    let span = tracing::debug_span!("request", %method, path = %path);
    async move {
        let parsed = parse(&path);
        let (verb, resource) = match &parsed {
            Some(ApiPath::Resource(r)) => (verb_of(&method, r, uri.query()), r.resource.clone()),
            _ => (method.as_str().to_string(), String::new()),
        };
        let response = match parsed {
            Some(ApiPath::Resource(r)) => {
                match serve_resource(&state, &method, &r, uri.query(), &headers, body).await {
                    Outcome::Done(resp) => resp,
                    Outcome::Streaming(resp) => {
                        // Counted when the watch starts; its latency is its lifetime.
                        METRICS.observe_request(&verb, &resource, 200, start.elapsed());
                        return resp;
                    }
                }
            }
            Some(other) => super::discovery::serve(&state, other, &headers),
            None => ApiError::NotFoundPath.into_response(),
        };
        METRICS.observe_request(
            &verb,
            &resource,
            response.status().as_u16(),
            start.elapsed(),
        );
        tracing::debug!(
            status = response.status().as_u16(),
            elapsed_ms = start.elapsed().as_millis() as u64,
            "done"
        );
        response
    }
    .instrument(span)
    .await
}

/// A resource request's response: complete, or a watch still streaming.
enum Outcome {
    Done(Response),
    Streaming(Response),
}

/// Negotiates the representation, dispatches, and converts the result.
async fn serve_resource(
    state: &AppState,
    method: &Method,
    r: &ResourcePath,
    raw_query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Outcome {
    let transform = match negotiate(method, r, raw_query, headers) {
        Ok(t) => t,
        Err(e) => return Outcome::Done(e.into_response()),
    };
    match dispatch(state, method, r, raw_query, headers, body).await {
        Ok(Dispatched::Reply(reply, warnings)) => {
            let body = match &transform {
                Some(t) if reply.code == StatusCode::OK => t.reply(&reply.body, chrono::Utc::now()),
                _ => Ok(reply.body),
            };
            Outcome::Done(match body {
                Ok(body) => {
                    let mut resp = json(reply.code, body);
                    add_warnings(&mut resp, warnings);
                    resp
                }
                Err(e) => e.into_response(),
            })
        }
        Ok(Dispatched::Watch(body)) => {
            let body = match transform {
                Some(t) => transform_watch(body, t),
                None => body,
            };
            let stream = futures::StreamExt::map(body, Ok::<Bytes, std::io::Error>);
            let mut resp = Response::new(Body::from_stream(stream));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Outcome::Streaming(resp)
        }
        Err(e) => Outcome::Done(e.into_response()),
    }
}

/// The upstream verb name for metrics.
fn verb_of(method: &Method, r: &ResourcePath, raw_query: Option<&str>) -> String {
    let is_watch = query::<ListParams>(raw_query)
        .map(|p| p.is_watch())
        .unwrap_or(false);
    match (method.as_str(), r.name.is_some()) {
        ("GET", false) if is_watch => "WATCH".into(),
        ("GET", false) => "LIST".into(),
        ("DELETE", false) => "DELETECOLLECTION".into(),
        (m, _) => m.into(),
    }
}

enum Dispatched {
    Reply(Reply, Vec<String>),
    Watch(crate::registry::WatchBody),
}

async fn dispatch(
    state: &AppState,
    method: &Method,
    r: &ResourcePath,
    raw_query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Dispatched> {
    let storage: &Arc<dyn RestStorage> = state
        .registry
        .get(&r.group, &r.version, &r.resource)
        .ok_or(ApiError::NotFoundPath)?;
    let info = storage.info();
    // A namespace in the path of a cluster-scoped kind names nothing.
    if r.namespace.is_some() && !info.namespaced {
        return Err(ApiError::NotFoundPath);
    }
    if let Some(sub) = &r.subresource
        && !info.subresources.contains(&sub.as_str())
    {
        return Err(ApiError::NotFoundPath);
    }
    let scope = scope(r, raw_query, headers)?;
    let needs_namespace = info.namespaced && r.namespace.is_none();
    let reply = match (method.as_str(), r.name.as_deref(), r.subresource.as_deref()) {
        ("GET", None, _) => {
            let params: ListParams = query(raw_query)?;
            if params.is_watch() {
                return Ok(Dispatched::Watch(storage.watch(&scope, &params).await?));
            }
            storage.list(&scope, &params).await?
        }
        (_, _, _) if needs_namespace => {
            return Err(ApiError::MethodNotAllowed(format!(
                "the server does not allow this method on the requested resource: {method} {} without a namespace",
                r.resource
            )));
        }
        ("GET", Some(name), None) => storage.get(&scope, name).await?,
        ("GET", Some(name), Some(sub)) => storage.get_subresource(&scope, name, sub).await?,
        ("POST", None, _) => {
            let body = object_body(headers, body).await?;
            storage.create(&scope, &body).await?
        }
        ("POST", Some(name), Some(sub)) => {
            let body = object_body(headers, body).await?;
            storage.create_subresource(&scope, name, sub, &body).await?
        }
        ("PUT", Some(name), sub) => {
            let body = object_body(headers, body).await?;
            match sub {
                None => storage.update(&scope, name, &body).await?,
                Some(sub) => storage.update_subresource(&scope, name, sub, &body).await?,
            }
        }
        ("PATCH", Some(name), sub) => {
            let ct = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let kind = PatchType::from_content_type(ct).ok_or_else(|| {
                ApiError::UnsupportedMediaType(format!(
                    "the body of the request was in an unknown format - accepted media types include: \
                     application/json-patch+json, application/merge-patch+json, \
                     application/strategic-merge-patch+json, application/apply-patch+yaml (got {ct:?})"
                ))
            })?;
            let body = read_body(headers, body).await?;
            match sub {
                None => storage.patch(&scope, name, kind, &body).await?,
                Some(sub) => {
                    storage
                        .patch_subresource(&scope, name, sub, kind, &body)
                        .await?
                }
            }
        }
        ("DELETE", Some(name), None) => {
            let body = super::body::options_json(headers, read_body(headers, body).await?)?;
            let q: DeleteQuery = query(raw_query)?;
            storage.delete(&scope, name, &body, &q).await?
        }
        ("DELETE", None, None) => {
            let body = super::body::options_json(headers, read_body(headers, body).await?)?;
            let q: DeleteQuery = query(raw_query)?;
            let params: ListParams = query(raw_query)?;
            storage
                .delete_collection(&scope, &params, &body, &q)
                .await?
        }
        _ => {
            return Err(ApiError::MethodNotAllowed(format!(
                "the server does not allow this method on the requested resource: {method}"
            )));
        }
    };
    Ok(Dispatched::Reply(reply, scope.warnings.take()))
}
