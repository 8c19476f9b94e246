//! Tests for the protobuf decoder:
//! - real bodies captured from kubectl 1.33 decode to the JSON kubectl
//!   would have sent (`testdata/*.pb`);
//! - malformed bodies are errors, never panics (and a fuzz loop);
//! - the tables are well formed and cover every kind the registry serves;
//! - [`roundtrip`]: every table checked against `k8s-pb` (field numbers and
//!   wire types) and `k8s-openapi` (JSON names).

#![allow(clippy::unwrap_used)]

mod encode;
mod roundtrip;

use std::collections::HashSet;
use std::sync::Arc;

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};

use super::schema::{Message, Shape, Type};
use super::*;
use encode::{envelope, len_field, varint_field};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/src/protobuf/testdata/{name}.pb",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn decoded(body: &[u8]) -> Value {
    Value::Object(decode(body).unwrap())
}

/// The expected values are what the same kubectl prints for
/// `--dry-run=client -o json`: the JSON it would have sent.
#[test]
fn kubectl_bodies_decode_to_the_json_kubectl_would_send() {
    let cases = [
        (
            "namespace",
            json!({"apiVersion":"v1","kind":"Namespace","metadata":{"creationTimestamp":null,"name":"capns"},"spec":{},"status":{}}),
        ),
        (
            "configmap",
            json!({"apiVersion":"v1","data":{"a":"b","c":"d"},"kind":"ConfigMap","metadata":{"creationTimestamp":null,"name":"capcm"}}),
        ),
        (
            "secret-generic",
            json!({"apiVersion":"v1","data":{"bin":"AQI=","user":"YWRtaW4="},"kind":"Secret","metadata":{"creationTimestamp":null,"name":"capsec"}}),
        ),
        (
            "secret-docker-registry",
            json!({"apiVersion":"v1","data":{".dockerconfigjson":"eyJhdXRocyI6eyJ4Ijp7InVzZXJuYW1lIjoidSIsInBhc3N3b3JkIjoicCIsImF1dGgiOiJkVHB3In19fQ=="},"kind":"Secret","metadata":{"creationTimestamp":null,"name":"capdr"},"type":"kubernetes.io/dockerconfigjson"}),
        ),
        (
            "deployment",
            json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"creationTimestamp":null,"labels":{"app":"capdep"},"name":"capdep"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"capdep"}},"strategy":{},"template":{"metadata":{"creationTimestamp":null,"labels":{"app":"capdep"}},"spec":{"containers":[{"command":["sleep","10"],"image":"nginx:1.27","name":"nginx","ports":[{"containerPort":80}],"resources":{}}]}}},"status":{}}),
        ),
        (
            "service-clusterip",
            json!({"apiVersion":"v1","kind":"Service","metadata":{"creationTimestamp":null,"labels":{"app":"capsvc"},"name":"capsvc"},"spec":{"ports":[{"name":"80-8080","port":80,"protocol":"TCP","targetPort":8080},{"name":"443","port":443,"protocol":"TCP","targetPort":443}],"selector":{"app":"capsvc"},"type":"ClusterIP"},"status":{"loadBalancer":{}}}),
        ),
        (
            "service-nodeport",
            json!({"apiVersion":"v1","kind":"Service","metadata":{"creationTimestamp":null,"labels":{"app":"capnp"},"name":"capnp"},"spec":{"ports":[{"name":"80-8080","nodePort":30080,"port":80,"protocol":"TCP","targetPort":8080}],"selector":{"app":"capnp"},"type":"NodePort"},"status":{"loadBalancer":{}}}),
        ),
        (
            "service-loadbalancer",
            json!({"apiVersion":"v1","kind":"Service","metadata":{"creationTimestamp":null,"labels":{"app":"caplb"},"name":"caplb"},"spec":{"ports":[{"name":"80","port":80,"protocol":"TCP","targetPort":80}],"selector":{"app":"caplb"},"type":"LoadBalancer"},"status":{"loadBalancer":{}}}),
        ),
        (
            "service-externalname",
            json!({"apiVersion":"v1","kind":"Service","metadata":{"creationTimestamp":null,"labels":{"app":"capen"},"name":"capen"},"spec":{"externalName":"example.com","selector":{"app":"capen"},"type":"ExternalName"},"status":{"loadBalancer":{}}}),
        ),
        (
            "serviceaccount",
            json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"creationTimestamp":null,"name":"capsa"}}),
        ),
    ];
    for (name, want) in cases {
        assert_eq!(decoded(&fixture(name)), want, "{name}");
    }
}

