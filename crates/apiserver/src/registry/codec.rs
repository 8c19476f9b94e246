//! Turning bytes into typed objects and back.
//!
//! Objects are stored as JSON without `resourceVersion` (the store's revision
//! is the version, so writing it into the value would be redundant and
//! wrong after the write) and with `apiVersion`/`kind` set. Reading sets
//! `resourceVersion` from the key's revision, as upstream's etcd3 store does.

use api_types::Resource;
use bytes::Bytes;
use storage::{KeyValue, Revision};

use crate::error::{ApiError, Result};

/// Parses a request body as `K`, checking `apiVersion` and `kind`.
///
/// # Errors
/// 400 BadRequest for malformed JSON, wrong types or a different kind.
pub fn decode_body<K: Resource>(body: &[u8]) -> Result<K> {
    let mut obj: K = serde_json::from_slice(body).map_err(|e| {
        ApiError::BadRequest(format!(
            "{} in version \"{}\" cannot be handled as a {}: {}",
            K::KIND,
            K::VERSION,
            K::KIND,
            e
        ))
    })?;
    check_type_meta::<K>(obj.type_meta())?;
    obj.set_type_meta();
    Ok(obj)
}

/// Checks `apiVersion`/`kind` as read from a body; empty is allowed and
/// filled in.
pub fn check_type_meta<K: Resource>((api_version, kind): (&str, &str)) -> Result<()> {
    if !api_version.is_empty() && api_version != K::API_VERSION {
        return Err(ApiError::BadRequest(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            K::API_VERSION
        )));
    }
    if !kind.is_empty() && kind != K::KIND {
        return Err(ApiError::BadRequest(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            K::KIND
        )));
    }
    Ok(())
}

/// Decodes a stored value, setting `resourceVersion` to its revision.
///
/// # Errors
/// 500 when the stored bytes are not a valid `K` (corruption or a bug).
pub fn decode_stored<K: Resource>(kv: &KeyValue) -> Result<K> {
    decode_stored_at(&kv.value, kv.mod_revision)
}

pub fn decode_stored_at<K: Resource>(value: &[u8], revision: Revision) -> Result<K> {
    let mut obj: K = serde_json::from_slice(value)
        .map_err(|e| ApiError::Internal(format!("stored {} is not decodable: {e}", K::KIND)))?;
    obj.metadata_mut().resource_version = revision.to_string();
    obj.set_type_meta();
    Ok(obj)
}

/// Serializes for storage: no `resourceVersion`.
pub fn encode_for_storage<K: Resource>(obj: &K) -> Result<Bytes> {
    let mut obj = obj.clone();
    obj.metadata_mut().resource_version.clear();
    obj.set_type_meta();
    serde_json::to_vec(&obj)
        .map(Bytes::from)
        .map_err(|e| ApiError::Internal(format!("cannot encode {}: {e}", K::KIND)))
}

/// Serializes for a response.
pub fn encode<T: serde::Serialize>(obj: &T) -> Result<Bytes> {
    serde_json::to_vec(obj)
        .map(Bytes::from)
        .map_err(|e| ApiError::Internal(format!("cannot encode response: {e}")))
}

/// Parses a `resourceVersion` a client sent.
///
/// # Errors
/// 400 BadRequest when it is not a revision number.
pub fn parse_resource_version(rv: &str) -> Result<Revision> {
    rv.parse::<Revision>()
        .ok()
        .filter(|r| *r >= 0)
        .ok_or_else(|| ApiError::BadRequest(format!("invalid resource version \"{rv}\"")))
}

/// Re-renders stored JSON bytes with a different `resourceVersion` (used for
/// DELETED watch events, which carry the deletion's revision).
pub fn with_resource_version(json: &[u8], revision: Revision) -> Result<Bytes> {
    let mut value: serde_json::Value = serde_json::from_slice(json)
        .map_err(|e| ApiError::Internal(format!("cached object is not JSON: {e}")))?;
    if let Some(meta) = value.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        meta.insert(
            "resourceVersion".into(),
            serde_json::Value::String(revision.to_string()),
        );
    }
    encode(&value)
}
