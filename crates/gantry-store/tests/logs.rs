//! Job log storage on real files in temporary directories: round trips, paging,
//! rotation, reopening and crash repair, a reader racing the writer, the size cap, bad
//! offsets, completion and the raw download.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::TryStreamExt;
use gantry_store::logs::{LogFiles, LogOptions, LogPage, LogRecord, LogStream, NewLogLine};
use gantry_store::{JobId, RunId};
use jiff::Timestamp;
use std::io::{ErrorKind, Write};
use std::path::Path;

const RUN: RunId = RunId(4);
const JOB: JobId = JobId(9);

fn line(text: &str) -> NewLogLine {
    NewLogLine {
        ts: Timestamp::from_millisecond(1_700_000_000_000 + text.len() as i64).unwrap(),
        stream: LogStream::Out,
        step: Some(0),
        text: text.to_string(),
    }
}

fn lines(prefix: &str, n: usize) -> Vec<NewLogLine> {
    (0..n).map(|i| line(&format!("{prefix} {i}"))).collect()
}

fn small(root: &Path, chunk_bytes: u64) -> LogFiles {
    LogFiles::with_options(
        root.to_path_buf(),
        LogOptions {
            chunk_bytes,
            ..LogOptions::default()
        },
    )
}

/// Pages through the whole log from `from` with pages of `max_bytes`.
async fn read_all(files: &LogFiles, from: u64, max_bytes: usize) -> Vec<LogRecord> {
    let mut records = Vec::new();
    let mut offset = from;
    loop {
        let page = files.read(RUN, JOB, offset, max_bytes).await.unwrap();
        if page.records.is_empty() {
            assert_eq!(page.next_offset, offset);
            return records;
        }
        offset = page.next_offset;
        records.extend(page.records);
    }
}

fn texts(records: &[LogRecord]) -> Vec<&str> {
    records.iter().map(|r| r.text.as_str()).collect()
}

fn chunk(root: &Path, n: usize) -> std::path::PathBuf {
    root.join(RUN.0.to_string())
        .join(JOB.0.to_string())
        .join(format!("{n:08}.log"))
}

#[tokio::test]
async fn append_and_read_round_trip_with_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let files = LogFiles::new(dir.path().to_path_buf());
    let mut writer = files.writer(RUN, JOB).await.unwrap();
    let first = vec![
        line("hello"),
        NewLogLine {
            ts: Timestamp::from_millisecond(1_700_000_000_123).unwrap(),
            stream: LogStream::Err,
            step: None,
            text: "ünïcode \"quotes\" and\ttabs".into(),
        },
    ];
    let after_first = writer.append(&first).await.unwrap();
    let end = writer.append(&[line("third")]).await.unwrap();
    assert_eq!(writer.offset(), end);
    assert_eq!(writer.lines(), 3);

    let page = files.read(RUN, JOB, 0, 1 << 20).await.unwrap();
    assert_eq!(page.next_offset, end);
    assert!(!page.complete);
    let got: Vec<_> = page
        .records
        .iter()
        .map(|r| (r.line, r.text.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (1, "hello"),
            (2, "ünïcode \"quotes\" and\ttabs"),
            (3, "third")
        ]
    );
    assert_eq!(page.records[0].offset, 0);
    assert_eq!(page.records[2].offset, after_first);
    assert_eq!(page.records[1].ts, first[1].ts);
    assert_eq!(page.records[1].stream, LogStream::Err);
    assert_eq!(page.records[1].step, None);
    assert_eq!(page.records[0].step, Some(0));
    assert_eq!(files.size(RUN, JOB).await.unwrap(), end);

    // Every record offset is a valid place to start.
    for record in &page.records {
        let from = files.read(RUN, JOB, record.offset, 1 << 20).await.unwrap();
        assert_eq!(from.records[0], *record);
    }

    // The stored shape is the documented JSONL.
    let stored = std::fs::read_to_string(chunk(dir.path(), 0)).unwrap();
    let first_line = stored.lines().next().unwrap();
    assert_eq!(
        first_line,
        r#"{"line":1,"ts":"2023-11-14T22:13:20.005Z","stream":"out","step":0,"text":"hello"}"#
    );
    // The API shape adds the offset.
    let api = serde_json::to_value(&page.records[2]).unwrap();
    assert_eq!(api["offset"], after_first);
    assert_eq!(api["line"], 3);
}