#[test]
fn to_json_returns_json_bytes() {
    let json = to_json(&fixture("configmap")).unwrap();
    let v: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["data"]["a"], "b");
}

/// A body with one message built by hand: `raw` for `(apiVersion, kind)`.
fn body(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    envelope(api_version, kind, raw)
}

#[test]
fn special_types_become_json_scalars() {
    // A Pod with a container asking for 250m CPU, a probe on a named port,
    // and status times.
    let mut quantity = Vec::new();
    len_field(&mut quantity, 1, b"250m");
    let mut requests = Vec::new();
    len_field(&mut requests, 1, b"cpu");
    len_field(&mut requests, 2, &quantity);
    let mut resources = Vec::new();
    len_field(&mut resources, 2, &requests);

    let mut port = Vec::new();
    varint_field(&mut port, 1, 1);
    len_field(&mut port, 3, b"http");
    let mut http_get = Vec::new();
    len_field(&mut http_get, 2, &port);
    let mut handler = Vec::new();
    len_field(&mut handler, 2, &http_get);
    let mut probe = Vec::new();
    len_field(&mut probe, 1, &handler); // ProbeHandler, inlined in JSON
    varint_field(&mut probe, 2, 0); // initialDelaySeconds: 0 is left out

    let mut container = Vec::new();
    len_field(&mut container, 1, b"app");
    len_field(&mut container, 8, &resources);
    len_field(&mut container, 10, &probe);
    let mut spec = Vec::new();
    len_field(&mut spec, 2, &container);
    varint_field(&mut spec, 4, 0); // terminationGracePeriodSeconds: a pointer, kept

    let mut time = Vec::new();
    varint_field(&mut time, 1, 1_700_000_000);
    varint_field(&mut time, 2, 123_456_789);
    let mut status = Vec::new();
    len_field(&mut status, 7, &time); // startTime
    let mut pod = Vec::new();
    len_field(&mut pod, 2, &spec);
    len_field(&mut pod, 3, &status);

    assert_eq!(
        decoded(&body("v1", "Pod", &pod)),
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "spec": {
                "containers": [{
                    "name": "app",
                    "resources": {"requests": {"cpu": "250m"}},
                    "livenessProbe": {"httpGet": {"port": "http"}},
                }],
                "terminationGracePeriodSeconds": 0,
            },
            // metav1.Time drops sub-second precision.
            "status": {"startTime": "2023-11-14T22:13:20Z"},
        })
    );
}

#[test]
fn micro_time_int_or_string_and_negative_numbers() {
    // A Lease: MicroTime keeps microseconds; leaseDurationSeconds is a
    // pointer, so even -1 (a 10-byte varint) comes through.
    let mut time = Vec::new();
    varint_field(&mut time, 1, 1_700_000_000);
    varint_field(&mut time, 2, 123_456_789);
    let mut spec = Vec::new();
    len_field(&mut spec, 1, b"me");
    varint_field(&mut spec, 2, -1i64 as u64);
    len_field(&mut spec, 4, &time);
    let mut lease = Vec::new();
    len_field(&mut lease, 2, &spec);
    assert_eq!(
        decoded(&body("coordination.k8s.io/v1", "Lease", &lease)),
        json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "spec": {
                "holderIdentity": "me",
                "leaseDurationSeconds": -1,
                "renewTime": "2023-11-14T22:13:20.123456Z",
            },
        })
    );

    // A Deployment's rolling update with maxUnavailable 0 (an int, kept:
    // zero is not "unset") and maxSurge "25%".
    let mut zero = Vec::new();
    varint_field(&mut zero, 1, 0);
    varint_field(&mut zero, 2, 0);
    let mut pct = Vec::new();
    varint_field(&mut pct, 1, 1);
    len_field(&mut pct, 3, b"25%");
    let mut rolling = Vec::new();
    len_field(&mut rolling, 1, &zero);
    len_field(&mut rolling, 2, &pct);
    let mut strategy = Vec::new();
    len_field(&mut strategy, 1, b"RollingUpdate");
    len_field(&mut strategy, 2, &rolling);
    let mut spec = Vec::new();
    varint_field(&mut spec, 1, 0); // replicas: 0, a pointer
    len_field(&mut spec, 4, &strategy);
    varint_field(&mut spec, 7, 0); // paused: false, omitempty
    let mut deployment = Vec::new();
    len_field(&mut deployment, 2, &spec);
    assert_eq!(
        decoded(&body("apps/v1", "Deployment", &deployment)),
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": {
                "replicas": 0,
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"},
                },
            },
        })
    );
}

