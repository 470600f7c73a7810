//! The normalized webhook event: one shape for every forge, and its mapping to the
//! pipeline language's `TriggerEvent`.

use crate::forge::Forge;
use crate::refs::RefTarget;
use gantry_pipeline::TriggerEvent;
use serde::{Deserialize, Serialize};

/// One parsed delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    pub forge: Forge,
    /// The forge's delivery id, or `sha256:<hex of the body>` when it sent none; the
    /// server drops a delivery whose id it has already seen.
    pub delivery_id: String,
    /// The event kind exactly as the forge named it (`push`, `Merge Request Hook`, …).
    pub kind: String,
    pub payload: Payload,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    Push(PushEvent),
    PullRequest(PullRequestEvent),
    Ping(PingEvent),
    /// An event kind Gantry does not act on (issues, stars, …). Not an error: the forge
    /// should get a 2xx so it does not retry or disable the hook.
    Ignored,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Repository {
    /// `owner/name`, or `group/subgroup/name` on GitLab.
    pub full_name: String,
    pub clone_url: Option<String>,
    pub ssh_url: Option<String>,
    pub html_url: Option<String>,
    pub default_branch: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub email: String,
    pub username: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Commit {
    pub id: String,
    pub message: String,
    pub author: Person,
    pub timestamp: Option<String>,
    pub url: Option<String>,
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub removed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushEvent {
    pub repository: Repository,
    /// The full ref, `refs/heads/main` or `refs/tags/v1`.
    pub git_ref: String,
    pub target: RefTarget,
    /// The ref's previous commit; all zeros for a new ref.
    pub before: String,
    /// The ref's new commit; all zeros for a deleted ref.
    pub after: String,
    pub created: bool,
    pub deleted: bool,
    pub forced: bool,
    pub commits: Vec<Commit>,
    /// The forge listed fewer commits than the push contained (GitLab sends at most 20),
    /// so the file lists are incomplete.
    pub commits_truncated: bool,
    pub pusher: Option<String>,
    pub compare_url: Option<String>,
}

impl PushEvent {
    /// The union of the files the pushed commits added, modified or removed, sorted.
    /// `None` when that is unknown — a deletion, a tag, a push whose commits the forge did
    /// not list (new branch at an existing commit, force push) or listed only in part —
    /// so path filters then match rather than silently skip a run.
    pub fn changed_files(&self) -> Option<Vec<String>> {
        if self.deleted
            || self.commits.is_empty()
            || self.commits_truncated
            || self.target.tag().is_some()
        {
            return None;
        }
        let mut files: Vec<String> = self
            .commits
            .iter()
            .flat_map(|c| c.added.iter().chain(&c.modified).chain(&c.removed))
            .cloned()
            .collect();
        files.sort();
        files.dedup();
        Some(files)
    }

    /// The commit the ref now points at, when the forge listed it.
    pub fn head_commit(&self) -> Option<&Commit> {
        self.commits
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(&self.after))
    }
}

/// What happened to a pull request (GitLab: merge request), across forges' spellings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullRequestAction {
    Opened,
    Reopened,
    /// New commits were pushed to the head branch.
    Synchronized,
    Edited,
    Closed,
    Merged,
    /// Any other action (labels, reviews, assignment), with the forge's name for it.
    Other(String),
}

impl PullRequestAction {
    /// Whether the action brings new code to build.
    pub fn builds(&self) -> bool {
        matches!(
            self,
            PullRequestAction::Opened
                | PullRequestAction::Reopened
                | PullRequestAction::Synchronized
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequestEvent {
    pub repository: Repository,
    pub action: PullRequestAction,
    /// The number shown in the forge's UI (GitLab's `iid`).
    pub number: u64,
    pub title: String,
    pub head_sha: String,
    pub head_branch: String,
    /// Where the head branch lives when it differs from `repository` (a fork).
    pub head_clone_url: Option<String>,
    pub base_branch: String,
    pub base_sha: Option<String>,
    pub html_url: Option<String>,
    pub author: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PingEvent {
    /// Absent for organization-wide hooks.
    pub repository: Option<Repository>,
    pub zen: Option<String>,
    pub hook_id: Option<u64>,
}

impl WebhookEvent {
    /// The event as pipeline triggers see it; `None` when it starts no run: a deleted
    /// branch or tag, a ref that is neither, a pull request action that brings no new
    /// code, a ping, an ignored kind.
    pub fn trigger_event(&self) -> Option<TriggerEvent> {
        match &self.payload {
            Payload::Push(push) => {
                if push.deleted {
                    return None;
                }
                match &push.target {
                    RefTarget::Branch(branch) => Some(TriggerEvent::Push {
                        branch: Some(branch.clone()),
                        tag: None,
                        changed_files: push.changed_files(),
                    }),
                    RefTarget::Tag(tag) => Some(TriggerEvent::Push {
                        branch: None,
                        tag: Some(tag.clone()),
                        changed_files: None,
                    }),
                    RefTarget::Other(_) => None,
                }
            }
            Payload::PullRequest(pr) if pr.action.builds() => Some(TriggerEvent::PullRequest {
                base_branch: pr.base_branch.clone(),
                changed_files: None,
            }),
            Payload::PullRequest(_) | Payload::Ping(_) | Payload::Ignored => None,
        }
    }

    /// The repository the event is about, to find the project it belongs to.
    pub fn repository(&self) -> Option<&Repository> {
        match &self.payload {
            Payload::Push(p) => Some(&p.repository),
            Payload::PullRequest(p) => Some(&p.repository),
            Payload::Ping(p) => p.repository.as_ref(),
            Payload::Ignored => None,
        }
    }

    /// The commit a run for this event builds.
    pub fn head_sha(&self) -> Option<&str> {
        match &self.payload {
            Payload::Push(p) if !p.deleted => Some(&p.after),
            Payload::PullRequest(p) => Some(&p.head_sha),
            _ => None,
        }
    }
}
