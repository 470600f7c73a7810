//! Human text for numbers and times: durations ("1m 23s"), relative times ("5 min ago")
//! with the absolute time for a `title`, short shas and first lines. app.js repeats the
//! relative-time and duration rules so that live pages keep the same wording.

use jiff::{SignedDuration, Timestamp};

/// A duration as people read it: `450ms`, `42s`, `1m 23s`, `2h 5m`, `3d 4h`.
/// Only the two largest units are shown; a run of 1h 2m 3s is "about 1h 2m".
pub fn duration_ms(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = ms / 1000;
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// The time between two instants; negative spans (clock skew between server and agent)
/// count as zero rather than printing a minus sign.
pub fn between(start: Timestamp, end: Timestamp) -> String {
    duration_ms(span_ms(start, end))
}

/// Milliseconds from `start` to `end`, never negative.
pub fn span_ms(start: Timestamp, end: Timestamp) -> u64 {
    let ms = end.as_millisecond().saturating_sub(start.as_millisecond());
    u64::try_from(ms).unwrap_or(0)
}

/// `t` relative to `now`: "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago",
/// and past a month the date itself ("2026-03-04"). Future times (skewed clocks) read
/// "just now" when close, else "in 5 min".
pub fn relative(t: Timestamp, now: Timestamp) -> String {
    let diff: SignedDuration = now.duration_since(t);
    let secs = diff.as_secs();
    if secs < 0 {
        let ahead = -secs;
        return if ahead < 45 {
            "just now".into()
        } else {
            format!("in {} min", (ahead + 59) / 60)
        };
    }
    match secs {
        0..45 => "just now".into(),
        45..3600 => format!("{} min ago", (secs + 30) / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        86_400..172_800 => "yesterday".into(),
        172_800..2_592_000 => format!("{} days ago", secs / 86_400),
        _ => t.strftime("%Y-%m-%d").to_string(),
    }
}

/// The absolute time for tooltips, in UTC (app.js rewrites it to the browser's zone).
pub fn absolute(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The first 8 characters of a commit sha (all of it when shorter).
pub fn short_sha(sha: &str) -> &str {
    sha.get(..8).unwrap_or(sha)
}

/// The first line of a message, for one-line table cells.
pub fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim_end()
}

/// A time as the templates show it: `<time datetime=iso title=absolute>relative</time>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeView {
    /// RFC 3339, for `datetime` and for app.js to recompute `relative`.
    pub iso: String,
    pub absolute: String,
    pub relative: String,
}

impl TimeView {
    pub fn new(t: Timestamp, now: Timestamp) -> Self {
        TimeView {
            iso: t.to_string(),
            absolute: absolute(t),
            relative: relative(t, now),
        }
    }

    pub fn opt(t: Option<Timestamp>, now: Timestamp) -> Option<Self> {
        t.map(|t| TimeView::new(t, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).unwrap()
    }

    #[test]
    fn durations() {
        assert_eq!(duration_ms(0), "0ms");
        assert_eq!(duration_ms(450), "450ms");
        assert_eq!(duration_ms(1000), "1s");
        assert_eq!(duration_ms(42_900), "42s");
        assert_eq!(duration_ms(83_000), "1m 23s");
        assert_eq!(duration_ms(3_600_000), "1h 0m");
        assert_eq!(duration_ms(7_505_000), "2h 5m");
        assert_eq!(duration_ms(273_600_000), "3d 4h");
        assert!(duration_ms(u64::MAX).ends_with('h'));
    }

    #[test]
    fn spans_never_go_negative() {
        assert_eq!(between(ts(100), ts(183)), "1m 23s");
        assert_eq!(between(ts(200), ts(100)), "0ms");
        assert_eq!(span_ms(ts(0), ts(2)), 2000);
    }

    #[test]
    fn relative_times() {
        let now = ts(1_800_000_000);
        assert_eq!(relative(now, now), "just now");
        assert_eq!(relative(ts(1_800_000_000 - 44), now), "just now");
        assert_eq!(relative(ts(1_800_000_000 - 300), now), "5 min ago");
        assert_eq!(relative(ts(1_800_000_000 - 3 * 3600 - 5), now), "3 h ago");
        assert_eq!(relative(ts(1_800_000_000 - 90_000), now), "yesterday");
        assert_eq!(relative(ts(1_800_000_000 - 4 * 86_400), now), "4 days ago");
        assert_eq!(relative(ts(1_700_000_000), now), "2023-11-14");
        assert_eq!(relative(ts(1_800_000_010), now), "just now");
        assert_eq!(relative(ts(1_800_000_000 + 300), now), "in 5 min");
    }

    #[test]
    fn absolute_and_view() {
        let t = ts(1_700_000_000);
        assert_eq!(absolute(t), "2023-11-14 22:13:20 UTC");
        let v = TimeView::new(t, ts(1_700_000_060));
        assert_eq!(v.iso, "2023-11-14T22:13:20Z");
        assert_eq!(v.relative, "1 min ago");
    }

    #[test]
    fn shas_and_lines() {
        assert_eq!(short_sha("0123456789abcdef"), "01234567");
        assert_eq!(short_sha("abc"), "abc");
        assert_eq!(first_line("fix: thing\n\nlong body"), "fix: thing");
        assert_eq!(first_line(""), "");
    }
}
