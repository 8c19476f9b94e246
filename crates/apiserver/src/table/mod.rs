//! Server-side printing: turning objects into the `Table`s `kubectl get`
//! prints, and the metadata-only views (`PartialObjectMetadata`) that
//! metadata informers ask for (upstream: `pkg/printers/internalversion` for
//! the columns, `handlers/response.go` for the transforms).
//!
//! kubectl does not know how to print a pod. It asks the server:
//!
//! ```text
//! GET /api/v1/namespaces/default/pods?limit=500
//! Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json
//!
//! {"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"42"},
//!  "columnDefinitions":[{"name":"Name","type":"string","format":"name","priority":0,...},...],
//!  "rows":[{"cells":["web","1/1","Running","0","5m","10.1.0.5","node-1","<none>","<none>"],
//!           "object":{"kind":"PartialObjectMetadata",...}}]}
//! ```
//!
//! and prints the cells, dropping columns with a non-zero `priority` unless
//! `-o wide`. The row's `object` (metadata only by default, see
//! [`IncludeObject`]) lets kubectl add NAMESPACE (`-A`) and LABELS
//! (`--show-labels`) columns itself; `--sort-by` asks for whole objects.
//!
//! # Layout
//! - this file: columns, the printer registry ([`printer`]), and
//!   [`Transform`], which converts a get or list reply or a watch stream;
//! - one file per group of kinds with pure functions from an object's JSON to
//!   its row: [`pods`], [`cluster`] (nodes, namespaces, events, leases),
//!   [`network`] (services, endpoints, endpoint slices), [`config`]
//!   (configmaps, secrets, service accounts), [`workloads`] (deployments,
//!   replica sets, replication controllers, scale);
//! - [`format`]: ages, label selectors and the other strings they share.
//!
//! Ages are computed here, at response time, like upstream does: the AGE cell
//! is `5m`, not a timestamp (kubectl prints cells verbatim).

pub mod cluster;
pub mod config;
pub mod format;
pub mod network;
pub mod pods;
pub mod workloads;

use bytes::{BufMut, Bytes, BytesMut};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::error::{ApiError, Result};
use crate::http::negotiate::{MetaVersion, Representation};

/// One column of a table (`metav1.TableColumnDefinition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// Title case; kubectl upper-cases it for the header.
    pub name: &'static str,
    /// An OpenAPI type: `string`, `integer`, `number`, `boolean`, `date`.
    pub type_: &'static str,
    /// `name` marks the column holding the object's name.
    pub format: &'static str,
    /// 0: always shown; 1: only with `-o wide`.
    pub priority: i32,
    pub description: &'static str,
}

impl Column {
    pub const fn new(
        name: &'static str,
        type_: &'static str,
        priority: i32,
        description: &'static str,
    ) -> Self {
        Column {
            name,
            type_,
            format: "",
            priority,
            description,
        }
    }

