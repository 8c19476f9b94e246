//! The registry: how each resource is created, read, updated, deleted and
//! watched.
//!
//! As in Kubernetes' `k8s.io/apiserver/pkg/registry/generic`, ONE generic
//! [`store::Store`] implements the REST verbs for every kind, and a small
//! per-kind [`strategy::Strategy`] says what differs: defaults, validation,
//! what a status update may change, graceful deletion, field selectors.
//! The HTTP layer finds a resource's [`RestStorage`] in the [`Registry`] and
//! calls it; it never touches storage itself.

pub mod codec;
pub mod fieldvalidation;
pub mod gofmt;
pub mod meta;
pub mod namespaces;
pub mod rules;
pub mod store;
pub mod strategy;
pub mod validation;

pub mod apps;
pub mod coordination;
pub mod core;
pub mod discovery;
pub mod install;

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;
use http::StatusCode;
use serde::Deserialize;

use crate::error::{ApiError, GroupResource, Result};

/// Static facts about a resource, for routing, discovery and error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceInfo {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// URL name, e.g. `pods`.
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    /// Subresources this kind serves (`status`, `scale`, `binding`, `finalize`).
    pub subresources: &'static [&'static str],
    /// Discovery categories, e.g. `["all"]`.
    pub categories: &'static [&'static str],
}

impl ResourceInfo {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn group_resource(&self) -> GroupResource {
        GroupResource::new(self.group, self.plural)
    }

    /// The verbs discovery advertises for the main resource.
    pub fn verbs(&self) -> &'static [&'static str] {
        &[
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }
}

/// What every request carries besides its body.
#[derive(Clone, Debug, Default)]
pub struct RequestScope {
    /// The namespace from the URL (`None` for cluster-scoped or all-namespace requests).
    pub namespace: Option<String>,
    /// `dryRun=All`: do everything except persist.
    pub dry_run: bool,
    /// `fieldManager`: who is making this change (recorded in `managedFields`).
    pub field_manager: Option<String>,
    /// `fieldValidation`: what to do about unknown or duplicate fields.
    pub field_validation: FieldValidation,
    /// `force=true`: server-side apply takes fields other managers own.
    pub force: bool,
    /// Warnings for the client, sent back as `Warning: 299 - "..."` headers.
    pub warnings: Warnings,
    /// The request's `User-Agent`: without `fieldManager`, non-apply writes
    /// are recorded under its product name (`kubectl/v1.32 ...` → `kubectl`).
    pub user_agent: String,
}

/// `fieldValidation` (upstream's default, when absent, is `Warn`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldValidation {
    /// Drop unknown fields silently.
    Ignore,
    /// Drop them and warn.
    #[default]
    Warn,
    /// Reject the request (400) naming every unknown or duplicate field.
    Strict,
}

impl FieldValidation {
    /// Parses the query parameter.
    ///
    /// # Errors
    /// 400 for a value other than `Ignore`, `Warn` or `Strict`.
    pub fn parse(value: Option<&str>) -> Result<Self> {
        match value {
            None | Some("") => Ok(FieldValidation::default()),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some("Warn") => Ok(FieldValidation::Warn),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some(other) => Err(ApiError::BadRequest(format!(
                "fieldValidation {other} is invalid, valid values are: Ignore, Warn, Strict"
            ))),
        }
    }
}

/// Warnings collected while serving one request (shared by the clones of
/// its scope).
#[derive(Clone, Debug, Default)]
pub struct Warnings(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Warnings {
    pub fn add(&self, warning: impl Into<String>) {
        if let Ok(mut w) = self.0.lock() {
            w.push(warning.into());
        }
    }

    pub fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }
}

/// Query parameters of list and watch requests (`metav1.ListOptions`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub limit: Option<i64>,
    #[serde(rename = "continue")]
    pub continue_: Option<String>,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
    pub watch: Option<String>,
    pub allow_watch_bookmarks: Option<bool>,
    pub timeout_seconds: Option<i64>,
    pub send_initial_events: Option<bool>,
}

impl ListParams {
    /// `watch=true` or `watch=1`, as upstream accepts.
    pub fn is_watch(&self) -> bool {
        matches!(self.watch.as_deref(), Some("true" | "1"))
    }
}

