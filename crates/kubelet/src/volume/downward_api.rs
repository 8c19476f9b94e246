//! The downward API: facts about the pod itself (its name, labels, the
//! limits of a container) handed to the pod as files, so that a program can
//! learn them without talking to the apiserver. Upstream:
//! `pkg/volume/downwardapi`, `pkg/fieldpath` and `pkg/api/v1/resource`.
//!
//! Everything here is a pure function of the pod: it decides file contents,
//! the [`atomic_writer`](super::atomic_writer) writes them. Labels and
//! annotations change while the pod runs, and each sync rewrites the files.

use std::collections::BTreeMap;

use api_types::core::v1::{Container, DownwardAPIVolumeFile, Pod, ResourceFieldSelector};
use api_types::quantity::Quantity;

use super::VolumeError;
use super::atomic_writer::{FileProjection, Payload};

/// Files of a downwardAPI volume (or projection), upstream's `CollectData`.
/// Every item is tried; failures are aggregated rather than stopping at the
/// first one.
pub fn payload(
    items: &[DownwardAPIVolumeFile],
    pod: &Pod,
    default_mode: u32,
    allocatable: Option<&BTreeMap<String, Quantity>>,
) -> Result<Payload, VolumeError> {
    let mut payload = Payload::new();
    let mut errors = Vec::new();
    for item in items {
        let data = if let Some(field) = &item.field_ref {
            field_value(pod, &field.field_path)
        } else if let Some(resource) = &item.resource_field_ref {
            resource_value(pod, resource, allocatable)
        } else {
            Ok(String::new())
        };
        match data {
            Ok(data) => {
                payload.insert(
                    item.path.clone(),
                    FileProjection {
                        data: data.into_bytes(),
                        mode: super::mode_bits(item.mode, default_mode),
                    },
                );
            }
            Err(e) => errors.push(e),
        }
    }
    VolumeError::aggregate(errors).map(|()| payload)
}

/// A pod field by path, as in volumes (upstream's
/// `fieldpath.ExtractFieldPathAsString`): `metadata.name`, `.namespace`,
/// `.uid`, `.labels` and `.annotations` (whole maps as `key="value"` lines)
/// and single entries as `metadata.labels['key']`.
///
/// # Errors
/// [`VolumeError::UnsupportedFieldPath`] for anything else.
pub fn field_value(pod: &Pod, path: &str) -> Result<String, VolumeError> {
    let meta = &pod.metadata;
    if let Some((map, key)) = split_subscript(path) {
        return match map {
            "metadata.labels" => Ok(meta.labels.get(key).cloned().unwrap_or_default()),
            "metadata.annotations" => Ok(meta.annotations.get(key).cloned().unwrap_or_default()),
            _ => Err(VolumeError::UnsupportedFieldPath(path.to_string())),
        };
    }
    match path {
        "metadata.name" => Ok(meta.name.clone()),
        "metadata.namespace" => Ok(meta.namespace.clone()),
        "metadata.uid" => Ok(meta.uid.clone()),
        "metadata.labels" => Ok(format_map(&meta.labels)),
        "metadata.annotations" => Ok(format_map(&meta.annotations)),
        _ => Err(VolumeError::UnsupportedFieldPath(path.to_string())),
    }
}

/// `metadata.labels['app']` → `("metadata.labels", "app")`.
fn split_subscript(path: &str) -> Option<(&str, &str)> {
    let inner = path.strip_suffix("']")?;
    let open = inner.find("['")?;
    Some((&inner[..open], &inner[open + 2..]))
}

