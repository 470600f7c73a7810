//! The HTTP side of the server: the API under `/api/v1`, forge webhooks under `/hooks`,
//! the web UI, and the operators' endpoints (`/healthz`, `/readyz`, `/metrics`). Request
//! bodies are bounded (webhooks by the forge limit, the API by 1 MiB) so an oversize
//! body is a 413 before anything reads it.

pub mod agent;
pub mod api;
pub mod auth;
pub mod error;
pub mod hooks;
pub mod openapi;
mod openapi_deploy;
pub mod ops;
pub mod sse;
pub mod ui;
pub mod ui_deploy;
pub mod ui_infra;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;

use crate::state::ServerState;

/// Largest API request body.
pub const MAX_API_BODY: usize = 1024 * 1024;

pub fn router(state: Arc<ServerState>) -> Router {
    let api = api::routes()
        .merge(agent::routes())
        .fallback(|| async { error::ApiError::not_found("no such API endpoint") })
        .layer(DefaultBodyLimit::max(MAX_API_BODY));
    let hooks = Router::new()
        .route("/hooks/{forge}", post(hooks::receive))
        .layer(DefaultBodyLimit::max(gantry_scm::MAX_BODY_BYTES));
    Router::new()
        .nest("/api/v1", api)
        .merge(hooks)
        .merge(ui::routes())
        .merge(ops::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::track,
        ))
        .with_state(state)
}
