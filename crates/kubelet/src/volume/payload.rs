//! What files a configMap, secret or projected volume should contain: pure
//! functions from the pod's volume source and the objects it names to a
//! [`Payload`] (upstream's `MakePayload` in `pkg/volume/configmap` and
//! `pkg/volume/secret`, and `collectData` in `pkg/volume/projected`).
//!
//! # Optional sources
//! A missing ConfigMap or Secret fails the volume (and so keeps the pod from
//! starting) unless the source says `optional: true`; then it counts as an
//! empty object. With `items`, a listed key the object lacks fails the volume
//! the same way unless optional, in which case that file is just left out.

use api_types::core::v1::{KeyToPath, Pod, ProjectedVolumeSource, VolumeProjection};

use super::atomic_writer::{FileProjection, Payload};
use super::{VolumeError, VolumeSources, downward_api, mode_bits};

/// Mode of files that neither the item nor the volume sets (upstream's
/// defaulting makes it explicit as 420; older clients may leave it out).
pub const DEFAULT_MODE: u32 = 0o644;

/// Looks a ConfigMap or Secret up; `None` with `optional` means "empty".
fn source<'a, T>(
    objects: &'a std::collections::BTreeMap<String, T>,
    name: &str,
    optional: bool,
    not_found: fn(String) -> VolumeError,
) -> Result<Option<&'a T>, VolumeError> {
    match objects.get(name) {
        Some(o) => Ok(Some(o)),
        None if optional => Ok(None),
        None => Err(not_found(name.to_string())),
    }
}

/// Files of a ConfigMap: all keys of `data` and `binaryData` when `items`
/// is empty, else only the listed keys at their paths.
pub fn config_map_payload(
    sources: &VolumeSources,
    name: &str,
    items: Option<&[KeyToPath]>,
    default_mode: u32,
    optional: bool,
) -> Result<Payload, VolumeError> {
    let cm = source(
        sources.config_maps,
        name,
        optional,
        VolumeError::ConfigMapNotFound,
    )?;
    let text = cm.and_then(|cm| cm.data.as_ref());
    let binary = cm.and_then(|cm| cm.binary_data.as_ref());
    let lookup = |key: &str| -> Option<Vec<u8>> {
        text.and_then(|d| d.get(key))
            .map(|s| s.as_bytes().to_vec())
            .or_else(|| binary.and_then(|b| b.get(key)).map(|b| b.0.clone()))
    };
    let all_keys = text
        .into_iter()
        .flat_map(|d| d.keys())
        .chain(binary.into_iter().flat_map(|b| b.keys()));
    project(
        all_keys,
        items,
        default_mode,
        optional,
        lookup,
        VolumeError::ConfigMapKeyMissing,
    )
}

/// Files of a Secret; values are the decoded bytes of `data`
/// (`stringData` is write-only and never reaches a kubelet).
pub fn secret_payload(
    sources: &VolumeSources,
    name: &str,
    items: Option<&[KeyToPath]>,
    default_mode: u32,
    optional: bool,
) -> Result<Payload, VolumeError> {
    let data = source(sources.secrets, name, optional, VolumeError::SecretNotFound)?
        .and_then(|s| s.data.as_ref());
    let lookup = |key: &str| data.and_then(|d| d.get(key)).map(|b| b.0.clone());
    project(
        data.into_iter().flat_map(|d| d.keys()),
        items,
        default_mode,
        optional,
        lookup,
        VolumeError::SecretKeyMissing,
    )
}

/// The shared logic of ConfigMap and Secret payloads.
fn project<'k>(
    all_keys: impl Iterator<Item = &'k String>,
    items: Option<&[KeyToPath]>,
    default_mode: u32,
    optional: bool,
    lookup: impl Fn(&str) -> Option<Vec<u8>>,
    missing: fn(String) -> VolumeError,
) -> Result<Payload, VolumeError> {
    let mut payload = Payload::new();
    match items {
        None | Some([]) => {
            for key in all_keys {
                if let Some(data) = lookup(key) {
                    let mode = default_mode;
                    payload.insert(key.clone(), FileProjection { data, mode });
                }
            }
        }
        Some(items) => {
            for item in items {
                let Some(data) = lookup(&item.key) else {
                    if optional {
                        continue;
                    }
                    return Err(missing(item.key.clone()));
                };
                let mode = mode_bits(item.mode, default_mode);
                payload.insert(item.path.clone(), FileProjection { data, mode });
            }
        }
    }
    Ok(payload)
}

