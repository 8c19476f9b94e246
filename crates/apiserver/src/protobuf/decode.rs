//! Table-driven decoding: protobuf bytes plus a [`Message`] table in,
//! Kubernetes JSON out.
//!
//! The decoder walks the wire fields ([`super::wire`]), looks each number up
//! in the table and writes the value under its JSON name, recursing into
//! nested messages. The special apimachinery types (Quantity, Time,
//! IntOrString, ...) are small messages on the wire but scalars in JSON;
//! they are decoded with their own little tables below and then flattened.
//!
//! # Errors
//! Anything the tables do not describe is an error, never a silent drop: an
//! unknown field number, a wire type that does not match the field, invalid
//! UTF-8, a time out of range. Errors name the message, the field number and
//! the JSON path (`spec.template.spec.containers[0]`).

use std::fmt;

use base64::Engine;
use serde_json::{Map, Number, Value};
use thiserror::Error;

use super::schema::{Field, INT32, INT64, Message, STRING, Shape, Type, field, keep, message};
use super::wire::{Reader, WireError, WireValue, read_varint};

/// Nested messages deeper than this are refused. The tables themselves are
/// not recursive, so real objects stay far below it; it only bounds the
/// work (and the stack) if a table ever becomes recursive.
const MAX_DEPTH: usize = 64;

/// Why a protobuf body could not become JSON.
#[derive(Debug, Error)]
pub enum DecodeError {
    #[error("not a Kubernetes protobuf object (the body must start with \"k8s\\x00\")")]
    BadMagic,
    #[error("malformed protobuf in {message}{at}: {source}")]
    Wire {
        message: &'static str,
        at: At,
        #[source]
        source: WireError,
    },
    #[error("unknown field {number} in message {message}{at}")]
    UnknownField {
        message: &'static str,
        number: u32,
        at: At,
    },
    #[error("field {number} of {message}{at} has wire type {got}, expected {want}")]
    WireType {
        message: &'static str,
        number: u32,
        at: At,
        got: &'static str,
        want: &'static str,
    },
    #[error("invalid UTF-8 in a string{at}")]
    Utf8 { at: At },
    #[error("time out of range{at}")]
    TimeRange { at: At },
    #[error("invalid JSON in FieldsV1{at}: {detail}")]
    Json { at: At, detail: String },
    #[error("objects nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("no kind \"{kind}\" is registered for version \"{api_version}\"")]
    UnknownKind { api_version: String, kind: String },
    #[error("unsupported content encoding {0:?}")]
    ContentEncoding(String),
    #[error("unsupported content type {0:?} inside the protobuf envelope")]
    ContentType(String),
}

/// Where in the object an error happened: `" at spec.template"`, or
/// nothing at the top level.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct At(String);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, " at {}", self.0)
        }
    }
}

/// One step of the JSON path to the value being decoded.
enum Step {
    Field(&'static str),
    Index(usize),
    Key(String),
}

/// Decodes one message into a JSON object.
///
/// # Errors
/// See the [module docs](self).
pub fn object(msg: &'static Message, bytes: &[u8]) -> Result<Map<String, Value>, DecodeError> {
    let mut out = Map::new();
    Decoder { path: Vec::new() }.message(msg, bytes, &mut out)?;
    Ok(out)
}

struct Decoder {
    path: Vec<Step>,
}

impl Decoder {
    fn at(&self) -> At {
        let mut s = String::new();
        for step in &self.path {
            match step {
                Step::Field("") => {}
                Step::Field(name) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(name);
                }
                Step::Index(i) => s.push_str(&format!("[{i}]")),
                Step::Key(k) => s.push_str(&format!("[{k:?}]")),
            }
        }
        At(s)
    }

    /// Decodes the fields of `msg` from `bytes` into `out` (which may
    /// already hold fields: a repeated occurrence of a message merges, as
    /// protobuf specifies, and inline structs share their parent's object).
    fn message(
        &mut self,
        msg: &'static Message,
        bytes: &[u8],
        out: &mut Map<String, Value>,
    ) -> Result<(), DecodeError> {
        if self.path.len() > MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        for item in Reader::new(bytes) {
            let (number, wire) = item.map_err(|source| DecodeError::Wire {
                message: msg.name,
                at: self.at(),
                source,
            })?;
            let Some(field) = msg.field(number) else {
                return Err(DecodeError::UnknownField {
                    message: msg.name,
                    number,
                    at: self.at(),
                });
            };
            self.path.push(Step::Field(field.json));
            let result = self.field(msg, field, wire, out);
            self.path.pop();
            result?;
        }
        Ok(())
    }

