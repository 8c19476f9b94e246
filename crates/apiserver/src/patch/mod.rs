//! Patches and server-side apply: how a PATCH body changes an object, and
//! who owns which field.
//!
//! Upstream this is spread over `k8s.io/apimachinery/pkg/util/strategicpatch`
//! (strategic merge patch), `sigs.k8s.io/structured-merge-diff` (field sets,
//! typed merge, conflicts) and `k8s.io/apiserver/.../fieldmanager` (the
//! `managedFields` bookkeeping on every write). Everything here is pure:
//! JSON values in, JSON values out, so it is tested without a server. The
//! generic store ([`registry::store`](crate::registry::store)) calls in.
//!
//! # Layout
//! - [`schema`]: merge metadata (merge keys, list types, atomic maps) read
//!   from the OpenAPI schemas the server publishes;
//! - [`strategic`]: strategic merge patch and its directives;
//! - [`apply`]: field sets, `managedFields`, server-side apply;
//! - [`gostr`]: Go's `%v`, for error messages that quote values as upstream.

pub mod apply;
pub mod gostr;
pub mod schema;
pub mod strategic;
