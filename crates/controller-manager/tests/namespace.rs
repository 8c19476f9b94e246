//! The namespace controller against an in-process apiserver: a deleted
//! namespace is emptied (pods first) and then removed, with its progress in
//! the status conditions; `kubectl delete namespace` waits for all that.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use api_types::apps::v1::ReplicaSet;
use api_types::core::v1::{ConfigMap, Namespace, Pod, Secret, Service, ServiceAccount};
use api_types::meta::v1::DeleteOptions;
use client::{Api, Client, ListParams, Patch, PatchParams, PostParams};
use controller_manager::resources::namespaced_kinds;
use serde_json::json;
use test_support::eventually;
use testenv::TestApiserver;

const LIMIT: Duration = Duration::from_secs(60);
const HOLD: &str = "example.com/hold";

async fn create_namespace(client: &Client, name: &str) -> Namespace {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap()
}

async fn create<K: api_types::Resource>(client: &Client, ns: &str, v: serde_json::Value) -> K {
    let obj: K = serde_json::from_value(v).unwrap();
    Api::<K>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &obj)
        .await
        .unwrap()
}

/// A bit of everything: pods (one owned by a ReplicaSet), a service, a
/// config map, a secret (and the `default` ServiceAccount the controller
/// manager adds).
async fn fill(client: &Client, ns: &str) {
    let _: Pod = create(
        client,
        ns,
        json!({"metadata": {"name": "lone"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
    )
    .await;
    let _: ReplicaSet = create(
        client,
        ns,
        json!({
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}
                }
            }
        }),
    )
    .await;
    let _: Service = create(
        client,
        ns,
        json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
    )
    .await;
    let _: ConfigMap = create(
        client,
        ns,
        json!({"metadata": {"name": "cfg"}, "data": {"k": "v"}}),
    )
    .await;
    let _: Secret = create(
        client,
        ns,
        json!({"metadata": {"name": "s"}, "stringData": {"k": "v"}}),
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    eventually("the ReplicaSet's pods", LIMIT, || async {
        let n = pods.list(&ListParams::default()).await.unwrap().items.len();
        (n == 3).then_some(())
    })
    .await;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    eventually("the default ServiceAccount", LIMIT, || async {
        sas.get_opt("default").await.unwrap()
    })
    .await;
}

/// Everything namespaced the apiserver serves, counted in `ns`.
async fn objects_in(client: &Client, ns: &str) -> usize {
    let mut n = 0;
    for k in namespaced_kinds(client) {
        n += k.list(ns).await.unwrap().len();
    }
    n
}

async fn gone(client: &Client, name: &str) {
    let nss: Api<Namespace> = Api::all(client.clone());
    eventually("the namespace removed", LIMIT, || async {
        nss.get_opt(name).await.unwrap().is_none().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_namespace_is_emptied_then_removed() {
    test_support::init_tracing();
    let api = TestApiserver::start().await;
    let client = api.client();
    let _stop = common::controllers(&client);
    create_namespace(&client, "doomed").await;
    fill(&client, "doomed").await;
    // Something elsewhere, to be left alone.
    let _: ConfigMap = create(
        &client,
        "default",
        json!({"metadata": {"name": "bystander"}}),
    )
    .await;
    assert!(objects_in(&client, "doomed").await >= 7);

    let nss: Api<Namespace> = Api::all(client.clone());
    nss.delete("doomed", &DeleteOptions::default())
        .await
        .unwrap();
    let terminating = nss.get("doomed").await.unwrap();
    assert_eq!(
        terminating.status.unwrap().phase.as_deref(),
        Some("Terminating")
    );
    gone(&client, "doomed").await;
    assert_eq!(objects_in(&client, "doomed").await, 0);
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    assert!(cms.get_opt("bystander").await.unwrap().is_some());
}

fn condition<'a>(ns: &'a Namespace, t: &str) -> Option<(&'a str, &'a str)> {
    let c = ns
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == t)?;
    Some((c.status.as_str(), c.message.as_deref().unwrap_or_default()))
}

async fn release<K: api_types::Resource>(client: &Client, ns: &str, name: &str) {
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let patch = Patch::Merge(json!({"metadata": {"finalizers": null}}));
    api.patch(name, &PatchParams::default(), &patch)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_go_first_and_finalizers_are_waited_for() {
    test_support::init_tracing();
    let api = TestApiserver::start().await;
    let client = api.client();
    let _stop = common::controllers(&client);
    create_namespace(&client, "held").await;
    let _: Pod = create(
        &client,
        "held",
        json!({"metadata": {"name": "p", "finalizers": [HOLD]},
               "spec": {"terminationGracePeriodSeconds": 0, "containers": [{"name": "c", "image": "nginx"}]}}),
    )
    .await;
    let _: ConfigMap = create(
        &client,
        "held",
        json!({"metadata": {"name": "cfg", "finalizers": [HOLD]}}),
    )
    .await;
    let _: Secret = create(&client, "held", json!({"metadata": {"name": "s"}})).await;
    let nss: Api<Namespace> = Api::all(client.clone());
    nss.delete("held", &DeleteOptions::default()).await.unwrap();

    // The pod is being deleted; nothing else is touched while it stays.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "held");
    eventually("the pod being deleted", LIMIT, || async {
        pods.get("p")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .map(drop)
    })
    .await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "held");
    assert!(
        cms.get("cfg")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_none()
    );
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "held");
    assert!(secrets.get_opt("s").await.unwrap().is_some());

    // The pod goes: the rest is deleted, the config map waits for its
    // finalizer, and the conditions say so.
    release::<Pod>(&client, "held", "p").await;
    let ns = eventually("the conditions report the finalizer", LIMIT, || async {
        let ns = nss.get("held").await.unwrap();
        (condition(&ns, "NamespaceFinalizersRemaining").map(|c| c.0) == Some("True")).then_some(ns)
    })
    .await;
    assert_eq!(
        condition(&ns, "NamespaceContentRemaining"),
        Some((
            "True",
            "Some resources are remaining: configmaps. has 1 resource instances"
        ))
    );
    assert_eq!(
        condition(&ns, "NamespaceFinalizersRemaining"),
        Some((
            "True",
            "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
        ))
    );
    assert_eq!(
        condition(&ns, "NamespaceDeletionContentFailure").map(|c| c.0),
        Some("False")
    );
    assert!(secrets.get_opt("s").await.unwrap().is_none());
    assert_eq!(ns.spec.unwrap().finalizers.unwrap(), ["kubernetes"]);

    release::<ConfigMap>(&client, "held", "cfg").await;
    gone(&client, "held").await;
}

/// Every namespaced resource the apiserver lists in discovery is one the
/// namespace controller empties, and every resource that can be listed,
/// watched and deleted (but events) is one the garbage collector follows:
/// a new kind in the apiserver must be added to the tables in
/// `resources.rs`, or its objects would outlive their namespace or owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_served_kind_is_in_the_tables() {
    let api = TestApiserver::start().await;
    let client = api.client();
    let mut versions = vec!["/api/v1".to_string()];
    let groups: serde_json::Value =
        serde_json::from_slice(&client.get_raw("/apis").await.unwrap()).unwrap();
    for g in groups["groups"].as_array().unwrap() {
        let gv = g["preferredVersion"]["groupVersion"].as_str().unwrap();
        versions.push(format!("/apis/{gv}"));
    }
    let table = |kinds: Vec<std::sync::Arc<dyn controller_manager::resources::DynKind>>| {
        kinds
            .iter()
            .map(|k| (k.info().group.to_string(), k.info().resource.to_string()))
            .collect::<Vec<_>>()
    };
    let emptied = table(namespaced_kinds(&client));
    let followed = table(controller_manager::resources::gc_kinds(&client));
    let (mut namespaced, mut collectable) = (Vec::new(), Vec::new());
    for path in versions {
        let list: serde_json::Value =
            serde_json::from_slice(&client.get_raw(&path).await.unwrap()).unwrap();
        let group = list["groupVersion"]
            .as_str()
            .unwrap()
            .split_once('/')
            .map_or("", |(g, _)| g)
            .to_string();
        for r in list["resources"].as_array().unwrap() {
            let name = r["name"].as_str().unwrap();
            let verbs = r["verbs"].as_array().unwrap();
            let can = |v: &str| verbs.iter().any(|x| x == v);
            if name.contains('/') || !can("delete") {
                continue;
            }
            let id = (group.clone(), name.to_string());
            if r["namespaced"] == true {
                namespaced.push(id.clone());
            }
            if can("list") && can("watch") && name != "events" {
                collectable.push(id);
            }
        }
    }
    assert!(namespaced.len() >= 10, "{namespaced:?}");
    for s in &namespaced {
        assert!(emptied.contains(s), "{s:?} is served but not emptied");
    }
    assert!(collectable.len() >= 12, "{collectable:?}");
    for s in &collectable {
        assert!(
            followed.contains(s),
            "{s:?} is served but not followed by the GC"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kubectl_delete_namespace_waits_until_it_is_gone() {
    test_support::init_tracing();
    let api = TestApiserver::start().await;
    let client = api.client();
    let _stop = common::controllers(&client);
    let kubeconfig = api.write_kubeconfig();
    create_namespace(&client, "kc").await;
    fill(&client, "kc").await;
    let out = tokio::task::spawn_blocking(move || {
        testenv::kubectl_run(
            "1.33",
            &kubeconfig,
            &["delete", "namespace", "kc", "--timeout=60s"],
        )
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "namespace \"kc\" deleted"
    );
    // kubectl returned: the namespace and its content are gone.
    let nss: Api<Namespace> = Api::all(client.clone());
    assert!(nss.get_opt("kc").await.unwrap().is_none());
    assert_eq!(objects_in(&client, "kc").await, 0);
}
