//! The web UI's routes: pages rendered by `gantry-web`, its static files, sign-in with a
//! session cookie, and the form actions (cancel, rerun, trigger) — each form checked
//! against the session's CSRF token. Signed-out visitors are sent to `/login`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Form, FromRequestParts, Path, Query, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, body::Body};
use gantry_core::Secret;
use gantry_store::{EventFilter, EventId, JobId, Role, RunFilter, RunId};
use gantry_web::{
    AgentEntry, AgentsData, DashboardData, EventsData, Layout, LoginForm, PipelineEntry,
    ProjectData, ProjectSummary, QueueEntry, RunPageData,
};
use indexmap::IndexMap;
use serde::Deserialize;

use super::api::projects::{TriggerBody, trigger_pipeline};
use super::api::query::Params;
use super::api::runs::{cancel_run, rerun_run};
use super::auth::{Caller, SESSION_COOKIE, authenticate, cookie};
use super::error::ApiError;
use crate::state::ServerState;

const LOGIN_CSRF_COOKIE: &str = "gantry_login_csrf";
const SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

pub fn routes() -> Router<Arc<ServerState>> {
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/projects/{project}", get(project))
        .route(
            "/projects/{project}/pipelines/{pipeline}/trigger",
            post(trigger),
        )
        .route("/runs/{run}", get(run))
        .route("/runs/{run}/live", get(super::sse::run_live))
        .route("/runs/{run}/cancel", post(cancel))
        .route("/runs/{run}/rerun", post(rerun))
        .route("/events", get(events))
        .route("/agents", get(agents))
        .merge(super::ui_infra::routes())
        .merge(super::ui_deploy::routes())
        .route("/static/{*file}", get(asset))
        .fallback(not_found)
}

/// A UI error: an HTML page, or the sign-in redirect.
#[derive(Debug)]
pub enum UiError {
    SignIn(String),
    Page(StatusCode, String),
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        UiError::Page(e.status, e.message)
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::SignIn(next) => {
                let target = format!(
                    "/login?next={}",
                    percent_encoding::utf8_percent_encode(
                        &next,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                );
                Redirect::to(&target).into_response()
            }
            UiError::Page(status, message) => {
                let layout = Layout::new(None, "");
                (
                    status,
                    Html(gantry_web::error_page(&layout, status.as_u16(), &message)),
                )
                    .into_response()
            }
        }
    }
}

pub(crate) type UiResult<T> = Result<T, UiError>;

/// A signed-in browser user (or an API token holder browsing).
#[derive(Debug)]
pub struct Viewer(pub Caller);

impl FromRequestParts<Arc<ServerState>> for Viewer {
    type Rejection = UiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ServerState>,
    ) -> Result<Self, UiError> {
        let next = parts
            .uri
            .path_and_query()
            .map_or("/".to_string(), |p| p.to_string());
        match authenticate(state, parts).await {
            Ok(Some(caller)) if caller.require(Role::Viewer).is_ok() => Ok(Viewer(caller)),
            Ok(_) => Err(UiError::SignIn(next)),
            Err(e) => Err(e.into()),
        }
    }
}

impl Viewer {
    pub(crate) fn layout(&self) -> Layout {
        Layout::new(
            Some(self.0.name.clone()),
            self.0
                .csrf
                .as_ref()
                .map(|s| s.expose().to_string())
                .unwrap_or_default(),
        )
    }
}

async fn not_found(viewer: Option<Viewer>) -> Response {
    let layout = viewer.map_or_else(|| Layout::new(None, ""), |v| v.layout());
    (
        StatusCode::NOT_FOUND,
        Html(gantry_web::error_page(
            &layout,
            404,
            "There is no page here.",
        )),
    )
        .into_response()
}

impl axum::extract::OptionalFromRequestParts<Arc<ServerState>> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ServerState>,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(match authenticate(state, parts).await {
            Ok(Some(caller)) => Some(Viewer(caller)),
            _ => None,
        })
    }
}

