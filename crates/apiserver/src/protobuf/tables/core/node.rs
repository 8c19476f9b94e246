//! Node: spec (taints, podCIDR) and status (conditions, addresses,
//! capacity, node info, images).

use super::*;

pub static NODE: Message = message(
    "Node",
    &[
        field(1, "metadata", msg(&meta::OBJECT_META)),
        field(2, "spec", msg(&NODE_SPEC)),
        field(3, "status", msg(&NODE_STATUS)),
    ],
);

pub static NODE_SPEC: Message = message(
    "NodeSpec",
    &[
        field(1, "podCIDR", STRING),
        field(2, "externalID", STRING),
        field(3, "providerID", STRING),
        field(4, "unschedulable", BOOL),
        list(5, "taints", msg(&TAINT)),
        field(6, "configSource", msg(&NODE_CONFIG_SOURCE)),
        list(7, "podCIDRs", STRING),
    ],
);

pub static TAINT: Message = message(
    "Taint",
    &[
        field(1, "key", STRING),
        field(2, "value", STRING),
        field(3, "effect", STRING),
        field(4, "timeAdded", TIME),
    ],
);

pub static NODE_CONFIG_SOURCE: Message = message(
    "NodeConfigSource",
    &[field(2, "configMap", msg(&CONFIG_MAP_NODE_CONFIG_SOURCE))],
);

pub static CONFIG_MAP_NODE_CONFIG_SOURCE: Message = message(
    "ConfigMapNodeConfigSource",
    &[
        field(1, "namespace", STRING),
        field(2, "name", STRING),
        field(3, "uid", STRING),
        field(4, "resourceVersion", STRING),
        field(5, "kubeletConfigKey", STRING),
    ],
);

pub static NODE_STATUS: Message = message(
    "NodeStatus",
    &[
        map(1, "capacity", QUANTITY),
        map(2, "allocatable", QUANTITY),
        field(3, "phase", STRING),
        list(4, "conditions", msg(&NODE_CONDITION)),
        list(5, "addresses", msg(&NODE_ADDRESS)),
        field(6, "daemonEndpoints", msg(&NODE_DAEMON_ENDPOINTS)),
        field(7, "nodeInfo", msg(&NODE_SYSTEM_INFO)),
        list(8, "images", msg(&CONTAINER_IMAGE)),
        list(9, "volumesInUse", STRING),
        list(10, "volumesAttached", msg(&ATTACHED_VOLUME)),
        field(11, "config", msg(&NODE_CONFIG_STATUS)),
        list(12, "runtimeHandlers", msg(&NODE_RUNTIME_HANDLER)),
        field(13, "features", msg(&NODE_FEATURES)),
    ],
);

pub static NODE_CONDITION: Message = message(
    "NodeCondition",
    &[
        field(1, "type", STRING),
        field(2, "status", STRING),
        field(3, "lastHeartbeatTime", TIME),
        field(4, "lastTransitionTime", TIME),
        field(5, "reason", STRING),
        field(6, "message", STRING),
    ],
);

pub static NODE_ADDRESS: Message = message(
    "NodeAddress",
    &[field(1, "type", STRING), field(2, "address", STRING)],
);

pub static NODE_DAEMON_ENDPOINTS: Message = message(
    "NodeDaemonEndpoints",
    &[field(1, "kubeletEndpoint", msg(&DAEMON_ENDPOINT))],
);

pub static DAEMON_ENDPOINT: Message = message("DaemonEndpoint", &[keep(1, "Port", INT32)]);

pub static NODE_SYSTEM_INFO: Message = message(
    "NodeSystemInfo",
    &[
        field(1, "machineID", STRING),
        field(2, "systemUUID", STRING),
        field(3, "bootID", STRING),
        field(4, "kernelVersion", STRING),
        field(5, "osImage", STRING),
        field(6, "containerRuntimeVersion", STRING),
        field(7, "kubeletVersion", STRING),
        field(8, "kubeProxyVersion", STRING),
        field(9, "operatingSystem", STRING),
        field(10, "architecture", STRING),
        field(11, "swap", msg(&NODE_SWAP_STATUS)),
    ],
);

pub static NODE_SWAP_STATUS: Message = message("NodeSwapStatus", &[keep(1, "capacity", INT64)]);

pub static CONTAINER_IMAGE: Message = message(
    "ContainerImage",
    &[list(1, "names", STRING), field(2, "sizeBytes", INT64)],
);

pub static ATTACHED_VOLUME: Message = message(
    "AttachedVolume",
    &[field(1, "name", STRING), field(2, "devicePath", STRING)],
);

pub static NODE_CONFIG_STATUS: Message = message(
    "NodeConfigStatus",
    &[
        field(1, "assigned", msg(&NODE_CONFIG_SOURCE)),
        field(2, "active", msg(&NODE_CONFIG_SOURCE)),
        field(3, "lastKnownGood", msg(&NODE_CONFIG_SOURCE)),
        field(4, "error", STRING),
    ],
);

pub static NODE_RUNTIME_HANDLER: Message = message(
    "NodeRuntimeHandler",
    &[
        field(1, "name", STRING),
        field(2, "features", msg(&NODE_RUNTIME_HANDLER_FEATURES)),
    ],
);

pub static NODE_RUNTIME_HANDLER_FEATURES: Message = message(
    "NodeRuntimeHandlerFeatures",
    &[
        keep(1, "recursiveReadOnlyMounts", BOOL),
        keep(2, "userNamespaces", BOOL),
    ],
);

pub static NODE_FEATURES: Message =
    message("NodeFeatures", &[keep(1, "supplementalGroupsPolicy", BOOL)]);
