//! A test-only protobuf encoder, and a generator of random objects from the
//! tables: each comes as wire bytes plus the JSON the decoder must produce.

use base64::Engine;
use rand::{Rng, rngs::StdRng};
use serde_json::{Map, Value};

use crate::protobuf::schema::{Message, Shape, Type};

pub fn varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

pub fn varint_field(buf: &mut Vec<u8>, number: u32, v: u64) {
    varint(buf, u64::from(number) << 3);
    varint(buf, v);
}

pub fn len_field(buf: &mut Vec<u8>, number: u32, bytes: &[u8]) {
    varint(buf, u64::from(number) << 3 | 2);
    varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

/// `k8s\0` + `runtime.Unknown{typeMeta, raw}`, as client-go writes it.
pub fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut type_meta = Vec::new();
    len_field(&mut type_meta, 1, api_version.as_bytes());
    len_field(&mut type_meta, 2, kind.as_bytes());
    let mut unknown = Vec::new();
    len_field(&mut unknown, 1, &type_meta);
    len_field(&mut unknown, 2, raw);
    len_field(&mut unknown, 3, b"");
    len_field(&mut unknown, 4, b"");
    [b"k8s\x00".as_slice(), &unknown].concat()
}

/// One encoded value: what goes on the wire.
enum Wire {
    Varint(u64),
    Len(Vec<u8>),
}

impl Wire {
    fn put(&self, buf: &mut Vec<u8>, number: u32) {
        match self {
            Wire::Varint(v) => varint_field(buf, number, *v),
            Wire::Len(b) => len_field(buf, number, b),
        }
    }
}

/// Random objects for a table.
pub struct Gen {
    pub rng: StdRng,
    /// Every field present with a non-zero value, lists and maps of two:
    /// the object exercises the whole table. Otherwise fields come and go
    /// at random and zero values appear.
    pub full: bool,
}

impl Gen {
    /// Wire bytes of a random `msg`, and the JSON they must decode to.
    pub fn message(
        &mut self,
        msg: &'static Message,
        depth: usize,
    ) -> (Vec<u8>, Map<String, Value>) {
        let mut buf = Vec::new();
        let mut json = Map::new();
        for f in msg.fields {
            let p = if self.full {
                1.0
            } else if depth > 4 {
                0.15
            } else {
                0.5
            };
            if !self.rng.random_bool(p) {
                continue;
            }
            match f.shape {
                Shape::Single | Shape::Keep => {
                    let (wire, value) = self.value(f.ty, depth);
                    wire.put(&mut buf, f.number);
                    let scalar = matches!(
                        f.ty,
                        Type::Bool | Type::Int32 | Type::Int64 | Type::String | Type::Bytes
                    );
                    let zero = scalar && is_zero(&value);
                    if f.shape == Shape::Keep || !zero {
                        json.insert(f.json.into(), value);
                    }
                }
                Shape::List => {
                    let n = if self.full {
                        2
                    } else {
                        self.rng.random_range(1..=3)
                    };
                    let mut items = Vec::new();
                    for _ in 0..n {
                        let (wire, value) = self.value(f.ty, depth);
                        wire.put(&mut buf, f.number);
                        items.push(value);
                    }
                    json.insert(f.json.into(), Value::Array(items));
                }
                Shape::Map => {
                    let n = if self.full {
                        2
                    } else {
                        self.rng.random_range(1..=3)
                    };
                    let mut entries = Map::new();
                    for i in 0..n {
                        let key = format!("k{i}-{}", self.rng.random_range(0..1000));
                        let (wire, value) = self.value(f.ty, depth);
                        let mut entry = Vec::new();
                        len_field(&mut entry, 1, key.as_bytes());
                        wire.put(&mut entry, 2);
                        len_field(&mut buf, f.number, &entry);
                        entries.insert(key, value);
                    }
                    json.insert(f.json.into(), Value::Object(entries));
                }
                Shape::Inline => {
                    let Type::Message(inner) = f.ty else {
                        panic!("inline non-message")
                    };
                    let (bytes, fields) = self.message(inner, depth + 1);
                    len_field(&mut buf, f.number, &bytes);
                    json.extend(fields);
                }
            }
        }
        (buf, json)
    }

