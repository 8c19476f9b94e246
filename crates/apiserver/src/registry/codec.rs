//! Turning bytes into typed objects and back.
//!
//! Objects are stored as JSON without `resourceVersion` (the store's revision
//! is the version, so writing it into the value would be redundant and
//! wrong after the write) and with `apiVersion`/`kind` set. Reading sets
//! `resourceVersion` from the key's revision, as upstream's etcd3 store does.

use api_types::Resource;
use bytes::Bytes;
use storage::{KeyValue, Revision};

use crate::error::{ApiError, FieldError, Result};
use crate::registry::{FieldValidation, RequestScope, fieldvalidation};

/// Parses a request body as `K` under the request's `fieldValidation`:
/// unknown or duplicate fields are dropped (`Ignore`), dropped with one
/// warning each (`Warn`, the default) or rejected (`Strict`), as upstream's
/// strict JSON decoding does (see [`fieldvalidation`](super::fieldvalidation)).
/// Duplicate fields keep their last value.
///
/// # Errors
/// As [`decode_body`]; under `Strict`, 400 BadRequest listing the fields:
/// `Pod in version "v1" cannot be handled as a Pod: strict decoding error:
/// unknown field "spec.containers[0].imagee", duplicate field "metadata.name"`.
pub fn decode_body_checked<K: Resource>(body: &[u8], scope: &RequestScope) -> Result<K> {
    let (mut obj, strict): (K, Vec<String>) = match scope.field_validation {
        // Straight into the type; only a body with a duplicate struct field
        // (which serde refuses and upstream takes last-wins) needs the
        // detour through a JSON value.
        FieldValidation::Ignore => match serde_json::from_slice(body) {
            Ok(obj) => (obj, Vec::new()),
            Err(_) => {
                let (value, _) = fieldvalidation::parse_checked(body, None)
                    .map_err(|e| cannot_handle::<K>(&e.to_string()))?;
                (typed(value)?, Vec::new())
            }
        },
        // One pass finds the unknown and duplicate fields without building
        // anything, a second decodes straight into the type. Bodies that do
        // not decode that way (not JSON, a duplicate struct field, a wrong
        // type) take the slower path through a JSON value, which resolves
        // duplicates and words the error.
        FieldValidation::Warn | FieldValidation::Strict => {
            let schema = schema_of::<K>();
            let fast = fieldvalidation::check(body, schema.as_deref())
                .ok()
                .and_then(|strict| Some((serde_json::from_slice::<K>(body).ok()?, strict)));
            match fast {
                Some(decoded) => decoded,
                None => {
                    let (value, strict) = fieldvalidation::parse_checked(body, schema.as_deref())
                        .map_err(|e| cannot_handle::<K>(&e.to_string()))?;
                    (typed(value)?, strict)
                }
            }
        }
    };
    check_type_meta::<K>(obj.type_meta())?;
    report_strict::<K>(strict, scope)?;
    obj.set_type_meta();
    Ok(obj)
}

/// [`decode_body_checked`] for an object already parsed as JSON (a patch
/// result): unknown fields are handled the same way (a parsed value has no
/// duplicates left).
///
/// # Errors
/// As [`decode_body_checked`].
pub fn decode_value_checked<K: Resource>(
    value: serde_json::Value,
    scope: &RequestScope,
) -> Result<K> {
    let strict = match scope.field_validation {
        FieldValidation::Ignore => Vec::new(),
        FieldValidation::Warn | FieldValidation::Strict => {
            fieldvalidation::unknown_fields(&value, schema_of::<K>().as_deref())
        }
    };
    let obj: K = typed(value)?;
    check_type_meta::<K>(obj.type_meta())?;
    report_strict::<K>(strict, scope)?;
    Ok(obj)
}

