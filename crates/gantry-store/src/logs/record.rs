//! One line of a job's log as stored on disk (a JSON object per line) and as the API
//! returns it (the same object plus its `offset`).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::io;

/// Where a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    /// The step's standard output.
    Out,
    /// The step's standard error.
    Err,
    /// Gantry's own messages about the job (step started, log truncated, …).
    Sys,
}

/// A line to append: what the engine's `LogSink` produced, already masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLogLine {
    /// When the line was printed; stored with millisecond precision.
    pub ts: Timestamp,
    pub stream: LogStream,
    /// Index of the step in the job, `None` for job-level system lines.
    pub step: Option<usize>,
    /// The line without its line ending.
    pub text: String,
}

/// A stored line read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// Logical byte offset where the record starts (across all chunks of the job). Not
    /// stored in the record: the reader knows where it found it.
    #[serde(default)]
    pub offset: u64,
    /// 1-based line number within the job's log.
    pub line: u64,
    #[serde(with = "ts_ms")]
    pub ts: Timestamp,
    pub stream: LogStream,
    pub step: Option<usize>,
    pub text: String,
}

/// The on-disk shape: `LogRecord` without `offset`, borrowing the text so appending does
/// not copy every line once more.
#[derive(Serialize)]
struct Stored<'a> {
    line: u64,
    #[serde(with = "ts_ms")]
    ts: Timestamp,
    stream: LogStream,
    step: Option<usize>,
    text: &'a str,
}

#[derive(Deserialize)]
struct StoredOwned {
    line: u64,
    #[serde(with = "ts_ms")]
    ts: Timestamp,
    stream: LogStream,
    step: Option<usize>,
    text: String,
}

/// Appends `line` as record number `number` to `out`, newline included. JSON escapes
/// control characters, so the only `\n` in a chunk file is the one ending each record —
/// which is what lets readers and repair find record boundaries by scanning for it.
pub(crate) fn encode(out: &mut Vec<u8>, number: u64, line: &NewLogLine) -> io::Result<()> {
    let stored = Stored {
        line: number,
        ts: line.ts,
        stream: line.stream,
        step: line.step,
        text: &line.text,
    };
    serde_json::to_writer(&mut *out, &stored).map_err(io::Error::other)?;
    out.push(b'\n');
    Ok(())
}

/// Parses one record (without its newline) found at `offset`.
pub(crate) fn decode(bytes: &[u8], offset: u64) -> Result<LogRecord, serde_json::Error> {
    let s: StoredOwned = serde_json::from_slice(bytes)?;
    Ok(LogRecord {
        offset,
        line: s.line,
        ts: s.ts,
        stream: s.stream,
        step: s.step,
        text: s.text,
    })
}

/// RFC 3339 in UTC with exactly three fractional digits (`2025-01-31T12:00:00.123Z`):
/// fixed width reads well in a downloaded log and sorts as text. Reading accepts any
/// RFC 3339 timestamp.
mod ts_ms {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_escapes() -> Result<(), Box<dyn std::error::Error>> {
        let line = NewLogLine {
            ts: Timestamp::from_millisecond(1_700_000_000_120)?,
            stream: LogStream::Err,
            step: Some(3),
            text: "a \"quoted\"\nnew line\tand ü".into(),
        };
        let mut buf = Vec::new();
        encode(&mut buf, 7, &line)?;
        assert_eq!(buf.iter().filter(|&&b| b == b'\n').count(), 1);
        let text = String::from_utf8(buf.clone())?;
        assert!(
            text.starts_with(
                r#"{"line":7,"ts":"2023-11-14T22:13:20.120Z","stream":"err","step":3,"text":"#
            ),
            "{text}"
        );
        let rec = decode(&buf[..buf.len() - 1], 42)?;
        assert_eq!(
            (rec.offset, rec.line, rec.ts, rec.text),
            (42, 7, line.ts, line.text)
        );
        let api = serde_json::to_value(decode(&buf[..buf.len() - 1], 42)?)?;
        assert_eq!(api["offset"], 42);
        assert_eq!(api["stream"], "err");
        Ok(())
    }
}
