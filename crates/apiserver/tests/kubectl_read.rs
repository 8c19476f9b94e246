//! The read side of kubectl against our apiserver, with the real kubectl
//! binaries: discovery (`api-resources`, `api-versions`, `version`,
//! `cluster-info`), `get` with server-side printing and every output format,
//! watches (`get -w`, `--watch-only`), `describe` with events, and `wait`.
//!
//! The core (get, get -o wide, api-resources, describe pod) runs with every
//! installed kubectl, because 1.27-1.29 and 1.30+ read different
//! aggregated discovery versions (`v2beta1` / `v2`). Also here: the HTTP
//! contract behind them (Tables, `includeObject`, `PartialObjectMetadata`,
//! `406 NotAcceptable`).

#![allow(clippy::unwrap_used)]

#[allow(dead_code, unused_imports)]
mod suite;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use suite::harness::{self, Client, Harness, PODS, bind, pod, test_config};
use suite::kubectl::{Kubectl, versions};
use tokio::io::AsyncReadExt;

/// What kubectl sends for `get`.
const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
/// The machine's default kubectl.
const DEFAULT: &str = "1.32";

// ---------------------------------------------------------------------------
// helpers

/// A request with an `Accept` header; the body as JSON (or a string).
async fn request(
    base: &str,
    method: reqwest::Method,
    path: &str,
    accept: &str,
    body: Option<&Value>,
) -> (u16, String, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{base}{path}"));
    if !accept.is_empty() {
        req = req.header("Accept", accept);
    }
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = resp.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, ct, body)
}

async fn get(base: &str, path: &str, accept: &str) -> (u16, String, Value) {
    request(base, reqwest::Method::GET, path, accept, None).await
}

/// The rows of kubectl's table output: cells are separated by at least
/// two spaces (kubectl pads columns with three).
fn rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// The row whose first cell is `first`.
#[track_caller]
fn row<'a>(out: &'a [Vec<String>], first: &str) -> &'a [String] {
    out.iter()
        .find(|r| r.first().is_some_and(|c| c == first))
        .unwrap_or_else(|| panic!("no row {first} in {out:?}"))
}

/// Text without ANSI color sequences (`cluster-info` colors its output).
fn strip_colors(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ ... final byte in @..~
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) && c != '[' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A JSON array's elements.
#[track_caller]
fn arr(v: &Value) -> &[Value] {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}"))
}

/// An AGE cell of something created moments ago.
#[track_caller]
fn assert_young(age: &str) {
    let secs = age.strip_suffix('s').and_then(|n| n.parse::<u32>().ok());
    assert!(secs.is_some_and(|s| s < 120), "age {age:?}");
}

/// kubectl running in the background, its output collected as it comes.
struct Background {
    _child: tokio::process::Child,
    out: Arc<Mutex<String>>,
}

impl Background {
    fn spawn(k: &Kubectl, args: &[&str]) -> Background {
        let mut child = tokio::process::Command::new(&k.binary)
            .arg(format!("--kubeconfig={}", k.kubeconfig().display()))
            .arg(format!(
                "--cache-dir={}",
                k.scratch().join("cache").display()
            ))
            .args(args)
            .env("HOME", k.scratch())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let out = Arc::new(Mutex::new(String::new()));
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let out = out.clone();
            tokio::spawn(async move {
                let mut pipe = pipe;
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    out.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        Background { _child: child, out }
    }

    fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Waits until the output satisfies `done`, and returns it.
    async fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            // Whole lines only: kubectl may be half-way through writing one.
            let mut out = self.output();
            out.truncate(out.rfind('\n').map_or(0, |at| at + 1));
            if done(&out) {
                return out;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; output:\n{out}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A pod the way a kubelet reports it running: ready, with an IP.
async fn run_pod(c: &Client, name: &str, node: &str, ip: &str) {
    c.post(PODS, &pod(name)).await.expect(201);
    bind(c, "default", name, node).await.expect(201);
    c.merge_patch(
        &format!("{PODS}/{name}/status"),
        &json!({"status": {
            "phase": "Running",
            "hostIP": "10.0.0.1",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "conditions": [{"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "True"}],
            "containerStatuses": [{"name": "c", "ready": true, "restartCount": 0, "image": "nginx:1.25", "imageID": "",
                                   "started": true, "state": {"running": {"startedAt": "2024-01-01T00:00:00Z"}}}],
        }}),
    )
    .await
    .expect(200);
}

async fn node(c: &Client, name: &str) {
    c.post(
        "/api/v1/nodes",
        &json!({"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": {"node-role.kubernetes.io/worker": ""}}}),
    )
    .await
    .expect(201);
    c.merge_patch(
        &format!("/api/v1/nodes/{name}/status"),
        &json!({"status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
                            "lastHeartbeatTime": "2024-01-01T00:00:00Z", "lastTransitionTime": "2024-01-01T00:00:00Z"}],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": name}],
            "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian GNU/Linux 12", "kernelVersion": "6.1.0",
                         "containerRuntimeVersion": "containerd://1.7.0", "machineID": "", "systemUUID": "", "bootID": "",
                         "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64"},
        }}),
    )
    .await
    .expect(200);
}

/// A core/v1 Event about an object, as a component records it.
async fn event(c: &Client, ns: &str, name: &str, involved: &Value, reason: &str, message: &str) {
    let meta = &involved["metadata"];
    c.post(
        &format!("/api/v1/namespaces/{ns}/events"),
        &json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
                "involvedObject": {"kind": involved["kind"], "apiVersion": "v1", "name": meta["name"],
                                   "namespace": meta["namespace"], "uid": meta["uid"]},
                "reason": reason, "message": message, "type": "Normal",
                "source": {"component": "test"}, "count": 1,
                "firstTimestamp": "2024-01-01T00:00:00Z", "lastTimestamp": "2024-01-01T00:00:00Z"}),
    )
    .await
    .expect(201);
}

