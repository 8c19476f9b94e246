//! The Deployment controller (upstream: `pkg/controller/deployment`): a
//! Deployment owns one ReplicaSet per pod template it has had, and moves
//! pods from the old ones to the new one.
//!
//! One sync of a Deployment key:
//! 1. read the Deployment and the ReplicaSets of its namespace from the
//!    caches; adopt matching orphans, release those that stopped matching;
//! 2. find the **new** ReplicaSet: the one whose template equals the
//!    Deployment's, ignoring the `pod-template-hash` label; the rest are
//!    **old**;
//! 3. if the Deployment is paused, or `replicas` changed mid-rollout
//!    ([`plan::is_scaling_event`]), only resize ([`plan::proportional_scale`]);
//! 4. otherwise take one rollout step:
//!    - **RollingUpdate**: create or grow the new ReplicaSet within
//!      `maxSurge` ([`plan::new_rs_replicas`]); else shrink old ones within
//!      `maxUnavailable` ([`plan::scale_down_old`]);
//!    - **Recreate**: shrink all old ones to zero, wait until their pods
//!      are gone, then create the new one at full size;
//! 5. once complete, delete old ReplicaSets beyond `revisionHistoryLimit`;
//! 6. write the status and the `Available`/`Progressing` conditions
//!    ([`plan::status`]).
//!
//! Every change comes back as a ReplicaSet event, which queues the next
//! step. Rollback is `kubectl rollout undo`: it copies an old ReplicaSet's
//! template into the Deployment, so that old ReplicaSet becomes the new one
//! again and gets the next revision number.

pub mod plan;

use std::sync::Arc;

use api_types::Resource;
use api_types::apps::v1::{Deployment, DeploymentStatus, ReplicaSet, ReplicaSetSpec};
use api_types::core::v1::{Pod, PodTemplateSpec};
use api_types::labels::Selector;
use api_types::meta::v1::{DeleteOptions, Preconditions};
use client::{Api, Client, Patch, PatchParams, PostParams};
use runtime::cache::{BY_NAMESPACE, Store, key_of, namespace_index};
use runtime::events::{EventType, Recorder, object_reference};
use runtime::informer::{EventHandler, Informer, Synced};
use runtime::reflector::ReflectorConfig;
use runtime::workqueue::WorkQueue;
use tracing::{info, warn};

use crate::replicaset::{can_adopt, controller_ref, set_controller};
use plan::{
    DESIRED_REPLICAS, MAX_REPLICAS, NOT_COPIED, POD_TEMPLATE_HASH, REVISION, REVISION_HISTORY, Rs,
    Spec, StatusInput,
};

/// How many syncs run at once (`--concurrent-deployment-syncs`).
pub const DEFAULT_WORKERS: usize = 5;

/// The Deployment controller.
#[derive(Clone)]
pub struct Controller {
    client: Client,
    deployments: Store<Deployment>,
    replica_sets: Store<ReplicaSet>,
    pods: Store<Pod>,
    queue: WorkQueue<String>,
    recorder: Recorder,
}

struct DeploymentEvents(Controller);

impl EventHandler<Deployment> for DeploymentEvents {
    fn on_add(&self, d: &Arc<Deployment>) {
        self.0.queue.add(key_of(d.as_ref()));
    }
    fn on_update(&self, _: &Arc<Deployment>, d: &Arc<Deployment>) {
        self.0.queue.add(key_of(d.as_ref()));
    }
    fn on_delete(&self, d: &Arc<Deployment>) {
        self.0.queue.add(key_of(d.as_ref()));
    }
}

/// The Deployment key a ReplicaSet's controller reference names.
fn deployment_key(rs: &ReplicaSet) -> Option<String> {
    let r = rs.metadata.controller_ref()?;
    (r.kind == Deployment::KIND && r.api_version == Deployment::API_VERSION)
        .then(|| runtime::cache::key(&rs.metadata.namespace, &r.name))
}

struct ReplicaSetEvents(Controller);

impl ReplicaSetEvents {
    /// Queues the ReplicaSet's Deployment, or for an orphan every
    /// Deployment whose selector matches it.
    fn enqueue(&self, rs: &ReplicaSet) {
        if let Some(key) = deployment_key(rs) {
            self.0.queue.add(key);
        } else if rs.metadata.controller_ref().is_none() {
            for d in self
                .0
                .deployments
                .by_index(BY_NAMESPACE, &rs.metadata.namespace)
            {
                if selector(&d).is_ok_and(|s| s.matches(&rs.metadata.labels)) {
                    self.0.queue.add(key_of(d.as_ref()));
                }
            }
        }
    }
}

