//! Reading merge metadata out of OpenAPI v3 schemas.
//!
//! Strategic merge patch and server-side apply need the same facts about a
//! field: is it a struct (named fields), a map (free keys), a list or a
//! scalar; how a list merges (`x-kubernetes-patch-strategy`,
//! `x-kubernetes-patch-merge-key` for strategic merge patch;
//! `x-kubernetes-list-type`, `x-kubernetes-list-map-keys` for apply); whether
//! a map or struct is owned as a whole (`x-kubernetes-map-type: atomic`).
//! Upstream reads them from Go struct tags (strategic merge patch) and from
//! the published OpenAPI (apply); both come from the same tags, so here both
//! read the OpenAPI `components.schemas` the server publishes.
//!
//! A [`Schema`] is a cheap handle on one node of that document. Where the
//! document says nothing (unknown fields, `x-kubernetes-preserve-unknown-fields`)
//! the handle is *untyped* and the shape is deduced from the value, as
//! structured-merge-diff's "deduced" type does: objects merge key by key,
//! lists are atomic.

use serde_json::{Map, Value};

/// Prefix of a local reference in OpenAPI v3.
const REF_PREFIX: &str = "#/components/schemas/";

/// Upstream's default `protocol` of container, service and endpoint ports.
static PROTOCOL_DEFAULT: std::sync::LazyLock<Value> =
    std::sync::LazyLock::new(|| Value::String("TCP".into()));

/// References followed before giving up (a cycle in a broken document).
const MAX_REF_HOPS: usize = 16;

/// How a node is shaped, as far as merging is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Named fields (`properties`).
    Struct,
    /// Free keys (`additionalProperties`), e.g. labels.
    Map,
    /// `type: array`.
    List,
    /// Strings, numbers, booleans, int-or-string, quantities, times.
    Scalar,
    /// Nothing known: deduced from the value.
    Untyped,
}

/// How the items of a list are identified (server-side apply).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListType {
    /// The list is one value, owned and replaced as a whole.
    Atomic,
    /// Scalars, each owned on its own (`v:"value"`).
    Set,
    /// Objects identified by these key fields (`k:{"name":"c"}`).
    Map(Vec<String>),
}

/// A field's strategic-merge-patch strategy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PatchStrategy {
    /// `merge`: lists merge by merge key (or as a set of scalars).
    pub merge: bool,
    /// `retainKeys`: the patch's `$retainKeys` clears the other keys.
    pub retain_keys: bool,
    /// `replace`: maps are replaced rather than merged.
    pub replace: bool,
}

/// A handle on one node of an OpenAPI v3 `components.schemas` document.
#[derive(Clone, Copy, Debug)]
pub struct Schema<'a> {
    defs: Option<&'a Map<String, Value>>,
    /// The node as written where it is used (a property, `items` ...): its
    /// own extensions win over those of the schema it references.
    node: Option<&'a Value>,
}

impl Schema<'static> {
    /// The served schema of a kind (from [`crate::openapi`]); untyped for a
    /// kind without one.
    pub fn for_kind(group: &str, version: &str, kind: &str) -> Schema<'static> {
        match crate::openapi::schema_name(group, version, kind) {
            Some(name) => Schema::named(crate::openapi::components(), &name),
            None => Schema::untyped(),
        }
    }
}

impl<'a> Schema<'a> {
    /// The schema named `name` in `defs` (`io.k8s.api.core.v1.Pod`); untyped
    /// when there is no such schema.
    pub fn named(defs: &'a Map<String, Value>, name: &str) -> Schema<'a> {
        Schema {
            defs: Some(defs),
            node: defs.get(name),
        }
    }

    /// A schema that knows nothing: every shape is deduced from values.
    pub fn untyped() -> Schema<'static> {
        Schema {
            defs: None,
            node: None,
        }
    }

