//! placeholder, filled by the resource types work
