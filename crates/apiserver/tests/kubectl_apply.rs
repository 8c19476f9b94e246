//! kubectl's write commands against our apiserver, with every installed
//! kubectl (1.27–1.33): client-side `apply` (create, change, remove a field),
//! `diff`, server-side `apply` (create, re-apply, conflicts,
//! `--force-conflicts`), `patch` of all three types, `label`, `annotate`,
//! `scale`, `replace`, `edit` and `set image`.
//!
//! Every step is checked twice: kubectl's own output, and the object as
//! stored (read back over HTTP), including who owns what in
//! `managedFields`.

#![allow(clippy::unwrap_used)]

#[allow(dead_code, unused_imports)]
mod suite;

use serde_json::{Value, json};
use suite::harness::{self, Client, test_config};
use suite::kubectl::{Kubectl, versions};

/// Runs kubectl and asserts it succeeded with exactly this output.
async fn expect(k: &Kubectl, args: &[&str], stdout: &str) {
    let run = k.run(args).await;
    assert_eq!(
        run.ok(),
        format!("{stdout}\n"),
        "kubectl {} {args:?}\nstderr: {}",
        k.version,
        run.stderr
    );
}

/// kubectl's past tense of `annotate`: older releases print the verb as it is.
async fn expect_annotated(k: &Kubectl, args: &[&str], object: &str) {
    let run = k.run(args).await;
    let out = run.ok();
    assert!(
        out == format!("{object} annotated\n") || out == format!("{object} annotate\n"),
        "kubectl {} {args:?}: {out}",
        k.version
    );
}

async fn get(c: &Client, path: &str) -> Value {
    c.get(path).await.expect(200)
}

/// The managers of an object, as `manager/operation`.
fn managers(obj: &Value) -> Vec<String> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    format!(
                        "{}/{}",
                        e["manager"].as_str().unwrap_or(""),
                        e["operation"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn fields_of<'a>(obj: &'a Value, manager: &str) -> &'a Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .and_then(|entries| entries.iter().find(|e| e["manager"] == manager))
        .map(|e| &e["fieldsV1"])
        .unwrap_or(&Value::Null)
}

async fn namespace(c: &Client, prefix: &str, version: &str) -> String {
    let ns = format!("{prefix}-{}", version.replace('.', "-"));
    c.post(
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
    )
    .await
    .expect(201);
    ns
}

