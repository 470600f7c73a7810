//! The agent protocol's wire types: what `gantry agent` and the server's `/api/v1/agent`
//! endpoints exchange (JSON). Both sides use these types, so they cannot drift apart;
//! docs/agents.md describes the rules around them.

use gantry_pipeline::Plan;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Bumped when a change would make an older agent misbehave; the server refuses agents
/// speaking another version at registration, with a message saying which to run.
pub const PROTOCOL: u32 = 1;

/// Endpoint paths under the server's base URL.
pub mod paths {
    pub const REGISTER: &str = "/api/v1/agent/register";
    pub const POLL: &str = "/api/v1/agent/poll";
    /// `{job}` is replaced with the job id.
    pub const LOGS: &str = "/api/v1/agent/jobs/{job}/logs";
    pub const SOURCE: &str = "/api/v1/agent/jobs/{job}/source";
    pub const NEEDS_ARTIFACTS: &str = "/api/v1/agent/jobs/{job}/needs-artifacts";
    pub const ARTIFACTS: &str = "/api/v1/agent/jobs/{job}/artifacts";
    pub const FINISH: &str = "/api/v1/agent/jobs/{job}/finish";
    /// `POST` a [`super::CacheQuery`] → a tar, or 204 when there is no such entry.
    pub const CACHE_RESTORE: &str = "/api/v1/agent/jobs/{job}/cache/restore";
    /// `PUT ?fencing_token=&key=` with a tar: a new cache entry.
    pub const CACHE: &str = "/api/v1/agent/jobs/{job}/cache";
    /// The response header naming the cache key a restore found (percent-encoded).
    pub const CACHE_KEY_HEADER: &str = "gantry-cache-key";

    /// `path` with `{job}` filled in.
    pub fn job(path: &str, job: i64) -> String {
        path.replace("{job}", &job.to_string())
    }
}

/// `POST register`: who the agent is and what it offers. Sent at start and again after
/// the server forgot it (a 404 from poll).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Register {
    pub name: String,
    pub version: String,
    pub protocol: u32,
    pub labels: Vec<String>,
    /// Executors this machine can run (`host`, `sandbox`, `docker`).
    pub executors: Vec<String>,
    /// Jobs it runs at once.
    pub capacity: u32,
}

/// The server's answer to `register`: the timing rules the agent must follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    pub name: String,
    /// A job's lease: a job not renewed for this long is taken away from the agent.
    pub lease_ms: u64,
    /// How long one poll may wait; polling again at once keeps leases renewed.
    pub poll_wait_ms: u64,
}

/// A job the agent holds, with the fencing token it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub job_id: i64,
    pub fencing_token: i64,
}

/// `POST poll`: renews the leases of `held`, and waits (up to `wait_ms`, at most the
/// server's `poll_wait_ms`) until a job for this agent is ready or one of its jobs is
/// cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Poll {
    /// Free slots: how many new jobs the agent takes now (0 while draining or full).
    pub free: u32,
    pub draining: bool,
    pub held: Vec<Held>,
    pub wait_ms: u64,
}

/// The answer to `poll`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PollReply {
    /// New jobs, each now leased to this agent.
    pub jobs: Vec<Assignment>,
    /// Held jobs whose run is being cancelled: stop them and report them.
    pub cancel: Vec<i64>,
    /// Held jobs this agent no longer owns (lease expired, job re-queued or finished):
    /// stop them; any report about them is refused.
    pub lost: Vec<i64>,
}

/// Everything an agent needs to run one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub job_id: i64,
    pub run_id: i64,
    pub fencing_token: i64,
    /// 1 for the first attempt; more when an earlier owner lost the job.
    pub attempt: u32,
    /// The job's index in `plan.jobs`. `plan` is the part of the run's plan this job
    /// needs: the pipeline's settings, the jobs it needs (keys only, no steps), then it.
    pub index: usize,
    pub key: String,
    pub name: String,
    pub project: String,
    pub pipeline: String,
    pub run_number: i64,
    pub plan: Plan,
    pub git: Git,
    pub inputs: Map<String, Value>,
    /// The job's `needs` context (results and outputs of the jobs it needs).
    pub needs: Map<String, Value>,
    /// Lines already in the job's log (from earlier attempts): this assignment's first
    /// line is number `log_from` (0-based), and log chunks count from there.
    pub log_from: u64,
    /// Work directories earlier attempts used, so this one gets fresh ones.
    pub attempts_before: u32,
}

/// `POST cache/restore`: the cache entry a job asks for (exact `key`, else the newest
/// entry starting with one of `restore_keys`, tried in order), in its project's caches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheQuery {
    pub fencing_token: i64,
    pub key: String,
    #[serde(default)]
    pub restore_keys: Vec<String>,
}

