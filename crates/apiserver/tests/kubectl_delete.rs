//! `kubectl delete` in its forms, and the errors kubectl users see for bad
//! input, with the real kubectl binaries (every installed version).

#![allow(clippy::unwrap_used)]

#[allow(dead_code, unused_imports)]
mod suite;

use serde_json::json;
use suite::harness::{self, CONFIGMAPS, PODS, bind, configmap, pod, test_config};
use suite::kubectl::{Kubectl, versions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_forms_return_once_objects_are_gone() {
    let h = harness::sqlite(test_config()).await;
    let c = &h.client;
    for v in versions() {
        let k = Kubectl::new(&h.server.url(), &v);
        let tag = v.replace('.', "-");
        // a pod not bound to a node goes at once
        c.post(PODS, &pod(&format!("free-{tag}"))).await.expect(201);
        let out = k.run(&["delete", "pod", &format!("free-{tag}")]).await;
        assert_eq!(
            out.ok().trim(),
            format!("pod \"free-{tag}\" deleted"),
            "{v}"
        );
        c.get(&format!("{PODS}/free-{tag}")).await.expect(404);

        // a bound pod waits for its kubelet; --grace-period=0 --force does not
        c.post(PODS, &pod(&format!("bound-{tag}")))
            .await
            .expect(201);
        bind(c, "default", &format!("bound-{tag}"), "node-1")
            .await
            .expect(201);
        let out = k
            .run(&[
                "delete",
                "pod",
                &format!("bound-{tag}"),
                "--grace-period=0",
                "--force",
            ])
            .await;
        assert!(
            out.ok()
                .contains(&format!("pod \"bound-{tag}\" force deleted")),
            "{v}: {out:?}"
        );
        assert!(
            out.stderr
                .contains("Immediate deletion does not wait for confirmation"),
            "{v}: {}",
            out.stderr
        );
        c.get(&format!("{PODS}/bound-{tag}")).await.expect(404);

        // -l and --all
        for (name, app) in [("a", "x"), ("b", "x"), ("c", "y")] {
            let mut cm = configmap(&format!("{name}-{tag}"));
            cm["metadata"]["labels"] = json!({ "app": app, "run": tag });
            c.post(CONFIGMAPS, &cm).await.expect(201);
        }
        let out = k
            .run(&["delete", "configmaps", "-l", &format!("app=x,run={tag}")])
            .await;
        let mut lines: Vec<&str> = out.ok().lines().collect();
        lines.sort();
        assert_eq!(
            lines,
            [
                format!("configmap \"a-{tag}\" deleted"),
                format!("configmap \"b-{tag}\" deleted")
            ],
            "{v}"
        );
        let out = k.run(&["delete", "configmaps", "--all"]).await;
        assert!(
            out.ok().contains(&format!("configmap \"c-{tag}\" deleted")),
            "{v}: {out:?}"
        );
        let left = c.get(CONFIGMAPS).await.expect(200);
        assert_eq!(left["items"].as_array().unwrap().len(), 0, "{v}");
    }
}

/// `--cascade=orphan|foreground` record the garbage collector's finalizers;
/// the object goes once the collector (kube-controller-manager) has done its
/// part. Without it running, kubectl must not wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cascade_policies_are_recorded_for_the_garbage_collector() {
    let h = harness::sqlite(test_config()).await;
    let c = &h.client;
    let k = Kubectl::new(&h.server.url(), "");
    let deploy = |name: &str| {
        json!({ "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": name },
            "spec": { "selector": { "matchLabels": { "a": name } },
                      "template": { "metadata": { "labels": { "a": name } }, "spec": { "containers": [{ "name": "c", "image": "nginx:1.25" }] } } } })
    };
    let deployments = "/apis/apps/v1/namespaces/default/deployments";
    for (name, cascade, finalizer) in [
        ("orph", "orphan", "orphan"),
        ("fore", "foreground", "foregroundDeletion"),
    ] {
        c.post(deployments, &deploy(name)).await.expect(201);
        let out = k
            .run(&[
                "delete",
                "deployment",
                name,
                &format!("--cascade={cascade}"),
                "--wait=false",
            ])
            .await;
        assert_eq!(
            out.ok().trim(),
            format!("deployment.apps \"{name}\" deleted")
        );
        let d = c.get(&format!("{deployments}/{name}")).await.expect(200);
        assert_eq!(d["metadata"]["finalizers"], json!([finalizer]), "{cascade}");
        assert!(d["metadata"]["deletionTimestamp"].is_string());
    }
    // background (the default) deletes at once
    c.post(deployments, &deploy("bg")).await.expect(201);
    assert_eq!(
        k.run(&["delete", "deployment", "bg"]).await.ok().trim(),
        "deployment.apps \"bg\" deleted"
    );
    c.get(&format!("{deployments}/bg")).await.expect(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_errors() {
    let h = harness::sqlite(test_config()).await;
    let c = &h.client;
    c.post(PODS, &pod("p")).await.expect(201);
    for v in versions() {
        let k = Kubectl::new(&h.server.url(), &v);
        let bad_yaml = k.file(
            "bad.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n",
        );
        let err = k.run(&["create", "-f", bad_yaml.to_str().unwrap()]).await;
        assert!(
            err.err().contains("error converting YAML to JSON") || err.stderr.contains("yaml:"),
            "{v}: {}",
            err.stderr
        );

        // For a kind it does not know, kubectl's validation looks for a
        // CustomResourceDefinition. We serve no CRDs (apiextensions.k8s.io),
        // so kubectl stops there, naming the problem; with validation off it
        // reports the unknown kind as it does against upstream.
        let unknown = k.file(
            "unknown.yaml",
            "apiVersion: v1\nkind: Widget\nmetadata:\n  name: w\n",
        );
        let err = k.run(&["create", "-f", unknown.to_str().unwrap()]).await;
        assert!(
            err.err()
                .contains("failed to check CRD: failed to list CRDs"),
            "{v}: {}",
            err.stderr
        );
        let err = k
            .run(&[
                "create",
                "--validate=false",
                "-f",
                unknown.to_str().unwrap(),
            ])
            .await;
        assert!(
            err.err()
                .contains(r#"no matches for kind "Widget" in version "v1""#),
            "{v}: {}",
            err.stderr
        );

        let wrong_version = k.file(
            "wrong.yaml",
            "apiVersion: v1\nkind: Deployment\nmetadata:\n  name: d\n",
        );
        let err = k
            .run(&[
                "create",
                "--validate=false",
                "-f",
                wrong_version.to_str().unwrap(),
            ])
            .await;
        assert!(
            err.err()
                .contains(r#"no matches for kind "Deployment" in version "v1""#),
            "{v}: {}",
            err.stderr
        );

        let err = k.run(&["create", "configmap", "Bad_Name"]).await;
        assert!(
            err.err().contains(r#"ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters"#),
            "{v}: {}",
            err.stderr
        );

        let err = k
            .run(&[
                "patch",
                "pod",
                "p",
                "--type=json",
                "-p",
                r#"[{"op":"replace","path":"/spec/containers/0/name","value":"renamed"}]"#,
            ])
            .await;
        assert!(
            err.err().contains(r#"The Pod "p" is invalid: spec: Forbidden: pod updates may not change fields other than"#),
            "{v}: {}",
            err.stderr
        );

        let err = k
            .run(&[
                "patch",
                "pod",
                "missing",
                "-p",
                r#"{"metadata":{"labels":{"a":"b"}}}"#,
            ])
            .await;
        assert!(
            err.err()
                .contains(r#"Error from server (NotFound): pods "missing" not found"#),
            "{v}: {}",
            err.stderr
        );

        let err = k.run(&["get", "pod", "missing"]).await;
        assert!(
            err.err()
                .contains(r#"Error from server (NotFound): pods "missing" not found"#),
            "{v}: {}",
            err.stderr
        );

        let err = k.run(&["create", "configmap", "dup-check"]).await;
        err.ok();
        let err = k.run(&["create", "configmap", "dup-check"]).await;
        // generator commands wrap the server's message in their own words
        assert!(
            err.err()
                .contains(r#"configmaps "dup-check" already exists"#),
            "{v}: {}",
            err.stderr
        );
        let dup = k.file(
            "dup.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dup-check\n",
        );
        let err = k.run(&["create", "-f", dup.to_str().unwrap()]).await;
        assert!(
            err.err()
                .contains(r#"Error from server (AlreadyExists): error when creating"#)
                && err
                    .stderr
                    .contains(r#"configmaps "dup-check" already exists"#),
            "{v}: {}",
            err.stderr
        );
        k.run(&["delete", "configmap", "dup-check"]).await.ok();

        let err = k
            .run(&["create", "configmap", "x", "-n", "no-such-namespace"])
            .await;
        assert!(
            err.err()
                .contains(r#"namespaces "no-such-namespace" not found"#),
            "{v}: {}",
            err.stderr
        );
    }
}