/// The result of a JSON, merge or strategic merge patch, checked the way
/// upstream's patch handler checks it: like [`decode_value_checked`], but a
/// result that does not decode, or that has unknown fields under `Strict`,
/// is `422 Invalid` on the field `patch` with the patched object as the
/// value (` "" is invalid: patch: Invalid value: "{…}": strict decoding
/// error: unknown field "spec.foo"`; kubectl prints `The request is invalid:
/// …`).
///
/// # Errors
/// 422 Invalid as above; 400 for a wrong `apiVersion`/`kind`.
pub fn decode_patched_checked<K: Resource>(
    value: serde_json::Value,
    scope: &RequestScope,
) -> Result<K> {
    let strict = match scope.field_validation {
        FieldValidation::Ignore => Vec::new(),
        FieldValidation::Warn | FieldValidation::Strict => {
            fieldvalidation::unknown_fields(&value, schema_of::<K>().as_deref())
        }
    };
    let patch_invalid = |value: &serde_json::Value, why: String| ApiError::Invalid {
        group: String::new(),
        kind: String::new(),
        name: String::new(),
        causes: vec![FieldError::invalid("patch", &value.to_string(), why)],
    };
    let obj: K = match serde_json::from_value(value.clone()) {
        Ok(obj) => obj,
        Err(e) => return Err(patch_invalid(&value, e.to_string())),
    };
    check_type_meta::<K>(obj.type_meta())?;
    if scope.field_validation == FieldValidation::Strict && !strict.is_empty() {
        return Err(patch_invalid(
            &value,
            format!("strict decoding error: {}", strict.join(", ")),
        ));
    }
    report_strict::<K>(strict, scope)?;
    Ok(obj)
}

/// The OpenAPI schema name of `K`, which says which fields it has.
fn schema_of<K: Resource>() -> Option<String> {
    crate::openapi::schema_name(K::GROUP, K::VERSION, K::KIND)
}

fn typed<K: Resource>(value: serde_json::Value) -> Result<K> {
    serde_json::from_value(value).map_err(|e| cannot_handle::<K>(&e.to_string()))
}

/// Upstream's wording for a body that does not decode as `K`.
fn cannot_handle<K: Resource>(why: &str) -> ApiError {
    ApiError::BadRequest(format!(
        "{} in version \"{}\" cannot be handled as a {}: {why}",
        K::KIND,
        K::VERSION,
        K::KIND
    ))
}

/// Strict decoding errors: fatal under `Strict`, warnings under `Warn`.
fn report_strict<K: Resource>(strict: Vec<String>, scope: &RequestScope) -> Result<()> {
    if strict.is_empty() {
        return Ok(());
    }
    match scope.field_validation {
        FieldValidation::Strict => Err(cannot_handle::<K>(&format!(
            "strict decoding error: {}",
            strict.join(", ")
        ))),
        FieldValidation::Warn => {
            for w in strict {
                scope.warnings.add(w);
            }
            Ok(())
        }
        FieldValidation::Ignore => Ok(()),
    }
}

/// Parses a request body as `K`, checking `apiVersion` and `kind`.
///
/// # Errors
/// 400 BadRequest for malformed JSON, wrong types or a different kind.
pub fn decode_body<K: Resource>(body: &[u8]) -> Result<K> {
    let mut obj: K =
        serde_json::from_slice(body).map_err(|e| cannot_handle::<K>(&e.to_string()))?;
    check_type_meta::<K>(obj.type_meta())?;
    obj.set_type_meta();
    Ok(obj)
}

/// Checks `apiVersion`/`kind` as read from a body; empty is allowed and
/// filled in.
pub fn check_type_meta<K: Resource>((api_version, kind): (&str, &str)) -> Result<()> {
    if !api_version.is_empty() && api_version != K::API_VERSION {
        return Err(ApiError::BadRequest(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            K::API_VERSION
        )));
    }
    if !kind.is_empty() && kind != K::KIND {
        return Err(ApiError::BadRequest(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            K::KIND
        )));
    }
    Ok(())
}

/// Decodes a stored value, setting `resourceVersion` to its revision.
///
/// # Errors
/// 500 when the stored bytes are not a valid `K` (corruption or a bug).
pub fn decode_stored<K: Resource>(kv: &KeyValue) -> Result<K> {
    decode_stored_at(&kv.value, kv.mod_revision)
}

pub fn decode_stored_at<K: Resource>(value: &[u8], revision: Revision) -> Result<K> {
    let mut obj: K = serde_json::from_slice(value)
        .map_err(|e| ApiError::Internal(format!("stored {} is not decodable: {e}", K::KIND)))?;
    obj.metadata_mut().resource_version = revision.to_string();
    obj.set_type_meta();
    Ok(obj)
}

/// Serializes for storage: `apiVersion` and `kind` first, no
/// `resourceVersion` (the object is left as it was).
pub fn encode_for_storage<K: Resource>(obj: &mut K) -> Result<Bytes> {
    obj.set_type_meta();
    let rv = std::mem::take(&mut obj.metadata_mut().resource_version);
    let out = serde_json::to_vec(obj);
    obj.metadata_mut().resource_version = rv;
    out.map(Bytes::from)
        .map_err(|e| ApiError::Internal(format!("cannot encode {}: {e}", K::KIND)))
}