    fn at(&self, node: Option<&'a Value>) -> Schema<'a> {
        Schema {
            defs: self.defs,
            node,
        }
    }

    /// Whether anything is known about this node.
    pub fn is_typed(&self) -> bool {
        self.resolved().is_some()
    }

    /// The node with references followed: `$ref`, or upstream's
    /// `allOf: [{$ref}]` wrapping used when a reference carries a
    /// description or default.
    fn resolved(&self) -> Option<&'a Map<String, Value>> {
        let mut node = self.node?.as_object()?;
        for _ in 0..MAX_REF_HOPS {
            let target = node.get("$ref").and_then(Value::as_str).or_else(|| {
                match node
                    .get("allOf")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                {
                    Some([only]) => only.get("$ref").and_then(Value::as_str),
                    _ => None,
                }
            });
            match target {
                None => return Some(node),
                Some(r) => {
                    let name = r.strip_prefix(REF_PREFIX)?;
                    node = self.defs?.get(name)?.as_object()?;
                }
            }
        }
        None
    }

    /// An extension, from the node itself first, then from what it references.
    fn ext(&self, name: &str) -> Option<&'a Value> {
        self.node
            .and_then(|n| n.get(name))
            .or_else(|| self.resolved().and_then(|r| r.get(name)))
    }

    pub fn shape(&self) -> Shape {
        let Some(node) = self.resolved() else {
            return Shape::Untyped;
        };
        if node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
            && !node.contains_key("properties")
        {
            return Shape::Untyped;
        }
        if node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
            return Shape::Scalar;
        }
        if node.contains_key("properties") {
            return Shape::Struct;
        }
        if node
            .get("additionalProperties")
            .is_some_and(Value::is_object)
        {
            return Shape::Map;
        }
        match node.get("type").and_then(Value::as_str) {
            Some("array") => Shape::List,
            Some("object") | None => Shape::Untyped,
            Some(_) => Shape::Scalar,
        }
    }

    /// Whether `name` is a declared field of this struct (as opposed to a
    /// key of a map, or a field nobody declared).
    pub fn has_field(&self, name: &str) -> bool {
        self.resolved()
            .and_then(|n| n.get("properties"))
            .and_then(|p| p.get(name))
            .is_some()
    }

    /// The schema of field or map key `name`; untyped when unknown.
    pub fn child(&self, name: &str) -> Schema<'a> {
        let Some(node) = self.resolved() else {
            return Schema::untyped();
        };
        if let Some(field) = node.get("properties").and_then(|p| p.get(name)) {
            return self.at(Some(field));
        }
        match node.get("additionalProperties") {
            Some(v) if v.is_object() => self.at(Some(v)),
            _ => Schema::untyped(),
        }
    }

    /// The schema of a list's items; untyped when unknown.
    pub fn items(&self) -> Schema<'a> {
        match self.resolved().and_then(|n| n.get("items")) {
            Some(items) => self.at(Some(items)),
            None => Schema::untyped(),
        }
    }

    /// `x-kubernetes-patch-strategy`, e.g. `merge,retainKeys`.
    pub fn patch_strategy(&self) -> PatchStrategy {
        let mut out = PatchStrategy::default();
        if let Some(s) = self
            .ext("x-kubernetes-patch-strategy")
            .and_then(Value::as_str)
        {
            for part in s.split(',').map(str::trim) {
                match part {
                    "merge" => out.merge = true,
                    "retainKeys" => out.retain_keys = true,
                    "replace" => out.replace = true,
                    _ => {}
                }
            }
        }
        out
    }

    /// `x-kubernetes-patch-merge-key`.
    pub fn merge_key(&self) -> Option<&'a str> {
        self.ext("x-kubernetes-patch-merge-key")
            .and_then(Value::as_str)
    }

    /// How apply identifies the items of this list. Without
    /// `x-kubernetes-list-type` the patch strategy decides, as upstream's
    /// schema conversion does: `merge` with a merge key is a map keyed by
    /// it, `merge` without one a set, anything else atomic.
    pub fn list_type(&self) -> ListType {
        match self.ext("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("atomic") => ListType::Atomic,
            Some("set") => ListType::Set,
            Some("map") => {
                let keys: Vec<String> = self
                    .ext("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|ks| {
                        ks.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                if keys.is_empty() {
                    ListType::Atomic
                } else {
                    ListType::Map(keys)
                }
            }
            _ => {
                if !self.patch_strategy().merge {
                    ListType::Atomic
                } else if let Some(key) = self.merge_key() {
                    ListType::Map(vec![key.to_string()])
                } else {
                    ListType::Set
                }
            }
        }
    }

    /// `x-kubernetes-map-type: atomic` (maps, and structs upstream marks
    /// `+structType=atomic`): owned and replaced as a whole.
    pub fn is_atomic(&self) -> bool {
        self.ext("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic")
    }

    /// The node's `default`.
    pub fn default_value(&self) -> Option<&'a Value> {
        self.ext("default")
    }

    /// The value a list-map item that leaves out key field `name` has:
    /// the field's schema `default` (a port's `protocol` is `TCP`), so that
    /// `{containerPort: 80}` applied names the live `{containerPort: 80,
    /// protocol: TCP}`.
    pub fn key_default(&self, name: &str) -> Option<&'a Value> {
        self.child(name).default_value().or(match name {
            // Upstream's `+default="TCP"` on every `protocol` list-map key of
            // the built-in types, for schemas that do not carry it.
            "protocol" => Some(&*PROTOCOL_DEFAULT),
            _ => None,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::{Map, Value, json};

    use super::*;

    /// A miniature of the published schemas: a pod-ish object whose lists
    /// exercise every merge style.
    pub fn mini() -> Map<String, Value> {
        let doc = json!({
            "Obj": {
                "type": "object",
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"allOf": [{"$ref": "#/components/schemas/Meta"}], "default": {}},
                    "spec": {"allOf": [{"$ref": "#/components/schemas/Spec"}], "default": {}},
                    "status": {"type": "object", "properties": {"phase": {"type": "string"}}}
                }
            },
            "Meta": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "namespace": {"type": "string"},
                    "uid": {"type": "string"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string", "default": ""}},
                    "annotations": {"type": "object", "additionalProperties": {"type": "string", "default": ""}},
                    "finalizers": {
                        "type": "array", "items": {"type": "string", "default": ""},
                        "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge"
                    },
                    "ownerReferences": {
                        "type": "array", "items": {"$ref": "#/components/schemas/OwnerRef"},
                        "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["uid"],
                        "x-kubernetes-patch-merge-key": "uid", "x-kubernetes-patch-strategy": "merge"
                    },
                    "managedFields": {"type": "array", "items": {"type": "object"}}
                }
            },
            "OwnerRef": {
                "type": "object",
                "properties": {"uid": {"type": "string"}, "name": {"type": "string"}},
                "x-kubernetes-map-type": "atomic"
            },
            "Spec": {
                "type": "object",
                "properties": {
                    "replicas": {"type": "integer"},
                    "containers": {
                        "type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Container"}], "default": {}},
                        "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                        "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"
                    },
                    "volumes": {
                        "type": "array", "items": {"$ref": "#/components/schemas/Volume"},
                        "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                        "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge,retainKeys"
                    },
                    "tolerations": {"type": "array", "items": {"$ref": "#/components/schemas/Toleration"}, "x-kubernetes-list-type": "atomic"},
                    "nodeSelector": {"type": "object", "additionalProperties": {"type": "string"}, "x-kubernetes-map-type": "atomic"},
                    "strategy": {"allOf": [{"$ref": "#/components/schemas/Strategy"}], "x-kubernetes-patch-strategy": "retainKeys"},
                    "selector": {"$ref": "#/components/schemas/Selector"},
                    "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-patch-strategy": "merge"},
                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                }
            },
            "Container": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "image": {"type": "string"},
                    "args": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "atomic"},
                    "ports": {
                        "type": "array", "items": {"$ref": "#/components/schemas/Port"},
                        "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
                        "x-kubernetes-patch-merge-key": "containerPort", "x-kubernetes-patch-strategy": "merge"
                    },
                    "env": {
                        "type": "array", "items": {"$ref": "#/components/schemas/Env"},
                        "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                        "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"
                    },
                    "resources": {"type": "object", "properties": {"limits": {"type": "object", "additionalProperties": {"type": "string"}}}}
                }
            },
            "Port": {
                "type": "object",
                "properties": {
                    "containerPort": {"type": "integer"},
                    "protocol": {"type": "string", "default": "TCP"},
                    "name": {"type": "string"}
                }
            },
            "Env": {"type": "object", "properties": {"name": {"type": "string"}, "value": {"type": "string"}}},
            "Volume": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "emptyDir": {"type": "object", "properties": {"medium": {"type": "string"}}},
                    "hostPath": {"type": "object", "properties": {"path": {"type": "string"}}}
                }
            },
            "Toleration": {"type": "object", "properties": {"key": {"type": "string"}, "effect": {"type": "string"}}},
            "Strategy": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "rollingUpdate": {"type": "object", "properties": {"maxSurge": {"x-kubernetes-int-or-string": true}}}
                }
            },
            "Selector": {
                "type": "object",
                "properties": {"matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}},
                "x-kubernetes-map-type": "atomic"
            }
        });
        match doc {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn shapes_and_references() {
        let defs = mini();
        let obj = Schema::named(&defs, "Obj");
        assert_eq!(obj.shape(), Shape::Struct);
        let spec = obj.child("spec");
        assert_eq!(spec.shape(), Shape::Struct);
        assert!(obj.has_field("spec"));
        assert!(!obj.has_field("nope"));
        assert_eq!(obj.child("nope").shape(), Shape::Untyped);
        let labels = obj.child("metadata").child("labels");
        assert_eq!(labels.shape(), Shape::Map);
        assert_eq!(labels.child("anything").shape(), Shape::Scalar);
        assert_eq!(spec.child("containers").shape(), Shape::List);
        assert_eq!(spec.child("containers").items().shape(), Shape::Struct);
        assert_eq!(spec.child("extra").shape(), Shape::Untyped);
        assert_eq!(
            spec.child("strategy")
                .child("rollingUpdate")
                .child("maxSurge")
                .shape(),
            Shape::Scalar
        );
        assert_eq!(Schema::named(&defs, "Missing").shape(), Shape::Untyped);
    }

    #[test]
    fn merge_metadata() {
        let defs = mini();
        let spec = Schema::named(&defs, "Spec");
        let containers = spec.child("containers");
        assert_eq!(containers.merge_key(), Some("name"));
        assert!(containers.patch_strategy().merge);
        assert_eq!(containers.list_type(), ListType::Map(vec!["name".into()]));
        let volumes = spec.child("volumes");
        assert_eq!(
            volumes.patch_strategy(),
            PatchStrategy {
                merge: true,
                retain_keys: true,
                replace: false
            }
        );
        assert_eq!(spec.child("tolerations").list_type(), ListType::Atomic);
        // no list type: the patch strategy decides
        assert_eq!(spec.child("tags").list_type(), ListType::Set);
        // extension on the wrapping node
        assert!(spec.child("strategy").patch_strategy().retain_keys);
        // extension on the referenced schema
        assert!(spec.child("selector").is_atomic());
        assert!(spec.child("nodeSelector").is_atomic());
        let port = containers.items().child("ports").items();
        assert_eq!(
            port.child("protocol").default_value(),
            Some(&Value::String("TCP".into()))
        );
    }
}

