//! Strategies for the core (`/api/v1`) kinds.

pub mod config;
pub mod endpoints;
pub mod events;
pub mod namespaces;
pub mod nodes;
pub mod pod_spec;
pub mod pod_template;
pub mod pods;
pub mod replication_controllers;
pub mod service_ips;
pub mod service_validation;
pub mod serviceaccounts;
pub mod services;
