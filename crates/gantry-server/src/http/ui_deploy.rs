//! The web UI's deployment pages and their forms: deploy and roll back from an
//! environment's page, approve a waiting deployment (someone other than the one who
//! started it). Each form carries the session's CSRF token and needs the developer
//! role, as the API does; the work is the API's (`api::deployments`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, Redirect};
use axum::routing::{get, post};
use gantry_store::{DeploymentFilter, DeploymentId, Role, RunId};
use gantry_web::{
    DeploymentData, EnvironmentData, EnvironmentEntry, EnvironmentsData, ServiceEntry,
};
use serde::Deserialize;

use super::api::deployments::{find, start, start_error};
use super::error::ApiError;
use super::ui::{CsrfOnly, UiError, UiResult, Viewer};
use crate::deploy::environment::{self, EnvironmentView};
use crate::deploy::{self, DeployAsk};
use crate::state::ServerState;

/// Deployments an environment's page lists.
const HISTORY: u32 = 50;

pub fn routes() -> Router<Arc<ServerState>> {
    Router::new()
        .route("/environments", get(environments))
        .route("/environments/{name}", get(environment))
        .route("/deployments", post(create))
        .route("/rollbacks", post(rollback))
        .route("/deployments/{id}", get(deployment))
        .route("/deployments/{id}/approve", post(approve))
        .route("/deployments/{id}/cancel", post(cancel))
}

async fn load(state: &ServerState, name: &str) -> UiResult<EnvironmentView> {
    environment::view(state, name)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| {
            UiError::Page(
                StatusCode::NOT_FOUND,
                format!("There is no environment '{name}' in the workspace."),
            )
        })
}

/// The page's view of an environment (borrowing it).
fn entry(env: &EnvironmentView) -> EnvironmentEntry<'_> {
    EnvironmentEntry {
        name: &env.name,
        hosts: &env.hosts,
        approvals: env.approvals,
        branches: &env.branches,
        services: env
            .services
            .iter()
            .map(|s| ServiceEntry {
                name: &s.name,
                running: env
                    .hosts
                    .iter()
                    .map(|h| (h.as_str(), s.running.get(h).map(|v| v.version.as_str())))
                    .collect(),
                latest: s.history.first(),
            })
            .collect(),
    }
}

async fn environments(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
) -> UiResult<Html<String>> {
    let names: Vec<String> = state.projects().environments.keys().cloned().collect();
    let mut loaded = Vec::new();
    for n in &names {
        loaded.push(load(&state, n).await?);
    }
    let entries: Vec<EnvironmentEntry> = loaded.iter().map(entry).collect();
    Ok(Html(gantry_web::environments_page(
        &viewer.layout(),
        &EnvironmentsData {
            environments: &entries,
        },
    )))
}

async fn environment(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> UiResult<Html<String>> {
    let loaded = load(&state, &name).await?;
    let others: Vec<String> = state
        .projects()
        .environments
        .keys()
        .filter(|e| **e != name)
        .cloned()
        .collect();
    let history = state
        .store
        .list_deployments(&DeploymentFilter {
            service: None,
            environment: Some(name.clone()),
            state: None,
            limit: HISTORY,
        })
        .await
        .map_err(ApiError::from)?;
    Ok(Html(gantry_web::environment_page(
        &viewer.layout(),
        &EnvironmentData {
            environment: &entry(&loaded),
            history: &history,
            can_deploy: viewer.0.require(Role::Developer).is_ok(),
            others: &others,
        },
    )))
}

async fn deployment(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> UiResult<Html<String>> {
    let d = find(&state, id).await?;
    let lines = state
        .store
        .deployment_lines(d.id, 0, 10_000)
        .await
        .map_err(ApiError::from)?;
    let developer = viewer.0.require(Role::Developer).is_ok();
    let can_approve = developer && viewer.0.name != d.triggered_by;
    Ok(Html(gantry_web::deployment_page(
        &viewer.layout(),
        &DeploymentData {
            deployment: &d,
            lines: &lines,
            can_approve,
            can_cancel: developer,
        },
    )))
}

#[derive(Debug, Deserialize)]
struct DeployForm {
    csrf: String,
    service: String,
    environment: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    run: String,
    #[serde(default)]
    from: String,
}

/// An empty field is "not given".
fn given(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

async fn create(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
    Form(form): Form<DeployForm>,
) -> UiResult<Redirect> {
    viewer.0.check_csrf(&form.csrf)?;
    viewer.0.require(Role::Developer)?;
    let run = match given(&form.run) {
        None => None,
        Some(r) => Some(RunId(r.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(
            || ApiError::bad_request(format!("field 'run': expected a run id, found '{r}'")),
        )?)),
    };
    let d = start(
        &state,
        DeployAsk {
            service: form.service,
            environment: form.environment,
            version: given(&form.version),
            run,
            from: given(&form.from),
            trigger: "ui".into(),
            triggered_by: viewer.0.name.clone(),
            ..Default::default()
        },
    )
    .await?;
    Ok(Redirect::to(&gantry_web::urls::deployment(d.id)))
}

#[derive(Debug, Deserialize)]
struct RollbackForm {
    csrf: String,
    service: String,
    environment: String,
    #[serde(default)]
    to: String,
}

async fn rollback(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
    Form(form): Form<RollbackForm>,
) -> UiResult<Redirect> {
    viewer.0.check_csrf(&form.csrf)?;
    viewer.0.require(Role::Developer)?;
    let d = start(
        &state,
        DeployAsk {
            service: form.service,
            environment: form.environment,
            version: given(&form.to),
            rollback: true,
            trigger: "ui".into(),
            triggered_by: viewer.0.name.clone(),
            ..Default::default()
        },
    )
    .await?;
    Ok(Redirect::to(&gantry_web::urls::deployment(d.id)))
}

async fn approve(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> UiResult<Redirect> {
    viewer.0.check_csrf(&form.csrf)?;
    viewer.0.require(Role::Developer)?;
    let id = DeploymentId(id);
    deploy::approve(&state, id, &viewer.0.name)
        .await
        .map_err(start_error)?;
    Ok(Redirect::to(&gantry_web::urls::deployment(id)))
}

async fn cancel(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> UiResult<Redirect> {
    viewer.0.check_csrf(&form.csrf)?;
    viewer.0.require(Role::Developer)?;
    let id = DeploymentId(id);
    deploy::cancel(&state, id, &viewer.0.name)
        .await
        .map_err(start_error)?;
    Ok(Redirect::to(&gantry_web::urls::deployment(id)))
}
