//! The namespace controller (upstream: `pkg/controller/namespace`): empties
//! a namespace that is being deleted, then lets it go.
//!
//! `kubectl delete namespace x` only marks the namespace: the apiserver sets
//! its `deletionTimestamp` and phase `Terminating`, refuses new objects in
//! it, and keeps it while `spec.finalizers` holds `kubernetes`. This
//! controller, for each such namespace:
//!
//! 1. deletes its **pods** (delete-collection, propagation `Background`),
//!    and waits until they are all gone: pods have grace periods, so it
//!    looks again after half the longest one;
//! 2. then every other namespaced kind ([`crate::resources::namespaced_kinds`])
//!    the same way; objects held by finalizers are waited for (15 s at a
//!    time), objects left for no reason are an error (retried);
//! 3. records the progress in the namespace's status conditions
//!    (`NamespaceContentRemaining`, `NamespaceFinalizersRemaining` …);
//! 4. once nothing is left, removes `kubernetes` through the `finalize`
//!    subresource, and the apiserver removes the namespace.

pub mod deletion;

use std::sync::Arc;
use std::time::Duration;

use api_types::core::v1::{Namespace, Pod};
use api_types::meta::v1::{DeleteOptions, Time};
use client::{Api, Client, ListParams, PostParams};
use runtime::informer::{EventHandler, Informer};
use runtime::reflector::ReflectorConfig;
use runtime::workqueue::{RateLimiter, WorkQueue};
use tracing::{debug, info, warn};

use crate::resources::{DynKind, namespaced_kinds};
use deletion::{Conditions, KindResult, Totals, after_delete, finalize_request, finalized};

/// Namespaces synced at once (`--concurrent-namespace-syncs`).
pub const DEFAULT_WORKERS: usize = 10;
/// How often every namespace is looked at again (`--namespace-sync-period`).
pub const DEFAULT_SYNC_PERIOD: Duration = Duration::from_secs(300);
/// A namespace is first synced this long after its deletion was seen, so
/// that objects created at the last moment (through another apiserver, or
/// still in flight) are there to be deleted (upstream's
/// `namespaceDeletionGracePeriod`).
pub const DELETION_GRACE_PERIOD: Duration = Duration::from_secs(5);

/// Why a sync failed (retried with back-off).
#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error(transparent)]
    Api(#[from] client::Error),
    /// Some kinds could not be emptied.
    #[error("{0}")]
    Content(String),
    #[error("namespace uid has changed across retries")]
    UidChanged,
}

/// How a sync ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Synced {
    /// Nothing (more) to do.
    Done,
    /// Content remains; look again in about this many seconds.
    Remaining(i64),
}

/// The rate limiter of upstream's namespace queue: per-item back-off capped
/// at a minute, so a stuck namespace is retried at least every minute.
fn rate_limiter() -> RateLimiter {
    RateLimiter {
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_secs(60),
        qps: 10.0,
        burst: 100,
    }
}

struct Enqueue(WorkQueue<String>);

impl Enqueue {
    fn maybe(&self, ns: &Namespace) {
        if ns.metadata.deletion_timestamp.is_some() {
            self.0
                .add_after(ns.metadata.name.clone(), DELETION_GRACE_PERIOD);
        }
    }
}

impl EventHandler<Namespace> for Enqueue {
    fn on_add(&self, ns: &Arc<Namespace>) {
        self.maybe(ns);
    }
    fn on_update(&self, _: &Arc<Namespace>, ns: &Arc<Namespace>) {
        self.maybe(ns);
    }
}

/// The controller.
pub struct Controller {
    client: Client,
    kinds: Vec<Arc<dyn DynKind>>,
    queue: WorkQueue<String>,
}

impl Controller {
    pub fn new(client: Client) -> Self {
        let kinds = namespaced_kinds(&client);
        Controller {
            client,
            kinds,
            queue: WorkQueue::with_rate_limiter(rate_limiter()),
        }
    }

