//! Pod and container `securityContext` turned into the CRI's Linux security
//! settings: the user and groups processes run as, capabilities,
//! privileged mode, namespaces, seccomp and AppArmor.
//!
//! This mirrors upstream's `determineEffectiveSecurityContext` and
//! `verifyRunAsNonRoot` (`pkg/kubelet/kuberuntime/security_context*.go`),
//! `DetermineEffectiveSecurityContext` (`pkg/securitycontext`), the seccomp
//! and AppArmor helpers of `pkg/kubelet/kuberuntime/helpers.go`, and the
//! sandbox part of `generatePodSandboxLinuxConfig`.
//!
//! # Pod versus container
//! A pod's `securityContext` sets defaults (user, group, SELinux, seccomp,
//! AppArmor) for all its containers; a field set on a container's own
//! `securityContext` wins. Some fields exist only on one side: groups
//! (`fsGroup`, `supplementalGroups`) only on the pod, `privileged`,
//! `capabilities` and `readOnlyRootFilesystem` only on the container.

use api_types::core::v1::{
    AppArmorProfile, Container, Pod, PodSecurityContext, SELinuxOptions, SeccompProfile,
    SecurityContext,
};
use cri::v1::security_profile::ProfileType;
use cri::v1::{
    Capability, Int64Value, LinuxContainerSecurityContext, LinuxSandboxSecurityContext,
    NamespaceMode, NamespaceOption, SeLinuxOption, SecurityProfile, SupplementalGroupsPolicy,
};

/// Where `Localhost` seccomp profiles live: `<kubelet root dir>/seccomp`.
pub const DEFAULT_SECCOMP_PROFILE_ROOT: &str = "/var/lib/kubelet/seccomp";

/// The deprecated per-container AppArmor annotation, still honoured for
/// static pods whose annotations were never converted to fields.
const APPARMOR_ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

/// Paths the runtime hides inside containers unless `procMount: Unmasked`
/// (these match Docker's and runc's defaults).
pub const DEFAULT_MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths the runtime mounts read-only unless `procMount: Unmasked`.
pub const DEFAULT_READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Why a container's security settings cannot be built. The kubelet
/// reports these as `CreateContainerConfigError`; the messages are
/// upstream's, where `pod` reads `name_namespace(uid)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecurityError {
    /// `runAsNonRoot: true` together with `runAsUser: 0`.
    #[error(
        "container's runAsUser breaks non-root policy (pod: \"{pod}\", container: {container})"
    )]
    RunAsUserBreaksNonRoot { pod: String, container: String },
    /// `runAsNonRoot: true`, no `runAsUser`, and the image runs as root
    /// (or names no user at all).
    #[error(
        "container has runAsNonRoot and image will run as root (pod: \"{pod}\", container: {container})"
    )]
    ImageRunsAsRoot { pod: String, container: String },
    /// `runAsNonRoot: true`, no `runAsUser`, and the image names its user:
    /// the kubelet cannot tell that user's uid without reading the image's
    /// `/etc/passwd`.
    #[error(
        "container has runAsNonRoot and image has non-numeric user ({user}), cannot verify user is non-root (pod: \"{pod}\", container: {container})"
    )]
    NonNumericImageUser {
        user: String,
        pod: String,
        container: String,
    },
    /// `runAsNonRoot: true` and the image's uid is out of range.
    #[error(
        "container has runAsNonRoot and image has an invalid user id ({uid}). (Must be 1-(2147483647)): must be between 0 and 2147483647, inclusive (pod: \"{pod}\", container: {container})"
    )]
    InvalidImageUid {
        uid: i64,
        pod: String,
        container: String,
    },
    /// Seccomp type `Localhost` without `localhostProfile`.
    #[error("localhostProfile must be set if seccompProfile type is Localhost")]
    MissingSeccompLocalhostProfile,
    /// AppArmor type `Localhost` without `localhostProfile`.
    #[error("missing localhost apparmor profile name")]
    MissingAppArmorLocalhostProfile,
    /// An AppArmor type other than `RuntimeDefault`, `Unconfined` or `Localhost`.
    #[error("unknown apparmor profile type: \"{0}\"")]
    UnknownAppArmorType(String),
    /// A `supplementalGroupsPolicy` other than `Merge` or `Strict`.
    #[error("unsupported supplementalGroupsPolicy: {0}")]
    UnsupportedSupplementalGroupsPolicy(String),
}

