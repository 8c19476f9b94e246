//! The small core/v1 kinds: Namespace, ConfigMap, Secret, ServiceAccount,
//! Event, ReplicationController, and object references.

use super::*;

pub static NAMESPACE: Message = message(
    "Namespace",
    &[
        field(1, "metadata", msg(&meta::OBJECT_META)),
        field(2, "spec", msg(&NAMESPACE_SPEC)),
        field(3, "status", msg(&NAMESPACE_STATUS)),
    ],
);

pub static NAMESPACE_SPEC: Message = message("NamespaceSpec", &[list(1, "finalizers", STRING)]);

pub static NAMESPACE_STATUS: Message = message(
    "NamespaceStatus",
    &[
        field(1, "phase", STRING),
        list(2, "conditions", msg(&NAMESPACE_CONDITION)),
    ],
);

pub static NAMESPACE_CONDITION: Message = message(
    "NamespaceCondition",
    &[
        field(1, "type", STRING),
        field(2, "status", STRING),
        field(4, "lastTransitionTime", TIME),
        field(5, "reason", STRING),
        field(6, "message", STRING),
    ],
);

pub static LOCAL_OBJECT_REFERENCE: Message =
    message("LocalObjectReference", &[field(1, "name", STRING)]);

pub static OBJECT_REFERENCE: Message = message(
    "ObjectReference",
    &[
        field(1, "kind", STRING),
        field(2, "namespace", STRING),
        field(3, "name", STRING),
        field(4, "uid", STRING),
        field(5, "apiVersion", STRING),
        field(6, "resourceVersion", STRING),
        field(7, "fieldPath", STRING),
    ],
);

pub static CONFIG_MAP: Message = message(
    "ConfigMap",
    &[
        field(1, "metadata", msg(&meta::OBJECT_META)),
        map(2, "data", STRING),
        map(3, "binaryData", BYTES),
        keep(4, "immutable", BOOL),
    ],
);

pub static SECRET: Message = message(
    "Secret",
    &[
        field(1, "metadata", msg(&meta::OBJECT_META)),
        map(2, "data", BYTES),
        field(3, "type", STRING),
        map(4, "stringData", STRING),
        keep(5, "immutable", BOOL),
    ],
);

pub static EVENT: Message = message(
    "Event",
    &[
        field(1, "metadata", msg(&meta::OBJECT_META)),
        field(2, "involvedObject", msg(&OBJECT_REFERENCE)),
        field(3, "reason", STRING),
        field(4, "message", STRING),
        field(5, "source", msg(&EVENT_SOURCE)),
        field(6, "firstTimestamp", TIME),
        field(7, "lastTimestamp", TIME),
        field(8, "count", INT32),
        field(9, "type", STRING),
        field(10, "eventTime", MICRO_TIME),
        field(11, "series", msg(&EVENT_SERIES)),
        field(12, "action", STRING),
        field(13, "related", msg(&OBJECT_REFERENCE)),
        field(14, "reportingComponent", STRING),
        field(15, "reportingInstance", STRING),
    ],
);

pub static EVENT_SOURCE: Message = message(
    "EventSource",
    &[field(1, "component", STRING), field(2, "host", STRING)],
);

pub static EVENT_SERIES: Message = message(
    "EventSeries",
    &[
        field(1, "count", INT32),
        field(2, "lastObservedTime", MICRO_TIME),
    ],
);

pub static SERVICE_ACCOUNT: Message = message(
    "ServiceAccount",
    &[
        field(1, "metadata", msg(&meta::OBJECT_META)),
        list(2, "secrets", msg(&OBJECT_REFERENCE)),
        list(3, "imagePullSecrets", msg(&LOCAL_OBJECT_REFERENCE)),
        keep(4, "automountServiceAccountToken", BOOL),
    ],
);

pub static REPLICATION_CONTROLLER: Message = message(
    "ReplicationController",
    &[
        field(1, "metadata", msg(&meta::OBJECT_META)),
        field(2, "spec", msg(&REPLICATION_CONTROLLER_SPEC)),
        field(3, "status", msg(&REPLICATION_CONTROLLER_STATUS)),
    ],
);

pub static REPLICATION_CONTROLLER_SPEC: Message = message(
    "ReplicationControllerSpec",
    &[
        keep(1, "replicas", INT32),
        map(2, "selector", STRING),
        field(3, "template", msg(&POD_TEMPLATE_SPEC)),
        field(4, "minReadySeconds", INT32),
    ],
);

pub static REPLICATION_CONTROLLER_STATUS: Message = message(
    "ReplicationControllerStatus",
    &[
        keep(1, "replicas", INT32),
        field(2, "fullyLabeledReplicas", INT32),
        field(3, "observedGeneration", INT64),
        field(4, "readyReplicas", INT32),
        field(5, "availableReplicas", INT32),
        list(6, "conditions", msg(&REPLICATION_CONTROLLER_CONDITION)),
    ],
);

pub static REPLICATION_CONTROLLER_CONDITION: Message = message(
    "ReplicationControllerCondition",
    &[
        field(1, "type", STRING),
        field(2, "status", STRING),
        field(3, "lastTransitionTime", TIME),
        field(4, "reason", STRING),
        field(5, "message", STRING),
    ],
);
