//! The human form of a plan or apply report: per host, each resource that changes (or
//! failed) with its changes and diffs, handlers, then the summary line.

use std::fmt::Write;

use crate::run::{HandlerStatus, HostStatus, Mode, ResourceStatus, RunReport, Summary};

/// The report as text; `verbose` also lists unchanged resources.
pub fn render(report: &RunReport, verbose: bool) -> String {
    let mut out = String::new();
    for host in &report.hosts {
        let _ = write!(out, "host {}", host.host);
        match host.status {
            HostStatus::Ok => {}
            HostStatus::Unreachable => out.push_str(" — unreachable"),
            HostStatus::Failed => out.push_str(" — failed"),
        }
        if let (Some(os), Some(arch)) = (host.facts.get("os_id"), host.facts.get("arch")) {
            let version = host.facts.get("os_version").unwrap_or("");
            let _ = write!(out, " ({os} {version} {arch})");
        }
        out.push('\n');
        if let Some(error) = &host.error {
            let _ = writeln!(out, "  error: {error}");
        }
        for r in &host.resources {
            let mark = match r.status {
                ResourceStatus::Unchanged if !verbose => continue,
                ResourceStatus::Unchanged => "=",
                ResourceStatus::Change => "~",
                ResourceStatus::Applied => "✓",
                ResourceStatus::Failed => "✗",
                ResourceStatus::NotApplied => "-",
            };
            let status = match r.status {
                ResourceStatus::Unchanged => "unchanged",
                ResourceStatus::Change => "will change",
                ResourceStatus::Applied => "applied",
                ResourceStatus::Failed => "failed",
                ResourceStatus::NotApplied => "not applied",
            };
            let _ = writeln!(out, "  {mark} {} ({status}, {})", r.id, r.location);
            for c in &r.changes {
                match (&c.from, &c.to) {
                    (Some(from), Some(to)) => {
                        let _ = writeln!(out, "      {}: {from} → {to}", c.field);
                    }
                    (None, Some(to)) => {
                        let _ = writeln!(out, "      {}: {to}", c.field);
                    }
                    _ => {
                        let _ = writeln!(out, "      {}", c.field);
                    }
                }
                if let Some(diff) = &c.diff {
                    for line in diff.lines() {
                        let _ = writeln!(out, "      {line}");
                    }
                }
            }
            if let Some(message) = &r.message {
                for line in message.lines() {
                    let _ = writeln!(out, "      {line}");
                }
            }
        }
        for h in &host.handlers {
            let status = match h.status {
                HandlerStatus::WouldRun => "will run",
                HandlerStatus::Ran => "ran",
                HandlerStatus::Failed => "failed",
            };
            let _ = writeln!(out, "  handler {} ({status})", h.name);
            if let Some(output) = &h.output {
                for line in output.lines() {
                    let _ = writeln!(out, "      {line}");
                }
            }
        }
    }
    out.push_str(&summary_line(report.mode, &report.summary));
    out.push('\n');
    out
}

/// `3 to change, 40 unchanged, 1 host unreachable`.
pub fn summary_line(mode: Mode, s: &Summary) -> String {
    let mut parts = vec![match mode {
        Mode::Plan => format!("{} to change", s.changed),
        Mode::Apply => format!("{} changed", s.changed),
    }];
    parts.push(format!("{} unchanged", s.unchanged));
    if s.failed > 0 {
        parts.push(format!("{} failed", s.failed));
    }
    if s.not_applied > 0 {
        parts.push(format!("{} not applied", s.not_applied));
    }
    let hosts = |n: usize| if n == 1 { "host" } else { "hosts" };
    if s.hosts_unreachable > 0 {
        parts.push(format!(
            "{} {} unreachable",
            s.hosts_unreachable,
            hosts(s.hosts_unreachable)
        ));
    }
    if s.hosts_failed > 0 {
        parts.push(format!(
            "{} {} failed",
            s.hosts_failed,
            hosts(s.hosts_failed)
        ));
    }
    parts.join(", ")
}
