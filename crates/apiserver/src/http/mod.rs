//! The HTTP layer: routes, and the shared state handlers see.

pub mod api;
pub mod body;
pub mod connect;
pub mod discovery;
pub mod negotiate;
pub mod path;
pub mod system;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::get;
use storage::Storage;

use crate::cacher::Cacher;
use crate::registry::Registry;

/// What every handler can reach.
pub struct AppState {
    pub registry: Registry,
    pub storage: Arc<dyn Storage>,
    pub caches: Vec<Cacher>,
    /// The default namespaces exist.
    pub bootstrapped: AtomicBool,
}

async fn api(State(state): State<Arc<AppState>>, req: Request) -> Response {
    // pods/log, exec, attach, portforward go on to the kubelet whole
    // (an upgrade needs the request itself, not only its parts).
    if let Some(r) = connect::target(req.uri().path()) {
        return connect::handle(state, r, req).await;
    }
    let (parts, body) = req.into_parts();
    api::handle(state, parts.method, parts.uri, parts.headers, body).await
}

/// All routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/livez", get(system::livez))
        .route("/healthz", get(system::livez))
        .route("/readyz", get(system::readyz))
        .route("/version", get(system::version))
        .route("/metrics", get(system::metrics))
        .route("/openapi/v2", get(crate::openapi::handler::v2_document))
        .route("/openapi/v3", get(crate::openapi::handler::v3_root))
        .route(
            "/openapi/v3/{*path}",
            get(crate::openapi::handler::v3_group_version),
        )
        // Everything else is an API path (or a 404 Status).
        .fallback(api)
        .with_state(state)
}
