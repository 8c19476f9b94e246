//! Create, read, update, patch: the object lifecycle over HTTP.

#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::harness::*;

pub async fn create_get_update_with_optimistic_concurrency(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    let created = c.post(PODS, &pod("web")).await;
    assert_eq!(created.content_type, "application/json");
    let created = created.expect(201);
    let meta = &created["metadata"];
    assert_eq!(meta["namespace"], "default");
    assert_eq!(meta["uid"].as_str().unwrap().len(), 36);
    assert!(meta["creationTimestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(meta["generation"], 1);
    assert_eq!(created["apiVersion"], "v1");
    assert_eq!(created["kind"], "Pod");
    assert_eq!(created["status"]["phase"], "Pending");
    assert_eq!(
        created["spec"]["restartPolicy"], "Always",
        "defaults applied"
    );

    let got = c.get(&format!("{PODS}/web")).await.expect(200);
    assert_eq!(got, created);

    // update with the current resourceVersion works and bumps it
    let mut changed = got.clone();
    changed["metadata"]["labels"]["tier"] = json!("front");
    let updated = c.put(&format!("{PODS}/web"), &changed).await.expect(200);
    assert!(rv(&updated) > rv(&got));
    assert_eq!(updated["metadata"]["labels"]["tier"], "front");
    assert_eq!(updated["metadata"]["generation"], 1, "labels are not spec");
    assert_eq!(updated["metadata"]["uid"], got["metadata"]["uid"]);

    // the stale version loses
    let mut stale = got.clone();
    stale["metadata"]["labels"]["tier"] = json!("back");
    c.put(&format!("{PODS}/web"), &stale).await.expect_status(
        409,
        "Conflict",
        r#"Operation cannot be fulfilled on pods "web": the object has been modified; please apply your changes to the latest version and try again"#,
    );

    // a spec change bumps generation
    let mut image = updated.clone();
    image["spec"]["containers"][0]["image"] = json!("nginx:1.26");
    let bumped = c.put(&format!("{PODS}/web"), &image).await.expect(200);
    assert_eq!(bumped["metadata"]["generation"], 2);

    // a no-op update does not write
    let same = c.put(&format!("{PODS}/web"), &bumped).await.expect(200);
    assert_eq!(rv(&same), rv(&bumped));

    // without resourceVersion the update is unconditional
    let mut unconditional = bumped.clone();
    unconditional["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    unconditional["metadata"]["labels"]["x"] = json!("y");
    c.put(&format!("{PODS}/web"), &unconditional)
        .await
        .expect(200);

    // the name in the body must match the URL
    let mut renamed = bumped.clone();
    renamed["metadata"]["name"] = json!("other");
    c.put(&format!("{PODS}/web"), &renamed).await.expect_status(
        400,
        "BadRequest",
        "the name of the object (other) does not match the name on the URL (web)",
    );
}

pub async fn generate_name_and_dry_run(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    let body =
        json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "generateName": "cfg-" } });
    let a = c.post(CONFIGMAPS, &body).await.expect(201);
    let b = c.post(CONFIGMAPS, &body).await.expect(201);
    let (na, nb) = (
        a["metadata"]["name"].as_str().unwrap(),
        b["metadata"]["name"].as_str().unwrap(),
    );
    assert!(na.starts_with("cfg-") && na.len() == 9, "{na}");
    assert_ne!(na, nb);
    // dryRun=All validates and answers but stores nothing
    let dry = c
        .post(&format!("{CONFIGMAPS}?dryRun=All"), &configmap("ghost"))
        .await
        .expect(201);
    assert_eq!(dry["metadata"]["name"], "ghost");
    assert_eq!(c.get(&format!("{CONFIGMAPS}/ghost")).await.status, 404);
    c.post(&format!("{CONFIGMAPS}?dryRun=Maybe"), &configmap("ghost"))
        .await
        .expect_status(400, "BadRequest", "");
}

