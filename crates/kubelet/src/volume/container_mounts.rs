//! From a container's `volumeMounts` to the CRI `Mount`s the runtime
//! bind-mounts into it (upstream: `makeMounts` in
//! `pkg/kubelet/kubelet_pods.go`).
//!
//! # What each field becomes
//! - `mountPath` → `container_path`; the volume's host path (or a
//!   `subPath` inside it) → `host_path`.
//! - `readOnly`, forced on for configMap, secret, projected and downwardAPI
//!   volumes: their content belongs to the kubelet, which rewrites it.
//! - SELinux relabelling for every volume the kubelet manages (not
//!   hostPath: relabelling the node's own files could break the node).
//! - `mountPropagation`: `None` (default) → private, `HostToContainer` →
//!   rslave, `Bidirectional` → rshared.
//!
//! # subPath
//! `subPath` (or `subPathExpr`, with `$(VAR)` taken from the container's
//! environment) mounts a path inside the volume instead of its root. It must
//! be relative, without `..`, and may not escape the volume through a
//! symlink a container planted; a missing subPath is created as a directory
//! with the mode of the volume's root, before the runtime would create it
//! with a mode of its own choosing.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use api_types::core::v1::{Container, Pod, Volume, VolumeMount};
use cri::v1::{Mount, MountPropagation};

use super::{VolumeError, downward_api};

/// See the module docs; `env` is the container's resolved environment, for
/// `subPathExpr`.
pub fn make_mounts(
    pod: &Pod,
    container: &Container,
    volumes: &BTreeMap<String, PathBuf>,
    env: &BTreeMap<String, String>,
) -> Result<Vec<Mount>, VolumeError> {
    let spec_volumes = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_deref())
        .unwrap_or_default();
    let mut mounts = Vec::new();
    for vm in container.volume_mounts.iter().flatten() {
        let Some(volume_path) = volumes.get(&vm.name) else {
            return Err(VolumeError::VolumeNotFound {
                volume: vm.name.clone(),
                container: container.name.clone(),
            });
        };
        let volume = spec_volumes.iter().find(|v| v.name == vm.name);
        let (managed, must_read_only) = attributes(volume);

        let sub_path = match vm.sub_path_expr.as_deref() {
            Some(expr) if !expr.is_empty() => expand_sub_path(expr, env)?,
            _ => vm.sub_path.clone().unwrap_or_default(),
        };
        let host_path = if sub_path.is_empty() {
            volume_path.clone()
        } else {
            validate_sub_path(&sub_path)?;
            prepare_sub_path(volume_path, &sub_path, &vm.name, &container.name)?
        };

        let propagation = propagation(vm.mount_propagation.as_deref())?;
        mounts.push(Mount {
            container_path: vm.mount_path.clone(),
            host_path: host_path.to_string_lossy().into_owned(),
            readonly: vm.read_only.unwrap_or(false) || must_read_only,
            selinux_relabel: managed,
            propagation: propagation as i32,
            recursive_read_only: recursive_read_only(vm)?,
            ..Default::default()
        });
    }
    Ok(mounts)
}

/// `(managed by the kubelet, always read-only)` for a pod volume, as
/// upstream's volume plugins' `GetAttributes`.
fn attributes(volume: Option<&Volume>) -> (bool, bool) {
    match volume {
        None => (false, false),
        Some(v) if v.host_path.is_some() => (false, false),
        Some(v) => {
            let api_data = v.config_map.is_some()
                || v.secret.is_some()
                || v.projected.is_some()
                || v.downward_api.is_some();
            (true, api_data)
        }
    }
}

fn propagation(mode: Option<&str>) -> Result<MountPropagation, VolumeError> {
    match mode {
        None | Some("None") => Ok(MountPropagation::PropagationPrivate),
        Some("HostToContainer") => Ok(MountPropagation::PropagationHostToContainer),
        Some("Bidirectional") => Ok(MountPropagation::PropagationBidirectional),
        Some(other) => Err(VolumeError::InvalidPropagation(other.to_string())),
    }
}

