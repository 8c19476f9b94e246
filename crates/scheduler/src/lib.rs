//! # scheduler: kube-scheduler's decision logic
//!
//! This crate mirrors the part of upstream's `kube-scheduler` that decides
//! where a pod goes: the scheduler cache, the default filter and score
//! plugins, and node selection. It does no I/O: no HTTP, no watches, no
//! async. A thin layer around it (the scheduling queue, the informers that
//! feed the cache, the `pods/binding` call) carries the decisions out:
//! *decide, then act*.
//!
//! Start reading at [`framework::schedule()`], then [`framework::plugins`]
//! for what each filter and score does, and [`framework::ClusterState`]
//! for the cache the decisions read.
//!
//! ```
//! use std::sync::Arc;
//! use scheduler::framework::{ClusterState, SchedulerState, schedule};
//! # use api_types::core::v1::{Node, NodeCondition, NodeStatus, Pod, PodSpec};
//! # use api_types::quantity::Quantity;
//! # let ready = |name: &str| {
//! #     let mut n = Node::default();
//! #     n.metadata.name = name.into();
//! #     n.status = Some(NodeStatus {
//! #         allocatable: Some([("cpu", "4"), ("memory", "8Gi"), ("pods", "110")]
//! #             .into_iter().map(|(k, v)| (k.to_owned(), Quantity::from(v))).collect()),
//! #         conditions: Some(vec![NodeCondition {
//! #             type_: "Ready".into(), status: "True".into(), ..Default::default()
//! #         }]),
//! #         ..Default::default()
//! #     });
//! #     n
//! # };
//! let mut cluster = ClusterState::new();
//! cluster.add_node(Arc::new(ready("node-a")));
//! cluster.add_node(Arc::new(ready("node-b")));
//!
//! let mut pod = Pod::default();
//! pod.metadata.namespace = "default".into();
//! pod.metadata.name = "web-1".into();
//! pod.spec = Some(PodSpec::default());
//!
//! let mut state = SchedulerState::new();
//! let decision = schedule(&cluster, &pod, &[], &mut state).expect("a node fits");
//! // Record the decision before binding, so the next pod sees it.
//! cluster.assume(Arc::new(pod), &decision.node).expect("not cached yet");
//! ```

pub mod framework;
pub mod metrics;
pub mod options;
pub mod queue;
pub mod scheduler;
pub mod server;