/// The container's security context with the pod's defaults filled in:
/// upstream's `DetermineEffectiveSecurityContext`.
pub fn effective_security_context(pod: &Pod, container: &Container) -> SecurityContext {
    let pod_sc = pod_security_context(pod);
    let mut sc = SecurityContext {
        se_linux_options: pod_sc.and_then(|p| p.se_linux_options.clone()),
        windows_options: pod_sc.and_then(|p| p.windows_options.clone()),
        run_as_user: pod_sc.and_then(|p| p.run_as_user),
        run_as_group: pod_sc.and_then(|p| p.run_as_group),
        run_as_non_root: pod_sc.and_then(|p| p.run_as_non_root),
        ..Default::default()
    };
    let Some(c) = &container.security_context else {
        return sc;
    };
    fn over<T: Clone>(dst: &mut Option<T>, src: &Option<T>) {
        if src.is_some() {
            dst.clone_from(src);
        }
    }
    over(&mut sc.se_linux_options, &c.se_linux_options);
    over(&mut sc.windows_options, &c.windows_options);
    over(&mut sc.capabilities, &c.capabilities);
    over(&mut sc.privileged, &c.privileged);
    over(&mut sc.run_as_user, &c.run_as_user);
    over(&mut sc.run_as_group, &c.run_as_group);
    over(&mut sc.run_as_non_root, &c.run_as_non_root);
    over(
        &mut sc.read_only_root_filesystem,
        &c.read_only_root_filesystem,
    );
    over(
        &mut sc.allow_privilege_escalation,
        &c.allow_privilege_escalation,
    );
    over(&mut sc.proc_mount, &c.proc_mount);
    // Seccomp and AppArmor are resolved separately (they also look at the pod).
    sc
}

fn pod_security_context(pod: &Pod) -> Option<&PodSecurityContext> {
    pod.spec.as_ref()?.security_context.as_ref()
}

/// `name_namespace(uid)`, how upstream's messages name a pod.
fn pod_desc(pod: &Pod) -> String {
    let m = &pod.metadata;
    format!("{}_{}({})", m.name, m.namespace, m.uid)
}

/// What the runtime reports about the image's `USER`: a uid, a user name, or
/// nothing. `uid:gid` and `name:group` forms count by their user part, as in
/// containerd; an image without a user runs as root, which upstream's
/// kubelet spells out as uid 0.
fn image_user(user: Option<&str>) -> (Option<i64>, String) {
    let user = user.unwrap_or("");
    let user = user.split(':').next().unwrap_or(user);
    if user.is_empty() {
        return (Some(0), String::new());
    }
    match user.parse::<i64>() {
        Ok(uid) => (Some(uid), String::new()),
        Err(_) => (None, user.to_owned()),
    }
}

/// `runAsNonRoot`: refuse a container that would run as uid 0, or whose uid
/// cannot be known.
fn verify_run_as_non_root(
    pod: &Pod,
    container: &Container,
    sc: &SecurityContext,
    uid: Option<i64>,
    username: &str,
) -> Result<(), SecurityError> {
    if sc.run_as_non_root != Some(true) {
        return Ok(());
    }
    let pod_name = || pod_desc(pod);
    let container_name = || container.name.clone();
    if let Some(user) = sc.run_as_user {
        if user == 0 {
            return Err(SecurityError::RunAsUserBreaksNonRoot {
                pod: pod_name(),
                container: container_name(),
            });
        }
        return Ok(());
    }
    match uid {
        None if !username.is_empty() => Err(SecurityError::NonNumericImageUser {
            user: username.to_owned(),
            pod: pod_name(),
            container: container_name(),
        }),
        Some(0) => Err(SecurityError::ImageRunsAsRoot {
            pod: pod_name(),
            container: container_name(),
        }),
        Some(uid) if !(0..=i64::from(i32::MAX)).contains(&uid) => {
            Err(SecurityError::InvalidImageUid {
                uid,
                pod: pod_name(),
                container: container_name(),
            })
        }
        _ => Ok(()),
    }
}

/// The namespaces of a pod's sandbox and containers: the node's network,
/// PID and IPC namespaces with `hostNetwork` / `hostPID` / `hostIPC`; one
/// PID namespace for the whole pod with `shareProcessNamespace`; otherwise
/// network and IPC shared by the pod and a PID namespace per container.
///
/// # Caveats
/// User namespaces (`hostUsers: false`) need ID mappings the kubelet
/// allocates; they are left unset here (the host's user namespace).
pub fn namespace_options(pod: &Pod) -> NamespaceOption {
    let spec = pod.spec.as_ref();
    let flag = |f: Option<bool>| f == Some(true);
    let host = |on: Option<bool>, otherwise: NamespaceMode| {
        if flag(on) {
            NamespaceMode::Node as i32
        } else {
            otherwise as i32
        }
    };
    let pid_default = if flag(spec.and_then(|s| s.share_process_namespace)) {
        NamespaceMode::Pod
    } else {
        NamespaceMode::Container
    };
    NamespaceOption {
        network: host(spec.and_then(|s| s.host_network), NamespaceMode::Pod),
        pid: host(spec.and_then(|s| s.host_pid), pid_default),
        ipc: host(spec.and_then(|s| s.host_ipc), NamespaceMode::Pod),
        ..Default::default()
    }
}

