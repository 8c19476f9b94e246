//! Scheduling constraints: node and pod (anti-)affinity, tolerations,
//! topology spread.

use super::*;

pub static AFFINITY: Message = message(
    "Affinity",
    &[
        field(1, "nodeAffinity", msg(&NODE_AFFINITY)),
        field(2, "podAffinity", msg(&POD_AFFINITY)),
        field(3, "podAntiAffinity", msg(&POD_ANTI_AFFINITY)),
    ],
);

pub static NODE_AFFINITY: Message = message(
    "NodeAffinity",
    &[
        field(
            1,
            "requiredDuringSchedulingIgnoredDuringExecution",
            msg(&NODE_SELECTOR),
        ),
        list(
            2,
            "preferredDuringSchedulingIgnoredDuringExecution",
            msg(&PREFERRED_SCHEDULING_TERM),
        ),
    ],
);

pub static NODE_SELECTOR: Message = message(
    "NodeSelector",
    &[list(1, "nodeSelectorTerms", msg(&NODE_SELECTOR_TERM))],
);

pub static NODE_SELECTOR_TERM: Message = message(
    "NodeSelectorTerm",
    &[
        list(1, "matchExpressions", msg(&NODE_SELECTOR_REQUIREMENT)),
        list(2, "matchFields", msg(&NODE_SELECTOR_REQUIREMENT)),
    ],
);

pub static NODE_SELECTOR_REQUIREMENT: Message = message(
    "NodeSelectorRequirement",
    &[
        field(1, "key", STRING),
        field(2, "operator", STRING),
        list(3, "values", STRING),
    ],
);

pub static PREFERRED_SCHEDULING_TERM: Message = message(
    "PreferredSchedulingTerm",
    &[
        keep(1, "weight", INT32),
        field(2, "preference", msg(&NODE_SELECTOR_TERM)),
    ],
);

pub static POD_AFFINITY: Message = message(
    "PodAffinity",
    &[
        list(
            1,
            "requiredDuringSchedulingIgnoredDuringExecution",
            msg(&POD_AFFINITY_TERM),
        ),
        list(
            2,
            "preferredDuringSchedulingIgnoredDuringExecution",
            msg(&WEIGHTED_POD_AFFINITY_TERM),
        ),
    ],
);

pub static POD_AFFINITY_TERM: Message = message(
    "PodAffinityTerm",
    &[
        field(1, "labelSelector", msg(&meta::LABEL_SELECTOR)),
        list(2, "namespaces", STRING),
        field(3, "topologyKey", STRING),
        field(4, "namespaceSelector", msg(&meta::LABEL_SELECTOR)),
        list(5, "matchLabelKeys", STRING),
        list(6, "mismatchLabelKeys", STRING),
    ],
);

pub static WEIGHTED_POD_AFFINITY_TERM: Message = message(
    "WeightedPodAffinityTerm",
    &[
        keep(1, "weight", INT32),
        field(2, "podAffinityTerm", msg(&POD_AFFINITY_TERM)),
    ],
);

pub static POD_ANTI_AFFINITY: Message = message(
    "PodAntiAffinity",
    &[
        list(
            1,
            "requiredDuringSchedulingIgnoredDuringExecution",
            msg(&POD_AFFINITY_TERM),
        ),
        list(
            2,
            "preferredDuringSchedulingIgnoredDuringExecution",
            msg(&WEIGHTED_POD_AFFINITY_TERM),
        ),
    ],
);

pub static TOLERATION: Message = message(
    "Toleration",
    &[
        field(1, "key", STRING),
        field(2, "operator", STRING),
        field(3, "value", STRING),
        field(4, "effect", STRING),
        keep(5, "tolerationSeconds", INT64),
    ],
);

pub static TOPOLOGY_SPREAD_CONSTRAINT: Message = message(
    "TopologySpreadConstraint",
    &[
        keep(1, "maxSkew", INT32),
        field(2, "topologyKey", STRING),
        field(3, "whenUnsatisfiable", STRING),
        field(4, "labelSelector", msg(&meta::LABEL_SELECTOR)),
        keep(5, "minDomains", INT32),
        keep(6, "nodeAffinityPolicy", STRING),
        keep(7, "nodeTaintsPolicy", STRING),
        list(8, "matchLabelKeys", STRING),
    ],
);
