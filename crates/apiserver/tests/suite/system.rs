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
    // legacy discovery names the kind of other groups' subresources only
    assert!(find("pods/status").get("group").is_none());
    assert_eq!(
        find("namespaces/finalize")["verbs"],
        serde_json::json!(["update"])
    );
    let api = c.get("/api").await;
    assert_eq!(api.content_type, "application/json");
}

/// A discovery request with an `Accept` header: status, content type, body.
async fn discover(c: &Client, path: &str, accept: &str) -> (u16, String, serde_json::Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}{path}", c.base))
        .header("Accept", accept)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, resp.json().await.unwrap())
}

/// Aggregated discovery (`apidiscovery.k8s.io`), answered in a version the
/// client listed and named in `Content-Type`.
pub async fn aggregated_discovery(make: Factory) {
    use serde_json::json;

    let h = make(test_config()).await;
    let c = &h.client;
    const NEW: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
    const OLD: &str = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
    // kubectl 1.30+ get v2, kubectl 1.27-1.29 (which only know v2beta1) get v2beta1
    for (accept, version) in [(NEW, "v2"), (OLD, "v2beta1")] {
        let (status, ct, core) = discover(c, "/api", accept).await;
        assert_eq!(status, 200);
        assert_eq!(
            ct,
            format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
        );
        assert_eq!(core["kind"], "APIGroupDiscoveryList");
        assert_eq!(core["apiVersion"], format!("apidiscovery.k8s.io/{version}"));
        let items = core["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "only the core group under /api");
        assert!(items[0]["metadata"].get("name").is_none());
        let v1 = &items[0]["versions"][0];
        assert_eq!(
            (v1["version"].as_str(), v1["freshness"].as_str()),
            (Some("v1"), Some("Current"))
        );
        let find = |name: &str| {
            v1["resources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["resource"] == name)
                .unwrap_or_else(|| panic!("{name} missing"))
                .clone()
        };
        let pods = find("pods");
        assert_eq!(
            pods["responseKind"],
            json!({"group": "", "version": "v1", "kind": "Pod"})
        );
        assert_eq!(pods["scope"], "Namespaced");
        assert_eq!(pods["singularResource"], "pod");
        assert_eq!(pods["shortNames"], json!(["po"]));
        assert_eq!(pods["categories"], json!(["all"]));
        assert_eq!(
            pods["verbs"],
            json!([
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch"
            ])
        );
        let subs = pods["subresources"].as_array().unwrap();
        let binding = subs.iter().find(|s| s["subresource"] == "binding").unwrap();
        assert_eq!(binding["responseKind"]["kind"], "Binding");
        assert_eq!(binding["verbs"], json!(["create"]));
        let status_sub = subs.iter().find(|s| s["subresource"] == "status").unwrap();
        assert_eq!(status_sub["verbs"], json!(["get", "patch", "update"]));
        let nodes = find("nodes");
        assert_eq!(nodes["scope"], "Cluster");
        assert_eq!(nodes["shortNames"], json!(["no"]));
        assert!(find("configmaps").get("categories").is_none());
        assert!(find("configmaps").get("subresources").is_none());

        let (status, ct, groups) = discover(c, "/apis", accept).await;
        assert_eq!(status, 200);
        assert!(ct.contains(&format!("v={version}")), "{ct}");
        let names: Vec<&str> = groups["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["apps", "coordination.k8s.io", "discovery.k8s.io"]);
        let apps = &groups["items"][0]["versions"][0];
        assert_eq!(apps["version"], "v1");
        let deploy = apps["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "deployments")
            .unwrap();
        assert_eq!(
            deploy["responseKind"],
            json!({"group": "apps", "version": "v1", "kind": "Deployment"})
        );
        let scale = deploy["subresources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["subresource"] == "scale")
            .unwrap();
        assert_eq!(
            scale["responseKind"],
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
        );
        assert_eq!(scale["verbs"], json!(["get", "patch", "update"]));
    }
    // plain clients keep legacy discovery; per group-version paths are legacy only
    let (_, ct, legacy) = discover(c, "/apis", "application/json, */*").await;
    assert_eq!(
        (ct.as_str(), legacy["kind"].as_str()),
        ("application/json", Some("APIGroupList"))
    );
    let (_, _, gv) = discover(c, "/apis/apps/v1", NEW).await;
    assert_eq!(gv["kind"], "APIResourceList");
    // a version we do not know is skipped; nothing acceptable is a 406
    let (_, _, v) = discover(
        c,
        "/api",
        "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json",
    )
    .await;
    assert_eq!(v["kind"], "APIVersions");
    let (status, _, e) = discover(c, "/api", "application/vnd.kubernetes.protobuf").await;
    assert_eq!((status, e["reason"].as_str()), (406, Some("NotAcceptable")));
}
