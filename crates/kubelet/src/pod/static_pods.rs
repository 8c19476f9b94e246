//! Static pods: pods defined by files in `--pod-manifest-path` (default
//! `/etc/kubernetes/manifests`) rather than by the apiserver. This is how
//! a control plane can run as pods before there is an apiserver to ask.
//!
//! - Every second the directory is read; each `.yaml`/`.yml`/`.json` file
//!   holds one pod. Its UID is a hash of the file's content and the node,
//!   so a changed file is a new pod: the old one is stopped and the new one
//!   started. A removed file stops its pod.
//! - The pod is named `<name>-<nodeName>` and runs whatever the apiserver
//!   says: it keeps running when the apiserver is down.
//! - For each static pod the kubelet keeps a read-only **mirror pod** in
//!   the apiserver (same name, annotation `kubernetes.io/config.mirror`,
//!   owned by the Node) so that `kubectl get pods` shows it; the pod's
//!   status is written to the mirror. A mirror deleted by a user comes
//!   back; a mirror whose static pod is gone is deleted.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use api_types::core::v1::{Node, Pod, Toleration};
use api_types::meta::v1::{DeleteOptions, OwnerReference};
use client::{Api, Client, PostParams};
use tracing::{debug, info, warn};

use crate::pod::labels::{self, fnv1a};
use crate::pod::worker::PodWorkers;

/// How often the manifest directory is read.
pub const CHECK_PERIOD: Duration = Duration::from_secs(1);

/// The static pod source of one node.
pub struct StaticPods {
    dir: PathBuf,
    node_name: String,
    workers: PodWorkers,
    client: Option<Client>,
    /// Current pods by file.
    pods: HashMap<PathBuf, Arc<Pod>>,
    /// Errors already reported, by file (reported once per content).
    reported: HashMap<PathBuf, String>,
}

impl std::fmt::Debug for StaticPods {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticPods")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Turns a manifest into the static pod the kubelet runs.
pub fn static_pod(text: &str, file: &str, node_name: &str) -> Result<Pod, String> {
    let mut pod: Pod = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| format!("invalid pod manifest: {e}"))?
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| format!("invalid pod manifest: {e}"))?
    };
    if !pod.kind.is_empty() && pod.kind != "Pod" {
        return Err(format!("kind {:?} is not Pod", pod.kind));
    }
    if pod.metadata.name.is_empty() {
        return Err("the pod has no metadata.name".into());
    }
    let spec = pod.spec.as_mut().ok_or("the pod has no spec")?;
    if spec.containers.is_empty() {
        return Err("the pod has no containers".into());
    }
    if pod.metadata.namespace.is_empty() {
        pod.metadata.namespace = "default".into();
    }
    let hash = format!(
        "{:032x}",
        u128::from(fnv1a(text.as_bytes())) << 64
            | u128::from(fnv1a(format!("{file}/{node_name}").as_bytes()))
    );
    pod.metadata.uid = hash.clone();
    pod.metadata.name = format!("{}-{node_name}", pod.metadata.name);
    pod.metadata
        .annotations
        .insert(labels::CONFIG_SOURCE.into(), "file".into());
    pod.metadata
        .annotations
        .insert(labels::CONFIG_HASH.into(), hash);
    pod.metadata
        .annotations
        .insert(labels::CONFIG_SEEN.into(), chrono::Utc::now().to_rfc3339());
    let spec = pod.spec.as_mut().ok_or("the pod has no spec")?;
    spec.node_name = Some(node_name.to_string());
    // Static pods tolerate every NoExecute taint (they cannot be evicted).
    spec.tolerations
        .get_or_insert_with(Vec::new)
        .push(Toleration {
            operator: Some("Exists".into()),
            effect: Some("NoExecute".into()),
            ..Default::default()
        });
    for c in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        if c.image_pull_policy.is_none() {
            let image = c.image.clone().unwrap_or_default();
            c.image_pull_policy = Some(crate::pod::sync::default_pull_policy(&image).into());
        }
    }
    Ok(pod)
}