/// The stored JSON with `metadata.resourceVersion` set, built by splicing
/// bytes rather than parsing: responses and the watch cache need the stored
/// object plus its revision, and re-serializing every object costs more than
/// everything else on the write path.
///
/// Relies on [`encode_for_storage`]'s layout: `{"apiVersion":"..","kind":"..","metadata":{...`
/// with no `resourceVersion` inside. Returns `None` for bytes of another shape.
pub fn with_stored_revision(stored: &[u8], revision: Revision) -> Option<Bytes> {
    const PREFIX: &[u8] = b"{\"apiVersion\":\"";
    const METADATA: &[u8] = b"\"metadata\":{";
    if !stored.starts_with(PREFIX) {
        return None;
    }
    let at = memchr::memmem::find(stored, METADATA)? + METADATA.len();
    // Only apiVersion and kind (plain strings) may come before metadata.
    if stored[1..at - 1]
        .iter()
        .any(|b| matches!(b, b'{' | b'[' | b'\\'))
    {
        return None;
    }
    let rv = revision.to_string();
    let mut out = Vec::with_capacity(stored.len() + rv.len() + 24);
    out.extend_from_slice(&stored[..at]);
    out.extend_from_slice(b"\"resourceVersion\":\"");
    out.extend_from_slice(rv.as_bytes());
    out.push(b'"');
    if stored.get(at) != Some(&b'}') {
        out.push(b',');
    }
    out.extend_from_slice(&stored[at..]);
    Some(Bytes::from(out))
}

/// [`with_stored_revision`], falling back to decoding and re-encoding.
pub fn stored_to_response<K: Resource>(stored: &[u8], revision: Revision) -> Result<Bytes> {
    match with_stored_revision(stored, revision) {
        Some(b) => Ok(b),
        None => encode(&decode_stored_at::<K>(stored, revision)?),
    }
}

/// Serializes for a response.
pub fn encode<T: serde::Serialize>(obj: &T) -> Result<Bytes> {
    serde_json::to_vec(obj)
        .map(Bytes::from)
        .map_err(|e| ApiError::Internal(format!("cannot encode response: {e}")))
}

/// Parses a `resourceVersion` a client sent.
///
/// # Errors
/// 400 BadRequest when it is not a revision number.
pub fn parse_resource_version(rv: &str) -> Result<Revision> {
    rv.parse::<Revision>()
        .ok()
        .filter(|r| *r >= 0)
        .ok_or_else(|| ApiError::BadRequest(format!("invalid resource version \"{rv}\"")))
}

/// Re-renders stored JSON bytes with a different `resourceVersion` (used for
/// DELETED watch events, which carry the deletion's revision).
pub fn with_resource_version(json: &[u8], revision: Revision) -> Result<Bytes> {
    let mut value: serde_json::Value = serde_json::from_slice(json)
        .map_err(|e| ApiError::Internal(format!("cached object is not JSON: {e}")))?;
    if let Some(meta) = value.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        meta.insert(
            "resourceVersion".into(),
            serde_json::Value::String(revision.to_string()),
        );
    }
    encode(&value)
}

#[cfg(test)]
mod tests {
    use api_types::core::v1::ConfigMap;

    use super::*;

