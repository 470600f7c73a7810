//! Where a job's log lives on disk and the index of its chunk files: chunk `n` is
//! `<root>/<run>/<job>/<n as 8 digits>.log`, and its logical start offset is the sum of
//! the sizes of the chunks before it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::types::{JobId, RunId};

/// The marker file `JobLogWriter::finish` writes: no more lines will come.
pub(crate) const COMPLETE: &str = "complete";

pub(crate) fn run_dir(root: &Path, run: RunId) -> PathBuf {
    root.join(run.0.to_string())
}

pub(crate) fn job_dir(root: &Path, run: RunId, job: JobId) -> PathBuf {
    run_dir(root, run).join(job.0.to_string())
}

pub(crate) fn chunk_path(dir: &Path, number: usize) -> PathBuf {
    dir.join(format!("{number:08}.log"))
}

/// The chunks of one job's log as they were when listed. Every chunk but the last is
/// sealed (the writer never touches it again), so their sizes, and with them every start
/// offset, stay true; only the last chunk may have grown since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunks {
    /// Logical offset of each chunk's first byte; `starts[0] == 0`.
    pub starts: Vec<u64>,
    /// Size of each chunk file.
    pub sizes: Vec<u64>,
}

impl Chunks {
    /// Logical size of the log: the end of the last chunk.
    pub fn end(&self) -> u64 {
        match (self.starts.last(), self.sizes.last()) {
            (Some(start), Some(size)) => start + size,
            _ => 0,
        }
    }

    /// The chunk holding `offset` and the position in it. An offset on a boundary
    /// belongs to the later chunk, where the record starting there lives. `None` when
    /// the offset is past the end of the last chunk.
    pub fn locate(&self, offset: u64) -> Option<(usize, u64)> {
        let index = self
            .starts
            .partition_point(|&s| s <= offset)
            .checked_sub(1)?;
        let pos = offset - self.starts[index];
        (pos <= self.sizes[index]).then_some((index, pos))
    }
}

/// Lists the chunk files of the job log in `dir`; `None` when the job has no log yet.
/// Chunk numbers must run from 0 without a gap: a missing chunk would shift every later
/// offset, so it is reported as corrupt data rather than read around.
pub(crate) fn list(dir: &Path) -> io::Result<Option<Chunks>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut numbers = Vec::new();
    for entry in entries {
        let name = entry?.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".log")) else {
            continue;
        };
        if stem.len() == 8
            && stem.bytes().all(|b| b.is_ascii_digit())
            && let Ok(n) = stem.parse::<usize>()
        {
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    if let Some((i, n)) = numbers.iter().enumerate().find(|(i, n)| *i != **n) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "log chunks in {} are not numbered 0, 1, 2, … (found chunk {n} where chunk {i} should be)",
                dir.display()
            ),
        ));
    }
    let mut chunks = Chunks {
        starts: Vec::with_capacity(numbers.len()),
        sizes: Vec::with_capacity(numbers.len()),
    };
    for n in numbers {
        let start = chunks.end();
        chunks.starts.push(start);
        chunks.sizes.push(fs::metadata(chunk_path(dir, n))?.len());
    }
    Ok(Some(chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_on_boundaries() {
        let chunks = Chunks {
            starts: vec![0, 10, 25],
            sizes: vec![10, 15, 5],
        };
        assert_eq!(chunks.end(), 30);
        assert_eq!(chunks.locate(0), Some((0, 0)));
        assert_eq!(chunks.locate(9), Some((0, 9)));
        assert_eq!(chunks.locate(10), Some((1, 0)));
        assert_eq!(chunks.locate(30), Some((2, 5)));
        assert_eq!(chunks.locate(31), None);
    }

    #[test]
    fn empty_last_chunk_wins_its_boundary() {
        let chunks = Chunks {
            starts: vec![0, 10],
            sizes: vec![10, 0],
        };
        assert_eq!(chunks.locate(10), Some((1, 0)));
    }
}
