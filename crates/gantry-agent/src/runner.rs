//! One assignment on the agent, start to finish: fetch the run's source and the needed
//! jobs' artifacts, run the job through an engine `RunSession` (the same code path as
//! the server's own pool and `gantry run`), ship its log, upload its artifacts, report
//! its outcome — retrying through network cuts and server restarts until the server
//! takes the report or the job is lost to another owner.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gantry_engine::{Executors, RunControl, RunOptions, RunSession};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::archive;
use crate::client::{Client, ClientError};
use crate::logship::{self, Backoff, Shipped};
use crate::protocol::{Assignment, Conclusion, Finish, Outcome};

/// What a runner needs from its agent.
#[derive(Debug, Clone)]
pub struct RunnerContext {
    pub client: Client,
    pub executors: Arc<Executors>,
    /// `<agent data dir>/jobs`: each job works in its own directory below it.
    pub jobs_dir: PathBuf,
    /// `<agent data dir>/cache`: caches kept across jobs, per project.
    pub caches_dir: PathBuf,
    /// Runs' source tars, downloaded once per run.
    pub sources: Arc<crate::sources::Sources>,
}

/// Runs `a` to the end. `control` is cancelled when the server cancels the run; `lost`
/// when the job was taken away (then nothing more is reported).
pub async fn run(cx: RunnerContext, a: Assignment, control: RunControl, lost: CancellationToken) {
    let dir = cx
        .jobs_dir
        .join(format!("{}-{}", a.job_id, a.fencing_token));
    let (log_tx, log_rx) = mpsc::channel(1024);
    let shipper = tokio::spawn(logship::ship(
        cx.client.clone(),
        a.job_id,
        a.fencing_token,
        a.log_from,
        log_rx,
        lost.clone(),
    ));
    let outcome = match prepare(&cx, &a, &dir, &lost).await {
        Ok(session) => {
            let report = session
                .run_job(
                    a.index,
                    a.needs.clone(),
                    control,
                    Some(log_tx),
                    a.attempts_before,
                )
                .await;
            let outcome = Outcome::from_report(&report);
            session.close().await;
            outcome
        }
        Err(Prepare::Lost) => {
            lost.cancel();
            Outcome::not_run(Conclusion::Failure, "lost")
        }
        Err(Prepare::Failed(reason)) => {
            let line = gantry_engine::log::LogLine {
                job: a.key.as_str().into(),
                step: None,
                stream: gantry_engine::log::Stream::System,
                ts_ms: u64::try_from(jiff::Timestamp::now().as_millisecond()).unwrap_or(0),
                text: format!("preparing the job on the agent failed: {reason}"),
            };
            let _ = log_tx.send(line).await;
            drop(log_tx);
            Outcome::not_run(Conclusion::Failure, reason)
        }
    };
    let shipped = shipper.await.unwrap_or(Shipped::Lost);
    if let Shipped::Complete(lines) = shipped
        && !lost.is_cancelled()
    {
        report(&cx, &a, &dir, lines, outcome, &lost).await;
    }
    let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(&dir)).await;
}

enum Prepare {
    Lost,
    Failed(String),
}

/// Retries a transient failure (network, restarting server) until it works or the job
/// is lost.
async fn retrying<T, F, Fut>(lost: &CancellationToken, mut call: F) -> Result<T, Prepare>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let mut backoff = Backoff::default();
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(ClientError::Stale) => return Err(Prepare::Lost),
            Err(e) if e.is_transient() => {
                tokio::select! {
                    _ = backoff.wait() => {}
                    _ = lost.cancelled() => return Err(Prepare::Lost),
                }
            }
            Err(e) => return Err(Prepare::Failed(e.to_string())),
        }
    }
}

async fn prepare(
    cx: &RunnerContext,
    a: &Assignment,
    dir: &Path,
    lost: &CancellationToken,
) -> Result<RunSession, Prepare> {
    let run_id = a.run_id.to_string();
    let root = dir.join("runs").join(&run_id);
    // The source tree becomes the run's work directory template directly (with the
    // marker `RunDirs` looks for), so it is not copied once more.
    let source = cx
        .sources
        .get(a.run_id, || retrying(lost, || cx.client.source(a)))
        .await?;
    let template = root.join("template");
    let marker = root.join("template.done");
    let needs_tar = if a
        .plan
        .jobs
        .get(a.index)
        .is_some_and(|j| !j.needs_index.is_empty())
    {
        Some(retrying(lost, || cx.client.needs_artifacts(a)).await?)
    } else {
        None
    };
    let artifacts = root.join("artifacts");
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        archive::unpack(&source, &template)?;
        std::fs::write(&marker, b"")?;
        if let Some(tar) = needs_tar {
            archive::unpack(&tar, &artifacts)?;
        }
        Ok(())
    })
    .await
    .map_err(|e| Prepare::Failed(e.to_string()))?
    .map_err(|e| Prepare::Failed(format!("unpacking the source: {e}")))?;

    let options = RunOptions {
        run_id,
        run_number: u64::try_from(a.run_number).unwrap_or(0),
        source_dir: root.join("template"),
        data_dir: dir.to_path_buf(),
        parallelism: 1,
        git: (&a.git).into(),
        inputs: a.inputs.clone(),
        secrets: Default::default(),
        only: Vec::new(),
        keep_workdirs: false,
        source_commit: None,
        cache: Some(crate::caches::job_caches(
            &cx.caches_dir,
            &a.project,
            cx.client.clone(),
            a.job_id,
            a.fencing_token,
        )),
    };
    // Progress events are not needed: the job's lines go through its own channel.
    let (events_tx, mut events_rx) = mpsc::channel(64);
    tokio::spawn(async move { while events_rx.recv().await.is_some() {} });
    RunSession::open(
        Arc::new(a.plan.clone()),
        options,
        cx.executors.clone(),
        events_tx,
    )
    .await
    .map_err(|e| Prepare::Failed(e.to_string()))
}

/// Uploads the job's artifacts, then its outcome, once its log is complete.
async fn report(
    cx: &RunnerContext,
    a: &Assignment,
    dir: &Path,
    log_lines: u64,
    outcome: Outcome,
    lost: &CancellationToken,
) {
    let slug = gantry_engine::fsutil::slug(&a.key);
    let artifacts = dir
        .join("runs")
        .join(a.run_id.to_string())
        .join("artifacts")
        .join(slug);
    if artifacts.is_dir() {
        let tar = tokio::task::spawn_blocking(move || archive::pack_dir(&artifacts)).await;
        match tar {
            Ok(Ok(tar)) => {
                if retrying(lost, || cx.client.upload_artifacts(a, tar.clone()))
                    .await
                    .is_err()
                {
                    tracing::warn!(job = a.job_id, "uploading the job's artifacts failed");
                }
            }
            Ok(Err(e)) => tracing::warn!(job = a.job_id, "packing the job's artifacts failed: {e}"),
            Err(e) => tracing::warn!(job = a.job_id, "packing the job's artifacts failed: {e}"),
        }
    }
    let finish = Finish {
        fencing_token: a.fencing_token,
        log_lines,
        outcome,
    };
    match retrying(lost, || cx.client.finish(a.job_id, &finish)).await {
        Ok(()) => {
            tracing::info!(job = a.job_id, key = %a.key, "reported {:?}", finish.outcome.result)
        }
        Err(Prepare::Lost) => {
            tracing::warn!(
                job = a.job_id,
                "the job was taken away before its result was reported"
            )
        }
        Err(Prepare::Failed(e)) => {
            tracing::error!(job = a.job_id, "the server refused the result: {e}")
        }
    }
}
