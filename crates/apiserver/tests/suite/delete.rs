//! Deletion: graceful pods, finalizers, propagation, preconditions,
//! collections, and namespace termination.

#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::harness::*;

pub async fn unbound_pods_go_at_once_bound_pods_gracefully(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    c.post(PODS, &pod("free")).await.expect(201);
    let gone = c.delete(&format!("{PODS}/free")).await.expect(200);
    assert_eq!(gone["kind"], "Pod", "pods answer DELETE with the object");
    c.get(&format!("{PODS}/free"))
        .await
        .expect_status(404, "NotFound", "");

    c.post(PODS, &pod("bound")).await.expect(201);
    bind(c, "default", "bound", "node-1").await.expect(201);
    let terminating = c.delete(&format!("{PODS}/bound")).await.expect(200);
    assert_eq!(terminating["metadata"]["deletionGracePeriodSeconds"], 30);
    assert!(terminating["metadata"]["deletionTimestamp"].is_string());
    // still there, waiting for its kubelet
    let still = c.get(&format!("{PODS}/bound")).await.expect(200);
    assert_eq!(
        still["metadata"]["deletionTimestamp"],
        terminating["metadata"]["deletionTimestamp"]
    );
    // deleting again with a longer grace changes nothing; shorter shortens it
    let again = c
        .delete_with(
            &format!("{PODS}/bound"),
            &json!({ "gracePeriodSeconds": 60 }),
        )
        .await
        .expect(200);
    assert_eq!(again["metadata"]["deletionGracePeriodSeconds"], 30);
    let shorter = c
        .delete_with(
            &format!("{PODS}/bound"),
            &json!({ "gracePeriodSeconds": 5 }),
        )
        .await
        .expect(200);
    assert_eq!(shorter["metadata"]["deletionGracePeriodSeconds"], 5);
    // the kubelet (or `--grace-period=0 --force`) finishes it
    c.delete(&format!("{PODS}/bound?gracePeriodSeconds=0"))
        .await
        .expect(200);
    c.get(&format!("{PODS}/bound"))
        .await
        .expect_status(404, "NotFound", "");
}

