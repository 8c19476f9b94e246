//! The real kube-rs client (`kube` + `k8s-openapi`) against our apiserver:
//! typed `Api` calls (CRUD, the three patch types and server-side apply,
//! the `scale`, `status` and `binding` subresources), `Discovery`, and
//! `kube::runtime::watcher`, which must keep streaming across an in-stream
//! `410 Expired` (it relists), a storage compaction in the middle of its
//! paginated list, and an apiserver restart on the same port.
//!
//! kube-rs is stricter than our own test client: it refuses a list without
//! `metadata.resourceVersion`, a watch event without one, and (through
//! k8s-openapi) any object whose `apiVersion`/`kind` are wrong. So every
//! call that succeeds here is also a wire-format check. Results are checked
//! twice: on what kube-rs returns, and on what is stored, read back over
//! plain HTTP.

#![allow(clippy::unwrap_used)]

#[allow(dead_code, unused_imports)]
mod suite;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Binding, ConfigMap, Namespace, Node, Pod};
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, ResourceExt,
};
use kube::core::{GroupVersionKind, Status};
use kube::discovery::{self, Discovery, Scope, verbs};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use suite::harness::{self, CONFIGMAPS, Factory, Harness, PODS, test_config};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A kube-rs client for `http://127.0.0.1:PORT`: no kubeconfig, no auth,
/// plain HTTP (the crate is built without TLS).
fn kube_client(url: &str) -> kube::Client {
    let config = kube::Config::new(url.parse().unwrap());
    kube::Client::try_from(config).unwrap()
}

/// Builds a typed object from JSON (as a user's manifest would be).
fn typed<K: serde::de::DeserializeOwned>(v: Value) -> K {
    serde_json::from_value(v).unwrap()
}

fn pod(name: &str, app: &str) -> Pod {
    typed(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": name, "labels": { "app": app } },
        "spec": { "containers": [{ "name": "c", "image": "nginx:1.25" }] }
    }))
}

