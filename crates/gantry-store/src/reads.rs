//! The reads behind the API and the UI: runs (one, by number, filtered pages), jobs,
//! steps, events and the queue's gauges (also per route, and what one owner is running).
//! Each maps rows to the plain model structs.

use indexmap::IndexMap;

use gantry_pipeline::Plan;

use crate::db::{Db, Result, Row, Sql};
use crate::error::StoreError;
use crate::model::{Event, EventFilter, GitFacts, Job, QueueView, Run, RunFilter, Step};
use crate::queue::route;
use crate::types::{EventId, JobId, RunId, RunStatus};

const RUN_COLS: &str = "id, project, pipeline, number, status, trigger_kind, git_sha, git_branch, git_tag, \
     git_message, git_author, inputs, concurrency_group, cancel_in_progress, held, cancel_requested, reason, \
     rerun_of, actor, created_at, started_at, finished_at";

const JOB_COLS: &str = "id, run_id, plan_index, job_key, job_id, name, needs, status, attempt, max_retry, \
     continue_on_error, runs_on, reason, outputs, owner, fencing_token, lease_expires_at, queued_at, started_at, \
     finished_at";

const EVENT_COLS: &str = "id, at, kind, project, run_id, job_id, actor, data";

/// A page size: 0 means `default`, and no page is larger than 1000 rows.
fn page(limit: u32, default: u32) -> i64 {
    i64::from(if limit == 0 { default } else { limit.min(1000) })
}

fn run_from(r: &Row) -> Result<Run> {
    Ok(Run {
        id: RunId(r.i64("id")?),
        project: r.text("project")?,
        pipeline: r.text("pipeline")?,
        number: r.i64("number")?,
        status: r.parse("status")?,
        trigger: r.parse("trigger_kind")?,
        git: GitFacts {
            sha: r.text("git_sha")?,
            branch: r.opt_text("git_branch")?,
            tag: r.opt_text("git_tag")?,
            message: r.text("git_message")?,
            author: r.text("git_author")?,
        },
        inputs: r.json_text("inputs")?,
        concurrency_group: r.opt_text("concurrency_group")?,
        cancel_in_progress: r.bool("cancel_in_progress")?,
        held: r.bool("held")?,
        cancel_requested: r.bool("cancel_requested")?,
        reason: r.opt_text("reason")?,
        rerun_of: r.opt_i64("rerun_of")?.map(RunId),
        actor: r.opt_text("actor")?,
        created_at: r.timestamp("created_at")?,
        started_at: r.opt_timestamp("started_at")?,
        finished_at: r.opt_timestamp("finished_at")?,
    })
}

fn job_from(r: &Row) -> Result<Job> {
    Ok(Job {
        id: JobId(r.i64("id")?),
        run_id: RunId(r.i64("run_id")?),
        index: r.unsigned("plan_index")?,
        key: r.text("job_key")?,
        job_id: r.text("job_id")?,
        name: r.text("name")?,
        needs: r.json_text("needs")?,
        status: r.parse("status")?,
        attempt: r.unsigned("attempt")?,
        max_retry: r.unsigned("max_retry")?,
        continue_on_error: r.bool("continue_on_error")?,
        runs_on: route::key_labels(&r.text("runs_on")?),
        reason: r.opt_text("reason")?,
        outputs: r.json_text::<IndexMap<String, String>>("outputs")?,
        owner: r.opt_text("owner")?,
        fencing_token: r.i64("fencing_token")?,
        lease_expires_at: r.opt_timestamp("lease_expires_at")?,
        queued_at: r.opt_timestamp("queued_at")?,
        started_at: r.opt_timestamp("started_at")?,
        finished_at: r.opt_timestamp("finished_at")?,
    })
}

