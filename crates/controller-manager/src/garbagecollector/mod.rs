//! The garbage collector (upstream: `pkg/controller/garbagecollector`):
//! deletes objects whose owners are gone, and carries out the three
//! cascading-deletion policies.
//!
//! - **Background** (the default): the owner is deleted at once; its
//!   dependents, now pointing at nothing, are found and deleted.
//! - **Foreground**: the apiserver keeps the owner, with a
//!   `deletionTimestamp` and the `foregroundDeletion` finalizer; the
//!   collector deletes its dependents, and once none with
//!   `blockOwnerDeletion: true` is left, removes the finalizer so the owner
//!   goes too.
//! - **Orphan**: the owner is kept with the `orphan` finalizer; the
//!   collector removes the owner from its dependents' `ownerReferences`,
//!   then removes the finalizer.
//!
//! How: a metadata informer per kind ([`crate::resources::gc_kinds`]) feeds
//! a [`graph::Graph`] of owner → dependents. Graph changes put objects on
//! two work queues: `attempt_to_delete` (is this object garbage? is this
//! foreground deletion done?) and `attempt_to_orphan`. Workers never trust
//! the graph about existence: before deleting anything they ask the
//! apiserver (a GET of each owner; a UID other than the reference's counts
//! as gone), then [`plan::decide`] says what to do.

pub mod graph;
pub mod plan;

use std::sync::{Arc, Mutex, MutexGuard};

use api_types::meta::v1::{DeleteOptions, ObjectMeta, OwnerReference, Preconditions};
use client::{Client, Patch};
use runtime::workqueue::WorkQueue;
use tracing::{debug, info, warn};

use crate::resources::{DynKind, KindInfo, MetaHandler, gc_kinds};
use graph::{FINALIZER_FOREGROUND, FINALIZER_ORPHAN, Graph, ObjectRef, Observed, Work};
use plan::{Action, OwnerState, Policy};

/// Workers per queue (`--concurrent-gc-syncs`).
pub const DEFAULT_WORKERS: usize = 20;

/// Why one attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error(transparent)]
    Api(#[from] client::Error),
    /// An owner reference names a kind this collector does not follow.
    #[error("unable to get REST mapping for {api_version}, Kind={kind}")]
    UnknownKind { api_version: String, kind: String },
    /// Never resolves: such a reference is invalid.
    #[error("cluster-scoped objects cannot refer to namespaced owners")]
    NamespacedOwnerOfClusterScoped,
}

/// How an attempt ended.
enum Outcome {
    Done,
    /// The object exists but no informer has shown it yet: look again.
    NotYetObserved,
}

/// The graph and the queues, shared by the informers' handlers and the
/// workers.
struct Shared {
    graph: Mutex<Graph>,
    attempt_to_delete: WorkQueue<ObjectRef>,
    attempt_to_orphan: WorkQueue<ObjectRef>,
}

impl Shared {
    fn graph(&self) -> MutexGuard<'_, Graph> {
        // Graph edits finish before anything that could panic.
        self.graph
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn dispatch(&self, work: Vec<Work>) {
        for w in work {
            match w {
                Work::AttemptToDelete(r) => self.attempt_to_delete.add(r),
                Work::AttemptToOrphan(r) => self.attempt_to_orphan.add(r),
            }
        }
    }
}

/// Informer events → graph changes.
struct GraphEvents(Arc<Shared>);

impl MetaHandler for GraphEvents {
    fn upsert(&self, kind: KindInfo, old: Option<&ObjectMeta>, new: &ObjectMeta) {
        let work = {
            let mut g = self.0.graph();
            let mut work = Vec::new();
            // A relist can show a namesake with another UID as an update:
            // the old object is gone.
            if let Some(old) = old
                && old.uid != new.uid
            {
                work = g.remove(&ObjectRef::of(kind, old));
            }
            work.extend(g.observe(&Observed::of(kind, new)));
            work
        };
        self.0.dispatch(work);
    }

    fn delete(&self, kind: KindInfo, obj: &ObjectMeta) {
        let work = self.0.graph().remove(&ObjectRef::of(kind, obj));
        self.0.dispatch(work);
    }
}

/// The garbage collector.
pub struct GarbageCollector {
    kinds: Vec<Arc<dyn DynKind>>,
    shared: Arc<Shared>,
}

