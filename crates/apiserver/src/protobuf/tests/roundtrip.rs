//! Every table checked against two independent descriptions of the API:
//!
//! - `k8s-pb`: prost types generated from Kubernetes' `generated.proto`.
//!   A random object encoded from our table is decoded and re-encoded by
//!   prost; prost drops field numbers it does not know and rejects wrong
//!   wire types, so decoding its bytes must give the same JSON again.
//! - `k8s-openapi`: serde types generated from Kubernetes' OpenAPI. Our JSON
//!   goes through them; a field under a wrong JSON name would be dropped, so
//!   every value we wrote must come back out (they add defaults for fields
//!   they require, which is fine).

use k8s_openapi::api as oa;
use k8s_pb::api as pb;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as pb_meta;
use rand::{SeedableRng, rngs::StdRng};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

use super::encode::Gen;
use crate::protobuf::{decode, tables};

fn prost_reencode(kind: &str, bytes: &[u8]) -> Vec<u8> {
    fn re<T: prost::Message + Default>(bytes: &[u8]) -> Vec<u8> {
        T::decode(bytes)
            .unwrap_or_else(|e| panic!("prost: {e}"))
            .encode_to_vec()
    }
    match kind {
        "Namespace" => re::<pb::core::v1::Namespace>(bytes),
        "Pod" => re::<pb::core::v1::Pod>(bytes),
        "Node" => re::<pb::core::v1::Node>(bytes),
        "Service" => re::<pb::core::v1::Service>(bytes),
        "Endpoints" => re::<pb::core::v1::Endpoints>(bytes),
        "ConfigMap" => re::<pb::core::v1::ConfigMap>(bytes),
        "Secret" => re::<pb::core::v1::Secret>(bytes),
        "Event" => re::<pb::core::v1::Event>(bytes),
        "ServiceAccount" => re::<pb::core::v1::ServiceAccount>(bytes),
        "ReplicationController" => re::<pb::core::v1::ReplicationController>(bytes),
        "Binding" => re::<pb::core::v1::Binding>(bytes),
        "Deployment" => re::<pb::apps::v1::Deployment>(bytes),
        "ReplicaSet" => re::<pb::apps::v1::ReplicaSet>(bytes),
        "EndpointSlice" => re::<pb::discovery::v1::EndpointSlice>(bytes),
        "Lease" => re::<pb::coordination::v1::Lease>(bytes),
        "Scale" => re::<pb::autoscaling::v1::Scale>(bytes),
        "DeleteOptions" => re::<pb_meta::DeleteOptions>(bytes),
        other => panic!("no k8s-pb type for {other}"),
    }
}

fn through_openapi(kind: &str, json: Value) -> Value {
    fn via<T: DeserializeOwned + Serialize>(json: Value) -> Value {
        let typed: T = serde_json::from_value(json).unwrap_or_else(|e| panic!("k8s-openapi: {e}"));
        serde_json::to_value(typed).unwrap()
    }
    match kind {
        "Namespace" => via::<oa::core::v1::Namespace>(json),
        "Pod" => via::<oa::core::v1::Pod>(json),
        "Node" => via::<oa::core::v1::Node>(json),
        "Service" => via::<oa::core::v1::Service>(json),
        "Endpoints" => via::<oa::core::v1::Endpoints>(json),
        "ConfigMap" => via::<oa::core::v1::ConfigMap>(json),
        "Secret" => via::<oa::core::v1::Secret>(json),
        "Event" => via::<oa::core::v1::Event>(json),
        "ServiceAccount" => via::<oa::core::v1::ServiceAccount>(json),
        "ReplicationController" => via::<oa::core::v1::ReplicationController>(json),
        "Binding" => via::<oa::core::v1::Binding>(json),
        "Deployment" => via::<oa::apps::v1::Deployment>(json),
        "ReplicaSet" => via::<oa::apps::v1::ReplicaSet>(json),
        "EndpointSlice" => via::<oa::discovery::v1::EndpointSlice>(json),
        "Lease" => via::<oa::coordination::v1::Lease>(json),
        "Scale" => via::<oa::autoscaling::v1::Scale>(json),
        "DeleteOptions" => {
            via::<k8s_openapi::apimachinery::pkg::apis::meta::v1::DeleteOptions>(json)
        }
        other => panic!("no k8s-openapi type for {other}"),
    }
}

/// Every value in `ours` is in `theirs`, at the same path.
fn assert_subset(ours: &Value, theirs: &Value, path: &str) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let Some(w) = b.get(k) else {
                    panic!(
                        "{path}.{k} lost (wrong JSON name?); theirs has {:?}",
                        b.keys()
                    );
                };
                assert_subset(v, w, &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path}: list lengths");
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                assert_subset(v, w, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(ours, theirs, "{path}"),
    }
}

/// The distinct kinds (DeleteOptions is listed once per group version).
fn kinds() -> Vec<(
    &'static str,
    &'static str,
    &'static crate::protobuf::schema::Message,
)> {
    let mut seen = Vec::new();
    for &(v, k, m) in tables::KINDS {
        if !seen.iter().any(|&(_, k2, _)| k2 == k) {
            seen.push((v, k, m));
        }
    }
    seen
}

#[test]
fn full_objects_match_k8s_pb_and_k8s_openapi() {
    for (api_version, kind, table) in kinds() {
        for seed in 0..3 {
            let mut g = Gen {
                rng: StdRng::seed_from_u64(seed),
                full: true,
            };
            let (bytes, want) = g.message(table, 0);
            let want = Value::Object(want);
            let got = Value::Object(decode::object(table, &bytes).unwrap());
            assert_eq!(got, want, "{kind}: our own bytes");

            let prost = prost_reencode(kind, &bytes);
            let again = Value::Object(decode::object(table, &prost).unwrap());
            assert_eq!(again, want, "{kind}: after k8s-pb");

            let mut with_type = Map::new();
            with_type.insert("apiVersion".into(), api_version.into());
            with_type.insert("kind".into(), kind.into());
            if let Value::Object(fields) = &want {
                with_type.extend(fields.clone());
            }
            let with_type = Value::Object(with_type);
            let theirs = through_openapi(kind, with_type.clone());
            assert_subset(&with_type, &theirs, kind);
        }
    }
}

#[test]
fn random_objects_survive_k8s_pb() {
    for (_, kind, table) in kinds() {
        for seed in 0..40 {
            let mut g = Gen {
                rng: StdRng::seed_from_u64(1000 + seed),
                full: false,
            };
            let (bytes, want) = g.message(table, 0);
            let want = Value::Object(want);
            let got = Value::Object(decode::object(table, &bytes).unwrap());
            assert_eq!(got, want, "{kind} seed {seed}: our own bytes");
            let prost = prost_reencode(kind, &bytes);
            let again = Value::Object(decode::object(table, &prost).unwrap());
            assert_eq!(again, want, "{kind} seed {seed}: after k8s-pb");
        }
    }
}
