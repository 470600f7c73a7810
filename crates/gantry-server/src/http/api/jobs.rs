//! Jobs: detail with steps, and their logs (pages of records, raw text download).

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use gantry_store::{Job, JobId, Role};
use serde_json::{Value, json};

use super::query::{Params, Path};
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ApiResult};
use crate::state::ServerState;

/// Largest page of log records one request returns.
const MAX_PAGE_BYTES: usize = 1024 * 1024;

pub async fn load_job(state: &ServerState, id: i64) -> ApiResult<Job> {
    state
        .store
        .get_job(JobId(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no job {id}")))
}

pub async fn get(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let job = load_job(&state, id).await?;
    let steps = state.store.steps_of_job(job.id).await?;
    Ok(Json(json!({ "job": job, "steps": steps })))
}

pub async fn logs(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(id): Path<i64>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let p = Params::parse(q);
    let offset: u64 = p
        .get("offset", "a byte offset from an earlier page")?
        .unwrap_or(0);
    let limit: usize = p
        .get("limit", "a number of bytes")?
        .unwrap_or(256 * 1024)
        .clamp(1, MAX_PAGE_BYTES);
    let job = load_job(&state, id).await?;
    let page = state
        .logs
        .read(job.run_id, job.id, offset, limit)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidInput => {
                ApiError::bad_request(format!("query parameter 'offset': {e}"))
            }
            _ => ApiError::internal("reading the log", e),
        })?;
    let done = job.status.is_finished() && page.complete;
    Ok(Json(json!({
        "lines": page.records,
        "next_offset": page.next_offset,
        "complete": done,
    })))
}

pub async fn raw(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    caller.require(Role::Viewer)?;
    let job = load_job(&state, id).await?;
    let stream = state.logs.raw(job.run_id, job.id);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"run-{}-job-{}.log\"", job.run_id, job.id),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
