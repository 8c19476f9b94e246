//! Malformed input of every kind: the server must answer each with a
//! client error (4xx), never a panic or a 500, and keep serving.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::harness::*;

/// A tiny deterministic generator (no dependency, reproducible failures).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() as usize) % n.max(1)
    }
}

/// Replaces a random leaf of `v` with a value of another type or size.
fn mutate(v: &mut Value, rng: &mut Lcg) {
    let replacement = match rng.below(9) {
        0 => json!(null),
        1 => json!(12345678901234i64),
        2 => json!(-1),
        3 => json!("x".repeat(rng.below(70_000))),
        4 => json!(["a", 1, null]),
        5 => json!({ "nested": { "deeper": true } }),
        6 => json!(true),
        7 => json!(""),
        _ => json!("Bad_Value!"),
    };
    replace_leaf(v, replacement, rng);
}

fn replace_leaf(v: &mut Value, replacement: Value, rng: &mut Lcg) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            let keys: Vec<String> = m.keys().cloned().collect();
            let k = keys[rng.below(keys.len())].clone();
            if rng.below(3) == 0 {
                m.insert(k, replacement);
            } else if let Some(child) = m.get_mut(&k) {
                replace_leaf(child, replacement, rng);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let i = rng.below(a.len());
            replace_leaf(&mut a[i], replacement, rng);
        }
        other => *other = replacement,
    }
}

fn samples() -> Vec<(&'static str, Value)> {
    let mut full = pod("fz");
    full["spec"]["containers"][0]["ports"] = json!([{ "containerPort": 80, "name": "http" }]);
    full["spec"]["containers"][0]["resources"] =
        json!({ "limits": { "cpu": "1", "memory": "1Gi" } });
    full["spec"]["containers"][0]["livenessProbe"] =
        json!({ "httpGet": { "port": 80 }, "periodSeconds": 5 });
    full["spec"]["tolerations"] = json!([{ "key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5 }]);
    vec![
        (PODS, full),
        (CONFIGMAPS, configmap("fz")),
        (
            "/api/v1/nodes",
            json!({ "apiVersion": "v1", "kind": "Node", "metadata": { "name": "fz" }, "spec": { "podCIDR": "10.0.0.0/24" } }),
        ),
        (
            "/api/v1/namespaces",
            json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "fz" } }),
        ),
        (
            "/apis/apps/v1/namespaces/default/deployments",
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "fz" },
                "spec": { "replicas": 2, "selector": { "matchLabels": { "a": "b" } },
                          "template": { "metadata": { "labels": { "a": "b" } }, "spec": { "containers": [{ "name": "c", "image": "i" }] } } }
            }),
        ),
        (
            "/api/v1/namespaces/default/services",
            json!({
                "apiVersion": "v1", "kind": "Service", "metadata": { "name": "fz" },
                "spec": { "selector": { "a": "b" }, "ports": [{ "port": 80, "targetPort": "http" }] }
            }),
        ),
    ]
}

#[track_caller]
fn assert_client_error(r: &Resp, what: &str) {
    assert!(r.status < 500, "{what}: {} {}", r.status, r.body);
    if r.status >= 400 {
        assert_eq!(
            r.body["kind"], "Status",
            "{what}: error bodies are Status objects: {}",
            r.body
        );
    }
}

pub async fn malformed_input_never_breaks_the_server(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    let mut rng = Lcg(0x5eed);
    for (path, sample) in samples() {
        for i in 0..60 {
            let mut body = sample.clone();
            for _ in 0..=rng.below(3) {
                mutate(&mut body, &mut rng);
            }
            // unique names so creates don't just collide
            if body["metadata"].is_object() && body["metadata"]["name"] == "fz" {
                body["metadata"]["name"] = json!(format!("fz-{i}"));
            }
            let r = c.post(path, &body).await;
            assert_client_error(&r, &format!("POST {path} {body:.300}"));
            if r.status == 201 {
                let name = r.body["metadata"]["name"].as_str().unwrap().to_string();
                let mut again = r.body.clone();
                mutate(&mut again, &mut rng);
                let r = c.put(&format!("{path}/{name}"), &again).await;
                assert_client_error(&r, &format!("PUT {path}/{name}"));
                let r = c.merge_patch(&format!("{path}/{name}"), &again).await;
                assert_client_error(&r, &format!("merge PATCH {path}/{name}"));
                let ops = json!([{ "op": "replace", "path": format!("/spec/{}", rng.below(5)), "value": again["spec"] }]);
                let r = c.json_patch(&format!("{path}/{name}"), &ops).await;
                assert_client_error(&r, &format!("json PATCH {path}/{name}"));
            }
        }
        // raw bytes that are not JSON at all
        for len in [0, 1, 7, 300] {
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let r = c
                .send(reqwest::Method::POST, path, "application/json", Some(bytes))
                .await;
            assert_client_error(&r, &format!("POST {path} random bytes"));
        }
    }
    // deep nesting must not overflow the stack
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = c
        .send(
            reqwest::Method::POST,
            CONFIGMAPS,
            "application/json",
            Some(deep.into_bytes()),
        )
        .await;
    assert_client_error(&r, "deeply nested body");
    // huge label maps and labels
    let mut cm = configmap("labels");
    cm["metadata"]["labels"] =
        Value::Object((0..5000).map(|i| (format!("k{i}"), json!("v"))).collect());
    assert_client_error(&c.post(CONFIGMAPS, &cm).await, "5000 labels");
    cm["metadata"]["labels"] = json!({ "x".repeat(300): "v" });
    assert_eq!(c.post(CONFIGMAPS, &cm).await.status, 422);
    // junk in query parameters
    for q in [
        "labelSelector=%28%28%28",
        "labelSelector=a%20in%20",
        "labelSelector=!!!",
        "fieldSelector=%3D%3D%3D",
        "fieldSelector=metadata.name",
        "resourceVersion=-1",
        "resourceVersion=1e10",
        "limit=-5",
        "limit=99999999999999999999",
        "continue=%00%01",
        "timeoutSeconds=abc",
        "watch=true&resourceVersion=xyz",
        "watch=true&labelSelector=%28",
        "resourceVersionMatch=Sideways&resourceVersion=1",
    ] {
        let r = c.get(&format!("{PODS}?{q}")).await;
        assert_client_error(&r, q);
    }
    for path in [
        "/api/v1/namespaces/%ff/pods",
        "/api/v1/namespaces/a/pods/%2e%2e",
        "/apis/x/y/z",
        "/api/v1/namespaces//pods",
    ] {
        let r = c.get(path).await;
        assert_client_error(&r, path);
    }
    assert_eq!(c.get("/readyz").await.status, 200, "still serving");
}