pub async fn validation_errors_are_statuses(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    let bad_name = c.post(PODS, &pod("Web_1")).await;
    bad_name.expect_status(422, "Invalid", "");
    let msg = bad_name.body["message"].as_str().unwrap();
    assert!(msg.starts_with(r#"Pod "Web_1" is invalid: metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain"#), "{msg}");
    let cause = &bad_name.body["details"]["causes"][0];
    assert_eq!(cause["field"], "metadata.name");
    assert_eq!(cause["reason"], "FieldValueInvalid");
    assert_eq!(bad_name.body["details"]["kind"], "Pod");

    let no_containers = json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "empty" }, "spec": { "containers": [] } });
    c.post(PODS, &no_containers).await.expect_status(
        422,
        "Invalid",
        r#"Pod "empty" is invalid: spec.containers: Required value"#,
    );

    let no_name = json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": {} });
    c.post(CONFIGMAPS, &no_name).await.expect_status(
        422,
        "Invalid",
        r#"ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required"#,
    );

    let mut long_label = configmap("labels");
    long_label["metadata"]["labels"] = json!({ "k": "x".repeat(64) });
    let r = c.post(CONFIGMAPS, &long_label).await;
    r.expect_status(422, "Invalid", "");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("must be no more than 63 characters"),
        "{}",
        r.body
    );

    c.post(PODS, &configmap("wrong-kind")).await.expect_status(
        400,
        "BadRequest",
        "the kind in the data (ConfigMap) does not match the expected kind (Pod)",
    );
    let mut wrong_version = pod("v");
    wrong_version["apiVersion"] = json!("apps/v1");
    c.post(PODS, &wrong_version).await.expect_status(
        400,
        "BadRequest",
        "the API version in the data (apps/v1) does not match the expected API version (v1)",
    );
    let r = c
        .send(
            reqwest::Method::POST,
            PODS,
            "application/json",
            Some(b"{\"metadata\": ".to_vec()),
        )
        .await;
    r.expect_status(400, "BadRequest", "");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .starts_with(r#"Pod in version "v1" cannot be handled as a Pod:"#)
    );
    let r = c
        .send(
            reqwest::Method::POST,
            PODS,
            "application/json",
            Some(br#"{"spec":{"containers":"nope"}}"#.to_vec()),
        )
        .await;
    r.expect_status(400, "BadRequest", "");

    let mut other_ns = pod("elsewhere");
    other_ns["metadata"]["namespace"] = json!("kube-system");
    c.post(PODS, &other_ns).await.expect_status(
        400,
        "BadRequest",
        "the namespace of the provided object does not match the namespace sent on the request",
    );
    c.post("/api/v1/namespaces/nope/pods", &pod("x"))
        .await
        .expect_status(404, "NotFound", r#"namespaces "nope" not found"#);
    c.post(PODS, &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "rv", "resourceVersion": "5"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}))
        .await
        .expect_status(400, "BadRequest", "resourceVersion should not be set on objects to be created");

    // duplicates
    c.post(CONFIGMAPS, &configmap("dup")).await.expect(201);
    c.post(CONFIGMAPS, &configmap("dup")).await.expect_status(
        409,
        "AlreadyExists",
        r#"configmaps "dup" already exists"#,
    );
    let r = c.post("/apis/apps/v1/namespaces/default/deployments", &json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}
    })).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = c
        .get("/apis/apps/v1/namespaces/default/deployments/nope")
        .await;
    r.expect_status(404, "NotFound", r#"deployments.apps "nope" not found"#);
    assert_eq!(r.body["details"]["group"], "apps");
}

