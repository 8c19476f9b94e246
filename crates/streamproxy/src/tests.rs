#![allow(clippy::unwrap_used)]

use super::*;
use axum::Router;
use axum::extract::Request as AxRequest;
use axum::routing::any;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn serve(router: Router) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, router).await });
    addr
}

/// A backend like a streaming server: `/echo` upgrades and echoes bytes;
/// `/info` reports the path, query and headers it received.
async fn backend() -> std::net::SocketAddr {
    let router = Router::new()
        .route(
            "/echo",
            any(|mut req: AxRequest| async move {
                let on = hyper::upgrade::on(&mut req);
                tokio::spawn(async move {
                    let mut io = TokioIo::new(on.await.unwrap());
                    let mut buf = [0u8; 64];
                    loop {
                        let n = io.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        io.write_all(&buf[..n]).await.unwrap();
                    }
                });
                Response::builder()
                    .status(StatusCode::SWITCHING_PROTOCOLS)
                    .header(header::CONNECTION, "Upgrade")
                    .header(header::UPGRADE, "SPDY/3.1")
                    .header("X-Stream-Protocol-Version", "v4.channel.k8s.io")
                    .body(Body::empty())
                    .unwrap()
            }),
        )
        .route(
            "/info",
            any(|req: AxRequest| async move {
                let auth = req.headers().contains_key(header::AUTHORIZATION);
                let host = req.headers()[header::HOST].to_str().unwrap().to_string();
                format!("{} {} auth={auth} host={host}", req.method(), req.uri(),)
            }),
        );
    serve(router).await
}

/// A front that forwards everything to `target` + the request's path.
async fn front(backend: std::net::SocketAddr) -> std::net::SocketAddr {
    let router = Router::new().fallback(move |req: AxRequest| async move {
        let target: Uri = format!("http://{backend}{}", req.uri().path())
            .parse()
            .unwrap();
        match forward(req, &target).await {
            Ok(r) => r,
            Err(e) => Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Body::from(e.to_string()))
                .unwrap(),
        }
    });
    serve(router).await
}

#[tokio::test]
async fn plain_requests_pass_through_with_the_targets_path() {
    let f = front(backend().await).await;
    let mut s = TcpStream::connect(f).await.unwrap();
    s.write_all(
        b"GET /info?ignored=1 HTTP/1.1\r\nHost: front\r\nAuthorization: Bearer x\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    // The target's path (no query), no credentials, the backend as Host.
    assert!(
        out.contains("GET /info auth=false host=127.0.0.1:"),
        "{out}"
    );
}

#[tokio::test]
async fn upgrades_are_spliced_both_ways() {
    let f = front(backend().await).await;
    let mut s = TcpStream::connect(f).await.unwrap();
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: front\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\nContent-Length: 0\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        s.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(
        head.contains("x-stream-protocol-version: v4.channel.k8s.io"),
        "{head}"
    );
    assert!(head.contains("upgrade: spdy/3.1"), "{head}");
    for msg in [&b"hello"[..], b"second message"] {
        s.write_all(msg).await.unwrap();
        let mut back = vec![0u8; msg.len()];
        s.read_exact(&mut back).await.unwrap();
        assert_eq!(back, msg);
    }
}

#[tokio::test]
async fn an_unreachable_backend_is_an_error() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let req = Request::builder().uri("/x").body(Body::empty()).unwrap();
    let target: Uri = format!("http://{addr}/x").parse().unwrap();
    let err = forward(req, &target).await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
    assert!(
        err.to_string().starts_with(&format!("dial tcp {addr}")),
        "{err}"
    );
}

#[test]
fn upgrade_detection() {
    let mut h = HeaderMap::new();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    assert!(!is_upgrade(&h));
    h.insert(
        header::CONNECTION,
        HeaderValue::from_static("keep-alive, Upgrade"),
    );
    assert!(is_upgrade(&h));
}
