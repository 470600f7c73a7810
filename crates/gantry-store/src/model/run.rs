//! Runs: what `enqueue_run` takes, what the reads return, and what cancelling reports.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

use gantry_pipeline::Plan;

use crate::types::{JobId, RunId, RunStatus, Trigger};

/// What a run knows about its commit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GitFacts {
    pub sha: String,
    pub branch: Option<String>,
    pub tag: Option<String>,
    /// The commit message's first line.
    pub message: String,
    pub author: String,
}

/// A run's concurrency group, with its template already rendered (`ci-main`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConcurrencyGroup {
    pub group: String,
    /// Cancel older unfinished runs of the group when this one is enqueued; without it,
    /// this run waits (held) until they finish.
    pub cancel_in_progress: bool,
}

/// A run to enqueue.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub project: String,
    /// The pipeline's name (`Plan::name`).
    pub pipeline: String,
    pub trigger: Trigger,
    pub git: GitFacts,
    /// Resolved `manual` inputs (empty for other triggers).
    pub inputs: Map<String, Value>,
    pub plan: Plan,
    pub concurrency: Option<ConcurrencyGroup>,
    /// Who asked for it (a user or token name), if anyone.
    pub actor: Option<String>,
}

/// A stored run (without its plan: see `Store::get_plan`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub id: RunId,
    pub project: String,
    pub pipeline: String,
    /// 1, 2, 3, … per project + pipeline.
    pub number: i64,
    pub status: RunStatus,
    pub trigger: Trigger,
    pub git: GitFacts,
    pub inputs: Map<String, Value>,
    pub concurrency_group: Option<String>,
    pub cancel_in_progress: bool,
    /// Waiting behind an older unfinished run of its concurrency group.
    pub held: bool,
    /// `cancel_run` was called (or a newer run superseded it); running jobs are stopping.
    pub cancel_requested: bool,
    /// Why it was cancelled or held, in one sentence.
    pub reason: Option<String>,
    /// The run this one reruns.
    pub rerun_of: Option<RunId>,
    pub actor: Option<String>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

/// Which runs `list_runs` returns: newest first, `limit` of them (0 means 50; at most
/// 1000), older than `before_id` when given (the previous page's last id).
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub project: Option<String>,
    pub pipeline: Option<String>,
    pub status: Option<RunStatus>,
    pub limit: u32,
    pub before_id: Option<RunId>,
}

/// A job that was running when its run was cancelled: the caller must stop it (and then
/// report it with `finish_job`, result cancelled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunningJob {
    pub job_id: JobId,
    pub key: String,
    pub owner: Option<String>,
    pub fencing_token: i64,
}

/// What cancelling a run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CancelledRun {
    pub run_id: RunId,
    pub number: i64,
    /// The run's status afterwards: `cancelled` at once when nothing was running, else
    /// still `running` until the running jobs are reported; unchanged if it had finished.
    pub status: RunStatus,
    /// Waiting and queued jobs that were cancelled.
    pub cancelled_jobs: Vec<JobId>,
    pub running_jobs: Vec<RunningJob>,
}

/// What `enqueue_run` and `rerun` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enqueued {
    pub run_id: RunId,
    pub number: i64,
    /// Held behind an older run of its concurrency group.
    pub held: bool,
    /// Older runs of the group cancelled by this one (`cancel_in_progress`).
    pub superseded: Vec<CancelledRun>,
}
