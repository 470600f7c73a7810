//! Agents' log chunks into the job log files, each line exactly once. A chunk says the
//! number of its first line; lines the log already has are skipped, a chunk starting
//! past the end is not written, and the answer is always how many lines the log has —
//! so an agent resending after a cut or a server restart neither duplicates nor loses
//! lines. One writer per job: a per-job lock orders chunks, assignment and finishing,
//! and a chunk whose fencing token is older than the job's current one is refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gantry_agent::protocol::{Line, LineStream};
use gantry_store::logs::{JobLogWriter, LogFiles, LogStream, NewLogLine};
use gantry_store::{JobId, RunId};

/// A job's open log, as written for its current fencing token.
#[derive(Debug)]
pub struct Open {
    pub fencing_token: i64,
    pub writer: JobLogWriter,
}

type Slot = Arc<tokio::sync::Mutex<Option<Open>>>;

#[derive(Debug, Default)]
pub struct AgentLogs {
    open: Mutex<HashMap<JobId, Slot>>,
}

/// Why a chunk was refused.
#[derive(Debug)]
pub enum ChunkError {
    /// The job has a newer owner.
    Stale,
    Io(std::io::Error),
}

pub fn record(line: &Line) -> NewLogLine {
    NewLogLine {
        ts: i64::try_from(line.ts_ms)
            .ok()
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
            .unwrap_or_else(jiff::Timestamp::now),
        stream: match line.stream {
            LineStream::Out => LogStream::Out,
            LineStream::Err => LogStream::Err,
            LineStream::Sys => LogStream::Sys,
        },
        step: line.step,
        text: line.text.clone(),
    }
}

impl AgentLogs {
    fn slot(&self, job: JobId) -> Slot {
        match self.open.lock() {
            Ok(mut open) => open.entry(job).or_default().clone(),
            // A poisoned map: a fresh slot still serialises nothing, but never panics.
            Err(_) => Slot::default(),
        }
    }

    /// Opens the log for a new assignment (fencing token `fencing_token`), writing
    /// `first` (a system line) if given; returns the number of lines it has, which is
    /// where the agent's lines start.
    pub async fn start(
        &self,
        files: &LogFiles,
        run: RunId,
        job: JobId,
        fencing_token: i64,
        first: Option<String>,
    ) -> std::io::Result<(u64, u64)> {
        let slot = self.slot(job);
        let mut open = slot.lock().await;
        // An older owner's writer, if any, is closed first (one writer per job).
        *open = None;
        let mut writer = files.writer(run, job).await?;
        if let Some(text) = first {
            writer
                .append(&[NewLogLine {
                    ts: jiff::Timestamp::now(),
                    stream: LogStream::Sys,
                    step: None,
                    text,
                }])
                .await?;
        }
        let lines = writer.lines();
        let offset = writer.offset();
        *open = Some(Open {
            fencing_token,
            writer,
        });
        Ok((lines, offset))
    }

    /// Stores the lines of a chunk the log does not have yet; returns (lines in the log,
    /// its byte size). The caller has checked that `fencing_token` is the job's current
    /// one in the store.
    pub async fn append(
        &self,
        files: &LogFiles,
        run: RunId,
        job: JobId,
        fencing_token: i64,
        from: u64,
        lines: &[Line],
    ) -> Result<(u64, u64), ChunkError> {
        let slot = self.slot(job);
        let mut guard = slot.lock().await;
        match guard.as_ref() {
            Some(open) if open.fencing_token > fencing_token => return Err(ChunkError::Stale),
            Some(open) if open.fencing_token == fencing_token => {}
            // First chunk since a server restart (or from a newer owner): reopen.
            _ => {
                *guard = None;
                let writer = files.writer(run, job).await.map_err(ChunkError::Io)?;
                *guard = Some(Open {
                    fencing_token,
                    writer,
                });
            }
        }
        let Some(open) = guard.as_mut() else {
            return Err(ChunkError::Stale);
        };
        let have = open.writer.lines();
        if from <= have {
            let skip = usize::try_from(have - from).unwrap_or(usize::MAX);
            if skip < lines.len() {
                let new: Vec<NewLogLine> = lines[skip..].iter().map(record).collect();
                if let Err(e) = open.writer.append(&new).await {
                    // The writer refuses further calls after an IO error: reopen next time.
                    *guard = None;
                    return Err(ChunkError::Io(e));
                }
            }
        }
        Ok((open.writer.lines(), open.writer.offset()))
    }

    /// Lines the job's log has for `fencing_token`, opening it if needed.
    pub async fn lines(
        &self,
        files: &LogFiles,
        run: RunId,
        job: JobId,
        fencing_token: i64,
    ) -> Result<u64, ChunkError> {
        self.append(files, run, job, fencing_token, u64::MAX, &[])
            .await
            .map(|(lines, _)| lines)
    }

    /// Closes the job's writer (it is finishing: the server writes its last lines and
    /// the completion marker through its own writer next).
    pub async fn close(&self, job: JobId) {
        let slot = self.slot(job);
        let mut guard = slot.lock().await;
        if let Some(mut open) = guard.take() {
            let _ = open.writer.sync().await;
        }
        drop(guard);
        if let Ok(mut open) = self.open.lock() {
            open.remove(&job);
        }
    }
}