impl EventHandler<ReplicaSet> for ReplicaSetEvents {
    fn on_add(&self, rs: &Arc<ReplicaSet>) {
        self.enqueue(rs);
    }
    fn on_update(&self, old: &Arc<ReplicaSet>, new: &Arc<ReplicaSet>) {
        if old.metadata.resource_version == new.metadata.resource_version {
            return;
        }
        let (a, b) = (deployment_key(old), deployment_key(new));
        if a != b
            && let Some(a) = a
        {
            self.0.queue.add(a);
        }
        self.enqueue(new);
        if old.metadata.labels != new.metadata.labels {
            self.enqueue(old);
        }
    }
    fn on_delete(&self, rs: &Arc<ReplicaSet>) {
        self.enqueue(rs);
    }
}

/// A Recreate rollout waits for the old pods to be gone: their deletion
/// queues the Deployment.
struct PodEvents(Controller);

impl EventHandler<Pod> for PodEvents {
    fn on_add(&self, _: &Arc<Pod>) {}
    fn on_update(&self, _: &Arc<Pod>, _: &Arc<Pod>) {}
    fn on_delete(&self, pod: &Arc<Pod>) {
        let Some(r) = pod.metadata.controller_ref() else {
            return;
        };
        if r.kind != ReplicaSet::KIND {
            return;
        }
        let Some(rs) = self
            .0
            .replica_sets
            .get_named(&pod.metadata.namespace, &r.name)
        else {
            return;
        };
        if let Some(key) = deployment_key(&rs)
            && let Some(d) = self.0.deployments.get(&key)
            && Spec::of(&d).is_ok_and(|s| s.recreate)
        {
            self.0.queue.add(key);
        }
    }
}

fn selector(d: &Deployment) -> Result<Selector, String> {
    let spec = d.spec.as_ref().ok_or("no spec")?;
    Selector::from_label_selector(&spec.selector).map_err(|e| e.to_string())
}

/// The ReplicaSet as the arithmetic sees it.
fn view(rs: &ReplicaSet) -> Rs {
    let status = rs.status.clone().unwrap_or_default();
    let ann = |k: &str| rs.metadata.annotations.get(k);
    let int = |k: &str| ann(k).and_then(|v| v.parse::<i32>().ok());
    Rs {
        name: rs.metadata.name.clone(),
        replicas: rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
        current: status.replicas,
        ready: status.ready_replicas.unwrap_or(0),
        available: status.available_replicas.unwrap_or(0),
        created: rs.metadata.creation_timestamp.map(|t| t.0),
        revision: ann(REVISION).and_then(|v| v.parse().ok()).unwrap_or(0),
        max_replicas: int(MAX_REPLICAS),
        desired_replicas: int(DESIRED_REPLICAS),
    }
}

/// `template` without the `pod-template-hash` label, and without empty
/// values: `resources: {}` (which kubectl sends back on `rollout undo`)
/// means the same as no `resources`.
fn without_hash(template: &PodTemplateSpec) -> serde_json::Value {
    let mut t = template.clone();
    let meta = t.metadata.get_or_insert_with(Default::default);
    meta.labels.remove(POD_TEMPLATE_HASH);
    let mut v = serde_json::to_value(&t).unwrap_or_default();
    prune_empty(&mut v);
    v
}

/// Removes `null`, `{}` and `[]` values from objects, deepest first.
fn prune_empty(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                prune_empty(child);
            }
            map.retain(|_, c| match c {
                Value::Null => false,
                Value::Object(m) => !m.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => true,
            });
        }
        Value::Array(items) => items.iter_mut().for_each(prune_empty),
        _ => {}
    }
}

/// Same template, ignoring the hash label and empty values (upstream:
/// `EqualIgnoreHash`, a semantic comparison).
fn same_template(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    without_hash(a) == without_hash(b)
}

/// The ReplicaSets of one Deployment, split.
struct Family {
    /// The one with the Deployment's template, if it exists.
    new: Option<Arc<ReplicaSet>>,
    old: Vec<Arc<ReplicaSet>>,
}

