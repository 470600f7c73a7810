//! Running a whole plan: the run's shared state, its options, and the entry point
//! `run_plan` that sets up the work directory template and hands the DAG to the
//! scheduler.

use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use gantry_core::{Masker, Secret};
use gantry_pipeline::Plan;

use crate::artifacts::ArtifactStore;
use crate::cache::CacheStore;
use crate::context::{GitFacts, RunContexts};
use crate::event::RunEvent;
use crate::executors::Executors;
use crate::log::LogLine;
use crate::report::RunReport;
use crate::workdir::RunDirs;

/// Everything a run needs besides the plan.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub run_id: String,
    pub run_number: u64,
    /// The checkout (or directory) the jobs get a copy of.
    pub source_dir: PathBuf,
    /// Where runs, artifacts and caches are kept.
    pub data_dir: PathBuf,
    /// Jobs running at once (at least 1).
    pub parallelism: usize,
    pub git: GitFacts,
    /// Resolved manual inputs.
    pub inputs: Map<String, Value>,
    pub secrets: IndexMap<String, Secret>,
    /// Run only these job ids and the jobs they need (empty: all).
    pub only: Vec<String>,
    /// Keep each job's work directory after it ends (for debugging).
    pub keep_workdirs: bool,
    /// When set, `source_dir` is a git repository (bare or not) and the jobs get a
    /// checkout of this commit of it, not a copy of a working tree (the server's runs).
    pub source_commit: Option<String>,
    /// The caches' store; `None` keeps them in `<data_dir>/cache`.
    pub cache: Option<crate::cache::CacheStore>,
}

/// Interrupts a run: `cancel` stops it (running steps are killed, environments cleaned
/// up, `if: always()` steps still run); `force` also kills those cleanup steps.
#[derive(Debug, Clone, Default)]
pub struct RunControl {
    pub cancel: CancellationToken,
    pub force: CancellationToken,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Setup(String),
    #[error("no job named {unknown}; the pipeline's jobs are: {known}")]
    UnknownJob { unknown: String, known: String },
}

/// State shared by all jobs of a run.
pub(crate) struct RunShared {
    pub plan: Arc<Plan>,
    pub options: RunOptions,
    pub dirs: RunDirs,
    pub artifacts: ArtifactStore,
    pub cache: CacheStore,
    pub masker: Arc<Masker>,
    pub contexts: RunContexts,
    pub executors: Arc<Executors>,
    pub events: mpsc::Sender<RunEvent>,
    pub log_tx: mpsc::Sender<LogLine>,
    pub cancel: CancellationToken,
    pub force: CancellationToken,
    /// Background removals of finished jobs' directories.
    pub cleanups: tokio::sync::Mutex<tokio::task::JoinSet<()>>,
}

/// Runs `plan` to the end (or until cancelled) and returns its report. Progress and log
/// lines are sent to `events` as they happen; the receiver must keep reading.
pub async fn run_plan(
    plan: Arc<Plan>,
    options: RunOptions,
    executors: Arc<Executors>,
    events: mpsc::Sender<RunEvent>,
    control: RunControl,
) -> Result<RunReport, RunError> {
    let selected = crate::scheduler::select(&plan, &options.only)?;
    let root = options.data_dir.join("runs").join(&options.run_id);
    let source = options.source_dir.clone();
    let root2 = root.clone();
    let dirs = tokio::task::spawn_blocking(move || RunDirs::create(&source, &root2))
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
        cache: CacheStore::new(options.data_dir.join("cache")),
        dirs,
        masker,
        contexts,
        executors,
        events,
        log_tx,
        cancel: control.cancel,
        force: control.force,
        cleanups: Default::default(),
        options,
    });
    let report = crate::scheduler::schedule(shared.clone(), selected).await;
    let keep = shared.options.keep_workdirs;
    let template = shared.dirs.template.clone();
    let mut cleanups = std::mem::take(&mut *shared.cleanups.lock().await);
    while cleanups.join_next().await.is_some() {}
    drop(shared);
    let _ = forwarder.await;
    if !keep {
        let _ = tokio::task::spawn_blocking(move || RunDirs::remove_template(&template)).await;
    }
    Ok(report)
}
