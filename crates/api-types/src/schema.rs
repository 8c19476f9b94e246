//! OpenAPI schemas for every type, shaped like the ones Kubernetes publishes
//! (feature `schema`).
//!
//! The structs derive `schemars::JsonSchema` next to their serde derives, so
//! field names, optionality and doc comments come from the same source as
//! the wire format. [`definitions`] then reshapes schemars' JSON Schema into
//! the OpenAPI v3 style of kube-openapi:
//! - names are upstream's (`io.k8s.api.core.v1.Pod`), references are
//!   `#/components/schemas/<name>`; a reference with a description or an
//!   extension is wrapped as `{"allOf":[{"$ref":...}], ...}`, as upstream does;
//! - `Option<T>` is just `T` (no `null` types: absent means unset);
//! - the merge metadata of [`patch_meta`](crate::patch_meta) is added as
//!   `x-kubernetes-*` extensions, and top-level kinds (and their lists) carry
//!   `x-kubernetes-group-version-kind`;
//! - the leaf types with hand-written serde (`Quantity`, `IntOrString`,
//!   `Time`, `MicroTime`, base64 bytes) get upstream's schemas.
//!
//! Why schemars rather than a hand-written generator: the derive reads the
//! serde attributes (`rename_all`, `rename`, `default`), so a schema cannot
//! drift from what the decoder accepts; everything Kubernetes-specific is a
//! post-processing step over plain JSON.

use std::borrow::Cow;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value, json};

use crate::Resource;
use crate::meta::v1::{DeleteOptions, List, MicroTime, Status, Time};
use crate::patch_meta;
use crate::quantity::Quantity;

/// Prefix of a local reference.
pub const REF_PREFIX: &str = "#/components/schemas/";

impl JsonSchema for Quantity {
    fn schema_name() -> Cow<'static, str> {
        "io.k8s.apimachinery.pkg.api.resource.Quantity".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A fixed-point number with an optional SI (`m`, `k`, `M`, ...) or binary (`Ki`, `Mi`, ...) suffix or a decimal exponent, e.g. `100m`, `512Mi`, `1e3`. Plain JSON numbers are accepted too."
        })
    }
}

impl JsonSchema for crate::intstr::IntOrString {
    fn schema_name() -> Cow<'static, str> {
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "int-or-string",
            "x-kubernetes-int-or-string": true,
            "description": "An int32 or a string: a port number or name, a count or a percentage such as `25%`."
        })
    }
}

impl JsonSchema for Time {
    fn schema_name() -> Cow<'static, str> {
        "io.k8s.apimachinery.pkg.apis.meta.v1.Time".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "An RFC 3339 timestamp with whole seconds, in UTC."
        })
    }
}

impl JsonSchema for MicroTime {
    fn schema_name() -> Cow<'static, str> {
        "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "An RFC 3339 timestamp with microseconds, in UTC."
        })
    }
}

impl JsonSchema for crate::core::v1::ByteString {
    // Upstream's `[]byte`: an anonymous base64 string, never a named schema.
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "ByteString".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "format": "byte" })
    }
}

/// One top-level kind: its schema name and group/version/kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindSchema {
    /// e.g. `io.k8s.api.core.v1.Pod`.
    pub name: String,
    /// e.g. `io.k8s.api.core.v1.PodList`.
    pub list_name: String,
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
}

/// The generated schemas: `components.schemas` and the kinds among them.
#[derive(Clone, Debug, Default)]
pub struct Definitions {
    /// Every schema by name, Kubernetes style.
    pub schemas: Map<String, Value>,
    /// The top-level kinds, in a stable order.
    pub kinds: Vec<KindSchema>,
}

impl Definitions {
    /// The schema name of a kind (`("", "v1", "Pod")` → `io.k8s.api.core.v1.Pod`).
    pub fn kind(&self, group: &str, version: &str, kind: &str) -> Option<&KindSchema> {
        self.kinds
            .iter()
            .find(|k| k.group == group && k.version == version && k.kind == kind)
    }
}

struct Collector {
    generator: SchemaGenerator,
    kinds: Vec<KindSchema>,
}

impl Collector {
    fn kind<K: Resource + JsonSchema>(&mut self) {
        let _ = self.generator.subschema_for::<K>();
        let _ = self.generator.subschema_for::<List<K>>();
        self.kinds.push(KindSchema {
            name: K::schema_name().into_owned(),
            list_name: List::<K>::schema_name().into_owned(),
            group: K::GROUP,
            version: K::VERSION,
            kind: K::KIND,
        });
    }
}