    fn to_json(self) -> Value {
        json!({
            "name": self.name,
            "type": self.type_,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// The NAME column every printer starts with.
pub const NAME: Column = Column {
    name: "Name",
    type_: "string",
    format: "name",
    priority: 0,
    description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
};

/// The AGE column: how long ago `metadata.creationTimestamp` was.
pub const AGE: Column = Column::new(
    "Age",
    "string",
    0,
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
);

/// One object's row: its cells (wide ones included) and row conditions.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub cells: Vec<Value>,
    /// `metav1.TableRowCondition`s (pods that finished are `Completed`).
    pub conditions: Option<Value>,
}

impl Row {
    pub fn new(cells: Vec<Value>) -> Self {
        Row {
            cells,
            conditions: None,
        }
    }
}

/// How one resource is printed: its columns and a pure function from an
/// object to its row (given the current time, for ages).
#[derive(Clone, Copy, Debug)]
pub struct Printer {
    pub columns: &'static [Column],
    pub row: fn(&Value, DateTime<Utc>) -> Row,
}

fn default_row(obj: &Value, now: DateTime<Utc>) -> Row {
    Row::new(vec![format::name(obj).into(), format::age(obj, now)])
}

/// NAME and AGE, for kinds without a printer of their own.
pub const DEFAULT: Printer = Printer {
    columns: &[NAME, AGE],
    row: default_row,
};

/// The printer for a resource (by API group and plural) or one of its
/// subresources: `status` prints like the object, `scale` like a `Scale`.
pub fn printer(group: &str, resource: &str, subresource: Option<&str>) -> Printer {
    if subresource == Some("scale") {
        return workloads::SCALE;
    }
    match (group, resource) {
        ("", "pods") => pods::PODS,
        ("", "nodes") => cluster::NODES,
        ("", "namespaces") => cluster::NAMESPACES,
        ("", "events") => cluster::EVENTS,
        ("coordination.k8s.io", "leases") => cluster::LEASES,
        ("", "services") => network::SERVICES,
        ("", "endpoints") => network::ENDPOINTS,
        ("discovery.k8s.io", "endpointslices") => network::ENDPOINT_SLICES,
        ("", "configmaps") => config::CONFIG_MAPS,
        ("", "secrets") => config::SECRETS,
        ("", "serviceaccounts") => config::SERVICE_ACCOUNTS,
        ("apps", "deployments") => workloads::DEPLOYMENTS,
        ("apps", "replicasets") => workloads::REPLICA_SETS,
        ("", "replicationcontrollers") => workloads::REPLICATION_CONTROLLERS,
        _ => DEFAULT,
    }
}

/// `includeObject`: what each row's `object` carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IncludeObject {
    /// Nothing (`"object": null`).
    None,
    /// A `PartialObjectMetadata` (the default).
    #[default]
    Metadata,
    /// The whole object (kubectl asks for it with `--sort-by`).
    Object,
}

impl IncludeObject {
    /// Parses the query parameter.
    ///
    /// # Errors
    /// 400 for a value other than `None`, `Metadata` or `Object`.
    pub fn parse(value: Option<&str>) -> Result<Self> {
        match value {
            None | Some("") | Some("Metadata") => Ok(IncludeObject::Metadata),
            Some("None") => Ok(IncludeObject::None),
            Some("Object") => Ok(IncludeObject::Object),
            Some(other) => Err(ApiError::BadRequest(format!(
                "unrecognized includeObject value: {other:?}"
            ))),
        }
    }
}

/// `PartialObjectMetadata` of an object: its kind replaced, its metadata kept.
fn partial(obj: &Value, version: MetaVersion) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": version.api_version(),
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// A list's metadata as a `ListMeta` (what tables and metadata lists keep).
fn list_meta(list: &Value) -> Value {
    let mut meta = Map::new();
    for key in ["resourceVersion", "continue", "remainingItemCount"] {
        if let Some(v) = list.get("metadata").and_then(|m| m.get(key)) {
            meta.insert(key.into(), v.clone());
        }
    }
    Value::Object(meta)
}

/// Converts responses of one request into the negotiated representation.
///
/// The conversion works on JSON values: it runs only for clients that ask
/// (kubectl, metadata informers), so the hot path of plain JSON lists and
/// watches never parses what it serves.
#[derive(Debug)]
pub struct Transform {
    repr: Representation,
    printer: Printer,
    include: IncludeObject,
    /// Watches send column definitions once, with the first row.
    columns_sent: bool,
    /// An incomplete watch line carried to the next chunk.
    pending: Vec<u8>,
}

impl Transform {
    /// A transform for `repr`, or `None` when the client wants the object
    /// as it is.
    pub fn new(
        repr: Representation,
        group: &str,
        resource: &str,
        subresource: Option<&str>,
        include: IncludeObject,
    ) -> Option<Self> {
        if repr == Representation::Object {
            return None;
        }
        Some(Transform {
            repr,
            printer: printer(group, resource, subresource),
            include,
            columns_sent: false,
            pending: Vec::new(),
        })
    }

    fn row(&self, obj: &Value, version: MetaVersion, now: DateTime<Utc>) -> Value {
        let Row { cells, conditions } = (self.printer.row)(obj, now);
        let object = match self.include {
            IncludeObject::None => Value::Null,
            IncludeObject::Metadata => partial(obj, version),
            IncludeObject::Object => obj.clone(),
        };
        let mut row = json!({ "cells": cells, "object": object });
        if let Some(c) = conditions {
            row["conditions"] = c;
        }
        row
    }

    fn table(&self, version: MetaVersion, meta: Value, rows: Vec<Value>, columns: bool) -> Value {
        let columns: Vec<Value> = if columns {
            self.printer.columns.iter().map(|c| c.to_json()).collect()
        } else {
            Vec::new()
        };
        json!({
            "kind": "Table",
            "apiVersion": version.api_version(),
            "metadata": meta,
            "columnDefinitions": columns,
            "rows": rows,
        })
    }

    /// Converts the JSON of one object, for a get or a watch event.
    fn object(&self, obj: &Value, columns: bool, now: DateTime<Utc>) -> Result<Value> {
        let rv = obj
            .get("metadata")
            .and_then(|m| m.get("resourceVersion"))
            .cloned();
        match self.repr {
            Representation::Object => Ok(obj.clone()),
            Representation::Table(v) => {
                let meta = rv.map_or_else(|| json!({}), |rv| json!({ "resourceVersion": rv }));
                Ok(self.table(v, meta, vec![self.row(obj, v, now)], columns))
            }
            Representation::PartialObjectMetadata { version, .. } => Ok(partial(obj, version)),
        }
    }

    /// Converts a get or list reply body.
    ///
    /// # Errors
    /// 406 when the client asked for a list view of one object or the
    /// reverse (upstream's wording); 500 if the body is not JSON.
    pub fn reply(&self, body: &[u8], now: DateTime<Utc>) -> Result<Bytes> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::Internal(format!("cannot transform the response: {e}")))?;
        let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
        let items = value.get("items").and_then(Value::as_array);
        let out = match (self.repr, items) {
            (Representation::Object, _) => value.clone(),
            (Representation::Table(v), Some(items)) => {
                let rows = items.iter().map(|o| self.row(o, v, now)).collect();
                self.table(v, list_meta(&value), rows, true)
            }
            (Representation::Table(_), None) => self.object(&value, true, now)?,
            (
                Representation::PartialObjectMetadata {
                    version,
                    list: true,
                },
                Some(items),
            ) => json!({
                "kind": "PartialObjectMetadataList",
                "apiVersion": version.api_version(),
                "metadata": list_meta(&value),
                "items": items.iter().map(|o| partial(o, version)).collect::<Vec<_>>(),
            }),
            (Representation::PartialObjectMetadata { list: true, .. }, None) => {
                return Err(ApiError::NotAcceptable(format!(
                    "you requested PartialObjectMetadataList, but the requested object is not a list ({kind})"
                )));
            }
            (Representation::PartialObjectMetadata { list: false, .. }, Some(_)) => {
                return Err(ApiError::NotAcceptable(format!(
                    "you requested PartialObjectMetadata, but the requested object is a list ({kind})"
                )));
            }
            (Representation::PartialObjectMetadata { list: false, .. }, None) => {
                self.object(&value, false, now)?
            }
        };
        serde_json::to_vec(&out)
            .map(Bytes::from)
            .map_err(|e| ApiError::Internal(format!("cannot encode the response: {e}")))
    }

