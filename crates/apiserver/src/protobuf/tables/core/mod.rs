//! `core/v1` (`k8s.io/api/core/v1`), split by theme. Every table is
//! re-exported here, so the files refer to each other's messages by plain
//! name (`CONTAINER`, `VOLUME`) and other groups write `core::POD_TEMPLATE_SPEC`.

use super::meta;
use crate::protobuf::schema::*;

mod affinity;
mod container;
mod node;
mod objects;
mod pod;
mod probe;
mod security;
mod service;
mod volume;

pub use affinity::*;
pub use container::*;
pub use node::*;
pub use objects::*;
pub use pod::*;
pub use probe::*;
pub use security::*;
pub use service::*;
pub use volume::*;
