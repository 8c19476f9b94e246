//! `apps/v1`: Deployment and ReplicaSet.

use super::{core, meta};
use crate::protobuf::schema::*;

pub static REPLICA_SET: Message = message(
    "ReplicaSet",
    &[
        field(1, "metadata", msg(&meta::OBJECT_META)),
        field(2, "spec", msg(&REPLICA_SET_SPEC)),
        field(3, "status", msg(&REPLICA_SET_STATUS)),
    ],
);

pub static REPLICA_SET_SPEC: Message = message(
    "ReplicaSetSpec",
    &[
        keep(1, "replicas", INT32),
        field(2, "selector", msg(&meta::LABEL_SELECTOR)),
        field(3, "template", msg(&core::POD_TEMPLATE_SPEC)),
        field(4, "minReadySeconds", INT32),
    ],
);

pub static REPLICA_SET_STATUS: Message = message(
    "ReplicaSetStatus",
    &[
        keep(1, "replicas", INT32),
        field(2, "fullyLabeledReplicas", INT32),
        field(3, "observedGeneration", INT64),
        field(4, "readyReplicas", INT32),
        field(5, "availableReplicas", INT32),
        list(6, "conditions", msg(&REPLICA_SET_CONDITION)),
        keep(7, "terminatingReplicas", INT32),
    ],
);

pub static REPLICA_SET_CONDITION: Message = message(
    "ReplicaSetCondition",
    &[
        field(1, "type", STRING),
        field(2, "status", STRING),
        field(3, "lastTransitionTime", TIME),
        field(4, "reason", STRING),
        field(5, "message", STRING),
    ],
);

pub static DEPLOYMENT: Message = message(
    "Deployment",
    &[
        field(1, "metadata", msg(&meta::OBJECT_META)),
        field(2, "spec", msg(&DEPLOYMENT_SPEC)),
        field(3, "status", msg(&DEPLOYMENT_STATUS)),
    ],
);

pub static DEPLOYMENT_SPEC: Message = message(
    "DeploymentSpec",
    &[
        keep(1, "replicas", INT32),
        field(2, "selector", msg(&meta::LABEL_SELECTOR)),
        field(3, "template", msg(&core::POD_TEMPLATE_SPEC)),
        field(4, "strategy", msg(&DEPLOYMENT_STRATEGY)),
        field(5, "minReadySeconds", INT32),
        keep(6, "revisionHistoryLimit", INT32),
        field(7, "paused", BOOL),
        keep(9, "progressDeadlineSeconds", INT32),
    ],
);

pub static DEPLOYMENT_STRATEGY: Message = message(
    "DeploymentStrategy",
    &[
        field(1, "type", STRING),
        field(2, "rollingUpdate", msg(&ROLLING_UPDATE_DEPLOYMENT)),
    ],
);

pub static ROLLING_UPDATE_DEPLOYMENT: Message = message(
    "RollingUpdateDeployment",
    &[
        field(1, "maxUnavailable", INT_OR_STRING),
        field(2, "maxSurge", INT_OR_STRING),
    ],
);

pub static DEPLOYMENT_STATUS: Message = message(
    "DeploymentStatus",
    &[
        field(1, "observedGeneration", INT64),
        field(2, "replicas", INT32),
        field(3, "updatedReplicas", INT32),
        field(4, "availableReplicas", INT32),
        field(5, "unavailableReplicas", INT32),
        list(6, "conditions", msg(&DEPLOYMENT_CONDITION)),
        field(7, "readyReplicas", INT32),
        keep(8, "collisionCount", INT32),
        keep(9, "terminatingReplicas", INT32),
    ],
);

pub static DEPLOYMENT_CONDITION: Message = message(
    "DeploymentCondition",
    &[
        field(1, "type", STRING),
        field(2, "status", STRING),
        field(4, "reason", STRING),
        field(5, "message", STRING),
        field(6, "lastUpdateTime", TIME),
        field(7, "lastTransitionTime", TIME),
    ],
);
