//! Server-side field validation: finding the unknown and duplicate fields of
//! a request body, with their paths.
//!
//! Upstream decodes bodies with `sigs.k8s.io/json`'s strict mode, which
//! reports, in document order and each message once:
//! - `unknown field "spec.containers[0].imagee"`: a key that is not a field
//!   of the struct it is in (its value is skipped, nothing inside it is
//!   reported);
//! - `duplicate field "metadata.name"`: a known struct field or a map key
//!   that appears twice in one object (the last value wins).
//!
//! Paths join field names and map keys with `.` and write list indexes as
//! `[i]`. What a "struct" is comes from our OpenAPI schemas
//! ([`crate::openapi::components`]), which are generated from the same
//! serde types that decode the body, so the two cannot disagree: an object
//! schema with `properties` is a struct, one with `additionalProperties` a
//! map, anything else (`Quantity`, `fieldsV1`, ...) is opaque and not looked
//! into.
//!
//! The check runs while the body is parsed into a `serde_json::Value` (one
//! pass, duplicates resolved as last-wins like upstream), then the value is
//! decoded into the typed object by [`codec`](super::codec).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::sync::LazyLock;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::openapi;

/// Upstream stops collecting strict errors after this many.
const MAX_ERRORS: usize = 100;

/// What a JSON value at some position must look like, as far as field
/// validation cares.
#[derive(Debug)]
enum Shape {
    /// Not looked into (scalars, opaque JSON, quantities, ...).
    Opaque,
    /// A struct: an index into [`Shapes::structs`].
    Struct(usize),
    /// A map with values of this shape.
    Map(Box<Shape>),
    /// A list with items of this shape.
    List(Box<Shape>),
}

/// The fields of every struct schema.
#[derive(Debug, Default)]
struct Shapes {
    structs: Vec<Fields>,
    by_name: HashMap<String, usize>,
}

/// A struct's fields, sorted by name: a binary search over a few dozen
/// names is cheaper than hashing every key of every body.
#[derive(Debug, Default)]
struct Fields(Vec<(String, Shape)>);

impl Fields {
    fn new(mut fields: Vec<(String, Shape)>) -> Fields {
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        Fields(fields)
    }

    fn get(&self, name: &str) -> Option<&Shape> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .map(|i| &self.0[i].1)
    }
}

/// The keys met so far in one object, for finding duplicates: a short
/// list while the object is small (most are), a hash set beyond.
struct SeenKeys<K> {
    few: Vec<K>,
    many: HashSet<K>,
}

impl<K: std::hash::Hash + Eq + std::borrow::Borrow<str>> SeenKeys<K> {
    const FEW: usize = 16;

    fn new() -> Self {
        SeenKeys {
            few: Vec::new(),
            many: HashSet::new(),
        }
    }

    /// Adds `key`; whether it was new.
    fn insert(&mut self, key: K) -> bool {
        if self.few.len() < Self::FEW {
            if self.few.iter().any(|k| k.borrow() == key.borrow()) {
                return false;
            }
            self.few.push(key);
            return true;
        }
        if self.few.iter().any(|k| k.borrow() == key.borrow()) {
            return false;
        }
        self.many.insert(key)
    }
}

static SHAPES: LazyLock<Shapes> = LazyLock::new(|| Shapes::build(openapi::components()));

impl Shapes {
    fn build(components: &Map<String, Value>) -> Self {
        let mut shapes = Shapes::default();
        // Number the structs first so that references (even cyclic ones)
        // resolve to an index.
        for (name, schema) in components {
            if schema.get("properties").is_some() {
                shapes.by_name.insert(name.clone(), shapes.structs.len());
                shapes.structs.push(Fields::default());
            }
        }
        for (name, schema) in components {
            let Some(&index) = shapes.by_name.get(name) else {
                continue;
            };
            let fields = schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|props| {
                    Fields::new(
                        props
                            .iter()
                            .map(|(field, s)| (field.clone(), shapes.shape_of(s)))
                            .collect(),
                    )
                })
                .unwrap_or_default();
            shapes.structs[index] = fields;
        }
        shapes
    }

    fn shape_of(&self, schema: &Value) -> Shape {
        if let Some(name) = openapi::ref_name(schema) {
            return match self.by_name.get(name) {
                Some(&index) => Shape::Struct(index),
                None => Shape::Opaque,
            };
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("array") => Shape::List(Box::new(
                schema
                    .get("items")
                    .map_or(Shape::Opaque, |items| self.shape_of(items)),
            )),
            Some("object") => match schema.get("additionalProperties") {
                Some(values) if values.is_object() => Shape::Map(Box::new(self.shape_of(values))),
                _ => Shape::Opaque,
            },
            _ => Shape::Opaque,
        }
    }

    /// The shape of the value under `key` in an object of `shape`,
    /// reporting the key if it is unknown or (`first` says whether it is
    /// new in this object) a duplicate.
    fn entry<'s>(
        &'s self,
        shape: &'s Shape,
        key: &str,
        findings: &mut Findings,
        first: impl FnOnce() -> bool,
    ) -> &'s Shape {
        match shape {
            Shape::Struct(index) => match self.structs[*index].get(key) {
                Some(field) => {
                    if !first() {
                        findings.report("duplicate field", key);
                    }
                    field
                }
                None => {
                    // Upstream skips an unknown field's value unread.
                    findings.report("unknown field", key);
                    &Shape::Opaque
                }
            },
            Shape::Map(values) => {
                if !first() {
                    findings.report("duplicate field", key);
                }
                values
            }
            // Opaque objects (and type mismatches, which the typed decode
            // reports) are not looked into.
            _ => &Shape::Opaque,
        }
    }

    fn root(&self, schema: &str) -> Shape {
        match self.by_name.get(schema) {
            Some(&index) => Shape::Struct(index),
            None => Shape::Opaque,
        }
    }
}

