//! Server-side apply and field ownership (structured-merge-diff and
//! upstream's field manager).
//!
//! - [`fieldset`]: paths, sets of paths, the `FieldsV1` wire form;
//! - [`typed`]: an object through its schema: the fields a configuration
//!   sets, what changed between versions, merge, pruning;
//! - [`serialized`]: the fields a new object sets, walked as it serializes
//!   (no JSON value built);
//! - [`managed`]: `metadata.managedFields` on updates and applies,
//!   conflicts.

pub mod fieldset;
pub mod managed;
pub mod serialized;
pub mod typed;

pub use fieldset::{FieldSet, PathElement};
pub use managed::{Conflicts, Managed, Write, apply, update};
