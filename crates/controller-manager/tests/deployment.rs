//! The Deployment controller against an in-process apiserver, with
//! simulated nodes that run the pods, driven partly by the real kubectl:
//! rollout, `rollout status`, `rollout undo` (and `--to-revision`),
//! `scale`, pause/resume, Recreate, history clean-up and the progress
//! deadline.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_types::apps::v1::{Deployment, ReplicaSet};
use api_types::core::v1::Pod;
use client::{Api, Client, ListParams, Patch, PatchParams, PostParams};
use futures::StreamExt;
use serde_json::json;
use test_support::eventually;
use testenv::TestApiserver;

struct Cluster {
    _api: TestApiserver,
    client: Client,
    kubeconfig: PathBuf,
    _sim: sim::SimHandle,
    cm: common::Controllers,
}

impl Cluster {
    async fn start() -> Cluster {
        test_support::init_tracing();
        let api = TestApiserver::start().await;
        let client = api.client();
        let sim = sim::Simulator::start(
            client.clone(),
            sim::SimConfig {
                nodes: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let cm = common::controllers(&client);
        let kubeconfig = api.write_kubeconfig();
        Cluster {
            _api: api,
            client,
            kubeconfig,
            _sim: sim,
            cm,
        }
    }

    async fn stop(self) {
        self.cm.stop().await;
    }

    fn deployments(&self) -> Api<Deployment> {
        Api::namespaced(self.client.clone(), "default")
    }

    fn replica_sets(&self) -> Api<ReplicaSet> {
        Api::namespaced(self.client.clone(), "default")
    }

    /// Runs kubectl 1.33 (off the async threads: it may wait).
    async fn kubectl(&self, args: &[&str]) -> (bool, String) {
        kubectl(&self.kubeconfig, args).await
    }
}

async fn kubectl(kubeconfig: &Path, args: &[&str]) -> (bool, String) {
    let kubeconfig = kubeconfig.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| (*s).to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::kubectl_output(&kubeconfig, &args)
    })
    .await
    .unwrap()
}

fn deployment(name: &str, replicas: i32, image: &str, strategy: serde_json::Value) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": strategy,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"nodeName": "sim-node-0", "containers": [{"name": "c", "image": image}]}
            }
        }
    }))
    .unwrap()
}

async fn owned_replica_sets(api: &Api<ReplicaSet>, app: &str) -> Vec<ReplicaSet> {
    let mut v = api
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .unwrap()
        .items;
    v.sort_by_key(revision);
    v
}

fn revision(rs: &ReplicaSet) -> i64 {
    rs.metadata
        .annotations
        .get("deployment.kubernetes.io/revision")
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn image(rs: &ReplicaSet) -> String {
    rs.spec
        .as_ref()
        .unwrap()
        .template
        .as_ref()
        .unwrap()
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .image
        .clone()
        .unwrap_or_default()
}

fn replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().unwrap().replicas.unwrap()
}

/// Waits until the Deployment is rolled out: observed, all replicas
/// updated and available, `Progressing` says so.
async fn rolled_out(api: &Api<Deployment>, name: &str, want: i32) {
    eventually("the rollout to finish", Duration::from_secs(60), || async {
        let d = api.get(name).await.ok()?;
        let s = d.status?;
        let done = s.observed_generation >= d.metadata.generation
            && s.updated_replicas == Some(want)
            && s.replicas == Some(want)
            && s.available_replicas == Some(want)
            && s.conditions?.iter().any(|c| {
                c.type_ == "Progressing" && c.reason.as_deref() == Some("NewReplicaSetAvailable")
            });
        done.then_some(())
    })
    .await;
}

/// Watches the app's pods and keeps, for each, whether it is ready and
/// not being deleted.
fn watch_pods(client: Client, app: &str) -> Arc<Mutex<BTreeMap<String, Pod>>> {
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    let out = seen.clone();
    let selector = format!("app={app}");
    tokio::spawn(async move {
        let list = pods
            .list(&ListParams::default().labels(&selector))
            .await
            .unwrap();
        for p in list.items {
            seen.lock().unwrap().insert(p.metadata.name.clone(), p);
        }
        let rv = list.metadata.resource_version.clone();
        let mut stream = pods
            .watch(&ListParams::default().labels(&selector), &rv)
            .await
            .unwrap();
        while let Some(Ok(ev)) = stream.next().await {
            let mut map = seen.lock().unwrap();
            match ev {
                client::Event::Added(p) | client::Event::Modified(p) => {
                    map.insert(p.metadata.name.clone(), p);
                }
                client::Event::Deleted(p) => {
                    map.remove(&p.metadata.name);
                }
                _ => {}
            }
        }
    });
    out
}

