//! Lists: selectors, pagination, resourceVersion semantics.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::harness::*;

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

async fn seed(c: &Client) {
    for (name, app, tier) in [
        ("a", "web", Some("front")),
        ("b", "web", None),
        ("c", "db", Some("back")),
        ("d", "cache", None),
    ] {
        let mut p = pod(name);
        p["metadata"]["labels"] = json!({ "app": app });
        if let Some(t) = tier {
            p["metadata"]["labels"]["tier"] = json!(t);
        }
        c.post(PODS, &p).await.expect(201);
    }
    bind(c, "default", "c", "node-1").await.expect(201);
}

pub async fn label_and_field_selectors(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    seed(c).await;
    let q = |sel: &str| format!("{PODS}?labelSelector={}", urlencode(sel));
    for (sel, want) in [
        ("app=web", vec!["a", "b"]),
        ("app==web", vec!["a", "b"]),
        ("app!=web", vec!["c", "d"]),
        ("app in (web, db)", vec!["a", "b", "c"]),
        ("app notin (web)", vec!["c", "d"]),
        ("tier", vec!["a", "c"]),
        ("!tier", vec!["b", "d"]),
        ("app=web,tier", vec!["a"]),
    ] {
        assert_eq!(names(&c.get(&q(sel)).await.expect(200)), want, "{sel}");
    }
    let f = |sel: &str| format!("{PODS}?fieldSelector={}", urlencode(sel));
    assert_eq!(
        names(&c.get(&f("metadata.name=b")).await.expect(200)),
        ["b"]
    );
    assert_eq!(
        names(&c.get(&f("spec.nodeName=node-1")).await.expect(200)),
        ["c"]
    );
    assert_eq!(
        names(&c.get(&f("spec.nodeName=")).await.expect(200)),
        ["a", "b", "d"]
    );
    assert_eq!(
        names(
            &c.get(&f("status.phase=Pending,metadata.name!=a"))
                .await
                .expect(200)
        ),
        ["b", "c", "d"]
    );
    c.get(&f("spec.frobs=1")).await.expect_status(
        400,
        "BadRequest",
        "field label not supported: spec.frobs",
    );
    let r = c.get(&q("app in (web")).await;
    r.expect_status(400, "BadRequest", "");
    // the same selectors from the watch cache (resourceVersion=0)
    assert_eq!(
        names(
            &c.get(&format!("{}&resourceVersion=0", q("app=web")))
                .await
                .expect(200)
        ),
        ["a", "b"]
    );
    // across namespaces
    c.post("/api/v1/namespaces/kube-system/pods", &pod("sys"))
        .await
        .expect(201);
    let all = c.get("/api/v1/pods").await.expect(200);
    assert_eq!(names(&all), ["a", "b", "c", "d", "sys"]);
    assert_eq!(
        names(
            &c.get("/api/v1/pods?fieldSelector=metadata.namespace%3Dkube-system")
                .await
                .expect(200)
        ),
        ["sys"]
    );
}

