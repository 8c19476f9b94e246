//! API errors and their `Status` objects.
//!
//! Every failure a client can see is an [`ApiError`], rendered as a
//! Kubernetes `Status` with the same code, reason and message text as
//! upstream (`k8s.io/apimachinery/pkg/api/errors`), because clients branch
//! on them: kubectl prints `Error from server (NotFound): pods "x" not found`,
//! and controllers retry on `Conflict`. Storage errors become API errors here
//! and nowhere else ([`ApiError::from_storage`]).

use std::fmt;

use api_types::meta::v1::{Status, StatusCause, StatusDetails};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use storage::StorageError;

/// Which resource an error is about: `pods`, or `deployments.apps`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupResource {
    pub group: &'static str,
    pub resource: &'static str,
}

impl GroupResource {
    pub const fn new(group: &'static str, resource: &'static str) -> Self {
        GroupResource { group, resource }
    }
}

impl fmt::Display for GroupResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

/// One field-level validation failure (`field.Error` upstream).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// `spec.containers[0].image`
    pub field: String,
    pub kind: FieldErrorKind,
    /// The offending value as upstream quotes it (already formatted), if any.
    pub value: Option<String>,
    pub detail: String,
}

/// The kinds of field errors and their `StatusCause` reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldErrorKind {
    Required,
    Invalid,
    NotSupported,
    Duplicate,
    Forbidden,
    TooLong,
    NotFound,
}

