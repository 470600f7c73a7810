//! Shipping one job's log to the server in ordered chunks. Lines are numbered from the
//! assignment's `log_from`; a chunk carries the number of its first line, and the server
//! answers how many lines it has. Lines are dropped from memory only once acknowledged,
//! so after a network cut or a server restart the unacknowledged ones are sent again —
//! the server skips what it already has, so nothing is stored twice or lost.

use std::collections::VecDeque;
use std::time::Duration;

use gantry_engine::log::LogLine;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::client::{Client, ClientError};
use crate::protocol::{Line, LogChunk};

/// Most lines per chunk.
const CHUNK: usize = 1000;
/// Most text bytes per chunk (lines are up to 64 KiB each): the server's body limit is
/// well above this.
const CHUNK_BYTES: usize = 1024 * 1024;

/// How shipping ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Shipped {
    /// Every line was acknowledged; the log has this many lines.
    Complete(u64),
    /// The job is no longer this agent's (stale fencing token, or `lost` fired).
    Lost,
}

/// Ships every line received on `rx` until it closes and everything is acknowledged.
pub async fn ship(
    client: Client,
    job: i64,
    fencing_token: i64,
    log_from: u64,
    mut rx: mpsc::Receiver<LogLine>,
    lost: CancellationToken,
) -> Shipped {
    let mut pending: VecDeque<Line> = VecDeque::new();
    // Number of pending[0]: everything before it is acknowledged.
    let mut base = log_from;
    let mut open = true;
    let mut backoff = Backoff::default();
    let mut buf = Vec::with_capacity(CHUNK);
    loop {
        if pending.is_empty() {
            if !open {
                return Shipped::Complete(base);
            }
            // Wait for lines (or the end of the log).
            tokio::select! {
                n = rx.recv_many(&mut buf, CHUNK) => {
                    if n == 0 { open = false; }
                    pending.extend(buf.drain(..).map(Line::from));
                }
                _ = lost.cancelled() => return Shipped::Lost,
            }
            continue;
        }
        // Take whatever else arrived meanwhile without waiting.
        while open && pending.len() < CHUNK {
            match rx.try_recv() {
                Ok(line) => pending.push_back(line.into()),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => open = false,
            }
        }
        let mut bytes = 0;
        let lines: Vec<Line> = pending
            .iter()
            .take(CHUNK)
            .take_while(|l| {
                bytes += l.text.len();
                bytes <= CHUNK_BYTES || bytes == l.text.len()
            })
            .cloned()
            .collect();
        let chunk = LogChunk {
            fencing_token,
            from: base,
            lines,
        };
        let result = tokio::select! {
            r = client.logs(job, &chunk) => r,
            _ = lost.cancelled() => return Shipped::Lost,
        };
        match result {
            Ok(ack) => {
                backoff.reset();
                if ack.acked >= base {
                    let done = usize::try_from(ack.acked - base)
                        .unwrap_or(usize::MAX)
                        .min(pending.len());
                    pending.drain(..done);
                    base += done as u64;
                } else {
                    // The server has fewer lines than it acknowledged before (its disk
                    // lost a tail): those lines are gone; continue numbering from there.
                    tracing::warn!(
                        job,
                        "the server lost {} acknowledged log lines",
                        base - ack.acked
                    );
                    base = ack.acked;
                }
            }
            Err(ClientError::Stale) => return Shipped::Lost,
            Err(e) if e.is_transient() => {
                tracing::debug!(job, "sending log lines failed, retrying: {e}");
                tokio::select! {
                    _ = backoff.wait() => {}
                    _ = lost.cancelled() => return Shipped::Lost,
                }
            }
            Err(e) => {
                // A refusal that retrying cannot fix (a bug): do not spin on it.
                tracing::error!(job, "the server refused log lines: {e}");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                    _ = lost.cancelled() => return Shipped::Lost,
                }
            }
        }
    }
}

/// Exponential backoff from 100 ms to 2 s.
#[derive(Debug, Default)]
pub struct Backoff {
    next_ms: u64,
}

impl Backoff {
    pub fn reset(&mut self) {
        self.next_ms = 0;
    }

    pub async fn wait(&mut self) {
        self.next_ms = (self.next_ms * 2).clamp(100, 2000);
        tokio::time::sleep(Duration::from_millis(self.next_ms)).await;
    }
}
