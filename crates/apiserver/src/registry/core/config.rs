//! ConfigMaps and Secrets: configuration handed to pods as files or
//! environment variables (`pkg/registry/core/{configmap,secret}` and
//! `ValidateConfigMap`/`ValidateSecret` upstream).
//!
//! Both hold at most 1 MiB (they live in etcd and in every kubelet's
//! memory), keys must be usable as file names, and an object marked
//! `immutable: true` can no longer change its contents, which lets kubelets
//! stop watching it.

use std::collections::BTreeMap;

use api_types::core::v1::{ConfigMap, Secret};

use crate::error::FieldError;
use crate::registry::strategy::{FieldSet, Strategy};

pub struct ConfigMapStrategy;
pub struct SecretStrategy;

/// `core.MaxSecretSize`, also the ConfigMap limit.
pub const MAX_SIZE: usize = 1024 * 1024;
const MAX_KEY_LEN: usize = 253;
const IMMUTABLE_SET: &str = "field is immutable when `immutable` is set";
const REDACTED: &str = "<secret contents redacted>";

/// `validation.IsConfigMapKey`: keys become file names in volumes.
pub fn config_key_errors(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if key.len() > MAX_KEY_LEN {
        errs.push(format!("must be no more than {MAX_KEY_LEN} characters"));
    }
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        errs.push(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  \
             or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
                .into(),
        );
    }
    match key {
        "." => errs.push("must not be '.'".into()),
        ".." => errs.push("must not be '..'".into()),
        k if k.starts_with("..") => errs.push("must not start with '..'".into()),
        _ => {}
    }
    errs
}

fn check_keys<'a>(field: &str, keys: impl Iterator<Item = &'a String>, errs: &mut Vec<FieldError>) {
    for key in keys {
        for msg in config_key_errors(key) {
            errs.push(FieldError::invalid(format!("{field}[{key}]"), key, msg));
        }
    }
}

/// The rules of `immutable: true` for the fields that carry contents.
fn immutable_rules(
    old_immutable: Option<bool>,
    new_immutable: Option<bool>,
    changed: &[(&str, bool)],
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if old_immutable != Some(true) {
        return errs;
    }
    if new_immutable != Some(true) {
        errs.push(FieldError::forbidden("immutable", IMMUTABLE_SET));
    }
    for (field, differs) in changed {
        if *differs {
            errs.push(FieldError::forbidden(*field, IMMUTABLE_SET));
        }
    }
    errs
}

impl Strategy<ConfigMap> for ConfigMapStrategy {
    /// Kubelets watch each ConfigMap their pods use by name (upstream's
    /// `NameTriggerFunc`).
    fn watch_index(&self) -> Option<&'static str> {
        Some("metadata.name")
    }

    fn validate(&self, cm: &ConfigMap) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let binary = cm.binary_data.as_ref();
        let mut total = 0;
        for (key, value) in cm.data.iter().flatten() {
            check_keys("data", std::iter::once(key), &mut errs);
            if binary.is_some_and(|b| b.contains_key(key)) {
                errs.push(FieldError::invalid(
                    format!("data[{key}]"),
                    key,
                    "duplicate of key present in binaryData",
                ));
            }
            total += value.len();
        }
        check_keys(
            "binaryData",
            binary.into_iter().flat_map(BTreeMap::keys),
            &mut errs,
        );
        total += binary
            .into_iter()
            .flatten()
            .map(|(_, v)| v.0.len())
            .sum::<usize>();
        if total > MAX_SIZE {
            // Upstream reports this against the whole object: an empty path.
            errs.push(FieldError::too_long("", MAX_SIZE));
        }
        errs
    }

    fn validate_update(&self, new: &ConfigMap, old: &ConfigMap) -> Vec<FieldError> {
        let mut errs = immutable_rules(
            old.immutable,
            new.immutable,
            &[
                ("data", new.data != old.data),
                ("binaryData", new.binary_data != old.binary_data),
            ],
        );
        errs.extend(self.validate(new));
        errs
    }
}

/// Secret types whose contents the apiserver checks, and their keys.
pub const SECRET_TYPE_OPAQUE: &str = "Opaque";
pub const SECRET_TYPE_SA_TOKEN: &str = "kubernetes.io/service-account-token";
pub const SECRET_TYPE_TLS: &str = "kubernetes.io/tls";
const SA_NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";

/// A key that must hold a JSON object (docker registry credentials).
fn json_object(
    data: &BTreeMap<String, api_types::core::v1::ByteString>,
    key: &str,
) -> Vec<FieldError> {
    let path = format!("data[{key}]");
    match data.get(key) {
        None => vec![FieldError::required(path, "")],
        Some(bytes) => {
            match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&bytes.0) {
                Ok(_) => Vec::new(),
                Err(e) => vec![FieldError::invalid(path, REDACTED, e.to_string())],
            }
        }
    }
}