/// Upstream's `resolveRecursiveReadOnly`. This kubelet does not ask the
/// runtime whether it supports recursive read-only mounts, so `IfPossible`
/// conservatively means no, and `Enabled` is passed on for the runtime to
/// refuse if it cannot.
fn recursive_read_only(vm: &VolumeMount) -> Result<bool, VolumeError> {
    let mode = match vm.recursive_read_only.as_deref() {
        None | Some("") | Some("Disabled") => return Ok(false),
        Some(mode) => mode,
    };
    if !vm.read_only.unwrap_or(false) {
        return Err(VolumeError::RecursiveReadOnly(format!(
            "volume \"{}\" requested recursive read-only mode, but it is not read-only",
            vm.name
        )));
    }
    if let Some(p) = vm.mount_propagation.as_deref().filter(|p| *p != "None") {
        return Err(VolumeError::RecursiveReadOnly(format!(
            "volume \"{}\" requested recursive read-only mode, but it is not compatible with propagation \"{p}\"",
            vm.name
        )));
    }
    match mode {
        "IfPossible" => Ok(false),
        "Enabled" => Ok(true),
        other => Err(VolumeError::RecursiveReadOnly(format!(
            "unknown recursive read-only mode \"{other}\""
        ))),
    }
}

fn validate_sub_path(sub_path: &str) -> Result<(), VolumeError> {
    if sub_path.starts_with('/') {
        return Err(VolumeError::AbsoluteSubPath(sub_path.to_string()));
    }
    if sub_path.split('/').any(|c| c == "..") {
        return Err(VolumeError::SubPathBacksteps(sub_path.to_string()));
    }
    Ok(())
}

/// Creates the subPath if missing and returns it fully resolved, after
/// checking it is still inside the volume. Resolving now pins what was
/// checked: the runtime would follow the symlinks anyway.
fn prepare_sub_path(
    volume_path: &Path,
    sub_path: &str,
    mount: &str,
    container: &str,
) -> Result<PathBuf, VolumeError> {
    let create_failed = |detail: String| {
        // The detail stays in the node's log: a pod must not learn about the
        // node's filesystem from its events.
        tracing::warn!(volume_mount = mount, container, %detail, "cannot create subPath");
        VolumeError::SubPathCreate {
            mount: mount.to_string(),
            container: container.to_string(),
        }
    };
    let root = fs::canonicalize(volume_path).map_err(|e| create_failed(e.to_string()))?;
    let joined = volume_path.join(sub_path);
    if fs::metadata(&joined).is_err() {
        let root_meta = fs::metadata(&root).map_err(|e| create_failed(e.to_string()))?;
        safe_make_dir(&root, sub_path, root_meta.mode() & 0o777).map_err(create_failed)?;
    }
    let resolved = fs::canonicalize(&joined)
        .ok()
        .filter(|r| r.starts_with(&root));
    resolved.ok_or_else(|| {
        tracing::warn!(
            volume_mount = mount,
            container,
            sub_path,
            "subPath resolves outside its volume"
        );
        VolumeError::SubPathEscapes {
            mount: mount.to_string(),
            container: container.to_string(),
        }
    })
}

