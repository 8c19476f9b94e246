//! OpenAPI v3 documents: one per group version, plus the root that lists
//! them (upstream's kube-openapi `handler3`).
//!
//! ```text
//! GET /openapi/v3            {"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=ABC…"}, …}}
//! GET /openapi/v3/api/v1?hash=ABC…    the core/v1 document, cacheable forever
//! ```
//!
//! kubectl (1.27+) reads a document to learn whether the server validates
//! fields: it looks for the `patch` operation whose
//! `x-kubernetes-group-version-kind` is the kind being created and checks
//! that it takes a `fieldValidation` query parameter; then it sends
//! `fieldValidation=Strict` instead of validating on the client.
//! `kubectl explain` reads `components.schemas`.
//!
//! Each document lists every REST operation of its resources (with the
//! parameters and media types upstream documents) and the schemas those
//! operations reach, nothing else.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::components;
use crate::registry::ResourceInfo;

/// One served document: its bytes and its hash (the `ETag` and `?hash=`).
#[derive(Clone, Debug)]
pub struct Document {
    pub json: Bytes,
    pub hash: String,
}

impl Document {
    /// The JSON encoding of `value`.
    pub fn from_value(value: &Value) -> Self {
        Self::from_bytes(Bytes::from(serde_json::to_vec(value).unwrap_or_default()))
    }

    /// Bytes as they are, hashed.
    pub fn from_bytes(json: Bytes) -> Self {
        let hash = content_hash(&json);
        Document { json, hash }
    }
}

/// The root and every group version document.
#[derive(Clone, Debug)]
pub struct Documents {
    pub root: Document,
    /// By path under `/openapi/v3/`: `api/v1`, `apis/apps/v1`.
    pub group_versions: BTreeMap<String, Document>,
}

/// `api/v1` or `apis/<group>/<version>`.
pub fn group_version_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// Builds every document for the resources served.
pub fn build(resources: &[ResourceInfo], server_version: &str) -> Documents {
    let mut by_gv: BTreeMap<String, Vec<&ResourceInfo>> = BTreeMap::new();
    for r in resources {
        by_gv
            .entry(group_version_path(r.group, r.version))
            .or_default()
            .push(r);
    }
    let mut group_versions = BTreeMap::new();
    let mut root_paths = Map::new();
    for (path, infos) in by_gv {
        let doc = Document::from_value(&group_version_document(&infos, server_version));
        root_paths.insert(
            path.clone(),
            json!({ "serverRelativeURL": format!("/openapi/v3/{path}?hash={}", doc.hash) }),
        );
        group_versions.insert(path, doc);
    }
    Documents {
        root: Document::from_value(&json!({ "paths": root_paths })),
        group_versions,
    }
}

/// Upstream uses the hex SHA-512 of the document; any stable digest serves
/// the purpose (a cache key that changes when the document does).
fn content_hash(bytes: &[u8]) -> String {
    // Two FNV-1a 64-bit passes with different offsets: 128 bits, no
    // dependency, stable across builds and platforms.
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x6c62_272e_07bb_0142;
    for &byte in bytes {
        a = (a ^ u64::from(byte)).wrapping_mul(PRIME);
        b = (b ^ u64::from(byte.rotate_left(3))).wrapping_mul(PRIME);
    }
    format!("{a:016X}{b:016X}")
}

fn group_version_document(infos: &[&ResourceInfo], server_version: &str) -> Value {
    let mut paths = Map::new();
    for info in infos {
        add_resource_paths(&mut paths, info);
    }
    let mut schemas = Map::new();
    let mut wanted: Vec<String> = Vec::new();
    collect_refs(&Value::Object(paths.clone()), &mut wanted);
    let mut seen: BTreeSet<String> = BTreeSet::new();
    while let Some(name) = wanted.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let schema = match published_form(&name).or_else(|| components().get(&name).cloned()) {
            Some(s) => s,
            None if name == PATCH => json!({
                "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
                "type": "object"
            }),
            None => continue,
        };
        collect_refs(&schema, &mut wanted);
        schemas.insert(name, schema);
    }
    json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": server_version },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "BearerToken": {
                    "type": "apiKey",
                    "description": "Bearer Token authentication",
                    "name": "authorization",
                    "in": "header"
                }
            }
        }
    })
}

