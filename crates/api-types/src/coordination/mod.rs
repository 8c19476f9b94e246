//! `coordination` API group.
pub mod v1;