    #[test]
    fn splicing_the_revision_matches_a_real_encode() {
        let mut cm = ConfigMap::default();
        cm.metadata.name = "c".into();
        cm.metadata.labels.insert("a".into(), "b".into());
        cm.data = Some([("k".to_string(), "v".to_string())].into());
        let stored = encode_for_storage(&mut cm).expect("encodes");
        assert!(!String::from_utf8_lossy(&stored).contains("resourceVersion"));
        let spliced = with_stored_revision(&stored, 42).expect("our own layout");
        let parsed: ConfigMap = serde_json::from_slice(&spliced).expect("valid JSON");
        let decoded: ConfigMap = decode_stored_at(&stored, 42).expect("decodes");
        assert_eq!(parsed, decoded);
        assert_eq!(parsed.metadata.resource_version, "42");
        // empty metadata object
        let spliced = with_stored_revision(br#"{"apiVersion":"v1","kind":"X","metadata":{}}"#, 7)
            .expect("ok");
        assert_eq!(
            &spliced[..],
            br#"{"apiVersion":"v1","kind":"X","metadata":{"resourceVersion":"7"}}"#
        );
        // other shapes are refused, not mangled
        assert!(with_stored_revision(br#"{"kind":"X","metadata":{}}"#, 1).is_none());
        assert!(
            with_stored_revision(br#"{"apiVersion":"v1","data":{"metadata":{}}}"#, 1).is_none()
        );
    }

    fn scope(mode: FieldValidation) -> RequestScope {
        RequestScope {
            field_validation: mode,
            ..RequestScope::default()
        }
    }

    const TYPO: &[u8] = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","name":"c"},"dta":{"k":"v"},"data":{"k":"v"}}"#;

    #[test]
    fn strict_rejects_unknown_and_duplicate_fields_with_upstreams_words() {
        let err = decode_body_checked::<ConfigMap>(TYPO, &scope(FieldValidation::Strict))
            .expect_err("strict refuses");
        assert!(matches!(&err, ApiError::BadRequest(_)), "{err:?}");
        let ApiError::BadRequest(message) = err else {
            return;
        };
        assert_eq!(
            message,
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: \
             strict decoding error: duplicate field \"metadata.name\", unknown field \"dta\""
        );
    }

    #[test]
    fn warn_and_ignore_accept_and_differ_only_in_what_they_say() {
        for (mode, said) in [
            (
                FieldValidation::Warn,
                vec![
                    r#"duplicate field "metadata.name""#.to_string(),
                    r#"unknown field "dta""#.to_string(),
                ],
            ),
            (FieldValidation::Ignore, vec![]),
        ] {
            let s = scope(mode);
            let cm: ConfigMap = decode_body_checked(TYPO, &s).expect("accepted");
            assert_eq!(cm.metadata.name, "c", "last duplicate wins");
            assert_eq!(cm.data, Some([("k".to_string(), "v".to_string())].into()));
            assert_eq!(s.warnings.take(), said, "{mode:?}");
        }
    }

    #[test]
    fn patch_results_are_checked_for_unknown_fields() {
        let value = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "labelz": {"x": "y"}}});
        let err = decode_value_checked::<ConfigMap>(value.clone(), &scope(FieldValidation::Strict))
            .expect_err("strict refuses");
        assert!(
            err.to_string()
                .contains(r#"strict decoding error: unknown field "metadata.labelz""#),
            "{err}"
        );
        let s = scope(FieldValidation::Warn);
        let cm: ConfigMap = decode_value_checked(value, &s).expect("accepted");
        assert_eq!(cm.metadata.name, "a");
        assert_eq!(
            s.warnings.take(),
            vec![r#"unknown field "metadata.labelz""#.to_string()]
        );
    }

    #[test]
    fn type_errors_win_over_strict_errors() {
        let body = br#"{"kind":"ConfigMap","metadata":{"name":1},"x":1}"#;
        let err = decode_body_checked::<ConfigMap>(body, &scope(FieldValidation::Strict))
            .expect_err("bad type");
        assert!(!err.to_string().contains("strict decoding"), "{err}");
        let err = decode_body_checked::<ConfigMap>(b"{", &scope(FieldValidation::Ignore))
            .expect_err("not JSON");
        assert!(
            err.to_string().contains("cannot be handled as a ConfigMap"),
            "{err}"
        );
    }

    #[test]
    fn patch_results_fail_like_upstreams_patch_handler() {
        let value = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a"}, "spec": {"x": 1}});
        let err =
            decode_patched_checked::<ConfigMap>(value.clone(), &scope(FieldValidation::Strict))
                .expect_err("strict refuses");
        assert_eq!(
            err.to_string(),
            format!(
                " \"\" is invalid: patch: Invalid value: {:?}: strict decoding error: unknown field \"spec\"",
                value.to_string()
            )
        );
        let s = scope(FieldValidation::Warn);
        let _: ConfigMap = decode_patched_checked(value, &s).expect("accepted");
        assert_eq!(
            s.warnings.take(),
            vec![r#"unknown field "spec""#.to_string()]
        );
        let bad = serde_json::json!({"metadata": {"name": 1}});
        let err = decode_patched_checked::<ConfigMap>(bad, &scope(FieldValidation::Ignore))
            .expect_err("type error");
        assert!(matches!(err, ApiError::Invalid { .. }), "{err:?}");
    }
}
