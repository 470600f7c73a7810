//! The web UI's hosts pages and their forms: plan now, request an apply of the plan,
//! approve a request (someone other than the requester). Each form carries the
//! session's CSRF token and needs the developer role, as the API does.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, Redirect};
use axum::routing::{get, post};
use gantry_store::{InfraApplyId, InfraPlanId, Role};
use gantry_web::{InfraData, InfraHostData, InfraHostEntry};
use serde::Deserialize;

use super::api::infra::{approve_error, hosts_with_checks, plan_error};
use super::api::query::Params;
use super::error::ApiError;
use super::ui::{CsrfOnly, UiError, UiResult, Viewer};
use crate::infra::requests;
use crate::state::ServerState;

pub fn routes() -> Router<Arc<ServerState>> {
    Router::new()
        .route("/infra", get(hosts))
        .route("/infra/hosts/{host}", get(host))
        .route("/infra/plan", post(plan))
        .route("/infra/applies", post(request_apply))
        .route("/infra/applies/{id}/approve", post(approve))
}

fn drift_every(state: &ServerState, host: &gantry_workspace::Host) -> Option<std::time::Duration> {
    super::api::infra::drift_every_ms(state, host).map(std::time::Duration::from_millis)
}

async fn hosts(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> UiResult<Html<String>> {
    let p = Params::parse(q);
    let plan = match p.get::<i64>("plan", "a plan id")? {
        Some(id) => state
            .store
            .get_infra_plan(InfraPlanId(id))
            .await
            .map_err(ApiError::from)?,
        None => None,
    };
    let hosts = hosts_with_checks(&state).await?;
    let entries: Vec<InfraHostEntry> = hosts
        .iter()
        .map(|(h, c)| InfraHostEntry {
            name: &h.name,
            groups: &h.groups,
            check: c.as_ref(),
            drift_every: drift_every(&state, h),
        })
        .collect();
    let applies = state
        .store
        .list_infra_applies(None, 50)
        .await
        .map_err(ApiError::from)?;
    Ok(Html(gantry_web::infra_page(
        &viewer.layout(),
        &InfraData {
            hosts: &entries,
            applies: &applies,
            plan: plan.as_ref(),
        },
    )))
}

async fn host(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> UiResult<Html<String>> {
    let Some(h) = state.projects().inventory.hosts.get(&name).cloned() else {
        return Err(UiError::Page(
            StatusCode::NOT_FOUND,
            format!("There is no host '{name}' in the inventory."),
        ));
    };
    let check = state
        .store
        .host_check(&name)
        .await
        .map_err(ApiError::from)?;
    Ok(Html(gantry_web::infra_host_page(
        &viewer.layout(),
        &InfraHostData {
            host: InfraHostEntry {
                name: &h.name,
                groups: &h.groups,
                check: check.as_ref(),
                drift_every: drift_every(&state, &h),
            },
        },
    )))
}

#[derive(Debug, Deserialize)]
struct PlanForm {
    csrf: String,
    #[serde(default)]
    hosts: String,
}

async fn plan(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
    Form(form): Form<PlanForm>,
) -> UiResult<Redirect> {
    viewer.0.check_csrf(&form.csrf)?;
    viewer.0.require(Role::Developer)?;
    let pattern = Some(form.hosts.trim().to_string()).filter(|p| !p.is_empty());
    let (plan, _) = requests::plan(&state, pattern, &viewer.0.name)
        .await
        .map_err(plan_error)?;
    Ok(Redirect::to(&format!("/infra?plan={}", plan.id)))
}

#[derive(Debug, Deserialize)]
struct RequestForm {
    csrf: String,
    plan_id: i64,
}

async fn request_apply(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
    Form(form): Form<RequestForm>,
) -> UiResult<Redirect> {
    viewer.0.check_csrf(&form.csrf)?;
    viewer.0.require(Role::Developer)?;
    requests::request_apply(&state, InfraPlanId(form.plan_id), &viewer.0.name)
        .await
        .map_err(ApiError::from)?;
    Ok(Redirect::to("/infra"))
}

async fn approve(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> UiResult<Redirect> {
    viewer.0.check_csrf(&form.csrf)?;
    viewer.0.require(Role::Developer)?;
    requests::approve(&state, InfraApplyId(id), &viewer.0.name)
        .await
        .map_err(approve_error)?;
    Ok(Redirect::to("/infra"))
}
