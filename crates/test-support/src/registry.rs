//! A read-only OCI registry for tests: serves one image, unpacked from an
//! OCI archive (what `deploy/images/build.sh` writes), under any repository
//! name, with the pull half of the OCI distribution API:
//!
//! - `GET /v2/` → 200;
//! - `HEAD`/`GET /v2/<name>/manifests/<tag or digest>` → the manifest, with
//!   `Docker-Content-Digest`;
//! - `GET /v2/<name>/blobs/<digest>` → the config or layer.
//!
//! Every request path is recorded, so a test can tell the pull came here.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Clone)]
struct Inner {
    blobs: PathBuf,
    /// The manifest's digest (`sha256:...`).
    manifest: String,
    media_type: String,
    requests: Arc<Mutex<Vec<String>>>,
}

/// A registry serving one image until dropped.
pub struct Registry {
    addr: std::net::SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Registry {
    /// Serves the image of the OCI archive `archive` (its first manifest).
    ///
    /// # Panics
    /// When the archive cannot be unpacked or read.
    pub async fn serve(archive: &Path) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("tar")
            .arg("-xf")
            .arg(archive)
            .arg("-C")
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "unpacking {}", archive.display());
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
        let first = &index["manifests"][0];
        let requests = Arc::new(Mutex::new(Vec::new()));
        let inner = Inner {
            blobs: dir.path().join("blobs/sha256"),
            manifest: first["digest"].as_str().unwrap().to_string(),
            media_type: first["mediaType"].as_str().unwrap().to_string(),
            requests: requests.clone(),
        };
        let app = Router::new().fallback(handle).with_state(inner);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Registry {
            addr,
            requests,
            task,
            _dir: dir,
        }
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// The paths requested so far (`GET /v2/x/manifests/1.0` ...).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn blob(inner: &Inner, digest: &str) -> Option<Vec<u8>> {
    let hex = digest.strip_prefix("sha256:")?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    std::fs::read(inner.blobs.join(hex)).ok()
}

async fn handle(State(inner): State<Inner>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    inner
        .requests
        .lock()
        .unwrap()
        .push(format!("{} {path}", req.method()));
    let head = req.method() == Method::HEAD;
    if path == "/v2/" || path == "/v2" {
        return (StatusCode::OK, "{}").into_response();
    }
    let parts: Vec<&str> = path.trim_start_matches("/v2/").rsplitn(3, '/').collect();
    let (reference, kind) = match parts.as_slice() {
        [reference, kind, _name] => (*reference, *kind),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let (bytes, media_type, digest) = match kind {
        // Any tag names the one image.
        "manifests" => {
            let digest = if reference.starts_with("sha256:") {
                reference.to_string()
            } else {
                inner.manifest.clone()
            };
            match blob(&inner, &digest) {
                Some(b) if digest == inner.manifest => (b, inner.media_type.clone(), digest),
                _ => return StatusCode::NOT_FOUND.into_response(),
            }
        }
        "blobs" => match blob(&inner, reference) {
            Some(b) => (
                b,
                "application/octet-stream".to_string(),
                reference.to_string(),
            ),
            None => return StatusCode::NOT_FOUND.into_response(),
        },
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let len = bytes.len();
    Response::builder()
        .header(header::CONTENT_TYPE, media_type)
        .header(header::CONTENT_LENGTH, len)
        .header("Docker-Content-Digest", digest)
        .body(if head {
            Body::empty()
        } else {
            Body::from(bytes)
        })
        .unwrap_or_default()
}
