//! Strategies for the `discovery` group.
