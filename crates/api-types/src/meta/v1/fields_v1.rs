//! `fieldsV1`: the set of fields one manager owns, in its wire form.
//!
//! On the wire it is a tree of JSON objects, one key per path element
//! (`{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}`; the apiserver's
//! `patch::apply::fieldset` explains the keys). Here it is kept as that
//! JSON text, as upstream's `FieldsV1` keeps raw bytes: the apiserver
//! renders one on every write and passes it through on every read, and
//! only parses one when a write changes who owns what. A tree of
//! `serde_json::Value`s would be built and taken apart each time instead.

use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A `fieldsV1` value: compact JSON text.
#[derive(Clone)]
pub struct FieldsV1(Box<RawValue>);

impl FieldsV1 {
    /// From JSON text.
    ///
    /// # Errors
    /// When `json` is not one JSON value.
    pub fn from_json(json: String) -> Result<FieldsV1, serde_json::Error> {
        RawValue::from_string(json).map(FieldsV1)
    }

    /// From JSON text already checked (written by `serde_json`).
    pub fn from_raw(json: Box<RawValue>) -> FieldsV1 {
        FieldsV1(json)
    }

    /// From a parsed value.
    pub fn from_value(value: &serde_json::Value) -> FieldsV1 {
        // A `Value` always serializes: its map keys are strings.
        FieldsV1(serde_json::value::to_raw_value(value).unwrap_or_default())
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// Parses the text.
    ///
    /// # Errors
    /// Never for a value built here; kept for the type's sake.
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(self.as_str())
    }
}

impl PartialEq for FieldsV1 {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for FieldsV1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FieldsV1").field(&self.as_str()).finish()
    }
}

impl Serialize for FieldsV1 {
    /// As the JSON it holds (copied as is by `serde_json`'s serializers).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for FieldsV1 {
    /// From any format (JSON, YAML, a `Value`): the value is written out as
    /// compact JSON while it is read, without building a tree.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FieldsV1, D::Error> {
        let mut out = Vec::with_capacity(128);
        serde_transcode::transcode(deserializer, &mut serde_json::Serializer::new(&mut out))
            .map_err(D::Error::custom)?;
        let json = String::from_utf8(out).map_err(D::Error::custom)?;
        FieldsV1::from_json(json).map_err(D::Error::custom)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for FieldsV1 {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIRE: &str = r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}"#;

    #[test]
    fn json_passes_through_as_is() {
        let v: FieldsV1 = serde_json::from_str(WIRE).expect("decodes");
        assert_eq!(v.as_str(), WIRE);
        assert_eq!(serde_json::to_string(&v).expect("encodes"), WIRE);
        // Whitespace a client sent is not kept.
        let spaced: FieldsV1 =
            serde_json::from_str("{ \"f:a\" : { } }").expect("decodes with spaces");
        assert_eq!(spaced.as_str(), r#"{"f:a":{}}"#);
    }

    #[test]
    fn other_formats_and_values_decode() {
        let from_yaml: FieldsV1 =
            serde_yaml::from_str("f:metadata:\n  f:labels:\n    .: {}\n    f:app: {}\n")
                .expect("decodes from YAML");
        assert_eq!(from_yaml.as_str(), WIRE);
        let value: serde_json::Value = serde_json::from_str(WIRE).expect("json");
        let from_value: FieldsV1 = serde_json::from_value(value.clone()).expect("from a Value");
        assert_eq!(from_value, FieldsV1::from_value(&value));
        assert_eq!(
            serde_json::to_value(&from_value).expect("to a Value"),
            value
        );
        assert_eq!(from_value.to_value().expect("parses"), value);
    }

    #[test]
    fn bad_json_is_refused() {
        assert!(FieldsV1::from_json("{".into()).is_err());
        assert!(serde_json::from_str::<FieldsV1>("{\"a\":").is_err());
    }
}