/// Strict errors found so far, and where the walk is.
#[derive(Debug, Default)]
struct Findings {
    /// Upstream's `strictFieldStack`, joined: `spec.containers[0]`.
    path: String,
    errors: Vec<String>,
    seen: HashSet<String>,
}

impl Findings {
    fn report(&mut self, what: &str, key: &str) {
        if self.errors.len() >= MAX_ERRORS {
            return;
        }
        let full = if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        };
        let message = format!("{what} {}", go_quote(&full));
        if self.seen.insert(message.clone()) {
            self.errors.push(message);
        }
    }

    /// Appends a key to the path; returns the length to truncate back to.
    fn push_key(&mut self, key: &str) -> usize {
        let len = self.path.len();
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(key);
        len
    }

    fn push_index(&mut self, index: usize) -> usize {
        let len = self.path.len();
        self.path.push('[');
        // Writing to a String cannot fail.
        let _ = write!(self.path, "{index}");
        self.path.push(']');
        len
    }
}

/// Go's `%q` for the strings that can appear in a path.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Parses `body` as JSON while finding the unknown and duplicate fields of
/// the struct schema `schema` (none are reported when it is `None` or not a
/// struct). Duplicate keys resolve to their last value.
///
/// # Errors
/// When the body is not JSON.
pub fn parse_checked(
    body: &[u8],
    schema: Option<&str>,
) -> Result<(Value, Vec<String>), serde_json::Error> {
    let shapes = &*SHAPES;
    let root = schema.map_or(Shape::Opaque, |s| shapes.root(s));
    let mut findings = Findings::default();
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = Seed {
        shapes,
        shape: &root,
        findings: &mut findings,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok((value, findings.errors))
}

/// The unknown and duplicate fields of `body`, as [`parse_checked`] finds
/// them, without building the value: the request path checks a body this
/// way and then decodes it straight into its type.
///
/// # Errors
/// When the body is not JSON.
pub fn check(body: &[u8], schema: Option<&str>) -> Result<Vec<String>, serde_json::Error> {
    let shapes = &*SHAPES;
    let root = schema.map_or(Shape::Opaque, |s| shapes.root(s));
    let mut findings = Findings::default();
    let mut de = serde_json::Deserializer::from_slice(body);
    Check {
        shapes,
        shape: &root,
        findings: &mut findings,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(findings.errors)
}

/// The unknown fields of an already parsed object (a patch result, which
/// cannot have duplicates), in the same words as [`parse_checked`].
pub fn unknown_fields(value: &Value, schema: Option<&str>) -> Vec<String> {
    let shapes = &*SHAPES;
    let root = schema.map_or(Shape::Opaque, |s| shapes.root(s));
    let mut findings = Findings::default();
    walk(shapes, &root, value, &mut findings);
    findings.errors
}

fn walk(shapes: &Shapes, shape: &Shape, value: &Value, findings: &mut Findings) {
    match (shape, value) {
        (Shape::Struct(index), Value::Object(obj)) => {
            let fields = &shapes.structs[*index];
            for (key, v) in obj {
                match fields.get(key) {
                    Some(sub) => {
                        let back = findings.push_key(key);
                        walk(shapes, sub, v, findings);
                        findings.path.truncate(back);
                    }
                    None => findings.report("unknown field", key),
                }
            }
        }
        (Shape::Map(sub), Value::Object(obj)) => {
            for (key, v) in obj {
                let back = findings.push_key(key);
                walk(shapes, sub, v, findings);
                findings.path.truncate(back);
            }
        }
        (Shape::List(sub), Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                let back = findings.push_index(i);
                walk(shapes, sub, v, findings);
                findings.path.truncate(back);
            }
        }
        _ => {}
    }
}

/// Deserializes any JSON value into a `Value`, checking it against `shape`.
struct Seed<'a> {
    shapes: &'a Shapes,
    shape: &'a Shape,
    findings: &'a mut Findings,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let item_shape = match self.shape {
            Shape::List(item) => item.as_ref(),
            _ => &Shape::Opaque,
        };
        let mut items = Vec::new();
        loop {
            let back = self.findings.push_index(items.len());
            let next = seq.next_element_seed(Seed {
                shapes: self.shapes,
                shape: item_shape,
                findings: self.findings,
            })?;
            self.findings.path.truncate(back);
            match next {
                Some(v) => items.push(v),
                None => break,
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut obj = Map::new();
        let mut seen: SeenKeys<String> = SeenKeys::new();
        while let Some(key) = access.next_key::<String>()? {
            let sub = self
                .shapes
                .entry(self.shape, &key, self.findings, || seen.insert(key.clone()));
            let back = self.findings.push_key(&key);
            let value = access.next_value_seed(Seed {
                shapes: self.shapes,
                shape: sub,
                findings: self.findings,
            })?;
            self.findings.path.truncate(back);
            obj.insert(key, value);
        }
        Ok(Value::Object(obj))
    }
}

