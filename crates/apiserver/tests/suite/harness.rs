//! Test harness: an apiserver on a free loopback port over either backend,
//! and a small JSON-over-HTTP client for it.

#![allow(clippy::unwrap_used, dead_code)]

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use apiserver::server::{Config, Running, spawn};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Value, json};
use storage::Storage;

/// A running apiserver plus what keeps its storage alive.
pub struct Harness {
    pub server: Running,
    pub client: Client,
    pub storage: Arc<dyn Storage>,
    _keep: Box<dyn Any + Send>,
}

/// Builds a harness with a given config (one per backend).
pub type Factory = fn(Config) -> Pin<Box<dyn Future<Output = Harness> + Send>>;

/// A config with fast progress/bookmarks for tests.
pub fn test_config() -> Config {
    let mut c = Config::default();
    c.cacher.progress_interval = Duration::from_millis(200);
    c.compaction_interval = None;
    c
}

pub async fn start(
    storage: Arc<dyn Storage>,
    config: Config,
    keep: Box<dyn Any + Send>,
) -> Harness {
    let server = spawn("127.0.0.1:0".parse().unwrap(), storage.clone(), config)
        .await
        .unwrap();
    let client = Client::new(server.url());
    Harness {
        server,
        client,
        storage,
        _keep: keep,
    }
}

pub fn sqlite(config: Config) -> Pin<Box<dyn Future<Output = Harness> + Send>> {
    Box::pin(async move {
        test_support::init_tracing();
        let dir = tempfile::tempdir().unwrap();
        let store = storage::SqliteStorage::open(dir.path()).unwrap();
        start(Arc::new(store), config, Box::new(dir)).await
    })
}

pub fn etcd(config: Config) -> Pin<Box<dyn Future<Output = Harness> + Send>> {
    Box::pin(async move {
        test_support::init_tracing();
        let etcd = test_support::Etcd::start().await;
        let store = storage::EtcdStorage::connect(&[etcd.url()]).await.unwrap();
        start(Arc::new(store), config, Box::new(etcd)).await
    })
}

/// A JSON response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub content_type: String,
}

impl Resp {
    /// `body.metadata.resourceVersion` as a number.
    pub fn rv(&self) -> i64 {
        rv(&self.body)
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// Asserts a `Status` error with this code, reason and exact message.
    #[track_caller]
    pub fn expect_status(&self, code: u16, reason: &str, message: &str) {
        assert_eq!(self.status, code, "body: {}", self.body);
        assert_eq!(self.body["kind"], "Status", "body: {}", self.body);
        assert_eq!(self.body["code"], code);
        assert_eq!(self.body["reason"], reason, "body: {}", self.body);
        if !message.is_empty() {
            assert_eq!(self.body["message"], message, "body: {}", self.body);
        }
    }
}

pub fn rv(obj: &Value) -> i64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[derive(Clone)]
pub struct Client {
    pub base: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base: String) -> Self {
        Client {
            base,
            http: reqwest::Client::new(),
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.header("Content-Type", content_type).body(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = resp.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Resp {
            status,
            body,
            content_type,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(reqwest::Method::GET, path, "", None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(
            reqwest::Method::POST,
            path,
            "application/json",
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.send(
            reqwest::Method::PUT,
            path,
            "application/json",
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn merge_patch(&self, path: &str, body: &Value) -> Resp {
        self.send(
            reqwest::Method::PATCH,
            path,
            "application/merge-patch+json",
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn json_patch(&self, path: &str, body: &Value) -> Resp {
        self.send(
            reqwest::Method::PATCH,
            path,
            "application/json-patch+json",
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(reqwest::Method::DELETE, path, "", None).await
    }

    pub async fn delete_with(&self, path: &str, opts: &Value) -> Resp {
        self.send(
            reqwest::Method::DELETE,
            path,
            "application/json",
            Some(opts.to_string().into_bytes()),
        )
        .await
    }

    /// Opens a watch and returns a reader over its events.
    pub async fn watch(&self, path: &str) -> Watch {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "watch {path}");
        let stream = resp.bytes_stream().map(|r| r.map_err(|e| e.to_string()));
        Watch {
            stream: Box::pin(stream),
            buf: Vec::new(),
        }
    }
}

/// Reads newline-delimited watch events.
pub struct Watch {
    stream: Pin<Box<dyn futures::Stream<Item = Result<Bytes, String>> + Send>>,
    buf: Vec<u8>,
}

impl Watch {
    /// The next event, or `None` when the server ended the stream. Panics
    /// after `timeout`.
    pub async fn next_within(&mut self, timeout: Duration) -> Option<Value> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return Some(serde_json::from_slice(&line[..line.len() - 1]).unwrap());
            }
            match tokio::time::timeout(timeout, self.stream.next()).await {
                Err(_) => panic!("no watch event within {timeout:?}"),
                Ok(None) => {
                    assert!(
                        self.buf.is_empty(),
                        "stream ended mid-line: {:?}",
                        String::from_utf8_lossy(&self.buf)
                    );
                    return None;
                }
                Ok(Some(chunk)) => self.buf.extend_from_slice(&chunk.unwrap()),
            }
        }
    }

    pub async fn next(&mut self) -> Value {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("watch ended")
    }

    /// The next non-bookmark event.
    pub async fn next_event(&mut self) -> Value {
        loop {
            let e = self.next().await;
            if e["type"] != "BOOKMARK" {
                return e;
            }
        }
    }

    /// Asserts nothing arrives for `d` (besides bookmarks).
    pub async fn expect_quiet(&mut self, d: Duration) {
        let deadline = tokio::time::Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                let v: Value = serde_json::from_slice(&line[..line.len() - 1]).unwrap();
                assert_eq!(v["type"], "BOOKMARK", "unexpected event {v}");
                continue;
            }
            match tokio::time::timeout(left, self.stream.next()).await {
                Err(_) => return,
                Ok(None) => panic!("watch ended"),
                Ok(Some(chunk)) => self.buf.extend_from_slice(&chunk.unwrap()),
            }
        }
    }
}

/// Summarizes an event as `TYPE name`.
pub fn ev(e: &Value) -> String {
    format!(
        "{} {}",
        e["type"].as_str().unwrap(),
        e["object"]["metadata"]["name"].as_str().unwrap_or("-")
    )
}

pub fn pod(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": name, "labels": { "app": "web" } },
        "spec": { "containers": [{ "name": "c", "image": "nginx:1.25" }] }
    })
}

pub fn configmap(name: &str) -> Value {
    json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": name }, "data": { "k": "v" } })
}

pub const PODS: &str = "/api/v1/namespaces/default/pods";
pub const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

/// Binds a pod to a node through `pods/binding`, as the scheduler does.
pub async fn bind(c: &Client, ns: &str, name: &str, node: &str) -> Resp {
    c.post(
        &format!("/api/v1/namespaces/{ns}/pods/{name}/binding"),
        &json!({ "apiVersion": "v1", "kind": "Binding", "metadata": { "name": name }, "target": { "kind": "Node", "name": node } }),
    )
    .await
}
