//! GitLab's webhook dialect: `X-Gitlab-Event` (`Push Hook`, `Tag Push Hook`, `Merge
//! Request Hook`), `X-Gitlab-Event-UUID`, and `X-Gitlab-Token` carrying the secret itself.

use super::event::{
    Commit, Payload, Person, PullRequestAction, PullRequestEvent, PushEvent, Repository,
};
use super::json::{decode, object_id, ref_name, required};
use super::{Dialect, WebhookError, headers, signature};
use crate::refs::{RefTarget, is_object_id, is_zero_id};
use gantry_core::Secret;
use http::HeaderMap;
use serde::Deserialize;

pub(super) struct GitLab;

const TOKEN: &str = "X-Gitlab-Token";

impl Dialect for GitLab {
    const EVENT_HEADERS: &'static [&'static str] = &["X-Gitlab-Event"];
    const DELIVERY_HEADERS: &'static [&'static str] = &["X-Gitlab-Event-UUID"];

    fn verify(headers: &HeaderMap, _body: &[u8], secret: &Secret) -> Result<(), WebhookError> {
        let (_, token) = headers::signature(headers, &[TOKEN])?;
        signature::verify_token(TOKEN, token, secret)
    }

    fn payload(kind: &str, body: &[u8]) -> Result<Payload, WebhookError> {
        Ok(match kind {
            "Push Hook" | "Tag Push Hook" => Payload::Push(push(decode(body)?)?),
            "Merge Request Hook" => Payload::PullRequest(merge_request(decode(body)?)?),
            _ => Payload::Ignored,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawProject {
    path_with_namespace: Option<String>,
    git_http_url: Option<String>,
    git_ssh_url: Option<String>,
    web_url: Option<String>,
    default_branch: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawAuthor {
    name: Option<String>,
    email: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawCommit {
    id: Option<String>,
    message: Option<String>,
    timestamp: Option<String>,
    url: Option<String>,
    author: Option<RawAuthor>,
    added: Option<Vec<String>>,
    modified: Option<Vec<String>>,
    removed: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawPush {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    before: Option<String>,
    after: Option<String>,
    user_username: Option<String>,
    user_name: Option<String>,
    project: Option<RawProject>,
    commits: Option<Vec<RawCommit>>,
    /// GitLab lists at most 20 commits; this is how many the push had.
    total_commits_count: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawUser {
    username: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawLastCommit {
    id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawMergeRequestAttributes {
    iid: Option<u64>,
    title: Option<String>,
    action: Option<String>,
    source_branch: Option<String>,
    target_branch: Option<String>,
    url: Option<String>,
    /// Present on `update` when new commits were pushed.
    oldrev: Option<String>,
    last_commit: Option<RawLastCommit>,
    source: Option<RawProject>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawMergeRequest {
    user: Option<RawUser>,
    project: Option<RawProject>,
    object_attributes: Option<RawMergeRequestAttributes>,
}

fn project(raw: Option<RawProject>) -> Result<Repository, WebhookError> {
    let raw = raw.ok_or(WebhookError::MissingField { field: "project" })?;
    Ok(Repository {
        full_name: required("project.path_with_namespace", raw.path_with_namespace)?,
        clone_url: raw.git_http_url,
        ssh_url: raw.git_ssh_url,
        html_url: raw.web_url,
        default_branch: raw.default_branch,
    })
}

fn commit(raw: RawCommit) -> Commit {
    let author = raw.author.unwrap_or_default();
    Commit {
        id: raw.id.unwrap_or_default(),
        message: raw.message.unwrap_or_default(),
        author: Person {
            name: author.name.unwrap_or_default(),
            email: author.email.unwrap_or_default(),
            username: None,
        },
        timestamp: raw.timestamp,
        url: raw.url,
        added: raw.added.unwrap_or_default(),
        modified: raw.modified.unwrap_or_default(),
        removed: raw.removed.unwrap_or_default(),
    }
}

fn push(raw: RawPush) -> Result<PushEvent, WebhookError> {
    let git_ref = ref_name("ref", raw.git_ref)?;
    let after = object_id("after", raw.after)?;
    let before = object_id("before", raw.before)?;
    let commits: Vec<Commit> = raw
        .commits
        .unwrap_or_default()
        .into_iter()
        .map(commit)
        .collect();
    let commits_truncated = raw
        .total_commits_count
        .is_some_and(|total| total > commits.len() as u64);
    Ok(PushEvent {
        repository: project(raw.project)?,
        target: RefTarget::parse(&git_ref),
        git_ref,
        created: is_zero_id(&before),
        deleted: is_zero_id(&after),
        // GitLab does not say whether a push was forced.
        forced: false,
        before,
        after,
        commits,
        commits_truncated,
        pusher: raw
            .user_username
            .or(raw.user_name)
            .filter(|s| !s.is_empty()),
        compare_url: None,
    })
}

fn merge_request(raw: RawMergeRequest) -> Result<PullRequestEvent, WebhookError> {
    let repository = project(raw.project)?;
    let attrs = raw.object_attributes.ok_or(WebhookError::MissingField {
        field: "object_attributes",
    })?;
    let number = attrs.iid.ok_or(WebhookError::MissingField {
        field: "object_attributes.iid",
    })?;
    let head_sha = object_id(
        "object_attributes.last_commit.id",
        attrs.last_commit.and_then(|c| c.id),
    )?;
    let head_clone_url = attrs
        .source
        .filter(|s| {
            s.path_with_namespace
                .as_deref()
                .is_some_and(|p| p != repository.full_name)
        })
        .and_then(|s| s.git_http_url);
    Ok(PullRequestEvent {
        action: action(
            attrs.action.as_deref().unwrap_or(""),
            attrs.oldrev.as_deref().is_some_and(is_object_id),
        ),
        number,
        title: attrs.title.unwrap_or_default(),
        head_sha,
        head_branch: ref_name("object_attributes.source_branch", attrs.source_branch)?,
        head_clone_url,
        base_branch: ref_name("object_attributes.target_branch", attrs.target_branch)?,
        base_sha: None,
        html_url: attrs.url,
        author: raw.user.and_then(|u| u.username),
        repository,
    })
}

/// GitLab's `update` covers both new commits (with `oldrev`) and edits of the title,
/// labels or description (without).
fn action(name: &str, new_commits: bool) -> PullRequestAction {
    match name {
        "open" => PullRequestAction::Opened,
        "reopen" => PullRequestAction::Reopened,
        "update" if new_commits => PullRequestAction::Synchronized,
        "update" => PullRequestAction::Edited,
        "close" => PullRequestAction::Closed,
        "merge" => PullRequestAction::Merged,
        other => PullRequestAction::Other(other.to_string()),
    }
}
