//! The event recorder against a real apiserver (in-process, embedded
//! store): the Event as written, repeats counted on one object, similar
//! events combined, events about cluster-scoped objects.

#![allow(clippy::unwrap_used)]

use api_types::core::v1::{ConfigMap, Event, EventSource, Node};
use api_types::meta::v1::ObjectMeta;
use client::{Api, Client, ListParams, PostParams};
use runtime::events::{EventType, Recorder, object_reference};
use testenv::TestApiserver;

fn source() -> EventSource {
    EventSource {
        component: Some("default-scheduler".into()),
        host: Some("cp-1".into()),
    }
}

async fn config_map(client: &Client, name: &str) -> ConfigMap {
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: name.into(),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    };
    Api::<ConfigMap>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &cm)
        .await
        .unwrap()
}

/// What `kubectl describe` does: the events of one object by field
/// selector.
async fn events_of(client: &Client, ns: &str, name: &str) -> Vec<Event> {
    let mut items = Api::<Event>::namespaced(client.clone(), ns)
        .list(&ListParams::default().fields(&format!("involvedObject.name={name}")))
        .await
        .unwrap()
        .items;
    items.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    items
}

#[tokio::test]
async fn an_event_is_written_with_upstream_fields() {
    let server = TestApiserver::start().await;
    let client = server.client();
    let cm = config_map(&client, "web-config").await;
    let recorder = Recorder::new(client.clone(), source());

    recorder.event(
        &object_reference(&cm),
        EventType::Warning,
        "FailedMount",
        "configmap is empty",
    );
    recorder.flush().await;

    let events = events_of(&client, "default", "web-config").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert!(
        e.metadata.name.starts_with("web-config."),
        "{}",
        e.metadata.name
    );
    let suffix = &e.metadata.name["web-config.".len()..];
    assert!(u64::from_str_radix(suffix, 16).is_ok(), "hex nanoseconds");
    assert_eq!(e.metadata.namespace, "default");
    assert_eq!(e.involved_object.kind.as_deref(), Some("ConfigMap"));
    assert_eq!(e.involved_object.api_version.as_deref(), Some("v1"));
    assert_eq!(e.involved_object.namespace.as_deref(), Some("default"));
    assert_eq!(
        e.involved_object.uid.as_deref(),
        Some(cm.metadata.uid.as_str())
    );
    assert_eq!(
        e.involved_object.resource_version.as_deref(),
        Some(cm.metadata.resource_version.as_str())
    );
    assert_eq!(e.reason.as_deref(), Some("FailedMount"));
    assert_eq!(e.message.as_deref(), Some("configmap is empty"));
    assert_eq!(e.type_.as_deref(), Some("Warning"));
    assert_eq!(e.source, Some(source()));
    assert_eq!(e.count, Some(1));
    assert!(e.first_timestamp.is_some());
    assert_eq!(e.first_timestamp, e.last_timestamp);
    assert_eq!(e.reporting_component, "default-scheduler");
    assert_eq!(e.reporting_instance, "cp-1");
}

#[tokio::test]
async fn repeats_are_counted_on_one_event() {
    let server = TestApiserver::start().await;
    let client = server.client();
    let cm = config_map(&client, "repeat").await;
    let recorder = Recorder::new(client.clone(), source());
    let regarding = object_reference(&cm);

    recorder.event(&regarding, EventType::Normal, "Synced", "in sync");
    recorder.flush().await;
    let first = events_of(&client, "default", "repeat").await;
    // A second apart, so lastTimestamp (whole seconds) moves.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    recorder.event(&regarding, EventType::Normal, "Synced", "in sync");
    recorder.event(&regarding, EventType::Normal, "Synced", "in sync");
    recorder.flush().await;

    let events = events_of(&client, "default", "repeat").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.metadata.name, first[0].metadata.name);
    assert_eq!(e.count, Some(3));
    assert_eq!(e.message.as_deref(), Some("in sync"));
    assert_eq!(e.first_timestamp, first[0].first_timestamp);
    assert!(e.last_timestamp > e.first_timestamp, "{e:?}");

    // A different message is a different event.
    recorder.event(&regarding, EventType::Normal, "Synced", "drifted");
    recorder.flush().await;
    assert_eq!(events_of(&client, "default", "repeat").await.len(), 2);
}

#[tokio::test]
async fn similar_events_are_combined_after_ten() {
    let server = TestApiserver::start().await;
    let client = server.client();
    let cm = config_map(&client, "noisy").await;
    let recorder = Recorder::new(client.clone(), source());
    let regarding = object_reference(&cm);

    for i in 0..12 {
        recorder.event(
            &regarding,
            EventType::Warning,
            "FailedSync",
            &format!("attempt {i} failed"),
        );
    }
    recorder.flush().await;

    let events = events_of(&client, "default", "noisy").await;
    assert_eq!(events.len(), 10, "nine on their own, one combined");
    let combined: Vec<_> = events
        .iter()
        .filter(|e| {
            e.message
                .as_deref()
                .is_some_and(|m| m.starts_with("(combined from similar events): "))
        })
        .collect();
    assert_eq!(combined.len(), 1, "{events:?}");
    let c = combined[0];
    assert_eq!(
        c.message.as_deref(),
        Some("(combined from similar events): attempt 11 failed")
    );
    assert_eq!(c.count, Some(3), "attempts 9, 10 and 11");
    assert_eq!(c.reason.as_deref(), Some("FailedSync"));
    for e in events.iter().filter(|e| e.count == Some(1)) {
        assert!(
            e.message.as_deref().unwrap().starts_with("attempt "),
            "{e:?}"
        );
    }
}

#[tokio::test]
async fn events_about_nodes_live_in_default() {
    let server = TestApiserver::start().await;
    let client = server.client();
    let node = Node {
        metadata: ObjectMeta {
            name: "node-1".into(),
            ..ObjectMeta::default()
        },
        ..Node::default()
    };
    let node = Api::<Node>::all(client.clone())
        .create(&PostParams::default(), &node)
        .await
        .unwrap();
    let recorder = Recorder::new(
        client.clone(),
        EventSource {
            component: Some("kubelet".into()),
            host: Some("node-1".into()),
        },
    );
    recorder.event(
        &object_reference(&node),
        EventType::Normal,
        "Starting",
        "Starting kubelet.",
    );
    recorder.flush().await;

    let events = events_of(&client, "default", "node-1").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].involved_object.kind.as_deref(), Some("Node"));
    assert_eq!(events[0].involved_object.namespace, None);
    assert_eq!(events[0].reporting_component, "kubelet");
}