fn selinux(opts: &SELinuxOptions) -> SeLinuxOption {
    SeLinuxOption {
        user: opts.user.clone().unwrap_or_default(),
        role: opts.role.clone().unwrap_or_default(),
        r#type: opts.type_.clone().unwrap_or_default(),
        level: opts.level.clone().unwrap_or_default(),
    }
}

fn profile(kind: ProfileType, localhost_ref: String) -> SecurityProfile {
    SecurityProfile {
        profile_type: kind as i32,
        localhost_ref,
    }
}

/// The container's seccomp profile: the container's `seccompProfile`, else
/// the pod's, else `Unconfined` (upstream's default unless the kubelet runs
/// with `--seccomp-default`). `Localhost` profiles are paths under
/// `profile_root`; an unknown type counts as `Unconfined`, as upstream.
///
/// # Errors
/// [`SecurityError::MissingSeccompLocalhostProfile`].
pub fn seccomp_profile(
    pod: &Pod,
    container: &Container,
    profile_root: &str,
) -> Result<SecurityProfile, SecurityError> {
    let chosen: Option<&SeccompProfile> = container
        .security_context
        .as_ref()
        .and_then(|c| c.seccomp_profile.as_ref())
        .or_else(|| pod_security_context(pod).and_then(|p| p.seccomp_profile.as_ref()));
    let Some(p) = chosen else {
        return Ok(profile(ProfileType::Unconfined, String::new()));
    };
    Ok(match p.type_.as_str() {
        "RuntimeDefault" => profile(ProfileType::RuntimeDefault, String::new()),
        "Localhost" => {
            let name = p.localhost_profile.as_deref().unwrap_or("");
            if name.is_empty() {
                return Err(SecurityError::MissingSeccompLocalhostProfile);
            }
            let root = profile_root.trim_end_matches('/');
            let name = name.trim_start_matches('/');
            profile(ProfileType::Localhost, format!("{root}/{name}"))
        }
        _ => profile(ProfileType::Unconfined, String::new()),
    })
}

/// The container's AppArmor profile (as a `SecurityProfile` and in the
/// deprecated string form), from the container's field, the deprecated
/// annotation, or the pod's field, in that order. `None` leaves the choice
/// to the runtime (its default profile where AppArmor is enabled).
fn apparmor_profile(
    pod: &Pod,
    container: &Container,
) -> Result<Option<(SecurityProfile, String)>, SecurityError> {
    let from_annotation = pod
        .metadata
        .annotations
        .get(&format!("{APPARMOR_ANNOTATION_PREFIX}{}", container.name))
        .and_then(|v| {
            let (type_, localhost) = match v.as_str() {
                "runtime/default" => ("RuntimeDefault", None),
                "unconfined" => ("Unconfined", None),
                v => ("Localhost", Some(v.strip_prefix("localhost/")?.to_owned())),
            };
            Some(AppArmorProfile {
                type_: type_.to_owned(),
                localhost_profile: localhost,
            })
        });
    let chosen = container
        .security_context
        .as_ref()
        .and_then(|c| c.app_armor_profile.clone())
        .or(from_annotation)
        .or_else(|| pod_security_context(pod).and_then(|p| p.app_armor_profile.clone()));
    let Some(p) = chosen else {
        return Ok(None);
    };
    Ok(Some(match p.type_.as_str() {
        "RuntimeDefault" => (
            profile(ProfileType::RuntimeDefault, String::new()),
            "runtime/default".to_owned(),
        ),
        "Unconfined" => (
            profile(ProfileType::Unconfined, String::new()),
            "unconfined".to_owned(),
        ),
        "Localhost" => {
            let Some(name) = p.localhost_profile else {
                return Err(SecurityError::MissingAppArmorLocalhostProfile);
            };
            (
                profile(ProfileType::Localhost, name.clone()),
                format!("localhost/{name}"),
            )
        }
        other => return Err(SecurityError::UnknownAppArmorType(other.to_owned())),
    }))
}

/// `fsGroup` first, then `supplementalGroups`: the extra groups of every
/// process in the pod.
fn pod_groups(sc: Option<&PodSecurityContext>) -> Vec<i64> {
    let Some(sc) = sc else {
        return Vec::new();
    };
    sc.fs_group
        .into_iter()
        .chain(sc.supplemental_groups.iter().flatten().copied())
        .collect()
}

