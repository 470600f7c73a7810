//! The live display of a local run: every log line prefixed by its job (coloured on a
//! terminal), step and job transitions, and on a terminal a progress line listing the
//! running jobs. In `--json` mode all of it goes to stderr so stdout holds only the
//! report.

use gantry_engine::log::Stream;
use gantry_engine::{JobResult, RunEvent, StepResult};
use gantry_pipeline::Plan;
use indexmap::IndexMap;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use super::style::Style;
use super::summary::fmt_ms;

pub struct Live {
    style: Style,
    to_stderr: bool,
    bar: Option<ProgressBar>,
    width: usize,
    color_of: HashMap<String, usize>,
    running: IndexMap<String, Instant>,
    done: usize,
    total: usize,
}

impl Live {
    pub fn new(plan: &Plan, selected: usize, json: bool) -> Self {
        let style = if json {
            Style::stderr()
        } else {
            Style::stdout()
        };
        let is_tty = if json {
            std::io::stderr().is_terminal()
        } else {
            std::io::stdout().is_terminal()
        };
        let bar = (is_tty && std::env::var_os("CI").is_none()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let width = plan
            .jobs
            .iter()
            .map(|j| j.key.chars().count())
            .max()
            .unwrap_or(4)
            .clamp(4, 28);
        let color_of = plan
            .jobs
            .iter()
            .enumerate()
            .map(|(i, j)| (j.key.clone(), i))
            .collect();
        Live {
            style,
            to_stderr: json,
            bar,
            width,
            color_of,
            running: IndexMap::new(),
            done: 0,
            total: selected,
        }
    }

    fn emit(&self, job: &str, text: &str) {
        let mut key: String = job.chars().take(self.width).collect();
        let pad = self.width.saturating_sub(key.chars().count());
        key.push_str(&" ".repeat(pad));
        let idx = self.color_of.get(job).copied().unwrap_or(0);
        let line = format!(
            "{} {} {text}",
            self.style.job(idx, &key),
            self.style.dim("│")
        );
        let write = || {
            if self.to_stderr {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            } else {
                let _ = writeln!(std::io::stdout().lock(), "{line}");
            }
        };
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    fn refresh(&self) {
        if let Some(bar) = &self.bar {
            let names: Vec<&str> = self.running.keys().map(String::as_str).collect();
            bar.set_message(format!(
                "{}/{} jobs done · running: {}",
                self.done,
                self.total,
                if names.is_empty() {
                    "—".to_string()
                } else {
                    names.join(", ")
                }
            ));
        }
    }

    pub fn handle(&mut self, event: RunEvent) {
        match event {
            RunEvent::Log(line) => {
                let text = match line.stream {
                    Stream::System => self.style.dim(&format!("· {}", line.text)),
                    _ => line.text,
                };
                self.emit(&line.job, &text);
            }
            RunEvent::JobStarted { key, attempt, .. } => {
                self.running.insert(key.clone(), Instant::now());
                if attempt > 1 {
                    self.emit(&key, &self.style.yellow(&format!("↻ attempt {attempt}")));
                }
                self.refresh();
            }
            RunEvent::StepStarted { job, name, .. } => {
                self.emit(&job, &self.style.bold(&format!("▶ {name}")));
            }
            RunEvent::StepFinished {
                job,
                result,
                duration_ms,
                ..
            } => {
                let text = match result {
                    StepResult::Success => {
                        self.style.green(&format!("✔ ok ({})", fmt_ms(duration_ms)))
                    }
                    StepResult::Failure => self
                        .style
                        .red(&format!("✘ failed ({})", fmt_ms(duration_ms))),
                    StepResult::Cancelled => self
                        .style
                        .yellow(&format!("■ cancelled ({})", fmt_ms(duration_ms))),
                    StepResult::Skipped => self.style.dim("○ skipped"),
                };
                self.emit(&job, &text);
            }
            RunEvent::JobFinished {
                key,
                result,
                duration_ms,
            } => {
                self.running.shift_remove(&key);
                self.done += 1;
                let text = match result {
                    JobResult::Success => self
                        .style
                        .green(&format!("job succeeded in {}", fmt_ms(duration_ms))),
                    JobResult::Failure => self
                        .style
                        .red(&format!("job failed after {}", fmt_ms(duration_ms))),
                    JobResult::Cancelled => self.style.yellow("job cancelled"),
                    JobResult::Skipped => self.style.dim("job skipped"),
                };
                self.emit(&key, &text);
                self.refresh();
            }
        }
    }

    /// A note from Gantry itself, above the progress line.
    pub fn note(&self, text: &str) {
        let line = self.style.yellow(text);
        let write = || eprintln!("{line}");
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