/// The leaf types kube-openapi publishes in v3 as a `oneOf` of the JSON
/// types they accept, without a `type` (so `kubectl explain` names them
/// `<Quantity>` and `<IntOrString>` instead of `<string>`).
/// [`components`] keeps the simpler `type: string` form for code.
fn published_form(name: &str) -> Option<Value> {
    let description = components()
        .get(name)
        .and_then(|s| s.get("description"))
        .cloned()
        .unwrap_or(Value::Null);
    match name {
        "io.k8s.apimachinery.pkg.api.resource.Quantity" => Some(json!({
            "description": description,
            "oneOf": [{ "type": "string" }, { "type": "number" }]
        })),
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => Some(json!({
            "description": description,
            "format": "int-or-string",
            "oneOf": [{ "type": "integer" }, { "type": "string" }]
        })),
        _ => None,
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(obj) => {
            for (k, v) in obj {
                if k == "$ref"
                    && let Some(name) = v
                        .as_str()
                        .and_then(|r| r.strip_prefix(api_types::schema::REF_PREFIX))
                {
                    out.push(name.to_string());
                } else {
                    collect_refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("{}{name}", api_types::schema::REF_PREFIX) })
}

/// `io.k8s.api.core.v1.Pod` for a resource, or a name derived the same way.
fn kind_schema(group: &str, version: &str, kind: &str) -> String {
    super::schema_name(group, version, kind).unwrap_or_else(|| {
        let package = if group.is_empty() {
            "core".to_string()
        } else {
            group.split('.').next().unwrap_or(group).to_string()
        };
        format!("io.k8s.api.{package}.{version}.{kind}")
    })
}

/// `CoreV1`, `AppsV1`, `DiscoveryV1`: the group-version part of operation ids.
fn id_prefix(group: &str, version: &str) -> String {
    let group = if group.is_empty() {
        "core"
    } else {
        group.split('.').next().unwrap_or(group)
    };
    format!("{}{}", capitalize(group), capitalize(version))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn query(name: &str, kind: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "query",
        "description": description,
        "schema": { "type": kind, "uniqueItems": true }
    })
}

fn path_param(name: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "path",
        "required": true,
        "description": description,
        "schema": { "type": "string", "uniqueItems": true }
    })
}

fn dry_run() -> Value {
    query(
        "dryRun",
        "string",
        "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed",
    )
}

fn field_manager() -> Value {
    query(
        "fieldManager",
        "string",
        "fieldManager is a name associated with the actor or entity that is making these changes.",
    )
}

fn field_validation() -> Value {
    query(
        "fieldValidation",
        "string",
        "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: unknown fields are dropped silently and only the last duplicate field is kept. - Warn: each unknown and duplicate field is reported in a standard warning response header; this is the default. - Strict: the request fails with a BadRequest error naming every unknown and duplicate field.",
    )
}

fn list_params() -> Vec<Value> {
    vec![
        query(
            "allowWatchBookmarks",
            "boolean",
            "allowWatchBookmarks requests watch events with type \"BOOKMARK\".",
        ),
        query(
            "continue",
            "string",
            "The continue option should be set when retrieving more results from the server.",
        ),
        query(
            "fieldSelector",
            "string",
            "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
        ),
        query(
            "labelSelector",
            "string",
            "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
        ),
        query(
            "limit",
            "integer",
            "limit is a maximum number of responses to return for a list call.",
        ),
        query(
            "resourceVersion",
            "string",
            "resourceVersion sets a constraint on what resource versions a request may be served from.",
        ),
        query(
            "resourceVersionMatch",
            "string",
            "resourceVersionMatch determines how resourceVersion is applied to list calls.",
        ),
        query(
            "sendInitialEvents",
            "boolean",
            "`sendInitialEvents=true` may be set together with `watch=true`.",
        ),
        query(
            "timeoutSeconds",
            "integer",
            "Timeout for the list/watch call.",
        ),
        query(
            "watch",
            "boolean",
            "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
        ),
    ]
}

fn delete_params() -> Vec<Value> {
    vec![
        dry_run(),
        query(
            "gracePeriodSeconds",
            "integer",
            "The duration in seconds before the object should be deleted.",
        ),
        query(
            "orphanDependents",
            "boolean",
            "Deprecated: please use the PropagationPolicy.",
        ),
        query(
            "propagationPolicy",
            "string",
            "Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'.",
        ),
    ]
}

fn json_content(schema: &str) -> Value {
    let s = schema_ref(schema);
    json!({
        "application/json": { "schema": s },
        "application/yaml": { "schema": s },
        "application/vnd.kubernetes.protobuf": { "schema": s }
    })
}

