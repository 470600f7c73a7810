//! Endpoints for operators and their tools, outside `/api/v1` and without
//! authentication: `/healthz` (the process answers), `/readyz` (the store answers) and
//! `/metrics` (Prometheus text; firewall it if the counts are not for everyone), plus
//! the middleware that times every HTTP request for `/metrics`.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::metrics::{CONTENT_TYPE, HttpLabels};
use crate::state::ServerState;

pub fn routes() -> Router<Arc<ServerState>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The process is up; touches nothing else, so a slow database does not get the
/// process restarted.
async fn healthz() -> &'static str {
    "ok"
}

/// Ready for traffic: the store answers. (The workspace is loaded before the listener
/// opens, so a server that answers has one.)
async fn readyz(State(state): State<Arc<ServerState>>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ok".into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(
                serde_json::json!({ "ready": false, "reason": format!("the database: {e}") }),
            ),
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<Arc<ServerState>>) -> Response {
    match state.metrics.render(&state).await {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("reading the database: {e}\n"),
        )
            .into_response(),
    }
}

/// Times a request to its response headers, labelled by the route template it matched
/// (`unmatched` for the rest, so scanners cannot create series).
pub async fn track(State(state): State<Arc<ServerState>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = match req.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
        _ => "other",
    }
    .to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(req).await;
    let status = format!("{}xx", response.status().as_u16() / 100);
    state.metrics.observe_http(
        HttpLabels {
            method,
            route,
            status,
        },
        started.elapsed(),
    );
    response
}