/// Whether `pod` is a static pod (from a file).
pub fn is_static(pod: &Pod) -> bool {
    pod.metadata
        .annotations
        .get(labels::CONFIG_SOURCE)
        .is_some_and(|s| s == "file")
}

/// Whether `pod` is a mirror pod (the apiserver's copy of a static pod).
pub fn is_mirror(pod: &Pod) -> bool {
    pod.metadata.annotations.contains_key(labels::CONFIG_MIRROR)
}

/// The mirror pod of a static pod.
pub fn mirror_of(pod: &Pod, node: Option<&Node>) -> Pod {
    let mut m = pod.clone();
    m.metadata.uid = String::new();
    m.metadata.resource_version = String::new();
    m.status = None;
    let hash = pod
        .metadata
        .annotations
        .get(labels::CONFIG_HASH)
        .cloned()
        .unwrap_or_default();
    m.metadata
        .annotations
        .insert(labels::CONFIG_MIRROR.into(), hash);
    if let Some(n) = node {
        m.metadata.owner_references = vec![OwnerReference {
            api_version: "v1".into(),
            kind: "Node".into(),
            name: n.metadata.name.clone(),
            uid: n.metadata.uid.clone(),
            controller: Some(true),
            ..Default::default()
        }];
    }
    m
}

impl StaticPods {
    pub fn new(
        dir: PathBuf,
        node_name: String,
        workers: PodWorkers,
        client: Option<Client>,
    ) -> Self {
        StaticPods {
            dir,
            node_name,
            workers,
            client,
            pods: HashMap::new(),
            reported: HashMap::new(),
        }
    }

    /// Reads the directory: the pods it defines now, by file.
    fn read(&mut self) -> HashMap<PathBuf, Arc<Pod>> {
        let mut out = HashMap::new();
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return out;
        };
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for path in files {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let is_manifest = [".yaml", ".yml", ".json"]
                .iter()
                .any(|ext| name.ends_with(ext));
            if name.starts_with('.') || !is_manifest || !path.is_file() {
                continue;
            }
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    debug!(file = %path.display(), error = %e, "cannot read manifest");
                    continue;
                }
            };
            match static_pod(&text, &path.display().to_string(), &self.node_name) {
                Ok(p) => {
                    self.reported.remove(&path);
                    out.insert(path, Arc::new(p));
                }
                Err(e) => {
                    if self.reported.get(&path) != Some(&e) {
                        warn!(file = %path.display(), error = %e, "ignoring static pod manifest");
                        self.reported.insert(path, e);
                    }
                }
            }
        }
        out
    }

    /// One pass: start, replace and stop pods; keep mirrors in line.
    pub async fn sync_once(&mut self) {
        let now = self.read();
        for (path, old) in &self.pods {
            let replaced = now
                .get(path)
                .is_none_or(|p| p.metadata.uid != old.metadata.uid);
            if replaced {
                info!(pod = %old.metadata.key(), file = %path.display(), "static pod removed or changed: stopping it");
                self.workers.remove(&old.metadata.uid);
            }
        }
        for (path, pod) in &now {
            if self
                .pods
                .get(path)
                .is_none_or(|p| p.metadata.uid != pod.metadata.uid)
            {
                info!(pod = %pod.metadata.key(), file = %path.display(), "starting static pod");
                self.workers.update(pod.clone());
            }
        }
        let gone: Vec<Arc<Pod>> = self
            .pods
            .iter()
            .filter(|(path, _)| !now.contains_key(*path))
            .map(|(_, p)| p.clone())
            .collect();
        self.pods = now;
        if let Some(client) = self.client.clone() {
            self.sync_mirrors(&client, &gone).await;
        }
    }

    async fn sync_mirrors(&self, client: &Client, gone: &[Arc<Pod>]) {
        let nodes: Api<Node> = Api::all(client.clone());
        let node = nodes.get_opt(&self.node_name).await.ok().flatten();
        let mut wanted: BTreeMap<(String, String), &Arc<Pod>> = BTreeMap::new();
        for p in self.pods.values() {
            wanted.insert((p.metadata.namespace.clone(), p.metadata.name.clone()), p);
        }
        for p in gone {
            let key = (p.metadata.namespace.clone(), p.metadata.name.clone());
            if !wanted.contains_key(&key) {
                let api: Api<Pod> = Api::namespaced(client.clone(), &key.0);
                delete_mirror(&api, &key.1).await;
            }
        }
        for ((ns, name), pod) in wanted {
            let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
            let hash = pod
                .metadata
                .annotations
                .get(labels::CONFIG_HASH)
                .cloned()
                .unwrap_or_default();
            match api.get_opt(&name).await {
                Ok(Some(m)) if m.metadata.annotations.get(labels::CONFIG_MIRROR) == Some(&hash) => {
                    if m.metadata.deletion_timestamp.is_none() {
                        continue;
                    }
                    // A user deleted it: let it go, it is recreated next pass.
                    let _ = api
                        .delete(
                            &name,
                            &DeleteOptions {
                                grace_period_seconds: Some(0),
                                ..Default::default()
                            },
                        )
                        .await;
                    continue;
                }
                Ok(Some(_)) => {
                    // An outdated mirror (or a pod of another origin).
                    delete_mirror(&api, &name).await;
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    debug!(pod = %name, error = %e, "apiserver unreachable: mirror pods wait");
                    return;
                }
            }
            let mirror = mirror_of(pod, node.as_ref());
            match api.create(&PostParams::default(), &mirror).await {
                Ok(_) => info!(pod = %format!("{ns}/{name}"), "created mirror pod"),
                Err(e) if e.is_conflict() => {}
                Err(e) => {
                    warn!(pod = %format!("{ns}/{name}"), error = %e, "creating the mirror pod failed")
                }
            }
        }
    }

    /// Runs until `shutdown`; sets `synced` after the first pass.
    pub async fn run(
        mut self,
        synced: Arc<AtomicBool>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        loop {
            self.sync_once().await;
            synced.store(true, Ordering::Release);
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(CHECK_PERIOD) => {}
            }
        }
    }
}