/// [`Seed`] without the value: walks any JSON value, checking it against
/// `shape`; opaque values are skipped unread.
struct Check<'a> {
    shapes: &'a Shapes,
    shape: &'a Shape,
    findings: &'a mut Findings,
}

impl<'de> DeserializeSeed<'de> for Check<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.shape {
            Shape::Opaque => IgnoredAny::deserialize(d).map(|_| ()),
            _ => d.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Check<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let item_shape = match self.shape {
            Shape::List(item) => item.as_ref(),
            _ => &Shape::Opaque,
        };
        for index in 0.. {
            let back = self.findings.push_index(index);
            let next = seq.next_element_seed(Check {
                shapes: self.shapes,
                shape: item_shape,
                findings: self.findings,
            })?;
            self.findings.path.truncate(back);
            if next.is_none() {
                break;
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let mut seen: SeenKeys<Cow<'de, str>> = SeenKeys::new();
        while let Some(key) = access.next_key_seed(KeySeed)? {
            let sub = self
                .shapes
                .entry(self.shape, &key, self.findings, || seen.insert(key.clone()));
            let back = self.findings.push_key(&key);
            access.next_value_seed(Check {
                shapes: self.shapes,
                shape: sub,
                findings: self.findings,
            })?;
            self.findings.path.truncate(back);
        }
        Ok(())
    }
}

/// An object key, borrowed from the body unless it has escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POD: &str = "io.k8s.api.core.v1.Pod";
    const DEPLOYMENT: &str = "io.k8s.api.apps.v1.Deployment";

    /// Both passes over a body; the check-only one must find the same.
    fn check(schema: &str, body: &str) -> (Value, Vec<String>) {
        let (value, errs) = parse_checked(body.as_bytes(), Some(schema)).expect("valid JSON");
        let only = super::check(body.as_bytes(), Some(schema)).expect("valid JSON");
        assert_eq!(only, errs, "the check-only pass disagrees");
        (value, errs)
    }