pub async fn pagination_is_a_consistent_snapshot(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    for i in 0..7 {
        c.post(CONFIGMAPS, &configmap(&format!("cm-{i}")))
            .await
            .expect(201);
    }
    let first = c.get(&format!("{CONFIGMAPS}?limit=3")).await.expect(200);
    assert_eq!(names(&first), ["cm-0", "cm-1", "cm-2"]);
    assert_eq!(first["metadata"]["remainingItemCount"], 4);
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    // a change after the first page is not in the later pages
    c.delete(&format!("{CONFIGMAPS}/cm-5")).await.expect(200);
    c.post(CONFIGMAPS, &configmap("cm-9")).await.expect(201);
    let second = c
        .get(&format!(
            "{CONFIGMAPS}?limit=3&continue={}",
            urlencode(&token)
        ))
        .await
        .expect(200);
    assert_eq!(names(&second), ["cm-3", "cm-4", "cm-5"]);
    assert_eq!(
        second["metadata"]["resourceVersion"],
        first["metadata"]["resourceVersion"]
    );
    let token = second["metadata"]["continue"].as_str().unwrap().to_string();
    let third = c
        .get(&format!(
            "{CONFIGMAPS}?limit=3&continue={}",
            urlencode(&token)
        ))
        .await
        .expect(200);
    assert_eq!(names(&third), ["cm-6"]);
    assert!(third["metadata"].get("continue").is_none());
    // selectors + limit still fill pages
    let filtered = c
        .get(&format!(
            "{CONFIGMAPS}?limit=2&fieldSelector=metadata.name%21%3Dcm-0"
        ))
        .await
        .expect(200);
    assert_eq!(names(&filtered), ["cm-1", "cm-2"]);
    assert!(
        filtered["metadata"].get("remainingItemCount").is_none(),
        "no count with selectors"
    );
    c.get(&format!("{CONFIGMAPS}?limit=2&continue=garbage"))
        .await
        .expect_status(400, "BadRequest", "");
    c.get(&format!(
        "{CONFIGMAPS}?limit=2&continue={}&resourceVersion=5",
        urlencode(&token)
    ))
    .await
    .expect_status(422, "Invalid", "");
}

pub async fn expired_continue_is_410(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    for i in 0..4 {
        c.post(CONFIGMAPS, &configmap(&format!("e-{i}")))
            .await
            .expect(201);
    }
    let first = c.get(&format!("{CONFIGMAPS}?limit=2")).await.expect(200);
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    for i in 0..3 {
        c.merge_patch(
            &format!("{CONFIGMAPS}/e-3"),
            &json!({ "data": { "n": i.to_string() } }),
        )
        .await
        .expect(200);
    }
    let now = h.storage.current_revision().await.unwrap();
    h.storage.compact(now).await.unwrap();
    let r = c
        .get(&format!(
            "{CONFIGMAPS}?limit=2&continue={}",
            urlencode(&token)
        ))
        .await;
    r.expect_status(410, "Expired", "");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .starts_with("The provided continue parameter is too old")
    );
}

pub async fn resource_version_semantics(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    let a = c.post(CONFIGMAPS, &configmap("v")).await.expect(201);
    c.merge_patch(&format!("{CONFIGMAPS}/v"), &json!({ "data": { "k": "2" } }))
        .await
        .expect(200);
    // Exact: the state at that revision, from storage
    let exact = c
        .get(&format!(
            "{CONFIGMAPS}?resourceVersion={}&resourceVersionMatch=Exact",
            rv(&a)
        ))
        .await
        .expect(200);
    assert_eq!(exact["items"][0]["data"]["k"], "v");
    assert_eq!(
        exact["metadata"]["resourceVersion"],
        a["metadata"]["resourceVersion"]
    );
    // NotOlderThan / 0: from the cache, at least as new
    let cached = c
        .get(&format!("{CONFIGMAPS}?resourceVersion={}", rv(&a)))
        .await
        .expect(200);
    assert!(rv(&cached) >= rv(&a));
    let any = c
        .get(&format!("{CONFIGMAPS}?resourceVersion=0"))
        .await
        .expect(200);
    assert_eq!(any["kind"], "ConfigMapList");
    // consistent (no resourceVersion): the newest state
    let newest = c.get(CONFIGMAPS).await.expect(200);
    assert_eq!(newest["items"][0]["data"]["k"], "2");
    c.get(&format!("{CONFIGMAPS}?resourceVersionMatch=Exact"))
        .await
        .expect_status(422, "Invalid", "");
    c.get(&format!(
        "{CONFIGMAPS}?resourceVersion=0&resourceVersionMatch=Exact"
    ))
    .await
    .expect_status(422, "Invalid", "");
    c.get(&format!("{CONFIGMAPS}?resourceVersion=abc"))
        .await
        .expect_status(400, "BadRequest", "");
    // a version far in the future cannot be served
    let r = c.get(&format!("{CONFIGMAPS}?resourceVersion=999999")).await;
    r.expect_status(504, "Timeout", "");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .starts_with("Too large resource version: 999999")
    );
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
