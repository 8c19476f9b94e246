//! The client against a real apiserver (in-process, embedded store): every
//! verb, subresources, errors as `Status`, watch streams, rate limiting.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use api_types::apps::v1::{Deployment, DeploymentSpec};
use api_types::core::v1::{
    Binding, ConfigMap, Container, Node, ObjectReference, Pod, PodSpec, PodStatus,
};
use api_types::meta::v1::{DeleteOptions, LabelSelector, ObjectMeta};
use client::{Api, Client, Config, Event, ListParams, Patch, PatchParams, PostParams};
use futures::StreamExt;
use serde_json::json;
use testenv::TestApiserver;

fn cm(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            ..ObjectMeta::default()
        },
        data: Some([("k".to_string(), "v".to_string())].into()),
        ..ConfigMap::default()
    }
}

fn pod(name: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: name.into(),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "c".into(),
                image: Some("busybox".into()),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}

#[tokio::test]
async fn crud_patch_and_errors() {
    let api = TestApiserver::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(api.client(), "default");
    let pp = PostParams::default();

    let created = cms.create(&pp, &cm("a", &[("app", "x")])).await.unwrap();
    assert!(!created.metadata.uid.is_empty());
    assert!(!created.metadata.resource_version.is_empty());
    let err = cms.create(&pp, &cm("a", &[])).await.unwrap_err();
    assert!(err.is_already_exists(), "{err}");
    assert_eq!(err.code(), Some(409));

    assert_eq!(
        cms.get("a").await.unwrap().metadata.uid,
        created.metadata.uid
    );
    assert!(cms.get("missing").await.unwrap_err().is_not_found());
    assert!(cms.get_opt("missing").await.unwrap().is_none());

    cms.create(&pp, &cm("b", &[("app", "y")])).await.unwrap();
    let listed = cms
        .list(&ListParams::default().labels("app=x"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert!(!listed.metadata.resource_version.is_empty());
    let bad = cms
        .list(&ListParams::default().labels("app in ("))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some(400));

    // replace with a stale resourceVersion conflicts
    let mut stale = created.clone();
    let mut fresh = created.clone();
    fresh.data = Some([("k".to_string(), "v2".to_string())].into());
    let replaced = cms.replace("a", &pp, &fresh).await.unwrap();
    assert_ne!(
        replaced.metadata.resource_version,
        created.metadata.resource_version
    );
    stale.data = None;
    assert!(
        cms.replace("a", &pp, &stale)
            .await
            .unwrap_err()
            .is_conflict()
    );

    // the three patch types and server-side apply
    let merged = cms
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"m": "1"}})),
        )
        .await
        .unwrap();
    assert_eq!(merged.data.as_ref().unwrap()["m"], "1");
    let jp = cms
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Json(json!([{"op": "add", "path": "/data/j", "value": "2"}])),
        )
        .await
        .unwrap();
    assert_eq!(jp.data.as_ref().unwrap()["j"], "2");
    let smp = cms
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Strategic(json!({"metadata": {"labels": {"s": "3"}}})),
        )
        .await
        .unwrap();
    assert_eq!(smp.metadata.labels["s"], "3");
    let applied = cms
        .patch(
            "c",
            &PatchParams::apply("tester"),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": "1"}})),
        )
        .await
        .unwrap();
    assert_eq!(applied.metadata.managed_fields[0].manager, "tester");
    let no_manager = cms
        .patch("c", &PatchParams::default(), &Patch::Apply(json!({})))
        .await
        .unwrap_err();
    assert!(no_manager.to_string().contains("field manager"));

    // delete, then it is gone
    cms.delete("a", &DeleteOptions::default()).await.unwrap();
    assert!(cms.get_opt("a").await.unwrap().is_none());
    assert!(
        cms.delete("a", &DeleteOptions::default())
            .await
            .unwrap_err()
            .is_not_found()
    );

    // pagination follows continue tokens
    for i in 0..7 {
        cms.create(&pp, &cm(&format!("p{i}"), &[("page", "yes")]))
            .await
            .unwrap();
    }
    let page = cms
        .list(&ListParams::default().labels("page=yes").limit(3))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 3);
    assert!(!page.metadata.continue_.is_empty());
    let all = cms
        .list_all(&ListParams::default().labels("page=yes").limit(3))
        .await
        .unwrap();
    assert_eq!(all.items.len(), 7);

    cms.delete_collection(
        &ListParams::default().labels("page=yes"),
        &DeleteOptions::default(),
    )
    .await
    .unwrap();
    assert!(
        cms.list(&ListParams::default().labels("page=yes"))
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // cluster-scoped kinds ignore the namespace; namespaced ones need one
    let nodes: Api<Node> = Api::namespaced(api.client(), "default");
    let node = Node {
        metadata: ObjectMeta {
            name: "n1".into(),
            ..ObjectMeta::default()
        },
        ..Node::default()
    };
    nodes.create(&pp, &node).await.unwrap();
    assert_eq!(
        Api::<Node>::all(api.client())
            .get("n1")
            .await
            .unwrap()
            .metadata
            .name,
        "n1"
    );
    assert!(Api::<ConfigMap>::all(api.client()).get("b").await.is_err());
}