    /// Runs `workers` syncs at once until `stop`.
    pub async fn run(
        self,
        workers: usize,
        resync: Duration,
        stop: impl std::future::Future<Output = ()> + Send,
    ) {
        let mut informer = Informer::new(
            Api::<Namespace>::all(self.client.clone()),
            ReflectorConfig::default(),
        );
        // 0 means no periodic look, as upstream.
        if !resync.is_zero() {
            informer = informer.with_resync(resync);
        }
        informer.add_handler(Arc::new(Enqueue(self.queue.clone())));
        let task = informer.spawn();
        info!("namespace controller started");
        let c = Arc::new(self);
        let mut tasks = Vec::new();
        for _ in 0..workers.max(1) {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(name) = c.queue.get().await {
                    match c.sync(&name).await {
                        Ok(Synced::Done) => c.queue.forget(&name),
                        Ok(Synced::Remaining(estimate)) => {
                            debug!(namespace = %name, estimate, "content remaining in namespace");
                            c.queue
                                .add_after(name.clone(), deletion::requeue_after(estimate));
                        }
                        Err(e) => {
                            warn!(namespace = %name, error = %e, "deletion of namespace failed");
                            c.queue.add_rate_limited(name.clone());
                        }
                    }
                    c.queue.done(&name);
                }
            }));
        }
        stop.await;
        c.queue.shut_down();
        task.abort();
        for t in tasks {
            let _ = t.await;
        }
    }

    fn namespaces(&self) -> Api<Namespace> {
        Api::all(self.client.clone())
    }

    /// One sync of namespace `name` (upstream's
    /// `namespacedResourcesDeleter.Delete`).
    ///
    /// # Errors
    /// An apiserver call failed, or some content could not be deleted.
    pub async fn sync(&self, name: &str) -> Result<Synced, NamespaceError> {
        // The latest state, not the cache's: other controllers edit a
        // terminating namespace too.
        let Some(mut ns) = self.namespaces().get_opt(name).await? else {
            return Ok(Synced::Done);
        };
        if ns.metadata.deletion_timestamp.is_none() {
            return Ok(Synced::Done);
        }
        ns = match self.ensure_terminating(ns).await {
            Ok(ns) => ns,
            Err(NamespaceError::Api(e)) if e.is_not_found() => return Ok(Synced::Done),
            Err(e) => return Err(e),
        };
        if finalized(&ns) {
            return Ok(Synced::Done);
        }
        let estimate = self.delete_all_content(&mut ns).await?;
        if estimate > 0 {
            return Ok(Synced::Remaining(estimate));
        }
        self.finalize(ns).await?;
        info!(namespace = %name, "namespace emptied and finalized");
        Ok(Synced::Done)
    }

    /// Makes sure the phase says `Terminating` (the apiserver sets it; a
    /// namespace deleted by an older server might lack it).
    async fn ensure_terminating(&self, mut ns: Namespace) -> Result<Namespace, NamespaceError> {
        for _ in 0..5 {
            let status = ns.status.get_or_insert_with(Default::default);
            if status.phase.as_deref() == Some("Terminating") {
                return Ok(ns);
            }
            status.phase = Some("Terminating".into());
            match self
                .namespaces()
                .replace_status(&ns.metadata.name.clone(), &PostParams::default(), &ns)
                .await
            {
                Ok(updated) => return Ok(updated),
                Err(e) if e.is_conflict() => ns = self.reread(&ns).await?,
                Err(e) => return Err(e.into()),
            }
        }
        Err(NamespaceError::Content(
            "too many conflicts setting the phase".into(),
        ))
    }

    /// The namespace again, after a conflict; an error if it was replaced.
    async fn reread(&self, ns: &Namespace) -> Result<Namespace, NamespaceError> {
        let latest = self.namespaces().get(&ns.metadata.name).await?;
        if latest.metadata.uid != ns.metadata.uid {
            return Err(NamespaceError::UidChanged);
        }
        Ok(latest)
    }

    /// Removes the `kubernetes` finalizer through `/finalize`.
    async fn finalize(&self, mut ns: Namespace) -> Result<(), NamespaceError> {
        for _ in 0..5 {
            match self
                .namespaces()
                .finalize(&finalize_request(&ns), &PostParams::default())
                .await
            {
                Ok(_) => return Ok(()),
                // Another controller got there first.
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) if e.is_conflict() => ns = self.reread(&ns).await?,
                Err(e) => return Err(e.into()),
            }
        }
        Err(NamespaceError::Content(
            "too many conflicts finalizing the namespace".into(),
        ))
    }

    /// Deletes everything in the namespace, pods first; returns how many
    /// seconds to wait before looking again (0: nothing is left).
    async fn delete_all_content(&self, ns: &mut Namespace) -> Result<i64, NamespaceError> {
        let name = ns.metadata.name.clone();
        let deleted_at = ns
            .metadata
            .deletion_timestamp
            .map_or_else(chrono::Utc::now, |t| t.0);
        let mut conditions = Conditions::default();
        let mut errors = Vec::new();
        let mut totals = Totals::default();
        let mut estimate = 0;
        let (pods, others): (Vec<_>, Vec<_>) = self
            .kinds
            .iter()
            .partition(|k| k.info().group.is_empty() && k.info().resource == "pods");
        // Pods first, and nothing else until they are gone: a pod must not
        // outlive what it uses (its service account, secrets, policies).
        for kind in pods {
            let (r, err) = self.delete_kind(kind.as_ref(), &name, deleted_at).await;
            if let Some(e) = err {
                errors.push(format!(
                    "failed to delete pods for namespace: {name}, err: {e}"
                ));
                conditions.delete_error(e);
            }
            estimate = estimate.max(r.estimate);
            if r.remaining > 0 {
                debug!(namespace = %name, pods = r.remaining, "pods still remain, delaying deletion of other resources");
                // As upstream: the conditions here report only failures.
                self.write_conditions(ns, conditions).await;
                return if errors.is_empty() {
                    Ok(estimate)
                } else {
                    Err(NamespaceError::Content(join(&errors)))
                };
            }
        }
        for kind in others {
            let (r, err) = self.delete_kind(kind.as_ref(), &name, deleted_at).await;
            if let Some(e) = err {
                errors.push(e.clone());
                conditions.delete_error(e);
            }
            estimate = estimate.max(r.estimate);
            totals.add(kind.info(), &r);
        }
        conditions.content_totals(&totals);
        self.write_conditions(ns, conditions).await;
        if !errors.is_empty() {
            return Err(NamespaceError::Content(join(&errors)));
        }
        Ok(estimate)
    }

    /// Deletes the objects of one kind in namespace `ns`, then lists what
    /// is left.
    async fn delete_kind(
        &self,
        kind: &dyn DynKind,
        ns: &str,
        deleted_at: chrono::DateTime<chrono::Utc>,
    ) -> (KindResult, Option<String>) {
        let info = kind.info();
        let mut estimate = 0;
        if info.group.is_empty() && info.resource == "pods" {
            let pods: Api<Pod> = Api::namespaced(self.client.clone(), ns);
            match pods.list_all(&ListParams::default()).await {
                Ok(list) => {
                    estimate = deletion::pod_estimate(&list.items, deleted_at, chrono::Utc::now());
                }
                Err(e) => return (KindResult::default(), Some(e.to_string())),
            }
        }
        // Background: the namespace controller deletes everything itself,
        // and must not make the garbage collector orphan anything.
        let opts = DeleteOptions {
            propagation_policy: Some("Background".into()),
            ..DeleteOptions::default()
        };
        let keep_estimate = |e: client::Error| {
            (
                KindResult {
                    estimate,
                    ..KindResult::default()
                },
                Some(e.to_string()),
            )
        };
        if let Err(e) = kind.delete_collection(ns, &opts).await {
            return keep_estimate(e);
        }
        match kind.list(ns).await {
            Ok(left) => after_delete(info, ns, estimate, &left),
            Err(e) => keep_estimate(e),
        }
    }

    /// Writes the conditions into the namespace's status if they changed
    /// (a failure is only logged: the next sync tries again).
    async fn write_conditions(&self, ns: &mut Namespace, conditions: Conditions) {
        let mut status = ns.status.clone().unwrap_or_default();
        if !conditions.update(&mut status, Time::now()) {
            return;
        }
        let mut updated = ns.clone();
        updated.status = Some(status);
        match self
            .namespaces()
            .replace_status(&ns.metadata.name, &PostParams::default(), &updated)
            .await
        {
            Ok(n) => *ns = n,
            Err(e) => {
                warn!(namespace = %ns.metadata.name, error = %e, "couldn't update status condition for namespace");
            }
        }
    }
}

/// Upstream's aggregate error text: one message as is, several in brackets.
fn join(errors: &[String]) -> String {
    match errors {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}
