//! The run queue: enqueueing, claiming, finishing, cancelling, rerunning and recovering
//! jobs, each one transaction that also appends its events. This module holds the pieces
//! they share: locking a run, promoting waiting jobs, settling a run's final status, and
//! handing a concurrency group to its next held run.
//!
//! The rule that keeps the store simple: it moves a waiting job to queued only when every
//! job it needs has finished (whatever the result). Deciding whether a job should run or be
//! skipped (`if:`, failed needs) is the dispatcher's, when it claims the job.

pub(crate) mod cancel;
pub(crate) mod claim;
pub(crate) mod enqueue;
pub(crate) mod finish;
pub(crate) mod recover;
pub(crate) mod route;

use std::collections::HashMap;

use serde_json::json;

use crate::db::{Result, Row, Sql, Tx};
use crate::error::StoreError;
use crate::model::{NewEvent, kinds};
use crate::types::{JobId, JobStatus, RunId, RunStatus};

/// The columns of a run that queue decisions depend on.
#[derive(Debug, Clone)]
pub(crate) struct RunHead {
    pub id: RunId,
    pub project: String,
    pub pipeline: String,
    pub number: i64,
    pub status: RunStatus,
    pub group: Option<String>,
    pub held: bool,
    pub cancel_requested: bool,
    pub created_at: i64,
}

const RUN_HEAD: &str = "SELECT id, project, pipeline, number, status, concurrency_group, held, cancel_requested, \
                        created_at FROM runs WHERE id = $1";

fn run_head_from(row: &Row) -> Result<RunHead> {
    Ok(RunHead {
        id: RunId(row.i64("id")?),
        project: row.text("project")?,
        pipeline: row.text("pipeline")?,
        number: row.i64("number")?,
        status: row.parse("status")?,
        group: row.opt_text("concurrency_group")?,
        held: row.bool("held")?,
        cancel_requested: row.bool("cancel_requested")?,
        created_at: row.i64("created_at")?,
    })
}

pub(crate) async fn run_head(tx: &mut Tx, run: RunId) -> Result<Option<RunHead>> {
    tx.fetch_optional(Sql::new(RUN_HEAD).bind(run))
        .await?
        .as_ref()
        .map(run_head_from)
        .transpose()
}

/// Takes the locks a change to `run` needs — its concurrency group's, then its row — and
/// reads the run afresh under them.
pub(crate) async fn lock_run(tx: &mut Tx, run: RunId) -> Result<RunHead> {
    // Project and group never change, so reading them before locking is safe.
    let head = run_head(tx, run)
        .await?
        .ok_or_else(|| StoreError::not_found("run", run))?;
    if let Some(group) = &head.group {
        tx.lock_concurrency_group(&head.project, group).await?;
    }
    tx.lock_run(run).await?;
    run_head(tx, run)
        .await?
        .ok_or_else(|| StoreError::not_found("run", run))
}

/// What promotion and settling need to know about each job of a run.
#[derive(Debug, Clone)]
pub(crate) struct JobState {
    pub id: JobId,
    pub index: usize,
    pub key: String,
    pub needs: Vec<usize>,
    pub status: JobStatus,
    pub continue_on_error: bool,
}

pub(crate) async fn job_states(tx: &mut Tx, run: RunId) -> Result<Vec<JobState>> {
    let rows = tx
        .fetch_all(
            Sql::new(
                "SELECT id, plan_index, job_key, needs, status, continue_on_error FROM jobs \
                 WHERE run_id = $1 ORDER BY plan_index",
            )
            .bind(run),
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(JobState {
                id: JobId(r.i64("id")?),
                index: r.unsigned("plan_index")?,
                key: r.text("job_key")?,
                needs: r.json_text("needs")?,
                status: r.parse("status")?,
                continue_on_error: r.bool("continue_on_error")?,
            })
        })
        .collect()
}