#[tokio::test]
async fn status_binding_and_scale_subresources() {
    let api = TestApiserver::start().await;
    let pods: Api<Pod> = Api::namespaced(api.client(), "default");
    let pp = PostParams::default();
    pods.create(&pp, &pod("p")).await.unwrap();

    let binding = Binding {
        metadata: ObjectMeta {
            name: "p".into(),
            ..ObjectMeta::default()
        },
        target: ObjectReference {
            kind: Some("Node".into()),
            name: Some("node-1".into()),
            ..ObjectReference::default()
        },
        ..Binding::default()
    };
    pods.bind("p", &binding).await.unwrap();
    let bound = pods.get("p").await.unwrap();
    assert_eq!(
        bound.spec.as_ref().unwrap().node_name.as_deref(),
        Some("node-1")
    );
    let again = pods.bind("p", &binding).await.unwrap_err();
    assert_eq!(again.code(), Some(409), "{again}");

    let mut with_status = bound.clone();
    with_status.status = Some(PodStatus {
        phase: Some("Running".into()),
        pod_ip: Some("10.0.0.5".into()),
        ..PodStatus::default()
    });
    let updated = pods.replace_status("p", &pp, &with_status).await.unwrap();
    assert_eq!(
        updated.status.as_ref().unwrap().phase.as_deref(),
        Some("Running")
    );
    let patched = pods
        .patch_status(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"podIP": "10.0.0.6"}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.status.unwrap().pod_ip.as_deref(), Some("10.0.0.6"));

    let deployments: Api<Deployment> = Api::namespaced(api.client(), "default");
    let selector = LabelSelector {
        match_labels: Some([("app".to_string(), "web".to_string())].into()),
        ..LabelSelector::default()
    };
    let template = api_types::core::v1::PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: selector.match_labels.clone().unwrap_or_default(),
            ..ObjectMeta::default()
        }),
        spec: pod("x").spec,
    };
    let d = Deployment {
        metadata: ObjectMeta {
            name: "web".into(),
            ..ObjectMeta::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector,
            template,
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    };
    deployments.create(&pp, &d).await.unwrap();
    let mut scale = deployments.get_scale("web").await.unwrap();
    assert_eq!(scale.spec.as_ref().unwrap().replicas, Some(1));
    scale.spec.as_mut().unwrap().replicas = Some(4);
    deployments.replace_scale("web", &scale).await.unwrap();
    let d = deployments.get("web").await.unwrap();
    assert_eq!(d.spec.unwrap().replicas, Some(4));
}

#[tokio::test]
async fn watch_streams_changes_and_reports_expired_versions() {
    let api = TestApiserver::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(api.client(), "default");
    let pp = PostParams::default();
    let first = cms.create(&pp, &cm("w1", &[("w", "1")])).await.unwrap();

    let lp = ListParams::default().labels("w=1");
    let mut stream = cms
        .watch(&lp, &first.metadata.resource_version)
        .await
        .unwrap();
    cms.create(&pp, &cm("w2", &[("w", "1")])).await.unwrap();
    cms.create(&pp, &cm("other", &[("w", "2")])).await.unwrap();
    cms.patch(
        "w2",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"z": "1"}})),
    )
    .await
    .unwrap();
    cms.delete("w2", &DeleteOptions::default()).await.unwrap();

    let mut seen = Vec::new();
    while seen.len() < 3 {
        let ev = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("event in time")
            .expect("stream open")
            .unwrap();
        match ev {
            Event::Added(o) => seen.push(format!("ADDED {}", o.metadata.name)),
            Event::Modified(o) => seen.push(format!("MODIFIED {}", o.metadata.name)),
            Event::Deleted(o) => seen.push(format!("DELETED {}", o.metadata.name)),
            Event::Bookmark { .. } => {}
            Event::Error(s) => panic!("unexpected error event {s:?}"),
        }
    }
    assert_eq!(seen, ["ADDED w2", "MODIFIED w2", "DELETED w2"]);

    // A watch from "" starts with the current objects as ADDED.
    let mut from_now = cms.watch(&lp, "").await.unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(10), from_now.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(ev, Event::Added(o) if o.metadata.name == "w1"));

    // The server ends a watch after timeoutSeconds.
    let short = ListParams {
        timeout_seconds: Some(1),
        ..lp.clone()
    };
    let mut ending = cms
        .watch(&short, &first.metadata.resource_version)
        .await
        .unwrap();
    let started = Instant::now();
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(10), ending.next())
        .await
        .unwrap()
    {
        ev.unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn rate_limit_spaces_requests_and_kubeconfig_connects() {
    let api = TestApiserver::start().await;
    let path = api.write_kubeconfig();
    let mut config = Config::from_kubeconfig(&path, None).unwrap();
    assert_eq!(config.server, api.url());
    config.qps = 20.0;
    config.burst = 2;
    let c = Client::new(config).unwrap();
    assert!(c.version().await.unwrap()["gitVersion"].is_string());
    let cms: Api<ConfigMap> = Api::default_namespaced(c);
    let started = Instant::now();
    for _ in 0..12 {
        cms.list(&ListParams::default()).await.unwrap();
    }
    // 1 (version) + 12 requests, burst 2, then 20/s: at least 0.5 s
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );

    // An unreachable server is an Http error, transient.
    let dead = Client::new(Config::new("http://127.0.0.1:1")).unwrap();
    let err = Api::<ConfigMap>::all(dead)
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
}
