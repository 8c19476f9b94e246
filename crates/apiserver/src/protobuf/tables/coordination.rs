//! `coordination.k8s.io/v1`: Lease.

use super::meta;
use crate::protobuf::schema::*;

pub static LEASE: Message = message(
    "Lease",
    &[
        field(1, "metadata", msg(&meta::OBJECT_META)),
        field(2, "spec", msg(&LEASE_SPEC)),
    ],
);

pub static LEASE_SPEC: Message = message(
    "LeaseSpec",
    &[
        keep(1, "holderIdentity", STRING),
        keep(2, "leaseDurationSeconds", INT32),
        field(3, "acquireTime", MICRO_TIME),
        field(4, "renewTime", MICRO_TIME),
        keep(5, "leaseTransitions", INT32),
        keep(6, "strategy", STRING),
        keep(7, "preferredHolder", STRING),
    ],
);
