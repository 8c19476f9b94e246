//! Containers: ports, environment, resources, volume mounts, and their status.

use super::*;

pub static CONTAINER: Message = message(
    "Container",
    &[
        field(1, "name", STRING),
        field(2, "image", STRING),
        list(3, "command", STRING),
        list(4, "args", STRING),
        field(5, "workingDir", STRING),
        list(6, "ports", msg(&CONTAINER_PORT)),
        list(7, "env", msg(&ENV_VAR)),
        field(8, "resources", msg(&RESOURCE_REQUIREMENTS)),
        list(9, "volumeMounts", msg(&VOLUME_MOUNT)),
        field(10, "livenessProbe", msg(&PROBE)),
        field(11, "readinessProbe", msg(&PROBE)),
        field(12, "lifecycle", msg(&LIFECYCLE)),
        field(13, "terminationMessagePath", STRING),
        field(14, "imagePullPolicy", STRING),
        field(15, "securityContext", msg(&SECURITY_CONTEXT)),
        field(16, "stdin", BOOL),
        field(17, "stdinOnce", BOOL),
        field(18, "tty", BOOL),
        list(19, "envFrom", msg(&ENV_FROM_SOURCE)),
        field(20, "terminationMessagePolicy", STRING),
        list(21, "volumeDevices", msg(&VOLUME_DEVICE)),
        field(22, "startupProbe", msg(&PROBE)),
        list(23, "resizePolicy", msg(&CONTAINER_RESIZE_POLICY)),
        keep(24, "restartPolicy", STRING),
        list(25, "restartPolicyRules", msg(&CONTAINER_RESTART_RULE)),
    ],
);

pub static CONTAINER_PORT: Message = message(
    "ContainerPort",
    &[
        field(1, "name", STRING),
        field(2, "hostPort", INT32),
        keep(3, "containerPort", INT32),
        field(4, "protocol", STRING),
        field(5, "hostIP", STRING),
    ],
);

pub static ENV_FROM_SOURCE: Message = message(
    "EnvFromSource",
    &[
        field(1, "prefix", STRING),
        field(2, "configMapRef", msg(&CONFIG_MAP_ENV_SOURCE)),
        field(3, "secretRef", msg(&SECRET_ENV_SOURCE)),
    ],
);

pub static CONFIG_MAP_ENV_SOURCE: Message = message(
    "ConfigMapEnvSource",
    &[
        inline(1, msg(&LOCAL_OBJECT_REFERENCE)),
        keep(2, "optional", BOOL),
    ],
);

pub static SECRET_ENV_SOURCE: Message = message(
    "SecretEnvSource",
    &[
        inline(1, msg(&LOCAL_OBJECT_REFERENCE)),
        keep(2, "optional", BOOL),
    ],
);

pub static ENV_VAR: Message = message(
    "EnvVar",
    &[
        field(1, "name", STRING),
        field(2, "value", STRING),
        field(3, "valueFrom", msg(&ENV_VAR_SOURCE)),
    ],
);

pub static ENV_VAR_SOURCE: Message = message(
    "EnvVarSource",
    &[
        field(1, "fieldRef", msg(&OBJECT_FIELD_SELECTOR)),
        field(2, "resourceFieldRef", msg(&RESOURCE_FIELD_SELECTOR)),
        field(3, "configMapKeyRef", msg(&CONFIG_MAP_KEY_SELECTOR)),
        field(4, "secretKeyRef", msg(&SECRET_KEY_SELECTOR)),
        field(5, "fileKeyRef", msg(&FILE_KEY_SELECTOR)),
    ],
);

pub static CONFIG_MAP_KEY_SELECTOR: Message = message(
    "ConfigMapKeySelector",
    &[
        inline(1, msg(&LOCAL_OBJECT_REFERENCE)),
        field(2, "key", STRING),
        keep(3, "optional", BOOL),
    ],
);

pub static SECRET_KEY_SELECTOR: Message = message(
    "SecretKeySelector",
    &[
        inline(1, msg(&LOCAL_OBJECT_REFERENCE)),
        field(2, "key", STRING),
        keep(3, "optional", BOOL),
    ],
);

pub static FILE_KEY_SELECTOR: Message = message(
    "FileKeySelector",
    &[
        field(1, "volumeName", STRING),
        field(2, "path", STRING),
        field(3, "key", STRING),
        keep(4, "optional", BOOL),
    ],
);

pub static RESOURCE_REQUIREMENTS: Message = message(
    "ResourceRequirements",
    &[
        map(1, "limits", QUANTITY),
        map(2, "requests", QUANTITY),
        list(3, "claims", msg(&RESOURCE_CLAIM)),
    ],
);

pub static RESOURCE_CLAIM: Message = message(
    "ResourceClaim",
    &[field(1, "name", STRING), field(2, "request", STRING)],
);

pub static CONTAINER_RESIZE_POLICY: Message = message(
    "ContainerResizePolicy",
    &[
        field(1, "resourceName", STRING),
        field(2, "restartPolicy", STRING),
    ],
);

pub static CONTAINER_RESTART_RULE: Message = message(
    "ContainerRestartRule",
    &[
        field(1, "action", STRING),
        field(2, "exitCodes", msg(&CONTAINER_RESTART_RULE_ON_EXIT_CODES)),
    ],
);

pub static CONTAINER_RESTART_RULE_ON_EXIT_CODES: Message = message(
    "ContainerRestartRuleOnExitCodes",
    &[field(1, "operator", STRING), list(2, "values", INT32)],
);

