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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
    #[default]
    Untyped,
}

/// How the items of a list are identified (server-side apply).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ListType {
    /// The list is one value, owned and replaced as a whole.
    #[default]
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

/// A `components.schemas` document compiled for merging: one node per place
/// a schema is used (a property, `items`, a definition), with references
/// followed and the merge metadata read once. Walking an object against it
/// costs a binary search per field instead of string lookups through the
/// whole document, which matters because every write walks its object.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: Vec<Info>,
    /// Definitions by name (`io.k8s.api.core.v1.Pod`).
    names: std::collections::HashMap<String, u32>,
}

/// What is known about one node.
#[derive(Debug, Default)]
struct Info {
    typed: bool,
    shape: Shape,
    atomic: bool,
    list_type: ListType,
    strategy: PatchStrategy,
    merge_key: Option<String>,
    default: Option<Value>,
    /// Declared fields, sorted by name.
    fields: Vec<(String, u32)>,
    /// The schema of a map's values.
    additional: Option<u32>,
    items: Option<u32>,
    /// A field upstream's Go objects always carry (see [`ALWAYS_PRESENT`]).
    always_present: bool,
}

/// Fields upstream's Go objects always carry, so an object never "gains"
/// or "loses" them: value (non-pointer) structs such as `spec` and
/// `template`, which Go serializes even when empty, and lists or maps
/// without `omitempty`, which it serializes as `null`. Server-side apply
/// compares a write with the old Go object (with the zero object on a
/// create), so such a node is never recorded as added itself (no `.` in
/// `fieldsV1`): a created pod's manager owns `f:spec` and `f:containers`
/// through their children only, but owns `.` of `f:labels`, a pointer
/// struct such as `f:securityContext`, and everything inside a new list
/// item. OpenAPI does not say which fields these are, so they are listed
/// here, by definition, from the Go types of the kinds this server serves.
const ALWAYS_PRESENT: &[(&str, &[&str])] = &[
    (
        "io.k8s.api.apps.v1.Deployment",
        &["metadata", "spec", "status"],
    ),
    (
        "io.k8s.api.apps.v1.DeploymentSpec",
        &["selector", "strategy", "template"],
    ),
    (
        "io.k8s.api.apps.v1.ReplicaSet",
        &["metadata", "spec", "status"],
    ),
    (
        "io.k8s.api.apps.v1.ReplicaSetSpec",
        &["selector", "template"],
    ),
    (
        "io.k8s.api.autoscaling.v1.Scale",
        &["metadata", "spec", "status"],
    ),
    ("io.k8s.api.coordination.v1.Lease", &["metadata", "spec"]),
    ("io.k8s.api.core.v1.Binding", &["metadata", "target"]),
    ("io.k8s.api.core.v1.ConfigMap", &["metadata"]),
    ("io.k8s.api.core.v1.Container", &["resources"]),
    (
        "io.k8s.api.core.v1.ContainerStatus",
        &["lastState", "state"],
    ),
    ("io.k8s.api.core.v1.Endpoints", &["metadata"]),
    (
        "io.k8s.api.core.v1.Event",
        &["involvedObject", "metadata", "source"],
    ),
    (
        "io.k8s.api.core.v1.Namespace",
        &["metadata", "spec", "status"],
    ),
    ("io.k8s.api.core.v1.Node", &["metadata", "spec", "status"]),
    (
        "io.k8s.api.core.v1.NodeDaemonEndpoints",
        &["kubeletEndpoint"],
    ),
    ("io.k8s.api.core.v1.NodeSelector", &["nodeSelectorTerms"]),
    (
        "io.k8s.api.core.v1.NodeStatus",
        &["daemonEndpoints", "nodeInfo"],
    ),
    ("io.k8s.api.core.v1.Pod", &["metadata", "spec", "status"]),
    ("io.k8s.api.core.v1.PodSpec", &["containers"]),
    ("io.k8s.api.core.v1.PodTemplateSpec", &["metadata", "spec"]),
    (
        "io.k8s.api.core.v1.PreferredSchedulingTerm",
        &["preference"],
    ),
    ("io.k8s.api.core.v1.ProjectedVolumeSource", &["sources"]),
    ("io.k8s.api.core.v1.RBDVolumeSource", &["monitors"]),
    (
        "io.k8s.api.core.v1.ReplicationController",
        &["metadata", "spec", "status"],
    ),
    ("io.k8s.api.core.v1.Secret", &["metadata"]),
    (
        "io.k8s.api.core.v1.Service",
        &["metadata", "spec", "status"],
    ),
    ("io.k8s.api.core.v1.ServiceAccount", &["metadata"]),
    ("io.k8s.api.core.v1.ServiceStatus", &["loadBalancer"]),
    (
        "io.k8s.api.core.v1.WeightedPodAffinityTerm",
        &["podAffinityTerm"],
    ),
    (
        "io.k8s.api.discovery.v1.Endpoint",
        &["addresses", "conditions"],
    ),
    (
        "io.k8s.api.discovery.v1.EndpointSlice",
        &["endpoints", "metadata", "ports"],
    ),
];

