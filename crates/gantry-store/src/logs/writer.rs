//! `JobLogWriter`: appends a job's lines to its chunk files — numbering them, rotating
//! chunks, enforcing the size cap — on tokio's blocking pool, never on the async runtime.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::LogOptions;
use super::chunks::{self, COMPLETE, chunk_path};
use super::record::{self, LogStream, NewLogLine};
use super::repair;

/// Starts the text of the one system record written when a job reaches its size cap;
/// a reopened writer recognises the cap was already reached by it.
const TRUNCATED: &str = "log truncated:";

/// What `JobLogWriter::finish` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSummary {
    /// Records in the log (the last line number).
    pub lines: u64,
    /// Logical size of the log in bytes.
    pub bytes: u64,
    /// Lines dropped by this writer because the log had reached its size cap. Lines
    /// dropped by an earlier writer of the same job (before a restart) are not counted.
    pub dropped_lines: u64,
}

/// Appends to one job's log. One writer per job at a time: the server guarantees it
/// (a job runs on one executor, its lines reach the store through one `LogSink`), and
/// the store does not check. Readers may run concurrently.
///
/// Every `append` is written straight to the chunk file (no user-space buffer), so
/// readers see it at once; `sync` makes it durable. After an IO error the writer refuses
/// further calls: open a new one, which repairs whatever the failure left on disk.
#[derive(Debug)]
pub struct JobLogWriter {
    // The state lives behind a mutex shared with the blocking task doing the IO, so a
    // caller dropping an `append` future mid-way cannot lose or desynchronise it: the
    // task finishes and the next call sees its result.
    state: Arc<Mutex<State>>,
    end: u64,
    lines: u64,
}

#[derive(Debug)]
struct State {
    dir: PathBuf,
    options: LogOptions,
    /// The last chunk, positioned at its end.
    file: File,
    chunk: usize,
    chunk_len: u64,
    /// Logical offset after the last written record.
    end: u64,
    next_line: u64,
    /// The size-cap notice is in the log; further lines are dropped.
    capped: bool,
    dropped: u64,
    /// A chunk was created since the last directory fsync.
    dir_dirty: bool,
    failed: Option<String>,
}

impl JobLogWriter {
    /// Opens (creating, or repairing and continuing) the log in `dir`.
    pub(crate) async fn open(dir: PathBuf, options: LogOptions) -> io::Result<Self> {
        let state = tokio::task::spawn_blocking(move || State::open(dir, options))
            .await
            .map_err(io::Error::other)??;
        Ok(JobLogWriter {
            end: state.end,
            lines: state.next_line - 1,
            state: Arc::new(Mutex::new(state)),
        })
    }

    /// Appends `lines` as the next records, in one write (two or more only when the batch
    /// crosses into a new chunk), and returns the logical offset after them — where the
    /// next `read` can start. Line numbers are assigned here.
    pub async fn append(&mut self, lines: &[NewLogLine]) -> io::Result<u64> {
        if lines.is_empty() {
            return Ok(self.end);
        }
        let lines = lines.to_vec();
        self.run(move |state| state.append(&lines)).await
    }

    /// Makes everything appended so far durable (fsync of the chunk and, after a
    /// rotation, of the directory).
    pub async fn sync(&mut self) -> io::Result<()> {
        self.run(State::sync).await.map(|_| ())
    }

    /// Syncs and writes the `complete` marker, telling readers no more lines will come.
    pub async fn finish(mut self) -> io::Result<LogSummary> {
        self.run(State::finish).await?;
        let state = self.state.lock().map_err(|_| poisoned())?;
        Ok(LogSummary {
            lines: state.next_line - 1,
            bytes: state.end,
            dropped_lines: state.dropped,
        })
    }

    /// The logical offset after the last record written.
    pub fn offset(&self) -> u64 {
        self.end
    }

    /// Records in the log so far (the last line number).
    pub fn lines(&self) -> u64 {
        self.lines
    }

    async fn run(
        &mut self,
        op: impl FnOnce(&mut State) -> io::Result<u64> + Send + 'static,
    ) -> io::Result<u64> {
        let state = Arc::clone(&self.state);
        let (result, end, lines) = tokio::task::spawn_blocking(move || {
            let mut state = state.lock().map_err(|_| poisoned())?;
            if let Some(reason) = &state.failed {
                return Err(io::Error::other(format!(
                    "the log writer for {} failed earlier ({reason}); open a new writer to continue",
                    state.dir.display()
                )));
            }
            let result = op(&mut state);
            if let Err(e) = &result {
                state.failed = Some(e.to_string());
            }
            Ok((result, state.end, state.next_line - 1))
        })
        .await
        .map_err(io::Error::other)??;
        self.end = end;
        self.lines = lines;
        result
    }
}

