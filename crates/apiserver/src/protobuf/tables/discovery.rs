//! `discovery.k8s.io/v1`: EndpointSlice.

use super::{core, meta};
use crate::protobuf::schema::*;

pub static ENDPOINT_SLICE: Message = message(
    "EndpointSlice",
    &[
        field(1, "metadata", msg(&meta::OBJECT_META)),
        list(2, "endpoints", msg(&ENDPOINT)),
        list(3, "ports", msg(&ENDPOINT_PORT)),
        field(4, "addressType", STRING),
    ],
);

pub static ENDPOINT: Message = message(
    "Endpoint",
    &[
        list(1, "addresses", STRING),
        field(2, "conditions", msg(&ENDPOINT_CONDITIONS)),
        keep(3, "hostname", STRING),
        field(4, "targetRef", msg(&core::OBJECT_REFERENCE)),
        map(5, "deprecatedTopology", STRING),
        keep(6, "nodeName", STRING),
        keep(7, "zone", STRING),
        field(8, "hints", msg(&ENDPOINT_HINTS)),
    ],
);

pub static ENDPOINT_CONDITIONS: Message = message(
    "EndpointConditions",
    &[
        keep(1, "ready", BOOL),
        keep(2, "serving", BOOL),
        keep(3, "terminating", BOOL),
    ],
);

pub static ENDPOINT_HINTS: Message = message(
    "EndpointHints",
    &[
        list(1, "forZones", msg(&FOR_ZONE)),
        list(2, "forNodes", msg(&FOR_NODE)),
    ],
);

pub static FOR_ZONE: Message = message("ForZone", &[field(1, "name", STRING)]);

pub static FOR_NODE: Message = message("ForNode", &[field(1, "name", STRING)]);

pub static ENDPOINT_PORT: Message = message(
    "EndpointPort",
    &[
        keep(1, "name", STRING),
        keep(2, "protocol", STRING),
        keep(3, "port", INT32),
        keep(4, "appProtocol", STRING),
    ],
);
