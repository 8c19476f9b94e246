//! Strategic merge patch, server-side apply and `managedFields` over HTTP.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{CONFIGMAPS, Client, Factory, Resp, test_config};

const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";
const SERVICES: &str = "/api/v1/namespaces/default/services";

async fn smp(c: &Client, path: &str, body: &Value) -> Resp {
    c.send(
        Method::PATCH,
        path,
        "application/strategic-merge-patch+json",
        Some(body.to_string().into_bytes()),
    )
    .await
}

async fn apply(c: &Client, path: &str, query: &str, body: &str) -> Resp {
    c.send(
        Method::PATCH,
        &format!("{path}?{query}"),
        "application/apply-patch+yaml",
        Some(body.as_bytes().to_vec()),
    )
    .await
}

fn deployment(name: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [
                    {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}],
                     "ports": [{"containerPort": 80}]},
                    {"name": "b", "image": "b:1"}
                ]}
            }
        }
    })
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| i["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Which managers own something, as `manager/operation[/subresource]`.
fn managers(obj: &Value) -> Vec<String> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    let mut s = format!(
                        "{}/{}",
                        e["manager"].as_str().unwrap_or(""),
                        e["operation"].as_str().unwrap_or("")
                    );
                    if let Some(sub) = e["subresource"].as_str() {
                        s.push('/');
                        s.push_str(sub);
                    }
                    s
                })
                .collect()
        })
        .unwrap_or_default()
}

fn fields_of<'a>(obj: &'a Value, manager: &str) -> &'a Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .and_then(|entries| {
            entries
                .iter()
                .find(|e| e["manager"].as_str().unwrap_or("") == manager)
        })
        .map(|e| &e["fieldsV1"])
        .unwrap_or(&Value::Null)
}

pub async fn strategic_merge_patch(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    c.post(DEPLOYMENTS, &deployment("d")).await.expect(201);
    let path = format!("{DEPLOYMENTS}/d");

    // containers merge by name, env by name, ports by containerPort; maps merge; null deletes
    let out = smp(
        c,
        &path,
        &json!({"metadata": {"labels": {"app": null, "tier": "fe"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "a", "image": "a:2", "env": [{"name": "Y", "value": "2"}], "ports": [{"containerPort": 80, "name": "http"}]},
                    {"name": "c", "image": "c:1"}
                ]}}}}),
    )
    .await
    .expect(200);
    assert_eq!(out["metadata"]["labels"], json!({"tier": "fe"}));
    let containers = &out["spec"]["template"]["spec"]["containers"];
    // upstream's order: the patch's items in its order, server-only items
    // placed before a patch item they precede in the live list
    assert_eq!(names(containers), ["a", "c", "b"]);
    assert_eq!(containers[0]["image"], "a:2");
    assert_eq!(names(&containers[0]["env"]), ["Y", "X"]);
    assert_eq!(
        containers[0]["ports"],
        json!([{"containerPort": 80, "name": "http", "protocol": "TCP"}])
    );
    assert_eq!(containers[2]["image"], "b:1");

    // $patch: delete, $setElementOrder, $deleteFromPrimitiveList, $retainKeys
    let out = smp(
        c,
        &path,
        &json!({"metadata": {"finalizers": ["example.com/a", "example.com/b"]},
        "spec": {
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
            "template": {"spec": {
                "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}],
                "containers": [{"name": "b", "$patch": "delete"}]
            }}}}),
    )
    .await
    .expect(200);
    assert_eq!(
        names(&out["spec"]["template"]["spec"]["containers"]),
        ["c", "a"]
    );
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    assert_eq!(
        out["metadata"]["finalizers"],
        json!(["example.com/a", "example.com/b"])
    );
    let out = smp(
        c,
        &path,
        &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/a"]}}),
    )
    .await
    .expect(200);
    assert_eq!(out["metadata"]["finalizers"], json!(["example.com/b"]));

    // a list item without its merge key: upstream's unclassified 500
    let r = smp(
        c,
        &path,
        &json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
    )
    .await;
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "map: map[image:x] does not contain declared merge key: name"
    );
    assert!(r.body.get("reason").is_none(), "{}", r.body);
    // malformed directives are 400
    smp(
        c,
        &path,
        &json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
    )
    .await
    .expect_status(400, "BadRequest", "invalid patch format of retainKeys");
    smp(c, &path, &json!([1]))
        .await
        .expect_status(400, "BadRequest", "");
    // force is for apply only
    c.send(
        Method::PATCH,
        &format!("{path}?force=true"),
        "application/strategic-merge-patch+json",
        Some(b"{}".to_vec()),
    )
    .await
    .expect_status(
        422,
        "Invalid",
        "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch",
    );

    // Service ports merge by port
    c.post(
        SERVICES,
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"selector": {"app": "web"}, "ports": [
            {"name": "http", "port": 80, "targetPort": 8080}, {"name": "https", "port": 443}
        ]}}),
    )
    .await
    .expect(201);
    let out = smp(
        c,
        &format!("{SERVICES}/s"),
        &json!({"spec": {"ports": [{"port": 443, "targetPort": 8443}]}}),
    )
    .await
    .expect(200);
    let ports = out["spec"]["ports"].as_array().cloned().unwrap_or_default();
    assert_eq!(ports.len(), 2, "{}", out["spec"]);
    let find = |port: i64| {
        ports
            .iter()
            .find(|p| p["port"] == port)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(find(443)["name"], "https");
    assert_eq!(find(443)["targetPort"], 8443);
    assert_eq!(find(80)["targetPort"], 8080);

    // the scale subresource takes strategic merge patches too
    let scale = smp(
        c,
        &format!("{path}/scale"),
        &json!({"spec": {"replicas": 4}}),
    )
    .await
    .expect(200);
    assert_eq!(scale["spec"]["replicas"], 4);
}