impl Family {
    fn views(&self) -> (Option<Rs>, Vec<Rs>) {
        (
            self.new.as_deref().map(view),
            self.old.iter().map(|r| view(r)).collect(),
        )
    }

    /// All ReplicaSets, new last.
    fn all(&self) -> Vec<Arc<ReplicaSet>> {
        let mut all = self.old.clone();
        all.extend(self.new.clone());
        all
    }
}

impl Controller {
    /// A controller over the shared ReplicaSet and pod caches. Add
    /// [`Controller::replica_set_handler`] and [`Controller::pod_handler`]
    /// to their informers before they start.
    pub fn new(
        client: Client,
        replica_sets: Store<ReplicaSet>,
        pods: Store<Pod>,
        recorder: Recorder,
    ) -> (Self, Informer<Deployment>) {
        let mut informer = Informer::new(
            Api::<Deployment>::all(client.clone()),
            ReflectorConfig::default(),
        )
        .with_index(BY_NAMESPACE, namespace_index());
        let c = Controller {
            client,
            deployments: informer.store(),
            replica_sets,
            pods,
            queue: WorkQueue::new(),
            recorder,
        };
        informer.add_handler(Arc::new(DeploymentEvents(c.clone())));
        (c, informer)
    }

    pub fn replica_set_handler(&self) -> Arc<dyn EventHandler<ReplicaSet>> {
        Arc::new(ReplicaSetEvents(self.clone()))
    }

    pub fn pod_handler(&self) -> Arc<dyn EventHandler<Pod>> {
        Arc::new(PodEvents(self.clone()))
    }

    /// Runs the Deployment informer and `workers` sync tasks until `stop`,
    /// once the other caches (`synced`) are filled.
    pub async fn run(
        self,
        informer: Informer<Deployment>,
        others: Vec<Synced>,
        workers: usize,
        stop: impl std::future::Future<Output = ()> + Send,
    ) {
        let mut synced = informer.synced();
        let task = informer.spawn();
        synced.wait().await;
        for mut s in others {
            s.wait().await;
        }
        info!("deployment controller started");
        let c = self.clone();
        let workers = crate::workers::spawn(
            &self.queue,
            workers,
            "deployment",
            crate::workers::never,
            move |key| {
                let c = c.clone();
                async move { c.sync(&key).await }
            },
        );
        crate::workers::until_stopped(&self.queue, workers, stop).await;
        task.abort();
    }

    /// One reconcile of the Deployment `key`.
    ///
    /// # Errors
    /// An apiserver call failed; the key is retried with back-off.
    pub async fn sync(&self, key: &str) -> Result<(), client::Error> {
        let Some(d) = self.deployments.get(key) else {
            return Ok(());
        };
        let spec = match Spec::of(&d) {
            Ok(s) => s,
            Err(e) => {
                warn!(key, error = %e, "invalid deployment");
                return Ok(());
            }
        };
        let sel = match selector(&d) {
            Ok(s) if !s.is_empty() => s,
            Ok(_) => {
                self.event(
                    &d,
                    EventType::Warning,
                    "SelectingAll",
                    "This deployment is selecting all pods. A non-empty selector is required.",
                );
                return Ok(());
            }
            Err(e) => {
                warn!(key, error = %e, "invalid selector");
                return Ok(());
            }
        };
        let family = self.claim(&d, &sel).await?;
        if d.metadata.deletion_timestamp.is_some() {
            return self.write_status(&d, &spec, &family, false, false).await;
        }
        let (_, old) = family.views();
        let mut all = old.clone();
        all.extend(family.new.as_deref().map(view));
        if spec.paused || plan::is_scaling_event(&spec, &all) {
            return self.resize(&d, &spec, family).await;
        }
        if spec.recreate {
            self.recreate(&d, &spec, family).await
        } else {
            self.rolling(&d, &spec, family).await
        }
    }