fn validate_secret_type(secret: &Secret, errs: &mut Vec<FieldError>) {
    let empty = BTreeMap::new();
    let data = secret.data.as_ref().unwrap_or(&empty);
    let required = |key: &str| FieldError::required(format!("data[{key}]"), "");
    match secret.type_.as_deref().unwrap_or_default() {
        SECRET_TYPE_SA_TOKEN => {
            // The token itself is filled in later by a controller.
            let name = secret.metadata.annotations.get(SA_NAME_ANNOTATION);
            if name.is_none_or(|n| n.is_empty()) {
                errs.push(FieldError::required(
                    format!("metadata.annotations[{SA_NAME_ANNOTATION}]"),
                    "",
                ));
            }
        }
        "kubernetes.io/dockercfg" => errs.extend(json_object(data, ".dockercfg")),
        "kubernetes.io/dockerconfigjson" => errs.extend(json_object(data, ".dockerconfigjson")),
        // Either may be empty, but one of them must be present.
        "kubernetes.io/basic-auth"
            if !data.contains_key("username") && !data.contains_key("password") =>
        {
            errs.push(required("username"));
            errs.push(required("password"));
        }
        "kubernetes.io/ssh-auth" if data.get("ssh-privatekey").is_none_or(|v| v.0.is_empty()) => {
            errs.push(required("ssh-privatekey"));
        }
        SECRET_TYPE_TLS => {
            for key in ["tls.crt", "tls.key"] {
                if !data.contains_key(key) {
                    errs.push(required(key));
                }
            }
        }
        _ => {}
    }
}

impl Strategy<Secret> for SecretStrategy {
    /// Kubelets watch each Secret their pods use by name.
    fn watch_index(&self) -> Option<&'static str> {
        Some("metadata.name")
    }

    /// `type` defaults to `Opaque`; `stringData` is a write-only
    /// convenience merged into `data` (winning over it) and never stored,
    /// as upstream's conversion does.
    fn default(&self, secret: &mut Secret) {
        if secret.type_.as_deref().unwrap_or_default().is_empty() {
            secret.type_ = Some(SECRET_TYPE_OPAQUE.into());
        }
        if let Some(strings) = secret.string_data.take().filter(|s| !s.is_empty()) {
            let data = secret.data.get_or_insert_with(BTreeMap::new);
            for (k, v) in strings {
                data.insert(k, v.as_str().into());
            }
        }
    }

    fn validate(&self, secret: &Secret) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let data = secret.data.as_ref();
        check_keys("data", data.into_iter().flat_map(BTreeMap::keys), &mut errs);
        let total: usize = data.into_iter().flatten().map(|(_, v)| v.0.len()).sum();
        if total > MAX_SIZE {
            errs.push(FieldError::too_long("data", MAX_SIZE));
        }
        validate_secret_type(secret, &mut errs);
        errs
    }

    fn validate_update(&self, new: &Secret, old: &Secret) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if new.type_ != old.type_ {
            errs.push(FieldError::invalid(
                "type",
                new.type_.as_deref().unwrap_or_default(),
                "field is immutable",
            ));
        }
        // stringData was merged into data already, so data covers both.
        errs.extend(immutable_rules(
            old.immutable,
            new.immutable,
            &[("data", new.data != old.data)],
        ));
        errs.extend(self.validate(new));
        errs
    }

    fn fields(&self, secret: &Secret) -> FieldSet {
        vec![("type", secret.type_.clone().unwrap_or_default())]
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["type"]
    }
}

#[cfg(test)]
mod tests {
    use api_types::core::v1::ByteString;

    use super::*;

