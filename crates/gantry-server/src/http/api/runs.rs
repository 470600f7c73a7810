//! Runs: list, detail (jobs with their steps), cancel, rerun, artifacts.

use std::path::{Component, Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use gantry_store::{Job, Role, RunFilter, RunId, RunStatus, Step};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::query::{Params, Path, body};
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ApiResult};
use crate::live::Change;
use crate::state::ServerState;

#[derive(Debug, Serialize)]
pub struct JobWithSteps {
    #[serde(flatten)]
    pub job: Job,
    pub steps: Vec<Step>,
}

pub async fn list(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let p = Params::parse(q);
    let limit = p.limit(50, 200)?;
    let status = match p.str("status") {
        None => None,
        Some(s) => Some(
            s.parse::<RunStatus>()
                .map_err(|e| ApiError::bad_request(format!("query parameter 'status': {e}")))?,
        ),
    };
    let filter = RunFilter {
        project: p.str("project").map(str::to_string),
        pipeline: p.str("pipeline").map(str::to_string),
        status,
        limit,
        before_id: p.get::<i64>("before", "a run id")?.map(RunId),
    };
    let runs = state.store.list_runs(&filter).await?;
    let next = (runs.len() == limit as usize)
        .then(|| runs.last().map(|r| r.id))
        .flatten();
    Ok(Json(json!({ "runs": runs, "next_before": next })))
}

pub async fn load_run_detail(state: &ServerState, id: RunId) -> ApiResult<Value> {
    let run = state
        .store
        .get_run(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no run {id}")))?;
    let mut jobs = Vec::new();
    for job in state.store.jobs_of_run(id).await? {
        let steps = state.store.steps_of_job(job.id).await?;
        jobs.push(JobWithSteps { job, steps });
    }
    Ok(json!({ "run": run, "jobs": jobs }))
}

pub async fn get(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    Ok(Json(load_run_detail(&state, RunId(id)).await?))
}

/// Cancels a run: waiting jobs at once, running ones are stopped (their processes killed,
/// clean-up steps still run).
pub async fn cancel_run(state: &ServerState, id: RunId, actor: &str) -> ApiResult<Value> {
    let cancelled = state.store.cancel_run(id, Some(actor)).await?;
    state.running.cancel_run(id);
    state.hub.publish(Change::Cancel(id));
    state.hub.publish(Change::Run(id));
    Ok(serde_json::to_value(cancelled).unwrap_or(Value::Null))
}

pub async fn cancel(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Developer)?;
    if state.store.get_run(RunId(id)).await?.is_none() {
        return Err(ApiError::not_found(format!("no run {id}")));
    }
    Ok(Json(cancel_run(&state, RunId(id), &caller.name).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RerunBody {
    #[serde(default)]
    pub failed_only: bool,
}

pub async fn rerun_run(
    state: &ServerState,
    id: RunId,
    failed_only: bool,
    actor: &str,
) -> ApiResult<Value> {
    let run = state
        .store
        .get_run(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no run {id}")))?;
    if !run.status.is_finished() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "run {id} is still {}; cancel it or wait for it to finish",
                run.status
            ),
        ));
    }
    let enqueued = state.store.rerun(id, failed_only, Some(actor)).await?;
    state.hub.publish(Change::Run(enqueued.run_id));
    state.hub.publish(Change::Enqueued);
    crate::status::report_run(state, enqueued.run_id, None).await;
    Ok(json!({
        "pipeline": run.pipeline,
        "run_id": enqueued.run_id,
        "number": enqueued.number,
        "held": enqueued.held,
    }))
}

pub async fn rerun(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(id): Path<i64>,
    payload: Result<Json<RerunBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Role::Developer)?;
    // An empty body means the defaults.
    let b = match payload {
        Err(JsonRejection::MissingJsonContentType(_)) => RerunBody::default(),
        other => body(other)?,
    };
    Ok((
        StatusCode::CREATED,
        Json(rerun_run(&state, RunId(id), b.failed_only, &caller.name).await?),
    ))
}

fn artifacts_dir(state: &ServerState, run: RunId) -> PathBuf {
    state
        .data_dir
        .join("runs")
        .join(run.to_string())
        .join("artifacts")
}

pub async fn artifacts(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let dir = artifacts_dir(&state, RunId(id));
    let files = tokio::task::spawn_blocking(move || {
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(&dir).into_iter().flatten() {
            if entry.file_type().is_file()
                && let Ok(rel) = entry.path().strip_prefix(&dir)
            {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                files.push(json!({ "path": rel.to_string_lossy(), "size": size }));
            }
        }
        files
    })
    .await
    .map_err(|e| ApiError::internal("listing artifacts", e))?;
    Ok(Json(json!({ "artifacts": files })))
}

fn safe_relative(path: &str) -> Option<PathBuf> {
    let p = FsPath::new(path);
    p.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| p.to_path_buf())
}

pub async fn artifact(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path((id, path)): Path<(i64, String)>,
) -> ApiResult<Response> {
    caller.require(Role::Viewer)?;
    let rel = safe_relative(&path)
        .ok_or_else(|| ApiError::bad_request("artifact path must be relative, without '..'"))?;
    let file = artifacts_dir(&state, RunId(id)).join(rel);
    let f = tokio::fs::File::open(&file)
        .await
        .map_err(|_| ApiError::not_found(format!("run {id} has no artifact '{path}'")))?;
    let stream = tokio_util::io::ReaderStream::new(f);
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from_stream(stream),
    )
        .into_response())
}
