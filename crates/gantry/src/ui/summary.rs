//! The table printed at the end of a local run: job, matrix cell, result, duration.

use gantry_engine::{JobResult, RunReport, RunStatus};

use super::style::Style;

/// `850ms`, `12.3s`, `4m05s`.
pub fn fmt_ms(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms}ms"),
        1000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        _ => format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

fn matrix_cell(m: &indexmap::IndexMap<String, serde_json::Value>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}={}", gantry_expr::to_display_string(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn render(report: &RunReport, style: Style) -> String {
    let rows: Vec<[String; 5]> = report
        .jobs
        .iter()
        .map(|j| {
            [
                j.id.clone(),
                matrix_cell(&j.matrix),
                j.result.as_str().to_string(),
                if j.attempts == 0 {
                    "—".to_string()
                } else {
                    fmt_ms(j.duration_ms)
                },
                j.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let headers = ["JOB", "MATRIX", "RESULT", "DURATION", "NOTE"];
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    let mut out = String::from("\n");
    let header: Vec<String> = headers.iter().zip(widths).map(|(h, w)| pad(h, w)).collect();
    out.push_str(&style.bold(header.join("  ").trim_end()));
    out.push('\n');
    for (row, job) in rows.iter().zip(&report.jobs) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (c, w))| {
                let padded = pad(c, w);
                if i != 2 {
                    return padded;
                }
                match job.result {
                    JobResult::Success => style.green(&padded),
                    JobResult::Failure => style.red(&padded),
                    JobResult::Cancelled => style.yellow(&padded),
                    JobResult::Skipped => style.dim(&padded),
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    let verdict = match report.status {
        RunStatus::Success => style.green("Run succeeded"),
        RunStatus::Failure => style.red("Run failed"),
        RunStatus::Cancelled => style.yellow("Run cancelled"),
    };
    out.push_str(&format!(
        "\n{verdict} in {} ({} jobs)\n",
        fmt_ms(report.duration_ms),
        report.jobs.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(fmt_ms(850), "850ms");
        assert_eq!(fmt_ms(12_340), "12.3s");
        assert_eq!(fmt_ms(245_000), "4m05s");
    }
}
