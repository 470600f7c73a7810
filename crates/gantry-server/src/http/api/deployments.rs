//! Deployments and environments in the API: start a deploy or a rollback (developer),
//! list and read deployments with their progress lines, approve a waiting one (a
//! developer other than the one who started it), and each environment with what
//! version of each service runs on which host. The work is in `crate::deploy`.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use gantry_store::{DeployState, Deployment, DeploymentFilter, DeploymentId, Role, RunId};
use serde::Deserialize;
use serde_json::{Value, json};

use super::query::{Params, Path, body};
use crate::deploy::{self, DeployAsk, StartError, environment};
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ApiResult};
use crate::state::ServerState;

/// Longest name, version or branch accepted in a body.
const MAX_FIELD: usize = 200;

pub fn start_error(e: StartError) -> ApiError {
    match e {
        StartError::Invalid(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m),
        StartError::NotFound(m) => ApiError::not_found(m),
        StartError::Refused(m) => ApiError::new(StatusCode::CONFLICT, "refused", m),
        StartError::Store(e) => e.into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployBody {
    pub service: String,
    pub environment: String,
    #[serde(default)]
    pub version: Option<String>,
    /// The run whose build is deployed (default: the newest good one).
    #[serde(default)]
    pub run: Option<i64>,
    #[serde(default)]
    pub outside_window: bool,
    /// Promote: deploy what this environment last deployed successfully.
    #[serde(default)]
    pub from: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackBody {
    pub service: String,
    pub environment: String,
    /// The release to go back to (default: the previous one on each host).
    #[serde(default)]
    pub to: Option<String>,
}

fn check_field(name: &str, value: &str) -> ApiResult<()> {
    if value.is_empty() || value.chars().count() > MAX_FIELD {
        return Err(ApiError::bad_request(format!(
            "field '{name}': expected 1 to {MAX_FIELD} characters"
        )));
    }
    Ok(())
}

/// Starts a deploy or rollback for `caller` through `trigger` (`api`, `ui`).
pub async fn start(state: &Arc<ServerState>, ask: DeployAsk) -> ApiResult<Deployment> {
    check_field("service", &ask.service)?;
    check_field("environment", &ask.environment)?;
    if let Some(v) = &ask.version {
        check_field(if ask.rollback { "to" } else { "version" }, v)?;
    }
    if let Some(f) = &ask.from {
        check_field("from", f)?;
    }
    let (deployment, _running) = deploy::start(state.clone(), ask, None)
        .await
        .map_err(start_error)?;
    Ok(deployment)
}

pub async fn create(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    payload: Result<Json<DeployBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Role::Developer)?;
    let b = body(payload)?;
    let run = match b.run {
        Some(n) if n < 1 => {
            return Err(ApiError::bad_request(
                "field 'run': expected a run id (1 or more)",
            ));
        }
        other => other.map(RunId),
    };
    let d = start(
        &state,
        DeployAsk {
            service: b.service,
            environment: b.environment,
            version: b.version,
            run,
            outside_window: b.outside_window,
            from: b.from,
            trigger: "api".into(),
            triggered_by: caller.name.clone(),
            ..Default::default()
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "deployment": d }))))
}

pub async fn rollback(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    payload: Result<Json<RollbackBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Role::Developer)?;
    let b = body(payload)?;
    let d = start(
        &state,
        DeployAsk {
            service: b.service,
            environment: b.environment,
            version: b.to,
            rollback: true,
            trigger: "api".into(),
            triggered_by: caller.name.clone(),
            ..Default::default()
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "deployment": d }))))
}

pub async fn list(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let p = Params::parse(q);
    let limit = p.limit(50, 500)?;
    let state_filter: Option<DeployState> = match p.str("state") {
        None => None,
        Some(s) => Some(s.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "query parameter 'state': expected one of waiting_approval, running, succeeded, failed, rolled_back, cancelled, found '{s}'"
            ))
        })?),
    };
    let deployments = state
        .store
        .list_deployments(&DeploymentFilter {
            service: p.str("service").map(str::to_string),
            environment: p.str("environment").map(str::to_string),
            state: state_filter,
            limit,
        })
        .await?;
    Ok(Json(json!({ "deployments": deployments })))
}

pub async fn find(state: &ServerState, id: i64) -> ApiResult<Deployment> {
    state
        .store
        .get_deployment(DeploymentId(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no deployment {id}")))
}

pub async fn get(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let d = find(&state, id).await?;
    let lines = state.store.deployment_lines(d.id, 0, 10_000).await?;
    Ok(Json(json!({ "deployment": d, "lines": lines })))
}

pub async fn approve(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Developer)?;
    let approvals = deploy::approve(&state, DeploymentId(id), &caller.name)
        .await
        .map_err(start_error)?;
    Ok(Json(json!({ "approved_by": approvals })))
}

pub async fn cancel(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Role::Developer)?;
    let d = deploy::cancel(&state, DeploymentId(id), &caller.name)
        .await
        .map_err(start_error)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "deployment": d, "cancel_requested": true })),
    ))
}

/// One environment: its settings, and per service what runs on each host and its
/// newest deployment.
pub async fn environment_json(state: &ServerState, name: &str) -> ApiResult<Value> {
    let env = environment::view(state, name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no environment '{name}' in the workspace")))?;
    let services: Vec<Value> = env
        .services
        .iter()
        .map(|s| {
            json!({
                "service": s.name,
                "running": s.running,
                "latest": s.history.first(),
            })
        })
        .collect();
    Ok(json!({
        "name": env.name,
        "hosts": env.hosts,
        "approvals": env.approvals,
        "branches": env.branches,
        "windows": env.windows,
        "services": services,
    }))
}

pub async fn environments(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let names: Vec<String> = state.projects().environments.keys().cloned().collect();
    let mut out = Vec::new();
    for n in names {
        out.push(environment_json(&state, &n).await?);
    }
    Ok(Json(json!({ "environments": out })))
}

pub async fn environment(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    Ok(Json(
        json!({ "environment": environment_json(&state, &name).await? }),
    ))
}