/// The objects the core scenario reads: a running pod with an event, a
/// pending pod, a node.
async fn seed(c: &Client) {
    node(c, "node-1").await;
    run_pod(c, "web", "node-1", "10.1.0.5").await;
    c.post(PODS, &pod("queued")).await.expect(201);
    let web = c.get(&format!("{PODS}/web")).await.expect(200);
    event(
        c,
        "default",
        "web.1",
        &web,
        "Scheduled",
        "Successfully assigned default/web to node-1",
    )
    .await;
}

// ---------------------------------------------------------------------------
// the core, against every kubectl version

async fn core_reads(h: &Harness, versions: &[String]) {
    seed(&h.client).await;
    let url = h.server.url();
    for v in versions {
        let k = Kubectl::new(&url, v);

        // Aggregated discovery: two requests, no per group-version fetches.
        let run = k.run(&["get", "pods", "-v=6"]).await;
        let out = rows(run.ok());
        assert_eq!(
            out[0],
            ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
            "{v}"
        );
        assert!(
            run.stderr.contains("/api?timeout=") && run.stderr.contains("/apis?timeout="),
            "{v}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("/api/v1?timeout=")
                && !run.stderr.contains("/apis/apps/v1?timeout="),
            "{v} fell back to legacy discovery: {}",
            run.stderr
        );
        let web = row(&out, "web");
        assert_eq!(web[..4], ["web", "1/1", "Running", "0"], "{v}");
        assert_young(&web[4]);
        assert_eq!(
            row(&out, "queued")[..4],
            ["queued", "0/1", "Pending", "0"],
            "{v}"
        );

        let out = rows(k.run(&["get", "pods", "-o", "wide"]).await.ok());
        assert_eq!(
            out[0],
            [
                "NAME",
                "READY",
                "STATUS",
                "RESTARTS",
                "AGE",
                "IP",
                "NODE",
                "NOMINATED NODE",
                "READINESS GATES"
            ],
            "{v}"
        );
        let web = row(&out, "web");
        assert_eq!(web[5..], ["10.1.0.5", "node-1", "<none>", "<none>"], "{v}");
        assert_eq!(
            row(&out, "queued")[5..],
            ["<none>", "<none>", "<none>", "<none>"],
            "{v}"
        );

        let out = rows(k.run(&["api-resources"]).await.ok());
        assert_eq!(
            out[0],
            ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"],
            "{v}"
        );
        assert_eq!(
            row(&out, "pods"),
            ["pods", "po", "v1", "true", "Pod"],
            "{v}"
        );
        assert_eq!(
            row(&out, "deployments"),
            ["deployments", "deploy", "apps/v1", "true", "Deployment"],
            "{v}"
        );
        assert_eq!(
            row(&out, "nodes"),
            ["nodes", "no", "v1", "false", "Node"],
            "{v}"
        );
        assert_eq!(
            row(&out, "leases"),
            ["leases", "coordination.k8s.io/v1", "true", "Lease"],
            "{v}"
        );
        assert_eq!(
            row(&out, "endpointslices"),
            [
                "endpointslices",
                "discovery.k8s.io/v1",
                "true",
                "EndpointSlice"
            ],
            "{v}"
        );
        // Subresources are not resources of their own.
        assert!(!out.iter().any(|r| r[0].contains('/')), "{v}: {out:?}");

        let out = rows(k.run(&["api-resources", "-o", "wide"]).await.ok());
        assert_eq!(out[0][5..], ["VERBS", "CATEGORIES"], "{v}");
        let pods = row(&out, "pods");
        // kubectl 1.27 separates verbs with commas, later ones with spaces
        assert_eq!(
            [pods[5].replace(',', " "), pods[6].clone()],
            [
                "create delete deletecollection get list patch update watch",
                "all"
            ],
            "{v}"
        );
        let cms = row(&out, "configmaps");
        assert_eq!(cms.len(), 6, "{v}: no categories: {cms:?}");

        let out = k.run(&["describe", "pod", "web"]).await;
        let text = out.ok();
        for expected in [
            "Name:",
            "web",
            "Namespace:",
            "default",
            "Status:",
            "Running",
            "IP:",
            "10.1.0.5",
            "Node:",
            "node-1",
            "Containers:",
            "nginx:1.25",
            "Events:",
            "Scheduled",
            "Successfully assigned default/web to node-1",
        ] {
            assert!(
                text.contains(expected),
                "{v}: describe lacks {expected:?}:\n{text}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_reads_with_every_kubectl_version() {
    let h = harness::sqlite(test_config()).await;
    core_reads(&h, &versions()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_reads_on_etcd() {
    let h = harness::etcd(test_config()).await;
    // The oldest (aggregated v2beta1) and the newest (v2).
    let all = versions();
    let ends: Vec<String> = [all.first(), all.last()]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    core_reads(&h, &ends).await;
}

// ---------------------------------------------------------------------------
// get: kinds, output formats, selectors

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_prints_every_kind_and_output_format() {
    let h = harness::sqlite(test_config()).await;
    let c = &h.client;
    seed(c).await;
    run_pod(c, "api", "node-1", "10.1.0.6").await;
    c.merge_patch(
        &format!("{PODS}/api"),
        &json!({"metadata": {"labels": {"app": "api", "tier": "backend"}}}),
    )
    .await
    .expect(200);
    c.post(
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}),
    )
    .await
    .expect(201);
    c.post("/api/v1/namespaces/other/pods", &pod("elsewhere"))
        .await
        .expect(201);
    c.post(
        "/api/v1/namespaces/default/services",
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"clusterIP": "10.96.0.10", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}}),
    )
    .await
    .expect(201);
    c.post(
        "/apis/apps/v1/namespaces/default/deployments",
        &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                         "template": {"metadata": {"labels": {"app": "web"}},
                                      "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}}),
    )
    .await
    .expect(201);
    c.post(
        "/api/v1/namespaces/default/configmaps",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "1", "b": "2"}}),
    )
    .await
    .expect(201);
    c.post(
        "/api/v1/namespaces/default/secrets",
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "token"}, "type": "Opaque", "data": {"t": "c2VjcmV0"}}),
    )
    .await
    .expect(201);
    c.post(
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
        &json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "node-1"},
                "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40}}),
    )
    .await
    .expect(201);

    let k = Kubectl::new(&h.server.url(), DEFAULT);
    let get = |args: &'static [&'static str]| {
        let k = &k;
        async move { k.run(args).await.ok().to_string() }
    };

    let out = rows(&get(&["get", "nodes", "-o", "wide"]).await);
    assert_eq!(
        out[0],
        [
            "NAME",
            "STATUS",
            "ROLES",
            "AGE",
            "VERSION",
            "INTERNAL-IP",
            "EXTERNAL-IP",
            "OS-IMAGE",
            "KERNEL-VERSION",
            "CONTAINER-RUNTIME"
        ]
    );
    let n = row(&out, "node-1");
    assert_eq!(n[..3], ["node-1", "Ready", "worker"]);
    assert_eq!(
        n[4..],
        [
            "v1.32.0",
            "10.0.0.1",
            "<none>",
            "Debian GNU/Linux 12",
            "6.1.0",
            "containerd://1.7.0"
        ]
    );
    // cordoned
    c.merge_patch(
        "/api/v1/nodes/node-1",
        &json!({"spec": {"unschedulable": true}}),
    )
    .await
    .expect(200);
    let out = rows(&get(&["get", "no"]).await);
    assert_eq!(row(&out, "node-1")[1], "Ready,SchedulingDisabled");

    let out = rows(&get(&["get", "svc", "-o", "wide"]).await);
    assert_eq!(
        out[0],
        [
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
            "SELECTOR"
        ]
    );
    let svc = row(&out, "web");
    let stored = c
        .get("/api/v1/namespaces/default/services/web")
        .await
        .expect(200);
    assert_eq!(
        svc[1..5],
        [
            "ClusterIP",
            stored["spec"]["clusterIP"].as_str().unwrap(),
            "<none>",
            "80/TCP"
        ]
    );
    assert_eq!(svc[6], "app=web");

    let out = rows(&get(&["get", "deploy", "-o", "wide"]).await);
    assert_eq!(
        out[0],
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    let d = row(&out, "web");
    assert_eq!(d[..4], ["web", "0/2", "0", "0"]);
    assert_eq!(d[5..], ["c", "nginx:1.25", "app=web"]);

    let out = rows(&get(&["get", "cm,secrets"]).await);
    assert_eq!(out[0], ["NAME", "DATA", "AGE"]);
    assert_eq!(row(&out, "configmap/settings")[1], "2");
    assert!(
        out.iter().any(|r| r == &["NAME", "TYPE", "DATA", "AGE"]),
        "{out:?}"
    );
    assert_eq!(row(&out, "secret/token")[1..3], ["Opaque", "1"]);

    let out = rows(&get(&["get", "leases", "-n", "kube-node-lease"]).await);
    assert_eq!(out[0], ["NAME", "HOLDER", "AGE"]);
    assert_eq!(row(&out, "node-1")[1], "node-1");

    let out = rows(&get(&["get", "ns"]).await);
    assert_eq!(out[0], ["NAME", "STATUS", "AGE"]);
    assert_eq!(row(&out, "other")[1], "Active");

    let out = rows(&get(&["get", "events"]).await);
    assert_eq!(out[0], ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]);
    let ev = out
        .iter()
        .find(|r| r.contains(&"pod/web".to_string()))
        .unwrap();
    assert_eq!(
        ev[1..],
        [
            "Normal",
            "Scheduled",
            "pod/web",
            "Successfully assigned default/web to node-1"
        ]
    );

    // -A adds NAMESPACE from each row's metadata
    let out = rows(&get(&["get", "pods", "-A"]).await);
    assert_eq!(out[0][..3], ["NAMESPACE", "NAME", "READY"]);
    assert_eq!(row(&out, "other")[..3], ["other", "elsewhere", "0/1"]);
    assert_eq!(out.len(), 5);

    // --show-labels, -l, --field-selector
    let out = rows(&get(&["get", "pods", "--show-labels", "-l", "tier=backend"]).await);
    assert_eq!(out[0].last().unwrap(), "LABELS");
    assert_eq!(out.len(), 2);
    assert_eq!(row(&out, "api").last().unwrap(), "app=api,tier=backend");
    let out = rows(&get(&["get", "pods", "-l", "app in (web,api)", "-o", "name"]).await);
    assert_eq!(out, [["pod/api"], ["pod/queued"], ["pod/web"]]);
    let out = rows(&get(&["get", "pods", "--field-selector", "status.phase=Pending"]).await);
    assert_eq!(out.len(), 2);
    row(&out, "queued");
    let run = k
        .run(&["get", "pods", "--field-selector", "spec.image=nginx"])
        .await;
    assert!(run.err().contains("BadRequest"), "{}", run.stderr);

    // --sort-by asks for whole objects in the rows
    let out = rows(&get(&["get", "pods", "--sort-by", "{.status.podIP}", "-o", "wide"]).await);
    let names: Vec<&str> = out[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, ["queued", "web", "api"]);
    let out = rows(&get(&["get", "pods", "--sort-by", ".metadata.name"]).await);
    let names: Vec<&str> = out[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, ["api", "queued", "web"]);

    // plain object formats
    let yaml = get(&["get", "pod", "web", "-o", "yaml"]).await;
    assert!(
        yaml.contains("kind: Pod")
            && yaml.contains("podIP: 10.1.0.5")
            && yaml.contains("nodeName: node-1"),
        "{yaml}"
    );
    let list: Value = serde_json::from_str(&get(&["get", "pods", "-o", "json"]).await).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    let one: Value =
        serde_json::from_str(&get(&["get", "pod", "web", "-o", "json"]).await).unwrap();
    // kubectl hides managedFields unless --show-managed-fields
    let mut stored = c.get(&format!("{PODS}/web")).await.expect(200);
    if let Some(meta) = stored["metadata"].as_object_mut() {
        meta.remove("managedFields");
    }
    assert_eq!(one, stored);
    assert_eq!(
        get(&[
            "get",
            "pod",
            "web",
            "-o",
            "jsonpath={.spec.nodeName} {.status.podIP}"
        ])
        .await,
        "node-1 10.1.0.5"
    );
    let out = rows(
        &get(&[
            "get",
            "pods",
            "-o",
            "custom-columns=NAME:.metadata.name,IMAGE:.spec.containers[0].image,IP:.status.podIP",
        ])
        .await,
    );
    assert_eq!(out[0], ["NAME", "IMAGE", "IP"]);
    assert_eq!(row(&out, "web"), ["web", "nginx:1.25", "10.1.0.5"]);
    assert_eq!(row(&out, "queued"), ["queued", "nginx:1.25", "<none>"]);

    // a single object is a one-row table too; a missing one is a NotFound
    let out = rows(&get(&["get", "pod", "web"]).await);
    assert_eq!(out.len(), 2);
    let run = k.run(&["get", "pod", "nope"]).await;
    assert_eq!(
        run.err().trim(),
        r#"Error from server (NotFound): pods "nope" not found"#
    );

    // `get all` lists the "all" category
    let out = get(&["get", "all"]).await;
    assert!(
        out.contains("pod/web")
            && out.contains("service/web")
            && out.contains("deployment.apps/web"),
        "{out}"
    );
}

