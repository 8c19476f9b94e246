//! API discovery: how clients learn which groups, versions and resources
//! exist (upstream: `k8s.io/apiserver/pkg/endpoints/discovery`).
//!
//! Two protocols serve the same facts:
//!
//! - **Legacy**: `/api` (`APIVersions`) and `/apis` (`APIGroupList`), then
//!   one `APIResourceList` per group-version (`/api/v1`,
//!   `/apis/apps/v1` ...). A client needs 2 + N requests.
//! - **Aggregated** (`apidiscovery.k8s.io`): `/api` and `/apis` answer
//!   with an `APIGroupDiscoveryList` holding every version and resource of
//!   every group, so kubectl needs two requests. A client asks for it in
//!   `Accept`; we answer in a version it listed (`v2` or `v2beta1`) and
//!   name that version in `Content-Type`, which is how the client knows what
//!   it got. kubectl 1.27-1.29 only know `v2beta1` and treat any other
//!   document as legacy discovery, so a `v2` answer would break them.
//!
//! Both are built from the [`Registry`](crate::registry::Registry): a
//! resource's [`ResourceInfo`] says its kind, scope, verbs, short names,
//! categories and subresources.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::AppState;
use super::negotiate::{AggregatedVersion, DiscoveryFormat, discovery_output};
use super::path::ApiPath;
use crate::error::ApiError;
use crate::registry::ResourceInfo;

fn respond(v: &Value, content_type: &'static str) -> Response {
    let mut resp = (StatusCode::OK, v.to_string()).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The same URL answers differently by Accept: caches must key on it.
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    resp
}

fn server_address(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:6443")
        .to_string()
}

/// Every served group (`""` is the core group) with its versions,
/// preferred version first.
fn groups(state: &AppState) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (g, v) in state.registry.group_versions() {
        match out.iter_mut().find(|(name, _)| *name == g) {
            Some((_, versions)) => versions.push(v),
            None => out.push((g, vec![v])),
        }
    }
    out
}

/// The named (non-core) groups.
fn named_groups(state: &AppState) -> Vec<(String, Vec<String>)> {
    groups(state)
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .collect()
}

fn group_json(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({ "groupVersion": format!("{name}/{v}"), "version": v }))
        .collect();
    json!({ "name": name, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null) })
}

/// The resources of one group-version.
fn infos<'a>(state: &'a AppState, group: &'a str, version: &'a str) -> Vec<&'a ResourceInfo> {
    state
        .registry
        .all()
        .map(|s| s.info())
        .filter(|i| i.group == group && i.version == version)
        .collect()
}

/// What a subresource is: the kind it reads and writes, and its verbs
/// (upstream's values for the subresources Kubernetes has).
struct Subresource {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    verbs: &'static [&'static str],
}

fn subresource(info: &ResourceInfo, sub: &str) -> Subresource {
    let own = |kind: &'static str, verbs: &'static [&'static str]| Subresource {
        group: info.group,
        version: info.version,
        kind,
        verbs,
    };
    match sub {
        "scale" => Subresource {
            group: "autoscaling",
            version: "v1",
            kind: "Scale",
            verbs: &["get", "patch", "update"],
        },
        "eviction" => Subresource {
            group: "policy",
            version: "v1",
            kind: "Eviction",
            verbs: &["create"],
        },
        "binding" => own("Binding", &["create"]),
        "finalize" => own(info.kind, &["update"]),
        "log" => own(info.kind, &["get"]),
        "exec" => own("PodExecOptions", &["create", "get"]),
        "attach" => own("PodAttachOptions", &["create", "get"]),
        "portforward" => own("PodPortForwardOptions", &["create", "get"]),
        "proxy" => own(
            match info.plural {
                "nodes" => "NodeProxyOptions",
                "services" => "ServiceProxyOptions",
                _ => "PodProxyOptions",
            },
            &["create", "delete", "get", "patch", "update"],
        ),
        // status, ephemeralcontainers, resize ...
        _ => own(info.kind, &["get", "patch", "update"]),
    }
}

