//! Finishing a job: checked against its fencing token, recorded with its steps and
//! outputs, then the jobs waiting for it are queued and the run settles if it was the last.

use std::collections::HashSet;

use serde_json::json;

use super::{lock_run, promote, settle};
use crate::db::{Result, Sql, Tx};
use crate::error::StoreError;
use crate::model::{FinishedJob, JobOutcome, NewEvent, kinds};
use crate::types::{JobId, JobStatus, RunId};

pub(crate) async fn finish_job(
    tx: &mut Tx,
    job: JobId,
    fencing_token: i64,
    outcome: &JobOutcome,
) -> Result<FinishedJob> {
    let mut seen = HashSet::new();
    if let Some(dup) = outcome.steps.iter().find(|s| !seen.insert(s.index)) {
        return Err(StoreError::Invalid(format!(
            "step index {} is reported twice",
            dup.index
        )));
    }
    let run_id = RunId(
        tx.fetch_optional(Sql::new("SELECT run_id FROM jobs WHERE id = $1").bind(job))
            .await?
            .ok_or_else(|| StoreError::not_found("job", job))?
            .i64("run_id")?,
    );
    // Under the run's lock nothing else changes this job's status or token (claiming only
    // touches queued jobs), so the check below holds until commit.
    let head = lock_run(tx, run_id).await?;
    let row = tx
        .fetch_one(Sql::new("SELECT status, fencing_token, attempt, job_key, started_at FROM jobs WHERE id = $1").bind(job))
        .await?;
    let status: JobStatus = row.parse("status")?;
    let current = row.i64("fencing_token")?;
    if status != JobStatus::Running || current != fencing_token {
        return Err(StoreError::StaleFencingToken {
            job_id: job.0,
            presented: fencing_token,
            current,
            status: status.to_string(),
        });
    }
    let key = row.text("job_key")?;
    let attempt = row.i64("attempt")?;
    let now = tx.now();
    let duration_ms = row.opt_i64("started_at")?.map(|s| now.saturating_sub(s));
    let outputs = json!(outcome.outputs).to_string();
    tx.execute(
        Sql::new(
            "UPDATE jobs SET status = $2, reason = $3, outputs = $4, finished_at = $5, lease_expires_at = NULL \
             WHERE id = $1",
        )
        .bind(job)
        .bind(outcome.result.as_str())
        .bind(outcome.reason.clone())
        .bind(outputs)
        .bind(now),
    )
    .await?;

    tx.execute(Sql::new("DELETE FROM steps WHERE job_id = $1").bind(job))
        .await?;
    for step in &outcome.steps {
        let index = i64::try_from(step.index)
            .map_err(|_| StoreError::Invalid("step index out of range".into()))?;
        let duration = i64::try_from(step.duration_ms).unwrap_or(i64::MAX);
        tx.execute(
            Sql::new(
                "INSERT INTO steps (job_id, step_index, name, result, outcome, exit_code, duration_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(job)
            .bind(index)
            .bind(&step.name)
            .bind(step.result.as_str())
            .bind(step.outcome.as_str())
            .bind(step.exit_code.map(i64::from))
            .bind(duration),
        )
        .await?;
        tx.event(
            NewEvent::new(kinds::STEP_FINISHED)
                .project(&head.project)
                .run(run_id)
                .job(job)
                .data(json!({
                    "key": key,
                    "index": step.index,
                    "name": step.name,
                    "result": step.result.as_str(),
                    "outcome": step.outcome.as_str(),
                    "exit_code": step.exit_code,
                    "duration_ms": step.duration_ms,
                })),
        );
    }
    tx.event(
        NewEvent::new(kinds::JOB_FINISHED)
            .project(&head.project)
            .run(run_id)
            .job(job)
            .data(json!({
                "key": key,
                "result": outcome.result.as_str(),
                "reason": outcome.reason,
                "attempt": attempt,
                "duration_ms": duration_ms,
            })),
    );

    let promoted = promote(tx, &head).await?;
    let run_status = settle(tx, &head).await?;
    Ok(FinishedJob {
        run_id,
        promoted,
        run_status,
    })
}