    /// Converts one watch event line (`{"type":...,"object":...}`).
    ///
    /// Each event's object becomes a one-row `Table` (or a
    /// `PartialObjectMetadata`); only the first row-carrying table has
    /// column definitions, as upstream saves the bytes and kubectl reuses
    /// the last columns it saw. `ERROR` events keep their `Status`; a
    /// `BOOKMARK` becomes an empty table carrying its resourceVersion.
    fn event(&mut self, line: &[u8], now: DateTime<Utc>) -> Option<Value> {
        let event: Value = serde_json::from_slice(line).ok()?;
        let type_ = event.get("type")?.as_str()?;
        let obj = event.get("object")?;
        let converted = match (type_, self.repr) {
            ("ERROR", _) => obj.clone(),
            ("BOOKMARK", Representation::Table(v)) => {
                self.table(v, list_meta_of_object(obj), Vec::new(), false)
            }
            ("BOOKMARK", Representation::PartialObjectMetadata { version, .. }) => {
                partial(obj, version)
            }
            _ => {
                let columns = !self.columns_sent;
                self.columns_sent = true;
                self.object(obj, columns, now).ok()?
            }
        };
        Some(json!({ "type": type_, "object": converted }))
    }

    /// Converts a chunk of a watch body: complete newline-terminated
    /// events, possibly several (the cache batches them).
    pub fn watch_chunk(&mut self, chunk: &[u8], now: DateTime<Utc>) -> Bytes {
        self.pending.extend_from_slice(chunk);
        let mut out = BytesMut::with_capacity(self.pending.len());
        let mut start = 0;
        let pending = std::mem::take(&mut self.pending);
        while let Some(pos) = memchr::memchr(b'\n', &pending[start..]) {
            let line = &pending[start..start + pos];
            start += pos + 1;
            if line.is_empty() {
                continue;
            }
            match self.event(line, now) {
                Some(v) => {
                    out.put_slice(v.to_string().as_bytes());
                    out.put_u8(b'\n');
                }
                // Not an event we understand: pass it on untouched.
                None => {
                    out.put_slice(line);
                    out.put_u8(b'\n');
                }
            }
        }
        self.pending = pending[start..].to_vec();
        out.freeze()
    }
}