pub async fn http_level_errors(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    c.get("/api/v1/namespaces/default/widgets")
        .await
        .expect_status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    c.get("/nope").await.expect_status(404, "NotFound", "");
    c.get("/api/v1/namespaces/default/nodes")
        .await
        .expect_status(404, "NotFound", "");
    c.get(&format!("{PODS}/x/frobnicate"))
        .await
        .expect_status(404, "NotFound", "");
    // a body over 3 MiB, streamed without a length: read up to the limit, then refused
    // (exactly one byte over, so the server has read it all when it answers
    // and the client is not cut off mid-write)
    let mut chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..3).map(|_| Ok(vec![b' '; 1024 * 1024])).collect();
    chunks.push(Ok(vec![b' ']));
    let streamed = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let r = reqwest::Client::new()
        .post(format!("{}{CONFIGMAPS}", c.base))
        .header("Content-Type", "application/json")
        .body(streamed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["reason"], "RequestEntityTooLarge");
    assert_eq!(
        body["message"],
        "Request entity too large: limit is 3145728"
    );
    // a declared length over the limit is refused before the body is read
    let head = raw_request(
        &c.base,
        &format!("POST {CONFIGMAPS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n"),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    // protobuf is read (kubectl 1.32+ sends it), so a malformed body is a 400
    c.send(
        reqwest::Method::POST,
        CONFIGMAPS,
        "application/vnd.kubernetes.protobuf",
        Some(b"\x00".to_vec()),
    )
    .await
    .expect_status(
        400,
        "BadRequest",
        "not a Kubernetes protobuf object (the body must start with \"k8s\\x00\")",
    );
    c.send(
        reqwest::Method::POST,
        CONFIGMAPS,
        "application/cbor",
        Some(b"\xa0".to_vec()),
    )
    .await
    .expect_status(415, "UnsupportedMediaType", "");
    c.send(
        reqwest::Method::PATCH,
        &format!("{CONFIGMAPS}/x"),
        "text/plain",
        Some(b"{}".to_vec()),
    )
    .await
    .expect_status(415, "UnsupportedMediaType", "");
    c.send(
        reqwest::Method::PUT,
        CONFIGMAPS,
        "application/json",
        Some(b"{}".to_vec()),
    )
    .await
    .expect_status(405, "MethodNotAllowed", "");
    c.post("/api/v1/pods", &pod("no-namespace"))
        .await
        .expect_status(405, "MethodNotAllowed", "");
    c.get(&format!("{PODS}?limit=ten"))
        .await
        .expect_status(400, "BadRequest", "");
}

pub async fn patches(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    let created = c.post(PODS, &pod("p")).await.expect(201);
    let path = format!("{PODS}/p");
    let merged = c
        .merge_patch(
            &path,
            &json!({ "metadata": { "labels": { "tier": "web", "app": null } } }),
        )
        .await
        .expect(200);
    assert_eq!(merged["metadata"]["labels"], json!({ "tier": "web" }));
    assert!(rv(&merged) > rv(&created));

    let patched = c
        .json_patch(
            &path,
            &json!([{ "op": "replace", "path": "/spec/containers/0/image", "value": "nginx:2" }]),
        )
        .await
        .expect(200);
    assert_eq!(patched["spec"]["containers"][0]["image"], "nginx:2");
    assert_eq!(patched["metadata"]["generation"], 2);

    // a failing test operation changes nothing
    let r = c
        .json_patch(&path, &json!([{ "op": "test", "path": "/metadata/name", "value": "q" }, { "op": "remove", "path": "/metadata/labels" }]))
        .await;
    r.expect_status(422, "Invalid", "");
    assert_eq!(
        c.get(&path).await.expect(200)["metadata"]["labels"],
        json!({ "tier": "web" })
    );

    // a resourceVersion in a merge patch is a precondition
    c.merge_patch(&path, &json!({ "metadata": { "resourceVersion": created["metadata"]["resourceVersion"], "labels": { "x": "y" } } }))
        .await
        .expect_status(409, "Conflict", "");
    // immutable fields stay immutable through patches
    let r = c
        .json_patch(
            &path,
            &json!([{ "op": "replace", "path": "/spec/containers/0/name", "value": "renamed" }]),
        )
        .await;
    r.expect_status(422, "Invalid", "");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("pod updates may not change fields"),
        "{}",
        r.body
    );
    // patching something that does not exist
    c.merge_patch(&format!("{PODS}/missing"), &json!({}))
        .await
        .expect_status(404, "NotFound", r#"pods "missing" not found"#);
    c.send(
        reqwest::Method::PATCH,
        &path,
        "application/json-patch+json",
        Some(b"{not json".to_vec()),
    )
    .await
    .expect_status(400, "BadRequest", "");
    c.send(
        reqwest::Method::PATCH,
        &path,
        "application/merge-patch+json",
        Some(b"[1]".to_vec()),
    )
    .await
    .expect_status(400, "BadRequest", "");
}

