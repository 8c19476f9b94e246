//! # sim: simulated nodes (oxkube's kwok / kubemark)
//!
//! A scheduler or a controller is only interesting at scale: thousands of
//! nodes, tens of thousands of pods. Real machines (or even real kubelets in
//! containers) are far too expensive for that. This crate plays the part of
//! many kubelets at once, **entirely through the apiserver**: each simulated
//! node registers a `Node`, renews its `Lease`, refreshes its conditions, and
//! reports the pods bound to it as `Running` with an IP from its pod range.
//! No container ever runs. To everything else in the cluster (scheduler,
//! controllers, `kubectl`) the nodes look real.
//!
//! It mirrors [kwok](https://kwok.sigs.k8s.io/) (many fake nodes in one
//! process, driven by the API) rather than kubemark (a real kubelet per node
//! with a fake container runtime).
//!
//! ```no_run
//! # async fn demo(client: client::Client) -> Result<(), sim::Error> {
//! let config = sim::SimConfig { nodes: 100, zones: 3, ..sim::SimConfig::default() };
//! let sim = sim::Simulator::start(client, config).await?;
//! // ... create pods, run a scheduler, measure ...
//! println!("{:?}", sim.stats());
//! sim.stop().await;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! Start reading at [`simulator`], which wires the rest together.
//! - [`config`]: [`SimConfig`] and the per-node plan (names, addresses, zones).
//! - [`ipam`]: IPv4 CIDRs, per-node pod ranges, pod addresses (pure).
//! - [`node`]: the Node, Lease and heartbeat patches a node writes (pure).
//! - [`pod`]: decide what to do with a pod; the Running status (pure).
//! - [`queue`]: the de-duplicating work queue of pod keys.
//! - [`ack`]: writes whose answer is not decoded (saves the simulator's CPU).
//! - [`spread`]: periodic per-node work spread evenly over the period.
//! - `register`, `heartbeat`, `pod_sync`: the parts that talk to the
//!   apiserver (registration, Lease/status heartbeats, the pod pipeline).
//! - [`cli`]: the `oxkube-sim` flags; `main.rs` is a thin wrapper.
//!
//! See `docs/simulator.md` for a walk through it.

pub mod ack;
pub mod cli;
pub mod config;
mod error;
mod heartbeat;
pub mod ipam;
pub mod node;
pub mod pod;
mod pod_sync;
pub mod queue;
mod register;
pub mod simulator;
pub mod spread;

pub use config::{NodePlan, SimConfig};
pub use error::{Error, Result};
pub use simulator::{SimHandle, SimStats, Simulator};