/// Files of a projected volume: the union of its sources, later sources
/// winning on the same path. Each source is tried and the failures are
/// aggregated. Service account tokens are not minted by this kubelet yet:
/// such a source is skipped with a warning.
pub fn projected_payload(
    pod: &Pod,
    source: &ProjectedVolumeSource,
    sources: &VolumeSources,
    allocatable: Option<&std::collections::BTreeMap<String, api_types::quantity::Quantity>>,
) -> Result<Payload, VolumeError> {
    let default_mode = mode_bits(source.default_mode, DEFAULT_MODE);
    let mut payload = Payload::new();
    let mut errors = Vec::new();
    for projection in source.sources.iter().flatten() {
        match projection_payload(pod, projection, sources, default_mode, allocatable) {
            Ok(files) => payload.extend(files),
            Err(e) => errors.push(e),
        }
    }
    VolumeError::aggregate(errors).map(|()| payload)
}

fn projection_payload(
    pod: &Pod,
    projection: &VolumeProjection,
    sources: &VolumeSources,
    default_mode: u32,
    allocatable: Option<&std::collections::BTreeMap<String, api_types::quantity::Quantity>>,
) -> Result<Payload, VolumeError> {
    if let Some(cm) = &projection.config_map {
        config_map_payload(
            sources,
            &cm.name,
            cm.items.as_deref(),
            default_mode,
            cm.optional.unwrap_or(false),
        )
    } else if let Some(s) = &projection.secret {
        secret_payload(
            sources,
            &s.name,
            s.items.as_deref(),
            default_mode,
            s.optional.unwrap_or(false),
        )
    } else if let Some(d) = &projection.downward_api {
        let items = d.items.as_deref().unwrap_or_default();
        downward_api::payload(items, pod, default_mode, allocatable)
    } else {
        if let Some(token) = &projection.service_account_token {
            tracing::warn!(
                pod = %pod.metadata.key(),
                path = %token.path,
                "serviceAccountToken projections are not supported yet; skipping",
            );
        }
        Ok(Payload::new())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use api_types::core::v1::{
        ByteString, ConfigMap, ConfigMapProjection, Secret, SecretProjection,
    };

    use super::*;

    fn item(key: &str, path: &str, mode: Option<i32>) -> KeyToPath {
        KeyToPath {
            key: key.into(),
            path: path.into(),
            mode,
        }
    }

    fn objects() -> (BTreeMap<String, ConfigMap>, BTreeMap<String, Secret>) {
        let cm = ConfigMap {
            data: Some([("a".to_string(), "1".to_string())].into_iter().collect()),
            binary_data: Some(
                [("bin".to_string(), ByteString(vec![0, 255]))]
                    .into_iter()
                    .collect(),
            ),
            ..Default::default()
        };
        let s = Secret {
            data: Some(
                [("pw".to_string(), ByteString::from("s3cr3t"))]
                    .into_iter()
                    .collect(),
            ),
            ..Default::default()
        };
        (
            [("cm".to_string(), cm)].into_iter().collect(),
            [("s".to_string(), s)].into_iter().collect(),
        )
    }

    #[test]
    fn config_map_all_keys_text_and_binary() {
        let (cms, secrets) = objects();
        let src = VolumeSources {
            config_maps: &cms,
            secrets: &secrets,
        };
        let p = config_map_payload(&src, "cm", None, 0o644, false).expect("payload");
        assert_eq!(p["a"].data, b"1");
        assert_eq!(p["bin"].data, vec![0, 255]);
        assert!(p.values().all(|f| f.mode == 0o644));
    }

    #[test]
    fn items_select_rename_and_set_modes() {
        let (cms, secrets) = objects();
        let src = VolumeSources {
            config_maps: &cms,
            secrets: &secrets,
        };
        let items = [
            item("a", "dir/renamed", Some(0o600)),
            item("bin", "b", None),
        ];
        let p = config_map_payload(&src, "cm", Some(&items), 0o640, false).expect("payload");
        assert_eq!(p.keys().collect::<Vec<_>>(), vec!["b", "dir/renamed"]);
        assert_eq!(p["dir/renamed"].mode, 0o600);
        assert_eq!(p["b"].mode, 0o640);
    }

    #[test]
    fn missing_objects_and_keys() {
        let (cms, secrets) = objects();
        let src = VolumeSources {
            config_maps: &cms,
            secrets: &secrets,
        };
        let err = config_map_payload(&src, "nope", None, 0o644, false).expect_err("missing");
        assert_eq!(err.to_string(), "configmap \"nope\" not found");
        let err = secret_payload(&src, "nope", None, 0o644, false).expect_err("missing");
        assert_eq!(err.to_string(), "secret \"nope\" not found");
        assert!(
            config_map_payload(&src, "nope", None, 0o644, true)
                .expect("optional")
                .is_empty()
        );

        let items = [item("k", "k", None)];
        let err = config_map_payload(&src, "cm", Some(&items), 0o644, false).expect_err("key");
        assert_eq!(
            err.to_string(),
            "configmap references non-existent config key: k"
        );
        let err = secret_payload(&src, "s", Some(&items), 0o644, false).expect_err("key");
        assert_eq!(err.to_string(), "references non-existent secret key: k");
        assert!(
            secret_payload(&src, "s", Some(&items), 0o644, true)
                .expect("optional")
                .is_empty()
        );
    }

    #[test]
    fn secret_bytes_are_decoded_data() {
        let (cms, secrets) = objects();
        let src = VolumeSources {
            config_maps: &cms,
            secrets: &secrets,
        };
        let p = secret_payload(&src, "s", None, 0o400, false).expect("payload");
        assert_eq!(p["pw"].data, b"s3cr3t");
        assert_eq!(p["pw"].mode, 0o400);
    }

    #[test]
    fn projected_merges_sources_and_aggregates_errors() {
        let (cms, secrets) = objects();
        let src = VolumeSources {
            config_maps: &cms,
            secrets: &secrets,
        };
        let pod = Pod::default();
        let ok = ProjectedVolumeSource {
            sources: Some(vec![
                VolumeProjection {
                    config_map: Some(ConfigMapProjection {
                        name: "cm".into(),
                        items: None,
                        optional: None,
                    }),
                    ..Default::default()
                },
                VolumeProjection {
                    secret: Some(SecretProjection {
                        name: "s".into(),
                        items: None,
                        optional: None,
                    }),
                    ..Default::default()
                },
                VolumeProjection {
                    service_account_token: Some(Default::default()),
                    ..Default::default()
                },
            ]),
            default_mode: Some(0o440),
        };
        let p = projected_payload(&pod, &ok, &src, None).expect("payload");
        assert_eq!(p.keys().collect::<Vec<_>>(), vec!["a", "bin", "pw"]);
        assert!(p.values().all(|f| f.mode == 0o440));

        let bad = ProjectedVolumeSource {
            sources: Some(vec![
                VolumeProjection {
                    config_map: Some(ConfigMapProjection {
                        name: "x".into(),
                        items: None,
                        optional: None,
                    }),
                    ..Default::default()
                },
                VolumeProjection {
                    secret: Some(SecretProjection {
                        name: "y".into(),
                        items: None,
                        optional: None,
                    }),
                    ..Default::default()
                },
            ]),
            default_mode: None,
        };
        let err = projected_payload(&pod, &bad, &src, None).expect_err("two missing");
        assert_eq!(
            err.to_string(),
            "[configmap \"x\" not found, secret \"y\" not found]"
        );
    }
}