impl Graph {
    /// Compiles every definition of `defs` (the served ones: the fields
    /// Go always carries are [`ALWAYS_PRESENT`]).
    pub fn compile(defs: &Map<String, Value>) -> Graph {
        Graph::compile_with(defs, ALWAYS_PRESENT)
    }

    /// [`compile`](Self::compile), with the fields always present named by
    /// definition in `always_present`.
    pub fn compile_with(defs: &Map<String, Value>, always_present: &[(&str, &[&str])]) -> Graph {
        let mut graph = Graph::default();
        let mut seen = std::collections::HashMap::new();
        for (name, node) in defs {
            let id = graph.add(defs, node, &mut seen);
            graph.names.insert(name.clone(), id);
        }
        for (name, fields) in always_present {
            let Some(&id) = graph.names.get(*name) else {
                continue;
            };
            let ids: Vec<u32> = graph
                .nodes
                .get(id as usize)
                .into_iter()
                .flat_map(|info| &info.fields)
                .filter(|(k, _)| fields.contains(&k.as_str()))
                .map(|(_, f)| *f)
                .collect();
            for f in ids {
                if let Some(info) = graph.nodes.get_mut(f as usize) {
                    info.always_present = true;
                }
            }
        }
        graph
    }

    /// The node for `node` (memoised by address: a definition referenced
    /// from many places, or from itself, is compiled once).
    fn add(
        &mut self,
        defs: &Map<String, Value>,
        node: &Value,
        seen: &mut std::collections::HashMap<*const Value, u32>,
    ) -> u32 {
        if let Some(&id) = seen.get(&std::ptr::from_ref(node)) {
            return id;
        }
        let id = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        self.nodes.push(Info::default());
        seen.insert(std::ptr::from_ref(node), id);
        let raw = Raw {
            defs: Some(defs),
            node: Some(node),
        };
        let mut info = Info {
            typed: raw.is_typed(),
            shape: raw.shape(),
            atomic: raw.is_atomic(),
            list_type: raw.list_type(),
            strategy: raw.patch_strategy(),
            merge_key: raw.merge_key().map(str::to_string),
            default: raw.default_value().cloned(),
            ..Info::default()
        };
        if let Some(resolved) = raw.resolved() {
            if let Some(props) = resolved.get("properties").and_then(Value::as_object) {
                let mut fields: Vec<(String, u32)> = props
                    .iter()
                    .map(|(k, v)| (k.clone(), self.add(defs, v, seen)))
                    .collect();
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                info.fields = fields;
            }
            if let Some(v) = resolved
                .get("additionalProperties")
                .filter(|v| v.is_object())
            {
                info.additional = Some(self.add(defs, v, seen));
            }
            if let Some(v) = resolved.get("items") {
                info.items = Some(self.add(defs, v, seen));
            }
        }
        if let Some(slot) = self.nodes.get_mut(id as usize) {
            *slot = info;
        }
        id
    }
}

/// The served schemas, compiled once.
static SERVED: std::sync::LazyLock<Graph> =
    std::sync::LazyLock::new(|| Graph::compile(crate::openapi::components()));

