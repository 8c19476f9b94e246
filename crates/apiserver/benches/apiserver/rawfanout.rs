//! The fan-out baseline: the same watch lines, to the same number of
//! connections, at the same rate, from a server that does nothing else.
//!
//! It speaks just enough HTTP/1.1 for the benchmark's readers (one GET,
//! then a chunked body that never ends), runs on the apiserver's runtime,
//! and does what the watch cache does at its cheapest: one broadcast of
//! pre-rendered lines (or, for a connection that asked for one node's
//! lines, a channel of its own); each connection joins whatever is waiting
//! into one chunk and writes it. No storage, no decoding, no selectors, no
//! hyper.
//! What it measures is what this machine's loopback TCP, the readers and
//! tokio cost for these bytes: the floor under the apiserver's figures.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Result;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::{broadcast, mpsc};

/// Most lines joined into one write, as the apiserver's watches do.
const MAX_BATCH: usize = 64;

/// Connections that asked for one node's lines (`GET /watch?node=NAME`).
type Nodes = Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Bytes>>>>;

/// A running baseline server.
pub struct RawServer {
    pub addr: SocketAddr,
    pub publisher: Publisher,
    accept: tokio::task::JoinHandle<()>,
}

/// Hands lines to the baseline server's connections. Cheap to clone.
#[derive(Clone)]
pub struct Publisher {
    /// Reaches every connection that asked for all lines (`GET /watch`).
    lines: broadcast::Sender<Bytes>,
    nodes: Nodes,
}

impl RawServer {
    /// Listens on a free loopback port; connections are served on `server`.
    pub async fn start(server: &Handle) -> Result<RawServer> {
        let listener = server.spawn(TcpListener::bind("127.0.0.1:0")).await??;
        let addr = listener.local_addr()?;
        let (lines, _) = broadcast::channel(16_384);
        let nodes = Nodes::default();
        let (tx, registry) = (lines.clone(), nodes.clone());
        let accept = server.spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (tx, registry) = (tx.clone(), registry.clone());
                tokio::spawn(async move {
                    if let Err(e) = serve(sock, tx, registry).await {
                        tracing::debug!(error = %e, "baseline connection ended");
                    }
                });
            }
        });
        Ok(RawServer {
            addr,
            publisher: Publisher { lines, nodes },
            accept,
        })
    }
}

impl Publisher {
    /// Hands `line` to every connection, or to the one watching `node`;
    /// false when nobody is there to take it.
    pub fn publish(&self, line: Bytes, node: Option<&str>) -> bool {
        match node {
            None => self.lines.send(line).is_ok(),
            Some(node) => self
                .nodes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(node)
                .is_some_and(|tx| tx.send(line).is_ok()),
        }
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Where a connection's lines come from.
enum Feed {
    All(broadcast::Receiver<Bytes>),
    Node(mpsc::UnboundedReceiver<Bytes>),
}

impl Feed {
    /// The next line; `None` when the server is going away.
    async fn recv(&mut self) -> std::io::Result<Option<Bytes>> {
        match self {
            Feed::All(rx) => match rx.recv().await {
                Ok(line) => Ok(Some(line)),
                Err(broadcast::error::RecvError::Closed) => Ok(None),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    Err(std::io::Error::other(format!("lagged {n} lines")))
                }
            },
            Feed::Node(rx) => Ok(rx.recv().await),
        }
    }

    fn try_recv(&mut self) -> Option<Bytes> {
        match self {
            Feed::All(rx) => rx.try_recv().ok(),
            Feed::Node(rx) => rx.try_recv().ok(),
        }
    }
}

async fn serve(
    mut sock: TcpStream,
    lines: broadcast::Sender<Bytes>,
    nodes: Nodes,
) -> std::io::Result<()> {
    sock.set_nodelay(true)?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = sock.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    // Subscribed before the response head goes out: the reader starts
    // counting after the head, so it misses nothing.
    let request_line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let node = std::str::from_utf8(request_line)
        .ok()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|path| path.strip_prefix("/watch?node="));
    let mut feed = match node {
        None => Feed::All(lines.subscribe()),
        Some(node) => {
            let (tx, rx) = mpsc::unbounded_channel();
            nodes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(node.to_string(), tx);
            Feed::Node(rx)
        }
    };
    drop(lines);
    sock.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    .await?;
    let mut chunk = Vec::new();
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(line) = feed.recv().await? {
        batch.push(line);
        while batch.len() < MAX_BATCH {
            match feed.try_recv() {
                Some(line) => batch.push(line),
                None => break,
            }
        }
        let len: usize = batch.iter().map(Bytes::len).sum();
        chunk.clear();
        chunk.extend_from_slice(format!("{len:x}\r\n").as_bytes());
        for line in batch.drain(..) {
            chunk.extend_from_slice(&line);
        }
        chunk.extend_from_slice(b"\r\n");
        sock.write_all(&chunk).await?;
    }
    sock.write_all(b"0\r\n\r\n").await
}

/// An ADDED line for a pod named `fo-<digits>`, with the digits replaced
/// per event (every occurrence, so the line stays one consistent object).
pub struct LineTemplate {
    line: Vec<u8>,
    digits_at: Vec<usize>,
    width: usize,
}

impl LineTemplate {
    /// `object` is a pod as the apiserver serves it, named `name_prefix`
    /// followed by `width` digits.
    pub fn new(object: &[u8], name: &str, width: usize) -> Result<LineTemplate> {
        let mut line = b"{\"type\":\"ADDED\",\"object\":".to_vec();
        line.extend_from_slice(object);
        line.extend_from_slice(b"}\n");
        let needle = name.as_bytes();
        let digits_at: Vec<usize> = memchr::memmem::find_iter(&line, needle)
            .map(|at| at + needle.len() - width)
            .collect();
        anyhow::ensure!(!digits_at.is_empty(), "{name} is not in the object");
        Ok(LineTemplate {
            line,
            digits_at,
            width,
        })
    }

    pub fn render(&self, index: usize) -> Bytes {
        let mut line = self.line.clone();
        let digits = format!("{index:0width$}", width = self.width);
        for &at in &self.digits_at {
            line[at..at + self.width].copy_from_slice(digits.as_bytes());
        }
        Bytes::from(line)
    }
}
