//! Log streams: every line a step prints is timestamped and masked by the `LogSink`
//! before it reaches any consumer (terminal, JSON report, store), so no code path after
//! the sink can see a secret value.

use gantry_core::Masker;
use serde::Serialize;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// Where a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
    /// Gantry's own messages about the job (step started, image missing, …).
    System,
}

/// One masked, timestamped line of a job's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// `PlannedJob::key` of the job that printed it.
    pub job: Arc<str>,
    /// Index of the step, `None` for job-level system lines.
    pub step: Option<usize>,
    pub stream: Stream,
    /// Milliseconds since the Unix epoch.
    pub ts_ms: u64,
    pub text: String,
}

/// Longest line kept whole; longer output without a newline is split so one runaway
/// line cannot exhaust memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The only way executor output reaches the rest of Gantry. Cheap to clone.
#[derive(Clone, Debug)]
pub struct LogSink {
    job: Arc<str>,
    step: Option<usize>,
    masker: Arc<Masker>,
    tx: mpsc::Sender<LogLine>,
}

impl LogSink {
    pub fn new(job: impl Into<Arc<str>>, masker: Arc<Masker>, tx: mpsc::Sender<LogLine>) -> Self {
        LogSink {
            job: job.into(),
            step: None,
            masker,
            tx,
        }
    }

    /// The same sink, tagging lines with step `index`.
    pub fn for_step(&self, index: usize) -> Self {
        LogSink {
            step: Some(index),
            ..self.clone()
        }
    }

    pub fn job(&self) -> &str {
        &self.job
    }

    /// Masks and sends one line (without its line ending). Waits when the consumer is
    /// behind, which slows the step's output instead of buffering without bound. If
    /// the consumer is gone the line is dropped: nobody can read it anyway.
    pub async fn line(&self, stream: Stream, text: &str) {
        let text = text.strip_suffix('\n').unwrap_or(text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        let ts_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let line = LogLine {
            job: self.job.clone(),
            step: self.step,
            stream,
            ts_ms,
            text: self.masker.mask(text),
        };
        let _ = self.tx.send(line).await;
    }

    /// A Gantry message about the job.
    pub async fn system(&self, text: &str) {
        self.line(Stream::System, text).await;
    }

    /// Splits raw output bytes into lines (lossy UTF-8, capped at `MAX_LINE_BYTES`) and
    /// sends them. Returns the bytes of a trailing partial line to prepend next time.
    pub async fn feed(&self, stream: Stream, pending: &mut Vec<u8>, chunk: &[u8]) {
        pending.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(pos) = pending[start..].iter().position(|&b| b == b'\n') {
            let end = start + pos;
            self.line(stream, &String::from_utf8_lossy(&pending[start..end]))
                .await;
            start = end + 1;
        }
        pending.drain(..start);
        while pending.len() >= MAX_LINE_BYTES {
            let rest = pending.split_off(MAX_LINE_BYTES);
            self.line(stream, &String::from_utf8_lossy(pending)).await;
            *pending = rest;
        }
    }

    /// Sends what is left of a partial last line, if anything.
    pub async fn flush(&self, stream: Stream, pending: &mut Vec<u8>) {
        if !pending.is_empty() {
            self.line(stream, &String::from_utf8_lossy(pending)).await;
            pending.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn masks_and_splits_lines() {
        let (tx, mut rx) = mpsc::channel(16);
        let sink = LogSink::new("job", Arc::new(Masker::new(["topsecret"])), tx).for_step(2);
        let mut pending = Vec::new();
        sink.feed(Stream::Stdout, &mut pending, b"a topsecret\npar")
            .await;
        sink.feed(Stream::Stdout, &mut pending, b"tial\r\nend")
            .await;
        sink.flush(Stream::Stdout, &mut pending).await;
        drop(sink);
        let mut got = Vec::new();
        while let Some(l) = rx.recv().await {
            assert_eq!(l.step, Some(2));
            got.push(l.text);
        }
        assert_eq!(got, ["a ***", "partial", "end"]);
    }
}
