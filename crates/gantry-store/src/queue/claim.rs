//! Claiming queued jobs (oldest first, of the routes the claimer takes; see `route.rs`)
//! for an owner with a lease and a new fencing token, and extending that lease. Two
//! claimers never get the same job: on SQLite the claim is one statement inside the single
//! writer's transaction; on PostgreSQL the candidate rows are locked with `SKIP LOCKED`, so
//! concurrent claimers take different jobs and never wait.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::route;
use crate::db::{Result, Sql, Tx};
use crate::error::StoreError;
use crate::model::{ClaimedJob, LeaseStatus, NewEvent, Route, kinds};
use crate::time::from_ms;
use crate::types::{JobId, RunId};

struct Claimed {
    id: JobId,
    run_id: RunId,
    index: usize,
    key: String,
    name: String,
    attempt: u32,
    fencing_token: i64,
}

pub(crate) async fn claim_jobs(
    tx: &mut Tx,
    owner: &str,
    route: &Route,
    limit: usize,
    lease_ms: i64,
) -> Result<Vec<ClaimedJob>> {
    if owner.trim().is_empty() {
        return Err(StoreError::Invalid("claim owner must not be empty".into()));
    }
    if limit == 0 {
        return Ok(Vec::new());
    }
    let keys = route::keys_to_claim(tx, route, limit).await?;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let now = tx.now();
    let until = now.saturating_add(lease_ms);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let sql = route::claim_sql(tx.backend(), &keys, owner, until, now, limit);
    let rows = tx.fetch_all(sql).await?;
    let mut claimed = rows
        .iter()
        .map(|r| {
            Ok(Claimed {
                id: JobId(r.i64("id")?),
                run_id: RunId(r.i64("run_id")?),
                index: r.unsigned("plan_index")?,
                key: r.text("job_key")?,
                name: r.text("name")?,
                attempt: r.unsigned("attempt")?,
                fencing_token: r.i64("fencing_token")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    claimed.sort_by_key(|c| c.id);

    let mut runs = BTreeMap::new();
    for run_id in claimed.iter().map(|c| c.run_id).collect::<BTreeSet<_>>() {
        let started = tx
            .execute(
                Sql::new("UPDATE runs SET status = 'running', started_at = $2 WHERE id = $1 AND status = 'queued'")
                    .bind(run_id)
                    .bind(now),
            )
            .await?;
        let row = tx
            .fetch_one(
                Sql::new("SELECT project, pipeline, number FROM runs WHERE id = $1").bind(run_id),
            )
            .await?;
        let (project, pipeline, number) = (
            row.text("project")?,
            row.text("pipeline")?,
            row.i64("number")?,
        );
        if started == 1 {
            tx.event(
                NewEvent::new(kinds::RUN_STARTED)
                    .project(&project)
                    .run(run_id)
                    .data(json!({ "number": number, "pipeline": pipeline })),
            );
        }
        runs.insert(run_id, (project, pipeline, number));
    }

    let lease_expires_at = from_ms(until)?;
    let mut out = Vec::with_capacity(claimed.len());
    for c in claimed {
        let Some((project, pipeline, number)) = runs.get(&c.run_id) else {
            continue;
        };
        tx.event(
            NewEvent::new(kinds::JOB_STARTED)
                .project(project)
                .run(c.run_id)
                .job(c.id)
                .data(json!({
                    "key": c.key,
                    "attempt": c.attempt,
                    "owner": owner,
                    "fencing_token": c.fencing_token,
                })),
        );
        out.push(ClaimedJob {
            job_id: c.id,
            run_id: c.run_id,
            index: c.index,
            key: c.key,
            name: c.name,
            attempt: c.attempt,
            fencing_token: c.fencing_token,
            lease_expires_at,
            project: project.clone(),
            pipeline: pipeline.clone(),
            run_number: *number,
        });
    }
    Ok(out)
}

/// Moves a running job's lease to `now + lease_ms` if `fencing_token` is still current.
/// A heartbeat, not a state change: it appends no event.
pub(crate) async fn extend_lease(
    tx: &mut Tx,
    job: JobId,
    fencing_token: i64,
    lease_ms: i64,
) -> Result<LeaseStatus> {
    let until = tx.now().saturating_add(lease_ms);
    let n = tx
        .execute(
            Sql::new(
                "UPDATE jobs SET lease_expires_at = $3 WHERE id = $1 AND fencing_token = $2 AND status = 'running'",
            )
            .bind(job)
            .bind(fencing_token)
            .bind(until),
        )
        .await?;
    if n == 0 {
        return Err(stale(tx, job, fencing_token).await);
    }
    let row = tx
        .fetch_one(
            Sql::new("SELECT r.cancel_requested FROM jobs j JOIN runs r ON r.id = j.run_id WHERE j.id = $1").bind(job),
        )
        .await?;
    Ok(LeaseStatus {
        lease_expires_at: from_ms(until)?,
        cancel_requested: row.bool("cancel_requested")?,
    })
}

/// The error for a report about `job` carrying a token that is not (or no longer) valid.
pub(crate) async fn stale(tx: &mut Tx, job: JobId, presented: i64) -> StoreError {
    let row = match tx
        .fetch_optional(Sql::new("SELECT status, fencing_token FROM jobs WHERE id = $1").bind(job))
        .await
    {
        Ok(Some(row)) => row,
        Ok(None) => return StoreError::not_found("job", job),
        Err(e) => return e,
    };
    match (row.text("status"), row.i64("fencing_token")) {
        (Ok(status), Ok(current)) => StoreError::StaleFencingToken {
            job_id: job.0,
            presented,
            current,
            status,
        },
        (Err(e), _) | (_, Err(e)) => e,
    }
}