/// A map as upstream prints it into a file: one `key="value"` line per entry,
/// keys sorted, values quoted like Go's `%q`, no trailing newline.
pub fn format_map(map: &BTreeMap<String, String>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Go's `strconv.Quote` for valid UTF-8: backslash escapes for quotes,
/// backslashes and control characters; other characters kept as they are.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A container's request or limit in units of the divisor, rounded up
/// (upstream's `ExtractResourceValueByContainerNameAndNodeAllocatable`).
///
/// A limit the container does not set is the node's allocatable amount, as
/// upstream; without `allocatable` that is an error. A request it does not
/// set is 0.
pub fn resource_value(
    pod: &Pod,
    selector: &ResourceFieldSelector,
    allocatable: Option<&BTreeMap<String, Quantity>>,
) -> Result<String, VolumeError> {
    let name = selector.container_name.as_deref().unwrap_or_default();
    let container = find_container(pod, name)?;
    let unsupported = || VolumeError::UnsupportedResource(selector.resource.clone());
    let (kind, resource) = selector.resource.split_once('.').ok_or_else(unsupported)?;
    if !matches!(resource, "cpu" | "memory" | "ephemeral-storage")
        && !resource.starts_with("hugepages-")
    {
        return Err(unsupported());
    }
    let resources = container.resources.as_ref();
    let quantity = match kind {
        "limits" => resources
            .and_then(|r| r.limits.as_ref())
            .and_then(|l| l.get(resource))
            .or_else(|| allocatable.and_then(|a| a.get(resource)))
            .ok_or_else(|| VolumeError::NoAllocatable {
                container: name.to_string(),
                resource: resource.to_string(),
            })?
            .clone(),
        "requests" => resources
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get(resource))
            .cloned()
            .unwrap_or_else(|| Quantity::from("0")),
        _ => return Err(unsupported()),
    };
    let value = parse(&quantity, "resource")?;
    let divisor = match &selector.divisor {
        Some(d) => parse(d, "divisor")?,
        None => parse(&Quantity::from("1"), "divisor")?,
    };
    // CPU counts in thousandths so that `1m` divisors work; the rest in units.
    let (v, d) = if resource == "cpu" {
        (value.milli_value(), divisor.milli_value())
    } else {
        (value.value(), divisor.value())
    };
    Ok(ceil_div(v, if d == 0 { 1 } else { d }).to_string())
}

fn parse(
    q: &Quantity,
    what: &'static str,
) -> Result<api_types::quantity::ParsedQuantity, VolumeError> {
    q.parse().map_err(|source| VolumeError::Quantity {
        what,
        value: q.0.clone(),
        source,
    })
}

/// `ceil(a / b)` for a positive `b`, as upstream's float `math.Ceil`.
fn ceil_div(a: i64, b: i64) -> i64 {
    let (a, b) = (i128::from(a), i128::from(b));
    let q = if a > 0 { (a + b - 1) / b } else { a / b };
    i64::try_from(q).unwrap_or(i64::MAX)
}

