//! Infra in the server: hosts with their drift state and latest report, plans saved
//! now, apply requests and their approval (developer role; the approver must not be the
//! requester). The steps themselves are in `crate::infra::requests`, shared with the UI.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use gantry_store::{ApplyState, HostCheck, InfraApply, InfraApplyId, InfraPlanId, Role};
use gantry_workspace::Host;
use serde::Deserialize;
use serde_json::{Value, json};

use super::query::{Params, Path, body};
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ApiResult};
use crate::infra::InfraError;
use crate::infra::requests::{self, ApproveError, PlanError};
use crate::state::ServerState;

/// Longest `hosts` pattern accepted.
const MAX_PATTERN: usize = 200;

/// One inventory host with its latest check.
pub fn host_json(host: &Host, check: Option<&HostCheck>, drift_every_ms: Option<u64>) -> Value {
    json!({
        "name": host.name,
        "groups": host.groups,
        "drift_every_ms": drift_every_ms,
        "state": check.map_or("unknown", |c| c.state.as_str()),
        "checked_at": check.map(|c| c.checked_at),
        "changes": check.map(|c| c.changes),
    })
}

/// The shortest drift schedule of the host's groups.
pub fn drift_every_ms(state: &ServerState, host: &Host) -> Option<u64> {
    let projects = state.projects();
    host.groups
        .iter()
        .filter_map(|g| projects.inventory.groups.get(g)?.drift)
        .map(|d| u64::try_from(d.every.as_millis()).unwrap_or(u64::MAX))
        .min()
}

/// Every inventory host (file order) with its latest check, if any.
pub async fn hosts_with_checks(state: &ServerState) -> ApiResult<Vec<(Host, Option<HostCheck>)>> {
    let checks = state.store.host_checks().await?;
    let projects = state.projects();
    Ok(projects
        .inventory
        .hosts
        .values()
        .map(|h| {
            let check = checks.iter().find(|c| c.host == h.name).cloned();
            (h.clone(), check)
        })
        .collect())
}

pub async fn hosts(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let hosts: Vec<Value> = hosts_with_checks(&state)
        .await?
        .iter()
        .map(|(h, c)| host_json(h, c.as_ref(), drift_every_ms(&state, h)))
        .collect();
    Ok(Json(json!({ "hosts": hosts })))
}

pub async fn host(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let host = state
        .projects()
        .inventory
        .hosts
        .get(&name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no host '{name}' in the inventory")))?;
    let check = state.store.host_check(&name).await?;
    Ok(Json(json!({
        "host": host_json(&host, check.as_ref(), drift_every_ms(&state, &host)),
        "report": check.map(|c| c.report),
    })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    /// Globs over host and group names, comma-separated. A JSON value, so that `null`
    /// or a number is a 400 naming the field rather than "plan everything".
    #[serde(default)]
    pub hosts: Option<Value>,
}

/// A 4xx for a plan that could not be made or saved.
pub fn plan_error(e: PlanError) -> ApiError {
    let unprocessable = |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m);
    match e {
        PlanError::Infra(InfraError::Pattern(m)) => {
            ApiError::bad_request(format!("field 'hosts': {m}"))
        }
        PlanError::Infra(InfraError::NoHosts(m)) => unprocessable(format!("field 'hosts': {m}")),
        PlanError::Infra(InfraError::Workspace(m)) => unprocessable(m),
        e @ PlanError::Unsavable(..) => unprocessable(e.to_string()),
        PlanError::Store(e) => e.into(),
    }
}

pub async fn plan(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    payload: Result<Json<PlanBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Role::Developer)?;
    // An empty body plans every host.
    let b = match payload {
        Err(JsonRejection::MissingJsonContentType(_)) => PlanBody::default(),
        other => body(other)?,
    };
    let pattern = match b.hosts {
        None => None,
        Some(Value::String(p)) if !p.trim().is_empty() && p.chars().count() <= MAX_PATTERN => {
            Some(p)
        }
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "field 'hosts': expected a string of 1 to {MAX_PATTERN} characters (globs over host and group names, comma-separated)"
            )));
        }
    };
    let (plan, report) = requests::plan(&state, pattern, &caller.name)
        .await
        .map_err(plan_error)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "plan": {
                "id": plan.id,
                "created_at": plan.created_at,
                "created_by": plan.created_by,
                "hosts_pattern": plan.hosts_pattern,
                "hosts": plan.hosts,
                "changes": plan.changes,
            },
            "summary": report.summary,
            "report": report,
        })),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyBody {
    pub plan_id: i64,
}

pub async fn request_apply(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    payload: Result<Json<ApplyBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Role::Developer)?;
    let b = body(payload)?;
    let apply = requests::request_apply(&state, InfraPlanId(b.plan_id), &caller.name)
        .await
        .map_err(|e| match e {
            gantry_store::StoreError::NotFound { .. } => {
                ApiError::not_found(format!("field 'plan_id': no infra plan {}", b.plan_id))
            }
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(json!({ "apply": apply }))))
}

pub async fn applies(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let p = Params::parse(q);
    let limit = p.limit(50, 500)?;
    let filter: Option<ApplyState> = match p.str("state") {
        None => None,
        Some(s) => Some(s.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "query parameter 'state': expected one of awaiting_approval, applying, applied, failed, found '{s}'"
            ))
        })?),
    };
    let applies = state.store.list_infra_applies(filter, limit).await?;
    Ok(Json(json!({ "applies": applies })))
}

async fn find_apply(state: &ServerState, id: i64) -> ApiResult<InfraApply> {
    state
        .store
        .get_infra_apply(InfraApplyId(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no infra apply {id}")))
}

pub async fn apply(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    Ok(Json(json!({ "apply": find_apply(&state, id).await? })))
}

/// A 4xx for a refused approval.
pub fn approve_error(e: ApproveError) -> ApiError {
    match e {
        e @ ApproveError::OwnRequest(..) => {
            ApiError::new(StatusCode::FORBIDDEN, "own_request", e.to_string())
        }
        ApproveError::Store(e) => e.into(),
    }
}

pub async fn approve(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Developer)?;
    let apply = requests::approve(&state, InfraApplyId(id), &caller.name)
        .await
        .map_err(approve_error)?;
    Ok(Json(json!({ "apply": apply })))
}
