//! OpenAPI documents and server-side field validation, over HTTP and with
//! the real kubectl binaries.
//!
//! kubectl 1.29+ read `/openapi/v3`, see that our `patch` operations take
//! `fieldValidation`, and send `fieldValidation=Strict` on `create`/`apply`:
//! a manifest with a typo then fails with the server's message. kubectl
//! 1.27/1.28 download `/openapi/v2` as protobuf first (see
//! `docs/api-machinery.md` for what we serve them).

#![allow(clippy::unwrap_used, dead_code)]

mod suite;

use serde_json::{Value, json};
use suite::harness::{self, Harness, test_config};
use suite::kubectl::{Kubectl, versions};

async fn server() -> Harness {
    harness::sqlite(test_config()).await
}

fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_root_and_group_version_documents_cache_like_upstream() {
    let h = server().await;
    let http = raw_client();
    let base = h.server.url();

    let root = http.get(format!("{base}/openapi/v3")).send().await.unwrap();
    assert_eq!(root.status(), 200);
    let etag = root.headers()["etag"].to_str().unwrap().to_string();
    let root: Value = root.json().await.unwrap();
    for gv in [
        "api/v1",
        "apis/apps/v1",
        "apis/coordination.k8s.io/v1",
        "apis/discovery.k8s.io/v1",
    ] {
        assert!(
            root["paths"][gv]["serverRelativeURL"].is_string(),
            "{gv}: {root}"
        );
    }
    let not_modified = http
        .get(format!("{base}/openapi/v3"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), 304);

    let url = root["paths"]["api/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap();
    let hash = url.split("hash=").nth(1).unwrap().to_string();
    let doc = http
        .get(format!("{base}{url}"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(doc.status(), 200);
    assert_eq!(doc.headers()["cache-control"], "public, immutable");
    assert!(doc.headers().contains_key("expires"));
    assert_eq!(doc.headers()["etag"], format!("\"{hash}\"").as_str());
    assert_eq!(doc.headers()["content-type"], "application/json");
    let doc: Value = doc.json().await.unwrap();
    let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        json!({"group": "", "kind": "Pod", "version": "v1"})
    );
    assert!(patch["parameters"].to_string().contains("fieldValidation"));
    let containers =
        &doc["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(containers["x-kubernetes-list-type"], "map");

    // A stale hash is redirected to the current document; no hash is
    // served but not marked immutable.
    let stale = http
        .get(format!("{base}/openapi/v3/api/v1?hash=0000"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 301);
    assert_eq!(stale.headers()["location"], url);
    let plain = http
        .get(format!("{base}/openapi/v3/apis/apps/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);
    assert!(!plain.headers().contains_key("cache-control"));
    let apps: Value = plain.json().await.unwrap();
    assert!(apps["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"].is_object());
    // Every served kind has its schema: each patch operation's kind is
    // found among the document's schemas by its group-version-kind (what
    // `kubectl explain` looks for).
    for (gv, entry) in root["paths"].as_object().unwrap() {
        let url = entry["serverRelativeURL"].as_str().unwrap();
        let doc: Value = http
            .get(format!("{base}{url}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            let Some(gvk) = item.pointer("/patch/x-kubernetes-group-version-kind") else {
                continue;
            };
            assert!(
                schemas
                    .values()
                    .any(|s| s["x-kubernetes-group-version-kind"]
                        .as_array()
                        .is_some_and(|all| all.contains(gvk))),
                "{gv}: no schema for {gvk} ({path})"
            );
        }
    }
    let missing = http
        .get(format!("{base}/openapi/v3/apis/nope/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    h.server.stop().await;
}

fn typo_pod(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "a"}},
        "spec": {"containers": [{"name": "c", "image": "busybox", "imagee": "x"}], "foo": 1}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_validation_modes_over_http() {
    let h = server().await;
    let http = raw_client();
    let base = h.server.url();
    let pods = format!("{base}/api/v1/namespaces/default/pods");

    let strict = http
        .post(format!("{pods}?fieldValidation=Strict"))
        .json(&typo_pod("strict"))
        .send()
        .await
        .unwrap();
    assert_eq!(strict.status(), 400);
    let status: Value = strict.json().await.unwrap();
    assert_eq!(status["reason"], "BadRequest");
    assert_eq!(
        status["message"],
        "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: \
         unknown field \"spec.containers[0].imagee\", unknown field \"spec.foo\""
    );

    // Duplicates, as raw JSON (a serializer would drop them).
    let dup = http
        .post(format!("{pods}?fieldValidation=Strict"))
        .header("Content-Type", "application/json")
        .body(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"d","name":"dup"},
                "spec":{"containers":[{"name":"c","image":"busybox"}]}}"#,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), 400);
    let status: Value = dup.json().await.unwrap();
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .ends_with("strict decoding error: duplicate field \"metadata.name\""),
        "{status}"
    );

    for (query, expect_warnings) in [
        ("?fieldValidation=Warn", true),
        ("", true),
        ("?fieldValidation=Ignore", false),
    ] {
        let name = format!("p{}", query.len());
        let resp = http
            .post(format!("{pods}{query}"))
            .json(&typo_pod(&name))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{query}");
        let warnings: Vec<String> = resp
            .headers()
            .get_all("warning")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        if expect_warnings {
            assert_eq!(
                warnings,
                vec![
                    r#"299 - "unknown field \"spec.containers[0].imagee\"""#,
                    r#"299 - "unknown field \"spec.foo\"""#,
                ],
                "{query}"
            );
        } else {
            assert!(warnings.is_empty(), "{query}: {warnings:?}");
        }
        let created: Value = resp.json().await.unwrap();
        assert!(created["spec"].get("foo").is_none());
    }

    // A patch result is checked too.
    let patched = http
        .patch(format!("{pods}/p0?fieldValidation=Strict"))
        .header("Content-Type", "application/merge-patch+json")
        .body(r#"{"spec":{"bar":true}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 400);
    let status: Value = patched.json().await.unwrap();
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("strict decoding error: unknown field \"spec.bar\""),
        "{status}"
    );
    h.server.stop().await;
}

const GOOD: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: NAME
data:
  k: v
";

const TYPO: &str = "apiVersion: v1
kind: Pod
metadata:
  name: NAME
spec:
  containers:
  - name: c
    image: busybox
    imagee: busybox:1.36
";

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: NAME
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
        portz: [80]
";

/// What every kubectl from 1.29 on does with default validation.
async fn create_and_apply_validate_on_the_server(k: &Kubectl) {
    let v = k.version.replace('.', "-");
    let good = k.file("good.yaml", &GOOD.replace("NAME", &format!("cm-{v}")));
    let out = k.run(&["create", "-f", good.to_str().unwrap()]).await;
    assert_eq!(
        out.ok().trim(),
        format!("configmap/cm-{v} created"),
        "{}",
        k.version
    );

    let applied = k.file("applied.yaml", &GOOD.replace("NAME", &format!("ap-{v}")));
    let out = k.run(&["apply", "-f", applied.to_str().unwrap()]).await;
    assert_eq!(
        out.ok().trim(),
        format!("configmap/ap-{v} created"),
        "{}",
        k.version
    );
    let out = k.run(&["apply", "-f", applied.to_str().unwrap()]).await;
    assert_eq!(
        out.ok().trim(),
        format!("configmap/ap-{v} unchanged"),
        "{}",
        k.version
    );

    let typo = k.file("typo.yaml", &TYPO.replace("NAME", &format!("typo-{v}")));
    let path = typo.to_str().unwrap();
    let out = k.run(&["create", "-f", path]).await;
    assert_eq!(
        out.err().trim(),
        format!(
            "Error from server (BadRequest): error when creating \"{path}\": Pod in version \"v1\" \
             cannot be handled as a Pod: strict decoding error: unknown field \"spec.containers[0].imagee\""
        ),
        "{}",
        k.version
    );
    let out = k.run(&["apply", "-f", path]).await;
    assert!(
        out.err()
            .contains("strict decoding error: unknown field \"spec.containers[0].imagee\""),
        "{}: {}",
        k.version,
        out.stderr
    );
    let deploy = k.file(
        "deploy.yaml",
        &DEPLOYMENT.replace("NAME", &format!("d-{v}")),
    );
    let out = k.run(&["create", "-f", deploy.to_str().unwrap()]).await;
    assert!(
        out.err().contains(
            "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: \
             unknown field \"spec.template.spec.containers[0].portz\""
        ),
        "{}: {}",
        k.version,
        out.stderr
    );

    // --validate=warn: created, and kubectl prints the server's warning.
    let out = k.run(&["create", "--validate=warn", "-f", path]).await;
    assert_eq!(
        out.ok().trim(),
        format!("pod/typo-{v} created"),
        "{}",
        k.version
    );
    assert!(
        out.stderr
            .contains("Warning: unknown field \"spec.containers[0].imagee\""),
        "{}: {}",
        k.version,
        out.stderr
    );
    // --validate=false: created silently (Ignore).
    let quiet = k.file("quiet.yaml", &TYPO.replace("NAME", &format!("quiet-{v}")));
    let out = k
        .run(&["create", "--validate=false", "-f", quiet.to_str().unwrap()])
        .await;
    assert_eq!(
        out.ok().trim(),
        format!("pod/quiet-{v} created"),
        "{}",
        k.version
    );
    assert!(
        !out.stderr.contains("Warning"),
        "{}: {}",
        k.version,
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_and_apply_with_default_validation() {
    let h = server().await;
    for version in versions() {
        let k = Kubectl::new(&h.server.url(), &version);
        create_and_apply_validate_on_the_server(&k).await;
    }
    h.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_explain_reads_the_v3_schemas() {
    let h = server().await;
    for version in versions() {
        let k = Kubectl::new(&h.server.url(), &version);
        let out = k.run(&["explain", "pod.spec.containers"]).await;
        let text = out.ok();
        if std::env::var_os("SHOW_EXPLAIN").is_some() {
            eprintln!("== {version}\n{text}");
        }
        assert!(
            text.contains("KIND:       Pod") || text.contains("KIND:     Pod"),
            "{version}: {text}"
        );
        assert!(
            text.contains("FIELD: containers <[]Container>"),
            "{version}: {text}"
        );
        assert!(text.contains("image\t<string>"), "{version}: {text}");
        // The same from the v2 document (what kubectl 1.27/1.28 validate with).
        let out = k
            .run(&[
                "explain",
                "--output=plaintext-openapiv2",
                "pod.spec.containers",
            ])
            .await;
        let text = out.ok();
        assert!(
            text.contains("RESOURCE: containers <[]Object>"),
            "{version}: {text}"
        );
        assert!(text.contains("image\t<string>"), "{version}: {text}");
        // Leaf types are named as upstream names them.
        let out = k.run(&["explain", "service.spec.ports.targetPort"]).await;
        assert!(
            out.ok().contains("FIELD: targetPort <IntOrString>"),
            "{version}: {}",
            out.stdout
        );
        let out = k
            .run(&["explain", "pod.spec.containers.resources.limits"])
            .await;
        assert!(
            out.ok().contains("FIELD: limits <map[string]Quantity>"),
            "{version}: {}",
            out.stdout
        );
        let out = k.run(&["explain", "pod.metadata.creationTimestamp"]).await;
        assert!(
            out.ok().contains("FIELD: creationTimestamp <string>"),
            "{version}: {}",
            out.stdout
        );
        let out = k.run(&["explain", "deployment.spec.strategy"]).await;
        assert!(
            out.ok().contains("rollingUpdate"),
            "{version}: {}",
            out.stdout
        );
    }
    h.server.stop().await;
}