fn find_container<'a>(pod: &'a Pod, name: &str) -> Result<&'a Container, VolumeError> {
    let spec = pod.spec.as_ref();
    spec.into_iter()
        .flat_map(|s| {
            s.containers
                .iter()
                .chain(s.init_containers.iter().flatten())
        })
        .find(|c| c.name == name)
        .ok_or_else(|| VolumeError::ContainerNotFound(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_types::core::v1::{ObjectFieldSelector, PodSpec, ResourceRequirements};

    fn pod() -> Pod {
        let mut pod = Pod::default();
        pod.metadata.name = "web".into();
        pod.metadata.namespace = "prod".into();
        pod.metadata.uid = "u-1".into();
        pod.metadata.labels = [
            ("b".to_string(), "2".to_string()),
            ("a".to_string(), "x\"y".to_string()),
        ]
        .into_iter()
        .collect();
        pod.metadata
            .annotations
            .insert("note".into(), "line1\nline2 ✓".into());
        let limits = [
            ("cpu".to_string(), Quantity::from("250m")),
            ("memory".to_string(), Quantity::from("64Mi")),
        ];
        pod.spec = Some(PodSpec {
            containers: vec![Container {
                name: "app".into(),
                resources: Some(ResourceRequirements {
                    limits: Some(limits.into_iter().collect()),
                    requests: Some(
                        [("cpu".to_string(), Quantity::from("100m"))]
                            .into_iter()
                            .collect(),
                    ),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        });
        pod
    }

    fn res(resource: &str, divisor: Option<&str>) -> ResourceFieldSelector {
        ResourceFieldSelector {
            container_name: Some("app".into()),
            resource: resource.into(),
            divisor: divisor.map(Quantity::from),
        }
    }

    #[test]
    fn metadata_fields() {
        let p = pod();
        assert_eq!(field_value(&p, "metadata.name").expect("name"), "web");
        assert_eq!(field_value(&p, "metadata.namespace").expect("ns"), "prod");
        assert_eq!(field_value(&p, "metadata.uid").expect("uid"), "u-1");
        assert_eq!(
            field_value(&p, "metadata.labels").expect("labels"),
            "a=\"x\\\"y\"\nb=\"2\""
        );
        assert_eq!(
            field_value(&p, "metadata.annotations").expect("annotations"),
            "note=\"line1\\nline2 ✓\""
        );
        assert_eq!(field_value(&p, "metadata.labels['b']").expect("b"), "2");
        assert_eq!(field_value(&p, "metadata.labels['zz']").expect("zz"), "");
        let err = field_value(&p, "spec.nodeName").expect_err("unsupported");
        assert_eq!(err.to_string(), "unsupported fieldPath: spec.nodeName");
    }

    #[test]
    fn go_quoting_of_controls() {
        assert_eq!(go_quote("a\u{1}b\u{7f}\t\\"), "\"a\\x01b\\x7f\\t\\\\\"");
    }

    #[test]
    fn resources_with_divisors_round_up() {
        let p = pod();
        assert_eq!(
            resource_value(&p, &res("limits.cpu", None), None).expect("cpu"),
            "1"
        );
        assert_eq!(
            resource_value(&p, &res("limits.cpu", Some("1m")), None).expect("cpu"),
            "250"
        );
        assert_eq!(
            resource_value(&p, &res("requests.cpu", Some("1m")), None).expect("req"),
            "100"
        );
        assert_eq!(
            resource_value(&p, &res("limits.memory", Some("1Mi")), None).expect("mem"),
            "64"
        );
        assert_eq!(
            resource_value(&p, &res("limits.memory", None), None).expect("mem"),
            "67108864"
        );
        assert_eq!(
            resource_value(&p, &res("requests.memory", None), None).expect("req"),
            "0"
        );
    }

    #[test]
    fn missing_limit_uses_allocatable_or_fails() {
        let p = pod();
        let err =
            resource_value(&p, &res("limits.ephemeral-storage", None), None).expect_err("no alloc");
        assert!(matches!(err, VolumeError::NoAllocatable { .. }), "{err}");
        let alloc: BTreeMap<String, Quantity> =
            [("ephemeral-storage".to_string(), Quantity::from("1Gi"))]
                .into_iter()
                .collect();
        assert_eq!(
            resource_value(
                &p,
                &res("limits.ephemeral-storage", Some("1Mi")),
                Some(&alloc)
            )
            .expect("alloc"),
            "1024"
        );
    }

    #[test]
    fn bad_resource_selectors() {
        let p = pod();
        let err = resource_value(&p, &res("limits.gpu", None), None).expect_err("gpu");
        assert_eq!(
            err.to_string(),
            "unsupported container resource : limits.gpu"
        );
        let mut other = res("limits.cpu", None);
        other.container_name = Some("nope".into());
        let err = resource_value(&p, &other, None).expect_err("container");
        assert_eq!(err.to_string(), "container nope not found");
    }

    #[test]
    fn payload_aggregates_errors_and_applies_modes() {
        let p = pod();
        let item = |path: &str, field: &str, mode: Option<i32>| DownwardAPIVolumeFile {
            path: path.into(),
            field_ref: Some(ObjectFieldSelector {
                api_version: None,
                field_path: field.into(),
            }),
            resource_field_ref: None,
            mode,
        };
        let ok = payload(
            &[
                item("name", "metadata.name", Some(0o600)),
                item("labels", "metadata.labels", None),
            ],
            &p,
            0o644,
            None,
        )
        .expect("payload");
        assert_eq!(ok["name"].data, b"web");
        assert_eq!(ok["name"].mode, 0o600);
        assert_eq!(ok["labels"].mode, 0o644);

        let err = payload(
            &[item("a", "spec.x", None), item("b", "status.y", None)],
            &p,
            0o644,
            None,
        )
        .expect_err("two errors");
        assert_eq!(
            err.to_string(),
            "[unsupported fieldPath: spec.x, unsupported fieldPath: status.y]"
        );
    }
}
