//! A run's page (`GET /runs/{run_id}?job={job_id}`): the header with its actions, the
//! job DAG as inline SVG, the job list with steps, and the selected job's log panel that
//! app.js fills from the log stream.

use askama::Template;
use jiff::Timestamp;
use serde_json::Value;

use gantry_pipeline::Plan;
use gantry_store::{Job, JobId, JobStatus, Run, RunStatus, Step};

use super::{Duration, trigger_label};
use crate::dag::{self, DagLayout, EdgePath};
use crate::format::{self, TimeView};
use crate::layout::{Frame, Layout};
use crate::render::render;
use crate::status::StatusView;
use crate::urls;

/// What the run page shows.
#[derive(Debug, Clone)]
pub struct RunPageData<'a> {
    pub run: &'a Run,
    /// The run's jobs in plan order (`Store::jobs_of_run`).
    pub jobs: &'a [Job],
    /// Recorded steps of any of the jobs (`Store::steps_of_job`); jobs without recorded
    /// steps list their planned steps as pending when `plan` is given.
    pub steps: &'a [Step],
    pub plan: Option<&'a Plan>,
    /// `?job=`; when absent (or not a job of this run) the first failed, else the first
    /// running, else the first job is shown.
    pub selected_job: Option<JobId>,
    /// The number of the run `run.rerun_of` points at, for its "rerun of #n" link.
    pub rerun_of_number: Option<i64>,
}

#[derive(Debug)]
struct StepView {
    index: usize,
    name: String,
    /// `None` while the step has no recorded result.
    status: Option<StatusView>,
    exit_code: Option<i32>,
    duration: String,
}

#[derive(Debug)]
struct JobView {
    id: JobId,
    href: String,
    name: String,
    /// The name cut to fit its DAG box.
    short_name: String,
    status: StatusView,
    duration: Duration,
    reason: String,
    attempt: u32,
    selected: bool,
    steps: Vec<StepView>,
    x: u32,
    y: u32,
}

#[derive(Debug)]
struct LogPanel {
    job_id: JobId,
    name: String,
    status: StatusView,
    stream_url: String,
    raw_url: String,
}

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage<'a> {
    frame: Frame<'a>,
    run: &'a Run,
    status: StatusView,
    project_url: String,
    trigger: &'static str,
    git_ref: String,
    is_tag: bool,
    sha: String,
    message: String,
    actor: String,
    created: TimeView,
    started: Option<TimeView>,
    finished: Option<TimeView>,
    duration: Duration,
    rerun_of: Option<(String, String)>,
    /// Manual inputs as (name, value).
    inputs: Vec<(String, String)>,
    finished_run: bool,
    cancel_url: String,
    rerun_url: String,
    live_url: String,
    show_rerun_failed: bool,
    jobs: Vec<JobView>,
    edges: Vec<EdgePath>,
    dag_width: u32,
    dag_height: u32,
    node_width: u32,
    node_height: u32,
    log: Option<LogPanel>,
}

/// Longest name that fits a DAG box at the node font size.
const NODE_NAME_CHARS: usize = 22;

fn shorten(name: &str) -> String {
    if name.chars().count() <= NODE_NAME_CHARS {
        return name.to_string();
    }
    let mut s: String = name.chars().take(NODE_NAME_CHARS - 1).collect();
    s.push('…');
    s
}

