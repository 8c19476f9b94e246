//! From a pod's container spec to a CRI `ContainerConfig`.

pub mod env;
pub mod resources;
pub mod security;
