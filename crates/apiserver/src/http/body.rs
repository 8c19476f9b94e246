//! Request bodies: whatever format the client sent, the registry sees JSON.
//!
//! kubectl sends JSON for most commands, but since 1.30-ish its typed
//! clients (`kubectl create namespace|configmap|deployment|service ...`) send
//! Kubernetes protobuf (`application/vnd.kubernetes.protobuf`).

use bytes::Bytes;
use http::{HeaderMap, header};

use crate::error::{ApiError, Result};

/// The base media type of the request (`application/json` for `application/json; charset=utf-8`).
pub fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("")
}

/// An object body (create, update) as JSON bytes.
///
/// # Errors
/// 415 for media types we do not read; 400 for bodies that do not decode.
pub fn object_json(headers: &HeaderMap, body: Bytes) -> Result<Bytes> {
    match content_type(headers) {
        "" | "application/json" | "*/*" => Ok(body),
        "application/vnd.kubernetes.protobuf" => crate::protobuf::to_json(&body),
        other => Err(ApiError::UnsupportedMediaType(format!(
            "the body of the request was in an unknown format - accepted media types include: application/json, \
             application/vnd.kubernetes.protobuf (got {other})"
        ))),
    }
}