impl GarbageCollector {
    /// A collector over every kind in [`gc_kinds`].
    pub fn new(client: &Client) -> Self {
        GarbageCollector::with_kinds(gc_kinds(client))
    }

    pub fn with_kinds(kinds: Vec<Arc<dyn DynKind>>) -> Self {
        let graph = Graph::new(kinds.iter().map(|k| k.info()));
        GarbageCollector {
            kinds,
            shared: Arc::new(Shared {
                graph: Mutex::new(graph),
                attempt_to_delete: WorkQueue::new(),
                attempt_to_orphan: WorkQueue::new(),
            }),
        }
    }

    /// Watches every kind, waits until all are listed, then runs `workers`
    /// workers on each queue until `stop`.
    pub async fn run(self, workers: usize, stop: impl std::future::Future<Output = ()> + Send) {
        let mut stop = std::pin::pin!(stop);
        let handler: Arc<dyn MetaHandler> = Arc::new(GraphEvents(self.shared.clone()));
        let mut informers = Vec::new();
        let mut synced = Vec::new();
        for k in &self.kinds {
            let (s, task) = k.watch(handler.clone());
            synced.push(s);
            informers.push(task);
        }
        let all_synced = async {
            for s in &mut synced {
                s.wait().await;
            }
        };
        tokio::select! {
            () = all_synced => {}
            () = &mut stop => {
                informers.iter().for_each(tokio::task::JoinHandle::abort);
                return;
            }
        }
        info!(
            objects = self.shared.graph().len(),
            "garbage collector synced"
        );
        let gc = Arc::new(self);
        let mut tasks = Vec::new();
        for _ in 0..workers.max(1) {
            let g = gc.clone();
            tasks.push(tokio::spawn(async move { g.delete_worker().await }));
            let g = gc.clone();
            tasks.push(tokio::spawn(async move { g.orphan_worker().await }));
        }
        stop.await;
        gc.shared.attempt_to_delete.shut_down();
        gc.shared.attempt_to_orphan.shut_down();
        informers.iter().for_each(tokio::task::JoinHandle::abort);
        for t in tasks {
            let _ = t.await;
        }
    }

    async fn delete_worker(&self) {
        let q = &self.shared.attempt_to_delete;
        while let Some(item) = q.get().await {
            match self.attempt_to_delete(&item).await {
                Ok(Outcome::Done) => q.forget(&item),
                Ok(Outcome::NotYetObserved) => {
                    debug!(item = %item, "item not observed by an informer yet");
                    q.add_rate_limited(item.clone());
                }
                Err(GcError::NamespacedOwnerOfClusterScoped) => {
                    warn!(item = %item, "cluster-scoped object refers to a namespaced owner");
                    q.forget(&item);
                }
                Err(e) => {
                    warn!(item = %item, error = %e, "error syncing item");
                    q.add_rate_limited(item.clone());
                }
            }
            q.done(&item);
        }
    }

    async fn orphan_worker(&self) {
        let q = &self.shared.attempt_to_orphan;
        while let Some(owner) = q.get().await {
            match self.attempt_to_orphan(&owner).await {
                Ok(()) => q.forget(&owner),
                Err(e) => {
                    warn!(owner = %owner, error = %e, "orphaning dependents failed");
                    q.add_rate_limited(owner.clone());
                }
            }
            q.done(&owner);
        }
    }

    fn kind(&self, api_version: &str, kind: &str) -> Result<&Arc<dyn DynKind>, GcError> {
        self.kinds
            .iter()
            .find(|k| {
                let i = k.info();
                i.api_version == api_version && i.kind == kind
            })
            .ok_or_else(|| GcError::UnknownKind {
                api_version: api_version.into(),
                kind: kind.into(),
            })
    }

    /// The apiserver has no object `identity`: drop it from the graph and
    /// look at what it owned (upstream's virtual delete event).
    fn absent(&self, identity: &ObjectRef) {
        let work = self.shared.graph().verified_absent(identity);
        self.shared.dispatch(work);
    }

