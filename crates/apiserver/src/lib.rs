//! # kube-apiserver: the Kubernetes API over etcd or an embedded store
//!
//! The apiserver is the only component that touches storage. Everything
//! else (kubectl, the scheduler, controllers, kubelets) reads and writes
//! objects through its REST API and follows changes through watches.
//!
//! # Layout
//! A request flows top to bottom:
//! - [`http`]: routes; [`http::path`] parses `/api/v1/namespaces/ns/pods/x`;
//!   [`http::api`] reads the body and picks the verb;
//!   [`http::discovery`] tells clients what exists;
//!   [`http::negotiate`] reads `Accept` (JSON, `Table`, aggregated discovery).
//! - [`table`]: server-side printing, the columns `kubectl get` shows.
//! - [`registry`]: per resource, a generic [`registry::store::Store`] with a
//!   [`registry::strategy::Strategy`] (defaults, validation, status rules);
//!   [`registry::install`] lists what is served.
//! - [`openapi`]: the schemas of every type (`/openapi/v2`, `/openapi/v3`),
//!   read by kubectl and by strategic merge patch.
//! - [`patch`]: strategic merge patch, server-side apply and the
//!   `managedFields` every write records (pure functions the store calls).
//! - [`cacher`]: the watch cache, one storage watch per resource fanned out
//!   to every client watch.
//! - [`error`]: every failure as a Kubernetes `Status`.
//! - the `storage` crate: etcd or SQLite behind one trait.
//!
//! [`server::run`] wires it together; `main.rs` only parses flags.

pub mod cacher;
pub mod error;
pub mod http;
pub mod metrics;
pub mod openapi;
pub mod options;
pub mod patch;
pub mod protobuf;
pub mod registry;
pub mod server;
pub mod table;
