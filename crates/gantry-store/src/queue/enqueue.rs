//! Enqueueing a run (and rerunning one): the run row with its per-pipeline number, one job
//! row per planned job, concurrency-group handling, and the first jobs queued.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use gantry_pipeline::Plan;

use super::{RunHead, cancel, lock_run, promote, route, run_head, settle};
use crate::db::{Result, Sql, Tx};
use crate::error::StoreError;
use crate::model::{ConcurrencyGroup, Enqueued, GitFacts, NewEvent, NewRun, kinds};
use crate::types::{JobStatus, RunId, Trigger};

/// What a job row is made from.
#[derive(Debug, Clone)]
pub(crate) struct JobSpec {
    pub key: String,
    pub job_id: String,
    pub name: String,
    pub needs: Vec<usize>,
    pub max_retry: u32,
    pub continue_on_error: bool,
    /// The `runs_on` labels as stored (see `route::runs_on_key`).
    pub runs_on: String,
}

/// Everything a new run row is made from, whether enqueued or rerun.
#[derive(Debug)]
pub(crate) struct RunSpec<'a> {
    pub project: &'a str,
    pub pipeline: &'a str,
    pub trigger: Trigger,
    pub git: &'a GitFacts,
    pub inputs: &'a Map<String, Value>,
    pub plan_json: &'a str,
    pub jobs: Vec<JobSpec>,
    pub concurrency: Option<&'a ConcurrencyGroup>,
    pub actor: Option<&'a str>,
    /// The run this reruns, with its number.
    pub rerun_of: Option<(RunId, i64)>,
    /// Plan indices whose successful result is kept from the rerun run, with their outputs.
    pub kept: HashMap<usize, IndexMap<String, String>>,
}

/// The job rows of a plan, after checking what the queue relies on: at least one job,
/// and every `needs_index` pointing at an earlier job (so the DAG has no cycle and every
/// job can eventually be queued).
pub(crate) fn job_specs(plan: &Plan) -> Result<Vec<JobSpec>> {
    if plan.jobs.is_empty() {
        return Err(StoreError::Invalid(format!(
            "pipeline '{}' has no jobs to run",
            plan.name
        )));
    }
    plan.jobs
        .iter()
        .enumerate()
        .map(|(i, job)| {
            if let Some(bad) = job.needs_index.iter().find(|&&n| n >= i) {
                return Err(StoreError::Invalid(format!(
                    "job '{}' needs plan index {bad}, which does not come before it (index {i})",
                    job.key
                )));
            }
            Ok(JobSpec {
                key: job.key.clone(),
                job_id: job.job_id.clone(),
                name: job.name.clone(),
                needs: job.needs_index.clone(),
                max_retry: job.retry,
                continue_on_error: job.continue_on_error,
                // A deploy job without `runs_on` is the server's own pool's to run.
                runs_on: if job.deploy.is_some() && job.runs_on.is_empty() {
                    crate::model::SERVER_LABEL.to_string()
                } else {
                    route::runs_on_key(&job.key, &job.runs_on)?
                },
            })
        })
        .collect()
}

/// The jobs a failed-only rerun keeps: those that succeeded and need no job that runs
/// again (a job that ran with `if: always()` after a failure reruns with it). Jobs come in
/// plan order, so one pass sees every need before the job that needs it.
fn kept_jobs(
    jobs: &[JobSpec],
    mut succeeded: HashMap<usize, IndexMap<String, String>>,
) -> HashMap<usize, IndexMap<String, String>> {
    let mut kept = HashMap::new();
    for (i, job) in jobs.iter().enumerate() {
        if !job.needs.iter().all(|n| kept.contains_key(n)) {
            continue;
        }
        if let Some(outputs) = succeeded.remove(&i) {
            kept.insert(i, outputs);
        }
    }
    kept
}

fn require(what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(StoreError::Invalid(format!("{what} must not be empty")));
    }
    Ok(())
}

pub(crate) async fn enqueue_run(tx: &mut Tx, run: &NewRun) -> Result<Enqueued> {
    require("project", &run.project)?;
    require("pipeline", &run.pipeline)?;
    if let Some(c) = &run.concurrency {
        require("concurrency group", &c.group)?;
    }
    let jobs = job_specs(&run.plan)?;
    let plan_json =
        serde_json::to_string(&run.plan).map_err(|e| StoreError::Invalid(format!("plan: {e}")))?;
    insert_run(
        tx,
        RunSpec {
            project: &run.project,
            pipeline: &run.pipeline,
            trigger: run.trigger,
            git: &run.git,
            inputs: &run.inputs,
            plan_json: &plan_json,
            jobs,
            concurrency: run.concurrency.as_ref(),
            actor: run.actor.as_deref(),
            rerun_of: None,
            kept: HashMap::new(),
        },
    )
    .await
}