    /// Upstream's `attemptToDeleteItem`.
    async fn attempt_to_delete(&self, item: &ObjectRef) -> Result<Outcome, GcError> {
        let (node, has_dependents, a_dependent_waits) = {
            let g = self.shared.graph();
            let Some(node) = g.node(&item.uid) else {
                // Deleted meanwhile.
                return Ok(Outcome::Done);
            };
            (
                node.clone(),
                !node.dependents.is_empty(),
                g.a_dependent_is_deleting_dependents(&item.uid),
            )
        };
        // Deletion is a one-way trip: wait for it to finish, then its
        // dependents are looked at.
        if node.being_deleted && !node.deleting_dependents {
            return Ok(Outcome::Done);
        }
        let id = &node.identity;
        let done = || {
            Ok(if node.observed {
                Outcome::Done
            } else {
                Outcome::NotYetObserved
            })
        };
        let kind = self.kind(&id.api_version, &id.kind)?;
        let latest = match kind.get(&id.namespace, &id.name).await {
            Ok(m) if m.uid == id.uid => m,
            Ok(_) => {
                debug!(item = %id, "UID does not match: the item is gone");
                self.absent(id);
                return Ok(Outcome::Done);
            }
            Err(e) if e.is_not_found() => {
                debug!(item = %id, "item not found");
                self.absent(id);
                return Ok(Outcome::Done);
            }
            Err(e) => return Err(e.into()),
        };
        if node.deleting_dependents {
            self.deleting_dependents(id).await?;
            return done();
        }
        if latest.owner_references.is_empty() {
            return done();
        }
        let mut refs = Vec::with_capacity(latest.owner_references.len());
        for r in &latest.owner_references {
            refs.push((r.clone(), self.owner_state(id, r).await?));
        }
        let action = plan::decide(&refs, has_dependents, a_dependent_waits, &latest.finalizers);
        debug!(item = %id, ?refs, ?action, "classified owner references");
        match action {
            Action::Keep => {}
            Action::RemoveReferences(uids) => {
                info!(item = %id, owners = ?uids, "removing dangling and waiting owner references");
                let patch = Patch::Strategic(plan::remove_references_patch(&id.uid, &uids));
                match kind.patch(&id.namespace, &id.name, &patch).await {
                    Ok(_) => {}
                    // 422: a namesake with another UID replaced it.
                    Err(e) if e.is_not_found() || e.is_invalid() => self.absent(id),
                    Err(e) => return Err(e.into()),
                }
            }
            Action::DeleteInForeground { unblock } => {
                if unblock {
                    info!(item = %id, "a dependent is also deleting its dependents: unblocking owner references");
                    let patch =
                        Patch::Strategic(plan::unblock_patch(&id.uid, &latest.owner_references));
                    kind.patch(&id.namespace, &id.name, &patch).await?;
                }
                self.delete(kind.as_ref(), id, &latest, Policy::Foreground)
                    .await?;
            }
            Action::Delete(policy) => {
                self.delete(kind.as_ref(), id, &latest, policy).await?;
            }
        }
        done()
    }

