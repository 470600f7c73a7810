//! Reading a job's log: a page of whole records from a logical offset, safe to run while
//! the writer appends (a record not yet ended by its newline is never returned).

use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::chunks::{self, COMPLETE, chunk_path};
use super::record::{self, LogRecord};

/// One page of a job's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPage {
    pub records: Vec<LogRecord>,
    /// Where the next page starts: pass it back as `from_offset`.
    pub next_offset: u64,
    /// The job finished its log and this page reaches its end: no more records will
    /// come from `next_offset`.
    pub complete: bool,
}

/// Reads whole records from `from` while their total size (newlines included) stays
/// within `max_bytes` — but at least one, so a record larger than a page cannot stall
/// paging. `what` names the log in error messages ("run 4 job 9").
pub(crate) fn read(dir: &Path, what: &str, from: u64, max_bytes: usize) -> io::Result<LogPage> {
    // The marker is looked at before the chunks are listed: when it exists the writer has
    // finished, so the listing below is final and "at the end" is decided on true sizes.
    let finished = dir.join(COMPLETE).try_exists()?;
    // No directory, or one whose first chunk the writer has not created yet: no lines.
    let Some(chunks) = chunks::list(dir)?.filter(|c| !c.sizes.is_empty()) else {
        if from == 0 {
            return Ok(LogPage {
                records: Vec::new(),
                next_offset: 0,
                complete: false,
            });
        }
        return Err(past_end(what, from, 0));
    };
    let Some((first, pos)) = chunks.locate(from) else {
        return Err(past_end(what, from, chunks.end()));
    };
    if pos > 0 && !follows_newline(&chunk_path(dir, first), pos)? {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "log offset {from} of {what} is in the middle of a record; \
                 start at 0 or at an offset returned by an earlier read"
            ),
        ));
    }

    let mut records = Vec::new();
    let mut used = 0usize;
    let mut offset = from;
    let mut line = Vec::new();
    let last = chunks.sizes.len() - 1;
    'chunks: for index in first..=last {
        let mut file = File::open(chunk_path(dir, index))?;
        if index == first {
            file.seek(SeekFrom::Start(pos))?;
        }
        let mut reader = BufReader::new(file);
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line)?;
            if n == 0 {
                break;
            }
            if line.last() != Some(&b'\n') {
                if index == last {
                    // The writer is mid-append (or crashed mid-append): not a record yet.
                    break 'chunks;
                }
                return Err(bad_data(dir, index, offset, "is cut short"));
            }
            if used + n > max_bytes && !records.is_empty() {
                break 'chunks;
            }
            let rec = record::decode(&line[..n - 1], offset)
                .map_err(|e| bad_data(dir, index, offset, &format!("is not valid: {e}")))?;
            records.push(rec);
            used += n;
            offset += n as u64;
            if used >= max_bytes {
                break 'chunks;
            }
        }
    }
    Ok(LogPage {
        records,
        next_offset: offset,
        complete: finished && offset == chunks.end(),
    })
}

/// Whether the byte before `pos` in the chunk is a newline, i.e. `pos` starts a record
/// (records escape newlines in their text, so the only `\n` bytes end records).
fn follows_newline(path: &Path, pos: u64) -> io::Result<bool> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(pos - 1))?;
    let mut byte = [0u8];
    file.read_exact(&mut byte)?;
    Ok(byte[0] == b'\n')
}

fn past_end(what: &str, from: u64, end: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("log offset {from} is past the end of the log of {what} ({end} bytes)"),
    )
}

fn bad_data(dir: &Path, index: usize, offset: u64, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "the log record at offset {offset} (in {}) {what}",
            chunk_path(dir, index).display()
        ),
    )
}