fn step_from(r: &Row) -> Result<Step> {
    Ok(Step {
        job_id: JobId(r.i64("job_id")?),
        index: r.unsigned("step_index")?,
        name: r.text("name")?,
        result: r.parse("result")?,
        outcome: r.parse("outcome")?,
        exit_code: r
            .opt_i64("exit_code")?
            .map(|c| {
                i32::try_from(c)
                    .map_err(|_| StoreError::corrupt(format!("exit code {c} out of range")))
            })
            .transpose()?,
        duration_ms: r.unsigned("duration_ms")?,
    })
}

fn event_from(r: &Row) -> Result<Event> {
    Ok(Event {
        id: EventId(r.i64("id")?),
        at: r.timestamp("at")?,
        kind: r.text("kind")?,
        project: r.opt_text("project")?,
        run_id: r.opt_i64("run_id")?.map(RunId),
        job_id: r.opt_i64("job_id")?.map(JobId),
        actor: r.opt_text("actor")?,
        data: r.json("data")?,
    })
}

pub(crate) async fn get_run(db: &Db, run: RunId) -> Result<Option<Run>> {
    let sql = Sql::assembled(format!("SELECT {RUN_COLS} FROM runs WHERE id = $1")).bind(run);
    db.fetch_optional(sql)
        .await?
        .as_ref()
        .map(run_from)
        .transpose()
}

pub(crate) async fn get_run_by_number(
    db: &Db,
    project: &str,
    pipeline: &str,
    number: i64,
) -> Result<Option<Run>> {
    let sql = Sql::assembled(format!(
        "SELECT {RUN_COLS} FROM runs WHERE project = $1 AND pipeline = $2 AND number = $3"
    ))
    .bind(project)
    .bind(pipeline)
    .bind(number);
    db.fetch_optional(sql)
        .await?
        .as_ref()
        .map(run_from)
        .transpose()
}

pub(crate) async fn get_plan(db: &Db, run: RunId) -> Result<Option<Plan>> {
    let Some(row) = db
        .fetch_optional(Sql::new("SELECT plan FROM runs WHERE id = $1").bind(run))
        .await?
    else {
        return Ok(None);
    };
    row.json_text("plan").map(Some)
}

pub(crate) async fn list_runs(db: &Db, filter: &RunFilter) -> Result<Vec<Run>> {
    let mut sql = Sql::assembled(format!("SELECT {RUN_COLS} FROM runs WHERE 1 = 1"));
    if let Some(project) = &filter.project {
        sql.push_str(" AND project = ");
        sql.push_bind(project);
    }
    if let Some(pipeline) = &filter.pipeline {
        sql.push_str(" AND pipeline = ");
        sql.push_bind(pipeline);
    }
    if let Some(status) = filter.status {
        sql.push_str(" AND status = ");
        sql.push_bind(status.as_str());
    }
    if let Some(before) = filter.before_id {
        sql.push_str(" AND id < ");
        sql.push_bind(before);
    }
    sql.push_str(" ORDER BY id DESC LIMIT ");
    sql.push_bind(page(filter.limit, 50));
    db.fetch_all(sql).await?.iter().map(run_from).collect()
}

pub(crate) async fn get_job(db: &Db, job: JobId) -> Result<Option<Job>> {
    let sql = Sql::assembled(format!("SELECT {JOB_COLS} FROM jobs WHERE id = $1")).bind(job);
    db.fetch_optional(sql)
        .await?
        .as_ref()
        .map(job_from)
        .transpose()
}

pub(crate) async fn jobs_of_run(db: &Db, run: RunId) -> Result<Vec<Job>> {
    let sql = Sql::assembled(format!(
        "SELECT {JOB_COLS} FROM jobs WHERE run_id = $1 ORDER BY plan_index"
    ))
    .bind(run);
    db.fetch_all(sql).await?.iter().map(job_from).collect()
}

pub(crate) async fn steps_of_job(db: &Db, job: JobId) -> Result<Vec<Step>> {
    let sql = Sql::new(
        "SELECT job_id, step_index, name, result, outcome, exit_code, duration_ms FROM steps \
         WHERE job_id = $1 ORDER BY step_index",
    )
    .bind(job);
    db.fetch_all(sql).await?.iter().map(step_from).collect()
}

