//! The plan: a validated pipeline with its matrix expanded into concrete jobs, in
//! dependency order. This is the contract between the compiler and everything that runs
//! pipelines (`gantry run`, the server's queue, agents), so it is plain serializable data:
//! expression-bearing fields keep their source text and are evaluated at run time.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::trigger::Triggers;

/// A compiled pipeline, ready to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// `name:` or, without it, the file stem.
    pub name: String,
    /// The file the plan was compiled from, as the user named it.
    pub file: String,
    pub on: Triggers,
    /// Pipeline-level `env` (values are templates).
    pub env: IndexMap<String, String>,
    pub concurrency: Option<Concurrency>,
    /// Concrete jobs (one per matrix cell) in a topological order: every job comes after
    /// all the jobs it needs.
    pub jobs: Vec<PlannedJob>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Concurrency {
    /// A template, e.g. `ci-${{ git.branch }}`.
    pub group: String,
    pub cancel_in_progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorKind {
    #[default]
    Host,
    Sandbox,
    Docker,
}

impl ExecutorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutorKind::Host => "host",
            ExecutorKind::Sandbox => "sandbox",
            ExecutorKind::Docker => "docker",
        }
    }
}

/// One node of the run's DAG: a job, or one matrix cell of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedJob {
    /// Unique within the plan: the job id, plus the matrix values for a matrix cell,
    /// e.g. `test (stable, linux)`.
    pub key: String,
    /// The job's id in the file (`test`).
    pub job_id: String,
    /// Display name: the job's `name:` (or id) plus the matrix suffix.
    pub name: String,
    /// This cell's matrix values (empty without a matrix).
    pub matrix: IndexMap<String, serde_json::Value>,
    /// Job ids this job needs (every matrix cell of each).
    pub needs: Vec<String>,
    /// Indices into `Plan::jobs` of the cells this job waits for (derived from `needs`).
    pub needs_index: Vec<usize>,
    /// `if:` expression source (without a status function it implies `success() && …`).
    pub condition: Option<String>,
    pub executor: ExecutorKind,
    /// `network: true` lets a sandboxed job reach the network.
    pub network: bool,
    /// Docker image (template), for `executor: docker`.
    pub image: Option<String>,
    pub services: IndexMap<String, ServiceSpec>,
    #[serde(with = "opt_duration_ms")]
    pub timeout: Option<Duration>,
    /// Extra attempts after a failure (0 = run once).
    pub retry: u32,
    pub continue_on_error: bool,
    /// Job `env` (templates), layered over the pipeline's.
    pub env: IndexMap<String, String>,
    pub cache: Vec<CacheSpec>,
    /// Paths or globs, relative to the work directory, saved after the job succeeds and
    /// restored into every job that needs this one.
    pub artifacts: Vec<String>,
    /// Job outputs (templates over `steps.<id>.outputs`).
    pub outputs: IndexMap<String, String>,
    pub steps: Vec<PlannedStep>,
    pub deploy: Option<DeploySpec>,
    /// `runs_on`: labels an agent must all have to run this job, sorted and without
    /// duplicates. Empty: the workspace decides (the server's own pool or any agent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs_on: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub image: String,
    pub env: IndexMap<String, String>,
    /// Optional command overriding the image's default.
    pub command: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheSpec {
    /// Template, e.g. `cargo-${{ hash_files('Cargo.lock') }}`.
    pub key: String,
    /// Paths relative to the work directory.
    pub paths: Vec<String>,
    /// Prefixes tried in order when the exact key is missing.
    pub restore_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploySpec {
    pub service: String,
    pub environment: String,
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedStep {
    /// Position in the job, from 0.
    pub index: usize,
    pub id: Option<String>,
    /// `name:` or, without it, the first line of `run`.
    pub name: String,
    /// The script (a template).
    pub run: String,
    /// `bash` (default: `bash -eo pipefail`), `sh`, `python`, or a command with `{0}`
    /// standing for the script file.
    pub shell: Option<String>,
    pub working_directory: Option<String>,
    pub env: IndexMap<String, String>,
    pub condition: Option<String>,
    #[serde(with = "opt_duration_ms")]
    pub timeout: Option<Duration>,
    pub continue_on_error: bool,
    pub retry: u32,
}

mod opt_duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}