    #[test]
    fn unknown_fields_are_found_with_their_paths() {
        let (_, errs) = check(
            POD,
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labelz":{}},
               "spec":{"containers":[{"name":"a","image":"x"},{"name":"b","imagee":"y",
               "ports":[{"containerPort":80,"hostport":1}]}],"foo":1},"bar":{"baz":1}}"#,
        );
        assert_eq!(
            errs,
            vec![
                r#"unknown field "metadata.labelz""#,
                r#"unknown field "spec.containers[1].imagee""#,
                r#"unknown field "spec.containers[1].ports[0].hostport""#,
                r#"unknown field "spec.foo""#,
                r#"unknown field "bar""#,
            ]
        );
    }

    #[test]
    fn duplicates_are_found_in_structs_and_maps_in_document_order() {
        // Upstream's own test body: unknown, duplicate and nested fields
        // interleaved; a duplicated unknown field is only "unknown", once.
        let body = r#"{
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"app": "nginx", "app": "web"}},
            "spec": {
                "unknown1": "val1",
                "unknownDupe": "valDupe",
                "unknownDupe": "valDupe2",
                "paused": true,
                "paused": false,
                "selector": {"matchLabels": {"app": "nginx"}},
                "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": [{
                    "name": "nginx", "image": "nginx:latest", "unknownNested": "val1",
                    "imagePullPolicy": "Always", "imagePullPolicy": "Never"}]}}
            }
        }"#;
        let (value, errs) = check(DEPLOYMENT, body);
        assert_eq!(
            errs,
            vec![
                r#"duplicate field "metadata.labels.app""#,
                r#"unknown field "spec.unknown1""#,
                r#"unknown field "spec.unknownDupe""#,
                r#"duplicate field "spec.paused""#,
                r#"unknown field "spec.template.spec.containers[0].unknownNested""#,
                r#"duplicate field "spec.template.spec.containers[0].imagePullPolicy""#,
            ]
        );
        // The last value wins, as upstream.
        assert_eq!(value["spec"]["paused"], Value::Bool(false));
        assert_eq!(value["metadata"]["labels"]["app"], "web");
        assert_eq!(
            value.pointer("/spec/template/spec/containers/0/imagePullPolicy"),
            Some(&Value::from("Never"))
        );
    }

    #[test]
    fn duplicates_in_large_maps() {
        // More keys than the short list holds: the rest are hashed.
        let keys: Vec<String> = (0..40).map(|i| format!("\"k{i}\":\"v\"")).collect();
        let body = |extra: &str| {
            format!(
                r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"c"}},"data":{{{}{extra}}}}}"#,
                keys.join(",")
            )
        };
        let (_, errs) = check("io.k8s.api.core.v1.ConfigMap", &body(""));
        assert!(errs.is_empty(), "{errs:?}");
        let (_, errs) = check(
            "io.k8s.api.core.v1.ConfigMap",
            &body(r#","k3":"again","k39":"again","k40":"new""#),
        );
        assert_eq!(
            errs,
            vec![
                r#"duplicate field "data.k3""#,
                r#"duplicate field "data.k39""#
            ]
        );
    }

    #[test]
    fn top_level_duplicates_and_map_values_of_structs() {
        let (_, errs) = check(
            POD,
            r#"{"kind":"Pod","kind":"Pod","metadata":{"name":"a","name":"b"},
               "spec":{"overhead":{"cpu":"1"},"containers":[{"name":"c",
               "resources":{"limits":{"cpu":"1","cpu":"2"}}}]}}"#,
        );
        assert_eq!(
            errs,
            vec![
                r#"duplicate field "kind""#,
                r#"duplicate field "metadata.name""#,
                r#"duplicate field "spec.containers[0].resources.limits.cpu""#,
            ]
        );
    }

    #[test]
    fn opaque_values_are_not_looked_into() {
        let (_, errs) = check(
            POD,
            r#"{"metadata":{"managedFields":[{"manager":"m","fieldsV1":{"f:a":{},"f:a":{}}}],
               "annotations":{"x/y":"{\"nested\":1}"}},
               "unknown":{"a":1,"a":2}}"#,
        );
        assert_eq!(errs, vec![r#"unknown field "unknown""#]);
    }

    #[test]
    fn each_message_once_and_keys_quoted_like_go() {
        let (_, errs) = check(
            POD,
            r#"{"spec":{"containers":[{"name":"a","x":1},{"name":"b","x":2}]},"we\"ird":1}"#,
        );
        assert_eq!(
            errs,
            vec![
                r#"unknown field "spec.containers[0].x""#,
                r#"unknown field "spec.containers[1].x""#,
                r#"unknown field "we\"ird""#,
            ]
        );
    }

    #[test]
    fn parsed_values_are_checked_the_same_way() {
        let value: Value = serde_json::from_str(
            r#"{"metadata":{"name":"p"},"spec":{"containers":[{"name":"a","imagee":"x"}]},"zzz":1}"#,
        )
        .expect("json");
        assert_eq!(
            unknown_fields(&value, Some(POD)),
            vec![
                r#"unknown field "spec.containers[0].imagee""#,
                r#"unknown field "zzz""#,
            ]
        );
        assert!(unknown_fields(&value, None).is_empty());
    }

    #[test]
    fn not_json_is_an_error() {
        assert!(parse_checked(b"{\"a\":", Some(POD)).is_err());
        assert!(parse_checked(b"{} x", Some(POD)).is_err());
        assert!(super::check(b"{\"a\":", Some(POD)).is_err());
        assert!(super::check(b"{} x", Some(POD)).is_err());
        assert!(super::check(br#"{"spec":{"containers":[1,}}"#, Some(POD)).is_err());
    }
}
