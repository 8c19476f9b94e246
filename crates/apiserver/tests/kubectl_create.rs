//! The imperative create commands of kubectl against our apiserver, with
//! every installed kubectl (1.27–1.33).
//!
//! They matter for protobuf: kubectl 1.32+ builds these objects with its
//! typed clients and sends them as `application/vnd.kubernetes.protobuf`
//! (`create namespace|configmap|secret|deployment|service|serviceaccount`),
//! while 1.27–1.31 send JSON, and `run` and `expose` send JSON on every
//! version. Each command is checked twice: kubectl's own output, and the
//! object as stored (read back over HTTP), so a field lost or misnamed in
//! decoding shows up here.

#![allow(clippy::unwrap_used)]

#[allow(dead_code, unused_imports)]
mod suite;

use base64::Engine;
use serde_json::{Value, json};
use suite::harness::{self, Client, test_config};
use suite::kubectl::{Kubectl, versions};

/// `kubectl.1.NN` → NN.
fn minor(version: &str) -> u32 {
    version
        .strip_prefix("1.")
        .and_then(|m| m.parse().ok())
        .unwrap()
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Runs kubectl and asserts it succeeded with exactly this output.
async fn expect(k: &Kubectl, args: &[&str], stdout: &str) {
    let run = k.run(args).await;
    assert_eq!(
        run.ok(),
        format!("{stdout}\n"),
        "kubectl {} {args:?}\nstderr: {}",
        k.version,
        run.stderr
    );
}

async fn get(c: &Client, path: &str) -> Value {
    c.get(path).await.expect(200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_commands_work_with_every_kubectl() {
    let h = harness::sqlite(test_config()).await;
    for version in versions() {
        create_with(&h.client, &Kubectl::new(&h.client.base, &version)).await;
    }
}

async fn create_with(c: &Client, k: &Kubectl) {
    let v = k.version.as_str();
    let ns = format!("create-{}", v.replace('.', "-"));
    let ns = ns.as_str();
    let api = format!("/api/v1/namespaces/{ns}");
    let apps = format!("/apis/apps/v1/namespaces/{ns}");

    // namespace
    expect(
        k,
        &["create", "namespace", ns],
        &format!("namespace/{ns} created"),
    )
    .await;
    let got = get(c, &format!("/api/v1/namespaces/{ns}")).await;
    assert_eq!(got["metadata"]["name"], ns);
    assert_eq!(got["status"]["phase"], "Active");

    // configmap; with -v=8 to see which format kubectl sent
    let run = k
        .run(&[
            "-n",
            ns,
            "create",
            "configmap",
            "settings",
            "--from-literal=color=blue",
            "--from-literal=size=10",
            "-v=8",
        ])
        .await;
    assert_eq!(run.ok(), "configmap/settings created\n", "{v}");
    let sent_protobuf = run
        .stderr
        .contains("Content-Type: application/vnd.kubernetes.protobuf");
    assert_eq!(
        sent_protobuf,
        minor(v) >= 32,
        "kubectl {v}: protobuf request body expected from 1.32 on"
    );
    let got = get(c, &format!("{api}/configmaps/settings")).await;
    assert_eq!(got["data"], json!({"color": "blue", "size": "10"}), "{v}");

    // secrets: []byte values arrive base64 in JSON
    expect(
        k,
        &[
            "-n",
            ns,
            "create",
            "secret",
            "generic",
            "creds",
            "--from-literal=user=admin",
            "--from-literal=password=s3cr3t!",
        ],
        "secret/creds created",
    )
    .await;
    let got = get(c, &format!("{api}/secrets/creds")).await;
    assert_eq!(
        got["data"],
        json!({"user": b64("admin"), "password": b64("s3cr3t!")}),
        "{v}"
    );
    assert_eq!(got["type"], "Opaque");
    expect(
        k,
        &[
            "-n",
            ns,
            "create",
            "secret",
            "docker-registry",
            "pull",
            "--docker-server=registry.example",
            "--docker-username=u",
            "--docker-password=p",
        ],
        "secret/pull created",
    )
    .await;
    let got = get(c, &format!("{api}/secrets/pull")).await;
    assert_eq!(got["type"], "kubernetes.io/dockerconfigjson");
    let config = base64::engine::general_purpose::STANDARD
        .decode(got["data"][".dockerconfigjson"].as_str().unwrap())
        .unwrap();
    let config: Value = serde_json::from_slice(&config).unwrap();
    assert_eq!(config["auths"]["registry.example"]["username"], "u", "{v}");

    // deployment: a whole pod template inside
    expect(
        k,
        &[
            "-n",
            ns,
            "create",
            "deployment",
            "web",
            "--image=nginx:1.27",
            "--replicas=3",
            "--port=80",
        ],
        "deployment.apps/web created",
    )
    .await;
    let got = get(c, &format!("{apps}/deployments/web")).await;
    let spec = &got["spec"];
    assert_eq!(spec["replicas"], 3, "{v}");
    assert_eq!(spec["selector"], json!({"matchLabels": {"app": "web"}}));
    assert_eq!(
        spec["template"]["metadata"]["labels"],
        json!({"app": "web"})
    );
    let container = &spec["template"]["spec"]["containers"][0];
    assert_eq!(container["name"], "nginx");
    assert_eq!(container["image"], "nginx:1.27");
    assert_eq!(
        container["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}]),
        "{v}"
    );
    // defaulted by the server, as for a JSON body
    assert_eq!(spec["strategy"]["type"], "RollingUpdate");
    assert_eq!(spec["template"]["spec"]["restartPolicy"], "Always");
    assert_eq!(got["metadata"]["generation"], 1);

    // a deployment scaled to zero keeps its zero (a pointer in Go)
    expect(
        k,
        &[
            "-n",
            ns,
            "create",
            "deployment",
            "idle",
            "--image=busybox",
            "--replicas=0",
            "--",
            "sleep",
            "3600",
        ],
        "deployment.apps/idle created",
    )
    .await;
    let got = get(c, &format!("{apps}/deployments/idle")).await;
    assert_eq!(got["spec"]["replicas"], 0, "{v}");
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"][0]["command"],
        json!(["sleep", "3600"]),
        "{v}"
    );

    // services
    expect(
        k,
        &[
            "-n",
            ns,
            "create",
            "service",
            "clusterip",
            "web-svc",
            "--tcp=80:8080",
        ],
        "service/web-svc created",
    )
    .await;
    let got = get(c, &format!("{api}/services/web-svc")).await;
    assert_eq!(got["spec"]["type"], "ClusterIP");
    assert_eq!(got["spec"]["selector"], json!({"app": "web-svc"}));
    assert_eq!(
        got["spec"]["ports"],
        json!([{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}]),
        "{v}"
    );
    expect(
        k,
        &[
            "-n",
            ns,
            "create",
            "service",
            "nodeport",
            "web-np",
            "--tcp=80:http",
        ],
        "service/web-np created",
    )
    .await;
    let got = get(c, &format!("{api}/services/web-np")).await;
    assert_eq!(got["spec"]["type"], "NodePort");
    assert_eq!(got["spec"]["ports"][0]["targetPort"], "http", "{v}");
    expect(
        k,
        &[
            "-n",
            ns,
            "create",
            "service",
            "externalname",
            "upstream",
            "--external-name=example.com",
        ],
        "service/upstream created",
    )
    .await;
    let got = get(c, &format!("{api}/services/upstream")).await;
    assert_eq!(got["spec"]["type"], "ExternalName");
    assert_eq!(got["spec"]["externalName"], "example.com");

    // serviceaccount
    expect(
        k,
        &["-n", ns, "create", "serviceaccount", "robot"],
        "serviceaccount/robot created",
    )
    .await;
    let got = get(c, &format!("{api}/serviceaccounts/robot")).await;
    assert_eq!(got["metadata"]["name"], "robot");

    // expose (JSON on every version): a service selecting the deployment's pods
    expect(
        k,
        &[
            "-n",
            ns,
            "expose",
            "deployment",
            "web",
            "--port=8080",
            "--target-port=80",
            "--name=web-exposed",
        ],
        "service/web-exposed exposed",
    )
    .await;
    let got = get(c, &format!("{api}/services/web-exposed")).await;
    assert_eq!(got["spec"]["selector"], json!({"app": "web"}), "{v}");
    assert_eq!(got["spec"]["ports"][0]["port"], 8080);
    assert_eq!(got["spec"]["ports"][0]["targetPort"], 80);

    // run (JSON on every version): a pod
    expect(
        k,
        &[
            "-n",
            ns,
            "run",
            "one",
            "--image=busybox",
            "--restart=Never",
            "--labels=tier=batch",
            "--",
            "sleep",
            "3600",
        ],
        "pod/one created",
    )
    .await;
    let got = get(c, &format!("{api}/pods/one")).await;
    assert_eq!(got["metadata"]["labels"], json!({"tier": "batch"}), "{v}");
    assert_eq!(got["spec"]["restartPolicy"], "Never");
    let container = &got["spec"]["containers"][0];
    assert_eq!(container["image"], "busybox");
    assert_eq!(container["args"], json!(["sleep", "3600"]), "{v}");

    // a duplicate is the usual AlreadyExists, whatever the body format
    // (these commands print it as `error: failed to create configmap: ...`)
    let run = k.run(&["-n", ns, "create", "configmap", "settings"]).await;
    assert!(
        run.err().contains("configmaps \"settings\" already exists"),
        "{v}: {}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------
// protobuf over plain HTTP: the same bodies without kubectl

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

fn varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn len_field(buf: &mut Vec<u8>, number: u32, bytes: &[u8]) {
    varint(buf, u64::from(number) << 3 | 2);
    varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

/// `k8s\0` + `runtime.Unknown{typeMeta{apiVersion, kind}, raw}`.
fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut type_meta = Vec::new();
    len_field(&mut type_meta, 1, api_version.as_bytes());
    len_field(&mut type_meta, 2, kind.as_bytes());
    let mut unknown = Vec::new();
    len_field(&mut unknown, 1, &type_meta);
    len_field(&mut unknown, 2, raw);
    [b"k8s\x00".as_slice(), &unknown].concat()
}

/// A ConfigMap `{metadata: {name, resourceVersion}, data: {key: value}}`.
fn configmap_pb(name: &str, resource_version: &str, key: &str, value: &str) -> Vec<u8> {
    let mut meta = Vec::new();
    len_field(&mut meta, 1, name.as_bytes());
    if !resource_version.is_empty() {
        len_field(&mut meta, 6, resource_version.as_bytes());
    }
    let mut entry = Vec::new();
    len_field(&mut entry, 1, key.as_bytes());
    len_field(&mut entry, 2, value.as_bytes());
    let mut cm = Vec::new();
    len_field(&mut cm, 1, &meta);
    len_field(&mut cm, 2, &entry);
    envelope("v1", "ConfigMap", &cm)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_bodies_over_http() {
    let h = harness::sqlite(test_config()).await;
    let c = &h.client;
    let cms = "/api/v1/namespaces/default/configmaps";
    let post = |body: Vec<u8>| c.send(reqwest::Method::POST, cms, PROTOBUF, Some(body));

    // create: a body captured from `kubectl.1.33 create configmap`
    let captured = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/protobuf/testdata/configmap.pb"
    ))
    .unwrap();
    let created = post(captured).await.expect(201);
    assert_eq!(created["metadata"]["name"], "capcm");
    assert_eq!(created["data"], json!({"a": "b", "c": "d"}));

    // update (PUT) with a resourceVersion, then a stale one
    let rv = created["metadata"]["resourceVersion"].as_str().unwrap();
    let updated = c
        .send(
            reqwest::Method::PUT,
            &format!("{cms}/capcm"),
            PROTOBUF,
            Some(configmap_pb("capcm", rv, "a", "z")),
        )
        .await
        .expect(200);
    assert_eq!(updated["data"], json!({"a": "z"}));
    c.send(
        reqwest::Method::PUT,
        &format!("{cms}/capcm"),
        PROTOBUF,
        Some(configmap_pb("capcm", rv, "a", "y")),
    )
    .await
    .expect_status(409, "Conflict", "");

    // DELETE with protobuf DeleteOptions (kubectl 1.32+ `drain
    // --disable-eviction`): a failed precondition proves they were read
    let path = format!("{cms}/capcm");
    let delete = |uid: &str| {
        let mut pre = Vec::new();
        len_field(&mut pre, 1, uid.as_bytes());
        let mut opts = Vec::new();
        varint(&mut opts, 1 << 3);
        varint(&mut opts, 0); // gracePeriodSeconds: 0
        len_field(&mut opts, 2, &pre);
        len_field(&mut opts, 4, b"Background");
        c.send(
            reqwest::Method::DELETE,
            &path,
            PROTOBUF,
            Some(envelope("v1", "DeleteOptions", &opts)),
        )
    };
    let conflict = delete("not-the-uid").await;
    assert_eq!(conflict.status, 409, "{}", conflict.body);
    assert!(
        conflict.body["message"]
            .as_str()
            .unwrap()
            .contains("Precondition failed: UID in precondition: not-the-uid"),
        "{}",
        conflict.body
    );
    let uid = updated["metadata"]["uid"].as_str().unwrap();
    delete(uid).await.expect(200);
    c.get(&path).await.expect(404);

    // errors are 400s that say what is wrong
    // a ConfigMap with a field number ConfigMap does not have
    let mut meta = Vec::new();
    len_field(&mut meta, 1, b"x");
    let mut cm = Vec::new();
    len_field(&mut cm, 1, &meta);
    varint(&mut cm, 99 << 3);
    varint(&mut cm, 1);
    let unknown_field = envelope("v1", "ConfigMap", &cm);
    post(unknown_field).await.expect_status(
        400,
        "BadRequest",
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: unknown field 99 in message ConfigMap",
    );
    post(envelope("batch/v1", "Job", b"")).await.expect_status(
        400,
        "BadRequest",
        "no kind \"Job\" is registered for version \"batch/v1\"",
    );
    let secret = envelope("v1", "Secret", &{
        let mut meta = Vec::new();
        len_field(&mut meta, 1, b"s");
        let mut s = Vec::new();
        len_field(&mut s, 1, &meta);
        s
    });
    let wrong_kind = post(secret).await;
    assert_eq!(wrong_kind.status, 400, "{:?}", wrong_kind.body);
}