/// Creates `sub_path` below the canonical `root` one component at a time,
/// following an existing symlink only when it stays inside `root`
/// (upstream's `SafeMakeDir`, without its fd-based race protection).
fn safe_make_dir(root: &Path, sub_path: &str, mode: u32) -> Result<(), String> {
    let mut current = root.to_path_buf();
    for component in Path::new(sub_path).components() {
        let Component::Normal(name) = component else {
            continue;
        };
        let next = current.join(name);
        match fs::symlink_metadata(&next) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target =
                    fs::canonicalize(&next).map_err(|e| format!("{}: {e}", next.display()))?;
                if !target.starts_with(root) || !target.is_dir() {
                    return Err(format!(
                        "{} leads outside the volume or to a non-directory",
                        next.display()
                    ));
                }
                current = target;
            }
            Ok(meta) if meta.is_dir() => current = next,
            Ok(_) => return Err(format!("{} is not a directory", next.display())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match fs::DirBuilder::new().mode(mode).create(&next) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(format!("{}: {e}", next.display())),
                }
                fs::set_permissions(&next, fs::Permissions::from_mode(mode))
                    .map_err(|e| format!("{}: {e}", next.display()))?;
                current = next;
            }
            Err(e) => return Err(format!("{}: {e}", next.display())),
        }
    }
    Ok(())
}

/// Expands `$(VAR)` in a `subPathExpr`; every variable must have a
/// non-empty value (upstream's `ExpandContainerVolumeMounts`).
fn expand_sub_path(expr: &str, env: &BTreeMap<String, String>) -> Result<String, VolumeError> {
    let mut missing = std::collections::BTreeSet::new();
    let expanded = expand(expr, |name| match env.get(name) {
        Some(v) if !v.is_empty() => Some(v.clone()),
        _ => {
            missing.insert(name.to_string());
            Some(String::new())
        }
    });
    if missing.is_empty() {
        Ok(expanded)
    } else {
        Err(VolumeError::MissingEnv(
            missing.into_iter().collect::<Vec<_>>().join(", "),
        ))
    }
}