/// Generates every schema. Deterministic; callers cache the result.
pub fn definitions() -> Definitions {
    use crate::apps::v1::{Deployment, ReplicaSet};
    use crate::autoscaling::v1::Scale;
    use crate::coordination::v1::Lease;
    use crate::core::v1::{
        Binding, ConfigMap, Endpoints, Event, Namespace, Node, Pod, PodTemplate,
        ReplicationController, Secret, Service, ServiceAccount,
    };
    use crate::discovery::v1::EndpointSlice;

    let mut settings = SchemaSettings::draft2020_12().for_deserialize();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    let mut c = Collector {
        generator: settings.into_generator(),
        kinds: Vec::new(),
    };
    c.kind::<Pod>();
    c.kind::<Node>();
    c.kind::<Namespace>();
    c.kind::<Service>();
    c.kind::<Endpoints>();
    c.kind::<ConfigMap>();
    c.kind::<Secret>();
    c.kind::<Event>();
    c.kind::<ServiceAccount>();
    c.kind::<ReplicationController>();
    c.kind::<PodTemplate>();
    c.kind::<Binding>();
    c.kind::<Deployment>();
    c.kind::<ReplicaSet>();
    c.kind::<Scale>();
    c.kind::<EndpointSlice>();
    c.kind::<Lease>();
    let _ = c.generator.subschema_for::<Status>();
    let _ = c.generator.subschema_for::<DeleteOptions>();

    let mut schemas = Map::new();
    for (name, mut schema) in c.generator.take_definitions(true) {
        normalize(&mut schema);
        schemas.insert(name, schema);
    }
    apply_patch_meta(&mut schemas);
    add_group_version_kinds(&mut schemas, &c.kinds);
    Definitions {
        schemas,
        kinds: c.kinds,
    }
}

