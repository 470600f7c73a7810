//! The `on:` section: which events start a pipeline, and matching an event against it.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Triggers {
    pub push: Option<PushTrigger>,
    pub pull_request: Option<PullRequestTrigger>,
    pub schedule: Vec<ScheduleTrigger>,
    pub manual: Option<ManualTrigger>,
}

/// `on.push`: branch, tag and path globs. An empty list means "any"; with `tags` set and
/// `branches` empty, only tag pushes match (and vice versa), as in GitHub Actions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PushTrigger {
    pub branches: Vec<String>,
    pub branches_ignore: Vec<String>,
    pub tags: Vec<String>,
    pub paths: Vec<String>,
    pub paths_ignore: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PullRequestTrigger {
    /// Globs over the target (base) branch.
    pub branches: Vec<String>,
    pub paths: Vec<String>,
    pub paths_ignore: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleTrigger {
    pub cron: String,
    /// IANA time zone name; `UTC` when not given.
    pub timezone: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ManualTrigger {
    pub inputs: IndexMap<String, InputSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    #[default]
    String,
    Boolean,
    Number,
    /// One of `options`.
    Choice,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InputSpec {
    pub kind: InputKind,
    pub description: Option<String>,
    pub default: Option<serde_json::Value>,
    pub options: Vec<String>,
    pub required: bool,
}

/// What happened, as far as trigger matching needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TriggerEvent {
    Push {
        branch: Option<String>,
        tag: Option<String>,
        /// Files changed by the pushed commits; `None` when unknown (path filters then match).
        changed_files: Option<Vec<String>>,
    },
    PullRequest {
        base_branch: String,
        changed_files: Option<Vec<String>>,
    },
    Schedule,
    Manual,
}