#[test]
fn repeated_fields_accumulate_and_messages_merge() {
    // finalizers twice, packed supplementalGroups, metadata in two pieces.
    let mut meta1 = Vec::new();
    len_field(&mut meta1, 1, b"n");
    let mut meta2 = Vec::new();
    len_field(&mut meta2, 3, b"ns");
    len_field(&mut meta2, 14, b"a");
    len_field(&mut meta2, 14, b"b");
    let mut groups = Vec::new();
    encode::varint(&mut groups, 1);
    encode::varint(&mut groups, 70_000);
    let mut psc = Vec::new();
    len_field(&mut psc, 4, &groups);
    varint_field(&mut psc, 4, 5);
    let mut spec = Vec::new();
    len_field(&mut spec, 14, &psc);
    let mut pod = Vec::new();
    len_field(&mut pod, 1, &meta1);
    len_field(&mut pod, 1, &meta2);
    len_field(&mut pod, 2, &spec);
    assert_eq!(
        decoded(&body("v1", "Pod", &pod)),
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "n", "namespace": "ns", "finalizers": ["a", "b"]},
            "spec": {"securityContext": {"supplementalGroups": [1, 70000, 5]}},
        })
    );
}

#[test]
fn malformed_bodies_are_errors() {
    let cm = fixture("configmap");
    let err = |body: &[u8]| decode(body).unwrap_err().to_string();

    assert!(err(b"").contains("k8s\\x00"), "{}", err(b""));
    assert!(err(b"{\"kind\":\"Pod\"}").contains("not a Kubernetes protobuf object"));
    assert!(err(b"k8s\x00\x00").contains("invalid field number 0"));
    assert!(err(&cm[..cm.len() - 10]).contains("unexpected end of input"));

    // A field PodSpec does not have: named with its number and path.
    let mut container = Vec::new();
    len_field(&mut container, 1, b"c");
    varint_field(&mut container, 999, 1);
    let mut spec = Vec::new();
    len_field(&mut spec, 2, &container);
    let mut pod = Vec::new();
    len_field(&mut pod, 2, &spec);
    assert_eq!(
        err(&body("v1", "Pod", &pod)),
        "unknown field 999 in message Container at spec.containers[0]"
    );
    let api = to_json(&body("v1", "Pod", &pod)).unwrap_err();
    assert_eq!(api.code(), http::StatusCode::BAD_REQUEST);
    assert!(
        api.to_string()
            .starts_with("Pod in version \"v1\" cannot be handled as a Pod: unknown field 999"),
        "{api}"
    );

    // A string where an int belongs.
    let mut spec = Vec::new();
    len_field(&mut spec, 1, b"3");
    let mut rs = Vec::new();
    len_field(&mut rs, 2, &spec);
    assert_eq!(
        err(&body("apps/v1", "ReplicaSet", &rs)),
        "field 1 of ReplicaSetSpec at spec.replicas has wire type length-delimited, expected varint"
    );

    // Kinds and envelopes we do not read.
    assert_eq!(
        err(&body("batch/v1", "Job", b"")),
        "no kind \"Job\" is registered for version \"batch/v1\""
    );
    let mut unknown = cm[4..].to_vec();
    len_field(&mut unknown, 3, b"gzip");
    let gz = [b"k8s\x00".as_slice(), &unknown].concat();
    assert_eq!(err(&gz), "unsupported content encoding \"gzip\"");
    let mut unknown = cm[4..].to_vec();
    varint_field(&mut unknown, 9, 1);
    let extra = [b"k8s\x00".as_slice(), &unknown].concat();
    assert_eq!(err(&extra), "unknown field 9 in message Unknown");

    // Invalid UTF-8 and out-of-range times.
    let mut meta = Vec::new();
    len_field(&mut meta, 1, &[0xff, 0xfe]);
    let mut cm_raw = Vec::new();
    len_field(&mut cm_raw, 1, &meta);
    assert_eq!(
        err(&body("v1", "ConfigMap", &cm_raw)),
        "invalid UTF-8 in a string at metadata.name"
    );
    let mut time = Vec::new();
    varint_field(&mut time, 1, i64::MAX as u64);
    let mut meta = Vec::new();
    len_field(&mut meta, 8, &time);
    let mut cm_raw = Vec::new();
    len_field(&mut cm_raw, 1, &meta);
    assert_eq!(
        err(&body("v1", "ConfigMap", &cm_raw)),
        "time out of range at metadata.creationTimestamp"
    );
}

