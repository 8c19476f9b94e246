//! The pod every benchmark writes: a realistic ~1 KiB web pod (labels, an
//! annotation, one container with image, ports, env and resources).
//!
//! Bodies are built by splicing a fixed-width name and timestamp into a
//! pre-rendered template, so every request has the same size and the load
//! generator spends no time in serde.

use anyhow::{Result, bail};
use bytes::{BufMut, Bytes, BytesMut};

/// The annotation carrying the writer's wall-clock time just before the POST.
pub const CREATED_ANNOTATION: &str = "bench/created-unix-nanos";

const NAME_MARK: &str = "@@NAME@@";
const NANOS_MARK: &str = "@@NANOS@@";
/// Digits of the timestamp (unix nanos fit in 19 until 2262).
const NANOS_WIDTH: usize = 19;

/// A pod body with two holes: the name and the creation timestamp.
#[derive(Clone, Debug)]
pub struct PodTemplate {
    head: Bytes,
    middle: Bytes,
    tail: Bytes,
    /// serde_json sorts keys, so `annotations` (the timestamp) comes
    /// before `name`; don't depend on either order.
    name_first: bool,
}

impl PodTemplate {
    pub fn new(namespace: &str) -> Result<PodTemplate> {
        Self::on_node(namespace, None)
    }

    /// The same pod, already bound to `node` when one is given (as the
    /// scheduler would leave it; no node object needs to exist).
    pub fn on_node(namespace: &str, node: Option<&str>) -> Result<PodTemplate> {
        let mut pod = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": NAME_MARK,
                "namespace": namespace,
                "labels": {
                    "app.kubernetes.io/name": "storefront",
                    "app.kubernetes.io/component": "web",
                    "app.kubernetes.io/part-of": "shop",
                    "app.kubernetes.io/version": "1.27.3",
                    "pod-template-hash": "7d9f8b6c5d"
                },
                "annotations": { CREATED_ANNOTATION: NANOS_MARK }
            },
            "spec": {
                "containers": [{
                    "name": "web",
                    "image": "registry.example.com/storefront/web:1.27.3",
                    "imagePullPolicy": "IfNotPresent",
                    "args": ["--listen=:8080", "--metrics=:9090"],
                    "ports": [
                        { "name": "http", "containerPort": 8080, "protocol": "TCP" },
                        { "name": "metrics", "containerPort": 9090, "protocol": "TCP" }
                    ],
                    "env": [
                        { "name": "LOG_LEVEL", "value": "info" },
                        { "name": "CACHE_SIZE_MB", "value": "256" },
                        { "name": "OTEL_SERVICE_NAME", "value": "storefront-web" },
                        { "name": "UPSTREAM_URL", "value": "http://catalog.shop.svc:8080" }
                    ],
                    "resources": {
                        "requests": { "cpu": "100m", "memory": "128Mi" },
                        "limits": { "cpu": "500m", "memory": "256Mi" }
                    }
                }],
                "restartPolicy": "Always",
                "terminationGracePeriodSeconds": 30,
                "dnsPolicy": "ClusterFirst"
            }
        });
        if let Some(node) = node {
            pod["spec"]["nodeName"] = node.into();
        }
        let text = pod.to_string();
        let (Some(name_at), Some(nanos_at)) = (text.find(NAME_MARK), text.find(NANOS_MARK)) else {
            bail!("pod template lost a mark");
        };
        let name_first = name_at < nanos_at;
        let (first, second) = if name_first {
            (NAME_MARK, NANOS_MARK)
        } else {
            (NANOS_MARK, NAME_MARK)
        };
        let Some((head, rest)) = text.split_once(first) else {
            bail!("pod template lost its {first} mark");
        };
        let Some((middle, tail)) = rest.split_once(second) else {
            bail!("pod template lost its {second} mark");
        };
        Ok(PodTemplate {
            head: Bytes::copy_from_slice(head.as_bytes()),
            middle: Bytes::copy_from_slice(middle.as_bytes()),
            tail: Bytes::copy_from_slice(tail.as_bytes()),
            name_first,
        })
    }

    /// The body for pod `name` created at `unix_nanos`.
    pub fn body(&self, name: &str, unix_nanos: u64) -> Bytes {
        let mut b = BytesMut::with_capacity(
            self.head.len() + name.len() + self.middle.len() + NANOS_WIDTH + self.tail.len(),
        );
        let nanos = format!("{unix_nanos:0width$}", width = NANOS_WIDTH);
        let (first, second) = if self.name_first {
            (name.as_bytes(), nanos.as_bytes())
        } else {
            (nanos.as_bytes(), name.as_bytes())
        };
        b.put_slice(&self.head);
        b.put_slice(first);
        b.put_slice(&self.middle);
        b.put_slice(second);
        b.put_slice(&self.tail);
        b.freeze()
    }
}

/// Wall-clock now in unix nanoseconds (0 if the clock is before 1970).
pub fn unix_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