/// The legacy `APIResource` entries of one group-version, subresources
/// (`pods/status`) as entries of their own.
pub fn resource_list(state: &AppState, group: &str, version: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for info in infos(state, group, version) {
        let mut r = json!({
            "name": info.plural,
            "singularName": info.singular,
            "namespaced": info.namespaced,
            "kind": info.kind,
            "verbs": info.verbs(),
        });
        if !info.short_names.is_empty() {
            r["shortNames"] = json!(info.short_names);
        }
        if !info.categories.is_empty() {
            r["categories"] = json!(info.categories);
        }
        out.push(r);
        for sub in info.subresources {
            let s = subresource(info, sub);
            let mut entry = json!({
                "name": format!("{}/{sub}", info.plural),
                "singularName": "",
                "namespaced": info.namespaced,
                "kind": s.kind,
                "verbs": s.verbs,
            });
            // Only a kind from another group-version names its group.
            if (s.group, s.version) != (info.group, info.version) {
                entry["group"] = json!(s.group);
                entry["version"] = json!(s.version);
            }
            out.push(entry);
        }
    }
    out
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({ "group": group, "version": version, "kind": kind })
}

/// One resource in aggregated discovery (`APIResourceDiscovery`).
fn resource_discovery(info: &ResourceInfo) -> Value {
    let mut r = json!({
        "resource": info.plural,
        "responseKind": gvk(info.group, info.version, info.kind),
        "scope": if info.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": info.singular,
        "verbs": info.verbs(),
    });
    if !info.short_names.is_empty() {
        r["shortNames"] = json!(info.short_names);
    }
    if !info.categories.is_empty() {
        r["categories"] = json!(info.categories);
    }
    let subs: Vec<Value> = info
        .subresources
        .iter()
        .map(|sub| {
            let s = subresource(info, sub);
            json!({
                "subresource": sub,
                "responseKind": gvk(s.group, s.version, s.kind),
                "verbs": s.verbs,
            })
        })
        .collect();
    if !subs.is_empty() {
        r["subresources"] = Value::Array(subs);
    }
    r
}

/// The `APIGroupDiscoveryList` of the core group (`/api`) or of the named
/// groups (`/apis`).
fn aggregated(state: &AppState, core: bool, version: AggregatedVersion) -> Value {
    let items: Vec<Value> = groups(state)
        .into_iter()
        .filter(|(g, _)| g.is_empty() == core)
        .map(|(g, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = infos(state, &g, v)
                        .into_iter()
                        .map(resource_discovery)
                        .collect();
                    json!({ "version": v, "resources": resources, "freshness": "Current" })
                })
                .collect();
            // The core group has no name (upstream omits the empty field).
            let metadata = if g.is_empty() {
                json!({})
            } else {
                json!({ "name": g })
            };
            json!({ "metadata": metadata, "versions": versions })
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{}", version.as_str()),
        "metadata": {},
        "items": items,
    })
}

/// Serves a discovery path in the format the client asked for.
pub fn serve(state: &AppState, path: ApiPath, headers: &HeaderMap) -> Response {
    let root = matches!(path, ApiPath::LegacyVersions | ApiPath::Groups);
    let format = match discovery_output(headers, root) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    const JSON: &str = "application/json";
    match (path, format) {
        (ApiPath::LegacyVersions, DiscoveryFormat::Aggregated(v)) => {
            respond(&aggregated(state, true, v), v.content_type())
        }
        (ApiPath::Groups, DiscoveryFormat::Aggregated(v)) => {
            respond(&aggregated(state, false, v), v.content_type())
        }
        (ApiPath::LegacyVersions, _) => respond(
            &json!({
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": server_address(headers) }],
            }),
            JSON,
        ),
        (ApiPath::Groups, _) => {
            let groups: Vec<Value> = named_groups(state)
                .iter()
                .map(|(g, vs)| group_json(g, vs))
                .collect();
            respond(
                &json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups }),
                JSON,
            )
        }
        (ApiPath::Group(name), _) => {
            match named_groups(state).into_iter().find(|(g, _)| *g == name) {
                Some((g, vs)) => {
                    let mut v = group_json(&g, &vs);
                    v["kind"] = json!("APIGroup");
                    v["apiVersion"] = json!("v1");
                    respond(&v, JSON)
                }
                None => ApiError::NotFoundPath.into_response(),
            }
        }
        (ApiPath::GroupVersion { group, version }, _) => {
            let resources = resource_list(state, &group, &version);
            if resources.is_empty() {
                return ApiError::NotFoundPath.into_response();
            }
            let gv = if group.is_empty() {
                version.clone()
            } else {
                format!("{group}/{version}")
            };
            respond(
                &json!({
                    "kind": "APIResourceList",
                    "apiVersion": "v1",
                    "groupVersion": gv,
                    "resources": resources,
                }),
                JSON,
            )
        }
        (ApiPath::Resource(_), _) => ApiError::NotFoundPath.into_response(),
    }
}
