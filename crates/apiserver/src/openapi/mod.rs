//! OpenAPI: the schemas of every served type, as kubectl and the patch code
//! read them.
//!
//! Upstream's apiserver publishes its types' schemas (generated from Go by
//! kube-openapi) at `/openapi/v2` and `/openapi/v3/...`. kubectl uses them to
//! find out that the server validates fields (then it sends
//! `fieldValidation=Strict`), for `kubectl explain`, and — through the
//! `x-kubernetes-patch-*` and `x-kubernetes-list-*` extensions — for
//! strategic merge patch. Our schemas are generated from the `api-types`
//! structs (feature `schema`), once, on first use.
//!
//! # Shape of [`components`]
//! OpenAPI v3 `components.schemas`, keyed by upstream's names
//! (`io.k8s.api.core.v1.Pod`). A property that names another schema is either
//! `{"$ref": "#/components/schemas/<name>"}` or, when it carries a
//! description or extensions, `{"allOf": [{"$ref": ...}], ...}` (kube-openapi's
//! v3 style); [`ref_name`] reads both. Lists are `{"type": "array", "items": ...}`
//! with `x-kubernetes-list-type` (`atomic`, `set`, `map`),
//! `x-kubernetes-list-map-keys`, `x-kubernetes-patch-strategy` and
//! `x-kubernetes-patch-merge-key` where upstream has them; maps are
//! `{"type": "object", "additionalProperties": ...}`, possibly with
//! `x-kubernetes-map-type`. Kinds carry `x-kubernetes-group-version-kind`.
//! Leaves: `Time` is `{"type": "string", "format": "date-time"}`,
//! `Quantity` `{"type": "string"}`, `IntOrString` `{"type": "string",
//! "format": "int-or-string", "x-kubernetes-int-or-string": true}` (the
//! served v3 documents show the last two in kube-openapi's `oneOf` form).

pub mod handler;
pub mod v2;
pub mod v3;

use std::sync::LazyLock;

use api_types::schema::{Definitions, REF_PREFIX};
use serde_json::{Map, Value};

static DEFINITIONS: LazyLock<Definitions> = LazyLock::new(api_types::schema::definitions);

/// Every schema, OpenAPI v3 `components.schemas` style (see the module docs).
pub fn components() -> &'static Map<String, Value> {
    &DEFINITIONS.schemas
}

/// The generated definitions, with the list of kinds.
pub fn definitions() -> &'static Definitions {
    &DEFINITIONS
}

/// The schema name of a kind: `("", "v1", "Pod")` → `io.k8s.api.core.v1.Pod`.
pub fn schema_name(group: &str, version: &str, kind: &str) -> Option<String> {
    DEFINITIONS
        .kind(group, version, kind)
        .map(|k| k.name.clone())
}

/// The schema a property refers to: `{"$ref": ...}` or
/// `{"allOf": [{"$ref": ...}], ...}` → the referenced name.
pub fn ref_name(schema: &Value) -> Option<&str> {
    let r = schema
        .get("$ref")
        .or_else(|| schema.pointer("/allOf/0/$ref"))?
        .as_str()?;
    r.strip_prefix(REF_PREFIX)
}

/// Follows [`ref_name`] into [`components`]; other schemas are returned as they are.
pub fn resolve(schema: &Value) -> &Value {
    match ref_name(schema).and_then(|name| components().get(name)) {
        Some(target) => target,
        None => schema,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_resolve_to_upstream_names() {
        assert_eq!(
            schema_name("", "v1", "Pod").as_deref(),
            Some("io.k8s.api.core.v1.Pod")
        );
        assert_eq!(
            schema_name("apps", "v1", "Deployment").as_deref(),
            Some("io.k8s.api.apps.v1.Deployment")
        );
        assert_eq!(schema_name("apps", "v1", "Pod"), None);
        let pod = &components()["io.k8s.api.core.v1.Pod"];
        let spec = resolve(&pod["properties"]["spec"]);
        assert_eq!(
            spec["properties"]["containers"]["x-kubernetes-patch-merge-key"],
            "name"
        );
    }
}
