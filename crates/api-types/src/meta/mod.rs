//! apimachinery's `meta` group.
pub mod v1;