/// A handle on one node of a compiled schema [`Graph`]. Where the document
/// says nothing the handle is untyped.
#[derive(Clone, Copy, Debug)]
pub struct Schema<'a> {
    graph: Option<&'a Graph>,
    id: u32,
}

impl Schema<'static> {
    /// The served schema of a kind (from [`crate::openapi`]); untyped for a
    /// kind without one.
    pub fn for_kind(group: &str, version: &str, kind: &str) -> Schema<'static> {
        match crate::openapi::schema_name(group, version, kind) {
            Some(name) => Schema::named(&SERVED, &name),
            None => Schema::untyped(),
        }
    }
}

impl<'a> Schema<'a> {
    /// The definition named `name` in `graph` (`io.k8s.api.core.v1.Pod`);
    /// untyped when there is no such definition.
    pub fn named(graph: &'a Graph, name: &str) -> Schema<'a> {
        match graph.names.get(name) {
            Some(&id) => Schema {
                graph: Some(graph),
                id,
            },
            None => Schema::untyped(),
        }
    }

    /// A schema that knows nothing: every shape is deduced from values.
    pub fn untyped() -> Schema<'static> {
        Schema { graph: None, id: 0 }
    }

    fn info(&self) -> Option<&'a Info> {
        self.graph?.nodes.get(self.id as usize)
    }

    fn at(&self, id: Option<u32>) -> Schema<'a> {
        match (self.graph, id) {
            (Some(graph), Some(id)) => Schema {
                graph: Some(graph),
                id,
            },
            _ => Schema::untyped(),
        }
    }

    /// Whether anything is known about this node.
    pub fn is_typed(&self) -> bool {
        self.info().is_some_and(|i| i.typed)
    }

    pub fn shape(&self) -> Shape {
        self.info().map_or(Shape::Untyped, |i| i.shape)
    }

    fn field(&self, name: &str) -> Option<u32> {
        let fields = &self.info()?.fields;
        fields
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .and_then(|i| fields.get(i))
            .map(|(_, id)| *id)
    }

    /// Whether `name` is a declared field of this struct (as opposed to a
    /// key of a map, or a field nobody declared).
    pub fn has_field(&self, name: &str) -> bool {
        self.field(name).is_some()
    }

    /// The schema of field or map key `name`; untyped when unknown.
    pub fn child(&self, name: &str) -> Schema<'a> {
        self.lookup(name).0
    }

    /// [`child`](Self::child) and [`has_field`](Self::has_field) in one
    /// search.
    pub fn lookup(&self, name: &str) -> (Schema<'a>, bool) {
        match self.field(name) {
            Some(id) => (self.at(Some(id)), true),
            None => (self.at(self.info().and_then(|i| i.additional)), false),
        }
    }

    /// Whether upstream's Go objects always carry this field (a value
    /// struct, or a list or map without `omitempty`): see
    /// [`ALWAYS_PRESENT`].
    pub fn always_present(&self) -> bool {
        self.info().is_some_and(|i| i.always_present)
    }

    /// The schema of a list's items; untyped when unknown.
    pub fn items(&self) -> Schema<'a> {
        self.at(self.info().and_then(|i| i.items))
    }

    /// `x-kubernetes-patch-strategy`, e.g. `merge,retainKeys`.
    pub fn patch_strategy(&self) -> PatchStrategy {
        self.info().map(|i| i.strategy).unwrap_or_default()
    }

    /// `x-kubernetes-patch-merge-key`.
    pub fn merge_key(&self) -> Option<&'a str> {
        self.info()?.merge_key.as_deref()
    }

    /// How apply identifies the items of this list. Without
    /// `x-kubernetes-list-type` the patch strategy decides, as upstream's
    /// schema conversion does: `merge` with a merge key is a map keyed by
    /// it, `merge` without one a set, anything else atomic.
    pub fn list_type(&self) -> &'a ListType {
        static ATOMIC: ListType = ListType::Atomic;
        self.info().map_or(&ATOMIC, |i| &i.list_type)
    }

    /// `x-kubernetes-map-type: atomic` (maps, and structs upstream marks
    /// `+structType=atomic`): owned and replaced as a whole.
    pub fn is_atomic(&self) -> bool {
        self.info().is_some_and(|i| i.atomic)
    }

    /// The node's `default`.
    pub fn default_value(&self) -> Option<&'a Value> {
        self.info()?.default.as_ref()
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

