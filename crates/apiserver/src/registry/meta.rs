//! What the store does to every object's metadata, whatever its kind
//! (`rest.BeforeCreate`, `rest.BeforeUpdate` and `ValidateObjectMeta`
//! upstream).

use api_types::Resource;
use api_types::labels::{is_qualified_name, is_valid_label_value};
use api_types::meta::v1::{ObjectMeta, Time};
use rand::Rng;

use super::validation::{NameRule, path_segment};
use crate::error::{ApiError, FieldError};

/// Annotations may not exceed this many bytes in total.
const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// The characters `generateName` suffixes use: no vowels (so no words) and no
/// look-alikes (0/o, 1/l), as upstream.
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// A random 5-character suffix for `generateName`.
pub fn random_suffix() -> String {
    let mut rng = rand::rng();
    (0..5)
        .map(|_| char::from(SUFFIX_ALPHABET[rng.random_range(0..SUFFIX_ALPHABET.len())]))
        .collect()
}

/// Sets the fields the server owns on create: namespace from the URL, a
/// generated name, uid, creationTimestamp, generation; clears what a client
/// may not set.
///
/// # Errors
/// 400 when the body names another namespace than the URL, or sets
/// `resourceVersion`.
pub fn before_create<K: Resource>(
    obj: &mut K,
    url_namespace: Option<&str>,
    tracks_generation: bool,
) -> Result<(), ApiError> {
    let meta = obj.metadata_mut();
    if K::NAMESPACED {
        let ns = url_namespace.unwrap_or_default();
        if !meta.namespace.is_empty() && meta.namespace != ns {
            return Err(ApiError::BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request".into(),
            ));
        }
        meta.namespace = ns.to_string();
    } else {
        meta.namespace.clear();
    }
    if !meta.resource_version.is_empty() {
        return Err(ApiError::BadRequest(
            "resourceVersion should not be set on objects to be created".into(),
        ));
    }
    if meta.name.is_empty() && !meta.generate_name.is_empty() {
        meta.name = format!("{}{}", meta.generate_name, random_suffix());
    }
    meta.uid = uuid::Uuid::new_v4().to_string();
    meta.creation_timestamp = Some(Time::now());
    meta.deletion_timestamp = None;
    meta.deletion_grace_period_seconds = None;
    meta.self_link.clear();
    meta.generation = tracks_generation.then_some(1);
    Ok(())
}

/// Carries over what an update may not change and bumps `generation` when
/// the spec changed.
pub fn before_update<K: Resource>(
    new: &mut K,
    old: &K,
    spec_changed: bool,
    tracks_generation: bool,
) {
    let old = old.metadata();
    let meta = new.metadata_mut();
    // A UID sent by the client stays, for validation to refuse if it is not
    // the stored one: that makes it a precondition ("this very object, not
    // a namesake"), which controllers put in their patches.
    if meta.uid.is_empty() {
        meta.uid = old.uid.clone();
    }
    meta.creation_timestamp = old.creation_timestamp;
    meta.namespace = old.namespace.clone();
    meta.generate_name = old.generate_name.clone();
    meta.self_link.clear();
    // Deletion, once started, is the server's business.
    meta.deletion_timestamp = old.deletion_timestamp;
    meta.deletion_grace_period_seconds = old.deletion_grace_period_seconds;
    meta.generation = if tracks_generation {
        let g = old.generation.unwrap_or(1);
        Some(if spec_changed { g + 1 } else { g })
    } else {
        old.generation
    };
}

