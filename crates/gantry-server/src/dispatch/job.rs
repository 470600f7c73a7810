//! One claimed job, start to finish: decide whether it runs (its needs' results and its
//! `if:`), run it through the run's engine session with its own log channel and
//! cancellation, renew its lease while it runs, then record the outcome with the fencing
//! token it was claimed with — a job that was meanwhile given to someone else cannot
//! overwrite their result.

use std::sync::Arc;
use std::time::Duration;

use gantry_engine::gate::{Gate, NeedResult, failed_above, gate};
use gantry_engine::{JobResult, RunControl};
use gantry_store::{ClaimedJob, JobId, JobOutcome, JobStatus, RunId, StoreError};
use indexmap::IndexMap;
use tokio::sync::mpsc;

use super::outcome::{job_outcome, settled};
use super::pump;
use super::{LEASE, RENEW_EVERY};
use crate::live::Change;
use crate::state::ServerState;

pub(crate) fn job_result(status: JobStatus) -> Option<JobResult> {
    match status {
        JobStatus::Success => Some(JobResult::Success),
        JobStatus::Failure => Some(JobResult::Failure),
        JobStatus::Cancelled => Some(JobResult::Cancelled),
        JobStatus::Skipped => Some(JobResult::Skipped),
        JobStatus::Waiting | JobStatus::Queued | JobStatus::Running => None,
    }
}

pub async fn run_claimed(state: Arc<ServerState>, claimed: ClaimedJob) {
    let outcome = decide_and_run(&state, &claimed).await;
    let _ = finish(
        &state,
        claimed.job_id,
        claimed.run_id,
        claimed.fencing_token,
        outcome,
    )
    .await;
}

async fn decide_and_run(state: &Arc<ServerState>, claimed: &ClaimedJob) -> JobOutcome {
    let run = match state.store.get_run(claimed.run_id).await {
        Ok(Some(run)) => run,
        Ok(None) => return settled(JobResult::Failure, "its run no longer exists".into()),
        Err(e) => return settled(JobResult::Failure, format!("reading its run: {e}")),
    };
    if run.cancel_requested {
        return settled(
            JobResult::Cancelled,
            "run cancelled before the job started".into(),
        );
    }
    let jobs = match state.store.jobs_of_run(run.id).await {
        Ok(jobs) => jobs,
        Err(e) => return settled(JobResult::Failure, format!("reading its run's jobs: {e}")),
    };
    let session = match state.sessions.get(state, &run).await {
        Ok(s) => s,
        Err(e) => {
            pump::write_system_line(
                state,
                claimed.run_id,
                claimed.job_id,
                &format!("preparing the job failed: {e}"),
            )
            .await;
            return settled(JobResult::Failure, e);
        }
    };
    let plan = session.plan().clone();
    let by_index: IndexMap<usize, (JobResult, &IndexMap<String, String>)> = jobs
        .iter()
        .filter_map(|j| job_result(j.status).map(|r| (j.index, (r, &j.outputs))))
        .collect();
    let finished = |n: usize| {
        by_index.get(&n).map(|(result, outputs)| NeedResult {
            result: *result,
            outputs,
        })
    };
    let above = failed_above(&plan, claimed.index, &|n| by_index.get(&n).map(|(r, _)| *r));
    let needs = match gate(&plan, session.contexts(), claimed.index, &finished, above) {
        Gate::Run { needs } => needs,
        Gate::Settle { result, reason } => return settled(result, reason),
    };

    let (log_tx, log_rx) = mpsc::channel(1024);
    let pump = tokio::spawn(pump::pump(state.clone(), claimed.clone(), log_rx));
    let control = RunControl::default();
    state
        .running
        .insert(claimed.job_id, claimed.run_id, control.clone());
    let renewer = tokio::spawn(renew_lease(state.clone(), claimed.clone(), control.clone()));
    if claimed.attempt > 1 {
        let _ = log_tx
            .send(gantry_engine::log::LogLine {
                job: claimed.key.as_str().into(),
                step: None,
                stream: gantry_engine::log::Stream::System,
                ts_ms: u64::try_from(jiff::Timestamp::now().as_millisecond()).unwrap_or(0),
                text: format!(
                    "attempt {}: the previous one was lost when its runner stopped",
                    claimed.attempt
                ),
            })
            .await;
    }
    let report = session
        .run_job(
            claimed.index,
            needs,
            control,
            Some(log_tx),
            // Each earlier attempt used up to `retry + 1` work directories.
            claimed.attempt.saturating_sub(1)
                * (plan.jobs.get(claimed.index).map_or(0, |j| j.retry) + 1),
        )
        .await;
    renewer.abort();
    state.running.remove(claimed.job_id);
    // The channel closes once the job's last line is sent; wait for the pump to write
    // it (bounded: a stray sender kept alive by a bug must not hang the job forever).
    match tokio::time::timeout(Duration::from_secs(30), pump).await {
        Ok(_) => {}
        Err(_) => tracing::warn!(job = %claimed.job_id, "the job's log did not close in 30 s"),
    }
    job_outcome(&report)
}

/// Renews the lease until aborted; cancels the job when the run is being cancelled or
/// the lease was lost (someone else now owns the job).
async fn renew_lease(state: Arc<ServerState>, claimed: ClaimedJob, control: RunControl) {
    let mut tick = tokio::time::interval(RENEW_EVERY);
    tick.tick().await;
    loop {
        tick.tick().await;
        match state
            .store
            .extend_lease(claimed.job_id, claimed.fencing_token, LEASE)
            .await
        {
            Ok(status) if status.cancel_requested => control.cancel.cancel(),
            Ok(_) => {}
            Err(StoreError::StaleFencingToken { .. }) => {
                tracing::warn!(job = %claimed.job_id, "lease lost; stopping the job");
                control.cancel.cancel();
                return;
            }
            // A database hiccup: keep trying; the lease is long enough to ride it out.
            Err(e) => tracing::warn!(job = %claimed.job_id, "renewing the lease failed: {e}"),
        }
    }
}

/// Records how a job ended (for the server's pool and agents alike): a last Gantry
/// line when it never ran a step, the log's completion marker, the outcome with the
/// fencing token, and the notices that follow.
pub(crate) async fn finish(
    state: &Arc<ServerState>,
    job: JobId,
    run: RunId,
    fencing_token: i64,
    outcome: JobOutcome,
) -> Result<(), StoreError> {
    if outcome.steps.is_empty()
        && let Some(reason) = &outcome.reason
    {
        pump::write_system_line(
            state,
            run,
            job,
            &format!("{}: {reason}", outcome.result.as_str()),
        )
        .await;
    }
    pump::complete(state, run, job).await;
    match state.store.finish_job(job, fencing_token, outcome).await {
        Ok(done) => {
            crate::metrics::job_finished(state, job).await;
            state.hub.publish(Change::Run(run));
            if !done.promoted.is_empty() {
                state.hub.publish(Change::Enqueued);
            }
            if let Some(status) = done.run_status {
                state.sessions.close(run).await;
                state.run_finished(run, status).await;
            }
            Ok(())
        }
        Err(e @ StoreError::StaleFencingToken { .. }) => {
            tracing::warn!(job = %job, "result discarded: the job has a newer owner");
            Err(e)
        }
        Err(e) => {
            tracing::error!(job = %job, "recording the job's result failed: {e}");
            Err(e)
        }
    }
}