fn steps_of(job: &Job, steps: &[Step], plan: Option<&Plan>) -> Vec<StepView> {
    let mut recorded: Vec<&Step> = steps.iter().filter(|s| s.job_id == job.id).collect();
    recorded.sort_by_key(|s| s.index);
    if !recorded.is_empty() {
        return recorded
            .into_iter()
            .map(|s| StepView {
                index: s.index,
                name: s.name.clone(),
                status: Some(s.result.into()),
                exit_code: s.exit_code,
                duration: format::duration_ms(s.duration_ms),
            })
            .collect();
    }
    plan.and_then(|p| p.jobs.get(job.index))
        .map(|pj| {
            pj.steps
                .iter()
                .map(|s| StepView {
                    index: s.index,
                    name: s.name.clone(),
                    status: None,
                    exit_code: None,
                    duration: String::new(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The job whose log is shown: the asked-for one if it is in this run, else the most
/// interesting one.
fn pick_job(jobs: &[Job], asked: Option<JobId>) -> Option<&Job> {
    asked
        .and_then(|id| jobs.iter().find(|j| j.id == id))
        .or_else(|| jobs.iter().find(|j| j.status == JobStatus::Failure))
        .or_else(|| jobs.iter().find(|j| j.status == JobStatus::Running))
        .or_else(|| jobs.first())
}

fn dag_of(jobs: &[Job]) -> DagLayout {
    // `Job::needs` holds plan indexes; the layout wants positions in `jobs`.
    let needs: Vec<Vec<usize>> = jobs
        .iter()
        .map(|j| {
            j.needs
                .iter()
                .filter_map(|&ix| jobs.iter().position(|o| o.index == ix))
                .collect()
        })
        .collect();
    dag::layout(&needs)
}

fn input_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn job_view(job: &Job, data: &RunPageData<'_>, selected: Option<JobId>, now: Timestamp) -> JobView {
    JobView {
        id: job.id,
        href: format!("?job={}", job.id),
        name: job.name.clone(),
        short_name: shorten(&job.name),
        status: job.status.into(),
        duration: Duration::of(
            job.started_at,
            job.finished_at,
            job.status == JobStatus::Running,
            now,
        ),
        reason: job.reason.clone().unwrap_or_default(),
        attempt: job.attempt,
        selected: selected == Some(job.id),
        steps: steps_of(job, data.steps, data.plan),
        x: 0,
        y: 0,
    }
}

/// The run page.
pub fn run_page(layout: &Layout, data: &RunPageData<'_>) -> String {
    let run = data.run;
    let now = layout.now;
    let selected = pick_job(data.jobs, data.selected_job);
    let graph = dag_of(data.jobs);
    let jobs: Vec<JobView> = data
        .jobs
        .iter()
        .zip(&graph.nodes)
        .map(|(job, pos)| JobView {
            x: pos.x,
            y: pos.y,
            ..job_view(job, data, selected.map(|j| j.id), now)
        })
        .collect();
    let (git_ref, is_tag) = match (&run.git.tag, &run.git.branch) {
        (Some(t), _) => (t.clone(), true),
        (None, Some(b)) => (b.clone(), false),
        (None, None) => (String::new(), false),
    };
    let finished_run = run.status.is_finished();
    render(&RunPage {
        frame: Frame {
            layout,
            title: format!("{} / {} #{}", run.project, run.pipeline, run.number),
            nav: "",
        },
        run,
        status: run.status.into(),
        project_url: urls::project(&run.project),
        trigger: trigger_label(run.trigger),
        git_ref,
        is_tag,
        sha: format::short_sha(&run.git.sha).to_string(),
        message: format::first_line(&run.git.message).to_string(),
        actor: run.actor.clone().unwrap_or_else(|| run.git.author.clone()),
        created: TimeView::new(run.created_at, now),
        started: TimeView::opt(run.started_at, now),
        finished: TimeView::opt(run.finished_at, now),
        duration: Duration::of(run.started_at, run.finished_at, !finished_run, now),
        rerun_of: run.rerun_of.map(|id| {
            let label = data
                .rerun_of_number
                .map_or_else(|| format!("run {id}"), |n| format!("#{n}"));
            (urls::run(id), label)
        }),
        inputs: run
            .inputs
            .iter()
            .map(|(k, v)| (k.clone(), input_text(v)))
            .collect(),
        finished_run,
        cancel_url: urls::cancel(run.id),
        rerun_url: urls::rerun(run.id),
        live_url: urls::run_live(run.id),
        // A running run may still fail: render the button hidden for app.js to reveal.
        show_rerun_failed: !finished_run || run.status == RunStatus::Failure,
        jobs,
        edges: graph.edges,
        dag_width: graph.width,
        dag_height: graph.height,
        node_width: dag::NODE_WIDTH,
        node_height: dag::NODE_HEIGHT,
        log: selected.map(|j| LogPanel {
            job_id: j.id,
            name: j.name.clone(),
            status: j.status.into(),
            stream_url: urls::log_stream(j.id),
            raw_url: urls::log_raw(j.id),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shortened_for_boxes() {
        assert_eq!(shorten("test"), "test");
        let long = "test (stable, ubuntu-24.04, x86_64)";
        let s = shorten(long);
        assert_eq!(s.chars().count(), NODE_NAME_CHARS);
        assert!(s.ends_with('…'));
    }
}
