//! OpenAPI v2 (Swagger 2.0) at `/openapi/v2`, as JSON and as gnostic
//! protobuf.
//!
//! kubectl 1.27 and 1.28 download this document (protobuf only) before
//! `create`/`apply` with validation on; without it they fail with "failed to
//! download openapi". It is the v3 documents merged into one and written
//! in v2 terms: `#/definitions/<name>` references, a `body` parameter
//! instead of a request body, `consumes`/`produces` instead of content maps.
//! The protobuf form uses our own subset of gnostic's model
//! (`proto/openapiv2.proto`); extension values are written as YAML (JSON
//! text, which YAML reads the same), as gnostic does.

use bytes::Bytes;
use prost::Message;
use serde_json::{Map, Value, json};

use super::v3::{Document, Documents};

/// The generated protobuf model (`proto/openapiv2.proto`).
#[allow(clippy::all, missing_docs)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/openapi.v2.rs"));
}

/// Both encodings of the v2 document, with one hash.
#[derive(Clone, Debug)]
pub struct V2 {
    pub json: Document,
    pub protobuf: Document,
}

const V3_REF: &str = "#/components/schemas/";
const V2_REF: &str = "#/definitions/";

/// Builds the v2 document from the v3 ones.
pub fn build(v3: &Documents, server_version: &str) -> V2 {
    let mut paths = Map::new();
    let mut definitions = Map::new();
    for doc in v3.group_versions.values() {
        let Ok(doc) = serde_json::from_slice::<Value>(&doc.json) else {
            continue;
        };
        if let Some(Value::Object(p)) = doc.get("paths") {
            for (path, item) in p {
                paths.insert(path.clone(), path_item(item));
            }
        }
        if let Some(Value::Object(schemas)) = doc.pointer("/components/schemas") {
            for (name, schema) in schemas {
                // v2 has no `oneOf`: Quantity and IntOrString are strings
                // there (as upstream publishes them), which is how
                // `components()` has them.
                let schema = super::components().get(name).unwrap_or(schema);
                definitions.insert(name.clone(), schema_v2(schema));
            }
        }
    }
    let swagger = json!({
        "swagger": "2.0",
        "info": { "title": "Kubernetes", "version": server_version },
        "paths": paths,
        "definitions": definitions,
    });
    V2 {
        json: Document::from_value(&swagger),
        protobuf: Document::from_bytes(Bytes::from(document_pb(&swagger).encode_to_vec())),
    }
}

