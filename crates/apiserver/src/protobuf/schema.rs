//! The shape of a descriptor table: what the decoder needs to know about one
//! protobuf message to turn it into Kubernetes JSON.
//!
//! A protobuf message on the wire is a list of `(field number, value)` pairs
//! and carries no names. Kubernetes publishes a `.proto` file per API group
//! (`k8s.io/api/core/v1/generated.proto` ...) that numbers every field of
//! every type; its Go struct tags give the JSON names. A [`Message`] is that
//! knowledge for one type, written as data:
//!
//! ```text
//! pub static CONTAINER_PORT: Message = message(
//!     "ContainerPort",
//!     &[
//!         field(1, "name", STRING),
//!         field(2, "hostPort", INT32),
//!         keep(3, "containerPort", INT32),
//!         ...
//!     ],
//! );
//! ```
//!
//! # Zero values
//! Go's protobuf encoder (gogo-protobuf, as Kubernetes uses it) writes every
//! non-pointer field, set or not: an unset `hostPort` arrives as `2: 0`. The
//! JSON encoder drops those (`omitempty`), and clients never see them. So a
//! plain [`field`] leaves zero scalars (`0`, `false`, `""`) out of the JSON.
//! A [`keep`] field is one where zero means something — a Go pointer
//! (`replicas: 0` is not "unset", which would default to 1) or a field
//! without `omitempty` — and its value reaches the JSON whatever it is.
//! Messages are always kept when present: Go's JSON encoder writes an empty
//! struct as `{}` too.

use std::fmt;

/// One protobuf message type (a Go struct of the Kubernetes API).
pub struct Message {
    /// The Kubernetes type name, for error messages (`PodSpec`).
    pub name: &'static str,
    /// Sorted by field number (a test checks this).
    pub fields: &'static [Field],
}

impl Message {
    /// The field with this number, if the type has one.
    pub fn field(&self, number: u32) -> Option<&'static Field> {
        self.fields
            .binary_search_by_key(&number, |f| f.number)
            .ok()
            .map(|i| &self.fields[i])
    }
}

// Printing the whole reachable table would be unreadable (and long).
impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Message({})", self.name)
    }
}

/// One field of a [`Message`].
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub number: u32,
    /// The JSON name (`hostIP`, `podCIDRs`); empty for [`Shape::Inline`].
    pub json: &'static str,
    pub ty: Type,
    pub shape: Shape,
}

/// What one value of a field is.
#[derive(Clone, Copy, Debug)]
pub enum Type {
    Bool,
    Int32,
    Int64,
    /// UTF-8 text.
    String,
    /// `[]byte`: base64 in JSON (Secret `data`, ConfigMap `binaryData`).
    Bytes,
    /// A nested object.
    Message(&'static Message),
    /// `resource.Quantity`, `{1: string}` on the wire: `"500m"` in JSON.
    Quantity,
    /// `metav1.Time`, `{1: seconds, 2: nanos}`: RFC 3339 to the second.
    Time,
    /// `metav1.MicroTime`: RFC 3339 with microseconds.
    MicroTime,
    /// `intstr.IntOrString`, `{1: type, 2: intVal, 3: strVal}`: `8080` or `"http"`.
    IntOrString,
    /// `metav1.FieldsV1`, `{1: raw}`, where raw is JSON text: embedded as is.
    FieldsV1,
}

/// How often a field occurs and how it lands in the JSON object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One value; a zero scalar is left out (Go `omitempty`).
    Single,
    /// One value, kept even when zero (Go pointer, or no `omitempty`).
    Keep,
    /// `repeated`: a JSON array.
    List,
    /// `map<string, ty>`: a JSON object. Each entry is a small message
    /// `{1: key, 2: value}` on the wire.
    Map,
    /// A Go struct embedded with `json:",inline"` (`Volume.VolumeSource`,
    /// `Probe.ProbeHandler`): a nested message on the wire, but its fields
    /// sit directly in the parent's JSON object.
    Inline,
}

pub const BOOL: Type = Type::Bool;
pub const INT32: Type = Type::Int32;
pub const INT64: Type = Type::Int64;
pub const STRING: Type = Type::String;
pub const BYTES: Type = Type::Bytes;
pub const QUANTITY: Type = Type::Quantity;
pub const TIME: Type = Type::Time;
pub const MICRO_TIME: Type = Type::MicroTime;
pub const INT_OR_STRING: Type = Type::IntOrString;
pub const FIELDS_V1: Type = Type::FieldsV1;

/// A nested message type.
pub const fn msg(message: &'static Message) -> Type {
    Type::Message(message)
}

pub const fn message(name: &'static str, fields: &'static [Field]) -> Message {
    Message { name, fields }
}

/// A single field whose zero value is left out of the JSON.
pub const fn field(number: u32, json: &'static str, ty: Type) -> Field {
    Field {
        number,
        json,
        ty,
        shape: Shape::Single,
    }
}

/// A single field kept in the JSON even when zero.
pub const fn keep(number: u32, json: &'static str, ty: Type) -> Field {
    Field {
        number,
        json,
        ty,
        shape: Shape::Keep,
    }
}

/// A repeated field.
pub const fn list(number: u32, json: &'static str, ty: Type) -> Field {
    Field {
        number,
        json,
        ty,
        shape: Shape::List,
    }
}

/// A `map<string, ty>` field.
pub const fn map(number: u32, json: &'static str, ty: Type) -> Field {
    Field {
        number,
        json,
        ty,
        shape: Shape::Map,
    }
}

/// An embedded (`json:",inline"`) struct.
pub const fn inline(number: u32, ty: Type) -> Field {
    Field {
        number,
        json: "",
        ty,
        shape: Shape::Inline,
    }
}