pub async fn status_subresource_separates_spec_and_status(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    let created = c.post(PODS, &pod("s")).await.expect(201);
    // a status write cannot change the spec ...
    let mut both = created.clone();
    both["spec"]["containers"][0]["image"] = json!("changed:1");
    both["status"]["phase"] = json!("Running");
    both["status"]["podIP"] = json!("10.0.0.5");
    let after_status = c.put(&format!("{PODS}/s/status"), &both).await.expect(200);
    assert_eq!(after_status["status"]["phase"], "Running");
    assert_eq!(after_status["spec"]["containers"][0]["image"], "nginx:1.25");
    // ... and a main write cannot change the status
    let mut main = after_status.clone();
    main["status"]["phase"] = json!("Failed");
    main["metadata"]["labels"]["new"] = json!("label");
    let after_main = c.put(&format!("{PODS}/s"), &main).await.expect(200);
    assert_eq!(after_main["status"]["phase"], "Running");
    assert_eq!(after_main["metadata"]["labels"]["new"], "label");
    // status patches work too
    let patched = c
        .merge_patch(
            &format!("{PODS}/s/status"),
            &json!({ "status": { "phase": "Succeeded" } }),
        )
        .await
        .expect(200);
    assert_eq!(patched["status"]["phase"], "Succeeded");
    assert_eq!(
        c.get(&format!("{PODS}/s/status")).await.expect(200)["status"]["phase"],
        "Succeeded"
    );
    // kinds without status have no /status
    c.post(CONFIGMAPS, &configmap("cm")).await.expect(201);
    c.get(&format!("{CONFIGMAPS}/cm/status"))
        .await
        .expect_status(404, "NotFound", "");
}

pub async fn binding_assigns_a_node_once(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    c.post(PODS, &pod("b")).await.expect(201);
    let r = bind(c, "default", "b", "node-1").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "Success");
    let got = c.get(&format!("{PODS}/b")).await.expect(200);
    assert_eq!(got["spec"]["nodeName"], "node-1");
    let cond = &got["status"]["conditions"][0];
    assert_eq!(
        (cond["type"].as_str(), cond["status"].as_str()),
        (Some("PodScheduled"), Some("True"))
    );
    bind(c, "default", "b", "node-2").await.expect_status(
        409,
        "Conflict",
        r#"Operation cannot be fulfilled on pods/binding "b": pod b is already assigned to node "node-1""#,
    );
    bind(c, "default", "missing", "node-1").await.expect_status(
        404,
        "NotFound",
        r#"pods "missing" not found"#,
    );
    // users cannot move a pod with an update either
    let mut moved = got.clone();
    moved["spec"]["nodeName"] = json!("node-2");
    c.put(&format!("{PODS}/b"), &moved)
        .await
        .expect_status(422, "Invalid", "");
}