/// A raw view of one node of a `components.schemas` document, read only
/// while compiling a [`Graph`].
#[derive(Clone, Copy, Debug)]
struct Raw<'a> {
    defs: Option<&'a Map<String, Value>>,
    /// The node as written where it is used (a property, `items` ...): its
    /// own extensions win over those of the schema it references.
    node: Option<&'a Value>,
}

impl<'a> Raw<'a> {
    /// Whether anything is known about this node.
    fn is_typed(&self) -> bool {
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

    fn shape(&self) -> Shape {
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

    /// `x-kubernetes-patch-strategy`, e.g. `merge,retainKeys`.
    fn patch_strategy(&self) -> PatchStrategy {
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
    fn merge_key(&self) -> Option<&'a str> {
        self.ext("x-kubernetes-patch-merge-key")
            .and_then(Value::as_str)
    }

    /// How apply identifies the items of this list. Without
    /// `x-kubernetes-list-type` the patch strategy decides, as upstream's
    /// schema conversion does: `merge` with a merge key is a map keyed by
    /// it, `merge` without one a set, anything else atomic.
    fn list_type(&self) -> ListType {
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
    fn is_atomic(&self) -> bool {
        self.ext("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic")
    }

    /// The node's `default`.
    fn default_value(&self) -> Option<&'a Value> {
        self.ext("default")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// A miniature of the published schemas: a pod-ish object whose lists
    /// exercise every merge style.
    pub fn mini() -> Graph {
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
            // As Go types would be: value structs and a non-omitempty list.
            Value::Object(m) => Graph::compile_with(
                &m,
                &[
                    ("Obj", &["metadata", "spec", "status"]),
                    ("Spec", &["containers", "strategy"]),
                    ("Container", &["resources"]),
                ],
            ),
            _ => Graph::default(),
        }
    }

    #[test]
    fn fields_always_present_are_served_fields() {
        for (name, fields) in ALWAYS_PRESENT {
            let def = Schema::named(&SERVED, name);
            assert!(def.is_typed(), "{name} is not served");
            for f in *fields {
                assert!(def.has_field(f), "{name} has no field {f}");
                assert!(def.child(f).always_present(), "{name}.{f}");
            }
        }
        let pod = Schema::named(&SERVED, "io.k8s.api.core.v1.Pod");
        let spec = pod.child("spec");
        assert!(spec.always_present() && spec.child("containers").always_present());
        // A pointer struct, and a value struct's fields reached through a
        // reference, keep what their own definition says.
        assert!(!spec.child("securityContext").always_present());
        let container = spec.child("containers").items();
        assert!(container.child("resources").always_present());
        assert!(!container.child("livenessProbe").always_present());
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
        assert_eq!(containers.list_type(), &ListType::Map(vec!["name".into()]));
        let volumes = spec.child("volumes");
        assert_eq!(
            volumes.patch_strategy(),
            PatchStrategy {
                merge: true,
                retain_keys: true,
                replace: false
            }
        );
        assert_eq!(spec.child("tolerations").list_type(), &ListType::Atomic);
        // no list type: the patch strategy decides
        assert_eq!(spec.child("tags").list_type(), &ListType::Set);
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
        assert_eq!(containers.list_type(), &ListType::Map(vec!["name".into()]));
        let ports = containers.items().child("ports");
        assert_eq!(
            ports.list_type(),
            &ListType::Map(vec!["containerPort".into(), "protocol".into()])
        );
        assert_eq!(
            ports.items().key_default("protocol"),
            Some(&Value::String("TCP".into()))
        );
        let svc = Schema::for_kind("", "v1", "Service");
        assert_eq!(svc.child("spec").child("ports").merge_key(), Some("port"));
        let meta = Schema::for_kind("", "v1", "ConfigMap").child("metadata");
        assert_eq!(meta.child("labels").shape(), Shape::Map);
        assert_eq!(meta.child("finalizers").list_type(), &ListType::Set);
        assert!(deploy.child("spec").child("selector").is_atomic());
    }
}
