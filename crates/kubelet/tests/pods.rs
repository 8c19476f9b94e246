//! The kubelet with a real containerd (CRI), real CNI and a real
//! apiserver: pods are created through the API and must really run.
//! Needs root and the packages `e2e/test.sh` installs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use api_types::core::v1::{ConfigMap, Node, Pod, Secret};
use api_types::meta::v1::DeleteOptions;
use client::{Api, Client, PostParams};
use cri::{RemoteRuntime, RuntimeService};
use kubelet::kubelet::{Kubelet, KubeletConfig, Runtime};
use serde_json::json;
use test_support::containerd::{BUSYBOX_IMAGE, Containerd};
use testenv::TestApiserver;
use tokio::sync::oneshot;

struct Cluster {
    api: TestApiserver,
    client: Client,
    cd: Containerd,
    cri: RemoteRuntime,
    node: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Cluster {
    async fn start() -> Cluster {
        test_support::init_tracing();
        let cd = Containerd::start();
        let api = TestApiserver::start().await;
        let client = api.client();
        let cri = RemoteRuntime::new(&cd.endpoint(), Duration::from_secs(60)).unwrap();
        let mut c = Cluster {
            api,
            client,
            cd,
            cri,
            node: "node-a".into(),
            stop: None,
            task: None,
        };
        c.start_kubelet();
        c.wait_node_ready().await;
        c
    }

    fn config(&self) -> KubeletConfig {
        let mut cfg = KubeletConfig::new(&self.node);
        cfg.node.pod_cidr = Some(self.cd.pod_cidr());
        cfg.node.node_ip = Some("127.0.0.1".parse().unwrap());
        cfg.root_dir = self.cd.scratch("kubelet");
        cfg.pod_logs_dir = self.cd.scratch("logs");
        cfg.pod_manifest_path = Some(self.cd.scratch("manifests"));
        cfg.cgroup_root = self.cd.cgroup_root();
        cfg.cni_conf_dir = self.cd.cni_conf_dir();
        cfg.cni_bridge = self.cd.bridge();
        cfg.node_status_update_frequency = Duration::from_secs(1);
        cfg.sync_frequency = Duration::from_secs(5);
        // Any free port: tests run side by side.
        cfg.server = Some(([127, 0, 0, 1], 0).into());
        cfg.healthz = None;
        cfg
    }

    fn start_kubelet(&mut self) {
        let (tx, rx) = oneshot::channel();
        let rt = Runtime {
            runtime: Arc::new(self.cri.clone()),
            images: Arc::new(self.cri.clone()),
        };
        let fut = Kubelet::run(self.config(), rt, Some(self.client.clone()), async move {
            let _ = rx.await;
        });
        self.stop = Some(tx);
        self.task = Some(tokio::spawn(async move {
            fut.await.unwrap();
        }));
    }

    async fn stop_kubelet(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }

    async fn wait_node_ready(&self) {
        let nodes: Api<Node> = Api::all(self.client.clone());
        wait("node Ready", Duration::from_secs(30), || async {
            let n = nodes.get_opt(&self.node).await.ok().flatten()?;
            let ready = n
                .status?
                .conditions?
                .into_iter()
                .find(|c| c.type_ == "Ready")?;
            (ready.status == "True").then_some(())
        })
        .await;
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), "default")
    }

    async fn create(&self, pod: serde_json::Value) -> Pod {
        let mut pod: Pod = serde_json::from_value(pod).unwrap();
        pod.metadata.namespace = "default".into();
        pod.spec.as_mut().unwrap().node_name = Some(self.node.clone());
        self.pods()
            .create(&PostParams::default(), &pod)
            .await
            .unwrap()
    }

    async fn wait_pod<T>(
        &self,
        name: &str,
        what: &str,
        secs: u64,
        f: impl Fn(&Pod) -> Option<T>,
    ) -> T {
        wait(what, Duration::from_secs(secs), || async {
            let p = self.pods().get_opt(name).await.ok().flatten()?;
            f(&p)
        })
        .await
    }

    /// A container's log, as the runtime wrote it.
    fn log(&self, pod: &Pod, container: &str, n: u32) -> String {
        let dir = self.cd.scratch("logs").join(format!(
            "default_{}_{}",
            pod.metadata.name, pod.metadata.uid
        ));
        std::fs::read_to_string(dir.join(container).join(format!("{n}.log"))).unwrap_or_default()
    }
}