#[tokio::test]
async fn empty_and_missing_logs_read_as_empty() {
    let dir = tempfile::tempdir().unwrap();
    let files = LogFiles::new(dir.path().to_path_buf());
    let page = files.read(RUN, JOB, 0, 100).await.unwrap();
    assert_eq!(
        page,
        LogPage {
            records: vec![],
            next_offset: 0,
            complete: false
        }
    );
    assert_eq!(files.size(RUN, JOB).await.unwrap(), 0);
    let mut writer = files.writer(RUN, JOB).await.unwrap();
    assert_eq!(writer.append(&[]).await.unwrap(), 0);
    let page = files.read(RUN, JOB, 0, 100).await.unwrap();
    assert!(page.records.is_empty());
}

#[tokio::test]
async fn paging_respects_max_bytes_but_always_makes_progress() {
    let dir = tempfile::tempdir().unwrap();
    let files = LogFiles::new(dir.path().to_path_buf());
    let mut writer = files.writer(RUN, JOB).await.unwrap();
    writer.append(&lines("line", 50)).await.unwrap();
    let record_len = {
        let page = files.read(RUN, JOB, 0, 1).await.unwrap();
        assert_eq!(
            page.records.len(),
            1,
            "a page smaller than a record still holds one"
        );
        page.next_offset as usize
    };
    let page = files
        .read(RUN, JOB, 0, record_len * 3 + record_len / 2)
        .await
        .unwrap();
    assert_eq!(page.records.len(), 3);
    assert!(page.next_offset as usize <= record_len * 3 + record_len / 2);

    for max in [1, 80, 200, 1000, 1 << 20] {
        let all = read_all(&files, 0, max).await;
        assert_eq!(all.len(), 50, "max_bytes {max}");
        assert!(all.iter().enumerate().all(|(i, r)| r.line == i as u64 + 1));
    }
}

#[tokio::test]
async fn rotates_across_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let files = small(dir.path(), 300);
    let mut writer = files.writer(RUN, JOB).await.unwrap();
    let mut expected = Vec::new();
    for batch in 0..10 {
        let batch = lines(&format!("batch {batch}"), 7);
        expected.extend(batch.iter().map(|l| l.text.clone()));
        writer.append(&batch).await.unwrap();
    }
    let end = writer.offset();
    let chunk_files = (0..)
        .take_while(|&n| chunk(dir.path(), n).exists())
        .collect::<Vec<_>>();
    assert!(chunk_files.len() > 5, "{} chunks", chunk_files.len());
    let mut total = 0;
    for &n in &chunk_files {
        let bytes = std::fs::read(chunk(dir.path(), n)).unwrap();
        assert!(bytes.len() <= 300, "chunk {n} has {} bytes", bytes.len());
        assert!(
            bytes.ends_with(b"\n"),
            "chunk {n} ends on a record boundary"
        );
        total += bytes.len() as u64;
    }
    assert_eq!(total, end);
    assert_eq!(files.size(RUN, JOB).await.unwrap(), end);

    let all = read_all(&files, 0, 150).await;
    assert_eq!(texts(&all), expected);
    // Offsets are logical: each record starts where the previous one ended.
    for pair in all.windows(2) {
        assert!(pair[0].offset < pair[1].offset);
    }
    for record in &all {
        let page = files.read(RUN, JOB, record.offset, 1).await.unwrap();
        assert_eq!(page.records[0], *record);
    }
}

#[tokio::test]
async fn a_record_larger_than_a_chunk_gets_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let files = small(dir.path(), 100);
    let mut writer = files.writer(RUN, JOB).await.unwrap();
    let big = "x".repeat(500);
    writer
        .append(&[line("a"), line(&big), line("b")])
        .await
        .unwrap();
    assert_eq!(
        texts(&read_all(&files, 0, 10).await),
        ["a", big.as_str(), "b"]
    );
    assert!(chunk(dir.path(), 2).exists());
}