fn groups_policy(sc: Option<&PodSecurityContext>) -> Result<i32, SecurityError> {
    match sc.and_then(|s| s.supplemental_groups_policy.as_deref()) {
        None | Some("Merge") => Ok(SupplementalGroupsPolicy::Merge as i32),
        Some("Strict") => Ok(SupplementalGroupsPolicy::Strict as i32),
        Some(other) => Err(SecurityError::UnsupportedSupplementalGroupsPolicy(
            other.to_owned(),
        )),
    }
}

/// The Linux security settings of `container` in `pod`.
///
/// `image_user` is the image's configured `USER` (`uid`, `uid:gid`, `name`
/// or `name:group`), `None` or empty when the image sets none (it then runs
/// as root). Without a `runAsUser`, the container runs as that user: a
/// numeric one as `run_as_user`, a named one as `run_as_username`.
///
/// - `privileged`, `readonly_rootfs`, `capabilities` (passed as written,
///   e.g. `NET_ADMIN` or `ALL`; the runtime adds the `CAP_` prefix), SELinux
///   options, user and group: the effective security context
///   ([`effective_security_context`]).
/// - `supplemental_groups`: the pod's `fsGroup`, then `supplementalGroups`.
/// - `no_new_privs`: only when `allowPrivilegeEscalation: false`; unset
///   means allowed, as upstream.
/// - `namespace_options`: always set, see [`namespace_options`].
/// - `seccomp`: see [`seccomp_profile`], `Localhost` profiles under
///   [`DEFAULT_SECCOMP_PROFILE_ROOT`].
/// - masked and read-only `/proc` paths unless `procMount: Unmasked`.
///
/// # Errors
/// `runAsNonRoot` violations, an incomplete `Localhost` profile, or an
/// unknown AppArmor type or groups policy; see [`SecurityError`].
pub fn container_security(
    pod: &Pod,
    container: &Container,
    image_user: Option<&str>,
) -> Result<LinuxContainerSecurityContext, SecurityError> {
    let sc = effective_security_context(pod, container);
    let (uid, username) = self::image_user(image_user);
    verify_run_as_non_root(pod, container, &sc, uid, &username)?;
    let pod_sc = pod_security_context(pod);

    let mut out = LinuxContainerSecurityContext {
        capabilities: sc.capabilities.as_ref().map(|c| Capability {
            add_capabilities: c.add.clone().unwrap_or_default(),
            drop_capabilities: c.drop.clone().unwrap_or_default(),
            ..Default::default()
        }),
        privileged: sc.privileged == Some(true),
        readonly_rootfs: sc.read_only_root_filesystem == Some(true),
        selinux_options: sc.se_linux_options.as_ref().map(selinux),
        run_as_user: sc.run_as_user.map(|value| Int64Value { value }),
        run_as_group: sc.run_as_group.map(|value| Int64Value { value }),
        namespace_options: Some(namespace_options(pod)),
        supplemental_groups: pod_groups(pod_sc),
        supplemental_groups_policy: groups_policy(pod_sc)?,
        no_new_privs: sc.allow_privilege_escalation == Some(false),
        seccomp: Some(seccomp_profile(
            pod,
            container,
            DEFAULT_SECCOMP_PROFILE_ROOT,
        )?),
        ..Default::default()
    };
    if out.run_as_user.is_none() {
        out.run_as_user = uid.map(|value| Int64Value { value });
        out.run_as_username = username;
    }
    if let Some((profile, legacy)) = apparmor_profile(pod, container)? {
        out.apparmor = Some(profile);
        out.apparmor_profile = legacy;
    }
    if sc.proc_mount.as_deref() != Some("Unmasked") {
        out.masked_paths = DEFAULT_MASKED_PATHS.map(str::to_owned).to_vec();
        out.readonly_paths = DEFAULT_READONLY_PATHS.map(str::to_owned).to_vec();
    }
    Ok(out)
}