pub async fn cluster_scoped_nodes(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    let node = json!({
        "apiVersion": "v1", "kind": "Node", "metadata": { "name": "node-1", "namespace": "ignored" },
        "spec": { "podCIDR": "10.244.1.0/24", "taints": [{ "key": "k", "effect": "NoSchedule" }] },
        "status": { "capacity": { "cpu": "4", "pods": "110" }, "conditions": [{ "type": "Ready", "status": "True" }] }
    });
    let created = c.post("/api/v1/nodes", &node).await.expect(201);
    assert!(
        created["metadata"].get("namespace").is_none(),
        "cluster-scoped objects have no namespace"
    );
    assert_eq!(
        created["status"]["capacity"]["cpu"], "4",
        "kubelets register with status"
    );
    let list = c.get("/api/v1/nodes").await.expect(200);
    assert_eq!(list["kind"], "NodeList");
    assert_eq!(list["items"][0]["metadata"]["name"], "node-1");
    let mut bad = created.clone();
    bad["spec"]["podCIDR"] = json!("10.244.2.0/24");
    c.put("/api/v1/nodes/node-1", &bad)
        .await
        .expect_status(422, "Invalid", "");
    c.get("/api/v1/nodes?fieldSelector=spec.unschedulable%3Dfalse")
        .await
        .expect(200);
    c.delete("/api/v1/nodes/node-1").await.expect(200);
    c.get("/api/v1/nodes/node-1").await.expect_status(
        404,
        "NotFound",
        r#"nodes "node-1" not found"#,
    );
}

/// Sends raw bytes and returns what the server answers before closing or
/// going quiet for 2 s.
async fn raw_request(base: &str, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(2), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

pub async fn scale_subresource(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    let template = json!({ "metadata": { "labels": { "app": "web" } }, "spec": { "containers": [{ "name": "c", "image": "nginx:1.25" }] } });
    let workloads = [
        (
            "/apis/apps/v1/namespaces/default/deployments",
            json!({ "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "w" },
            "spec": { "selector": { "matchLabels": { "app": "web" } }, "template": template } }),
        ),
        (
            "/apis/apps/v1/namespaces/default/replicasets",
            json!({ "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": { "name": "w" },
            "spec": { "selector": { "matchLabels": { "app": "web" } }, "template": template } }),
        ),
        (
            "/api/v1/namespaces/default/replicationcontrollers",
            json!({ "apiVersion": "v1", "kind": "ReplicationController", "metadata": { "name": "w" },
            "spec": { "selector": { "app": "web" }, "template": template } }),
        ),
    ];
    for (path, obj) in workloads {
        let created = c.post(path, &obj).await.expect(201);
        assert_eq!(
            created["spec"]["replicas"], 1,
            "{path}: replicas default to 1"
        );
        let scale = c.get(&format!("{path}/w/scale")).await.expect(200);
        assert_eq!(scale["kind"], "Scale");
        assert_eq!(scale["apiVersion"], "autoscaling/v1");
        assert_eq!(scale["spec"]["replicas"], 1);
        assert_eq!(scale["status"]["selector"], "app=web");
        assert_eq!(
            scale["metadata"]["resourceVersion"],
            created["metadata"]["resourceVersion"]
        );
        // PUT, as `kubectl scale --replicas=3` with a resourceVersion precondition
        let mut put = scale.clone();
        put["spec"]["replicas"] = json!(3);
        let scaled = c.put(&format!("{path}/w/scale"), &put).await.expect(200);
        assert_eq!(scaled["spec"]["replicas"], 3);
        let parent = c.get(&format!("{path}/w")).await.expect(200);
        assert_eq!(parent["spec"]["replicas"], 3);
        assert_eq!(
            parent["metadata"]["generation"], 2,
            "{path}: replicas are spec"
        );
        // the stale Scale loses
        c.put(&format!("{path}/w/scale"), &put)
            .await
            .expect_status(409, "Conflict", "");
        // PATCH, as `kubectl scale` sends it
        let patched = c
            .merge_patch(
                &format!("{path}/w/scale"),
                &json!({ "spec": { "replicas": 5 } }),
            )
            .await
            .expect(200);
        assert_eq!(patched["spec"]["replicas"], 5);
        let mut negative = patched.clone();
        negative["spec"]["replicas"] = json!(-1);
        c.put(&format!("{path}/w/scale"), &negative)
            .await
            .expect_status(422, "Invalid", "");
    }
    c.post(CONFIGMAPS, &configmap("cm")).await.expect(201);
    c.get(&format!("{CONFIGMAPS}/cm/scale"))
        .await
        .expect_status(404, "NotFound", "");
}
