//! The ReplicaSet and ReplicationController controllers (upstream:
//! `pkg/controller/replicaset`; the RC controller is the same code with a
//! map selector). Both keep `spec.replicas` pods matching their selector.
//!
//! The loop, for each owner key taken off the work queue:
//! 1. read the owner and the pods of its namespace **from the informer
//!    caches** (never from the apiserver);
//! 2. [`plan::plan`] decides adoptions, releases, creations, deletions and
//!    the status counts;
//! 3. unless [`Expectations`] for the owner are still unmet, carry out the
//!    plan: patch `ownerReferences` to adopt or release, create pods from
//!    the template in slow-start batches (1, 2, 4 …), delete the preferred
//!    pods;
//! 4. write the status if it changed.
//!
//! Pod events re-queue the pod's controller (or, for an orphan, every owner
//! in its namespace whose selector matches it), and mark expectations as
//! observed.

pub mod expectations;
pub mod plan;

use std::sync::Arc;

use api_types::Resource;
use api_types::apps::v1::ReplicaSet;
use api_types::core::v1::{Pod, PodTemplateSpec, ReplicationController};
use api_types::labels::Selector;
use api_types::meta::v1::{DeleteOptions, OwnerReference};
use client::{Api, Client, Patch, PatchParams, PostParams};
use runtime::cache::{BY_NAMESPACE, Store, key_of, namespace_index, split_key};
use runtime::events::{EventType, Recorder, object_reference};
use runtime::informer::{EventHandler, Informer, Synced};
use runtime::reflector::ReflectorConfig;
use runtime::workqueue::WorkQueue;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{debug, info, warn};

pub use expectations::Expectations;
use plan::{Counts, Owner, plan};

/// What the controller needs of a ReplicaSet or a ReplicationController.
pub trait Workload:
    Resource + Clone + Serialize + DeserializeOwned + Send + Sync + 'static
{
    fn replicas(&self) -> i32;
    fn min_ready_seconds(&self) -> i32;
    /// The selector; an error for one that cannot be parsed.
    fn selector(&self) -> Result<Selector, String>;
    fn template(&self) -> Option<&PodTemplateSpec>;
    /// The status now: counts and `observedGeneration`.
    fn current(&self) -> (Counts, Option<i64>);
}

/// The parts of [`Workload`] that ReplicaSet and ReplicationController
/// share field for field.
macro_rules! common_workload {
    () => {
        fn replicas(&self) -> i32 {
            self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
        }
        fn min_ready_seconds(&self) -> i32 {
            self.spec
                .as_ref()
                .and_then(|s| s.min_ready_seconds)
                .unwrap_or(0)
        }
        fn template(&self) -> Option<&PodTemplateSpec> {
            self.spec.as_ref()?.template.as_ref()
        }
        fn current(&self) -> (Counts, Option<i64>) {
            let s = self.status.clone().unwrap_or_default();
            (
                Counts {
                    replicas: s.replicas,
                    fully_labeled: s.fully_labeled_replicas.unwrap_or(0),
                    ready: s.ready_replicas.unwrap_or(0),
                    available: s.available_replicas.unwrap_or(0),
                },
                s.observed_generation,
            )
        }
    };
}

impl Workload for ReplicaSet {
    common_workload!();
    fn selector(&self) -> Result<Selector, String> {
        let spec = self.spec.as_ref().ok_or("no spec")?;
        Selector::from_label_selector(&spec.selector).map_err(|e| e.to_string())
    }
}

impl Workload for ReplicationController {
    common_workload!();
    fn selector(&self) -> Result<Selector, String> {
        // A map selector; empty selects nothing (the apiserver defaults it
        // from the template's labels).
        let map = self
            .spec
            .as_ref()
            .and_then(|s| s.selector.clone())
            .unwrap_or_default();
        if map.is_empty() {
            return Ok(Selector::nothing());
        }
        let text: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
        Selector::parse(&text.join(",")).map_err(|e| e.to_string())
    }
}

/// One controller (ReplicaSets or ReplicationControllers).
pub struct Controller<K: Workload> {
    client: Client,
    owners: Store<K>,
    pods: Store<Pod>,
    queue: WorkQueue<String>,
    expectations: Arc<Expectations>,
    recorder: Recorder,
}

impl<K: Workload> Clone for Controller<K> {
    fn clone(&self) -> Self {
        Controller {
            client: self.client.clone(),
            owners: self.owners.clone(),
            pods: self.pods.clone(),
            queue: self.queue.clone(),
            expectations: self.expectations.clone(),
            recorder: self.recorder.clone(),
        }
    }
}

