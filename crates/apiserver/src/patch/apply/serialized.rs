//! The fields a new object sets, read while the object serializes.
//!
//! A create owns every field of the object it stores, so its manager's set
//! is the object's whole field set. [`typed`](super::typed) finds it by
//! walking the object as a JSON value, which means turning the typed object
//! into a `serde_json::Value` first and dropping it after: a third of what
//! recording `managedFields` cost on a create. Here the object's own
//! `Serialize` drives the same walk instead (a `serde::Serializer` that
//! builds the set), so no value tree is built.
//!
//! It gives what `walk_one` gives for the object's JSON with
//! `metadata.managedFields` and `metadata.resourceVersion` left out (the
//! field manager's view of an object). The tests hold the two walks to the
//! same answer. Serde shapes the JSON of Kubernetes objects never has
//! (enum variants with data, tuple structs, non-string map keys) end the
//! walk with `None`, and the caller takes the value path.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde::ser::{self, Impossible};
use serde_json::Value;

use super::fieldset::{FieldSet, PathElement};
use super::typed::{kept, map_item_element};
use crate::patch::schema::{ListType, Schema, Shape};

/// The field set of a new object (`walk_one` of its tracking JSON at the
/// root), or `None` when the object is not shaped like JSON objects are.
pub fn created_fields<T: Serialize + ?Sized>(obj: &T, schema: Schema<'_>) -> Option<FieldSet> {
    let walk = Walk {
        schema,
        there: false,
        root: true,
        keys: &[],
        metadata: false,
    };
    obj.serialize(walk).ok().map(|w| w.set)
}

/// Why a walk stopped: a shape it does not follow, or an error of the
/// object's own `Serialize`.
#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not walked")
    }
}

impl std::error::Error for Stop {}

impl ser::Error for Stop {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Stop
    }
}

/// One node being walked.
#[derive(Clone, Copy)]
struct Walk<'s, 'k> {
    schema: Schema<'s>,
    /// Upstream's zero object has this node too (`walk_one`'s `there`):
    /// it is not a member itself.
    there: bool,
    root: bool,
    /// Key fields whose values the parent list needs (map-list items).
    keys: &'k [String],
    /// The root's `metadata`: the fields the field manager does not see
    /// are left out.
    metadata: bool,
}

/// A walked node: its set, relative to it, and what its list needs.
struct Walked {
    set: FieldSet,
    /// Whether the node was an object (a map-list item that is not is
    /// identified by its position).
    object: bool,
    /// Values of the requested key fields.
    keys: Vec<(String, Value)>,
}

impl<'s, 'k> Walk<'s, 'k> {
    /// The node is one value (at the root: nothing a create records,
    /// as comparing with the empty object finds). `go_zero`: `null`, or
    /// an empty object, which is no change where the zero object has the
    /// node as a value struct (`typed::is_go_zero`).
    fn leaf(self, go_zero: bool) -> Walked {
        let mut set = FieldSet::new();
        let zero = go_zero && self.there;
        if !self.root && !zero {
            set.mark();
        }
        Walked {
            set,
            object: false,
            keys: Vec::new(),
        }
    }

    /// Whether a node with children is itself a member too.
    fn marks_itself(&self) -> bool {
        !(self.root || self.there)
    }

    fn hidden(&self, field: &str) -> bool {
        self.metadata && (field == "managedFields" || field == "resourceVersion")
    }

    fn object(self) -> Object<'s, 'k> {
        // As `typed::node` decides for an object value.
        let fields = match self.schema.shape() {
            Shape::Struct | Shape::Map => !self.schema.is_atomic(),
            Shape::Untyped => true,
            Shape::Scalar | Shape::List => false,
        };
        Object {
            walk: self,
            fields,
            any: false,
            children: Vec::new(),
            keys: Vec::new(),
            key: None,
        }
    }
}

