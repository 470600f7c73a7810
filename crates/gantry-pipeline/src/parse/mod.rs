//! The pipeline grammar: reads the spanned YAML tree into the model, reporting every
//! unknown key, wrong type and missing value at its place.

mod cx;
mod job;
pub mod matrix;
mod on;
mod step;

pub use cx::Cx;

use crate::model::{Concurrency, Pipeline};
use crate::yaml::{Kind, Node};

const TOP_KEYS: &[&str] = &["name", "on", "env", "concurrency", "jobs"];

pub fn pipeline(cx: &mut Cx, root: &Node) -> Pipeline {
    let mut pipeline = Pipeline::default();
    let Some(entries) = cx.map(
        root,
        "a map (name, on, env, concurrency, jobs)",
        "the pipeline",
    ) else {
        return pipeline;
    };
    // `x-` keys are free for the user, e.g. to hold anchors (`x-defaults: &defaults`),
    // as in Docker Compose.
    let checked: Vec<(Node, Node)> = entries
        .iter()
        .filter(|(k, _)| !k.text.starts_with("x-"))
        .cloned()
        .collect();
    cx.check_keys(&checked, TOP_KEYS, "at the top level", top_hint);
    let mut on = None;
    for (key, value) in entries {
        match key.text.as_str() {
            "name" => pipeline.name = cx.nonempty_text(value, "'name'"),
            "on" => on = Some(value),
            "env" => pipeline.env = cx.env(value, "the pipeline's 'env'"),
            "concurrency" => pipeline.concurrency = concurrency(cx, value),
            "jobs" => pipeline.jobs = job::jobs(cx, value),
            _ => {}
        }
    }
    let (triggers, inputs) = match on {
        Some(node) => on::triggers(cx, node),
        None => (on::default_triggers(), Vec::new()),
    };
    pipeline.on = triggers;
    pipeline.inputs = inputs;
    if root.get("jobs").is_none() && !cx::has_typo_of(root, "jobs") {
        let diag = cx.error(root.span, "the pipeline has no 'jobs'").with_help(
            "add `jobs:` with at least one job, e.g. `jobs: { build: { steps: [make] } }`",
        );
        cx.push(diag);
    }
    pipeline
}

fn top_hint(key: &str) -> Option<String> {
    if job::JOB_KEYS.contains(&key) && !TOP_KEYS.contains(&key) {
        return Some(format!(
            "'{key}' is a job setting; put it under `jobs: <job id>:`"
        ));
    }
    match key {
        "runs-on" | "runs_on" => Some(
            "Gantry jobs choose where they run with `executor` (host, sandbox or docker)".into(),
        ),
        "stages" | "pipeline" | "workflow" => {
            Some("a Gantry pipeline lists its jobs under `jobs:`; order them with `needs`".into())
        }
        _ => {
            let rest = key.strip_prefix('.').or_else(|| key.strip_prefix("x_"))?;
            Some(format!(
                "to keep values for anchors at the top level, name the key 'x-{rest}'"
            ))
        }
    }
}

fn concurrency(cx: &mut Cx, node: &Node) -> Option<Concurrency> {
    if let Kind::Str = node.kind {
        return cx
            .nonempty_text(node, "'concurrency'")
            .map(|group| Concurrency {
                group,
                cancel_in_progress: false,
            });
    }
    let entries = cx.map(
        node,
        "a group name or a map {group, cancel_in_progress}",
        "'concurrency'",
    )?;
    cx.check_keys(
        entries,
        &["group", "cancel_in_progress"],
        "in 'concurrency'",
        |_| None,
    );
    let mut group = None;
    let mut cancel_in_progress = false;
    for (key, value) in entries {
        match key.text.as_str() {
            "group" => group = cx.nonempty_text(value, "'concurrency.group'"),
            "cancel_in_progress" => {
                cancel_in_progress = cx.bool(value, "'cancel_in_progress'").unwrap_or(false)
            }
            _ => {}
        }
    }
    cx.require(
        node,
        "group",
        "'concurrency'",
        "write e.g. `concurrency: { group: \"deploy-${{ git.branch }}\" }`",
    );
    Some(Concurrency {
        group: group?,
        cancel_in_progress,
    })
}