/// The controller's key of an owner reference that names a `K`.
fn owner_key<K: Workload>(pod: &Pod) -> Option<String> {
    let r = pod.metadata.controller_ref()?;
    (r.kind == K::KIND && r.api_version == K::API_VERSION)
        .then(|| runtime::cache::key(&pod.metadata.namespace, &r.name))
}

struct OwnerEvents<K: Workload>(Controller<K>);

impl<K: Workload> EventHandler<K> for OwnerEvents<K> {
    fn on_add(&self, o: &Arc<K>) {
        self.0.queue.add(key_of(o.as_ref()));
    }
    fn on_update(&self, _: &Arc<K>, o: &Arc<K>) {
        self.0.queue.add(key_of(o.as_ref()));
    }
    fn on_delete(&self, o: &Arc<K>) {
        let key = key_of(o.as_ref());
        self.0.expectations.forget(&key);
        self.0.queue.add(key);
    }
}

struct PodEvents<K: Workload>(Controller<K>);

impl<K: Workload> PodEvents<K> {
    /// Queues the pod's controller, or for an orphan every owner whose
    /// selector matches it (one of them may adopt it).
    fn enqueue_owners(&self, pod: &Pod) {
        if let Some(key) = owner_key::<K>(pod) {
            self.0.queue.add(key);
        } else if pod.metadata.controller_ref().is_none() {
            for o in self
                .0
                .owners
                .by_index(BY_NAMESPACE, &pod.metadata.namespace)
            {
                if o.selector().is_ok_and(|s| s.matches(&pod.metadata.labels)) {
                    self.0.queue.add(key_of(o.as_ref()));
                }
            }
        }
    }
}

impl<K: Workload> EventHandler<Pod> for PodEvents<K> {
    fn on_add(&self, pod: &Arc<Pod>) {
        if let Some(key) = owner_key::<K>(pod) {
            self.0.expectations.creation_observed(&key);
        }
        self.enqueue_owners(pod);
    }
    fn on_update(&self, old: &Arc<Pod>, new: &Arc<Pod>) {
        if old.metadata.resource_version == new.metadata.resource_version {
            return; // a resync
        }
        let (a, b) = (owner_key::<K>(old), owner_key::<K>(new));
        if a != b
            && let Some(a) = a
        {
            self.0.queue.add(a);
        }
        if old.metadata.deletion_timestamp.is_none()
            && new.metadata.deletion_timestamp.is_some()
            && let Some(key) = &b
        {
            // Graceful deletion has begun: as good as gone for counting.
            self.0.expectations.deletion_observed(key);
        }
        self.enqueue_owners(new);
        if old.metadata.labels != new.metadata.labels {
            self.enqueue_owners(old);
        }
    }
    fn on_delete(&self, pod: &Arc<Pod>) {
        if let Some(key) = owner_key::<K>(pod) {
            if pod.metadata.deletion_timestamp.is_none() {
                self.0.expectations.deletion_observed(&key);
            }
            self.0.queue.add(key);
        }
    }
}

/// How many syncs run at once (`--concurrent-replicaset-syncs`).
pub const DEFAULT_WORKERS: usize = 5;

impl<K: Workload> Controller<K> {
    /// A controller over `pods` (a pod informer's store, filed by
    /// namespace) and the informer of its owners. Add
    /// [`Controller::pod_handler`] to the pod informer before it starts.
    pub fn new(client: Client, pods: Store<Pod>, recorder: Recorder) -> (Self, Informer<K>) {
        let mut informer = Informer::new(Api::<K>::all(client.clone()), ReflectorConfig::default())
            .with_index(BY_NAMESPACE, namespace_index());
        let c = Controller {
            client,
            owners: informer.store(),
            pods,
            queue: WorkQueue::new(),
            expectations: Arc::new(Expectations::default()),
            recorder,
        };
        informer.add_handler(Arc::new(OwnerEvents(c.clone())));
        (c, informer)
    }

    /// What the pod informer must tell this controller.
    pub fn pod_handler(&self) -> Arc<dyn EventHandler<Pod>> {
        Arc::new(PodEvents(self.clone()))
    }

    /// Runs the owner informer and `workers` sync tasks until `stop`, once
    /// the pod cache is synced.
    pub async fn run(
        self,
        informer: Informer<K>,
        mut pods_synced: Synced,
        workers: usize,
        stop: impl std::future::Future<Output = ()> + Send,
    ) {
        let mut synced = informer.synced();
        let task = informer.spawn();
        synced.wait().await;
        pods_synced.wait().await;
        info!(kind = K::KIND, "controller started");
        let c = self.clone();
        let workers = crate::workers::spawn(
            &self.queue,
            workers,
            K::KIND,
            crate::workers::never,
            move |key| {
                let c = c.clone();
                async move { c.sync(&key).await }
            },
        );
        crate::workers::until_stopped(&self.queue, workers, stop).await;
        task.abort();
    }