    fn field(
        &mut self,
        msg: &'static Message,
        field: &'static Field,
        wire: WireValue<'_>,
        out: &mut Map<String, Value>,
    ) -> Result<(), DecodeError> {
        match field.shape {
            Shape::Inline => {
                let Type::Message(inner) = field.ty else {
                    // Tables only inline messages (checked by a test).
                    return Err(self.wire_type(msg, field.number, wire, "length-delimited"));
                };
                let bytes = self.len(msg, field.number, wire)?;
                self.message(inner, bytes, out)
            }
            Shape::Single | Shape::Keep => {
                if let Type::Message(inner) = field.ty {
                    // Merge with an earlier occurrence, if any.
                    let bytes = self.len(msg, field.number, wire)?;
                    let mut obj = match out.remove(field.json) {
                        Some(Value::Object(obj)) => obj,
                        _ => Map::new(),
                    };
                    self.message(inner, bytes, &mut obj)?;
                    out.insert(field.json.to_string(), Value::Object(obj));
                    return Ok(());
                }
                match self.value(msg, field.number, field.ty, wire)? {
                    Some(v) if field.shape == Shape::Keep || !is_zero(field.ty, &v) => {
                        out.insert(field.json.to_string(), v);
                    }
                    // The last occurrence wins, even a zero one.
                    _ => {
                        out.remove(field.json);
                    }
                }
                Ok(())
            }
            Shape::List => {
                let mut items = match out.remove(field.json) {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                };
                let result = self.list_item(msg, field.number, field.ty, wire, &mut items);
                out.insert(field.json.to_string(), Value::Array(items));
                result
            }
            Shape::Map => {
                let bytes = self.len(msg, field.number, wire)?;
                let (key, value) = self.map_entry(field.ty, bytes)?;
                match out
                    .entry(field.json)
                    .or_insert_with(|| Value::Object(Map::new()))
                {
                    Value::Object(entries) => {
                        entries.insert(key, value);
                    }
                    other => *other = Value::Object(Map::from_iter([(key, value)])),
                }
                Ok(())
            }
        }
    }

    /// Appends one occurrence of a repeated field. Repeated numbers may also
    /// come *packed*: one length-delimited run of varints.
    fn list_item(
        &mut self,
        msg: &'static Message,
        number: u32,
        ty: Type,
        wire: WireValue<'_>,
        items: &mut Vec<Value>,
    ) -> Result<(), DecodeError> {
        self.path.push(Step::Index(items.len()));
        let result = match (ty, wire) {
            (Type::Bool | Type::Int32 | Type::Int64, WireValue::Len(mut packed)) => {
                while !packed.is_empty() {
                    let v = read_varint(&mut packed).map_err(|source| DecodeError::Wire {
                        message: msg.name,
                        at: self.at(),
                        source,
                    })?;
                    items.push(varint_value(ty, v));
                }
                Ok(())
            }
            _ => self
                .value(msg, number, ty, wire)
                .map(|v| items.push(v.unwrap_or(Value::Null))),
        };
        self.path.pop();
        result
    }

    /// A map entry is the message `{1: key, 2: value}`; either may be
    /// missing (then it is the zero value).
    fn map_entry(&mut self, ty: Type, bytes: &[u8]) -> Result<(String, Value), DecodeError> {
        let mut key = String::new();
        let mut value = None;
        for item in Reader::new(bytes) {
            let (number, wire) = item.map_err(|source| DecodeError::Wire {
                message: "map entry",
                at: self.at(),
                source,
            })?;
            match number {
                1 => key = self.string(self.len(&MAP_ENTRY, 1, wire)?)?,
                2 => {
                    self.path.push(Step::Key(key.clone()));
                    let v = self.value(&MAP_ENTRY, 2, ty, wire);
                    self.path.pop();
                    value = v?;
                }
                _ => {
                    return Err(DecodeError::UnknownField {
                        message: "map entry",
                        number,
                        at: self.at(),
                    });
                }
            }
        }
        let value = match (value, ty) {
            (Some(v), _) => v,
            (None, Type::Quantity) => Value::String("0".into()),
            (None, Type::Message(_)) => Value::Object(Map::new()),
            (None, _) => Value::String(String::new()),
        };
        Ok((key, value))
    }

    /// One value of type `ty`; `None` when there is nothing to write (an
    /// empty FieldsV1).
    fn value(
        &mut self,
        msg: &'static Message,
        number: u32,
        ty: Type,
        wire: WireValue<'_>,
    ) -> Result<Option<Value>, DecodeError> {
        Ok(Some(match ty {
            Type::Bool | Type::Int32 | Type::Int64 => match wire {
                WireValue::Varint(v) => varint_value(ty, v),
                other => return Err(self.wire_type(msg, number, other, "varint")),
            },
            Type::String => Value::String(self.string(self.len(msg, number, wire)?)?),
            Type::Bytes => Value::String(
                base64::engine::general_purpose::STANDARD.encode(self.len(msg, number, wire)?),
            ),
            Type::Message(inner) => {
                let mut obj = Map::new();
                self.message(inner, self.len(msg, number, wire)?, &mut obj)?;
                Value::Object(obj)
            }
            Type::Quantity => {
                let q = self.special(&QUANTITY, msg, number, wire)?;
                // An empty Quantity is zero, which Go writes as "0".
                q.get("string")
                    .cloned()
                    .unwrap_or_else(|| Value::String("0".into()))
            }
            Type::Time | Type::MicroTime => {
                let t = self.special(&TIMESTAMP, msg, number, wire)?;
                if t.is_empty() {
                    // The zero time: Go writes it as `null`.
                    return Ok(Some(Value::Null));
                }
                let seconds = t.get("seconds").and_then(Value::as_i64).unwrap_or(0);
                let nanos = t.get("nanos").and_then(Value::as_i64).unwrap_or(0);
                Value::String(self.time(seconds, nanos, matches!(ty, Type::MicroTime))?)
            }
            Type::IntOrString => {
                let v = self.special(&INT_OR_STRING, msg, number, wire)?;
                // type 1 is a string; anything else (0, or absent) an int.
                if v.get("type").and_then(Value::as_i64) == Some(1) {
                    v.get("strVal")
                        .cloned()
                        .unwrap_or_else(|| Value::String(String::new()))
                } else {
                    v.get("intVal").cloned().unwrap_or_else(|| Value::from(0))
                }
            }
            Type::FieldsV1 => {
                let v = self.special(&FIELDS_V1, msg, number, wire)?;
                match v.get("raw").and_then(Value::as_str) {
                    None | Some("") => return Ok(None),
                    Some(raw) => serde_json::from_str(raw).map_err(|e| DecodeError::Json {
                        at: self.at(),
                        detail: e.to_string(),
                    })?,
                }
            }
        }))
    }