/// A bookmark's resourceVersion as list metadata.
fn list_meta_of_object(obj: &Value) -> Value {
    match obj.get("metadata").and_then(|m| m.get("resourceVersion")) {
        Some(rv) => json!({ "resourceVersion": rv }),
        None => json!({}),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn cm(name: &str, rv: &str) -> Value {
        json!({
            "kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": "default", "resourceVersion": rv,
                         "creationTimestamp": "2024-05-01T11:59:00Z", "labels": {"a": "b"}},
            "data": {"k": "v", "l": "w"}
        })
    }

    fn table(include: IncludeObject) -> Transform {
        Transform::new(
            Representation::Table(MetaVersion::V1),
            "",
            "configmaps",
            None,
            include,
        )
        .unwrap()
    }

    fn parse(b: &[u8]) -> Value {
        serde_json::from_slice(b).unwrap()
    }

    #[test]
    fn a_list_becomes_a_table_keeping_list_metadata() {
        let list = json!({
            "kind": "ConfigMapList", "apiVersion": "v1",
            "metadata": {"resourceVersion": "9", "continue": "abc", "remainingItemCount": 3},
            "items": [cm("a", "5"), cm("b", "6")]
        });
        let t = parse(
            &table(IncludeObject::Metadata)
                .reply(list.to_string().as_bytes(), now())
                .unwrap(),
        );
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(
            t["metadata"],
            json!({"resourceVersion": "9", "continue": "abc", "remainingItemCount": 3})
        );
        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Name", "Data", "Age"]);
        assert_eq!(t["columnDefinitions"][0]["format"], "name");
        assert_eq!(t["rows"][1]["cells"], json!(["b", 2, "60s"]));
        let obj = &t["rows"][0]["object"];
        assert_eq!(obj["kind"], "PartialObjectMetadata");
        assert_eq!(obj["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(obj["metadata"]["labels"]["a"], "b");
        assert!(obj.get("data").is_none());
    }

    #[test]
    fn include_object_controls_the_row_object() {
        let body = cm("a", "5").to_string();
        let none = parse(
            &table(IncludeObject::None)
                .reply(body.as_bytes(), now())
                .unwrap(),
        );
        assert_eq!(none["rows"][0]["object"], Value::Null);
        assert_eq!(none["metadata"]["resourceVersion"], "5");
        let full = parse(
            &table(IncludeObject::Object)
                .reply(body.as_bytes(), now())
                .unwrap(),
        );
        assert_eq!(full["rows"][0]["object"], cm("a", "5"));
        assert!(IncludeObject::parse(Some("Bogus")).is_err());
        assert_eq!(IncludeObject::parse(None).unwrap(), IncludeObject::Metadata);
    }

    #[test]
    fn v1beta1_tables_and_metadata_lists() {
        let t = Transform::new(
            Representation::Table(MetaVersion::V1Beta1),
            "",
            "pods",
            None,
            IncludeObject::Metadata,
        )
        .unwrap();
        let out = parse(
            &t.reply(b"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}", now())
                .unwrap(),
        );
        assert_eq!(out["apiVersion"], "meta.k8s.io/v1beta1");
        assert_eq!(
            out["rows"][0]["object"]["apiVersion"],
            "meta.k8s.io/v1beta1"
        );
        assert_eq!(out["columnDefinitions"].as_array().unwrap().len(), 9);

        let meta = |list| {
            Transform::new(
                Representation::PartialObjectMetadata {
                    version: MetaVersion::V1,
                    list,
                },
                "",
                "configmaps",
                None,
                IncludeObject::Metadata,
            )
            .unwrap()
        };
        let list = json!({"kind": "ConfigMapList", "metadata": {"resourceVersion": "9"}, "items": [cm("a", "5")]});
        let out = parse(
            &meta(true)
                .reply(list.to_string().as_bytes(), now())
                .unwrap(),
        );
        assert_eq!(out["kind"], "PartialObjectMetadataList");
        assert_eq!(out["metadata"]["resourceVersion"], "9");
        assert_eq!(out["items"][0]["kind"], "PartialObjectMetadata");
        assert_eq!(out["items"][0]["metadata"]["name"], "a");
        let one = parse(
            &meta(false)
                .reply(cm("a", "5").to_string().as_bytes(), now())
                .unwrap(),
        );
        assert_eq!(
            one,
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": cm("a", "5")["metadata"]})
        );
        let err = meta(false)
            .reply(list.to_string().as_bytes(), now())
            .unwrap_err();
        assert!(matches!(err, ApiError::NotAcceptable(_)));
        let err = meta(true)
            .reply(cm("a", "5").to_string().as_bytes(), now())
            .unwrap_err();
        assert!(matches!(err, ApiError::NotAcceptable(_)));
    }

    #[test]
    fn watch_events_become_one_row_tables_with_columns_once() {
        let mut t = table(IncludeObject::Metadata);
        let line = |type_: &str, obj: Value| format!("{}\n", json!({"type": type_, "object": obj}));
        // two events in one chunk, the second split across chunks
        let all = format!(
            "{}{}{}{}",
            line(
                "BOOKMARK",
                json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"resourceVersion": "4"}})
            ),
            line("ADDED", cm("a", "5")),
            line("MODIFIED", cm("a", "6")),
            line(
                "ERROR",
                json!({"kind": "Status", "code": 410, "reason": "Expired"})
            ),
        );
        let (first, rest) = all.split_at(all.len() - 60);
        let mut out = t.watch_chunk(first.as_bytes(), now()).to_vec();
        out.extend_from_slice(&t.watch_chunk(rest.as_bytes(), now()));
        let events: Vec<Value> = out
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(parse)
            .collect();
        assert_eq!(events.len(), 4);
        assert_eq!(events[0]["type"], "BOOKMARK");
        assert_eq!(events[0]["object"]["metadata"]["resourceVersion"], "4");
        assert_eq!(events[0]["object"]["rows"], json!([]));
        assert_eq!(events[1]["type"], "ADDED");
        assert_eq!(events[1]["object"]["kind"], "Table");
        assert_eq!(events[1]["object"]["metadata"]["resourceVersion"], "5");
        assert_eq!(
            events[1]["object"]["columnDefinitions"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        assert_eq!(events[1]["object"]["rows"][0]["cells"][0], "a");
        assert_eq!(events[2]["object"]["columnDefinitions"], json!([]));
        assert_eq!(
            events[2]["object"]["rows"][0]["object"]["metadata"]["resourceVersion"],
            "6"
        );
        assert_eq!(events[3]["object"]["kind"], "Status");
    }

    #[test]
    fn every_served_resource_has_a_printer_with_matching_cells() {
        for (g, r) in [
            ("", "pods"),
            ("", "nodes"),
            ("", "namespaces"),
            ("", "events"),
            ("coordination.k8s.io", "leases"),
            ("", "services"),
            ("", "endpoints"),
            ("discovery.k8s.io", "endpointslices"),
            ("", "configmaps"),
            ("", "secrets"),
            ("", "serviceaccounts"),
            ("apps", "deployments"),
            ("apps", "replicasets"),
            ("", "replicationcontrollers"),
            ("example.com", "widgets"),
        ] {
            let p = printer(g, r, None);
            let row = (p.row)(&json!({"metadata": {"name": "x"}}), now());
            assert_eq!(row.cells.len(), p.columns.len(), "{g}/{r}");
            let name_col = p.columns.iter().position(|c| c.format == "name").unwrap();
            assert_eq!(row.cells[name_col], "x", "{g}/{r}");
        }
        assert_eq!(
            printer("apps", "deployments", Some("scale")).columns.len(),
            4
        );
        assert_eq!(printer("", "pods", Some("status")).columns.len(), 9);
    }
}
