//! Jobs whose holder is gone — the server crashed while running them, or an agent's lease
//! ran out: each goes back to the queue for another attempt while its retries allow, else
//! fails; the runs then settle, so no run stays running forever.

use serde_json::json;

use super::{lock_run, promote, settle};
use crate::db::{Db, Result, Sql, Tx};
use crate::model::{NewEvent, Recovery, kinds};
use crate::types::{JobId, JobStatus, RunId};

/// Which running jobs count as lost.
#[derive(Debug, Clone)]
pub(crate) enum Lost {
    /// Held by this owner (the restarted server's own name, or `agent:<name>` when an
    /// agent registers again).
    Owner(String),
    /// Their lease ended before this instant (UTC milliseconds).
    LeaseEndedBefore(i64),
}

impl Lost {
    /// Why a job held by `holder` was lost.
    fn reason(&self, holder: Option<&str>) -> &'static str {
        let agent = holder.is_some_and(|h| h.starts_with("agent:"));
        match self {
            // An agent's jobs are recovered when its new process registers.
            Lost::Owner(_) if agent => "agent restarted",
            Lost::Owner(_) => "server restarted",
            // An agent that stops renewing is dead or cut off: say so, not just how.
            Lost::LeaseEndedBefore(_) if agent => "agent lost (its lease expired)",
            Lost::LeaseEndedBefore(_) => "lease expired",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct LostJob {
    pub id: JobId,
    pub run_id: RunId,
    pub fencing_token: i64,
}

/// The lost jobs as they are now, grouped by run (ascending) by the caller.
pub(crate) async fn find_lost(db: &Db, lost: &Lost) -> Result<Vec<LostJob>> {
    let sql = match lost {
        Lost::Owner(owner) => Sql::new(
            "SELECT id, run_id, fencing_token FROM jobs WHERE status = 'running' AND owner = $1 ORDER BY run_id, id",
        )
        .bind(owner.as_str()),
        Lost::LeaseEndedBefore(now) => Sql::new(
            "SELECT id, run_id, fencing_token FROM jobs WHERE status = 'running' AND lease_expires_at < $1 \
             ORDER BY run_id, id",
        )
        .bind(*now),
    };
    db.fetch_all(sql)
        .await?
        .iter()
        .map(|r| {
            Ok(LostJob {
                id: JobId(r.i64("id")?),
                run_id: RunId(r.i64("run_id")?),
                fencing_token: r.i64("fencing_token")?,
            })
        })
        .collect()
}

/// Recovers the lost jobs of one run in one transaction. A job that was finished,
/// re-claimed or had its lease extended since `find_lost` saw it is left alone.
pub(crate) async fn recover_run(
    tx: &mut Tx,
    run: RunId,
    jobs: &[LostJob],
    lost: &Lost,
    out: &mut Recovery,
) -> Result<()> {
    let head = lock_run(tx, run).await?;
    let now = tx.now();
    for job in jobs {
        let Some(row) = tx
            .fetch_optional(
                Sql::new(
                    "SELECT status, fencing_token, attempt, max_retry, job_key, owner, lease_expires_at \
                     FROM jobs WHERE id = $1",
                )
                .bind(job.id),
            )
            .await?
        else {
            continue;
        };
        let still_lost = row.parse::<JobStatus>("status")? == JobStatus::Running
            && row.i64("fencing_token")? == job.fencing_token
            && match lost {
                Lost::Owner(owner) => row.opt_text("owner")?.as_deref() == Some(owner.as_str()),
                Lost::LeaseEndedBefore(t) => {
                    row.opt_i64("lease_expires_at")?.is_some_and(|l| l < *t)
                }
            };
        let reason = lost.reason(row.opt_text("owner")?.as_deref());
        if !still_lost {
            continue;
        }
        let key = row.text("job_key")?;
        let attempt = row.i64("attempt")?;
        let event = NewEvent::new(kinds::JOB_FINISHED)
            .project(&head.project)
            .run(run)
            .job(job.id);
        if head.cancel_requested {
            finish_lost(tx, job.id, "cancelled", "cancelled", now).await?;
            tx.event(event.data(
                json!({ "key": key, "result": "cancelled", "reason": reason, "attempt": attempt }),
            ));
            out.cancelled.push(job.id);
        } else if attempt <= row.i64("max_retry")? {
            tx.execute(
                Sql::new(
                    "UPDATE jobs SET status = 'queued', attempt = attempt + 1, owner = NULL, lease_expires_at = NULL, \
                     started_at = NULL, queued_at = $2, reason = $3 WHERE id = $1",
                )
                .bind(job.id)
                .bind(now)
                .bind(format!("attempt {attempt} lost: {reason}")),
            )
            .await?;
            tx.event(
                NewEvent::new(kinds::JOB_REQUEUED)
                    .project(&head.project)
                    .run(run)
                    .job(job.id)
                    .data(json!({ "key": key, "attempt": attempt + 1, "reason": reason })),
            );
            out.requeued.push(job.id);
        } else {
            finish_lost(tx, job.id, "failure", reason, now).await?;
            tx.event(event.data(
                json!({ "key": key, "result": "failure", "reason": reason, "attempt": attempt }),
            ));
            out.failed.push(job.id);
        }
    }
    promote(tx, &head).await?;
    if let Some(status) = settle(tx, &head).await? {
        out.settled_runs.push((run, status));
    }
    Ok(())
}

async fn finish_lost(tx: &mut Tx, job: JobId, status: &str, reason: &str, now: i64) -> Result<()> {
    tx.execute(
        Sql::new("UPDATE jobs SET status = $2, reason = $3, finished_at = $4, lease_expires_at = NULL WHERE id = $1")
            .bind(job)
            .bind(status)
            .bind(reason)
            .bind(now),
    )
    .await?;
    Ok(())
}

/// Unfinished runs with no unfinished job: nothing would ever settle them otherwise.
pub(crate) async fn stuck_runs(db: &Db) -> Result<Vec<RunId>> {
    db.fetch_all(Sql::new(
        "SELECT r.id FROM runs r WHERE r.status IN ('queued', 'running') AND NOT EXISTS \
         (SELECT 1 FROM jobs j WHERE j.run_id = r.id AND j.status IN ('waiting', 'queued', 'running')) ORDER BY r.id",
    ))
    .await?
    .iter()
    .map(|r| Ok(RunId(r.i64("id")?)))
    .collect()
}

pub(crate) async fn settle_stuck(tx: &mut Tx, run: RunId, out: &mut Recovery) -> Result<()> {
    let head = lock_run(tx, run).await?;
    if let Some(status) = settle(tx, &head).await? {
        out.settled_runs.push((run, status));
    }
    Ok(())
}
