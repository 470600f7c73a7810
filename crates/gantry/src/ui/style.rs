//! Colours, only when writing to a terminal and `NO_COLOR` is unset.

use std::io::IsTerminal;

#[derive(Debug, Clone, Copy)]
pub struct Style {
    enabled: bool,
}

const JOB_COLORS: [&str; 6] = ["36", "35", "34", "33", "32", "96"];

impl Style {
    fn detect(is_tty: bool) -> Self {
        Style {
            enabled: is_tty && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    pub fn stdout() -> Self {
        Self::detect(std::io::stdout().is_terminal())
    }

    pub fn stderr() -> Self {
        Self::detect(std::io::stderr().is_terminal())
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn red(&self, t: &str) -> String {
        self.paint("1;31", t)
    }
    pub fn green(&self, t: &str) -> String {
        self.paint("1;32", t)
    }
    pub fn yellow(&self, t: &str) -> String {
        self.paint("1;33", t)
    }
    pub fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
    pub fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
    /// A stable colour per job, so each job's lines are easy to follow.
    pub fn job(&self, index: usize, t: &str) -> String {
        self.paint(JOB_COLORS[index % JOB_COLORS.len()], t)
    }
}
