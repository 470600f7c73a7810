//! Jobs and steps: the rows, what a claimer gets, and what a finisher reports.

use indexmap::IndexMap;
use jiff::Timestamp;
use serde::Serialize;

use crate::types::{JobConclusion, JobId, JobStatus, RunId, RunStatus, StepStatus};

/// A stored job: one node of a run's DAG.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: JobId,
    pub run_id: RunId,
    /// Index into the run's `Plan::jobs`.
    pub index: usize,
    /// `PlannedJob::key`.
    pub key: String,
    /// The job's id in the pipeline file.
    pub job_id: String,
    pub name: String,
    /// Plan indices of the jobs this one waits for.
    pub needs: Vec<usize>,
    pub status: JobStatus,
    /// 1 for the first attempt; bumped when a lost job is queued again.
    pub attempt: u32,
    /// How many times a lost job may be queued again (`PlannedJob::retry`).
    pub max_retry: u32,
    pub continue_on_error: bool,
    /// Labels its claimer must all have (`PlannedJob::runs_on`: sorted, no duplicates);
    /// empty when any claimer that takes unlabeled jobs may run it.
    pub runs_on: Vec<String>,
    pub reason: Option<String>,
    pub outputs: IndexMap<String, String>,
    /// Who holds (or last held) the job: the server or an agent.
    pub owner: Option<String>,
    /// Bumped by every claim; reports carrying an older token are refused.
    pub fencing_token: i64,
    pub lease_expires_at: Option<Timestamp>,
    pub queued_at: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

/// A stored step result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub job_id: JobId,
    pub index: usize,
    pub name: String,
    /// What counts for the job (`continue_on_error` turns a failure into success).
    pub result: StepStatus,
    /// What happened.
    pub outcome: StepStatus,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
}

/// A step's result as reported with `finish_job`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRecord {
    pub index: usize,
    pub name: String,
    pub result: StepStatus,
    pub outcome: StepStatus,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
}

/// How a job ended, as reported with `finish_job`.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOutcome {
    pub result: JobConclusion,
    pub reason: Option<String>,
    pub outputs: IndexMap<String, String>,
    pub steps: Vec<StepRecord>,
}

impl JobOutcome {
    pub fn new(result: JobConclusion) -> Self {
        JobOutcome {
            result,
            reason: None,
            outputs: IndexMap::new(),
            steps: Vec::new(),
        }
    }
}

/// A job handed to a claimer. `index` finds its `PlannedJob` in the run's plan
/// (`Store::get_plan`); `fencing_token` must accompany every report about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimedJob {
    pub job_id: JobId,
    pub run_id: RunId,
    pub index: usize,
    pub key: String,
    pub name: String,
    pub attempt: u32,
    pub fencing_token: i64,
    pub lease_expires_at: Timestamp,
    pub project: String,
    pub pipeline: String,
    pub run_number: i64,
}

/// What finishing a job changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FinishedJob {
    pub run_id: RunId,
    /// Jobs that became queued because everything they need has finished.
    pub promoted: Vec<JobId>,
    /// The run's final status, when this was its last unfinished job.
    pub run_status: Option<RunStatus>,
}

/// The answer to a lease extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LeaseStatus {
    pub lease_expires_at: Timestamp,
    /// The run is being cancelled: the holder should stop the job and report it cancelled.
    pub cancel_requested: bool,
}

/// What recovering lost jobs did (after a restart, or for expired leases).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Recovery {
    /// Queued again with the next attempt.
    pub requeued: Vec<JobId>,
    /// Out of attempts: failed.
    pub failed: Vec<JobId>,
    /// Their run was being cancelled: cancelled.
    pub cancelled: Vec<JobId>,
    /// Runs that reached their final status.
    pub settled_runs: Vec<(RunId, RunStatus)>,
}
