//! `apps/v1` (k8s.io/api/apps/v1): workload controllers.
//!
//! - [`replica_set`]: `ReplicaSet`, a fixed number of identical pods.
//! - [`deployment`]: `Deployment`, rollouts across ReplicaSets.

pub mod deployment;
pub mod replica_set;

pub use deployment::{
    Deployment, DeploymentCondition, DeploymentSpec, DeploymentStatus, DeploymentStrategy,
    RollingUpdateDeployment,
};
pub use replica_set::{ReplicaSet, ReplicaSetCondition, ReplicaSetSpec, ReplicaSetStatus};
