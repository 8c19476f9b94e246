//! Create, update (PUT), patch, and the status subresource.

use api_types::Resource;
use http::StatusCode;
use storage::{StorageError, Update, Updated, guaranteed_update};

use super::Store;
use crate::error::{ApiError, FieldError, Result};
use crate::patch::schema::Schema;
use crate::patch::strategic::{self, SmpError};
use crate::registry::codec::{
    decode_body_checked, decode_stored, decode_value_checked, encode_for_storage,
    stored_to_response,
};
use crate::registry::meta::{
    before_create, before_update, validate_object_meta, validate_object_meta_update,
};
use crate::registry::{PatchType, Reply, RequestScope};

/// Which part of the object a write may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The main resource: everything but `status`.
    Main,
    /// `/status`: only `status` (and labels/annotations).
    Status,
    /// A subresource that changes the object itself in a controlled way
    /// (`binding`, `scale`, `finalize`): no strategy reset.
    Internal(&'static str),
}

/// Who computes `managedFields` for a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Track {
    /// The store, as an `Update` by the request's manager.
    Update,
    /// Server-side apply already set them.
    Applied,
}

/// Attempts at a create whose generated name collided.
const GENERATE_NAME_ATTEMPTS: usize = 5;

impl<K: Resource> Store<K> {
    fn validate_new(&self, obj: &K) -> Result<()> {
        let mut errs =
            validate_object_meta(obj.metadata(), K::NAMESPACED, self.strategy.name_rule());
        errs.extend(self.strategy.validate(obj));
        if errs.is_empty() {
            Ok(())
        } else {
            Err(self.invalid(&obj.metadata().name, errs))
        }
    }

    pub(super) async fn create_object(&self, scope: &RequestScope, body: &[u8]) -> Result<Reply> {
        let obj: K = decode_body_checked(body, scope)?;
        self.create_new(scope, obj, Track::Update).await
    }

    /// The create path for a decoded object (a POST body, or an apply
    /// configuration for an object that does not exist yet).
    pub(super) async fn create_new(
        &self,
        scope: &RequestScope,
        mut obj: K,
        track: Track,
    ) -> Result<Reply> {
        before_create(
            &mut obj,
            scope.namespace.as_deref(),
            self.strategy.tracks_generation(),
        )?;
        self.strategy.default(&mut obj);
        // Upstream's order: the field manager sees the object as the client
        // sent it, defaulted; what admission and the registry set after
        // (a pod's service account, priority and tolerations, a namespace's
        // finalizer) is not the client's.
        if track == Track::Update {
            self.record_write(None, &mut obj, Mode::Main, scope)?;
        }
        self.strategy.prepare_for_create(&mut obj);
        self.validate_new(&obj)?;
        if let Some(gate) = &self.namespaces {
            gate.admit(&obj.metadata().namespace, &self.gr, &obj.metadata().name)
                .await?;
        }
        if scope.dry_run {
            return self.reply(StatusCode::CREATED, &obj);
        }
        let generated = obj
            .metadata()
            .name
            .starts_with(&obj.metadata().generate_name)
            && !obj.metadata().generate_name.is_empty();
        for attempt in 1..=GENERATE_NAME_ATTEMPTS {
            let name = obj.metadata().name.clone();
            let key = self.key(scope.namespace.as_deref(), &name)?;
            let stored = encode_for_storage(&mut obj)?;
            self.cacher.expect(&key, self.known(&obj, stored.clone()));
            let created = self.storage.create(&key, stored.clone()).await;
            if created.is_err() {
                self.cacher.forget(&key, &stored);
            }
            match created {
                Ok(kv) => {
                    return Ok(Reply {
                        code: StatusCode::CREATED,
                        body: stored_to_response::<K>(&stored, kv.mod_revision)?,
                    });
                }
                Err(StorageError::AlreadyExists { .. })
                    if generated && attempt < GENERATE_NAME_ATTEMPTS =>
                {
                    let prefix = obj.metadata().generate_name.clone();
                    obj.metadata_mut().name =
                        format!("{prefix}{}", crate::registry::meta::random_suffix());
                }
                Err(e) => return Err(ApiError::from_storage(e, &self.gr, &name)),
            }
        }
        Err(ApiError::Internal(
            "could not generate a unique name".into(),
        ))
    }

