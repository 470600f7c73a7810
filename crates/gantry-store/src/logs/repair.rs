//! Reopening a job log after a crash: cut a torn last record away and find where line
//! numbering left off, so a restarted server or a retried job continues the same log.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::Path;

use super::chunks::{Chunks, chunk_path};
use super::record::{self, LogRecord};

/// How an existing log ends, after repair.
#[derive(Debug)]
pub(crate) struct Tail {
    pub chunks: Chunks,
    /// The last whole record, `None` for an empty log.
    pub last: Option<LogRecord>,
}

/// Truncates the last chunk after its last valid record. A crash mid-append leaves a
/// prefix of the batch on disk: whole records, then at most one record without its
/// newline (or, on some file systems, a line of garbage). Only the last chunk can be
/// torn — the writer fsyncs a chunk before it starts the next one — and only its last
/// line is dropped, so nothing written before the crash is lost.
pub(crate) fn repair(dir: &Path, mut chunks: Chunks) -> io::Result<Tail> {
    let Some(last) = chunks.sizes.len().checked_sub(1) else {
        return Ok(Tail { chunks, last: None });
    };
    let path = chunk_path(dir, last);
    let bytes = fs::read(&path)?;
    let mut keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if keep > 0 {
        let start = line_start(&bytes[..keep - 1]);
        if record::decode(&bytes[start..keep - 1], 0).is_err() {
            keep = start;
        }
    }
    if keep < bytes.len() {
        let file = OpenOptions::new().write(true).open(&path)?;
        file.set_len(keep as u64)?;
        file.sync_all()?;
        chunks.sizes[last] = keep as u64;
    }
    let last = last_record(dir, &chunks)?;
    Ok(Tail { chunks, last })
}

/// Index just past the previous newline in `before` (the bytes before a record's own
/// newline), i.e. where that record starts.
fn line_start(before: &[u8]) -> usize {
    before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1)
}

/// The last record of the log, looking back past an empty last chunk (a rotation that
/// crashed before its first record reached the disk).
fn last_record(dir: &Path, chunks: &Chunks) -> io::Result<Option<LogRecord>> {
    for index in (0..chunks.sizes.len()).rev() {
        if chunks.sizes[index] == 0 {
            continue;
        }
        let bytes = fs::read(chunk_path(dir, index))?;
        let Some(body) = bytes.strip_suffix(b"\n") else {
            return Err(corrupt(dir, index, "does not end with a whole record"));
        };
        let start = line_start(body);
        let offset = chunks.starts[index] + start as u64;
        return record::decode(&body[start..], offset)
            .map(Some)
            .map_err(|e| corrupt(dir, index, &format!("ends with a bad record: {e}")));
    }
    Ok(None)
}

fn corrupt(dir: &Path, index: usize, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("log chunk {} {what}", chunk_path(dir, index).display()),
    )
}