/// A v3 schema in v2 terms: `allOf: [{$ref}]` wrappers become a `$ref`
/// with siblings, references point into `#/definitions/`.
pub fn schema_v2(schema: &Value) -> Value {
    match schema {
        Value::Object(obj) => {
            let mut out = Map::new();
            for (k, v) in obj {
                match k.as_str() {
                    "$ref" => {
                        let r = v.as_str().unwrap_or("");
                        out.insert(k.clone(), Value::String(r.replace(V3_REF, V2_REF)));
                    }
                    "allOf" => match v.as_array().map(Vec::as_slice) {
                        Some([single]) if single.get("$ref").is_some() => {
                            if let Value::Object(inner) = schema_v2(single) {
                                out.extend(inner);
                            }
                        }
                        _ => {
                            out.insert(k.clone(), schema_v2(v));
                        }
                    },
                    _ => {
                        out.insert(k.clone(), schema_v2(v));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(schema_v2).collect()),
        other => other.clone(),
    }
}

fn parameter_v2(p: &Value) -> Value {
    let ty = p
        .pointer("/schema/type")
        .and_then(Value::as_str)
        .unwrap_or("string");
    let mut out = json!({
        "name": p["name"],
        "in": p["in"],
        "type": ty,
        "uniqueItems": true,
    });
    if let Some(obj) = out.as_object_mut() {
        if let Some(d) = p.get("description") {
            obj.insert("description".into(), d.clone());
        }
        if p["required"] == Value::Bool(true) {
            obj.insert("required".into(), Value::Bool(true));
        }
    }
    out
}

fn operation_v2(op: &Value) -> Value {
    let mut out = Map::new();
    for key in ["tags", "description", "operationId"] {
        if let Some(v) = op.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    let mut params: Vec<Value> = op
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| ps.iter().map(parameter_v2).collect())
        .unwrap_or_default();
    if let Some(Value::Object(content)) = op.pointer("/requestBody/content") {
        let schema = content
            .values()
            .next()
            .and_then(|c| c.get("schema"))
            .map(schema_v2)
            .unwrap_or_else(|| json!({}));
        params.push(json!({"name": "body", "in": "body", "required": true, "schema": schema}));
        out.insert("consumes".into(), json!(content.keys().collect::<Vec<_>>()));
    }
    out.insert("parameters".into(), Value::Array(params));
    let mut produces: Vec<String> = Vec::new();
    let mut responses = Map::new();
    if let Some(Value::Object(rs)) = op.get("responses") {
        for (code, r) in rs {
            let mut resp = json!({ "description": r["description"] });
            if let Some(Value::Object(content)) = r.get("content") {
                for ct in content.keys() {
                    if !produces.contains(ct) {
                        produces.push(ct.clone());
                    }
                }
                if let (Some(schema), Some(obj)) = (
                    content.values().next().and_then(|c| c.get("schema")),
                    resp.as_object_mut(),
                ) {
                    obj.insert("schema".into(), schema_v2(schema));
                }
            }
            responses.insert(code.clone(), resp);
        }
    }
    out.insert("produces".into(), json!(produces));
    out.insert("responses".into(), Value::Object(responses));
    out.insert("schemes".into(), json!(["https"]));
    if let Some(obj) = op.as_object() {
        for (k, v) in obj.iter().filter(|(k, _)| k.starts_with("x-")) {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

fn path_item(item: &Value) -> Value {
    let mut out = Map::new();
    if let Some(obj) = item.as_object() {
        for (k, v) in obj {
            if k == "parameters" {
                let ps: Vec<Value> = v
                    .as_array()
                    .map(|ps| ps.iter().map(parameter_v2).collect())
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Array(ps));
            } else {
                out.insert(k.clone(), operation_v2(v));
            }
        }
    }
    Value::Object(out)
}

// ---- protobuf ----

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn string(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or_default().to_string()
}

/// `x-...` members as gnostic vendor extensions (value as YAML text).
fn extensions(obj: &Map<String, Value>) -> Vec<pb::NamedAny> {
    obj.iter()
        .filter(|(k, _)| k.starts_with("x-"))
        .map(|(k, v)| pb::NamedAny {
            name: k.clone(),
            value: Some(pb::Any {
                // JSON is YAML: `{"group":"","kind":"Pod","version":"v1"}`.
                yaml: format!("{v}\n"),
            }),
        })
        .collect()
}

fn schema_pb(v: &Value) -> pb::Schema {
    let Some(obj) = v.as_object() else {
        return pb::Schema::default();
    };
    let types: Vec<String> = match obj.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        other => strings(other),
    };
    pb::Schema {
        r#ref: string(obj.get("$ref")),
        format: string(obj.get("format")),
        description: string(obj.get("description")),
        required: strings(obj.get("required")),
        additional_properties: obj.get("additionalProperties").map(|ap| {
            Box::new(pb::AdditionalPropertiesItem {
                oneof: Some(match ap {
                    Value::Bool(b) => pb::additional_properties_item::Oneof::Boolean(*b),
                    schema => {
                        pb::additional_properties_item::Oneof::Schema(Box::new(schema_pb(schema)))
                    }
                }),
            })
        }),
        r#type: (!types.is_empty()).then_some(pb::TypeItem { value: types }),
        items: obj.get("items").map(|items| pb::ItemsItem {
            schema: vec![schema_pb(items)],
        }),
        properties: obj
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| pb::Properties {
                additional_properties: props
                    .iter()
                    .map(|(name, s)| pb::NamedSchema {
                        name: name.clone(),
                        value: Some(schema_pb(s)),
                    })
                    .collect(),
            }),
        vendor_extension: extensions(obj),
    }
}

fn parameter_pb(p: &Value) -> pb::ParametersItem {
    use pb::non_body_parameter::Oneof as NonBody;
    use pb::parameter::Oneof as Param;
    let name = string(p.get("name"));
    let description = string(p.get("description"));
    let required = p["required"] == Value::Bool(true);
    let param = match p["in"].as_str() {
        Some("body") => Param::BodyParameter(pb::BodyParameter {
            description,
            name,
            r#in: "body".into(),
            required,
            schema: p.get("schema").map(schema_pb),
        }),
        Some("path") => Param::NonBodyParameter(pb::NonBodyParameter {
            oneof: Some(NonBody::PathParameterSubSchema(
                pb::PathParameterSubSchema {
                    required,
                    r#in: "path".into(),
                    description,
                    name,
                    r#type: string(p.get("type")),
                    unique_items: p["uniqueItems"] == Value::Bool(true),
                },
            )),
        }),
        _ => Param::NonBodyParameter(pb::NonBodyParameter {
            oneof: Some(NonBody::QueryParameterSubSchema(
                pb::QueryParameterSubSchema {
                    required,
                    r#in: "query".into(),
                    description,
                    name,
                    r#type: string(p.get("type")),
                    unique_items: p["uniqueItems"] == Value::Bool(true),
                },
            )),
        }),
    };
    pb::ParametersItem {
        oneof: Some(pb::parameters_item::Oneof::Parameter(pb::Parameter {
            oneof: Some(param),
        })),
    }
}

fn parameters_pb(v: Option<&Value>) -> Vec<pb::ParametersItem> {
    v.and_then(Value::as_array)
        .map(|ps| ps.iter().map(parameter_pb).collect())
        .unwrap_or_default()
}

fn operation_pb(op: &Value) -> Option<pb::Operation> {
    let obj = op.as_object()?;
    let responses = obj
        .get("responses")
        .and_then(Value::as_object)
        .map(|rs| pb::Responses {
            response_code: rs
                .iter()
                .map(|(code, r)| pb::NamedResponseValue {
                    name: code.clone(),
                    value: Some(pb::ResponseValue {
                        oneof: Some(pb::response_value::Oneof::Response(pb::Response {
                            description: string(r.get("description")),
                            schema: r.get("schema").map(|s| pb::SchemaItem {
                                oneof: Some(pb::schema_item::Oneof::Schema(schema_pb(s))),
                            }),
                        })),
                    }),
                })
                .collect(),
        });
    Some(pb::Operation {
        tags: strings(obj.get("tags")),
        description: string(obj.get("description")),
        operation_id: string(obj.get("operationId")),
        produces: strings(obj.get("produces")),
        consumes: strings(obj.get("consumes")),
        parameters: parameters_pb(obj.get("parameters")),
        responses,
        schemes: strings(obj.get("schemes")),
        vendor_extension: extensions(obj),
    })
}

fn document_pb(swagger: &Value) -> pb::Document {
    let paths = swagger
        .get("paths")
        .and_then(Value::as_object)
        .map(|paths| pb::Paths {
            path: paths
                .iter()
                .map(|(name, item)| pb::NamedPathItem {
                    name: name.clone(),
                    value: Some(pb::PathItem {
                        get: item.get("get").and_then(operation_pb),
                        put: item.get("put").and_then(operation_pb),
                        post: item.get("post").and_then(operation_pb),
                        delete: item.get("delete").and_then(operation_pb),
                        patch: item.get("patch").and_then(operation_pb),
                        parameters: parameters_pb(item.get("parameters")),
                    }),
                })
                .collect(),
        });
    let definitions = swagger
        .get("definitions")
        .and_then(Value::as_object)
        .map(|defs| pb::Definitions {
            additional_properties: defs
                .iter()
                .map(|(name, s)| pb::NamedSchema {
                    name: name.clone(),
                    value: Some(schema_pb(s)),
                })
                .collect(),
        });
    pb::Document {
        swagger: "2.0".into(),
        info: Some(pb::Info {
            title: string(swagger.pointer("/info/title")),
            version: string(swagger.pointer("/info/version")),
        }),
        consumes: Vec::new(),
        produces: Vec::new(),
        paths,
        definitions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::ResourceInfo;

    fn v2() -> V2 {
        let infos = [ResourceInfo {
            group: "",
            version: "v1",
            kind: "Pod",
            plural: "pods",
            singular: "pod",
            namespaced: true,
            short_names: &[],
            subresources: &["status"],
            categories: &[],
        }];
        build(&super::super::v3::build(&infos, "v1.32.0"), "v1.32.0")
    }

    #[test]
    fn json_is_swagger_2_with_definitions_references() {
        let d = v2();
        let doc: Value = serde_json::from_slice(&d.json.json).expect("json");
        assert_eq!(doc["swagger"], "2.0");
        let text = doc.to_string();
        assert!(!text.contains("#/components/"), "v3 references left");
        assert!(!text.contains("\"allOf\""), "allOf wrappers left");
        let meta = &doc["definitions"]["io.k8s.api.core.v1.Pod"]["properties"]["metadata"];
        assert_eq!(
            meta["$ref"],
            "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        );
        let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
        assert!(
            patch["consumes"]
                .as_array()
                .expect("consumes")
                .contains(&json!("application/strategic-merge-patch+json"))
        );
        assert!(patch["parameters"].to_string().contains("\"in\":\"body\""));
    }

    #[test]
    fn protobuf_round_trips_what_kubectl_reads() {
        let d = v2();
        let doc = pb::Document::decode(d.protobuf.json.as_ref()).expect("decodes");
        assert_eq!(doc.swagger, "2.0");
        let paths = doc.paths.expect("paths");
        let item = paths
            .path
            .iter()
            .find(|p| p.name == "/api/v1/namespaces/{namespace}/pods/{name}")
            .and_then(|p| p.value.as_ref())
            .expect("pod path");
        let patch = item.patch.as_ref().expect("patch op");
        let gvk = patch
            .vendor_extension
            .iter()
            .find(|e| e.name == "x-kubernetes-group-version-kind")
            .and_then(|e| e.value.as_ref())
            .expect("gvk");
        assert_eq!(
            gvk.yaml,
            "{\"group\":\"\",\"kind\":\"Pod\",\"version\":\"v1\"}\n"
        );
        let has_field_validation = patch.parameters.iter().any(|p| {
            matches!(
                &p.oneof,
                Some(pb::parameters_item::Oneof::Parameter(pb::Parameter {
                    oneof: Some(pb::parameter::Oneof::NonBodyParameter(pb::NonBodyParameter {
                        oneof: Some(pb::non_body_parameter::Oneof::QueryParameterSubSchema(q)),
                    })),
                })) if q.name == "fieldValidation"
            )
        });
        assert!(has_field_validation);
        let defs = doc.definitions.expect("definitions");
        let spec = defs
            .additional_properties
            .iter()
            .find(|s| s.name == "io.k8s.api.core.v1.PodSpec")
            .and_then(|s| s.value.as_ref())
            .expect("PodSpec");
        let containers = spec
            .properties
            .as_ref()
            .and_then(|p| {
                p.additional_properties
                    .iter()
                    .find(|s| s.name == "containers")
            })
            .and_then(|s| s.value.as_ref())
            .expect("containers");
        assert_eq!(
            containers.r#type.as_ref().map(|t| t.value.clone()),
            Some(vec!["array".to_string()])
        );
        assert_eq!(
            containers.items.as_ref().map(|i| i.schema[0].r#ref.clone()),
            Some("#/definitions/io.k8s.api.core.v1.Container".to_string())
        );
        assert!(
            containers
                .vendor_extension
                .iter()
                .any(|e| e.name == "x-kubernetes-patch-merge-key")
        );
    }
}
