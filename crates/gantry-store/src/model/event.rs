//! The event log's records: what happened, when, to what, by whom. The audit log, the
//! activity feed, incident timelines and DORA metrics are views of these.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::types::{EventId, JobId, RunId};

/// The kinds the store itself appends; other parts of Gantry append their own
/// (`deploy.…`, `infra.…`, `incident.…`) with `Store::append_event`.
pub mod kinds {
    /// A run was enqueued (data: number, pipeline, trigger, sha, branch, tag, jobs,
    /// held, rerun_of).
    pub const RUN_QUEUED: &str = "run.queued";
    /// A run's first job was claimed.
    pub const RUN_STARTED: &str = "run.started";
    /// `cancel_run` was called or a newer run superseded it (data: reason).
    pub const RUN_CANCEL_REQUESTED: &str = "run.cancel_requested";
    /// A held run's turn came in its concurrency group.
    pub const RUN_RELEASED: &str = "run.released";
    /// A run reached its final status (data: status, number, duration_ms).
    pub const RUN_FINISHED: &str = "run.finished";
    /// A job became claimable (data: key, attempt).
    pub const JOB_QUEUED: &str = "job.queued";
    /// A job was claimed (data: key, attempt, owner, fencing_token).
    pub const JOB_STARTED: &str = "job.started";
    /// A lost job was queued again (data: key, attempt, reason).
    pub const JOB_REQUEUED: &str = "job.requeued";
    /// A job ended (data: key, result, reason, attempt, duration_ms).
    pub const JOB_FINISHED: &str = "job.finished";
    /// A waiting or queued job was cancelled before it ran (data: key, reason).
    pub const JOB_CANCELLED: &str = "job.cancelled";
    /// A step's result was recorded (data: key, index, name, result, outcome,
    /// exit_code, duration_ms).
    pub const STEP_FINISHED: &str = "step.finished";
    /// A forge webhook delivery was accepted (data: forge, delivery_id, event).
    pub const TRIGGER_WEBHOOK: &str = "trigger.webhook";
    /// An API token was created or revoked (data: token_id, name, role).
    pub const TOKEN_CREATED: &str = "token.created";
    pub const TOKEN_REVOKED: &str = "token.revoked";
    /// A user was created, changed password or was deleted (data: username, role).
    pub const USER_CREATED: &str = "user.created";
    pub const USER_PASSWORD_CHANGED: &str = "user.password_changed";
    pub const USER_DELETED: &str = "user.deleted";
    /// A browser session began or ended (data: username).
    pub const SESSION_CREATED: &str = "session.created";
    pub const SESSION_DELETED: &str = "session.deleted";
    /// An agent registered or re-registered (data: name, version, labels, executors,
    /// capacity, token_id). Heartbeats append nothing.
    pub const AGENT_REGISTERED: &str = "agent.registered";
    /// A host's check found drift where the last one did not (or there was none)
    /// (data: host, from, changes, changed: the resource ids that would change).
    pub const INFRA_DRIFT_DETECTED: &str = "infra.drift_detected";
    /// A host's check state changed otherwise (data: host, from, to, changes). Checks
    /// that find the same state as the last one append nothing.
    pub const INFRA_HOST_STATE_CHANGED: &str = "infra.host_state_changed";
    /// A plan was saved (data: plan_id, hosts, hosts_pattern, changes).
    pub const INFRA_PLANNED: &str = "infra.planned";
    /// An apply of a saved plan was requested (data: apply_id, plan_id, requested_by,
    /// hosts, to_change: per host the resource ids).
    pub const INFRA_APPLY_REQUESTED: &str = "infra.apply_requested";
    /// Someone other than the requester approved it (data: apply_id, plan_id,
    /// requested_by, approved_by).
    pub const INFRA_APPLY_APPROVED: &str = "infra.apply_approved";
    /// The apply finished (data: apply_id, plan_id, state, requested_by, approved_by,
    /// hosts: per host status, error, changed, failed, not_applied; summary).
    pub const INFRA_APPLIED: &str = "infra.applied";
    /// The server began a deployment (data: deployment_id, service, environment,
    /// version, kind, trigger, triggered_by, run_id, commit, previous_version,
    /// previous_commit, changelog: the commits it brings, hosts).
    pub const DEPLOY_STARTED: &str = "deploy.started";
    /// A host of a deployment moved on (data: deployment_id, service, environment,
    /// version, host, phase).
    pub const DEPLOY_HOST_PROGRESS: &str = "deploy.host_progress";
    /// Someone approved a release for a protected environment (data: service,
    /// environment, version, approved_by, approvals).
    pub const DEPLOY_APPROVED: &str = "deploy.approved";
    /// A deployment ended (data: deployment_id, service, environment, version, kind,
    /// outcome, error, duration_ms, triggered_by, trigger, commit, previous_version,
    /// hosts: per host switched, rolled_back, error).
    pub const DEPLOY_FINISHED: &str = "deploy.finished";
    /// Someone asked to cancel a deployment (data: deployment_id, service, environment,
    /// version, state); it stops only if no host changed yet.
    pub const DEPLOY_CANCEL_REQUESTED: &str = "deploy.cancel_requested";
    /// An `auto_deploy` the server could not start (data: service, environment, branch,
    /// reason), appended by the server.
    pub const DEPLOY_AUTO_REFUSED: &str = "deploy.auto_refused";
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub id: EventId,
    pub at: Timestamp,
    pub kind: String,
    pub project: Option<String>,
    pub run_id: Option<RunId>,
    pub job_id: Option<JobId>,
    pub actor: Option<String>,
    pub data: Value,
}

/// An event to append. Never put a secret in `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: String,
    pub project: Option<String>,
    pub run_id: Option<RunId>,
    pub job_id: Option<JobId>,
    pub actor: Option<String>,
    pub data: Value,
}

impl NewEvent {
    pub fn new(kind: impl Into<String>) -> Self {
        NewEvent {
            kind: kind.into(),
            project: None,
            run_id: None,
            job_id: None,
            actor: None,
            data: Value::Object(Default::default()),
        }
    }

    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    pub fn run(mut self, run_id: RunId) -> Self {
        self.run_id = Some(run_id);
        self
    }

    pub fn job(mut self, job_id: JobId) -> Self {
        self.job_id = Some(job_id);
        self
    }

    pub fn actor(mut self, actor: Option<impl Into<String>>) -> Self {
        self.actor = actor.map(Into::into);
        self
    }

    pub fn data(mut self, data: Value) -> Self {
        self.data = data;
        self
    }
}

/// Which events `Store::events` returns. Oldest first by default (timelines, feeds that
/// poll with `after_id`); `newest_first` for "latest activity". `limit` 0 means 100; at
/// most 1000.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub project: Option<String>,
    pub run_id: Option<RunId>,
    pub job_id: Option<JobId>,
    /// `"run."` matches every run event; a full kind matches just that kind.
    pub kind_prefix: Option<String>,
    pub after_id: Option<EventId>,
    pub before_id: Option<EventId>,
    pub limit: u32,
    pub newest_first: bool,
}

/// A forge webhook delivery, recorded once per `(forge, delivery_id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// `github`, `gitlab`, `gitea`, …
    pub forge: String,
    /// The forge's delivery id (`X-GitHub-Delivery`, …).
    pub delivery_id: String,
    /// The forge's event name (`push`, `pull_request`, …).
    pub event: String,
    pub project: Option<String>,
}