fn poisoned() -> io::Error {
    io::Error::other("the log writer's state is unusable after a panic")
}

impl State {
    fn open(dir: PathBuf, options: LogOptions) -> io::Result<State> {
        fs::create_dir_all(&dir)?;
        // A retried job appends to its log again, so it is no longer complete.
        match fs::remove_file(dir.join(COMPLETE)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let listed = chunks::list(&dir)?.unwrap_or(chunks::Chunks {
            starts: Vec::new(),
            sizes: Vec::new(),
        });
        let tail = repair::repair(&dir, listed)?;
        let (chunk, chunk_len, dir_dirty) = match tail.chunks.sizes.last() {
            Some(&len) => (tail.chunks.sizes.len() - 1, len, false),
            None => (0, 0, true),
        };
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(chunk_path(&dir, chunk))?;
        file.seek(SeekFrom::Start(chunk_len))?;
        let (next_line, capped) = match &tail.last {
            Some(r) => (
                r.line + 1,
                r.stream == LogStream::Sys && r.text.starts_with(TRUNCATED),
            ),
            None => (1, false),
        };
        Ok(State {
            end: tail.chunks.end(),
            dir,
            options,
            file,
            chunk,
            chunk_len,
            next_line,
            capped,
            dropped: 0,
            dir_dirty,
            failed: None,
        })
    }

    fn append(&mut self, lines: &[NewLogLine]) -> io::Result<u64> {
        let chunk_bytes = self.options.chunk_bytes.max(1);
        let mut batch = Vec::new();
        for line in lines {
            if self.capped {
                self.dropped += 1;
                continue;
            }
            let before = batch.len();
            record::encode(&mut batch, self.next_line, line)?;
            if self.end + batch.len() as u64 > self.options.max_job_bytes {
                // The notice itself may pass the cap by its own few bytes; a log that
                // ends without saying why it ended would be worse.
                batch.truncate(before);
                let notice = NewLogLine {
                    ts: line.ts,
                    stream: LogStream::Sys,
                    step: None,
                    text: format!(
                        "{TRUNCATED} the job printed more than {}",
                        size_text(self.options.max_job_bytes)
                    ),
                };
                record::encode(&mut batch, self.next_line, &notice)?;
                self.capped = true;
                self.dropped += 1;
            }
            self.next_line += 1;
            // Rotate before a record that would overflow the chunk, unless the chunk
            // holds nothing yet: a record larger than a chunk gets a chunk of its own.
            if self.chunk_len + batch.len() as u64 > chunk_bytes
                && self.chunk_len + before as u64 > 0
            {
                self.write(&batch[..before])?;
                batch.drain(..before);
                self.rotate()?;
            }
        }
        self.write(&batch)?;
        Ok(self.end)
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.file.write_all(bytes) {
            // Take back a partial write so the chunk still ends on a record boundary;
            // if even that fails, reopening repairs the torn tail.
            let _ = self.file.set_len(self.chunk_len);
            let _ = self.file.seek(SeekFrom::Start(self.chunk_len));
            return Err(e);
        }
        self.chunk_len += bytes.len() as u64;
        self.end += bytes.len() as u64;
        Ok(())
    }

    /// Seals the current chunk and starts the next. The old chunk is fsynced first so a
    /// crash can only ever tear the last chunk, which is all that repair looks at.
    fn rotate(&mut self) -> io::Result<()> {
        self.file.sync_data()?;
        let next = self.chunk + 1;
        self.file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(chunk_path(&self.dir, next))?;
        self.chunk = next;
        self.chunk_len = 0;
        self.dir_dirty = true;
        Ok(())
    }

    fn sync(&mut self) -> io::Result<u64> {
        self.file.sync_data()?;
        if self.dir_dirty {
            sync_dir(&self.dir)?;
            self.dir_dirty = false;
        }
        Ok(self.end)
    }

    fn finish(&mut self) -> io::Result<u64> {
        self.sync()?;
        let summary = format!(
            "{{\"lines\":{},\"bytes\":{},\"dropped_lines\":{}}}\n",
            self.next_line - 1,
            self.end,
            self.dropped
        );
        let mut marker = File::create(self.dir.join(COMPLETE))?;
        marker.write_all(summary.as_bytes())?;
        marker.sync_all()?;
        sync_dir(&self.dir)?;
        Ok(self.end)
    }
}

/// Persists the directory entries (new chunk files, the marker).
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `64 MiB` rather than `67108864 bytes` in the notice users read.
fn size_text(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::size_text;

    #[test]
    fn sizes_read_well() {
        assert_eq!(size_text(64 * 1024 * 1024), "64 MiB");
        assert_eq!(size_text(2048), "2 KiB");
        assert_eq!(size_text(1000), "1000 bytes");
    }
}
