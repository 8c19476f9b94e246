//! `ConfigMap` and `Secret`: configuration handed to pods as environment
//! variables or files, plus [`ByteString`], the base64 wire form of bytes.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::meta::v1::ObjectMeta;

/// Non-secret configuration as key/value pairs (keys are file-name-like:
/// `[-._a-zA-Z0-9]+`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.ConfigMap")
)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMap {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// UTF-8 values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
    /// Binary values, base64 in JSON. Keys may not repeat those of `data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_data: Option<BTreeMap<String, ByteString>>,
    /// When true, `data` and `binaryData` can no longer change (only deletion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
}

crate::resource!(
    ConfigMap,
    group = "",
    version = "v1",
    api_version = "v1",
    kind = "ConfigMap",
    plural = "configmaps",
    singular = "configmap",
    namespaced = true,
    short = ["cm"]
);

/// Sensitive configuration (passwords, tokens, keys). Values are base64 in
/// JSON (encoding, not encryption).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.Secret")
)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Values as bytes (base64 on the wire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, ByteString>>,
    /// Write-only convenience: plain-text values the apiserver merges into
    /// `data` on write; never returned on read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_data: Option<BTreeMap<String, String>>,
    /// `Opaque` (default), `kubernetes.io/service-account-token`,
    /// `kubernetes.io/dockerconfigjson`, `kubernetes.io/tls`, ...
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
}

crate::resource!(
    Secret,
    group = "",
    version = "v1",
    api_version = "v1",
    kind = "Secret",
    plural = "secrets",
    singular = "secret",
    namespaced = true,
    short = []
);

/// Bytes that travel as a standard base64 string in JSON, as Go's `[]byte`.
///
/// # Errors
/// Decoding fails (with a serde error, never a panic) on anything that is
/// not padded standard base64. A JSON `null` decodes as no bytes, like Go.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteString(pub Vec<u8>);

impl From<Vec<u8>> for ByteString {
    fn from(bytes: Vec<u8>) -> Self {
        ByteString(bytes)
    }
}

impl From<&str> for ByteString {
    fn from(s: &str) -> Self {
        ByteString(s.as_bytes().to_vec())
    }
}

impl Serialize for ByteString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for ByteString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Some(s) = Option::<String>::deserialize(d)? else {
            return Ok(ByteString::default());
        };
        STANDARD
            .decode(s.as_bytes())
            .map(ByteString)
            .map_err(|e| serde::de::Error::custom(format!("invalid base64 data: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_written_as_standard_base64() {
        let b = ByteString::from("hello\n");
        assert_eq!(serde_json::to_string(&b).expect("ser"), "\"aGVsbG8K\"");
        let back: ByteString = serde_json::from_str("\"aGVsbG8K\"").expect("de");
        assert_eq!(back, b);
    }

    #[test]
    fn non_ascii_bytes_round_trip() {
        let b = ByteString(vec![0, 0xff, 0xfe, b'+', b'/']);
        let json = serde_json::to_string(&b).expect("ser");
        assert_eq!(serde_json::from_str::<ByteString>(&json).expect("de"), b);
    }

    #[test]
    fn bad_base64_is_an_error_not_a_panic() {
        for bad in ["\"not base64!\"", "\"aGVsbG8\"", "\"a\"", "12", "{}"] {
            assert!(
                serde_json::from_str::<ByteString>(bad).is_err(),
                "{bad} decoded"
            );
        }
    }

    #[test]
    fn null_is_empty() {
        let b: ByteString = serde_json::from_str("null").expect("null");
        assert!(b.0.is_empty());
    }

    #[test]
    fn secret_data_map_decodes() {
        let s: Secret = serde_json::from_str(
            r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"pw":"czNjcjN0"}}"#,
        )
        .expect("secret");
        let data = s.data.expect("data");
        assert_eq!(data["pw"].0, b"s3cr3t");
    }
}
