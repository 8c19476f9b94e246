//! `metadata.managedFields` on every write: the store's side of upstream's
//! field manager (the bookkeeping itself is in
//! [`patch::apply::managed`](crate::patch::apply::managed)).
//!
//! Upstream's rules, kept here:
//! - a write records an `Update` entry for its manager (`fieldManager`, else
//!   the User-Agent's product name) with the fields it changed, taken from
//!   everyone else;
//! - `managedFields` a client sends on a create/update/patch is taken as
//!   the starting point if it decodes and is not empty (so clients may edit
//!   it), `[{}]` clears it, anything else (absent, `[]`, undecodable) keeps
//!   the stored value: clients that do not know the field cannot wipe it;
//! - subresource writes never take `managedFields` from the request;
//! - the main resource does not manage `status` where a status subresource
//!   exists, and `/status` does not manage `spec` (upstream's reset fields).

use api_types::Resource;
use api_types::meta::v1::{ManagedFieldsEntry, Time};
use serde_json::Value;

use super::Store;
use super::write::Mode;
use crate::error::{ApiError, Result};
use crate::patch::apply::managed::{self, Managed, is_reset, manager_from_user_agent};
use crate::patch::apply::serialized::created_fields;
use crate::patch::apply::{FieldSet, PathElement, Write};
use crate::patch::schema::Schema;
use crate::registry::RequestScope;

/// The manager a non-apply write is recorded under.
pub(super) fn manager(scope: &RequestScope) -> String {
    scope
        .field_manager
        .clone()
        .unwrap_or_else(|| manager_from_user_agent(&scope.user_agent))
}

/// An object as the field manager compares it: JSON without
/// `managedFields` and `resourceVersion`.
pub(super) fn tracking_json<K: Resource>(obj: &K) -> Result<Value> {
    let mut v = serde_json::to_value(obj).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        meta.remove("resourceVersion");
    }
    Ok(v)
}

fn first_is(p: &[PathElement], name: &str) -> bool {
    matches!(p.first(), Some(PathElement::Field(f)) if f == name)
}

fn ignore_status(p: &[PathElement]) -> bool {
    first_is(p, "status")
}

fn ignore_spec(p: &[PathElement]) -> bool {
    first_is(p, "spec")
}

fn ignore_nothing(_: &[PathElement]) -> bool {
    false
}

/// Which entries a request's managedFields start from.
enum Base {
    /// What the client sent (create, update, patch of the main resource).
    Requested(Vec<ManagedFieldsEntry>),
    /// The stored object's, whatever the client sent (subresources).
    Stored,
}

impl<K: Resource> Store<K> {
    /// The kind's published schema, for merging and field sets.
    pub(super) fn schema(&self) -> Schema<'static> {
        Schema::for_kind(K::GROUP, K::VERSION, K::KIND)
    }

    /// The subresource a write is recorded under, or `None` for writes
    /// upstream does not record (the scheduler's binding).
    pub(super) fn tracked_subresource(mode: Mode) -> Option<&'static str> {
        match mode {
            Mode::Main => Some(""),
            Mode::Status => Some("status"),
            Mode::Internal("binding") => None,
            Mode::Internal(sub) => Some(sub),
        }
    }

    /// The field manager's view of one write.
    pub(super) fn field_write<'a>(
        &self,
        mode: Mode,
        manager: &'a str,
        last_applied: Option<&'a Value>,
    ) -> Write<'a> {
        let ignored: &'static (dyn Fn(&[PathElement]) -> bool + Sync) = match mode {
            Mode::Main if self.strategy.has_status() => &ignore_status,
            Mode::Status => &ignore_spec,
            _ => &ignore_nothing,
        };
        Write {
            schema: self.schema(),
            manager,
            api_version: K::API_VERSION,
            subresource: Self::tracked_subresource(mode).unwrap_or_default(),
            now: Time::now(),
            ignored,
            last_applied,
        }
    }

    /// Sets `new`'s managedFields for a create (`old` is `None`) or an
    /// update by `scope`'s manager. `new` carries what the client sent.
    pub(super) fn record_write(
        &self,
        old: Option<&K>,
        new: &mut K,
        mode: Mode,
        scope: &RequestScope,
    ) -> Result<()> {
        let requested = std::mem::take(&mut new.metadata_mut().managed_fields);
        let Some(subresource) = Self::tracked_subresource(mode) else {
            new.metadata_mut().managed_fields = old
                .map(|o| o.metadata().managed_fields.clone())
                .unwrap_or_default();
            return Ok(());
        };
        let base = if subresource.is_empty() {
            Base::Requested(requested)
        } else {
            Base::Stored
        };
        let stored = || {
            old.map(|o| Managed::decode(&o.metadata().managed_fields).unwrap_or_default())
                .unwrap_or_default()
        };
        let mut managed = match base {
            Base::Requested(r) if is_reset(&r) => Managed::default(),
            Base::Requested(r) => match Managed::decode(&r) {
                Ok(m) if !m.entries.is_empty() => m,
                _ => stored(),
            },
            Base::Stored => stored(),
        };
        let manager = manager(scope);
        let w = self.field_write(mode, &manager, None);
        // A create owns all of its object: its fields are read as it
        // serializes, without a JSON value.
        let created = match old {
            None => created_fields(&*new, w.schema),
            Some(_) => None,
        };
        match created {
            Some(fields) => managed::update_sets(&mut managed, fields, FieldSet::new(), &w),
            None => {
                let live = match old {
                    Some(o) => tracking_json(o)?,
                    None => Value::Object(serde_json::Map::new()),
                };
                managed::update(&mut managed, &live, &tracking_json(new)?, &w);
            }
        }
        new.metadata_mut().managed_fields = managed.encode();
        Ok(())
    }
}