// ---------------------------------------------------------------------------
// watch

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_watch_streams_changes() {
    let h = harness::sqlite(test_config()).await;
    let c = &h.client;
    c.post(PODS, &pod("before")).await.expect(201);
    let all = versions();
    for v in [all.first().unwrap(), all.last().unwrap()] {
        let k = Kubectl::new(&h.server.url(), v);
        let watch = Background::spawn(&k, &["get", "pods", "-w"]);
        let only = Background::spawn(&k, &["get", "pods", "--watch-only"]);
        // The list is printed before changes are made.
        watch
            .wait_for("the initial list", |o| o.contains("before"))
            .await;
        // --watch-only prints nothing until the first event; give it time to
        // start watching (it lists first, without printing).
        tokio::time::sleep(Duration::from_millis(1500)).await;

        let name = format!("w-{}", v.replace('.', "-"));
        c.post(PODS, &pod(&name)).await.expect(201);
        bind(c, "default", &name, "node-1").await.expect(201);
        c.merge_patch(
            &format!("{PODS}/{name}/status"),
            &json!({"status": {"phase": "Running"}}),
        )
        .await
        .expect(200);
        c.delete_with(&format!("{PODS}/{name}"), &json!({"gracePeriodSeconds": 0}))
            .await;

        let lines_of =
            |out: &str| -> usize { out.lines().filter(|l| l.starts_with(&name)).count() };
        // created, bound, running, deleted
        let out = watch.wait_for("4 events", |o| lines_of(o) >= 4).await;
        let out = rows(&out);
        assert_eq!(
            out[0],
            ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
            "{v}"
        );
        assert_eq!(
            row(&out, "before")[..3],
            ["before", "0/1", "Pending"],
            "{v}"
        );
        let statuses: Vec<&str> = out
            .iter()
            .filter(|r| r[0] == name)
            .map(|r| r[2].as_str())
            .collect();
        assert_eq!(
            statuses,
            ["Pending", "Pending", "Running", "Running"],
            "{v}"
        );
        // one header only: the watch's tables repeat the list's columns
        assert_eq!(
            out.iter().filter(|r| r[0] == "NAME").count(),
            1,
            "{v}: {out:?}"
        );

        let out = only.wait_for("4 events", |o| lines_of(o) >= 4).await;
        let out = rows(&out);
        assert_eq!(
            out[0],
            ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
            "{v}: {out:?}"
        );
        assert!(
            !out.iter().any(|r| r[0] == "before"),
            "{v}: --watch-only printed the list: {out:?}"
        );
        assert_eq!(
            out.iter().filter(|r| r[0] == name).count(),
            4,
            "{v}: {out:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// describe, wait, version, cluster-info

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_node_shows_its_pods_and_events() {
    let h = harness::sqlite(test_config()).await;
    let c = &h.client;
    seed(c).await;
    let n = c.get("/api/v1/nodes/node-1").await.expect(200);
    // Node events live in the default namespace.
    event(
        c,
        "default",
        "node-1.1",
        &n,
        "NodeReady",
        "Node node-1 status is now: NodeReady",
    )
    .await;
    let k = Kubectl::new(&h.server.url(), DEFAULT);
    let text = k
        .run(&["describe", "node", "node-1"])
        .await
        .ok()
        .to_string();
    for expected in [
        "Name:",
        "node-1",
        "Roles:",
        "worker",
        "Ready",
        "True",
        "KubeletReady",
        "InternalIP:",
        "10.0.0.1",
        "Kubelet Version:",
        "v1.32.0",
        "Non-terminated Pods:",
        "(1 in total)",
        "web",
        "Events:",
        "NodeReady",
        "Node node-1 status is now: NodeReady",
    ] {
        assert!(
            text.contains(expected),
            "describe node lacks {expected:?}:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_a_condition_and_for_deletion() {
    let h = harness::sqlite(test_config()).await;
    let c = &h.client;
    c.post(PODS, &pod("slow")).await.expect(201);
    bind(c, "default", "slow", "node-1").await.expect(201);
    let k = Kubectl::new(&h.server.url(), DEFAULT);

    let waiting = Background::spawn(
        &k,
        &["wait", "--for=condition=Ready", "pod/slow", "--timeout=30s"],
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        !waiting.output().contains("condition met"),
        "{}",
        waiting.output()
    );
    c.merge_patch(
        &format!("{PODS}/slow/status"),
        &json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}),
    )
    .await
    .expect(200);
    let out = waiting
        .wait_for("condition met", |o| o.contains("condition met"))
        .await;
    assert_eq!(out.trim(), "pod/slow condition met");
    let stored = c.get(&format!("{PODS}/slow")).await.expect(200);
    assert!(
        stored["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    );

    // A condition already met returns at once.
    let run = k
        .run(&["wait", "--for=condition=Ready", "pod/slow", "--timeout=5s"])
        .await;
    assert_eq!(run.ok().trim(), "pod/slow condition met");

    // --for=delete: the bound pod is deleted gracefully, then by its "kubelet".
    let waiting = Background::spawn(&k, &["wait", "--for=delete", "pod/slow", "--timeout=30s"]);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    c.delete(&format!("{PODS}/slow")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.output().contains("condition met"),
        "returned before the pod was gone"
    );
    c.delete_with(&format!("{PODS}/slow"), &json!({"gracePeriodSeconds": 0}))
        .await;
    let out = waiting
        .wait_for("deleted", |o| o.contains("condition met"))
        .await;
    assert_eq!(out.trim(), "pod/slow condition met");
    c.get(&format!("{PODS}/slow"))
        .await
        .expect_status(404, "NotFound", r#"pods "slow" not found"#);
    // Nothing to wait for: already gone.
    let run = k
        .run(&["wait", "--for=delete", "pod/slow", "--timeout=5s"])
        .await;
    assert_eq!(run.status, 0, "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_api_versions_and_cluster_info() {
    let h = harness::sqlite(test_config()).await;
    for v in versions() {
        let k = Kubectl::new(&h.server.url(), &v);
        let out = k.run(&["version"]).await.ok().to_string();
        // 1.27 prints `version.Info{...}`, later versions a short form
        assert!(
            out.contains(&format!("Client Version: v{v}."))
                || out.contains(&format!("GitVersion:\"v{v}.")),
            "{v}: {out}"
        );
        assert!(out.contains("v1.32.0+oxkube"), "{v}: {out}");
        let out = k.run(&["api-versions"]).await.ok().to_string();
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            [
                "apps/v1",
                "coordination.k8s.io/v1",
                "discovery.k8s.io/v1",
                "v1"
            ],
            "{v}"
        );
        let out = strip_colors(k.run(&["cluster-info"]).await.ok());
        assert!(
            out.contains(&format!(
                "Kubernetes control plane is running at {}",
                h.server.url()
            )),
            "{v}: {out}"
        );
    }
}

// ---------------------------------------------------------------------------
// the HTTP contract behind kubectl get

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_for_lists_gets_and_subresources() {
    let h = harness::sqlite(test_config()).await;
    let c = &h.client;
    let base = h.server.url();
    for n in ["a", "b", "c"] {
        c.post(PODS, &pod(n)).await.expect(201);
    }
    // a list
    let (status, ct, t) = get(&base, PODS, TABLE).await;
    assert_eq!((status, ct.as_str()), (200, "application/json"));
    assert_eq!(
        (t["kind"].as_str(), t["apiVersion"].as_str()),
        (Some("Table"), Some("meta.k8s.io/v1"))
    );
    let list = c.get(PODS).await.expect(200);
    assert_eq!(
        t["metadata"]["resourceVersion"],
        list["metadata"]["resourceVersion"]
    );
    let cols: Vec<(&str, i64)> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["priority"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        cols,
        [
            ("Name", 0),
            ("Ready", 0),
            ("Status", 0),
            ("Restarts", 0),
            ("Age", 0),
            ("IP", 1),
            ("Node", 1),
            ("Nominated Node", 1),
            ("Readiness Gates", 1)
        ]
    );
    let rows = t["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        arr(&rows[0]["cells"])[..4],
        [json!("a"), json!("0/1"), json!("Pending"), json!("0")]
    );
    assert_eq!(rows[0]["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(rows[0]["object"]["metadata"], list["items"][0]["metadata"]);

    // pages keep their continue token and remaining count
    let (_, _, page) = get(&base, &format!("{PODS}?limit=2"), TABLE).await;
    assert_eq!(page["rows"].as_array().unwrap().len(), 2);
    assert_eq!(page["metadata"]["remainingItemCount"], 1);
    let token = page["metadata"]["continue"].as_str().unwrap();
    let (_, _, rest) = get(&base, &format!("{PODS}?limit=2&continue={token}"), TABLE).await;
    assert_eq!(rest["rows"][0]["cells"][0], "c");
    assert!(rest["metadata"].get("continue").is_none());

    // includeObject
    let (_, _, none) = get(&base, &format!("{PODS}?includeObject=None"), TABLE).await;
    assert_eq!(none["rows"][0]["object"], Value::Null);
    let (_, _, full) = get(&base, &format!("{PODS}?includeObject=Object"), TABLE).await;
    assert_eq!(full["rows"][0]["object"], list["items"][0]);
    let (status, _, err) = get(&base, &format!("{PODS}?includeObject=All"), TABLE).await;
    assert_eq!((status, err["reason"].as_str()), (400, Some("BadRequest")));

    // one object, its status, v1beta1
    let (_, _, one) = get(&base, &format!("{PODS}/a"), TABLE).await;
    assert_eq!(one["rows"].as_array().unwrap().len(), 1);
    assert_eq!(
        one["metadata"]["resourceVersion"],
        list["items"][0]["metadata"]["resourceVersion"]
    );
    let (_, _, st) = get(&base, &format!("{PODS}/a/status"), TABLE).await;
    assert_eq!(st["rows"][0]["cells"][2], "Pending");
    let (_, _, beta) = get(
        &base,
        PODS,
        "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
    )
    .await;
    assert_eq!(beta["apiVersion"], "meta.k8s.io/v1beta1");
    assert_eq!(
        beta["rows"][0]["object"]["apiVersion"],
        "meta.k8s.io/v1beta1"
    );
    let (status, _, nf) = get(&base, &format!("{PODS}/zz"), TABLE).await;
    assert_eq!((status, nf["kind"].as_str()), (404, Some("Status")));

    // the scale subresource prints like a Scale
    c.post(
        "/apis/apps/v1/namespaces/default/replicasets",
        &json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"},
                "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "rs"}},
                         "template": {"metadata": {"labels": {"app": "rs"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}),
    )
    .await
    .expect(201);
    let (_, _, scale) = get(
        &base,
        "/apis/apps/v1/namespaces/default/replicasets/rs/scale",
        TABLE,
    )
    .await;
    let names: Vec<&str> = scale["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Name", "Desired", "Available", "Age"]);
    assert_eq!(
        arr(&scale["rows"][0]["cells"])[..3],
        [json!("rs"), json!(3), json!(0)]
    );
    let (_, _, rs) = get(&base, "/apis/apps/v1/namespaces/default/replicasets", TABLE).await;
    assert_eq!(
        arr(&rs["rows"][0]["cells"])[..4],
        [json!("rs"), json!(3), json!(0), json!(0)]
    );

    // metadata-only views
    let (_, _, pl) = get(
        &base,
        PODS,
        "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
    )
    .await;
    assert_eq!(pl["kind"], "PartialObjectMetadataList");
    let list = c.get(PODS).await.expect(200);
    assert_eq!(
        pl["metadata"]["resourceVersion"],
        list["metadata"]["resourceVersion"]
    );
    assert_eq!(
        pl["items"][1],
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": list["items"][1]["metadata"]})
    );
    let (_, _, p) = get(
        &base,
        &format!("{PODS}/b"),
        "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
    )
    .await;
    assert_eq!(p["metadata"]["name"], "b");
    assert!(p.get("spec").is_none());
    let (status, _, e) = get(
        &base,
        PODS,
        "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
    )
    .await;
    assert_eq!((status, e["reason"].as_str()), (406, Some("NotAcceptable")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_watches_send_one_row_per_event() {
    let h = harness::sqlite(test_config()).await;
    let c = &h.client;
    let base = h.server.url();
    c.post(PODS, &pod("a")).await.expect(201);
    let list = c.get(PODS).await.expect(200);
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = reqwest::Client::new()
        .get(format!("{base}{PODS}?watch=true&resourceVersion={rv}"))
        .header("Accept", TABLE)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let mut stream = resp.bytes_stream();
    c.post(PODS, &pod("b")).await.expect(201);
    c.merge_patch(
        &format!("{PODS}/b"),
        &json!({"metadata": {"labels": {"x": "y"}}}),
    )
    .await
    .expect(200);
    c.delete(&format!("{PODS}/b")).await.expect(200);
    let mut buf = Vec::new();
    let mut events: Vec<Value> = Vec::new();
    while events.len() < 3 {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        buf.extend_from_slice(&chunk);
        while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            events.push(serde_json::from_slice(&line).unwrap());
        }
    }
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ADDED", "MODIFIED", "DELETED"]);
    for (i, e) in events.iter().enumerate() {
        let t = &e["object"];
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["rows"].as_array().unwrap().len(), 1);
        assert_eq!(t["rows"][0]["cells"][0], "b");
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(
            t["metadata"]["resourceVersion"],
            t["rows"][0]["object"]["metadata"]["resourceVersion"]
        );
        // columns come with the first event only
        assert_eq!(
            t["columnDefinitions"].as_array().unwrap().len(),
            if i == 0 { 9 } else { 0 }
        );
    }
    assert_eq!(
        events[1]["object"]["rows"][0]["object"]["metadata"]["labels"]["x"],
        "y"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_negotiation() {
    let h = harness::sqlite(test_config()).await;
    let c = &h.client;
    let base = h.server.url();
    c.post(PODS, &pod("a")).await.expect(201);

    // protobuf first, JSON acceptable: JSON
    let (status, ct, list) = get(
        &base,
        PODS,
        "application/vnd.kubernetes.protobuf,application/json",
    )
    .await;
    assert_eq!(
        (status, ct.as_str(), list["kind"].as_str()),
        (200, "application/json", Some("PodList"))
    );
    let (_, _, any) = get(&base, PODS, "*/*").await;
    assert_eq!(any["kind"], "PodList");
    let (_, _, weighted) = get(
        &base,
        PODS,
        "application/json;q=0.5, application/json;as=Table;v=v1;g=meta.k8s.io;q=0.9",
    )
    .await;
    assert_eq!(weighted["kind"], "Table");

    // nothing we can write: 406 Status, for reads and writes alike (and
    // the write does not happen)
    for (method, path, accept) in [
        (
            reqwest::Method::GET,
            PODS.to_string(),
            "application/vnd.kubernetes.protobuf",
        ),
        (
            reqwest::Method::GET,
            format!("{PODS}/a"),
            "application/yaml",
        ),
        (
            reqwest::Method::GET,
            PODS.to_string(),
            "application/json;as=Deployment;g=apps;v=v1",
        ),
        (
            reqwest::Method::POST,
            PODS.to_string(),
            "application/json;as=Table;v=v1;g=meta.k8s.io",
        ),
    ] {
        let body = (method == reqwest::Method::POST).then(|| pod("never"));
        let (status, ct, e) = request(&base, method.clone(), &path, accept, body.as_ref()).await;
        assert_eq!(status, 406, "{method} {path} {accept}: {e}");
        assert_eq!(ct, "application/json");
        assert_eq!(
            (e["kind"].as_str(), e["reason"].as_str(), e["code"].as_i64()),
            (Some("Status"), Some("NotAcceptable"), Some(406))
        );
        assert_eq!(
            e["message"],
            "only the following media types are accepted: application/json"
        );
    }
    c.get(&format!("{PODS}/never")).await.expect_status(
        404,
        "NotFound",
        r#"pods "never" not found"#,
    );
    // a write with kubectl's Table-first Accept answers the object
    let (status, _, created) =
        request(&base, reqwest::Method::POST, PODS, TABLE, Some(&pod("b"))).await;
    assert_eq!((status, created["kind"].as_str()), (201, Some("Pod")));
}
