//! Forge webhooks at `/hooks/github`, `/hooks/gitea` (Forgejo too) and `/hooks/gitlab`.
//! The delivery is matched to a project (`?project=NAME`, else by the repository named
//! in the payload), authenticated with that project's secret (signature or token,
//! constant-time), deduplicated by delivery id, and turned into runs. A delivery that
//! fails authentication starts nothing and is answered 401.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use gantry_scm::{Forge, Payload, RefTarget, WebhookEvent};
use gantry_store::{GitFacts, NewDelivery, Trigger};
use serde_json::{Value, json};

use super::api::query::Params;
use super::error::ApiError;
use crate::projects::Project;
use crate::state::ServerState;
use crate::triggers::enqueue::{TriggerRequest, start_runs};

/// How long a delivery waits for its runs to be queued before being answered 202 (the
/// runs are still queued; forges time out after about 10 s).
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

fn same_repo(project: &Project, event: &WebhookEvent) -> bool {
    let Some(repo) = event.repository() else {
        return false;
    };
    let url = gantry_scm::redact_url(&project.git_url);
    let trimmed = |u: &str| u.trim_end_matches('/').trim_end_matches(".git").to_string();
    project
        .forge
        .as_ref()
        .is_some_and(|f| f.repo == repo.full_name)
        || [&repo.clone_url, &repo.ssh_url, &repo.html_url]
            .into_iter()
            .flatten()
            .any(|u| trimmed(u) == trimmed(&url))
}

fn err(status: u16, code: &'static str, message: String) -> ApiError {
    ApiError::new(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        code,
        message,
    )
}

pub async fn receive(
    State(state): State<Arc<ServerState>>,
    Path(forge): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let forge: Forge = forge
        .parse()
        .map_err(|e: gantry_scm::UnknownForge| ApiError::not_found(e.to_string()))?;
    let params = Params::parse(q);
    let projects = state.projects();
    let project = match params.str("project") {
        Some(name) => projects
            .projects
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("no project named '{name}'")))?,
        None => {
            // Parsing before authenticating only reads the repository name to pick the
            // secret; nothing is acted on until the delivery is verified below.
            let event = gantry_scm::parse(forge, &headers, &body)
                .map_err(|e| err(e.http_status(), "bad_delivery", e.to_string()))?;
            let name = event
                .repository()
                .map(|r| r.full_name.clone())
                .unwrap_or_default();
            projects
                .projects
                .values()
                .find(|p| same_repo(p, &event))
                .cloned()
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "no project builds repository '{name}'; add ?project=NAME to the webhook URL"
                    ))
                })?
        }
    };
    let secret = project.webhook_secret.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "no_secret",
            format!(
                "project '{}' has no webhook_secret in gantry.yml, so it accepts no webhooks",
                project.name
            ),
        )
    })?;
    gantry_scm::verify(forge, &headers, &body, &secret)
        .map_err(|e| err(e.http_status(), "unauthenticated", e.to_string()))?;
    let event = gantry_scm::parse(forge, &headers, &body)
        .map_err(|e| err(e.http_status(), "bad_delivery", e.to_string()))?;
    let fresh = state
        .store
        .record_delivery(NewDelivery {
            forge: forge.name().to_string(),
            delivery_id: event.delivery_id.clone(),
            event: event.kind.clone(),
            project: Some(project.name.clone()),
        })
        .await?;
    if !fresh {
        return Ok((
            StatusCode::OK,
            Json(json!({ "duplicate": true, "runs": [] })),
        ));
    }
    let Some(trigger_event) = event.trigger_event() else {
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "ignored": event.kind, "runs": [] })),
        ));
    };
    let Some(sha) = event.head_sha().map(str::to_string) else {
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "ignored": event.kind, "runs": [] })),
        ));
    };
    let (trigger, git) = match &event.payload {
        Payload::Push(push) => {
            let head = push
                .commits
                .iter()
                .find(|c| c.id == push.after)
                .or(push.commits.last());
            let (branch, tag, trigger) = match &push.target {
                RefTarget::Tag(t) => (None, Some(t.clone()), Trigger::Tag),
                RefTarget::Branch(b) => (Some(b.clone()), None, Trigger::Push),
                RefTarget::Other(_) => (None, None, Trigger::Push),
            };
            (
                trigger,
                GitFacts {
                    sha,
                    branch,
                    tag,
                    message: head
                        .map(|c| c.message.lines().next().unwrap_or_default().to_string())
                        .unwrap_or_default(),
                    author: head.map(|c| c.author.name.clone()).unwrap_or_default(),
                },
            )
        }
        Payload::PullRequest(pr) => (
            Trigger::PullRequest,
            GitFacts {
                sha,
                branch: Some(pr.head_branch.clone()),
                tag: None,
                message: pr.title.clone(),
                author: pr.author.clone().unwrap_or_default(),
            },
        ),
        Payload::Ping(_) | Payload::Ignored => {
            return Ok((
                StatusCode::ACCEPTED,
                Json(json!({ "ignored": event.kind, "runs": [] })),
            ));
        }
    };
    let req = TriggerRequest {
        project: project.name.clone(),
        trigger,
        event: Some(trigger_event),
        pipeline: None,
        git,
        inputs: Default::default(),
        actor: Some(format!("{} webhook", forge.name())),
    };
    let s = state.clone();
    let task = tokio::spawn(async move { start_runs(&s, req).await });
    match tokio::time::timeout(ANSWER_WITHIN, task).await {
        Ok(Ok(Ok(runs))) => Ok((StatusCode::CREATED, Json(json!({ "runs": runs })))),
        Ok(Ok(Err(e))) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "trigger",
            e.to_string(),
        )),
        Ok(Err(e)) => Err(ApiError::internal("starting runs", e)),
        Err(_) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "accepted": true, "runs": [] })),
        )),
    }
}