/// The commit a run is for (`git` context).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Git {
    pub sha: String,
    pub branch: Option<String>,
    pub tag: Option<String>,
    pub event: String,
    pub message: String,
    pub author: String,
}

impl From<&Git> for gantry_engine::GitFacts {
    fn from(g: &Git) -> Self {
        gantry_engine::GitFacts {
            sha: g.sha.clone(),
            branch: g.branch.clone(),
            tag: g.tag.clone(),
            event: g.event.clone(),
            message: g.message.clone(),
            author: g.author.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineStream {
    Out,
    Err,
    Sys,
}

/// One log line, masked and timestamped by the agent's engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub ts_ms: u64,
    pub stream: LineStream,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    pub text: String,
}

impl From<gantry_engine::log::LogLine> for Line {
    fn from(l: gantry_engine::log::LogLine) -> Self {
        use gantry_engine::log::Stream;
        Line {
            ts_ms: l.ts_ms,
            stream: match l.stream {
                Stream::Stdout => LineStream::Out,
                Stream::Stderr => LineStream::Err,
                Stream::System => LineStream::Sys,
            },
            step: l.step,
            text: l.text,
        }
    }
}

/// `POST jobs/{id}/logs`: lines `from`, `from + 1`, … of the job's log. The server
/// stores the ones it does not have yet and answers how many it has; a chunk that starts
/// past that is not stored (the agent resends from `acked`). Resending is therefore
/// always safe: nothing is stored twice and nothing is skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogChunk {
    pub fencing_token: i64,
    pub from: u64,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogAck {
    /// Lines the server has stored (the next line it expects is number `acked`).
    pub acked: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Conclusion {
    Success,
    Failure,
    Cancelled,
    Skipped,
}

impl From<gantry_engine::JobResult> for Conclusion {
    fn from(r: gantry_engine::JobResult) -> Self {
        use gantry_engine::JobResult as R;
        match r {
            R::Success => Conclusion::Success,
            R::Failure => Conclusion::Failure,
            R::Cancelled => Conclusion::Cancelled,
            R::Skipped => Conclusion::Skipped,
        }
    }
}

impl From<gantry_engine::StepResult> for Conclusion {
    fn from(r: gantry_engine::StepResult) -> Self {
        use gantry_engine::StepResult as R;
        match r {
            R::Success => Conclusion::Success,
            R::Failure => Conclusion::Failure,
            R::Cancelled => Conclusion::Cancelled,
            R::Skipped => Conclusion::Skipped,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepOutcome {
    pub index: usize,
    pub name: String,
    pub result: Conclusion,
    pub outcome: Conclusion,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
}

/// How the job ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub result: Conclusion,
    pub reason: Option<String>,
    pub outputs: IndexMap<String, String>,
    pub steps: Vec<StepOutcome>,
}

impl Outcome {
    pub fn from_report(report: &gantry_engine::JobReport) -> Self {
        Outcome {
            result: report.result.into(),
            reason: report.reason.clone(),
            outputs: report.outputs.clone(),
            steps: report
                .steps
                .iter()
                .map(|s| StepOutcome {
                    index: s.index,
                    name: s.name.clone(),
                    result: s.result.into(),
                    outcome: s.outcome.into(),
                    exit_code: s.exit_code,
                    duration_ms: s.duration_ms,
                })
                .collect(),
        }
    }

    /// An outcome for a job that did not run its steps.
    pub fn not_run(result: Conclusion, reason: impl Into<String>) -> Self {
        Outcome {
            result,
            reason: Some(reason.into()),
            outputs: IndexMap::new(),
            steps: Vec::new(),
        }
    }
}

/// `POST jobs/{id}/finish`: the job's outcome, once every one of its `log_lines` lines
/// (counted from 0, so including earlier attempts' lines) was acknowledged. The server
/// refuses it (409 `log_incomplete`) while lines are missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finish {
    pub fencing_token: i64,
    pub log_lines: u64,
    pub outcome: Outcome,
}

/// The error body every endpoint answers failures with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// Error codes the agent acts on.
pub mod codes {
    /// The fencing token is not the job's current one: the agent lost the job.
    pub const STALE: &str = "stale_fencing_token";
    /// `finish` before every log line was acknowledged.
    pub const LOG_INCOMPLETE: &str = "log_incomplete";
    /// The agent is not registered (the server's registry was reset): register again.
    pub const UNKNOWN_AGENT: &str = "unknown_agent";
}
