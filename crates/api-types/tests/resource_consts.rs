//! Every kind reports the `Resource` constants upstream uses (checked
//! against `k8s-openapi` where it has them), and `set_type_meta` fills
//! `apiVersion`/`kind`.

use std::any::TypeId;

use api_types::apps::v1 as apps;
use api_types::autoscaling::v1 as autoscaling;
use api_types::coordination::v1 as coordination;
use api_types::core::v1 as core;
use api_types::discovery::v1 as discovery;
use api_types::{HasSpec, HasStatus, Resource};
use k8s_openapi::api::apps::v1 as k8s_apps;
use k8s_openapi::api::coordination::v1 as k8s_coordination;
use k8s_openapi::api::core::v1 as k8s_core;
use k8s_openapi::api::discovery::v1 as k8s_discovery;

/// Compares our constants with k8s-openapi's for the same kind.
fn same_as_k8s_openapi<Ours, Theirs>()
where
    Ours: Resource,
    Theirs: k8s_openapi::Resource,
    Theirs::Scope: 'static,
{
    assert_eq!(Ours::GROUP, Theirs::GROUP, "{}", Ours::KIND);
    assert_eq!(Ours::VERSION, Theirs::VERSION, "{}", Ours::KIND);
    assert_eq!(Ours::API_VERSION, Theirs::API_VERSION, "{}", Ours::KIND);
    assert_eq!(Ours::KIND, Theirs::KIND);
    assert_eq!(Ours::PLURAL, Theirs::URL_PATH_SEGMENT, "{}", Ours::KIND);
    let namespaced =
        TypeId::of::<Theirs::Scope>() == TypeId::of::<k8s_openapi::NamespaceResourceScope>();
    assert_eq!(Ours::NAMESPACED, namespaced, "{}", Ours::KIND);
    assert_eq!(Ours::SINGULAR, Ours::KIND.to_ascii_lowercase());
}

#[test]
fn constants_match_k8s_openapi() {
    same_as_k8s_openapi::<core::Pod, k8s_core::Pod>();
    same_as_k8s_openapi::<core::Node, k8s_core::Node>();
    same_as_k8s_openapi::<core::Namespace, k8s_core::Namespace>();
    same_as_k8s_openapi::<core::Service, k8s_core::Service>();
    same_as_k8s_openapi::<core::Endpoints, k8s_core::Endpoints>();
    same_as_k8s_openapi::<core::ConfigMap, k8s_core::ConfigMap>();
    same_as_k8s_openapi::<core::Secret, k8s_core::Secret>();
    same_as_k8s_openapi::<core::Event, k8s_core::Event>();
    same_as_k8s_openapi::<core::ServiceAccount, k8s_core::ServiceAccount>();
    same_as_k8s_openapi::<core::ReplicationController, k8s_core::ReplicationController>();
    same_as_k8s_openapi::<core::PodTemplate, k8s_core::PodTemplate>();
    same_as_k8s_openapi::<core::Binding, k8s_core::Binding>();
    same_as_k8s_openapi::<apps::ReplicaSet, k8s_apps::ReplicaSet>();
    same_as_k8s_openapi::<apps::Deployment, k8s_apps::Deployment>();
    same_as_k8s_openapi::<discovery::EndpointSlice, k8s_discovery::EndpointSlice>();
    same_as_k8s_openapi::<coordination::Lease, k8s_coordination::Lease>();
}

#[test]
fn short_names_as_kubectl() {
    assert_eq!(core::Pod::SHORT_NAMES, ["po"]);
    assert_eq!(core::Node::SHORT_NAMES, ["no"]);
    assert_eq!(core::Namespace::SHORT_NAMES, ["ns"]);
    assert_eq!(core::Service::SHORT_NAMES, ["svc"]);
    assert_eq!(core::Endpoints::SHORT_NAMES, ["ep"]);
    assert_eq!(core::ConfigMap::SHORT_NAMES, ["cm"]);
    assert_eq!(core::Event::SHORT_NAMES, ["ev"]);
    assert_eq!(core::ServiceAccount::SHORT_NAMES, ["sa"]);
    assert_eq!(core::ReplicationController::SHORT_NAMES, ["rc"]);
    assert_eq!(apps::ReplicaSet::SHORT_NAMES, ["rs"]);
    assert_eq!(apps::Deployment::SHORT_NAMES, ["deploy"]);
    assert!(core::Secret::SHORT_NAMES.is_empty());
    assert!(coordination::Lease::SHORT_NAMES.is_empty());
    assert!(discovery::EndpointSlice::SHORT_NAMES.is_empty());
    assert!(core::Binding::SHORT_NAMES.is_empty());
    assert!(autoscaling::Scale::SHORT_NAMES.is_empty());
}

#[test]
fn pod_and_deployment_constants() {
    assert_eq!(core::Pod::GROUP, "");
    assert_eq!(core::Pod::API_VERSION, "v1");
    assert_eq!(core::Pod::PLURAL, "pods");
    const { assert!(core::Pod::NAMESPACED) };
    const { assert!(!core::Node::NAMESPACED) };
    assert_eq!(apps::Deployment::GROUP, "apps");
    assert_eq!(apps::Deployment::API_VERSION, "apps/v1");
    assert_eq!(discovery::EndpointSlice::API_VERSION, "discovery.k8s.io/v1");
    assert_eq!(coordination::Lease::API_VERSION, "coordination.k8s.io/v1");
    // Scale is only a subresource body (k8s-openapi names its path
    // segment `scale`); we give it a plural so generic code can handle it.
    assert_eq!(autoscaling::Scale::API_VERSION, "autoscaling/v1");
    assert_eq!(autoscaling::Scale::PLURAL, "scales");
}

#[test]
fn set_type_meta_fills_api_version_and_kind() {
    let mut pod = core::Pod::default();
    assert_eq!(pod.type_meta(), ("", ""));
    pod.set_type_meta();
    assert_eq!(pod.type_meta(), ("v1", "Pod"));
    assert_eq!(pod.api_version, "v1");

    let mut d = apps::Deployment {
        kind: "Wrong".into(),
        ..Default::default()
    };
    d.set_type_meta();
    assert_eq!(
        (d.api_version.as_str(), d.kind.as_str()),
        ("apps/v1", "Deployment")
    );

    let mut lease = coordination::Lease::default();
    lease.set_type_meta();
    let json = serde_json::to_value(&lease).expect("ser");
    assert_eq!(json["apiVersion"], "coordination.k8s.io/v1");
    assert_eq!(json["kind"], "Lease");
}

#[test]
fn spec_and_status_accessors() {
    let mut d = apps::Deployment::default();
    assert!(d.spec().is_none());
    d.spec_mut().get_or_insert_with(Default::default).replicas = Some(3);
    assert_eq!(d.spec().and_then(|s| s.replicas), Some(3));
    d.status_mut()
        .get_or_insert_with(Default::default)
        .ready_replicas = Some(2);
    assert_eq!(
        HasStatus::status(&d).and_then(|s| s.ready_replicas),
        Some(2)
    );

    let mut pod = core::Pod::default();
    pod.metadata_mut().name = "p".into();
    assert_eq!(pod.metadata().name, "p");
}