    pub(super) async fn update_object(
        &self,
        scope: &RequestScope,
        name: &str,
        body: &[u8],
        mode: Mode,
    ) -> Result<Reply> {
        let new: K = decode_body_checked(body, scope)?;
        let meta = new.metadata();
        if meta.name != name {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                meta.name
            )));
        }
        if K::NAMESPACED
            && !meta.namespace.is_empty()
            && Some(meta.namespace.as_str()) != scope.namespace.as_deref()
        {
            return Err(ApiError::BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request".into(),
            ));
        }
        self.write(scope, name, mode, |_old| Ok(new.clone())).await
    }

    pub(super) async fn patch_object(
        &self,
        scope: &RequestScope,
        name: &str,
        kind: PatchType,
        body: &[u8],
        mode: Mode,
    ) -> Result<Reply> {
        if kind == PatchType::Apply {
            return self.apply_object(scope, name, body, mode).await;
        }
        if scope.force {
            return Err(super::apply::patch_options_invalid(FieldError::forbidden(
                "force",
                "may not be specified for non-apply patch",
            )));
        }
        let patch = Patch::parse(kind, body)?;
        let schema = self.schema();
        self.write(scope, name, mode, |old| {
            let mut doc =
                serde_json::to_value(old).map_err(|e| ApiError::Internal(e.to_string()))?;
            patch.apply(&mut doc, schema)?;
            decode_value_checked::<K>(doc, scope)
        })
        .await
    }

    /// [`Store::write_tracked`] recording an `Update` by the request's manager.
    pub(super) async fn write<F>(
        &self,
        scope: &RequestScope,
        name: &str,
        mode: Mode,
        change: F,
    ) -> Result<Reply>
    where
        F: FnMut(&K) -> Result<K> + Send,
    {
        self.write_tracked(scope, name, mode, Track::Update, change)
            .await
    }

    /// The heart of every update: read-modify-write with optimistic
    /// concurrency. `change` builds the candidate object from the current
    /// one; the strategy, metadata rules and validation then apply, and the
    /// result is written only if nobody wrote in between (else it all runs
    /// again on the newer object).
    pub(super) async fn write_tracked<F>(
        &self,
        scope: &RequestScope,
        name: &str,
        mode: Mode,
        track: Track,
        mut change: F,
    ) -> Result<Reply>
    where
        F: FnMut(&K) -> Result<K> + Send,
    {
        let key = self.key(scope.namespace.as_deref(), name)?;
        // The object the last attempt computed, and its stored bytes.
        let mut result: Option<(K, bytes::Bytes)> = None;
        let mut decide = |kv: &storage::KeyValue| -> Result<Update> {
            let old: K = decode_stored(kv)?;
            let mut new = self.prepare_update(&old, change(&old)?, mode)?;
            if track == Track::Update {
                self.record_write(Some(&old), &mut new, mode, scope)?;
            }
            let finished = new.metadata().deletion_timestamp.is_some()
                && new.metadata().finalizers.is_empty()
                && new.metadata().deletion_grace_period_seconds.unwrap_or(0) == 0
                && !self.strategy.blocks_deletion(&new);
            let stored = encode_for_storage(&mut new)?;
            let update = if finished {
                Update::Delete
            } else {
                if !scope.dry_run {
                    self.cacher.expect(&key, self.known(&new, stored.clone()));
                }
                Update::Put(stored.clone())
            };
            result = Some((new, stored));
            Ok(update)
        };
        if scope.dry_run {
            let kv = self
                .storage
                .get(&key)
                .await
                .map_err(self.storage_err(name))?;
            decide(&kv)?;
            let (obj, _) =
                result.ok_or_else(|| ApiError::Internal("update produced no object".into()))?;
            return self.reply(StatusCode::OK, &obj);
        }
        let outcome = guaranteed_update::<StoreError, _>(self.storage.as_ref(), &key, |kv| {
            decide(kv).map_err(StoreError::Api)
        })
        .await;
        // A write that stored nothing sends no event to take the hint.
        if !matches!(outcome, Ok(Updated::Put(_)))
            && let Some((_, stored)) = &result
        {
            self.cacher.forget(&key, stored);
        }
        let outcome = outcome.map_err(|e| match e {
            StoreError::Api(e) => e,
            StoreError::Storage(e) => ApiError::from_storage(e, &self.gr, name),
        })?;
        let (_, stored) =
            result.ok_or_else(|| ApiError::Internal("update produced no object".into()))?;
        let revision = match outcome {
            Updated::Put(kv) | Updated::Unchanged(kv) => kv.mod_revision,
            Updated::Deleted(_, rev) => rev,
        };
        Ok(Reply::ok(stored_to_response::<K>(&stored, revision)?))
    }

    /// Applies the update rules to a candidate object.
    fn prepare_update(&self, old: &K, mut new: K, mode: Mode) -> Result<K> {
        let name = old.metadata().name.clone();
        let client_rv = new.metadata().resource_version.clone();
        if !client_rv.is_empty() && client_rv != old.metadata().resource_version {
            return Err(ApiError::conflict_modified(&self.gr, &name));
        }
        match mode {
            Mode::Main => {
                self.strategy.default(&mut new);
                self.strategy.prepare_for_update(&mut new, old);
            }
            Mode::Status => self.strategy.prepare_for_status_update(&mut new, old),
            Mode::Internal(_) => {}
        }
        let spec_changed = self.strategy.spec_changed(&new, old);
        before_update(
            &mut new,
            old,
            spec_changed,
            self.strategy.tracks_generation(),
        );
        new.metadata_mut().resource_version = old.metadata().resource_version.clone();
        let mut errs =
            validate_object_meta(new.metadata(), K::NAMESPACED, self.strategy.name_rule());
        errs.extend(validate_object_meta_update(new.metadata(), old.metadata()));
        // Internal writes (binding, scale, finalize) change fields users may
        // not, through rules of their own.
        if !matches!(mode, Mode::Internal(_)) {
            errs.extend(self.strategy.validate_update(&new, old));
        }
        if !errs.is_empty() {
            return Err(self.invalid(&name, errs));
        }
        // The storage layer compares bytes; resourceVersion is not stored.
        Ok(new)
    }
}