/// Validates the metadata every kind shares.
pub fn validate_object_meta(
    meta: &ObjectMeta,
    namespaced: bool,
    rule: NameRule,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if meta.name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        for msg in rule
            .check(&meta.name)
            .into_iter()
            .chain(path_segment(&meta.name))
        {
            errs.push(FieldError::invalid("metadata.name", &meta.name, msg));
        }
    }
    if !meta.generate_name.is_empty() {
        for msg in rule.check_prefix(&meta.generate_name) {
            errs.push(FieldError::invalid(
                "metadata.generateName",
                &meta.generate_name,
                msg,
            ));
        }
    }
    if namespaced {
        if meta.namespace.is_empty() {
            errs.push(FieldError::required("metadata.namespace", ""));
        } else {
            for msg in NameRule::Dns1123Label.check(&meta.namespace) {
                errs.push(FieldError::invalid(
                    "metadata.namespace",
                    &meta.namespace,
                    msg,
                ));
            }
        }
    } else if !meta.namespace.is_empty() {
        errs.push(FieldError::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        ));
    }
    for (k, v) in &meta.labels {
        for msg in is_qualified_name(k) {
            errs.push(FieldError::invalid("metadata.labels", k, msg));
        }
        for msg in is_valid_label_value(v) {
            errs.push(FieldError::invalid("metadata.labels", v, msg));
        }
    }
    let mut total = 0;
    for (k, v) in &meta.annotations {
        for msg in is_qualified_name(&k.to_ascii_lowercase()) {
            errs.push(FieldError::invalid("metadata.annotations", k, msg));
        }
        total += k.len() + v.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(
            "metadata.annotations",
            TOTAL_ANNOTATION_SIZE_LIMIT,
        ));
    }
    for (i, f) in meta.finalizers.iter().enumerate() {
        for msg in is_qualified_name(f) {
            errs.push(FieldError::invalid(
                format!("metadata.finalizers[{i}]"),
                f,
                msg,
            ));
        }
    }
    for (i, r) in meta.owner_references.iter().enumerate() {
        let path = format!("metadata.ownerReferences[{i}]");
        for (field, value) in [
            ("apiVersion", &r.api_version),
            ("kind", &r.kind),
            ("name", &r.name),
            ("uid", &r.uid),
        ] {
            if value.is_empty() {
                errs.push(FieldError::invalid(
                    format!("{path}.{field}"),
                    value,
                    format!("{field} must not be empty"),
                ));
            }
        }
    }
    if meta.generation.is_some_and(|g| g < 0) {
        errs.push(FieldError::invalid_raw(
            "metadata.generation",
            meta.generation.unwrap_or_default(),
            "must be greater than or equal to 0",
        ));
    }
    errs
}

/// Validates that an update did not change identity fields.
pub fn validate_object_meta_update(new: &ObjectMeta, old: &ObjectMeta) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if new.name != old.name {
        errs.push(FieldError::invalid(
            "metadata.name",
            &new.name,
            "field is immutable",
        ));
    }
    if new.uid != old.uid {
        errs.push(FieldError::invalid(
            "metadata.uid",
            &new.uid,
            "field is immutable",
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_types::core::v1::ConfigMap;

    #[test]
    fn generate_name_gets_five_safe_characters() {
        let mut cm = ConfigMap::default();
        cm.metadata.generate_name = "cfg-".into();
        before_create(&mut cm, Some("default"), false).expect("ok");
        let suffix = cm.metadata.name.strip_prefix("cfg-").expect("prefix kept");
        assert_eq!(suffix.len(), 5);
        assert!(suffix.bytes().all(|c| SUFFIX_ALPHABET.contains(&c)));
        assert!(!cm.metadata.uid.is_empty());
        assert!(cm.metadata.creation_timestamp.is_some());
    }

    #[test]
    fn namespace_must_match_the_url() {
        let mut cm = ConfigMap::default();
        cm.metadata.name = "a".into();
        cm.metadata.namespace = "other".into();
        let err = before_create(&mut cm, Some("default"), false).expect_err("mismatch");
        assert_eq!(err.code(), http::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn bad_labels_and_names_are_reported_with_paths() {
        let mut meta = ObjectMeta {
            name: "Bad_Name".into(),
            namespace: "default".into(),
            ..Default::default()
        };
        meta.labels.insert("app".into(), "not valid!".into());
        meta.labels.insert("-bad-key".into(), "v".into());
        let errs = validate_object_meta(&meta, true, NameRule::Dns1123Subdomain);
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["metadata.name", "metadata.labels", "metadata.labels"]
        );
        assert!(errs[0].to_string().starts_with(
            r#"metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain"#
        ));
    }

    #[test]
    fn generation_bumps_only_on_spec_change() {
        let mut old = ConfigMap::default();
        old.metadata.generation = Some(3);
        old.metadata.uid = "u1".into();
        let mut new = ConfigMap::default();
        before_update(&mut new, &old, false, true);
        assert_eq!(new.metadata.generation, Some(3));
        assert_eq!(new.metadata.uid, "u1");
        before_update(&mut new, &old, true, true);
        assert_eq!(new.metadata.generation, Some(4));
    }

    #[test]
    fn a_different_uid_is_refused_as_immutable() {
        let mut old = ConfigMap::default();
        old.metadata.name = "a".into();
        old.metadata.uid = "u1".into();
        let mut new = old.clone();
        new.metadata.uid = "u2".into();
        before_update(&mut new, &old, false, false);
        let errs = validate_object_meta_update(&new.metadata, &old.metadata);
        assert_eq!(
            errs[0].to_string(),
            r#"metadata.uid: Invalid value: "u2": field is immutable"#
        );
        new.metadata.uid = "u1".into();
        assert!(validate_object_meta_update(&new.metadata, &old.metadata).is_empty());
    }
}