pub(crate) async fn events(db: &Db, filter: &EventFilter) -> Result<Vec<Event>> {
    let mut sql = Sql::assembled(format!("SELECT {EVENT_COLS} FROM events WHERE 1 = 1"));
    if let Some(project) = &filter.project {
        sql.push_str(" AND project = ");
        sql.push_bind(project);
    }
    if let Some(run) = filter.run_id {
        sql.push_str(" AND run_id = ");
        sql.push_bind(run);
    }
    if let Some(job) = filter.job_id {
        sql.push_str(" AND job_id = ");
        sql.push_bind(job);
    }
    if let Some(prefix) = &filter.kind_prefix {
        // substr/length rather than LIKE: SQLite's LIKE ignores case, and `_`/`%` in a
        // prefix would need escaping on both backends.
        let p = sql.next_placeholder();
        sql.push_str(&format!(" AND substr(kind, 1, length({p})) = {p}"));
        sql.push_arg(prefix);
    }
    if let Some(after) = filter.after_id {
        sql.push_str(" AND id > ");
        sql.push_bind(after.0);
    }
    if let Some(before) = filter.before_id {
        sql.push_str(" AND id < ");
        sql.push_bind(before.0);
    }
    sql.push_str(if filter.newest_first {
        " ORDER BY id DESC LIMIT "
    } else {
        " ORDER BY id LIMIT "
    });
    sql.push_bind(page(filter.limit, 100));
    db.fetch_all(sql).await?.iter().map(event_from).collect()
}

pub(crate) async fn queue_depth(db: &Db) -> Result<u64> {
    db.fetch_one(Sql::new(
        "SELECT COUNT(*) AS n FROM jobs WHERE status = 'queued'",
    ))
    .await?
    .unsigned("n")
}

/// Queued jobs per `runs_on` key, biggest group first (then by labels, for a stable order).
pub(crate) async fn queue_by_route(db: &Db) -> Result<Vec<QueueView>> {
    let rows = db
        .fetch_all(Sql::new(
            "SELECT runs_on, COUNT(*) AS n, MIN(queued_at) AS oldest FROM jobs \
             WHERE status = 'queued' GROUP BY runs_on",
        ))
        .await?;
    let mut views = rows
        .iter()
        .map(|r| {
            Ok(QueueView {
                runs_on: route::key_labels(&r.text("runs_on")?),
                queued: r.unsigned("n")?,
                oldest_queued_at: r.opt_timestamp("oldest")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    views.sort_by(|a, b| {
        b.queued
            .cmp(&a.queued)
            .then_with(|| a.runs_on.cmp(&b.runs_on))
    });
    Ok(views)
}

/// The jobs `owner` is running, oldest claim first.
pub(crate) async fn running_jobs_of(db: &Db, owner: &str) -> Result<Vec<Job>> {
    let sql = Sql::assembled(format!(
        "SELECT {JOB_COLS} FROM jobs WHERE status = 'running' AND owner = $1 ORDER BY started_at, id"
    ))
    .bind(owner);
    db.fetch_all(sql).await?.iter().map(job_from).collect()
}

/// Every run status with its count, zeros included (handy for gauges).
pub(crate) async fn runs_by_status(db: &Db) -> Result<Vec<(RunStatus, u64)>> {
    let rows = db
        .fetch_all(Sql::new(
            "SELECT status, COUNT(*) AS n FROM runs GROUP BY status",
        ))
        .await?;
    let mut counts: Vec<(RunStatus, u64)> = RunStatus::ALL.iter().map(|s| (*s, 0)).collect();
    for row in &rows {
        let status: RunStatus = row.parse("status")?;
        let n: u64 = row.unsigned("n")?;
        if let Some(slot) = counts.iter_mut().find(|(s, _)| *s == status) {
            slot.1 = n;
        }
    }
    Ok(counts)
}