    fn value(&mut self, ty: Type, depth: usize) -> (Wire, Value) {
        let full = self.full;
        let rng = &mut self.rng;
        match ty {
            Type::Bool => {
                let b = full || rng.random_bool(0.5);
                (Wire::Varint(u64::from(b)), Value::Bool(b))
            }
            Type::Int32 => {
                let v: i32 = match rng.random_range(0..4) {
                    0 if !full => 0,
                    1 => -rng.random_range(1..1000),
                    _ => rng.random_range(1..i32::MAX),
                };
                (Wire::Varint(v as i64 as u64), Value::from(v))
            }
            Type::Int64 => {
                let v: i64 = match rng.random_range(0..4) {
                    0 if !full => 0,
                    1 => -rng.random_range(1..1_000_000),
                    _ => rng.random_range(1..i64::MAX),
                };
                (Wire::Varint(v as u64), Value::from(v))
            }
            Type::String => {
                let s = self.text();
                (Wire::Len(s.clone().into_bytes()), Value::String(s))
            }
            Type::Bytes => {
                let n = if full { 1..8 } else { 0..8 };
                let len = rng.random_range(n);
                let b: Vec<u8> = (0..len).map(|_| rng.random()).collect();
                let json = base64::engine::general_purpose::STANDARD.encode(&b);
                (Wire::Len(b), Value::String(json))
            }
            Type::Message(inner) => {
                let (bytes, json) = self.message(inner, depth + 1);
                (Wire::Len(bytes), Value::Object(json))
            }
            Type::Quantity => {
                let q = ["1", "250m", "1Gi", "0.5", "100Mi", "2k"][rng.random_range(0..6)];
                let mut b = Vec::new();
                len_field(&mut b, 1, q.as_bytes());
                (Wire::Len(b), Value::String(q.into()))
            }
            Type::Time | Type::MicroTime => {
                if !full && rng.random_bool(0.1) {
                    return (Wire::Len(Vec::new()), Value::Null);
                }
                let secs = rng.random_range(0..4_000_000_000i64);
                let nanos = rng.random_range(0..1_000_000_000i64);
                let mut b = Vec::new();
                varint_field(&mut b, 1, secs as u64);
                varint_field(&mut b, 2, nanos as u64);
                let micro = matches!(ty, Type::MicroTime);
                let t =
                    chrono::DateTime::from_timestamp(secs, if micro { nanos as u32 } else { 0 })
                        .unwrap();
                let s = if micro {
                    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
                } else {
                    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
                };
                (Wire::Len(b), Value::String(s))
            }
            Type::IntOrString => {
                let mut b = Vec::new();
                if rng.random_bool(0.5) {
                    let v = rng.random_range(if full { 1..65536 } else { 0..65536 });
                    varint_field(&mut b, 1, 0);
                    varint_field(&mut b, 2, v as u64);
                    len_field(&mut b, 3, b"");
                    (Wire::Len(b), Value::from(v))
                } else {
                    let s = format!("{}%", rng.random_range(0..100));
                    varint_field(&mut b, 1, 1);
                    varint_field(&mut b, 2, 0);
                    len_field(&mut b, 3, s.as_bytes());
                    (Wire::Len(b), Value::String(s))
                }
            }
            Type::FieldsV1 => {
                let raw = format!(
                    "{{\"f:metadata\":{{\"f:labels\":{{\"f:x{}\":{{}}}}}}}}",
                    rng.random_range(0..9)
                );
                let mut b = Vec::new();
                len_field(&mut b, 1, raw.as_bytes());
                (Wire::Len(b), serde_json::from_str(&raw).unwrap())
            }
        }
    }

    fn text(&mut self) -> String {
        let n = if self.full { 1..10 } else { 0..10 };
        let len = self.rng.random_range(n);
        (0..len)
            .map(|_| {
                let c = self.rng.random_range(0..36u32);
                char::from_digit(c, 36).unwrap()
            })
            .collect()
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}
