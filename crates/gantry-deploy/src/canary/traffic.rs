//! The canary's measured traffic: what nginx logged on a host since a step began (the
//! requests each slot got, how many were answered with a 5xx, the 95th percentile of
//! their response time), summed over the hosts, and judged against the analysis.
//! The counting runs on the host (awk over the log since the step's offset), so only
//! two summary lines travel back.

use gantry_infra::shell::quote;
use gantry_workspace::Analysis;
use serde::Serialize;

/// Requests one slot got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Traffic {
    pub requests: u64,
    /// Answered with a 5xx by the slot, or not answered at all.
    pub errors: u64,
    /// 95th percentile of the slot's response time (the highest host's, summed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p95_ms: Option<u64>,
}

impl Traffic {
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }

    /// Adds another host's traffic; the percentile kept is the worse of the two.
    pub fn add(&mut self, other: &Traffic) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.p95_ms = match (self.p95_ms, other.p95_ms) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

/// One host's counts since the step's offset, and the log's size now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostTraffic {
    pub canary: Traffic,
    pub stable: Traffic,
    pub size: u64,
}

/// Prints the log's size: where a step starts reading.
pub fn offset(log: &str) -> String {
    format!("stat -c %s {} 2>/dev/null || echo 0\n", quote(log))
}

/// Counts the requests each slot got since byte `offset` of the log (from the start
/// when the log is shorter: it was rotated). Each logged try of an upstream counts for
/// the slot it went to, so a request nginx retried elsewhere still counts against the
/// slot that failed it.
pub fn count(log: &str, offset: u64, canary_port: u16, stable_port: u16) -> String {
    format!(
        r#"log={log}
size=$(stat -c %s "$log" 2>/dev/null || echo 0)
off={offset}
if [ "$size" -lt "$off" ]; then off=0; fi
echo "size $size"
tail -c +$((off + 1)) "$log" 2>/dev/null | head -c $((size - off)) | awk -F'|' -v c='127.0.0.1:{canary_port}' -v s='127.0.0.1:{stable_port}' '
{{
  n = split($2, addr, /, | : /); split($3, status, /, | : /); split($4, time, /, | : /)
  for (i = 1; i <= n; i++) {{
    g = ""
    if (addr[i] == c) g = "canary"; else if (addr[i] == s) g = "stable"
    if (g == "") continue
    err = (status[i] == "-" || status[i] + 0 >= 500) ? 1 : 0
    t = (time[i] == "-") ? 0 : time[i] * 1000
    printf "%s %d %d\n", g, err, t
  }}
}}' | sort -k1,1 -k3,3n | awk '
{{ g = $1; n[g]++; e[g] += $2; v[g, n[g]] = $3 }}
END {{
  for (g in n) {{
    k = int(n[g] * 0.95); if (k < n[g] * 0.95) k++; if (k < 1) k = 1
    printf "%s %d %d %d\n", g, n[g], e[g], v[g, k]
  }}
}}'
"#,
        log = quote(log),
    )
}

pub fn parse(stdout: &str) -> HostTraffic {
    let mut out = HostTraffic::default();
    for line in stdout.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["size", size] => out.size = size.parse().unwrap_or(0),
            [group, requests, errors, p95] => {
                let t = Traffic {
                    requests: requests.parse().unwrap_or(0),
                    errors: errors.parse().unwrap_or(0),
                    p95_ms: p95.parse().ok(),
                };
                match *group {
                    "canary" => out.canary = t,
                    "stable" => out.stable = t,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether the canary's traffic so far passes. The error rate and latency are judged
/// once `min_requests` have reached it; at the end of a step (`last`), fewer requests
/// than that fail the step too.
pub fn judge(analysis: &Analysis, canary: &Traffic, last: bool) -> Result<(), String> {
    let enough = canary.requests >= u64::from(analysis.min_requests.max(1));
    if enough && canary.error_rate() > analysis.max_error_rate {
        return Err(format!(
            "error rate {:.1}% ({} of {} requests) is above {}%",
            canary.error_rate() * 100.0,
            canary.errors,
            canary.requests,
            analysis.max_error_rate * 100.0
        ));
    }
    if enough
        && let (Some(max), Some(p95)) = (analysis.max_latency, canary.p95_ms)
        && u128::from(p95) > max.as_millis()
    {
        return Err(format!(
            "p95 response time {p95} ms is above {} ms",
            max.as_millis()
        ));
    }
    if last && canary.requests < u64::from(analysis.min_requests) {
        return Err(format!(
            "only {} request(s) reached the canary, fewer than min_requests ({})",
            canary.requests, analysis.min_requests
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn reads_the_counts_and_sums_hosts_with_the_worse_percentile() {
        let a = parse("size 4096\ncanary 20 2 31\nstable 180 0 12\n");
        assert_eq!(a.size, 4096);
        assert_eq!(
            a.canary,
            Traffic {
                requests: 20,
                errors: 2,
                p95_ms: Some(31)
            }
        );
        let mut sum = a.canary;
        sum.add(&parse("canary 30 1 80\n").canary);
        assert_eq!((sum.requests, sum.errors, sum.p95_ms), (50, 3, Some(80)));
        assert!((sum.error_rate() - 0.06).abs() < 1e-9);
        assert_eq!(parse("size 0\n").canary, Traffic::default());
    }

    #[test]
    fn judges_error_rate_latency_and_traffic() {
        let analysis = Analysis {
            max_error_rate: 0.05,
            max_latency: Some(Duration::from_millis(100)),
            min_requests: 20,
            ..Analysis::default()
        };
        let t = |requests, errors, p95| Traffic {
            requests,
            errors,
            p95_ms: Some(p95),
        };
        assert!(judge(&analysis, &t(100, 5, 40), true).is_ok());
        let err = judge(&analysis, &t(100, 20, 40), false).unwrap_err();
        assert_eq!(err, "error rate 20.0% (20 of 100 requests) is above 5%");
        let err = judge(&analysis, &t(100, 0, 140), false).unwrap_err();
        assert!(err.contains("p95 response time 140 ms"), "{err}");
        // Too few requests to judge during the step, and too few to pass at its end.
        assert!(judge(&analysis, &t(3, 3, 900), false).is_ok());
        let err = judge(&analysis, &t(3, 0, 9), true).unwrap_err();
        assert!(err.contains("only 3 request(s)"), "{err}");
    }

    #[test]
    fn the_count_script_quotes_the_log_and_reads_from_the_offset() {
        let s = count("/var/log/nginx/gantry-web.log", 512, 8082, 8081);
        assert!(s.contains("log='/var/log/nginx/gantry-web.log'"), "{s}");
        assert!(
            s.contains("off=512") && s.contains("-v c='127.0.0.1:8082'"),
            "{s}"
        );
    }
}