pub async fn apply_creates_and_records_ownership(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    let path = format!("{CONFIGMAPS}/cfg");
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  labels:\n    app: web\ndata:\n  a: \"1\"\n  b: \"2\"\n";

    // options and body checks come first
    apply(c, &path, "", yaml).await.expect_status(
        422,
        "Invalid",
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
    );
    apply(
        c,
        &path,
        "fieldManager=m",
        "apiVersion: v2\nkind: ConfigMap\nmetadata:\n  name: cfg\n",
    )
    .await
    .expect_status(
        400,
        "BadRequest",
        "Incorrect version specified in apply patch. Specified patch version: v2, expected: v1",
    );
    apply(
        c,
        &path,
        "fieldManager=m",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n",
    )
    .await
    .expect_status(
        400,
        "BadRequest",
        "the name of the object (other) does not match the name on the URL (cfg)",
    );
    apply(
        c,
        &path,
        "fieldManager=m",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  managedFields: [{}]\n",
    )
    .await
    .expect_status(400, "BadRequest", "metadata.managedFields must be nil");
    apply(c, &path, "fieldManager=m", "a: [")
        .await
        .expect_status(400, "BadRequest", "");
    // a dry run creates nothing
    apply(c, &path, "fieldManager=m&dryRun=All", yaml)
        .await
        .expect(201);
    c.get(&path).await.expect_status(404, "NotFound", "");

    // create
    let created = apply(c, &path, "fieldManager=m", yaml).await.expect(201);
    assert_eq!(created["data"], json!({"a": "1", "b": "2"}));
    assert!(created["metadata"]["uid"].is_string());
    assert_eq!(managers(&created), ["m/Apply"]);
    assert_eq!(
        fields_of(&created, "m"),
        &json!({"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:labels": {"f:app": {}}}})
    );
    let entry = &created["metadata"]["managedFields"][0];
    assert_eq!(entry["apiVersion"], "v1");
    assert_eq!(entry["fieldsType"], "FieldsV1");
    assert!(entry["time"].is_string());

    // re-apply the same thing: nothing changes
    let same = apply(c, &path, "fieldManager=m", yaml).await.expect(200);
    assert_eq!(
        same["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );

    // JSON is YAML: drop b and the label, change a
    let out = apply(
        c,
        &path,
        "fieldManager=m",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "3"}}).to_string(),
    )
    .await
    .expect(200);
    assert_eq!(out["data"], json!({"a": "3"}));
    assert!(
        out["metadata"].get("labels").is_none(),
        "{}",
        out["metadata"]
    );
    assert_eq!(fields_of(&out, "m"), &json!({"f:data": {"f:a": {}}}));
}