fn responses(codes: &[(&str, &str)], schema: &str) -> Value {
    let mut out = Map::new();
    for (code, description) in codes {
        out.insert(
            (*code).to_string(),
            json!({ "description": description, "content": json_content(schema) }),
        );
    }
    out.insert("401".into(), json!({ "description": "Unauthorized" }));
    Value::Object(out)
}

/// What one operation is about.
struct Op<'a> {
    action: &'a str,
    id: String,
    description: String,
    tag: &'a str,
    gvk: (&'a str, &'a str, &'a str),
    parameters: Vec<Value>,
    body: Option<Value>,
    responses: Value,
}

impl Op<'_> {
    fn render(self) -> Value {
        let mut op = json!({
            "tags": [self.tag],
            "description": self.description,
            "operationId": self.id,
            "parameters": self.parameters,
            "responses": self.responses,
            "x-kubernetes-action": self.action,
            "x-kubernetes-group-version-kind": {
                "group": self.gvk.0, "kind": self.gvk.2, "version": self.gvk.1
            }
        });
        if let (Some(body), Some(obj)) = (self.body, op.as_object_mut()) {
            obj.insert("requestBody".into(), body);
        }
        op
    }
}

fn object_body(schema: &str) -> Value {
    let s = schema_ref(schema);
    json!({
        "content": { "*/*": { "schema": s } },
        "required": true
    })
}

fn patch_body() -> Value {
    let s = schema_ref(PATCH);
    json!({
        "content": {
            "application/apply-patch+yaml": { "schema": s },
            "application/json-patch+json": { "schema": s },
            "application/merge-patch+json": { "schema": s },
            "application/strategic-merge-patch+json": { "schema": s }
        },
        "required": true
    })
}