    /// Decodes one of the small apimachinery messages with its own table.
    fn special(
        &mut self,
        table: &'static Message,
        msg: &'static Message,
        number: u32,
        wire: WireValue<'_>,
    ) -> Result<Map<String, Value>, DecodeError> {
        let bytes = self.len(msg, number, wire)?;
        let mut out = Map::new();
        self.message(table, bytes, &mut out)?;
        Ok(out)
    }

    fn len<'a>(
        &self,
        msg: &'static Message,
        number: u32,
        wire: WireValue<'a>,
    ) -> Result<&'a [u8], DecodeError> {
        match wire {
            WireValue::Len(bytes) => Ok(bytes),
            other => Err(self.wire_type(msg, number, other, "length-delimited")),
        }
    }

    fn wire_type(
        &self,
        msg: &'static Message,
        number: u32,
        got: WireValue<'_>,
        want: &'static str,
    ) -> DecodeError {
        DecodeError::WireType {
            message: msg.name,
            number,
            at: self.at(),
            got: got.kind(),
            want,
        }
    }

    fn string(&self, bytes: &[u8]) -> Result<String, DecodeError> {
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Utf8 { at: self.at() })
    }

    /// RFC 3339 in UTC, as Go's `metav1.Time` (seconds; the protobuf
    /// decoder drops the nanoseconds too) and `metav1.MicroTime`
    /// (microseconds) write it.
    fn time(&self, seconds: i64, nanos: i64, micro: bool) -> Result<String, DecodeError> {
        let range = || DecodeError::TimeRange { at: self.at() };
        let seconds = seconds
            .checked_add(nanos.div_euclid(1_000_000_000))
            .ok_or_else(range)?;
        let nanos = u32::try_from(nanos.rem_euclid(1_000_000_000)).map_err(|_| range())?;
        let t = chrono::DateTime::from_timestamp(seconds, if micro { nanos } else { 0 })
            .ok_or_else(range)?;
        // Go refuses to write years outside 0000-9999 in RFC 3339.
        if !(0..=9999).contains(&chrono::Datelike::year(&t)) {
            return Err(range());
        }
        Ok(if micro {
            t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
        } else {
            t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        })
    }
}

fn varint_value(ty: Type, v: u64) -> Value {
    match ty {
        Type::Bool => Value::Bool(v != 0),
        // int32 is sign-extended to 64 bits on the wire: truncate back.
        Type::Int32 => Value::Number(Number::from(v as i32)),
        _ => Value::Number(Number::from(v as i64)),
    }
}

/// The zero values Go's `omitempty` leaves out. Only plain scalars have
/// one: a present Quantity or IntOrString is written even when zero (a
/// `maxUnavailable: 0` is not the same as no `maxUnavailable`).
fn is_zero(ty: Type, v: &Value) -> bool {
    if !matches!(
        ty,
        Type::Bool | Type::Int32 | Type::Int64 | Type::String | Type::Bytes
    ) {
        return false;
    }
    match v {
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// For error messages about map entries.
static MAP_ENTRY: Message = message("map entry", &[]);

/// `k8s.io.apimachinery.pkg.api.resource.Quantity`
static QUANTITY: Message = message("Quantity", &[field(1, "string", STRING)]);

/// `metav1.Time` and `metav1.MicroTime` share this shape.
static TIMESTAMP: Message = message(
    "Time",
    &[keep(1, "seconds", INT64), keep(2, "nanos", INT32)],
);

/// `k8s.io.apimachinery.pkg.util.intstr.IntOrString`
static INT_OR_STRING: Message = message(
    "IntOrString",
    &[
        keep(1, "type", INT64),
        keep(2, "intVal", INT32),
        keep(3, "strVal", STRING),
    ],
);

/// `metav1.FieldsV1`: its `raw` bytes are JSON text.
static FIELDS_V1: Message = message("FieldsV1", &[field(1, "raw", STRING)]);
