//! # api-types: the Kubernetes API objects, wire-compatible with Kubernetes JSON
//!
//! This crate mirrors `k8s.io/api` and `k8s.io/apimachinery`: plain data
//! types with serde, plus the small pieces of logic that belong to the data
//! itself (label and field selectors, resource quantities). It does **no I/O**;
//! the apiserver, the client runtime and every component build on it.
//!
//! # Layout
//! - [`meta::v1`]: `ObjectMeta`, `ListMeta`, `Status`, `WatchEvent`,
//!   `DeleteOptions`, `Table`, `Time` (apimachinery's `meta/v1`).
//! - [`resource`]: the [`Resource`] trait that tells generic code a kind's
//!   group, version, plural and scope, and the [`resource!`] macro.
//! - [`labels`] and [`fields`]: label selectors (`app=web,tier in (fe,be)`)
//!   and field selectors (`spec.nodeName=node-1`).
//! - [`quantity`]: resource quantities (`100m`, `512Mi`, `1e3`).
//! - [`intstr`]: `IntOrString` (`targetPort: 8080` or `targetPort: http`).
//! - [`patch_meta`]: how lists and maps merge (patch strategies, list
//!   types); with feature `schema`, [`schema`] generates the OpenAPI
//!   schemas of every type, extensions included.
//! - [`core::v1`], [`apps::v1`], [`discovery::v1`], [`coordination::v1`],
//!   [`autoscaling::v1`]: the resources themselves.
//!
//! # Wire format
//! Field names are camelCase, empty optional fields are omitted, and every
//! top-level object carries `apiVersion` and `kind`. The integration tests
//! check this against the `k8s-openapi` crate.

pub mod apps;
pub mod autoscaling;
pub mod coordination;
pub mod core;
pub mod discovery;
pub mod fields;
pub mod intstr;
pub mod labels;
pub mod meta;
pub mod patch_meta;
pub mod quantity;
pub mod resource;
#[cfg(feature = "schema")]
pub mod schema;

pub use resource::{HasSpec, HasStatus, Resource};