pub async fn apply_conflicts_and_force(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    c.post(
        &format!("{DEPLOYMENTS}?fieldManager=creator"),
        &deployment("d"),
    )
    .await
    .expect(201);
    let path = format!("{DEPLOYMENTS}/d");
    let config = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: 3\n  selector:\n    matchLabels:\n      app: web\n";
    let r = apply(c, &path, "fieldManager=ssa", config).await;
    r.expect_status(
        409,
        "Conflict",
        "Apply failed with 1 conflict: conflict with \"creator\" using apps/v1: .spec.replicas",
    );
    assert_eq!(
        r.body["details"]["causes"][0]["reason"],
        "FieldManagerConflict"
    );
    assert_eq!(r.body["details"]["causes"][0]["field"], ".spec.replicas");
    assert_eq!(
        r.body["details"]["causes"][0]["message"],
        "conflict with \"creator\" using apps/v1"
    );
    // the same value as the other manager's is shared, not a conflict
    let shared = apply(
        c,
        &path,
        "fieldManager=sharer",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: 1\n",
    )
    .await
    .expect(200);
    assert_eq!(shared["spec"]["replicas"], 1);
    assert!(fields_of(&shared, "creator")["f:spec"]["f:replicas"].is_object());
    assert!(fields_of(&shared, "sharer")["f:spec"]["f:replicas"].is_object());

    // several conflicts, grouped by manager
    let r = apply(c, &path, "fieldManager=ssa", config).await;
    r.expect_status(409, "Conflict", "");
    let message = r.body["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Apply failed with 2 conflicts: conflicts with \"creator\" using apps/v1:\n- .spec.replicas"),
        "{message}"
    );

    // force takes the field over
    let out = apply(c, &path, "fieldManager=ssa&force=true", config)
        .await
        .expect(200);
    assert_eq!(out["spec"]["replicas"], 3);
    assert!(
        fields_of(&out, "creator")["f:spec"]
            .get("f:replicas")
            .is_none()
    );
    assert!(fields_of(&out, "ssa")["f:spec"]["f:replicas"].is_object());
    // and a later update takes it back from the applier
    let out = c
        .merge_patch(
            &format!("{path}?fieldManager=editor"),
            &json!({"spec": {"replicas": 5}}),
        )
        .await
        .expect(200);
    assert!(fields_of(&out, "ssa")["f:spec"].get("f:replicas").is_none());
    assert_eq!(
        fields_of(&out, "editor"),
        &json!({"f:spec": {"f:replicas": {}}})
    );
}

