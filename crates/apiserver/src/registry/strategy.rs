//! Per-kind behaviour plugged into the generic store (`RESTCreateStrategy`,
//! `RESTUpdateStrategy`, `RESTDeleteStrategy` ... upstream).
//!
//! Every method has a default that suits a plain object like a ConfigMap;
//! a kind overrides what makes it special. Methods are pure: they look at
//! and change objects, and never do I/O, so they are unit-tested directly.

use api_types::core::v1::Binding;
use api_types::{HasSpec, HasStatus, Resource};

use super::validation::NameRule;
use crate::error::{ApiError, FieldError};

/// A kind's field values for field selectors, beyond `metadata.name` and
/// `metadata.namespace` which every kind supports.
pub type FieldSet = Vec<(&'static str, String)>;

/// How to read and set a kind's replica count through `/scale`.
pub struct ScaleAccess<K> {
    /// (spec.replicas, status.replicas, label selector as a string)
    pub get: fn(&K) -> (i32, i32, String),
    pub set: fn(&mut K, i32),
}

/// What differs between kinds.
pub trait Strategy<K: Resource>: Send + Sync + 'static {
    /// How names are validated.
    fn name_rule(&self) -> NameRule {
        NameRule::Dns1123Subdomain
    }

    /// Whether `metadata.generation` tracks spec changes for this kind.
    fn tracks_generation(&self) -> bool {
        false
    }

    /// Whether DELETE answers with the object (pods, services, namespaces)
    /// instead of a `Status`.
    fn returns_deleted_object(&self) -> bool {
        false
    }

    /// Fills in defaults (`restartPolicy: Always`, ...), as API defaulting
    /// does when the object is decoded. Runs on create and on update.
    fn default(&self, _obj: &mut K) {}

    /// Resets what a client may not set on create (usually `status`).
    fn prepare_for_create(&self, _obj: &mut K) {}

    /// Kind-specific validation of a new object.
    fn validate(&self, _obj: &K) -> Vec<FieldError> {
        Vec::new()
    }

    /// Resets what a client may not change on update (usually: `status` is
    /// kept from `old`, because it is written through `/status`).
    fn prepare_for_update(&self, _new: &mut K, _old: &K) {}

    /// Kind-specific validation of an update (immutable fields ...).
    fn validate_update(&self, new: &K, _old: &K) -> Vec<FieldError> {
        self.validate(new)
    }

    /// Whether the desired state changed (bumps `generation`).
    fn spec_changed(&self, _new: &K, _old: &K) -> bool {
        false
    }

    /// Whether `/status` exists; if so [`Strategy::prepare_for_status_update`]
    /// keeps everything but the status from `old`.
    fn has_status(&self) -> bool {
        false
    }

    fn prepare_for_status_update(&self, _new: &mut K, _old: &K) {}

    /// Seconds of grace before the object really goes away (pods: their
    /// termination grace period); 0 deletes at once. `requested` is the
    /// client's `gracePeriodSeconds`.
    fn grace_period(&self, _obj: &K, _requested: Option<i64>) -> i64 {
        0
    }

    /// Kind-specific reasons to keep a deleted object (a namespace's
    /// `spec.finalizers`).
    fn blocks_deletion(&self, _obj: &K) -> bool {
        false
    }

    /// Marks an object whose deletion started (a namespace becomes
    /// `Terminating`).
    fn begin_deletion(&self, _obj: &mut K) {}

    /// Field selector values (pods: `spec.nodeName`, `status.phase` ...).
    fn fields(&self, _obj: &K) -> FieldSet {
        Vec::new()
    }

    /// The field names [`Strategy::fields`] provides, for validating selectors.
    fn selectable_fields(&self) -> &'static [&'static str] {
        &[]
    }

    /// The selectable field the watch cache indexes watches by: a watch
    /// pinning it (`spec.nodeName=node-1`) is woken only by the events of
    /// objects with that value (upstream's indexed trigger; pods: their
    /// node, which every kubelet watches; ConfigMaps and Secrets: their
    /// name, which a kubelet watches for each one its pods use).
    fn watch_index(&self) -> Option<&'static str> {
        None
    }

    /// `/scale` support.
    fn scale(&self) -> Option<ScaleAccess<K>> {
        None
    }

    /// `pods/binding`: assigns the object to a node.
    fn bind(&self, _obj: &mut K, _binding: &Binding) -> Result<(), ApiError> {
        Err(ApiError::NotFoundPath)
    }

    /// `namespaces/finalize`: takes only `spec.finalizers` from `new`.
    fn finalize(&self, _new: &K, _old: &mut K) -> Result<(), ApiError> {
        Err(ApiError::NotFoundPath)
    }
}

/// For kinds with a status subresource: an update keeps the old status.
pub fn keep_status<K: HasStatus>(new: &mut K, old: &K) {
    *new.status_mut() = old.status().cloned();
}

/// For kinds with a status subresource: a status update keeps the old spec.
pub fn keep_spec<K: HasSpec>(new: &mut K, old: &K) {
    *new.spec_mut() = old.spec().cloned();
}

/// Whether the spec differs.
pub fn spec_differs<K: HasSpec>(new: &K, old: &K) -> bool {
    new.spec() != old.spec()
}
