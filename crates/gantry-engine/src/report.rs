//! The result of a run as data: what `gantry run --json` prints and what the server
//! stores. Every field is already masked (it is built from masked log lines and
//! non-secret facts only).

use indexmap::IndexMap;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Success,
    Failure,
    Cancelled,
}

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobResult {
    Success,
    Failure,
    Cancelled,
    /// Not run: its `if` was false, or a job it needs did not succeed.
    Skipped,
}

impl JobResult {
    pub fn as_str(self) -> &'static str {
        match self {
            JobResult::Success => "success",
            JobResult::Failure => "failure",
            JobResult::Cancelled => "cancelled",
            JobResult::Skipped => "skipped",
        }
    }
}

/// How a step ended. `outcome` is what happened; `result` is what counts for the job
/// (a failed step with `continue_on_error` has outcome failure, result success).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepResult {
    Success,
    Failure,
    Cancelled,
    Skipped,
}

impl StepResult {
    pub fn as_str(self) -> &'static str {
        match self {
            StepResult::Success => "success",
            StepResult::Failure => "failure",
            StepResult::Cancelled => "cancelled",
            StepResult::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub pipeline: String,
    pub run_id: String,
    pub status: RunStatus,
    pub duration_ms: u64,
    pub jobs: Vec<JobReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobReport {
    /// `PlannedJob::key`.
    pub key: String,
    /// The job's id in the pipeline file.
    pub id: String,
    pub name: String,
    pub matrix: IndexMap<String, serde_json::Value>,
    pub result: JobResult,
    pub executor: &'static str,
    /// Attempts made (1 + retries used); 0 when skipped.
    pub attempts: u32,
    pub duration_ms: u64,
    pub outputs: IndexMap<String, String>,
    /// Why the job failed, was skipped or cancelled, in one sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub steps: Vec<StepReport>,
    /// Artifact files saved by the job (paths relative to the work directory).
    pub artifacts: Vec<String>,
    /// The cache key restored (exactly or by prefix), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_hit: Option<String>,
}

impl JobReport {
    /// A report for a job that did not run (`key` doubles as its id and name).
    pub fn not_run(key: String, result: JobResult, reason: String) -> JobReport {
        JobReport {
            id: key.clone(),
            name: key.clone(),
            key,
            matrix: IndexMap::new(),
            result,
            executor: "none",
            attempts: 0,
            duration_ms: 0,
            outputs: IndexMap::new(),
            reason: Some(reason),
            steps: Vec::new(),
            artifacts: Vec::new(),
            cache_hit: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    pub result: StepResult,
    pub outcome: StepResult,
    /// `None` when the step did not run or was killed by a signal.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub attempts: u32,
    pub duration_ms: u64,
    pub outputs: IndexMap<String, String>,
}
