//! Deletion: preconditions, graceful deletion, finalizers, propagation.
//!
//! An object is removed from storage at once only when nothing holds it:
//! - **finalizers** (`metadata.finalizers`) keep it, marked with a
//!   `deletionTimestamp`, until the controllers that own them remove them;
//! - a **grace period** (pods) keeps it until the kubelet has stopped the
//!   containers and deletes it with grace 0 (or a client forces it);
//! - the **propagation policy** is recorded as a finalizer for the garbage
//!   collector: `orphan` or `foregroundDeletion`.

use api_types::Resource;
use api_types::meta::v1::{DeleteOptions, Status, StatusDetails, Time};
use chrono::Duration as ChronoDuration;
use http::StatusCode;
use storage::StorageError;

use super::Store;
use crate::error::{ApiError, FieldError, Result};
use crate::registry::codec::{encode, encode_for_storage};
use crate::registry::store::read::render_list;
use crate::registry::{DeleteQuery, ListParams, Reply, RequestScope};

pub const FINALIZER_ORPHAN: &str = "orphan";
pub const FINALIZER_FOREGROUND: &str = "foregroundDeletion";

/// Merges the DELETE body (if any) with query parameters.
fn delete_options(body: &[u8], query: &DeleteQuery) -> Result<DeleteOptions> {
    let mut opts: DeleteOptions = if body.iter().all(u8::is_ascii_whitespace) {
        DeleteOptions::default()
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("error decoding DeleteOptions: {e}")))?
    };
    if opts.grace_period_seconds.is_none() {
        opts.grace_period_seconds = query.grace_period_seconds;
    }
    if opts.propagation_policy.is_none() {
        opts.propagation_policy = query.propagation_policy.clone();
    }
    if opts.orphan_dependents.is_none() {
        opts.orphan_dependents = query.orphan_dependents;
    }
    if opts.dry_run.is_empty()
        && let Some(d) = &query.dry_run
    {
        opts.dry_run = vec![d.clone()];
    }
    let invalid = |cause| ApiError::Invalid {
        group: "meta.k8s.io".into(),
        kind: "DeleteOptions".into(),
        name: String::new(),
        causes: vec![cause],
    };
    if opts.orphan_dependents.is_some() && opts.propagation_policy.is_some() {
        return Err(invalid(FieldError::invalid(
            "propagationPolicy",
            opts.propagation_policy.as_deref().unwrap_or_default(),
            "orphanDependents and deletionPropagation cannot be both set",
        )));
    }
    if let Some(p) = &opts.propagation_policy
        && !matches!(p.as_str(), "Orphan" | "Background" | "Foreground")
    {
        return Err(invalid(FieldError::not_supported(
            "propagationPolicy",
            p,
            &["Foreground", "Background", "Orphan", "nil"],
        )));
    }
    if let Some(d) = opts.dry_run.iter().find(|d| d.as_str() != "All") {
        return Err(invalid(FieldError::not_supported("dryRun", d, &["All"])));
    }
    Ok(opts)
}

/// Adds or removes the garbage collector's finalizers as the policy asks.
fn apply_propagation(finalizers: &mut Vec<String>, opts: &DeleteOptions) {
    let policy = match (opts.propagation_policy.as_deref(), opts.orphan_dependents) {
        (Some(p), _) => p,
        (None, Some(true)) => "Orphan",
        (None, Some(false)) => "Background",
        (None, None) => return,
    };
    let (add, remove): (&[&str], &[&str]) = match policy {
        "Orphan" => (&[FINALIZER_ORPHAN], &[FINALIZER_FOREGROUND]),
        "Foreground" => (&[FINALIZER_FOREGROUND], &[FINALIZER_ORPHAN]),
        _ => (&[], &[FINALIZER_ORPHAN, FINALIZER_FOREGROUND]),
    };
    finalizers.retain(|f| !remove.contains(&f.as_str()));
    for f in add {
        if !finalizers.iter().any(|x| x == f) {
            finalizers.push((*f).to_string());
        }
    }
}

/// What a DELETE decided.
enum Decision<K> {
    /// Remove from storage now.
    Remove,
    /// Keep, with this new state (deletionTimestamp and/or finalizers set).
    Keep(K),
    /// Already being deleted and nothing changes.
    Unchanged,
}