/// The `Status` kube-rs surfaced for a failed call.
#[track_caller]
fn api_error<T: std::fmt::Debug>(r: kube::Result<T>) -> Status {
    match r {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Asserts an upstream-shaped error: code, reason and (when non-empty) the
/// exact message.
#[track_caller]
fn assert_status(e: &Status, code: u16, reason: &str, message: &str) {
    assert_eq!(e.code, code, "{e:?}");
    assert_eq!(e.reason, reason, "{e:?}");
    if !message.is_empty() {
        assert_eq!(e.message, message, "{e:?}");
    }
}

fn names<K: ResourceExt>(items: impl IntoIterator<Item = K>) -> Vec<String> {
    items.into_iter().map(|o| o.name_any()).collect()
}

/// Which managers own `metadata.managedFields`, with their operation.
fn managers(obj: &impl ResourceExt) -> Vec<(String, String)> {
    obj.managed_fields()
        .iter()
        .map(|m| {
            (
                m.manager.clone().unwrap_or_default(),
                m.operation.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// Whether `manager`'s managed fields mention `field` (e.g. `f:owner`).
fn owns(obj: &impl ResourceExt, manager: &str, field: &str) -> bool {
    obj.managed_fields().iter().any(|m| {
        m.manager.as_deref() == Some(manager)
            && m.fields_v1
                .as_ref()
                .is_some_and(|f| f.0.to_string().contains(field))
    })
}

type Events<K> = Pin<Box<dyn Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send>>;

/// The next watcher item; panics when none comes within 20 s.
async fn next_item<K>(events: &mut Events<K>) -> Result<watcher::Event<K>, watcher::Error> {
    tokio::time::timeout(Duration::from_secs(20), events.next())
        .await
        .expect("no watcher event within 20 s")
        .expect("a watcher stream never ends")
}

/// `Init`, `InitApply p`, `InitDone`, `Apply p`, `Delete p`, after checking
/// that every object carries the resourceVersion kube-rs resumes from.
fn summary(e: &watcher::Event<Pod>) -> String {
    let named = |kind: &str, p: &Pod| {
        let rv = p.resource_version().unwrap_or_default();
        assert!(
            rv.parse::<u64>().is_ok(),
            "{kind} {}: resourceVersion {rv:?}",
            p.name_any()
        );
        format!("{kind} {}", p.name_any())
    };
    match e {
        watcher::Event::Init => "Init".into(),
        watcher::Event::InitDone => "InitDone".into(),
        watcher::Event::InitApply(p) => named("InitApply", p),
        watcher::Event::Apply(p) => named("Apply", p),
        watcher::Event::Delete(p) => named("Delete", p),
    }
}

/// Reads the next `want.len()` events; any watcher error fails the test.
async fn expect_events(events: &mut Events<Pod>, want: &[&str]) {
    let mut got = Vec::new();
    for _ in want {
        match next_item(events).await {
            Ok(e) => got.push(summary(&e)),
            Err(e) => panic!("watcher error {e} after {got:?}, expecting {want:?}"),
        }
    }
    assert_eq!(got, want);
}

/// An apiserver on the embedded store in `dir`, listening on a given
/// address: a restart on the same port, which `harness::start` (always a
/// fresh port) cannot do. Retries while the old socket is still closing.
async fn spawn_on(addr: SocketAddr, dir: &std::path::Path) -> apiserver::server::Running {
    let store = storage::SqliteStorage::open(dir).unwrap();
    let mut tries = 0;
    loop {
        match apiserver::server::spawn(addr, Arc::new(store.clone()), test_config()).await {
            Ok(running) => return running,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot listen on {addr} again: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------
// 1. Api::<Pod>
// ---------------------------------------------------------------------------

async fn pods_api(make: Factory) {
    let h = make(test_config()).await;
    let http = &h.client;
    let pods: Api<Pod> = Api::default_namespaced(kube_client(&http.base));
    let pp = PostParams::default();

    // create, and what got stored
    let created = pods.create(&pp, &pod("web-1", "web")).await.unwrap();
    assert_eq!(created.namespace().as_deref(), Some("default"));
    assert!(created.uid().is_some() && created.creation_timestamp().is_some());
    let stored = http.get(&format!("{PODS}/web-1")).await.expect(200);
    assert_eq!(stored["metadata"]["uid"], created.uid().unwrap());
    assert_eq!(
        stored["metadata"]["resourceVersion"],
        created.resource_version().unwrap()
    );
    assert_status(
        &api_error(pods.create(&pp, &pod("web-1", "web")).await),
        409,
        "AlreadyExists",
        r#"pods "web-1" already exists"#,
    );
    for (name, app) in [("web-2", "web"), ("db-1", "db"), ("web-3", "web")] {
        pods.create(&pp, &pod(name, app)).await.unwrap();
    }

    // get, get_opt, NotFound
    assert_eq!(pods.get("web-1").await.unwrap().uid(), created.uid());
    assert!(pods.get_opt("nope").await.unwrap().is_none());
    let missing = api_error(pods.get("nope").await);
    assert_status(&missing, 404, "NotFound", r#"pods "nope" not found"#);

    // Invalid, with the causes kube-rs exposes
    let invalid = api_error(pods.create(&pp, &pod("Bad_Name", "web")).await);
    assert_status(&invalid, 422, "Invalid", "");
    assert!(
        invalid
            .message
            .starts_with(r#"Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name""#),
        "{invalid:?}"
    );

    // list: everything, by label, and in pages of one
    let all = pods.list(&ListParams::default()).await.unwrap();
    assert_eq!(names(all.items), ["db-1", "web-1", "web-2", "web-3"]);
    let list_rv: u64 = all.metadata.resource_version.unwrap().parse().unwrap();
    assert!(list_rv >= created.resource_version().unwrap().parse().unwrap());
    let web = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap();
    assert_eq!(names(web.items), ["web-1", "web-2", "web-3"]);
    let not_web = pods
        .list(&ListParams::default().labels("app!=web"))
        .await
        .unwrap();
    assert_eq!(names(not_web.items), ["db-1"]);
    let mut paged = Vec::new();
    let mut lp = ListParams::default().limit(1);
    loop {
        let page = pods.list(&lp).await.unwrap();
        assert!(page.items.len() <= 1);
        assert!(page.metadata.resource_version.is_some());
        paged.extend(names(page.items));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => lp = ListParams::default().limit(1).continue_token(&token),
            None => break,
        }
    }
    assert_eq!(paged, ["db-1", "web-1", "web-2", "web-3"]);

    // merge patch
    let merged = pods
        .patch(
            "web-1",
            &PatchParams::default(),
            &Patch::Merge(json!({ "metadata": { "labels": { "tier": "frontend" } } })),
        )
        .await
        .unwrap();
    assert_eq!(merged.labels()["tier"], "frontend");
    assert_eq!(
        merged.labels()["app"],
        "web",
        "merge patch keeps other labels"
    );

    // strategic merge patch: containers merge by name, so only the sidecar's
    // image changes; the same body as a merge patch replaces the list (which
    // a pod update may not do)
    let two: Pod = typed(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "two" },
        "spec": { "containers": [
            { "name": "app", "image": "nginx:1.25" },
            { "name": "sidecar", "image": "busybox:1.36", "command": ["sleep", "infinity"] }
        ] }
    }));
    pods.create(&pp, &two).await.unwrap();
    let sidecar =
        json!({ "spec": { "containers": [{ "name": "sidecar", "image": "busybox:1.37" }] } });
    let smp = pods
        .patch("two", &PatchParams::default(), &Patch::Strategic(&sidecar))
        .await
        .unwrap();
    let containers = &smp.spec.as_ref().unwrap().containers;
    assert_eq!(
        containers
            .iter()
            .map(|c| (c.name.as_str(), c.image.as_deref().unwrap()))
            .collect::<Vec<_>>(),
        [("app", "nginx:1.25"), ("sidecar", "busybox:1.37")]
    );
    assert_eq!(
        containers[1].command.as_deref(),
        Some(&["sleep".to_string(), "infinity".to_string()][..])
    );
    let replaced_list = api_error(
        pods.patch("two", &PatchParams::default(), &Patch::Merge(&sidecar))
            .await,
    );
    assert_status(&replaced_list, 422, "Invalid", "");
    let stored = http.get(&format!("{PODS}/two")).await.expect(200);
    assert_eq!(stored["spec"]["containers"][1]["image"], "busybox:1.37");

    // server-side apply: ownership, a conflicting manager, force
    let apply = |owner: &str| {
        Patch::Apply(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": { "name": "web-1", "labels": { "owner": owner } }
        }))
    };
    let applied = pods
        .patch("web-1", &PatchParams::apply("test-manager"), &apply("a"))
        .await
        .unwrap();
    assert_eq!(applied.labels()["owner"], "a");
    assert!(managers(&applied).contains(&("test-manager".into(), "Apply".into())));
    assert!(owns(&applied, "test-manager", "f:owner"));
    let conflict = api_error(
        pods.patch("web-1", &PatchParams::apply("other-manager"), &apply("b"))
            .await,
    );
    assert_status(&conflict, 409, "Conflict", "");
    assert!(
        conflict.message.contains(r#"conflict with "test-manager""#)
            && conflict.message.contains(".metadata.labels.owner"),
        "{conflict:?}"
    );
    assert_eq!(
        http.get(&format!("{PODS}/web-1")).await.expect(200)["metadata"]["labels"]["owner"],
        "a",
        "a conflicting apply changes nothing"
    );
    let forced = pods
        .patch(
            "web-1",
            &PatchParams::apply("other-manager").force(),
            &apply("b"),
        )
        .await
        .unwrap();
    assert_eq!(forced.labels()["owner"], "b");
    assert!(owns(&forced, "other-manager", "f:owner"));
    assert!(
        !owns(&forced, "test-manager", "f:owner"),
        "force takes the field away"
    );
    // re-applying the same thing is a no-op for the winner
    let again = pods
        .patch("web-1", &PatchParams::apply("other-manager"), &apply("b"))
        .await
        .unwrap();
    assert_eq!(again.resource_version(), forced.resource_version());

    // replace with the current resourceVersion, then with a stale one
    let mut current = pods.get("web-1").await.unwrap();
    current
        .annotations_mut()
        .insert("note".into(), "replaced".into());
    let replaced = pods.replace("web-1", &pp, &current).await.unwrap();
    assert_eq!(replaced.annotations()["note"], "replaced");
    assert_ne!(replaced.resource_version(), current.resource_version());
    let stale = api_error(pods.replace("web-1", &pp, &current).await);
    assert_status(
        &stale,
        409,
        "Conflict",
        r#"Operation cannot be fulfilled on pods "web-1": the object has been modified; please apply your changes to the latest version and try again"#,
    );
    let stored = http.get(&format!("{PODS}/web-1")).await.expect(200);
    assert_eq!(stored["metadata"]["annotations"]["note"], "replaced");
    assert_eq!(
        stored["metadata"]["resourceVersion"],
        replaced.resource_version().unwrap()
    );

    // delete: an unbound pod goes at once
    let gone = pods.delete("db-1", &DeleteParams::default()).await.unwrap();
    // upstream answers with the object's last state
    assert_eq!(gone.left().map(|p| p.name_any()).as_deref(), Some("db-1"));
    assert!(pods.get_opt("db-1").await.unwrap().is_none());
    http.get(&format!("{PODS}/db-1")).await.expect_status(
        404,
        "NotFound",
        r#"pods "db-1" not found"#,
    );
    assert_status(
        &api_error(pods.delete("db-1", &DeleteParams::default()).await),
        404,
        "NotFound",
        r#"pods "db-1" not found"#,
    );

    // a pod bound to a node (through the binding subresource, as the
    // scheduler does) is deleted gracefully: the kubelet must stop it first
    let binding: Binding = typed(json!({
        "apiVersion": "v1", "kind": "Binding", "metadata": { "name": "web-2" },
        "target": { "kind": "Node", "name": "node-1" }
    }));
    let bound: Value = pods
        .create_subresource("binding", "web-2", &pp, &binding)
        .await
        .unwrap();
    assert_eq!(bound["kind"], "Status", "{bound}");
    assert_eq!(bound["status"], "Success", "{bound}");
    assert_eq!(
        pods.get("web-2")
            .await
            .unwrap()
            .spec
            .unwrap()
            .node_name
            .as_deref(),
        Some("node-1")
    );
    assert_status(
        &api_error(
            pods.create_subresource::<_, Value>("binding", "web-2", &pp, &binding)
                .await,
        ),
        409,
        "Conflict",
        "",
    );
    let deleting = pods
        .delete("web-2", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .expect("a bound pod is not deleted at once");
    assert!(deleting.metadata.deletion_timestamp.is_some());
    assert_eq!(deleting.metadata.deletion_grace_period_seconds, Some(30));
    let stored = http.get(&format!("{PODS}/web-2")).await.expect(200);
    assert!(stored["metadata"]["deletionTimestamp"].is_string());
    // the kubelet's final delete (grace 0) removes it
    pods.delete("web-2", &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    assert!(pods.get_opt("web-2").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_api_sqlite() {
    pods_api(harness::sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_api_etcd() {
    pods_api(harness::etcd).await;
}

// ---------------------------------------------------------------------------
// 2. Other kinds and subresources
// ---------------------------------------------------------------------------

fn deployment(name: &str) -> Deployment {
    typed(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": name },
        "spec": {
            "selector": { "matchLabels": { "app": name } },
            "template": {
                "metadata": { "labels": { "app": name } },
                "spec": { "containers": [{ "name": "c", "image": "nginx:1.25" }] }
            }
        }
    }))
}

async fn other_kinds(make: Factory) {
    let h = make(test_config()).await;
    let http = &h.client;
    let client = kube_client(&http.base);
    let pp = PostParams::default();

    // Deployment, its scale and status subresources
    let deployments: Api<Deployment> = Api::default_namespaced(client.clone());
    let created = deployments.create(&pp, &deployment("web")).await.unwrap();
    assert_eq!(created.spec.replicas, Some(1));
    let scale = deployments.get_scale("web").await.unwrap();
    assert_eq!(scale.spec.as_ref().unwrap().replicas, Some(1));
    assert_eq!(
        scale.status.as_ref().unwrap().selector.as_deref(),
        Some("app=web")
    );
    let scaled = deployments
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "replicas": 3 } })),
        )
        .await
        .unwrap();
    assert_eq!(scaled.spec.unwrap().replicas, Some(3));
    assert_eq!(
        deployments
            .get_scale("web")
            .await
            .unwrap()
            .spec
            .unwrap()
            .replicas,
        Some(3)
    );
    let stored = http
        .get("/apis/apps/v1/namespaces/default/deployments/web")
        .await
        .expect(200);
    assert_eq!(stored["spec"]["replicas"], 3);
    assert_eq!(stored["metadata"]["generation"], 2);
    // a status patch changes status only (spec in it is ignored)
    let status = deployments
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({
                "spec": { "replicas": 9 },
                "status": { "observedGeneration": 2, "replicas": 3, "readyReplicas": 2 }
            })),
        )
        .await
        .unwrap();
    let s = status.status.as_ref().unwrap();
    assert_eq!((s.replicas, s.ready_replicas), (Some(3), Some(2)));
    assert_eq!(status.spec.replicas, Some(3));
    let got = deployments.get_status("web").await.unwrap();
    assert_eq!(got.status.unwrap().observed_generation, Some(2));
    // and a spec patch does not touch status
    let patched = deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(
                json!({ "status": { "readyReplicas": 0 }, "metadata": { "labels": { "x": "y" } } }),
            ),
        )
        .await
        .unwrap();
    assert_eq!(patched.status.unwrap().ready_replicas, Some(2));
    let stored = http
        .get("/apis/apps/v1/namespaces/default/deployments/web")
        .await
        .expect(200);
    assert_eq!(stored["status"]["readyReplicas"], 2);
    assert_eq!(stored["spec"]["replicas"], 3);

    // ConfigMap: apply creates when absent, and prunes what it stops applying
    let configmaps: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let ssa = PatchParams::apply("test-manager");
    let cm = |data: Value| {
        Patch::Apply(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": "settings" }, "data": data
        }))
    };
    let first = configmaps
        .patch("settings", &ssa, &cm(json!({ "a": "1", "b": "2" })))
        .await
        .unwrap();
    assert_eq!(managers(&first), [("test-manager".into(), "Apply".into())]);
    let second = configmaps
        .patch("settings", &ssa, &cm(json!({ "b": "3" })))
        .await
        .unwrap();
    assert_eq!(
        second.data.unwrap(),
        BTreeMap::from([("b".to_string(), "3".to_string())])
    );
    let stored = http
        .get(&format!("{CONFIGMAPS}/settings"))
        .await
        .expect(200);
    assert_eq!(stored["data"], json!({ "b": "3" }));
    assert_eq!(
        names(configmaps.list(&ListParams::default()).await.unwrap()),
        ["settings"]
    );
    configmaps
        .delete("settings", &DeleteParams::default())
        .await
        .unwrap();
    assert!(configmaps.get_opt("settings").await.unwrap().is_none());

    // Namespace (cluster-scoped), and objects inside it
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = typed(
        json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "kube-rs" } }),
    );
    let created = namespaces.create(&pp, &ns).await.unwrap();
    assert!(created.namespace().is_none());
    assert_eq!(created.status.unwrap().phase.as_deref(), Some("Active"));
    let listed = names(namespaces.list(&ListParams::default()).await.unwrap());
    for want in [
        "default",
        "kube-node-lease",
        "kube-public",
        "kube-rs",
        "kube-system",
    ] {
        assert!(listed.iter().any(|n| n == want), "{want} in {listed:?}");
    }
    let inside: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-rs");
    inside
        .create(&pp, &typed(harness::configmap("inside")))
        .await
        .unwrap();
    http.get("/api/v1/namespaces/kube-rs/configmaps/inside")
        .await
        .expect(200);
    let deleting = namespaces
        .delete("kube-rs", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .expect("a namespace is finalized, not deleted at once");
    assert_eq!(
        deleting.status.unwrap().phase.as_deref(),
        Some("Terminating")
    );
    let late = api_error(inside.create(&pp, &typed(harness::configmap("late"))).await);
    assert_status(&late, 403, "Forbidden", "");

    // Node (cluster-scoped): registration with status, then a status patch
    // merging conditions by type, as a kubelet's heartbeat does
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = typed(json!({
        "apiVersion": "v1", "kind": "Node", "metadata": { "name": "node-1" },
        "status": {
            "capacity": { "cpu": "4", "pods": "110" },
            "conditions": [
                { "type": "Ready", "status": "True" },
                { "type": "MemoryPressure", "status": "False" }
            ]
        }
    }));
    let created = nodes.create(&pp, &node).await.unwrap();
    assert!(created.namespace().is_none());
    let heartbeat = nodes
        .patch_status(
            "node-1",
            &PatchParams::default(),
            &Patch::Strategic(
                json!({ "status": { "conditions": [{ "type": "Ready", "status": "False" }] } }),
            ),
        )
        .await
        .unwrap();
    let conditions: Vec<(String, String)> = heartbeat
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .map(|c| (c.type_, c.status))
        .collect();
    assert_eq!(
        conditions,
        [
            ("Ready".to_string(), "False".to_string()),
            ("MemoryPressure".to_string(), "False".to_string())
        ]
    );
    let stored = http.get("/api/v1/nodes/node-1").await.expect(200);
    assert_eq!(stored["status"]["conditions"][0]["status"], "False");
    assert_eq!(stored["status"]["capacity"]["cpu"], "4");
    assert_eq!(
        names(nodes.list(&ListParams::default()).await.unwrap()),
        ["node-1"]
    );
    nodes
        .delete("node-1", &DeleteParams::default())
        .await
        .unwrap();
    assert!(nodes.get_opt("node-1").await.unwrap().is_none());

    // Lease: what leader election does with it (create, then replace with
    // the version it read; a stale holder loses)
    let leases: Api<Lease> = Api::namespaced(client, "kube-system");
    let lease: Lease = typed(json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": { "name": "kube-scheduler" },
        "spec": { "holderIdentity": "a", "leaseDurationSeconds": 15 }
    }));
    let held = leases.create(&pp, &lease).await.unwrap();
    let mut renew = held.clone();
    renew.spec.as_mut().unwrap().holder_identity = Some("b".into());
    leases.replace("kube-scheduler", &pp, &renew).await.unwrap();
    let lost = api_error(leases.replace("kube-scheduler", &pp, &held).await);
    assert_status(&lost, 409, "Conflict", "");
    let stored = http
        .get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler")
        .await
        .expect(200);
    assert_eq!(stored["spec"]["holderIdentity"], "b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_kinds_and_subresources_sqlite() {
    other_kinds(harness::sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_kinds_and_subresources_etcd() {
    other_kinds(harness::etcd).await;
}

// ---------------------------------------------------------------------------
// 3. Discovery
// ---------------------------------------------------------------------------

/// What kube-rs learned about our groups, by either discovery path.
fn check_discovery(d: &Discovery, how: &str) {
    for group in ["", "apps", "coordination.k8s.io"] {
        assert!(d.has_group(group), "{how}: group {group:?}");
    }
    let all_verbs = [
        verbs::CREATE,
        verbs::GET,
        verbs::LIST,
        verbs::WATCH,
        verbs::UPDATE,
        verbs::PATCH,
        verbs::DELETE,
        verbs::DELETE_COLLECTION,
    ];
    let cases = [
        (
            "",
            "v1",
            "Pod",
            "pods",
            Scope::Namespaced,
            &["status", "binding"][..],
        ),
        (
            "apps",
            "v1",
            "Deployment",
            "deployments",
            Scope::Namespaced,
            &["scale", "status"][..],
        ),
        (
            "coordination.k8s.io",
            "v1",
            "Lease",
            "leases",
            Scope::Namespaced,
            &[][..],
        ),
        (
            "",
            "v1",
            "ConfigMap",
            "configmaps",
            Scope::Namespaced,
            &[][..],
        ),
        (
            "",
            "v1",
            "Namespace",
            "namespaces",
            Scope::Cluster,
            &["status", "finalize"][..],
        ),
        ("", "v1", "Node", "nodes", Scope::Cluster, &["status"][..]),
    ];
    for (group, version, kind, plural, scope, subresources) in cases {
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (ar, caps) = d
            .resolve_gvk(&gvk)
            .unwrap_or_else(|| panic!("{how}: {gvk:?} not discovered"));
        assert_eq!(ar.plural, plural, "{how}: {kind}");
        assert_eq!(ar.kind, kind, "{how}");
        assert_eq!(ar.group, group, "{how}: {kind}");
        assert_eq!(caps.scope, scope, "{how}: {kind}");
        for verb in all_verbs {
            assert!(
                caps.supports_operation(verb),
                "{how}: {kind} lacks {verb}: {:?}",
                caps.operations
            );
        }
        let subs: Vec<&str> = caps
            .subresources
            .iter()
            .map(|(ar, _)| ar.plural.as_str())
            .collect();
        for sub in subresources {
            assert!(subs.contains(sub), "{how}: {kind} lacks {sub}: {subs:?}");
        }
    }
    let apps = d.get("apps").unwrap();
    assert_eq!(apps.preferred_version_or_latest(), "v1");
    let (ar, _) = apps.recommended_kind("Deployment").unwrap();
    assert_eq!(ar.api_version, "apps/v1");
}

async fn discovery_finds_our_groups(make: Factory) {
    let h = make(test_config()).await;
    let client = kube_client(&h.client.base);

    let classic = Discovery::new(client.clone()).run().await.unwrap();
    check_discovery(&classic, "run");
    let aggregated = Discovery::new(client.clone())
        .run_aggregated()
        .await
        .unwrap();
    check_discovery(&aggregated, "run_aggregated");
    let mut classic_groups: Vec<&str> = classic.groups().map(|g| g.name()).collect();
    let mut aggregated_groups: Vec<&str> = aggregated.groups().map(|g| g.name()).collect();
    classic_groups.sort_unstable();
    aggregated_groups.sort_unstable();
    assert_eq!(classic_groups, aggregated_groups);

    // the one-shot helpers
    let lease = GroupVersionKind::gvk("coordination.k8s.io", "v1", "Lease");
    let (ar, caps) = discovery::pinned_kind(&client, &lease).await.unwrap();
    assert_eq!(
        (ar.plural.as_str(), caps.scope),
        ("leases", Scope::Namespaced)
    );
    let apps = discovery::group(&client, "apps").await.unwrap();
    assert_eq!(apps.preferred_version(), Some("v1"));
    assert!(apps.recommended_kind("ReplicaSet").is_some());

    // a discovered resource drives a dynamic Api
    h.client.post(PODS, &harness::pod("dyn")).await.expect(201);
    let (ar, _) = classic
        .resolve_gvk(&GroupVersionKind::gvk("", "v1", "Pod"))
        .unwrap();
    let dynamic: Api<DynamicObject> = Api::namespaced_with(client, "default", &ar);
    let listed = dynamic.list(&ListParams::default()).await.unwrap();
    assert_eq!(names(listed.items), ["dyn"]);
    let got = dynamic.get("dyn").await.unwrap();
    assert_eq!(got.types.unwrap().kind, "Pod");
    assert_eq!(got.data["spec"]["containers"][0]["image"], "nginx:1.25");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_finds_our_groups_kinds_scopes_and_verbs() {
    discovery_finds_our_groups(harness::sqlite).await;
}

// ---------------------------------------------------------------------------
// 4. watcher and reflector
// ---------------------------------------------------------------------------

/// Creates, updates and deletes arrive in order, each with its
/// resourceVersion; a reflector's store follows along.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_sees_changes_in_order_and_a_reflector_follows() {
    let h = harness::sqlite(test_config()).await;
    let client = kube_client(&h.client.base);
    let pods: Api<Pod> = Api::default_namespaced(client);
    let pp = PostParams::default();
    pods.create(&pp, &pod("old", "web")).await.unwrap();

    let mut events: Events<Pod> = watcher(pods.clone(), watcher::Config::default()).boxed();
    expect_events(&mut events, &["Init", "InitApply old", "InitDone"]).await;
    pods.create(&pp, &pod("a", "web")).await.unwrap();
    pods.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": { "labels": { "v": "2" } } })),
    )
    .await
    .unwrap();
    pods.delete("a", &DeleteParams::default()).await.unwrap();
    pods.delete("old", &DeleteParams::default()).await.unwrap();
    expect_events(
        &mut events,
        &["Apply a", "Apply a", "Delete a", "Delete old"],
    )
    .await;

    // a label-selected watcher turns a pod leaving the selection into Delete
    let mut web: Events<Pod> =
        watcher(pods.clone(), watcher::Config::default().labels("app=web")).boxed();
    expect_events(&mut web, &["Init", "InitDone"]).await;
    pods.create(&pp, &pod("b", "web")).await.unwrap();
    pods.patch(
        "b",
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": { "labels": { "app": "db" } } })),
    )
    .await
    .unwrap();
    expect_events(&mut web, &["Apply b", "Delete b"]).await;

    // a reflector: the store holds what the watch says
    let (reader, writer) = reflector::store::<Pod>();
    let stream = reflector::reflector(writer, watcher(pods.clone(), watcher::Config::default()))
        .applied_objects()
        .boxed();
    let drain = tokio::spawn(stream.for_each(|_| async {}));
    tokio::time::timeout(Duration::from_secs(10), reader.wait_until_ready())
        .await
        .unwrap()
        .unwrap();
    let key = ObjectRef::<Pod>::new("b").within("default");
    assert_eq!(reader.get(&key).unwrap().labels()["app"], "db");
    pods.create(&pp, &pod("c", "web")).await.unwrap();
    pods.delete("b", &DeleteParams::default()).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut have = names(reader.state().iter().map(|p| (**p).clone()));
        have.sort();
        if have == ["c"] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "store holds {have:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drain.abort();
}

/// A watch that ends (timeoutSeconds=1) is resumed by kube-rs from the last
/// resourceVersion it saw. With a watch-cache history of 3 events, a resume
/// after 5 changes is too old: the server answers with an in-stream
/// `410 Expired` and kube-rs relists (`Init` … `InitDone`), then streams on.
async fn watcher_relists_after_410(make: Factory) {
    let mut config = test_config();
    config.cacher.history = 3;
    let h = make(config).await;
    let pods: Api<Pod> = Api::default_namespaced(kube_client(&h.client.base));
    let pp = PostParams::default();
    pods.create(&pp, &pod("p0", "web")).await.unwrap();

    let mut events: Events<Pod> = watcher(pods.clone(), watcher::Config::default().timeout(1))
        .default_backoff()
        .boxed();
    expect_events(&mut events, &["Init", "InitApply p0", "InitDone"]).await;
    pods.create(&pp, &pod("p1", "web")).await.unwrap();
    expect_events(&mut events, &["Apply p1"]).await;

    // Stop reading: the server ends the watch after 1 s (its last bookmark
    // waits, unread, in the connection). Meanwhile, more changes than the
    // history holds.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for name in ["p2", "p3", "p4"] {
        pods.create(&pp, &pod(name, "web")).await.unwrap();
    }
    pods.patch(
        "p2",
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": { "labels": { "v": "2" } } })),
    )
    .await
    .unwrap();
    pods.delete("p3", &DeleteParams::default()).await.unwrap();

    // Reading again: the stream ends, the resume gets 410, kube-rs relists.
    match next_item(&mut events).await {
        Err(watcher::Error::WatchError(status)) => {
            assert_eq!(
                (status.code, status.reason.as_str()),
                (410, "Expired"),
                "{status:?}"
            );
            assert!(
                status.message.starts_with("too old resource version"),
                "{status:?}"
            );
        }
        other => panic!(
            "expected an in-stream 410, got {:?}",
            other.map(|e| summary(&e))
        ),
    }
    expect_events(
        &mut events,
        &[
            "Init",
            "InitApply p0",
            "InitApply p1",
            "InitApply p2",
            "InitApply p4",
            "InitDone",
        ],
    )
    .await;
    // and it streams on, across further 1 s re-watches
    pods.create(&pp, &pod("p5", "web")).await.unwrap();
    expect_events(&mut events, &["Apply p5"]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    pods.delete("p5", &DeleteParams::default()).await.unwrap();
    expect_events(&mut events, &["Delete p5"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_relists_after_an_in_stream_410_sqlite() {
    watcher_relists_after_410(harness::sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_relists_after_an_in_stream_410_etcd() {
    watcher_relists_after_410(harness::etcd).await;
}

/// A compaction between two pages of the watcher's initial list expires its
/// continue token (410 on the list): kube-rs starts the list over, and the
/// watch that follows works on the compacted storage.
async fn watcher_lists_again_after_a_compaction(make: Factory) {
    let h = make(test_config()).await;
    let pods: Api<Pod> = Api::default_namespaced(kube_client(&h.client.base));
    let pp = PostParams::default();
    for name in ["c0", "c1", "c2"] {
        pods.create(&pp, &pod(name, "web")).await.unwrap();
    }
    let mut events: Events<Pod> = watcher(pods.clone(), watcher::Config::default().page_size(1))
        .default_backoff()
        .boxed();
    // the first page is read…
    expect_events(&mut events, &["Init", "InitApply c0"]).await;
    // …then history goes
    h.client
        .post(CONFIGMAPS, &harness::configmap("bump"))
        .await
        .expect(201);
    let now = h.storage.current_revision().await.unwrap();
    h.storage.compact(now).await.unwrap();
    match next_item(&mut events).await {
        Err(watcher::Error::InitialListFailed(kube::Error::Api(status))) => {
            assert_eq!(
                (status.code, status.reason.as_str()),
                (410, "Expired"),
                "{status:?}"
            );
        }
        other => panic!("expected a 410 list, got {:?}", other.map(|e| summary(&e))),
    }
    expect_events(
        &mut events,
        &[
            "Init",
            "InitApply c0",
            "InitApply c1",
            "InitApply c2",
            "InitDone",
        ],
    )
    .await;
    pods.delete("c1", &DeleteParams::default()).await.unwrap();
    expect_events(&mut events, &["Delete c1"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_lists_again_after_a_compaction_sqlite() {
    watcher_lists_again_after_a_compaction(harness::sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_lists_again_after_a_compaction_etcd() {
    watcher_lists_again_after_a_compaction(harness::etcd).await;
}

/// The apiserver stops and a new one starts on the same data and port: the
/// watcher, polled all along with kube-rs's default backoff, rides out the
/// failed reconnects and then sees what changes after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_survives_an_apiserver_restart() {
    test_support::init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let store = storage::SqliteStorage::open(dir.path()).unwrap();
    // `()` as keep: the data directory must outlive this first server.
    let h = harness::start(Arc::new(store), test_config(), Box::new(())).await;
    let addr = h.server.addr;
    let pods: Api<Pod> = Api::default_namespaced(kube_client(&h.server.url()));
    let pp = PostParams::default();
    pods.create(&pp, &pod("before", "web")).await.unwrap();

    // The default watch (290 s): only the server going away ends it.
    let stream = watcher(pods.clone(), watcher::Config::default()).default_backoff();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let pump = tokio::spawn(stream.for_each(move |item| {
        let _ = tx.send(item.map(|e| summary(&e)).map_err(|e| e.to_string()));
        async {}
    }));
    for want in ["Init", "InitApply before", "InitDone"] {
        assert_eq!(recv(&mut rx).await.unwrap(), want);
    }
    pods.create(&pp, &pod("during", "web")).await.unwrap();
    assert_eq!(recv(&mut rx).await.unwrap(), "Apply during");

    let Harness {
        server, storage, ..
    } = h;
    server.stop().await;
    drop(storage);
    // Down for a while: the watcher's reconnects fail meanwhile.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let server = spawn_on(addr, dir.path()).await;
    let http = harness::Client::new(server.url());
    http.post(PODS, &harness::pod("after")).await.expect(201);

    // Errors while the server was down, then either a resumed watch or (if
    // the new watch cache does not reach back that far) a relist; either
    // way the pod created after the restart arrives.
    let mut seen = Vec::new();
    let mut errors = Vec::new();
    let arrived = |seen: &[String]| {
        let resumed = seen.iter().any(|e| e == "Apply after");
        let relisted = seen.last().is_some_and(|e| e == "InitDone")
            && seen.iter().any(|e| e == "InitApply after");
        resumed || relisted
    };
    while !arrived(&seen) {
        match recv(&mut rx).await {
            Ok(e) => seen.push(e),
            Err(e) => errors.push(e),
        }
    }
    assert!(
        !errors.is_empty(),
        "the watcher noticed the server was gone (saw {seen:?})"
    );
    assert!(
        errors
            .iter()
            .all(|e| e.starts_with("failed to start watching object")
                || e.starts_with("failed to perform initial object list")
                || e.contains("too old resource version")),
        "{errors:?}"
    );
    assert!(!seen.iter().any(|e| e.starts_with("Delete")), "{seen:?}");
    // and it streams on from the new server
    http.delete(&format!("{PODS}/during")).await.expect(200);
    assert_eq!(recv(&mut rx).await.unwrap(), "Delete during");
    pump.abort();
    server.stop().await;
}

type Item = Result<String, String>;

async fn recv(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Item>) -> Item {
    tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("no watcher item within 30 s")
        .expect("the watcher task ended")
}
