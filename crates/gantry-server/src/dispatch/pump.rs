//! Moving a job's log lines from its engine channel into the job's log files, in
//! batches (one write per burst of lines, not per line), and telling live viewers how
//! far the log has grown.

use std::sync::Arc;

use gantry_engine::log::{LogLine, Stream};
use gantry_store::logs::{LogStream, NewLogLine};
use gantry_store::{ClaimedJob, JobId, RunId};
use tokio::sync::mpsc;

use crate::live::Change;
use crate::state::ServerState;

/// Lines written per batch at most (a burst beyond it is written in several).
const BATCH: usize = 512;

fn to_record(line: LogLine) -> NewLogLine {
    NewLogLine {
        ts: i64::try_from(line.ts_ms)
            .ok()
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
            .unwrap_or_else(jiff::Timestamp::now),
        stream: match line.stream {
            Stream::Stdout => LogStream::Out,
            Stream::Stderr => LogStream::Err,
            Stream::System => LogStream::Sys,
        },
        step: line.step,
        text: line.text,
    }
}

/// Writes every line received until the channel closes (the job's last line was sent).
pub async fn pump(state: Arc<ServerState>, job: ClaimedJob, mut rx: mpsc::Receiver<LogLine>) {
    let mut writer = match state.logs.writer(job.run_id, job.job_id).await {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::error!(job = %job.job_id, "opening the job's log failed: {e}; its lines are dropped");
            None
        }
    };
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let lines: Vec<NewLogLine> = batch.drain(..).map(to_record).collect();
        if let Some(w) = writer.as_mut() {
            match w.append(&lines).await {
                Ok(offset) => state.hub.publish(Change::Log {
                    job: job.job_id,
                    offset,
                }),
                Err(e) => tracing::error!(job = %job.job_id, "writing the job's log failed: {e}"),
            }
        }
    }
    if let Some(mut w) = writer
        && let Err(e) = w.sync().await
    {
        tracing::error!(job = %job.job_id, "syncing the job's log failed: {e}");
    }
}

/// Appends one Gantry line to a job's log (when no pump is writing it).
pub async fn write_system_line(state: &ServerState, run: RunId, job: JobId, text: &str) {
    let line = NewLogLine {
        ts: jiff::Timestamp::now(),
        stream: LogStream::Sys,
        step: None,
        text: text.to_string(),
    };
    let result = async {
        let mut w = state.logs.writer(run, job).await?;
        let offset = w.append(&[line]).await?;
        w.sync().await?;
        Ok::<u64, std::io::Error>(offset)
    }
    .await;
    match result {
        Ok(offset) => state.hub.publish(Change::Log { job, offset }),
        Err(e) => tracing::error!(job = %job, "writing the job's log failed: {e}"),
    }
}

/// Marks a job's log complete: no more lines will come.
pub async fn complete(state: &ServerState, run: RunId, job: JobId) {
    let result = async {
        let w = state.logs.writer(run, job).await?;
        w.finish().await
    }
    .await;
    if let Err(e) = result {
        tracing::error!(job = %job, "completing the job's log failed: {e}");
    }
    let offset = state.logs.size(run, job).await.unwrap_or(0);
    state.hub.publish(Change::Log { job, offset });
}
