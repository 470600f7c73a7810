//! The live hub: an in-process broadcast of "this changed" notices (a run's or job's
//! state, new log bytes of a job) that SSE streams and the dispatcher subscribe to.
//! Notices carry ids, not data: a subscriber reads the current state from the store or
//! the log files, so a slow subscriber that misses notices only skips intermediate
//! states, it never shows a wrong one.

use gantry_store::{DeploymentId, JobId, RunId};
use tokio::sync::broadcast;

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A run or one of its jobs changed state.
    Run(RunId),
    /// A job's log grew to `offset` bytes (or was completed).
    Log { job: JobId, offset: u64 },
    /// A run was enqueued (wakes the dispatcher).
    Enqueued,
    /// Runs were cancelled; the dispatcher stops their running jobs.
    Cancel(RunId),
    /// A deployment moved on (a line, a host's phase, its end).
    Deployment(DeploymentId),
}

#[derive(Debug, Clone)]
pub struct LiveHub {
    tx: broadcast::Sender<Change>,
}

impl Default for LiveHub {
    fn default() -> Self {
        // Notices are tiny; 4096 covers bursts of a busy server before a subscriber
        // lags (a lagging subscriber re-reads the current state, see the module doc).
        let (tx, _) = broadcast::channel(4096);
        LiveHub { tx }
    }
}

impl LiveHub {
    pub fn publish(&self, change: Change) {
        let _ = self.tx.send(change);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.tx.subscribe()
    }
}