/// Errors inside a guaranteed update: the closure's API errors, or storage
/// errors that still need the resource's name to become API errors.
pub(super) enum StoreError {
    Api(ApiError),
    Storage(StorageError),
}

impl From<StorageError> for StoreError {
    fn from(e: StorageError) -> Self {
        StoreError::Storage(e)
    }
}

/// A parsed patch document (server-side apply is handled on its own, in
/// [`super::apply`]).
pub enum Patch {
    Json(json_patch::Patch),
    Merge(serde_json::Value),
    Strategic(serde_json::Value),
}

impl Patch {
    /// Parses a patch body.
    ///
    /// # Errors
    /// 400 for an unparseable document; 415 for an apply patch where apply
    /// is not served.
    pub fn parse(kind: PatchType, body: &[u8]) -> Result<Patch> {
        let object = |what: &str| -> Result<serde_json::Value> {
            let v: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::BadRequest(format!("error decoding patch: {e}")))?;
            if !v.is_object() {
                return Err(ApiError::BadRequest(format!(
                    "error decoding patch: a {what} must be a JSON object"
                )));
            }
            Ok(v)
        };
        match kind {
            PatchType::Json => serde_json::from_slice(body)
                .map(Patch::Json)
                .map_err(|e| ApiError::BadRequest(format!("error decoding patch: {e}"))),
            PatchType::Merge => object("merge patch").map(Patch::Merge),
            PatchType::StrategicMerge => object("strategic merge patch").map(Patch::Strategic),
            PatchType::Apply => Err(ApiError::UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types include: \
                 application/json-patch+json, application/merge-patch+json, \
                 application/strategic-merge-patch+json"
                    .into(),
            )),
        }
    }

    /// Applies the patch to a JSON document; `schema` (the document's kind)
    /// gives a strategic merge patch its merge keys and strategies.
    ///
    /// # Errors
    /// 422 when a JSON patch operation does not apply (missing path, failed
    /// test); for strategic merge patches, upstream's classes (see
    /// [`SmpError`]).
    pub fn apply(&self, doc: &mut serde_json::Value, schema: Schema<'_>) -> Result<()> {
        match self {
            Patch::Json(p) => {
                json_patch::patch(doc, p).map_err(|e| ApiError::Unprocessable(e.to_string()))
            }
            Patch::Merge(p) => {
                json_patch::merge(doc, p);
                Ok(())
            }
            Patch::Strategic(p) => {
                let original = std::mem::take(doc);
                *doc = strategic::apply(original, p.clone(), schema).map_err(|e| match e {
                    SmpError::BadRequest(m) => ApiError::BadRequest(m),
                    SmpError::Unprocessable(m) => ApiError::Unprocessable(m),
                    SmpError::Other(m) => ApiError::Unclassified(m),
                })?;
                Ok(())
            }
        }
    }
}
