//! The payload shape GitHub defined and Gitea/Forgejo copied: raw serde types (every field
//! optional, since forges omit or null fields freely) and their conversion to the
//! normalized event. Each dialect supplies its own spelling of pull request actions.

use super::WebhookError;
use super::event::{
    Commit, Person, PingEvent, PullRequestAction, PullRequestEvent, PushEvent, Repository,
};
use super::json::{object_id, ref_name, required};
use crate::refs::{RefTarget, is_object_id, is_zero_id};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawRepository {
    full_name: Option<String>,
    clone_url: Option<String>,
    ssh_url: Option<String>,
    html_url: Option<String>,
    default_branch: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawUser {
    login: Option<String>,
    username: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawAuthor {
    name: Option<String>,
    email: Option<String>,
    username: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawCommit {
    id: Option<String>,
    message: Option<String>,
    timestamp: Option<String>,
    url: Option<String>,
    author: Option<RawAuthor>,
    added: Option<Vec<String>>,
    removed: Option<Vec<String>>,
    modified: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawPush {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    before: Option<String>,
    after: Option<String>,
    created: Option<bool>,
    deleted: Option<bool>,
    forced: Option<bool>,
    commits: Option<Vec<RawCommit>>,
    /// Gitea only: how many commits the push had; its `commits` list is capped.
    total_commits: Option<u64>,
    repository: Option<RawRepository>,
    pusher: Option<RawUser>,
    /// GitHub's name for the compare link.
    compare: Option<String>,
    /// Gitea's name for the compare link.
    compare_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawPullRequestEvent {
    action: Option<String>,
    number: Option<u64>,
    pull_request: Option<RawPullRequest>,
    repository: Option<RawRepository>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawPullRequest {
    number: Option<u64>,
    title: Option<String>,
    html_url: Option<String>,
    merged: Option<bool>,
    head: Option<RawPrRef>,
    base: Option<RawPrRef>,
    user: Option<RawUser>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawPrRef {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    sha: Option<String>,
    repo: Option<RawRepository>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawPing {
    zen: Option<String>,
    hook_id: Option<u64>,
    repository: Option<RawRepository>,
}

fn repository(raw: Option<RawRepository>) -> Result<Repository, WebhookError> {
    let raw = raw.ok_or(WebhookError::MissingField {
        field: "repository",
    })?;
    Ok(Repository {
        full_name: required("repository.full_name", raw.full_name)?,
        clone_url: raw.clone_url,
        ssh_url: raw.ssh_url,
        html_url: raw.html_url,
        default_branch: raw.default_branch,
    })
}

fn user_name(user: Option<RawUser>) -> Option<String> {
    user.and_then(|u| u.login.or(u.username).or(u.name))
        .filter(|s| !s.is_empty())
}

fn commit(raw: RawCommit) -> Commit {
    let author = raw.author.unwrap_or_default();
    Commit {
        id: raw.id.unwrap_or_default(),
        message: raw.message.unwrap_or_default(),
        author: Person {
            name: author.name.unwrap_or_default(),
            email: author.email.unwrap_or_default(),
            username: author.username,
        },
        timestamp: raw.timestamp,
        url: raw.url,
        added: raw.added.unwrap_or_default(),
        modified: raw.modified.unwrap_or_default(),
        removed: raw.removed.unwrap_or_default(),
    }
}

pub(super) fn push(raw: RawPush) -> Result<PushEvent, WebhookError> {
    let git_ref = ref_name("ref", raw.git_ref)?;
    let after = object_id("after", raw.after)?;
    let before = match raw.before.filter(|b| !b.is_empty()) {
        None => "0".repeat(after.len()),
        Some(b) if is_object_id(&b) => b.to_ascii_lowercase(),
        Some(_) => {
            return Err(WebhookError::InvalidField {
                field: "before",
                reason: "expected a 40 or 64 digit hexadecimal commit id".to_string(),
            });
        }
    };
    let commits: Vec<Commit> = raw
        .commits
        .unwrap_or_default()
        .into_iter()
        .map(commit)
        .collect();
    let commits_truncated = raw
        .total_commits
        .is_some_and(|total| total > commits.len() as u64);
    Ok(PushEvent {
        repository: repository(raw.repository)?,
        target: RefTarget::parse(&git_ref),
        git_ref,
        created: raw.created.unwrap_or(false) || is_zero_id(&before),
        deleted: raw.deleted.unwrap_or(false) || is_zero_id(&after),
        forced: raw.forced.unwrap_or(false),
        before,
        after,
        commits,
        commits_truncated,
        pusher: user_name(raw.pusher),
        compare_url: raw.compare.or(raw.compare_url).filter(|s| !s.is_empty()),
    })
}

/// `action_of(action, merged)` maps the dialect's action names.
pub(super) fn pull_request(
    raw: RawPullRequestEvent,
    action_of: fn(&str, bool) -> PullRequestAction,
) -> Result<PullRequestEvent, WebhookError> {
    let repository = repository(raw.repository)?;
    let pr = raw.pull_request.ok_or(WebhookError::MissingField {
        field: "pull_request",
    })?;
    let number = raw.number.or(pr.number).ok_or(WebhookError::MissingField {
        field: "pull_request.number",
    })?;
    let head = pr.head.ok_or(WebhookError::MissingField {
        field: "pull_request.head",
    })?;
    let base = pr.base.ok_or(WebhookError::MissingField {
        field: "pull_request.base",
    })?;
    let head_repo = head.repo.and_then(|r| {
        r.full_name
            .filter(|n| n != &repository.full_name)
            .map(|_| r.clone_url)
    });
    let action = raw.action.unwrap_or_default();
    Ok(PullRequestEvent {
        action: action_of(&action, pr.merged.unwrap_or(false)),
        number,
        title: pr.title.unwrap_or_default(),
        head_sha: object_id("pull_request.head.sha", head.sha)?,
        head_branch: ref_name("pull_request.head.ref", head.git_ref)?,
        head_clone_url: head_repo.flatten(),
        base_branch: ref_name("pull_request.base.ref", base.git_ref)?,
        base_sha: base.sha.filter(|s| is_object_id(s)),
        html_url: pr.html_url,
        author: user_name(pr.user),
        repository,
    })
}

pub(super) fn ping(raw: RawPing) -> PingEvent {
    PingEvent {
        // An organization hook's ping has no repository; a repository without a name is
        // as good as none.
        repository: raw.repository.and_then(|r| repository(Some(r)).ok()),
        zen: raw.zen,
        hook_id: raw.hook_id,
    }
}
