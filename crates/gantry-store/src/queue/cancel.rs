//! Cancelling a run: its waiting and queued jobs are cancelled at once; running jobs are
//! returned so the caller can stop them, and the run settles as cancelled when they report.

use serde_json::json;

use super::{lock_run, settle};
use crate::db::{Result, Sql, Tx};
use crate::model::{CancelledRun, NewEvent, RunningJob, kinds};
use crate::types::{JobId, RunId, RunStatus};

pub(crate) async fn cancel_run(
    tx: &mut Tx,
    run: RunId,
    actor: Option<&str>,
) -> Result<CancelledRun> {
    let reason = match actor {
        Some(who) => format!("cancelled by {who}"),
        None => "cancelled".to_string(),
    };
    cancel_locked(tx, run, actor, &reason).await
}

/// Cancels `run` with `reason` (also used when a newer run of the concurrency group
/// supersedes it). A finished run is left as it is.
pub(crate) async fn cancel_locked(
    tx: &mut Tx,
    run: RunId,
    actor: Option<&str>,
    reason: &str,
) -> Result<CancelledRun> {
    let mut head = lock_run(tx, run).await?;
    if head.status.is_finished() {
        return Ok(CancelledRun {
            run_id: run,
            number: head.number,
            status: head.status,
            cancelled_jobs: Vec::new(),
            running_jobs: Vec::new(),
        });
    }
    let now = tx.now();
    if !head.cancel_requested {
        tx.execute(
            Sql::new(
                "UPDATE runs SET cancel_requested = TRUE, held = FALSE, reason = $2 WHERE id = $1",
            )
            .bind(run)
            .bind(reason),
        )
        .await?;
        head.cancel_requested = true;
        head.held = false;
        tx.event(
            NewEvent::new(kinds::RUN_CANCEL_REQUESTED)
                .project(&head.project)
                .run(run)
                .actor(actor)
                .data(json!({ "reason": reason, "number": head.number })),
        );
    }
    let rows = tx
        .fetch_all(
            Sql::new(
                "UPDATE jobs SET status = 'cancelled', reason = $2, finished_at = $3 \
                 WHERE run_id = $1 AND status IN ('waiting', 'queued') RETURNING id, job_key",
            )
            .bind(run)
            .bind(reason)
            .bind(now),
        )
        .await?;
    let mut cancelled = Vec::with_capacity(rows.len());
    for row in &rows {
        cancelled.push((JobId(row.i64("id")?), row.text("job_key")?));
    }
    // RETURNING order is unspecified; events go in job order.
    cancelled.sort();
    for (id, key) in &cancelled {
        tx.event(
            NewEvent::new(kinds::JOB_CANCELLED)
                .project(&head.project)
                .run(run)
                .job(*id)
                .actor(actor)
                .data(json!({ "key": key, "reason": reason })),
        );
    }
    let running = tx
        .fetch_all(
            Sql::new(
                "SELECT id, job_key, owner, fencing_token FROM jobs WHERE run_id = $1 AND status = 'running' ORDER BY id",
            )
            .bind(run),
        )
        .await?
        .iter()
        .map(|r| {
            Ok(RunningJob {
                job_id: JobId(r.i64("id")?),
                key: r.text("job_key")?,
                owner: r.opt_text("owner")?,
                fencing_token: r.i64("fencing_token")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let status = settle(tx, &head).await?.unwrap_or(RunStatus::Running);
    Ok(CancelledRun {
        run_id: run,
        number: head.number,
        status,
        cancelled_jobs: cancelled.into_iter().map(|(id, _)| id).collect(),
        running_jobs: running,
    })
}
