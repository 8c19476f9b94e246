//! Strategies for the `apps` group.
