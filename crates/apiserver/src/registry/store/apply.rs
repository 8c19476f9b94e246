//! Server-side apply: `PATCH` with `Content-Type: application/apply-patch+yaml`
//! (upstream's `applyPatcher` and the apply half of its field manager).
//!
//! The body is a partial object in YAML (or JSON, which is YAML) with
//! `apiVersion`, `kind` and `metadata.name`. If the object does not exist it
//! is created from the configuration through the normal create path
//! (defaults, validation, namespace checks); otherwise the configuration is
//! merged into it by [`patch::apply`](crate::patch::apply), which also
//! decides ownership and conflicts. Either way the result is defaulted and
//! validated like any other write.

use api_types::Resource;
use serde_json::{Map, Value};
use storage::StorageError;

use super::Store;
use super::fields::tracking_json;
use super::write::{Mode, Track};
use crate::error::{ApiError, FieldError, Result};
use crate::patch::apply::managed::{self, LAST_APPLIED, Managed};
use crate::registry::codec::{check_type_meta, decode_value_checked};
use crate::registry::{Reply, RequestScope};

/// The manager name whose applies keep client-side apply's annotation
/// current (what `kubectl apply --server-side` uses).
const KUBECTL: &str = "kubectl";

/// `PatchOptions.meta.k8s.io "" is invalid: <field>: ...`.
pub(super) fn patch_options_invalid(cause: FieldError) -> ApiError {
    ApiError::Invalid {
        group: "meta.k8s.io".into(),
        kind: "PatchOptions".into(),
        name: String::new(),
        causes: vec![cause],
    }
}

/// Parses and checks an apply body.
fn parse_config<K: Resource>(body: &[u8], scope: &RequestScope, name: &str) -> Result<Value> {
    let mut config: Value = serde_yaml_ng::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("error decoding YAML: {e}")))?;
    let Some(obj) = config.as_object_mut() else {
        return Err(ApiError::BadRequest(
            "error decoding YAML: the apply configuration must be an object".into(),
        ));
    };
    let text = |key: &str| {
        obj.get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (api_version, kind) = (text("apiVersion"), text("kind"));
    if kind.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "Object 'Kind' is missing in '{}'",
            String::from_utf8_lossy(body).trim()
        )));
    }
    if api_version != K::API_VERSION {
        return Err(ApiError::BadRequest(format!(
            "Incorrect version specified in apply patch. Specified patch version: {api_version}, expected: {}",
            K::API_VERSION
        )));
    }
    check_type_meta::<K>((&api_version, &kind))?;
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(meta) = meta.as_object_mut() else {
        return Err(ApiError::BadRequest(
            "error decoding YAML: metadata must be an object".into(),
        ));
    };
    if meta.get("managedFields").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::BadRequest(
            "metadata.managedFields must be nil".into(),
        ));
    }
    match meta.get("name").and_then(Value::as_str) {
        Some(n) if n != name => {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        Some(_) => {}
        None => {
            meta.insert("name".into(), Value::String(name.into()));
        }
    }
    if K::NAMESPACED
        && let Some(ns) = meta.get("namespace").and_then(Value::as_str)
        && !ns.is_empty()
        && Some(ns) != scope.namespace.as_deref()
    {
        return Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        ));
    }
    Ok(config)
}

impl<K: Resource> Store<K> {
    /// `PATCH` with an apply configuration.
    pub(super) async fn apply_object(
        &self,
        scope: &RequestScope,
        name: &str,
        body: &[u8],
        mode: Mode,
    ) -> Result<Reply> {
        let Some(manager) = scope.field_manager.clone() else {
            return Err(patch_options_invalid(FieldError::required(
                "fieldManager",
                "is required for apply patch",
            )));
        };
        let config = parse_config::<K>(body, scope, name)?;
        let key = self.key(scope.namespace.as_deref(), name)?;
        let exists = match self.storage.get(&key).await {
            Ok(_) => true,
            Err(StorageError::NotFound { .. }) => false,
            Err(e) => return Err(ApiError::from_storage(e, &self.gr, name)),
        };
        if !exists && mode == Mode::Main {
            match self.apply_create(scope, name, &config, &manager).await {
                // Someone created it meanwhile: apply to theirs.
                Err(ApiError::AlreadyExists { .. }) => {}
                other => return other,
            }
        }
        self.write_tracked(scope, name, mode, Track::Applied, |old| {
            self.apply_to(old, &config, &manager, mode, scope)
        })
        .await
    }

    /// The configuration merged into `old`, with managedFields set.
    fn apply_to(
        &self,
        old: &K,
        config: &Value,
        manager: &str,
        mode: Mode,
        scope: &RequestScope,
    ) -> Result<K> {
        let live = tracking_json(old)?;
        let mut managed = Managed::decode(&old.metadata().managed_fields).unwrap_or_default();
        let csa = old.metadata().annotations.get(LAST_APPLIED);
        let last_applied: Option<Value> = csa
            .filter(|_| manager == KUBECTL)
            .and_then(|s| serde_json::from_str(s).ok());
        let write = self.field_write(mode, manager, last_applied.as_ref());
        let mut merged = managed::apply(&mut managed, &live, config, scope.force, &write)
            .map_err(|c| c.into_error())?;
        // `kubectl apply --server-side` keeps client-side apply's annotation
        // current on objects that have one, so a later client-side apply
        // still computes the right patch.
        if manager == KUBECTL
            && csa.is_some()
            && let Some(annotations) = merged
                .pointer_mut("/metadata/annotations")
                .and_then(Value::as_object_mut)
        {
            annotations.insert(
                LAST_APPLIED.into(),
                Value::String(managed::last_applied_annotation(config)),
            );
        }
        let mut obj: K = decode_value_checked(merged, scope)?;
        obj.metadata_mut().managed_fields = managed.encode();
        Ok(obj)
    }

    /// Apply to a missing object: the configuration merged into an empty
    /// one, then the normal create path.
    async fn apply_create(
        &self,
        scope: &RequestScope,
        name: &str,
        config: &Value,
        manager: &str,
    ) -> Result<Reply> {
        let mut meta = Map::new();
        meta.insert("name".into(), Value::String(name.into()));
        if let Some(ns) = scope.namespace.as_ref().filter(|_| K::NAMESPACED) {
            meta.insert("namespace".into(), Value::String(ns.clone()));
        }
        let mut empty = Map::new();
        empty.insert("apiVersion".into(), Value::String(K::API_VERSION.into()));
        empty.insert("kind".into(), Value::String(K::KIND.into()));
        empty.insert("metadata".into(), Value::Object(meta));
        let empty = Value::Object(empty);
        let mut managed = Managed::default();
        let write = self.field_write(Mode::Main, manager, None);
        let merged = managed::apply(&mut managed, &empty, config, scope.force, &write)
            .map_err(|c| c.into_error())?;
        let mut obj: K = decode_value_checked(merged, scope)?;
        obj.metadata_mut().managed_fields = managed.encode();
        self.create_new(scope, obj, Track::Applied).await
    }
}
