//! The facts a run is planned against (git, inputs, secrets) and the expression
//! contexts built from them for each job and step.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value, json};

use gantry_core::Secret;

/// What a run knows about the commit it runs for.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GitFacts {
    pub sha: String,
    pub branch: Option<String>,
    pub tag: Option<String>,
    /// The trigger: push, tag, pull_request, schedule, manual, api.
    pub event: String,
    /// The commit message's first line.
    pub message: String,
    pub author: String,
}

impl GitFacts {
    pub fn to_value(&self) -> Value {
        json!({
            "sha": self.sha,
            "short_sha": self.sha.chars().take(8).collect::<String>(),
            "branch": self.branch.clone().unwrap_or_default(),
            "tag": self.tag.clone().unwrap_or_default(),
            "ref": match (&self.tag, &self.branch) {
                (Some(t), _) => format!("refs/tags/{t}"),
                (None, Some(b)) => format!("refs/heads/{b}"),
                _ => String::new(),
            },
            "event": self.event,
            "message": self.message,
            "author": self.author,
        })
    }
}

/// The contexts shared by every job of a run: git, inputs, secrets, run.
#[derive(Clone)]
pub struct RunContexts {
    pub base: Map<String, Value>,
}

impl std::fmt::Debug for RunContexts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Holds secret values: show the context names only.
        f.debug_struct("RunContexts")
            .field("contexts", &self.base.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl RunContexts {
    pub fn new(
        git: &GitFacts,
        inputs: &Map<String, Value>,
        secrets: &IndexMap<String, Secret>,
        run_id: &str,
        run_number: u64,
    ) -> Self {
        let mut base = Map::new();
        base.insert("git".into(), git.to_value());
        base.insert("inputs".into(), Value::Object(inputs.clone()));
        base.insert(
            "secrets".into(),
            Value::Object(
                secrets
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.expose().to_string())))
                    .collect(),
            ),
        );
        base.insert("run".into(), json!({ "id": run_id, "number": run_number }));
        for name in ["env", "matrix", "needs", "steps", "job"] {
            base.insert(name.into(), Value::Object(Map::new()));
        }
        RunContexts { base }
    }
}

/// An env map as an expression value.
pub fn env_value(env: &IndexMap<String, String>) -> Value {
    Value::Object(
        env.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}