pub(crate) async fn insert_run(tx: &mut Tx, spec: RunSpec<'_>) -> Result<Enqueued> {
    let now = tx.now();
    if let Some(c) = spec.concurrency {
        tx.lock_concurrency_group(spec.project, &c.group).await?;
    }
    let number = tx
        .fetch_one(
            Sql::new(
                "INSERT INTO run_numbers (project, pipeline, last_number) VALUES ($1, $2, 1) \
                 ON CONFLICT (project, pipeline) DO UPDATE SET last_number = run_numbers.last_number + 1 \
                 RETURNING last_number",
            )
            .bind(spec.project)
            .bind(spec.pipeline),
        )
        .await?
        .i64("last_number")?;

    // Without cancel_in_progress, a run waits for every older unfinished run of its group.
    let mut hold_reason = None;
    if let Some(c) = spec.concurrency.filter(|c| !c.cancel_in_progress) {
        let older = tx
            .fetch_optional(
                Sql::new(
                    "SELECT number, pipeline FROM runs WHERE project = $1 AND concurrency_group = $2 \
                     AND status IN ('queued', 'running') ORDER BY id LIMIT 1",
                )
                .bind(spec.project)
                .bind(&c.group),
            )
            .await?;
        if let Some(older) = older {
            hold_reason = Some(format!(
                "waiting for {} run #{} (concurrency group '{}')",
                older.text("pipeline")?,
                older.i64("number")?,
                c.group
            ));
        }
    }
    let held = hold_reason.is_some();

    let inputs = Value::Object(spec.inputs.clone()).to_string();
    let run_id = RunId(
        tx.fetch_one(
            Sql::new(
                "INSERT INTO runs (project, pipeline, number, status, trigger_kind, git_sha, git_branch, git_tag, \
                 git_message, git_author, inputs, concurrency_group, cancel_in_progress, held, reason, rerun_of, \
                 actor, created_at, plan) \
                 VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
                 RETURNING id",
            )
            .bind(spec.project)
            .bind(spec.pipeline)
            .bind(number)
            .bind(spec.trigger.as_str())
            .bind(&spec.git.sha)
            .bind(spec.git.branch.clone())
            .bind(spec.git.tag.clone())
            .bind(&spec.git.message)
            .bind(&spec.git.author)
            .bind(inputs)
            .bind(spec.concurrency.map(|c| c.group.clone()))
            .bind(spec.concurrency.is_some_and(|c| c.cancel_in_progress))
            .bind(held)
            .bind(hold_reason.clone())
            .bind(spec.rerun_of.map(|(id, _)| id.0))
            .bind(spec.actor)
            .bind(now)
            .bind(spec.plan_json),
        )
        .await?
        .i64("id")?,
    );

    insert_jobs(tx, run_id, &spec, now).await?;

    tx.event(
        NewEvent::new(kinds::RUN_QUEUED)
            .project(spec.project)
            .run(run_id)
            .actor(spec.actor)
            .data(json!({
                "number": number,
                "pipeline": spec.pipeline,
                "trigger": spec.trigger.as_str(),
                "sha": spec.git.sha,
                "branch": spec.git.branch,
                "tag": spec.git.tag,
                "jobs": spec.jobs.len(),
                "kept": spec.kept.len(),
                "held": held,
                "concurrency_group": spec.concurrency.map(|c| c.group.clone()),
                "rerun_of": spec.rerun_of.map(|(id, _)| id.0),
            })),
    );

    let mut superseded = Vec::new();
    if let Some(c) = spec.concurrency.filter(|c| c.cancel_in_progress) {
        let older = tx
            .fetch_all(
                Sql::new(
                    "SELECT id FROM runs WHERE project = $1 AND concurrency_group = $2 \
                     AND status IN ('queued', 'running') AND id < $3 ORDER BY id",
                )
                .bind(spec.project)
                .bind(&c.group)
                .bind(run_id),
            )
            .await?;
        let reason = format!("superseded by {} run #{number}", spec.pipeline);
        for row in older {
            let old = RunId(row.i64("id")?);
            superseded.push(cancel::cancel_locked(tx, old, spec.actor, &reason).await?);
        }
    }

    let head = lock_run(tx, run_id).await?;
    promote(tx, &head).await?;
    // A rerun whose every job was kept would have nothing left to do.
    settle(tx, &head).await?;
    Ok(Enqueued {
        run_id,
        number,
        held,
        superseded,
    })
}

