//! Objects the endpoint controllers' plan tests share: a Service `web` in
//! `ns` selecting `app=web`, and running pods behind it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use api_types::core::v1::{Pod, Service};
use serde_json::{Value, json};

/// Service `web` (port `http` 80 → named target port `http`), with the
/// fields of `spec` replaced by those given.
pub fn service(spec: Value) -> Service {
    let mut v = json!({
        "metadata": {"name": "web", "namespace": "ns", "uid": "svc-uid", "labels": {"team": "a"}},
        "spec": {
            "selector": {"app": "web"},
            "clusterIP": "10.96.0.10",
            "ipFamilies": ["IPv4"],
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
        }
    });
    for (k, val) in spec.as_object().unwrap() {
        v["spec"][k] = val.clone();
    }
    serde_json::from_value(v).unwrap()
}

/// A running pod `name` on node `n1` with IP `ip`, ready or not, whose
/// container names port `http` as `http_port`.
pub fn pod(name: &str, ip: &str, ready: bool, http_port: i32) -> Value {
    json!({
        "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"), "labels": {"app": "web"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i", "ports": [
            {"name": "http", "containerPort": http_port}
        ]}]},
        "status": {
            "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]
        }
    })
}

pub fn pods(v: Vec<Value>) -> Vec<Arc<Pod>> {
    v.into_iter()
        .map(|p| Arc::new(serde_json::from_value(p).unwrap()))
        .collect()
}