#[cfg(test)]
mod served {
    use super::*;

    /// The merge metadata the store relies on, from the served schemas.
    #[test]
    fn served_schemas_carry_merge_metadata() {
        let deploy = Schema::for_kind("apps", "v1", "Deployment");
        assert_eq!(deploy.shape(), Shape::Struct);
        let pod_spec = deploy.child("spec").child("template").child("spec");
        let containers = pod_spec.child("containers");
        assert_eq!(containers.merge_key(), Some("name"));
        assert_eq!(containers.list_type(), ListType::Map(vec!["name".into()]));
        let ports = containers.items().child("ports");
        assert_eq!(
            ports.list_type(),
            ListType::Map(vec!["containerPort".into(), "protocol".into()])
        );
        assert_eq!(
            ports.items().key_default("protocol"),
            Some(&Value::String("TCP".into()))
        );
        let svc = Schema::for_kind("", "v1", "Service");
        assert_eq!(svc.child("spec").child("ports").merge_key(), Some("port"));
        let meta = Schema::for_kind("", "v1", "ConfigMap").child("metadata");
        assert_eq!(meta.child("labels").shape(), Shape::Map);
        assert_eq!(meta.child("finalizers").list_type(), ListType::Set);
        assert!(deploy.child("spec").child("selector").is_atomic());
    }
}
