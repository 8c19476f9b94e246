//! Legacy API discovery: how clients learn which groups, versions and
//! resources exist (`/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`).
//!
//! kubectl first asks for *aggregated* discovery; answering with these plain
//! JSON documents makes every kubectl version fall back to the legacy
//! protocol, which works with all of them.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::AppState;
use super::path::ApiPath;
use crate::error::ApiError;
use crate::registry::RestStorage;

fn json_response(v: Value) -> Response {
    let mut resp = (StatusCode::OK, v.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn server_address(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:6443")
        .to_string()
}

/// The groups (other than the core group) and their versions.
fn groups(state: &AppState) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (g, v) in state.registry.group_versions() {
        if g.is_empty() {
            continue;
        }
        match out.iter_mut().find(|(name, _)| *name == g) {
            Some((_, versions)) => versions.push(v),
            None => out.push((g, vec![v])),
        }
    }
    out
}

fn group_json(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({ "groupVersion": format!("{name}/{v}"), "version": v }))
        .collect();
    json!({ "name": name, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null) })
}

/// The `APIResource` entries of one group-version, subresources included.
pub fn resource_list(state: &AppState, group: &str, version: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for storage in state.registry.all() {
        let info = storage.info();
        if info.group != group || info.version != version {
            continue;
        }
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
            out.push(subresource_json(storage.as_ref(), sub));
        }
    }
    out
}

fn subresource_json(storage: &dyn RestStorage, sub: &str) -> Value {
    let info = storage.info();
    let name = format!("{}/{sub}", info.plural);
    match sub {
        "scale" => json!({
            "name": name, "singularName": "", "namespaced": info.namespaced,
            "group": "autoscaling", "version": "v1", "kind": "Scale",
            "verbs": ["get", "patch", "update"],
        }),
        "binding" => json!({
            "name": name, "singularName": "", "namespaced": info.namespaced,
            "kind": "Binding", "verbs": ["create"],
        }),
        "finalize" => json!({
            "name": name, "singularName": "", "namespaced": info.namespaced,
            "kind": info.kind, "verbs": ["update"],
        }),
        _ => json!({
            "name": name, "singularName": "", "namespaced": info.namespaced,
            "kind": info.kind, "verbs": ["get", "patch", "update"],
        }),
    }
}

/// Serves a discovery path.
pub fn serve(state: &AppState, path: ApiPath, headers: &HeaderMap) -> Response {
    match path {
        ApiPath::LegacyVersions => json_response(json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": server_address(headers) }],
        })),
        ApiPath::Groups => {
            let groups: Vec<Value> = groups(state)
                .iter()
                .map(|(g, vs)| group_json(g, vs))
                .collect();
            json_response(json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups }))
        }
        ApiPath::Group(name) => match groups(state).into_iter().find(|(g, _)| *g == name) {
            Some((g, vs)) => {
                let mut v = group_json(&g, &vs);
                v["kind"] = json!("APIGroup");
                v["apiVersion"] = json!("v1");
                json_response(v)
            }
            None => ApiError::NotFoundPath.into_response(),
        },
        ApiPath::GroupVersion { group, version } => {
            let resources = resource_list(state, &group, &version);
            if resources.is_empty() {
                return ApiError::NotFoundPath.into_response();
            }
            let gv = if group.is_empty() {
                version.clone()
            } else {
                format!("{group}/{version}")
            };
            json_response(json!({
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": gv,
                "resources": resources,
            }))
        }
        ApiPath::Resource(_) => ApiError::NotFoundPath.into_response(),
    }
}