    fn texts(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    fn cm(data: &[(&str, &str)], binary: &[(&str, &[u8])]) -> ConfigMap {
        ConfigMap {
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            binary_data: (!binary.is_empty()).then(|| {
                binary
                    .iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.to_vec())))
                    .collect()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn config_keys() {
        assert!(config_key_errors("app.properties").is_empty());
        assert!(config_key_errors("KEY_NAME-1").is_empty());
        assert_eq!(config_key_errors("..data"), ["must not start with '..'"]);
        let errs = texts(&ConfigMapStrategy.validate(&cm(&[("bad key", "v")], &[])));
        assert_eq!(
            errs,
            [
                r#"data[bad key]: Invalid value: "bad key": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"#
            ]
        );
    }

    #[test]
    fn a_key_lives_in_data_or_binary_data_not_both() {
        let errs = texts(&ConfigMapStrategy.validate(&cm(&[("k", "v")], &[("k", b"\x00")])));
        assert_eq!(
            errs,
            [r#"data[k]: Invalid value: "k": duplicate of key present in binaryData"#]
        );
    }

    #[test]
    fn size_is_limited_to_one_mebibyte() {
        let big = "x".repeat(MAX_SIZE);
        assert!(
            ConfigMapStrategy
                .validate(&cm(&[("a", &big)], &[]))
                .is_empty()
        );
        let errs = texts(&ConfigMapStrategy.validate(&cm(&[("a", &big)], &[("b", b"y")])));
        assert_eq!(errs, [": Too long: must have at most 1048576 bytes"]);
        let secret = Secret {
            data: Some([("a".to_string(), ByteString(vec![0; MAX_SIZE + 1]))].into()),
            ..Default::default()
        };
        assert_eq!(
            texts(&SecretStrategy.validate(&secret)),
            ["data: Too long: must have at most 1048576 bytes"]
        );
    }

    #[test]
    fn immutable_config_maps_stay_as_they_are() {
        let mut old = cm(&[("k", "v")], &[]);
        old.immutable = Some(true);
        let mut new = cm(&[("k", "v2")], &[("b", b"1")]);
        new.immutable = None;
        assert_eq!(
            texts(&ConfigMapStrategy.validate_update(&new, &old)),
            [
                "immutable: Forbidden: field is immutable when `immutable` is set",
                "data: Forbidden: field is immutable when `immutable` is set",
                "binaryData: Forbidden: field is immutable when `immutable` is set",
            ]
        );
        let mut same = old.clone();
        same.metadata.labels.insert("tier".into(), "x".into());
        assert!(ConfigMapStrategy.validate_update(&same, &old).is_empty());
        // A mutable one may become immutable.
        let mut was_mutable = cm(&[("k", "v")], &[]);
        was_mutable.immutable = Some(false);
        assert!(
            ConfigMapStrategy
                .validate_update(&old, &was_mutable)
                .is_empty()
        );
    }

    fn secret(type_: Option<&str>, data: &[(&str, &str)], strings: &[(&str, &str)]) -> Secret {
        Secret {
            type_: type_.map(str::to_string),
            data: (!data.is_empty()).then(|| {
                data.iter()
                    .map(|(k, v)| (k.to_string(), (*v).into()))
                    .collect()
            }),
            string_data: (!strings.is_empty()).then(|| {
                strings
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn secrets_default_to_opaque_and_fold_string_data_into_data() {
        let mut s = secret(
            None,
            &[("user", "old"), ("keep", "k")],
            &[("user", "admin")],
        );
        SecretStrategy.default(&mut s);
        assert_eq!(s.type_.as_deref(), Some("Opaque"));
        assert_eq!(s.string_data, None);
        let data = s.data.as_ref().expect("data");
        assert_eq!(data["user"].0, b"admin");
        assert_eq!(data["keep"].0, b"k");
        assert!(SecretStrategy.validate(&s).is_empty());
        assert_eq!(SecretStrategy.fields(&s), [("type", "Opaque".to_string())]);
    }

    #[test]
    fn typed_secrets_need_their_keys() {
        let tls = secret(Some(SECRET_TYPE_TLS), &[("tls.crt", "c")], &[]);
        assert_eq!(
            texts(&SecretStrategy.validate(&tls)),
            ["data[tls.key]: Required value"]
        );
        let sa = secret(Some(SECRET_TYPE_SA_TOKEN), &[], &[]);
        assert_eq!(
            texts(&SecretStrategy.validate(&sa)),
            ["metadata.annotations[kubernetes.io/service-account.name]: Required value"]
        );
        let docker = secret(
            Some("kubernetes.io/dockerconfigjson"),
            &[(".dockerconfigjson", "[]")],
            &[],
        );
        let errs = texts(&SecretStrategy.validate(&docker));
        assert!(
            errs[0].starts_with(
                r#"data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": "#
            ),
            "{errs:?}"
        );
        let basic = secret(Some("kubernetes.io/basic-auth"), &[], &[]);
        assert_eq!(
            texts(&SecretStrategy.validate(&basic)),
            [
                "data[username]: Required value",
                "data[password]: Required value"
            ]
        );
    }

    #[test]
    fn secret_type_is_immutable_and_immutable_secrets_keep_data() {
        let mut old = secret(Some("Opaque"), &[("a", "1")], &[]);
        let new = secret(Some("example.com/custom"), &[("a", "1")], &[]);
        assert_eq!(
            texts(&SecretStrategy.validate_update(&new, &old)),
            [r#"type: Invalid value: "example.com/custom": field is immutable"#]
        );
        old.immutable = Some(true);
        let mut new = secret(None, &[("a", "1")], &[("a", "2")]);
        new.immutable = Some(true);
        SecretStrategy.default(&mut new);
        assert_eq!(
            texts(&SecretStrategy.validate_update(&new, &old)),
            ["data: Forbidden: field is immutable when `immutable` is set"]
        );
    }
}