fn add_resource_paths(paths: &mut Map<String, Value>, info: &ResourceInfo) {
    let base = format!("/{}", group_version_path(info.group, info.version));
    let tag = format!(
        "{}_{}",
        if info.group.is_empty() {
            "core"
        } else {
            info.group.split('.').next().unwrap_or(info.group)
        },
        info.version
    );
    let prefix = id_prefix(info.group, info.version);
    let kind = info.kind;
    let gvk = (info.group, info.version, kind);
    let schema = kind_schema(info.group, info.version, kind);
    let list_schema = format!("{schema}List");
    let (scope_word, collection, namespace_params) = if info.namespaced {
        (
            "Namespaced",
            format!("{base}/namespaces/{{namespace}}/{}", info.plural),
            vec![path_param(
                "namespace",
                "object name and auth scope, such as for teams and projects",
            )],
        )
    } else {
        ("", format!("{base}/{}", info.plural), Vec::new())
    };
    let item = format!("{collection}/{{name}}");
    let write_params = || vec![dry_run(), field_manager(), field_validation()];
    let mut patch_params = write_params();
    patch_params.push(query(
        "force",
        "boolean",
        "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people.",
    ));
    let name_param = path_param("name", &format!("name of the {kind}"));
    let pretty = query(
        "pretty",
        "string",
        "If 'true', then the output is pretty printed.",
    );

    // The collection: list, create, delete collection.
    let mut list_and_delete = list_params();
    list_and_delete.extend(delete_params());
    let mut collection_ops = Map::new();
    collection_ops.insert(
        "get".into(),
        Op {
            action: "list",
            id: format!("list{prefix}{scope_word}{kind}"),
            description: format!("list or watch objects of kind {kind}"),
            tag: &tag,
            gvk,
            parameters: list_params(),
            body: None,
            responses: responses(&[("200", "OK")], &list_schema),
        }
        .render(),
    );
    collection_ops.insert(
        "post".into(),
        Op {
            action: "post",
            id: format!("create{prefix}{scope_word}{kind}"),
            description: format!("create a {kind}"),
            tag: &tag,
            gvk,
            parameters: write_params(),
            body: Some(object_body(&schema)),
            responses: responses(
                &[("200", "OK"), ("201", "Created"), ("202", "Accepted")],
                &schema,
            ),
        }
        .render(),
    );
    collection_ops.insert(
        "delete".into(),
        Op {
            action: "deletecollection",
            id: format!("deletecollection{prefix}{scope_word}{kind}"),
            description: format!("delete collection of {kind}"),
            tag: &tag,
            gvk,
            parameters: list_and_delete,
            body: Some(object_body(DELETE_OPTIONS)),
            responses: responses(&[("200", "OK")], STATUS),
        }
        .render(),
    );
    let mut params = namespace_params.clone();
    params.push(pretty.clone());
    collection_ops.insert("parameters".into(), Value::Array(params));
    paths.insert(collection.clone(), Value::Object(collection_ops));

    // Namespaced kinds can also be listed across all namespaces.
    if info.namespaced {
        paths.insert(
            format!("{base}/{}", info.plural),
            json!({
                "get": Op {
                    action: "list",
                    id: format!("list{prefix}{kind}ForAllNamespaces"),
                    description: format!("list or watch objects of kind {kind}"),
                    tag: &tag,
                    gvk,
                    parameters: list_params(),
                    body: None,
                    responses: responses(&[("200", "OK")], &list_schema),
                }
                .render(),
                "parameters": [pretty.clone()],
            }),
        );
    }

    // The object: read, replace, patch, delete.
    let mut item_params = vec![name_param.clone()];
    item_params.extend(namespace_params.iter().cloned());
    item_params.push(pretty.clone());
    paths.insert(
        item.clone(),
        json!({
            "get": Op {
                action: "get",
                id: format!("read{prefix}{scope_word}{kind}"),
                description: format!("read the specified {kind}"),
                tag: &tag, gvk, parameters: vec![], body: None,
                responses: responses(&[("200", "OK")], &schema),
            }.render(),
            "put": Op {
                action: "put",
                id: format!("replace{prefix}{scope_word}{kind}"),
                description: format!("replace the specified {kind}"),
                tag: &tag, gvk, parameters: write_params(), body: Some(object_body(&schema)),
                responses: responses(&[("200", "OK"), ("201", "Created")], &schema),
            }.render(),
            "patch": Op {
                action: "patch",
                id: format!("patch{prefix}{scope_word}{kind}"),
                description: format!("partially update the specified {kind}"),
                tag: &tag, gvk, parameters: patch_params.clone(), body: Some(patch_body()),
                responses: responses(&[("200", "OK"), ("201", "Created")], &schema),
            }.render(),
            "delete": Op {
                action: "delete",
                id: format!("delete{prefix}{scope_word}{kind}"),
                description: format!("delete a {kind}"),
                tag: &tag, gvk, parameters: delete_params(), body: Some(object_body(DELETE_OPTIONS)),
                responses: responses(&[("200", "OK"), ("202", "Accepted")], &schema),
            }.render(),
            "parameters": item_params.clone(),
        }),
    );

    // Subresources.
    for sub in info.subresources {
        let suffix = capitalize(sub);
        let path = format!("{item}/{sub}");
        let value = match *sub {
            "status" | "scale" => {
                let (sub_gvk, sub_schema) = if *sub == "scale" {
                    (
                        ("autoscaling", "v1", "Scale"),
                        kind_schema("autoscaling", "v1", "Scale"),
                    )
                } else {
                    (gvk, schema.clone())
                };
                json!({
                    "get": Op {
                        action: "get",
                        id: format!("read{prefix}{scope_word}{kind}{suffix}"),
                        description: format!("read {sub} of the specified {kind}"),
                        tag: &tag, gvk: sub_gvk, parameters: vec![], body: None,
                        responses: responses(&[("200", "OK")], &sub_schema),
                    }.render(),
                    "put": Op {
                        action: "put",
                        id: format!("replace{prefix}{scope_word}{kind}{suffix}"),
                        description: format!("replace {sub} of the specified {kind}"),
                        tag: &tag, gvk: sub_gvk, parameters: write_params(),
                        body: Some(object_body(&sub_schema)),
                        responses: responses(&[("200", "OK"), ("201", "Created")], &sub_schema),
                    }.render(),
                    "patch": Op {
                        action: "patch",
                        id: format!("patch{prefix}{scope_word}{kind}{suffix}"),
                        description: format!("partially update {sub} of the specified {kind}"),
                        tag: &tag, gvk: sub_gvk, parameters: patch_params.clone(),
                        body: Some(patch_body()),
                        responses: responses(&[("200", "OK"), ("201", "Created")], &sub_schema),
                    }.render(),
                    "parameters": item_params.clone(),
                })
            }
            "binding" => {
                let binding = kind_schema("", "v1", "Binding");
                json!({
                    "post": Op {
                        action: "post",
                        id: format!("create{prefix}{scope_word}{kind}Binding"),
                        description: format!("create binding of a {kind}"),
                        tag: &tag, gvk: ("", "v1", "Binding"), parameters: write_params(),
                        body: Some(object_body(&binding)),
                        responses: responses(&[("200", "OK"), ("201", "Created"), ("202", "Accepted")], &binding),
                    }.render(),
                    "parameters": item_params.clone(),
                })
            }
            "finalize" => json!({
                "put": Op {
                    action: "put",
                    id: format!("replace{prefix}{scope_word}{kind}Finalize"),
                    description: format!("replace finalize of the specified {kind}"),
                    tag: &tag, gvk, parameters: write_params(), body: Some(object_body(&schema)),
                    responses: responses(&[("200", "OK"), ("201", "Created")], &schema),
                }.render(),
                "parameters": item_params.clone(),
            }),
            _ => continue,
        };
        paths.insert(path, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(
        group: &'static str,
        kind: &'static str,
        plural: &'static str,
        namespaced: bool,
        subresources: &'static [&'static str],
    ) -> ResourceInfo {
        ResourceInfo {
            group,
            version: "v1",
            kind,
            plural,
            singular: "",
            namespaced,
            short_names: &[],
            subresources,
            categories: &[],
        }
    }

    fn docs() -> Documents {
        build(
            &[
                info("", "Pod", "pods", true, &["status", "binding"]),
                info(
                    "",
                    "Namespace",
                    "namespaces",
                    false,
                    &["status", "finalize"],
                ),
                info(
                    "apps",
                    "Deployment",
                    "deployments",
                    true,
                    &["status", "scale"],
                ),
            ],
            "v1.32.0",
        )
    }

    fn doc(d: &Documents, path: &str) -> Value {
        serde_json::from_slice(&d.group_versions[path].json).expect("json")
    }

    #[test]
    fn the_root_lists_each_group_version_with_its_hash() {
        let d = docs();
        let root: Value = serde_json::from_slice(&d.root.json).expect("json");
        let url = root["paths"]["api/v1"]["serverRelativeURL"]
            .as_str()
            .expect("url");
        assert_eq!(
            url,
            format!(
                "/openapi/v3/api/v1?hash={}",
                d.group_versions["api/v1"].hash
            )
        );
        assert!(root["paths"]["apis/apps/v1"].is_object());
        assert_eq!(d.group_versions.len(), 2);
        assert_eq!(d.root.hash.len(), 32);
    }

    #[test]
    fn every_patch_operation_names_its_kind_and_takes_field_validation() {
        // What kubectl's query-param verifier looks for.
        let d = docs();
        let core = doc(&d, "api/v1");
        let patch = &core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"],
            json!({"group": "", "kind": "Pod", "version": "v1"})
        );
        assert!(
            patch["parameters"]
                .as_array()
                .expect("params")
                .iter()
                .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
        );
        assert!(
            patch["requestBody"]["content"]["application/strategic-merge-patch+json"].is_object()
        );
        for (path, item) in core["paths"].as_object().expect("paths") {
            if let Some(op) = item.get("patch") {
                assert!(
                    op["parameters"].to_string().contains("fieldValidation"),
                    "{path}"
                );
            }
        }
        let apps = doc(&d, "apis/apps/v1");
        let scale = &apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
            ["patch"];
        assert_eq!(scale["x-kubernetes-group-version-kind"]["kind"], "Scale");
        assert!(core["paths"]["/api/v1/namespaces/{name}"]["patch"].is_object());
        assert!(core["paths"]["/api/v1/pods"]["get"].is_object());
    }

    #[test]
    fn documents_carry_the_schemas_their_operations_reach() {
        let d = docs();
        let core = doc(&d, "api/v1");
        let schemas = core["components"]["schemas"].as_object().expect("schemas");
        for name in [
            "io.k8s.api.core.v1.Pod",
            "io.k8s.api.core.v1.PodList",
            "io.k8s.api.core.v1.Container",
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
            "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
            "io.k8s.api.core.v1.Binding",
        ] {
            assert!(schemas.contains_key(name), "{name}");
        }
        assert!(!schemas.contains_key("io.k8s.api.apps.v1.Deployment"));
        let text = core.to_string();
        // Every reference resolves inside the document.
        let mut refs = Vec::new();
        collect_refs(&core, &mut refs);
        for r in refs {
            assert!(schemas.contains_key(&r), "{r}");
        }
        assert!(text.contains("\"openapi\":\"3.0.0\""));
        let int_or_string = &schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
        assert!(int_or_string.get("type").is_none());
        assert_eq!(int_or_string["format"], "int-or-string");
        assert!(schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"]["oneOf"].is_array());
    }

    #[test]
    fn hashes_follow_content() {
        assert_eq!(content_hash(b"a"), content_hash(b"a"));
        assert_ne!(content_hash(b"a"), content_hash(b"b"));
        let a = docs();
        let b = docs();
        assert_eq!(a.root.hash, b.root.hash);
    }
}
