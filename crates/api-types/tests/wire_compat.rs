//! Wire compatibility with Kubernetes JSON, checked against `k8s-openapi`.
//!
//! For every fixture in `tests/fixtures/`:
//! 1. the YAML parses into our type, and our JSON equals the fixture's JSON
//!    value exactly (so no field the fixture uses is dropped, renamed or
//!    reshaped);
//! 2. our JSON parses as the `k8s-openapi` type, whose JSON is again the same
//!    value, and parses back into an object equal to ours.
//!
//! Fixtures are written in canonical wire form (quantities as strings, file
//! modes in decimal, timestamps in UTC) so that step 1 can compare exactly.

use std::fmt::Debug;
use std::path::Path;

use api_types::apps::v1 as apps;
use api_types::coordination::v1 as coordination;
use api_types::core::v1 as core;
use api_types::discovery::v1 as discovery;
use k8s_openapi::api::apps::v1 as k8s_apps;
use k8s_openapi::api::coordination::v1 as k8s_coordination;
use k8s_openapi::api::core::v1 as k8s_core;
use k8s_openapi::api::discovery::v1 as k8s_discovery;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Paths (like `spec.containers[0].ports`) where two JSON values differ.
fn differences(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                let p = format!("{path}.{k}");
                match y.get(k) {
                    Some(w) => differences(v, w, &p, out),
                    None => out.push(format!("{p}: only on the left ({v})")),
                }
            }
            for (k, w) in y {
                if !x.contains_key(k) {
                    out.push(format!("{path}.{k}: only on the right ({w})"));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                differences(v, w, &format!("{path}[{i}]"), out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} != {b}")),
        _ => {}
    }
}

fn assert_same_json(what: &str, left: &Value, right: &Value) {
    let mut diffs = Vec::new();
    differences(left, right, "", &mut diffs);
    assert!(diffs.is_empty(), "{what}:\n  {}", diffs.join("\n  "));
}

/// Runs both checks for one fixture and returns our parsed object.
fn check<Ours, Theirs>(name: &str) -> Ours
where
    Ours: Serialize + DeserializeOwned + PartialEq + Debug,
    Theirs: Serialize + DeserializeOwned,
{
    let yaml = fixture(name);
    let fixture_json: Value =
        serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("{name}: not YAML: {e}"));

    let ours: Ours =
        serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("{name}: our type rejects it: {e}"));
    let our_json = serde_json::to_value(&ours).expect("serialize ours");
    assert_same_json(
        &format!("{name}: fixture (left) vs ours (right)"),
        &fixture_json,
        &our_json,
    );

    let theirs: Theirs = serde_json::from_value(our_json.clone())
        .unwrap_or_else(|e| panic!("{name}: k8s-openapi rejects our JSON: {e}"));
    let their_json = serde_json::to_value(&theirs).expect("serialize theirs");
    assert_same_json(
        &format!("{name}: ours (left) vs k8s-openapi (right)"),
        &our_json,
        &their_json,
    );

    let back: Ours = serde_json::from_value(their_json)
        .unwrap_or_else(|e| panic!("{name}: we reject k8s-openapi's JSON: {e}"));
    assert_eq!(
        back, ours,
        "{name}: round trip through k8s-openapi changed the object"
    );
    ours
}

#[test]
fn myweb_pod() {
    let pod = check::<core::Pod, k8s_core::Pod>("myweb-pod.yaml");
    let spec = pod.spec.expect("spec");
    let c = &spec.containers[0];
    assert_eq!(c.image.as_deref(), Some("kubeguide/tomcat-app:v1"));
    let env = c.env.as_ref().expect("env");
    assert_eq!(env[1].name, "MYSQL_SERVICE_PORT");
    assert_eq!(env[1].value.as_deref(), Some("3306"));
}

#[test]
fn full_pod() {
    let pod = check::<core::Pod, k8s_core::Pod>("full-pod.yaml");
    let spec = pod.spec.expect("spec");
    let sidecar = &spec.init_containers.as_ref().expect("init containers")[1];
    assert_eq!(sidecar.restart_policy.as_deref(), Some("Always"));
    let volumes = spec.volumes.as_ref().expect("volumes");
    assert!(volumes.iter().any(|v| v.rbd.is_some()));
    assert!(volumes.iter().any(|v| v.glusterfs.is_some()));
    let status = pod.status.expect("status");
    assert_eq!(status.host_ips.as_ref().map(Vec::len), Some(2));
    let app = &status.container_statuses.as_ref().expect("statuses")[0];
    let last = app.last_state.as_ref().and_then(|s| s.terminated.as_ref());
    assert_eq!(last.map(|t| t.exit_code), Some(137));
}

