//! Security contexts (pod and container), capabilities, SELinux,
//! seccomp, AppArmor, Windows options and sysctls.

use super::*;

pub static SECURITY_CONTEXT: Message = message(
    "SecurityContext",
    &[
        field(1, "capabilities", msg(&CAPABILITIES)),
        keep(2, "privileged", BOOL),
        field(3, "seLinuxOptions", msg(&SE_LINUX_OPTIONS)),
        keep(4, "runAsUser", INT64),
        keep(5, "runAsNonRoot", BOOL),
        keep(6, "readOnlyRootFilesystem", BOOL),
        keep(7, "allowPrivilegeEscalation", BOOL),
        keep(8, "runAsGroup", INT64),
        keep(9, "procMount", STRING),
        field(10, "windowsOptions", msg(&WINDOWS_SECURITY_CONTEXT_OPTIONS)),
        field(11, "seccompProfile", msg(&SECCOMP_PROFILE)),
        field(12, "appArmorProfile", msg(&APP_ARMOR_PROFILE)),
    ],
);

pub static CAPABILITIES: Message = message(
    "Capabilities",
    &[list(1, "add", STRING), list(2, "drop", STRING)],
);

pub static SE_LINUX_OPTIONS: Message = message(
    "SELinuxOptions",
    &[
        field(1, "user", STRING),
        field(2, "role", STRING),
        field(3, "type", STRING),
        field(4, "level", STRING),
    ],
);

pub static WINDOWS_SECURITY_CONTEXT_OPTIONS: Message = message(
    "WindowsSecurityContextOptions",
    &[
        keep(1, "gmsaCredentialSpecName", STRING),
        keep(2, "gmsaCredentialSpec", STRING),
        keep(3, "runAsUserName", STRING),
        keep(4, "hostProcess", BOOL),
    ],
);

pub static SECCOMP_PROFILE: Message = message(
    "SeccompProfile",
    &[
        field(1, "type", STRING),
        keep(2, "localhostProfile", STRING),
    ],
);

pub static APP_ARMOR_PROFILE: Message = message(
    "AppArmorProfile",
    &[
        field(1, "type", STRING),
        keep(2, "localhostProfile", STRING),
    ],
);

pub static POD_SECURITY_CONTEXT: Message = message(
    "PodSecurityContext",
    &[
        field(1, "seLinuxOptions", msg(&SE_LINUX_OPTIONS)),
        keep(2, "runAsUser", INT64),
        keep(3, "runAsNonRoot", BOOL),
        list(4, "supplementalGroups", INT64),
        keep(5, "fsGroup", INT64),
        keep(6, "runAsGroup", INT64),
        list(7, "sysctls", msg(&SYSCTL)),
        field(8, "windowsOptions", msg(&WINDOWS_SECURITY_CONTEXT_OPTIONS)),
        keep(9, "fsGroupChangePolicy", STRING),
        field(10, "seccompProfile", msg(&SECCOMP_PROFILE)),
        field(11, "appArmorProfile", msg(&APP_ARMOR_PROFILE)),
        keep(12, "supplementalGroupsPolicy", STRING),
        keep(13, "seLinuxChangePolicy", STRING),
    ],
);

pub static SYSCTL: Message = message(
    "Sysctl",
    &[field(1, "name", STRING), field(2, "value", STRING)],
);