// The names below are fixed by `serde::Serializer`.
impl<'s, 'k> ser::Serializer for Walk<'s, 'k> {
    type Ok = Walked;
    type Error = Stop;
    type SerializeSeq = Seq<'s, 'k>;
    type SerializeTuple = Impossible<Walked, Stop>;
    type SerializeTupleStruct = Impossible<Walked, Stop>;
    type SerializeTupleVariant = Impossible<Walked, Stop>;
    type SerializeMap = Object<'s, 'k>;
    type SerializeStruct = Object<'s, 'k>;
    type SerializeStructVariant = Impossible<Walked, Stop>;

    fn serialize_bool(self, _: bool) -> Result<Walked, Stop> {
        Ok(self.leaf(false))
    }
    fn serialize_i8(self, _: i8) -> Result<Walked, Stop> {
        Ok(self.leaf(false))
    }
    fn serialize_i16(self, _: i16) -> Result<Walked, Stop> {
        Ok(self.leaf(false))
    }
    fn serialize_i32(self, _: i32) -> Result<Walked, Stop> {
        Ok(self.leaf(false))
    }
    fn serialize_i64(self, _: i64) -> Result<Walked, Stop> {
        Ok(self.leaf(false))
    }
    fn serialize_u8(self, _: u8) -> Result<Walked, Stop> {
        Ok(self.leaf(false))
    }
    fn serialize_u16(self, _: u16) -> Result<Walked, Stop> {
        Ok(self.leaf(false))
    }
    fn serialize_u32(self, _: u32) -> Result<Walked, Stop> {
        Ok(self.leaf(false))
    }
    fn serialize_u64(self, _: u64) -> Result<Walked, Stop> {
        Ok(self.leaf(false))
    }
    fn serialize_f32(self, _: f32) -> Result<Walked, Stop> {
        Ok(self.leaf(false))
    }
    fn serialize_f64(self, _: f64) -> Result<Walked, Stop> {
        Ok(self.leaf(false))
    }
    fn serialize_char(self, _: char) -> Result<Walked, Stop> {
        Ok(self.leaf(false))
    }
    fn serialize_str(self, _: &str) -> Result<Walked, Stop> {
        Ok(self.leaf(false))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Walked, Stop> {
        // JSON writes bytes as an array of numbers.
        Err(Stop)
    }
    fn serialize_none(self) -> Result<Walked, Stop> {
        Ok(self.leaf(true))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Walked, Stop> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Walked, Stop> {
        Ok(self.leaf(true))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Walked, Stop> {
        Ok(self.leaf(false))
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<Walked, Stop> {
        Ok(self.leaf(false))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Walked, Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Walked, Stop> {
        Err(Stop)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'s, 'k>, Stop> {
        // As `typed::node` decides for an array value.
        let list = match (self.schema.shape(), self.schema.list_type()) {
            (Shape::List, ListType::Atomic) | (Shape::Struct | Shape::Map | Shape::Scalar, _) => {
                None
            }
            (Shape::List, lt) => Some(lt),
            (Shape::Untyped, _) => None,
        };
        Ok(Seq {
            walk: self,
            list,
            items: Vec::new(),
            index: 0,
        })
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Stop> {
        Err(Stop)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Stop> {
        Err(Stop)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Stop> {
        Err(Stop)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Object<'s, 'k>, Stop> {
        Ok(self.object())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Object<'s, 'k>, Stop> {
        Ok(self.object())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Stop> {
        Err(Stop)
    }
}

/// An object being walked (a struct, or a map).
struct Object<'s, 'k> {
    walk: Walk<'s, 'k>,
    /// Walked field by field; otherwise one value.
    fields: bool,
    /// Whether any field was seen (an empty object is one value).
    any: bool,
    children: Vec<(PathElement, FieldSet)>,
    keys: Vec<(String, Value)>,
    /// A map's key, between `serialize_key` and `serialize_value`.
    key: Option<String>,
}

impl Object<'_, '_> {
    fn field<T: Serialize + ?Sized>(
        &mut self,
        name: Cow<'static, str>,
        value: &T,
    ) -> Result<(), Stop> {
        if self.walk.hidden(&name) {
            return Ok(());
        }
        self.any = true;
        if self.walk.keys.iter().any(|k| *k == name) {
            let v = serde_json::to_value(value).map_err(|_| Stop)?;
            self.keys.push((name.to_string(), v));
        }
        if !self.fields {
            return Ok(());
        }
        let schema = self.walk.schema.child(&name);
        let child = value.serialize(Walk {
            schema,
            there: kept(self.walk.there || self.walk.root, schema),
            root: false,
            keys: &[],
            metadata: self.walk.root && name == "metadata",
        })?;
        if !child.set.is_empty() {
            self.children.push((PathElement::Field(name), child.set));
        }
        Ok(())
    }

    fn finish(self) -> Walked {
        let (walk, keys) = (self.walk, self.keys);
        let mut done = if self.fields && self.any {
            Walked {
                set: FieldSet::from_parts(walk.marks_itself(), self.children),
                object: true,
                keys: Vec::new(),
            }
        } else {
            // No field: an empty object (the zero of a value struct).
            let empty = !self.any && walk.schema.shape() == Shape::Struct;
            walk.leaf(empty)
        };
        done.object = true;
        done.keys = keys;
        done
    }
}

impl ser::SerializeStruct for Object<'_, '_> {
    type Ok = Walked;
    type Error = Stop;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        self.field(Cow::Borrowed(name), value)
    }

    fn end(self) -> Result<Walked, Stop> {
        Ok(self.finish())
    }
}

impl ser::SerializeMap for Object<'_, '_> {
    type Ok = Walked;
    type Error = Stop;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Stop> {
        // JSON object keys are strings.
        match serde_json::to_value(key) {
            Ok(Value::String(k)) => {
                self.key = Some(k);
                Ok(())
            }
            _ => Err(Stop),
        }
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        let key = self.key.take().ok_or(Stop)?;
        self.field(Cow::Owned(key), value)
    }

    fn end(self) -> Result<Walked, Stop> {
        Ok(self.finish())
    }
}

/// A list being walked.
struct Seq<'s, 'k> {
    walk: Walk<'s, 'k>,
    /// Item by item (a `set` or `map` list); otherwise one value.
    list: Option<&'s ListType>,
    /// Items by path element; a later duplicate is dropped.
    items: Vec<(PathElement, FieldSet)>,
    index: usize,
}

impl ser::SerializeSeq for Seq<'_, '_> {
    type Ok = Walked;
    type Error = Stop;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        let Some(list) = self.list else {
            return Ok(());
        };
        let index = self.index;
        self.index += 1;
        let items = self.walk.schema.items();
        let keys: &[String] = match list {
            ListType::Map(keys) => keys,
            _ => &[],
        };
        let walked = value.serialize(Walk {
            schema: items,
            there: false,
            root: false,
            keys,
            metadata: false,
        })?;
        let pe = match list {
            ListType::Set => PathElement::value(&serde_json::to_value(value).map_err(|_| Stop)?),
            ListType::Map(keys) if walked.object => {
                let found = |k: &str| {
                    walked
                        .keys
                        .iter()
                        .find(|(name, _)| name == k)
                        .map(|(_, v)| v)
                };
                map_item_element(keys, found, items, index)
            }
            _ => PathElement::Index(index),
        };
        // Items are members themselves: `walked.set` is marked.
        if !self.items.iter().any(|(p, _)| *p == pe) {
            self.items.push((pe, walked.set));
        }
        Ok(())
    }

    fn end(self) -> Result<Walked, Stop> {
        if self.list.is_none() || self.items.is_empty() {
            // An atomic list, or no items: one value (`[]` is not Go's
            // `null`, so it is recorded even where the zero object has one).
            return Ok(self.walk.leaf(false));
        }
        Ok(Walked {
            set: FieldSet::from_parts(self.walk.marks_itself(), self.items),
            object: false,
            keys: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use api_types::Resource;
    use serde::de::DeserializeOwned;
    use serde_json::json;

    use super::*;
    use crate::patch::apply::typed::compare;
    use crate::patch::schema::tests::mini;

    /// What the value path records for a create of `value`.
    fn by_value(value: &Value, schema: Schema<'_>) -> FieldSet {
        let mut v = value.clone();
        if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("managedFields");
            meta.remove("resourceVersion");
        }
        compare(&json!({}), &v, schema).changed()
    }

    fn same_as_by_value(value: &Value, schema: Schema<'_>) {
        let walked = created_fields(value, schema).expect("walks a JSON value");
        assert_eq!(walked, by_value(value, schema), "{value}");
    }

    #[test]
    fn json_values_walk_as_the_value_path_does() {
        let defs = mini();
        let schema = Schema::named(&defs, "Obj");
        for value in [
            json!({"metadata": {"name": "x", "resourceVersion": "5", "managedFields": [{"manager": "m"}],
                                "labels": {"a": "1"}, "finalizers": ["f", "g", "f"]},
                   "spec": {"replicas": 1,
                            "containers": [{"name": "a", "image": "a:1", "args": ["1", "2"]},
                                           {"name": "b"}, {"name": "a", "image": "dup"}, {}, "text"],
                            "tolerations": [{"key": "t1"}],
                            "selector": {"matchLabels": {"a": "b"}},
                            "extra": {"x": [1, {"y": null}], "z": {}},
                            "strategy": {}}}),
            json!({"metadata": {}, "spec": null, "status": {"phase": "Running"}}),
            json!({"metadata": {"resourceVersion": "1"}, "spec": {"containers": [], "replicas": null}}),
            json!({"spec": {"containers": {"name": "not a list"}, "selector": [1]}}),
            json!({"unknown": {"a": {"b": [1, 2]}, "c": {}}}),
        ] {
            same_as_by_value(&value, schema);
        }
        // An untyped schema: shapes come from the values.
        same_as_by_value(&json!({"a": {"b": 1}, "c": [], "d": {}}), Schema::untyped());
        // Nothing at the root is recorded for an empty object.
        assert!(created_fields(&json!({}), schema).is_some_and(|s| s.is_empty()));
    }

    /// Every fixture of api-types, typed: the walk of the object itself
    /// and the walk of its JSON agree.
    fn typed_fixture<K: Resource + DeserializeOwned>(file: &str) {
        let path = format!(
            "{}/../api-types/tests/fixtures/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).expect("fixture");
        let obj: K = serde_yaml_ng::from_str(&text).expect("decodes");
        let schema = Schema::for_kind(K::GROUP, K::VERSION, K::KIND);
        assert!(schema.is_typed(), "{}", K::KIND);
        let value = serde_json::to_value(&obj).expect("to JSON");
        let walked = created_fields(&obj, schema).expect("walks");
        assert!(!walked.is_empty());
        assert_eq!(walked, by_value(&value, schema), "{file}");
    }

    #[test]
    fn typed_objects_walk_as_their_json_does() {
        use api_types::apps::v1::{Deployment, ReplicaSet};
        use api_types::coordination::v1::Lease;
        use api_types::core::v1::{
            ConfigMap, Endpoints, Event, Namespace, Node, Pod, ReplicationController, Secret,
            Service, ServiceAccount,
        };
        use api_types::discovery::v1::EndpointSlice;
        typed_fixture::<Pod>("full-pod.yaml");
        typed_fixture::<Pod>("myweb-pod.yaml");
        typed_fixture::<Deployment>("deployment.yaml");
        typed_fixture::<ReplicaSet>("replicaset.yaml");
        typed_fixture::<ReplicationController>("replicationcontroller.yaml");
        typed_fixture::<Service>("service.yaml");
        typed_fixture::<Endpoints>("endpoints.yaml");
        typed_fixture::<EndpointSlice>("endpointslice.yaml");
        typed_fixture::<ConfigMap>("configmap.yaml");
        typed_fixture::<Secret>("secret.yaml");
        typed_fixture::<Event>("event.yaml");
        typed_fixture::<Namespace>("namespace.yaml");
        typed_fixture::<Node>("node.yaml");
        typed_fixture::<ServiceAccount>("serviceaccount.yaml");
        typed_fixture::<Lease>("lease.yaml");
    }
}