/// The Linux security settings of a pod's sandbox (the pause process that
/// holds the pod's namespaces).
///
/// - `namespace_options`: see [`namespace_options`].
/// - `run_as_user` / `run_as_group`, SELinux options, groups
///   (`fsGroup` then `supplementalGroups`): the pod's security context.
/// - `privileged` when any container or init container is privileged: the
///   runtime must create the sandbox so that such containers can join it.
/// - `seccomp`: always `RuntimeDefault`, whatever the pod asks for its
///   containers; the pause process needs almost no syscalls.
///
/// An unknown `supplementalGroupsPolicy` (refused by validation) falls back
/// to `Merge` here; [`container_security`] reports it.
pub fn sandbox_security(pod: &Pod) -> LinuxSandboxSecurityContext {
    let sc = pod_security_context(pod);
    let privileged = pod.spec.iter().any(|spec| {
        spec.init_containers
            .iter()
            .flatten()
            .chain(&spec.containers)
            .any(|c| {
                c.security_context
                    .as_ref()
                    .and_then(|s| s.privileged)
                    .unwrap_or(false)
            })
    });
    LinuxSandboxSecurityContext {
        namespace_options: Some(namespace_options(pod)),
        selinux_options: sc.and_then(|s| s.se_linux_options.as_ref()).map(selinux),
        run_as_user: sc
            .and_then(|s| s.run_as_user)
            .map(|value| Int64Value { value }),
        run_as_group: sc
            .and_then(|s| s.run_as_group)
            .map(|value| Int64Value { value }),
        supplemental_groups: pod_groups(sc),
        supplemental_groups_policy: groups_policy(sc)
            .unwrap_or(SupplementalGroupsPolicy::Merge as i32),
        privileged,
        seccomp: Some(profile(ProfileType::RuntimeDefault, String::new())),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// A pod `p` in `ns` (uid `u-1`) with extra `spec` fields and one
    /// container `c` with the given `securityContext`.
    fn pod(spec: Value, container_sc: Value) -> Pod {
        let mut spec = spec;
        spec["containers"] = json!([{"name": "c", "securityContext": container_sc}]);
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u-1"},
            "spec": spec
        }))
        .expect("pod")
    }

    fn first(pod: &Pod) -> &Container {
        &pod.spec.as_ref().expect("spec").containers[0]
    }

    fn secure(
        pod: &Pod,
        image_user: Option<&str>,
    ) -> Result<LinuxContainerSecurityContext, SecurityError> {
        container_security(pod, first(pod), image_user)
    }

    fn ok(pod: &Pod, image_user: Option<&str>) -> LinuxContainerSecurityContext {
        secure(pod, image_user).expect("security context")
    }

    fn kind(p: &Option<SecurityProfile>) -> Option<(ProfileType, &str)> {
        p.as_ref().map(|p| {
            (
                ProfileType::try_from(p.profile_type).expect("profile type"),
                p.localhost_ref.as_str(),
            )
        })
    }

    fn modes(ns: &Option<NamespaceOption>) -> (NamespaceMode, NamespaceMode, NamespaceMode) {
        let ns = ns.as_ref().expect("namespace options");
        let m = |v: i32| NamespaceMode::try_from(v).expect("namespace mode");
        (m(ns.network), m(ns.pid), m(ns.ipc))
    }

    #[test]
    fn defaults_without_any_security_context() {
        let p = pod(json!({}), Value::Null);
        let sc = ok(&p, None);
        assert!(!sc.privileged && !sc.readonly_rootfs && !sc.no_new_privs);
        assert_eq!(sc.capabilities, None);
        assert_eq!(sc.selinux_options, None);
        assert_eq!(
            sc.run_as_user,
            Some(Int64Value { value: 0 }),
            "no image user: root"
        );
        assert_eq!(sc.run_as_username, "");
        assert_eq!(sc.run_as_group, None);
        assert!(sc.supplemental_groups.is_empty());
        assert_eq!(
            sc.supplemental_groups_policy,
            SupplementalGroupsPolicy::Merge as i32
        );
        assert_eq!(
            modes(&sc.namespace_options),
            (
                NamespaceMode::Pod,
                NamespaceMode::Container,
                NamespaceMode::Pod
            )
        );
        assert_eq!(kind(&sc.seccomp), Some((ProfileType::Unconfined, "")));
        assert_eq!(sc.apparmor, None);
        assert_eq!(sc.apparmor_profile, "");
        assert_eq!(sc.masked_paths, DEFAULT_MASKED_PATHS);
        assert_eq!(sc.readonly_paths, DEFAULT_READONLY_PATHS);
    }

    #[test]
    fn container_fields_override_pod_fields() {
        let p = pod(
            json!({"securityContext": {
                "runAsUser": 1000, "runAsGroup": 3000,
                "seLinuxOptions": {"level": "s0:c1,c2"}
            }}),
            json!({"runAsUser": 2000, "privileged": true, "readOnlyRootFilesystem": true}),
        );
        let eff = effective_security_context(&p, first(&p));
        assert_eq!(eff.run_as_user, Some(2000));
        assert_eq!(eff.run_as_group, Some(3000));
        let sc = ok(&p, Some("5"));
        assert_eq!(sc.run_as_user, Some(Int64Value { value: 2000 }));
        assert_eq!(sc.run_as_username, "", "runAsUser wins over the image user");
        assert_eq!(sc.run_as_group, Some(Int64Value { value: 3000 }));
        assert!(sc.privileged);
        assert!(sc.readonly_rootfs);
        assert_eq!(
            sc.selinux_options,
            Some(SeLinuxOption {
                level: "s0:c1,c2".into(),
                ..Default::default()
            })
        );

        let p = pod(
            json!({"securityContext": {"seLinuxOptions": {"level": "s0:c1"}}}),
            json!({"seLinuxOptions": {"type": "spc_t"}}),
        );
        let sc = ok(&p, None);
        let se = sc.selinux_options.expect("selinux");
        assert_eq!(
            (se.r#type.as_str(), se.level.as_str()),
            ("spc_t", ""),
            "replaced whole"
        );
    }

    #[test]
    fn the_image_user_applies_without_run_as_user() {
        let p = pod(json!({}), Value::Null);
        let cases: [(Option<&str>, Option<i64>, &str); 7] = [
            (None, Some(0), ""),
            (Some(""), Some(0), ""),
            (Some("1000"), Some(1000), ""),
            (Some("1000:1000"), Some(1000), ""),
            (Some("nginx"), None, "nginx"),
            (Some("nginx:www"), None, "nginx"),
            (Some(":1000"), Some(0), ""),
        ];
        for (image, uid, name) in cases {
            let sc = ok(&p, image);
            assert_eq!(sc.run_as_user.map(|u| u.value), uid, "{image:?}");
            assert_eq!(sc.run_as_username, name, "{image:?}");
        }
    }

    #[test]
    fn capabilities_are_passed_as_written() {
        let p = pod(
            json!({}),
            json!({"capabilities": {"add": ["NET_ADMIN", "CAP_SYS_TIME"], "drop": ["ALL"]}}),
        );
        let caps = ok(&p, None).capabilities.expect("capabilities");
        assert_eq!(caps.add_capabilities, ["NET_ADMIN", "CAP_SYS_TIME"]);
        assert_eq!(caps.drop_capabilities, ["ALL"]);
        assert!(caps.add_ambient_capabilities.is_empty());

        let p = pod(json!({}), json!({"capabilities": {}}));
        assert_eq!(ok(&p, None).capabilities, Some(Capability::default()));
    }

    #[test]
    fn no_new_privs_only_when_escalation_is_forbidden() {
        for (allow, want) in [
            (json!(false), true),
            (json!(true), false),
            (Value::Null, false),
        ] {
            let p = pod(json!({}), json!({"allowPrivilegeEscalation": allow}));
            assert_eq!(
                ok(&p, None).no_new_privs,
                want,
                "allowPrivilegeEscalation {allow}"
            );
        }
    }

    #[test]
    fn groups_come_from_the_pod() {
        let p = pod(
            json!({"securityContext": {
                "fsGroup": 2000, "supplementalGroups": [5, 6],
                "supplementalGroupsPolicy": "Strict"
            }}),
            Value::Null,
        );
        let sc = ok(&p, None);
        assert_eq!(sc.supplemental_groups, [2000, 5, 6]);
        assert_eq!(
            sc.supplemental_groups_policy,
            SupplementalGroupsPolicy::Strict as i32
        );

        let p = pod(
            json!({"securityContext": {"supplementalGroupsPolicy": "Loose"}}),
            Value::Null,
        );
        let err = secure(&p, None).expect_err("bad policy");
        assert_eq!(
            err.to_string(),
            "unsupported supplementalGroupsPolicy: Loose"
        );
    }

    #[test]
    fn namespaces_follow_the_pod() {
        use NamespaceMode::{Container as C, Node as N, Pod as P};
        let cases = [
            (json!({}), (P, C, P)),
            (json!({"hostNetwork": true}), (N, C, P)),
            (json!({"hostPID": true}), (P, N, P)),
            (json!({"hostIPC": true}), (P, C, N)),
            (json!({"shareProcessNamespace": true}), (P, P, P)),
            (json!({"shareProcessNamespace": false}), (P, C, P)),
            (
                json!({"hostPID": true, "shareProcessNamespace": true}),
                (P, N, P),
            ),
            (
                json!({"hostNetwork": true, "hostPID": true, "hostIPC": true}),
                (N, N, N),
            ),
        ];
        for (spec, want) in cases {
            let p = pod(spec.clone(), Value::Null);
            assert_eq!(modes(&ok(&p, None).namespace_options), want, "{spec}");
            assert_eq!(
                modes(&sandbox_security(&p).namespace_options),
                want,
                "{spec}"
            );
        }
    }

    #[test]
    fn run_as_non_root_refuses_root() {
        let non_root = json!({"securityContext": {"runAsNonRoot": true}});
        let p = pod(non_root.clone(), json!({"runAsUser": 0}));
        assert_eq!(
            secure(&p, Some("1000")).expect_err("uid 0").to_string(),
            "container's runAsUser breaks non-root policy (pod: \"p_ns(u-1)\", container: c)"
        );

        let p = pod(non_root.clone(), Value::Null);
        for image in [None, Some(""), Some("0"), Some("0:0")] {
            assert_eq!(
                secure(&p, image).expect_err("root image").to_string(),
                "container has runAsNonRoot and image will run as root (pod: \"p_ns(u-1)\", container: c)",
                "{image:?}"
            );
        }
        assert_eq!(
            secure(&p, Some("app")).expect_err("named user").to_string(),
            "container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root (pod: \"p_ns(u-1)\", container: c)"
        );
        let err = secure(&p, Some("4294967296")).expect_err("uid too large");
        assert!(
            matches!(
                err,
                SecurityError::InvalidImageUid {
                    uid: 4_294_967_296,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(matches!(
            secure(&p, Some("-1")),
            Err(SecurityError::InvalidImageUid { uid: -1, .. })
        ));
        assert_eq!(
            ok(&p, Some("1000")).run_as_user,
            Some(Int64Value { value: 1000 })
        );
        assert_eq!(
            ok(&p, Some("2147483647:0")).run_as_user.map(|u| u.value),
            Some(2_147_483_647)
        );
    }

    #[test]
    fn run_as_non_root_accepts_a_non_root_run_as_user() {
        let p = pod(
            json!({"securityContext": {"runAsUser": 1000}}),
            json!({"runAsNonRoot": true}),
        );
        assert_eq!(ok(&p, None).run_as_user, Some(Int64Value { value: 1000 }));
        // An explicit false on the container lifts the pod's policy.
        let p = pod(
            json!({"securityContext": {"runAsNonRoot": true}}),
            json!({"runAsNonRoot": false}),
        );
        assert_eq!(ok(&p, None).run_as_user, Some(Int64Value { value: 0 }));
    }

    #[test]
    fn seccomp_profiles() {
        let pod_local = json!({"securityContext": {"seccompProfile": {
            "type": "Localhost", "localhostProfile": "profiles/audit.json"
        }}});
        let p = pod(pod_local.clone(), Value::Null);
        assert_eq!(
            kind(&ok(&p, None).seccomp),
            Some((
                ProfileType::Localhost,
                "/var/lib/kubelet/seccomp/profiles/audit.json"
            ))
        );
        let got = seccomp_profile(&p, first(&p), "/srv/kubelet/seccomp/").expect("profile");
        assert_eq!(
            got.localhost_ref,
            "/srv/kubelet/seccomp/profiles/audit.json"
        );

        let p = pod(
            pod_local,
            json!({"seccompProfile": {"type": "RuntimeDefault"}}),
        );
        assert_eq!(
            kind(&ok(&p, None).seccomp),
            Some((ProfileType::RuntimeDefault, ""))
        );

        let p = pod(json!({}), json!({"seccompProfile": {"type": "Unconfined"}}));
        assert_eq!(
            kind(&ok(&p, None).seccomp),
            Some((ProfileType::Unconfined, ""))
        );
        let p = pod(json!({}), json!({"seccompProfile": {"type": "Bogus"}}));
        assert_eq!(
            kind(&ok(&p, None).seccomp),
            Some((ProfileType::Unconfined, ""))
        );

        let p = pod(json!({}), json!({"seccompProfile": {"type": "Localhost"}}));
        assert_eq!(
            secure(&p, None).expect_err("no profile").to_string(),
            "localhostProfile must be set if seccompProfile type is Localhost"
        );
    }

    #[test]
    fn apparmor_profiles() {
        let annotated = |value: &str, spec: Value, sc: Value| {
            let mut p = pod(spec, sc);
            p.metadata.annotations.insert(
                "container.apparmor.security.beta.kubernetes.io/c".into(),
                value.into(),
            );
            p
        };
        let pod_unconfined =
            json!({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}});

        let p = pod(
            pod_unconfined.clone(),
            json!({"appArmorProfile": {"type": "RuntimeDefault"}}),
        );
        let sc = ok(&p, None);
        assert_eq!(kind(&sc.apparmor), Some((ProfileType::RuntimeDefault, "")));
        assert_eq!(sc.apparmor_profile, "runtime/default");

        let p = pod(pod_unconfined.clone(), Value::Null);
        let sc = ok(&p, None);
        assert_eq!(kind(&sc.apparmor), Some((ProfileType::Unconfined, "")));
        assert_eq!(sc.apparmor_profile, "unconfined");

        // The annotation sits between the container's and the pod's field.
        let p = annotated("localhost/k8s-nginx", pod_unconfined.clone(), Value::Null);
        let sc = ok(&p, None);
        assert_eq!(
            kind(&sc.apparmor),
            Some((ProfileType::Localhost, "k8s-nginx"))
        );
        assert_eq!(sc.apparmor_profile, "localhost/k8s-nginx");
        let p = annotated(
            "unconfined",
            json!({}),
            json!({"appArmorProfile": {"type": "Localhost", "localhostProfile": "mine"}}),
        );
        assert_eq!(
            kind(&ok(&p, None).apparmor),
            Some((ProfileType::Localhost, "mine"))
        );
        let p = annotated("runtime/default", json!({}), Value::Null);
        assert_eq!(
            kind(&ok(&p, None).apparmor),
            Some((ProfileType::RuntimeDefault, ""))
        );
        // An unreadable annotation is ignored.
        let p = annotated("bogus", pod_unconfined, Value::Null);
        assert_eq!(
            kind(&ok(&p, None).apparmor),
            Some((ProfileType::Unconfined, ""))
        );

        let p = pod(json!({}), json!({"appArmorProfile": {"type": "Localhost"}}));
        assert_eq!(
            secure(&p, None).expect_err("no name").to_string(),
            "missing localhost apparmor profile name"
        );
        let p = pod(json!({}), json!({"appArmorProfile": {"type": "Strict"}}));
        assert_eq!(
            secure(&p, None).expect_err("bad type").to_string(),
            "unknown apparmor profile type: \"Strict\""
        );
    }

    #[test]
    fn unmasked_proc_mounts_mask_nothing() {
        let p = pod(json!({}), json!({"procMount": "Unmasked"}));
        let sc = ok(&p, None);
        assert!(sc.masked_paths.is_empty() && sc.readonly_paths.is_empty());
        let p = pod(json!({}), json!({"procMount": "Default"}));
        assert_eq!(ok(&p, None).masked_paths.len(), DEFAULT_MASKED_PATHS.len());
    }

    #[test]
    fn sandbox_security_from_the_pod() {
        let p: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {
                "hostNetwork": true,
                "securityContext": {
                    "runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000,
                    "supplementalGroups": [7], "supplementalGroupsPolicy": "Strict",
                    "seLinuxOptions": {"user": "system_u", "role": "system_r", "type": "t", "level": "s0"},
                    "seccompProfile": {"type": "Unconfined"}
                },
                "initContainers": [{"name": "setup", "securityContext": {"privileged": true}}],
                "containers": [{"name": "c", "securityContext": {"privileged": false}}]
            }
        }))
        .expect("pod");
        let sb = sandbox_security(&p);
        assert_eq!(sb.run_as_user, Some(Int64Value { value: 1000 }));
        assert_eq!(sb.run_as_group, Some(Int64Value { value: 3000 }));
        assert_eq!(sb.supplemental_groups, [2000, 7]);
        assert_eq!(
            sb.supplemental_groups_policy,
            SupplementalGroupsPolicy::Strict as i32
        );
        assert!(sb.privileged, "an init container is privileged");
        assert!(!sb.readonly_rootfs);
        assert_eq!(
            sb.selinux_options,
            Some(SeLinuxOption {
                user: "system_u".into(),
                role: "system_r".into(),
                r#type: "t".into(),
                level: "s0".into(),
            })
        );
        assert_eq!(
            kind(&sb.seccomp),
            Some((ProfileType::RuntimeDefault, "")),
            "the sandbox always runs with the runtime's default profile"
        );
        assert_eq!(
            modes(&sb.namespace_options),
            (
                NamespaceMode::Node,
                NamespaceMode::Container,
                NamespaceMode::Pod
            )
        );
    }

    #[test]
    fn sandbox_security_defaults() {
        let p = pod(json!({}), Value::Null);
        let sb = sandbox_security(&p);
        assert!(!sb.privileged);
        assert_eq!(sb.run_as_user, None);
        assert_eq!(sb.run_as_group, None);
        assert!(sb.supplemental_groups.is_empty());
        assert_eq!(sb.selinux_options, None);
        assert_eq!(kind(&sb.seccomp), Some((ProfileType::RuntimeDefault, "")));
        assert_eq!(sb.apparmor, None);

        let bad = pod(
            json!({"securityContext": {"supplementalGroupsPolicy": "Loose"}}),
            Value::Null,
        );
        assert_eq!(
            sandbox_security(&bad).supplemental_groups_policy,
            SupplementalGroupsPolicy::Merge as i32
        );

        let bare: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}})).expect("pod");
        assert_eq!(
            modes(&sandbox_security(&bare).namespace_options),
            (
                NamespaceMode::Pod,
                NamespaceMode::Container,
                NamespaceMode::Pod
            )
        );
    }
}