pub static VOLUME_MOUNT: Message = message(
    "VolumeMount",
    &[
        field(1, "name", STRING),
        field(2, "readOnly", BOOL),
        field(3, "mountPath", STRING),
        field(4, "subPath", STRING),
        keep(5, "mountPropagation", STRING),
        field(6, "subPathExpr", STRING),
        keep(7, "recursiveReadOnly", STRING),
    ],
);

pub static VOLUME_DEVICE: Message = message(
    "VolumeDevice",
    &[field(1, "name", STRING), field(2, "devicePath", STRING)],
);

pub static EPHEMERAL_CONTAINER: Message = message(
    "EphemeralContainer",
    &[
        inline(1, msg(&EPHEMERAL_CONTAINER_COMMON)),
        field(2, "targetContainerName", STRING),
    ],
);

pub static EPHEMERAL_CONTAINER_COMMON: Message = message(
    "EphemeralContainerCommon",
    &[
        field(1, "name", STRING),
        field(2, "image", STRING),
        list(3, "command", STRING),
        list(4, "args", STRING),
        field(5, "workingDir", STRING),
        list(6, "ports", msg(&CONTAINER_PORT)),
        list(7, "env", msg(&ENV_VAR)),
        field(8, "resources", msg(&RESOURCE_REQUIREMENTS)),
        list(9, "volumeMounts", msg(&VOLUME_MOUNT)),
        field(10, "livenessProbe", msg(&PROBE)),
        field(11, "readinessProbe", msg(&PROBE)),
        field(12, "lifecycle", msg(&LIFECYCLE)),
        field(13, "terminationMessagePath", STRING),
        field(14, "imagePullPolicy", STRING),
        field(15, "securityContext", msg(&SECURITY_CONTEXT)),
        field(16, "stdin", BOOL),
        field(17, "stdinOnce", BOOL),
        field(18, "tty", BOOL),
        list(19, "envFrom", msg(&ENV_FROM_SOURCE)),
        field(20, "terminationMessagePolicy", STRING),
        list(21, "volumeDevices", msg(&VOLUME_DEVICE)),
        field(22, "startupProbe", msg(&PROBE)),
        list(23, "resizePolicy", msg(&CONTAINER_RESIZE_POLICY)),
        keep(24, "restartPolicy", STRING),
        list(25, "restartPolicyRules", msg(&CONTAINER_RESTART_RULE)),
    ],
);

pub static CONTAINER_STATUS: Message = message(
    "ContainerStatus",
    &[
        field(1, "name", STRING),
        field(2, "state", msg(&CONTAINER_STATE)),
        field(3, "lastState", msg(&CONTAINER_STATE)),
        keep(4, "ready", BOOL),
        keep(5, "restartCount", INT32),
        field(6, "image", STRING),
        field(7, "imageID", STRING),
        field(8, "containerID", STRING),
        keep(9, "started", BOOL),
        map(10, "allocatedResources", QUANTITY),
        field(11, "resources", msg(&RESOURCE_REQUIREMENTS)),
        list(12, "volumeMounts", msg(&VOLUME_MOUNT_STATUS)),
        field(13, "user", msg(&CONTAINER_USER)),
        list(14, "allocatedResourcesStatus", msg(&RESOURCE_STATUS)),
        keep(15, "stopSignal", STRING),
    ],
);

pub static CONTAINER_STATE: Message = message(
    "ContainerState",
    &[
        field(1, "waiting", msg(&CONTAINER_STATE_WAITING)),
        field(2, "running", msg(&CONTAINER_STATE_RUNNING)),
        field(3, "terminated", msg(&CONTAINER_STATE_TERMINATED)),
    ],
);

pub static CONTAINER_STATE_WAITING: Message = message(
    "ContainerStateWaiting",
    &[field(1, "reason", STRING), field(2, "message", STRING)],
);

pub static CONTAINER_STATE_RUNNING: Message =
    message("ContainerStateRunning", &[field(1, "startedAt", TIME)]);

pub static CONTAINER_STATE_TERMINATED: Message = message(
    "ContainerStateTerminated",
    &[
        keep(1, "exitCode", INT32),
        field(2, "signal", INT32),
        field(3, "reason", STRING),
        field(4, "message", STRING),
        field(5, "startedAt", TIME),
        field(6, "finishedAt", TIME),
        field(7, "containerID", STRING),
    ],
);

pub static VOLUME_MOUNT_STATUS: Message = message(
    "VolumeMountStatus",
    &[
        field(1, "name", STRING),
        field(2, "mountPath", STRING),
        field(3, "readOnly", BOOL),
        keep(4, "recursiveReadOnly", STRING),
    ],
);

pub static CONTAINER_USER: Message = message(
    "ContainerUser",
    &[field(1, "linux", msg(&LINUX_CONTAINER_USER))],
);

pub static LINUX_CONTAINER_USER: Message = message(
    "LinuxContainerUser",
    &[
        keep(1, "uid", INT64),
        keep(2, "gid", INT64),
        list(3, "supplementalGroups", INT64),
    ],
);

pub static RESOURCE_STATUS: Message = message(
    "ResourceStatus",
    &[
        field(1, "name", STRING),
        list(2, "resources", msg(&RESOURCE_HEALTH)),
    ],
);

pub static RESOURCE_HEALTH: Message = message(
    "ResourceHealth",
    &[field(1, "resourceID", STRING), field(2, "health", STRING)],
);
