//! Shared pieces of the `gantry serve` benchmark drivers (`seed-runs`, `loadgen`,
//! `webhook-latency`, `agent-bench`): wall-clock time in nanoseconds, the API's
//! timestamps in milliseconds, and latency summaries.
#![forbid(unsafe_code)]

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch (CLOCK_REALTIME, the clock `date +%s%N` reads), so
/// a time taken here can be compared with one written by a process the server started.
pub fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch of an RFC 3339 timestamp as the API writes them
/// (`2026-11-22T10:00:00.123Z`); `None` for anything else.
pub fn parse_timestamp_ms(s: &str) -> Option<i64> {
    s.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

/// Percentiles of a set of latencies, in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Summary {
    /// Nearest-rank percentiles; `None` when there are no samples.
    pub fn of(samples_ms: &[f64]) -> Option<Summary> {
        if samples_ms.is_empty() {
            return None;
        }
        let mut v = samples_ms.to_vec();
        v.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let i = ((p / 100.0) * v.len() as f64).ceil() as usize;
            v[i.clamp(1, v.len()) - 1]
        };
        Some(Summary {
            count: v.len(),
            min: v[0],
            p50: rank(50.0),
            p90: rank(90.0),
            p99: rank(99.0),
            p999: rank(99.9),
            max: v[v.len() - 1],
            mean: v.iter().sum::<f64>() / v.len() as f64,
        })
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "count": self.count, "min_ms": self.min, "p50_ms": self.p50, "p90_ms": self.p90,
            "p99_ms": self.p99, "p999_ms": self.p999, "max_ms": self.max, "mean_ms": self.mean,
        })
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "n={} min={:.2} p50={:.2} p90={:.2} p99={:.2} p99.9={:.2} max={:.2} mean={:.2} (ms)",
            self.count, self.min, self.p50, self.p90, self.p99, self.p999, self.max, self.mean
        )
    }
}

/// The 1-minute load average from /proc/loadavg, for printing next to each figure.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = Summary::of(&v).expect("samples");
        assert_eq!((s.p50, s.p90, s.p99, s.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[3.0]).map(|s| s.p99), Some(3.0));
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp_ms("1970-01-01T00:00:01.5Z"), Some(1500));
        // date -u -d 2026-11-22T10:00:00Z +%s → 1795341600
        assert_eq!(
            parse_timestamp_ms("2026-11-22T10:00:00.123456Z"),
            Some(1_795_341_600_123)
        );
        assert_eq!(
            parse_timestamp_ms("2000-02-29T23:59:59.999Z"),
            Some(951_868_799_999)
        );
        assert_eq!(parse_timestamp_ms("2026-11-22 10:00:00"), None);
    }
}