#[tokio::test]
async fn reopening_continues_numbering_and_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let files = small(dir.path(), 200);
    let mut writer = files.writer(RUN, JOB).await.unwrap();
    writer.append(&lines("first", 6)).await.unwrap();
    let summary = writer.finish().await.unwrap();
    assert_eq!(summary.lines, 6);
    assert!(files.read(RUN, JOB, 0, 1 << 20).await.unwrap().complete);

    // A retried job writes again: the log continues and is no longer complete.
    let mut writer = files.writer(RUN, JOB).await.unwrap();
    assert_eq!(writer.offset(), summary.bytes);
    assert_eq!(writer.lines(), 6);
    assert!(!files.read(RUN, JOB, 0, 1 << 20).await.unwrap().complete);
    writer.append(&lines("second", 6)).await.unwrap();
    drop(writer);

    let all = read_all(&files, 0, 1 << 20).await;
    assert_eq!(
        all.iter().map(|r| r.line).collect::<Vec<_>>(),
        (1..=12).collect::<Vec<_>>()
    );
    assert_eq!(all[6].offset, summary.bytes);
    assert_eq!(all[6].text, "second 0");
}

#[tokio::test]
async fn torn_tail_is_cut_on_reopen_and_nothing_before_it_is_lost() {
    for garbage in [
        &b"{\"line\":4,\"ts\":\"2023-11"[..],
        &b"\0\0\0\0"[..],
        &b"not json at all\n"[..],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let files = small(dir.path(), 200);
        let mut writer = files.writer(RUN, JOB).await.unwrap();
        writer.append(&lines("kept", 9)).await.unwrap();
        let end = writer.offset();
        drop(writer);
        let last = (0..)
            .take_while(|&n| chunk(dir.path(), n).exists())
            .last()
            .unwrap();
        assert!(last > 0, "the test wants several chunks");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(chunk(dir.path(), last))
            .unwrap();
        file.write_all(garbage).unwrap();
        drop(file);

        // Readers do not trip over a tail without a newline; a bad whole line is an error.
        if !garbage.ends_with(b"\n") {
            assert_eq!(read_all(&files, 0, 1 << 20).await.len(), 9);
        }

        let mut writer = files.writer(RUN, JOB).await.unwrap();
        assert_eq!(writer.offset(), end, "garbage {garbage:?}");
        assert_eq!(writer.lines(), 9);
        writer.append(&[line("after crash")]).await.unwrap();
        let all = read_all(&files, 0, 1 << 20).await;
        assert_eq!(all.len(), 10);
        assert_eq!(all[9].line, 10);
        assert_eq!(all[9].offset, end);
        assert_eq!(all[9].text, "after crash");
        assert_eq!(all[8].text, "kept 8");
    }
}