fn deployment_yaml(
    replicas: u32,
    image: &str,
    env: &[(&str, &str)],
    labels: &[(&str, &str)],
) -> String {
    let mut labels_yaml = String::from("    app: web\n");
    for (k, v) in labels {
        labels_yaml.push_str(&format!("    {k}: {v}\n"));
    }
    let mut env_yaml = String::new();
    if !env.is_empty() {
        env_yaml.push_str("        env:\n");
        for (k, v) in env {
            env_yaml.push_str(&format!("        - name: {k}\n          value: \"{v}\"\n"));
        }
    }
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n{labels_yaml}spec:\n  replicas: {replicas}\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: nginx\n        image: {image}\n{env_yaml}        ports:\n        - containerPort: 80\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_side_apply_and_diff_with_every_kubectl() {
    let h = harness::sqlite(test_config()).await;
    for version in versions() {
        client_side_apply(&h.client, &Kubectl::new(&h.client.base, &version)).await;
    }
}

async fn client_side_apply(c: &Client, k: &Kubectl) {
    let v = k.version.as_str();
    let ns = namespace(c, "csa", v).await;
    let ns = ns.as_str();
    let path = format!("/apis/apps/v1/namespaces/{ns}/deployments/web");

    // create: the whole file as the last-applied annotation
    let file = k.file(
        "web.yaml",
        &deployment_yaml(2, "nginx:1.25", &[("A", "1")], &[("tier", "fe")]),
    );
    let file = file.to_str().unwrap();
    expect(
        k,
        &["apply", "-n", ns, "-f", file],
        "deployment.apps/web created",
    )
    .await;
    let d = get(c, &path).await;
    assert_eq!(d["spec"]["replicas"], 2, "{v}");
    let annotation =
        d["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap_or_default();
    let last: Value = serde_json::from_str(annotation).unwrap();
    assert_eq!(last["spec"]["replicas"], 2, "{v}: {annotation}");
    assert_eq!(managers(&d), ["kubectl-client-side-apply/Update"], "{v}");

    // nothing changed: nothing sent
    expect(
        k,
        &["apply", "-n", ns, "-f", file],
        "deployment.apps/web unchanged",
    )
    .await;

    // change the file: kubectl computes a strategic merge patch
    k.file(
        "web.yaml",
        &deployment_yaml(
            3,
            "nginx:1.26",
            &[("A", "1"), ("B", "2")],
            &[("tier", "fe")],
        ),
    );
    // `diff` first: a server-side dry run, exit status 1 with the changes
    let run = k.run(&["diff", "-n", ns, "-f", file]).await;
    assert_eq!(run.status, 1, "{v}: diff\n{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("-  replicas: 2"), "{v}: {}", run.stdout);
    assert!(run.stdout.contains("+  replicas: 3"), "{v}: {}", run.stdout);
    assert!(
        run.stdout.contains("+        - name: B"),
        "{v}: {}",
        run.stdout
    );
    assert_eq!(
        get(c, &path).await["spec"]["replicas"],
        2,
        "{v}: diff changed nothing"
    );
    expect(
        k,
        &["apply", "-n", ns, "-f", file],
        "deployment.apps/web configured",
    )
    .await;
    let d = get(c, &path).await;
    assert_eq!(d["spec"]["replicas"], 3, "{v}");
    assert_eq!(d["metadata"]["generation"], 2, "{v}");
    let container = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "nginx:1.26", "{v}");
    assert_eq!(
        container["env"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]),
        "{v}"
    );
    // defaults the server added survive the patch
    assert_eq!(container["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(
        container["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}])
    );

    // remove a field, an env var and a label from the file: they go
    k.file(
        "web.yaml",
        &deployment_yaml(3, "nginx:1.26", &[("B", "2")], &[]),
    );
    expect(
        k,
        &["apply", "-n", ns, "-f", file],
        "deployment.apps/web configured",
    )
    .await;
    let d = get(c, &path).await;
    assert_eq!(d["metadata"]["labels"], json!({"app": "web"}), "{v}");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name": "B", "value": "2"}]),
        "{v}"
    );
    // no difference left
    let run = k.run(&["diff", "-n", ns, "-f", file]).await;
    assert_eq!(run.status, 0, "{v}: {}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_with_every_kubectl() {
    let h = harness::sqlite(test_config()).await;
    for version in versions() {
        server_side_apply(&h.client, &Kubectl::new(&h.client.base, &version)).await;
    }
}

async fn server_side_apply(c: &Client, k: &Kubectl) {
    let v = k.version.as_str();
    let ns = namespace(c, "ssa", v).await;
    let ns = ns.as_str();
    let path = format!("/api/v1/namespaces/{ns}/configmaps/cfg");
    let cm = |data: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  labels:\n    app: web\ndata:\n{data}"
        )
    };
    let file = k.file("cfg.yaml", &cm("  a: \"1\"\n  b: \"2\"\n"));
    let file = file.to_str().unwrap();

    // create
    expect(
        k,
        &["apply", "--server-side", "-n", ns, "-f", file],
        "configmap/cfg serverside-applied",
    )
    .await;
    let got = get(c, &path).await;
    assert_eq!(got["data"], json!({"a": "1", "b": "2"}), "{v}");
    assert_eq!(managers(&got), ["kubectl/Apply"], "{v}");
    assert_eq!(
        fields_of(&got, "kubectl"),
        &json!({"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:labels": {"f:app": {}}}}),
        "{v}"
    );

    // re-apply without b: b goes
    k.file("cfg.yaml", &cm("  a: \"1\"\n"));
    expect(
        k,
        &["apply", "--server-side", "-n", ns, "-f", file],
        "configmap/cfg serverside-applied",
    )
    .await;
    assert_eq!(get(c, &path).await["data"], json!({"a": "1"}), "{v}");

    // another manager changes a: applying a different value conflicts
    expect(
        k,
        &[
            "patch",
            "-n",
            ns,
            "configmap",
            "cfg",
            "--type=merge",
            "-p",
            r#"{"data":{"a":"x"}}"#,
        ],
        "configmap/cfg patched",
    )
    .await;
    let patched = get(c, &path).await;
    let patcher = managers(&patched)
        .into_iter()
        .find(|m| m.ends_with("/Update"))
        .unwrap_or_default();
    let patcher = patcher.trim_end_matches("/Update");
    assert!(patcher.starts_with("kubectl"), "{v}: {patcher}");
    k.file("cfg.yaml", &cm("  a: \"y\"\n"));
    let run = k
        .run(&["apply", "--server-side", "-n", ns, "-f", file])
        .await;
    let err = run.err();
    assert!(
        err.contains(&format!(
            "Apply failed with 1 conflict: conflict with \"{patcher}\" using v1: .data.a"
        )),
        "{v}: {err}"
    );
    assert!(err.contains("--force-conflicts"), "{v}: {err}");
    assert_eq!(get(c, &path).await["data"]["a"], "x", "{v}");
    expect(
        k,
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-n",
            ns,
            "-f",
            file,
        ],
        "configmap/cfg serverside-applied",
    )
    .await;
    let got = get(c, &path).await;
    assert_eq!(got["data"]["a"], "y", "{v}");
    assert_eq!(
        fields_of(&got, patcher),
        &Value::Null,
        "{v}: {}",
        got["metadata"]
    );

    // from client-side to server-side apply: no conflicts with our own fields
    let dfile = k.file("web.yaml", &deployment_yaml(2, "nginx:1.25", &[], &[]));
    let dfile = dfile.to_str().unwrap();
    expect(
        k,
        &["apply", "-n", ns, "-f", dfile],
        "deployment.apps/web created",
    )
    .await;
    // (configured once more client-side: the update recorded the
    // containers list and the labels map as wholes, which the upgrade to
    // server-side apply must not prune)
    k.file(
        "web.yaml",
        &deployment_yaml(3, "nginx:1.25", &[("A", "1")], &[]),
    );
    expect(
        k,
        &["apply", "-n", ns, "-f", dfile],
        "deployment.apps/web configured",
    )
    .await;
    k.file(
        "web.yaml",
        &deployment_yaml(4, "nginx:1.25", &[("A", "1")], &[]),
    );
    expect(
        k,
        &["apply", "--server-side", "-n", ns, "-f", dfile],
        "deployment.apps/web serverside-applied",
    )
    .await;
    let d = get(c, &format!("/apis/apps/v1/namespaces/{ns}/deployments/web")).await;
    assert_eq!(d["spec"]["replicas"], 4, "{v}");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name": "A", "value": "1"}]),
        "{v}"
    );
    assert_eq!(
        d["spec"]["template"]["metadata"]["labels"],
        json!({"app": "web"}),
        "{v}"
    );
    let annotation =
        d["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap_or_default();
    assert!(annotation.contains("\"replicas\":4"), "{v}: {annotation}");
    // and back: client-side apply still works from the refreshed annotation
    k.file(
        "web.yaml",
        &deployment_yaml(5, "nginx:1.25", &[("A", "1")], &[]),
    );
    expect(
        k,
        &["apply", "-n", ns, "-f", dfile],
        "deployment.apps/web configured",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_label_annotate_scale_with_every_kubectl() {
    let h = harness::sqlite(test_config()).await;
    for version in versions() {
        imperative_writes(&h.client, &Kubectl::new(&h.client.base, &version)).await;
    }
}

async fn imperative_writes(c: &Client, k: &Kubectl) {
    let v = k.version.as_str();
    let ns = namespace(c, "imp", v).await;
    let ns = ns.as_str();
    let path = format!("/apis/apps/v1/namespaces/{ns}/deployments/web");
    let file = k.file(
        "web.yaml",
        &deployment_yaml(1, "nginx:1.25", &[("A", "1")], &[]),
    );
    expect(
        k,
        &["create", "-n", ns, "-f", file.to_str().unwrap()],
        "deployment.apps/web created",
    )
    .await;

    // strategic merge patch (the default type): containers by name
    expect(
        k,
        &[
            "patch", "-n", ns, "deployment", "web", "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"nginx","env":[{"name":"B","value":"2"}]}]}}}}"#,
        ],
        "deployment.apps/web patched",
    )
    .await;
    let d = get(c, &path).await;
    let container = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "nginx:1.25", "{v}");
    assert_eq!(
        container["env"],
        json!([{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]),
        "{v}"
    );
    // the same patch again changes nothing
    expect(
        k,
        &[
            "patch", "-n", ns, "deployment", "web", "--type=strategic", "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"nginx","env":[{"name":"B","value":"2"}]}]}}}}"#,
        ],
        "deployment.apps/web patched (no change)",
    )
    .await;
    // merge patch replaces lists
    expect(
        k,
        &[
            "patch",
            "-n",
            ns,
            "deployment",
            "web",
            "--type=merge",
            "-p",
            r#"{"spec":{"minReadySeconds":5}}"#,
        ],
        "deployment.apps/web patched",
    )
    .await;
    // JSON patch
    expect(
        k,
        &[
            "patch", "-n", ns, "deployment", "web", "--type=json", "-p",
            r#"[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.26"}]"#,
        ],
        "deployment.apps/web patched",
    )
    .await;
    let d = get(c, &path).await;
    assert_eq!(d["spec"]["minReadySeconds"], 5, "{v}");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.26",
        "{v}"
    );
    // a strategic patch without the merge key: upstream's message
    let run = k
        .run(&[
            "patch",
            "-n",
            ns,
            "deployment",
            "web",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}"#,
        ])
        .await;
    assert!(
        run.err().contains(
            "Error from server: map: map[image:x] does not contain declared merge key: name"
        ),
        "{v}: {}",
        run.stderr
    );
    // patching a missing object
    let run = k
        .run(&["patch", "-n", ns, "deployment", "nope", "-p", "{}"])
        .await;
    assert!(
        run.err()
            .contains(r#"Error from server (NotFound): deployments.apps "nope" not found"#),
        "{v}: {}",
        run.stderr
    );

    // label and annotate, and their removal with `key-`
    expect(
        k,
        &["label", "-n", ns, "deployment", "web", "env=prod"],
        "deployment.apps/web labeled",
    )
    .await;
    expect_annotated(
        k,
        &["annotate", "-n", ns, "deployment", "web", "note=hello"],
        "deployment.apps/web",
    )
    .await;
    let d = get(c, &path).await;
    assert_eq!(d["metadata"]["labels"]["env"], "prod", "{v}");
    assert_eq!(d["metadata"]["annotations"]["note"], "hello", "{v}");
    let run = k
        .run(&["label", "-n", ns, "deployment", "web", "env=dev"])
        .await;
    assert!(
        run.err().contains("'env' already has a value (prod)"),
        "{v}: {}",
        run.stderr
    );
    expect(
        k,
        &[
            "label",
            "-n",
            ns,
            "--overwrite",
            "deployment",
            "web",
            "env=dev",
        ],
        "deployment.apps/web labeled",
    )
    .await;
    expect(
        k,
        &["label", "-n", ns, "deployment", "web", "env-"],
        "deployment.apps/web unlabeled",
    )
    .await;
    expect_annotated(
        k,
        &["annotate", "-n", ns, "deployment", "web", "note-"],
        "deployment.apps/web",
    )
    .await;
    let d = get(c, &path).await;
    assert!(d["metadata"]["labels"].get("env").is_none(), "{v}");
    assert!(
        d["metadata"]
            .get("annotations")
            .is_none_or(|a| a.get("note").is_none()),
        "{v}: {}",
        d["metadata"]
    );

    // scale patches /scale
    expect(
        k,
        &["scale", "-n", ns, "deployment", "web", "--replicas=4"],
        "deployment.apps/web scaled",
    )
    .await;
    let d = get(c, &path).await;
    assert_eq!(d["spec"]["replicas"], 4, "{v}");
    let scaler = d["metadata"]["managedFields"]
        .as_array()
        .and_then(|es| es.iter().find(|e| e["subresource"] == "scale"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        scaler["fieldsV1"],
        json!({"f:spec": {"f:replicas": {}}}),
        "{v}: {}",
        d["metadata"]
    );

    // set image (a strategic merge patch)
    expect(
        k,
        &[
            "set",
            "image",
            "-n",
            ns,
            "deployment/web",
            "nginx=nginx:1.27",
        ],
        "deployment.apps/web image updated",
    )
    .await;
    assert_eq!(
        get(c, &path).await["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27",
        "{v}"
    );

    // edit, with an editor that is a script
    let script = k.file(
        "edit.sh",
        "#!/bin/sh\nsed -i 's/replicas: 4/replicas: 6/' \"$1\"\n",
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let run = k
        .run_env(
            &["edit", "-n", ns, "deployment", "web"],
            &[
                ("EDITOR", script.to_str().unwrap()),
                ("KUBE_EDITOR", script.to_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(
        run.ok(),
        "deployment.apps/web edited\n",
        "{v}: {}",
        run.stderr
    );
    let d = get(c, &path).await;
    assert_eq!(d["spec"]["replicas"], 6, "{v}");
    assert!(
        fields_of(&d, "kubectl-edit")["f:spec"]["f:replicas"].is_object(),
        "{v}: {}",
        d["metadata"]
    );

    // replace: a whole new object
    let replaced = k.file(
        "replace.yaml",
        &deployment_yaml(2, "nginx:1.28", &[], &[("tier", "be")]),
    );
    expect(
        k,
        &["replace", "-n", ns, "-f", replaced.to_str().unwrap()],
        "deployment.apps/web replaced",
    )
    .await;
    let d = get(c, &path).await;
    assert_eq!(d["spec"]["replicas"], 2, "{v}");
    assert_eq!(d["metadata"]["labels"]["tier"], "be", "{v}");
    assert!(
        d["spec"]["template"]["spec"]["containers"][0]
            .get("env")
            .is_none(),
        "{v}"
    );
    assert!(
        fields_of(&d, "kubectl-replace").is_object(),
        "{v}: {}",
        d["metadata"]
    );
}

/// What `kubectl create` leaves in `managedFields` is upstream's shape:
/// the creator owns what it sent and what defaulting filled in, but not
/// what admission and the registry added after (a pod's service account,
/// priority and tolerations), and `.` (the node itself) only for nodes a
/// Go object can lack: not `spec`, `template` or `containers`, but
/// `labels`, the pointer struct `rollingUpdate`, and all of a new item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_records_what_upstream_records() {
    let h = harness::sqlite(test_config()).await;
    let c = &h.client;
    let versions = versions();
    let k = Kubectl::new(&c.base, versions.last().unwrap());
    let ns = namespace(c, "created", &k.version).await;
    let ns = ns.as_str();

    expect(
        &k,
        &["create", "-n", ns, "deployment", "web", "--image=nginx"],
        "deployment.apps/web created",
    )
    .await;
    let d = get(c, &format!("/apis/apps/v1/namespaces/{ns}/deployments/web")).await;
    assert_eq!(managers(&d), ["kubectl-create/Update"]);
    let container = json!({".": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {},
        "f:resources": {}, "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}});
    let pod_spec = json!({"f:containers": {"k:{\"name\":\"nginx\"}": container},
        "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:restartPolicy": {},
        "f:schedulerName": {}, "f:securityContext": {}, "f:terminationGracePeriodSeconds": {}});
    assert_eq!(
        *fields_of(&d, "kubectl-create"),
        json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:progressDeadlineSeconds": {}, "f:replicas": {}, "f:revisionHistoryLimit": {},
                "f:selector": {},
                "f:strategy": {
                    "f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}},
                    "f:type": {}
                },
                "f:template": {
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": pod_spec
                }
            }
        })
    );

    let pod = k.file(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: busybox\n    resources:\n      requests:\n        cpu: 100m\n",
    );
    expect(
        &k,
        &["create", "-n", ns, "-f", pod.to_str().unwrap()],
        "pod/p created",
    )
    .await;
    let p = get(c, &format!("/api/v1/namespaces/{ns}/pods/p")).await;
    // Admission did its part, but it is nobody's field.
    assert_eq!(p["spec"]["serviceAccountName"], "default");
    assert_eq!(p["spec"]["tolerations"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        *fields_of(&p, "kubectl-create"),
        json!({"f:spec": {
            "f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {},
                "f:imagePullPolicy": {}, "f:name": {},
                "f:resources": {".": {}, "f:requests": {".": {}, "f:cpu": {}}},
                "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}}},
            "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:restartPolicy": {},
            "f:schedulerName": {}, "f:securityContext": {}, "f:terminationGracePeriodSeconds": {}
        }})
    );

    let created = format!("{ns}-x");
    expect(
        &k,
        &["create", "namespace", &created],
        &format!("namespace/{created} created"),
    )
    .await;
    let n = get(c, &format!("/api/v1/namespaces/{created}")).await;
    assert_eq!(
        *fields_of(&n, "kubectl-create"),
        json!({"f:metadata": {"f:labels": {".": {}, "f:kubernetes.io/metadata.name": {}}}})
    );
}
