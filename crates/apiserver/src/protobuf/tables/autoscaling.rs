//! `autoscaling/v1`: Scale, the body of the `/scale` subresource.

use super::meta;
use crate::protobuf::schema::*;

pub static SCALE: Message = message(
    "Scale",
    &[
        field(1, "metadata", msg(&meta::OBJECT_META)),
        field(2, "spec", msg(&SCALE_SPEC)),
        field(3, "status", msg(&SCALE_STATUS)),
    ],
);

pub static SCALE_SPEC: Message = message("ScaleSpec", &[field(1, "replicas", INT32)]);

pub static SCALE_STATUS: Message = message(
    "ScaleStatus",
    &[keep(1, "replicas", INT32), field(2, "selector", STRING)],
);