#[tokio::test]
async fn torn_first_record_of_a_new_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let files = small(dir.path(), 200);
    let mut writer = files.writer(RUN, JOB).await.unwrap();
    writer.append(&lines("kept", 3)).await.unwrap();
    drop(writer);
    let last = (0..)
        .take_while(|&n| chunk(dir.path(), n).exists())
        .last()
        .unwrap();
    // A crash right after rotation: the new chunk holds only part of its first record.
    std::fs::write(chunk(dir.path(), last + 1), b"{\"line\":4,").unwrap();
    let mut writer = files.writer(RUN, JOB).await.unwrap();
    assert_eq!(writer.lines(), 3);
    writer.append(&[line("next")]).await.unwrap();
    let all = read_all(&files, 0, 1 << 20).await;
    assert_eq!(texts(&all), ["kept 0", "kept 1", "kept 2", "next"]);
    assert_eq!(all[3].line, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reader_sees_only_whole_records() {
    let dir = tempfile::tempdir().unwrap();
    let files = small(dir.path(), 4096);
    let mut writer = files.writer(RUN, JOB).await.unwrap();
    let total = 3000;
    let write = tokio::spawn(async move {
        for batch in 0..(total / 30) {
            let batch: Vec<_> = (0..30)
                .map(|i| line(&format!("{} {}", batch * 30 + i, "y".repeat(i * 7))))
                .collect();
            writer.append(&batch).await.unwrap();
        }
        writer.finish().await.unwrap()
    });
    let mut seen = 0u64;
    let mut offset = 0;
    loop {
        let page = files.read(RUN, JOB, offset, 2000).await.unwrap();
        for record in &page.records {
            seen += 1;
            assert_eq!(record.line, seen, "records arrive whole and in order");
            let n: usize = record.text.split(' ').next().unwrap().parse().unwrap();
            assert_eq!(n as u64 + 1, seen);
            assert_eq!(record.text.len(), format!("{n} ").len() + (n % 30) * 7);
        }
        offset = page.next_offset;
        if page.complete {
            break;
        }
        if page.records.is_empty() {
            tokio::task::yield_now().await;
        }
    }
    let summary = write.await.unwrap();
    assert_eq!(seen, total as u64);
    assert_eq!(summary.lines, total as u64);
}

#[tokio::test]
async fn size_cap_truncates_once_and_counts_dropped_lines() {
    let dir = tempfile::tempdir().unwrap();
    let files = LogFiles::with_options(
        dir.path().to_path_buf(),
        LogOptions {
            chunk_bytes: 512,
            max_job_bytes: 2048,
        },
    );
    let mut writer = files.writer(RUN, JOB).await.unwrap();
    for _ in 0..10 {
        writer.append(&lines("spam", 10)).await.unwrap();
    }
    let summary = writer.finish().await.unwrap();
    let all = read_all(&files, 0, 1 << 20).await;
    let notice = all.last().unwrap();
    assert_eq!(notice.stream, LogStream::Sys);
    assert_eq!(
        notice.text,
        "log truncated: the job printed more than 2 KiB"
    );
    assert_eq!(
        all.iter()
            .filter(|r| r.text.starts_with("log truncated"))
            .count(),
        1
    );
    assert_eq!(summary.lines, all.len() as u64);
    // Every line but those stored is dropped; the one that hit the cap became the notice.
    assert_eq!(summary.dropped_lines, 100 - (all.len() as u64 - 1));
    assert!(summary.bytes <= 2048 + 200, "{} bytes", summary.bytes);

    // A reopened writer knows the cap was reached and does not announce it again.
    let mut writer = files.writer(RUN, JOB).await.unwrap();
    writer.append(&lines("more", 3)).await.unwrap();
    let again = writer.finish().await.unwrap();
    assert_eq!(again.dropped_lines, 3);
    assert_eq!(read_all(&files, 0, 1 << 20).await.len(), all.len());
}

#[tokio::test]
async fn default_cap_message_says_64_mib() {
    let options = LogOptions::default();
    assert_eq!(options.max_job_bytes, 64 * 1024 * 1024);
    assert_eq!(options.chunk_bytes, 1024 * 1024);
    let dir = tempfile::tempdir().unwrap();
    let files = LogFiles::new(dir.path().to_path_buf());
    let mut writer = files.writer(RUN, JOB).await.unwrap();
    // 70 lines of 1 MiB each: past the cap after about 64.
    let big = line(&"z".repeat(1024 * 1024 - 100));
    for _ in 0..70 {
        writer.append(std::slice::from_ref(&big)).await.unwrap();
    }
    let summary = writer.finish().await.unwrap();
    assert!(summary.dropped_lines >= 5);
    let mut offset = 0;
    let mut last = None;
    loop {
        let page = files.read(RUN, JOB, offset, 4 << 20).await.unwrap();
        if page.records.is_empty() {
            break;
        }
        offset = page.next_offset;
        last = page.records.last().cloned();
    }
    assert_eq!(
        last.unwrap().text,
        "log truncated: the job printed more than 64 MiB"
    );
}

#[tokio::test]
async fn bad_offsets_are_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let files = small(dir.path(), 200);
    let mut writer = files.writer(RUN, JOB).await.unwrap();
    let end = writer.append(&lines("line", 10)).await.unwrap();

    let middle = files.read(RUN, JOB, 3, 100).await.unwrap_err();
    assert_eq!(middle.kind(), ErrorKind::InvalidInput);
    assert!(
        middle.to_string().contains("in the middle of a record"),
        "{middle}"
    );

    let past = files.read(RUN, JOB, end + 1, 100).await.unwrap_err();
    assert_eq!(past.kind(), ErrorKind::InvalidInput);
    assert!(past.to_string().contains("past the end"), "{past}");
    assert!(past.to_string().contains("run 4 job 9"), "{past}");

    let at_end = files.read(RUN, JOB, end, 100).await.unwrap();
    assert!(at_end.records.is_empty());
    assert_eq!(at_end.next_offset, end);

    // Every byte offset is either a record start or rejected; none panics or yields garbage.
    let starts: Vec<u64> = read_all(&files, 0, 1 << 20)
        .await
        .iter()
        .map(|r| r.offset)
        .collect();
    for offset in 0..=end + 2 {
        match files.read(RUN, JOB, offset, 1).await {
            Ok(_) => assert!(starts.contains(&offset) || offset == end, "{offset}"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::InvalidInput);
                assert!(!starts.contains(&offset));
            }
        }
    }

    let missing = LogFiles::new(dir.path().join("nothing"));
    let err = missing.read(RUN, JOB, 10, 100).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn complete_only_after_finish_and_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let files = small(dir.path(), 200);
    let mut writer = files.writer(RUN, JOB).await.unwrap();
    writer.append(&lines("line", 10)).await.unwrap();
    writer.sync().await.unwrap();
    assert!(!files.read(RUN, JOB, 0, 1 << 20).await.unwrap().complete);
    let summary = writer.finish().await.unwrap();
    assert_eq!(summary.dropped_lines, 0);
    let first = files.read(RUN, JOB, 0, 100).await.unwrap();
    assert!(!first.records.is_empty());
    assert!(!first.complete, "a page short of the end is not complete");
    let whole = files.read(RUN, JOB, 0, 1 << 20).await.unwrap();
    assert!(whole.complete);
    assert_eq!(whole.next_offset, summary.bytes);
    let at_end = files.read(RUN, JOB, summary.bytes, 100).await.unwrap();
    assert!(at_end.complete && at_end.records.is_empty());
}