impl FieldError {
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(field, FieldErrorKind::Required, None, detail)
    }

    /// `value` is quoted like Go's `%q` for strings; pass numbers via [`FieldError::invalid_raw`].
    pub fn invalid(field: impl Into<String>, value: &str, detail: impl Into<String>) -> Self {
        Self::new(field, FieldErrorKind::Invalid, Some(quote(value)), detail)
    }

    pub fn invalid_raw(
        field: impl Into<String>,
        value: impl fmt::Display,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(
            field,
            FieldErrorKind::Invalid,
            Some(value.to_string()),
            detail,
        )
    }

    pub fn not_supported(field: impl Into<String>, value: &str, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| quote(s)).collect();
        Self::new(
            field,
            FieldErrorKind::NotSupported,
            Some(quote(value)),
            format!("supported values: {}", list.join(", ")),
        )
    }

    pub fn duplicate(field: impl Into<String>, value: &str) -> Self {
        Self::new(field, FieldErrorKind::Duplicate, Some(quote(value)), "")
    }

    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(field, FieldErrorKind::Forbidden, None, detail)
    }

    pub fn not_found(field: impl Into<String>, value: &str) -> Self {
        Self::new(field, FieldErrorKind::NotFound, Some(quote(value)), "")
    }

    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self::new(
            field,
            FieldErrorKind::TooLong,
            None,
            format!("must have at most {max} bytes"),
        )
    }

    fn new(
        field: impl Into<String>,
        kind: FieldErrorKind,
        value: Option<String>,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            field: field.into(),
            kind,
            value,
            detail: detail.into(),
        }
    }

    /// The message without the field path, as in a `StatusCause`:
    /// `Invalid value: "x": must be ...`.
    pub fn body(&self) -> String {
        let mut s = String::from(match self.kind {
            FieldErrorKind::Required => "Required value",
            FieldErrorKind::Invalid => "Invalid value",
            FieldErrorKind::NotSupported => "Unsupported value",
            FieldErrorKind::Duplicate => "Duplicate value",
            FieldErrorKind::Forbidden => "Forbidden",
            FieldErrorKind::TooLong => "Too long",
            FieldErrorKind::NotFound => "Not found",
        });
        if let Some(v) = &self.value {
            s.push_str(": ");
            s.push_str(v);
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }

    fn reason(&self) -> &'static str {
        match self.kind {
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::Invalid => "FieldValueInvalid",
            FieldErrorKind::NotSupported => "FieldValueNotSupported",
            FieldErrorKind::Duplicate => "FieldValueDuplicate",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
            FieldErrorKind::TooLong => "FieldValueTooLong",
            FieldErrorKind::NotFound => "FieldValueNotFound",
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

/// Go's `%q` for the strings we quote: JSON string escaping is the same for
/// everything names and labels can contain.
pub fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// An error returned to an API client.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("{resource} \"{name}\" not found")]
    NotFound {
        resource: GroupResource,
        name: String,
    },

    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists {
        resource: GroupResource,
        name: String,
    },

    /// `Operation cannot be fulfilled on pods "x": <detail>`
    #[error("Operation cannot be fulfilled on {resource} \"{name}\": {detail}")]
    Conflict {
        resource: GroupResource,
        name: String,
        detail: String,
    },

    /// 422: `Pod "x" is invalid: spec.containers: Required value`
    /// (`Deployment.apps "x" ...` for kinds of a named group, as upstream).
    #[error("{} \"{name}\" is invalid: {}", qualified_kind(.kind, .group), join_causes(.causes))]
    Invalid {
        group: String,
        kind: String,
        name: String,
        causes: Vec<FieldError>,
    },

    #[error("{0}")]
    BadRequest(String),

    /// 404 for a path that names no resource we serve.
    #[error("the server could not find the requested resource")]
    NotFoundPath,

    /// 403: `pods "x" is forbidden: <detail>`
    #[error("{resource} \"{name}\" is forbidden: {detail}")]
    Forbidden {
        resource: GroupResource,
        name: String,
        detail: String,
        /// e.g. `NamespaceTerminating` and its message
        cause: Option<(&'static str, String)>,
    },

    /// 422 without field causes (e.g. a JSON patch that does not apply).
    #[error("{0}")]
    Unprocessable(String),

    #[error("{0}")]
    MethodNotAllowed(String),

    #[error("{0}")]
    NotAcceptable(String),

    #[error("{0}")]
    UnsupportedMediaType(String),

    #[error("Request entity too large: limit is {0}")]
    RequestEntityTooLarge(usize),

    /// 410 with reason `Expired`: a too-old resourceVersion or continue token.
    #[error("{0}")]
    Expired(String),

    /// 504: the server could not finish in time (e.g. a watch cache that
    /// could not catch up with a requested resourceVersion).
    #[error("{message}")]
    Timeout { message: String, retry_after: i32 },

    #[error("{0}")]
    ServiceUnavailable(String),

    #[error("Internal error occurred: {0}")]
    Internal(String),

    /// 500 with no reason: an error upstream leaves unclassified (a
    /// strategic merge patch missing a merge key ...). kubectl prints it as
    /// `Error from server: <message>`.
    #[error("{0}")]
    Unclassified(String),

    /// 409 from server-side apply: fields other managers own. Each cause is
    /// (message, field path), e.g. (`conflict with "kubectl-edit" using v1`,
    /// `.spec.replicas`).
    #[error("{message}")]
    ApplyConflict {
        message: String,
        causes: Vec<(String, String)>,
    },
}

/// `Kind` or `Kind.group` (upstream's `GroupKind.String`).
fn qualified_kind(kind: &str, group: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}

fn join_causes(causes: &[FieldError]) -> String {
    match causes {
        [one] => one.to_string(),
        many => format!(
            "[{}]",
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl ApiError {
    /// Maps a storage error for `resource`/`name`: the single place where
    /// storage failures become API errors.
    pub fn from_storage(err: StorageError, resource: &GroupResource, name: &str) -> Self {
        match err {
            StorageError::NotFound { .. } => ApiError::NotFound {
                resource: resource.clone(),
                name: name.into(),
            },
            StorageError::AlreadyExists { .. } => ApiError::AlreadyExists {
                resource: resource.clone(),
                name: name.into(),
            },
            StorageError::Conflict { .. } => ApiError::conflict_modified(resource, name),
            StorageError::Expired {
                requested,
                compacted,
            } => ApiError::Expired(format!(
                "too old resource version: {requested} ({compacted})"
            )),
            StorageError::FutureRevision { requested, current } => ApiError::Timeout {
                message: format!(
                    "Too large resource version: {requested}, current resource version: {current}"
                ),
                retry_after: 1,
            },
            StorageError::Unavailable(msg) => ApiError::ServiceUnavailable(msg),
            StorageError::Internal(msg) => ApiError::Internal(msg),
        }
    }

    /// The optimistic-concurrency failure every client knows.
    pub fn conflict_modified(resource: &GroupResource, name: &str) -> Self {
        ApiError::Conflict {
            resource: resource.clone(),
            name: name.into(),
            detail: "the object has been modified; please apply your changes to the latest version and try again"
                .into(),
        }
    }

    pub fn code(&self) -> StatusCode {
        match self {
            ApiError::NotFound { .. } | ApiError::NotFoundPath => StatusCode::NOT_FOUND,
            ApiError::AlreadyExists { .. }
            | ApiError::Conflict { .. }
            | ApiError::ApplyConflict { .. } => StatusCode::CONFLICT,
            ApiError::Invalid { .. } | ApiError::Unprocessable(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RequestEntityTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Expired(_) => StatusCode::GONE,
            ApiError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            ApiError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) | ApiError::Unclassified(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } | ApiError::NotFoundPath => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } | ApiError::ApplyConflict { .. } => "Conflict",
            ApiError::Invalid { .. } | ApiError::Unprocessable(_) => "Invalid",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::Forbidden { .. } => "Forbidden",
            ApiError::MethodNotAllowed(_) => "MethodNotAllowed",
            ApiError::NotAcceptable(_) => "NotAcceptable",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            ApiError::RequestEntityTooLarge(_) => "RequestEntityTooLarge",
            ApiError::Expired(_) => "Expired",
            ApiError::Timeout { .. } => "Timeout",
            ApiError::ServiceUnavailable(_) => "ServiceUnavailable",
            ApiError::Internal(_) => "InternalError",
            ApiError::Unclassified(_) => "",
        }
    }

    /// The `Status` object for this error.
    pub fn status(&self) -> Status {
        let mut status = Status::failure(self.code().as_u16(), self.reason(), self.to_string());
        status.details = match self {
            ApiError::NotFound { resource, name }
            | ApiError::AlreadyExists { resource, name }
            | ApiError::Conflict { resource, name, .. } => Some(StatusDetails {
                name: name.clone(),
                group: resource.group.into(),
                kind: resource.resource.into(),
                ..Default::default()
            }),
            ApiError::Forbidden {
                resource,
                name,
                cause,
                ..
            } => Some(StatusDetails {
                name: name.clone(),
                group: resource.group.into(),
                kind: resource.resource.into(),
                causes: cause
                    .iter()
                    .map(|(reason, message)| StatusCause {
                        reason: (*reason).into(),
                        message: message.clone(),
                        field: String::new(),
                    })
                    .collect(),
                ..Default::default()
            }),
            ApiError::Invalid {
                group,
                kind,
                name,
                causes,
            } => Some(StatusDetails {
                name: name.clone(),
                group: group.clone(),
                kind: kind.clone(),
                causes: causes
                    .iter()
                    .map(|c| StatusCause {
                        reason: c.reason().into(),
                        message: c.body(),
                        field: c.field.clone(),
                    })
                    .collect(),
                ..Default::default()
            }),
            ApiError::ApplyConflict { causes, .. } => Some(StatusDetails {
                causes: causes
                    .iter()
                    .map(|(message, field)| StatusCause {
                        reason: "FieldManagerConflict".into(),
                        message: message.clone(),
                        field: field.clone(),
                    })
                    .collect(),
                ..Default::default()
            }),
            ApiError::Timeout { retry_after, .. } => Some(StatusDetails {
                retry_after_seconds: Some(*retry_after),
                ..Default::default()
            }),
            ApiError::Internal(msg) => Some(StatusDetails {
                causes: vec![StatusCause {
                    reason: String::new(),
                    message: msg.clone(),
                    field: String::new(),
                }],
                ..Default::default()
            }),
            _ => None,
        };
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.code().is_server_error() {
            tracing::warn!(error = %self, "request failed");
        }
        let body = serde_json::to_vec(&self.status()).unwrap_or_default();
        let mut resp = (self.code(), body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let ApiError::Timeout { retry_after, .. } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_like_upstream() {
        let pods = GroupResource::new("", "pods");
        let deploy = GroupResource::new("apps", "deployments");
        assert_eq!(
            ApiError::NotFound {
                resource: pods.clone(),
                name: "x".into()
            }
            .to_string(),
            r#"pods "x" not found"#
        );
        assert_eq!(
            ApiError::AlreadyExists {
                resource: deploy,
                name: "web".into()
            }
            .to_string(),
            r#"deployments.apps "web" already exists"#
        );
        assert_eq!(
            ApiError::conflict_modified(&pods, "x").to_string(),
            r#"Operation cannot be fulfilled on pods "x": the object has been modified; please apply your changes to the latest version and try again"#
        );
        let one = ApiError::Invalid {
            group: String::new(),
            kind: "Pod".into(),
            name: "x".into(),
            causes: vec![FieldError::required("spec.containers", "")],
        };
        assert_eq!(
            one.to_string(),
            r#"Pod "x" is invalid: spec.containers: Required value"#
        );
        let two = ApiError::Invalid {
            group: String::new(),
            kind: "Pod".into(),
            name: "x".into(),
            causes: vec![
                FieldError::invalid("metadata.name", "X", "bad"),
                FieldError::not_supported("spec.restartPolicy", "Sometimes", &["Always", "Never"]),
            ],
        };
        assert_eq!(
            two.to_string(),
            r#"Pod "x" is invalid: [metadata.name: Invalid value: "X": bad, spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never"]"#
        );
        let status = two.status();
        assert_eq!(status.code, 422);
        assert_eq!(status.reason, "Invalid");
        let causes = status.details.expect("details").causes;
        assert_eq!(causes[0].field, "metadata.name");
        assert_eq!(causes[0].reason, "FieldValueInvalid");
        assert_eq!(causes[0].message, r#"Invalid value: "X": bad"#);
    }

    #[test]
    fn storage_errors_map_to_the_right_codes() {
        let pods = GroupResource::new("", "pods");
        let cases = [
            (StorageError::NotFound { key: "k".into() }, 404),
            (StorageError::AlreadyExists { key: "k".into() }, 409),
            (
                StorageError::Conflict {
                    key: "k".into(),
                    expected: 1,
                    actual: 2,
                },
                409,
            ),
            (
                StorageError::Expired {
                    requested: 1,
                    compacted: 5,
                },
                410,
            ),
            (
                StorageError::FutureRevision {
                    requested: 9,
                    current: 5,
                },
                504,
            ),
            (StorageError::Unavailable("down".into()), 503),
            (StorageError::Internal("bug".into()), 500),
        ];
        for (err, code) in cases {
            assert_eq!(
                ApiError::from_storage(err, &pods, "x").code().as_u16(),
                code
            );
        }
    }
}
