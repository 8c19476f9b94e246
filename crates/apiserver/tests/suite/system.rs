//! Health, version, discovery and metrics endpoints.

#![allow(clippy::unwrap_used)]

use super::harness::*;

pub async fn health_version_metrics(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    for path in ["/healthz", "/livez", "/readyz"] {
        let r = c.get(path).await;
        assert_eq!((r.status, r.body.as_str()), (200, Some("ok")), "{path}");
    }
    let verbose = c.get("/readyz?verbose").await;
    let text = verbose.body.as_str().unwrap();
    assert!(
        text.contains("[+]watch-cache ok") && text.ends_with("readyz check passed\n"),
        "{text}"
    );
    let v = c.get("/version").await.expect(200);
    assert_eq!(v["major"], "1");
    assert!(v["gitVersion"].as_str().unwrap().starts_with("v1."));
    c.get(PODS).await.expect(200);
    let m = c.get("/metrics").await;
    let text = m.body.as_str().unwrap();
    assert!(
        text.contains(r#"apiserver_request_total{verb="LIST",resource="pods",code="200"}"#),
        "{text}"
    );
    assert!(text.contains("apiserver_request_duration_seconds_bucket"));
    assert!(text.contains("apiserver_storage_request_duration_seconds"));
}

pub async fn discovery(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    let api = c.get("/api").await.expect(200);
    assert_eq!(api["kind"], "APIVersions");
    assert_eq!(api["versions"][0], "v1");
    let groups = c.get("/apis").await.expect(200);
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    for g in ["apps", "coordination.k8s.io", "discovery.k8s.io"] {
        assert!(names.contains(&g), "{names:?}");
    }
    let v1 = c.get("/api/v1").await.expect(200);
    assert_eq!(v1["kind"], "APIResourceList");
    let resources = v1["resources"].as_array().unwrap();
    let find = |n: &str| {
        resources
            .iter()
            .find(|r| r["name"] == n)
            .unwrap_or_else(|| panic!("{n} missing"))
            .clone()
    };
    let pods = find("pods");
    assert_eq!(pods["shortNames"][0], "po");
    assert_eq!(pods["namespaced"], true);
    assert_eq!(pods["kind"], "Pod");
    assert!(
        pods["verbs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "watch")
    );
    assert_eq!(find("pods/binding")["verbs"][0], "create");
    find("pods/status");
    assert_eq!(find("nodes")["namespaced"], false);
    let apps = c.get("/apis/apps/v1").await.expect(200);
    let scale = apps["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "deployments/scale")
        .unwrap()
        .clone();
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["group"], "autoscaling");
    c.get("/apis/nope/v1")
        .await
        .expect_status(404, "NotFound", "");
}
