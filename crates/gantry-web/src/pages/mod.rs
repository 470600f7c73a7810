//! One module per page: its view data (public), the template struct that reads it, and
//! the function that renders it. Rows shared by several pages live here.

pub mod agents;
pub mod dashboard;
pub mod deploy;
pub mod error;
pub mod events;
pub mod infra;
pub mod login;
pub mod project;
pub mod run;

use jiff::Timestamp;

use gantry_store::Run;

use crate::format::{self, TimeView};
use crate::status::StatusView;
use crate::urls;

/// A run as a table row (dashboard, project page).
#[derive(Debug)]
pub(crate) struct RunRow {
    pub url: String,
    pub project: String,
    pub project_url: String,
    pub pipeline: String,
    pub number: i64,
    pub status: StatusView,
    pub trigger: &'static str,
    /// `main`, or `v1.2` for a tag; empty when the run has neither.
    pub git_ref: String,
    pub is_tag: bool,
    pub sha: String,
    pub message: String,
    pub actor: String,
    /// Started, or created while queued.
    pub when: TimeView,
    pub duration: Duration,
}

/// A run's or job's duration as shown, plus what app.js needs to keep a running one
/// ticking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Duration {
    pub text: String,
    /// RFC 3339 start time while still running, for the live counter.
    pub since: Option<String>,
}

impl Duration {
    pub fn of(
        started: Option<Timestamp>,
        finished: Option<Timestamp>,
        running: bool,
        now: Timestamp,
    ) -> Self {
        match (started, finished) {
            (Some(s), Some(f)) => Duration {
                text: format::between(s, f),
                since: None,
            },
            (Some(s), None) if running => Duration {
                text: format::between(s, now),
                since: Some(s.to_string()),
            },
            _ => Duration {
                text: "—".into(),
                since: None,
            },
        }
    }
}

impl RunRow {
    pub fn new(run: &Run, now: Timestamp) -> Self {
        let (git_ref, is_tag) = match (&run.git.tag, &run.git.branch) {
            (Some(tag), _) => (tag.clone(), true),
            (None, Some(branch)) => (branch.clone(), false),
            (None, None) => (String::new(), false),
        };
        RunRow {
            url: urls::run(run.id),
            project: run.project.clone(),
            project_url: urls::project(&run.project),
            pipeline: run.pipeline.clone(),
            number: run.number,
            status: run.status.into(),
            trigger: trigger_label(run.trigger),
            git_ref,
            is_tag,
            sha: format::short_sha(&run.git.sha).to_string(),
            message: format::first_line(&run.git.message).to_string(),
            actor: run.actor.clone().unwrap_or_else(|| run.git.author.clone()),
            when: TimeView::new(run.started_at.unwrap_or(run.created_at), now),
            duration: Duration::of(
                run.started_at,
                run.finished_at,
                !run.status.is_finished(),
                now,
            ),
        }
    }
}

/// The trigger as a label ("pull request" reads better than `pull_request`).
pub(crate) fn trigger_label(t: gantry_store::Trigger) -> &'static str {
    use gantry_store::Trigger::*;
    match t {
        Push => "push",
        Tag => "tag",
        PullRequest => "pull request",
        Schedule => "schedule",
        Manual => "manual",
        Api => "api",
    }
}
