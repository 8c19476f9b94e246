//! Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`),
//! turned into JSON for the registry. (Being written: until then, a clear 415.)

use bytes::Bytes;

use crate::error::{ApiError, Result};

/// Decodes a protobuf-encoded object into its JSON form.
///
/// # Errors
/// 415 while protobuf is not supported.
pub fn to_json(_body: &[u8]) -> Result<Bytes> {
    Err(ApiError::UnsupportedMediaType(
        "the body of the request was in an unknown format - accepted media types include: application/json \
         (got application/vnd.kubernetes.protobuf)"
            .into(),
    ))
}