pub async fn finalizers_hold_objects_until_removed(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    let mut cm = configmap("held");
    cm["metadata"]["finalizers"] = json!(["example.com/hold"]);
    c.post(CONFIGMAPS, &cm).await.expect(201);
    let deleting = c.delete(&format!("{CONFIGMAPS}/held")).await.expect(200);
    assert_eq!(
        deleting["kind"], "ConfigMap",
        "a held object is returned as it now is"
    );
    assert!(deleting["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(deleting["metadata"]["deletionGracePeriodSeconds"], 0);
    // updates still work while it waits, but cannot undo the deletion
    let mut undo = deleting.clone();
    undo["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("deletionTimestamp");
    undo["data"] = json!({ "k": "changed" });
    let updated = c
        .put(&format!("{CONFIGMAPS}/held"), &undo)
        .await
        .expect(200);
    assert!(updated["metadata"]["deletionTimestamp"].is_string());
    // removing the last finalizer completes the deletion
    c.merge_patch(
        &format!("{CONFIGMAPS}/held"),
        &json!({ "metadata": { "finalizers": null } }),
    )
    .await
    .expect(200);
    c.get(&format!("{CONFIGMAPS}/held"))
        .await
        .expect_status(404, "NotFound", "");
}

pub async fn propagation_policy_is_recorded_as_finalizers(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    for (name, policy, finalizer) in [
        ("o", "Orphan", "orphan"),
        ("f", "Foreground", "foregroundDeletion"),
    ] {
        c.post(CONFIGMAPS, &configmap(name)).await.expect(201);
        let r = c
            .delete_with(
                &format!("{CONFIGMAPS}/{name}"),
                &json!({ "propagationPolicy": policy }),
            )
            .await
            .expect(200);
        assert_eq!(r["metadata"]["finalizers"], json!([finalizer]), "{policy}");
        assert!(r["metadata"]["deletionTimestamp"].is_string());
    }
    // Background deletes at once and answers with a Status
    c.post(CONFIGMAPS, &configmap("b")).await.expect(201);
    let r = c
        .delete(&format!("{CONFIGMAPS}/b?propagationPolicy=Background"))
        .await
        .expect(200);
    assert_eq!(r["kind"], "Status");
    assert_eq!(r["status"], "Success");
    assert_eq!(r["details"]["name"], "b");
    assert_eq!(r["details"]["kind"], "configmaps");
    c.delete_with(
        &format!("{CONFIGMAPS}/o"),
        &json!({ "propagationPolicy": "Sideways" }),
    )
    .await
    .expect_status(422, "Invalid", "");
}

pub async fn delete_preconditions(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    let cm = c.post(CONFIGMAPS, &configmap("pre")).await.expect(201);
    let r = c
        .delete_with(
            &format!("{CONFIGMAPS}/pre"),
            &json!({ "preconditions": { "uid": "not-the-uid" } }),
        )
        .await;
    r.expect_status(
        409,
        "Conflict",
        &format!(
            r#"Operation cannot be fulfilled on configmaps "pre": Precondition failed: UID in precondition: not-the-uid, UID in object meta: {}"#,
            cm["metadata"]["uid"].as_str().unwrap()
        ),
    );
    c.delete_with(
        &format!("{CONFIGMAPS}/pre"),
        &json!({ "preconditions": { "resourceVersion": "1" } }),
    )
    .await
    .expect_status(409, "Conflict", "");
    c.delete_with(
        &format!("{CONFIGMAPS}/pre"),
        &json!({ "preconditions": { "uid": cm["metadata"]["uid"], "resourceVersion": cm["metadata"]["resourceVersion"] } }),
    )
    .await
    .expect(200);
    c.delete(&format!("{CONFIGMAPS}/pre")).await.expect_status(
        404,
        "NotFound",
        r#"configmaps "pre" not found"#,
    );
}

pub async fn delete_collection_by_label(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    for (name, app) in [("a", "x"), ("b", "x"), ("c", "y")] {
        let mut cm = configmap(name);
        cm["metadata"]["labels"] = json!({ "app": app });
        c.post(CONFIGMAPS, &cm).await.expect(201);
    }
    let r = c
        .delete(&format!("{CONFIGMAPS}?labelSelector=app%3Dx"))
        .await
        .expect(200);
    assert_eq!(r["kind"], "ConfigMapList");
    assert_eq!(r["items"].as_array().unwrap().len(), 2);
    let left = c.get(CONFIGMAPS).await.expect(200);
    let names: Vec<&str> = left["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c"]);
}

pub async fn namespace_lifecycle(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let got = c.get(&format!("/api/v1/namespaces/{ns}")).await.expect(200);
        assert_eq!(got["status"]["phase"], "Active");
        assert_eq!(got["metadata"]["labels"]["kubernetes.io/metadata.name"], ns);
    }
    let ns = c
        .post(
            "/api/v1/namespaces",
            &json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "team-a" } }),
        )
        .await
        .expect(201);
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
    c.post(
        "/api/v1/namespaces",
        &json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "Team.B" } }),
    )
    .await
    .expect_status(422, "Invalid", "");
    c.post("/api/v1/namespaces/team-a/configmaps", &configmap("inside"))
        .await
        .expect(201);

    let deleting = c.delete("/api/v1/namespaces/team-a").await.expect(200);
    assert_eq!(deleting["status"]["phase"], "Terminating");
    c.post("/api/v1/namespaces/team-a/configmaps", &configmap("late")).await.expect_status(
        403,
        "Forbidden",
        r#"configmaps "late" is forbidden: unable to create new content in namespace team-a because it is being terminated"#,
    );
    // what the namespace controller does once the namespace is empty
    c.delete("/api/v1/namespaces/team-a/configmaps/inside")
        .await
        .expect(200);
    let mut fin = c.get("/api/v1/namespaces/team-a").await.expect(200);
    fin["spec"]["finalizers"] = json!([]);
    c.put("/api/v1/namespaces/team-a/finalize", &fin)
        .await
        .expect(200);
    c.get("/api/v1/namespaces/team-a").await.expect_status(
        404,
        "NotFound",
        r#"namespaces "team-a" not found"#,
    );
    // at once: the namespace check reads this server's own writes
    let r = c
        .post("/api/v1/namespaces/team-a/configmaps", &configmap("after"))
        .await;
    r.expect_status(404, "NotFound", r#"namespaces "team-a" not found"#);
}
