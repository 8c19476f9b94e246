//! # runtime: how components watch and act on the cluster
//!
//! client-go's `tools/cache`, `util/workqueue`, `tools/leaderelection` and
//! `tools/record`, for oxkube's components. Every controller has the same
//! shape:
//!
//! 1. a [`reflector`] lists a kind, then watches it from the list's
//!    resourceVersion, relisting when the watch expires;
//! 2. it keeps a [`cache`] (an indexed in-memory copy of the objects) and
//!    calls event handlers on each change ([`informer`]);
//! 3. handlers put keys (`namespace/name`) on a de-duplicating, rate-limited
//!    [`workqueue`]; workers take keys, read the cache, and act through the
//!    apiserver;
//! 4. with several replicas, [`leader`] election on a Lease lets one act;
//! 5. what they did is told to users as Events ([`events`]).

pub mod cache;
pub mod events;
pub mod informer;
pub mod leader;
pub mod process;
pub mod reflector;
pub mod workqueue;