/// The waiting jobs whose needs have all finished.
pub(crate) fn promotable(jobs: &[JobState]) -> Result<Vec<&JobState>> {
    let status: HashMap<usize, JobStatus> = jobs.iter().map(|j| (j.index, j.status)).collect();
    let mut out = Vec::new();
    for job in jobs.iter().filter(|j| j.status == JobStatus::Waiting) {
        let mut ready = true;
        for need in &job.needs {
            match status.get(need) {
                Some(s) => ready &= s.is_finished(),
                None => {
                    return Err(StoreError::corrupt(format!(
                        "job {} needs plan index {need}, which the run does not have",
                        job.id
                    )));
                }
            }
        }
        if ready {
            out.push(job);
        }
    }
    Ok(out)
}

/// A finished run's status: cancelled when cancelling was requested; failure when a job
/// failed without `continue_on_error`; cancelled when a job was cancelled; else success.
/// (The same rule as `gantry run`.)
pub(crate) fn final_status(cancel_requested: bool, jobs: &[JobState]) -> RunStatus {
    if cancel_requested {
        RunStatus::Cancelled
    } else if jobs
        .iter()
        .any(|j| j.status == JobStatus::Failure && !j.continue_on_error)
    {
        RunStatus::Failure
    } else if jobs.iter().any(|j| j.status == JobStatus::Cancelled) {
        RunStatus::Cancelled
    } else {
        RunStatus::Success
    }
}

/// Queues every waiting job of the run whose needs have all finished, unless the run is
/// held, being cancelled or finished.
pub(crate) async fn promote(tx: &mut Tx, head: &RunHead) -> Result<Vec<JobId>> {
    if head.held || head.cancel_requested || head.status.is_finished() {
        return Ok(Vec::new());
    }
    // Most finishes in a wide run promote nothing: ask the index before reading every
    // job of the run (thousands in a big matrix).
    if !any_job_in(tx, head.id, "('waiting')").await? {
        return Ok(Vec::new());
    }
    let jobs = job_states(tx, head.id).await?;
    let ready: Vec<(JobId, String)> = promotable(&jobs)?
        .into_iter()
        .map(|j| (j.id, j.key.clone()))
        .collect();
    let now = tx.now();
    let mut promoted = Vec::new();
    for (id, key) in ready {
        let n = tx
            .execute(
                Sql::new("UPDATE jobs SET status = 'queued', queued_at = $2 WHERE id = $1 AND status = 'waiting'")
                    .bind(id)
                    .bind(now),
            )
            .await?;
        if n == 1 {
            tx.event(
                NewEvent::new(kinds::JOB_QUEUED)
                    .project(&head.project)
                    .run(head.id)
                    .job(id)
                    .data(json!({ "key": key, "attempt": 1 })),
            );
            promoted.push(id);
        }
    }
    Ok(promoted)
}

/// Gives the run its final status when every job has finished, and then lets the next
/// held run of its concurrency group go. `None` while jobs are unfinished.
pub(crate) async fn settle(tx: &mut Tx, head: &RunHead) -> Result<Option<RunStatus>> {
    if head.status.is_finished() {
        return Ok(None);
    }
    if any_job_in(tx, head.id, "('waiting', 'queued', 'running')").await? {
        return Ok(None);
    }
    let jobs = job_states(tx, head.id).await?;
    if jobs.iter().any(|j| !j.status.is_finished()) {
        return Ok(None);
    }
    let status = final_status(head.cancel_requested, &jobs);
    let now = tx.now();
    tx.execute(
        Sql::new("UPDATE runs SET status = $2, finished_at = $3, held = FALSE WHERE id = $1")
            .bind(head.id)
            .bind(status.as_str())
            .bind(now),
    )
    .await?;
    tx.event(
        NewEvent::new(kinds::RUN_FINISHED)
            .project(&head.project)
            .run(head.id)
            .data(json!({
                "status": status.as_str(),
                "number": head.number,
                "pipeline": head.pipeline,
                "duration_ms": now.saturating_sub(head.created_at),
            })),
    );
    if let Some(group) = &head.group {
        release_next_in_group(tx, &head.project, group).await?;
    }
    Ok(Some(status))
}

