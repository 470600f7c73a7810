//! Projects and their pipelines, manual triggers, workspace reload, health.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use gantry_store::{Role, Trigger};
use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::query::{Path, body};
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ApiResult};
use crate::state::ServerState;
use crate::triggers::enqueue::{TriggerError, TriggerRequest, start_runs};

pub async fn health(State(state): State<Arc<ServerState>>) -> (StatusCode, Json<Value>) {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(
                json!({ "status": "ok", "database": state.store.backend(), "running_jobs": state.running.len() }),
            ),
        ),
        Err(e) => {
            tracing::error!("health check: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    json!({ "status": "database unavailable", "database": state.store.backend() }),
                ),
            )
        }
    }
}

pub async fn list(State(state): State<Arc<ServerState>>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let projects: Vec<Value> = state
        .projects()
        .projects
        .values()
        .map(|p| {
            json!({
                "name": p.name,
                "repo": gantry_scm::redact_url(&p.git_url),
                "branch": p.branch,
                "poll_seconds": p.poll.map(|d| d.as_secs()),
                "pipelines_dir": p.pipelines_dir,
                "webhooks": p.webhook_secret.is_some(),
                "forge": p.forge.as_ref().map(|f| json!({ "kind": f.forge.name(), "repo": f.repo })),
            })
        })
        .collect();
    Ok(Json(json!({ "projects": projects })))
}

pub async fn pipelines(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(project): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let p = state
        .project(&project)
        .ok_or_else(|| ApiError::not_found(format!("no project named '{project}'")))?;
    let git = state
        .resolve_branch(&p, &p.branch)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "git", e))?;
    let files = state
        .pipelines_at(&p, Some(&git.sha))
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "git", e))?;
    let pipelines: Vec<Value> = files
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "path": f.path,
                "valid": f.plan.is_some(),
                "diagnostics": f.diagnostics,
                "on": f.plan.as_ref().map(|p| &p.on),
                "jobs": f.plan.as_ref().map(|p| p.jobs.len()),
            })
        })
        .collect();
    Ok(Json(json!({ "sha": git.sha, "pipelines": pipelines })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerBody {
    /// The branch to run (default: the project's branch).
    #[serde(default)]
    pub branch: Option<String>,
    /// Manual inputs; values are strings, typed by the pipeline's declarations.
    #[serde(default)]
    pub inputs: IndexMap<String, String>,
}

pub async fn trigger_pipeline(
    state: &ServerState,
    project: &str,
    pipeline: &str,
    b: TriggerBody,
    actor: &str,
) -> ApiResult<Value> {
    let p = state
        .project(project)
        .ok_or_else(|| ApiError::not_found(format!("no project named '{project}'")))?;
    let branch = b.branch.unwrap_or_else(|| p.branch.clone());
    let git = state
        .resolve_branch(&p, &branch)
        .await
        .map_err(ApiError::bad_request)?;
    let started = start_runs(
        state,
        TriggerRequest {
            project: project.to_string(),
            trigger: Trigger::Manual,
            event: None,
            pipeline: Some(pipeline.to_string()),
            git,
            inputs: b.inputs,
            actor: Some(actor.to_string()),
        },
    )
    .await
    .map_err(|e| match e {
        TriggerError::UnknownProject(_) | TriggerError::UnknownPipeline { .. } => {
            ApiError::not_found(e.to_string())
        }
        TriggerError::InvalidPipeline { .. } | TriggerError::Inputs(_) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
        }
        TriggerError::Other(m) => ApiError::new(StatusCode::BAD_GATEWAY, "trigger", m),
    })?;
    Ok(json!({ "runs": started }))
}

pub async fn trigger(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path((project, pipeline)): Path<(String, String)>,
    payload: Result<Json<TriggerBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Role::Developer)?;
    let b = match payload {
        Err(JsonRejection::MissingJsonContentType(_)) => TriggerBody::default(),
        other => body(other)?,
    };
    let result = trigger_pipeline(&state, &project, &pipeline, b, &caller.name).await?;
    Ok((StatusCode::CREATED, Json(result)))
}

pub async fn reload(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Admin)?;
    match crate::workspace::reload(&state).await {
        Ok(warnings) => Ok(Json(json!({ "reloaded": true, "warnings": warnings }))),
        Err(diagnostics) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_workspace",
            format!("the workspace has errors; the previous one stays in use:\n{diagnostics}"),
        )),
    }
}