/// The patch formats of a PATCH request's `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json` (RFC 6902)
    Json,
    /// `application/merge-patch+json` (RFC 7386)
    Merge,
    /// `application/strategic-merge-patch+json`
    StrategicMerge,
    /// `application/apply-patch+yaml` (server-side apply)
    Apply,
}

impl PatchType {
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let base = ct.split(';').next().unwrap_or("").trim();
        match base {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::StrategicMerge),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
                Some(PatchType::Apply)
            }
            _ => None,
        }
    }
}

/// An HTTP answer from a registry call: a status code and a JSON body.
#[derive(Debug)]
pub struct Reply {
    pub code: StatusCode,
    pub body: Bytes,
}

impl Reply {
    pub fn ok(body: Bytes) -> Self {
        Reply {
            code: StatusCode::OK,
            body,
        }
    }
}

/// A watch response body: newline-terminated JSON events.
pub type WatchBody = Pin<Box<dyn Stream<Item = Bytes> + Send>>;

/// The REST verbs of one resource, over JSON bytes. Implemented by the
/// generic [`store::Store`] for every kind.
#[async_trait]
pub trait RestStorage: Send + Sync {
    fn info(&self) -> &ResourceInfo;
    async fn create(&self, scope: &RequestScope, body: &[u8]) -> Result<Reply>;
    async fn get(&self, scope: &RequestScope, name: &str) -> Result<Reply>;
    async fn list(&self, scope: &RequestScope, params: &ListParams) -> Result<Reply>;
    async fn watch(&self, scope: &RequestScope, params: &ListParams) -> Result<WatchBody>;
    async fn update(&self, scope: &RequestScope, name: &str, body: &[u8]) -> Result<Reply>;
    async fn patch(
        &self,
        scope: &RequestScope,
        name: &str,
        kind: PatchType,
        body: &[u8],
    ) -> Result<Reply>;
    async fn delete(
        &self,
        scope: &RequestScope,
        name: &str,
        body: &[u8],
        query: &DeleteQuery,
    ) -> Result<Reply>;
    async fn delete_collection(
        &self,
        scope: &RequestScope,
        params: &ListParams,
        body: &[u8],
        query: &DeleteQuery,
    ) -> Result<Reply>;

    /// GET on a subresource (`status`, `scale`).
    async fn get_subresource(&self, scope: &RequestScope, name: &str, sub: &str) -> Result<Reply>;
    /// PUT on a subresource (`status`, `scale`, `finalize`).
    async fn update_subresource(
        &self,
        scope: &RequestScope,
        name: &str,
        sub: &str,
        body: &[u8],
    ) -> Result<Reply>;
    /// PATCH on a subresource.
    async fn patch_subresource(
        &self,
        scope: &RequestScope,
        name: &str,
        sub: &str,
        kind: PatchType,
        body: &[u8],
    ) -> Result<Reply>;
    /// POST on a subresource (`binding`).
    async fn create_subresource(
        &self,
        scope: &RequestScope,
        name: &str,
        sub: &str,
        body: &[u8],
    ) -> Result<Reply>;
}

/// DELETE options that may come as query parameters instead of a body.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteQuery {
    pub grace_period_seconds: Option<i64>,
    pub propagation_policy: Option<String>,
    pub orphan_dependents: Option<bool>,
    pub dry_run: Option<String>,
}

/// Every served resource, by group, version and plural.
#[derive(Default)]
pub struct Registry {
    resources: BTreeMap<(String, String, String), Arc<dyn RestStorage>>,
}

impl Registry {
    pub fn add(&mut self, storage: Arc<dyn RestStorage>) {
        let info = storage.info();
        self.resources.insert(
            (info.group.into(), info.version.into(), info.plural.into()),
            storage,
        );
    }

    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<&Arc<dyn RestStorage>> {
        self.resources
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
    }

    /// All resources, ordered by group, version, plural.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn RestStorage>> {
        self.resources.values()
    }

    /// The distinct (group, version) pairs served.
    pub fn group_versions(&self) -> Vec<(String, String)> {
        let mut gvs: Vec<(String, String)> = self
            .resources
            .keys()
            .map(|(g, v, _)| (g.clone(), v.clone()))
            .collect();
        gvs.dedup();
        gvs
    }
}

/// The error for a subresource or verb a resource does not serve.
pub fn not_found_path() -> ApiError {
    ApiError::NotFoundPath
}