/// When the oldest unfinished run of a concurrency group is held, its turn has come:
/// unhold it and queue its first jobs. The caller holds the group's lock.
pub(crate) async fn release_next_in_group(tx: &mut Tx, project: &str, group: &str) -> Result<()> {
    let next = tx
        .fetch_optional(
            Sql::new(
                "SELECT id FROM runs WHERE project = $1 AND concurrency_group = $2 \
                 AND status IN ('queued', 'running') ORDER BY id LIMIT 1",
            )
            .bind(project)
            .bind(group),
        )
        .await?;
    let Some(next) = next else { return Ok(()) };
    let id = RunId(next.i64("id")?);
    tx.lock_run(id).await?;
    let Some(mut head) = run_head(tx, id).await? else {
        return Ok(());
    };
    if !head.held {
        return Ok(());
    }
    tx.execute(Sql::new("UPDATE runs SET held = FALSE, reason = NULL WHERE id = $1").bind(id))
        .await?;
    head.held = false;
    tx.event(
        NewEvent::new(kinds::RUN_RELEASED)
            .project(&head.project)
            .run(id)
            .data(json!({ "number": head.number, "concurrency_group": group })),
    );
    promote(tx, &head).await?;
    Ok(())
}

/// Whether run `run` has a job in one of `statuses` (a constant SQL list), from the
/// `jobs_unfinished` index rather than by reading the run's jobs.
async fn any_job_in(tx: &mut Tx, run: RunId, statuses: &'static str) -> Result<bool> {
    let sql =
        format!("SELECT 1 AS one FROM jobs WHERE run_id = $1 AND status IN {statuses} LIMIT 1");
    Ok(tx
        .fetch_optional(Sql::assembled(sql).bind(run))
        .await?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(index: usize, needs: &[usize], status: JobStatus) -> JobState {
        JobState {
            id: JobId(index as i64 + 100),
            index,
            key: format!("j{index}"),
            needs: needs.to_vec(),
            status,
            continue_on_error: false,
        }
    }

    #[test]
    fn promotes_only_when_every_need_finished() {
        let jobs = vec![
            job(0, &[], JobStatus::Success),
            job(1, &[], JobStatus::Running),
            job(2, &[0], JobStatus::Waiting),
            job(3, &[0, 1], JobStatus::Waiting),
            job(4, &[], JobStatus::Waiting),
        ];
        let ready: Vec<usize> = promotable(&jobs)
            .ok()
            .unwrap_or_default()
            .iter()
            .map(|j| j.index)
            .collect();
        assert_eq!(ready, vec![2, 4]);
    }

    #[test]
    fn failed_needs_still_promote() {
        let jobs = vec![
            job(0, &[], JobStatus::Failure),
            job(1, &[0], JobStatus::Waiting),
        ];
        assert_eq!(promotable(&jobs).ok().map(|v| v.len()), Some(1));
    }

    #[test]
    fn missing_need_is_corrupt() {
        let jobs = vec![job(0, &[7], JobStatus::Waiting)];
        assert!(matches!(promotable(&jobs), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn final_status_rules() {
        let ok = [
            job(0, &[], JobStatus::Success),
            job(1, &[], JobStatus::Skipped),
        ];
        assert_eq!(final_status(false, &ok), RunStatus::Success);
        assert_eq!(final_status(true, &ok), RunStatus::Cancelled);
        let failed = [
            job(0, &[], JobStatus::Failure),
            job(1, &[], JobStatus::Cancelled),
        ];
        assert_eq!(final_status(false, &failed), RunStatus::Failure);
        let mut tolerated = job(0, &[], JobStatus::Failure);
        tolerated.continue_on_error = true;
        assert_eq!(
            final_status(false, &[tolerated.clone()]),
            RunStatus::Success
        );
        assert_eq!(
            final_status(false, &[tolerated, job(1, &[], JobStatus::Cancelled)]),
            RunStatus::Cancelled
        );
    }
}
