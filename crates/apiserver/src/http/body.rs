//! Request bodies: whatever format the client sent, the registry sees JSON.
//!
//! kubectl sends JSON for most commands, but since 1.32 its typed clients
//! (`kubectl create namespace|configmap|secret|deployment|service|
//! serviceaccount`, `debug --copy-to`, `drain --disable-eviction`'s deletes)
//! send Kubernetes protobuf (`application/vnd.kubernetes.protobuf`), which
//! [`crate::protobuf`] turns into the same JSON.

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

/// A DELETE body (`DeleteOptions`, optional) as JSON bytes. Protobuf is
/// converted; anything else is passed on as it was (JSON, or nothing), as
/// DELETE bodies have always been read.
///
/// # Errors
/// 400 for a protobuf body that does not decode.
pub fn options_json(headers: &HeaderMap, body: Bytes) -> Result<Bytes> {
    if content_type(headers) == crate::protobuf::MEDIA_TYPE && !body.is_empty() {
        crate::protobuf::to_json(&body)
    } else {
        Ok(body)
    }
}