pub async fn apply_prunes_what_it_no_longer_applies(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    let path = format!("{DEPLOYMENTS}/d");
    let first = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  labels:\n    a: \"1\"\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: a\n        image: a:1\n        ports:\n        - containerPort: 80\n      - name: b\n        image: b:1\n";
    let created = apply(c, &path, "fieldManager=ssa", first).await.expect(201);
    assert_eq!(
        names(&created["spec"]["template"]["spec"]["containers"]),
        ["a", "b"]
    );
    // defaults were added and are nobody's
    assert_eq!(
        created["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"],
        "/dev/termination-log"
    );
    let f = fields_of(&created, "ssa");
    assert!(
        f["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"a\"}"]
            .get("f:terminationMessagePath")
            .is_none()
    );
    // someone else adds a label
    c.merge_patch(
        &format!("{path}?fieldManager=labeller"),
        &json!({"metadata": {"labels": {"b": "2"}}}),
    )
    .await
    .expect(200);
    // drop container b, replicas and label a
    let second = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: a\n        image: a:2\n        ports:\n        - containerPort: 80\n";
    let out = apply(c, &path, "fieldManager=ssa", second)
        .await
        .expect(200);
    assert_eq!(names(&out["spec"]["template"]["spec"]["containers"]), ["a"]);
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["image"],
        "a:2"
    );
    assert_eq!(out["metadata"]["labels"], json!({"b": "2"}));
    // replicas went away and came back as the default
    assert_eq!(out["spec"]["replicas"], 1);
    assert_eq!(out["metadata"]["generation"], 2);
}

pub async fn managed_fields_on_updates(make: Factory) {
    let h = make(test_config()).await;
    let c = &h.client;
    // without fieldManager the User-Agent names the manager
    let created = c
        .send(
            Method::POST,
            CONFIGMAPS,
            "application/json",
            Some(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "u", "labels": {"x": "y"}}, "data": {"k": "v"}}).to_string().into_bytes()),
        )
        .await
        .expect(201);
    assert_eq!(
        managers(&created),
        ["/Update"],
        "reqwest sends no User-Agent"
    );
    let path = format!("{CONFIGMAPS}/u");
    let mut edited = created.clone();
    edited["data"]["k"] = json!("w");
    edited["metadata"]
        .as_object_mut()
        .map(|m| m.remove("managedFields"));
    let out = c
        .put(&format!("{path}?fieldManager=editor"), &edited)
        .await
        .expect(200);
    assert_eq!(managers(&out), ["/Update", "editor/Update"]);
    assert_eq!(fields_of(&out, "editor"), &json!({"f:data": {"f:k": {}}}));
    assert_eq!(
        fields_of(&out, ""),
        &json!({"f:data": {}, "f:metadata": {"f:labels": {".": {}, "f:x": {}}}})
    );
    // an empty list does not wipe them
    let out = c
        .merge_patch(
            &format!("{path}?fieldManager=p"),
            &json!({"metadata": {"managedFields": []}}),
        )
        .await
        .expect(200);
    assert_eq!(managers(&out), ["/Update", "editor/Update"]);
    // [{}] does
    let out = c
        .merge_patch(
            &format!("{path}?fieldManager=p"),
            &json!({"metadata": {"managedFields": [{}]}}),
        )
        .await
        .expect(200);
    assert!(
        out["metadata"].get("managedFields").is_none(),
        "{}",
        out["metadata"]
    );
    // a client may set them outright
    let out = c
        .merge_patch(
            &format!("{path}?fieldManager=p"),
            &json!({"metadata": {"managedFields": [{"manager": "me", "operation": "Apply", "apiVersion": "v1",
                "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:k": {}}}}]}}),
        )
        .await
        .expect(200);
    assert_eq!(managers(&out), ["me/Apply"]);
    // the status subresource records under its name and never takes them from the body
    let pod = c
        .post(
            "/api/v1/namespaces/default/pods?fieldManager=creator",
            &super::harness::pod("p"),
        )
        .await
        .expect(201);
    let mut status = pod.clone();
    status["status"] = json!({"phase": "Running"});
    status["metadata"]["managedFields"] = json!([{}]);
    let out = c
        .put(
            "/api/v1/namespaces/default/pods/p/status?fieldManager=kubelet",
            &status,
        )
        .await
        .expect(200);
    assert_eq!(managers(&out), ["creator/Update", "kubelet/Update/status"]);
    let kubelet = fields_of(&out, "kubelet");
    assert!(kubelet["f:status"]["f:phase"].is_object(), "{kubelet}");
    assert!(kubelet.get("f:spec").is_none(), "{kubelet}");
}
