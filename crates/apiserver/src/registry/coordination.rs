//! Strategies for the `coordination` group.
