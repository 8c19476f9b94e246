//! The scheduling framework: the cache, the plugins and the decision.
//!
//! Upstream's `pkg/scheduler/framework` runs plugins at extension points;
//! here the default plugin set is wired directly (see [`plugins`]), which
//! keeps the code short and the per-node cost to a few comparisons.
//!
//! # Layout
//! - [`cluster_state`]: [`ClusterState`], the scheduler cache (nodes,
//!   assigned pods, assume/forget), with [`node_info`] (one node and its
//!   running totals) and [`pod_info`] (one placed pod, pre-digested).
//! - [`resources`]: pod requests (init containers, sidecars, overhead) and
//!   node allocatable as integers.
//! - [`affinity_terms`]: pod (anti-)affinity terms, parsed once per pod.
//! - [`plugins`]: the filters and scores, one module per upstream plugin.
//! - [`schedule()`]: filter, score, select; [`FitError`] when nothing fits.
//!
//! # A decision, step by step
//! ```text
//! schedule(cluster, pod, selectors, state)
//!   PodQuery::new(pod)              requests, tolerations, parsed selectors (once)
//!   Filters::new(cluster, query)    spread / inter-pod counts, only if the pod needs them
//!   for node in rotation order      until 10% of 5,000 nodes (adaptive) fit
//!       Filters::run(node)          first failing filter -> reasons -> FitError histogram
//!   score_all(feasible)             6 plugins, each 0..100, times its weight
//!   select                          highest total, then fewest pods, then first
//! ```
//! The caller then assumes the pod ([`ClusterState::assume`]), writes the
//! Binding, and forgets the pod if that fails ([`ClusterState::forget`]).

pub mod affinity_terms;
pub mod cluster_state;
mod fit_error;
pub mod node_info;
pub mod plugins;
mod pod_groups;
pub mod pod_info;
mod query;
pub mod resources;
mod schedule;
mod topology;

#[cfg(test)]
pub(crate) mod testing;

pub use cluster_state::{CacheError, ClusterState};
pub use fit_error::FitError;
pub use node_info::{NodeInfo, NodeReadiness};
pub use pod_info::{HostPort, PodInfo};
pub use resources::{PodRequests, Resources};
pub use schedule::{
    DEFAULT_SCHEDULER_NAME, Decision, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND,
    MIN_FEASIBLE_NODES_TO_FIND, NodeScore, PluginScore, SchedulerState, num_feasible_nodes_to_find,
    responsible_for, schedule,
};