#[tokio::test]
async fn raw_text_and_delete_run() {
    let dir = tempfile::tempdir().unwrap();
    let files = small(dir.path(), 128);
    let mut writer = files.writer(RUN, JOB).await.unwrap();
    let mut batch = lines("out", 20);
    batch.push(NewLogLine {
        stream: LogStream::Sys,
        ..line("step finished")
    });
    writer.append(&batch).await.unwrap();
    writer.finish().await.unwrap();

    let raw: Vec<String> = files.raw(RUN, JOB).try_collect().await.unwrap();
    let expected: String = batch.iter().map(|l| format!("{}\n", l.text)).collect();
    assert_eq!(raw.concat(), expected);

    let other = JobId(10);
    files
        .writer(RUN, other)
        .await
        .unwrap()
        .append(&lines("x", 2))
        .await
        .unwrap();
    files.delete_run(RUN).await.unwrap();
    assert_eq!(files.size(RUN, JOB).await.unwrap(), 0);
    assert_eq!(files.size(RUN, other).await.unwrap(), 0);
    assert!(
        files
            .read(RUN, JOB, 0, 100)
            .await
            .unwrap()
            .records
            .is_empty()
    );
    let empty: Vec<String> = files.raw(RUN, JOB).try_collect().await.unwrap();
    assert!(empty.is_empty());
    files.delete_run(RUN).await.unwrap();
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    fn batches() -> impl Strategy<Value = Vec<Vec<String>>> {
        let text = prop_oneof![any::<String>(), "[a-z \\n\"\\\\]{0,40}"];
        proptest::collection::vec(proptest::collection::vec(text, 0..6), 1..8)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Reading from any offset an append returned yields exactly the lines appended
        /// after it, in order, whatever the chunk and page sizes.
        #[test]
        fn reads_from_every_returned_offset(
            batches in batches(),
            chunk_bytes in 40u64..400,
            page in 1usize..500,
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let dir = tempfile::tempdir().unwrap();
                let files = small(dir.path(), chunk_bytes);
                let mut writer = files.writer(RUN, JOB).await.unwrap();
                let mut offsets = vec![0];
                for batch in &batches {
                    let lines: Vec<_> = batch.iter().map(|t| line(t)).collect();
                    offsets.push(writer.append(&lines).await.unwrap());
                }
                for (k, &offset) in offsets.iter().enumerate() {
                    let expected: Vec<&str> =
                        batches[k..].iter().flatten().map(String::as_str).collect();
                    let got = read_all(&files, offset, page).await;
                    prop_assert_eq!(texts(&got), expected);
                    let skipped: usize = batches[..k].iter().map(Vec::len).sum();
                    for (i, record) in got.iter().enumerate() {
                        prop_assert_eq!(record.line, (skipped + i + 1) as u64);
                    }
                }
                Ok(())
            })?;
        }
    }
}
