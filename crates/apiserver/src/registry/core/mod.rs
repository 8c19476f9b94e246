//! Strategies for the core (`/api/v1`) kinds.

pub mod namespaces;
pub mod nodes;
pub mod pod_spec;
pub mod pods;
