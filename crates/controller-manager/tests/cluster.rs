//! Node IPAM and the ServiceAccount controller against an in-process
//! apiserver.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use controller_manager::ControllerConfig;

use std::time::Duration;

use api_types::core::v1::{Namespace, Node, ServiceAccount};
use api_types::meta::v1::DeleteOptions;
use client::{Api, PostParams};
use serde_json::json;
use test_support::eventually;
use testenv::TestApiserver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_get_pod_cidrs_and_namespaces_get_default_accounts() {
    test_support::init_tracing();
    let api = TestApiserver::start().await;
    let client = api.client();
    let nodes: Api<Node> = Api::all(client.clone());
    // A node that already has a block keeps it; the allocator skips it.
    let taken: Node = serde_json::from_value(
        json!({"metadata": {"name": "n0"}, "spec": {"podCIDR": "10.244.0.0/24"}}),
    )
    .unwrap();
    nodes.create(&PostParams::default(), &taken).await.unwrap();

    let config = ControllerConfig {
        node_cidrs: Some(("10.244.0.0/16".parse().unwrap(), 24)),
        ..Default::default()
    };
    let cm = common::Controllers::start(&client, config);

    for (name, want) in [("n1", "10.244.1.0/24"), ("n2", "10.244.2.0/24")] {
        let node: Node = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        nodes.create(&PostParams::default(), &node).await.unwrap();
        let got = eventually("a pod CIDR", Duration::from_secs(20), || async {
            nodes.get(name).await.ok()?.spec?.pod_cidr
        })
        .await;
        assert_eq!(got, want);
        let all = nodes
            .get(name)
            .await
            .unwrap()
            .spec
            .unwrap()
            .pod_cidrs
            .unwrap();
        assert_eq!(all, [want]);
    }
    assert_eq!(
        nodes
            .get("n0")
            .await
            .unwrap()
            .spec
            .unwrap()
            .pod_cidr
            .as_deref(),
        Some("10.244.0.0/24")
    );
    // A deleted node's block is given out again.
    nodes.delete("n1", &DeleteOptions::default()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let n3: Node = serde_json::from_value(json!({"metadata": {"name": "n3"}})).unwrap();
    nodes.create(&PostParams::default(), &n3).await.unwrap();
    let got = eventually("n3's pod CIDR", Duration::from_secs(20), || async {
        nodes.get("n3").await.ok()?.spec?.pod_cidr
    })
    .await;
    assert_eq!(got, "10.244.1.0/24");

    // ServiceAccounts: existing namespaces and new ones, and again after a
    // deletion.
    let default_sa: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    eventually("default/default", Duration::from_secs(20), || async {
        default_sa.get_opt("default").await.ok().flatten()
    })
    .await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "team"}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let team: Api<ServiceAccount> = Api::namespaced(client.clone(), "team");
    let first = eventually("team/default", Duration::from_secs(20), || async {
        team.get_opt("default").await.ok().flatten()
    })
    .await;
    team.delete("default", &DeleteOptions::default())
        .await
        .unwrap();
    eventually("team/default again", Duration::from_secs(20), || async {
        let sa = team.get_opt("default").await.ok().flatten()?;
        (sa.metadata.uid != first.metadata.uid).then_some(())
    })
    .await;

    cm.stop().await;
}