async fn insert_jobs(tx: &mut Tx, run_id: RunId, spec: &RunSpec<'_>, now: i64) -> Result<()> {
    let kept_reason = spec.rerun_of.map(|(_, n)| format!("kept from run #{n}"));
    for (index, job) in spec.jobs.iter().enumerate() {
        let kept = spec.kept.get(&index);
        let status = if kept.is_some() {
            JobStatus::Success
        } else {
            JobStatus::Waiting
        };
        let outputs = kept
            .map(|o| json!(o).to_string())
            .unwrap_or_else(|| "{}".to_string());
        let needs = json!(job.needs).to_string();
        let plan_index =
            i64::try_from(index).map_err(|_| StoreError::Invalid("too many jobs".into()))?;
        tx.execute(
                Sql::new(
                    "INSERT INTO jobs (run_id, plan_index, job_key, job_id, name, needs, status, attempt, max_retry, \
                     continue_on_error, reason, outputs, finished_at, runs_on) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, $11, $12, $13)",
                )
                .bind(run_id)
                .bind(plan_index)
                .bind(&job.key)
                .bind(&job.job_id)
                .bind(&job.name)
                .bind(needs)
                .bind(status.as_str())
                .bind(i64::from(job.max_retry))
                .bind(job.continue_on_error)
                .bind(kept.and(kept_reason.clone()))
                .bind(outputs)
                .bind(kept.map(|_| now))
                .bind(&job.runs_on),
            )
            .await?;
    }
    Ok(())
}

/// A new run with the plan, commit, inputs and concurrency group of a finished one. With
/// `failed_only`, jobs that succeeded keep their result and outputs; the rest run again.
pub(crate) async fn rerun(
    tx: &mut Tx,
    old: RunId,
    failed_only: bool,
    actor: Option<&str>,
) -> Result<Enqueued> {
    let head: RunHead = run_head(tx, old)
        .await?
        .ok_or_else(|| StoreError::not_found("run", old))?;
    if !head.status.is_finished() {
        return Err(StoreError::Conflict(format!(
            "run #{} of {} is still {}; cancel it or wait for it to finish before rerunning",
            head.number, head.pipeline, head.status
        )));
    }
    let row = tx
        .fetch_one(
            Sql::new(
                "SELECT trigger_kind, git_sha, git_branch, git_tag, git_message, git_author, inputs, \
                 concurrency_group, cancel_in_progress, plan FROM runs WHERE id = $1",
            )
            .bind(old),
        )
        .await?;
    let plan_json = row.text("plan")?;
    let plan: Plan = serde_json::from_str(&plan_json)
        .map_err(|e| StoreError::corrupt(format!("plan of run {old}: {e}")))?;
    let jobs = job_specs(&plan)?;
    let git = GitFacts {
        sha: row.text("git_sha")?,
        branch: row.opt_text("git_branch")?,
        tag: row.opt_text("git_tag")?,
        message: row.text("git_message")?,
        author: row.text("git_author")?,
    };
    let inputs: Map<String, Value> = row.json_text("inputs")?;
    let concurrency = row
        .opt_text("concurrency_group")?
        .map(|group| {
            Ok::<_, StoreError>(ConcurrencyGroup {
                group,
                cancel_in_progress: row.bool("cancel_in_progress")?,
            })
        })
        .transpose()?;

    let mut kept = HashMap::new();
    if failed_only {
        let rows = tx
            .fetch_all(
                Sql::new("SELECT plan_index, status, outputs FROM jobs WHERE run_id = $1")
                    .bind(old),
            )
            .await?;
        let mut succeeded = HashMap::new();
        for r in &rows {
            if r.parse::<JobStatus>("status")? == JobStatus::Success {
                succeeded.insert(
                    r.unsigned::<usize>("plan_index")?,
                    r.json_text::<IndexMap<String, String>>("outputs")?,
                );
            }
        }
        kept = kept_jobs(&jobs, succeeded);
        if kept.len() >= jobs.len() {
            return Err(StoreError::Conflict(format!(
                "run #{} of {} has no failed, cancelled or skipped job to rerun",
                head.number, head.pipeline
            )));
        }
    }
    insert_run(
        tx,
        RunSpec {
            project: &head.project,
            pipeline: &head.pipeline,
            trigger: row.parse("trigger_kind")?,
            git: &git,
            inputs: &inputs,
            plan_json: &plan_json,
            jobs,
            concurrency: concurrency.as_ref(),
            actor,
            rerun_of: Some((old, head.number)),
            kept,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(needs: &[usize]) -> JobSpec {
        JobSpec {
            key: String::new(),
            job_id: String::new(),
            name: String::new(),
            needs: needs.to_vec(),
            max_retry: 0,
            continue_on_error: false,
            runs_on: String::new(),
        }
    }

    #[test]
    fn failed_only_reruns_dependents_of_rerun_jobs() {
        // 0 failed; 1 (needs 0, ran with always()) succeeded; 2 succeeded alone; 3 needs 2.
        let jobs = [spec(&[]), spec(&[0]), spec(&[]), spec(&[2])];
        let succeeded: HashMap<usize, IndexMap<String, String>> = [1, 2, 3]
            .into_iter()
            .map(|i| (i, IndexMap::new()))
            .collect();
        let mut kept: Vec<usize> = kept_jobs(&jobs, succeeded).into_keys().collect();
        kept.sort();
        assert_eq!(kept, vec![2, 3]);
    }
}
