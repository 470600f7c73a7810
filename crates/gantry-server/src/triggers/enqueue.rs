//! Turning one trigger into runs: the project's pipelines at the commit, compiled; each
//! whose `on:` matches the event gets a run (manual and API runs name their pipeline);
//! its concurrency group rendered; the run queued and the forge told "pending".

use gantry_pipeline::{Plan, TriggerEvent, resolve_inputs};
use gantry_store::{ConcurrencyGroup, Enqueued, GitFacts, NewRun, Trigger};
use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use crate::live::Change;
use crate::state::ServerState;

/// A request to start runs.
#[derive(Debug, Clone)]
pub struct TriggerRequest {
    pub project: String,
    pub trigger: Trigger,
    /// The event pipelines' `on:` is matched against; `None` for manual and API runs,
    /// which run `pipeline` whatever its triggers.
    pub event: Option<TriggerEvent>,
    pub pipeline: Option<String>,
    pub git: GitFacts,
    /// Manual inputs as given (strings; typed by the pipeline's declarations).
    pub inputs: IndexMap<String, String>,
    pub actor: Option<String>,
}

/// Why nothing could be started.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("no project named '{0}'")]
    UnknownProject(String),
    #[error("project '{project}' has no pipeline named '{pipeline}'; its pipelines are: {known}")]
    UnknownPipeline {
        project: String,
        pipeline: String,
        known: String,
    },
    #[error("pipeline '{pipeline}' has errors:\n{diagnostics}")]
    InvalidPipeline {
        pipeline: String,
        diagnostics: String,
    },
    #[error("invalid inputs: {}", .0.join("; "))]
    Inputs(Vec<String>),
    #[error("{0}")]
    Other(String),
}

/// A queued run, as returned to API callers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Started {
    pub pipeline: String,
    pub run_id: gantry_store::RunId,
    pub number: i64,
    pub held: bool,
}

fn render_group(
    plan: &Plan,
    git: &GitFacts,
    trigger: Trigger,
    inputs: &Map<String, Value>,
) -> Option<ConcurrencyGroup> {
    let c = plan.concurrency.as_ref()?;
    let mut contexts = Map::new();
    contexts.insert(
        "git".into(),
        json!({
            "sha": git.sha, "short_sha": git.sha.chars().take(8).collect::<String>(),
            "branch": git.branch.clone().unwrap_or_default(),
            "tag": git.tag.clone().unwrap_or_default(),
            "event": trigger.as_str(), "message": git.message, "author": git.author,
        }),
    );
    contexts.insert("inputs".into(), Value::Object(inputs.clone()));
    let scope = gantry_expr::Scope {
        contexts,
        status: Default::default(),
        hash_files: None,
    };
    // The compiler checked the template; a render failure falls back to the raw text
    // so the group still serialises runs of this pipeline.
    let group = gantry_expr::parse_template(&c.group)
        .ok()
        .and_then(|t| t.render(&scope).ok())
        .unwrap_or_else(|| c.group.clone());
    Some(ConcurrencyGroup {
        group: format!("{}/{}", plan.name, group),
        cancel_in_progress: c.cancel_in_progress,
    })
}

/// Starts the runs `req` calls for; returns them (empty when no pipeline matched).
pub async fn start_runs(
    state: &ServerState,
    req: TriggerRequest,
) -> Result<Vec<Started>, TriggerError> {
    let project = state
        .project(&req.project)
        .ok_or_else(|| TriggerError::UnknownProject(req.project.clone()))?;
    let files = state
        .pipelines_at(&project, Some(&req.git.sha))
        .await
        .map_err(TriggerError::Other)?;
    let mut chosen = Vec::new();
    match &req.pipeline {
        Some(name) => {
            let file = files
                .iter()
                .find(|f| &f.name == name || &f.path == name)
                .ok_or_else(|| TriggerError::UnknownPipeline {
                    project: req.project.clone(),
                    pipeline: name.clone(),
                    known: files
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            let plan = file
                .plan
                .clone()
                .ok_or_else(|| TriggerError::InvalidPipeline {
                    pipeline: file.name.clone(),
                    diagnostics: file.diagnostics.clone(),
                })?;
            chosen.push(plan);
        }
        None => {
            for file in &files {
                match (&file.plan, &req.event) {
                    (Some(plan), Some(event)) if plan.on.matches(event) => {
                        chosen.push(plan.clone())
                    }
                    (None, _) => {
                        tracing::warn!(project = %req.project, file = %file.path, "pipeline has errors; not started");
                    }
                    _ => {}
                }
            }
        }
    }
    let mut started = Vec::new();
    for plan in chosen {
        let inputs = resolve_inputs(&plan.on, &req.inputs).map_err(TriggerError::Inputs)?;
        let concurrency = render_group(&plan, &req.git, req.trigger, &inputs);
        let name = plan.name.clone();
        let enqueued: Enqueued = state
            .store
            .enqueue_run(NewRun {
                project: req.project.clone(),
                pipeline: name.clone(),
                trigger: req.trigger,
                git: req.git.clone(),
                inputs,
                plan,
                concurrency,
                actor: req.actor.clone(),
            })
            .await
            .map_err(|e| TriggerError::Other(e.to_string()))?;
        for superseded in &enqueued.superseded {
            state.hub.publish(Change::Cancel(superseded.run_id));
            state.hub.publish(Change::Run(superseded.run_id));
        }
        state.hub.publish(Change::Run(enqueued.run_id));
        crate::status::report_run(state, enqueued.run_id, None).await;
        started.push(Started {
            pipeline: name,
            run_id: enqueued.run_id,
            number: enqueued.number,
            held: enqueued.held,
        });
    }
    state.hub.publish(Change::Enqueued);
    Ok(started)
}

/// Fills a commit's message and author from the project's mirror when the trigger did
/// not carry them (polling, cron, manual runs).
pub async fn describe_commit(state: &ServerState, project: &str, git: &mut GitFacts) {
    if !git.message.is_empty() {
        return;
    }
    let mirror = state
        .data_dir
        .join("mirrors")
        .join(format!("{project}.git"));
    let repo = match state.project(project).and_then(|p| p.local_dir) {
        Some(dir) => dir,
        None => mirror,
    };
    if let Ok((message, author)) = state.git.commit_summary(&repo, &git.sha).await {
        git.message = message;
        git.author = author;
    }
}
