//! The machine-readable report the remote scripts print, one record per line:
//!
//! ```text
//! F <fact> <value>            a fact (os_id, arch, …)
//! R <index> <key> <value>     part of resource <index>'s actual state
//! A <index> <rc> <base64>     resource <index> was applied: exit code, output
//! H <index> <rc> <base64>     handler <index> ran: exit code, output
//! END                         the script ran to its end
//! ```
//!
//! Anything else (a login banner, a shell warning) is kept aside as noise. Parsing is
//! pure and never panics.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use indexmap::IndexMap;
use serde::Serialize;

/// The end marker: without it the script was cut short (connection lost, shell killed).
pub const END: &str = "END";

/// Everything one script printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub facts: Facts,
    pub resources: BTreeMap<usize, Observed>,
    pub applied: BTreeMap<usize, Outcome>,
    pub handlers: BTreeMap<usize, Outcome>,
    /// Whether the `END` line arrived.
    pub complete: bool,
    /// Lines that are not records.
    pub noise: Vec<String>,
}

/// The facts of a host, by name (os_id, os_version, arch, hostname, memory_mb, cpus,
/// package_manager, init_system).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Facts(pub IndexMap<String, String>);

impl Facts {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// The exit code and output of an apply step or a handler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub code: i32,
    pub output: String,
}

/// One resource's actual state as reported: keys to values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed(pub BTreeMap<String, String>);

impl Observed {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// What is at the path: `file`, `dir`, `link`, `other` or `none`.
    pub fn kind(&self) -> &str {
        self.get("type").unwrap_or("none")
    }

    fn stat_field(&self, n: usize) -> Option<&str> {
        self.get("stat")?.split(' ').nth(n)
    }

    pub fn mode(&self) -> Option<u32> {
        u32::from_str_radix(self.stat_field(0)?, 8).ok()
    }

    pub fn owner(&self) -> Option<&str> {
        self.stat_field(1)
    }

    pub fn group(&self) -> Option<&str> {
        self.stat_field(2)
    }

    /// A base64 field, decoded.
    pub fn bytes(&self, key: &str) -> Option<Vec<u8>> {
        STANDARD.decode(self.get(key)?).ok()
    }

    /// A base64 field decoded as UTF-8 text.
    pub fn text(&self, key: &str) -> Option<String> {
        String::from_utf8(self.bytes(key)?).ok()
    }
}

/// Parses a script's standard output.
pub fn parse(stdout: &str) -> Report {
    let mut report = Report::default();
    for line in stdout.lines() {
        if line == END {
            report.complete = true;
            continue;
        }
        if !record(&mut report, line) {
            report.noise.push(line.to_string());
        }
    }
    report
}

fn record(report: &mut Report, line: &str) -> bool {
    let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
    match tag {
        "F" => {
            let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
            if name.is_empty() {
                return false;
            }
            report.facts.0.insert(name.to_string(), value.to_string());
            true
        }
        "R" => {
            let mut parts = rest.splitn(3, ' ');
            let (Some(index), Some(key)) = (parts.next(), parts.next()) else {
                return false;
            };
            let Ok(index) = index.parse::<usize>() else {
                return false;
            };
            if key.is_empty() {
                return false;
            }
            let value = parts.next().unwrap_or("");
            report
                .resources
                .entry(index)
                .or_default()
                .0
                .insert(key.to_string(), value.to_string());
            true
        }
        "A" | "H" => {
            let mut parts = rest.splitn(3, ' ');
            let (Some(index), Some(code)) = (parts.next(), parts.next()) else {
                return false;
            };
            let (Ok(index), Ok(code)) = (index.parse::<usize>(), code.parse::<i32>()) else {
                return false;
            };
            let output = STANDARD
                .decode(parts.next().unwrap_or("").trim())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let outcome = Outcome { code, output };
            if tag == "A" {
                report.applied.insert(index, outcome);
            } else {
                report.handlers.insert(index, outcome);
            }
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_record_kind() {
        let out = "Welcome!\nF os_id debian\nF os_version 12\nR 0 type file\nR 0 stat 644 root staff\n\
                   R 0 sha256 abc\nR 1 type none\nA 0 0 aGk=\nH 2 1 \nEND\n";
        let report = parse(out);
        assert!(report.complete);
        assert_eq!(report.facts.get("os_id"), Some("debian"));
        assert_eq!(report.facts.get("os_version"), Some("12"));
        let r0 = &report.resources[&0];
        assert_eq!(r0.kind(), "file");
        assert_eq!(r0.mode(), Some(0o644));
        assert_eq!(r0.owner(), Some("root"));
        assert_eq!(r0.group(), Some("staff"));
        assert_eq!(r0.get("sha256"), Some("abc"));
        assert_eq!(report.resources[&1].kind(), "none");
        assert_eq!(report.applied[&0].output, "hi");
        assert_eq!(report.handlers[&2].code, 1);
        assert_eq!(report.noise, vec!["Welcome!".to_string()]);
    }

    #[test]
    fn a_report_without_end_is_incomplete() {
        let report = parse("F arch x86_64\nR 0 type file\n");
        assert!(!report.complete);
        assert_eq!(report.facts.get("arch"), Some("x86_64"));
    }

    #[test]
    fn malformed_records_are_noise_not_panics() {
        let report = parse(
            "R\nR x type file\nR 1\nA 1\nA z 0 x\nF\nR 99999999999999999999999 a b\nA 1 0 !!notbase64",
        );
        assert!(report.resources.is_empty());
        assert_eq!(report.applied[&1].output, "");
        assert_eq!(report.noise.len(), 7);
    }

    #[test]
    fn values_keep_their_spaces() {
        let report = parse("F hostname my host\nR 3 stale 2 lines\n");
        assert_eq!(report.facts.get("hostname"), Some("my host"));
        assert_eq!(report.resources[&3].get("stale"), Some("2 lines"));
    }
}