#[test]
fn deployment() {
    let d = check::<apps::Deployment, k8s_apps::Deployment>("deployment.yaml");
    let rolling = d
        .spec
        .and_then(|s| s.strategy)
        .and_then(|s| s.rolling_update)
        .expect("rolling");
    assert_eq!(
        rolling.max_surge,
        Some(api_types::intstr::IntOrString::String("25%".into()))
    );
    assert_eq!(
        rolling.max_unavailable,
        Some(api_types::intstr::IntOrString::Int(1))
    );
}

#[test]
fn service() {
    let s = check::<core::Service, k8s_core::Service>("service.yaml");
    let ports = s.spec.and_then(|s| s.ports).expect("ports");
    assert_eq!(
        ports[0].target_port,
        Some(api_types::intstr::IntOrString::String("http".into()))
    );
    assert_eq!(ports[0].node_port, Some(30080));
}

#[test]
fn node() {
    let n = check::<core::Node, k8s_core::Node>("node.yaml");
    let port = n
        .status
        .and_then(|s| s.daemon_endpoints)
        .and_then(|d| d.kubelet_endpoint);
    assert_eq!(port.map(|p| p.port), Some(10250));
}

#[test]
fn configmap() {
    let cm = check::<core::ConfigMap, k8s_core::ConfigMap>("configmap.yaml");
    let bin = cm.binary_data.expect("binaryData");
    assert_eq!(&bin["logo.png"].0[1..4], b"PNG");
}

#[test]
fn secret() {
    let s = check::<core::Secret, k8s_core::Secret>("secret.yaml");
    let data = s.data.expect("data");
    assert_eq!(data["username"].0, b"admin");
    assert_eq!(data["binary"].0, [0x00, 0xff, 0xfe]);
}

#[test]
fn event() {
    check::<core::Event, k8s_core::Event>("event.yaml");
}

#[test]
fn lease() {
    check::<coordination::Lease, k8s_coordination::Lease>("lease.yaml");
}

#[test]
fn endpoints() {
    check::<core::Endpoints, k8s_core::Endpoints>("endpoints.yaml");
}

#[test]
fn endpointslice() {
    check::<discovery::EndpointSlice, k8s_discovery::EndpointSlice>("endpointslice.yaml");
}

#[test]
fn replicaset() {
    check::<apps::ReplicaSet, k8s_apps::ReplicaSet>("replicaset.yaml");
}

#[test]
fn replicationcontroller() {
    check::<core::ReplicationController, k8s_core::ReplicationController>(
        "replicationcontroller.yaml",
    );
}

#[test]
fn namespace() {
    check::<core::Namespace, k8s_core::Namespace>("namespace.yaml");
}

#[test]
fn serviceaccount() {
    check::<core::ServiceAccount, k8s_core::ServiceAccount>("serviceaccount.yaml");
}

/// Bodies that are only built in code (no fixture file): Binding and Scale.
#[test]
fn binding_and_scale_bodies() {
    let binding = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "web-0", "namespace": "default"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}
    });
    let ours: core::Binding = serde_json::from_value(binding.clone()).expect("binding");
    assert_same_json(
        "binding",
        &binding,
        &serde_json::to_value(&ours).expect("ser"),
    );
    let theirs: k8s_core::Binding = serde_json::from_value(binding.clone()).expect("theirs");
    assert_same_json(
        "binding vs k8s-openapi",
        &binding,
        &serde_json::to_value(&theirs).expect("ser"),
    );

    let scale = serde_json::json!({
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {"name": "web", "namespace": "default", "resourceVersion": "7"},
        "spec": {"replicas": 5},
        "status": {"replicas": 3, "selector": "app=web"}
    });
    let ours: api_types::autoscaling::v1::Scale =
        serde_json::from_value(scale.clone()).expect("scale");
    assert_same_json("scale", &scale, &serde_json::to_value(&ours).expect("ser"));
    let theirs: k8s_openapi::api::autoscaling::v1::Scale =
        serde_json::from_value(scale.clone()).expect("theirs");
    assert_same_json(
        "scale vs k8s-openapi",
        &scale,
        &serde_json::to_value(&theirs).expect("ser"),
    );
}

/// Empty optional fields are left out of the JSON entirely.
#[test]
fn empty_fields_are_omitted() {
    let pod = core::Pod {
        spec: Some(core::PodSpec {
            containers: vec![core::Container {
                name: "c".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&pod).expect("ser"),
        serde_json::json!({"metadata": {}, "spec": {"containers": [{"name": "c"}]}})
    );
}

/// Unknown fields are dropped (not rejected), as upstream's decoder does.
#[test]
fn unknown_fields_are_dropped() {
    let pod: core::Pod = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "bogus": 1}], "alsoBogus": true}
    }))
    .expect("unknown fields are accepted");
    assert_eq!(pod.spec.expect("spec").containers[0].name, "c");
}