/// Reshapes one schemars schema (and its subschemas) into kube-openapi's style.
fn normalize(schema: &mut Value) {
    // `true` (anything) has no OpenAPI v2 form: use the empty schema.
    if schema.as_bool() == Some(true) {
        *schema = json!({});
    }
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    obj.remove("$schema");
    // schemars splits a doc comment into title and description; upstream has
    // only a description.
    if let Some(Value::String(title)) = obj.remove("title") {
        let desc = match obj.remove("description") {
            Some(Value::String(d)) => format!("{title}\n\n{d}"),
            _ => title,
        };
        obj.insert("description".into(), Value::String(desc));
    }
    // Defaults are what the Rust type's `Default` would give; upstream
    // publishes server-side defaults only. Leave them out.
    obj.remove("default");
    // `Option<T>`: `{"type": ["string", "null"]}` → `{"type": "string"}`.
    if let Some(Value::Array(types)) = obj.get("type") {
        let non_null: Vec<Value> = types
            .iter()
            .filter(|t| t.as_str() != Some("null"))
            .cloned()
            .collect();
        if non_null.len() == 1 {
            obj.insert("type".into(), non_null[0].clone());
        } else {
            obj.insert("type".into(), Value::Array(non_null));
        }
    }
    // `Option<T>` of a named schema: `{"anyOf": [{"$ref": ...}, {"type": "null"}]}`.
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(variants)) = obj.get(key) {
            let non_null: Vec<Value> = variants
                .iter()
                .filter(|v| v.get("type").and_then(Value::as_str) != Some("null"))
                .cloned()
                .collect();
            if non_null.len() == 1 && non_null.len() < variants.len() {
                obj.remove(key);
                if let Value::Object(inner) = &non_null[0] {
                    for (k, v) in inner {
                        obj.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
        }
    }
    for key in ["properties", "patternProperties"] {
        if let Some(Value::Object(props)) = obj.get_mut(key) {
            for prop in props.values_mut() {
                normalize(prop);
            }
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = obj.get_mut(key)
            && sub.is_object()
        {
            normalize(sub);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(subs)) = obj.get_mut(key) {
            for sub in subs {
                normalize(sub);
            }
        }
    }
    wrap_ref(obj);
}

/// `{"$ref": X, "description": ...}` → `{"allOf": [{"$ref": X}], "description": ...}`:
/// OpenAPI v3.0 ignores siblings of `$ref`, so kube-openapi wraps them.
fn wrap_ref(obj: &mut Map<String, Value>) {
    if obj.len() > 1
        && let Some(r) = obj.remove("$ref")
    {
        obj.insert("allOf".into(), json!([{ "$ref": r }]));
    }
}

fn apply_patch_meta(schemas: &mut Map<String, Value>) {
    for (name, schema) in schemas.iter_mut() {
        if patch_meta::is_atomic_struct(name)
            && let Some(obj) = schema.as_object_mut()
        {
            obj.insert("x-kubernetes-map-type".into(), json!("atomic"));
        }
        let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
            continue;
        };
        for meta in patch_meta::FIELDS.iter().filter(|m| m.is_for(name)) {
            let Some(Value::Object(prop)) = props.get_mut(meta.field) else {
                continue;
            };
            if let Some(s) = meta.patch_strategy {
                prop.insert("x-kubernetes-patch-strategy".into(), json!(s));
            }
            if let Some(k) = meta.patch_merge_key {
                prop.insert("x-kubernetes-patch-merge-key".into(), json!(k));
            }
            if let Some(t) = meta.list_type {
                prop.insert("x-kubernetes-list-type".into(), json!(t));
            }
            if !meta.list_map_keys.is_empty() {
                prop.insert(
                    "x-kubernetes-list-map-keys".into(),
                    json!(meta.list_map_keys),
                );
            }
            if let Some(t) = meta.map_type {
                prop.insert("x-kubernetes-map-type".into(), json!(t));
            }
            wrap_ref(prop);
        }
    }
}

fn add_group_version_kinds(schemas: &mut Map<String, Value>, kinds: &[KindSchema]) {
    let gvk = |group: &str, version: &str, kind: &str| json!([{ "group": group, "kind": kind, "version": version }]);
    for k in kinds {
        if let Some(Value::Object(obj)) = schemas.get_mut(&k.name) {
            obj.insert(
                "x-kubernetes-group-version-kind".into(),
                gvk(k.group, k.version, k.kind),
            );
        }
        if let Some(Value::Object(obj)) = schemas.get_mut(&k.list_name) {
            obj.insert(
                "x-kubernetes-group-version-kind".into(),
                gvk(k.group, k.version, &format!("{}List", k.kind)),
            );
            obj.insert(
                "description".into(),
                json!(format!("A list of {} objects.", k.kind)),
            );
        }
    }
    // Status and DeleteOptions are meta types every group version serves.
    let mut gvs: Vec<(&str, &str)> = kinds.iter().map(|k| (k.group, k.version)).collect();
    gvs.sort_unstable();
    gvs.dedup();
    let meta_name = |kind: &str| format!("io.k8s.apimachinery.pkg.apis.meta.v1.{kind}");
    if let Some(Value::Object(obj)) = schemas.get_mut(&meta_name("Status")) {
        obj.insert(
            "x-kubernetes-group-version-kind".into(),
            gvk("", "v1", "Status"),
        );
    }
    if let Some(Value::Object(obj)) = schemas.get_mut(&meta_name("DeleteOptions")) {
        let all: Vec<Value> = gvs
            .iter()
            .map(|(g, v)| json!({ "group": g, "kind": "DeleteOptions", "version": v }))
            .collect();
        obj.insert("x-kubernetes-group-version-kind".into(), Value::Array(all));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs() -> Definitions {
        definitions()
    }

    fn prop<'a>(d: &'a Definitions, schema: &str, field: &str) -> &'a Value {
        d.schemas
            .get(schema)
            .and_then(|s| s.get("properties"))
            .and_then(|p| p.get(field))
            .unwrap_or_else(|| panic!("{schema}.{field} missing"))
    }

    #[test]
    fn names_and_references_are_upstreams() {
        let d = defs();
        for name in [
            "io.k8s.api.core.v1.Pod",
            "io.k8s.api.core.v1.PodList",
            "io.k8s.api.apps.v1.Deployment",
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "io.k8s.apimachinery.pkg.api.resource.Quantity",
            "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
            "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
            "io.k8s.api.core.v1.EndpointPort",
            "io.k8s.api.discovery.v1.EndpointPort",
        ] {
            assert!(d.schemas.contains_key(name), "{name}");
        }
        let text = serde_json::to_string(&d.schemas).expect("json");
        assert!(!text.contains("#/$defs"), "all refs point into components");
        assert!(!text.contains("\"null\""), "no null types");
        let meta = prop(&d, "io.k8s.api.core.v1.Pod", "metadata");
        assert_eq!(
            meta.pointer("/allOf/0/$ref").or_else(|| meta.get("$ref")),
            Some(&json!(
                "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
            ))
        );
        assert_eq!(
            d.schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["x-kubernetes-int-or-string"],
            json!(true)
        );
        assert_eq!(
            d.schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"],
            json!("string")
        );
        assert_eq!(
            d.schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["format"],
            json!("date-time")
        );
        assert_eq!(
            prop(&d, "io.k8s.api.core.v1.Secret", "data")["additionalProperties"],
            json!({"type": "string", "format": "byte"})
        );
    }

    #[test]
    fn kinds_carry_their_group_version_kind() {
        let d = defs();
        assert_eq!(
            d.schemas["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
        );
        assert_eq!(
            d.schemas["io.k8s.api.core.v1.PodList"]["x-kubernetes-group-version-kind"],
            json!([{"group": "", "kind": "PodList", "version": "v1"}])
        );
        assert!(
            d.schemas["io.k8s.api.core.v1.PodSpec"]
                .get("x-kubernetes-group-version-kind")
                .is_none()
        );
        assert_eq!(
            d.kind("", "v1", "Pod").map(|k| k.name.as_str()),
            Some("io.k8s.api.core.v1.Pod")
        );
    }

    #[test]
    fn merge_metadata_is_on_the_key_fields() {
        let d = defs();
        let containers = prop(&d, "io.k8s.api.core.v1.PodSpec", "containers");
        assert_eq!(containers["type"], json!("array"));
        assert_eq!(containers["x-kubernetes-patch-merge-key"], json!("name"));
        assert_eq!(containers["x-kubernetes-patch-strategy"], json!("merge"));
        assert_eq!(containers["x-kubernetes-list-type"], json!("map"));
        assert_eq!(containers["x-kubernetes-list-map-keys"], json!(["name"]));
        let volumes = prop(&d, "io.k8s.api.core.v1.PodSpec", "volumes");
        assert_eq!(
            volumes["x-kubernetes-patch-strategy"],
            json!("merge,retainKeys")
        );
        let ports = prop(&d, "io.k8s.api.core.v1.Container", "ports");
        assert_eq!(
            ports["x-kubernetes-patch-merge-key"],
            json!("containerPort")
        );
        assert_eq!(
            ports["x-kubernetes-list-map-keys"],
            json!(["containerPort", "protocol"])
        );
        let mounts = prop(&d, "io.k8s.api.core.v1.Container", "volumeMounts");
        assert_eq!(mounts["x-kubernetes-patch-merge-key"], json!("mountPath"));
        let finalizers = prop(
            &d,
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "finalizers",
        );
        assert_eq!(finalizers["x-kubernetes-patch-strategy"], json!("merge"));
        assert_eq!(finalizers["x-kubernetes-list-type"], json!("set"));
        let owners = prop(
            &d,
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "ownerReferences",
        );
        assert_eq!(owners["x-kubernetes-patch-merge-key"], json!("uid"));
        let tolerations = prop(&d, "io.k8s.api.core.v1.PodSpec", "tolerations");
        assert_eq!(tolerations["x-kubernetes-list-type"], json!("atomic"));
        assert!(tolerations.get("x-kubernetes-patch-strategy").is_none());
        let strategy = prop(&d, "io.k8s.api.apps.v1.DeploymentSpec", "strategy");
        assert_eq!(strategy["x-kubernetes-patch-strategy"], json!("retainKeys"));
        assert!(strategy["allOf"][0]["$ref"].is_string(), "{strategy}");
        assert_eq!(
            prop(&d, "io.k8s.api.core.v1.PodSpec", "nodeSelector")["x-kubernetes-map-type"],
            json!("atomic")
        );
        assert_eq!(
            d.schemas["io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"]["x-kubernetes-map-type"],
            json!("atomic")
        );
    }

    #[test]
    fn every_patch_meta_row_names_a_real_field_of_the_right_shape() {
        let d = defs();
        let missing: Vec<String> = patch_meta::FIELDS
            .iter()
            .map(|m| format!("{}.{}.{}", m.package, m.kind, m.field))
            .filter(|path| {
                let (schema, field) = path.rsplit_once('.').unwrap_or_default();
                d.schemas[schema]
                    .pointer(&format!("/properties/{field}"))
                    .is_none()
            })
            .collect();
        assert!(missing.is_empty(), "{missing:?}");
        for m in patch_meta::FIELDS {
            let schema = format!("{}.{}", m.package, m.kind);
            let p = prop(&d, &schema, m.field);
            let ty = p.get("type").and_then(Value::as_str);
            if m.list_type.is_some() {
                assert_eq!(ty, Some("array"), "{schema}.{}", m.field);
            }
            if m.map_type.is_some() {
                assert_eq!(ty, Some("object"), "{schema}.{}", m.field);
            }
            if let Some(key) = m.patch_merge_key {
                let item = p["items"].get("$ref").and_then(Value::as_str).unwrap_or("");
                let item = item.trim_start_matches(REF_PREFIX);
                assert!(
                    d.schemas[item]["properties"].get(key).is_some(),
                    "{schema}.{}: items have no {key}",
                    m.field
                );
            }
        }
        for (package, kind) in patch_meta::ATOMIC_STRUCTS {
            assert!(
                d.schemas.contains_key(&format!("{package}.{kind}")),
                "{kind}"
            );
        }
    }

    #[test]
    fn descriptions_come_from_doc_comments() {
        let d = defs();
        let desc = prop(&d, "io.k8s.api.core.v1.PodSpec", "restartPolicy")["description"]
            .as_str()
            .unwrap_or("");
        assert!(desc.contains("OnFailure"), "{desc}");
    }
}