async fn asset(Path(file): Path<String>) -> Response {
    match gantry_web::asset(&format!("/static/{file}")) {
        Some((bytes, content_type)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            Body::from(bytes),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn dashboard(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
) -> UiResult<Html<String>> {
    let counts = state.store.runs_by_status().await.map_err(ApiError::from)?;
    let runs = state
        .store
        .list_runs(&RunFilter {
            limit: 30,
            ..Default::default()
        })
        .await
        .map_err(ApiError::from)?;
    let set = state.projects();
    let repos: Vec<(String, &str, &str)> = set
        .projects
        .values()
        .map(|p| {
            (
                gantry_scm::redact_url(&p.git_url),
                p.name.as_str(),
                p.branch.as_str(),
            )
        })
        .collect();
    let projects: Vec<ProjectSummary> = repos
        .iter()
        .map(|(repo, name, branch)| ProjectSummary { name, repo, branch })
        .collect();
    Ok(Html(gantry_web::dashboard(
        &viewer.layout(),
        &DashboardData {
            counts: &counts,
            runs: &runs,
            projects: &projects,
        },
    )))
}

async fn project(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> UiResult<Html<String>> {
    let p = state.project(&name).ok_or_else(|| {
        UiError::Page(
            StatusCode::NOT_FOUND,
            format!("There is no project named '{name}'."),
        )
    })?;
    let runs = state
        .store
        .list_runs(&RunFilter {
            project: Some(name.clone()),
            limit: 30,
            ..Default::default()
        })
        .await
        .map_err(ApiError::from)?;
    let (files, problem) = match state.resolve_branch(&p, &p.branch).await {
        Ok(git) => match state.pipelines_at(&p, Some(&git.sha)).await {
            Ok(files) => (files, None),
            Err(e) => (Vec::new(), Some(e)),
        },
        Err(e) => (Vec::new(), Some(e)),
    };
    let entries: Vec<PipelineEntry> = files
        .iter()
        .map(|f| PipelineEntry {
            file: &f.path,
            plan: f.plan.as_ref(),
            diagnostics: &f.diagnostics,
        })
        .collect();
    let repo = gantry_scm::redact_url(&p.git_url);
    let mut layout = viewer.layout();
    if let Some(problem) = problem {
        layout = layout.with_flash(format!("The pipelines could not be read: {problem}"));
    }
    Ok(Html(gantry_web::project_page(
        &layout,
        &ProjectData {
            name: &p.name,
            repo: &repo,
            branch: &p.branch,
            pipelines: &entries,
            runs: &runs,
        },
    )))
}

async fn run(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    RawQuery(q): RawQuery,
) -> UiResult<Html<String>> {
    let run = state
        .store
        .get_run(RunId(id))
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| UiError::Page(StatusCode::NOT_FOUND, format!("There is no run {id}.")))?;
    let jobs = state
        .store
        .jobs_of_run(run.id)
        .await
        .map_err(ApiError::from)?;
    let mut steps = Vec::new();
    for job in &jobs {
        steps.extend(
            state
                .store
                .steps_of_job(job.id)
                .await
                .map_err(ApiError::from)?,
        );
    }
    let plan = state.store.get_plan(run.id).await.map_err(ApiError::from)?;
    let rerun_of_number = match run.rerun_of {
        Some(r) => state
            .store
            .get_run(r)
            .await
            .ok()
            .flatten()
            .map(|r| r.number),
        None => None,
    };
    let selected_job = Params::parse(q)
        .get::<i64>("job", "a job id")
        .ok()
        .flatten()
        .map(JobId);
    Ok(Html(gantry_web::run_page(
        &viewer.layout(),
        &RunPageData {
            run: &run,
            jobs: &jobs,
            steps: &steps,
            plan: plan.as_ref(),
            selected_job,
            rerun_of_number,
        },
    )))
}

async fn events(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> UiResult<Html<String>> {
    let before = Params::parse(q)
        .get::<i64>("before", "an event id")
        .ok()
        .flatten()
        .map(EventId);
    let limit = 100;
    let mut events = state
        .store
        .events(&EventFilter {
            before_id: before,
            limit: limit + 1,
            newest_first: true,
            ..Default::default()
        })
        .await
        .map_err(ApiError::from)?;
    let has_more = events.len() > limit as usize;
    events.truncate(limit as usize);
    Ok(Html(gantry_web::events_page(
        &viewer.layout(),
        &EventsData {
            events: &events,
            has_more,
        },
    )))
}

async fn agents(State(state): State<Arc<ServerState>>, viewer: Viewer) -> UiResult<Html<String>> {
    let registry = super::api::agents::load(&state, None).await?;
    // The runs of the running jobs, for "project / pipeline #n" link text; a handful at
    // most (agents' capacities), each read once.
    let mut runs = std::collections::BTreeMap::new();
    for job in registry.agents.iter().flat_map(|a| &a.jobs) {
        if let std::collections::btree_map::Entry::Vacant(slot) = runs.entry(job.run_id)
            && let Some(run) = state
                .store
                .get_run(job.run_id)
                .await
                .map_err(ApiError::from)?
        {
            slot.insert(run);
        }
    }
    let agents: Vec<AgentEntry> = registry
        .agents
        .iter()
        .map(|a| AgentEntry {
            agent: &a.agent,
            online: a.online,
            queued: a.queued,
            jobs: a.jobs.iter().map(|j| (j, runs.get(&j.run_id))).collect(),
        })
        .collect();
    let queues: Vec<QueueEntry> = registry
        .queues
        .iter()
        .map(|q| QueueEntry {
            queue: &q.view,
            server: q.server,
            agents: &q.agents,
        })
        .collect();
    Ok(Html(gantry_web::agents_page(
        &viewer.layout(),
        &AgentsData {
            agents: &agents,
            queues: &queues,
            unlabeled: super::api::agents::unlabeled_name(registry.unlabeled),
        },
    )))
}

fn random_token() -> String {
    let mut bytes = [0u8; 24];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn secure(state: &ServerState) -> &'static str {
    if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// Only local paths are followed after sign-in (an open redirect would help phishing).
fn local_next(next: Option<&str>) -> Option<&str> {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login_form(
    State(state): State<Arc<ServerState>>,
    Query(q): Query<LoginQuery>,
) -> Response {
    let token = random_token();
    let layout = Layout::new(None, token.clone());
    let html = gantry_web::login_page(
        &layout,
        &LoginForm {
            username: "",
            next: local_next(q.next.as_deref()),
            error: None,
        },
    );
    let cookie = format!(
        "{LOGIN_CSRF_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/login{}",
        secure(&state)
    );
    let mut resp = Html(html).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

// By hand: the password must never be printed.
impl std::fmt::Debug for LoginBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginBody")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

async fn login(
    State(state): State<Arc<ServerState>>,
    parts: Parts,
    Form(body): Form<LoginBody>,
) -> Response {
    // Double-submit check: the form's token must equal the cookie set with the form.
    let expected = cookie(&parts, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let csrf_ok = !expected.is_empty() && {
        use subtle::ConstantTimeEq;
        bool::from(expected.as_bytes().ct_eq(body.csrf.as_bytes()))
    };
    let next = local_next(body.next.as_deref()).unwrap_or("/").to_string();
    let fail = |message: &str| {
        let token = random_token();
        let layout = Layout::new(None, token.clone());
        let html = gantry_web::login_page(
            &layout,
            &LoginForm {
                username: &body.username,
                next: Some(&next),
                error: Some(message),
            },
        );
        let cookie = format!(
            "{LOGIN_CSRF_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/login{}",
            secure(&state)
        );
        let mut resp = (StatusCode::UNAUTHORIZED, Html(html)).into_response();
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
        resp
    };
    if !csrf_ok {
        return fail("The form expired. Please sign in again.");
    }
    let user = match state
        .store
        .verify_password(&body.username, &Secret::new(body.password.clone()))
        .await
    {
        Ok(Some(user)) => user,
        Ok(None) => return fail("Wrong username or password."),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let session = match state.store.create_session(user.id, SESSION_TTL).await {
        Ok(s) => s,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{}",
        session.token.expose(),
        SESSION_TTL.as_secs(),
        secure(&state)
    );
    let mut resp = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// A form that carries only the session's CSRF token (an Approve or Cancel button).
#[derive(Debug, Deserialize)]
pub(crate) struct CsrfOnly {
    pub(crate) csrf: String,
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    csrf: String,
    #[serde(default)]
    failed_only: Option<String>,
}

async fn logout(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
    parts: Parts,
    Form(form): Form<CsrfForm>,
) -> UiResult<Response> {
    viewer.0.check_csrf(&form.csrf)?;
    if let Some(token) = cookie(&parts, SESSION_COOKIE) {
        let _ = state.store.delete_session(token).await;
    }
    let mut resp = Redirect::to("/login").into_response();
    let clear = format!(
        "{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{}",
        secure(&state)
    );
    if let Ok(v) = HeaderValue::from_str(&clear) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

async fn cancel(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> UiResult<Redirect> {
    viewer.0.check_csrf(&form.csrf)?;
    viewer.0.require(Role::Developer)?;
    cancel_run(&state, RunId(id), &viewer.0.name).await?;
    Ok(Redirect::to(&format!("/runs/{id}")))
}

async fn rerun(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> UiResult<Redirect> {
    viewer.0.check_csrf(&form.csrf)?;
    viewer.0.require(Role::Developer)?;
    let failed_only = form.failed_only.as_deref() == Some("true");
    let result = rerun_run(&state, RunId(id), failed_only, &viewer.0.name).await?;
    let new_id = result.get("run_id").and_then(|v| v.as_i64()).unwrap_or(id);
    Ok(Redirect::to(&format!("/runs/{new_id}")))
}

async fn trigger(
    State(state): State<Arc<ServerState>>,
    viewer: Viewer,
    Path((project, pipeline)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> UiResult<Redirect> {
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    viewer.0.check_csrf(csrf)?;
    viewer.0.require(Role::Developer)?;
    let mut body = TriggerBody::default();
    let mut inputs = IndexMap::new();
    for (k, v) in fields {
        if k == "branch" && !v.trim().is_empty() {
            body.branch = Some(v.trim().to_string());
        } else if let Some(name) = k.strip_prefix("input.") {
            inputs.insert(name.to_string(), v);
        }
    }
    body.inputs = inputs;
    let result = trigger_pipeline(&state, &project, &pipeline, body, &viewer.0.name).await?;
    let first = result["runs"].get(0).and_then(|r| r["run_id"].as_i64());
    Ok(Redirect::to(&first.map_or_else(
        || format!("/projects/{project}"),
        |id| format!("/runs/{id}"),
    )))
}