fn is_ready(p: &Pod) -> bool {
    p.metadata.deletion_timestamp.is_none()
        && p.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn pod_image(p: &Pod) -> String {
    p.spec.as_ref().unwrap().containers[0]
        .image
        .clone()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_update_keeps_every_replica_ready_and_rolls_back() {
    let c = Cluster::start().await;
    let deploys = c.deployments();
    let rss = c.replica_sets();
    let strategy =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}});
    deploys
        .create(
            &PostParams::default(),
            &deployment("web", 3, "nginx:1", strategy),
        )
        .await
        .unwrap();
    rolled_out(&deploys, "web", 3).await;
    let v1 = owned_replica_sets(&rss, "web").await;
    assert_eq!(v1.len(), 1);
    let hash = v1[0]
        .metadata
        .labels
        .get("pod-template-hash")
        .unwrap()
        .clone();
    assert_eq!(v1[0].metadata.name, format!("web-{hash}"));
    assert_eq!(revision(&v1[0]), 1);
    assert_eq!(
        v1[0].metadata.owner_references[0].kind, "Deployment",
        "owned by the deployment"
    );
    let d = deploys.get("web").await.unwrap();
    assert_eq!(
        d.metadata
            .annotations
            .get("deployment.kubernetes.io/revision"),
        Some(&"1".to_string())
    );
    let (ok, out) = c.kubectl(&["rollout", "status", "deployment/web"]).await;
    assert!(ok, "{out}");
    assert!(
        out.contains("deployment \"web\" successfully rolled out"),
        "{out}"
    );

    // Roll out nginx:2 while watching the pods: with maxUnavailable 0 the
    // ready (and not terminating) pods never drop below 3.
    let seen = watch_pods(c.client.clone(), "web");
    eventually(
        "the watch to list 3 ready pods",
        Duration::from_secs(10),
        || async {
            (seen
                .lock()
                .unwrap()
                .values()
                .filter(|p| is_ready(p))
                .count()
                == 3)
                .then_some(())
        },
    )
    .await;
    let low = Arc::new(Mutex::new(i32::MAX));
    let sampler = {
        let (seen, low) = (seen.clone(), low.clone());
        tokio::spawn(async move {
            loop {
                let ready = seen
                    .lock()
                    .unwrap()
                    .values()
                    .filter(|p| is_ready(p))
                    .count();
                {
                    let mut l = low.lock().unwrap();
                    *l = (*l).min(i32::try_from(ready).unwrap());
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let (ok, out) = c
        .kubectl(&["set", "image", "deployment/web", "c=nginx:2"])
        .await;
    assert!(ok, "{out}");
    let (ok, out) = c
        .kubectl(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;
    assert!(ok, "{out}");
    assert!(out.contains("successfully rolled out"), "{out}");
    rolled_out(&deploys, "web", 3).await;
    sampler.abort();
    assert_eq!(*low.lock().unwrap(), 3, "ready pods dropped below 3");
    let all = owned_replica_sets(&rss, "web").await;
    assert_eq!(all.len(), 2);
    assert_eq!((replicas(&all[0]), image(&all[0])), (0, "nginx:1".into()));
    assert_eq!((replicas(&all[1]), image(&all[1])), (3, "nginx:2".into()));
    assert_eq!(revision(&all[1]), 2);
    eventually("only nginx:2 pods", Duration::from_secs(20), || async {
        let map = seen.lock().unwrap();
        (map.len() == 3 && map.values().all(|p| pod_image(p) == "nginx:2")).then_some(())
    })
    .await;

    // The events say how it went.
    let (ok, out) = c.kubectl(&["describe", "deployment", "web"]).await;
    assert!(ok, "{out}");
    assert!(out.contains("ScalingReplicaSet"), "{out}");
    assert!(out.contains("Scaled down replica set web-"), "{out}");
    assert!(out.contains(" from 3 to 2"), "{out}");

    // History, then undo: the first template comes back as revision 3.
    let (ok, out) = c.kubectl(&["rollout", "history", "deployment/web"]).await;
    assert!(ok, "{out}");
    assert!(out.contains('1') && out.contains('2'), "{out}");
    let (ok, out) = c.kubectl(&["rollout", "undo", "deployment/web"]).await;
    assert!(ok, "{out}");
    assert!(out.contains("rolled back"), "{out}");
    rolled_out(&deploys, "web", 3).await;
    let all = owned_replica_sets(&rss, "web").await;
    assert_eq!(all.len(), 2, "the old ReplicaSet is reused");
    let newest = all.last().unwrap();
    assert_eq!(newest.metadata.name, format!("web-{hash}"));
    assert_eq!((revision(newest), replicas(newest)), (3, 3));
    assert_eq!(
        newest
            .metadata
            .annotations
            .get("deployment.kubernetes.io/revision-history"),
        Some(&"1".to_string())
    );

    // And to a chosen revision.
    let (ok, out) = c
        .kubectl(&["rollout", "undo", "deployment/web", "--to-revision=2"])
        .await;
    assert!(ok, "{out}");
    rolled_out(&deploys, "web", 3).await;
    let d = deploys.get("web").await.unwrap();
    assert_eq!(
        d.spec.unwrap().template.spec.unwrap().containers[0]
            .image
            .as_deref(),
        Some("nginx:2")
    );

    // kubectl scale, through the scale subresource.
    let (ok, out) = c
        .kubectl(&["scale", "deployment/web", "--replicas=5"])
        .await;
    assert!(ok, "{out}");
    rolled_out(&deploys, "web", 5).await;
    let all = owned_replica_sets(&rss, "web").await;
    assert_eq!(replicas(all.last().unwrap()), 5);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_stops_every_old_pod_before_starting_new_ones() {
    let c = Cluster::start().await;
    let deploys = c.deployments();
    deploys
        .create(
            &PostParams::default(),
            &deployment("db", 2, "pg:1", json!({"type": "Recreate"})),
        )
        .await
        .unwrap();
    rolled_out(&deploys, "db", 2).await;
    let seen = watch_pods(c.client.clone(), "db");
    eventually(
        "the watch to list 2 pods",
        Duration::from_secs(10),
        || async { (seen.lock().unwrap().len() == 2).then_some(()) },
    )
    .await;
    let overlap = Arc::new(Mutex::new(false));
    let sampler = {
        let (seen, overlap) = (seen.clone(), overlap.clone());
        tokio::spawn(async move {
            loop {
                let both = {
                    let map = seen.lock().unwrap();
                    map.values().any(|p| pod_image(p) == "pg:1")
                        && map.values().any(|p| pod_image(p) == "pg:2")
                };
                if both {
                    *overlap.lock().unwrap() = true;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let patch =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "pg:2"}]}}}});
    deploys
        .patch("db", &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .unwrap();
    rolled_out(&deploys, "db", 2).await;
    eventually("two pg:2 pods", Duration::from_secs(20), || async {
        let map = seen.lock().unwrap();
        (map.len() == 2 && map.values().all(|p| pod_image(p) == "pg:2")).then_some(())
    })
    .await;
    sampler.abort();
    assert!(
        !*overlap.lock().unwrap(),
        "old and new pods existed at the same time"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_deployments_wait_and_history_is_trimmed() {
    let c = Cluster::start().await;
    let deploys = c.deployments();
    let rss = c.replica_sets();
    let mut d = deployment("api", 2, "api:1", json!({}));
    d.spec.as_mut().unwrap().revision_history_limit = Some(1);
    deploys.create(&PostParams::default(), &d).await.unwrap();
    rolled_out(&deploys, "api", 2).await;

    let (ok, out) = c.kubectl(&["rollout", "pause", "deployment/api"]).await;
    assert!(ok, "{out}");
    let (ok, out) = c
        .kubectl(&["set", "image", "deployment/api", "c=api:2"])
        .await;
    assert!(ok, "{out}");
    let paused = eventually(
        "Progressing=DeploymentPaused",
        Duration::from_secs(20),
        || async {
            let d = deploys.get("api").await.ok()?;
            let s = d.status?;
            (s.observed_generation >= d.metadata.generation).then_some(())?;
            s.conditions?.into_iter().find(|c| {
                c.type_ == "Progressing" && c.reason.as_deref() == Some("DeploymentPaused")
            })
        },
    )
    .await;
    assert_eq!(paused.status, "Unknown");
    assert_eq!(
        owned_replica_sets(&rss, "api").await.len(),
        1,
        "a paused deployment starts no rollout"
    );
    let (ok, out) = c.kubectl(&["rollout", "resume", "deployment/api"]).await;
    assert!(ok, "{out}");
    rolled_out(&deploys, "api", 2).await;

    // A third template: with revisionHistoryLimit 1 only one old
    // ReplicaSet is kept.
    let (ok, out) = c
        .kubectl(&["set", "image", "deployment/api", "c=api:3"])
        .await;
    assert!(ok, "{out}");
    rolled_out(&deploys, "api", 2).await;
    let all = eventually("history trimmed to 1", Duration::from_secs(20), || async {
        let all = owned_replica_sets(&rss, "api").await;
        (all.len() == 2).then_some(all)
    })
    .await;
    assert_eq!(
        all.iter().map(image).collect::<Vec<_>>(),
        ["api:2", "api:3"]
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_that_never_becomes_available_exceeds_its_deadline() {
    let c = Cluster::start().await;
    let deploys = c.deployments();
    let mut d = deployment("stuck", 1, "x:1", json!({}));
    let spec = d.spec.as_mut().unwrap();
    spec.progress_deadline_seconds = Some(2);
    // A node that does not exist: the pod stays Pending.
    spec.template.spec.as_mut().unwrap().node_name = Some("nowhere".into());
    deploys.create(&PostParams::default(), &d).await.unwrap();
    let cond = eventually(
        "ProgressDeadlineExceeded",
        Duration::from_secs(30),
        || async {
            deploys
                .get("stuck")
                .await
                .ok()?
                .status?
                .conditions?
                .into_iter()
                .find(|c| c.type_ == "Progressing" && c.status == "False")
        },
    )
    .await;
    assert_eq!(cond.reason.as_deref(), Some("ProgressDeadlineExceeded"));
    assert_eq!(
        cond.message.as_deref(),
        Some(
            format!(
                "ReplicaSet \"{}\" has timed out progressing.",
                owned_replica_sets(&c.replica_sets(), "stuck").await[0]
                    .metadata
                    .name
            )
            .as_str()
        )
    );
    let (ok, out) = c
        .kubectl(&["rollout", "status", "deployment/stuck", "--timeout=20s"])
        .await;
    assert!(!ok, "{out}");
    assert!(out.contains("exceeded its progress deadline"), "{out}");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_a_stuck_rollout_shares_the_change_in_proportion() {
    let c = Cluster::start().await;
    let deploys = c.deployments();
    let rss = c.replica_sets();
    let strategy = json!({"rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}});
    deploys
        .create(
            &PostParams::default(),
            &deployment("big", 10, "big:1", strategy),
        )
        .await
        .unwrap();
    rolled_out(&deploys, "big", 10).await;
    // The new pods go to a node that does not exist: never available, so
    // the rollout stops at old 8 (10 - maxUnavailable 2) and new 5 (the
    // rest of 10 + maxSurge 3).
    let patch = json!({"spec": {"template": {"spec": {"nodeName": "nowhere"}}}});
    deploys
        .patch("big", &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .unwrap();
    let sizes = || async {
        let all = owned_replica_sets(&rss, "big").await;
        all.iter().map(replicas).collect::<Vec<_>>()
    };
    eventually("old 8, new 5", Duration::from_secs(30), || async {
        (sizes().await == [8, 5]).then_some(())
    })
    .await;
    // Give the controller time to (wrongly) go on, then check it did not.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sizes().await, [8, 5]);

    // 15 replicas with maxSurge 3: 18 pods allowed, 5 to add, shared in
    // proportion to the sizes 8 and 5, which were set for a total of 13.
    let (ok, out) = c
        .kubectl(&["scale", "deployment/big", "--replicas=15"])
        .await;
    assert!(ok, "{out}");
    let got = eventually(
        "a proportional scale-up",
        Duration::from_secs(30),
        || async {
            let s = sizes().await;
            (s.iter().sum::<i32>() == 18).then_some(s)
        },
    )
    .await;
    // old: 8 * 18 / 13 = 11.08 -> 11 (+3); new takes the other 2.
    assert_eq!(got, [11, 7]);
    c.stop().await;
}
