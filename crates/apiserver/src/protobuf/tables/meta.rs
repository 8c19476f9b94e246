//! `meta/v1` (`k8s.io/apimachinery/pkg/apis/meta/v1`): object metadata, label
//! selectors, conditions and `DeleteOptions`, shared by every group.

use crate::protobuf::schema::*;

pub static OBJECT_META: Message = message(
    "ObjectMeta",
    &[
        field(1, "name", STRING),
        field(2, "generateName", STRING),
        field(3, "namespace", STRING),
        field(4, "selfLink", STRING),
        field(5, "uid", STRING),
        field(6, "resourceVersion", STRING),
        field(7, "generation", INT64),
        field(8, "creationTimestamp", TIME),
        field(9, "deletionTimestamp", TIME),
        keep(10, "deletionGracePeriodSeconds", INT64),
        map(11, "labels", STRING),
        map(12, "annotations", STRING),
        list(13, "ownerReferences", msg(&OWNER_REFERENCE)),
        list(14, "finalizers", STRING),
        list(17, "managedFields", msg(&MANAGED_FIELDS_ENTRY)),
    ],
);

pub static OWNER_REFERENCE: Message = message(
    "OwnerReference",
    &[
        field(1, "kind", STRING),
        field(3, "name", STRING),
        field(4, "uid", STRING),
        field(5, "apiVersion", STRING),
        keep(6, "controller", BOOL),
        keep(7, "blockOwnerDeletion", BOOL),
    ],
);

pub static MANAGED_FIELDS_ENTRY: Message = message(
    "ManagedFieldsEntry",
    &[
        field(1, "manager", STRING),
        field(2, "operation", STRING),
        field(3, "apiVersion", STRING),
        field(4, "time", TIME),
        field(6, "fieldsType", STRING),
        field(7, "fieldsV1", FIELDS_V1),
        field(8, "subresource", STRING),
    ],
);

pub static LABEL_SELECTOR: Message = message(
    "LabelSelector",
    &[
        map(1, "matchLabels", STRING),
        list(2, "matchExpressions", msg(&LABEL_SELECTOR_REQUIREMENT)),
    ],
);

pub static LABEL_SELECTOR_REQUIREMENT: Message = message(
    "LabelSelectorRequirement",
    &[
        field(1, "key", STRING),
        field(2, "operator", STRING),
        list(3, "values", STRING),
    ],
);

pub static CONDITION: Message = message(
    "Condition",
    &[
        field(1, "type", STRING),
        field(2, "status", STRING),
        field(3, "observedGeneration", INT64),
        field(4, "lastTransitionTime", TIME),
        field(5, "reason", STRING),
        field(6, "message", STRING),
    ],
);

pub static DELETE_OPTIONS: Message = message(
    "DeleteOptions",
    &[
        keep(1, "gracePeriodSeconds", INT64),
        field(2, "preconditions", msg(&PRECONDITIONS)),
        keep(3, "orphanDependents", BOOL),
        keep(4, "propagationPolicy", STRING),
        list(5, "dryRun", STRING),
        keep(6, "ignoreStoreReadErrorWithClusterBreakingPotential", BOOL),
    ],
);

pub static PRECONDITIONS: Message = message(
    "Preconditions",
    &[keep(1, "uid", STRING), keep(2, "resourceVersion", STRING)],
);
