//! The REST API under `/api/v1`: projects and pipelines, runs, jobs, steps, logs,
//! artifacts, events, cancel, rerun, trigger, tokens, reload, agents and the queue,
//! infra hosts, plans and apply requests, deployments and environments. JSON
//! in and out; errors as `{"error": {"code", "message"}}`. The OpenAPI document is
//! `openapi.json`.

pub mod agents;
pub mod deployments;
mod events;
pub mod infra;
pub mod jobs;
pub mod projects;
pub mod query;
pub mod runs;
mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::state::ServerState;

pub fn routes() -> Router<Arc<ServerState>> {
    Router::new()
        .route("/health", get(projects::health))
        .route("/openapi.json", get(super::openapi::document))
        .route("/projects", get(projects::list))
        .route("/projects/{project}/pipelines", get(projects::pipelines))
        .route(
            "/projects/{project}/pipelines/{pipeline}/trigger",
            post(projects::trigger),
        )
        .route("/reload", post(projects::reload))
        .route("/runs", get(runs::list))
        .route("/runs/{run}", get(runs::get))
        .route("/runs/{run}/cancel", post(runs::cancel))
        .route("/runs/{run}/rerun", post(runs::rerun))
        .route("/runs/{run}/artifacts", get(runs::artifacts))
        .route("/runs/{run}/artifacts/{*path}", get(runs::artifact))
        .route("/runs/{run}/live", get(super::sse::run_live))
        .route("/jobs/{job}", get(jobs::get))
        .route("/jobs/{job}/logs", get(jobs::logs))
        .route("/jobs/{job}/logs/raw", get(jobs::raw))
        .route("/jobs/{job}/logs/stream", get(super::sse::job_log))
        .route("/events", get(events::list))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route("/agents", get(agents::list))
        .route("/agents/{name}", get(agents::get))
        .route("/queue", get(agents::queue))
        .route("/infra/hosts", get(infra::hosts))
        .route("/infra/hosts/{host}", get(infra::host))
        .route("/infra/plans", post(infra::plan))
        .route(
            "/infra/applies",
            get(infra::applies).post(infra::request_apply),
        )
        .route("/infra/applies/{id}", get(infra::apply))
        .route("/infra/applies/{id}/approve", post(infra::approve))
        .route(
            "/deployments",
            get(deployments::list).post(deployments::create),
        )
        .route("/deployments/{id}", get(deployments::get))
        .route("/deployments/{id}/approve", post(deployments::approve))
        .route("/deployments/{id}/cancel", post(deployments::cancel))
        .route("/deployments/{id}/live", get(super::sse::deployment_live))
        .route("/rollbacks", post(deployments::rollback))
        .route("/environments", get(deployments::environments))
        .route("/environments/{name}", get(deployments::environment))
}