    /// What `r`, a reference of `item`, points at. Upstream's `isDangling`
    /// and `classifyReferences`: the absent-owner cache, else a GET.
    async fn owner_state(
        &self,
        item: &ObjectRef,
        r: &OwnerReference,
    ) -> Result<OwnerState, GcError> {
        let mut key = ObjectRef {
            api_version: r.api_version.clone(),
            kind: r.kind.clone(),
            namespace: String::new(),
            name: r.name.clone(),
            uid: r.uid.clone(),
        };
        {
            let g = self.shared.graph();
            let in_ns = ObjectRef {
                namespace: item.namespace.clone(),
                ..key.clone()
            };
            if g.absent.has(&key) || g.absent.has(&in_ns) {
                return Ok(OwnerState::Dangling);
            }
        }
        let kind = self.kind(&r.api_version, &r.kind)?;
        if kind.info().namespaced {
            if item.namespace.is_empty() {
                return Err(GcError::NamespacedOwnerOfClusterScoped);
            }
            key.namespace.clone_from(&item.namespace);
        }
        match kind.get(&key.namespace, &r.name).await {
            Ok(owner) if owner.uid == r.uid => {
                let waiting = owner.deletion_timestamp.is_some()
                    && owner.finalizers.iter().any(|f| f == FINALIZER_FOREGROUND);
                Ok(if waiting {
                    OwnerState::WaitingForDependentsDeletion
                } else {
                    OwnerState::Solid
                })
            }
            Ok(_) => {
                self.shared.graph().absent.add(key);
                Ok(OwnerState::Dangling)
            }
            Err(e) if e.is_not_found() => {
                self.shared.graph().absent.add(key);
                Ok(OwnerState::Dangling)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A foreground deletion in progress (upstream's
    /// `processDeletingDependentsItem`): done when no dependent blocks it.
    async fn deleting_dependents(&self, owner: &ObjectRef) -> Result<(), GcError> {
        let blocking = self.shared.graph().blocking_dependents(&owner.uid);
        if blocking.is_empty() {
            info!(item = %owner, "no blocking dependents left: removing the foregroundDeletion finalizer");
            return self.remove_finalizer(owner, FINALIZER_FOREGROUND).await;
        }
        for (dep, deleting_its_own) in blocking {
            if !deleting_its_own {
                self.shared.attempt_to_delete.add(dep);
            }
        }
        Ok(())
    }

    /// Deletes `id` with `policy`, on condition it is still the object we
    /// looked at. If only unrelated fields changed since (not its owner
    /// references), deletes it anyway rather than starve.
    async fn delete(
        &self,
        kind: &dyn DynKind,
        id: &ObjectRef,
        latest: &ObjectMeta,
        policy: Policy,
    ) -> Result<(), GcError> {
        info!(item = %id, policy = policy.as_str(), "deleting item");
        let mut opts = DeleteOptions {
            preconditions: Some(Preconditions {
                uid: Some(id.uid.clone()),
                resource_version: Some(latest.resource_version.clone()).filter(|rv| !rv.is_empty()),
            }),
            propagation_policy: Some(policy.as_str().into()),
            ..DeleteOptions::default()
        };
        match kind.delete(&id.namespace, &id.name, &opts).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => {
                self.absent(id);
                Ok(())
            }
            Err(e) if e.is_conflict() => {
                let live = match kind.get(&id.namespace, &id.name).await {
                    Ok(live) => live,
                    Err(e) if e.is_not_found() => return Ok(()),
                    Err(e) => return Err(e.into()),
                };
                if live.uid == id.uid
                    && live.resource_version != latest.resource_version
                    && live.owner_references == latest.owner_references
                {
                    // The same object, changed in a way that does not
                    // matter here: try again on what was just read.
                    if let Some(p) = opts.preconditions.as_mut() {
                        p.resource_version = Some(live.resource_version.clone());
                    }
                    return match kind.delete(&id.namespace, &id.name, &opts).await {
                        Err(e) if !e.is_not_found() => Err(e.into()),
                        _ => Ok(()),
                    };
                }
                Err(e.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Removes `finalizer` from `owner`, re-reading it on conflicts.
    async fn remove_finalizer(&self, owner: &ObjectRef, finalizer: &str) -> Result<(), GcError> {
        const ATTEMPTS: usize = 5;
        let kind = self.kind(&owner.api_version, &owner.kind)?;
        let mut attempt = 1;
        loop {
            let latest = match kind.get(&owner.namespace, &owner.name).await {
                Ok(m) if m.uid == owner.uid => m,
                Ok(_) => return Ok(()),
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            let Some(patch) = plan::remove_finalizer_patch(
                &latest.resource_version,
                &latest.finalizers,
                finalizer,
            ) else {
                return Ok(());
            };
            match kind
                .patch(&owner.namespace, &owner.name, &Patch::Merge(patch))
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) if e.is_conflict() && attempt < ATTEMPTS => attempt += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Upstream's `attemptToOrphanWorker`: every dependent loses its
    /// reference to `owner`, then `owner` loses its `orphan` finalizer.
    async fn attempt_to_orphan(&self, owner: &ObjectRef) -> Result<(), GcError> {
        let dependents = self.shared.graph().dependents(&owner.uid);
        let owner_uid = [owner.uid.clone()];
        let owner_uid = &owner_uid;
        let patches = dependents.iter().map(|d| async move {
            let kind = self.kind(&d.api_version, &d.kind)?;
            let patch = Patch::Strategic(plan::remove_references_patch(&d.uid, owner_uid));
            match kind.patch(&d.namespace, &d.name, &patch).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_not_found() => Ok(()),
                Err(e) => Err(GcError::from(e)),
            }
        });
        let results = futures::future::join_all(patches).await;
        if let Some(e) = results.into_iter().find_map(Result::err) {
            return Err(e);
        }
        info!(owner = %owner, dependents = dependents.len(), "orphaned dependents; removing the orphan finalizer");
        self.remove_finalizer(owner, FINALIZER_ORPHAN).await
    }
}
