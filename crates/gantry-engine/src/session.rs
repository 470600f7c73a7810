//! A run whose jobs are started one at a time by someone else's scheduler — the server's
//! dispatcher, which keeps the DAG in its store and hands out ready jobs. The session
//! holds what the jobs of one run share (work directory template, artifacts, caches,
//! contexts, masker); each job gets its own cancellation.

use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::mpsc;

use gantry_core::{Masker, Secret};
use gantry_pipeline::Plan;

use crate::artifacts::ArtifactStore;
use crate::cache::CacheStore;
use crate::context::RunContexts;
use crate::event::RunEvent;
use crate::executors::Executors;
use crate::job::{JobStart, run_job};
use crate::log::LogLine;
use crate::report::{JobReport, JobResult};
use crate::run::{RunControl, RunError, RunOptions, RunShared};
use crate::workdir::RunDirs;

/// One run's shared state, for running its jobs one by one.
pub struct RunSession {
    shared: Arc<RunShared>,
    forwarder: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for RunSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunSession")
            .field("run_id", &self.shared.options.run_id)
            .finish_non_exhaustive()
    }
}

impl RunSession {
    /// Prepares the run's directories under `options.data_dir/runs/<run_id>` from
    /// `options.source_dir`, or reopens them when an earlier process prepared them (a
    /// server restarted mid-run: artifacts of finished jobs are still there). Progress
    /// and log lines of every job go to `events`; the receiver must keep reading.
    pub async fn open(
        plan: Arc<Plan>,
        options: RunOptions,
        executors: Arc<Executors>,
        events: mpsc::Sender<RunEvent>,
    ) -> Result<RunSession, RunError> {
        let root = options.data_dir.join("runs").join(&options.run_id);
        let source = options.source_dir.clone();
        let root2 = root.clone();
        let commit = options.source_commit.clone();
        let dirs = tokio::task::spawn_blocking(move || match commit {
            Some(sha) => RunDirs::open_or_create_at(&source, &sha, &root2),
            None => RunDirs::open_or_create(&source, &root2),
        })
        .await
        .map_err(|e| RunError::Setup(e.to_string()))?
        .map_err(|e| RunError::Setup(e.to_string()))?;
        let masker = Arc::new(Masker::new(options.secrets.values().map(Secret::expose)));
        let contexts = RunContexts::new(
            &options.git,
            &options.inputs,
            &options.secrets,
            &options.run_id,
            options.run_number,
        );
        let (log_tx, mut log_rx) = mpsc::channel::<LogLine>(1024);
        let forward_to = events.clone();
        let forwarder = tokio::spawn(async move {
            while let Some(line) = log_rx.recv().await {
                if forward_to.send(RunEvent::Log(line)).await.is_err() {
                    break;
                }
            }
        });
        let shared = Arc::new(RunShared {
            plan,
            artifacts: ArtifactStore::new(root.join("artifacts")),
            cache: options
                .cache
                .clone()
                .unwrap_or_else(|| CacheStore::new(options.data_dir.join("cache"))),
            dirs,
            masker,
            contexts,
            executors,
            events,
            log_tx,
            // Never cancelled: each job brings its own control.
            cancel: Default::default(),
            force: Default::default(),
            cleanups: Default::default(),
            options,
        });
        Ok(RunSession { shared, forwarder })
    }

    /// The run's contexts (git, inputs, secrets, run) for [`crate::gate::gate`].
    pub fn contexts(&self) -> &Map<String, Value> {
        &self.shared.contexts.base
    }

    pub fn plan(&self) -> &Arc<Plan> {
        &self.shared.plan
    }

    /// Runs job `index` of the plan (with its retries) and returns its report. `needs`
    /// is the job's `needs` context from [`crate::gate::gate`]; `control` cancels this
    /// job only. With `log`, the job's lines go there instead of the session's events:
    /// the channel closes once the job's last line is sent, which tells a consumer the
    /// job's log is complete. `attempts_before` counts earlier attempts of this job (by
    /// a process that crashed), so this one gets fresh work directories.
    pub async fn run_job(
        &self,
        index: usize,
        needs: Map<String, Value>,
        control: RunControl,
        log: Option<mpsc::Sender<LogLine>>,
        attempts_before: u32,
    ) -> JobReport {
        if index >= self.shared.plan.jobs.len() {
            return JobReport::not_run(
                format!("job {index}"),
                JobResult::Failure,
                format!("internal error: the plan has no job {index}"),
            );
        }
        run_job(
            self.shared.clone(),
            JobStart {
                index,
                needs,
                control,
                log_tx: log,
                attempts_before,
            },
        )
        .await
    }

    /// Waits for background clean-ups and, unless the options keep work directories,
    /// removes the checkout template. Call when the run has finished.
    pub async fn close(self) {
        let keep = self.shared.options.keep_workdirs;
        let template = self.shared.dirs.template.clone();
        let mut cleanups = std::mem::take(&mut *self.shared.cleanups.lock().await);
        while cleanups.join_next().await.is_some() {}
        drop(self.shared);
        let _ = self.forwarder.await;
        if !keep {
            let _ = tokio::task::spawn_blocking(move || RunDirs::remove_template(&template)).await;
        }
    }
}