impl<K: Resource> Store<K> {
    fn check_preconditions(&self, obj: &K, opts: &DeleteOptions) -> Result<()> {
        let Some(pre) = &opts.preconditions else {
            return Ok(());
        };
        let meta = obj.metadata();
        let fail = |detail: String| ApiError::Conflict {
            resource: self.gr.clone(),
            name: meta.name.clone(),
            detail,
        };
        if let Some(uid) = pre.uid.as_deref()
            && uid != meta.uid
        {
            return Err(fail(format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                meta.uid
            )));
        }
        if let Some(rv) = pre.resource_version.as_deref()
            && rv != meta.resource_version
        {
            return Err(fail(format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                meta.resource_version
            )));
        }
        Ok(())
    }

    /// Decides what a DELETE does to `obj` (pure, given the time).
    fn decide(&self, obj: &K, opts: &DeleteOptions, now: Time) -> Decision<K> {
        let grace = self
            .strategy
            .grace_period(obj, opts.grace_period_seconds)
            .max(0);
        let mut new = obj.clone();
        apply_propagation(&mut new.metadata_mut().finalizers, opts);
        let held = !new.metadata().finalizers.is_empty() || self.strategy.blocks_deletion(&new);
        let meta = new.metadata_mut();
        if meta.deletion_timestamp.is_some() {
            // Deletion already started: it may only get shorter.
            let remaining = meta.deletion_grace_period_seconds.unwrap_or(0);
            if grace == 0 && !held {
                return Decision::Remove;
            }
            let changed_finalizers = meta.finalizers != obj.metadata().finalizers;
            if grace < remaining {
                meta.deletion_timestamp = Some(Time(now.0 + ChronoDuration::seconds(grace)));
                meta.deletion_grace_period_seconds = Some(grace);
            } else if !changed_finalizers {
                return Decision::Unchanged;
            }
            return Decision::Keep(new);
        }
        if grace == 0 && !held {
            return Decision::Remove;
        }
        meta.deletion_timestamp = Some(Time(now.0 + ChronoDuration::seconds(grace)));
        meta.deletion_grace_period_seconds = Some(grace);
        self.strategy.begin_deletion(&mut new);
        Decision::Keep(new)
    }

    pub(super) async fn delete_object(
        &self,
        scope: &RequestScope,
        name: &str,
        body: &[u8],
        query: &DeleteQuery,
    ) -> Result<Reply> {
        let opts = delete_options(body, query)?;
        let dry_run = scope.dry_run || !opts.dry_run.is_empty();
        let key = self.key(scope.namespace.as_deref(), name)?;
        loop {
            let (obj, kv) = self.load(&key, name).await?;
            self.check_preconditions(&obj, &opts)?;
            match self.decide(&obj, &opts, Time::now()) {
                Decision::Unchanged => return self.reply(StatusCode::OK, &obj),
                Decision::Keep(mut new) => {
                    if dry_run {
                        return self.reply(StatusCode::OK, &new);
                    }
                    match self
                        .storage
                        .update(&key, encode_for_storage(&mut new)?, kv.mod_revision)
                        .await
                    {
                        Ok(kv) => {
                            new.metadata_mut().resource_version = kv.mod_revision.to_string();
                            return self.reply(StatusCode::OK, &new);
                        }
                        Err(StorageError::Conflict { .. }) => continue,
                        Err(e) => return Err(ApiError::from_storage(e, &self.gr, name)),
                    }
                }
                Decision::Remove => {
                    if !dry_run {
                        match self.storage.delete(&key, Some(kv.mod_revision)).await {
                            Ok(_) => {}
                            Err(StorageError::Conflict { .. }) => continue,
                            Err(e) => return Err(ApiError::from_storage(e, &self.gr, name)),
                        }
                    }
                    return self.deleted_reply(&obj);
                }
            }
        }
    }

    /// What a finished DELETE answers: the object for some kinds, else a
    /// `Status` naming what was deleted.
    fn deleted_reply(&self, obj: &K) -> Result<Reply> {
        if self.strategy.returns_deleted_object() {
            return self.reply(StatusCode::OK, obj);
        }
        let meta = obj.metadata();
        let status = Status::success(Some(StatusDetails {
            name: meta.name.clone(),
            group: K::GROUP.into(),
            kind: K::PLURAL.into(),
            uid: meta.uid.clone(),
            ..Default::default()
        }));
        Ok(Reply::ok(encode(&status)?))
    }

    pub(super) async fn delete_objects(
        &self,
        scope: &RequestScope,
        params: &ListParams,
        body: &[u8],
        query: &DeleteQuery,
    ) -> Result<Reply> {
        // Validate the options before touching anything.
        delete_options(body, query)?;
        let filter = self.filter(scope, params)?;
        let (items, revision, _, _) = self.list_all(&filter).await?;
        let mut deleted = Vec::with_capacity(items.len());
        for item in items {
            let item_scope = RequestScope {
                namespace: (!item.namespace.is_empty()).then(|| item.namespace.clone()),
                ..scope.clone()
            };
            match self
                .delete_object(&item_scope, &item.name, body, query)
                .await
            {
                Ok(_) => deleted.push(item),
                // Someone else deleted it first: fine.
                Err(ApiError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Reply::ok(render_list::<K>(&deleted, revision, None, None)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn propagation_policies_set_the_gc_finalizers() {
        let mut f = vec!["keep-me".to_string()];
        let orphan = DeleteOptions {
            propagation_policy: Some("Orphan".into()),
            ..Default::default()
        };
        apply_propagation(&mut f, &orphan);
        assert_eq!(f, ["keep-me", "orphan"]);
        let fg = DeleteOptions {
            propagation_policy: Some("Foreground".into()),
            ..Default::default()
        };
        apply_propagation(&mut f, &fg);
        assert_eq!(f, ["keep-me", "foregroundDeletion"]);
        let bg = DeleteOptions {
            propagation_policy: Some("Background".into()),
            ..Default::default()
        };
        apply_propagation(&mut f, &bg);
        assert_eq!(f, ["keep-me"]);
        let legacy = DeleteOptions {
            orphan_dependents: Some(true),
            ..Default::default()
        };
        apply_propagation(&mut f, &legacy);
        assert_eq!(f, ["keep-me", "orphan"]);
    }

    #[test]
    fn bad_delete_options_are_rejected() {
        let q = DeleteQuery::default();
        assert!(delete_options(br#"{"propagationPolicy":"Sideways"}"#, &q).is_err());
        assert!(delete_options(b"{not json", &q).is_err());
        assert!(delete_options(br#"{"dryRun":["Some"]}"#, &q).is_err());
        let q = DeleteQuery {
            grace_period_seconds: Some(0),
            ..Default::default()
        };
        assert_eq!(
            delete_options(b"", &q).expect("ok").grace_period_seconds,
            Some(0)
        );
    }
}