/// Kubernetes' `$(VAR)` expansion: `$$` is a literal `$`; a reference
/// `lookup` does not know is left as written.
pub(crate) fn expand(input: &str, mut lookup: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some((name, tail)) = after.strip_prefix('(').and_then(|a| a.split_once(')')) {
            match lookup(name) {
                Some(value) => out.push_str(&value),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The part of a container's environment that can be known from the pod
/// alone: literal values (with earlier variables expanded) and pod fields.
/// Variables from ConfigMaps, Secrets or resources are left out; a caller
/// that has the full environment passes it to
/// [`VolumeManager::mounts_with_env`](super::VolumeManager::mounts_with_env).
pub fn pod_level_env(pod: &Pod, container: &Container) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for var in container.env.iter().flatten() {
        let value = if let Some(v) = &var.value {
            Some(expand(v, |n| env.get(n).cloned()))
        } else {
            var.value_from
                .as_ref()
                .and_then(|f| f.field_ref.as_ref())
                .and_then(|f| runtime_field(pod, &f.field_path))
        };
        if let Some(value) = value {
            env.insert(var.name.clone(), value);
        }
    }
    env
}

/// Pod fields available to environment variables (upstream's
/// `podFieldSelectorRuntimeValue`), a superset of those for volumes.
fn runtime_field(pod: &Pod, path: &str) -> Option<String> {
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    match path {
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()),
        "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()),
        "status.hostIP" => status.and_then(|s| s.host_ip.clone()),
        "status.podIP" => status.and_then(|s| s.pod_ip.clone()),
        _ => downward_api::field_value(pod, path).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_rules() {
        let env: BTreeMap<String, String> =
            [("A".to_string(), "x".to_string())].into_iter().collect();
        let get = |n: &str| env.get(n).cloned();
        assert_eq!(expand("$(A)/$(B)/$$(A)/$/$(", get), "x/$(B)/$(A)/$/$(");
        assert_eq!(expand_sub_path("logs/$(A)", &env).expect("ok"), "logs/x");
        let err = expand_sub_path("$(Z)/$(B)/$(A)", &env).expect_err("missing");
        assert_eq!(err.to_string(), "missing value for B, Z");
    }

    #[test]
    fn propagation_modes() {
        assert_eq!(
            propagation(None).expect("none"),
            MountPropagation::PropagationPrivate
        );
        assert_eq!(
            propagation(Some("None")).expect("None"),
            MountPropagation::PropagationPrivate
        );
        assert_eq!(
            propagation(Some("HostToContainer")).expect("h2c"),
            MountPropagation::PropagationHostToContainer
        );
        assert_eq!(
            propagation(Some("Bidirectional")).expect("bi"),
            MountPropagation::PropagationBidirectional
        );
        assert_eq!(
            propagation(Some("Shared")).expect_err("bad").to_string(),
            "invalid MountPropagation mode: \"Shared\""
        );
    }

    #[test]
    fn recursive_read_only_rules() {
        let vm = |rro: &str, ro: bool, prop: Option<&str>| VolumeMount {
            name: "v".into(),
            read_only: Some(ro),
            recursive_read_only: Some(rro.into()),
            mount_propagation: prop.map(str::to_string),
            ..Default::default()
        };
        assert!(!recursive_read_only(&vm("Disabled", false, None)).expect("disabled"));
        assert!(recursive_read_only(&vm("Enabled", true, None)).expect("enabled"));
        assert!(!recursive_read_only(&vm("IfPossible", true, Some("None"))).expect("ifpossible"));
        assert!(recursive_read_only(&vm("Enabled", false, None)).is_err());
        assert!(recursive_read_only(&vm("Enabled", true, Some("HostToContainer"))).is_err());
    }

    #[test]
    fn sub_path_validation() {
        assert_eq!(
            validate_sub_path("/etc").expect_err("abs").to_string(),
            "error SubPath `/etc` must not be an absolute path"
        );
        assert_eq!(
            validate_sub_path("a/../../b").expect_err("..").to_string(),
            "unable to provision SubPath `a/../../b`: must not contain '..'"
        );
        assert!(validate_sub_path("a/..b/c").is_ok());
    }

    #[test]
    fn sub_path_is_created_with_the_root_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let vol = dir.path().join("vol");
        fs::create_dir(&vol).expect("mkdir");
        fs::set_permissions(&vol, fs::Permissions::from_mode(0o775)).expect("chmod");
        let p = prepare_sub_path(&vol, "a/b", "m", "c").expect("prepare");
        assert_eq!(p, fs::canonicalize(vol.join("a/b")).expect("canon"));
        for d in ["a", "a/b"] {
            let mode = fs::metadata(vol.join(d))
                .expect("stat")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o775, "{d}");
        }
        // Existing files are mounted as they are.
        fs::write(vol.join("file"), "x").expect("write");
        assert!(
            prepare_sub_path(&vol, "file", "m", "c")
                .expect("file")
                .is_file()
        );
    }

    #[test]
    fn sub_path_symlink_escape_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let vol = dir.path().join("vol");
        let outside = dir.path().join("outside");
        fs::create_dir(&vol).expect("mkdir");
        fs::create_dir(&outside).expect("mkdir");
        std::os::unix::fs::symlink(&outside, vol.join("evil")).expect("link");
        std::os::unix::fs::symlink("/etc/hostname", vol.join("file")).expect("link");

        let err = prepare_sub_path(&vol, "evil/new", "m", "c").expect_err("create through link");
        assert_eq!(
            err.to_string(),
            "failed to create subPath directory for volumeMount \"m\" of container \"c\""
        );
        assert!(!outside.join("new").exists(), "nothing created outside");
        let err = prepare_sub_path(&vol, "evil", "m", "c").expect_err("dir link");
        assert_eq!(
            err.to_string(),
            "failed to prepare subPath for volumeMount \"m\" of container \"c\""
        );
        assert!(prepare_sub_path(&vol, "file", "m", "c").is_err());
        // A link that stays inside is fine.
        fs::create_dir(vol.join("real")).expect("mkdir");
        std::os::unix::fs::symlink("real", vol.join("alias")).expect("link");
        assert_eq!(
            prepare_sub_path(&vol, "alias/x", "m", "c").expect("inside"),
            fs::canonicalize(vol.join("real/x")).expect("canon")
        );
    }
}
