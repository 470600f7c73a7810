//! Deployments the server runs: what was asked (service, environment, version, who and
//! what triggered it, the commit range it brings), where each host is, the progress
//! lines, and gantry-deploy's record once it ends.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::types::{DeployState, DeploymentId, RunId};

/// A commit a deployment brings (the changelog since the previous deployment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChangelogEntry {
    pub sha: String,
    pub author: String,
    pub subject: String,
}

/// A stored deployment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deployment {
    pub id: DeploymentId,
    pub service: String,
    pub environment: String,
    pub version: String,
    /// `deploy` or `rollback`.
    pub kind: String,
    pub state: DeployState,
    /// `api`, `ui`, `pipeline`, `auto`.
    pub trigger: String,
    pub triggered_by: String,
    /// The project that builds the service, when it names one.
    pub project: Option<String>,
    /// The run that deployed it (pipeline deploy jobs and automatic deploys).
    pub run_id: Option<RunId>,
    /// The commit the version was built from, when known.
    pub commit_sha: Option<String>,
    /// What the environment ran before (from the last deployment that succeeded).
    pub previous_version: Option<String>,
    pub previous_commit: Option<String>,
    /// Commits in `previous_commit..commit_sha`, newest first.
    pub changelog: Vec<ChangelogEntry>,
    /// Per host: `{ phase, at }`, its latest progress.
    pub hosts: Value,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// gantry-deploy's `DeploymentReport` (or `{ error }`), once finished.
    pub report: Option<Value>,
}

/// A deployment to record as started.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDeployment {
    pub service: String,
    pub environment: String,
    pub version: String,
    /// `deploy` or `rollback`.
    pub kind: String,
    pub trigger: String,
    pub triggered_by: String,
    pub project: Option<String>,
    pub run_id: Option<RunId>,
    pub commit_sha: Option<String>,
    pub previous_version: Option<String>,
    pub previous_commit: Option<String>,
    pub changelog: Vec<ChangelogEntry>,
    /// The environment's hosts, in order (each starts as `waiting`).
    pub hosts: Vec<String>,
}

/// One progress line of a deployment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeploymentLine {
    pub seq: u64,
    pub at: Timestamp,
    /// The host the line is about, when it names one.
    pub host: Option<String>,
    pub line: String,
}

/// How a deployment ended.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedDeployment {
    /// `Succeeded`, `Failed` or `RolledBack`.
    pub state: DeployState,
    /// gantry-deploy's record, or `{ error }` when it could not start.
    pub report: Value,
}

/// Which deployments to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeploymentFilter {
    pub service: Option<String>,
    pub environment: Option<String>,
    pub state: Option<DeployState>,
    /// Newest first, at most this many (1..=500; 0 means 50).
    pub limit: u32,
}