use test_support::eventually as wait;

fn phase(p: &Pod) -> &str {
    p.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

fn container<'a>(p: &'a Pod, name: &str) -> Option<&'a api_types::core::v1::ContainerStatus> {
    p.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == name)
}

fn http_get(url: &str) -> String {
    let out = std::process::Command::new("busybox")
        .args(["timeout", "3", "busybox", "wget", "-qO-", url])
        .output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_run_serve_and_are_deleted_gracefully() {
    let c = Cluster::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "default");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(
            json!({"metadata": {"name": "cfg"}, "data": {"color": "blue", "size": "L"}}),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let secrets: Api<Secret> = Api::namespaced(c.client.clone(), "default");
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": "pw"}, "stringData": {"password": "s3cret"}}),
            )
            .unwrap(),
        )
        .await
        .unwrap();

    // An init container writes the page into an emptyDir; the web server
    // serves it; env comes from the downward API, a ConfigMap and a Secret.
    let created = c
        .create(json!({
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "initContainers": [{"name": "init", "image": BUSYBOX_IMAGE, "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", "echo hello from $(POD_NAME) > /www/index.html"],
                    "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                    "volumeMounts": [{"name": "www", "mountPath": "/www"}]}],
                "containers": [{"name": "httpd", "image": BUSYBOX_IMAGE, "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", "echo color=$COLOR pw=$PW ns=$NS; cat /etc/cfg/size; echo; exec httpd -f -p 8080 -h /www"],
                    "env": [
                        {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "color"}}},
                        {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "pw", "key": "password"}}},
                        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
                    "ports": [{"name": "http", "containerPort": 8080}],
                    // Ready means serving: the GET below must not race httpd's start.
                    "readinessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 1},
                    "volumeMounts": [{"name": "www", "mountPath": "/www", "readOnly": true}, {"name": "cfg", "mountPath": "/etc/cfg"}]},
                    {"name": "sidecar", "image": BUSYBOX_IMAGE, "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", "sleep 1; wget -qO- http://localhost:8080/index.html; exec sleep 3600"]}],
                "volumes": [{"name": "www", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "cfg"}}],
                "terminationGracePeriodSeconds": 5,
            }
        }))
        .await;
    let pod = c
        .wait_pod("web", "web Running and Ready", 60, |p| {
            let ready = p
                .status
                .as_ref()?
                .conditions
                .as_ref()?
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            (phase(p) == "Running" && ready).then(|| p.clone())
        })
        .await;
    let status = pod.status.clone().unwrap();
    let ip = status.pod_ip.clone().expect("pod IP");
    assert!(
        ip.starts_with(&c.cd.pod_cidr()[..c.cd.pod_cidr().len() - 4]),
        "{ip} in {}",
        c.cd.pod_cidr()
    );
    assert_eq!(status.qos_class.as_deref(), Some("BestEffort"));
    assert_eq!(
        status.init_container_statuses.as_ref().unwrap()[0]
            .state
            .as_ref()
            .unwrap()
            .terminated
            .as_ref()
            .unwrap()
            .reason
            .as_deref(),
        Some("Completed")
    );
    assert!(
        container(&pod, "httpd")
            .unwrap()
            .container_id
            .as_deref()
            .unwrap()
            .starts_with("containerd://")
    );

    // Reachable on its pod IP from the node.
    assert_eq!(
        http_get(&format!("http://{ip}:8080/index.html")).trim(),
        "hello from web"
    );
    // Environment and configMap volume.
    let log = c.log(&pod, "httpd", 0);
    assert!(log.contains("color=blue pw=s3cret ns=default"), "{log}");
    assert!(log.contains(" stdout F L"), "{log}");
    // Two containers share localhost.
    let side = wait("sidecar output", Duration::from_secs(10), || async {
        let l = c.log(&pod, "sidecar", 0);
        l.contains("hello from web").then_some(l)
    })
    .await;
    assert!(side.contains("hello from web"));

    // Graceful deletion: the kubelet stops the containers and confirms.
    c.pods()
        .delete("web", &DeleteOptions::default())
        .await
        .unwrap();
    wait("pod object gone", Duration::from_secs(30), || async {
        c.pods()
            .get_opt("web")
            .await
            .ok()
            .flatten()
            .is_none()
            .then_some(())
    })
    .await;
    wait("sandbox removed", Duration::from_secs(10), || async {
        c.cri
            .list_pod_sandbox(None)
            .await
            .ok()?
            .is_empty()
            .then_some(())
    })
    .await;
    let _ = created;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_loop_back_off_and_probes() {
    let c = Cluster::start().await;
    c.create(json!({
        "metadata": {"name": "crasher"},
        "spec": {"containers": [{"name": "c", "image": BUSYBOX_IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", "echo boom; exit 3"]}]}
    }))
    .await;
    c.create(json!({
        "metadata": {"name": "probed"},
        "spec": {"terminationGracePeriodSeconds": 2, "containers": [{"name": "app", "image": BUSYBOX_IMAGE, "imagePullPolicy": "IfNotPresent",
            "command": ["sh", "-c", "touch /tmp/alive; exec sleep 3600"],
            "readinessProbe": {"exec": {"command": ["test", "-f", "/tmp/ready"]}, "periodSeconds": 1, "failureThreshold": 1},
            "livenessProbe": {"exec": {"command": ["test", "-f", "/tmp/alive"]}, "periodSeconds": 1, "failureThreshold": 2}}]}
    }))
    .await;

    // The crashing container restarts at once, then backs off.
    let (restarts, last) = c
        .wait_pod("crasher", "CrashLoopBackOff", 40, |p| {
            let cs = container(p, "c")?;
            let waiting = cs.state.as_ref()?.waiting.as_ref()?;
            (waiting.reason.as_deref() == Some("CrashLoopBackOff"))
                .then(|| (cs.restart_count, cs.last_state.clone()))
        })
        .await;
    assert!(restarts >= 1, "restartCount {restarts}");
    let last = last.unwrap().terminated.unwrap();
    assert_eq!((last.exit_code, last.reason.as_deref()), (3, Some("Error")));

    // Readiness: not ready until the file exists.
    let p = c
        .wait_pod("probed", "probed Running", 30, |p| {
            (phase(p) == "Running").then(|| p.clone())
        })
        .await;
    assert!(!container(&p, "app").unwrap().ready);
    let id = container(&p, "app")
        .unwrap()
        .container_id
        .clone()
        .unwrap()
        .replace("containerd://", "");
    c.cri
        .exec_sync(
            &id,
            vec!["touch".into(), "/tmp/ready".into()],
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    c.wait_pod("probed", "ready after the probe passes", 15, |p| {
        container(p, "app")?.ready.then_some(())
    })
    .await;
    // Liveness: removing the file gets the container restarted.
    c.cri
        .exec_sync(
            &id,
            vec!["rm".into(), "/tmp/alive".into()],
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    c.wait_pod("probed", "restart after liveness failure", 30, |p| {
        let cs = container(p, "app")?;
        (cs.restart_count >= 1 && cs.state.as_ref()?.running.is_some()).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_pods_and_kubelet_restart() {
    let mut c = Cluster::start().await;
    let manifests = c.cd.scratch("manifests");
    let manifest = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: static-web\nspec:\n  containers:\n  - name: web\n    image: {BUSYBOX_IMAGE}\n    command: [sh, -c, 'exec sleep 3600']\n"
    );
    std::fs::write(manifests.join("web.yaml"), &manifest).unwrap();
    let mirror_name = format!("static-web-{}", c.node);
    let mirror = c
        .wait_pod(&mirror_name, "mirror pod Running", 40, |p| {
            (phase(p) == "Running").then(|| p.clone())
        })
        .await;
    assert!(
        mirror
            .metadata
            .annotations
            .contains_key("kubernetes.io/config.mirror")
    );
    assert_eq!(mirror.metadata.owner_references[0].kind, "Node");

    c.create(json!({"metadata": {"name": "long"}, "spec": {"containers": [{"name": "c", "image": BUSYBOX_IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["sleep", "3600"]}]}})).await;
    let before = c
        .wait_pod("long", "long Running", 30, |p| {
            (phase(p) == "Running")
                .then(|| container(p, "c").cloned())
                .flatten()
        })
        .await;

    // A restarted kubelet adopts what runs: nothing restarts.
    c.stop_kubelet().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    c.start_kubelet();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = c
        .wait_pod("long", "long still Running", 10, |p| {
            container(p, "c").cloned()
        })
        .await;
    assert_eq!(after.container_id, before.container_id);
    assert_eq!(after.restart_count, 0);
    assert!(after.state.unwrap().running.is_some());

    // Removing the manifest stops the static pod and deletes the mirror.
    std::fs::remove_file(manifests.join("web.yaml")).unwrap();
    wait("mirror deleted", Duration::from_secs(30), || async {
        c.pods()
            .get_opt(&mirror_name)
            .await
            .ok()
            .flatten()
            .is_none()
            .then_some(())
    })
    .await;
    c.stop_kubelet().await;
}

/// Runs kubectl `version` with `args`; returns (exit code, stdout, stderr).
fn kubectl(
    version: &str,
    kubeconfig: &std::path::Path,
    args: &[&str],
    stdin: &str,
) -> (i32, String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(testenv::kubectl_binary(version))
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg("--request-timeout=30s")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_logs_exec_and_port_forward_reach_the_container() {
    let c = Cluster::start().await;
    let kubeconfig = c.api.write_kubeconfig();
    c.create(json!({
        "metadata": {"name": "talker"},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {"name": "app", "image": BUSYBOX_IMAGE, "command": ["sh", "-c",
                    "echo hello-1; echo hello-2 >&2; i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.3; done"]},
                {"name": "web", "image": BUSYBOX_IMAGE, "command": ["sh", "-c",
                    "mkdir -p /www && echo port-forward-works > /www/index.html && exec httpd -f -p 8080 -h /www"],
                 "ports": [{"containerPort": 8080}]}
            ]
        }
    }))
    .await;
    c.wait_pod("talker", "talker Running", 60, |p| {
        (phase(p) == "Running").then_some(())
    })
    .await;

    // The kubelet's own endpoints.
    let node: Node = Api::<Node>::all(c.client.clone())
        .get(&c.node)
        .await
        .unwrap();
    let port = node
        .status
        .unwrap()
        .daemon_endpoints
        .unwrap()
        .kubelet_endpoint
        .unwrap()
        .port;
    assert_ne!(port, 0);
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(http_get(&format!("{base}/healthz")), "ok");
    assert!(http_get(&format!("{base}/pods")).contains("\"name\":\"talker\""));
    let metrics = http_get(&format!("{base}/metrics"));
    assert!(metrics.contains("kubelet_running_pods 1"), "{metrics}");
    assert!(
        metrics.contains("kubelet_started_containers_total 2"),
        "{metrics}"
    );

    // 1.27 speaks SPDY only; 1.33 tries websockets first.
    for v in ["1.27", "1.33"] {
        let k = |args: &[&str], stdin: &str| kubectl(v, &kubeconfig, args, stdin);
        let (code, out, err) = k(&["logs", "talker", "-c", "app"], "");
        assert_eq!(code, 0, "kubectl {v} logs: {err}");
        // stdout and stderr are one stream, in the order the runtime
        // read them (which may interleave the two pipes).
        let mut first: Vec<&str> = out.lines().take(3).collect();
        first.sort();
        assert_eq!(
            first,
            ["hello-1", "hello-2", "tick-1"],
            "kubectl {v} logs: {out}"
        );

        // Once a few ticks are out, the last line is a tick.
        wait("three ticks", Duration::from_secs(20), || async {
            let (_, out, _) = k(&["logs", "talker", "-c", "app"], "");
            out.contains("tick-3\n").then_some(())
        })
        .await;
        let (code, out, _) = k(&["logs", "talker", "-c", "app", "--tail=1"], "");
        assert_eq!(code, 0);
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.starts_with("tick-"), "{out}");

        let (_, out, _) = k(
            &["logs", "talker", "-c", "app", "--tail=1", "--timestamps"],
            "",
        );
        let stamp = out.split_whitespace().next().unwrap_or_default();
        assert!(chrono::DateTime::parse_from_rfc3339(stamp).is_ok(), "{out}");

        let (code, _, err) = k(&["logs", "talker", "-c", "app", "--previous"], "");
        assert_ne!(code, 0);
        assert!(
            err.contains("previous terminated container \"app\" in pod \"talker\" not found"),
            "kubectl {v}: {err}"
        );
        let (code, _, err) = k(&["logs", "talker", "-c", "nope"], "");
        assert_ne!(code, 0);
        assert!(
            err.contains("container nope is not valid for pod talker"),
            "kubectl {v}: {err}"
        );

        // -f: new lines keep arriving until kubectl is stopped.
        let mut follow = std::process::Command::new(testenv::kubectl_binary(v))
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            .args(["logs", "-f", "--tail=1", "talker", "-c", "app"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = follow.stdout.take().unwrap();
        let lines = std::thread::spawn(move || {
            use std::io::BufRead;
            std::io::BufReader::new(stdout)
                .lines()
                .take(4)
                .map(|l| l.unwrap_or_default())
                .collect::<Vec<_>>()
        });
        let started = Instant::now();
        while !lines.is_finished() && started.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = follow.kill();
        let _ = follow.wait();
        let lines = lines.join().unwrap();
        assert_eq!(lines.len(), 4, "kubectl {v} logs -f: {lines:?}");
        let ticks: Vec<u32> = lines
            .iter()
            .map(|l| l.trim_start_matches("tick-").parse().unwrap())
            .collect();
        assert!(ticks.windows(2).all(|w| w[1] == w[0] + 1), "{ticks:?}");

        // exec: output, stdin to its end, exit codes.
        let (code, out, err) = k(
            &["exec", "talker", "-c", "app", "--", "cat", "/etc/hostname"],
            "",
        );
        assert_eq!((code, out.trim()), (0, "talker"), "kubectl {v} exec: {err}");
        let (code, out, err) = k(
            &[
                "exec", "-i", "talker", "-c", "app", "--", "tr", "a-z", "A-Z",
            ],
            "piped through\n",
        );
        assert_eq!(
            (code, out.as_str()),
            (0, "PIPED THROUGH\n"),
            "kubectl {v} exec -i: {err}"
        );
        let (code, _, err) = k(
            &["exec", "talker", "-c", "app", "--", "sh", "-c", "exit 3"],
            "",
        );
        assert_eq!(code, 3, "kubectl {v}: {err}");
        let (code, _, err) = k(
            &["exec", "talker", "-c", "web", "--", "no-such-command"],
            "",
        );
        assert_ne!(code, 0, "kubectl {v}: {err}");

        // attach: the running container's output, live.
        let mut attach = std::process::Command::new(testenv::kubectl_binary(v))
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            .args(["attach", "talker", "-c", "app"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = attach.stdout.take().unwrap();
        let attached = std::thread::spawn(move || {
            use std::io::BufRead;
            std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter(|l| l.starts_with("tick-"))
                .take(2)
                .collect::<Vec<_>>()
        });
        let started = Instant::now();
        while !attached.is_finished() && started.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = attach.kill();
        let _ = attach.wait();
        let attached = attached.join().unwrap();
        assert_eq!(attached.len(), 2, "kubectl {v} attach: {attached:?}");

        // port-forward: a local port reaches the pod's 8080.
        let local = free_port();
        let mut pf = std::process::Command::new(testenv::kubectl_binary(v))
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            .args(["port-forward", "pod/talker", &format!("{local}:8080")])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let page = wait("port-forward", Duration::from_secs(20), || async {
            let body = http_get(&format!("http://127.0.0.1:{local}/"));
            (!body.is_empty()).then_some(body)
        })
        .await;
        // A second connection through the same forward.
        let again = http_get(&format!("http://127.0.0.1:{local}/index.html"));
        let _ = pf.kill();
        let out = pf.wait_with_output().unwrap();
        assert_eq!(
            page,
            "port-forward-works\n",
            "kubectl {v} port-forward: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(again, "port-forward-works\n");
    }

    // kube-rs speaks only websocket: it offers v5 and v4.channel.k8s.io,
    // and containerd's streaming server picks v4, through both forwards.
    let kube_client =
        kube::Client::try_from(kube::Config::new(c.api.url().parse().unwrap())).unwrap();
    let kpods: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(kube_client, "default");
    let mut process = kpods
        .exec(
            "talker",
            ["sh", "-c", "cat /etc/hostname; echo to-stderr >&2"],
            &kube::api::AttachParams::default()
                .container("app")
                .stderr(true),
        )
        .await
        .unwrap();
    let mut out = String::new();
    let mut err = String::new();
    {
        use tokio::io::AsyncReadExt;
        let mut stdout = process.stdout().unwrap();
        let mut stderr = process.stderr().unwrap();
        stdout.read_to_string(&mut out).await.unwrap();
        stderr.read_to_string(&mut err).await.unwrap();
    }
    let status = process.take_status().unwrap().await;
    process.join().await.unwrap();
    assert_eq!((out.as_str(), err.as_str()), ("talker\n", "to-stderr\n"));
    assert_eq!(status.and_then(|s| s.status).as_deref(), Some("Success"));
}

/// containerd's `certs.d`: an image named after a registry we cannot reach
/// (no internet here) is pulled from the mirror its `hosts.toml` names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_are_pulled_through_a_registry_mirror_from_certs_d() {
    let c = Cluster::start().await;
    let registry = test_support::Registry::serve(&c.cd.images_dir().join("busybox.tar")).await;
    let hosts = c.cd.certs_d().join("docker.io");
    std::fs::create_dir_all(&hosts).unwrap();
    std::fs::write(
        hosts.join("hosts.toml"),
        format!(
            "server = \"https://registry-1.docker.io\"\n\n[host.\"http://{}\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
            registry.addr()
        ),
    )
    .unwrap();
    c.create(json!({
        "metadata": {"name": "mirrored"},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "c", "image": "docker.io/oxkube/mirrored:2.0",
                "imagePullPolicy": "Always", "command": ["sleep", "3600"]}]
        }
    }))
    .await;
    let status = c
        .wait_pod("mirrored", "mirrored Running", 60, |p| {
            (phase(p) == "Running").then(|| container(p, "c").cloned())
        })
        .await
        .unwrap();
    assert_eq!(status.image, "docker.io/oxkube/mirrored:2.0");
    assert!(
        status
            .image_id
            .starts_with("docker.io/oxkube/mirrored@sha256:"),
        "{}",
        status.image_id
    );
    // The tag was resolved at the mirror. containerd's content store
    // already holds these layers (same digests as the imported busybox),
    // so it fetches no blob it has.
    let seen = registry.requests();
    assert!(
        seen.iter()
            .any(|r| r.ends_with("/v2/oxkube/mirrored/manifests/2.0")),
        "{seen:?}"
    );
}

/// postStart runs after the start; on deletion preStop runs first, then
/// SIGTERM reaches the container, which exits on its own within the grace
/// period. A hostPath volume lets the test read what happened, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_hooks_run_around_the_container() {
    let c = Cluster::start().await;
    let shared = c.cd.scratch("hooks");
    std::fs::create_dir_all(&shared).unwrap();
    let record = |what: &str| json!(["sh", "-c", format!("echo {what} >> /shared/log")]);
    c.create(json!({
        "metadata": {"name": "hooks"},
        "spec": {
            "terminationGracePeriodSeconds": 20,
            "volumes": [{"name": "shared", "hostPath": {"path": shared.display().to_string(), "type": "Directory"}}],
            "containers": [{
                "name": "app", "image": BUSYBOX_IMAGE,
                "command": ["sh", "-c", "trap 'echo sigterm >> /shared/log; exit 0' TERM; echo started >> /shared/log; while true; do sleep 0.2; done"],
                "volumeMounts": [{"name": "shared", "mountPath": "/shared"}],
                "lifecycle": {
                    "postStart": {"exec": {"command": record("poststart")}},
                    "preStop": {"exec": {"command": record("prestop")}}
                }
            }]
        }
    }))
    .await;
    c.wait_pod("hooks", "hooks Running", 60, |p| {
        (phase(p) == "Running").then_some(())
    })
    .await;
    let log = shared.join("log");
    wait("postStart", Duration::from_secs(10), || async {
        std::fs::read_to_string(&log)
            .ok()?
            .contains("poststart")
            .then_some(())
    })
    .await;
    let deleting = Instant::now();
    c.pods()
        .delete("hooks", &DeleteOptions::default())
        .await
        .unwrap();
    wait("hooks gone", Duration::from_secs(30), || async {
        c.pods()
            .get_opt("hooks")
            .await
            .ok()
            .flatten()
            .is_none()
            .then_some(())
    })
    .await;
    // The container exited on SIGTERM: far sooner than the 20 s grace.
    assert!(
        deleting.elapsed() < Duration::from_secs(15),
        "{:?}",
        deleting.elapsed()
    );
    let lines: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let at = |w: &str| {
        lines
            .iter()
            .position(|l| l == w)
            .unwrap_or_else(|| panic!("no {w} in {lines:?}"))
    };
    assert!(at("prestop") < at("sigterm"), "{lines:?}");
    assert!(at("poststart") < at("prestop"), "{lines:?}");
}
