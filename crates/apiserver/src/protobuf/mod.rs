//! Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`),
//! turned into the JSON the registry reads.
//!
//! Since 1.32, kubectl's typed clients (`kubectl create namespace|configmap|
//! secret|deployment|service|serviceaccount ...`) send protobuf instead of
//! JSON. Rather than a second object model, we translate: the bytes become
//! exactly the JSON a JSON client would have sent for the same object, and
//! everything after that (defaulting, validation, storage) is unchanged.
//! Responses stay JSON, which every client accepts.
//!
//! # Layout
//! - [`wire`]: the protobuf wire format (varints, length-delimited fields).
//! - [`schema`]: what a descriptor table says about a message.
//! - [`tables`]: one table per Kubernetes type, by API group.
//! - [`decode`]: walks the bytes with a table and writes JSON.
//!
//! # The envelope
//! A body is the 4 magic bytes `k8s\0` followed by a `runtime.Unknown`
//! message:
//!
//! ```text
//! 1: typeMeta        {1: apiVersion, 2: kind}
//! 2: raw             the object's own message (a Deployment, ...)
//! 3: contentEncoding empty (nothing else is used)
//! 4: contentType     empty or application/vnd.kubernetes.protobuf
//! ```
//!
//! `apiVersion` and `kind` pick the table for `raw`, and go into the JSON
//! as they would in a JSON body.

pub mod decode;
pub mod schema;
pub mod tables;
pub mod wire;

use bytes::Bytes;
use serde_json::{Map, Value};

pub use decode::DecodeError;

use crate::error::{ApiError, Result};
use wire::{Reader, WireValue};

/// The magic prefix of every Kubernetes protobuf body.
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// The media type of Kubernetes protobuf.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Decodes a protobuf-encoded object into its JSON form.
///
/// # Errors
/// 400 BadRequest for a body that is not a well-formed Kubernetes protobuf
/// object of a kind we know, naming what is wrong (see [`DecodeError`]).
pub fn to_json(body: &[u8]) -> Result<Bytes> {
    let object = decode(body).map_err(|e| ApiError::BadRequest(message(body, &e)))?;
    serde_json::to_vec(&Value::Object(object))
        .map(Bytes::from)
        .map_err(|e| ApiError::Internal(format!("encoding the decoded object as JSON: {e}")))
}

/// Decodes a protobuf-encoded object into a JSON object, `apiVersion` and
/// `kind` included.
///
/// # Errors
/// See [`DecodeError`].
pub fn decode(body: &[u8]) -> std::result::Result<Map<String, Value>, DecodeError> {
    let envelope = Envelope::parse(body)?;
    let table = tables::root(&envelope.api_version, &envelope.kind).ok_or_else(|| {
        DecodeError::UnknownKind {
            api_version: envelope.api_version.clone(),
            kind: envelope.kind.clone(),
        }
    })?;
    let mut object = decode::object(table, envelope.raw)?;
    object.insert("apiVersion".into(), Value::String(envelope.api_version));
    object.insert("kind".into(), Value::String(envelope.kind));
    Ok(object)
}

/// Upstream's wording for a body it cannot decode, when we know the kind:
/// `Deployment in version "v1" cannot be handled as a Deployment: ...`.
fn message(body: &[u8], err: &DecodeError) -> String {
    match Envelope::parse(body) {
        Ok(env) if !matches!(err, DecodeError::UnknownKind { .. }) => {
            let version = env
                .api_version
                .rsplit('/')
                .next()
                .unwrap_or(&env.api_version)
                .to_string();
            format!(
                "{} in version \"{version}\" cannot be handled as a {}: {err}",
                env.kind, env.kind
            )
        }
        _ => err.to_string(),
    }
}

/// The `runtime.Unknown` wrapper around every object.
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
}

impl<'a> Envelope<'a> {
    fn parse(body: &'a [u8]) -> std::result::Result<Self, DecodeError> {
        let unknown = body.strip_prefix(MAGIC).ok_or(DecodeError::BadMagic)?;
        let mut env = Envelope {
            api_version: String::new(),
            kind: String::new(),
            raw: &[],
        };
        for (number, value) in fields("Unknown", unknown)? {
            match number {
                1 => {
                    for (number, value) in fields("TypeMeta", len("Unknown", number, value)?)? {
                        let text = text("TypeMeta", number, value)?;
                        match number {
                            1 => env.api_version = text,
                            2 => env.kind = text,
                            _ => return Err(unknown_field("TypeMeta", number)),
                        }
                    }
                }
                2 => env.raw = len("Unknown", number, value)?,
                3 => {
                    let encoding = text("Unknown", number, value)?;
                    if !encoding.is_empty() {
                        return Err(DecodeError::ContentEncoding(encoding));
                    }
                }
                4 => {
                    let content_type = text("Unknown", number, value)?;
                    if !content_type.is_empty() && content_type != MEDIA_TYPE {
                        return Err(DecodeError::ContentType(content_type));
                    }
                }
                _ => return Err(unknown_field("Unknown", number)),
            }
        }
        Ok(env)
    }
}

fn fields<'a>(
    message: &'static str,
    bytes: &'a [u8],
) -> std::result::Result<Vec<(u32, WireValue<'a>)>, DecodeError> {
    Reader::new(bytes)
        .collect::<std::result::Result<_, _>>()
        .map_err(|source| DecodeError::Wire {
            message,
            at: decode::At::default(),
            source,
        })
}

fn len<'a>(
    message: &'static str,
    number: u32,
    value: WireValue<'a>,
) -> std::result::Result<&'a [u8], DecodeError> {
    match value {
        WireValue::Len(bytes) => Ok(bytes),
        other => Err(DecodeError::WireType {
            message,
            number,
            at: decode::At::default(),
            got: other.kind(),
            want: "length-delimited",
        }),
    }
}

fn text(
    message: &'static str,
    number: u32,
    value: WireValue<'_>,
) -> std::result::Result<String, DecodeError> {
    String::from_utf8(len(message, number, value)?.to_vec()).map_err(|_| DecodeError::Utf8 {
        at: decode::At::default(),
    })
}

fn unknown_field(message: &'static str, number: u32) -> DecodeError {
    DecodeError::UnknownField {
        message,
        number,
        at: decode::At::default(),
    }
}

#[cfg(test)]
mod tests;