    /// One reconcile of the owner `key`.
    ///
    /// # Errors
    /// An apiserver call failed; the key is retried with back-off.
    pub async fn sync(&self, key: &str) -> Result<(), client::Error> {
        let Some(owner) = self.owners.get(key) else {
            self.expectations.forget(key);
            return Ok(());
        };
        let (ns, name) = split_key(key);
        let selector = match owner.selector() {
            Ok(s) => s,
            Err(e) => {
                warn!(kind = K::KIND, key, error = %e, "invalid selector");
                return Ok(());
            }
        };
        let template_labels = owner
            .template()
            .and_then(|t| t.metadata.as_ref())
            .map(|m| m.labels.clone())
            .unwrap_or_default();
        let pods = self.pods.by_index(BY_NAMESPACE, ns);
        let p = plan(
            &Owner {
                uid: &owner.metadata().uid,
                replicas: owner.replicas(),
                min_ready_seconds: owner.min_ready_seconds(),
                selector: &selector,
                template_labels: &template_labels,
                deleting: owner.metadata().deletion_timestamp.is_some(),
            },
            &pods,
            chrono::Utc::now(),
        );
        let pod_api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let mut result = Ok(());
        if self.expectations.satisfied(key) && owner.metadata().deletion_timestamp.is_none() {
            let owner_api: Api<K> = Api::namespaced(self.client.clone(), ns);
            if !p.adopt.is_empty() && can_adopt(&owner_api, owner.as_ref()).await? {
                for pod in &p.adopt {
                    self.set_owner(&pod_api, ns, pod, Some(owner.as_ref()))
                        .await?;
                }
            }
            for pod in &p.release {
                self.set_owner(&pod_api, ns, pod, None).await?;
            }
            if p.create > 0 {
                result = self
                    .create_pods(key, owner.as_ref(), &pod_api, p.create)
                    .await;
            } else if !p.delete.is_empty() {
                result = self
                    .delete_pods(key, owner.as_ref(), &pod_api, &p.delete)
                    .await;
            }
        } else {
            debug!(kind = K::KIND, key, "waiting for expectations");
        }
        // Status, even when nothing else could be done.
        let (now, observed) = owner.current();
        let generation = owner.metadata().generation.unwrap_or(0);
        if now != p.counts || observed != Some(generation) {
            let api: Api<K> = Api::namespaced(self.client.clone(), ns);
            let patch = serde_json::json!({"status": {
                "replicas": p.counts.replicas,
                "fullyLabeledReplicas": p.counts.fully_labeled,
                "readyReplicas": p.counts.ready,
                "availableReplicas": p.counts.available,
                "observedGeneration": generation,
            }});
            match api
                .patch_status(name, &PatchParams::default(), &Patch::Merge(patch))
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        result
    }

    /// Adopts (`Some(owner)`) or releases (`None`) the pod `name`.
    async fn set_owner(
        &self,
        api: &Api<Pod>,
        ns: &str,
        name: &str,
        owner: Option<&K>,
    ) -> Result<(), client::Error> {
        match self.pods.get_named(ns, name) {
            Some(pod) => set_controller(api, pod.as_ref(), owner.map(controller_ref)).await,
            None => Ok(()),
        }
    }

    /// Creates `n` pods in slow-start batches (1, 2, 4 …): a failing
    /// template fails once, not `n` times.
    async fn create_pods(
        &self,
        key: &str,
        owner: &K,
        api: &Api<Pod>,
        n: usize,
    ) -> Result<(), client::Error> {
        self.expectations.expect(key, n, 0);
        let pod = pod_from_template(owner);
        let pp = PostParams::default();
        let mut done = 0;
        let mut batch = 1;
        while done < n {
            let size = batch.min(n - done);
            let results = futures::future::join_all((0..size).map(|_| api.create(&pp, &pod))).await;
            let mut failed = None;
            for r in results {
                match r {
                    Ok(created) => self.event(
                        owner,
                        EventType::Normal,
                        "SuccessfulCreate",
                        &format!("Created pod: {}", created.metadata.name),
                    ),
                    Err(e) => {
                        self.expectations.creation_observed(key);
                        self.event(
                            owner,
                            EventType::Warning,
                            "FailedCreate",
                            &format!("Error creating: {e}"),
                        );
                        failed = Some(e);
                    }
                }
            }
            done += size;
            if let Some(e) = failed {
                // The rest will never be created by this sync.
                for _ in done..n {
                    self.expectations.creation_observed(key);
                }
                return Err(e);
            }
            batch *= 2;
        }
        Ok(())
    }

    async fn delete_pods(
        &self,
        key: &str,
        owner: &K,
        api: &Api<Pod>,
        names: &[String],
    ) -> Result<(), client::Error> {
        self.expectations.expect(key, 0, names.len());
        let opts = DeleteOptions::default();
        let results = futures::future::join_all(names.iter().map(|n| api.delete(n, &opts))).await;
        let mut err = None;
        for (name, r) in names.iter().zip(results) {
            match r {
                Ok(()) => self.event(
                    owner,
                    EventType::Normal,
                    "SuccessfulDelete",
                    &format!("Deleted pod: {name}"),
                ),
                Err(e) => {
                    self.expectations.deletion_observed(key);
                    if !e.is_not_found() {
                        self.event(
                            owner,
                            EventType::Warning,
                            "FailedDelete",
                            &format!("Error deleting: {e}"),
                        );
                        err = Some(e);
                    }
                }
            }
        }
        err.map_or(Ok(()), Err)
    }

    fn event(&self, owner: &K, t: EventType, reason: &str, message: &str) {
        self.recorder
            .event(&object_reference(owner), t, reason, message);
    }
}

/// Adopts `obj` for `owner` (adds it as controller) or, with `None`,
/// releases it (removes its controller reference). A strategic merge patch
/// touches only that one entry (`ownerReferences` merge on `uid`), so
/// references others added meanwhile stay; `metadata.uid` makes it fail if
/// the object was replaced. That, or a missing object, is not an error: the
/// next sync sees the new state.
///
/// # Errors
/// The patch failed otherwise.
pub async fn set_controller<T: Resource + Clone + Serialize + DeserializeOwned>(
    api: &Api<T>,
    obj: &T,
    owner: Option<OwnerReference>,
) -> Result<(), client::Error> {
    let meta = obj.metadata();
    let entry = match owner {
        Some(o) => serde_json::to_value(o).unwrap_or_default(),
        None => match meta.controller_ref() {
            Some(r) => serde_json::json!({"$patch": "delete", "uid": r.uid}),
            None => return Ok(()),
        },
    };
    let patch = serde_json::json!({"metadata": {"ownerReferences": [entry], "uid": meta.uid}});
    match api
        .patch(
            &meta.name,
            &PatchParams::default(),
            &Patch::Strategic(patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() || e.is_conflict() || e.is_invalid() => Ok(()),
        Err(e) => Err(e),
    }
}

/// May `owner` adopt orphans? Only if, read live (not from a cache that
/// may lag), it is the same object and not being deleted (upstream:
/// `RecheckDeletionTimestamp`): adopting for an owner that is going would
/// get the orphans collected with it.
///
/// # Errors
/// The GET failed (other than not found).
pub async fn can_adopt<K: Resource + Clone + Serialize + DeserializeOwned>(
    api: &Api<K>,
    owner: &K,
) -> Result<bool, client::Error> {
    let meta = owner.metadata();
    match api.get(&meta.name).await {
        Ok(live) => {
            Ok(live.metadata().uid == meta.uid && live.metadata().deletion_timestamp.is_none())
        }
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

/// `ownerReferences` entry naming `owner` as the controller.
pub fn controller_ref<K: Resource>(owner: &K) -> OwnerReference {
    OwnerReference {
        api_version: K::API_VERSION.into(),
        kind: K::KIND.into(),
        name: owner.metadata().name.clone(),
        uid: owner.metadata().uid.clone(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// A new pod from the owner's template: `generateName` `<owner>-`, the
/// template's labels and annotations, the owner as controller.
pub fn pod_from_template<K: Workload>(owner: &K) -> Pod {
    let template = owner.template().cloned().unwrap_or_default();
    let meta = template.metadata.unwrap_or_default();
    let mut pod = Pod {
        spec: template.spec,
        ..Default::default()
    };
    pod.metadata.generate_name = format!("{}-", owner.metadata().name);
    pod.metadata.namespace = owner.metadata().namespace.clone();
    pod.metadata.labels = meta.labels;
    pod.metadata.annotations = meta.annotations;
    pod.metadata.finalizers = meta.finalizers;
    pod.metadata.owner_references = vec![controller_ref(owner)];
    pod.set_type_meta();
    pod
}