#[test]
fn every_truncation_of_a_real_body_is_an_error() {
    let body = fixture("deployment");
    // magic (4) + typeMeta field (2 + 0x15): then comes the raw object.
    // Cutting between whole envelope fields leaves a valid (if empty) body;
    // cutting inside the object never does. The last 4 bytes are the empty
    // contentEncoding and contentType fields.
    assert_eq!(body[5], 0x15);
    let raw_start = 4 + 2 + 0x15;
    for cut in 0..body.len() {
        let result = decode(&body[..cut]);
        if cut > raw_start && cut < body.len() - 4 {
            assert!(result.is_err(), "cut at {cut} decoded");
        }
    }
}

/// Random bytes, random mutations of real bodies, and random raw objects in
/// a valid envelope: errors are fine, panics are not.
#[test]
fn fuzz_never_panics() {
    let mut rng = StdRng::seed_from_u64(7);
    let seeds: Vec<Vec<u8>> = ["deployment", "service-clusterip", "secret-generic"]
        .iter()
        .map(|n| fixture(n))
        .collect();
    let kinds = tables::KINDS;
    for i in 0..20_000 {
        let body: Vec<u8> = match i % 3 {
            0 => {
                let len = rng.random_range(0..64);
                let mut b = b"k8s\x00".to_vec();
                b.extend((0..len).map(|_| rng.random::<u8>()));
                b
            }
            1 => {
                let mut b = seeds[i % seeds.len()].clone();
                for _ in 0..rng.random_range(1..4) {
                    let at = rng.random_range(0..b.len());
                    b[at] = rng.random();
                }
                b
            }
            _ => {
                let (v, k, _) = kinds[rng.random_range(0..kinds.len())];
                let len = rng.random_range(0..48);
                let raw: Vec<u8> = (0..len).map(|_| rng.random::<u8>()).collect();
                envelope(v, k, &raw)
            }
        };
        let _ = decode(&body);
        let _ = to_json(&body);
    }
}

/// Field numbers sorted and unique (the decoder binary-searches them), JSON
/// names unique within an object (inline structs included), only messages
/// inlined, and no table reachable from itself.
#[test]
fn tables_are_well_formed() {
    fn json_names(msg: &Message, out: &mut Vec<&'static str>) {
        for f in msg.fields {
            match (f.shape, f.ty) {
                (Shape::Inline, Type::Message(inner)) => json_names(inner, out),
                (Shape::Inline, _) => {
                    panic!("{}: field {} inlines a non-message", msg.name, f.number)
                }
                _ => out.push(f.json),
            }
        }
    }
    fn check(
        msg: &'static Message,
        stack: &mut Vec<&'static str>,
        seen: &mut HashSet<&'static str>,
    ) {
        assert!(
            !stack.contains(&msg.name),
            "cycle: {stack:?} -> {}",
            msg.name
        );
        if !seen.insert(msg.name) {
            return;
        }
        assert!(
            msg.fields.windows(2).all(|w| w[0].number < w[1].number),
            "{}: field numbers not sorted and unique",
            msg.name
        );
        let mut names = Vec::new();
        json_names(msg, &mut names);
        let unique: HashSet<_> = names.iter().collect();
        assert_eq!(
            unique.len(),
            names.len(),
            "{}: duplicate JSON names {names:?}",
            msg.name
        );
        assert!(
            names.iter().all(|n| !n.is_empty()),
            "{}: empty JSON name",
            msg.name
        );
        stack.push(msg.name);
        for f in msg.fields {
            if let Type::Message(inner) = f.ty {
                check(inner, stack, seen);
            }
        }
        stack.pop();
    }
    let mut seen = HashSet::new();
    for (_, _, msg) in tables::KINDS {
        check(msg, &mut Vec::new(), &mut seen);
    }
    assert!(seen.len() > 150, "only {} messages reachable", seen.len());
}

/// Every kind the registry serves, and the bodies of its subresources, can
/// arrive as protobuf.
#[tokio::test]
async fn every_installed_kind_has_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(storage::SqliteStorage::open(dir.path()).unwrap());
    let installed = crate::registry::install::install(storage, Default::default());
    let mut count = 0;
    for rest in installed.registry.all() {
        let info = rest.info();
        let api_version = info.api_version();
        assert!(
            tables::root(&api_version, info.kind).is_some(),
            "no protobuf table for {api_version} {}",
            info.kind
        );
        for sub in info.subresources {
            let (v, k) = match *sub {
                "scale" => ("autoscaling/v1", "Scale"),
                "binding" => ("v1", "Binding"),
                // status and finalize take the object itself.
                _ => (api_version.as_str(), info.kind),
            };
            assert!(tables::root(v, k).is_some(), "no table for {v} {k}");
        }
        count += 1;
    }
    assert!(count >= 14, "only {count} resources installed");
}
