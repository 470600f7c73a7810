//! One engine `RunSession` per run with jobs running on this server: opened (checkout
//! and work directory template) by the run's first job, shared by its other jobs, and
//! closed when the run finishes. Opening is serialised per run so two jobs starting at
//! once do not both check the commit out.

use std::collections::HashMap;
use std::sync::Arc;

use gantry_engine::{GitFacts, RunOptions, RunSession};
use gantry_store::{Run, RunId};
use tokio::sync::{Mutex, mpsc};

use crate::state::ServerState;

/// A run's session, once opened; its own lock serialises the opening.
type Slot = Arc<Mutex<Option<Arc<RunSession>>>>;

#[derive(Debug, Default)]
pub struct Sessions {
    open: Mutex<HashMap<RunId, Slot>>,
}

impl Sessions {
    /// The run's session, opening it if needed.
    pub async fn get(&self, state: &ServerState, run: &Run) -> Result<Arc<RunSession>, String> {
        let slot = {
            let mut open = self.open.lock().await;
            open.entry(run.id).or_default().clone()
        };
        let mut slot = slot.lock().await;
        if let Some(session) = slot.as_ref() {
            return Ok(session.clone());
        }
        let plan = state
            .store
            .get_plan(run.id)
            .await
            .map_err(|e| format!("reading the run's plan: {e}"))?
            .ok_or_else(|| format!("run {} has no plan", run.id))?;
        let (source_dir, source_commit) = state.prepare_source(run).await?;
        let options = RunOptions {
            run_id: run.id.to_string(),
            run_number: u64::try_from(run.number).unwrap_or(0),
            source_dir,
            data_dir: state.data_dir.clone(),
            parallelism: 1,
            git: GitFacts {
                sha: run.git.sha.clone(),
                branch: run.git.branch.clone(),
                tag: run.git.tag.clone(),
                event: run.trigger.as_str().to_string(),
                message: run.git.message.clone(),
                author: run.git.author.clone(),
            },
            inputs: run.inputs.clone(),
            secrets: Default::default(),
            only: Vec::new(),
            keep_workdirs: false,
            source_commit,
            // Per project, shared with the project's jobs on agents.
            cache: Some(crate::agents::caches::project_caches(state, &run.project)),
        };
        // Progress events are not needed here: state changes go through the store and
        // each job's log has its own channel. Drain them so the engine never blocks.
        let (events_tx, mut events_rx) = mpsc::channel(256);
        tokio::spawn(async move { while events_rx.recv().await.is_some() {} });
        let session = RunSession::open(Arc::new(plan), options, state.executors.clone(), events_tx)
            .await
            .map_err(|e| e.to_string())?;
        let session = Arc::new(session);
        *slot = Some(session.clone());
        Ok(session)
    }

    /// Closes a finished run's session (when no job of it still holds it).
    pub async fn close(&self, run: RunId) {
        let slot = self.open.lock().await.remove(&run);
        let Some(slot) = slot else { return };
        let session = slot.lock().await.take();
        if let Some(session) = session {
            // Other holders finish first (they are done: the run is finished).
            if let Ok(session) = Arc::try_unwrap(session) {
                session.close().await;
            }
        }
    }
}
