//! # client: talking to the Kubernetes API from Rust
//!
//! What client-go's `rest` and typed clientsets are to Go components, this
//! crate is to oxkube's: every component (scheduler, controller-manager,
//! kubelet, kube-proxy, the node simulator) reaches the apiserver through
//! it, and only through it.
//!
//! - [`Config`]: where the apiserver is and the credentials, read from a
//!   kubeconfig file (`--kubeconfig`), `$KUBECONFIG`, or a pod's
//!   service-account mount ([`Config::infer`]).
//! - [`Client`]: one connection pool per apiserver, with client-side rate
//!   limiting (`qps`/`burst`, [`ratelimit`]).
//! - [`Api<K>`](Api): the verbs of one kind, typed by its api-types struct:
//!   get, list (pages), watch (a stream of [`Event`]s), create, replace,
//!   patch (merge, JSON, strategic, server-side apply), delete, and the
//!   `status`, `binding`, `scale` and `finalize` subresources.
//! - [`Error`]: the apiserver's `Status` for API errors, with the checks
//!   controllers branch on (`is_not_found`, `is_conflict`, `is_gone`).
//!
//! The list-then-watch machinery built on top (reflector, cache, work
//! queue, leader election, events) is in the `runtime` crate.

pub mod api;
mod client;
pub mod config;
pub mod error;
pub mod ratelimit;

pub use api::{Api, Event, ListParams, Patch, PatchParams, PostParams, WatchStream};
pub use client::Client;
pub use config::Config;
pub use error::{Error, Result};