async fn delete_mirror(api: &Api<Pod>, name: &str) {
    match api
        .delete(
            name,
            &DeleteOptions {
                grace_period_seconds: Some(0),
                ..Default::default()
            },
        )
        .await
    {
        Ok(()) => info!(pod = name, "deleted mirror pod"),
        Err(e) if e.is_not_found() => {}
        Err(e) => warn!(pod = name, error = %e, "deleting the mirror pod failed"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MANIFEST: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\nspec:\n  containers:\n  - name: etcd\n    image: localhost/oxkube/busybox:1.0\n";

    #[test]
    fn manifests_become_named_and_hashed_pods() {
        let p = static_pod(MANIFEST, "/m/etcd.yaml", "node1").unwrap_or_default();
        assert_eq!(
            (p.metadata.name.as_str(), p.metadata.namespace.as_str()),
            ("etcd-node1", "default")
        );
        assert!(is_static(&p) && !is_mirror(&p));
        assert_eq!(
            p.spec.as_ref().and_then(|s| s.node_name.as_deref()),
            Some("node1")
        );
        let same = static_pod(MANIFEST, "/m/etcd.yaml", "node1").unwrap_or_default();
        assert_eq!(p.metadata.uid, same.metadata.uid, "same file, same pod");
        let changed = static_pod(&MANIFEST.replace("1.0", "2.0"), "/m/etcd.yaml", "node1")
            .unwrap_or_default();
        assert_ne!(
            p.metadata.uid, changed.metadata.uid,
            "a changed file is a new pod"
        );
        let m = mirror_of(&p, None);
        assert!(is_mirror(&m) && m.metadata.uid.is_empty());
    }

    #[test]
    fn bad_manifests_are_refused_with_a_reason() {
        assert!(static_pod("kind: Service\nmetadata: {name: x}\nspec: {}\n", "f", "n").is_err());
        assert!(
            static_pod("kind: Pod\nspec: {containers: [{name: a}]}\n", "f", "n")
                .unwrap_err()
                .contains("metadata.name")
        );
        assert!(
            static_pod(": : :", "f", "n")
                .unwrap_err()
                .contains("invalid pod manifest")
        );
    }
}
