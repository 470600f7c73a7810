//! A project's page (`GET /projects/{project}`): its branches, its pipelines with a
//! "Run pipeline" form each (manual inputs as typed fields), and its recent runs.

use askama::Template;
use serde_json::Value;

use gantry_pipeline::{InputKind, InputSpec, Plan};
use gantry_store::Run;

use super::RunRow;
use crate::layout::{Frame, Layout};
use crate::render::render;
use crate::{triggers, urls};

/// A pipeline file of the project: its plan when it compiled, and the rendered
/// diagnostics (errors, or warnings next to a plan; empty when clean).
#[derive(Debug, Clone)]
pub struct PipelineEntry<'a> {
    /// `.gantry/pipelines/ci.yml`
    pub file: &'a str,
    pub plan: Option<&'a Plan>,
    pub diagnostics: &'a str,
}

/// What the project page shows.
#[derive(Debug, Clone)]
pub struct ProjectData<'a> {
    pub name: &'a str,
    pub repo: &'a str,
    /// The default branch (pre-fills the "Run pipeline" forms).
    pub branch: &'a str,
    pub pipelines: &'a [PipelineEntry<'a>],
    /// The project's recent runs, newest first (the branch list is derived from them).
    pub runs: &'a [Run],
}

/// One manual input as a form field named `input.<name>`.
#[derive(Debug)]
struct InputField {
    name: String,
    id: String,
    label: String,
    description: String,
    /// `select`, `checkbox`, `number` or `text`.
    control: &'static str,
    /// Select options with whether each is pre-selected.
    options: Vec<(String, bool)>,
    value: String,
    checked: bool,
    required: bool,
}

#[derive(Debug)]
struct PipelineView {
    name: String,
    file: String,
    triggers: String,
    /// `None` when the file has errors (no plan): then only `diagnostics` is shown.
    action: Option<String>,
    form_id: String,
    jobs: usize,
    inputs: Vec<InputField>,
    diagnostics: String,
}

#[derive(Template)]
#[template(path = "project.html")]
struct ProjectPage<'a> {
    frame: Frame<'a>,
    name: &'a str,
    repo: &'a str,
    branch: &'a str,
    branches: Vec<RunRow>,
    pipelines: Vec<PipelineView>,
    runs: Vec<RunRow>,
}

fn default_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn input_field(form_id: &str, name: &str, spec: &InputSpec) -> InputField {
    let value = default_text(spec.default.as_ref());
    let control = match spec.kind {
        _ if !spec.options.is_empty() => "select",
        InputKind::Choice => "select",
        InputKind::Boolean => "checkbox",
        InputKind::Number => "number",
        InputKind::String => "text",
    };
    InputField {
        name: format!("input.{name}"),
        id: format!("{form_id}-input-{name}"),
        label: name.to_string(),
        description: spec.description.clone().unwrap_or_default(),
        control,
        options: spec
            .options
            .iter()
            .map(|o| (o.clone(), *o == value))
            .collect(),
        checked: matches!(spec.default, Some(Value::Bool(true))) || value == "true",
        value,
        // A required checkbox could only ever be submitted ticked.
        required: spec.required && control != "checkbox",
    }
}

fn pipeline_view(project: &str, n: usize, entry: &PipelineEntry<'_>) -> PipelineView {
    let form_id = format!("run-{n}");
    let stem = entry
        .file
        .rsplit('/')
        .next()
        .unwrap_or(entry.file)
        .trim_end_matches(".yml")
        .trim_end_matches(".yaml");
    match entry.plan {
        Some(plan) => PipelineView {
            name: plan.name.clone(),
            file: entry.file.to_string(),
            triggers: triggers::summary(&plan.on),
            action: Some(urls::trigger(project, &plan.name)),
            jobs: plan.jobs.len(),
            inputs: plan
                .on
                .manual
                .iter()
                .flat_map(|m| m.inputs.iter())
                .map(|(name, spec)| input_field(&form_id, name, spec))
                .collect(),
            form_id,
            diagnostics: entry.diagnostics.to_string(),
        },
        None => PipelineView {
            name: stem.to_string(),
            file: entry.file.to_string(),
            triggers: String::new(),
            action: None,
            jobs: 0,
            inputs: Vec::new(),
            form_id,
            diagnostics: entry.diagnostics.to_string(),
        },
    }
}

/// The latest run of each branch, in the order of `runs` (newest first).
fn branches(runs: &[Run], now: jiff::Timestamp) -> Vec<RunRow> {
    let mut seen: Vec<&str> = Vec::new();
    let mut rows = Vec::new();
    for run in runs {
        let Some(branch) = run.git.branch.as_deref() else {
            continue;
        };
        if run.git.tag.is_some() || seen.contains(&branch) {
            continue;
        }
        seen.push(branch);
        rows.push(RunRow::new(run, now));
    }
    rows
}

/// The project page.
pub fn project_page(layout: &Layout, data: &ProjectData<'_>) -> String {
    render(&ProjectPage {
        frame: Frame {
            layout,
            title: data.name.to_string(),
            nav: "",
        },
        name: data.name,
        repo: data.repo,
        branch: data.branch,
        branches: branches(data.runs, layout.now),
        pipelines: data
            .pipelines
            .iter()
            .enumerate()
            .map(|(n, p)| pipeline_view(data.name, n, p))
            .collect(),
        runs: data
            .runs
            .iter()
            .map(|r| RunRow::new(r, layout.now))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn input_controls() {
        let choice = InputSpec {
            kind: InputKind::Choice,
            default: Some(json!("staging")),
            options: vec!["staging".into(), "production".into()],
            ..Default::default()
        };
        let f = input_field("run-0", "target", &choice);
        assert_eq!((f.control, f.name.as_str()), ("select", "input.target"));
        assert_eq!(f.options[0], ("staging".into(), true));
        let flag = InputSpec {
            kind: InputKind::Boolean,
            default: Some(json!(true)),
            required: true,
            ..Default::default()
        };
        let f = input_field("run-0", "dry_run", &flag);
        assert_eq!(f.control, "checkbox");
        assert!(f.checked && !f.required);
        let n = InputSpec {
            kind: InputKind::Number,
            default: Some(json!(3)),
            required: true,
            ..Default::default()
        };
        let f = input_field("run-0", "count", &n);
        assert_eq!(
            (f.control, f.value.as_str(), f.required),
            ("number", "3", true)
        );
    }
}
