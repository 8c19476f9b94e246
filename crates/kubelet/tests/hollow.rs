//! A hollow node: the real kubelet ([`Kubelet::run`]) against the
//! in-memory [`FakeRuntime`] and an in-process apiserver. No root, no
//! containerd: this is how the kubelet's flow is tested anywhere, and how
//! `kubelet --container-runtime-endpoint fake://` simulates nodes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use api_types::core::v1::{Node, Pod};
use api_types::meta::v1::DeleteOptions;
use client::{Api, PostParams};
use cri::FakeRuntime;
use kubelet::kubelet::{Kubelet, KubeletConfig, Runtime};
use serde_json::json;
use testenv::TestApiserver;

use test_support::eventually as wait;

/// A hollow kubelet for node `name`, running until the sender is dropped.
struct Hollow {
    fake: FakeRuntime,
    root: std::path::PathBuf,
    _stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

fn start_hollow(client: &client::Client, name: &str, sync_frequency: Duration) -> Hollow {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeRuntime::hollow();
    let mut cfg = KubeletConfig::new(name);
    cfg.node.pod_cidr = Some("10.244.9.0/24".into());
    cfg.node.node_ip = Some("127.0.0.1".parse().unwrap());
    cfg.root_dir = dir.path().join("kubelet");
    cfg.pod_logs_dir = dir.path().join("logs");
    cfg.pod_manifest_path = None;
    cfg.cni_conf_dir = dir.path().join("cni");
    cfg.write_cni_config = false;
    cfg.cgroup_root = "/oxkube-hollow-test".into();
    cfg.node_status_update_frequency = Duration::from_secs(1);
    cfg.sync_frequency = sync_frequency;
    cfg.server = Some(([127, 0, 0, 1], 0).into());
    cfg.healthz = None;
    let rt = Runtime {
        runtime: Arc::new(fake.clone()),
        images: Arc::new(fake.clone()),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(Kubelet::run(cfg, rt, Some(client.clone()), async move {
        let _ = stopped.await;
    }));
    Hollow {
        fake,
        root: dir.path().join("kubelet"),
        _stop: stop,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hollow_node_runs_restarts_and_deletes_pods() {
    test_support::init_tracing();
    let api = TestApiserver::start().await;
    let client = api.client();
    let hollow = start_hollow(&client, "hollow-1", Duration::from_secs(60));
    let fake = hollow.fake.clone();

    let nodes: Api<Node> = Api::all(client.clone());
    let node = wait("the node", Duration::from_secs(20), || async {
        nodes.get_opt("hollow-1").await.ok().flatten()
    })
    .await;
    let port = node
        .status
        .unwrap()
        .daemon_endpoints
        .unwrap()
        .kubelet_endpoint
        .unwrap()
        .port;

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "nodeName": "hollow-1",
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "nginx", "image": "nginx:1.27"}]
        }
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let running = wait("web Running", Duration::from_secs(20), || async {
        let p = pods.get_opt("web").await.ok().flatten()?;
        let s = p.status.clone()?;
        (s.phase.as_deref() == Some("Running")).then_some(p)
    })
    .await;
    let status = running.status.unwrap();
    let ip = status.pod_ip.unwrap();
    assert!(ip.starts_with("10.244.9."), "{ip}");
    let c = &status.container_statuses.unwrap()[0];
    assert_eq!(c.image, "nginx:1.27");
    assert!(c.ready);

    // The kubelet server knows it.
    let listed: serde_json::Value = reqwest::get(format!("http://127.0.0.1:{port}/pods"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"][0]["metadata"]["name"], "web");

    // The container dies: the PLEG notices, the kubelet restarts it.
    let id = fake.containers_named("nginx")[0].clone();
    fake.exit_container(&id, 1);
    wait("a restart", Duration::from_secs(20), || async {
        let p = pods.get_opt("web").await.ok().flatten()?;
        let c = p.status?.container_statuses?.into_iter().next()?;
        let last = c.last_state?.terminated?;
        (c.restart_count == 1 && last.exit_code == 1 && c.state?.running.is_some()).then_some(())
    })
    .await;

    // Graceful deletion ends with the object gone and the sandbox removed.
    pods.delete("web", &DeleteOptions::default()).await.unwrap();
    wait("web gone", Duration::from_secs(20), || async {
        pods.get_opt("web")
            .await
            .ok()
            .flatten()
            .is_none()
            .then_some(())
    })
    .await;
    assert!(fake.calls().iter().any(|c| c == "RemovePodSandbox"));
}

/// ConfigMap volumes follow their ConfigMap while the pod runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_map_volumes_follow_their_source() {
    test_support::init_tracing();
    let api = TestApiserver::start().await;
    let client = api.client();
    let hollow = start_hollow(&client, "hollow-2", Duration::from_secs(1));
    let cms: Api<api_types::core::v1::ConfigMap> = Api::namespaced(client.clone(), "default");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "cfg"}, "data": {"color": "blue"}}))
            .unwrap(),
    )
    .await
    .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "reader"},
        "spec": {
            "nodeName": "hollow-2",
            "volumes": [{"name": "conf", "configMap": {"name": "cfg"}}],
            "containers": [{"name": "c", "image": "busybox:1.0",
                "volumeMounts": [{"name": "conf", "mountPath": "/etc/conf"}]}]
        }
    }))
    .unwrap();
    let created = pods.create(&PostParams::default(), &pod).await.unwrap();
    let file = hollow
        .root
        .join("pods")
        .join(&created.metadata.uid)
        .join("volumes/kubernetes.io~configmap/conf/color");
    wait("the volume", Duration::from_secs(20), || async {
        (std::fs::read_to_string(&file).ok()? == "blue").then_some(())
    })
    .await;
    cms.patch(
        "cfg",
        &client::PatchParams::default(),
        &client::Patch::Merge(json!({"data": {"color": "green"}})),
    )
    .await
    .unwrap();
    wait("the new content", Duration::from_secs(20), || async {
        (std::fs::read_to_string(&file).ok()? == "green").then_some(())
    })
    .await;
}