    /// The Deployment's ReplicaSets, after adopting matching orphans and
    /// releasing those that stopped matching; split into new and old.
    async fn claim(&self, d: &Deployment, sel: &Selector) -> Result<Family, client::Error> {
        let ns = &d.metadata.namespace;
        let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), ns);
        let mut mine = Vec::new();
        // Checked live once, when there is an orphan to adopt.
        let mut may_adopt: Option<bool> = None;
        for rs in self.replica_sets.by_index(BY_NAMESPACE, ns) {
            let matches = sel.matches(&rs.metadata.labels);
            match rs.metadata.controller_ref() {
                Some(r) if r.uid == d.metadata.uid => {
                    if matches || d.metadata.deletion_timestamp.is_some() {
                        mine.push(rs);
                    } else {
                        set_controller(&api, rs.as_ref(), None).await?;
                    }
                }
                None if matches
                    && d.metadata.deletion_timestamp.is_none()
                    && rs.metadata.deletion_timestamp.is_none() =>
                {
                    if may_adopt.is_none() {
                        let dapi: Api<Deployment> = Api::namespaced(self.client.clone(), ns);
                        may_adopt = Some(can_adopt(&dapi, d).await?);
                    }
                    if may_adopt == Some(true) {
                        set_controller(&api, rs.as_ref(), Some(controller_ref(d))).await?;
                        mine.push(rs);
                    }
                }
                _ => {}
            }
        }
        let template = d
            .spec
            .as_ref()
            .map(|s| s.template.clone())
            .unwrap_or_default();
        // The oldest with the template is the new one (upstream: FindNewReplicaSet).
        mine.sort_by(|a, b| {
            a.metadata
                .creation_timestamp
                .cmp(&b.metadata.creation_timestamp)
                .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        });
        let pos = mine.iter().position(|rs| {
            rs.spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .is_some_and(|t| same_template(t, &template))
        });
        let new = pos.map(|i| mine.remove(i));
        Ok(Family { new, old: mine })
    }

    /// A paused Deployment, or a `replicas` change: resize only.
    async fn resize(
        &self,
        d: &Deployment,
        spec: &Spec,
        mut family: Family,
    ) -> Result<(), client::Error> {
        if let Some(new) = &family.new {
            family.new = Some(self.sync_new_annotations(d, spec, new, &family.old).await?);
        }
        let all = family.all();
        let views: Vec<Rs> = all.iter().map(|r| view(r)).collect();
        let new_idx = family.new.as_ref().map(|_| all.len() - 1);
        let changes = plan::proportional_scale(spec, &views, new_idx);
        let mut updated = all.clone();
        for (i, size) in changes {
            updated[i] = self.scale(d, spec, &all[i], size).await?;
        }
        let n_old = family.old.len();
        let family = Family {
            new: family.new.as_ref().map(|_| updated[n_old].clone()),
            old: updated[..n_old].to_vec(),
        };
        if spec.paused {
            self.cleanup(d, spec, &family).await?;
        }
        self.write_status(d, spec, &family, false, false).await
    }

    /// One step of a RollingUpdate.
    async fn rolling(
        &self,
        d: &Deployment,
        spec: &Spec,
        mut family: Family,
    ) -> Result<(), client::Error> {
        let created = family.new.is_none();
        let new = match family.new.take() {
            Some(rs) => self.sync_new_annotations(d, spec, &rs, &family.old).await?,
            None => self.create_new(d, spec, &family.old).await?,
        };
        family.new = Some(new.clone());
        if created {
            return self.write_status(d, spec, &family, true, true).await;
        }
        // Grow (or trim) the new ReplicaSet.
        let (nv, old) = family.views();
        let nv = nv.unwrap_or_default();
        let mut all = old.clone();
        all.push(nv.clone());
        let target = if nv.replicas > spec.replicas {
            spec.replicas
        } else {
            plan::new_rs_replicas(spec, &all, &nv)
        };
        if target != nv.replicas {
            family.new = Some(self.scale(d, spec, &new, target).await?);
            return self.write_status(d, spec, &family, true, false).await;
        }
        // Shrink old ones.
        let changes = plan::scale_down_old(spec, &old, Some(&nv));
        if !changes.is_empty() {
            for (i, size) in changes {
                family.old[i] = self.scale(d, spec, &family.old[i].clone(), size).await?;
            }
            return self.write_status(d, spec, &family, true, false).await;
        }
        if self.complete(d, spec) {
            self.cleanup(d, spec, &family).await?;
        }
        self.write_status(d, spec, &family, true, false).await
    }

    /// One step of a Recreate rollout.
    async fn recreate(
        &self,
        d: &Deployment,
        spec: &Spec,
        mut family: Family,
    ) -> Result<(), client::Error> {
        if let Some(new) = family.new.take() {
            family.new = Some(
                self.sync_new_annotations(d, spec, &new, &family.old)
                    .await?,
            );
        }
        // All old ones to zero.
        let mut scaled = false;
        for i in 0..family.old.len() {
            if view(&family.old[i]).replicas != 0 {
                family.old[i] = self.scale(d, spec, &family.old[i].clone(), 0).await?;
                scaled = true;
            }
        }
        if scaled {
            return self.write_status(d, spec, &family, true, false).await;
        }
        // Wait until their pods are gone.
        let running = family.old.iter().any(|rs| {
            rs.status.as_ref().is_some_and(|s| s.replicas > 0)
                || self
                    .pods
                    .by_index(BY_NAMESPACE, &d.metadata.namespace)
                    .iter()
                    .any(|p| {
                        p.metadata
                            .controller_ref()
                            .is_some_and(|r| r.uid == rs.metadata.uid)
                            && !matches!(
                                p.status.as_ref().and_then(|s| s.phase.as_deref()),
                                Some("Succeeded" | "Failed")
                            )
                    })
        });
        if running {
            return self.write_status(d, spec, &family, true, false).await;
        }
        let Some(new) = family.new.clone() else {
            family.new = Some(self.create_new(d, spec, &family.old).await?);
            return self.write_status(d, spec, &family, true, true).await;
        };
        if view(&new).replicas != spec.replicas {
            family.new = Some(self.scale(d, spec, &new, spec.replicas).await?);
        }
        if self.complete(d, spec) {
            self.cleanup(d, spec, &family).await?;
        }
        self.write_status(d, spec, &family, true, false).await
    }

    /// The stored status says the rollout is complete.
    fn complete(&self, d: &Deployment, spec: &Spec) -> bool {
        let status = d.status.clone().unwrap_or_default();
        plan::is_complete(spec, &status) && status.observed_generation >= d.metadata.generation
    }

    /// Creates the ReplicaSet for the Deployment's template, named
    /// `<deployment>-<hash>`, at the size the strategy allows now.
    async fn create_new(
        &self,
        d: &Deployment,
        spec: &Spec,
        old: &[Arc<ReplicaSet>],
    ) -> Result<Arc<ReplicaSet>, client::Error> {
        let ns = &d.metadata.namespace;
        let dspec = d.spec.clone().unwrap_or_default();
        let collisions = d.status.as_ref().and_then(|s| s.collision_count);
        let json = serde_json::to_vec(&dspec.template).unwrap_or_default();
        let hash = plan::template_hash(&json, collisions);
        let mut template = dspec.template.clone();
        template
            .metadata
            .get_or_insert_with(Default::default)
            .labels
            .insert(POD_TEMPLATE_HASH.into(), hash.clone());
        let mut selector = dspec.selector.clone();
        selector
            .match_labels
            .get_or_insert_with(Default::default)
            .insert(POD_TEMPLATE_HASH.into(), hash.clone());
        let old_views: Vec<Rs> = old.iter().map(|r| view(r)).collect();
        let fresh = Rs::default();
        let mut all = old_views.clone();
        all.push(fresh.clone());
        let replicas = plan::new_rs_replicas(spec, &all, &fresh);
        let revision = plan::next_revision(&old_views);
        let mut rs = ReplicaSet {
            spec: Some(ReplicaSetSpec {
                replicas: Some(replicas),
                min_ready_seconds: Some(spec.min_ready_seconds),
                selector,
                template: Some(template.clone()),
            }),
            ..Default::default()
        };
        rs.metadata.name = format!("{}-{hash}", d.metadata.name);
        rs.metadata.namespace = ns.clone();
        rs.metadata.labels = template.metadata.map(|m| m.labels).unwrap_or_default();
        rs.metadata.annotations = copied_annotations(d);
        rs.metadata
            .annotations
            .insert(REVISION.into(), revision.to_string());
        set_size_annotations(&mut rs, spec);
        rs.metadata.owner_references = vec![controller_ref(d)];
        rs.set_type_meta();
        let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), ns);
        let created = match api.create(&PostParams::default(), &rs).await {
            Ok(c) => c,
            Err(e) if e.is_already_exists() => {
                // Ours, not yet in the cache? Or a name collision.
                let existing = api.get(&rs.metadata.name).await?;
                let ours = existing
                    .metadata
                    .controller_ref()
                    .is_some_and(|r| r.uid == d.metadata.uid);
                let same = existing
                    .spec
                    .as_ref()
                    .and_then(|s| s.template.as_ref())
                    .is_some_and(|t| same_template(t, &dspec.template));
                if ours && same {
                    return Ok(Arc::new(existing));
                }
                let count = collisions.unwrap_or(0).saturating_add(1);
                let dapi: Api<Deployment> = Api::namespaced(self.client.clone(), ns);
                dapi.patch_status(
                    &d.metadata.name,
                    &PatchParams::default(),
                    &Patch::Merge(serde_json::json!({"status": {"collisionCount": count}})),
                )
                .await?;
                return Err(e);
            }
            Err(e) => {
                let message = format!(
                    "Failed to create new replica set {:?}: {e}",
                    rs.metadata.name
                );
                self.event(d, EventType::Warning, plan::CREATE_ERROR, &message);
                if spec.progress_deadline.is_some() {
                    let status = plan::create_failed(
                        &d.status.clone().unwrap_or_default(),
                        message,
                        chrono::Utc::now(),
                    );
                    let dapi: Api<Deployment> = Api::namespaced(self.client.clone(), ns);
                    let patch = serde_json::json!({"status": {"conditions": status.conditions}});
                    if let Err(e) = dapi
                        .patch_status(
                            &d.metadata.name,
                            &PatchParams::default(),
                            &Patch::Merge(patch),
                        )
                        .await
                    {
                        warn!(deployment = %d.metadata.name, error = %e, "recording the failure failed");
                    }
                }
                return Err(e);
            }
        };
        if replicas > 0 {
            self.event(
                d,
                EventType::Normal,
                "ScalingReplicaSet",
                &format!(
                    "Scaled up replica set {} from 0 to {replicas}",
                    created.metadata.name
                ),
            );
        }
        self.set_deployment_revision(d, revision).await?;
        Ok(Arc::new(created))
    }

    /// Brings the new ReplicaSet's revision (the highest), copied
    /// annotations and `minReadySeconds` up to date; and the Deployment's
    /// revision annotation.
    async fn sync_new_annotations(
        &self,
        d: &Deployment,
        spec: &Spec,
        rs: &Arc<ReplicaSet>,
        old: &[Arc<ReplicaSet>],
    ) -> Result<Arc<ReplicaSet>, client::Error> {
        let old_views: Vec<Rs> = old.iter().map(|r| view(r)).collect();
        let revision = plan::next_revision(&old_views);
        let mut updated = rs.as_ref().clone();
        let current = view(rs).revision;
        let ann = &mut updated.metadata.annotations;
        for (k, v) in copied_annotations(d) {
            ann.insert(k, v);
        }
        if current < revision {
            ann.insert(REVISION.into(), revision.to_string());
            if current > 0 {
                let history = match ann.get(REVISION_HISTORY) {
                    Some(h) if !h.is_empty() => format!("{h},{current}"),
                    _ => current.to_string(),
                };
                ann.insert(REVISION_HISTORY.into(), history);
            }
        }
        if let Some(s) = updated.spec.as_mut() {
            s.min_ready_seconds = Some(spec.min_ready_seconds);
        }
        let rs = if updated == *rs.as_ref() {
            rs.clone()
        } else {
            let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), &d.metadata.namespace);
            Arc::new(
                api.replace(&updated.metadata.name, &PostParams::default(), &updated)
                    .await?,
            )
        };
        self.set_deployment_revision(d, view(&rs).revision).await?;
        Ok(rs)
    }

    async fn set_deployment_revision(
        &self,
        d: &Deployment,
        revision: i64,
    ) -> Result<(), client::Error> {
        let text = revision.to_string();
        if d.metadata.annotations.get(REVISION) == Some(&text) {
            return Ok(());
        }
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), &d.metadata.namespace);
        let patch = serde_json::json!({"metadata": {"annotations": {REVISION: text}}});
        match api
            .patch(
                &d.metadata.name,
                &PatchParams::default(),
                &Patch::Merge(patch),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Sets a ReplicaSet's size (and the size annotations), with an event.
    async fn scale(
        &self,
        d: &Deployment,
        spec: &Spec,
        rs: &Arc<ReplicaSet>,
        size: i32,
    ) -> Result<Arc<ReplicaSet>, client::Error> {
        let from = view(rs).replicas;
        let mut updated = rs.as_ref().clone();
        if let Some(s) = updated.spec.as_mut() {
            s.replicas = Some(size);
        }
        set_size_annotations(&mut updated, spec);
        if updated == *rs.as_ref() {
            return Ok(rs.clone());
        }
        let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), &d.metadata.namespace);
        let stored = api
            .replace(&updated.metadata.name, &PostParams::default(), &updated)
            .await?;
        if from != size {
            let dir = if size > from { "up" } else { "down" };
            self.event(
                d,
                EventType::Normal,
                "ScalingReplicaSet",
                &format!(
                    "Scaled {dir} replica set {} from {from} to {size}",
                    stored.metadata.name
                ),
            );
        }
        Ok(Arc::new(stored))
    }

    /// Deletes old ReplicaSets beyond `revisionHistoryLimit`.
    async fn cleanup(
        &self,
        d: &Deployment,
        spec: &Spec,
        family: &Family,
    ) -> Result<(), client::Error> {
        // Only those whose status is current (as upstream): a count that
        // lags could hide pods.
        let live: Vec<&Arc<ReplicaSet>> = family
            .old
            .iter()
            .filter(|r| r.metadata.deletion_timestamp.is_none())
            .filter(|r| {
                r.status.as_ref().and_then(|s| s.observed_generation) >= r.metadata.generation
            })
            .collect();
        let views: Vec<Rs> = live.iter().map(|r| view(r)).collect();
        let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), &d.metadata.namespace);
        for i in plan::history_to_delete(spec, &views) {
            let name = &live[i].metadata.name;
            info!(deployment = %d.metadata.name, replicaset = %name, "deleting old replica set beyond the history limit");
            // Exactly the one judged: same UID, unchanged since.
            let opts = DeleteOptions {
                preconditions: Some(Preconditions {
                    uid: Some(live[i].metadata.uid.clone()),
                    resource_version: Some(live[i].metadata.resource_version.clone()),
                }),
                ..DeleteOptions::default()
            };
            match api.delete(name, &opts).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() || e.is_conflict() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Works out and writes the status; checks back when the rollout could
    /// pass its progress deadline.
    async fn write_status(
        &self,
        d: &Deployment,
        spec: &Spec,
        family: &Family,
        rollout: bool,
        created_new: bool,
    ) -> Result<(), client::Error> {
        let (new, old) = family.views();
        let mut all = old;
        all.extend(new.clone());
        let previous = d.status.clone().unwrap_or_default();
        let now = chrono::Utc::now();
        let status = plan::status(&StatusInput {
            spec,
            generation: d.metadata.generation.unwrap_or(0),
            all: &all,
            new: new.as_ref(),
            previous: &previous,
            now,
            rollout,
            created_new,
        });
        if let Some(after) = plan::recheck_in(spec, &status, now) {
            self.queue.add_after(key_of(d), after);
        }
        if status == previous {
            return Ok(());
        }
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), &d.metadata.namespace);
        let patch = serde_json::json!({ "status": status_json(&status) });
        match api
            .patch_status(
                &d.metadata.name,
                &PatchParams::default(),
                &Patch::Merge(patch),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn event(&self, d: &Deployment, t: EventType, reason: &str, message: &str) {
        self.recorder
            .event(&object_reference(d), t, reason, message);
    }
}

/// The status as a merge patch: every count present, so zeros overwrite.
fn status_json(s: &DeploymentStatus) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        for k in [
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
            "unavailableReplicas",
        ] {
            o.entry(k).or_insert(serde_json::json!(0));
        }
    }
    v
}

/// The Deployment's annotations that its ReplicaSets carry too.
fn copied_annotations(d: &Deployment) -> std::collections::BTreeMap<String, String> {
    d.metadata
        .annotations
        .iter()
        .filter(|(k, _)| !NOT_COPIED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `desired-replicas` and `max-replicas`: what the ReplicaSet was sized
/// for, used to share later scale changes in proportion.
fn set_size_annotations(rs: &mut ReplicaSet, spec: &Spec) {
    let ann = &mut rs.metadata.annotations;
    ann.insert(DESIRED_REPLICAS.into(), spec.replicas.to_string());
    ann.insert(
        MAX_REPLICAS.into(),
        spec.replicas.saturating_add(spec.max_surge).to_string(),
    );
}
