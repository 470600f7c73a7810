//! Live per-host progress of `gantry infra plan|apply` on standard error: on a terminal a
//! bar (hosts done of all, and what the busy hosts are doing) with a line per finished
//! host above it; elsewhere (CI logs) a plain line per host as it finishes an apply, so a
//! long apply is not silent until its report.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gantry_infra::{HostOutcome, HostStatus, Mode, Phase, Progress, ProgressEvent};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A display for one run (a plan or an apply) over `hosts` hosts, or `None` when nothing
/// should be shown (`--json`, or a plan that is not on a terminal).
pub fn for_run(mode: Mode, hosts: usize, json: bool) -> Option<(Progress, Finish)> {
    if json {
        return None;
    }
    let terminal = std::io::stderr().is_terminal();
    if !terminal && mode == Mode::Plan {
        return None;
    }
    let bar = terminal.then(|| {
        let bar = ProgressBar::with_draw_target(Some(hosts as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} [{bar:24}] {pos}/{len} hosts {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(match mode {
            Mode::Plan => "checking",
            Mode::Apply => "applying",
        });
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let state = Arc::new(Mutex::new(BTreeMap::<String, Phase>::new()));
    let shown = bar.clone();
    let progress = Progress::new(move |event| {
        let Ok(mut busy) = state.lock() else { return };
        match event {
            ProgressEvent::Phase { host, phase } => {
                busy.insert(host, phase);
            }
            ProgressEvent::Done { host, outcome } => {
                busy.remove(&host);
                let line = line(mode, &host, &outcome);
                match &shown {
                    Some(bar) => {
                        bar.inc(1);
                        bar.println(line);
                    }
                    None => eprintln!("{line}"),
                }
            }
        }
        if let Some(bar) = &shown {
            bar.set_message(busy_message(&busy));
        }
    });
    Some((progress, Finish(bar)))
}

/// Clears the bar when the run is over (before the report is printed).
pub struct Finish(Option<ProgressBar>);

impl Drop for Finish {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// `web1: 3 applied, 40 unchanged` and the like.
pub fn line(mode: Mode, host: &str, o: &HostOutcome) -> String {
    let error = o.error.as_deref().unwrap_or("failed");
    match o.status {
        HostStatus::Unreachable => return format!("{host}: unreachable: {error}"),
        HostStatus::Failed if o.changed == 0 && o.failed == 0 => {
            return format!("{host}: failed: {error}");
        }
        _ => {}
    }
    let verb = match mode {
        Mode::Plan => "to change",
        Mode::Apply => "applied",
    };
    let mut parts = vec![format!("{} {verb}", o.changed)];
    if o.failed > 0 {
        parts.push(format!("{} failed", o.failed));
    }
    parts.push(format!("{} unchanged", o.unchanged));
    let mut text = format!("{host}: {}", parts.join(", "));
    if o.status == HostStatus::Failed {
        text.push_str(&format!(" ({error})"));
    }
    text
}

/// What the hosts still at work are doing, the first few by name.
fn busy_message(busy: &BTreeMap<String, Phase>) -> String {
    const SHOWN: usize = 4;
    let mut parts: Vec<String> = busy
        .iter()
        .take(SHOWN)
        .map(|(host, phase)| match phase {
            Phase::Checking => format!("{host} checking"),
            Phase::Applying { resources } => format!("{host} applying {resources}"),
            Phase::Handlers { handlers } => format!("{host} handlers {handlers}"),
        })
        .collect();
    if busy.len() > SHOWN {
        parts.push(format!("+{} more", busy.len() - SHOWN));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(
        status: HostStatus,
        changed: usize,
        failed: usize,
        error: Option<&str>,
    ) -> HostOutcome {
        HostOutcome {
            status,
            changed,
            failed,
            unchanged: 7,
            error: error.map(str::to_owned),
        }
    }

    #[test]
    fn lines_say_what_each_host_did() {
        assert_eq!(
            line(Mode::Apply, "web1", &outcome(HostStatus::Ok, 3, 0, None)),
            "web1: 3 applied, 7 unchanged"
        );
        assert_eq!(
            line(Mode::Plan, "web1", &outcome(HostStatus::Ok, 2, 0, None)),
            "web1: 2 to change, 7 unchanged"
        );
        assert_eq!(
            line(
                Mode::Apply,
                "db",
                &outcome(HostStatus::Unreachable, 0, 0, Some("connect timed out"))
            ),
            "db: unreachable: connect timed out"
        );
        assert_eq!(
            line(
                Mode::Apply,
                "web2",
                &outcome(
                    HostStatus::Failed,
                    1,
                    2,
                    Some("the apply script stopped early")
                )
            ),
            "web2: 1 applied, 2 failed, 7 unchanged (the apply script stopped early)"
        );
    }

    #[test]
    fn the_busy_message_names_a_few_hosts() {
        let mut busy = BTreeMap::new();
        for i in 0..6 {
            busy.insert(format!("h{i}"), Phase::Checking);
        }
        busy.insert("a".into(), Phase::Applying { resources: 3 });
        assert_eq!(
            busy_message(&busy),
            "a applying 3, h0 checking, h1 checking, h2 checking, +3 more"
        );
    }
}
