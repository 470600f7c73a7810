//! The dispatcher: claims ready jobs from the store's run queue for the server's own
//! executor pool (up to `parallelism` at once), runs each through the engine, streams
//! its log to the log files, keeps its lease alive, and records how it ended. Waiting
//! jobs become ready in the store when their needs finish; the dispatcher only ever
//! sees ready ones.

pub(crate) mod job;
pub(crate) mod outcome;
mod pump;
mod sessions;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gantry_engine::RunControl;
use gantry_store::{JobId, Route, RunId};
use tokio::task::JoinSet;

use crate::live::Change;
use crate::state::ServerState;

pub use sessions::Sessions;

/// The owner name the server's own pool claims jobs as (agents use their own names).
pub const OWNER: &str = "server";
/// How long a claimed job may go without a lease renewal before it counts as lost.
pub const LEASE: Duration = Duration::from_secs(30);
/// How often a running job's lease is renewed (and cancellation polled from the store).
pub const RENEW_EVERY: Duration = Duration::from_secs(2);

/// Running jobs' cancellation handles, so a cancel from the API stops them at once.
#[derive(Debug, Default, Clone)]
pub struct Running {
    jobs: Arc<Mutex<HashMap<JobId, (RunId, RunControl)>>>,
}

impl Running {
    fn insert(&self, job: JobId, run: RunId, control: RunControl) {
        if let Ok(mut m) = self.jobs.lock() {
            m.insert(job, (run, control));
        }
    }

    fn remove(&self, job: JobId) {
        if let Ok(mut m) = self.jobs.lock() {
            m.remove(&job);
        }
    }

    /// Cancels every running job of `run`; returns how many.
    pub fn cancel_run(&self, run: RunId) -> usize {
        let Ok(m) = self.jobs.lock() else { return 0 };
        let mut n = 0;
        for (r, control) in m.values() {
            if *r == run {
                control.cancel.cancel();
                n += 1;
            }
        }
        n
    }

    pub fn len(&self) -> usize {
        self.jobs.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cancels everything (server shutdown).
    pub fn cancel_all(&self) {
        if let Ok(m) = self.jobs.lock() {
            for (_, control) in m.values() {
                control.cancel.cancel();
            }
        }
    }
}

/// Runs the dispatch loop until `shutdown` is cancelled, then cancels running jobs and
/// waits for them to record their results.
pub async fn run(state: Arc<ServerState>, shutdown: tokio_util::sync::CancellationToken) {
    let mut changes = state.hub.subscribe();
    let mut tasks: JoinSet<()> = JoinSet::new();
    // Cheap (an indexed query), and an agent's lost job should move on within about a
    // second of its lease ending.
    let mut expiry_check = tokio::time::interval(Duration::from_secs(1));
    // A backstop for claims: on PostgreSQL a claim may skip jobs another transaction
    // holds at that instant, and nothing else would ask again.
    let mut claim_tick = tokio::time::interval(Duration::from_secs(1));
    // Claim only when something may have become ready (a run queued, a job finished),
    // not on every notice: log notices arrive many times a second.
    let mut claim = true;
    loop {
        let free = state.parallelism.saturating_sub(tasks.len());
        // With `unlabeled_jobs: agents` the server's pool runs only deploy jobs (routed to
        // it); jobs with `runs_on` are never its to take (the claim leaves them to agents).
        if claim && free > 0 {
            claim = false;
            let route = Route::server_pool(state.agents.settings().server_runs_unlabeled());
            match state
                .store
                .claim_jobs_routed(OWNER, &route, free, LEASE)
                .await
            {
                Ok(claimed) => {
                    for c in claimed {
                        state.hub.publish(Change::Run(c.run_id));
                        let s = state.clone();
                        tasks.spawn(async move { job::run_claimed(s, c).await });
                    }
                }
                Err(e) => tracing::error!("claiming jobs failed: {e}"),
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => claim = true,
            change = changes.recv() => match change {
                Ok(Change::Cancel(run)) => { state.running.cancel_run(run); }
                Ok(Change::Enqueued) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => claim = true,
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
            _ = claim_tick.tick() => claim = true,
            _ = expiry_check.tick() => {
                // Jobs whose owner stopped renewing (another server process that died,
                // later agents) are queued again or failed.
                match state.store.requeue_expired_leases(jiff::Timestamp::now()).await {
                    Ok(r) => {
                        if !r.requeued.is_empty() {
                            claim = true;
                            // Agents waiting in a poll take them too.
                            state.hub.publish(Change::Enqueued);
                        }
                        for (run, status) in r.settled_runs {
                            state.run_finished(run, status).await;
                        }
                    }
                    Err(e) => tracing::error!("requeueing expired leases failed: {e}"),
                }
            }
        }
    }
    state.running.cancel_all();
    while tasks.join_next().await.is_some() {}
}
