//! Job logs: per-job append-only chunk files under `<data dir>/logs`, addressed by
//! logical byte offsets. Logs are files, not database rows: a busy server writes
//! thousands of lines a second, and readers page through them by offset.
//!
//! Layout: `<root>/<run_id>/<job_id>/00000000.log`, `00000001.log`, … Each chunk holds
//! whole records, one JSON object per line
//! (`{"line":1,"ts":"2025-01-31T12:00:00.123Z","stream":"out","step":0,"text":"…"}`),
//! and is at most `LogOptions::chunk_bytes` (1 MiB) unless one record alone is larger.
//! Only the last chunk ever changes, so older chunks can be cached by any reader. A
//! record's offset is its byte position in the concatenation of the chunks.
//!
//! Concurrency: one `JobLogWriter` per job at a time (the server guarantees it; the store
//! does not check), any number of concurrent readers. Readers only return records ended
//! by their newline, so they never see a half-written one.
//!
//! The store stores what it is given: secrets are masked before lines get here, by the
//! engine's `LogSink`, which every line passes through.
//!
//! All file IO runs on tokio's blocking pool, never on the async runtime's threads.

mod chunks;
mod reader;
mod record;
mod repair;
mod writer;

use futures_util::Stream;
use std::io;
use std::path::PathBuf;

use crate::types::{JobId, RunId};

pub use reader::LogPage;
pub use record::{LogRecord, LogStream, NewLogLine};
pub use writer::{JobLogWriter, LogSummary};

/// Size limits of job logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOptions {
    /// Largest chunk file: the writer starts a new chunk before a record that would make
    /// the current one larger. Default 1 MiB.
    pub chunk_bytes: u64,
    /// Largest log of one job. Past it the writer appends one system record saying the
    /// log was truncated and drops (but counts) every further line. Default 64 MiB.
    pub max_job_bytes: u64,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            chunk_bytes: 1024 * 1024,
            max_job_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Bytes of log text per item of `LogFiles::raw`'s stream: big enough to keep the
/// per-read overhead (a directory listing) small, small enough to stream smoothly.
const RAW_PAGE_BYTES: usize = 256 * 1024;

/// The job logs under one root directory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LogFiles {
    root: PathBuf,
    options: LogOptions,
}

impl LogFiles {
    /// Job logs under `root` (`<data dir>/logs`), with the default limits. Nothing is
    /// created until a writer opens.
    pub fn new(root: PathBuf) -> Self {
        Self::with_options(root, LogOptions::default())
    }

    pub fn with_options(root: PathBuf, options: LogOptions) -> Self {
        LogFiles { root, options }
    }

    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// Opens the writer of a job's log, creating the log or continuing an existing one
    /// (server restarted, job retried): line numbers and offsets carry on, a record torn
    /// by a crash is cut away, and the `complete` marker is removed.
    pub async fn writer(&self, run: RunId, job: JobId) -> io::Result<JobLogWriter> {
        JobLogWriter::open(chunks::job_dir(&self.root, run, job), self.options).await
    }

    /// Whole records from `from_offset` (0, or a `next_offset`/record offset from an
    /// earlier read) up to `max_bytes` of stored records (at least one record if any).
    /// A job without a log yet reads as empty. An offset inside a record or past the end
    /// is `InvalidInput`.
    pub async fn read(
        &self,
        run: RunId,
        job: JobId,
        from_offset: u64,
        max_bytes: usize,
    ) -> io::Result<LogPage> {
        let dir = chunks::job_dir(&self.root, run, job);
        let what = format!("run {run} job {job}");
        blocking(move || reader::read(&dir, &what, from_offset, max_bytes)).await
    }

    /// The log as plain text for download: each record's `text` and a newline, in items
    /// of about 256 KiB. Ends at the end of what is written when it gets there (it does
    /// not wait for a running job).
    pub fn raw(
        &self,
        run: RunId,
        job: JobId,
    ) -> impl Stream<Item = io::Result<String>> + Send + 'static {
        let files = self.clone();
        futures_util::stream::try_unfold(Some(0u64), move |from| {
            let files = files.clone();
            async move {
                let Some(from) = from else { return Ok(None) };
                let page = files.read(run, job, from, RAW_PAGE_BYTES).await?;
                if page.records.is_empty() {
                    return Ok(None);
                }
                let mut text = String::with_capacity(RAW_PAGE_BYTES);
                for record in &page.records {
                    text.push_str(&record.text);
                    text.push('\n');
                }
                Ok(Some((text, Some(page.next_offset))))
            }
        })
    }

    /// Logical size of a job's log in bytes (0 when it has none), including a record
    /// being written right now.
    pub async fn size(&self, run: RunId, job: JobId) -> io::Result<u64> {
        let dir = chunks::job_dir(&self.root, run, job);
        blocking(move || Ok(chunks::list(&dir)?.map_or(0, |c| c.end()))).await
    }

    /// Deletes the logs of every job of a run. Deleting a run without logs is not an
    /// error. A writer still open for one of its jobs fails on its next append.
    pub async fn delete_run(&self, run: RunId) -> io::Result<()> {
        let dir = chunks::run_dir(&self.root, run);
        blocking(move || match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(io::Error::other)?
}
